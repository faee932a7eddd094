"""The funnel as the demo company's truth says it, and as a warehouse's mart_funnel says it."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from leadloop.demo.truth import FUNNEL_STAGES
from leadloop.settings import project_var

# The mart's count column of each stage, as the dbt project names them (var funnel_stages); which
# stages a journey reached is the truth's own (leadloop.demo.truth.FUNNEL_STAGES).
COUNT_COLUMNS = {stage["stage"]: stage["counts_as"] for stage in project_var("funnel_stages")}
RATE_COLUMNS = {
    "lead_to_mql_rate": ("mqls", "leads"), "mql_to_sql_rate": ("sqls", "mqls"),
    "sql_to_opportunity_rate": ("opportunities", "sqls"),
    "opportunity_to_poc_rate": ("pocs", "opportunities"), "poc_to_won_rate": ("wins", "pocs"),
    "lead_to_opportunity_rate": ("opportunities", "leads"), "lead_to_won_rate": ("wins", "leads"),
}
COST_COLUMNS = {"cost_per_lead": "leads", "cost_per_mql": "mqls", "cost_per_sql": "sqls",
                "cost_per_opportunity": "opportunities", "cost_per_poc": "pocs",
                "cost_per_win": "wins"}
GRAIN = ("lead_cohort_month", "channel", "campaign", "keyword", "province", "industry")
MART_FUNNEL_SQL = (
    "select cast(lead_cohort_month as varchar) as lead_cohort_month, channel, campaign, keyword, province,"
    " industry, leads, mqls, sqls, opportunities, pocs, wins, losses, spend, lead_won_revenue, "
    + ", ".join([*RATE_COLUMNS, *COST_COLUMNS, "roi"]) + " from marts.mart_funnel"
)

FunnelKey = tuple[str, str, str | None, str | None, str | None, str | None]
CENT = Decimal("0.01")


def _rate(numerator: int | Decimal, denominator: int | Decimal, places: str = "0.0001") -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal(places), ROUND_HALF_UP)


def expected_funnel(journeys_truth: list[dict[str, Any]],
                    ad_days: dict[tuple, dict[str, Any]]) -> dict[FunnelKey, dict[str, Any]]:
    """mart_funnel's rows computed from the generator's own per-journey truth and its ad days
    (tests.support.marketing_truth.loaded_ad_days)."""
    rows: dict[FunnelKey, dict[str, Any]] = defaultdict(
        lambda: {**{c: 0 for c in COUNT_COLUMNS.values()}, "losses": 0, "lead_won_revenue": Decimal(0),
                 "spend": Decimal("0.00")})
    for journey in journeys_truth:
        row = rows[(journey["cohort_month"], journey["channel"], journey["campaign"], journey["keyword"],
                    journey["province"], journey["industry"])]
        for stage in FUNNEL_STAGES:
            row[COUNT_COLUMNS[stage]] += journey[f"{stage}_at_ms"] is not None
        row["losses"] += journey["lost_at_ms"] is not None
        if journey["won_amount"] is not None:
            row["lead_won_revenue"] += Decimal(str(journey["won_amount"])).quantize(CENT)
    _allocate_spend(rows, ad_days)
    for row in rows.values():
        for rate, (numerator, denominator) in RATE_COLUMNS.items():
            row[rate] = _rate(row[numerator], row[denominator])
        for cost, denominator in COST_COLUMNS.items():
            row[cost] = _rate(row["spend"], row[denominator], "0.01")
        row["roi"] = _rate(row["lead_won_revenue"] - row["spend"], row["spend"])
    return dict(rows)


def _allocate_spend(rows: dict[FunnelKey, dict[str, Any]], ad_days: dict[tuple, dict[str, Any]]) -> None:
    """Share each month × channel × campaign × keyword's spend among its cells by leads, the biggest
    cell taking the rounding remainder; spend with no cell gets one with no region or industry."""
    spend: dict[tuple, Decimal] = defaultdict(Decimal)
    for grain, day in ad_days.items():
        spend[(grain[-1].strftime("%Y-%m-01"), day["channel"], day["campaign_name"], day["keyword"])] += day["cost"]
    groups: dict[tuple, list[FunnelKey]] = defaultdict(list)
    for key in rows:
        groups[(key[0], key[1], key[2] or "", key[3] or "")].append(key)
    for (month, channel, campaign, keyword), amount in spend.items():
        members = groups.get((month, channel, campaign or "", keyword or ""))
        if not members:
            rows[(month, channel, campaign, keyword, None, None)]["spend"] = amount
            continue
        members.sort(key=lambda k: (-rows[k]["leads"], k[4] or "", k[5] or ""))
        total_leads = sum(rows[k]["leads"] for k in members)
        shares = [(amount * rows[k]["leads"] / total_leads).quantize(CENT, ROUND_HALF_UP) for k in members[1:]]
        rows[members[0]]["spend"] = amount - sum(shares)
        for key, share in zip(members[1:], shares):
            rows[key]["spend"] = share


def actual_funnel(cursor: Any) -> dict[FunnelKey, dict[str, Any]]:
    """mart_funnel as a DB-API cursor reads it, keyed like expected_funnel."""
    cursor.execute(MART_FUNNEL_SQL)
    names = [d[0] for d in cursor.description]
    result = {}
    for values in cursor.fetchall():
        row = dict(zip(names, values))
        key = (str(row.pop("lead_cohort_month"))[:10], *(row.pop(column) for column in GRAIN[1:]))
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
