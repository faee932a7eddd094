"""The funnel as the demo company's truth says it, and as a warehouse's mart_funnel says it."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from demo.truth import FUNNEL_STAGES

COUNT_COLUMNS = {"lead": "leads", "mql": "mqls", "sql": "sqls", "opportunity": "opportunities",
                 "poc": "pocs", "won": "wins"}
RATE_COLUMNS = {
    "lead_to_mql_rate": ("mqls", "leads"), "mql_to_sql_rate": ("sqls", "mqls"),
    "sql_to_opportunity_rate": ("opportunities", "sqls"),
    "opportunity_to_poc_rate": ("pocs", "opportunities"), "poc_to_won_rate": ("wins", "pocs"),
    "lead_to_opportunity_rate": ("opportunities", "leads"), "lead_to_won_rate": ("wins", "leads"),
}
MART_FUNNEL_SQL = (
    "select cast(lead_cohort_month as varchar) as lead_cohort_month, channel, leads, mqls, sqls,"
    " opportunities, pocs, wins, losses, won_revenue_cny, " + ", ".join(RATE_COLUMNS)
    + " from marts.mart_funnel"
)

FunnelKey = tuple[str, str]


def _rate(numerator: int, denominator: int) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def expected_funnel(journeys_truth: list[dict[str, Any]]) -> dict[FunnelKey, dict[str, Any]]:
    """mart_funnel's rows computed from the generator's own per-journey truth."""
    rows: dict[FunnelKey, dict[str, Any]] = defaultdict(
        lambda: {**{c: 0 for c in COUNT_COLUMNS.values()}, "losses": 0, "won_revenue_cny": Decimal(0)})
    for journey in journeys_truth:
        row = rows[(journey["cohort_month"], journey["channel"])]
        for stage in FUNNEL_STAGES:
            row[COUNT_COLUMNS[stage]] += journey[f"{stage}_at_ms"] is not None
        row["losses"] += journey["lost_at_ms"] is not None
        if journey["won_amount"] is not None:
            row["won_revenue_cny"] += Decimal(str(journey["won_amount"])).quantize(Decimal("0.01"))
    for row in rows.values():
        for rate, (numerator, denominator) in RATE_COLUMNS.items():
            row[rate] = _rate(row[numerator], row[denominator])
    return dict(rows)


def actual_funnel(cursor: Any) -> dict[FunnelKey, dict[str, Any]]:
    """mart_funnel as a DB-API cursor reads it, keyed like expected_funnel."""
    cursor.execute(MART_FUNNEL_SQL)
    names = [d[0] for d in cursor.description]
    result = {}
    for values in cursor.fetchall():
        row = dict(zip(names, values))
        key = (str(row.pop("lead_cohort_month"))[:10], row.pop("channel"))
        result[key] = {k: (Decimal(str(v)) if isinstance(v, (Decimal, float)) else v) for k, v in row.items()}
    return result


def funnel_differences(expected: dict, actual: dict) -> list[str]:
    """Every cell where the mart disagrees with the truth (empty when they are equal)."""
    problems = [f"missing row {key}" for key in expected.keys() - actual.keys()]
    problems += [f"unexpected row {key}" for key in actual.keys() - expected.keys()]
    for key in expected.keys() & actual.keys():
        for column, value in expected[key].items():
            if actual[key][column] != value:
                problems.append(f"{key} {column}: mart {actual[key][column]!r} != truth {value!r}")
    return problems
