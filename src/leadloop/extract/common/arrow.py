"""Turn a page of API records into a typed pyarrow Table, setting aside records that do not fit.

Arrow pages are dlt's fast path (the dict path is about 100x slower), and a fixed arrow schema
per field table means an all-null page cannot change a column's type. Records that cannot be
typed — wrong type, missing primary key or cursor — come back separately with a reason, so the
caller can quarantine them instead of dropping them.

Fields a platform starts sending that the field table does not know are kept, not dropped: with
`extra_fields=True` they land as one JSON object per row in `_extra_fields_json` (null when a record
has none), so the typed columns keep their types and a new field still reaches raw (issue 15). Every
page also says in its schema metadata which fields its records carried (`fields_sent`), so schema
drift can tell a field no longer sent from one sent as null.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa
from dlt.common.schema.typing import TColumnSchema, TTableSchemaColumns

# Kind names are dlt data types, so the column hints derived from a field table stay right.
TEXT, BIGINT, DOUBLE, DECIMAL = "text", "bigint", "double", "decimal"
BOOL, TIMESTAMP, DATE = "bool", "timestamp", "date"  # JSON booleans, ISO-8601 instants and days
DECIMAL_PRECISION, DECIMAL_SCALE = 18, 2
ARROW_TYPES: dict[str, pa.DataType] = {
    TEXT: pa.string(),
    BIGINT: pa.int64(),
    DOUBLE: pa.float64(),
    DECIMAL: pa.decimal128(DECIMAL_PRECISION, DECIMAL_SCALE),
    BOOL: pa.bool_(),
    TIMESTAMP: pa.timestamp("us", tz="UTC"),
    DATE: pa.date32(),
}
EXTRA_FIELDS_COLUMN = "_extra_fields_json"
# Schema metadata of a page: {"rows": n, "fields": {column: records carrying it}, "extra": [names]}.
FIELDS_SENT_KEY = b"leadloop.fields_sent"
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_INT_TEXT = re.compile(r"^-?\d+$")
_CENT = Decimal("0.01")
_DECIMAL_LIMIT = Decimal(10) ** (DECIMAL_PRECISION - DECIMAL_SCALE)


class InvalidRecordError(ValueError):
    """A record that cannot be typed by the field table; the message is the reason."""


@dataclass(frozen=True)
class Rejected:
    """A record that failed validation, exactly as received, with the reason in plain words."""

    record: Mapping[str, Any]
    reason: str
    record_id: str | None = None


@dataclass(frozen=True)
class ArrowPage:
    """The typed rows of a page, the records that were set aside, and the records behind the rows.

    `records` holds the input record of each row of `table`, in row order (empty where a builder
    does not keep them), so a row refused later (e.g. a duplicate key) is quarantined as received.
    """

    table: pa.Table
    rejected: list[Rejected] = field(default_factory=list)
    records: list[Any] = field(default_factory=list)


# A check on a typed value: None when it is acceptable, else what is wrong with it in plain words.
Check = Callable[[Any], str | None]


def _describe(value: Any) -> str:
    """Short `type value` text for error reasons (values cut to 60 characters)."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return f"{type(value).__name__} {text[:60]}"


def _to_bigint(value: Any) -> int:
    """Accepts ints, integral floats and integer strings within int64."""
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and _INT_TEXT.match(value.strip()):
        value = int(value.strip())
    if not isinstance(value, int) or not _INT64_MIN <= value <= _INT64_MAX:
        raise ValueError
    return value


def _to_double(value: Any) -> float:
    """Accepts finite ints, floats and numeric strings."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise TypeError
    number = float(value)
    if not math.isfinite(number):
        raise ValueError
    return number


def _to_decimal(value: Any) -> Decimal:
    """Accepts numbers or numeric strings that fit decimal(18,2) exactly (via Decimal(str(v)))."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise TypeError
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError from exc
    if not number.is_finite() or number != number.quantize(_CENT) or abs(number) >= _DECIMAL_LIMIT:
        raise ValueError
    return number.quantize(_CENT)


