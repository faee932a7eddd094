"""Issue 10, acceptance 1 and 2: a team runs with the platforms it has.

Each subset is served by the demo simulators alone (the others unconfigured, as at a team without
them) and loaded by the production night (`leadloop night` on the demo's today: yesterday's report
day) into an empty warehouse. The night succeeds, says which sources are off, and every mart equals
the demo company's truth restricted to those platforms. The session's own night is the {all} case
(tests/test_demo_funnel.py and the other mart tests).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from leadloop.demo.digital import business_day, simulate_digital
from tests.support import mart_checks
from tests.support.scope import ALL_SOURCES, Scope, Truth

pytestmark = pytest.mark.e2e

SUBSETS = {
    "neocrm_only": ("neocrm",),
    "salesforce_only": ("salesforce",),
    "crm_and_baidu": ("neocrm", "baidu_sem"),
    "crm_sensors_wecom": ("salesforce", "sensors", "wecom"),
    "both_crms": ("neocrm", "salesforce"),
}


@dataclass
class SubsetNight:
    """A production night of one subset: its warehouse, run, summary and the truth it must show."""

    name: str
    warehouse: Path
    success: bool
    seconds: float
    summary: object
    truth: Truth


@pytest.fixture(scope="module", params=list(SUBSETS))
def subset_night(request, demo_world, night_instance, tmp_path_factory) -> SubsetNight:
    from leadloop.cli import run_nightly_refresh
    from leadloop.demo.serve import running_demo_sources
    from leadloop.orchestration.night import summarize_night

    sources = frozenset(SUBSETS[request.param])
    folder = tmp_path_factory.mktemp(request.param)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LEADLOOP_WAREHOUSE_DIR", str(folder))
        env.setenv("LEADLOOP_DUCKDB_PATH", str(folder / "leadloop.duckdb"))
        with running_demo_sources(demo_world, sorted(sources)):
            day = (business_day(demo_world.as_of_ms) - timedelta(days=1)).isoformat()
            started = time.monotonic()
            result = run_nightly_refresh(day, day, night_instance)
            seconds = time.monotonic() - started
            summary = summarize_night(night_instance, result.run_id)
    truth = Truth(demo_world, simulate_digital(demo_world), Scope.production_night(demo_world, sources))
    return SubsetNight(request.param, folder / "leadloop.duckdb", result.success, seconds, summary, truth)


@pytest.fixture
def con(subset_night):
    with duckdb.connect(str(subset_night.warehouse), read_only=True) as connection:
        yield connection


def test_the_night_succeeds_with_only_its_sources(subset_night):
    summary = subset_night.summary
    sources = subset_night.truth.scope.sources
    print(f"\n{subset_night.name}: {subset_night.seconds:.1f} s\n{summary.text()}")
    assert subset_night.success, summary.text()
    assert set(summary.not_configured) == ALL_SOURCES - sources and not summary.incomplete
    assert set(summary.rows_loaded) == sources and all(summary.rows_loaded.values())
    assert summary.failed_checks == [] and "mart_funnel" in summary.marts_built


def test_marts_say_which_sources_fed_them(subset_night, con):
    fed = {source for (source,) in con.execute(
        "select source_name from marts.mart_data_sources where mart_name = 'mart_funnel' and has_fed_the_mart"
    ).fetchall()}
    assert fed == subset_night.truth.scope.sources
    every = {source for (source,) in con.execute(
        "select distinct source_name from marts.mart_data_sources where mart_name = 'mart_funnel'").fetchall()}
    assert every == ALL_SOURCES  # the funnel reads every platform; the others simply had nothing


def test_fct_lead_journeys_equals_the_truth(subset_night, con):
    assert mart_checks.journey_differences(con, subset_night.truth) == []


def test_mart_funnel_equals_the_truth(subset_night, con):
    assert mart_checks.funnel_cell_differences(con, subset_night.truth) == []


def test_fct_opportunities_and_sales_marts_equal_the_truth(subset_night, con):
    assert mart_checks.opportunity_differences(con, subset_night.truth) == []
    assert mart_checks.sales_mart_differences(con, subset_night.truth) == []


def test_deals_name_their_buying_committee(subset_night, con):
    (named,) = con.execute("select coalesce(sum(buying_committee_size), 0) from marts.fct_opportunities").fetchone()
    if "salesforce" not in subset_night.truth.scope.sources:
        assert named == 0
        return
    (roles,) = con.execute("select count(distinct opportunity_id || contact_id) from"
                           " raw_salesforce.opportunity_contact_roles where not is_deleted").fetchone()
    assert named == roles > 0


def test_fct_touchpoints_equals_the_truth(subset_night, con):
    assert mart_checks.touchpoint_differences(con, subset_night.truth) == Counter()


def test_dim_customers_and_dim_accounts_equal_the_truth(subset_night, con):
    assert mart_checks.customer_differences(con, subset_night.truth) == []
    assert mart_checks.account_differences(con, subset_night.truth) == []
