-- The funnel by lead cohort month (business time zone) × channel × campaign × keyword × region ×
-- industry: journeys reaching each stage, conversion between stages, spend, cost per stage, won
-- revenue and ROI. Ad spend is known per month × channel × campaign × keyword; it is shared among
-- that group's region × industry cells in proportion to their leads (exact to the fen: the biggest
-- cell takes the rounding remainder), and spend that found no lead gets a cell of its own with no
-- region or industry — so the mart's spend adds up to the platforms' spend. MQL is counted twice, side by
-- side: by the CRM's own MQL status (mqls, a stage of the journey) and by the rules-based lead score
-- (mqls_by_score: the journey's score passed var lead_score_mql_threshold on some day, mart_lead_scores).
{%- set stages = funnel_stages() %}
{#- a cell of the funnel: the mart's grain #}
{%- set cell_columns = ['lead_cohort_month', 'channel', 'campaign', 'keyword', 'province', 'industry'] %}

with journey_stages as (
    select * from {{ ref('fct_lead_journeys') }}
),

lead_scores as (
    select * from {{ ref('mart_lead_scores') }}
),

mql_by_score_days as (
    select
        journey_id,
        min(score_on) as mql_by_score_on
    from lead_scores
    where is_mql_by_score
    group by journey_id
),

journeys as (
    select
        journey_stages.*,
        mql_by_score_days.mql_by_score_on
    from journey_stages
    left join mql_by_score_days
        on journey_stages.journey_id = mql_by_score_days.journey_id
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
        {%- for stage in funnel_stages() %}
        count({{ stage.stage }}_at) as {{ stage.counts_as }},
        {%- endfor %}
        count(mql_by_score_on) as mqls_by_score,
        count(lost_at) as losses,
        coalesce(sum(won_amount), 0) as lead_won_revenue
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
        {%- for column in cell_columns %}
        {{ column }},
        {%- endfor %}
        {%- for stage in funnel_stages() %}
        {{ stage.counts_as }},
        {%- endfor %}
        mqls_by_score,
        losses,
        lead_won_revenue,
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
        {%- for stage in funnel_stages() %}
        0 as {{ stage.counts_as }},
        {%- endfor %}
        0 as mqls_by_score,
        0 as losses,
        0 as lead_won_revenue,
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
        {%- for column in cell_columns %}
        {{ column }},
        {%- endfor %}
        {%- for stage in stages %}
        cast({{ stage.counts_as }} as bigint) as {{ stage.counts_as }},
        {%- endfor %}
        cast(mqls_by_score as bigint) as mqls_by_score,
        cast(losses as bigint) as losses,
        cast(spend as decimal(18, 2)) as spend,
        cast(lead_won_revenue as decimal(18, 2)) as lead_won_revenue,
        {%- for stage in stages[1:] %}
        {%- set earlier = stages[loop.index0] %}
        {{ safe_ratio(stage.counts_as, earlier.counts_as) }} as {{ earlier.stage }}_to_{{ stage.stage }}_rate,
        {%- endfor %}
        {#- the marketing-led-growth north star (lead → opportunity), and lead → won #}
        {%- for stage in stages if stage.stage in ('opportunity', stages[-1].stage) %}
        {{ safe_ratio(stage.counts_as, stages[0].counts_as) }} as {{ stages[0].stage }}_to_{{ stage.stage }}_rate,
        {%- endfor %}
        {%- for stage in stages %}
        {{ safe_ratio('spend', stage.counts_as, 2) }} as cost_per_{{ stage.stage if stage.stage != 'won' else 'win' }},
        {%- endfor %}
        {{ safe_ratio('mqls_by_score', stages[0].counts_as) }} as lead_to_mql_by_score_rate,
        {{ safe_ratio('spend', 'mqls_by_score', 2) }} as cost_per_mql_by_score,
        {{ safe_ratio('lead_won_revenue - spend', 'spend') }} as roi
    from unioned
)

select * from final