def _to_text(value: Any) -> str:
    """Accepts strings; numbers and booleans are written out as text, structures are refused."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    raise TypeError


# An instant must carry its offset: a wall-clock time without one cannot be placed in UTC.
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _to_bool(value: Any) -> bool:
    """Accepts JSON booleans and the strings 'true' / 'false' (any case); nothing else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise TypeError


def _to_timestamp(value: Any) -> datetime:
    """Accepts ISO-8601 date-times with an offset or Z (e.g. 2026-01-01T08:00:00.000+0000), as UTC."""
    if not isinstance(value, str):
        raise TypeError
    text = value.strip()
    if not _INSTANT.match(text):
        raise ValueError
    return datetime.fromisoformat(text).astimezone(UTC)


def _to_date(value: Any) -> date:
    """Accepts ISO-8601 calendar dates (YYYY-MM-DD)."""
    if not isinstance(value, str):
        raise TypeError
    if not _DAY.match(value.strip()):
        raise ValueError
    return date.fromisoformat(value.strip())


CONVERTERS: dict[str, Callable[[Any], Any]] = {
    TEXT: _to_text,
    BIGINT: _to_bigint,
    DOUBLE: _to_double,
    DECIMAL: _to_decimal,
    BOOL: _to_bool,
    TIMESTAMP: _to_timestamp,
    DATE: _to_date,
}


def arrow_schema(
    fields: Mapping[str, str],
    rename: Mapping[str, str] | None = None,
    required: Iterable[str] = (),
    *,
    extra_fields: bool = False,
) -> pa.Schema:
    """The arrow schema of a field table, columns renamed; `required` columns are not nullable.
    With `extra_fields`, the `_extra_fields_json` text column comes last."""
    rename, required = rename or {}, set(required)
    columns = [
        pa.field(rename.get(name, name), ARROW_TYPES[kind], nullable=name not in required)
        for name, kind in fields.items()
    ]
    if extra_fields:
        columns.append(pa.field(EXTRA_FIELDS_COLUMN, pa.string()))
    return pa.schema(columns)


def column_hints(
    fields: Mapping[str, str],
    rename: Mapping[str, str] | None = None,
    required: Iterable[str] = (),
    *,
    extra_fields: bool = False,
) -> TTableSchemaColumns:
    """dlt column hints matching `arrow_schema`, so types hold even before any data arrives."""
    rename, required = rename or {}, set(required)
    hints: TTableSchemaColumns = {}
    for name, kind in fields.items():
        column: TColumnSchema = {"data_type": kind, "nullable": name not in required}  # type: ignore[typeddict-item]
        if kind == DECIMAL:
            column["precision"], column["scale"] = DECIMAL_PRECISION, DECIMAL_SCALE
        hints[rename.get(name, name)] = column
    if extra_fields:
        hints[EXTRA_FIELDS_COLUMN] = {"data_type": "text", "nullable": True}
    return hints


def fields_sent_metadata(rows: int, sent: Mapping[str, int], extra: Iterable[str] = ()) -> dict[bytes, bytes]:
    """Schema metadata saying how many of a page's `rows` records carried each field (loaded names),
    and which of them are kept in the extras column (`extra`)."""
    note = {"rows": rows, "fields": dict(sent), "extra": sorted(extra)}
    return {FIELDS_SENT_KEY: json.dumps(note, ensure_ascii=False).encode()}


def fields_sent(table: pa.Table) -> dict[str, Any] | None:
    """The `fields_sent_metadata` of a page, or None when it carries none."""
    metadata = table.schema.metadata or {}
    note = metadata.get(FIELDS_SENT_KEY)
    return None if note is None else json.loads(note)


