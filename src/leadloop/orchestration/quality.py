"""Great Expectations suites for every raw table and every mart, run as Dagster asset checks.

GX validates pandas DataFrames read from the warehouse (its SQL datasource has no DuckDB
dialect). Raw-table checks are blocking: a raw table that fails its suite stops
the dbt models downstream of it in the same run, so yesterday's marts stay in place.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from typing import Any

import dagster as dg

from leadloop.extract.registry import SOURCES
from leadloop.orchestration.jobs import NO_RETRY
from leadloop.publish import marts_build_schema
from leadloop.settings import project_var

# The funnel's count columns, in order, from the dbt project's var funnel_stages (the one list).
FUNNEL_COUNTS = tuple(stage["counts_as"] for stage in project_var("funnel_stages"))


@dataclass(frozen=True)
class Expectation:
    """One GX expectation by class name and arguments, kept as data so suites are easy to read."""

    kind: str
    kwargs: Mapping[str, Any]


def raw_table_suite(primary_key: Sequence[str]) -> list[Expectation]:
    """Every raw table: its merge key is present and unique. (An object may have no rows: a new org,
    a feature the team does not use; absence of data is reported per source by the night's summary.)"""
    suite = [Expectation("ExpectColumnValuesToNotBeNull", {"column": c}) for c in primary_key]
    if len(primary_key) == 1:
        suite.append(Expectation("ExpectColumnValuesToBeUnique", {"column": primary_key[0]}))
    elif primary_key:
        suite.append(Expectation("ExpectCompoundColumnsToBeUnique", {"column_list": list(primary_key)}))
    return suite


def _never_widens(columns: Sequence[str]) -> list[Expectation]:
    """Each count is at most the one before it (a later stage never has more journeys)."""
    return [Expectation("ExpectColumnPairValuesAToBeGreaterThanB", {"column_A": earlier, "column_B": later,
                                                                    "or_equal": True})
            for earlier, later in pairwise(columns)]


def _at_least(minimum: float, *columns: str) -> list[Expectation]:
    return [Expectation("ExpectColumnValuesToBeBetween", {"column": c, "min_value": minimum}) for c in columns]


def _rates(*columns: str) -> list[Expectation]:
    return [Expectation("ExpectColumnValuesToBeBetween", {"column": c, "min_value": 0, "max_value": 1})
            for c in columns]


# Business invariants of the marts that their dbt tests and enforced contracts do not already state
# (keys, not-nulls and accepted values live in dbt_project/models/marts/**/_*.yml, once).
MART_SUITES: dict[str, list[Expectation]] = {
    "fct_lead_journeys": _at_least(0, "won_amount"),
    "mart_funnel": [
        *_never_widens(FUNNEL_COUNTS),
        *_at_least(0, "spend", "lead_won_revenue", "cost_per_lead"),
        *_at_least(-1, "roi"),
        *_rates(*(f"{a}_to_{b}_rate" for a, b in pairwise(s["stage"] for s in project_var("funnel_stages"))),
                "lead_to_opportunity_rate", "lead_to_won_rate"),
    ],
    "fct_opportunities": _at_least(0, "days_to_close", "amount", "buying_committee_size"),
    # Stage orders run 1..n over the funnel stages (lost shares won's place); a stage is entered
    # in or after the month its journey began.
    "fct_lifecycle_events": [
        Expectation("ExpectColumnValuesToBeBetween", {"column": "stage_order", "min_value": 1,
                                                      "max_value": len(FUNNEL_COUNTS)}),
        Expectation("ExpectColumnPairValuesAToBeGreaterThanB", {"column_A": "entered_month",
                                                                "column_B": "lead_cohort_month",
                                                                "or_equal": True}),
    ],
    "mart_revenue_by_source": [*_at_least(0, "won_revenue"), *_rates("share_of_month_revenue")],
    # The parts never exceed the whole (that they add up to it is dbt's assert_revenue_reconciles).
    "mart_revenue_reconciliation": [
        *_never_widens(("won_deals", "lead_won_deals")), *_never_widens(("won_revenue", "lead_won_revenue")),
        *_at_least(0, "lead_won_revenue", "won_revenue_without_lead", "won_deals_without_lead"),
    ],
    # Each touch's credit is a share of its deal (that they add up is dbt's assert_attribution_credits_add_up).
    "mart_attribution": [*_rates("credit_share"), *_at_least(0, "credited_revenue", "opportunity_revenue"),
                         *_at_least(1, "weight_units")],
    # (that each model's credits add up is the blocking check inside the asset that writes it)
    "mart_attribution_data_driven": [
        *_rates("credit_share", "removal_effect"),
        *_at_least(0, "shapley_value", "credited_revenue", "credited_conversions", "won_journeys"),
        *_never_widens(("journeys", "won_journeys")),
    ],
    "mart_attribution_by_channel": [
        *_at_least(0, "credited_revenue", "credited_opportunities", "credited_pipeline",
                   "credited_open_opportunities", "spend"),
        *_at_least(-1, "roi"),
    ],
    "mart_poc_analysis": [
        *_never_widens(("poc_deals", "poc_deals_ended")),
        *_at_least(0, "median_poc_days"),
    ],
    "mart_sales_cycle": _never_widens(("max_days_to_close", "min_days_to_close")),
    # A touch names the system it came from, and CRM records are exactly the two CRMs' touches.
    "fct_touchpoints": [
        Expectation("ExpectColumnValuesToNotBeNull", {"column": "source_system"}),
        Expectation("ExpectColumnValuesToNotBeNull", {"column": "source_record_id"}),
        Expectation("ExpectColumnValuesToBeInSet", {"column": "source_system",
                                                    "value_set": sorted(source.name for source in SOURCES)}),
    ],
    "fct_ad_performance_daily": _at_least(0, "impressions", "clicks", "cost", "conversions"),
    "mart_channel_roi": [
        *_never_widens(("leads", "mqls", "opportunities", "wins")),
        *_at_least(0, "spend", "lead_won_revenue"),
        *_at_least(-1, "roi"),
    ],
    "mart_exec_cockpit": [
        *_at_least(0, "won_revenue", "won_deals", "lead_won_revenue", "spend", "new_customers", "cac",
                   *FUNNEL_COUNTS),
        *_at_least(-1, "roi"),
        *_rates("lead_to_opportunity_cohort_rate", "lead_to_opportunity_period_rate"),
    ],
    "mart_content_performance": [
        *_never_widens(("reads", "readers")),
        *_never_widens(("registrations", "mqls", "sqls", "opportunities", "wins")),
    ],
    # A region weight scales points, never flips their sign.
    "mart_lead_scores": _at_least(0, "region_weight"),
    # The metric layer's time spine: every day of its vars' range once (date_spine leaves out the end day).
    "dim_days": [
        Expectation("ExpectColumnValuesToBeUnique", {"column": "date_day"}),
        Expectation("ExpectTableRowCountToEqual", {"value": (
            date.fromisoformat(project_var("metric_days_until")) - date.fromisoformat(project_var("metric_days_from"))
        ).days}),
    ],
    # The fitted scorers (issue 12): scores are probabilities; an AUC and a rate lie in [0, 1], and the days that
    # converted are some of the days judged.
    "mart_lead_model_scores": _rates("logistic_score", "gradient_boosting_score", "random_score"),
    "mart_lead_score_quality": [
        *_rates("auc", "conversion_rate", "mean_predicted_probability"),
        *_never_widens(("judged_days", "converting_days")), *_never_widens(("judged_days", "top_decile_days")),
        *_at_least(0, "top_decile_lift"),
    ],
    "mart_lead_score_calibration": [*_rates("observed_rate"), *_never_widens(("judged_days", "converting_days"))],
    # A dormant comeback is hot because its company was dormant at that touch, and there was a touch.
    "mart_hot_leads": [
        Expectation("ExpectColumnPairValuesToBeInSet", {
            "column_A": "hot_reason", "column_B": "account_status", "ignore_row_if": "either_value_is_missing",
            "value_pairs_set": [("dormant_account_reengaged", "dormant"),
                                *(("score_crossed_mql_threshold", status) for status in ("new", "active", "dormant"))]}),
        Expectation("ExpectColumnValuesToNotBeNull", {"column": "touchpoint_id",
                                                      "row_condition": 'hot_reason=="dormant_account_reengaged"',
                                                      "condition_parser": "pandas"}),
    ],
    "dim_customers": _at_least(1, "record_count"),
    # PII stays hashed: an md5 is 32 hex digits, whatever the identifier.
    "bridge_customer_identifiers": [Expectation("ExpectColumnValueLengthsToEqual",
                                                {"column": "identifier_hash", "value": 32})],
    "dim_accounts": _at_least(0, "lifetime_revenue", "lifetime_payments", "customer_count"),
    "map_customer_id_changes": _at_least(1, "identifiers_moved"),
    "mart_data_sources": _never_widens(("raw_tables_read", "raw_tables_with_data")),
}


def validate_frame(name: str, frame: Any, suite: Iterable[Expectation]) -> dg.AssetCheckResult:
    """Validate a DataFrame against a suite in an ephemeral GX context; failures named in metadata."""
    import great_expectations as gx  # heavy import (~7 s): only when a check runs
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    # Analytics off in the context's own config, whoever started the process (GX_ANALYTICS_ENABLED
    # may not be set in a code server a user starts by hand).
    context = gx.get_context(mode="ephemeral", project_config=DataContextConfig(
        analytics_enabled=False, store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False)))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)  # keep run logs readable
    batch = (context.data_sources.add_pandas(f"leadloop_{name}")
             .add_dataframe_asset(name)
             .add_batch_definition_whole_dataframe("whole_table")
             .get_batch(batch_parameters={"dataframe": frame}))
    expectations = [getattr(gx.expectations, e.kind)(**e.kwargs) for e in suite]
    result = batch.validate(gx.ExpectationSuite(name=f"{name}_suite", expectations=expectations))
    failed = [f"{r.expectation_config.type}({_describe(r.expectation_config.kwargs)})"
              for r in result.results if not r.success]
    return dg.AssetCheckResult(
        passed=bool(result.success),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "rows": len(frame),
            "evaluated_expectations": result.statistics["evaluated_expectations"],
            "unsuccessful_expectations": result.statistics["unsuccessful_expectations"],
            "failed": dg.MetadataValue.json(failed),
        },
    )


