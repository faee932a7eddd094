"""Acceptance (issue 5): a planted defect trips a blocking check, yesterday's marts stay, and the
WeCom robot is told which check failed. Also: every raw table and mart has a GX suite check."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import dagster as dg
import duckdb
import pytest

from leadloop.demo.model import DEFAULT_AS_OF
from leadloop.demo.simulators.wecom_robot import WecomRobotReceiver
from leadloop.demo.world import simulate
from leadloop.orchestration.launch import asset_check_evaluations, asset_materializations

pytestmark = pytest.mark.e2e


def _run_night(world, instance):
    from leadloop.cli import demo_night
    from leadloop.demo.serve import running_demo_sources

    with running_demo_sources(world) as demo:
        result = demo_night(demo, instance)
        return result, instance.get_run_by_id(result.run_id)


def _mart(path):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("select * from marts.mart_funnel order by all").fetchall()


def test_duplicated_opportunity_ids_stop_the_marts_and_alert(warehouse_copy, night_instance):
    """Yesterday's night is the session's (a copy of its warehouse); tonight's load is broken."""
    from leadloop import settings
    from leadloop.orchestration.alerts import WecomRobotWebhook, alert_on_run_failure

    yesterday = _mart(warehouse_copy)
    published = settings.published_marts_path()
    published_before = hashlib.sha256(published.read_bytes()).hexdigest()
    cockpit_before = hashlib.sha256(settings.cockpit_path().read_bytes()).hexdigest()
    docs_before = hashlib.sha256(settings.docs_path().read_bytes()).hexdigest()
    with duckdb.connect(str(warehouse_copy)) as con:  # a broken load: one opportunity twice
        con.execute("insert into raw_neocrm.opportunities select * from raw_neocrm.opportunities limit 1")

    a_month_later = simulate(as_of=DEFAULT_AS_OF + timedelta(days=30))  # new leads that would change the marts
    second, run = _run_night(a_month_later, night_instance)
    assert not second.success
    evaluations = {(e.asset_key.to_user_string(), e.check_name): e.passed
                   for e in asset_check_evaluations(night_instance, second.run_id)}
    assert evaluations[("raw_neocrm/opportunities", "gx_suite")] is False
    assert not any(m.asset_key == dg.AssetKey(["marts", "mart_funnel"])
                   for m in asset_materializations(night_instance, second.run_id))
    assert _mart(warehouse_copy) == yesterday  # yesterday's marts stand
    # and what readers open is yesterday's published file, byte for byte
    assert not any(m.asset_key == dg.AssetKey(["published", "marts"])
                   for m in asset_materializations(night_instance, second.run_id))
    assert hashlib.sha256(published.read_bytes()).hexdigest() == published_before
    # and the cockpit page is yesterday's too (it is built from the published marts only)
    assert not any(m.asset_key == dg.AssetKey(["published", "cockpit"])
                   for m in asset_materializations(night_instance, second.run_id))
    assert hashlib.sha256(settings.cockpit_path().read_bytes()).hexdigest() == cockpit_before
    # and so is the docs site, which describes the marts published beside it
    assert not any(m.asset_key == dg.AssetKey(["published", "docs"])
                   for m in asset_materializations(night_instance, second.run_id))
    assert hashlib.sha256(settings.docs_path().read_bytes()).hexdigest() == docs_before

    with WecomRobotReceiver() as receiver:
        failure = night_instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
        with dg.build_run_status_sensor_context(
            sensor_name="alert_on_run_failure", dagster_event=failure[0].event_log_entry.dagster_event,
            dagster_instance=night_instance, dagster_run=run,
            resources={"wecom_robot": WecomRobotWebhook(url=receiver.webhook_url)},
        ) as context:
            alert_on_run_failure(context.for_run_failure())
        assert len(receiver.messages) == 1
        assert "raw_neocrm/opportunities:gx_suite" in receiver.texts()[0]
        assert run.run_id in receiver.texts()[0]


def test_every_raw_table_and_mart_has_a_gx_check():
    from leadloop.orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    gx_checked = {k.asset_key for k in graph.asset_check_keys if k.name == "gx_suite"}
    raw = {k for k in graph.get_all_asset_keys() if "dlt" in graph.get(k).kinds}
    marts = {k for k in graph.get_all_asset_keys() if k.path[0] == "marts"}
    assert raw and marts
    assert raw | marts <= gx_checked
    blocking = {k.asset_key for k in graph.asset_check_keys
                if k.name == "gx_suite" and graph.get(k).blocking}
    assert raw <= blocking


def test_gx_results_show_as_check_results(demo_night_run, night_instance):
    evaluations = night_instance.get_records_for_run(
        demo_night_run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    gx = [r.event_log_entry.dagster_event.event_specific_data for r in evaluations
          if r.event_log_entry.dagster_event.event_specific_data.check_name == "gx_suite"]
    assert gx and all(e.passed for e in gx)
    assert all(e.metadata["evaluated_expectations"].value > 0 for e in gx)


def test_the_scheduled_night_runs_yesterday_and_leaves_every_mart_fresh(demo_night_run, night_instance):
    """The schedule asks for yesterday's partition of nightly_refresh; the night's run rebuilt every mart."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from leadloop.orchestration.definitions import defs

    schedule = defs.get_schedule_def("nightly_refresh_schedule")
    tick = datetime(2026, 11, 21, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    with dg.build_schedule_context(scheduled_execution_time=tick) as context:
        requests = schedule.evaluate_tick(context).run_requests
    assert [r.partition_key for r in requests] == [(tick - timedelta(days=1)).date().isoformat()]

    graph = defs.resolve_asset_graph()
    marts = {k for k in graph.get_all_asset_keys() if k.path[0] == "marts"}
    assert demo_night_run.status == dg.DagsterRunStatus.SUCCESS
    materialized = {r.event_log_entry.dagster_event.asset_key for r in night_instance.get_records_for_run(
        demo_night_run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records}
    assert marts <= materialized
