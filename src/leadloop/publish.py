"""Publishing a night's marts for readers, so BI never reads what the night is writing.

DuckDB has one writer per file, and a reader holding the night's file open makes the night's loads
fail on its lock (a BI tool's connection pool does exactly that). So readers never open the work
file: when a night's marts are built and every blocking check has passed, they are copied into a
new file beside it, which then replaces the published file in one rename. A reader opens the
published file read-only and sees one whole night — yesterday's until the rename, tonight's after
it (a connection already open keeps reading the file it opened).

On PostgreSQL dbt builds the marts into their own schema (var postgres_marts_build_schema) and one
transaction replaces schema `marts` with a copy of it, re-granting the readers' role; a reader's
query waits for that commit at most, and sees the whole previous or the whole new night.

A night that fails before this step leaves yesterday's published marts as they were. (architecture §1)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from leadloop import settings

MARTS_SCHEMA = "marts"
# The PostgreSQL role BI logins are members of: what it may read is granted at every publication.
READERS_ROLE = "leadloop_readers"
# Beside the marts in the published file: which night it holds and what every mart held then.
PUBLICATION_SCHEMA = "publication"
# Display names (Chinese and English) of channels and stages, from the seeds of the same names: in
# the published file beside the marts, so BI and the cockpit label a night with that night's names.
LABELS_SCHEMA = "labels"
LABEL_SEEDS = ("channel_labels", "funnel_stage_labels")
SEEDS_SCHEMA = "seeds"


@dataclass(frozen=True)
class Publication:
    """One night's published marts: where, from which run, and the rows of every mart."""

    path: Path
    run_id: str
    published_at: datetime
    rows: dict[str, int]


def marts_build_schema() -> str:
    """The schema dbt builds the marts into: `marts` of the DuckDB work file, or on PostgreSQL the
    schema that is published into `marts` (macro generate_schema_name reads the same var)."""
    if settings.warehouse_kind() == "duckdb":
        return MARTS_SCHEMA
    return settings.project_var("postgres_marts_build_schema")


def publish_marts(run_id: str) -> Publication:
    """Publish the night's marts on the configured warehouse."""
    if settings.warehouse_kind() == "duckdb":
        return publish_duckdb_marts(run_id)
    return publish_postgres_marts(run_id)


def publish_duckdb_marts(run_id: str) -> Publication:
    """Copy every table of the work file's `marts` schema (with its comments) into a new file and
    rename it over the published one. Runs in the night's process, after dbt, as the only writer."""
    import duckdb

    work, published = settings.duckdb_path(), settings.published_marts_path()
    if published == work:
        raise ValueError(f"LEADLOOP_PUBLISHED_PATH must differ from the warehouse file {work}")
    published.parent.mkdir(parents=True, exist_ok=True)
    for leftover in published.parent.glob(f".{published.name}.*.building*"):
        leftover.unlink()  # a copy a crashed night left half-written, and its write-ahead log (.building.wal)
    building = published.with_name(f".{published.name}.{run_id}.building")
    published_at = datetime.now(UTC)
    with duckdb.connect(str(work)) as connection:
        tables = [name for (name,) in connection.execute(
            "select table_name from duckdb_tables() where database_name = current_database()"
            " and schema_name = ? order by table_name", [MARTS_SCHEMA]).fetchall()]
        connection.execute(f"attach '{_quoted(building)}' as publishing")
        try:
            rows = _copy_marts(connection, tables)
            _copy_labels(connection)
            _record_publication(connection, run_id, published_at, rows)
        finally:
            connection.execute("detach publishing")  # checkpoints: the file is whole, no WAL beside it
    _make_durable(building)
    os.replace(building, published)
    _make_durable(published.parent)
    return Publication(published, run_id, published_at, rows)


