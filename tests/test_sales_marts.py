"""Issue 4 (CRM part): fct_opportunities and the sales marts equal the demo company's truth, whole tables."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import duckdb
import pytest

from leadloop.demo.truth import opportunity_truth
from tests.support import crm_truth
from tests.support.crm_keys import naming_crm, opportunities_by_key

pytestmark = pytest.mark.e2e


def _rows(path, sql: str) -> list[dict]:
    with duckdb.connect(str(path), read_only=True) as con:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, values)) for values in cursor.fetchall()]


def _keyed(rows: list[dict], key_columns: tuple[str, ...]) -> dict[tuple, dict]:
    keyed = {}
    for row in rows:
        key = tuple(str(row.pop(c)) if c.endswith("month") else row.pop(c) for c in key_columns)
        keyed[key] = row
    return keyed


def test_every_opportunity_once_with_its_true_facts(demo_night, demo_world):
    truth = opportunities_by_key(opportunity_truth(demo_world), naming_crm(["neocrm", "salesforce"]))
    rows = _rows(demo_night, """
        select opportunity_id, source_lead_id, sourced_by, is_marketing_influenced, outcome, lost_reason,
               epoch_ms(opened_at) as opened_at_ms, epoch_ms(poc_started_at) as poc_started_at_ms,
               epoch_ms(poc_ended_at) as poc_ended_at_ms, epoch_ms(won_at) as won_at_ms,
               epoch_ms(lost_at) as lost_at_ms, won_amount
        from marts.fct_opportunities""")
    assert len(rows) == len({r["opportunity_id"] for r in rows}) == len(truth)
    for row in rows:
        expected = truth[row["opportunity_id"]]
        for column in ("source_lead_id", "sourced_by", "is_marketing_influenced", "outcome", "lost_reason",
                       "opened_at_ms", "poc_started_at_ms", "poc_ended_at_ms", "won_at_ms", "lost_at_ms"):
            assert row[column] == expected[column], (row["opportunity_id"], column)
        assert row["won_amount"] == (crm_truth.money(expected["won_amount"]) if expected["won_amount"] else None)


def test_won_revenue_reconciles_with_the_crm(demo_night):
    with duckdb.connect(str(demo_night), read_only=True) as con:
        crm = con.execute("select sum(money) from raw_neocrm.opportunities o join raw_neocrm.sale_stages s"
                          " on o.sale_stage_id = s.id where s.stage_name = '赢单'").fetchone()[0]
        mart = con.execute("select sum(won_revenue) from marts.mart_revenue_by_source").fetchone()[0]
        facts = con.execute("select sum(won_amount) from marts.fct_opportunities").fetchone()[0]
    assert crm == mart == facts


def test_mart_revenue_by_source_equals_truth(demo_night, demo_world):
    expected = crm_truth.revenue_by_source(opportunity_truth(demo_world))
    actual = _keyed(_rows(demo_night, "select * from marts.mart_revenue_by_source"),
                    ("won_month", "sourced_by", "deal_type"))
    assert actual.keys() == expected.keys()
    month_totals: dict[str, Decimal] = {}
    for (month, _, _), row in expected.items():
        month_totals[month] = month_totals.get(month, Decimal(0)) + row["won_revenue"]
    for key, row in expected.items():
        got = actual[key]
        assert (got["won_deals"], got["won_revenue"], got["marketing_influenced_deals"]) == (
            row["won_deals"], row["won_revenue"], row["marketing_influenced_deals"]), key
        share = (row["won_revenue"] / month_totals[key[0]]).quantize(Decimal("0.0001"), ROUND_HALF_UP)
        assert got["share_of_month_revenue"] == share, key


def test_mart_poc_analysis_equals_truth(demo_night, demo_world):
    expected = crm_truth.poc_analysis(opportunity_truth(demo_world))
    actual = _keyed(_rows(demo_night, "select * from marts.mart_poc_analysis"),
                    ("poc_started_month", "industry", "poc_outcome", "lost_reason"))
    assert actual == expected


def test_mart_sales_cycle_equals_truth(demo_night, demo_world):
    expected = crm_truth.sales_cycle(opportunity_truth(demo_world))
    actual = _keyed(_rows(demo_night, "select * from marts.mart_sales_cycle"),
                    ("closed_month", "outcome", "sourced_by"))
    assert actual == expected


def test_mart_revenue_reconciliation_explains_the_two_revenue_figures(demo_night, demo_world):
    """Issue 14: all won revenue (the deals) = won revenue of journeys that began as leads + won revenue
    of deals without a lead, by won month, each part as the demo's truth has it."""
    from collections import defaultdict

    from leadloop.demo.truth import journeys_truth
    from tests.support.crm_truth import business_month, money

    expected: dict[str, dict] = defaultdict(lambda: {"won_deals": 0, "won_revenue": Decimal("0.00"),
                                                      "lead_won_deals": 0, "lead_won_revenue": Decimal("0.00")})
    for opp in opportunity_truth(demo_world):
        if opp["won_at_ms"] is not None:
            row = expected[business_month(opp["won_at_ms"])]
            row["won_deals"] += 1
            row["won_revenue"] += money(opp["won_amount"])
    for journey in journeys_truth(demo_world):
        if journey["won_at_ms"] is not None:
            row = expected[business_month(journey["won_at_ms"])]
            row["lead_won_deals"] += 1
            row["lead_won_revenue"] += money(journey["won_amount"])
    for row in expected.values():
        row["won_deals_without_lead"] = row["won_deals"] - row["lead_won_deals"]
        row["won_revenue_without_lead"] = row["won_revenue"] - row["lead_won_revenue"]
    actual = _keyed(_rows(demo_night, "select * from marts.mart_revenue_reconciliation"), ("won_month",))
    assert actual == {(month,): row for month, row in expected.items()}
    totals = {column: sum(row[column] for row in expected.values()) for column in next(iter(expected.values()))}
    assert totals["won_deals_without_lead"] > 0 and totals["won_revenue_without_lead"] > 0  # the demo has both kinds
