"""The data-driven attribution mart: Markov removal effects and Shapley values per channel (issue 13).

Why Python and not dbt: the Markov model solves a linear system per channel (the absorbing chain
with the channel removed) and Shapley enumerates every subset of channels. Both read in a few lines
of Python on exact fractions (leadloop.attribution, tested against published worked examples) and
would be unreadable as SQL — recursive CTEs over a transition matrix, and a 2^n self-join — with the
floating-point division of each warehouse in the way of crediting revenue exactly to the fen.

It reads every deal's ordered channel path from int_attribution_touches_windowed (won, lost and
open: conversion = won) and the won revenue from fct_opportunities, and writes
marts.mart_attribution_data_driven (on PostgreSQL into the marts build schema, published with the
rest) after dbt and before `published/marts`. (architecture §1, §5)
"""
# No `from __future__ import annotations`: Dagster reads the `context` annotation at runtime.

from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import dagster as dg

from leadloop import settings
from leadloop.attribution import Journey, markov_attribution, normalised, shapley_values, split_exactly
from leadloop.orchestration.jobs import NO_RETRY
from leadloop.publish import marts_build_schema
from leadloop.warehouse import Column, query, replace_table

TABLE = "mart_attribution_data_driven"
DATA_DRIVEN_KEY = dg.AssetKey(["marts", TABLE])
WINDOWS_KEY = dg.AssetKey(["intermediate", "int_attribution_touches_windowed"])
OPPORTUNITIES_KEY = dg.AssetKey(["marts", "fct_opportunities"])
MODELS = ("markov", "shapley")
NO_TOUCH = "no_touch"  # won deals with no touch in their window, as in mart_attribution
MILLIONTHS = 1_000_000

TABLE_COMMENT = (
    "Data-driven attribution (architecture §5): per model (markov, shapley) and channel, the share of all won "
    "revenue the model credits to the channel, learnt from every deal's channel path in its attribution window "
    "(int_attribution_touches_windowed: won, lost and open deals; conversion = won). Per model credit_share sums "
    "to exactly 1 and credited_revenue to exactly the won revenue of fct_opportunities. Computed in Python "
    "(orchestration/attribution.py).")
COLUMNS = [
    Column("attribution_model", "varchar",
           "markov: order-1 Markov chain (states start, channels, conversion, null), credit in proportion to each "
           "channel's removal effect. shapley: Shapley value of the channel in the game v(S) = won deals whose "
           "channels all lie in S (each won deal's credit split equally among its distinct channels; lost and open "
           "deals do not move it)."),
    Column("channel", "varchar",
           "fct_touchpoints' channel; no_touch holds the revenue of won deals with no touch in their window."),
    Column("removal_effect", "decimal(18, 6)",
           "markov: 1 − P(conversion with the channel removed) / P(conversion), transitions into the channel sent "
           "to null; null on shapley and no_touch rows."),
    Column("shapley_value", "decimal(18, 6)",
           "shapley: the channel's Shapley value in won deals (the values sum to the won deals with a touch); null "
           "on markov and no_touch rows."),
    Column("credit_share", "decimal(18, 6)",
           "Share of the model's credit (of all won revenue): the normalised removal effect or Shapley value times "
           "the share of won revenue from deals with a touch; in millionths, the rounding remainder on the largest "
           "share, so per model it sums to exactly 1."),
    Column("credited_revenue", "decimal(18, 2)",
           "credit_share of the won revenue of fct_opportunities, in the reporting currency, split to the fen (the "
           "remainder on the largest share): per model it sums to exactly the won revenue."),
    Column("credited_conversions", "decimal(18, 6)",
           "The won deals credited to the channel (its share of the won deals with a touch; no_touch: the won deals "
           "without one); per model they sum to exactly the won deals."),
    Column("journeys", "integer",
           "Deals (won, lost or open) whose window holds a touch of the channel (no_touch: deals with no touch)."),
    Column("won_journeys", "integer",
           "Won deals whose window holds a touch of the channel (no_touch: won deals with no touch)."),
]


@dataclass(frozen=True)
class Deals:
    """Every deal's channel path and outcome, and the won deals' revenue in fen."""

    paths: dict[str, tuple[str, ...]]
    states: dict[str, str]
    won_fen: dict[str, int]


def read_deals() -> Deals:
    """Paths from the window model (every deal, touches in order) and won revenue from fct_opportunities."""
    paths: dict[str, list[str]] = defaultdict(list)
    states: dict[str, str] = {}
    _, rows = query("select opportunity_id, opportunity_state, channel"
                    " from intermediate.int_attribution_touches_windowed order by opportunity_id, touch_sequence")
    for opportunity_id, state, channel in rows:
        states[opportunity_id] = state
        if channel is not None:
            paths[opportunity_id].append(channel)
    _, won = query(f'select opportunity_id, coalesce(won_amount, 0) from "{marts_build_schema()}".fct_opportunities'
                   " where outcome = 'won'")
    return Deals({deal: tuple(paths.get(deal, ())) for deal in states}, states,
                 {deal: int(Decimal(amount) * 100) for deal, amount in won})


