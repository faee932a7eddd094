"""Issue 13 (rule-based attribution): on the demo night, every model credits exactly the revenue
fct_opportunities and the cockpit report, to the fen, every won and open deal appears under every model,
and the credits equal an independent computation from fct_touchpoints and fct_opportunities."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise

import duckdb
import pytest

from leadloop.settings import project_var

pytestmark = pytest.mark.e2e

MODELS = ("first_touch", "lead_creation", "last_touch", "last_non_direct", "linear", "u_shaped", "w_shaped",
          "time_decay")


@pytest.fixture(scope="module")
def warehouse(demo_night):
    """A read-only connection to the session's demo night."""
    with duckdb.connect(str(demo_night), read_only=True) as con:
        yield con


def _rows(con, sql: str) -> list[dict]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, values)) for values in cursor.fetchall()]


def test_every_model_credits_exactly_the_won_revenue(warehouse):
    won = dict(warehouse.execute(
        "select opportunity_id, won_amount from marts.fct_opportunities where outcome = 'won'").fetchall())
    facts_total = sum(won.values())
    cockpit_total = warehouse.execute("select sum(won_revenue) from marts.mart_exec_cockpit").fetchone()[0]
    assert won and facts_total == cockpit_total
    credited = _rows(warehouse, """
        select attribution_model, opportunity_id, sum(credited_revenue) as credits, sum(credit_share) as shares
        from marts.mart_attribution where opportunity_state = 'won' group by all""")
    by_model: dict[str, dict[str, dict]] = defaultdict(dict)
    for row in credited:
        by_model[row["attribution_model"]][row["opportunity_id"]] = row
    assert set(by_model) == set(MODELS)
    for model, deals in by_model.items():
        assert deals.keys() == won.keys(), model  # every won deal, under every model
        assert sum(row["credits"] for row in deals.values()) == facts_total == cockpit_total, model
        assert [d for d, row in deals.items() if row["credits"] != won[d] or row["shares"] != 1] == [], model


def test_every_model_credits_exactly_the_open_pipeline(warehouse):
    pipeline = dict(warehouse.execute(
        "select opportunity_id, coalesce(amount, 0) from marts.fct_opportunities where outcome = 'open'").fetchall())
    credited = warehouse.execute("""
        select attribution_model, count(distinct opportunity_id), sum(credited_revenue)
        from marts.mart_attribution where opportunity_state = 'open' group by all""").fetchall()
    assert {model: (deals, total) for model, deals, total in credited} == {
        model: (len(pipeline), sum(pipeline.values())) for model in MODELS}


def test_the_channel_roll_up_keeps_revenue_deals_and_spend(warehouse):
    won_total, won_deals, pipeline = warehouse.execute("""
        select sum(won_amount), count(won_amount), sum(case when outcome = 'open' then coalesce(amount, 0) end)
        from marts.fct_opportunities""").fetchone()
    spend = warehouse.execute("select sum(cost) from marts.fct_ad_performance_daily").fetchone()[0]
    totals = warehouse.execute("""
        select attribution_model, sum(credited_revenue), sum(credited_opportunities), sum(credited_pipeline), sum(spend)
        from marts.mart_attribution_by_channel group by all""").fetchall()
    assert {row[0]: row[1:] for row in totals} == {model: (won_total, Decimal(won_deals), pipeline, spend)
                                                   for model in MODELS}


def test_credits_equal_an_independent_computation(warehouse):
    """Rebuild each deal's window from fct_touchpoints and fct_opportunities in Python, credit it under
    every model with exact fractions, and compare touch by touch (time decay, computed here in floating
    point rather than the mart's millionths, to the fen per touch; its totals are exact above)."""
    expected = _independent_credits(warehouse)
    actual = {(r["opportunity_id"], r["attribution_model"], r["touchpoint_id"]): r["credited_revenue"]
              for r in _rows(warehouse, "select * from marts.mart_attribution")}
    assert actual.keys() == expected.keys()
    off = [(key, actual[key], want) for key, want in expected.items()
           if abs(actual[key] - want) > (Decimal("0.01") if key[1] == "time_decay" else 0)]
    assert off == []


