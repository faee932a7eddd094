-- The funnel by lead cohort month (business time zone) × channel × campaign × keyword × region ×
-- industry: journeys reaching each stage, conversion between stages, spend, cost per stage, won
-- revenue and ROI. Ad spend is known per month × channel × campaign × keyword; it is shared among
-- that group's region × industry cells in proportion to their leads (exact to the fen: the biggest
-- cell takes the rounding remainder), and spend that found no lead gets a cell of its own with no
-- region or industry — so the mart's spend adds up to the platforms' spend.
with journeys as (
    select * from {{ ref('fct_lead_journeys') }}
),

ad_days as (
    select * from {{ ref('fct_ad_performance_daily') }}
),

cells as (
    select
        lead_cohort_month,
        channel,
        utm_campaign as campaign,
        utm_term as keyword,
        province,
        industry,
        count(lead_at) as leads,
        count(mql_at) as mqls,
        count(sql_at) as sqls,
        count(opportunity_at) as opportunities,
        count(poc_at) as pocs,
        count(won_at) as wins,
        count(lost_at) as losses,
        coalesce(sum(won_amount), 0) as won_revenue
    from journeys
    group by lead_cohort_month, channel, utm_campaign, utm_term, province, industry
),

spend_groups as (
    -- stat_on is already a China calendar day: its month needs no time zone conversion.
    select
        cast({{ dbt.date_trunc('month', 'stat_on') }} as date) as lead_cohort_month,
        channel,
        campaign_name as campaign,
        keyword,
        sum(cost) as spend
    from ad_days
    group by cast({{ dbt.date_trunc('month', 'stat_on') }} as date), channel, campaign_name, keyword
),

cells_in_groups as (
    select
        cells.*,
        spend_groups.spend as group_spend,
        sum(cells.leads) over (
            partition by cells.lead_cohort_month, cells.channel, cells.campaign, cells.keyword
        ) as group_leads,
        row_number() over (
            partition by cells.lead_cohort_month, cells.channel, cells.campaign, cells.keyword
            order by cells.leads desc, coalesce(cells.province, ''), coalesce(cells.industry, '')
        ) as allocation_rank
    from cells
    left join spend_groups
        on cells.lead_cohort_month = spend_groups.lead_cohort_month
        and cells.channel = spend_groups.channel
        and coalesce(cells.campaign, '') = coalesce(spend_groups.campaign, '')
        and coalesce(cells.keyword, '') = coalesce(spend_groups.keyword, '')
),

shares as (
    select
        *,
        case
            when group_spend is null then 0
            when allocation_rank > 1 then {{ safe_ratio('group_spend * leads', 'group_leads', 2) }}
        end as proportional_share
    from cells_in_groups
),

allocated as (
    select
        lead_cohort_month,
        channel,
        campaign,
        keyword,
        province,
        industry,
        leads,
        mqls,
        sqls,
        opportunities,
        pocs,
        wins,
        losses,
        won_revenue,
        coalesce(
            proportional_share,
            group_spend - coalesce(sum(proportional_share) over (
                partition by lead_cohort_month, channel, campaign, keyword
            ), 0)
        ) as spend
    from shares
),

spend_without_leads as (
    select
        spend_groups.lead_cohort_month,
        spend_groups.channel,
        spend_groups.campaign,
        spend_groups.keyword,
        cast(null as {{ dbt.type_string() }}) as province,
        cast(null as {{ dbt.type_string() }}) as industry,
        0 as leads,
        0 as mqls,
        0 as sqls,
        0 as opportunities,
        0 as pocs,
        0 as wins,
        0 as losses,
        0 as won_revenue,
        spend_groups.spend
    from spend_groups
    where not exists (
        select 1
        from cells
        where cells.lead_cohort_month = spend_groups.lead_cohort_month
            and cells.channel = spend_groups.channel
            and coalesce(cells.campaign, '') = coalesce(spend_groups.campaign, '')
            and coalesce(cells.keyword, '') = coalesce(spend_groups.keyword, '')
    )
),

unioned as (
    select * from allocated
    union all
    select * from spend_without_leads
),

final as (
    select
        lead_cohort_month,
        channel,
        campaign,
        keyword,
        province,
        industry,
        cast(leads as bigint) as leads,
        cast(mqls as bigint) as mqls,
        cast(sqls as bigint) as sqls,
        cast(opportunities as bigint) as opportunities,
        cast(pocs as bigint) as pocs,
        cast(wins as bigint) as wins,
        cast(losses as bigint) as losses,
        cast(spend as decimal(18, 2)) as spend,
        cast(won_revenue as decimal(18, 2)) as won_revenue,
        {{ safe_ratio('mqls', 'leads') }} as lead_to_mql_rate,
        {{ safe_ratio('sqls', 'mqls') }} as mql_to_sql_rate,
        {{ safe_ratio('opportunities', 'sqls') }} as sql_to_opportunity_rate,
        {{ safe_ratio('pocs', 'opportunities') }} as opportunity_to_poc_rate,
        {{ safe_ratio('wins', 'pocs') }} as poc_to_won_rate,
        {{ safe_ratio('opportunities', 'leads') }} as lead_to_opportunity_rate,
        {{ safe_ratio('wins', 'leads') }} as lead_to_won_rate,
        {{ safe_ratio('spend', 'leads', 2) }} as cost_per_lead,
        {{ safe_ratio('spend', 'mqls', 2) }} as cost_per_mql,
        {{ safe_ratio('spend', 'sqls', 2) }} as cost_per_sql,
        {{ safe_ratio('spend', 'opportunities', 2) }} as cost_per_opportunity,
        {{ safe_ratio('spend', 'pocs', 2) }} as cost_per_poc,
        {{ safe_ratio('spend', 'wins', 2) }} as cost_per_win,
        {{ safe_ratio('won_revenue - spend', 'spend') }} as roi
    from unioned
)

select * from final
