"""dlt source for 企业微信 (WeCom) external contacts: full snapshots merged with soft deletes.

WeCom has no "modified since", so every run reads everything and `leadloop.extract.common.snapshot`
keeps only what changed: new rows, changed rows, rows back after a deletion and — when the
snapshot is complete — rows that disappeared, marked `is_deleted` (never removed). Configure it
through dlt config / environment (see README.md); the source can be built with no credentials
and names the missing setting at the first request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import dlt
from dlt.extract.resource import DltResource

from leadloop.extract.common.arrow import Rejected
from leadloop.extract.common.quarantine import (
    KeyLedger,
    data_item,
    quarantine_item,
    quarantine_resource,
    quarantine_table,
)
from leadloop.extract.common.snapshot import SnapshotDiff, snapshot_columns
from leadloop.extract.wecom import rows, settings
from leadloop.extract.wecom.client import (
    SOURCE_NAME,
    Page,
    SharedPages,
    WecomClient,
    WecomSettings,
    failure_payload,
)

__all__ = ["wecom_source"]

logger = logging.getLogger(__name__)


class _Run:
    """What the resources of one source instance share: the run's clock and the contact pages."""

    def __init__(self, client: WecomClient) -> None:
        self.client = client
        self._run_at: datetime | None = None
        self.contacts = SharedPages(client.contact_pages)

    @property
    def run_at(self) -> datetime:
        """The instant this run started reading (first_seen_at / deleted_at of what it writes)."""
        if self._run_at is None:
            self._run_at = datetime.now(UTC)
        return self._run_at


def _page_failure_rejects(page: Page, table: settings.Table, run_at: datetime) -> list[Rejected]:
    """A page that failed for good, as a quarantine record: the snapshot of `table` is incomplete."""
    if page.failure is None:
        return []
    reason = (
        f"snapshot incomplete: {page.failure.path} failed for good ({page.failure.error});"
        f" no {table.name} row was marked deleted in this run"
    )
    return [Rejected(failure_payload(page.failure, run_at), reason, None)]


def _note_rejects(diff: SnapshotDiff, rejected: Iterable[Rejected], table: settings.Table) -> bool:
    """Counts rejected records' keys as seen (still there, only unloadable); False if one has no key."""
    all_keyed = True
    for reject in rejected:
        key = rows.key_of(reject.record, table)
        if key is None:
            all_keyed = False
        else:
            diff.keep(key)
    return all_keyed


def _read_snapshot(table: settings.Table, pages: SharedPages, run_at: datetime) -> Iterator[Any]:
    """Diffs a table's snapshot against the destination; yields changed rows and quarantine rows.

    Rows are marked deleted only when every page arrived and every rejected record had a key: a
    record we cannot identify might be any of the rows that seem to be gone.
    """
    diff = SnapshotDiff.from_destination(table.name, table.primary_key, rows.data_schema(table), run_at)
    columns = snapshot_columns(rows.data_columns(table))
    wrote, identified = False, True
    ledger = KeyLedger(table.primary_key)
    for page in pages:
        arrow = ledger.split(rows.to_arrow(page.records, table), lambda wire: rows.record_id(wire, table))
        identified = _note_rejects(diff, arrow.rejected, table) and identified
        rejects = arrow.rejected + _page_failure_rejects(page, table, run_at)
        if rejects:
            yield quarantine_item(
                quarantine_table(rejects, source=SOURCE_NAME, resource=table.name, seen_at=run_at)
            )
        changed = diff.changed(arrow.table)
        if changed.num_rows:
            wrote = True
            yield data_item(changed, table_name=table.name, columns=columns)
    if pages.complete and identified:
        gone = diff.vanished()
        if gone.num_rows:
            wrote = True
            yield data_item(gone, table_name=table.name, columns=columns)
    else:
        logger.warning("wecom: %s snapshot incomplete this run; no row marked deleted", table.name)
    if not wrote and not diff.table_exists:  # declare the table even when the snapshot is empty
        yield data_item(diff.schema.empty_table(), table_name=table.name, columns=columns)
    logger.info("wecom: %s", diff.summary())


def _snapshot_resource(table: settings.Table, run: _Run, pages: Callable[[], SharedPages]) -> DltResource:
    """The raw-table resource of one snapshot table, merged on its primary key."""

    def read() -> Iterator[Any]:
        """Reads the table's full snapshot and yields only what changed since the last run."""
        yield from _read_snapshot(table, pages(), run.run_at)

    read.__name__ = table.name
    return dlt.resource(read, name=table.name, primary_key=list(table.primary_key), write_disposition="merge")


def _own_pages(produce: Callable[[], Iterable[Page]]) -> Callable[[], SharedPages]:
    """A page stream read by a single table."""
    return lambda: SharedPages(lambda: iter(produce()))


@dlt.source(name=SOURCE_NAME, section=SOURCE_NAME, max_table_nesting=0, spec=WecomSettings)
def wecom_source(config: WecomSettings = dlt.config.value, **overrides: Any) -> list[DltResource]:
    """WeCom external contacts, follow relations, corp tags and channel codes as `raw_wecom.*`."""
    client = WecomClient(config.overridden(overrides))
    run = _Run(client)
    shared_contacts: Callable[[], SharedPages] = lambda: run.contacts
    return [
        _snapshot_resource(settings.EXTERNAL_CONTACTS, run, shared_contacts),
        _snapshot_resource(settings.FOLLOW_RELATIONS, run, shared_contacts),
        _snapshot_resource(settings.CORP_TAGS, run, _own_pages(client.corp_tag_pages)),
        _snapshot_resource(settings.CONTACT_WAYS, run, _own_pages(client.contact_way_pages)),
        quarantine_resource(),
    ]
