"""The sales marts as the demo company's truth says they must be."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from leadloop.demo.model import BUSINESS_TZ


def utc_day(ms: int):
    """The UTC calendar day of an instant (dbt.datediff counts UTC day boundaries)."""
    return datetime.fromtimestamp(ms / 1000, UTC).date()


def business_month(ms: int) -> str:
    """First day of the business-time-zone month of an instant, as text."""
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(BUSINESS_TZ).strftime("%Y-%m-01")


def days_between(start_ms: int | None, end_ms: int | None) -> int | None:
    """Calendar days between two instants, or None."""
    if start_ms is None or end_ms is None:
        return None
    return (utc_day(end_ms) - utc_day(start_ms)).days


def money(value: float | None) -> Decimal:
    """A CNY amount as the warehouse stores it."""
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def _median(values: list[int]) -> Decimal | None:
    if not values:
        return None
    return Decimal(str(statistics.median(values))).quantize(Decimal("0.1"), ROUND_HALF_UP)


def revenue_by_source(opportunities: list[dict[str, Any]]) -> dict[tuple, dict[str, Any]]:
    """mart_revenue_by_source rows (share computed by the caller's comparison of exact sums)."""
    rows: dict[tuple, dict[str, Any]] = defaultdict(
        lambda: {"won_deals": 0, "won_revenue": Decimal(0), "marketing_influenced_deals": 0})
    for opp in opportunities:
        if opp["outcome"] != "won":
            continue
        row = rows[(business_month(opp["won_at_ms"]), opp["sourced_by"], "new_logo")]
        row["won_deals"] += 1
        row["won_revenue"] += money(opp["won_amount"])
        row["marketing_influenced_deals"] += opp["is_marketing_influenced"]
    return dict(rows)


def poc_analysis(opportunities: list[dict[str, Any]]) -> dict[tuple, dict[str, Any]]:
    """mart_poc_analysis rows."""
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for opp in opportunities:
        if opp["poc_started_at_ms"] is None:
            continue
        key = (business_month(opp["poc_started_at_ms"]), opp["industry"], opp["outcome"], opp["lost_reason"] or "")
        groups[key].append(opp)
    rows = {}
    for key, members in groups.items():
        durations = [d for o in members if (d := days_between(o["poc_started_at_ms"], o["poc_ended_at_ms"])) is not None]
        rows[key] = {"poc_deals": len(members), "poc_deals_ended": len(durations), "median_poc_days": _median(durations),
                     "won_revenue": sum((money(o["won_amount"]) for o in members), Decimal("0.00"))}
    return rows


def sales_cycle(opportunities: list[dict[str, Any]]) -> dict[tuple, dict[str, Any]]:
    """mart_sales_cycle rows."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for opp in opportunities:
        closed = opp["won_at_ms"] or opp["lost_at_ms"]
        if closed is None:
            continue
        groups[(business_month(closed), opp["outcome"], opp["sourced_by"])].append(
            days_between(opp["opened_at_ms"], closed))
    return {key: {"deals": len(days), "median_days_to_close": _median(days), "min_days_to_close": min(days),
                  "max_days_to_close": max(days)} for key, days in groups.items()}
