"""The fitted lead scorers as Dagster assets (issue 12): the model scores and the score-quality marts.

Why Python: fitting a logistic regression and a gradient-boosted model is scikit-learn's job. Like the
data-driven attribution, the asset runs after dbt (so dbt stays one step) and before publication: it reads
what the scorers learn from (int_journey_days_labelled, int_customer_touches_decayed,
int_journey_attributes_dated) and the rules' scores (mart_lead_scores), trains walk-forward
(leadloop.lead_score_model), keeps the models that score the current quarter under <warehouse folder>/models,
each named by its version with a json of its metrics, and writes three marts: mart_lead_model_scores (the
fitted scores of every open journey day, beside mart_lead_scores' rules score), mart_lead_score_quality and
mart_lead_score_calibration (every scorer judged against what really happened next). (architecture §5)
"""
# No `from __future__ import annotations`: Dagster reads the `context` annotation at runtime.

import dagster as dg

from leadloop import settings
from leadloop.lead_score_model import (
    SCORERS,
    Frames,
    Scored,
    build_matrix,
    judged_rows,
    quality_rows,
    save_models,
    walk_forward,
)
from leadloop.orchestration.jobs import NO_RETRY
from leadloop.publish import marts_build_schema
from leadloop.warehouse import Column, read_table, replace_table, replace_table_from_frame

SCORES_TABLE, QUALITY_TABLE, CALIBRATION_TABLE = (
    "mart_lead_model_scores", "mart_lead_score_quality", "mart_lead_score_calibration")
SCORES_KEY, QUALITY_KEY, CALIBRATION_KEY = (
    dg.AssetKey(["marts", table]) for table in (SCORES_TABLE, QUALITY_TABLE, CALIBRATION_TABLE))
INPUT_KEYS = [*(dg.AssetKey(["intermediate", name]) for name in (
    "int_journey_days_labelled", "int_customer_touches_decayed", "int_journey_attributes_dated")),
    dg.AssetKey(["marts", "mart_lead_scores"])]
SCORER_NAMES = "rules (mart_lead_scores.total_score), logistic, gradient_boosting or random (the baseline)"

SCORES_COMMENT = (
    "Fitted lead scores (issue 12; architecture §5), one row per journey and business day it was still open (not "
    "yet SQL) in a quarter with enough history before it: the probability that it reaches SQL or an opportunity "
    "within var lead_score_model_outcome_days days, under a logistic regression and gradient-boosted trees trained "
    "only on days whose outcome was known before the quarter began (walk-forward: no score rests on anything "
    "later), a random baseline, and the logistic model's top factors in words. Same grain as mart_lead_scores "
    "(join on journey_id, score_on for the rules score). Computed in Python (orchestration/lead_score_model.py).")
SCORES_COLUMNS = [
    Column("journey_id", "varchar", "The journey (fct_lead_journeys, mart_lead_scores)."),
    Column("score_on", "date", "The business day scored: touches up to its end, attributes known by then."),
    Column("trained_before_on", "date",
           "First day of the quarter scored: its models learnt only from days whose outcome window ended before it."),
    Column("logistic_score", "double precision",
           "Probability of reaching SQL or an opportunity within the window, logistic regression."),
    Column("logistic_version", "varchar",
           "The logistic model that scored the day: scorer, cut-off (yyyymmdd), digest; the latest is kept as "
           "<warehouse folder>/models/<version>.joblib with <version>.json, its metrics."),
    Column("gradient_boosting_score", "double precision", "The same probability, gradient-boosted trees."),
    Column("gradient_boosting_version", "varchar", "The gradient-boosted model that scored the day."),
    Column("top_factors", "varchar",
           "The logistic model's largest contributions among what the lead had, largest first, with the change in "
           "log-odds each makes against an average day, e.g. 'job_title=cto +0.84; 2.1× content_read +0.52; 40 days "
           "since lead -0.31' (an attribute value, decayed touches of a type, the lead's age)."),
    Column("random_score", "double precision", "A random number in [0, 1) (fixed seed): the baseline to beat."),
]
QUALITY_COMMENT = (
    "How well each lead scorer foresaw what really happened next (issue 12): per scorer — " + SCORER_NAMES + " — and "
    "evaluation period (each month, and all), on the same judged days: days a journey was still open whose outcome "
    "(SQL or an opportunity within var lead_score_model_outcome_days days) is known, in quarters the fitted models "
    "scored walk-forward. AUC from rank statistics, top-decile lift, mean predicted probability; calibration per "
    "decile in mart_lead_score_calibration. Computed in Python (orchestration/lead_score_model.py).")
