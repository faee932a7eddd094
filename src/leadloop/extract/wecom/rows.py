"""WeCom wire records → typed arrow rows of one raw table, bad records set aside with the reason.

Keys WeCom starts sending inside the part of a record a table reads (e.g. a new key of `follow_info` for
follow_relations) are kept in the table's `_extra_fields_json`; a field the record leaves out is told
apart from one sent as null, so schema drift can say it is no longer sent."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa
from dlt.common.schema.typing import TTableSchemaColumns

from leadloop.extract.common.arrow import (
    EXTRA_FIELDS_COLUMN,
    ArrowPage,
    Rejected,
    arrow_schema,
    column_hints,
    extra_fields_text,
    fields_sent,
    fields_sent_metadata,
    records_to_arrow,
)
from leadloop.extract.common.plausible import plausible_epoch_s
from leadloop.extract.wecom import settings

# When a contact was added (unix seconds) drives attribution: 1970 or decades ahead is corrupt.
CHECKS = {"createtime": plausible_epoch_s}


class InvalidWireRecordError(ValueError):
    """A wire record that cannot become a row; the message is the reason."""


def _describe(value: Any) -> str:
    """Short `type value` text for reasons."""
    return f"{type(value).__name__} {json.dumps(value, ensure_ascii=False, default=str)[:60]}"


def dig(record: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path; None when a step is missing, an error when it is not an object."""
    value: Any = record
    walked: list[str] = []
    for step in path.split("."):
        if value is None:
            return None
        if not isinstance(value, Mapping):
            where = ".".join(walked) or "record"
            raise InvalidWireRecordError(f"{where} is {_describe(value)}, not an object")
        value = value.get(step)
        walked.append(step)
    return value


def _shaped(value: Any, field: settings.Field) -> Any:
    """Applies a field's shape: lists become JSON text or their first element."""
    if field.shape == settings.VALUE or value is None:
        return value
    if not isinstance(value, list):
        raise InvalidWireRecordError(f"field {field.path}: expected a list, got {_describe(value)}")
    if field.shape == settings.JSON_LIST:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value[0] if value else None


def _sent(record: Mapping[str, Any], path: str) -> bool:
    """True when the last step of `path` is a key of its parent object (even with a null value)."""
    parent, _, leaf = path.rpartition(".")
    holder = dig(record, parent) if parent else record
    return isinstance(holder, Mapping) and leaf in holder


def scopes(table: settings.Table) -> tuple[str, ...]:
    """Where a table's own fields sit in a wire record: the parents of its non-key fields ('' for the top)."""
    own = {field.path.rpartition(".")[0] for field in table.fields if field.column not in table.primary_key}
    return tuple(sorted(own))


def extra_fields(record: Mapping[str, Any], table: settings.Table) -> str | None:
    """Keys of the table's part of a wire record that its field table does not know, as JSON text."""
    found: dict[str, Any] = {}
    places = scopes(table)
    for scope in places:
        holder = dig(record, scope) if scope else record
        if not isinstance(holder, Mapping):
            continue
        known = {field.path.rpartition(".")[2] for field in table.fields if field.path.rpartition(".")[0] == scope}
        known |= {field.path.partition(".")[0] for field in table.fields} if not scope else set()
        for key in holder.keys() - known:
            found[key if len(places) == 1 else f"{scope}.{key}"] = holder[key]
    return extra_fields_text(found, found)


def flatten(record: Any, table: settings.Table) -> dict[str, Any]:
    """One flat row of `table` from a wire record (columns whose field the record leaves out are left out,
    `_extra_fields_json` only when it has unknown keys); raises InvalidWireRecordError with the reason."""
    if not isinstance(record, Mapping):
        raise InvalidWireRecordError(f"record is {_describe(record)}, not an object")
    row = {field.column: _shaped(dig(record, field.path), field) for field in table.fields}
    paths = {field.column: field.path for field in table.fields}
    for key in table.primary_key:
        if row[key] is None or row[key] == "":
            raise InvalidWireRecordError(f"missing required field {paths[key]}")
    for field in table.fields:
        if row[field.column] is None and not _sent(record, field.path):
            del row[field.column]
    extra = extra_fields(record, table)
    if extra is not None:
        row[EXTRA_FIELDS_COLUMN] = extra
    return row


