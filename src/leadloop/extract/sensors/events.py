"""NDJSON answers of the Sensors SQL API → typed arrow tables of events, with a stable event key.

Fast path: pyarrow's JSON reader parses the whole answer at C speed with the field table as its
explicit schema; properties outside the field table are folded into `properties_json` and the
`event_key` is digested, both with vectorised arrow kernels. When the reader refuses the answer
(a malformed line, a value of the wrong type) or a row lacks a required field, the answer is read
again line by line, and each bad line goes to quarantine with its reason and raw text.

event_key: blake2b-128 (hex) of the canonical text of a row — `event`, `time`, `distinct_id`,
then every other non-null column as `name=value` (typed columns, then `properties_json`) —
leaving out `date` (derived from `time`) and `user_id` (Sensors' ID mapping may reassign it).
Two rows identical in all of that are told apart by their order of arrival in the answer (the
n-th copy is digested with `#n`); identical rows share their `time`, so they always arrive in
the same window. The key therefore depends only on what the event is, not on the run or window
that read it, which is what lets a look-back re-read merge instead of duplicating.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson
from dlt.common.schema.typing import TTableSchemaColumns

from leadloop.extract.common.arrow import CONVERTERS, ArrowPage, Rejected, column_hints, fields_sent_metadata
from leadloop.extract.common.plausible import day_problem
from leadloop.extract.sensors import settings

ARROW_TYPES: dict[str, pa.DataType] = {
    settings.TEXT: pa.string(),
    settings.BIGINT: pa.int64(),
    settings.DOUBLE: pa.float64(),
    settings.BOOL: pa.bool_(),
}
TIME_PATTERN = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?$"
_TIME_RE = re.compile(TIME_PATTERN)
_CONTROL_CHARS = r"[\x00-\x1f]"
_EXACT_DOUBLE_INT = 2.0**53
# The wire names as the reader's explicit schema; other keys are inferred (then folded into JSON).
WIRE_SCHEMA = pa.schema([pa.field(wire, ARROW_TYPES[kind]) for wire, (_, kind) in settings.FIELDS.items()])
EVENTS_SCHEMA = pa.schema(
    [
        pa.field(settings.PRIMARY_KEY, pa.string(), nullable=False),
        *[
            pa.field(name, ARROW_TYPES[kind], nullable=wire not in settings.REQUIRED)
            for wire, (name, kind) in settings.FIELDS.items()
        ],
        pa.field(settings.PROPERTIES_JSON, pa.string()),
    ]
)
_READ_BLOCK_BYTES = 4 * 1024 * 1024  # must hold the longest line


def events_columns() -> TTableSchemaColumns:
    """dlt column hints of the events table, matching EVENTS_SCHEMA."""
    kinds = {wire: kind for wire, (_, kind) in settings.FIELDS.items()}
    rename = {wire: name for wire, (name, _) in settings.FIELDS.items()}
    hints = column_hints(
        {settings.PRIMARY_KEY: settings.TEXT, **kinds, settings.PROPERTIES_JSON: settings.TEXT},
        rename,
        (settings.PRIMARY_KEY, *settings.REQUIRED),
    )
    hints[settings.PRIMARY_KEY]["primary_key"] = True
    return hints


# -- canonical text of values --------------------------------------------------------------------


def _number_texts(array: pa.Array) -> pa.Array:
    """Numbers as text; integral doubles as integers, so 5 and 5.0 read the same."""
    if pa.types.is_integer(array.type):
        return pc.cast(array, pa.string())
    integral = pc.and_(pc.equal(array, pc.floor(array)), pc.less(pc.abs(array), _EXACT_DOUBLE_INT))
    integral = pc.fill_null(integral, False)
    safe = pc.if_else(integral, array, pa.scalar(0.0, array.type))
    return pc.if_else(integral, pc.cast(pc.cast(safe, pa.int64()), pa.string()), pc.cast(array, pa.string()))


def _without_nulls(value: Any) -> Any:
    """Drops null members of objects, recursively, so the text does not depend on other rows."""
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def python_json_texts(values: Sequence[Any]) -> pa.Array:
    """JSON text of each value through Python: nested values, control characters, mixed types."""
    return pa.array(
        [
            None
            if v is None
            else orjson.dumps(_without_nulls(v), option=orjson.OPT_SORT_KEYS, default=str).decode()
            for v in values
        ],
        pa.string(),
    )


def json_texts(array: pa.Array) -> pa.Array:
    """The canonical JSON text of every value of an arrow array (null stays null)."""
    kind = array.type
    if pa.types.is_null(kind):
        return pa.nulls(len(array), pa.string())
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        array = array.cast(pa.string())
        if pc.any(pc.match_substring_regex(array, _CONTROL_CHARS)).as_py():
            return python_json_texts(array.to_pylist())
        escaped = pc.replace_substring(pc.replace_substring(array, "\\", "\\\\"), '"', '\\"')
        return pc.binary_join_element_wise('"', escaped, '"', "")
    if pa.types.is_boolean(kind):
        return pc.if_else(array, "true", "false")
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return _number_texts(array)
    return python_json_texts(array.to_pylist())


def value_texts(array: pa.Array) -> pa.Array:
    """Plain text of a typed column for the event digest (strings as they are)."""
    if pa.types.is_string(array.type):
        return array
    return json_texts(array)


def json_objects(texts: Mapping[str, pa.Array], length: int) -> pa.Array:
    """`{"name":value,…}` per row from JSON value texts, keys sorted, nulls left out; null if empty."""
    pairs = [
        pc.binary_join_element_wise(orjson.dumps(name).decode() + ":", texts[name], "")
        for name in sorted(texts)
    ]
    if not pairs:
        return pa.nulls(length, pa.string())
    joined = pc.binary_join_element_wise(*pairs, ",", null_handling="skip")
    wrapped = pc.binary_join_element_wise("{", joined, "}", "")
    return pc.if_else(pc.equal(joined, ""), pa.scalar(None, pa.string()), wrapped)


def event_keys(table: pa.Table) -> pa.Array:
    """The event_key of each row of a loaded-names table (see the module docstring)."""
    identity = [settings.FIELDS[wire][0] for wire in settings.IDENTITY]
    skipped = {settings.FIELDS[wire][0] for wire in settings.NOT_DIGESTED} | set(identity)
    parts: list[pa.Array] = [value_texts(table.column(name).combine_chunks()) for name in identity]
    for name in table.column_names:
        column = table.column(name)
        if name in skipped or name == settings.PRIMARY_KEY or column.null_count == len(column):
            continue
        texts = value_texts(column.combine_chunks())
        parts.append(pc.binary_join_element_wise(f"{name}=", texts, ""))
    canonical = pc.binary_join_element_wise(*parts, "\x1f", null_handling="skip")
    return pa.array(_digests(canonical), pa.string())


def _digests(canonical: pa.Array) -> list[str]:
    """blake2b-128 of each text; the n-th repeat of a text is digested with `#n` appended."""
    texts = canonical.cast(pa.binary()).to_pylist()
    blake2b = hashlib.blake2b
    keys = [blake2b(text, digest_size=16).hexdigest() for text in texts]
    counts = pc.value_counts(canonical)
    repeated = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
    if len(repeated) == 0:
        return keys
    seen: dict[bytes, int] = {}
    for n in pc.indices_nonzero(pc.is_in(canonical, value_set=repeated)).to_pylist():
        text = texts[n]
        copies = seen.get(text, 0)
        seen[text] = copies + 1
        if copies:
            keys[n] = blake2b(text + f"\x1f#{copies}".encode(), digest_size=16).hexdigest()
    return keys


# -- building the events table -------------------------------------------------------------------


def _events_table(known: Mapping[str, pa.Array], extras: Mapping[str, pa.Array], length: int) -> pa.Table:
    """The loaded table: typed known columns (wire → loaded names), properties_json, event_key."""
    columns = {name: known[wire] for wire, (name, _) in settings.FIELDS.items()}
    columns[settings.PROPERTIES_JSON] = json_objects(extras, length)
    body = pa.table(columns)
    keys = event_keys(body)
    arrays = [keys, *body.columns]
    # Sensors leaves null properties out of its answer, so a non-null value is a property sent.
    sent = {name: length - known[wire].null_count for wire, (name, _) in settings.FIELDS.items()}
    extra = {name: length - texts.null_count for name, texts in extras.items()}
    metadata = fields_sent_metadata(length, {name: n for name, n in {**sent, **extra}.items() if n},
                                    [name for name, n in extra.items() if n])
    return pa.Table.from_arrays(arrays, schema=EVENTS_SCHEMA.with_metadata(metadata))


def _read_arrow(body: bytes, strings: Sequence[str] = ()) -> pa.Table:
    """pyarrow's JSON reader with the field table as explicit schema (`strings` forced to text)."""
    schema = WIRE_SCHEMA
    for name in strings:
        schema = schema.append(pa.field(name, pa.string()))
    return pajson.read_json(
        io.BytesIO(body),
        read_options=pajson.ReadOptions(block_size=_READ_BLOCK_BYTES),
        parse_options=pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer"),
    )