PERIOD_COLUMNS = [
    Column("scorer", "varchar", "The scorer: " + SCORER_NAMES + "."),
    Column("evaluation_period", "varchar", "month (one row per month of judged days) or all (every judged day)."),
    Column("period_start_on", "date", "First day of the month (business time zone); null for all."),
]
QUALITY_COLUMNS = [
    *PERIOD_COLUMNS,
    Column("first_judged_on", "date", "First judged day of the period."),
    Column("last_judged_on", "date", "Last judged day of the period."),
    Column("judged_days", "integer", "Journey days judged: open on the day, outcome known, scored by every scorer."),
    Column("journeys", "integer", "Distinct journeys among them."),
    Column("converting_days", "integer",
           "Judged days after which the journey reached SQL or an opportunity within the window."),
    Column("conversion_rate", "decimal(18, 6)", "converting_days / judged_days."),
    Column("auc", "decimal(18, 6)",
           "Area under the ROC curve from rank statistics: of all pairs of a converting and a non-converting day, the "
           "share in which the converting day scores higher, ties counting half; 0.5 is chance, 1 perfect. Null "
           "without both kinds of day."),
    Column("top_decile_days", "integer",
           "The tenth of judged days with the highest scores (sized as ntile(10); ties broken by journey and day)."),
    Column("top_decile_converting_days", "integer", "Converting days among them."),
    Column("top_decile_lift", "decimal(18, 6)",
           "The top decile's conversion rate over conversion_rate; null without converting days."),
    Column("mean_predicted_probability", "decimal(18, 6)",
           "Mean score of a probability scorer (logistic, gradient_boosting, random), beside conversion_rate; null "
           "for rules (points)."),
]
CALIBRATION_COMMENT = (
    "Calibration of each lead scorer (issue 12): per scorer, evaluation period (as mart_lead_score_quality) and "
    "score decile, the mean score beside the share of those days that really converted within var "
    "lead_score_model_outcome_days days; a probability scorer is calibrated when they agree in every decile. "
    "Computed in Python (orchestration/lead_score_model.py).")
CALIBRATION_COLUMNS = [
    *PERIOD_COLUMNS,
    Column("score_decile", "integer", "1 = the tenth of the period's judged days with the highest scores, 10 the lowest."),
    Column("judged_days", "integer", "Judged days in the decile."),
    Column("converting_days", "integer", "Those that converted within the window."),
    Column("min_score", "decimal(18, 6)", "Lowest score in the decile."),
    Column("max_score", "decimal(18, 6)", "Highest score in the decile."),
    Column("mean_score", "decimal(18, 6)", "Mean score (a probability, except for rules: points)."),
    Column("observed_rate", "decimal(18, 6)", "converting_days / judged_days."),
    Column("calibration_gap", "decimal(18, 6)",
           "mean_score − observed_rate for a probability scorer (positive: it over-predicts); null for rules."),
]


def read_frames() -> Frames:
    """What the scorers learn from, as the dbt models built it tonight."""
    # Millions of rows repeating a few thousand journeys and persons: read as categoricals.
    days = read_table("intermediate", "int_journey_days_labelled", [
        "journey_id", "customer_id", "score_on", "days_since_lead", "is_open_on_day", "is_outcome_known",
        "outcome_window_end_on", "converts_within_window"], categorical=["customer_id"])
    touches = read_table("intermediate", "int_customer_touches_decayed",
                         ["customer_id", "touched_on", "touch_type", "decayed_touches"])
    attributes = read_table("intermediate", "int_journey_attributes_dated")
    touches["decayed_touches"] = touches["decayed_touches"].astype(float)
    return Frames(days[days["is_open_on_day"].astype(bool)].drop(columns="is_open_on_day"), touches, attributes,
                  float(settings.project_var("lead_score_model_half_life_days")))


