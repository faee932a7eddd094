-- Attribution by channel × campaign × keyword × month × model (architecture §5): what each rule-based model
-- credits to the touches of a month (mart_attribution), against the month's ad spend on the same channel,
-- campaign and keyword (fct_ad_performance_daily), with ROI per model. Spend with no credited touch keeps
-- a row of its own, so under every model the spend sums to the platforms'.
with attribution as (
    select * from {{ ref('mart_attribution') }}
),

ad_days as (
    select * from {{ ref('fct_ad_performance_daily') }}
),

attribution_models as (
    select distinct attribution_model from attribution
),

credits as (
    -- A deal with no touch counts in the month its window ended (won, or the data's as-of when open).
    select
        attribution_model,
        coalesce(touched_month, window_end_month) as report_month,
        channel,
        campaign,
        keyword,
        sum(case when opportunity_state = 'won' then credited_revenue else 0 end) as credited_revenue,
        sum(case when opportunity_state = 'won' then credit_share else 0 end) as credited_opportunities,
        sum(case when opportunity_state = 'open' then credited_revenue else 0 end) as credited_pipeline,
        sum(case when opportunity_state = 'open' then credit_share else 0 end) as credited_open_opportunities
    from attribution
    group by attribution_model, coalesce(touched_month, window_end_month), channel, campaign, keyword
),

spend as (
    -- stat_on is already a China calendar day: its month needs no time zone conversion. The landing
    -- URLs carry the console's campaign name and keyword as utm_campaign and utm_term.
    select
        cast({{ dbt.date_trunc('month', 'stat_on') }} as date) as report_month,
        channel,
        campaign_name as campaign,
        keyword,
        sum(cost) as spend
    from ad_days
    group by cast({{ dbt.date_trunc('month', 'stat_on') }} as date), channel, campaign_name, keyword
),

spend_by_model as (
    select
        attribution_models.attribution_model,
        spend.*
    from spend
    cross join attribution_models
),

cells as (
    select
        attribution_model,
        report_month,
        channel,
        campaign,
        keyword
    from credits
    union
    select
        attribution_model,
        report_month,
        channel,
        campaign,
        keyword
    from spend_by_model
),

joined as (
    select
        cells.attribution_model,
        cells.report_month,
        cells.channel,
        cells.campaign,
        cells.keyword,
        cast(coalesce(credits.credited_revenue, 0) as decimal(18, 2)) as credited_revenue,
        cast(coalesce(credits.credited_opportunities, 0) as decimal(18, 6)) as credited_opportunities,
        cast(coalesce(credits.credited_pipeline, 0) as decimal(18, 2)) as credited_pipeline,
        cast(coalesce(credits.credited_open_opportunities, 0) as decimal(18, 6)) as credited_open_opportunities,
        cast(coalesce(spend_by_model.spend, 0) as decimal(18, 2)) as spend
    from cells
    left join credits
        on cells.attribution_model = credits.attribution_model
        and cells.report_month = credits.report_month
        and cells.channel = credits.channel
        and cells.campaign is not distinct from credits.campaign
        and cells.keyword is not distinct from credits.keyword
    left join spend_by_model
        on cells.attribution_model = spend_by_model.attribution_model
        and cells.report_month = spend_by_model.report_month
        and cells.channel = spend_by_model.channel
        and cells.campaign is not distinct from spend_by_model.campaign
        and cells.keyword is not distinct from spend_by_model.keyword
),

final as (
    select
        attribution_model,
        report_month,
        channel,
        campaign,
        keyword,
        credited_revenue,
        credited_opportunities,
        credited_pipeline,
        credited_open_opportunities,
        spend,
        {{ safe_ratio('credited_revenue - spend', 'spend') }} as roi
    from joined
)

select * from final
