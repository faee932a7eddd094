"""The fitted lead scorers as a Dagster asset (issue 12): scoring/lead_model_scores.

Why Python and not dbt: fitting a logistic regression and a gradient-boosted model is scikit-learn's job.
The asset sits between dbt's models: it reads what the scorers learn from (int_journey_days_labelled,
int_journey_touches_decayed, int_journey_attributes_dated), trains walk-forward (leadloop.lead_score_model),
writes every open journey day's scores to scoring.lead_model_scores, which dbt reads as a source for
mart_lead_scores and mart_lead_score_quality, and keeps the models that score the current quarter under
<warehouse folder>/models, each named by its version with a json of its metrics. (architecture §5)
"""
# No `from __future__ import annotations`: Dagster reads the `context` annotation at runtime.

import dagster as dg

from leadloop import settings
from leadloop.lead_score_model import SCORERS, Frames, Scored, build_matrix, save_models, walk_forward
from leadloop.orchestration.jobs import NO_RETRY
from leadloop.warehouse import Column, read_table, replace_table_from_frame

SCHEMA, TABLE = "scoring", "lead_model_scores"
MODEL_SCORES_KEY = dg.AssetKey([SCHEMA, TABLE])
INPUT_KEYS = [dg.AssetKey(["intermediate", name]) for name in
              ("int_journey_days_labelled", "int_journey_touches_decayed", "int_journey_attributes_dated")]

TABLE_COMMENT = (
    "Fitted lead scores (issue 12): per journey and day it was still open (not yet SQL) in a quarter that had "
    "enough history before it, the probability that it reaches SQL or an opportunity within var "
    "lead_score_model_outcome_days days under a logistic regression and a gradient-boosted model trained only on "
    "days whose outcome was known before the quarter began (walk-forward), a random baseline, and the logistic "
    "model's top factors. Written by src/leadloop/orchestration/lead_score_model.py.")
COLUMNS = [
    Column("journey_id", "varchar", "The journey (fct_lead_journeys)."),
    Column("score_on", "date", "The business day scored."),
    Column("trained_before_on", "date",
           "First day of the quarter scored: the models learnt only from days whose outcome window ended before it."),
    Column("logistic_score", "double precision", "Probability of converting within the window, logistic regression."),
    Column("logistic_version", "varchar", "The logistic model that scored the day (scorer-cutoff-digest)."),
    Column("gradient_boosting_score", "double precision",
           "Probability of converting within the window, gradient-boosted trees."),
    Column("gradient_boosting_version", "varchar", "The gradient-boosted model that scored the day."),
    Column("top_factors", "varchar",
           "The logistic model's largest contributions (log-odds against an average day) among what the lead had."),
    Column("random_score", "double precision", "A random number in [0, 1): the baseline any scorer must beat."),
]


def read_frames() -> Frames:
    """What the scorers learn from, as the dbt models built it tonight."""
    days = read_table("intermediate", "int_journey_days_labelled", [
        "journey_id", "score_on", "days_since_lead", "is_open_on_day", "is_outcome_known", "outcome_window_end_on",
        "converts_within_window"])
    touches = read_table("intermediate", "int_journey_touches_decayed",
                         ["journey_id", "score_on", "touch_type", "decayed_touches"])
    attributes = read_table("intermediate", "int_journey_attributes_dated")
    touches["decayed_touches"] = touches["decayed_touches"].astype(float)
    return Frames(days[days["is_open_on_day"].astype(bool)].drop(columns="is_open_on_day"), touches, attributes)


def build_lead_model_scores() -> Scored:
    """Train walk-forward, replace scoring.lead_model_scores and keep the latest models (what the asset
    runs; tests call it too)."""
    min_journeys = int(settings.project_var("lead_score_model_min_journeys"))
    scored = walk_forward(build_matrix(read_frames()), min_journeys)
    replace_table_from_frame(SCHEMA, TABLE, TABLE_COMMENT, COLUMNS, scored.scores)
    save_models(scored, model_folder(), {
        name: settings.project_var(name) for name in (
            "lead_score_model_outcome_days", "lead_score_model_half_life_days", "lead_score_model_min_journeys")})
    return scored


def model_folder():
    """Where the fitted models and their metrics are kept: models/ in the warehouse folder."""
    return settings.warehouse_dir() / "models"


@dg.asset(
    key=MODEL_SCORES_KEY,
    group_name=SCHEMA,
    deps=INPUT_KEYS,
    kinds={"python", "scikitlearn", settings.warehouse_kind()},
    retry_policy=NO_RETRY,
    description=TABLE_COMMENT,
)
def lead_model_scores(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Fit, score and keep the models; the walk-forward AUC of each scorer is the materialization's metadata."""
    scored = build_lead_model_scores()
    aucs = {scorer: scored.metrics[scorer]["walk_forward_auc"] for scorer in (*SCORERS, "random")}
    context.log.info(f"{TABLE}: {len(scored.scores)} journey days over {len(scored.folds)} quarters; "
                     f"walk-forward AUC {aucs}")
    return dg.MaterializeResult(metadata={
        "rows": len(scored.scores),
        "quarters": len(scored.folds),
        **{f"{scorer}_walk_forward_auc": auc for scorer, auc in aucs.items() if auc is not None},
        "model_versions": ", ".join(scored.folds[-1].versions.values()) if scored.folds else "none",
    })