def _independent_credits(con) -> dict[tuple, Decimal]:
    lookback = timedelta(days=project_var("attribution_lookback_days"))
    groups = set(project_var("attribution_channel_groups"))
    u_shape, w_shape = project_var("attribution_u_shaped_weights"), project_var("attribution_w_shaped_weights")
    half_life = project_var("attribution_time_decay_half_life_days") * 86400
    touches_by_account: dict[str, list[dict]] = defaultdict(list)
    for touch in _rows(con, "select * from marts.fct_touchpoints"):
        if touch["channel_group"] in groups:
            touches_by_account[touch["account_id"]].append(touch)
    as_of = con.execute("select max(touched_at) from marts.fct_touchpoints").fetchone()[0]
    deals = _rows(con, """
        select o.opportunity_id, o.outcome, o.account_id, o.opened_at, o.won_at, o.won_amount, o.amount,
               j.lead_at
        from marts.fct_opportunities as o left join marts.fct_lead_journeys as j on o.source_lead_id = j.journey_id
        where o.outcome in ('won', 'open')""")
    credits: dict[tuple, Decimal] = {}
    for deal in deals:
        end = deal["won_at"] if deal["outcome"] == "won" else as_of
        revenue = (deal["won_amount"] if deal["outcome"] == "won" else deal["amount"]) or Decimal(0)
        window = sorted((t for t in touches_by_account.get(deal["account_id"], []) if end - lookback <= t["touched_at"] <= end),
                        key=lambda t: (t["touched_at"], t["touchpoint_id"]))
        for model in MODELS:
            if not window:
                credits[(deal["opportunity_id"], model, None)] = revenue
                continue
            weights = _weights(model, window, deal, u_shape, w_shape, half_life)
            for index, credit in _split(revenue, weights).items():
                credits[(deal["opportunity_id"], model, window[index]["touchpoint_id"])] = credit
    return credits


def _last_at_or_before(window: list[dict], moment: datetime | None) -> int:
    """Index of the last touch at or before a moment; the first touch when there is none."""
    before = [i for i, t in enumerate(window) if moment is not None and t["touched_at"] <= moment]
    return before[-1] if before else 0


def _weights(model: str, window: list[dict], deal: dict, u_shape: dict, w_shape: dict,
             half_life: int) -> list[Fraction | float]:
    n = len(window)
    first, last = 0, n - 1
    lead = _last_at_or_before(window, deal["lead_at"])
    opened = _last_at_or_before(window, deal["opened_at"])
    non_direct = [i for i, t in enumerate(window) if t["channel"] != "direct"]
    single = {"first_touch": first, "lead_creation": lead, "last_touch": last,
              "last_non_direct": non_direct[-1] if non_direct else last}
    if model in single:
        return [Fraction(int(i == single[model])) for i in range(n)]
    if model == "linear":
        return [Fraction(1)] * n
    if model == "time_decay":
        newest = int(window[last]["touched_at"].timestamp())
        return [0.5 ** ((newest - int(t["touched_at"].timestamp())) / half_life) for t in window]
    shape = u_shape if model == "u_shaped" else w_shape
    milestones = {"first_touch": first, "lead_creation": lead}
    if model == "w_shaped":
        milestones["opportunity_creation"] = opened
    held = [sum(shape[name] for name, i in milestones.items() if i == index) for index in range(n)]
    rest = [i for i in range(n) if i not in milestones.values()]
    return [Fraction(held[i]) + (Fraction(shape["rest"], len(rest)) if i in rest else 0) for i in range(n)]


def _split(revenue: Decimal, weights: list) -> dict[int, Decimal]:
    """Revenue in fen by weight, rounded down; the remainder to the heaviest touch, the earliest of equals."""
    fen, total = int(revenue * 100), sum(weights)
    parts = {i: int(fen * Fraction(w) / Fraction(total)) for i, w in enumerate(weights) if w > 0}
    heaviest = min(parts, key=lambda i: (-weights[i], i))
    parts[heaviest] += fen - sum(parts.values())
    return {i: Decimal(part) / 100 for i, part in parts.items()}


# --- issue 13, data-driven models (marts.mart_attribution_data_driven, orchestration/attribution.py) -------

DATA_DRIVEN = ("markov", "shapley")


