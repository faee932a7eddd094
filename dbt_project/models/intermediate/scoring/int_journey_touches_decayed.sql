-- The behaviour the fitted lead scorers learn from: one row per journey, day it is scored on
-- (int_journey_days_spanned) and touch type (every type in fct_touchpoints, whether or not a behaviour rule
-- scores it) with at least one touch of its person on or before the day. decayed_touches counts them, each
-- worth 0.5^(age_days / var lead_score_model_half_life_days), age_days being whole business days between the
-- touch and the scoring day. A touch on a later day never counts, so a past day's row stays what it was.
-- Incremental per journey (macros/incremental): a night derives the new days of each journey, and every
-- day of a journey whose inputs changed (int_journey_scoring_inputs_digested).
{%- set half_life = lead_score_model_days('lead_score_model_half_life_days') %}
{%- set decay_vars = ['lead_score_model_half_life_days', 'business_time_zone'] %}
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
    where customer_id is not null
),

touches_aged as (
    select
        journey_days.journey_id,
        journey_days.score_on,
        touchpoints.touch_type,
        {{ dbt.datediff('touchpoints.touched_on', 'journey_days.score_on', 'day') }} as age_days
    from journey_days
    inner join touchpoints
        on journey_days.customer_id = touchpoints.customer_id
        and journey_days.score_on >= touchpoints.touched_on
),

decayed as (
    select
        journey_id,
        score_on,
        cast(touch_type as {{ dbt.type_string() }}) as touch_type,
        cast(count(*) as integer) as touch_count,
        cast(
            sum(power(cast(0.5 as {{ type_double() }}), cast(age_days as {{ type_double() }}) / {{ half_life }}.0))
            as decimal(18, 6)
        ) as decayed_touches
    from touches_aged
    group by journey_id, score_on, touch_type
),

final as (
    select
        decayed.*,
        {{ partition_bookkeeping('digests.inputs_digest', decay_vars) }}
    from decayed
    inner join digests
        on decayed.journey_id = digests.journey_id
)

select * from final
