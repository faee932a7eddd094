"""dlt source for Salesforce CRM: one merge-incremental raw table per object in settings.OBJECTS.

Configure it through dlt config / environment (see README.md). The source can be built with no
credentials at all — Dagster builds it at import time to list its resources — and says which
setting is missing at the first HTTP request. Deleted rows (served by `queryAll`) are kept, with
`is_deleted = true`, never removed.

Each object is read the way the org allows: its describe decides the fields (what the org lacks
is left out, never an error), an object the org lacks is skipped with a warning, and an object
with more rows to read than `bulk_threshold` goes through a Bulk API 2.0 job instead of REST.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dlt
from dlt.extract.resource import DltResource

from leadloop.extract.common.arrow import arrow_schema, column_hints
from leadloop.extract.common.custom_fields import custom_field_maps
from leadloop.extract.common.plausible import plausible_instant
from leadloop.extract.common.quarantine import (
    KeyLedger,
    data_item,
    incremental_merge_resource,
    page_items,
    passthrough_incremental,
    quarantine_resource,
)
from leadloop.extract.salesforce import bulk, settings
from leadloop.extract.salesforce.client import (
    SOURCE_NAME,
    Record,
    SalesforceApiError,
    SalesforceClient,
    SalesforceSettings,
    build_count_soql,
    build_soql,
)
from leadloop.extract.salesforce.fields import (
    FieldSelection,
    log_missing,
    required_fields,
    select_fields,
)

__all__ = ["ReadStats", "parse_start", "salesforce_source", "select_fields"]

logger = logging.getLogger(__name__)


def parse_start(text: str | None) -> datetime | None:
    """The optional `start` setting as an aware UTC instant; a clear error naming the setting otherwise."""
    if text is None or not str(text).strip():
        return None
    try:
        moment = datetime.fromisoformat(str(text).strip())
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValueError(
            f"salesforce: SOURCES__SALESFORCE__START must be an ISO-8601 instant with a time zone,"
            f" e.g. 2025-01-01T00:00:00Z, or unset to read all history; got {text!r}"
        )
    return moment.astimezone(UTC)


def _check_bulk(bulk_threshold: int, bulk_poll_seconds: float) -> None:
    """Refuses Bulk settings that cannot work, naming the setting."""
    if bulk_threshold < 0:
        raise ValueError(
            f"salesforce: SOURCES__SALESFORCE__BULK_THRESHOLD must be 0 or more (rows), got {bulk_threshold}"
        )
    if bulk_poll_seconds <= 0:
        raise ValueError(
            f"salesforce: SOURCES__SALESFORCE__BULK_POLL_SECONDS must be more than 0, got {bulk_poll_seconds}"
        )


@dataclass(frozen=True)
class _Options:
    """What every object's resource shares: the lower bound, the custom-field map, Bulk settings."""

    start: datetime | None
    custom_fields: Mapping[str, Mapping[str, str]]
    bulk_threshold: int
    bulk_poll_seconds: float


@dataclass
class ReadStats:
    """How much history one object's read brought: rows, and the earliest CreatedDate among them."""

    rows: int = 0
    earliest: datetime | None = None
    api: str = "REST"

    def observe(self, records: list[Record]) -> None:
        """Counts a page and keeps its earliest CreatedDate (REST and Bulk spell instants differently)."""
        self.rows += len(records)
        for record in records:
            created = _instant(record.get(settings.CREATED_FIELD))
            if created is not None and (self.earliest is None or created < self.earliest):
                self.earliest = created

    def summary(self, obj: settings.SalesforceObject, since: datetime | None) -> str:
        """One log line: rows read, from which bound, and how old the oldest is."""
        bound = f"changed since {since.isoformat()}" if since is not None else "all history (no lower bound)"
        earliest = self.earliest.isoformat() if self.earliest else "none"
        return (
            f"salesforce: {obj.resource}: read {self.rows} rows over {self.api} ({obj.cursor}: {bound});"
            f" earliest {settings.CREATED_FIELD} {earliest}"
        )


def _instant(value: Any) -> datetime | None:
    """An ISO-8601 instant as an aware datetime, None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else None


def _selection(
    obj: settings.SalesforceObject, client: SalesforceClient, custom_fields: Mapping[str, str] | None
) -> FieldSelection | None:
    """The object's fields for this run, or None (with a warning) when it cannot be read."""
    described = client.describe(obj.sobject)
    if described is None:
        logger.warning(
            "salesforce: the org has no %s, or the API user may not read it (describe not found);"
            " %s is skipped", obj.sobject, obj.resource,
        )
        return None
    selection = select_fields(obj, described.fields, custom_fields)
    lacking = [name for name in required_fields(obj) if name not in selection.fields]
    if lacking:
        logger.warning(
            "salesforce: %s has no %s, which an incremental load needs; %s is skipped",
            obj.sobject, " / ".join(lacking), obj.resource,
        )
        return None
    log_missing(obj, selection)
    return selection


def _count(client: SalesforceClient, obj: settings.SalesforceObject, soql: str) -> int | None:
    """A COUNT() answer, or None (with a warning) when the org refuses it for this object: the count
    only chooses REST or Bulk and feeds the log, so a refusal must not stop the load."""
    try:
        return client.count(soql)
    except SalesforceApiError as exc:
        logger.warning("salesforce: %s: COUNT() refused (%s); reading over REST", obj.resource, exc)
        return None


