"""The data-driven mart's rows (orchestration/attribution.py) from deals given in Python: credits split
exactly, won deals without a touch kept on no_touch, and a warehouse with no deal yet gives no row."""

from __future__ import annotations

from decimal import Decimal

from leadloop.orchestration.attribution import COLUMNS, Deals, data_driven_rows


def _by_model(rows: list[tuple]) -> dict[str, dict[str, dict]]:
    names = [c.name for c in COLUMNS]
    found: dict[str, dict[str, dict]] = {}
    for row in rows:
        record = dict(zip(names, row))
        found.setdefault(record["attribution_model"], {})[record["channel"]] = record
    return found


def test_credits_sum_exactly_and_untouched_revenue_stays_on_no_touch():
    deals = Deals(
        paths={"d1": ("search", "webinar"), "d2": ("search",), "d3": ("webinar", "sales"), "d4": (), "d5": ("sales",)},
        states={"d1": "won", "d2": "lost", "d3": "won", "d4": "won", "d5": "open"},
        won_fen={"d1": 100_001, "d3": 33_333, "d4": 50_000},
    )
    models = _by_model(data_driven_rows(deals))
    assert set(models) == {"markov", "shapley"}
    for model, rows in models.items():
        assert set(rows) == {"search", "webinar", "sales", "no_touch"}, model
        assert sum(r["credited_revenue"] for r in rows.values()) == Decimal("1833.34"), model
        assert sum(r["credit_share"] for r in rows.values()) == 1, model
        assert sum(r["credited_conversions"] for r in rows.values()) == 3, model
        assert rows["no_touch"]["credited_revenue"] == Decimal("500.00"), model
        assert rows["no_touch"]["credited_conversions"] == 1, model
        assert (rows["no_touch"]["journeys"], rows["no_touch"]["won_journeys"]) == (1, 1), model
        assert (rows["search"]["journeys"], rows["search"]["won_journeys"]) == (2, 1), model
    # Chain: start → search 1/2, webinar 1/4, sales 1/4; search → webinar 1/2, null 1/2; webinar → conversion
    # 1/2, sales 1/2; sales → conversion 1/2, null 1/2. P = 1/2·3/8 + 1/4·3/4 + 1/4·1/2 = 1/2; without
    # webinar only start → sales → conversion is left: 1/8, so its removal effect is 1 − (1/8)/(1/2).
    assert models["markov"]["webinar"]["removal_effect"] == Decimal("0.75")
    assert models["markov"]["no_touch"]["removal_effect"] is None
    # Shapley: d1 splits between search and webinar, d3 between webinar and sales.
    assert {c: r["shapley_value"] for c, r in models["shapley"].items()} == {
        "search": Decimal("0.5"), "webinar": Decimal(1), "sales": Decimal("0.5"), "no_touch": None}


def test_no_deal_yet_gives_no_row():
    assert data_driven_rows(Deals(paths={}, states={}, won_fen={})) == []


def test_deals_without_a_win_credit_nothing():
    deals = Deals(paths={"d1": ("search",), "d2": ("webinar",)}, states={"d1": "lost", "d2": "open"}, won_fen={})
    rows = _by_model(data_driven_rows(deals))
    assert {(m, c): (r["credit_share"], r["credited_revenue"]) for m, rs in rows.items() for c, r in rs.items()} == {
        (m, c): (0, 0) for m in ("markov", "shapley") for c in ("search", "webinar")}
