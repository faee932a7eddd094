-- One row per stitched company (architecture §4, §5): its CRM accounts, normalised name and USCC, the
-- firmographics of its oldest CRM account, when it became a customer, what it paid, and whether
-- it has gone quiet. A branch office (分公司) is its own company. Its last purchase and open deals say from
-- when a touch by one of its people re-engages it as a dormant company (dormant_at): the rule of
-- int_touches_account_status_assessed for a touch after the night, which the live hot-lead alerts read.
{%- set months = dormant_account_after_months() %}
with account_ids as (
    select * from {{ ref('int_account_ids_assigned') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

screened as (
    select * from {{ ref('int_identifiers_screened') }}
    where graph = 'account' and exclusion_reason is null
),

opportunities as (
    select * from {{ ref('fct_opportunities') }}
),

payments as (
    select * from {{ ref('int_crm__payments') }}
),

users as (
    select * from {{ ref('int_crm__users') }}
),

company_sightings as (
    select
        account_ids.account_id,
        screened.identifier_type,
        screened.identifier,
        screened.record_id,
        screened.last_seen_at
    from screened
    inner join account_ids
        on screened.identifier = account_ids.identifier
),

names_ranked as (
    select
        account_id,
        substr(identifier, {{ dbt.length("'company:'") }} + 1) as normalized_name,
        row_number() over (
            partition by account_id order by count(distinct record_id) desc, max(last_seen_at) desc, identifier
        ) as preference
    from company_sightings
    where identifier_type = 'company'
    group by account_id, identifier
),

usccs_ranked as (
    select
        account_id,
        substr(identifier, {{ dbt.length("'uscc:'") }} + 1) as unified_social_credit_code,
        row_number() over (partition by account_id order by count(distinct record_id) desc, identifier) as preference
    from company_sightings
    where identifier_type = 'uscc'
    group by account_id, identifier
),

crm_members as (
    select * from {{ ref('int_company_crm_accounts_ranked') }}
),

crm_summary as (
    select
        account_id,
        count(*) as crm_account_count
    from crm_members
    group by account_id
),

won as (
    select
        account_id,
        min(won_at) as customer_since,
        sum(case when won_at is not null then amount end) as lifetime_revenue
    from opportunities
    where account_id is not null
    group by account_id
),

paid as (
    select
        account_ids.account_id,
        max(payments.paid_at) as last_payment_at,
        sum(payments.reporting_amount) as lifetime_payments
    from payments
    inner join account_ids
        on payments.account_record_id = account_ids.identifier
    group by account_ids.account_id
),

purchases as (
    -- A purchase is a payment or a deal won (counted when won, paid or not), as for hot leads.
    select
        account_id,
        max(purchased_at) as last_purchase_at
    from (
        select
            account_id,
            won_at as purchased_at
        from opportunities
        where account_id is not null
            and won_at is not null
        union all
        select
            account_id,
            last_payment_at as purchased_at
        from paid
    ) as bought
    group by account_id
),

open_deals as (
    select
        account_id,
        count(*) as open_opportunity_count
    from opportunities
    where account_id is not null
        and closed_at is null
    group by account_id
),

people as (
    select
        account_id,
        count(*) as customer_count,
        max(last_seen_at) as last_seen_at
    from customers
    where account_id is not null
    group by account_id
),

activity as (
    -- The company's last sign of life: a person of it seen anywhere, or a payment.
    select
        account_id,
        max(active_at) as last_activity_at
    from (
        select
            account_id,
            last_seen_at as active_at
        from people
        union all
        select
            account_id,
            last_payment_at as active_at
        from paid
    ) as signs
    group by account_id
),

latest_activity as (
    -- "Now" is the newest activity in the warehouse, so a replayed night gives the same answer.
    select max(last_seen_at) as data_as_of from customers
),

accounts as (
    -- A company is what a CRM account or a person belongs to; a component that holds only a lead's
    -- differently written company name (its person belongs elsewhere) is not one.
    select account_id from crm_summary
    union
    select account_id from people
),

final as (
    select
        accounts.account_id,
        crm_primary.crm as primary_crm,
        crm_primary.crm_account_id as primary_crm_account_id,
        cast(coalesce(crm_summary.crm_account_count, 0) as integer) as crm_account_count,
        crm_primary.account_name,
        names_ranked.normalized_name,
        usccs_ranked.unified_social_credit_code,
        crm_primary.industry,
        crm_primary.province,
        crm_primary.city,
        crm_primary.employee_count,
        crm_primary.owner_user_id,
        users.user_name as owner_name,
        cast(coalesce(people.customer_count, 0) as integer) as customer_count,
        won.customer_since,
        paid.last_payment_at,
        cast(coalesce(won.lifetime_revenue, 0) as decimal(18, 2)) as lifetime_revenue,
        cast(coalesce(paid.lifetime_payments, 0) as decimal(18, 2)) as lifetime_payments,
        {{ reporting_currency() }} as reporting_currency,
        activity.last_activity_at,
        purchases.last_purchase_at,
        cast(coalesce(open_deals.open_opportunity_count, 0) as integer) as open_opportunity_count,
        case
            when open_deals.open_opportunity_count is null
                then {{ dbt.dateadd('month', months, 'purchases.last_purchase_at') }}
        end as dormant_at,
        coalesce(
            activity.last_activity_at
                < {{ dbt.dateadd('day', -1 * var('account_dormant_after_days'), 'latest_activity.data_as_of') }},
            true
        ) as is_dormant
    from accounts
    cross join latest_activity
    left join crm_members as crm_primary
        on accounts.account_id = crm_primary.account_id
        and crm_primary.seniority = 1
    left join users
        on crm_primary.crm = users.crm
        and crm_primary.owner_user_id = users.user_id
    left join crm_summary
        on accounts.account_id = crm_summary.account_id
    left join names_ranked
        on accounts.account_id = names_ranked.account_id
        and names_ranked.preference = 1
    left join usccs_ranked
        on accounts.account_id = usccs_ranked.account_id
        and usccs_ranked.preference = 1
    left join won
        on accounts.account_id = won.account_id
    left join paid
        on accounts.account_id = paid.account_id
    left join people
        on accounts.account_id = people.account_id
    left join activity
        on accounts.account_id = activity.account_id
    left join purchases
        on accounts.account_id = purchases.account_id
    left join open_deals
        on accounts.account_id = open_deals.account_id
)

select * from final
