"""Render the demo company's 巨量引擎 ads as custom-report rows, as the platform shows them at an instant.

Ad units with platform "oceanengine" are promotions (广告, `adgroup_*`) inside projects (项目,
`campaign_*`). Each promotion-day with any numbers becomes one row of
`/open_api/v3.0/report/custom/get/`, with the wire's string values, up to the instant's China
day; days inside the restatement window show provisional numbers (`reported_ad_day`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from leadloop.demo.digital import AdDay, AdUnit, DigitalWorld, business_day, reported_ad_day
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


def render(world: World, digital: DigitalWorld, as_of_ms: int | None = None) -> dict[int, list[Row]]:
    """Report rows per advertiser id, ordered by day then promotion, as of an instant (default: today)."""
    now = world.as_of_ms if as_of_ms is None else as_of_ms
    today = business_day(now)
    units = promotions(digital)
    by_key = _unit_by_key(units)
    reports: dict[int, list[Row]] = {unit.account_id: [] for unit in units}
    for (key, day), numbers in sorted(digital.ad_days.items(), key=lambda item: (item[0][1], item[0][0])):
        unit = by_key.get(key)
        if unit is None or day > today:
            continue
        shown = reported_ad_day(numbers, day, now)
        if has_data(shown):
            reports[unit.account_id].append(report_row(unit, day, shown))
    return reports


def _unit_by_key(units: list[AdUnit]) -> dict[int, AdUnit]:
    """Promotions by the id that keys them in `DigitalWorld.ad_days`."""
    return {DigitalWorld.unit_key(unit): unit for unit in units}


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
