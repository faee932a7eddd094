"""Reading console exports: CSV (UTF-8 / GB18030 / UTF-16, comma or tab) and XLSX, Chinese headers.

A file becomes wire records (the API's column names) through its kind's column map. Title
lines before the header and summary lines (合计) are skipped; every other line becomes a record
that carries its file, row number and original cells, so a line that fails validation can be
quarantined exactly as it was written.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from leadloop.extract.file_drops import settings
from leadloop.extract.file_drops.settings import FileKind

RAW_KEY = "_raw"  # the original line, header → cell, kept for quarantine
ROW_KEY = "_row"  # 1-based row number in the file
_DAY = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?$")
_COMPACT_DAY = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class FileDropError(ValueError):
    """A dropped file that cannot be read as its kind; the message names the file and the fix."""


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes: a re-dropped identical file is recognised, a changed one re-read."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def normalise_header(cell: Any) -> str:
    """Header text compared loosely: NFKC (full-width → half-width), no spaces, lower case."""
    text = unicodedata.normalize("NFKC", "" if cell is None else str(cell))
    return re.sub(r"\s+", "", text.replace("\ufeff", "")).lower()


def _decode(path: Path) -> str:
    """The file's text in the first encoding that fits (UTF-16 when it has a BOM)."""
    data = path.read_bytes()
    encodings = ("utf-16",) if data.startswith(_UTF16_BOMS) else settings.ENCODINGS
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileDropError(f"file_drops: {path.name} is not text in any of {', '.join(encodings)}")


def _read_csv(path: Path) -> list[list[Any]]:
    """Rows of a CSV (or tab-separated) export."""
    text = _decode(path)
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    return [list(row) for row in csv.reader(io.StringIO(text), delimiter=delimiter)]


def _read_xlsx(path: Path) -> list[list[Any]]:
    """Rows of the first sheet of an XLSX export (needs the optional openpyxl package)."""
    try:
        import openpyxl  # type: ignore[import-untyped]
    except ImportError:
        raise FileDropError(
            f"file_drops: {path.name} is an .xlsx file, and reading .xlsx needs the openpyxl package,"
            " which is not installed. Save the export as CSV, or install openpyxl."
        ) from None
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def read_cells(path: Path) -> list[list[Any]]:
    """All rows of a dropped file as lists of cells (text for CSV, typed values for XLSX)."""
    if path.suffix.lower() == ".xlsx":
        return _read_xlsx(path)
    return _read_csv(path)


def _header_lookup(kind: FileKind) -> dict[str, str]:
    """Normalised console header → wire column."""
    return {normalise_header(header): wire for wire, headers in kind.headers.items() for header in headers}


def _map_header_row(row: Sequence[Any], lookup: Mapping[str, str]) -> dict[str, int]:
    """Wire column → cell index for the cells of one row that are known headers."""
    mapping: dict[str, int] = {}
    for index, cell in enumerate(row):
        wire = lookup.get(normalise_header(cell))
        if wire is not None and wire not in mapping:
            mapping[wire] = index
    return mapping


def locate_header(cells: Sequence[Sequence[Any]], kind: FileKind, name: str) -> tuple[int, dict[str, int]]:
    """(row index of the header, wire column → cell index); a missing column is a FileDropError."""
    lookup = _header_lookup(kind)
    best: tuple[int, dict[str, int]] | None = None
    for index, row in enumerate(cells[: settings.HEADER_SCAN_ROWS]):
        mapping = _map_header_row(row, lookup)
        if all(wire in mapping for wire in kind.required):
            return index, mapping
        if mapping and (best is None or len(mapping) > len(best[1])):
            best = (index, mapping)
    if best is None:
        raise FileDropError(
            f"file_drops: {name} ({kind.name}) has no header line with any known column in its first"
            f" {settings.HEADER_SCAN_ROWS} lines. Expected headers such as"
            f" {', '.join(kind.headers[wire][0] for wire in kind.required)}."
        )
    index, mapping = best
    missing = [wire for wire in kind.required if wire not in mapping]
    found = [str(cell) for cell in cells[index] if cell not in (None, "")]
    wanted = "; ".join(
        f"{kind.headers[wire][0]} (for {wire}; accepted: {', '.join(kind.headers[wire])})" for wire in missing
    )
    raise FileDropError(
        f"file_drops: {name} ({kind.name}) is missing the column {wanted}. Headers found on line"
        f" {index + 1}: {', '.join(found)}. Export the report with that column, or add the header your"
        " console uses to the column map in src/leadloop/extract/file_drops/settings.py."
    )


def normalise_day(value: Any) -> Any:
    """Console day spellings (2025/1/5, 20250105, 2025年1月5日, Excel dates) as YYYY-MM-DD.

    Anything unrecognised is returned as written, so validation quarantines it with its reason.
    """
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    match = _DAY.match(text) or _COMPACT_DAY.match(text)
    if match is None:
        return text
    year, month, day = (int(part) for part in match.groups())
    return f"{year:04d}-{month:02d}-{day:02d}"


def clean_value(value: Any, kind: str, *, is_day: bool = False) -> Any:
    """A cell as the API would send it: blanks and '--' → None, '1,234' / '¥12.50' → numbers text."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip().strip("\t")
        if value in settings.EMPTY_VALUES:
            return None
    if is_day:
        return normalise_day(value)
    if kind in settings.NUMERIC_TYPES and isinstance(value, str):
        return re.sub(r"[,\s¥￥'元]", "", value)
    if kind == settings.DECIMAL and isinstance(value, float) and abs(value - round(value, 2)) < 1e-6:
        return round(value, 2)  # XLSX floats such as 170.85000000000002
    return value


def _is_skipped(row: Sequence[Any]) -> bool:
    """Blank lines and summary lines (first non-empty cell 合计 / 总计 …)."""
    cells = [cell for cell in row if cell is not None and str(cell).strip() != ""]
    if not cells:
        return True
    first = normalise_header(cells[0])
    return any(first.startswith(marker) for marker in settings.TOTAL_ROW_MARKERS)


def read_drop_file(path: Path, kind: FileKind) -> list[dict[str, Any]]:
    """The data lines of one file as wire records (+ their raw cells and row number)."""
    cells = read_cells(path)
    if not cells:
        raise FileDropError(f"file_drops: {path.name} ({kind.name}) is empty")
    header_index, mapping = locate_header(cells, kind, path.name)
    headers = ["" if cell is None else str(cell).strip() for cell in cells[header_index]]
    records: list[dict[str, Any]] = []
    for index in range(header_index + 1, len(cells)):
        row = cells[index]
        if _is_skipped(row):
            continue
        record: dict[str, Any] = {
            wire: clean_value(
                row[column] if column < len(row) else None, kind.fields[wire], is_day=wire in kind.day_fields
            )
            for wire, column in mapping.items()
        }
        raw = {
            headers[i] if i < len(headers) and headers[i] else f"column{i + 1}": cell
            for i, cell in enumerate(row)
        }
        record[RAW_KEY] = {
            key: value if isinstance(value, (str, int, float)) or value is None else str(value)
            for key, value in raw.items()
        }
        record[ROW_KEY] = index + 1
        records.append(record)
    return records
