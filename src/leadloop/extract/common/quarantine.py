"""The `quarantine` table: records a source received but could not load, kept with the reason.

Every source writes its rejects to `<dataset>.quarantine`. Rows are keyed by a deterministic
`quarantine_id` (hash of source, resource and raw payload) and loaded with dlt's `insert-only`
merge, so re-runs are idempotent and `first_seen_at` keeps the first sighting.

A key read twice in one load with different values is quarantined too (`KeyLedger`): dlt's merge
keeps one copy of a key per load and would drop the other without a word. The rule: the first copy
read is loaded, every later copy that differs goes to quarantine naming the fields that differ;
an identical copy is harmless (the merge collapses it) and passes.

A data resource emits its rejects itself (`quarantine_item`), as a table variant, so selecting a
subset of resources never loses them; `quarantine_resource` also declares the table on its own so
it exists (empty) for downstream models even when nothing was ever rejected.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

import dlt
import pyarrow as pa
from dlt.common.schema.typing import TTableSchemaColumns
from dlt.extract.items import DataItemWithMeta
from dlt.extract.items_transform import MapItem
from dlt.extract.resource import DltResource

from leadloop.extract.common.arrow import ArrowPage, Check, Rejected, records_to_arrow

QUARANTINE_TABLE = "quarantine"
QUARANTINE_COLUMNS: TTableSchemaColumns = {
    "quarantine_id": {"data_type": "text", "nullable": False, "primary_key": True},
    "source": {"data_type": "text", "nullable": False},
    "resource": {"data_type": "text", "nullable": False},
    "record_id": {"data_type": "text", "nullable": True},
    "reason": {"data_type": "text", "nullable": False},
    "raw_payload": {"data_type": "text", "nullable": False},
    "first_seen_at": {"data_type": "timestamp", "nullable": False, "timezone": True},
}
QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("quarantine_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("resource", pa.string(), nullable=False),
        pa.field("record_id", pa.string()),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("raw_payload", pa.string(), nullable=False),
        pa.field("first_seen_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)
WRITE_DISPOSITION = {"disposition": "merge", "strategy": "insert-only"}


def raw_payload(record: Any) -> str:
    """Canonical JSON of a raw record (sorted keys), so equal payloads hash equally."""
    return json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def quarantine_id(source: str, resource: str, payload: str) -> str:
    """Deterministic key of a quarantined record: sha256 of source, resource and raw payload."""
    return hashlib.sha256(f"{source}\x1f{resource}\x1f{payload}".encode()).hexdigest()


def quarantine_table(
    rejected: Sequence[Rejected], *, source: str, resource: str, seen_at: datetime | None = None
) -> pa.Table:
    """Arrow rows for the quarantine table, one per distinct rejected record."""
    seen_at = seen_at or datetime.now(UTC)
    rows: dict[str, dict[str, Any]] = {}
    for reject in rejected:
        payload = raw_payload(reject.record)
        key = quarantine_id(source, resource, payload)
        rows.setdefault(
            key,
            {
                "quarantine_id": key,
                "source": source,
                "resource": resource,
                "record_id": reject.record_id,
                "reason": reject.reason,
                "raw_payload": payload,
                "first_seen_at": seen_at,
            },
        )
    return pa.Table.from_pylist(list(rows.values()), schema=QUARANTINE_SCHEMA)


class KeyLedger:
    """The keys one run of one resource has read, so a key that comes again with other values is
    quarantined instead of being merged away. Keeps one hash per column per key, not the rows."""

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = tuple(keys)
        self._seen: dict[tuple[Any, ...], tuple[int, ...]] = {}

    def split(self, page: ArrowPage, record_id: Callable[[Any], str | None] | None = None) -> ArrowPage:
        """The page without rows whose key was read before with other values; those are rejected
        (as their input record, `page.records`) with a reason naming the key and the fields."""
        table = page.table
        if not table.num_rows:
            return page
        if len(page.records) != table.num_rows:
            raise ValueError("KeyLedger needs the input record of every row (ArrowPage.records)")
        names = table.column_names
        keep: list[bool] = []
        rejected = list(page.rejected)
        # Column-wise to Python and a hash per value: a per-row dict and JSON took 38 µs a row.
        columns = [table.column(name).to_pylist() for name in names]
        key_at = [names.index(name) for name in self.keys]
        for n, row in enumerate(zip(*columns, strict=True)):
            key = tuple(row[i] for i in key_at)
            digest = _value_hashes(row)
            first = self._seen.setdefault(key, digest)
            keep.append(first == digest)
            if first != digest:
                differ = [name for name, a, b in zip(names, first, digest, strict=True) if a != b]
                shown = "/".join("" if part is None else str(part) for part in key)
                reason = (
                    f"duplicate key {'/'.join(self.keys)}={shown}: read again in this load with other"
                    f" values in {', '.join(differ)}; the first copy read was loaded"
                )
                record = page.records[n]
                rejected.append(Rejected(record, reason, record_id(record) if record_id else shown))
        if all(keep):
            return ArrowPage(table, rejected, page.records)
        mask = pa.array(keep, pa.bool_())
        records = [record for record, kept in zip(page.records, keep, strict=True) if kept]
        return ArrowPage(table.filter(mask), rejected, records)


def _value_hashes(row: tuple[Any, ...]) -> tuple[int, ...]:
    """A hash per value of a row; values Python cannot hash (lists, objects) by their JSON."""
    try:
        return tuple(map(hash, row))
    except TypeError:
        return tuple(hash(raw_payload(value)) if isinstance(value, (list, dict)) else hash(value) for value in row)


def quarantine_hints() -> Any:
    """dlt hints of the quarantine table (name, insert-only merge on quarantine_id, columns)."""
    return dlt.mark.make_hints(
        table_name=QUARANTINE_TABLE,
        write_disposition=WRITE_DISPOSITION,  # type: ignore[arg-type]
        primary_key="quarantine_id",
        columns=QUARANTINE_COLUMNS,
    )


def quarantine_item(table: pa.Table) -> DataItemWithMeta:
    """Marks quarantine rows yielded by any resource for the quarantine table (a table variant)."""
    return dlt.mark.with_hints(table, quarantine_hints(), create_table_variant=True)


def data_item(table: pa.Table, *, table_name: str, columns: TTableSchemaColumns) -> DataItemWithMeta:
    """Marks a data page with its table's column hints, as a table variant of its own resource.

    A resource that also yields quarantine rows must not declare `columns` on the resource
    itself: dlt builds every table variant from the resource's hints, so the quarantine table
    would inherit the data table's columns. Declaring them per page keeps the two apart.
    """
    return dlt.mark.with_hints(
        table, dlt.mark.make_hints(table_name=table_name, columns=columns), create_table_variant=True
    )


def add_incremental_passthrough(
    table: pa.Table, *, primary_key: str, cursor: str, schema: pa.Schema | None = None
) -> pa.Table:
    """Adds null `primary_key` / `cursor` columns so a resource's dlt incremental lets rows through.

    dlt's arrow incremental step sees every item of its resource, quarantine rows included; it
    needs both columns to exist and, with `on_cursor_value_missing="include"`, passes rows whose
    cursor is null untouched without moving the cursor. `add_quarantine_passthrough_step`
    removes the two columns again after the incremental step. The nulls take their type from the
    data's `schema` when given (a timestamp cursor must not meet an int column), else bigint.
    """
    for name in (primary_key, cursor):
        if name not in table.column_names:
            kind = schema.field(name).type if schema is not None else pa.int64()
            table = table.append_column(pa.field(name, kind), pa.nulls(table.num_rows, kind))
    return table


def typed_page_items(
    table: pa.Table, rejected: Sequence[Rejected], *, source: str, resource: str, columns: TTableSchemaColumns
) -> Iterator[Any]:
    """A typed page as dlt items: its rejects to `quarantine`, its rows (if any) to the resource's table."""
    if rejected:
        yield quarantine_item(quarantine_table(rejected, source=source, resource=resource))
    if table.num_rows:
        yield data_item(table, table_name=resource, columns=columns)


