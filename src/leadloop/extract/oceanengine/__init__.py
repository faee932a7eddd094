"""dlt source for 巨量引擎 (Ocean Engine): daily promotion reports, re-read over a look-back window.

Configure it through dlt config / environment (see README.md). The source can be built with no
credentials at all — Dagster builds it at import time to list its resources — and says which
setting is missing at the first HTTP request.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import dlt
from dlt.extract.resource import DltResource

from leadloop.extract.common.arrow import (
    InvalidRecordError,
    Rejected,
    arrow_schema,
    cast_keeping_metadata,
    column_hints,
    records_to_arrow,
)
from leadloop.extract.common.plausible import day_problem, non_negative
from leadloop.extract.common.quarantine import KeyLedger, quarantine_resource, typed_page_items
from leadloop.extract.common.reports import day_windows
from leadloop.extract.oceanengine import settings
from leadloop.extract.oceanengine.client import SOURCE_NAME, OceanengineClient, OceanengineSettings

__all__ = ["first_day_to_read", "flatten_rows", "oceanengine_source", "report_windows"]

# Fields the table does not know are kept in _extra_fields_json (a new metric still reaches raw).
_COLUMNS = column_hints(settings.FIELDS, required=settings.MERGE_KEY, extra_fields=True)
_SCHEMA = arrow_schema(settings.FIELDS, required=settings.MERGE_KEY, extra_fields=True)  # merge key never null
# Spend and counts below zero cannot be true (a NaN is already refused as no decimal).
_CHECKS = dict.fromkeys(settings.METRICS, non_negative)
_DAY = re.compile(r"^(\d{4}-\d{2}-\d{2})(?: 00:00(?::00)?)?$")


def report_windows(
    first: date, last: date, span_days: int = settings.MAX_WINDOW_DAYS
) -> list[tuple[date, date]]:
    """first..last (inclusive) in the longest windows one report request may span, oldest first."""
    return day_windows(first, last, span_days)


def first_day_to_read(start: date, end: date, last_read: date | None, lookback_days: int) -> date:
    """Where a run starts: `start` the first time, else the `lookback_days` days up to the last day read.

    Ad numbers are restated for a few days, so already loaded days are re-read and merged again.
    """
    if last_read is None:
        return start
    return max(start, min(last_read, end) - timedelta(days=lookback_days - 1))


def _day(value: Any) -> str:
    """A report day as YYYY-MM-DD (a midnight time part is dropped); raises InvalidRecordError otherwise."""
    match = _DAY.match(value.strip()) if isinstance(value, str) else None
    try:
        if match is None:
            raise ValueError
        day = date.fromisoformat(match.group(1))  # a real calendar day
    except ValueError:
        raise InvalidRecordError(
            f"field stat_time_day: expected a day YYYY-MM-DD, got {value!r}"[:200]
        ) from None
    if (problem := day_problem(day, repr(value))) is not None:
        raise InvalidRecordError(f"field stat_time_day: {problem}")
    return day.isoformat()


def _flatten(row: Any, advertiser_id: int) -> dict[str, Any]:
    """One wire row as a flat record of the raw table; raises InvalidRecordError with the reason."""
    if not isinstance(row, Mapping):
        raise InvalidRecordError(f"row is {type(row).__name__}, not an object")
    dimensions, metrics = row.get("dimensions"), row.get("metrics")
    if not isinstance(dimensions, Mapping) or not isinstance(metrics, Mapping):
        raise InvalidRecordError("row lacks a dimensions or metrics object")
    record = {**dimensions, **metrics, "advertiser_id": advertiser_id, "_source": settings.SOURCE_TAG}
    missing = [name for name in settings.REQUIRED_FIELDS if record.get(name) in (None, "")]
    if missing:
        raise InvalidRecordError(f"missing required field {', '.join(missing)}")
    record["stat_time_day"] = _day(record["stat_time_day"])
    return record


def _record_id(row: Any, advertiser_id: int) -> str:
    """advertiser/promotion/day of a raw row, as far as they can be read, for the quarantine."""
    dimensions = row.get("dimensions") if isinstance(row, Mapping) else None
    dimensions = dimensions if isinstance(dimensions, Mapping) else {}
    return f"{advertiser_id}/{dimensions.get('cdp_promotion_id')}/{dimensions.get('stat_time_day')}"


def flatten_rows(
    rows: Sequence[Any], advertiser_id: int
) -> tuple[list[tuple[dict[str, Any], Any]], list[Rejected]]:
    """([(flat record, raw row)], rejects) of a page; a reject's payload is the raw row and its advertiser."""
    flat: list[tuple[dict[str, Any], Any]] = []
    rejected: list[Rejected] = []
    for row in rows:
        try:
            flat.append((_flatten(row, advertiser_id), row))
        except ValueError as exc:
            rejected.append(_rejected(row, advertiser_id, str(exc)))
    return flat, rejected


