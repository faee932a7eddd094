"""Issue 4 (marketing part): ad performance, channel ROI and the exec cockpit equal the demo's truth,
whole tables, and reconcile with the raw tables they come from."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from leadloop.demo.digital import simulate_digital
from leadloop.demo.truth import journeys_truth, opportunity_truth
from tests.support import marketing_truth

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def ad_days(demo_world):
    return marketing_truth.loaded_ad_days(demo_world, simulate_digital(demo_world))


def _rows(path, sql: str) -> list[dict]:
    with duckdb.connect(str(path), read_only=True) as con:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, values)) for values in cursor.fetchall()]


def _scalars(path, *queries: str) -> list:
    with duckdb.connect(str(path), read_only=True) as con:
        return [con.execute(q).fetchone()[0] for q in queries]


def _keyed(rows: list[dict], *key_columns: str) -> dict:
    keyed = {}
    for row in rows:
        key = tuple(str(row.pop(c)) if c.endswith("month") else row.pop(c) for c in key_columns)
        keyed[key if len(key) > 1 else key[0]] = row
    return keyed


def test_fct_ad_performance_daily_equals_truth(demo_night, ad_days):
    actual = _keyed(_rows(demo_night, "select * from marts.fct_ad_performance_daily"),
                    "platform", "ad_account_id", "campaign_id", "ad_group_id", "keyword_id", "stat_on")
    days = {key[-1] for key in actual}  # the night loads 2025-01-01 .. the demo's yesterday (China days)
    assert (min(days), max(days)) == (marketing_truth.FIRST_REPORT_DAY, date(2026, 11, 20))
    assert actual.keys() == ad_days.keys()
    assert [key for key in ad_days if actual[key] != ad_days[key]] == []


def test_ad_campaigns_are_the_leads_utm_campaigns(demo_night):
    """Spend and leads meet on channel and campaign: campaign names are the landing pages' utm_campaign."""
    with duckdb.connect(str(demo_night), read_only=True) as con:
        ads = set(con.execute("select channel, campaign_name from marts.fct_ad_performance_daily").fetchall())
        leads = set(con.execute("select channel, utm_campaign from marts.fct_lead_journeys"
                                " where channel in ('paid_search', 'paid_social')").fetchall())
    assert ads == leads and len(ads) == 5


def test_mart_channel_roi_equals_truth(demo_night, demo_world, ad_days):
    expected = marketing_truth.channel_roi(journeys_truth(demo_world), ad_days)
    actual = _keyed(_rows(demo_night, "select * from marts.mart_channel_roi"), "report_month", "channel")
    assert marketing_truth.differences(expected, actual) == []
    assert any(row["spend"] and row["roi"] is not None for row in actual.values())
    assert any(not row["spend"] and row["roi"] is None for row in actual.values())


def test_mart_exec_cockpit_equals_truth(demo_night, demo_world, ad_days):
    expected = marketing_truth.exec_cockpit(journeys_truth(demo_world), opportunity_truth(demo_world), ad_days)
    actual = _keyed(_rows(demo_night, "select * from marts.mart_exec_cockpit"), "report_month")
    # expected holds every month from the first to the last: the mart must have no gaps
    assert marketing_truth.differences(expected, actual) == []


def test_spend_reconciles_from_raw_tables_to_every_mart(demo_night, ad_days):
    raw, facts, roi, cockpit = _scalars(
        demo_night,
        "select (select sum(cost) from raw_baidu_sem.keyword_daily_report)"
        " + (select sum(stat_cost) from raw_oceanengine.promotion_daily_report)",
        "select sum(cost) from marts.fct_ad_performance_daily",
        "select sum(spend) from marts.mart_channel_roi",
        "select sum(spend) from marts.mart_exec_cockpit",
    )
    (funnel,) = _scalars(demo_night, "select sum(spend) from marts.mart_funnel")
    assert raw == facts == roi == cockpit == funnel == sum(row["cost"] for row in ad_days.values())


def test_revenue_reconciles_with_the_crm(demo_night):
    crm, cockpit, opportunities, accounts, journeys_revenue, funnel_revenue = _scalars(
        demo_night,
        "select sum(money) from raw_neocrm.opportunities o join raw_neocrm.sale_stages s"
        " on o.sale_stage_id = s.id where s.stage_name = '赢单'",
        "select sum(won_revenue) from marts.mart_exec_cockpit",
        "select sum(won_amount) from marts.fct_opportunities",
        "select sum(lifetime_revenue) from marts.dim_accounts",
        "select sum(won_amount) from marts.fct_lead_journeys",
        "select sum(lead_won_revenue) from marts.mart_funnel",
    )
    assert crm == cockpit == opportunities == accounts
    # Journeys carry the won deals a lead was converted into; the funnel adds up the same.
    assert journeys_revenue == funnel_revenue and 0 < journeys_revenue <= crm


def test_no_join_multiplies_rows(demo_night):
    raw_ads, facts, raw_leads, journeys, roi_leads, cockpit_leads, raw_opps, opps, funnel_leads, lead_events = _scalars(
        demo_night,
        "select (select count(*) from raw_baidu_sem.keyword_daily_report)"
        " + (select count(*) from raw_oceanengine.promotion_daily_report)",
        "select count(*) from marts.fct_ad_performance_daily",
        "select count(*) from raw_neocrm.leads",
        "select count(*) from marts.fct_lead_journeys",
        "select sum(leads) from marts.mart_channel_roi",
        "select sum(leads) from marts.mart_exec_cockpit",
        "select count(*) from raw_neocrm.opportunities",
        "select count(*) from marts.fct_opportunities",
        "select sum(leads) from marts.mart_funnel",
        "select count(*) from marts.fct_lifecycle_events where funnel_stage = 'lead'",
    )
    assert raw_ads == facts
    assert raw_leads == journeys == roi_leads == cockpit_leads == funnel_leads == lead_events
    assert raw_opps == opps
