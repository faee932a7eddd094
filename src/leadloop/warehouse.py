"""Where raw data lands: the dlt destination matching the dbt target."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import dlt
from dlt.common.destination import Destination

from leadloop import settings


def dlt_destination() -> Destination:
    """dlt destination for LEADLOOP_WAREHOUSE: the DuckDB file, Postgres from LEADLOOP_PG_*, or on Spark
    the lake folder (LEADLOOP_LAKE_DIR) in Parquet files, which Spark reads through views (leadloop.lake)."""
    kind = settings.warehouse_kind()
    if kind == "duckdb":
        path = settings.duckdb_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        return dlt.destinations.duckdb(str(path))
    if kind == "spark":
        settings.lake_dir().mkdir(parents=True, exist_ok=True)
        return dlt.destinations.filesystem(bucket_url=settings.lake_dir().as_uri(),
                                           preferred_loader_file_format="parquet")
    return dlt.destinations.postgres(credentials=postgres_dsn())


def loaded(dataset: str) -> None:
    """After dlt loaded a dataset: on Spark, (re)make its views over the lake (new tables and columns
    reach Spark then); nothing to do where dlt writes the warehouse's own tables."""
    if settings.warehouse_kind() == "spark":
        from leadloop.lake import register_views

        register_views(dataset)


def postgres_dsn() -> str:
    """Postgres connection string from the same LEADLOOP_PG_* variables dbt's profile reads."""
    user = os.environ.get("LEADLOOP_PG_USER", "leadloop")
    password = os.environ.get("LEADLOOP_PG_PASSWORD", "")
    host = os.environ.get("LEADLOOP_PG_HOST", "127.0.0.1")
    port = os.environ.get("LEADLOOP_PG_PORT", "5432")
    database = os.environ.get("LEADLOOP_PG_DATABASE", "leadloop")
    auth = f"{user}:{password}" if password else user
    return f"postgresql://{auth}@{host}:{port}/{database}"


def dlt_pipeline(source_name: str, dataset_name: str | None = None) -> dlt.Pipeline:
    """The dlt pipeline of one source: dataset raw_<source> unless given, state beside the warehouse."""
    return dlt.pipeline(
        pipeline_name=f"leadloop_{source_name}",
        destination=dlt_destination(),
        dataset_name=dataset_name or f"raw_{source_name}",
        pipelines_dir=str(settings.dlt_pipelines_dir()),
        progress="log" if os.environ.get("LEADLOOP_DLT_PROGRESS") else None,
    )


class WarehouseInUse(RuntimeError):
    """Another process holds the DuckDB warehouse file, so the night cannot write to it."""


def ensure_writable() -> None:
    """Fail with what to do when another process holds the DuckDB file the night writes.

    DuckDB allows one process to open a file for writing, and none while another reads it; dlt
    reports the lock as a destination it cannot reach (credentials, network) after its retries, so
    the night checks first and names the holder. Readers belong on the published marts file.
    """
    if settings.warehouse_kind() != "duckdb" or not settings.duckdb_path().exists():
        return
    import duckdb

    try:
        duckdb.connect(str(settings.duckdb_path())).close()
    except duckdb.IOException as error:
        if "lock" not in str(error).lower():
            raise
        raise WarehouseInUse(
            f"the warehouse file {settings.duckdb_path()} is open in another process, so the night"
            f" cannot write to it ({str(error).splitlines()[0]}). Close that process; BI tools, notebooks"
            f" and analysts read the published marts, {settings.published_marts_path()}, which the night"
            " never locks") from None


def finish_pending_loads(pipeline: dlt.Pipeline) -> list[str]:
    """Normalizes and loads what an interrupted run left behind; the load ids it finished.

    Given new data while packages are pending, dlt's `run()` loads those packages and returns
    without extracting the new data (it only logs a warning), so a night after a crash would
    silently skip its own data. Finishing them first lets the run that follows extract as usual.
    """
    if not pipeline.has_pending_data:
        return []
    pending = [*pipeline.list_extracted_load_packages(), *pipeline.list_normalized_load_packages()]
    if pipeline.list_extracted_load_packages():
        pipeline.normalize()
    if pipeline.list_normalized_load_packages():
        pipeline.load()
    return pending


def _spark():
    from leadloop.spark import spark_session

    return spark_session()


