"""The lake of LEADLOOP_WAREHOUSE=spark: what dlt's filesystem destination wrote, as Spark views.

dlt writes each raw table as Parquet files in LEADLOOP_LAKE_DIR (`<dataset>/<table>/<load id>.….parquet`).
Plain files cannot be merged into, so dlt appends every load (a merge resource's rows included); the view
`<dataset>.<table>` keeps, per primary key, the row of the newest load (dlt's load id, or the file name
that begins with it), as a merge would have left the
table, and a nested table keeps the rows of its root rows that were kept. Primary keys and nesting come
from the dataset's dlt schema, which dlt stores in the lake beside the data (`_dlt_version`). The views
are (re)made after every load: a column a load added reaches them then.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

from leadloop import settings
from leadloop.spark import spark_session

DLT_SYSTEM_TABLES = {"_dlt_version", "_dlt_pipeline_state"}  # kept as files, not views (_dlt_loads is a view)
FORMATS = {".parquet": "parquet", ".jsonl": "json"}  # dlt writes its own tables (_dlt_loads) as JSON lines


@dataclass(frozen=True)
class LakeTable:
    """One table of a dataset's dlt schema, as the view over it needs it."""

    name: str
    primary_key: tuple[str, ...]
    parent: str | None


def lake_tables(dataset: str) -> dict[str, LakeTable]:
    """The tables of the newest dlt schema stored in a dataset's folder, by name."""
    tables: dict[str, LakeTable] = {}
    newest: dict[str, tuple[str, dict]] = {}  # schema name -> (inserted_at, schema)
    for path in sorted((settings.lake_dir() / dataset / "_dlt_version").glob("*")):
        for row in _json_lines(path):
            key = str(row.get("inserted_at"))
            if row["schema_name"] not in newest or key > newest[row["schema_name"]][0]:
                newest[row["schema_name"]] = (key, json.loads(row["schema"]))
    for _, schema in newest.values():
        for name, table in schema.get("tables", {}).items():
            keys = tuple(column for column, spec in table.get("columns", {}).items() if spec.get("primary_key"))
            tables[name] = LakeTable(name, keys, table.get("parent"))
    return tables


def _json_lines(path: Path) -> list[dict]:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _file_format(folder: Path) -> str | None:
    """How a table's files are written (parquet; json for dlt's own tables), None for an empty folder."""
    return next((FORMATS[f.suffix] for f in sorted(folder.iterdir()) if f.suffix in FORMATS), None)


def _columns(folder: Path, file_format: str) -> list[str] | None:
    """Every column of a table's Parquet files, in order of first appearance, from their footers (no Spark job
    per table); None for other formats, which Spark lists."""
    if file_format != "parquet":
        return None
    import pyarrow.parquet as pq

    columns: dict[str, None] = {}
    for path in sorted(folder.glob("*.parquet")):
        columns.update(dict.fromkeys(pq.read_schema(path).names))
    return list(columns)


def _files(dataset: str, table: str) -> str:
    folder = settings.lake_dir() / dataset / table
    return f"{_file_format(folder)}.{_quote(str(folder))}"


def _root(table: LakeTable, tables: dict[str, LakeTable]) -> LakeTable:
    while table.parent and table.parent in tables:
        table = tables[table.parent]
    return table


def view_sql(dataset: str, table: LakeTable, tables: dict[str, LakeTable], columns: list[str]) -> str:
    """The select of a table's view: the newest load's row per primary key (every row without one)."""
    listed = ", ".join(_quote(c) for c in columns)
    if table.primary_key:
        keys = ", ".join(_quote(c) for c in table.primary_key)
        # The load: dlt's load id column where rows carry it, else the file's name, which starts with it
        # (dlt's default layout <table>/<load id>.<file id>.<format>; load ids are times, one length).
        newest = "_dlt_load_id desc" if "_dlt_load_id" in columns else "_metadata.file_name desc"
        return (f"select {listed} from (select *, row_number() over (partition by {keys}"
                f" order by {newest}) as _lake_newest from {_files(dataset, table.name)})"
                " where _lake_newest = 1")
    root = _root(table, tables)
    if root is not table and root.primary_key and "_dlt_root_id" in columns:
        return (f"select {listed} from {_files(dataset, table.name)} where _dlt_root_id in"
                f" (select _dlt_id from {_quote(dataset)}.{_quote(root.name)})")
    return f"select {listed} from {_files(dataset, table.name)}"


def register_views(*datasets: str) -> list[str]:
    """(Re)make the views of the given datasets (every dataset in the lake when none is given, dlt's
    `_staging` copies aside); the `dataset.table` names made."""
    lake = settings.lake_dir()
    if not lake.is_dir():
        return []
    names = datasets or tuple(sorted(p.name for p in lake.iterdir()
                                     if p.is_dir() and not p.name.endswith("_staging") and not p.name.startswith(".")))
    spark = spark_session()
    made: list[str] = []
    for dataset in names:
        folder = lake / dataset
        if not folder.is_dir():
            continue
        tables = lake_tables(dataset)
        spark.sql(f"create schema if not exists {_quote(dataset)}")
        # roots first: a nested table's view reads its root's view
        for name in sorted((p.name for p in folder.iterdir() if p.is_dir() and p.name not in DLT_SYSTEM_TABLES),
                           key=lambda n: (tables.get(n, LakeTable(n, (), None)).parent is not None, n)):
            file_format = _file_format(folder / name)
            if file_format is None:
                continue
            table = tables.get(name, LakeTable(name, (), None))
            columns = _columns(folder / name, file_format) or spark.read.format(file_format).load(
                str(folder / name)).columns
            spark.sql(f"create or replace view {_quote(dataset)}.{_quote(name)} as "
                      + view_sql(dataset, table, tables, columns))
            made.append(f"{dataset}.{name}")
    return made
