"""The marketing marts as the demo company's truth says they must be (ad days, channel ROI, cockpit).

Computed from the simulated world only: the digital world's ad days as the platforms report them
at the demo's today, and `leadloop.demo.truth`'s journeys and opportunities.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from leadloop.demo.digital import AdDay, DigitalWorld, business_day, reported_ad_day
from leadloop.demo.model import World
from leadloop.demo.truth import FUNNEL_STAGES
from tests.support.crm_truth import business_month, money
from tests.support.funnel import COUNT_COLUMNS

# The demo's ad platforms as the warehouse names them (dlt source names) and the channel they buy.
PLATFORMS = {"baidu": "baidu_sem", "oceanengine": "oceanengine"}
PLATFORM_CHANNELS = {"baidu": "paid_search", "oceanengine": "paid_social"}
FIRST_REPORT_DAY = date(2025, 1, 1)  # the nightly job's first ad-report partition


def ratio(numerator: Decimal | int, denominator: Decimal | int, places: str = "0.0001") -> Decimal | None:
    """numerator / denominator rounded half up as the warehouse stores it; None when dividing by 0."""
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal(places), ROUND_HALF_UP)


def loaded_ad_days(world: World, digital: DigitalWorld, last: date | None = None, first: date | None = None,
                   platforms: Collection[str] = tuple(PLATFORMS.values()),
                   now: int | None = None) -> dict[tuple, dict[str, Any]]:
    """fct_ad_performance_daily's rows: every unit-day from `first` to `last` of the platforms (dlt
    source names) configured, as the platforms report it at `now` (default: the demo's today; a
    simulator clock set earlier passes its moment).

    The demo night loads days from the first report partition to the day before the clock's day
    (China time), the defaults; tonight's production night loads its day and the restatement window
    before it. Recent days show provisional numbers. Ocean Engine has no row for a promotion-day
    without numbers.
    """
    now = world.as_of_ms if now is None else now
    last = last or business_day(now) - timedelta(days=1)
    first = first or FIRST_REPORT_DAY
    units = {DigitalWorld.unit_key(unit): unit for unit in digital.ad_units}
    rows = {}
    for (key, day), numbers in digital.ad_days.items():
        unit = units[key]
        shown: AdDay = reported_ad_day(numbers, day, now)
        empty = not (shown.impressions or shown.clicks or shown.cost or shown.conversions)
        if (day > last or day < first or PLATFORMS[unit.platform] not in platforms
                or (unit.platform == "oceanengine" and empty)):
            continue
        grain = (PLATFORMS[unit.platform], unit.account_id, unit.campaign_id, unit.adgroup_id, unit.keyword_id, day)
        rows[grain] = {
            "channel": PLATFORM_CHANNELS[unit.platform], "campaign_name": unit.campaign_name,
            "ad_group_name": unit.adgroup_name, "keyword": unit.keyword, "impressions": shown.impressions,
            "clicks": shown.clicks, "cost": money(shown.cost), "conversions": shown.conversions,
            # The demo's ad accounts bill in CNY, the default reporting currency: the rate is 1.
            "reporting_currency": "CNY", "account_cost": money(shown.cost), "account_currency": "CNY",
        }
    return rows


def spend_by_month_and_channel(ad_days: dict[tuple, dict[str, Any]]) -> dict[tuple[str, str], Decimal]:
    """Ad spend per (month of the China day, channel)."""
    spend: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for grain, row in ad_days.items():
        spend[(grain[-1].strftime("%Y-%m-01"), row["channel"])] += row["cost"]
    return dict(spend)


def channel_roi(journeys: list[dict[str, Any]], ad_days: dict[tuple, dict[str, Any]]) -> dict[tuple, dict]:
    """mart_channel_roi's rows keyed by (month, channel): the month's spend against its lead cohort."""
    spend = spend_by_month_and_channel(ad_days)
    rows: dict[tuple, dict[str, Any]] = defaultdict(lambda: {
        "spend": Decimal("0.00"), "leads": 0, "mqls": 0, "opportunities": 0, "wins": 0,
        "lead_won_revenue": Decimal("0.00")})
    for journey in journeys:
        row = rows[(journey["cohort_month"], journey["channel"])]
        row["leads"] += 1
        row["mqls"] += journey["mql_at_ms"] is not None
        row["opportunities"] += journey["opportunity_at_ms"] is not None
        row["wins"] += journey["won_at_ms"] is not None
        if journey["won_amount"] is not None:
            row["lead_won_revenue"] += money(journey["won_amount"])
    for key, amount in spend.items():
        rows[key]["spend"] = amount
    for row in rows.values():
        row["cost_per_lead"] = ratio(row["spend"], row["leads"], "0.01")
        row["cost_per_opportunity"] = ratio(row["spend"], row["opportunities"], "0.01")
        row["roi"] = ratio(row["lead_won_revenue"] - row["spend"], row["spend"])
    return dict(rows)


def _months(first: str, last: str) -> list[str]:
    """Every month from first to last (YYYY-MM-01), both included."""
    months, year, month = [], int(first[:4]), int(first[5:7])
    while f"{year:04d}-{month:02d}-01" <= last:
        months.append(f"{year:04d}-{month:02d}-01")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def exec_cockpit(journeys: list[dict[str, Any]], opportunities: list[dict[str, Any]],
                 ad_days: dict[tuple, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """mart_exec_cockpit's rows keyed by month: revenue won (all deals, and journeys'), spend, new
    customers, stage entries, the lead cohort's opportunities."""
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    won_deals: dict[str, int] = defaultdict(int)
    lead_revenue: dict[str, Decimal] = defaultdict(Decimal)
    cohort_opportunities: dict[str, int] = defaultdict(int)
    first_win: dict[int, int] = {}
    for opp in opportunities:
        if opp["won_at_ms"] is not None:
            revenue[business_month(opp["won_at_ms"])] += money(opp["won_amount"])
            won_deals[business_month(opp["won_at_ms"])] += 1
            first_win[opp["account_id"]] = min(first_win.get(opp["account_id"], opp["won_at_ms"]), opp["won_at_ms"])
    new_customers: dict[str, int] = defaultdict(int)
    for won_at_ms in first_win.values():
        new_customers[business_month(won_at_ms)] += 1
    entries: dict[tuple[str, str], int] = defaultdict(int)
    for journey in journeys:
        if journey["won_at_ms"] is not None:
            lead_revenue[business_month(journey["won_at_ms"])] += money(journey["won_amount"])
        if journey["lead_at_ms"] is not None and journey["opportunity_at_ms"] is not None:
            cohort_opportunities[business_month(journey["lead_at_ms"])] += 1
        for stage in FUNNEL_STAGES:
            if journey[f"{stage}_at_ms"] is not None:
                entries[(business_month(journey[f"{stage}_at_ms"]), stage)] += 1
    spend: dict[str, Decimal] = defaultdict(Decimal)
    for (month, _), amount in spend_by_month_and_channel(ad_days).items():
        spend[month] += amount
    active = set(revenue) | set(spend) | {month for month, _ in entries}
    rows = {}
    for month in _months(min(active), max(active)):
        row: dict[str, Any] = {"won_revenue": money(revenue.get(month)), "won_deals": won_deals.get(month, 0),
                               "lead_won_revenue": money(lead_revenue.get(month)),
                               "spend": money(spend.get(month)), "new_customers": new_customers.get(month, 0)}
        row["roi"] = ratio(row["won_revenue"] - row["spend"], row["spend"])
        row["cac"] = ratio(row["spend"], row["new_customers"], "0.01")
        for stage, column in COUNT_COLUMNS.items():
            row[column] = entries.get((month, stage), 0)
        row["lead_to_opportunity_cohort_rate"] = ratio(cohort_opportunities.get(month, 0), row["leads"])
        row["lead_to_opportunity_period_rate"] = ratio(row["opportunities"], row["leads"])
        rows[month] = row
    return rows


def differences(expected: dict, actual: dict) -> list[str]:
    """Every row or cell where a mart disagrees with the truth (empty when they agree)."""
    problems = [f"missing row {key}" for key in expected.keys() - actual.keys()]
    problems += [f"unexpected row {key}" for key in actual.keys() - expected.keys()]
    for key in sorted(expected.keys() & actual.keys()):
        if actual[key].keys() != expected[key].keys():
            problems.append(f"{key}: columns {sorted(actual[key])} != {sorted(expected[key])}")
        for column, want in expected[key].items():
            got = actual[key].get(column)
            if got != want:
                problems.append(f"{key} {column}: mart {got!r} != truth {want!r}")
    return problems