def _key_parts(record: Any, table: settings.Table) -> list[Any] | None:
    """The wire values of a record's primary-key fields, or None when the record cannot be read."""
    if not isinstance(record, Mapping):
        return None
    paths = {field.column: field.path for field in table.fields}
    try:
        return [dig(record, paths[key]) for key in table.primary_key]
    except InvalidWireRecordError:
        return None


def record_id(record: Any, table: settings.Table) -> str | None:
    """The key of a wire record as text (`a/b` for two-part keys), if it can be read at all."""
    parts = _key_parts(record, table)
    if parts is None or all(p is None for p in parts):
        return None
    return "/".join("" if p is None else str(p) for p in parts)


def key_of(record: Any, table: settings.Table) -> tuple[str, ...] | None:
    """The key of a wire record as loaded (text), or None when any part is missing or unreadable."""
    parts = _key_parts(record, table)
    if parts is None or any(p is None or p == "" or isinstance(p, (Mapping, list)) for p in parts):
        return None
    return tuple(str(p) for p in parts)


def field_types(table: settings.Table) -> dict[str, str]:
    """{column: arrow/dlt type} of a table."""
    return {field.column: field.kind for field in table.fields}


def data_schema(table: settings.Table) -> pa.Schema:
    """Arrow schema of a table's data columns (keys not nullable), `_extra_fields_json` last."""
    return arrow_schema(field_types(table), required=table.primary_key, extra_fields=True)


def data_columns(table: settings.Table) -> TTableSchemaColumns:
    """dlt column hints of a table's data columns."""
    return column_hints(field_types(table), required=table.primary_key, extra_fields=True)


def to_arrow(records: Iterable[Any], table: settings.Table) -> ArrowPage:
    """Typed rows of `table` from wire records; rejects carry the record exactly as received."""
    flat: list[dict[str, Any]] = []
    origin: dict[int, Any] = {}
    rejected: list[Rejected] = []
    for record in records:
        try:
            row = flatten(record, table)
        except InvalidWireRecordError as exc:
            rejected.append(Rejected(_as_payload(record), str(exc), record_id(record, table)))
            continue
        flat.append(row)
        origin[id(row)] = record
    # The extras were gathered from the wire record: records_to_arrow takes the column as it is.
    page = records_to_arrow(flat, {**field_types(table), EXTRA_FIELDS_COLUMN: "text"},
                            primary_key=table.primary_key[0], checks=CHECKS)
    for reject in page.rejected:
        wire = origin[id(reject.record)]
        rejected.append(Rejected(_as_payload(wire), reject.reason, record_id(wire, table)))
    return ArrowPage(_with_extra_names(page.table), rejected, [origin[id(row)] for row in page.records])


def _with_extra_names(table: pa.Table) -> pa.Table:
    """The page's `fields_sent` note with the keys inside `_extra_fields_json` counted as fields."""
    note = fields_sent(table) or {"rows": table.num_rows, "fields": {}}
    counted = {name: n for name, n in note["fields"].items() if name != EXTRA_FIELDS_COLUMN}
    extra: Counter[str] = Counter()
    for text in table.column(EXTRA_FIELDS_COLUMN).drop_null().to_pylist():
        extra.update(json.loads(text).keys())
    return table.replace_schema_metadata(fields_sent_metadata(note["rows"], {**counted, **extra}, extra))


def _as_payload(record: Any) -> Mapping[str, Any]:
    """Rejected records must be mappings; anything else is wrapped so its raw form is kept."""
    return record if isinstance(record, Mapping) else {"record": record}
