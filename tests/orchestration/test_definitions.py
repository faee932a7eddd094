"""Acceptance: the Dagster definitions load and their asset graph is the one we promise."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from leadloop import settings


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    from leadloop.orchestration.definitions import defs

    return defs


@pytest.fixture(scope="module")
def asset_graph(defs):
    return defs.resolve_asset_graph()


@pytest.fixture(scope="module")
def manifest() -> dict:
    from leadloop.orchestration.dbt_project import prepare_manifest

    return json.loads(prepare_manifest().read_text())


def _extract_keys(asset_graph) -> set[dg.AssetKey]:
    return {key for key in asset_graph.get_all_asset_keys()
            if "dlt" in asset_graph.get(key).kinds}


def test_every_dbt_source_is_produced_by_an_extract_asset(asset_graph, manifest):
    from leadloop.orchestration.identity import MARTS_HASH_KEY, OBSERVATIONS_KEY, RAW_INPUTS

    extract_keys = _extract_keys(asset_graph)
    source_keys = {dg.AssetKey(s["meta"]["dagster"]["asset_key"]) for s in manifest["sources"].values()}
    assert source_keys, "the dbt project declares no sources"
    # Raw tables come from dlt; the identity observations are normalised from raw tables in Python, and the
    # same step writes the marts' hash key.
    python_made = {OBSERVATIONS_KEY, MARTS_HASH_KEY}
    assert MARTS_HASH_KEY in source_keys
    assert source_keys - python_made <= extract_keys, (
        f"dbt sources with no extract asset: {source_keys - extract_keys - python_made}")
    for key in source_keys:
        assert asset_graph.get(key).is_materializable, key
    assert set(RAW_INPUTS) <= extract_keys
    assert set(asset_graph.get(OBSERVATIONS_KEY).parent_keys) == set(RAW_INPUTS)


def test_stitched_customers_descend_from_every_identity_bearing_raw_table(asset_graph):
    from leadloop.orchestration.identity import MARTS_HASH_KEY, OBSERVATIONS_KEY, RAW_INPUTS

    assert asset_graph.get(OBSERVATIONS_KEY).group_name == "identity"
    for mart in ("dim_customers", "dim_accounts", "bridge_customer_identifiers"):
        upstream = _upstream(asset_graph, dg.AssetKey(["marts", mart]))
        assert OBSERVATIONS_KEY in upstream and MARTS_HASH_KEY in upstream, mart
        assert set(RAW_INPUTS) <= upstream, mart


def test_raw_tables_are_grouped_by_source(asset_graph):
    from leadloop.extract.registry import SOURCES

    keys = _extract_keys(asset_graph)
    assert {key.path[0] for key in keys} == {f"raw_{source.name}" for source in SOURCES}
    assert {"raw_neocrm", "raw_salesforce", "raw_baidu_sem", "raw_oceanengine", "raw_sensors", "raw_wecom"} <= {
        key.path[0] for key in keys}
    for key in keys:
        assert asset_graph.get(key).group_name == key.path[0]


def test_ad_reports_are_partitioned_by_china_day(asset_graph):
    for dataset in ("raw_baidu_sem", "raw_oceanengine"):
        keys = [k for k in _extract_keys(asset_graph) if k.path[0] == dataset]
        assert keys
        for key in keys:
            partitions = asset_graph.get(key).partitions_def
            assert partitions is not None and partitions.timezone == "Asia/Shanghai", key


def _upstream(asset_graph, key: dg.AssetKey) -> set[dg.AssetKey]:
    upstream: set[dg.AssetKey] = set()
    frontier = {key}
    while frontier:
        parents = {p for k in frontier for p in asset_graph.get(k).parent_keys}
        frontier = parents - upstream
        upstream |= parents
    return upstream


@pytest.mark.parametrize("mart", ["fct_lead_journeys", "mart_funnel"])
def test_marts_are_downstream_of_the_raw_tables(asset_graph, mart):
    mart_key = dg.AssetKey(["marts", mart])
    upstream = _upstream(asset_graph, mart_key)
    for table in ("leads", "lead_status_history", "opportunities", "opportunity_stage_history"):
        assert dg.AssetKey(["raw_neocrm", table]) in upstream, (mart, table)
    assert asset_graph.get(mart_key).group_name == "marts"


def test_dbt_tests_are_asset_checks(asset_graph):
    checked = {check.asset_key for check in asset_graph.asset_check_keys}
    assert dg.AssetKey(["marts", "mart_funnel"]) in checked
    assert dg.AssetKey(["raw_neocrm", "leads"]) in checked  # by its Great Expectations suite


def test_the_nightly_job_runs_dbt_in_one_step(defs):
    """Nothing between the raw tables and dbt (the identity observations) may force Dagster to cut
    the dbt project into several invocations."""
    job = defs.resolve_job_def("nightly_refresh")
    assert [name for name in job.graph.node_dict if "dbt" in name] == ["leadloop_dbt"]


def test_a_full_refresh_is_a_launch_option_of_the_dbt_step(defs, tmp_path):
    """`leadloop night --full-refresh` (and the Launchpad) ask the dbt step for `dbt build --full-refresh`;
    without it the step builds incrementally."""
    from leadloop.orchestration.dbt import DbtBuildConfig, leadloop_dbt_assets
    from leadloop.orchestration.night import night_run_config

    job = defs.resolve_job_def("nightly_refresh")
    assert dg.validate_run_config(job, night_run_config(full_refresh=True))["ops"]["leadloop_dbt"]["config"] == {
        "full_refresh": True}
    assert dg.validate_run_config(job, night_run_config())["ops"]["leadloop_dbt"]["config"] == {
        "full_refresh": False}

    class RecordingDbt:
        def __init__(self) -> None:
            self.arguments: list[list[str]] = []

        def cli(self, arguments, context):
            self.arguments.append(arguments)
            # An invocation that streams nothing and left no parse in its (empty) target folder.
            return type("Invocation", (), {"stream": lambda _self: iter(()), "target_path": tmp_path})()

    dbt = RecordingDbt()
    build = leadloop_dbt_assets.op.compute_fn.decorated_fn
    for full_refresh in (False, True):
        list(build(None, dbt, DbtBuildConfig(full_refresh=full_refresh)))
    assert dbt.arguments == [["build"], ["build", "--full-refresh"]]


def test_nightly_schedule_runs_the_configured_graph_at_two_in_shanghai(defs, asset_graph):
    schedule = defs.get_schedule_def("nightly_refresh_schedule")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "Asia/Shanghai"
    assert schedule.job_name == "nightly_refresh"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    from leadloop.orchestration.jobs import NIGHT_SOURCES, night_selection

    job = defs.resolve_job_def("nightly_refresh")
    assert set(job.asset_layer.selected_asset_keys) == night_selection(NIGHT_SOURCES).resolve(asset_graph)


def test_a_night_leaves_out_exactly_the_raw_tables_of_sources_not_configured(asset_graph):
    from leadloop.orchestration.jobs import night_selection

    selected = night_selection(["salesforce", "baidu_sem"]).resolve(asset_graph)
    raw_groups = {key.path[0] for key in selected if key.path[0].startswith("raw_")}
    assert raw_groups == {"raw_salesforce", "raw_baidu_sem"}
    assert set(asset_graph.materializable_asset_keys) - selected == {
        key for key in asset_graph.materializable_asset_keys
        if key.path[0].startswith("raw_") and key.path[0] not in raw_groups}


def test_schedule_ticks_at_two_oclock_china_time_and_requests_the_job(defs):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from dagster._utils.schedules import cron_string_iterator

    schedule = defs.get_schedule_def("nightly_refresh_schedule")
    start = datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    ticks = cron_string_iterator(start.timestamp(), schedule.cron_schedule, schedule.execution_timezone)
    first, second = next(ticks), next(ticks)
    assert (first.day, first.hour, first.minute) == (24, 2, 0)
    assert first.utcoffset().total_seconds() == 8 * 3600  # 18:00 UTC the day before
    assert (second - first).days == 1
    with dg.build_schedule_context(scheduled_execution_time=first) as context:
        result = schedule.evaluate_tick(context)
    assert [request.job_name or schedule.job_name for request in result.run_requests] == ["nightly_refresh"]


def test_dagster_home_and_telemetry_defaults():
    import yaml

    config = yaml.safe_load((settings.PROJECT_ROOT / "dagster.yaml").read_text())
    assert config["telemetry"]["enabled"] is False


def test_raw_tables_are_due_by_four_and_sources_retry_with_backoff(defs, asset_graph):
    from leadloop.orchestration.jobs import NO_RETRY, SOURCE_RETRY_POLICY

    for key in _extract_keys(asset_graph):
        policy = asset_graph.get(key).freshness_policy
        assert (policy.deadline_cron, policy.timezone) == ("0 4 * * *", "Asia/Shanghai"), key
    job = defs.resolve_job_def("nightly_refresh")
    assert SOURCE_RETRY_POLICY.max_retries >= 2
    assert SOURCE_RETRY_POLICY.backoff == dg.Backoff.EXPONENTIAL
    assert job.op_retry_policy == SOURCE_RETRY_POLICY
    dbt_node = next(n for n in job.graph.node_defs if n.name == "leadloop_dbt")
    assert dbt_node.retry_policy == NO_RETRY


def test_the_cockpit_page_is_built_from_the_published_marts_only(asset_graph):
    """A night that publishes nothing (a failed check or step upstream) builds no new cockpit either."""
    from leadloop.orchestration.cockpit import COCKPIT_KEY
    from leadloop.orchestration.publish import PUBLISHED_MARTS_KEY

    node = asset_graph.get(COCKPIT_KEY)
    assert set(node.parent_keys) == {PUBLISHED_MARTS_KEY}
    assert node.group_name == "published" and node.is_materializable


def test_the_docs_site_is_generated_after_the_marts_are_published(asset_graph, defs):
    """The docs describe the marts published beside them: a night that publishes nothing writes no new docs."""
    from leadloop.orchestration.docs import DOCS_KEY
    from leadloop.orchestration.publish import PUBLISHED_MARTS_KEY

    node = asset_graph.get(DOCS_KEY)
    assert set(node.parent_keys) == {PUBLISHED_MARTS_KEY}
    assert node.group_name == "published" and node.is_materializable
    assert DOCS_KEY in defs.resolve_job_def("nightly_refresh").asset_layer.selected_asset_keys

def test_the_data_driven_attribution_runs_after_its_dbt_inputs_and_before_publication(asset_graph):
    """Issue 13: the Python mart reads the window model and the won revenue dbt built, writes into marts,
    and the publication waits for it (and its blocking reconciliation check)."""
    from leadloop.orchestration.attribution import DATA_DRIVEN_KEY, OPPORTUNITIES_KEY, WINDOWS_KEY
    from leadloop.orchestration.publish import PUBLISHED_MARTS_KEY

    node = asset_graph.get(DATA_DRIVEN_KEY)
    assert node.group_name == "marts"
    assert set(node.parent_keys) == {WINDOWS_KEY, OPPORTUNITIES_KEY}
    assert DATA_DRIVEN_KEY in asset_graph.get(PUBLISHED_MARTS_KEY).parent_keys
    checks = [check for check in asset_graph.asset_check_keys if check.asset_key == DATA_DRIVEN_KEY]
    assert sorted(check.name for check in checks) == ["credits_reconcile", "gx_suite"]
    assert all(asset_graph.get_check_spec(check).blocking for check in checks)


def test_the_fitted_lead_scorers_run_after_their_dbt_inputs_and_before_publication(asset_graph):
    """Issue 12: one Python step reads the labelled days, decayed touches, dated attributes and rules' scores
    dbt built, writes its three marts, each with its blocking GX suite, and the publication waits for them."""
    from leadloop.orchestration.lead_score_model import CALIBRATION_KEY, INPUT_KEYS, QUALITY_KEY, SCORES_KEY
    from leadloop.orchestration.publish import PUBLISHED_MARTS_KEY

    for key in (SCORES_KEY, QUALITY_KEY, CALIBRATION_KEY):
        node = asset_graph.get(key)
        assert node.group_name == "marts"
        assert set(node.parent_keys) == set(INPUT_KEYS)
        assert key in asset_graph.get(PUBLISHED_MARTS_KEY).parent_keys
        checks = [check for check in asset_graph.asset_check_keys if check.asset_key == key]
        assert [check.name for check in checks] == ["gx_suite"]
        assert asset_graph.get_check_spec(checks[0]).blocking