def page_items(
    records: Sequence[Mapping[str, Any]],
    fields: Mapping[str, str],
    *,
    source: str,
    resource: str,
    primary_key: str,
    cursor: str,
    rename: Mapping[str, str],
    columns: TTableSchemaColumns,
    ledger: KeyLedger | None = None,
    checks: Mapping[str, Check] | None = None,
    ignored: Collection[str] = (),
) -> Iterator[Any]:
    """One API page as dlt items: its typed rows (fields the table does not know, but `ignored`, kept in
    `_extra_fields_json`; `columns` must declare it), and its rejects routed to `quarantine` through the
    resource's incremental step (never dropped). `ledger` (one per resource run) sets aside keys read
    again with other values; `checks` refuse implausible values (see records_to_arrow)."""
    page = records_to_arrow(records, fields, primary_key=primary_key, cursor=cursor, rename=rename,
                            checks=checks, extra_fields=True, ignored=ignored)
    if ledger is not None:
        page = ledger.split(page)
    if page.rejected:
        rejects = quarantine_table(page.rejected, source=source, resource=resource)
        yield quarantine_item(add_incremental_passthrough(rejects, primary_key=primary_key, cursor=cursor,
                                                          schema=page.table.schema))
    if page.table.num_rows:
        yield data_item(page.table, table_name=resource, columns=columns)


def strip_incremental_passthrough(item: Any) -> Any:
    """Drops the pass-through columns from quarantine tables, leaves other items alone."""
    if isinstance(item, pa.Table) and "quarantine_id" in item.column_names:
        return item.select(list(QUARANTINE_COLUMNS))
    return item


class _AfterIncremental(MapItem):
    """A map step dlt keeps right behind the incremental step (which has placement affinity 1)."""

    placement_affinity: ClassVar[float] = 1.05


def add_quarantine_passthrough_step(resource: DltResource) -> DltResource:
    """Adds `strip_incremental_passthrough` after the resource's incremental step."""
    return resource.add_step(_AfterIncremental(strip_incremental_passthrough))


def passthrough_incremental(cursor: str, initial_value: Any) -> Any:
    """A dlt incremental on `cursor` that lets rows without a cursor through: the quarantine rows a
    resource yields pass it with a null cursor (see `add_incremental_passthrough`)."""
    return dlt.sources.incremental(cursor, initial_value=initial_value, on_cursor_value_missing="include")


def incremental_merge_resource(read: Callable[..., Iterator[Any]], *, name: str, primary_key: str) -> DltResource:
    """A raw table merged on `primary_key`, read by `read` (whose argument is a
    `passthrough_incremental`), with the pass-through columns stripped from its quarantine rows."""
    resource = dlt.resource(read, name=name, primary_key=primary_key, write_disposition="merge")
    return add_quarantine_passthrough_step(resource)


def quarantine_resource() -> DltResource:
    """A resource that only declares the (empty) quarantine table in the source's dataset."""

    def declare() -> Any:
        """Yields an empty arrow table so dlt creates the table; rejects come from data resources."""
        yield QUARANTINE_SCHEMA.empty_table()

    hints = quarantine_hints()
    return dlt.resource(
        declare,
        name=QUARANTINE_TABLE,
        write_disposition=hints["write_disposition"],
        primary_key="quarantine_id",
        columns=QUARANTINE_COLUMNS,
    )
