"""Render the demo company's Baidu search ads as 百度营销 keyword-report rows, as of an instant.

One row per keyword and China calendar day from the world's first day to the instant's day,
with the numbers the platform shows at that instant: days younger than the restatement period
are still provisional (`leadloop.demo.digital.reported_ad_day`), so re-rendering a day later restates them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from leadloop.demo.digital import AdDay, AdUnit, DigitalWorld, business_day, reported_ad_day
from leadloop.demo.model import World, to_ms

Record = dict[str, Any]
PLATFORM = "baidu"


def baidu_units(digital: DigitalWorld) -> list[AdUnit]:
    """The demo's Baidu keywords, ordered by account and keyword id (the report's row order)."""
    units = [unit for unit in digital.ad_units if unit.platform == PLATFORM]
    return sorted(units, key=lambda unit: (unit.account_id, unit.keyword_id or 0))


def report_days(world: World, as_of_ms: int) -> Iterator[date]:
    """Every China calendar day from the world's start to the instant's day, both included."""
    day, last = business_day(to_ms(world.start)), business_day(as_of_ms)
    while day <= last:
        yield day
        day += timedelta(days=1)


def keyword_row(unit: AdUnit, day: date, numbers: AdDay) -> Record:
    """One keyword-report row in wire names (ids as numbers, cost in CNY as a JSON number)."""
    return {
        "date": day.isoformat(),
        "userId": unit.account_id,
        "userName": unit.account_name,
        "campaignId": unit.campaign_id,
        "campaignName": unit.campaign_name,
        "adGroupId": unit.adgroup_id,
        "adGroupName": unit.adgroup_name,
        "keywordId": unit.keyword_id,
        "keyword": unit.keyword,
        "impression": numbers.impressions,
        "click": numbers.clicks,
        "cost": numbers.cost,
        "conversion": numbers.conversions,
    }


class KeywordReport:
    """The keyword report 百度营销 serves at an instant, made a day at a time when asked (`between`), so a
    big demo's simulator holds the ad days' arrays rather than a million rows. Iterating gives every row:
    day by day, each day's keywords in `baidu_units` order."""

    def __init__(self, world: World, digital: DigitalWorld, as_of_ms: int) -> None:
        self.digital, self.as_of_ms = digital, as_of_ms
        self.units = baidu_units(digital)
        self.days = list(report_days(world, as_of_ms))
        self.user_ids = {unit.account_id for unit in self.units}

    def day_rows(self, day: date) -> list[Record]:
        """One day's rows (the keywords with numbers that day)."""
        rows = []
        for unit in self.units:
            numbers = self.digital.ad_days.get((DigitalWorld.unit_key(unit), day))
            if numbers is not None:
                rows.append(keyword_row(unit, day, reported_ad_day(numbers, day, self.as_of_ms)))
        return rows

    def between(self, start: str, end: str) -> list[Record]:
        """The rows of the days from `start` to `end` (ISO dates, both included), in served order."""
        return [row for day in self.days if start <= day.isoformat() <= end for row in self.day_rows(day)]

    def __iter__(self) -> Iterator[Record]:
        for day in self.days:
            yield from self.day_rows(day)


def render(world: World, digital: DigitalWorld, as_of_ms: int | None = None) -> list[Record]:
    """The keyword report rows 百度营销 serves at `as_of_ms` (default: the demo's today)."""
    now = world.as_of_ms if as_of_ms is None else as_of_ms
    return list(KeywordReport(world, digital, now))