def _copy_marts(connection, tables: list[str]) -> dict[str, int]:
    """Each mart as a table of the publishing file, with its table and column comments."""
    connection.execute(f"create schema publishing.{MARTS_SCHEMA}")
    rows = {}
    for table in tables:
        target = f'publishing.{MARTS_SCHEMA}."{table}"'
        connection.execute(f'create table {target} as select * from {MARTS_SCHEMA}."{table}"')
        rows[table] = connection.execute(f"select count(*) from {target}").fetchone()[0]
    comments = connection.execute(
        "select table_name, null, comment from duckdb_tables()"
        " where database_name = current_database() and schema_name = ? and comment is not null"
        " union all select table_name, column_name, comment from duckdb_columns()"
        " where database_name = current_database() and schema_name = ? and comment is not null",
        [MARTS_SCHEMA, MARTS_SCHEMA]).fetchall()
    for table, column, comment in comments:
        if table not in rows:
            continue  # a view: not published
        target = f'publishing.{MARTS_SCHEMA}."{table}"' + (f'."{column}"' if column else "")
        connection.execute(f"comment on {'column' if column else 'table'} {target} is '{_quoted(comment)}'")
    return rows


def _copy_labels(connection) -> None:
    """The display-name seeds into schema `labels` of the publishing file (those the work file has)."""
    present = {name for (name,) in connection.execute(
        "select table_name from duckdb_tables() where database_name = current_database() and schema_name = ?",
        [SEEDS_SCHEMA]).fetchall()}
    connection.execute(f"create schema publishing.{LABELS_SCHEMA}")
    for seed in LABEL_SEEDS:
        if seed in present:
            connection.execute(f'create table publishing.{LABELS_SCHEMA}."{seed}" as'
                               f' select * from {SEEDS_SCHEMA}."{seed}"')


def _record_publication(connection, run_id: str, published_at: datetime, rows: dict[str, int]) -> None:
    """publication.night (one row: the run and when) and publication.marts (rows of each mart)."""
    connection.execute(f"create schema publishing.{PUBLICATION_SCHEMA}")
    connection.execute(f"create table publishing.{PUBLICATION_SCHEMA}.night"
                       " (run_id varchar not null, published_at timestamptz not null)")
    connection.execute(f"insert into publishing.{PUBLICATION_SCHEMA}.night values (?, ?)", [run_id, published_at])
    connection.execute(f"create table publishing.{PUBLICATION_SCHEMA}.marts"
                       " (table_name varchar not null, row_count bigint not null)")
    if rows:
        connection.executemany(f"insert into publishing.{PUBLICATION_SCHEMA}.marts values (?, ?)",
                               list(rows.items()))


def publish_postgres_marts(run_id: str) -> Publication:
    """In one transaction: copy every table of the build schema (with comments) into a new schema,
    drop `marts`, rename the new schema to `marts`, grant it to the readers' role, record the night."""
    import psycopg2
    from psycopg2 import sql

    from leadloop.warehouse import postgres_dsn

    build, incoming = marts_build_schema(), f"{MARTS_SCHEMA}__incoming"
    published_at = datetime.now(UTC)
    with psycopg2.connect(postgres_dsn()) as connection, connection.cursor() as cursor:
        cursor.execute("select table_name from information_schema.tables where table_schema = %s"
                       " and table_type = 'BASE TABLE' order by table_name", [build])
        tables = [name for (name,) in cursor.fetchall()]
        if not tables:
            raise RuntimeError(f"schema {build} holds no mart to publish: has dbt built the marts?")
        cursor.execute(sql.SQL("drop schema if exists {} cascade; create schema {}").format(
            sql.Identifier(incoming), sql.Identifier(incoming)))
        rows = {}
        for table in tables:
            source, target = sql.Identifier(build, table), sql.Identifier(incoming, table)
            cursor.execute(sql.SQL("create table {} as table {}").format(target, source))
            cursor.execute(sql.SQL("select count(*) from {}").format(target))
            rows[table] = cursor.fetchone()[0]
        _copy_postgres_comments(cursor, build, incoming)
        # From here to the commit readers of `marts` wait; before it they read the previous night.
        cursor.execute(sql.SQL("drop schema if exists {} cascade; alter schema {} rename to {}").format(
            sql.Identifier(MARTS_SCHEMA), sql.Identifier(incoming), sql.Identifier(MARTS_SCHEMA)))
        _copy_postgres_labels(cursor)
        _grant_to_readers(cursor)
        cursor.execute(sql.SQL(
            "create schema if not exists {schema};"
            " create table if not exists {schema}.night (run_id text not null, published_at timestamptz not null);"
            " create table if not exists {schema}.marts (table_name text not null, row_count bigint not null);"
            " truncate {schema}.night, {schema}.marts").format(schema=sql.Identifier(PUBLICATION_SCHEMA)))
        cursor.execute(sql.SQL("insert into {} values (%s, %s)").format(
            sql.Identifier(PUBLICATION_SCHEMA, "night")), [run_id, published_at])
        cursor.executemany(sql.SQL("insert into {} values (%s, %s)").format(
            sql.Identifier(PUBLICATION_SCHEMA, "marts")), list(rows.items()))
    return Publication(Path(f"postgresql:{MARTS_SCHEMA}"), run_id, published_at, rows)


