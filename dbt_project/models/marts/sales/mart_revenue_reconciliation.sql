-- Why two revenue figures exist, month by month: all won revenue (every deal won, fct_opportunities:
-- the cockpit's won_revenue, mart_revenue_by_source, dim_accounts) is the revenue of deals converted
-- from a lead (fct_lead_journeys: the funnel marts' lead_won_revenue) plus the revenue of deals opened
-- without one (no CRM lineage to a lead: executive, partner, renewal and sales self-sourced deals).
-- Each part is counted from its own fact; the test assert_revenue_reconciles holds the sum.
with opportunities as (
    select * from {{ ref('fct_opportunities') }}
    where won_at is not null
),

journeys as (
    select * from {{ ref('fct_lead_journeys') }}
    where won_at is not null
),

all_won as (
    select
        {{ business_month('won_at') }} as won_month,
        count(*) as won_deals,
        sum(won_amount) as won_revenue,
        count(case when source_lead_id is null then 1 end) as won_deals_without_lead,
        sum(case when source_lead_id is null then won_amount else 0 end) as won_revenue_without_lead
    from opportunities
    group by {{ business_month('won_at') }}
),

lead_won as (
    select
        {{ business_month('won_at') }} as won_month,
        count(*) as lead_won_deals,
        sum(won_amount) as lead_won_revenue
    from journeys
    group by {{ business_month('won_at') }}
),

months as (
    select won_month from all_won
    union
    select won_month from lead_won
),

final as (
    select
        months.won_month,
        coalesce(all_won.won_deals, 0) as won_deals,
        cast(coalesce(all_won.won_revenue, 0) as decimal(18, 2)) as won_revenue,
        coalesce(lead_won.lead_won_deals, 0) as lead_won_deals,
        cast(coalesce(lead_won.lead_won_revenue, 0) as decimal(18, 2)) as lead_won_revenue,
        coalesce(all_won.won_deals_without_lead, 0) as won_deals_without_lead,
        cast(coalesce(all_won.won_revenue_without_lead, 0) as decimal(18, 2)) as won_revenue_without_lead
    from months
    left join all_won
        on months.won_month = all_won.won_month
    left join lead_won
        on months.won_month = lead_won.won_month
)

select * from final