def test_data_driven_models_credit_exactly_the_won_revenue(warehouse):
    """Acceptance 3 for the Python mart: per model, credit shares sum to exactly 1, credited revenue to the
    won revenue of fct_opportunities and of the cockpit, credited conversions to the won deals."""
    revenue, deals = warehouse.execute(
        "select sum(won_amount), count(won_amount) from marts.fct_opportunities where outcome = 'won'").fetchone()
    cockpit = warehouse.execute("select sum(won_revenue) from marts.mart_exec_cockpit").fetchone()[0]
    totals = warehouse.execute("""
        select attribution_model, sum(credit_share), sum(credited_revenue), sum(credited_conversions), count(*)
        from marts.mart_attribution_data_driven group by all""").fetchall()
    channels = {c for (c,) in warehouse.execute(
        "select distinct channel from intermediate.int_attribution_touches_windowed where channel is not null").fetchall()}
    untouched_wins = warehouse.execute(
        "select count(*) from intermediate.int_attribution_touches_windowed"
        " where opportunity_state = 'won' and touchpoint_id is null").fetchone()[0]
    assert revenue == cockpit
    assert {model: row for model, *row in totals} == {  # one row per channel, and no_touch if a win had no touch
        model: [Decimal(1), revenue, Decimal(deals), len(channels) + (1 if untouched_wins else 0)]
        for model in DATA_DRIVEN}


def _deal_paths(con) -> dict[str, tuple[tuple[str, ...], bool]]:
    """Every deal's channel path and whether it was won, rebuilt from the facts (not the window model):
    its company's touches in var attribution_lookback_days up to the win, the loss or the data's as-of."""
    lookback = timedelta(days=project_var("attribution_lookback_days"))
    groups = set(project_var("attribution_channel_groups"))
    touches_by_account: dict[str, list[dict]] = defaultdict(list)
    for touch in _rows(con, "select account_id, touched_at, touchpoint_id, channel, channel_group from marts.fct_touchpoints"):
        if touch["channel_group"] in groups and touch["account_id"] is not None:
            touches_by_account[touch["account_id"]].append(touch)
    as_of = con.execute("select max(touched_at) from marts.fct_touchpoints").fetchone()[0]
    paths = {}
    for deal in _rows(con, "select opportunity_id, outcome, account_id, won_at, lost_at from marts.fct_opportunities"):
        end = deal["won_at"] or deal["lost_at"] or as_of
        window = sorted((t for t in touches_by_account.get(deal["account_id"], []) if end - lookback <= t["touched_at"] <= end),
                        key=lambda t: (t["touched_at"], t["touchpoint_id"]))
        paths[deal["opportunity_id"]] = (tuple(t["channel"] for t in window), deal["outcome"] == "won")
    return paths


def _markov_by_matrix(paths) -> dict[str, float]:
    """Removal effects from the fundamental matrix of the absorbing chain, in floating point (numpy)."""
    import numpy as np

    channels = sorted({c for path, _ in paths for c in path})
    at = {c: i for i, c in enumerate(channels)}
    n = len(channels)
    moves, start = np.zeros((n, n + 2)), np.zeros(n)  # columns: channels, conversion, null
    for path, won in paths:
        if path:
            start[at[path[0]]] += 1
            for here, there in pairwise(path):
                moves[at[here], at[there]] += 1
            moves[at[path[-1]], n if won else n + 1] += 1
    moves /= moves.sum(axis=1, keepdims=True)
    start /= start.sum()

    def converting(keep: list[int]) -> float:
        q, r = moves[np.ix_(keep, keep)], moves[keep, n]
        return float(start[keep] @ np.linalg.solve(np.eye(len(keep)) - q, r))

    total = converting(list(range(n)))
    return {c: 1 - converting([i for i in range(n) if i != at[c]]) / total for c in channels}


def test_data_driven_models_agree_with_an_independent_computation(warehouse):
    """Acceptance 2 on the demo: paths rebuilt from fct_touchpoints and fct_opportunities; Markov removal
    effects from the chain's fundamental matrix (numpy, not the mart's exact elimination); Shapley values
    from the closed form of this game (each won deal split equally among its distinct channels), not the
    mart's subset enumeration."""
    paths = list(_deal_paths(warehouse).values())
    removal = _markov_by_matrix(paths)
    shapley: dict[str, Fraction] = defaultdict(Fraction)
    for path, won in paths:
        for channel in set(path) if won else ():
            shapley[channel] += Fraction(1, len(set(path)))
    mart = _rows(warehouse, "select * from marts.mart_attribution_data_driven where channel <> 'no_touch'")
    assert {r["channel"] for r in mart if r["attribution_model"] == "markov"} == set(removal)
    off = [(r["attribution_model"], r["channel"]) for r in mart
           if (r["attribution_model"] == "markov" and abs(float(r["removal_effect"]) - removal[r["channel"]]) > 1e-6)
           or (r["attribution_model"] == "shapley"
               and r["shapley_value"] != Decimal(round(shapley[r["channel"]] * 10**6)).scaleb(-6))]
    assert off == []