def cast_keeping_metadata(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table.cast(schema)` that keeps the page's own metadata (a cast takes the target's)."""
    return table.cast(schema).replace_schema_metadata(table.schema.metadata)


def _convert_record(
    record: Mapping[str, Any], fields: Mapping[str, str], required: set[str], checks: Mapping[str, Check]
) -> list[Any]:
    """Converts one record to a row of typed values; raises InvalidRecordError with the reason."""
    if not isinstance(record, Mapping):
        raise InvalidRecordError(f"record is {_describe(record)}, not an object")
    row: list[Any] = []
    for name, kind in fields.items():
        value = record.get(name)
        if value is None:
            if name in required:
                raise InvalidRecordError(f"missing required field {name}")
            row.append(None)
            continue
        try:
            typed = CONVERTERS[kind](value)
        except (ValueError, TypeError, OverflowError):
            raise InvalidRecordError(f"field {name}: expected {kind}, got {_describe(value)}") from None
        check = checks.get(name)
        if check is not None and (problem := check(typed)) is not None:
            raise InvalidRecordError(f"field {name}: {problem}")
        row.append(typed)
    return row


def extra_fields_text(record: Mapping[str, Any], unknown: Iterable[str]) -> str | None:
    """The `unknown` keys of a record as one JSON object (keys sorted), None when there are none."""
    extra = {key: record[key] for key in sorted(unknown)}
    if not extra:
        return None
    return json.dumps(extra, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def records_to_arrow(
    records: Iterable[Mapping[str, Any]],
    fields: Mapping[str, str],
    *,
    primary_key: str,
    cursor: str | None = None,
    rename: Mapping[str, str] | None = None,
    checks: Mapping[str, Check] | None = None,
    extra_fields: bool = False,
    ignored: Collection[str] = (),
) -> ArrowPage:
    """Builds a typed table from `fields` ({wire name: type}); bad records come back rejected.

    `primary_key` and `cursor` must be present and well typed. Columns are named by `rename`
    (wire name → loaded name) where given. Keys of a record not in `fields` (nor in `ignored`, e.g.
    an envelope every record carries) go to `_extra_fields_json` with `extra_fields`, else are
    dropped. The table's metadata counts the fields the loaded records carried (`fields_sent`).
    `checks` ({wire name: check}) refuse typed values the type alone lets through (a negative
    spend, a day in 1970).
    """
    required = {primary_key} | ({cursor} if cursor else set())
    rename = rename or {}
    columns: list[list[Any]] = [[] for _ in fields]
    extras: list[str | None] = []
    # Records of one page mostly share their keys: count and sort out keys once per key tuple, not per record.
    shapes: dict[tuple[str, ...], int] = {}
    unknown_of: dict[tuple[str, ...], tuple[str, ...]] = {}
    skip = set(fields) | set(ignored)
    rejected: list[Rejected] = []
    accepted: list[Any] = []
    for record in records:
        try:
            row = _convert_record(record, fields, required, checks or {})
        except InvalidRecordError as exc:
            raw_id = record.get(primary_key) if isinstance(record, Mapping) else None
            rejected.append(Rejected(record, str(exc), None if raw_id is None else str(raw_id)))
            continue
        for column, value in zip(columns, row, strict=True):
            column.append(value)
        accepted.append(record)
        shape = tuple(record)
        shapes[shape] = shapes.get(shape, 0) + 1
        if extra_fields:
            unknown_keys = unknown_of.get(shape)
            if unknown_keys is None:
                unknown_keys = unknown_of[shape] = tuple(sorted(set(shape) - skip))
            extras.append(extra_fields_text(record, unknown_keys) if unknown_keys else None)
    schema = arrow_schema(fields, rename, required, extra_fields=extra_fields)
    arrays = [pa.array(column, type=schema.field(i).type) for i, column in enumerate(columns)]
    if extra_fields:
        arrays.append(pa.array(extras, type=pa.string()))
    sent: Counter[str] = Counter()
    for shape, count in shapes.items():
        for name in shape:
            sent[name] += count
    unknown = {name for name in sent if name not in skip}
    counted = {rename.get(name, name): count for name, count in sent.items()
               if name in fields or (extra_fields and name in unknown)}
    loaded = len(columns[0]) if columns else len(extras)
    metadata = fields_sent_metadata(loaded, counted, unknown if extra_fields else ())
    return ArrowPage(pa.Table.from_arrays(arrays, schema=schema.with_metadata(metadata)), rejected, accepted)
