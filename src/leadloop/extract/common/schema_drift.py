"""What changed in a platform's records since the last load: new fields, fields whose type changed, fields no
longer sent (issue 15, schema drift).

dlt already keeps a drifting load from crashing: a new field becomes a new column, a value that contradicts
its column's type lands in a variant column (`<field>__v_<type>`), a field no longer sent leaves its column
null. What it does not do is tell anyone. This compares the dlt schema before a load with the schema after it
(new columns, new variant columns), and the fields each table's records carried in this load with those every
record carried in the table's previous load (a `FieldTracker` mapped over every resource: a field sent as null
still counts as sent, and a field some records leave out is never called missing), and says it in words per
table.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlt.common.normalizers.naming.snake_case import NamingConvention

_NAMING = NamingConvention()
_VARIANT = re.compile(r"^(?P<field>.+)__v_(?P<type>[a-z_]+)$")
Columns = Mapping[str, Mapping[str, str]]  # table → column → dlt data type


@dataclass
class FieldTracker:
    """How many of each table's records carried each field in one load, fields named as dlt names their
    columns. Mapped over a resource last (`resource.add_map(tracker.observer(table))`), so it sees the items dlt
    receives."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    records: dict[str, int] = field(default_factory=dict)

    def observer(self, table: str):
        """The map step for the resource that fills `table`."""

        def observe(item: Any) -> Any:
            names = _item_fields(item)
            if names is not None:
                rows = _item_count(item)
                counted = self.counts.setdefault(table, {})
                for name in names:
                    column = _NAMING.normalize_identifier(name)
                    counted[column] = counted.get(column, 0) + rows
                self.records[table] = self.records.get(table, 0) + rows
            return item

        return observe

    def always_sent(self) -> dict[str, list[str]]:
        """Table → the fields every one of its records carried in this load (tables that got records)."""
        return {table: sorted(name for name, count in self.counts[table].items() if count == rows)
                for table, rows in self.records.items() if rows}


def remembered_fields(path: Path) -> dict[str, list[str]]:
    """The always-sent fields of each table's last load with records, as `remember_fields` kept them."""
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def remember_fields(path: Path, tracker: FieldTracker) -> None:
    """Keep this load's always-sent fields for the tables that got records (the others keep theirs)."""
    kept = {**remembered_fields(path), **tracker.always_sent()}
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(kept, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
    temporary.replace(path)


def _item_fields(item: Any) -> Iterable[str] | None:
    """The top-level fields of a record (dict) or of an arrow table; None for anything else (markers)."""
    if isinstance(item, Mapping):
        return item.keys()
    names = getattr(item, "column_names", None)
    return names if isinstance(names, list) else None


def _item_count(item: Any) -> int:
    return 1 if isinstance(item, Mapping) else int(getattr(item, "num_rows", 0))


@dataclass(frozen=True)
class TableDrift:
    """One table's changes in one load."""

    table: str
    new_fields: tuple[str, ...] = ()
    retyped: tuple[tuple[str, str, str], ...] = ()  # (field, type it now arrived as, variant column)
    missing_fields: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.new_fields or self.retyped or self.missing_fields)

    def describe(self) -> str:
        """In words, e.g. 'new field fax; amount arrived as text (kept in amount__v_text); no longer sent: email'."""
        parts = []
        if self.new_fields:
            parts.append("new field" + ("s " if len(self.new_fields) > 1 else " ") + ", ".join(self.new_fields))
        parts += [f"{name} arrived as {kind} (kept in {column})" for name, kind, column in self.retyped]
        if self.missing_fields:
            parts.append("no longer sent: " + ", ".join(self.missing_fields))
        return "; ".join(parts)


def table_columns(schema: Any) -> dict[str, dict[str, str]]:
    """Table → column → data type of a dlt Schema's data tables (dlt's own `_dlt_*` tables and columns left out)."""
    if schema is None:
        return {}
    found = {}
    for table in schema.data_tables():
        found[table["name"]] = {column: str(hints.get("data_type", "")) for column, hints in table.get("columns", {}).items()
                       if not column.startswith("_dlt_")}
    return found


def schema_drift(before: Columns, after: Columns, previously_always_sent: Mapping[str, Iterable[str]],
                 tracker: FieldTracker) -> dict[str, TableDrift]:
    """Table → its drift in the load: columns new since `before` (a value of a new type is a new variant column,
    anything else a new field) and fields every record carried in the table's previous load that no record
    carried in this one. A table new in this load has no drift (a first load, or an object loaded for the first
    time); a table no record reached this time has no missing fields."""
    drifts = {}
    for table, columns in sorted(after.items()):
        known = before.get(table)
        if not known:
            continue
        retyped, new_fields = [], []
        for column in columns:
            if column in known:
                continue
            variant = _VARIANT.match(column)
            parent = column.split("__", 1)[0]
            if variant and variant["field"] in known:
                retyped.append((variant["field"], variant["type"], column))
            elif parent != column and parent in known:  # a plain field now an object: dlt flattens it
                retyped.append((parent, "object", column))
            else:
                new_fields.append(column)
        sent = tracker.counts.get(table, {})
        missing = []
        if tracker.records.get(table):
            missing = [name for name in previously_always_sent.get(table, ()) if name not in sent]
        drift = TableDrift(table, tuple(new_fields), tuple(retyped), tuple(missing))
        if drift:
            drifts[table] = drift
    return drifts
