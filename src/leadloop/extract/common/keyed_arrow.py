"""Typed arrow pages for report tables keyed by several columns (e.g. account × keyword × day).

`records_to_arrow` knows one primary key and one cursor. Daily ad reports are keyed by a
combination (account, keyword, day), carry calendar days as `YYYY-MM-DD` text, and get a
constant provenance column (`_source`: api or file_drop). This module adds exactly that on top,
so an API page and a hand-dropped file land with the same columns and types.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

import pyarrow as pa
from dlt.common.schema.typing import TTableSchemaColumns

from leadloop.extract.common.arrow import (
    ArrowPage,
    Check,
    Rejected,
    arrow_schema,
    cast_keeping_metadata,
    column_hints,
    records_to_arrow,
)
from leadloop.extract.common.plausible import plausible_day_text

_DAY_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def is_day_text(value: Any) -> bool:
    """True for a real calendar day written as YYYY-MM-DD."""
    if not isinstance(value, str) or not _DAY_TEXT.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def composite_id(record: Any, keys: Sequence[str]) -> str | None:
    """`k1/k2/k3` of a record's key values (missing ones empty), None for a non-object."""
    if not isinstance(record, Mapping):
        return None
    return "/".join("" if record.get(key) is None else str(record.get(key)) for key in keys)


def _key_problem(record: Any, keys: Sequence[str], day_fields: Iterable[str]) -> str | None:
    """Why a record cannot be keyed (a missing key, a malformed day), or None."""
    if not isinstance(record, Mapping):
        return None  # records_to_arrow words this case itself
    for key in keys:
        if record.get(key) is None:
            return f"missing required field {key}"
    for name in day_fields:
        value = record.get(name)
        if value is not None and not is_day_text(value):
            return f"field {name}: expected a day as YYYY-MM-DD, got {str(value)[:40]!r}"
        if value is not None and (problem := plausible_day_text(value)) is not None:
            return f"field {name}: {problem}"
    return None


def keyed_column_hints(
    fields: Mapping[str, str],
    *,
    keys: Sequence[str],
    rename: Mapping[str, str] | None = None,
    constants: Sequence[str] = (),
    extra_fields: bool = False,
) -> TTableSchemaColumns:
    """dlt hints for a keyed page: key columns not null, constant text columns appended."""
    hints = column_hints(fields, rename, keys, extra_fields=extra_fields)
    for name in constants:
        hints[name] = {"data_type": "text", "nullable": False}
    return hints


def records_to_keyed_arrow(
    records: Iterable[Mapping[str, Any]],
    fields: Mapping[str, str],
    *,
    keys: Sequence[str],
    rename: Mapping[str, str] | None = None,
    day_fields: Sequence[str] = (),
    constants: Mapping[str, str] | None = None,
    checks: Mapping[str, Check] | None = None,
    extra_fields: bool = False,
) -> ArrowPage:
    """Like `records_to_arrow`, but every key is required and `day_fields` must be YYYY-MM-DD.

    `day_fields` must also be plausible days (not 1970, not 2099). Rejected records carry
    `k1/k2/k3` as record_id. `constants` ({column: text}) are appended to every row, e.g.
    {"_source": "api"}; `checks` as in records_to_arrow. `extra_fields` keeps unknown fields
    (see `records_to_arrow`).
    """
    if not keys:
        raise ValueError("records_to_keyed_arrow needs at least one key")
    valid: list[Mapping[str, Any]] = []
    rejected: list[Rejected] = []
    for record in records:
        problem = _key_problem(record, keys, day_fields)
        if problem is not None:
            rejected.append(Rejected(record, problem, composite_id(record, keys)))
        else:
            valid.append(record)
    page = records_to_arrow(valid, fields, primary_key=keys[0], rename=rename, checks=checks,
                            extra_fields=extra_fields, ignored=tuple(constants or ()))
    rejected.extend(Rejected(r.record, r.reason, composite_id(r.record, keys)) for r in page.rejected)
    table = cast_keeping_metadata(page.table, arrow_schema(fields, rename, keys, extra_fields=extra_fields))
    for name, value in (constants or {}).items():
        column = pa.array([value] * table.num_rows, type=pa.string())
        table = table.append_column(pa.field(name, pa.string(), nullable=False), column)
    return ArrowPage(table, rejected, page.records)