COLUMN_ARGUMENTS = ("column", "column_A", "column_B")


def suite_columns(suite: Iterable[Expectation]) -> list[str] | None:
    """The columns a suite looks at, so a check reads those alone; None (every column) when an
    expectation names no column of its own (a table-level one) or has a row condition (whose columns
    are inside an expression)."""
    columns: list[str] = []
    for expectation in suite:
        named = [expectation.kwargs[k] for k in COLUMN_ARGUMENTS if expectation.kwargs.get(k)]
        named += list(expectation.kwargs.get("column_list") or ())
        if not named or expectation.kwargs.get("row_condition"):
            return None
        columns += [c for c in named if c not in columns]
    return columns


def _describe(kwargs: Mapping[str, Any]) -> str:
    keys = ("column", "column_list", "column_A", "column_B", "min_value", "max_value")
    return ", ".join(f"{k}={kwargs[k]}" for k in keys if kwargs.get(k) is not None)


def gx_check(key: dg.AssetKey, schema: str, table: str, suite: list[Expectation], *,
             blocking: bool, reader: Callable[[str, str, list[str] | None], Any]) -> dg.AssetChecksDefinition:
    """An asset check that validates one warehouse table with its GX suite."""

    @dg.asset_check(asset=key, name="gx_suite", blocking=blocking, retry_policy=NO_RETRY,
                    description=f"Great Expectations suite for {schema}.{table} ({len(suite)} expectations)")
    def _check() -> dg.AssetCheckResult:
        return validate_frame(f"{schema}_{table}", reader(schema, table, suite_columns(suite)), suite)

    _check.__name__ = f"gx_{schema}_{table}"
    return _check