def data_driven_rows(deals: Deals) -> list[tuple]:
    """The mart's rows: both models over the same journeys, each reconciled to the won revenue."""
    missing = sorted(set(deals.won_fen) - set(deals.states))
    if missing:
        raise ValueError(f"won deals missing from int_attribution_touches_windowed: {missing[:5]}; rebuild the dbt"
                         " attribution models before this asset")
    journeys = [Journey(path, converted, count) for (path, converted), count in sorted(
        Counter((deals.paths[d], deals.states[d] == "won") for d in deals.states).items())]
    channels = sorted({c for path in deals.paths.values() for c in path})
    markov = markov_attribution(journeys)
    shapley = shapley_values(journeys, channels)
    rows = []
    for model in MODELS:
        shares = markov.shares if model == "markov" else normalised(shapley)
        for channel, credit in _credits(channels, shares, deals).items():
            in_channel = [d for d, path in deals.paths.items() if (channel in path if channel != NO_TOUCH else not path)]
            rows.append((
                model, channel,
                _decimal(markov.removal_effects[channel], 6) if model == "markov" and channel != NO_TOUCH else None,
                _decimal(shapley[channel], 6) if model == "shapley" and channel != NO_TOUCH else None,
                *credit,
                len(in_channel),
                sum(1 for d in in_channel if d in deals.won_fen),
            ))
    return rows


def _credits(channels: list[str], shares: dict[str, Fraction], deals: Deals) -> dict[str, tuple[Decimal, ...]]:
    """Per channel (and no_touch, when a won deal had no touch): credit share, credited revenue and credited
    won deals. no_touch keeps exactly what the won deals without a touch bring, as in mart_attribution; the
    model's shares divide the rest. Each column is split exactly in whole units (millionths, fen), what
    rounding leaves going to a channel, never to no_touch."""
    touched = [d for d in deals.won_fen if deals.paths[d]]
    untouched = [d for d in deals.won_fen if not deals.paths[d]]
    touched_fen, untouched_fen = sum(deals.won_fen[d] for d in touched), sum(deals.won_fen[d] for d in untouched)
    total_fen = touched_fen + untouched_fen
    kept_millionths = untouched_fen * MILLIONTHS // total_fen if total_fen else 0
    share = _split(MILLIONTHS - kept_millionths if touched_fen else 0, shares, channels)
    revenue = _split(touched_fen, shares, channels)
    won = _split(len(touched) * MILLIONTHS, shares, channels)
    if untouched:
        share[NO_TOUCH] = kept_millionths if touched_fen else (MILLIONTHS if untouched_fen else 0)
        revenue[NO_TOUCH], won[NO_TOUCH] = untouched_fen, len(untouched) * MILLIONTHS
    return {c: (Decimal(share[c]).scaleb(-6), Decimal(revenue[c]).scaleb(-2), Decimal(won[c]).scaleb(-6))
            for c in revenue}


def _split(total: int, shares: dict[str, Fraction], channels: list[str]) -> dict[str, int]:
    """split_exactly over the channels, or nothing to any when no channel has a share (no win yet)."""
    weights = {c: shares.get(c, Fraction(0)) for c in channels}
    return split_exactly(total, weights) if any(weights.values()) else dict.fromkeys(channels, 0)


def _decimal(value: Fraction, places: int) -> Decimal:
    """An exact fraction rounded half-to-even to `places` decimals."""
    return Decimal(round(value * 10**places)).scaleb(-places)


def build_data_driven_attribution() -> list[tuple]:
    """Compute both models from the warehouse and replace the mart (what the asset runs; tests call it too)."""
    rows = data_driven_rows(read_deals())
    replace_table(marts_build_schema(), TABLE, TABLE_COMMENT, COLUMNS, rows)
    return rows


def reconciliation_problems() -> list[str]:
    """What breaks the mart's promise: per model, shares not summing to exactly 1 or credited revenue not
    summing to the won revenue of fct_opportunities, or anything negative."""
    build = marts_build_schema()
    _, won = query(f'select coalesce(sum(won_amount), 0) from "{build}".fct_opportunities where outcome = \'won\'')
    _, sums = query(f'select attribution_model, sum(credit_share), sum(credited_revenue), min(credit_share),'
                    f' min(credited_revenue) from "{build}".{TABLE} group by attribution_model')
    found = {model: (share, revenue, low_share, low_revenue) for model, share, revenue, low_share, low_revenue in sums}
    problems = [f"model {m} has no rows" for m in MODELS if m not in found and won[0][0]]
    for model, (share, revenue, low_share, low_revenue) in sorted(found.items()):
        if Decimal(revenue) != Decimal(won[0][0]):
            problems.append(f"{model}: credited revenue {revenue} != won revenue {won[0][0]}")
        if won[0][0] and Decimal(share) != 1:
            problems.append(f"{model}: credit shares sum to {share}, not 1")
        if min(low_share, low_revenue) < 0:
            problems.append(f"{model}: a negative credit")
    return problems


@dg.asset(
    key=DATA_DRIVEN_KEY,
    group_name="marts",
    deps=[WINDOWS_KEY, OPPORTUNITIES_KEY],
    kinds={"python", settings.warehouse_kind()},
    retry_policy=NO_RETRY,
    check_specs=[dg.AssetCheckSpec(
        "credits_reconcile", asset=DATA_DRIVEN_KEY, blocking=True,
        description="Per model, credit shares sum to exactly 1 and credited revenue to exactly the won revenue of "
                    "fct_opportunities, none negative.")],
    description=TABLE_COMMENT,
)
def mart_attribution_data_driven(context: dg.AssetExecutionContext):
    """Markov and Shapley credit per channel, reconciled to the won revenue, then checked."""
    rows = build_data_driven_attribution()
    context.log.info(f"{TABLE}: {len(rows)} rows over {len({row[1] for row in rows})} channels")
    yield dg.MaterializeResult(metadata={"rows": len(rows), "channels": len({row[1] for row in rows})})
    problems = reconciliation_problems()
    yield dg.AssetCheckResult(check_name="credits_reconcile", passed=not problems,
                              severity=dg.AssetCheckSeverity.ERROR,
                              metadata={"problems": "; ".join(problems) or "none"})
