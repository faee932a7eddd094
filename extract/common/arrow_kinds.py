"""Three more column kinds for `records_to_arrow`: booleans, UTC instants and calendar dates.

`extract.common.arrow` types text, bigint, double and decimal, which is all 销售易 needs. APIs that
send JSON booleans and ISO-8601 date-times (Salesforce) need these three as well. Importing this
module registers them in `arrow`'s kind tables (adding keys only, never replacing one), so
`records_to_arrow`, `arrow_schema` and `column_hints` accept them like the built-in kinds. The
kind names are dlt data types, so the column hints `column_hints` derives stay right.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from extract.common import arrow

BOOL, TIMESTAMP, DATE = "bool", "timestamp", "date"

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


KINDS: dict[str, tuple[pa.DataType, Callable[[Any], Any]]] = {
    BOOL: (pa.bool_(), _to_bool),
    TIMESTAMP: (pa.timestamp("us", tz="UTC"), _to_timestamp),
    DATE: (pa.date32(), _to_date),
}


def register_kinds() -> None:
    """Adds BOOL, TIMESTAMP and DATE to `arrow`'s kind tables; a kind already there is kept."""
    for kind, (arrow_type, converter) in KINDS.items():
        arrow.ARROW_TYPES.setdefault(kind, arrow_type)
        arrow.CONVERTERS.setdefault(kind, converter)


register_kinds()
