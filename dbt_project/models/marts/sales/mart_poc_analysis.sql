-- Deals in POC by the business month their POC started (deals, not journeys: mart_funnel's pocs
-- counts journeys; fct_opportunities.has_reached_poc also counts wins whose POC was skipped), the account's industry and how they ended: where
-- POCs fail (lost reason) and how long they take (median days from POC start to the next stage).
with opportunities as (
    select * from {{ ref('fct_opportunities') }}
    where poc_started_at is not null
),

accounts as (
    select * from {{ ref('dim_accounts') }}
),

pocs as (
    select
        {{ business_month('opportunities.poc_started_at') }} as poc_started_month,
        coalesce(accounts.industry, 'unknown') as industry,
        opportunities.outcome as poc_outcome,
        coalesce(opportunities.lost_reason, '') as lost_reason,
        opportunities.poc_days,
        opportunities.won_amount
    from opportunities
    left join accounts
        on opportunities.account_id = accounts.account_id
),

final as (
    select
        poc_started_month,
        industry,
        poc_outcome,
        lost_reason,
        count(*) as poc_deals,
        count(poc_days) as poc_deals_ended,
        cast({{ median('poc_days') }} as decimal(10, 1)) as median_poc_days,
        cast(coalesce(sum(won_amount), 0) as decimal(18, 2)) as won_revenue
    from pocs
    group by poc_started_month, industry, poc_outcome, lost_reason
)

select * from final
