-- Every CRM account record (销售易 or Salesforce) with the stitched company it belongs to, ranked by age
-- within the company: seniority 1 is the company's oldest CRM account, the one that describes the company
-- (dim_accounts) and lends its fields to lead scoring. Ties on the creation instant go to the lower record id.
with crm_accounts as (
    select * from {{ ref('int_crm__accounts') }}
),

account_ids as (
    select * from {{ ref('int_account_ids_assigned') }}
),

final as (
    select
        account_ids.account_id,
        crm_accounts.*,
        row_number() over (
            partition by account_ids.account_id order by crm_accounts.created_at, crm_accounts.account_record_id
        ) as seniority
    from crm_accounts
    inner join account_ids
        on crm_accounts.account_record_id = account_ids.identifier
)

select * from final
