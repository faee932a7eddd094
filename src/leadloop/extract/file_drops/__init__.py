"""dlt source for hand-dropped console exports (百度营销 keyword reports, 巨量引擎 ad reports).

Files in the drop folder are recognised by name (patterns per kind in settings.py), read through
the kind's column map and merged into the SAME raw table as the platform's API source, with the
same columns and types and `_source = 'file_drop'`. Each platform's table lives in its own raw
dataset, so the source is run once per platform (`file_drops_source(platform=...)` into
`raw_<platform>`; `run_file_drops` does both). Files already loaded (same name and content) are
remembered in the resource state and skipped, so re-runs are idempotent; a changed file is re-read.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
from dlt.common.pipeline import LoadInfo
from dlt.extract.resource import DltResource

from leadloop.extract.common.arrow import Rejected
from leadloop.extract.common.config import require_settings
from leadloop.extract.common.keyed_arrow import keyed_column_hints, records_to_keyed_arrow
from leadloop.extract.common.plausible import non_negative
from leadloop.extract.common.quarantine import (
    data_item,
    quarantine_item,
    quarantine_resource,
    quarantine_table,
)
from leadloop.extract.file_drops import settings
from leadloop.extract.file_drops.reader import RAW_KEY, ROW_KEY, FileDropError, file_digest, read_drop_file
from leadloop.extract.file_drops.settings import FileKind

__all__ = ["FileDropError", "file_drops_source", "kind_of", "run_file_drops"]

logger = logging.getLogger(__name__)

STATE_PROCESSED = "processed"  # file name → sha256 of the content loaded


def kind_patterns(overrides: Mapping[str, Sequence[str]] | None = None) -> dict[str, tuple[str, ...]]:
    """File-name patterns per kind: settings, with `file_patterns` config replacing a kind's list."""
    overrides = overrides or {}
    unknown = sorted(set(overrides) - set(settings.FILE_KINDS_BY_NAME))
    if unknown:
        raise ValueError(
            f"file_drops: SOURCES__FILE_DROPS__FILE_PATTERNS names unknown file kinds {unknown};"
            f" known: {sorted(settings.FILE_KINDS_BY_NAME)}"
        )
    return {kind.name: tuple(overrides.get(kind.name, kind.patterns)) for kind in settings.FILE_KINDS}


def kind_of(file_name: str, patterns: Mapping[str, Sequence[str]]) -> str | None:
    """The first kind whose pattern matches the file name (case-insensitive), or None."""
    if file_name.startswith(settings.IGNORED_PREFIXES):
        return None
    lowered = file_name.lower()
    for kind, globs in patterns.items():
        if any(fnmatch.fnmatchcase(lowered, glob.lower()) for glob in globs):
            return kind
    return None


def drop_folder(drop_dir: str | None) -> Path:
    """The configured drop folder; missing or not a folder is an error naming the setting."""
    require_settings(settings.SOURCE_NAME, {"drop_dir": drop_dir}, toml_file=".dlt/config.toml")
    folder = Path(str(drop_dir)).expanduser()
    if not folder.is_dir():
        raise FileDropError(f"file_drops: SOURCES__FILE_DROPS__DROP_DIR={folder} is not a folder")
    return folder


def files_of_kind(folder: Path, kind: FileKind, patterns: Mapping[str, Sequence[str]]) -> list[Path]:
    """The folder's files of one kind, in name order (later names win on equal keys)."""
    return sorted(
        path for path in folder.iterdir() if path.is_file() and kind_of(path.name, patterns) == kind.name
    )


def keep_last_per_key(table: pa.Table, keys: Sequence[str]) -> pa.Table:
    """Drops earlier rows of a repeated key, so the later file (or line) wins deterministically."""
    if table.num_rows == 0:
        return table
    last: dict[tuple[Any, ...], int] = {}
    for index, key in enumerate(zip(*(table.column(name).to_pylist() for name in keys), strict=True)):
        last[key] = index
    if len(last) == table.num_rows:
        return table
    return table.take(sorted(last.values()))


def _quarantine_record(reject: Rejected, file_name: str) -> Rejected:
    """A rejected line as it was written: file, row number and original cells."""
    record = reject.record if isinstance(reject.record, Mapping) else {}
    row = record.get(ROW_KEY)
    payload = {"file": file_name, "row": row, "line": record.get(RAW_KEY)}
    return Rejected(payload, reject.reason, f"{file_name}:{row}")


