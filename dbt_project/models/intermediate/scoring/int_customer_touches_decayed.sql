-- The behaviour the fitted lead scorers learn from, stored only where it changes: one row per person
-- (customer_id), business day with at least one touch and touch type (every type in fct_touchpoints, whether
-- or not a behaviour rule scores it). touch_count counts the person's touches of the type on or before the
-- day; decayed_touches sums them, each worth 0.5^(age_days / var lead_score_model_half_life_days), age_days
-- being whole days between the touch's business day and this day. Until the type's next touch day
-- (next_touched_on), a later day d has the same count and decayed_touches × 0.5^((d - touched_on) / half-life):
-- the scorers expand it to the days they score (lead_score_model.py). One row per touch day rather than per
-- scored day (at 10× the demo 37 thousand rows, not 9.8 million), so it is rebuilt in full each night.
{%- set half_life = lead_score_model_days('lead_score_model_half_life_days') %}

with pairs as (
    select * from {{ ref('int_customer_touch_days_paired') }}
),

accumulated as (
    select
        customer_id,
        cast(touch_type as {{ dbt.type_string() }}) as touch_type,
        touched_on,
        cast(sum(earlier_touches) as integer) as touch_count,
        sum(
            earlier_touches
            * power(cast(0.5 as {{ type_double() }}), cast(age_days as {{ type_double() }}) / {{ half_life }}.0)
        ) as decayed_touches
    from pairs
    group by customer_id, touch_type, touched_on
),

final as (
    select
        customer_id,
        touch_type,
        touched_on,
        lead(touched_on) over (partition by customer_id, touch_type order by touched_on) as next_touched_on,
        touch_count,
        cast(decayed_touches as {{ type_double() }}) as decayed_touches
    from accumulated
)

select * from final
