"""Render the demo company's 巨量引擎 ads as custom-report rows, as the platform shows them at an instant.

Ad units with platform "oceanengine" are promotions (广告, `adgroup_*`) inside projects (项目,
`campaign_*`). Each promotion-day with any numbers becomes one row of
`/open_api/v3.0/report/custom/get/`, with the wire's string values, up to the instant's China
day; days inside the restatement window show provisional numbers (`reported_ad_day`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from leadloop.demo.digital import AdDay, AdDays, AdUnit, DigitalWorld, business_day, reported_ad_day
from leadloop.demo.model import World

PLATFORM = "oceanengine"
Row = dict[str, Any]


def promotions(digital: DigitalWorld) -> list[AdUnit]:
    """The demo's Ocean Engine promotions, in a stable order."""
    units = [unit for unit in digital.ad_units if unit.platform == PLATFORM]
    return sorted(units, key=lambda unit: (unit.account_id, unit.adgroup_id))


def has_data(numbers: AdDay) -> bool:
    """A custom report has no row for a promotion-day without any impression, click, cost or conversion."""
    return bool(numbers.impressions or numbers.clicks or numbers.cost or numbers.conversions)


class PromotionReport:
    """One advertiser's custom-report rows at an instant, made a day at a time when asked (`between`):
    a big demo's simulator holds the ad days' arrays rather than the rows. Iterating gives every row,
    by day then promotion id."""

    def __init__(self, digital: DigitalWorld, units: list[AdUnit], as_of_ms: int) -> None:
        self.digital, self.as_of_ms = digital, as_of_ms
        self.units = sorted(units, key=DigitalWorld.unit_key)
        today = business_day(as_of_ms)
        self.days = [day for day in _report_days(digital) if day <= today]

    def day_rows(self, day: date) -> list[Row]:
        """One day's rows: the promotions with any numbers that day."""
        rows = []
        for unit in self.units:
            numbers = self.digital.ad_days.get((DigitalWorld.unit_key(unit), day))
            if numbers is None:
                continue
            shown = reported_ad_day(numbers, day, self.as_of_ms)
            if has_data(shown):
                rows.append(report_row(unit, day, shown))
        return rows

    def between(self, first: str, last: str) -> list[Row]:
        """The rows of the days from `first` to `last` (ISO dates, both included), in served order."""
        return [row for day in self.days if first <= day.isoformat() <= last for row in self.day_rows(day)]

    def __iter__(self) -> Iterator[Row]:
        for day in self.days:
            yield from self.day_rows(day)


def _report_days(digital: DigitalWorld) -> list[date]:
    """The days any unit may have numbers on, in order: the arrays' days of an AdDays, else the mapping's."""
    if isinstance(digital.ad_days, AdDays):
        return [digital.ad_days.first + timedelta(days=n) for n in range(digital.ad_days.days)]
    return sorted({day for _, day in digital.ad_days})


def reports_at(world: World, digital: DigitalWorld, as_of_ms: int | None = None) -> dict[int, PromotionReport]:
    """Every advertiser's report as of an instant (default: today), made when asked."""
    now = world.as_of_ms if as_of_ms is None else as_of_ms
    units = promotions(digital)
    by_advertiser: dict[int, list[AdUnit]] = {unit.account_id: [] for unit in units}
    for unit in units:
        by_advertiser[unit.account_id].append(unit)
    return {advertiser: PromotionReport(digital, own, now) for advertiser, own in by_advertiser.items()}


def render(world: World, digital: DigitalWorld, as_of_ms: int | None = None) -> dict[int, list[Row]]:
    """Report rows per advertiser id, ordered by day then promotion, as of an instant (default: today)."""
    return {advertiser: list(report) for advertiser, report in reports_at(world, digital, as_of_ms).items()}


def report_row(unit: AdUnit, day: date, numbers: AdDay) -> Row:
    """One wire row: dimension and metric values are all strings, cost with two decimals."""
    return {
        "dimensions": {
            "stat_time_day": day.isoformat(),
            "cdp_project_id": str(unit.campaign_id),
            "cdp_project_name": unit.campaign_name,
            "cdp_promotion_id": str(unit.adgroup_id),
            "cdp_promotion_name": unit.adgroup_name,
        },
        "metrics": {
            "stat_cost": f"{numbers.cost:.2f}",
            "show_cnt": str(numbers.impressions),
            "click_cnt": str(numbers.clicks),
            "convert_cnt": str(numbers.conversions),
        },
    }