def _temporal_extras(table: pa.Table) -> list[str]:
    """Extra columns the reader guessed as dates or times: they must be re-read as the text they were."""
    return [
        field.name
        for field in table.schema
        if field.name not in settings.FIELDS and pa.types.is_temporal(field.type)
    ]


def _rows_valid(table: pa.Table) -> bool:
    """True when every row has the required fields and a well-formed, plausible `time`."""
    if any(table.column(wire).null_count for wire in settings.REQUIRED):
        return False
    times = table.column(settings.CURSOR_FIELD)
    if not pc.all(pc.match_substring_regex(times, TIME_PATTERN)).as_py():
        return False
    # Well-formed times compare as text; the careful path words what is wrong with an outlier.
    earliest, latest = pc.min_max(times).values()
    return _time_problem(earliest.as_py()) is None and _time_problem(latest.as_py()) is None


def _time_problem(time: str) -> str | None:
    """Why a well-formed event time cannot be true (1970, 2099), or None."""
    try:
        day = date.fromisoformat(time[:10])
    except ValueError:
        return f"{time!r} is no calendar day"
    return day_problem(day, repr(time))


def _parse_fast(body: bytes) -> pa.Table | None:
    """The whole answer through pyarrow, or None when any line needs the careful path."""
    try:
        table = _read_arrow(body)
        if temporal := _temporal_extras(table):
            table = _read_arrow(body, temporal)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    if not _rows_valid(table):
        return None
    known = {wire: table.column(wire).combine_chunks() for wire in settings.FIELDS}
    extras = {
        name: json_texts(table.column(name).combine_chunks())
        for name in table.column_names
        if name not in settings.FIELDS
    }
    return _events_table(known, extras, table.num_rows)