def build_lead_model_scores() -> Scored:
    """Train walk-forward, keep the latest models and replace the three marts (what the asset runs; tests
    call it too). The scores returned hold each scorer's score column only."""
    min_journeys = int(settings.project_var("lead_score_model_min_journeys"))
    max_attributes = settings.project_var("lead_score_model_max_attributes")
    if not isinstance(max_attributes, int) or isinstance(max_attributes, bool) or max_attributes < 1:
        raise ValueError("var lead_score_model_max_attributes must be a whole number of at least 1 (how many"
                         f" attribute values the fitted scorers may use; dbt_project.yml); got {max_attributes!r}")
    matrix = build_matrix(read_frames())
    scored = walk_forward(matrix, min_journeys, max_attributes=max_attributes)
    build = marts_build_schema()
    replace_table_from_frame(build, SCORES_TABLE, SCORES_COMMENT, SCORES_COLUMNS, scored.scores)
    # The mart holds the scores' journeys, days and texts now; judging needs only the numbers (the rest
    # was ~300 MB at 10×, beside the judging's own peak). What is returned keeps only them too.
    scored.scores = scored.scores[[f"{scorer}_score" for scorer in (*SCORERS, "random")]]
    rules = read_table(build, "mart_lead_scores", ["journey_id", "score_on", "total_score"])
    quality, calibration = quality_rows(judged_rows(matrix, scored, rules))
    replace_table(build, QUALITY_TABLE, QUALITY_COMMENT, QUALITY_COLUMNS, quality)
    replace_table(build, CALIBRATION_TABLE, CALIBRATION_COMMENT, CALIBRATION_COLUMNS, calibration)
    save_models(scored, model_folder(), {
        name: settings.project_var(name) for name in (
            "lead_score_model_outcome_days", "lead_score_model_half_life_days", "lead_score_model_min_journeys",
            "lead_score_model_max_attributes")})
    return scored


def model_folder():
    """Where the fitted models and their metrics are kept: models/ in the warehouse folder."""
    return settings.warehouse_dir() / "models"


@dg.multi_asset(
    specs=[dg.AssetSpec(key, group_name="marts", deps=INPUT_KEYS, kinds={"python", "scikitlearn",
                                                                       settings.warehouse_kind()}, description=text)
           for key, text in ((SCORES_KEY, SCORES_COMMENT), (QUALITY_KEY, QUALITY_COMMENT),
                             (CALIBRATION_KEY, CALIBRATION_COMMENT))],
    name="lead_score_models",
    retry_policy=NO_RETRY,
)
def lead_score_models(context: dg.AssetExecutionContext):
    """Fit, score, judge and keep the models; each scorer's walk-forward AUC is the scores' metadata."""
    scored = build_lead_model_scores()
    aucs = {scorer: scored.metrics[scorer]["walk_forward_auc"] for scorer in (*SCORERS, "random")}
    context.log.info(f"{SCORES_TABLE}: {len(scored.scores)} journey days over {len(scored.folds)} quarters; "
                     f"walk-forward AUC {aucs}")
    yield dg.MaterializeResult(asset_key=SCORES_KEY, metadata={
        "rows": len(scored.scores),
        "quarters": len(scored.folds),
        **{f"{scorer}_walk_forward_auc": auc for scorer, auc in aucs.items() if auc is not None},
        "model_versions": ", ".join(scored.folds[-1].versions.values()) if scored.folds else "none",
    })
    yield dg.MaterializeResult(asset_key=QUALITY_KEY)
    yield dg.MaterializeResult(asset_key=CALIBRATION_KEY)
