-- Won revenue by the business month deals closed, who sourced them and the deal type: the
-- share of revenue marketing sourced against sales self-sourced, executive and partner deals.
with opportunities as (
    select * from {{ ref('fct_opportunities') }}
    where outcome = 'won'
),

by_source as (
    select
        closed_month as won_month,
        sourced_by,
        deal_type,
        count(*) as won_deals,
        cast(sum(won_amount) as decimal(18, 2)) as won_revenue,
        sum(case when is_marketing_influenced then 1 else 0 end) as marketing_influenced_deals
    from opportunities
    group by closed_month, sourced_by, deal_type
),

month_totals as (
    select
        won_month,
        sum(won_revenue) as month_revenue
    from by_source
    group by won_month
),

final as (
    select
        by_source.won_month,
        by_source.sourced_by,
        by_source.deal_type,
        by_source.won_deals,
        by_source.won_revenue,
        cast(by_source.marketing_influenced_deals as {{ dbt.type_bigint() }}) as marketing_influenced_deals,
        {{ safe_ratio('by_source.won_revenue', 'month_totals.month_revenue') }} as share_of_month_revenue
    from by_source
    inner join month_totals
        on by_source.won_month = month_totals.won_month
)

select * from final
