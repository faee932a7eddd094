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

with pairs as (
    select * from {{ ref('int_customer_touch_days_paired') }}
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

accumulated as (
    select
        pairs.customer_id,
        pairs.touched_on,
        rules.rule_set_version,
        rules.rule_id,
        rules.touch_type,
        rules.cap,
        rules.half_life_days,
        cast(sum(pairs.earlier_touches) as integer) as touch_count,
        cast(rules.points as {{ type_double() }}) * sum(
            pairs.earlier_touches * power(
                cast(0.5 as {{ type_double() }}),
                cast(pairs.age_days as {{ type_double() }}) / cast(rules.half_life_days as {{ type_double() }})
            )
        ) as decayed_points
    from pairs
    inner join rules
        on pairs.touch_type = rules.touch_type
    group by
        pairs.customer_id, pairs.touched_on, rules.rule_set_version, rules.rule_id, rules.touch_type,
        rules.points, rules.cap, rules.half_life_days
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
