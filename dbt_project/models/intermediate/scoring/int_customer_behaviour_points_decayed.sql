-- Behaviour points stored only where they change: one row per person (customer_id), business day with at
-- least one touch of a behaviour rule's touch type, and that rule (seed scoring_behaviour_rules, every rule
-- set's). touch_count counts the person's touches of the rule's type on or before the day; decayed_points is
-- points × the sum over them of 0.5^(age_days / half_life_days), age_days being whole days between the
-- touch's business day and this day. On a later day d before the next such touch day (next_touched_on), the
-- count is the same and the points are decayed_points × 0.5^((d - touched_on) / half_life_days).
-- int_lead_scores_daily expands that to every day it scores under the rule set in force that day, kept to 6
-- decimal places (the rule's sum rounded once, not each touch), then capped at ± cap. One row per touch day
-- rather than per scored day (at 10× the demo 37 thousand touch days against 5.5 million journey-day rows), so
-- it is rebuilt in full each night.

with touchpoints as (
    select
        customer_id,
        touch_type,
        {{ business_day('touched_at') }} as touched_on
    from {{ ref('fct_touchpoints') }}
    where customer_id is not null
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

touch_days as (
    select
        customer_id,
        touch_type,
        touched_on,
        count(*) as touches
    from touchpoints
    group by customer_id, touch_type, touched_on
),

rule_touch_days as (
    select
        touch_days.customer_id,
        touch_days.touched_on,
        touch_days.touches,
        rules.*
    from touch_days
    inner join rules
        on touch_days.touch_type = rules.touch_type
),

accumulated as (
    -- A person has tens of touch days of a type, so pairing each with the earlier ones stays small.
    select
        rule_touch_days.customer_id,
        rule_touch_days.touched_on,
        rule_touch_days.rule_set_version,
        rule_touch_days.rule_id,
        rule_touch_days.touch_type,
        rule_touch_days.cap,
        rule_touch_days.half_life_days,
        cast(sum(earlier.touches) as integer) as touch_count,
        cast(rule_touch_days.points as {{ type_double() }}) * sum(
            earlier.touches * power(
                cast(0.5 as {{ type_double() }}),
                cast({{ dbt.datediff('earlier.touched_on', 'rule_touch_days.touched_on', 'day') }} as {{ type_double() }})
                / cast(rule_touch_days.half_life_days as {{ type_double() }})
            )
        ) as decayed_points
    from rule_touch_days
    inner join touch_days as earlier
        on rule_touch_days.customer_id = earlier.customer_id
        and rule_touch_days.touch_type = earlier.touch_type
        and earlier.touched_on <= rule_touch_days.touched_on
    group by
        rule_touch_days.customer_id, rule_touch_days.touched_on, rule_touch_days.rule_set_version,
        rule_touch_days.rule_id, rule_touch_days.touch_type, rule_touch_days.points, rule_touch_days.cap,
        rule_touch_days.half_life_days
),

final as (
    select
        customer_id,
        touched_on,
        lead(touched_on) over (
            partition by customer_id, rule_set_version, rule_id order by touched_on
        ) as next_touched_on,
        rule_set_version,
        rule_id,
        touch_type,
        cap,
        half_life_days,
        touch_count,
        cast(decayed_points as {{ type_double() }}) as decayed_points
    from accumulated
)

select * from final