def _rejected(row: Any, advertiser_id: int, reason: str) -> Rejected:
    """A quarantine entry: the row exactly as received, wrapped with the advertiser it came for."""
    return Rejected({"advertiser_id": advertiser_id, "row": row}, reason, _record_id(row, advertiser_id))


def _page_items(rows: Sequence[Any], advertiser_id: int, ledger: KeyLedger) -> Iterator[Any]:
    """Typed arrow rows for the raw table, and quarantine rows for what does not fit (a key read
    twice in the run with other numbers included: `ledger` holds the run's keys)."""
    flat, rejected = flatten_rows(rows, advertiser_id)
    raw_of = {id(record): row for record, row in flat}
    page = records_to_arrow(
        [record for record, _ in flat],
        settings.FIELDS,
        primary_key="cdp_promotion_id",
        cursor="stat_time_day",
        checks=_CHECKS,
        extra_fields=True,
    )
    page = ledger.split(page)
    rejected += [_rejected(raw_of[id(r.record)], advertiser_id, r.reason) for r in page.rejected]
    yield from typed_page_items(cast_keeping_metadata(page.table, _SCHEMA), rejected, source=SOURCE_NAME,
                                resource=settings.RESOURCE, columns=_COLUMNS)


def _report_resource(client: OceanengineClient) -> DltResource:
    """The raw report table: every advertiser's look-back window, merged on the report key."""

    def read_report() -> Iterator[Any]:
        """Reads start_date..end_date the first time, then the look-back window up to the end date."""
        client.ensure_configured()
        config = client.config
        start, end = config.start_day(), config.end_day()
        last_read: dict[str, str] = dlt.current.resource_state().setdefault("last_day_read", {})
        ledger = KeyLedger(settings.MERGE_KEY)
        for advertiser_id in config.advertisers():
            previous = last_read.get(str(advertiser_id))
            previous_day = date.fromisoformat(previous) if previous else None
            first = first_day_to_read(start, end, previous_day, config.lookback_days)
            for window_start, window_end in report_windows(first, end):
                for rows in client.report_pages(advertiser_id, window_start, window_end):
                    yield from _page_items(rows, advertiser_id, ledger)
            last_read[str(advertiser_id)] = max(end, previous_day or end).isoformat()

    return dlt.resource(
        read_report, name=settings.RESOURCE, primary_key=list(settings.MERGE_KEY), write_disposition="merge"
    )


@dlt.source(name=SOURCE_NAME, section=SOURCE_NAME, max_table_nesting=0, spec=OceanengineSettings)
def oceanengine_source(config: OceanengineSettings = dlt.config.value, **overrides: Any) -> list[DltResource]:
    """`raw_oceanengine.promotion_daily_report` (daily promotion numbers) plus `quarantine`."""
    return [_report_resource(OceanengineClient(config.overridden(overrides))), quarantine_resource()]
