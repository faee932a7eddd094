"""Acceptance: one nightly run on the demo company leaves marts that equal the demo's truth."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from leadloop.demo.digital import simulate_digital
from leadloop.demo.truth import journeys_truth
from tests.support.crm_keys import journeys_by_key, naming_crm
from tests.support.funnel import actual_funnel, expected_funnel, funnel_differences
from tests.support.marketing_truth import loaded_ad_days

PROJECT_ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.e2e


def test_mart_funnel_equals_ground_truth(demo_night, demo_world):
    """Every cell of mart_funnel — month × channel × campaign × keyword × region × industry — with its
    counts, rates, spend, costs per stage, revenue and ROI, equals the truth."""
    expected = expected_funnel(journeys_truth(demo_world), loaded_ad_days(demo_world, simulate_digital(demo_world)))
    with duckdb.connect(str(demo_night), read_only=True) as con:
        actual = actual_funnel(con.cursor())
    assert sum(r["leads"] for r in actual.values()) == len(journeys_truth(demo_world))
    assert funnel_differences(expected, actual) == []


def test_every_journey_has_its_true_stage_times(demo_night, demo_world):
    truth = journeys_by_key(journeys_truth(demo_world), naming_crm(["neocrm", "salesforce"]))
    stages = ("lead", "mql", "sql", "opportunity", "poc", "won")
    columns = ", ".join(f"epoch_ms({s}_at), is_{s}_skipped" for s in stages if s != "won")
    with duckdb.connect(str(demo_night), read_only=True) as con:
        rows = con.execute(
            f"select journey_id, {columns}, epoch_ms(won_at), epoch_ms(lost_at), lost_reason"
            " from marts.fct_lead_journeys").fetchall()
    assert len(rows) == len(truth)
    mismatches = []
    for journey_id, *values in rows:
        expected = truth[journey_id]
        wanted = []
        for stage in stages[:-1]:
            wanted += [expected[f"{stage}_at_ms"], expected[f"is_{stage}_skipped"]]
        wanted += [expected["won_at_ms"], expected["lost_at_ms"], expected["lost_reason"]]
        if list(values) != wanted:
            mismatches.append((journey_id, values, wanted))
    assert mismatches == []
    # The demo exercises back-fill: some journeys skip MQL, some wins never had a POC stage.
    assert any(r["is_mql_skipped"] for r in truth.values())
    assert any(r["is_poc_skipped"] for r in truth.values())


@dataclass
class SecondNight:
    """The last night run again on the session's warehouse, with a BI tool reading all along."""

    before: tuple
    after: tuple
    first_run_id: str
    run_id: str
    reads: list[dict]


def _snapshot(warehouse) -> tuple:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return (con.execute("select count(*) from raw_neocrm.leads").fetchone(),
                con.execute("select * from marts.mart_funnel order by all").fetchall())


@pytest.fixture(scope="module")
def second_night(demo_night, demo_night_run, demo_world, night_instance) -> SecondNight:
    """Issue 14: a reader opens the published marts every 0.5 s (read-only, open, read all, close) from
    before the night starts until after it ends, in its own process as a BI tool would. The night is the
    production night of the last report day (what the schedule runs), over the demo night's warehouse."""
    from datetime import timedelta

    from leadloop.cli import run_nightly_refresh
    from leadloop.demo.digital import business_day
    from leadloop.demo.serve import running_demo_sources

    before = _snapshot(demo_night)
    reader = subprocess.Popen([sys.executable, "-m", "tests.support.bi_reader", "--every", "0.5"],
                              stdout=subprocess.PIPE, text=True, cwd=PROJECT_ROOT)
    try:
        time.sleep(2)  # a few reads of the night before
        with running_demo_sources(demo_world) as demo:
            yesterday = (business_day(demo.clock_ms) - timedelta(days=1)).isoformat()
            result = run_nightly_refresh(yesterday, yesterday, night_instance)
        time.sleep(2)  # and a few of the new one
    finally:
        reader.terminate()
        output, _ = reader.communicate(timeout=30)
    assert result.success
    reads = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return SecondNight(before, _snapshot(demo_night), demo_night_run.run_id, result.run_id, reads)


def test_rerunning_the_night_is_idempotent(second_night):
    assert second_night.after == second_night.before


def test_the_same_data_again_is_no_schema_drift(second_night, night_instance):
    """Every raw table's schema check ran in both nights and passed: the platforms sent the same shapes, so
    nobody is alerted about drift (the checks' own test plants drift: tests/extract/test_schema_drift.py)."""
    import dagster as dg

    for run_id in (second_night.first_run_id, second_night.run_id):
        records = night_instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, limit=100000).records
        schema_checks = [r.event_log_entry.dagster_event.event_specific_data for r in records
                         if r.event_log_entry.dagster_event.event_specific_data.check_name == "schema_unchanged"]
        assert len(schema_checks) >= 20
        assert [(c.asset_key.to_user_string(), c.metadata.get("changes")) for c in schema_checks if not c.passed] == []


def test_a_reader_during_the_night_never_fails_and_sees_one_whole_night(second_night):
    """Zero failed reads, every read whole (its marts hold the rows published with them), the
    previous night's file until the new one replaces it, then only the new one."""
    reads = second_night.reads
    failed = [read for read in reads if not read["ok"]]
    print(f"\n{len(reads)} reads, {len(failed)} failed, slowest {max(r['seconds'] for r in reads):.2f} s")
    assert len(reads) >= 20 and failed == []
    assert all(read["whole"] and read["marts"] >= 15 for read in reads)
    nights = [read["run_id"] for read in reads]
    switch = nights.index(second_night.run_id)
    assert set(nights[:switch]) == {second_night.first_run_id} and switch > 0
    assert set(nights[switch:]) == {second_night.run_id}