def _copy_postgres_labels(cursor) -> None:
    """The display-name seeds into schema `labels`, replaced in the publishing transaction."""
    from psycopg2 import sql

    cursor.execute(sql.SQL("drop schema if exists {schema} cascade; create schema {schema}").format(
        schema=sql.Identifier(LABELS_SCHEMA)))
    cursor.execute("select table_name from information_schema.tables where table_schema = %s", [SEEDS_SCHEMA])
    present = {name for (name,) in cursor.fetchall()}
    for seed in LABEL_SEEDS:
        if seed in present:
            cursor.execute(sql.SQL("create table {} as table {}").format(
                sql.Identifier(LABELS_SCHEMA, seed), sql.Identifier(SEEDS_SCHEMA, seed)))


def _copy_postgres_comments(cursor, source_schema: str, target_schema: str) -> None:
    """dbt's persist_docs comments of the build schema's tables and columns, onto their copies."""
    from psycopg2 import sql

    cursor.execute(
        "select c.relname, a.attname, d.description from pg_description d"
        " join pg_class c on c.oid = d.objoid join pg_namespace n on n.oid = c.relnamespace"
        " left join pg_attribute a on a.attrelid = c.oid and a.attnum = d.objsubid and d.objsubid > 0"
        " where n.nspname = %s and d.classoid = 'pg_class'::regclass", [source_schema])
    for table, column, comment in cursor.fetchall():
        if column is None:
            cursor.execute(sql.SQL("comment on table {} is %s").format(
                sql.Identifier(target_schema, table)), [comment])
        else:
            cursor.execute(sql.SQL("comment on column {} is %s").format(
                sql.Identifier(target_schema, table, column)), [comment])


def _grant_to_readers(cursor) -> None:
    """The readers' role may use `marts` and select its tables (and the publication record)."""
    from psycopg2 import sql

    cursor.execute("select 1 from pg_roles where rolname = %s", [READERS_ROLE])
    if cursor.fetchone() is None:
        return  # no BI role created yet (`leadloop bi-role` creates it)
    for schema in (MARTS_SCHEMA, PUBLICATION_SCHEMA, LABELS_SCHEMA):
        cursor.execute(sql.SQL("create schema if not exists {schema};"
                               " grant usage on schema {schema} to {role};"
                               " grant select on all tables in schema {schema} to {role}").format(
            schema=sql.Identifier(schema), role=sql.Identifier(READERS_ROLE)))


