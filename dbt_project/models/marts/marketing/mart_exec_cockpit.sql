-- The CEO's month (business time zone): revenue won, ad spend, ROI, new customers and CAC, and
-- how many journeys entered each funnel stage, for every month from the first activity to the last.
-- Two questions keep two names: won_revenue is every deal won in the month (fct_opportunities);
-- lead_won_revenue only the deals converted from a lead (fct_lead_journeys), what the funnel marts
-- count. The north star is the cohort rate: of the month's new leads, the share that reached an
-- opportunity so far; the period rate divides the month's entries and is an activity ratio.
-- (mart_revenue_reconciliation explains the revenue difference month by month.)
{%- set stage_counts = {} %}
{%- for stage in funnel_stages() %}{% do stage_counts.update({stage.stage: stage.counts_as}) %}{% endfor %}

with journeys as (
    select * from {{ ref('fct_lead_journeys') }}
),

opportunities as (
    select * from {{ ref('fct_opportunities') }}
),

ad_days as (
    select * from {{ ref('fct_ad_performance_daily') }}
),

stage_entries as (
    {% for stage in stage_counts %}
    select
        {{ business_month(stage ~ '_at') }} as report_month,
        '{{ stage }}' as funnel_stage
    from journeys
    where {{ stage }}_at is not null
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

stages_by_month as (
    select
        report_month,
        {% for stage, counted in stage_counts.items() %}
        count(case when funnel_stage = '{{ stage }}' then 1 end) as {{ counted }}{{ ',' if not loop.last }}
        {% endfor %}
    from stage_entries
    group by report_month
),

won_deals as (
    select
        account_id,
        won_amount,
        won_at,
        {{ business_month('won_at') }} as report_month
    from opportunities
    where won_at is not null
),

revenue_by_month as (
    select
        report_month,
        sum(won_amount) as won_revenue,
        count(*) as won_deals
    from won_deals
    group by report_month
),

lead_revenue_by_month as (
    select
        {{ business_month('won_at') }} as report_month,
        sum(won_amount) as lead_won_revenue
    from journeys
    where won_at is not null
    group by {{ business_month('won_at') }}
),

lead_cohorts as (
    select
        lead_cohort_month as report_month,
        count(case when opportunity_at is not null then 1 end) as cohort_opportunities
    from journeys
    where lead_at is not null
    group by lead_cohort_month
),

first_wins as (
    select
        account_id,
        min(won_at) as first_won_at
    from won_deals
    group by account_id
),

new_customers_by_month as (
    select
        {{ business_month('first_won_at') }} as report_month,
        count(*) as new_customers
    from first_wins
    group by {{ business_month('first_won_at') }}
),

spend_by_month as (
    -- stat_on is already a China calendar day: its month needs no time zone conversion.
    select
        cast({{ dbt.date_trunc('month', 'stat_on') }} as date) as report_month,
        sum(cost) as spend
    from ad_days
    group by cast({{ dbt.date_trunc('month', 'stat_on') }} as date)
),

active_months as (
    select report_month from stages_by_month
    union
    select report_month from revenue_by_month
    union
    select report_month from spend_by_month
),

bounds as (
    select
        min(report_month) as first_month,
        max(report_month) as last_month
    from active_months
),

month_numbers as (
    -- Up to 100 years of months; the filter below keeps those between the bounds.
    {{ dbt.generate_series(1200) }}
),

months as (
    select
        cast({{ dbt.dateadd('month', 'month_numbers.generated_number - 1', 'bounds.first_month') }} as date)
            as report_month
    from bounds
    cross join month_numbers
    where month_numbers.generated_number - 1
        <= {{ dbt.datediff('bounds.first_month', 'bounds.last_month', 'month') }}
),

joined as (
    select
        months.report_month,
        cast(coalesce(revenue_by_month.won_revenue, 0) as decimal(18, 2)) as won_revenue,
        coalesce(revenue_by_month.won_deals, 0) as won_deals,
        cast(coalesce(lead_revenue_by_month.lead_won_revenue, 0) as decimal(18, 2)) as lead_won_revenue,
        coalesce(lead_cohorts.cohort_opportunities, 0) as cohort_opportunities,
        cast(coalesce(spend_by_month.spend, 0) as decimal(18, 2)) as spend,
        coalesce(new_customers_by_month.new_customers, 0) as new_customers,
        {% for counted in stage_counts.values() %}
        coalesce(stages_by_month.{{ counted }}, 0) as {{ counted }}{{ ',' if not loop.last }}
        {% endfor %}
    from months
    left join revenue_by_month
        on months.report_month = revenue_by_month.report_month
    left join lead_revenue_by_month
        on months.report_month = lead_revenue_by_month.report_month
    left join lead_cohorts
        on months.report_month = lead_cohorts.report_month
    left join spend_by_month
        on months.report_month = spend_by_month.report_month
    left join new_customers_by_month
        on months.report_month = new_customers_by_month.report_month
    left join stages_by_month
        on months.report_month = stages_by_month.report_month
),

final as (
    select
        report_month,
        won_revenue,
        won_deals,
        lead_won_revenue,
        spend,
        {{ safe_ratio('won_revenue - spend', 'spend') }} as roi,
        new_customers,
        {{ safe_ratio('spend', 'new_customers', 2) }} as cac,
        {% for counted in stage_counts.values() %}
        {{ counted }},
        {% endfor %}
        {{ safe_ratio('cohort_opportunities', 'leads') }} as lead_to_opportunity_cohort_rate,
        {{ safe_ratio('opportunities', 'leads') }} as lead_to_opportunity_period_rate
    from joined
)

select * from final
