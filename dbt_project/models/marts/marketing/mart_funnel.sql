-- The funnel by lead cohort month (business time zone) and channel: how many journeys reached
-- each stage, the conversion between neighbouring stages, and the revenue they won.
with journeys as (
    select * from {{ ref('fct_lead_journeys') }}
),

counted as (
    select
        lead_cohort_month,
        channel,
        count(lead_at) as leads,
        count(mql_at) as mqls,
        count(sql_at) as sqls,
        count(opportunity_at) as opportunities,
        count(poc_at) as pocs,
        count(won_at) as wins,
        count(lost_at) as losses,
        cast(coalesce(sum(won_amount_cny), 0) as decimal(18, 2)) as won_revenue_cny
    from journeys
    group by lead_cohort_month, channel
),

final as (
    select
        lead_cohort_month,
        channel,
        leads,
        mqls,
        sqls,
        opportunities,
        pocs,
        wins,
        losses,
        won_revenue_cny,
        {{ safe_ratio('mqls', 'leads') }} as lead_to_mql_rate,
        {{ safe_ratio('sqls', 'mqls') }} as mql_to_sql_rate,
        {{ safe_ratio('opportunities', 'sqls') }} as sql_to_opportunity_rate,
        {{ safe_ratio('pocs', 'opportunities') }} as opportunity_to_poc_rate,
        {{ safe_ratio('wins', 'pocs') }} as poc_to_won_rate,
        {{ safe_ratio('opportunities', 'leads') }} as lead_to_opportunity_rate,
        {{ safe_ratio('wins', 'leads') }} as lead_to_won_rate
    from counted
)

select * from final
