-- Every scorer's score of every journey day that can be judged, one row per scorer, evaluation period and
-- day: days the journey was still open with a known outcome (int_journey_days_labelled) that the fitted
-- models scored (stg_scoring__lead_model_scores: a quarter with enough history before it), so that every
-- scorer is judged on exactly the same days. Scorers: rules (mart_lead_scores.total_score), logistic,
-- gradient_boosting and random (the baseline). Each day is judged within its month and within 'all'.
with labelled as (
    select * from {{ ref('int_journey_days_labelled') }}
    where is_open_on_day and is_outcome_known
),

model_scores as (
    select * from {{ ref('stg_scoring__lead_model_scores') }}
),

rules_scores as (
    select * from {{ ref('mart_lead_scores') }}
),

judged_days as (
    select
        labelled.journey_id,
        labelled.score_on,
        labelled.converts_within_window,
        cast(rules_scores.total_score as double precision) as rules_score,
        model_scores.logistic_score,
        model_scores.gradient_boosting_score,
        model_scores.random_score
    from labelled
    inner join model_scores
        on labelled.journey_id = model_scores.journey_id
        and labelled.score_on = model_scores.score_on
    inner join rules_scores
        on labelled.journey_id = rules_scores.journey_id
        and labelled.score_on = rules_scores.score_on
),

scored as (
    select journey_id, score_on, converts_within_window, 'rules' as scorer, rules_score as score,
        false as is_probability
    from judged_days
    union all
    select journey_id, score_on, converts_within_window, 'logistic' as scorer, logistic_score as score,
        true as is_probability
    from judged_days
    union all
    select journey_id, score_on, converts_within_window, 'gradient_boosting' as scorer,
        gradient_boosting_score as score, true as is_probability
    from judged_days
    union all
    select journey_id, score_on, converts_within_window, 'random' as scorer, random_score as score,
        true as is_probability
    from judged_days
),

final as (
    select
        cast(scorer as {{ dbt.type_string() }}) as scorer,
        cast('month' as {{ dbt.type_string() }}) as evaluation_period,
        cast({{ dbt.date_trunc('month', 'score_on') }} as date) as period_start_on,
        journey_id,
        score_on,
        cast(score as double precision) as score,
        is_probability,
        converts_within_window
    from scored
    union all
    select
        cast(scorer as {{ dbt.type_string() }}) as scorer,
        cast('all' as {{ dbt.type_string() }}) as evaluation_period,
        cast(null as date) as period_start_on,
        journey_id,
        score_on,
        cast(score as double precision) as score,
        is_probability,
        converts_within_window
    from scored
)

select * from final