def query(sql: str) -> tuple[list[str], list[tuple]]:
    """Column names and rows of a read-only query on the warehouse (DuckDB file, Postgres or Spark)."""
    if settings.warehouse_kind() == "spark":
        frame = _spark().sql(sql)
        return list(frame.columns), [tuple(row) for row in frame.collect()]
    if settings.warehouse_kind() == "duckdb":
        import duckdb

        with duckdb.connect(str(settings.duckdb_path()), read_only=True) as connection:
            cursor = connection.execute(sql)
            columns = [d[0] for d in cursor.description]
            return columns, cursor.fetchall()
    import psycopg2

    with psycopg2.connect(postgres_dsn()) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        return [d[0] for d in cursor.description], cursor.fetchall()


# What dbt's docs catalog reads: every relation's columns, types and comments (no row counts or sizes).
_CATALOG_SQL = {
    "duckdb": "select c.schema_name, c.table_name, c.column_index, c.column_name, c.data_type, c.comment,"
              " coalesce(t.comment, v.comment) from duckdb_columns() c"
              " left join duckdb_tables() t using (database_name, schema_name, table_name)"
              " left join duckdb_views() v on v.database_name = c.database_name"
              " and v.schema_name = c.schema_name and v.view_name = c.table_name"
              " where c.database_name = current_database() order by 1, 2, 3",
    "postgres": "select n.nspname, r.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),"
                " col_description(r.oid, a.attnum), obj_description(r.oid, 'pg_class')"
                " from pg_attribute a join pg_class r on r.oid = a.attrelid"
                " join pg_namespace n on n.oid = r.relnamespace"
                " where a.attnum > 0 and not a.attisdropped and r.relkind in ('r', 'v', 'm', 'p', 'f')"
                " and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'"
                " order by 1, 2, 3",
}


def catalog_digest() -> str | None:
    """A digest of every relation's columns, types and comments: what a docs catalog says of the warehouse.
    Equal digests mean an equal catalog. None where it is not worked out (Spark)."""
    sql = _CATALOG_SQL.get(settings.warehouse_kind())
    if sql is None:
        return None
    import hashlib

    _, rows = query(sql)
    return hashlib.sha256(repr(rows).encode("utf-8")).hexdigest()


def table_exists(schema: str, table: str) -> bool:
    """True when the warehouse has the table (dlt creates a raw table with its first rows)."""
    if settings.warehouse_kind() == "spark":
        return _spark().catalog.tableExists(f"{schema}.{table}")
    _, rows = query("select count(*) from information_schema.tables"
                    f" where table_schema = '{schema}' and table_name = '{table}'")
    return rows[0][0] > 0


def table_names() -> set[str]:
    """Every `schema.table` (views included) in the warehouse. Spark has no information_schema: its catalog."""
    if settings.warehouse_kind() == "spark":
        spark = _spark()
        return {f"{database.name}.{table.name}" for database in spark.catalog.listDatabases()
                for table in spark.catalog.listTables(database.name) if not table.isTemporary}
    _, rows = query("select table_schema || '.' || table_name from information_schema.tables")
    return {row[0] for row in rows}


def execute(sql: str) -> None:
    """Run one statement that changes the warehouse (DuckDB file, Postgres or Spark), committed."""
    if settings.warehouse_kind() == "spark":
        _spark().sql(sql)
        return
    if settings.warehouse_kind() == "duckdb":
        import duckdb

        with duckdb.connect(str(settings.duckdb_path())) as connection:
            connection.execute(sql)
        return
    import psycopg2

    with psycopg2.connect(postgres_dsn()) as connection, connection.cursor() as cursor:
        cursor.execute(sql)


def execute_in_one_transaction(statements: Sequence[str],
                               inserts: Sequence[tuple[str, Sequence[tuple]]] = ()) -> list[int]:
    """Run statements, then parameterised inserts (`?` placeholders, many rows each), in one transaction
    (DuckDB file or Postgres): all or nothing. The rows each statement touched, in order."""
    if settings.warehouse_kind() == "duckdb":
        import duckdb

        counts: list[int] = []
        with duckdb.connect(str(settings.duckdb_path())) as connection:
            connection.execute("begin transaction")
            for statement in statements:
                result = connection.execute(statement).fetchall()
                counts.append(int(result[0][0]) if result and len(result[0]) == 1
                              and isinstance(result[0][0], int) else 0)
            for insert, rows in inserts:
                if rows:
                    connection.executemany(insert, [list(row) for row in rows])
            connection.execute("commit")
        return counts
    import psycopg2

    counts = []
    with psycopg2.connect(postgres_dsn()) as connection, connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
            counts.append(max(cursor.rowcount, 0) if statement.lstrip().lower().startswith("delete") else 0)
        for insert, rows in inserts:
            if rows:
                cursor.executemany(insert.replace("?", "%s"), rows)
    return counts


