"""What changed in a platform's records since the last load: new fields, fields whose type changed, fields no
longer sent (issue 15, schema drift).

dlt already keeps a drifting load from crashing: a new field becomes a new column, a value that contradicts
its column's type lands in a variant column (`<field>__v_<type>`), a field no longer sent leaves its column
null. What it does not do is tell anyone. This compares the dlt schema before a load with the schema after it
(new columns, new variant columns), and the fields each table's records carried in this load with those every
record carried in the table's previous load (a `FieldTracker` mapped over every resource: a field sent as null
still counts as sent, and a field some records leave out is never called missing), and says it in words per
table.

Typed sources load arrow pages with fixed columns, so dlt's schema cannot show their drift. Their pages say in
their metadata which fields the records carried (`fields_sent`, src/leadloop/extract/common/arrow.py), new
fields included: those are kept in the page's extras column (`_extra_fields_json`, Sensors' `properties_json`),
and a key seen there for the first time is a new field. A value the typed column cannot hold sends its record to
quarantine; the tracker reads the quarantine reasons and names the field and the type it arrived as.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlt.common.normalizers.naming.snake_case import NamingConvention

from leadloop.extract.common.arrow import EXTRA_FIELDS_COLUMN, fields_sent
from leadloop.extract.common.quarantine import QUARANTINE_TABLE

_NAMING = NamingConvention()
_VARIANT = re.compile(r"^(?P<field>.+)__v_(?P<type>[a-z_]+)$")
# How the typed sources word a value of the wrong type (arrow.py, Sensors, WeCom): field, then the type it had.
_WRONG_TYPE = re.compile(r"^field (?P<field>[^\s:]+): expected [^,]+, got (?P<type>[A-Za-z_]+)\b")
_JSON_KINDS = {"str": "text", "dict": "object", "list": "list", "int": "number", "float": "number",
               "bool": "bool"}
IN_QUARANTINE = "quarantine"
Columns = Mapping[str, Mapping[str, str]]  # table → column → dlt data type


@dataclass
class FieldTracker:
    """How many of each table's records carried each field in one load, fields named as dlt names their
    columns. Mapped over a resource last (`resource.add_map(tracker.observer(table))`), so it sees the items dlt
    receives. Also notes the fields kept in an extras column and the fields whose values of another type sent
    their records to quarantine."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    records: dict[str, int] = field(default_factory=dict)
    extra: dict[str, set[str]] = field(default_factory=dict)  # table → fields kept in its extras column
    quarantined: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)  # (field, type) → records

    def observer(self, table: str):
        """The map step for the resource that fills `table`."""

        def observe(item: Any, meta: Any = None) -> Any:
            if _target_table(meta) == QUARANTINE_TABLE:  # a table variant: rejects, not records of `table`
                self._note_quarantined(table, item)
                return item
            note = fields_sent(item) if hasattr(item, "schema") and hasattr(item, "num_rows") else None
            if note is not None:
                self._note_page(table, item.num_rows, note)
                return item
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

    def _note_page(self, table: str, rows: int, note: Mapping[str, Any]) -> None:
        """Counts a typed page by its `fields_sent` note. The note counts the page as built; when a later step
        kept only some rows (an incremental's dedup, a snapshot's changed rows), a field every record carried
        still counts for every row, and one only some carried for fewer than all."""
        built = int(note.get("rows", rows))
        counted = self.counts.setdefault(table, {})
        for name, sent in note.get("fields", {}).items():
            kept = rows if sent >= built else min(int(sent), max(rows - 1, 0))
            if kept:
                column = _NAMING.normalize_identifier(name)
                counted[column] = counted.get(column, 0) + kept
        if rows:
            self.extra.setdefault(table, set()).update(_NAMING.normalize_identifier(n) for n in note.get("extra", ()))
        self.records[table] = self.records.get(table, 0) + rows

    def _note_quarantined(self, table: str, item: Any) -> None:
        """Notes the fields whose value of another type sent a record of `table` to quarantine."""
        reasons = item.column("reason").to_pylist() if hasattr(item, "column") else [
            row.get("reason") for row in (item if isinstance(item, list) else [item]) if isinstance(row, Mapping)]
        noted = self.quarantined.setdefault(table, {})
        for reason in reasons:
            match = _WRONG_TYPE.match(str(reason or ""))
            if match:
                key = (_NAMING.normalize_identifier(match["field"]), _JSON_KINDS.get(match["type"], match["type"]))
                noted[key] = noted.get(key, 0) + 1

    def always_sent(self) -> dict[str, list[str]]:
        """Table → the fields every one of its records carried in this load (tables that got records)."""
        return {table: sorted(name for name, count in self.counts[table].items() if count == rows)
                for table, rows in self.records.items() if rows}


