-- Rule-based multi-touch attribution (architecture §5): every won and open deal's revenue credited to its
-- buying committee's touches (int_attribution_touches_windowed) under each model, side by side. Each
-- model gives a touch whole-number weight units; a deal's revenue (in fen) and its share (in millionths)
-- are split in proportion, rounded down, and what rounding leaves goes to the touch with the most units
-- (the earliest of equals), so per deal and model shares sum to exactly 1 and credits to the revenue.
{%- set u_shape = var('attribution_u_shaped_weights') %}
{%- set w_shape = var('attribution_w_shaped_weights') %}
{%- if u_shape.first_touch + u_shape.lead_creation + u_shape.rest != 100 %}
    {{ exceptions.raise_compiler_error("var attribution_u_shaped_weights must sum to 100, not " ~ (u_shape.first_touch + u_shape.lead_creation + u_shape.rest)) }}
{%- endif %}
{%- if w_shape.first_touch + w_shape.lead_creation + w_shape.opportunity_creation + w_shape.rest != 100 %}
    {{ exceptions.raise_compiler_error("var attribution_w_shaped_weights must sum to 100, not " ~ (w_shape.first_touch + w_shape.lead_creation + w_shape.opportunity_creation + w_shape.rest)) }}
{%- endif %}
{#- Weight units of a touch under each model. Milestone weights are scaled by the number of other
    touches, so the rest's weight can be shared equally in whole units; with no other touch the
    milestones share everything in proportion to their weights. #}
{%- set models = {
    'first_touch': 'case when is_first_touch then 1 else 0 end',
    'lead_creation': 'case when is_lead_creation_touch then 1 else 0 end',
    'last_touch': 'case when is_last_touch then 1 else 0 end',
    'last_non_direct': 'case when is_last_non_direct_touch then 1 else 0 end',
    'linear': '1',
    'u_shaped': '(case when is_first_touch then ' ~ u_shape.first_touch ~ ' else 0 end'
        ~ ' + case when is_lead_creation_touch then ' ~ u_shape.lead_creation ~ ' else 0 end)'
        ~ ' * greatest(u_shaped_rest_touches, 1)'
        ~ ' + case when is_u_shaped_rest then ' ~ u_shape.rest ~ ' else 0 end',
    'w_shaped': '(case when is_first_touch then ' ~ w_shape.first_touch ~ ' else 0 end'
        ~ ' + case when is_lead_creation_touch then ' ~ w_shape.lead_creation ~ ' else 0 end'
        ~ ' + case when is_opportunity_creation_touch then ' ~ w_shape.opportunity_creation ~ ' else 0 end)'
        ~ ' * greatest(w_shaped_rest_touches, 1)'
        ~ ' + case when is_w_shaped_rest then ' ~ w_shape.rest ~ ' else 0 end',
    'time_decay': 'time_decay_units',
} %}
{%- if models.keys() | sort != rule_based_attribution_models() | sort %}
    {{ exceptions.raise_compiler_error("macro rule_based_attribution_models() must name this model's models: "
        ~ models.keys() | join(', ')) }}
{%- endif %}

with touches as (
    -- Lost deals are in the window model for the data-driven models only: nothing of theirs is credited.
    select * from {{ ref('int_attribution_touches_windowed') }}
    where opportunity_state in ('won', 'open')
),

touches_measured as (
    select
        *,
        not is_first_touch and not is_lead_creation_touch as is_u_shaped_rest,
        not is_first_touch and not is_lead_creation_touch and not is_opportunity_creation_touch as is_w_shaped_rest,
        max(touched_at) over (partition by opportunity_id) as last_touched_at,
        cast(round(opportunity_revenue * 100) as bigint) as revenue_fen
    from touches
),

touches_weighed as (
    select
        *,
        sum(case when is_u_shaped_rest then 1 else 0 end) over (partition by opportunity_id) as u_shaped_rest_touches,
        sum(case when is_w_shaped_rest then 1 else 0 end) over (partition by opportunity_id) as w_shaped_rest_touches,
        -- Time decay: half the weight per var attribution_time_decay_half_life_days before the deal's last
        -- touch (the same shares as counting back from the close), in billionths of the last touch's.
        cast(round(1000000000 * power(
            cast(0.5 as {{ type_double() }}),
            cast({{ dbt.datediff('touched_at', 'last_touched_at', 'second') }} as {{ type_double() }})
                / cast({{ 86400 * var('attribution_time_decay_half_life_days') }} as {{ type_double() }})
        )) as bigint) as time_decay_units
    from touches_measured
),

weights as (
    {%- for model, units in models.items() %}
    select
        *,
        '{{ model }}' as attribution_model,
        -- A deal with no touch in its window: one row that takes everything.
        case when touchpoint_id is null then 1 else {{ units }} end as weight_units
    from touches_weighed
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

credited as (
    select
        *,
        sum(weight_units) over (partition by opportunity_id, attribution_model) as total_units,
        row_number() over (
            partition by opportunity_id, attribution_model order by weight_units desc, touch_sequence asc
        ) as remainder_rank
    from weights
    where weight_units > 0
),

floored as (
    select
        *,
        {{ floor_share('revenue_fen', 'weight_units', 'total_units') }} as floor_fen,
        {{ floor_share('1000000', 'weight_units', 'total_units') }} as floor_millionths
    from credited
),

allocated as (
    select
        *,
        floor_fen + case
            when remainder_rank = 1
                then revenue_fen - sum(floor_fen) over (partition by opportunity_id, attribution_model)
            else 0
        end as credited_fen,
        floor_millionths + case
            when remainder_rank = 1
                then 1000000 - sum(floor_millionths) over (partition by opportunity_id, attribution_model)
            else 0
        end as credited_millionths
    from floored
),

final as (
    select
        opportunity_id,
        opportunity_state,
        attribution_model,
        touchpoint_id,
        touch_sequence,
        touches_in_window,
        account_id,
        customer_id,
        touched_at,
        {{ business_month('touched_at') }} as touched_month,
        touch_type,
        case when touchpoint_id is null then 'no_touch' else channel end as channel,
        channel_group,
        campaign,
        keyword,
        content_id,
        wecom_channel_code,
        is_first_touch,
        is_lead_creation_touch,
        is_opportunity_creation_touch,
        is_last_touch,
        is_last_non_direct_touch,
        cast(weight_units as bigint) as weight_units,
        {{ from_integer_units('credited_millionths', 6, 12) }} as credit_share,
        {{ from_integer_units('credited_fen', 2) }} as credited_revenue,
        opportunity_revenue,
        reporting_currency,
        won_at,
        window_start_at,
        window_end_at,
        {{ business_month('window_end_at') }} as window_end_month
    from allocated
)

select * from final