@dataclass(frozen=True)
class Column:
    """A column of a table written from Python: its name, SQL type (valid on DuckDB and Postgres) and comment."""

    name: str
    sql_type: str
    comment: str


def replace_table(schema: str, table: str, comment: str, columns: list[Column], rows: list[tuple]) -> None:
    """Replace a table with these rows, its comment and its columns' comments, in one transaction, on
    the DuckDB file or Postgres. For tables computed in Python that BI reads beside dbt's (the comments
    are what a BI tool shows, as dbt's persist_docs gives its marts)."""
    definition = ", ".join(f'"{c.name}" {c.sql_type}' for c in columns)
    target = f'"{schema}"."{table}"'
    statements = [f"create schema if not exists \"{schema}\"", f"drop table if exists {target}",
                  f"create table {target} ({definition})",
                  f"comment on table {target} is {_literal(comment)}",
                  *(f'comment on column {target}."{c.name}" is {_literal(c.comment)}' for c in columns)]
    insert = f"insert into {target} values ({', '.join(['%s'] * len(columns))})"
    if settings.warehouse_kind() == "spark":
        _spark_replace_table(schema, table, comment, columns, rows)
        return
    if settings.warehouse_kind() == "duckdb":
        import duckdb

        with duckdb.connect(str(settings.duckdb_path())) as connection:
            connection.execute("begin transaction")
            for statement in statements:
                connection.execute(statement)
            if rows:
                connection.executemany(insert.replace("%s", "?"), rows)
            connection.execute("commit")
        return
    import psycopg2

    with psycopg2.connect(postgres_dsn()) as connection, connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
        if rows:
            cursor.executemany(insert, rows)


def replace_table_from_frame(schema: str, table: str, comment: str, columns: list[Column], frame) -> None:
    """replace_table for many rows held in a pandas DataFrame (columns in `columns` order): DuckDB inserts
    the frame in one statement and Postgres in pages, where a row-by-row insert of the 150,000 rows of the
    demo's lead model scores took tens of seconds."""
    definition = ", ".join(f'"{c.name}" {c.sql_type}' for c in columns)
    target = f'"{schema}"."{table}"'
    statements = [f"create schema if not exists \"{schema}\"", f"drop table if exists {target}",
                  f"create table {target} ({definition})",
                  f"comment on table {target} is {_literal(comment)}",
                  *(f'comment on column {target}."{c.name}" is {_literal(c.comment)}' for c in columns)]
    frame = frame[[c.name for c in columns]]
    if settings.warehouse_kind() == "spark":
        _spark_replace_table(schema, table, comment, columns,
                             [tuple(None if _missing(v) else v for v in row)
                              for row in frame.itertuples(index=False, name=None)])
        return
    if settings.warehouse_kind() == "duckdb":
        import duckdb

        with duckdb.connect(str(settings.duckdb_path())) as connection:
            connection.execute("begin transaction")
            for statement in statements:
                connection.execute(statement)
            connection.register("leadloop_rows", frame)
            connection.execute(f"insert into {target} select * from leadloop_rows")
            connection.execute("commit")
        return
    import psycopg2
    from psycopg2.extras import execute_values

    rows = [tuple(None if _missing(value) else value for value in row)
            for row in frame.itertuples(index=False, name=None)]
    with psycopg2.connect(postgres_dsn()) as connection, connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
        execute_values(cursor, f"insert into {target} values %s", rows, page_size=5000)


# Spark's names for the types Column.sql_type uses (one spelling for DuckDB and Postgres).
SPARK_TYPES = {"text": "string", "varchar": "string", "double precision": "double", "integer": "int",
               "timestamp with time zone": "timestamp", "timestamptz": "timestamp"}


def spark_type(sql_type: str) -> str:
    """A column type of DuckDB and Postgres as Spark spells it."""
    return SPARK_TYPES.get(sql_type.strip().lower(), sql_type)


