"""Acceptance: one nightly run on the demo company leaves marts that equal the demo's truth."""

from __future__ import annotations

import duckdb
import pytest

from leadloop.demo.digital import simulate_digital
from leadloop.demo.truth import journeys_truth
from tests.support.crm_keys import journeys_by_key, naming_crm
from tests.support.funnel import actual_funnel, expected_funnel, funnel_differences
from tests.support.marketing_truth import loaded_ad_days

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


def test_rerunning_the_night_is_idempotent(demo_night, demo_world, night_instance):
    from leadloop.cli import demo_night as run_demo_night
    from leadloop.demo.serve import running_demo_sources

    def snapshot():
        with duckdb.connect(str(demo_night), read_only=True) as con:
            return (con.execute("select count(*) from raw_neocrm.leads").fetchone(),
                    con.execute("select * from marts.mart_funnel order by all").fetchall())

    before = snapshot()
    with running_demo_sources(demo_world) as demo:
        assert run_demo_night(demo, night_instance).success
    assert snapshot() == before
