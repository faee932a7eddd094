-- The company of every stitched person: the account most of their records point at through the
-- account graph (ties: the smallest account_id). People whose records name no company have none.
with customer_ids as (
    select * from {{ ref('int_customer_ids_assigned') }}
),

account_ids as (
    select * from {{ ref('int_account_ids_assigned') }}
),

records as (
    -- Record nodes are the identifiers that are records of a source (a record's own row).
    select distinct
        screened.record_id,
        customer_ids.customer_id
    from {{ ref('int_identifiers_screened') }} as screened
    inner join customer_ids
        on screened.record_id = customer_ids.identifier
    where screened.graph = 'person'
),

record_accounts as (
    select
        records.customer_id,
        account_ids.account_id,
        count(*) as records_at_account
    from records
    inner join account_ids
        on records.record_id = account_ids.identifier
    group by records.customer_id, account_ids.account_id
),

ranked as (
    select
        customer_id,
        account_id,
        records_at_account,
        row_number() over (partition by customer_id order by records_at_account desc, account_id asc) as preference
    from record_accounts
),

final as (
    select
        customer_id,
        account_id,
        records_at_account
    from ranked
    where preference = 1
)

select * from final
