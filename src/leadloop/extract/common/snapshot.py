"""Full-snapshot merges with soft deletes, for APIs that have no "modified since".

Such an API is read whole on every run. Loading every row every night would rewrite the whole
table and hide what changed; instead `SnapshotDiff` compares each page with what the destination
already holds (a content hash per row) and passes on only rows that are new, changed or back
after a deletion. When the run has seen the *complete* snapshot, rows the destination holds as
live but the snapshot no longer shows are passed on once more, marked `is_deleted` with the
run's time in `deleted_at`; they are never removed. An incomplete snapshot (a page that failed
for good) marks nothing deleted. A run over an unchanged snapshot therefore loads no row at all.

Bookkeeping columns added to every row: `content_hash` (of the data columns), `is_deleted`,
`deleted_at`, `first_seen_at` (the run that first loaded the key) and `last_changed_at` (the run
that last wrote the row). There is deliberately no `last_seen_at`: it would change every row on
every run.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa
from dlt.common.configuration.container import Container
from dlt.common.pipeline import PipelineContext
from dlt.common.schema.typing import TTableSchemaColumns
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from leadloop.extract.common.arrow import EXTRA_FIELDS_COLUMN

logger = logging.getLogger(__name__)

Key = tuple[Any, ...]
TIMESTAMP = pa.timestamp("us", tz="UTC")
BOOKKEEPING_SCHEMA = pa.schema(
    [
        pa.field("content_hash", pa.string(), nullable=False),
        pa.field("is_deleted", pa.bool_(), nullable=False),
        pa.field("deleted_at", TIMESTAMP),
        pa.field("first_seen_at", TIMESTAMP, nullable=False),
        pa.field("last_changed_at", TIMESTAMP, nullable=False),
    ]
)
BOOKKEEPING_COLUMNS: TTableSchemaColumns = {
    "content_hash": {"data_type": "text", "nullable": False},
    "is_deleted": {"data_type": "bool", "nullable": False},
    "deleted_at": {"data_type": "timestamp", "nullable": True, "timezone": True},
    "first_seen_at": {"data_type": "timestamp", "nullable": False, "timezone": True},
    "last_changed_at": {"data_type": "timestamp", "nullable": False, "timezone": True},
}


def snapshot_columns(data_columns: TTableSchemaColumns) -> TTableSchemaColumns:
    """dlt column hints of a snapshot table: its data columns, then the bookkeeping columns."""
    return {**data_columns, **BOOKKEEPING_COLUMNS}


def snapshot_schema(data_schema: pa.Schema) -> pa.Schema:
    """Arrow schema of a snapshot table: its data columns, then the bookkeeping columns."""
    return pa.schema([*data_schema, *BOOKKEEPING_SCHEMA])


def content_hash(values: Sequence[Any]) -> str:
    """sha256 of a row's data values as canonical JSON: equal content, equal hash."""
    text = json.dumps(list(values), ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LoadedRow:
    """What the destination holds for one key, as far as the comparison needs it."""

    content_hash: str
    is_deleted: bool
    first_seen_at: datetime


def read_destination_rows(table: str, columns: Sequence[str] | None = None) -> list[dict[str, Any]] | None:
    """Rows of `table` in the running pipeline's dataset; None when there is none (yet).

    Only meaningful inside `pipeline.run` / `extract`: outside a pipeline, or before the table
    exists, there is nothing to compare with and every row counts as new.
    """
    context = Container()[PipelineContext]
    if not context.is_active():
        return None
    pipeline = context.pipeline()
    if getattr(pipeline, "destination", None) is None:
        return None
    try:
        with pipeline.sql_client() as client:  # type: ignore[attr-defined]
            selected = "*" if columns is None else ", ".join(client.escape_column_name(c) for c in columns)
            query = f"select {selected} from {client.make_qualified_table_name(table)}"
            with client.execute_query(query) as cursor:
                names = [d[0] for d in cursor.description]
                return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    except DatabaseUndefinedRelation:
        return None


@dataclass
class SnapshotDiff:
    """Compares one run's snapshot of a table, page by page, with the destination's rows."""

    table: str
    primary_key: tuple[str, ...]
    data_schema: pa.Schema
    run_at: datetime
    loaded: dict[Key, LoadedRow] = field(default_factory=dict)
    table_exists: bool = False
    seen: set[Key] = field(default_factory=set)
    kept: set[Key] = field(default_factory=set)
    counts: dict[str, int] = field(
        default_factory=lambda: {"new": 0, "changed": 0, "undeleted": 0, "deleted": 0}
    )

    @classmethod
    def from_destination(
        cls, table: str, primary_key: Sequence[str], data_schema: pa.Schema, run_at: datetime
    ) -> SnapshotDiff:
        """Starts a diff against what the running pipeline's destination holds for `table`."""
        wanted = [*primary_key, "content_hash", "is_deleted", "first_seen_at"]
        rows = read_destination_rows(table, wanted)
        loaded = {
            tuple(row[k] for k in primary_key): LoadedRow(
                row["content_hash"], bool(row["is_deleted"]), row["first_seen_at"]
            )
            for row in rows or []
        }
        return cls(table, tuple(primary_key), data_schema, run_at, loaded, rows is not None)

    @property
    def schema(self) -> pa.Schema:
        """Arrow schema of the rows this diff emits."""
        return snapshot_schema(self.data_schema)

    def changed(self, page: pa.Table) -> pa.Table:
        """The page's rows that are new, changed or back, with bookkeeping; repeated keys are skipped."""
        out: list[dict[str, Any]] = []
        names = self.data_schema.names
        for row in page.select(names).to_pylist():
            key = tuple(row[k] for k in self.primary_key)
            if key in self.seen:
                continue
            self.seen.add(key)
            # A null extras column is left out, so rows loaded before it existed keep their hash.
            digest = content_hash([row[n] for n in names if n != EXTRA_FIELDS_COLUMN or row[n] is not None])
            before = self.loaded.get(key)
            if before is not None and before.content_hash == digest and not before.is_deleted:
                continue
            kind = "new" if before is None else ("changed" if before.content_hash != digest else "undeleted")
            self.counts[kind] += 1
            out.append(self._live_row(row, digest, before))
        # The page's note of the fields its records carried (schema drift reads it) stays with the rows.
        return pa.Table.from_pylist(out, schema=self.schema).replace_schema_metadata(page.schema.metadata)

    def keep(self, key: Key) -> None:
        """Notes a key present in the snapshot but not loadable (quarantined): never marked deleted."""
        self.kept.add(key)

    def vanished(self) -> pa.Table:
        """Rows live in the destination but absent from this (complete) snapshot, marked deleted."""
        present = self.seen | self.kept
        gone = {key for key, row in self.loaded.items() if not row.is_deleted and key not in present}
        if not gone:
            return self.schema.empty_table()
        rows = [
            self._deleted_row(row)
            for row in read_destination_rows(self.table) or []
            if tuple(row.get(k) for k in self.primary_key) in gone
        ]
        self.counts["deleted"] += len(rows)
        return pa.Table.from_pylist(rows, schema=self.schema)

    def _live_row(self, row: Mapping[str, Any], digest: str, before: LoadedRow | None) -> dict[str, Any]:
        """A present row with its bookkeeping: first_seen_at kept, deletion cleared."""
        return {
            **row,
            "content_hash": digest,
            "is_deleted": False,
            "deleted_at": None,
            "first_seen_at": before.first_seen_at if before else self.run_at,
            "last_changed_at": self.run_at,
        }

    def _deleted_row(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """A destination row as it stands, marked deleted at this run."""
        kept = {name: row.get(name) for name in self.schema.names}
        return {**kept, "is_deleted": True, "deleted_at": self.run_at, "last_changed_at": self.run_at}

    def summary(self) -> str:
        """One line for the log: what this run changed."""
        parts = ", ".join(f"{n} {kind}" for kind, n in self.counts.items())
        return f"{self.table}: {len(self.seen)} rows in snapshot; {parts}"