def _kind_resource(
    kind: FileKind, drop_dir: str | None, patterns: Mapping[str, Sequence[str]]
) -> DltResource:
    """One file kind: new or changed files → the platform's raw table, bad lines → quarantine."""
    columns = keyed_column_hints(kind.fields, keys=kind.keys, constants=(settings.SOURCE_COLUMN,))
    checks = dict.fromkeys(kind.non_negative, non_negative)  # report days are checked as keyed days

    def read_files() -> Iterator[Any]:
        """Reads every file not loaded before; remembers each file's content hash in the state."""
        folder = drop_folder(drop_dir)
        processed: dict[str, str] = dlt.current.resource_state().setdefault(STATE_PROCESSED, {})
        tables: list[pa.Table] = []
        rejected: list[Rejected] = []
        done: dict[str, str] = {}
        for path in files_of_kind(folder, kind, patterns):
            digest = file_digest(path)
            if processed.get(path.name) == digest:
                continue
            page = records_to_keyed_arrow(
                read_drop_file(path, kind),
                kind.fields,
                keys=kind.keys,
                day_fields=kind.day_fields,
                constants={settings.SOURCE_COLUMN: settings.FILE_DROP_SOURCE},
                checks=checks,
            )
            logger.info(
                "file_drops: %s → %d rows, %d rejected", path.name, page.table.num_rows, len(page.rejected)
            )
            tables.append(page.table)
            rejected.extend(_quarantine_record(reject, path.name) for reject in page.rejected)
            done[path.name] = digest
        if rejected:
            yield quarantine_item(quarantine_table(rejected, source=settings.SOURCE_NAME, resource=kind.name))
        if tables:
            table = keep_last_per_key(pa.concat_tables(tables), kind.keys)
            if table.num_rows:
                yield data_item(table, table_name=kind.table, columns=columns)
        processed.update(done)

    return dlt.resource(
        read_files,
        name=kind.name,
        table_name=kind.table,
        primary_key=list(kind.keys),
        write_disposition="merge",
    )


def kinds_for(platform: str | None) -> list[FileKind]:
    """The file kinds of one platform (all kinds when None); an unknown platform is refused."""
    if platform is not None and platform not in settings.PLATFORMS:
        raise ValueError(f"file_drops: unknown platform {platform!r}; known: {list(settings.PLATFORMS)}")
    return [kind for kind in settings.FILE_KINDS if platform is None or kind.platform == platform]


@dlt.source(name=settings.SOURCE_NAME, section=settings.SOURCE_NAME, max_table_nesting=0)
def file_drops_source(
    drop_dir: str | None = None,
    platform: str | None = None,
    file_patterns: dict[str, list[str]] | None = None,
) -> list[DltResource]:
    """Console exports of one platform (`platform`), loaded into that platform's raw tables.

    Run it into the platform's dataset `raw_<platform>` (see `run_file_drops`). With
    `platform=None` every kind is listed, which only makes sense for inspecting the source.
    """
    patterns = kind_patterns(file_patterns)
    resources = [_kind_resource(kind, drop_dir, patterns) for kind in kinds_for(platform)]
    return [*resources, quarantine_resource()]


def run_file_drops(
    pipeline_for: Callable[[str], dlt.Pipeline], platforms: Sequence[str] = settings.PLATFORMS,
    drop_dir: str | None = None,
) -> dict[str, LoadInfo]:
    """Loads each platform's dropped files with its own pipeline into `raw_<platform>`.

    `pipeline_for(platform)` must return a pipeline whose dataset is `raw_<platform>` and whose
    name differs from the API source's pipeline (each keeps its own state). `drop_dir`, when given,
    is the folder (else SOURCES__FILE_DROPS__DROP_DIR from config).
    """
    infos: dict[str, LoadInfo] = {}
    for platform in platforms:
        kinds = kinds_for(platform)
        pipeline = pipeline_for(platform)
        if pipeline.dataset_name != kinds[0].dataset:
            raise ValueError(
                f"file_drops: the pipeline for {platform} writes to {pipeline.dataset_name},"
                f" but its files belong in {kinds[0].dataset}"
            )
        source = file_drops_source(platform=platform, drop_dir=drop_dir) if drop_dir else file_drops_source(
            platform=platform)
        infos[platform] = pipeline.run(source)
    return infos
