-- How well each lead scorer foresaw what really happened next (issue 12): per scorer (rules, logistic,
-- gradient_boosting, random) and evaluation period (each month, and all judged days), on the same judged days
-- (int_lead_scores_judged: open days whose outcome — SQL or an opportunity within var
-- lead_score_model_outcome_days days — is known, in quarters the fitted models scored walk-forward).
-- AUC from rank statistics: the share of (converting, non-converting) pairs of days in which the converting
-- day scores higher, ties counting half. Top decile: the tenth of days with the highest scores (ties broken by
-- journey and day); its lift is its conversion rate over the period's. Calibration per decile is in
-- mart_lead_score_calibration.
with judged as (
    select * from {{ ref('int_lead_scores_judged') }}
),

score_groups as (
    select
        scorer,
        evaluation_period,
        period_start_on,
        score,
        sum(case when converts_within_window then 1 else 0 end) as positives,
        sum(case when converts_within_window then 0 else 1 end) as negatives
    from judged
    group by scorer, evaluation_period, period_start_on, score
),

score_groups_ranked as (
    select
        *,
        coalesce(sum(negatives) over (
            partition by scorer, evaluation_period, period_start_on
            order by score
            rows between unbounded preceding and 1 preceding
        ), 0) as negatives_below
    from score_groups
),

rank_sums as (
    select
        scorer,
        evaluation_period,
        period_start_on,
        sum(cast(positives as double precision) * (negatives_below + 0.5 * negatives)) as positive_pairs_won,
        sum(positives) as positives,
        sum(negatives) as negatives
    from score_groups_ranked
    group by scorer, evaluation_period, period_start_on
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

periods as (
    select
        scorer,
        evaluation_period,
        period_start_on,
        min(score_on) as first_judged_on,
        max(score_on) as last_judged_on,
        count(*) as judged_days,
        count(distinct journey_id) as journeys,
        sum(case when converts_within_window then 1 else 0 end) as converting_days,
        sum(case when decile = 1 then 1 else 0 end) as top_decile_days,
        sum(case when decile = 1 and converts_within_window then 1 else 0 end) as top_decile_converting_days,
        avg(case when is_probability then score end) as mean_predicted_probability
    from deciles
    group by scorer, evaluation_period, period_start_on
),

final as (
    select
        periods.scorer,
        periods.evaluation_period,
        periods.period_start_on,
        periods.first_judged_on,
        periods.last_judged_on,
        cast(periods.judged_days as integer) as judged_days,
        cast(periods.journeys as integer) as journeys,
        cast(periods.converting_days as integer) as converting_days,
        cast(cast(periods.converting_days as double precision) / periods.judged_days as decimal(18, 6))
            as conversion_rate,
        cast(case
            when rank_sums.positives > 0 and rank_sums.negatives > 0
                then rank_sums.positive_pairs_won
                    / (cast(rank_sums.positives as double precision) * rank_sums.negatives)
        end as decimal(18, 6)) as auc,
        cast(periods.top_decile_days as integer) as top_decile_days,
        cast(periods.top_decile_converting_days as integer) as top_decile_converting_days,
        cast(case
            when periods.converting_days > 0 then
                (cast(periods.top_decile_converting_days as double precision) / periods.top_decile_days)
                / (cast(periods.converting_days as double precision) / periods.judged_days)
        end as decimal(18, 6)) as top_decile_lift,
        cast(periods.mean_predicted_probability as decimal(18, 6)) as mean_predicted_probability
    from periods
    inner join rank_sums
        on periods.scorer = rank_sums.scorer
        and periods.evaluation_period = rank_sums.evaluation_period
        and (
            periods.period_start_on = rank_sums.period_start_on
            or (periods.period_start_on is null and rank_sums.period_start_on is null)
        )
)

select * from final
