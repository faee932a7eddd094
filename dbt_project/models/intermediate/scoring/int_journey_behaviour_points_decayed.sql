-- Behaviour points of every journey on every day it is scored (int_journey_days_spanned), one row per
-- journey, day and behaviour rule (seed scoring_behaviour_rules) of the rule set in force that day that
-- some touch matches. The touches are the journey's person's (fct_touchpoints) on or before the day, of the
-- rule's touch type; a touch on a later day never counts, so the row of a past day stays what it was.
-- Each touch is worth points × 0.5^(age_days / half_life_days), age_days being whole days between the
-- touch's business day and the score day (0 on the day itself), kept to 6 decimal places; the rule's
-- points are the sum over its touches, then capped at ± cap (the cap applies after the decay).
-- Incremental per journey (macros/incremental): a night derives the new days of each journey, and every
-- day of a journey whose inputs changed (int_journey_scoring_inputs_digested).
{%- set decay_vars = ['business_time_zone'] %}
{{ journey_days_incremental(decay_vars) }}

with digests as (
    select * from {{ ref('int_journey_scoring_inputs_digested') }}
),

journey_days as (
    {{ journey_days_to_derive() }}
),

touchpoints as (
    select
        customer_id,
        touch_type,
        {{ business_day('touched_at') }} as touched_on
    from {{ ref('fct_touchpoints') }}
),

rules as (
    select
        cast(rule_set_version as {{ dbt.type_string() }}) as rule_set_version,
        cast(rule_id as {{ dbt.type_string() }}) as rule_id,
        cast(touch_type as {{ dbt.type_string() }}) as touch_type,
        cast(points as decimal(12, 2)) as points,
        cast(cap as decimal(12, 2)) as cap,
        cast(half_life_days as decimal(12, 2)) as half_life_days
    from {{ ref('scoring_behaviour_rules') }}
),

touches_aged as (
    select
        journey_days.journey_id,
        journey_days.score_on,
        rules.rule_set_version,
        rules.rule_id,
        rules.touch_type,
        rules.points,
        rules.cap,
        rules.half_life_days,
        {{ dbt.datediff('touchpoints.touched_on', 'journey_days.score_on', 'day') }} as age_days
    from journey_days
    inner join rules
        on journey_days.rule_set_version = rules.rule_set_version
    inner join touchpoints
        on journey_days.customer_id = touchpoints.customer_id
        and rules.touch_type = touchpoints.touch_type
        and journey_days.score_on >= touchpoints.touched_on
),

touches_decayed as (
    select
        *,
        cast(
            cast(points as {{ type_double() }})
            * power(cast(0.5 as {{ type_double() }}), cast(age_days as {{ type_double() }}) / cast(half_life_days as {{ type_double() }}))
            as decimal(18, 6)
        ) as decayed_points
    from touches_aged
),

summed as (
    select
        journey_id,
        score_on,
        rule_set_version,
        rule_id,
        touch_type,
        cap,
        count(*) as touch_count,
        sum(decayed_points) as decayed_points
    from touches_decayed
    group by journey_id, score_on, rule_set_version, rule_id, touch_type, cap
),

capped as (
    select
        journey_id,
        score_on,
        rule_set_version,
        rule_id,
        touch_type,
        cast(touch_count as integer) as touch_count,
        cast(decayed_points as decimal(18, 6)) as decayed_points,
        cast(
            case
                when cap is null then decayed_points
                when decayed_points > cap then cap
                when decayed_points < -1 * cap then -1 * cap
                else decayed_points
            end as decimal(18, 6)
        ) as points
    from summed
),

final as (
    select
        capped.*,
        {{ partition_bookkeeping('digests.inputs_digest', decay_vars) }}
    from capped
    inner join digests
        on capped.journey_id = digests.journey_id
)

select * from final