def raw_table_check_spec(key: dg.AssetKey) -> dg.AssetCheckSpec:
    """The blocking GX check of one raw table, run inside the step that loads it."""
    return dg.AssetCheckSpec("gx_suite", asset=key, blocking=True,
                             description=f"Great Expectations suite for {'.'.join(key.path)}")


SCHEMA_DRIFT_CHECK = "schema_unchanged"


def schema_drift_check_spec(key: dg.AssetKey) -> dg.AssetCheckSpec:
    """The warning check that a raw table's records kept their shape in tonight's load."""
    return dg.AssetCheckSpec(SCHEMA_DRIFT_CHECK, asset=key, blocking=False,
                             description=f"{'.'.join(key.path)} got no new field, no field of a new type and lost "
                                         "no field its records always carried (the load goes on either way)")


def schema_drift_check(key: dg.AssetKey, drift: Any) -> dg.AssetCheckResult:
    """The schema check's result: fails (a warning, so the alert sensor says what changed) on any drift."""
    if not drift:
        return dg.AssetCheckResult(asset_key=key, check_name=SCHEMA_DRIFT_CHECK, passed=True,
                                   severity=dg.AssetCheckSeverity.WARN)
    return dg.AssetCheckResult(
        asset_key=key, check_name=SCHEMA_DRIFT_CHECK, passed=False, severity=dg.AssetCheckSeverity.WARN,
        description=drift.describe(),
        metadata={"changes": drift.describe(), "new_fields": list(drift.new_fields),
                  "retyped_fields": [name for name, _, _ in drift.retyped],
                  "missing_fields": list(drift.missing_fields)})


def raw_table_check(key: dg.AssetKey, primary_key: Sequence[str], reader: Callable[[str, str, list[str] | None], Any],
                    exists: Callable[[str, str], bool]) -> dg.AssetCheckResult:
    """Validate one raw table (merge key not null and unique). A table dlt has not created — the
    object had no rows so far — passes, and says so."""
    schema, table = key.path
    if not exists(schema, table):
        return dg.AssetCheckResult(asset_key=key, check_name="gx_suite", passed=True,
                                   severity=dg.AssetCheckSeverity.ERROR,
                                   metadata={"rows": 0, "note": "no rows loaded yet: the table does not exist"})
    suite = raw_table_suite(primary_key)
    result = validate_frame(f"{schema}_{table}", reader(schema, table, suite_columns(suite)), suite)
    return dg.AssetCheckResult(asset_key=key, check_name="gx_suite", passed=result.passed,
                               severity=result.severity, metadata=result.metadata)


def mart_checks(reader: Callable[[str, str, list[str] | None], Any]) -> list[dg.AssetChecksDefinition]:
    """A GX check for every mart with a suite; blocking, so a mart that fails it is not published. It
    reads the mart where dbt built it (on PostgreSQL the build schema, published after the checks)."""
    build = marts_build_schema()

    def read_built(_schema: str, table: str, columns: list[str] | None) -> Any:
        return reader(build, table, columns)

    return [gx_check(dg.AssetKey(["marts", mart]), "marts", mart, suite, blocking=True, reader=read_built)
            for mart, suite in MART_SUITES.items()]