def create_bi_role(login: str, password: str) -> None:
    """A PostgreSQL login that reads the published marts and nothing else (member of the readers'
    role; raw, staging, intermediate and the build schema stay closed to it). Running it again
    updates the password."""
    import psycopg2
    from psycopg2 import sql

    from leadloop.warehouse import postgres_dsn

    if settings.warehouse_kind() != "postgres":
        raise ValueError("a BI role is a PostgreSQL role: set LEADLOOP_WAREHOUSE=postgres and LEADLOOP_PG_*"
                         " (on DuckDB, readers open the published file read-only)")
    with psycopg2.connect(postgres_dsn()) as connection, connection.cursor() as cursor:
        for role, options in ((READERS_ROLE, sql.SQL("nologin")), (login, sql.SQL("login"))):
            cursor.execute("select 1 from pg_roles where rolname = %s", [role])
            verb = "alter" if cursor.fetchone() else "create"
            cursor.execute(sql.SQL(f"{verb} role {{}} with {{}} nocreatedb nocreaterole").format(
                sql.Identifier(role), options))
        cursor.execute(sql.SQL("alter role {} with password %s").format(sql.Identifier(login)), [password])
        cursor.execute(sql.SQL("grant {} to {}").format(sql.Identifier(READERS_ROLE), sql.Identifier(login)))
        cursor.execute("select current_database()")
        cursor.execute(sql.SQL("grant connect on database {} to {}").format(
            sql.Identifier(cursor.fetchone()[0]), sql.Identifier(READERS_ROLE)))
        _grant_to_readers(cursor)


def _make_durable(path: Path) -> None:
    """fsync a file or folder, so a power cut after the rename cannot leave a published file half on disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _quoted(text: object) -> str:
    return str(text).replace("'", "''")


def query_published(*statements: str) -> list[tuple[list[str], list[tuple]]]:
    """Column names and rows of each query, on the published marts as a reader sees them, in one
    connection (one night): the published DuckDB file opened read-only (never the night's file), or
    PostgreSQL, whose `marts` is the published schema. Display names are in schema `labels` of the
    DuckDB file, `seeds` on PostgreSQL (`labels_schema()`)."""
    with published_reader() as query:
        return [query(sql) for sql in statements]


@contextmanager
def published_reader() -> Iterator[Callable[[str], tuple[list[str], list[tuple]]]]:
    """A query function (SQL → column names, rows) on one read-only connection to the published marts,
    so several queries see one night: the published DuckDB file (never the night's file), or PostgreSQL."""
    if settings.warehouse_kind() == "duckdb":
        import duckdb

        path = settings.published_marts_path()
        if not path.exists():
            raise FileNotFoundError(f"no published marts at {path}: a night publishes them (`leadloop demo`"
                                    " or `leadloop night`), or set LEADLOOP_PUBLISHED_PATH")
        connect = partial(duckdb.connect, str(path), read_only=True)
    else:
        import psycopg2

        from leadloop.warehouse import postgres_dsn

        connect = partial(psycopg2.connect, postgres_dsn())
    with closing(connect()) as connection:
        cursor = connection.cursor()

        def query(sql: str) -> tuple[list[str], list[tuple]]:
            cursor.execute(sql)
            return [d[0] for d in cursor.description], cursor.fetchall()

        yield query


def labels_schema() -> str:
    """Where a reader finds the display-name seeds: schema `labels`, published with the marts (in the
    published DuckDB file, or on PostgreSQL beside `marts`, readable by the readers' role)."""
    return LABELS_SCHEMA


@dataclass(frozen=True)
class PublishedNight:
    """What one reader's connection sees in the published file: the night, and whether every mart
    holds the rows publishing recorded for it (a file mixing two nights would not)."""

    run_id: str
    published_at: datetime
    marts: int
    whole: bool


def read_published_night(path: Path | None = None) -> PublishedNight:
    """Open the published file read-only, as a BI tool does, and check it against its own record."""
    import duckdb

    with duckdb.connect(str(path or settings.published_marts_path()), read_only=True) as connection:
        run_id, published_at = connection.execute(
            f"select run_id, published_at from {PUBLICATION_SCHEMA}.night").fetchone()
        recorded = dict(connection.execute(f"select table_name, row_count from {PUBLICATION_SCHEMA}.marts").fetchall())
        present = {name for (name,) in connection.execute(
            "select table_name from duckdb_tables() where schema_name = ?", [MARTS_SCHEMA]).fetchall()}
        counted = {table: connection.execute(f'select count(*) from {MARTS_SCHEMA}."{table}"').fetchone()[0]
                   for table in present}
    return PublishedNight(run_id, published_at, len(counted), whole=counted == recorded)
