-- What really happened after each day a journey is scored on (int_journey_days_spanned): the outcome the
-- fitted lead scorers learn and the score-quality mart judges every scorer by. converted_on is the business
-- day the journey reached SQL or an opportunity, whichever came first. A day counts for learning and judging
-- only while the journey had not converted yet (is_open_on_day) and once the outcome window — the var
-- lead_score_model_outcome_days days after it — lies within the data (is_outcome_known: window end on or
-- before the last scored day, the data's as-of day while any journey is open). converts_within_window: it
-- converted after the day and within the window.
{%- set outcome_days = lead_score_model_days('lead_score_model_outcome_days') %}

with journey_days as (
    select * from {{ ref('int_journey_days_spanned') }}
),

journeys as (
    select * from {{ ref('fct_lead_journeys') }}
),

data_as_of as (
    select max(score_on) as as_of_on from journey_days
),

conversions as (
    select
        journey_id,
        case
            when sql_at is null and opportunity_at is null then null
            when sql_at is null then {{ business_day('opportunity_at') }}
            when opportunity_at is null or sql_at <= opportunity_at then {{ business_day('sql_at') }}
            else {{ business_day('opportunity_at') }}
        end as converted_on
    from journeys
),

windows as (
    select
        journey_days.journey_id,
        journey_days.customer_id,
        journey_days.score_on,
        journey_days.lead_on,
        conversions.converted_on,
        cast({{ dbt.dateadd('day', outcome_days, 'journey_days.score_on') }} as date) as outcome_window_end_on,
        data_as_of.as_of_on
    from journey_days
    inner join conversions
        on journey_days.journey_id = conversions.journey_id
    cross join data_as_of
),

final as (
    select
        journey_id,
        customer_id,
        score_on,
        lead_on,
        cast({{ dbt.datediff('lead_on', 'score_on', 'day') }} as integer) as days_since_lead,
        converted_on,
        outcome_window_end_on,
        coalesce(converted_on > score_on, true) as is_open_on_day,
        outcome_window_end_on <= as_of_on as is_outcome_known,
        coalesce(converted_on > score_on and converted_on <= outcome_window_end_on, false) as converts_within_window
    from windows
)

select * from final
