"""Great Expectations suites for every raw table and every mart, run as Dagster asset checks.

GX validates pandas DataFrames read from the warehouse (its SQL datasource cannot read DuckDB,
see shared/ENVIRONMENT.md). Raw-table checks are blocking: a raw table that fails its suite stops
the dbt models downstream of it in the same run, so yesterday's marts stay in place.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import dagster as dg

from orchestration.jobs import NO_RETRY

FUNNEL_COUNTS = ("leads", "mqls", "sqls", "opportunities", "pocs", "wins")
FUNNEL_RATES = ("lead_to_mql_rate", "mql_to_sql_rate", "sql_to_opportunity_rate",
                "opportunity_to_poc_rate", "poc_to_won_rate", "lead_to_opportunity_rate", "lead_to_won_rate")
JOURNEY_STAGES = ("lead", "mql", "sql", "opportunity", "poc", "won", "lost")
TOUCH_TYPES = ("ad_click", "web_session", "form_submit", "content_read", "webinar_attend", "wecom_add", "crm_lead",
               "campaign_response", "sales_call", "sales_email", "sales_meeting", "sales_task")


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


def _funnel_never_widens() -> list[Expectation]:
    """Each stage count is at most the one before it."""
    return [Expectation("ExpectColumnPairValuesAToBeGreaterThanB",
                        {"column_A": earlier, "column_B": later, "or_equal": True})
            for earlier, later in pairwise(FUNNEL_COUNTS)]


MART_SUITES: dict[str, list[Expectation]] = {
    "fct_lead_journeys": [
        Expectation("ExpectColumnValuesToBeUnique", {"column": "journey_id"}),
        Expectation("ExpectColumnValuesToNotBeNull", {"column": "lead_at"}),
        Expectation("ExpectColumnValuesToNotBeNull", {"column": "lead_cohort_month"}),
        Expectation("ExpectColumnValuesToBeInSet", {"column": "current_stage", "value_set": list(JOURNEY_STAGES)}),
        Expectation("ExpectColumnValuesToBeBetween", {"column": "won_amount", "min_value": 0}),
    ],
    "mart_funnel": [
        Expectation("ExpectCompoundColumnsToBeUnique", {"column_list": [
            "lead_cohort_month", "channel", "campaign", "keyword", "province", "industry"]}),
        *_funnel_never_widens(),
        *[Expectation("ExpectColumnValuesToBeBetween", {"column": c, "min_value": 0})
          for c in ("spend", "won_revenue", "cost_per_lead")],
        Expectation("ExpectColumnValuesToBeBetween", {"column": "roi", "min_value": -1}),
        *[Expectation("ExpectColumnValuesToBeBetween", {"column": r, "min_value": 0, "max_value": 1})
          for r in FUNNEL_RATES],
    ],
    "fct_opportunities": [
        Expectation("ExpectColumnValuesToBeUnique", {"column": "opportunity_id"}),
        Expectation("ExpectColumnValuesToNotBeNull", {"column": "opened_at"}),
        Expectation("ExpectColumnValuesToBeInSet", {"column": "outcome", "value_set": ["won", "lost", "open"]}),
        Expectation("ExpectColumnValuesToBeInSet", {"column": "sourced_by",
                                                    "value_set": ["marketing", "sales", "executive", "partner"]}),
        Expectation("ExpectColumnValuesToBeBetween", {"column": "days_to_close", "min_value": 0}),
    ],
    "mart_revenue_by_source": [
        Expectation("ExpectCompoundColumnsToBeUnique", {"column_list": ["won_month", "sourced_by", "deal_type"]}),
        Expectation("ExpectColumnValuesToBeBetween", {"column": "won_revenue", "min_value": 0}),
        Expectation("ExpectColumnValuesToBeBetween", {"column": "share_of_month_revenue", "min_value": 0,
                                                      "max_value": 1}),
    ],
    "mart_poc_analysis": [
        Expectation("ExpectCompoundColumnsToBeUnique",
                    {"column_list": ["poc_started_month", "industry", "poc_outcome", "lost_reason"]}),
        Expectation("ExpectColumnPairValuesAToBeGreaterThanB", {"column_A": "pocs", "column_B": "pocs_ended",
                                                                "or_equal": True}),
        Expectation("ExpectColumnValuesToBeBetween", {"column": "median_poc_days", "min_value": 0}),
    ],
    "mart_sales_cycle": [
        Expectation("ExpectCompoundColumnsToBeUnique", {"column_list": ["closed_month", "outcome", "sourced_by"]}),
        Expectation("ExpectColumnPairValuesAToBeGreaterThanB",
                    {"column_A": "max_days_to_close", "column_B": "min_days_to_close", "or_equal": True}),
    ],
    "fct_ad_performance_daily": [
        Expectation("ExpectCompoundColumnsToBeUnique",
                    {"column_list": ["platform", "ad_account_id", "campaign_id", "ad_group_id", "keyword_id",
                                     "stat_on"]}),
        *[Expectation("ExpectColumnValuesToNotBeNull", {"column": c})
          for c in ("platform", "channel", "ad_account_id", "ad_group_id", "stat_on")],
        Expectation("ExpectColumnValuesToNotBeInSet", {"column": "channel", "value_set": ["unmapped"]}),
        *[Expectation("ExpectColumnValuesToBeBetween", {"column": c, "min_value": 0})
          for c in ("impressions", "clicks", "cost", "conversions")],
    ],
    "mart_channel_roi": [
        Expectation("ExpectCompoundColumnsToBeUnique", {"column_list": ["report_month", "channel"]}),
        *[Expectation("ExpectColumnPairValuesAToBeGreaterThanB", {"column_A": a, "column_B": b, "or_equal": True})
          for a, b in pairwise(("leads", "mqls", "opportunities", "wins"))],
        *[Expectation("ExpectColumnValuesToBeBetween", {"column": c, "min_value": 0})
          for c in ("spend", "won_revenue")],
        Expectation("ExpectColumnValuesToBeBetween", {"column": "roi", "min_value": -1}),
    ],
    "mart_exec_cockpit": [
        Expectation("ExpectColumnValuesToBeUnique", {"column": "report_month"}),
        Expectation("ExpectColumnValuesToNotBeNull", {"column": "report_month"}),
        *[Expectation("ExpectColumnValuesToBeBetween", {"column": c, "min_value": 0})
          for c in ("revenue", "spend", "new_customers", "cac", *FUNNEL_COUNTS)],
        Expectation("ExpectColumnValuesToBeBetween", {"column": "roi", "min_value": -1}),
    ],
    "fct_touchpoints": [
        Expectation("ExpectColumnValuesToBeUnique", {"column": "touchpoint_id"}),
        *[Expectation("ExpectColumnValuesToNotBeNull", {"column": c})
          for c in ("customer_id", "touched_at", "touch_type", "channel")],
        Expectation("ExpectColumnValuesToBeInSet", {"column": "touch_type", "value_set": list(TOUCH_TYPES)}),
        Expectation("ExpectColumnValuesToNotBeInSet", {"column": "channel", "value_set": ["unmapped"]}),
    ],
    "fct_lifecycle_events": [
        Expectation("ExpectCompoundColumnsToBeUnique", {"column_list": ["journey_id", "funnel_stage"]}),
        Expectation("ExpectColumnValuesToBeInSet", {"column": "funnel_stage", "value_set": list(JOURNEY_STAGES)}),
        Expectation("ExpectColumnValuesToNotBeNull", {"column": "entered_at"}),
    ],
    "mart_content_performance": [
        Expectation("ExpectColumnValuesToBeUnique", {"column": "material_id"}),
        Expectation("ExpectColumnPairValuesAToBeGreaterThanB", {"column_A": "reads", "column_B": "readers",
                                                                "or_equal": True}),
        *[Expectation("ExpectColumnPairValuesAToBeGreaterThanB", {"column_A": a, "column_B": b, "or_equal": True})
          for a, b in pairwise(("registrations", "mqls", "sqls", "opportunities", "wins"))],
    ],
    "dim_customers": [
        Expectation("ExpectColumnValuesToBeUnique", {"column": "customer_id"}),
        Expectation("ExpectColumnValuesToNotBeNull", {"column": "customer_id"}),
        Expectation("ExpectColumnValuesToBeBetween", {"column": "record_count", "min_value": 1}),
    ],
    "dim_accounts": [
        Expectation("ExpectColumnValuesToBeUnique", {"column": "account_id"}),
        *[Expectation("ExpectColumnValuesToBeBetween", {"column": c, "min_value": 0})
          for c in ("lifetime_revenue", "lifetime_payments", "customer_count")],
    ],
    "bridge_customer_identifiers": [
        Expectation("ExpectCompoundColumnsToBeUnique", {"column_list": ["identifier_type", "identifier_hash"]}),
        Expectation("ExpectColumnValuesToBeInSet", {"column": "exclusion_reason", "value_set": ["blocked", "hub"]}),
    ],
    "mart_data_sources": [
        Expectation("ExpectCompoundColumnsToBeUnique", {"column_list": ["mart_name", "source_name"]}),
        Expectation("ExpectColumnPairValuesAToBeGreaterThanB",
                    {"column_A": "raw_tables_read", "column_B": "raw_tables_with_data", "or_equal": True}),
    ],
    "map_customer_id_changes": [
        Expectation("ExpectCompoundColumnsToBeUnique", {"column_list": ["old_customer_id", "new_customer_id"]}),
        Expectation("ExpectColumnValuesToBeBetween", {"column": "identifiers_moved", "min_value": 1}),
    ],
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


def _describe(kwargs: Mapping[str, Any]) -> str:
    keys = ("column", "column_list", "column_A", "column_B", "min_value", "max_value")
    return ", ".join(f"{k}={kwargs[k]}" for k in keys if kwargs.get(k) is not None)


def gx_check(key: dg.AssetKey, schema: str, table: str, suite: list[Expectation], *,
             blocking: bool, reader: Callable[[str, str], Any]) -> dg.AssetChecksDefinition:
    """An asset check that validates one warehouse table with its GX suite."""

    @dg.asset_check(asset=key, name="gx_suite", blocking=blocking, retry_policy=NO_RETRY,
                    description=f"Great Expectations suite for {schema}.{table} ({len(suite)} expectations)")
    def _check() -> dg.AssetCheckResult:
        return validate_frame(f"{schema}_{table}", reader(schema, table), suite)

    _check.__name__ = f"gx_{schema}_{table}"
    return _check


def raw_table_check_spec(key: dg.AssetKey) -> dg.AssetCheckSpec:
    """The blocking GX check of one raw table, run inside the step that loads it."""
    return dg.AssetCheckSpec("gx_suite", asset=key, blocking=True,
                             description=f"Great Expectations suite for {'.'.join(key.path)}")


def raw_table_check(key: dg.AssetKey, primary_key: Sequence[str], reader: Callable[[str, str], Any],
                    exists: Callable[[str, str], bool]) -> dg.AssetCheckResult:
    """Validate one raw table (merge key not null and unique). A table dlt has not created — the
    object had no rows so far — passes, and says so."""
    schema, table = key.path
    if not exists(schema, table):
        return dg.AssetCheckResult(asset_key=key, check_name="gx_suite", passed=True,
                                   severity=dg.AssetCheckSeverity.ERROR,
                                   metadata={"rows": 0, "note": "no rows loaded yet: the table does not exist"})
    result = validate_frame(f"{schema}_{table}", reader(schema, table), raw_table_suite(primary_key))
    return dg.AssetCheckResult(asset_key=key, check_name="gx_suite", passed=result.passed,
                               severity=result.severity, metadata=result.metadata)


def mart_checks(reader: Callable[[str, str], Any]) -> list[dg.AssetChecksDefinition]:
    """A GX check for every mart with a suite."""
    return [gx_check(dg.AssetKey(["marts", mart]), "marts", mart, suite, blocking=False, reader=reader)
            for mart, suite in MART_SUITES.items()]
