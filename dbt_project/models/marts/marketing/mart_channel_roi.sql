-- Channel ROI by business month: the month's ad spend on a channel against the funnel and won
-- revenue of the leads the channel created that month (the month's lead cohort).
with journeys as (
    select * from {{ ref('fct_lead_journeys') }}
),

ad_days as (
    select * from {{ ref('fct_ad_performance_daily') }}
),

cohorts as (
    select
        lead_cohort_month as report_month,
        channel,
        count(lead_at) as leads,
        count(mql_at) as mqls,
        count(opportunity_at) as opportunities,
        count(won_at) as wins,
        sum(won_amount) as lead_won_revenue
    from journeys
    group by lead_cohort_month, channel
),

ad_months as (
    -- stat_on is already a China calendar day: its month needs no time zone conversion.
    select
        cast({{ dbt.date_trunc('month', 'stat_on') }} as date) as report_month,
        channel,
        cost
    from ad_days
),

spend as (
    select
        report_month,
        channel,
        sum(cost) as spend
    from ad_months
    group by report_month, channel
),

month_channels as (
    select
        report_month,
        channel
    from cohorts
    union
    select
        report_month,
        channel
    from spend
),

joined as (
    select
        month_channels.report_month,
        month_channels.channel,
        cast(coalesce(spend.spend, 0) as decimal(18, 2)) as spend,
        coalesce(cohorts.leads, 0) as leads,
        coalesce(cohorts.mqls, 0) as mqls,
        coalesce(cohorts.opportunities, 0) as opportunities,
        coalesce(cohorts.wins, 0) as wins,
        cast(coalesce(cohorts.lead_won_revenue, 0) as decimal(18, 2)) as lead_won_revenue
    from month_channels
    left join cohorts
        on month_channels.report_month = cohorts.report_month
        and month_channels.channel = cohorts.channel
    left join spend
        on month_channels.report_month = spend.report_month
        and month_channels.channel = spend.channel
),

final as (
    select
        report_month,
        channel,
        spend,
        leads,
        mqls,
        opportunities,
        wins,
        lead_won_revenue,
        {{ safe_ratio('spend', 'leads', 2) }} as cost_per_lead,
        {{ safe_ratio('spend', 'opportunities', 2) }} as cost_per_opportunity,
        {{ safe_ratio('lead_won_revenue - spend', 'spend') }} as roi
    from joined
)

select * from final
