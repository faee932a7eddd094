-- Calibration of each lead scorer (issue 12): per scorer, evaluation period and score decile (1 = the tenth
-- of judged days with the highest scores, ties broken by journey and day), the mean score beside the share
-- of days that really converted within var lead_score_model_outcome_days days. For a scorer whose score is a
-- probability (logistic, gradient_boosting, random) the two should agree (calibration_gap near 0); the rules'
-- total is points, so only its ordering of observed rates means something.
with judged as (
    select * from {{ ref('int_lead_scores_judged') }}
),

deciles as (
    select
        *,
        ntile(10) over (
            partition by scorer, evaluation_period, period_start_on
            order by score desc, journey_id, score_on
        ) as decile
    from judged
),

final as (
    select
        scorer,
        evaluation_period,
        period_start_on,
        cast(decile as integer) as score_decile,
        cast(count(*) as integer) as judged_days,
        cast(sum(case when converts_within_window then 1 else 0 end) as integer) as converting_days,
        cast(min(score) as decimal(18, 6)) as min_score,
        cast(max(score) as decimal(18, 6)) as max_score,
        cast(avg(score) as decimal(18, 6)) as mean_score,
        cast(avg(case when converts_within_window then 1.0 else 0.0 end) as decimal(18, 6)) as observed_rate,
        case
            when min(case when is_probability then 1 else 0 end) = 1
                then cast(avg(score) - avg(case when converts_within_window then 1.0 else 0.0 end) as decimal(18, 6))
        end as calibration_gap
    from deciles
    group by scorer, evaluation_period, period_start_on, decile
)

select * from final