def _log_unread_history(client: SalesforceClient, obj: settings.SalesforceObject, start: datetime) -> None:
    """Says how many rows the START lower bound leaves unread (a COUNT() below it)."""
    unread = _count(client, obj, build_count_soql(obj.sobject, cursor=obj.cursor, before=start))
    if unread is None:
        return
    logger.log(
        logging.WARNING if unread else logging.INFO,
        "salesforce: %s: %d rows with %s before SOURCES__SALESFORCE__START=%s were not read"
        " (unset SOURCES__SALESFORCE__START to read all history)",
        obj.resource, unread, obj.cursor, start.isoformat(),
    )


def _record_pages(
    client: SalesforceClient,
    obj: settings.SalesforceObject,
    fields: list[str],
    since: datetime | None,
    use_bulk: bool,
    options: _Options,
    stats: ReadStats,
) -> Iterator[list[Record]]:
    """Pages of records: a Bulk API 2.0 job when asked for and possible, else queryAll over REST."""
    if use_bulk:
        soql = build_soql(obj.sobject, fields, cursor=obj.cursor, since=since, ordered=False)
        try:
            job_id = bulk.create_query_job(client, soql)
        except SalesforceApiError as exc:
            if exc.code not in settings.BULK_FALLBACK_CODES:
                raise
            logger.warning("salesforce: %s: no Bulk API job (%s: %s); reading over REST instead",
                           obj.resource, exc.code, settings.BULK_FALLBACK_CODES[exc.code])
        else:
            stats.api = "Bulk API 2.0"
            yield from bulk.job_records(client, job_id, poll_seconds=options.bulk_poll_seconds)
            return
    yield from client.query_all(build_soql(obj.sobject, fields, cursor=obj.cursor, since=since))


def _read_object(
    obj: settings.SalesforceObject,
    client: SalesforceClient,
    selection: FieldSelection,
    since: datetime | None,
    options: _Options,
) -> Iterator[Any]:
    """The object's rows since `since` as typed pages (rejects to quarantine), with the history log."""
    first_run = since is None or since == options.start
    to_read = _count(client, obj, build_count_soql(obj.sobject, cursor=obj.cursor, since=since))
    if first_run and options.start is not None:
        _log_unread_history(client, obj, options.start)
    columns = column_hints(selection.fields, selection.rename, required_fields(obj), extra_fields=True)
    stats = ReadStats()
    ledger = KeyLedger((selection.rename.get(settings.PRIMARY_KEY, settings.PRIMARY_KEY),))
    # A cursor in 1970 or decades ahead is corrupt and would stall the incremental read for good.
    checks = {obj.cursor: plausible_instant}
    use_bulk = to_read is not None and to_read > options.bulk_threshold
    pages = _record_pages(client, obj, list(selection.fields), since, use_bulk, options, stats)
    for records in pages:
        stats.observe(records)
        yield from page_items(records, selection.fields, source=SOURCE_NAME, resource=obj.resource,
                              primary_key=settings.PRIMARY_KEY, cursor=obj.cursor,
                              rename=selection.rename, columns=columns, ledger=ledger, checks=checks,
                              ignored=(settings.ATTRIBUTES_KEY,))
    if stats.rows == 0 and first_run:
        # An empty object still gets its table, with the columns the org has.
        empty = arrow_schema(selection.fields, selection.rename, required_fields(obj), extra_fields=True).empty_table()
        yield data_item(empty, table_name=obj.resource, columns=columns)
    logger.info(stats.summary(obj, since))


def _object_resource(
    obj: settings.SalesforceObject, client: SalesforceClient, options: _Options
) -> DltResource:
    """The raw-table resource of one object: describe → fields, then REST or Bulk pages → arrow tables."""

    def read_pages(
        modstamp: dlt.sources.incremental[datetime] = passthrough_incremental(  # noqa: B008 - dlt idiom
            obj.cursor, options.start
        ),
    ) -> Iterator[Any]:
        """Reads rows changed (or deleted) since the last run; all history (or from `start`) at first."""
        selection = _selection(obj, client, options.custom_fields.get(obj.resource))
        if selection is None:
            return
        yield from _read_object(obj, client, selection, modstamp.start_value or options.start, options)

    return incremental_merge_resource(read_pages, name=obj.resource, primary_key=settings.PRIMARY_KEY)


@dlt.source(name=SOURCE_NAME, section=SOURCE_NAME, max_table_nesting=0, spec=SalesforceSettings)
def salesforce_source(config: SalesforceSettings = dlt.config.value, **overrides: Any) -> list[DltResource]:
    """All Salesforce objects of settings.OBJECTS as `raw_salesforce.<resource>` tables, plus `quarantine`."""
    config = config.overridden(overrides)
    custom_fields = custom_field_maps(SOURCE_NAME, config.custom_fields, settings.OBJECTS_BY_RESOURCE)
    _check_bulk(config.bulk_threshold, config.bulk_poll_seconds)
    options = _Options(parse_start(config.start), custom_fields, config.bulk_threshold, config.bulk_poll_seconds)
    client = SalesforceClient(config)
    resources = [_object_resource(obj, client, options) for obj in settings.OBJECTS]
    return [*resources, quarantine_resource()]