def _spark_replace_table(schema: str, table: str, comment: str, columns: list[Column], rows: list[tuple]) -> None:
    """replace_table on Spark: a managed Parquet table with its comments (Spark has no transactions: the
    table is dropped and written again)."""
    spark = _spark()
    target = f"`{schema}`.`{table}`"
    definition = ", ".join(f"`{c.name}` {spark_type(c.sql_type)} comment {_literal(c.comment)}" for c in columns)
    spark.sql(f"create schema if not exists `{schema}`")
    spark.sql(f"drop table if exists {target}")
    spark.sql(f"create table {target} ({definition}) using parquet comment {_literal(comment)}")
    if rows:
        ddl = ", ".join(f"`{c.name}` {spark_type(c.sql_type)}" for c in columns)
        spark.createDataFrame(rows, schema=ddl).write.insertInto(f"{schema}.{table}")


def _missing(value: object) -> bool:
    """pandas' missing values (NaN, NaT, None), which Postgres takes as null."""
    import pandas as pd

    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _literal(text: str) -> str:
    """A SQL string literal (comments are our own text; quotes doubled all the same)."""
    return "'" + text.replace("'", "''") + "'"


# Rows of a DuckDB result turned into pandas at once when some columns are read as categoricals (in vectors
# of 2,048 rows): about half a million.
CATEGORICAL_CHUNK_VECTORS = 256


def read_table(schema: str, table: str, columns: Sequence[str] | None = None, categorical: Sequence[str] = ()):
    """A warehouse table (every row; only `columns` when given) as a pandas DataFrame, for Great
    Expectations, which validates frames. DuckDB hands over its columns directly: building the frame
    from Python tuples took 24 s for the 1.5 M rows of mart_lead_scores at 10x the demo.

    `categorical` columns come as pandas categoricals, read a chunk at a time: text repeated over millions
    of rows then never exists as whole text columns, in DuckDB's result or in pandas (the 9.8 M decayed
    touches at 10x the demo: 2.7 GiB at the peak of reading a 640 MiB frame; 0.9 GiB for 180 MiB so)."""
    import pandas as pd

    if settings.warehouse_kind() == "spark":
        frame = _spark().table(f"`{schema}`.`{table}`")
        return (frame.select(*columns) if columns else frame).toPandas()
    selected = ", ".join(f'"{column}"' for column in columns) if columns else "*"
    sql = f'select {selected} from "{schema}"."{table}"'
    if settings.warehouse_kind() == "duckdb":
        import duckdb

        with duckdb.connect(str(settings.duckdb_path()), read_only=True) as connection:
            result = connection.execute(sql)
            return _categorical_frame(result, categorical) if categorical else result.df()
    names, rows = query(sql)
    return pd.DataFrame(rows, columns=names).astype(dict.fromkeys(categorical, "category"))


def _categorical_frame(result, categorical: Sequence[str]):
    """A DuckDB result as one DataFrame, `categorical` columns as categoricals: converted chunk by chunk by
    DuckDB itself (every other column as `.df()` gives it), the chunks' categories then united."""
    import pandas as pd
    from pandas.api.types import union_categoricals

    chunks = []
    while True:
        chunk = result.fetch_df_chunk(CATEGORICAL_CHUNK_VECTORS)
        if chunks and chunk.empty:
            break
        chunks.append(chunk.astype(dict.fromkeys(categorical, "category")))
        if chunk.empty:
            return chunks[0]
    order = list(chunks[0].columns)
    frame = pd.concat([chunk.drop(columns=list(categorical)) for chunk in chunks], ignore_index=True)
    for column in categorical:
        frame[column] = union_categoricals([chunk[column] for chunk in chunks])
    return frame[order]


@dataclass(frozen=True)
class SourceLoad:
    """What the warehouse holds from one source: rows in its raw tables and its last load."""

    rows: int
    last_loaded_at: datetime


def source_loads() -> dict[str, SourceLoad]:
    """Per source (dataset raw_<source>): rows in its raw tables and when dlt last loaded it."""
    if settings.warehouse_kind() == "duckdb" and not settings.duckdb_path().exists():
        return {}  # nothing loaded yet
    tables = [tuple(name.split(".", 1)) for name in table_names()]
    raw = [(schema, table) for schema, table in tables
           if schema.startswith("raw_") and not schema.endswith("_staging") and not table.startswith("_dlt")]
    rows: dict[str, int] = {}
    for schema, table in raw:
        _, counted = query(f'select count(*) from "{schema}"."{table}"')
        rows[schema] = rows.get(schema, 0) + counted[0][0]
    loads = {}
    for schema, count in rows.items():
        if table_exists(schema, "_dlt_loads"):
            _, last = query(f'select max(inserted_at) from "{schema}"."_dlt_loads" where status = 0')
            if last[0][0] is not None:
                loads[schema.removeprefix("raw_")] = SourceLoad(count, last[0][0])
    return loads
