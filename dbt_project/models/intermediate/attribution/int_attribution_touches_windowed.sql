-- Every deal with the touches attribution credits (architecture §5): every touch of every stitched
-- person of the deal's company (its buying committee) in var attribution_lookback_days up to the win or
-- the loss — for an open deal up to the newest touch in the warehouse, so a replayed night gives the same
-- answer — in a fixed order (time, then touchpoint_id), with the touches each rule-based model picks.
-- The rule-based models (mart_attribution) credit won and open deals; lost deals are here because the
-- data-driven models (Markov, Shapley: orchestration/attribution.py) learn from journeys that failed too.
-- A deal with no touch in its window has one row with no touch, so its revenue is never lost.
-- It reads the published facts (fct_opportunities, fct_touchpoints) so its credits reconcile with them.
with opportunities as (
    select * from {{ ref('fct_opportunities') }}
    where outcome in ('won', 'lost', 'open')
),

journeys as (
    select * from {{ ref('fct_lead_journeys') }}
),

touchpoints as (
    select * from {{ ref('fct_touchpoints') }}
    where channel_group in ({% for group in var('attribution_channel_groups') %}'{{ group }}'{{ ', ' if not loop.last }}{% endfor %})
),

data_as_of as (
    select max(touched_at) as as_of_at from {{ ref('fct_touchpoints') }}
),

windows as (
    select
        opportunities.opportunity_id,
        opportunities.outcome as opportunity_state,
        opportunities.account_id,
        opportunities.opened_at,
        opportunities.won_at,
        -- The lead the deal was converted from (CRM lineage); none for a deal opened without one.
        journeys.lead_at as lead_created_at,
        case
            when opportunities.outcome = 'won' then opportunities.won_at
            when opportunities.outcome = 'lost' then opportunities.lost_at
            else data_as_of.as_of_at
        end as window_end_at,
        -- A lost deal brings no revenue: it only shows the data-driven models a journey that failed.
        cast(
            coalesce(case
                when opportunities.outcome = 'won' then opportunities.won_amount
                when opportunities.outcome = 'open' then opportunities.amount
                else 0
            end, 0) as decimal(18, 2)
        ) as opportunity_revenue,
        opportunities.reporting_currency
    from opportunities
    cross join data_as_of
    left join journeys
        on opportunities.source_lead_id = journeys.journey_id
),

windows_bounded as (
    select
        windows.*,
        {{ dbt.dateadd('day', -1 * var('attribution_lookback_days'), 'windows.window_end_at') }} as window_start_at
    from windows
),

window_touches as (
    select
        windows_bounded.opportunity_id,
        touchpoints.touchpoint_id,
        touchpoints.customer_id,
        touchpoints.touched_at,
        touchpoints.touch_type,
        touchpoints.channel,
        touchpoints.channel_group,
        touchpoints.campaign,
        touchpoints.keyword,
        touchpoints.content_id,
        -- fct_touchpoints keeps a WeCom add's channel code (渠道活码 state) in content_id.
        case when touchpoints.touch_type = 'wecom_add' then touchpoints.content_id end as wecom_channel_code,
        -- Direct: fct_touchpoints' channel for a visit with neither a UTM nor a referrer.
        touchpoints.channel = 'direct' as is_direct,
        row_number() over (
            partition by windows_bounded.opportunity_id
            order by touchpoints.touched_at, touchpoints.touchpoint_id
        ) as touch_sequence,
        count(*) over (partition by windows_bounded.opportunity_id) as touches_in_window,
        case when touchpoints.touched_at <= windows_bounded.lead_created_at then 1 else 0 end as is_before_lead,
        case when touchpoints.touched_at <= windows_bounded.opened_at then 1 else 0 end as is_before_opening
    from windows_bounded
    inner join touchpoints
        on windows_bounded.account_id = touchpoints.account_id
        and windows_bounded.window_start_at <= touchpoints.touched_at
        and windows_bounded.window_end_at >= touchpoints.touched_at
),

milestones as (
    -- Lead creation / opportunity creation: the last touch at or before the lead was created / the deal
    -- opened; the first touch of the window when none is (no lead, or it came before the window).
    -- Last non-direct: the last touch that is not direct; the last touch when all are.
    select
        opportunity_id,
        coalesce(max(case when is_before_lead = 1 then touch_sequence end), 1) as lead_creation_sequence,
        coalesce(max(case when is_before_opening = 1 then touch_sequence end), 1) as opportunity_creation_sequence,
        coalesce(max(case when not is_direct then touch_sequence end), max(touch_sequence)) as last_non_direct_sequence
    from window_touches
    group by opportunity_id
),

final as (
    select
        windows_bounded.opportunity_id,
        windows_bounded.opportunity_state,
        windows_bounded.account_id,
        windows_bounded.opened_at,
        windows_bounded.won_at,
        windows_bounded.lead_created_at,
        windows_bounded.window_start_at,
        windows_bounded.window_end_at,
        windows_bounded.opportunity_revenue,
        windows_bounded.reporting_currency,
        window_touches.touchpoint_id,
        window_touches.customer_id,
        window_touches.touched_at,
        window_touches.touch_type,
        window_touches.channel,
        window_touches.channel_group,
        window_touches.campaign,
        window_touches.keyword,
        window_touches.content_id,
        window_touches.wecom_channel_code,
        coalesce(window_touches.is_direct, false) as is_direct,
        cast(window_touches.touch_sequence as integer) as touch_sequence,
        cast(coalesce(window_touches.touches_in_window, 0) as integer) as touches_in_window,
        coalesce(window_touches.touch_sequence = 1, false) as is_first_touch,
        coalesce(window_touches.touch_sequence = milestones.lead_creation_sequence, false) as is_lead_creation_touch,
        coalesce(window_touches.touch_sequence = milestones.opportunity_creation_sequence, false)
            as is_opportunity_creation_touch,
        coalesce(window_touches.touch_sequence = window_touches.touches_in_window, false) as is_last_touch,
        coalesce(window_touches.touch_sequence = milestones.last_non_direct_sequence, false) as is_last_non_direct_touch
    from windows_bounded
    left join window_touches
        on windows_bounded.opportunity_id = window_touches.opportunity_id
    left join milestones
        on windows_bounded.opportunity_id = milestones.opportunity_id
)

select * from final