def _target_table(meta: Any) -> str | None:
    """The table an item was marked for (`dlt.mark.with_hints`), if any."""
    hints = getattr(meta, "hints", None)
    return hints.get("table_name") if isinstance(hints, Mapping) else getattr(meta, "table_name", None)


def _remembered(path: Path) -> dict[str, dict[str, list[str]]]:
    """The file as {"always_sent": …, "extra_fields": …}; a file of the first format held always_sent only."""
    if not path.exists():
        return {"always_sent": {}, "extra_fields": {}}
    kept = json.loads(path.read_text(encoding="utf-8"))
    if "always_sent" not in kept:
        kept = {"always_sent": kept}
    return {"always_sent": kept.get("always_sent", {}), "extra_fields": kept.get("extra_fields", {})}


def remembered_fields(path: Path) -> dict[str, list[str]]:
    """The always-sent fields of each table's last load with records, as `remember_fields` kept them."""
    return _remembered(path)["always_sent"]


def remembered_extra_fields(path: Path) -> dict[str, list[str]]:
    """Every field each table's records ever brought in its extras column (so a new one is named once)."""
    return _remembered(path)["extra_fields"]


def remember_fields(path: Path, tracker: FieldTracker) -> None:
    """Keep this load's always-sent fields for the tables that got records (the others keep theirs), and add
    this load's extras-column fields to those seen before."""
    before = _remembered(path)
    extra = {table: sorted(set(before["extra_fields"].get(table, ())) | names)
             for table, names in tracker.extra.items() if names}
    kept = {"always_sent": {**before["always_sent"], **tracker.always_sent()},
            "extra_fields": {**before["extra_fields"], **extra}}
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
                 tracker: FieldTracker, known_extra_fields: Mapping[str, Iterable[str]] | None = None,
                 ) -> dict[str, TableDrift]:
    """Table → its drift in the load: columns new since `before` (a value of a new type is a new variant column,
    anything else a new field), fields in the table's extras column not in `known_extra_fields` (new fields too),
    fields whose value of another type sent records to quarantine, and fields every record carried in the
    table's previous load that no record carried in this one. A table new in this load has no drift (a first
    load, or an object loaded for the first time); a table no record reached this time has no missing fields."""
    drifts = {}
    known_extra_fields = known_extra_fields or {}
    for table, columns in sorted(after.items()):
        known = before.get(table)
        if not known:
            continue
        retyped, new_fields = [], []
        for column in columns:
            if column in known or column == EXTRA_FIELDS_COLUMN:  # the extras column itself is no field
                continue
            variant = _VARIANT.match(column)
            parent = column.split("__", 1)[0]
            if variant and variant["field"] in known:
                retyped.append((variant["field"], variant["type"], column))
            elif parent != column and parent in known:  # a plain field now an object: dlt flattens it
                retyped.append((parent, "object", column))
            else:
                new_fields.append(column)
        if table in previously_always_sent:  # no memory of the table's last load (e.g. an upgrade): a baseline
            seen_before = set(known_extra_fields.get(table, ()))
            new_fields += [name for name in sorted(tracker.extra.get(table, ()))
                           if name not in seen_before and name not in known and name not in new_fields]
        retyped += [(name, kind, IN_QUARANTINE) for name, kind in sorted(tracker.quarantined.get(table, {}))]
        sent = tracker.counts.get(table, {})
        missing = []
        if tracker.records.get(table):
            missing = [name for name in previously_always_sent.get(table, ()) if name not in sent]
        drift = TableDrift(table, tuple(new_fields), tuple(retyped), tuple(missing))
        if drift:
            drifts[table] = drift
    return drifts


def fields_file(pipeline: Any) -> Path:
    """Where a pipeline's remembered fields are kept: beside its state folder, not in it, because dagster-dlt
    drops that folder before every run (dlt restores the state from the destination)."""
    return Path(pipeline.pipelines_dir) / f"{pipeline.pipeline_name}.fields_always_sent.json"


def track_fields(source: Any) -> FieldTracker:
    """A tracker mapped over every resource of a dlt source (last step), before the source is run."""
    tracker = FieldTracker()
    for resource in source.resources.values():
        resource.add_map(tracker.observer(resource.name))
    return tracker


def load_drift(path: Path, before: Columns, after: Columns, tracker: FieldTracker) -> dict[str, TableDrift]:
    """The drift of a load that just ran (`before`/`after`: its schema's `table_columns`), judged against what the
    pipeline's earlier loads sent (kept at `path`, see `fields_file`), which it then remembers. What every raw
    table's `schema_unchanged` check says."""
    drifts = schema_drift(before, after, remembered_fields(path), tracker, remembered_extra_fields(path))
    remember_fields(path, tracker)
    return drifts