# -- the careful path ----------------------------------------------------------------------------


def _to_bool(value: Any) -> bool:
    """Accepts JSON booleans, 0/1 and 'true'/'false'."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError


_CONVERTERS = {**CONVERTERS, settings.BOOL: _to_bool}


def _typed_row(record: Mapping[str, Any]) -> list[Any]:
    """The known fields of one record, typed; raises ValueError with the reason."""
    row: list[Any] = []
    for wire, (_, kind) in settings.FIELDS.items():
        value = record.get(wire)
        if value is None:
            if wire in settings.REQUIRED:
                raise ValueError(f"missing required field {wire}")
            row.append(None)
            continue
        try:
            row.append(_CONVERTERS[kind](value))
        except (ValueError, TypeError, OverflowError):
            text = orjson.dumps(value, default=str).decode()[:60]
            raise ValueError(f"field {wire}: expected {kind}, got {type(value).__name__} {text}") from None
    time = row[list(settings.FIELDS).index(settings.CURSOR_FIELD)]
    if not _TIME_RE.match(time):
        raise ValueError(f"field time: {time!r} is not 'YYYY-MM-DD HH:MM:SS.mmm'")
    if (problem := _time_problem(time)) is not None:
        raise ValueError(f"field time: {problem}")
    return row


def _decode_line(line: bytes) -> tuple[dict[str, Any] | None, Rejected | None]:
    """One NDJSON line → (record, None), or (None, the rejection with the raw line)."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return None, Rejected(line.decode("utf-8", "replace"), f"malformed NDJSON line: {exc}")
    if not isinstance(record, dict):
        return None, Rejected(record, f"NDJSON line is a {type(record).__name__}, not an object")
    return record, None


def _extra_texts(records: Sequence[Mapping[str, Any]]) -> dict[str, pa.Array]:
    """JSON value texts of every property outside the field table, column by column."""
    names = sorted({key for record in records for key in record if key not in settings.FIELDS})
    texts: dict[str, pa.Array] = {}
    for name in names:
        values = [record.get(name) for record in records]
        try:
            texts[name] = json_texts(pa.array(values))
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # one property with values of several types
            texts[name] = python_json_texts(values)
    return texts


def _parse_careful(body: bytes) -> ArrowPage:
    """Line by line: good records into the table, bad lines (with the reason) set aside."""
    records: list[dict[str, Any]] = []
    rows: list[list[Any]] = []
    rejected: list[Rejected] = []
    for line in body.split(b"\n"):
        if not line.strip():
            continue
        record, reject = _decode_line(line)
        if record is None:
            rejected.append(reject)  # type: ignore[arg-type]
            continue
        try:
            rows.append(_typed_row(record))
        except ValueError as exc:
            rejected.append(Rejected(record, str(exc)))
            continue
        records.append(record)
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in settings.FIELDS]
    known = {
        wire: pa.array(list(values), ARROW_TYPES[kind])
        for (wire, (_, kind)), values in zip(settings.FIELDS.items(), columns, strict=True)
    }
    table = _events_table(known, _extra_texts(records), len(records))
    return ArrowPage(table, rejected)


def parse_events(body: bytes) -> ArrowPage:
    """Typed events of an NDJSON answer, plus the lines that could not be loaded and why."""
    if not body or body.isspace():
        return ArrowPage(EVENTS_SCHEMA.empty_table())
    table = _parse_fast(body)
    if table is not None:
        return ArrowPage(table)
    return _parse_careful(body)