def test_data_driven_mart_carries_its_documentation(warehouse):
    """BI shows comments: the table and each of its columns carry the description written in
    orchestration/attribution.py, as dbt's marts carry theirs."""
    from leadloop.orchestration.attribution import COLUMNS, TABLE_COMMENT

    table = warehouse.execute("select comment from duckdb_tables() where schema_name = 'marts'"
                              " and table_name = 'mart_attribution_data_driven'").fetchone()[0]
    columns = dict(warehouse.execute("select column_name, comment from duckdb_columns() where schema_name = 'marts'"
                                     " and table_name = 'mart_attribution_data_driven'").fetchall())
    assert table == TABLE_COMMENT
    assert columns == {column.name: column.comment for column in COLUMNS}


def test_a_truly_effective_channel_gets_more_data_driven_credit_than_a_late_one(warehouse):
    """Issue 13 acceptance 4. Truly effective: referral, the demo's best channel (quality 1.6 in
    demo/catalog.py lifts its leads' chances to qualify, convert and open a deal, and its deals' chances to
    stay alive and be won: demo/world.py _walk_stages). Late: wecom_sales_add, an SDR adding a
    lead on WeCom after it qualified (demo/digital.py _journey_traces, add_way 2), which causes nothing
    in the world and touches more deals than referral does.

    First the premise, from the deals' paths: referral's deals are won more often than wecom_sales_add's,
    and it touches fewer deals. Then the Shapley model must credit referral more. The Markov model is
    not held to it: every deal's path ends in sales follow-ups, so an order-1 chain forgets where a deal
    came from before it converts or not, and its removal effects follow the share of deals, won or lost,
    that pass through a channel (README, "Attribution models side by side")."""
    paths = _deal_paths(warehouse).values()
    won = {channel: [won for path, won in paths if channel in path] for channel in ("referral", "wecom_sales_add")}
    assert sum(won["referral"]) / len(won["referral"]) > 1.3 * (
        sum(won["wecom_sales_add"]) / len(won["wecom_sales_add"])), won
    assert len(won["referral"]) < len(won["wecom_sales_add"]), won
    credit = dict(warehouse.execute("select channel, credit_share from marts.mart_attribution_data_driven"
                                    " where attribution_model = 'shapley'").fetchall())
    assert credit["referral"] > credit["wecom_sales_add"], credit


def test_content_attributed_revenue_is_its_reads_exclusive_linear_credit(warehouse):
    """Content with exclusive credit (issue 13): mart_content_performance.attributed_revenue, recomputed
    from the window model: under the linear model each touch of a won deal takes revenue / touches in
    fen, rounded down, the remainder going to the deal's first touch; a material sums its reads' parts.
    Summed over materials it stays within the won revenue, while the influenced revenue counts a journey
    once per material it read."""
    assert project_var("content_attribution_model") == "linear"
    deals: dict[str, list[dict]] = defaultdict(list)
    for touch in _rows(warehouse, "select * from intermediate.int_attribution_touches_windowed"
                                  " where opportunity_state = 'won' and touchpoint_id is not null"):
        deals[touch["opportunity_id"]].append(touch)
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for touches in deals.values():
        parts = _split(touches[0]["opportunity_revenue"], [1] * len(touches))
        ordered = sorted(touches, key=lambda t: t["touch_sequence"])
        for i, touch in enumerate(ordered):
            if touch["touch_type"] == "content_read":
                expected[touch["content_id"]] += parts[i]
    mart = {row["material_id"]: row for row in _rows(warehouse, "select * from marts.mart_content_performance")}
    assert {m: r["attributed_revenue"] for m, r in mart.items() if r["attributed_revenue"]} == {
        m: v for m, v in expected.items() if v}
    assert {r["attribution_model"] for r in mart.values()} == {"linear"}
    won_revenue = warehouse.execute("select sum(won_amount) from marts.fct_opportunities"
                                    " where outcome = 'won'").fetchone()[0]
    attributed = sum(r["attributed_revenue"] for r in mart.values())
    assert 0 < attributed <= won_revenue
    assert attributed < sum(r["lead_won_revenue"] for r in mart.values())
