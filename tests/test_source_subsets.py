"""Issue 10, acceptance 1 and 2: a team runs with the platforms it has.

Each subset is served by the demo simulators alone (the others unconfigured, as at a team without
them) and loaded by the production night (`leadloop night` on the demo's today: yesterday's report
day) into an empty warehouse. The night succeeds, says which sources are off, and every mart equals
the demo company's truth restricted to those platforms. The session's own night is the {all} case
(tests/test_demo_funnel.py and the other mart tests). Issue 12: lead scoring works on whichever CRM is
configured — every journey scored, sampled scores equal to the Python recomputation, the rules on the demo's
custom lead field (预算范围, a custom field of both CRMs) firing where the world says, once per journey with
both CRMs — and hot leads equal the truth restricted to the subset.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from leadloop.demo.digital import business_day, simulate_digital
from tests.support import mart_checks
from tests.support.crm_keys import lead_key
from tests.support.hot_leads import actual_comebacks, expected_comebacks, hot_touches
from tests.support.lead_scoring import (
    custom_rule_matches,
    custom_rule_truth,
    score_differences,
    scored_days,
    scoring,
    unscored_days,
)
from tests.support.scope import ALL_SOURCES, Scope, Truth

pytestmark = pytest.mark.e2e

# 销售易 alone is crm_and_baidu's CRM side (ad platforms feed no CRM mart); Salesforce alone has a night of
# its own because its org has its own shape.
SUBSETS = {
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


def test_every_journey_is_scored_and_sampled_scores_equal_the_recomputation(subset_night, con):
    """Issue 12: scoring reads the CRM layer, so it works on whichever CRM is configured."""
    spans = scored_days(con)
    assert set(spans) == {lead_key(subset_night.truth.scope.naming_crm, j["lead_id"])
                          for j in subset_night.truth.journeys}
    assert unscored_days(con, spans) == {}
    inputs = scoring(con)
    later_sets = [start for start, _ in inputs.rule_sets][1:]
    budgeted = sorted(j for j in spans if inputs.attributes[j].get("custom.budget_range"))
    sample = random.Random(12).sample(sorted(spans), 8) + budgeted[-4:]
    days = {j: {spans[j][0], spans[j][1], *later_sets} for j in sample}
    differences, seen = score_differences(con, inputs, days)
    assert differences == []
    assert len(seen) >= 20 and any("预算" in (row["top_reasons"] or "") for row in seen)


def test_the_custom_field_rule_fires_once_per_journey_where_the_truth_says(subset_night, con):
    """The demo's 预算范围 reaches the fit rules from either CRM; with both, a journey counts it once (its
    twin lead in the other CRM adds nothing)."""
    truth = subset_night.truth
    journeys = {lead_key(truth.scope.naming_crm, j["lead_id"]) for j in truth.journeys}
    expected = custom_rule_truth(truth.world, truth.scope.naming_crm, journeys)
    assert len({j for j, _, _ in expected}) > 100
    assert custom_rule_matches(con) == expected
    loaded = {crm for (crm,) in con.execute(
        "select distinct crm from intermediate.int_crm__custom_field_values").fetchall()}
    assert loaded == set(truth.scope.crms)  # each configured CRM's field is read, from its own setting


def test_hot_leads_equal_the_truth_of_the_subset(subset_night, con):
    truth = subset_night.truth
    expected = expected_comebacks(truth.world, truth.digital, truth.scope.sources)
    actual = actual_comebacks(hot_touches(con, truth.world, truth.digital))
    assert len(actual) == len(set(actual))
    assert set(actual) == expected
    if {"sensors", "wecom"} & truth.scope.sources:
        assert expected  # the premise: companies came back through the web or WeCom
