"""Issue 10, acceptance 4 and money in its own currency: a Salesforce org as real orgs are — field
history off, no campaigns, none of the custom fields, an object with no rows and one the org lacks,
several currencies with the corporate one in dollars — loads and builds every mart, with stages read
from what the leads show now (flagged inferred) and amounts converted to the reporting currency."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import pytest

from leadloop.demo import salesforce_records
from leadloop.demo.digital import business_day
from leadloop.demo.salesforce_shape import OrgShape
from leadloop.demo.truth import journeys_truth, opportunity_truth
from tests.support.mart_checks import rows

pytestmark = pytest.mark.e2e

SHAPE = ("field_history=off,campaigns=off,custom_fields=off,empty=Event,absent=OpportunityContactRole,"
         "multi_currency=on,currency=USD")
USD_TO_CNY = Decimal("7.2464")  # dbt_project/seeds/exchange_rates.csv


@pytest.fixture(scope="module")
def shaped_org(demo_world, night_instance, tmp_path_factory):
    from leadloop.cli import run_nightly_refresh
    from leadloop.demo.serve import running_demo_sources
    from leadloop.orchestration.night import summarize_night

    folder = tmp_path_factory.mktemp("shaped_org")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LEADLOOP_WAREHOUSE_DIR", str(folder))
        env.setenv("LEADLOOP_DUCKDB_PATH", str(folder / "leadloop.duckdb"))
        env.setenv("LEADLOOP_DEMO_SALESFORCE_SHAPE", SHAPE)
        with running_demo_sources(demo_world, ["salesforce"]):
            day = (business_day(demo_world.as_of_ms) - timedelta(days=1)).isoformat()
            result = run_nightly_refresh(day, day, night_instance)
            summary = summarize_night(night_instance, result.run_id)
    with duckdb.connect(str(folder / "leadloop.duckdb"), read_only=True) as con:
        yield result, summary, con


def test_the_org_loads_and_every_mart_builds(shaped_org):
    from leadloop.orchestration.definitions import defs

    result, summary, con = shaped_org
    assert result.success, summary.text()
    marts = {k.path[-1] for k in defs.resolve_asset_graph().get_all_asset_keys() if k.path[0] == "marts"}
    assert set(summary.marts_built) == marts and summary.failed_checks == []
    tables = {t for (t,) in con.execute(
        "select table_name from information_schema.tables where table_schema = 'raw_salesforce'").fetchall()}
    assert {"leads", "opportunities", "opportunity_history"} <= tables
    assert "opportunity_contact_roles" not in tables  # the org lacks the object: skipped, no table
    for empty in ("lead_history", "campaigns", "campaign_members", "events"):
        if empty in tables:  # objects without rows (field history off, no campaigns, no meetings)
            assert con.execute(f"select count(*) from raw_salesforce.{empty}").fetchone() == (0,), empty
    columns = {c for (c,) in con.execute("select column_name from information_schema.columns"
                                         " where table_schema = 'raw_salesforce' and table_name = 'leads'").fetchall()}
    assert not {c for c in columns if c.startswith("utm_")}  # the org has no such custom fields


def test_journeys_are_read_from_the_leads_as_they_are_now(shaped_org, demo_world):
    _, _, con = shaped_org
    journeys = rows(con, "select * from marts.fct_lead_journeys")
    assert len(journeys) == len(journeys_truth(demo_world))
    beyond_lead = [j for j in journeys if j["mql_at"] is not None]
    assert beyond_lead and all(j["is_stage_inferred"] for j in beyond_lead)
    assert not any(j["is_stage_inferred"] for j in journeys if j["mql_at"] is None)
    durations = [c for c in journeys[0] if c.startswith("days_")]
    assert all(j[c] is None or j[c] >= 0 for j in journeys for c in durations)
    assert all(j["utm_campaign"] is None for j in journeys)


def test_amounts_are_converted_from_the_orgs_dollars(shaped_org, demo_world):
    _, _, con = shaped_org
    shape = OrgShape.parse(SHAPE)
    expected = {}
    for deal in opportunity_truth(demo_world):
        if deal["won_amount"] is not None:
            dollars = Decimal(str(shape.amount(deal["won_amount"])))
            key = f"salesforce_opportunity:{salesforce_records.opportunity_id(deal['opportunity_id'])}"
            expected[key] = (dollars, (dollars * USD_TO_CNY).quantize(Decimal("0.01"), ROUND_HALF_UP))
    won = {r["opportunity_id"]: r for r in rows(con, "select * from marts.fct_opportunities where won_at is not null")}
    assert won.keys() == expected.keys()
    for key, (dollars, yuan) in expected.items():
        row = won[key]
        assert (row["deal_currency"], row["deal_amount"], row["fx_rate"], row["won_amount"], row["reporting_currency"]) \
            == ("USD", dollars, USD_TO_CNY, yuan, "CNY"), key
    (revenue,) = con.execute("select sum(lead_won_revenue) from marts.mart_funnel").fetchone()
    (journeys_won,) = con.execute("select sum(won_amount) from marts.fct_lead_journeys").fetchone()
    assert revenue == journeys_won and revenue > 0
