"""dlt source for 百度营销 (Baidu search ads): the daily keyword report, `raw_baidu_sem.keyword_daily_report`.

Every run re-reads a look-back window of recent days (cost and conversions are restated for a
few days) and merges on (userId, keywordId, date), so a restated day overwrites the old numbers
and older days are left alone. Configure it through dlt config / environment (see README.md);
the source can be built with no credentials and names the missing setting at the first request.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import dlt
from dlt.extract.resource import DltResource

from leadloop.extract.baidu_sem import settings
from leadloop.extract.baidu_sem.client import SOURCE_NAME, BaiduSemClient, BaiduSemSettings
from leadloop.extract.common.arrow import ArrowPage
from leadloop.extract.common.keyed_arrow import keyed_column_hints, records_to_keyed_arrow
from leadloop.extract.common.plausible import non_negative
from leadloop.extract.common.quarantine import KeyLedger, quarantine_resource, typed_page_items
from leadloop.extract.common.reports import business_today, day_windows, parse_day

__all__ = [
    "KEYWORD_REPORT_COLUMNS",
    "ReportWindow",
    "baidu_sem_source",
    "date_chunks",
    "keyword_report_page",
]

STATE_LAST_END = "last_end_date"
# Spend and counts below zero cannot be true (a NaN is already refused as no decimal).
CHECKS = dict.fromkeys(settings.NON_NEGATIVE_FIELDS, non_negative)
KEYWORD_REPORT_COLUMNS = keyed_column_hints(
    settings.REPORT_FIELDS, keys=settings.PRIMARY_KEY, constants=(settings.SOURCE_COLUMN,), extra_fields=True
)


@dataclass(frozen=True)
class ReportWindow:
    """Which days a run reads: everything from start_date at first, then a look-back window."""

    start_date: str = settings.DEFAULT_START_DATE
    end_date: str | None = None
    lookback_days: int = settings.DEFAULT_LOOKBACK_DAYS

    def resolve(self, last_end: str | None, today: date | None = None) -> tuple[date, date]:
        """(first, last) day to read; first > last means nothing to read.

        The window is the `lookback_days` days ending at end_date (default: today in China).
        When runs were missed it reaches back to the oldest day the last run could not yet
        treat as settled (`last_end - lookback_days + 2`), so no day misses its restatement.
        """
        if self.lookback_days < 1:
            raise ValueError(
                f"baidu_sem: SOURCES__BAIDU_SEM__LOOKBACK_DAYS must be at least 1, got {self.lookback_days}"
            )
        first_day = parse_day(SOURCE_NAME, self.start_date, "start_date")
        end = (parse_day(SOURCE_NAME, self.end_date, "end_date") if self.end_date
               else (today or business_today(settings.BUSINESS_TIME_ZONE)))
        start = end - timedelta(days=self.lookback_days - 1)
        if last_end is None:
            start = first_day
        else:
            start = min(start, date.fromisoformat(last_end) - timedelta(days=self.lookback_days - 2))
        return max(start, first_day), end


def date_chunks(start: date, end: date, max_days: int = settings.MAX_RANGE_DAYS) -> list[tuple[date, date]]:
    """start..end (both included) in the longest ranges one getReportData request may ask for."""
    return day_windows(start, end, max_days)


def _with_canonical_names(record: Any) -> Any:
    """Renames alternative wire spellings (settings.COLUMN_ALIASES) to the field table's names."""
    if not isinstance(record, Mapping):
        return record
    renamed = dict(record)
    for alias, name in settings.COLUMN_ALIASES.items():
        if alias in renamed and renamed.get(name) is None:
            renamed[name] = renamed.pop(alias)
    return renamed


def keyword_report_page(records: Iterable[Any], *, source: str) -> ArrowPage:
    """Typed keyword-report rows tagged with their provenance (`_source`); bad rows set aside.

    Alternative wire spellings of the keyword columns are read too (settings.COLUMN_ALIASES); columns
    the field table does not know are kept in `_extra_fields_json`.
    """
    return records_to_keyed_arrow(
        (_with_canonical_names(record) for record in records),
        settings.REPORT_FIELDS,
        keys=settings.PRIMARY_KEY,
        day_fields=settings.DAY_FIELDS,
        constants={settings.SOURCE_COLUMN: source},
        checks=CHECKS,
        extra_fields=True,
    )


def _keyword_report_resource(client: BaiduSemClient, window: ReportWindow) -> DltResource:
    """The keyword report over the run's window: pages → arrow tables, bad rows → quarantine."""

    def keyword_daily_report() -> Iterator[Any]:
        """Reads the window's days, in ranges the API accepts, and remembers where it ended."""
        state = dlt.current.resource_state()
        previous_end = state.get(STATE_LAST_END)
        start, end = window.resolve(previous_end)
        ledger = KeyLedger(settings.PRIMARY_KEY)
        for first, last in date_chunks(start, end):
            for rows in client.report_pages(
                settings.KEYWORD_REPORT_TYPE, list(settings.REPORT_FIELDS), first, last
            ):
                page = ledger.split(keyword_report_page(rows, source=settings.API_SOURCE))
                yield from typed_page_items(page.table, page.rejected, source=SOURCE_NAME,
                                            resource=settings.RESOURCE, columns=KEYWORD_REPORT_COLUMNS)
        state[STATE_LAST_END] = max(filter(None, (previous_end, end.isoformat())))

    return dlt.resource(
        keyword_daily_report,
        name=settings.RESOURCE,
        primary_key=list(settings.PRIMARY_KEY),
        write_disposition="merge",
    )


@dlt.source(name=SOURCE_NAME, section=SOURCE_NAME, max_table_nesting=0, spec=BaiduSemSettings)
def baidu_sem_source(config: BaiduSemSettings = dlt.config.value, **overrides: Any) -> list[DltResource]:
    """百度营销 keyword report as `raw_baidu_sem.keyword_daily_report`, plus `quarantine`."""
    config = config.overridden(overrides)
    window = ReportWindow(config.start_date, config.end_date, config.lookback_days)
    return [_keyword_report_resource(BaiduSemClient(config), window), quarantine_resource()]
