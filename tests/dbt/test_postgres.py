"""Acceptance: the same dlt source and dbt project run on a real PostgreSQL server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from contextlib import closing
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from leadloop import settings
from leadloop.demo.digital import business_day, simulate_digital
from leadloop.demo.truth import journeys_truth
from leadloop.settings import project_var
from tests.support.dbt import run_dbt
from tests.support.funnel import actual_funnel, expected_funnel, funnel_differences
from tests.support.marketing_truth import loaded_ad_days

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]


@pytest.fixture(scope="module")
def postgres_night(demo_night, postgres_server, demo_world):
    """The demo's sources loaded into PostgreSQL, dbt built there, the Python marts written and
    the marts published, as a night does (every source, the demo night's ad-report days), with dlt and dbt
    pointed at the server."""
    from leadloop.demo.serve import running_demo_sources
    from leadloop.extract.registry import SOURCES
    from leadloop.identity.load import load_observations
    from leadloop.orchestration.attribution import build_data_driven_attribution, reconciliation_problems
    from leadloop.orchestration.lead_score_model import build_lead_model_scores
    from leadloop.privacy.salt import write_marts_hash_key
    from leadloop.publish import publish_postgres_marts
    from leadloop.warehouse import dlt_pipeline

    with pytest.MonkeyPatch.context() as env:
        for key, value in postgres_server.environment().items():
            env.setenv(key, value)
        env.setenv("LEADLOOP_WAREHOUSE", "postgres")
        yesterday = (business_day(demo_world.as_of_ms) - timedelta(days=1)).isoformat()
        with running_demo_sources(demo_world):
            for platform in ("BAIDU_SEM", "OCEANENGINE"):
                env.setenv(f"SOURCES__{platform}__END_DATE", yesterday)
            for source in SOURCES:
                dlt_pipeline(source.name).run(source.factory()).raise_on_failed_jobs()
        load_observations()  # what the identity asset does between the raw tables and dbt,
        write_marts_hash_key()  # with the key the marts' hashes are salted with (the session's salt)
        result = _dbt("build")
        assert result.returncode == 0, result.stdout[-4000:]
        assert "ERROR=0" in result.stdout and "PASS=" in result.stdout
        # The next night's path on PostgreSQL: the incremental models delete what changed (here nothing)
        # and derive what they lack; the comparisons below then hold for the incremental result.
        again = _dbt("run", "--select", "config.materialized:incremental")
        assert again.returncode == 0 and "ERROR=0" in again.stdout, again.stdout[-4000:]
        # The Python mart the night writes between dbt and publication (its asset's body), so the
        # row-for-row comparison below covers it on both warehouses.
        build_data_driven_attribution()
        assert reconciliation_problems() == []
        # The fitted lead scorers' asset, the other Python step between dbt and publication (issue 12).
        build_lead_model_scores()
        publication = publish_postgres_marts("postgres-test-night")
        yield postgres_server, publication


def _dbt(*args: str) -> subprocess.CompletedProcess:
    # target/postgres (target/postgres-gw1 in a parallel worker: each worker has its own server and build)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    folder = f"postgres-{worker}" if worker else "postgres"
    return run_dbt(*args, "--target", "postgres", work_dir=settings.DBT_PROJECT_DIR / "target" / folder)


def _connect(server, **login):
    import psycopg2

    return psycopg2.connect(host="127.0.0.1", port=server.port, dbname=server.database,
                            **(login or {"user": server.user, "password": server.password}))


def test_dbt_build_passes_on_postgres_matches_truth_and_duckdb(postgres_night, demo_night, demo_world):
    server, _ = postgres_night
    with _connect(server) as connection:
        actual = actual_funnel(connection.cursor())
    ad_days = loaded_ad_days(demo_world, simulate_digital(demo_world))
    assert funnel_differences(expected_funnel(journeys_truth(demo_world), ad_days), actual) == []
    # Issue 4 acceptance 5: every mart has the same rows on both warehouses (the published ones).
    assert _mart_differences(demo_night, server) == {}
    # Issue 6 acceptance 5: the same persons and companies, under the same ids.
    for model in ("int_customer_ids_assigned", "int_account_ids_assigned"):
        assert _table_differences(demo_night, server, "intermediate", model) == {}, model


def test_the_marts_are_published_whole_with_their_comments(postgres_night):
    """Issue 14: schema marts is a copy of the build schema, swapped in with the night's record."""
    server, publication = postgres_night
    build = project_var("postgres_marts_build_schema")
    with _connect(server) as connection, connection.cursor() as cursor:
        cursor.execute("select table_schema, table_name from information_schema.tables"
                       " where table_schema in ('marts', %s)", [build])
        tables = cursor.fetchall()
        published = sorted(t for schema, t in tables if schema == "marts")
        assert published == sorted(t for schema, t in tables if schema == build) == sorted(publication.rows)
        for table in published:
            cursor.execute(f"select count(*) from marts.{table}")
            assert cursor.fetchone()[0] == publication.rows[table], table
        cursor.execute("select run_id from publication.night")
        assert cursor.fetchall() == [("postgres-test-night",)]
        cursor.execute("select count(*) from pg_description d join pg_class c on c.oid = d.objoid"
                       " join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'marts'")
        assert cursor.fetchone()[0] >= len(published) * 3  # table and column comments came along


def test_a_bi_role_reads_every_mart_and_nothing_else(postgres_night, tmp_path):
    """Issue 14 acceptance 4 / issue 15 acceptance 5, through the documented command."""
    import psycopg2

    server, publication = postgres_night
    environment = {**os.environ, **server.environment(), "LEADLOOP_WAREHOUSE": "postgres",
                   "LEADLOOP_BI_PASSWORD": "bi-secret-1"}
    command = subprocess.run([str(Path(sys.executable).with_name("leadloop")), "bi-role", "metabase"],
                             env=environment, capture_output=True, text=True, timeout=120, check=False)
    assert command.returncode == 0, command.stderr
    connection = _connect(server, user="metabase", password="bi-secret-1")
    connection.autocommit = True  # each refused statement on its own (`with connection` would open a transaction)
    with closing(connection), connection.cursor() as cursor:
        for table in publication.rows:
            cursor.execute(f"select count(*) from marts.{table}")
            assert cursor.fetchone()[0] == publication.rows[table]
        cursor.execute("select count(*) from labels.channel_labels")  # display names come with the marts
        assert cursor.fetchone()[0] > 10
        build = project_var("postgres_marts_build_schema")
        for closed in ("raw_neocrm.leads", "staging.stg_neocrm__leads", "intermediate.int_customer_ids_assigned",
                       f"{build}.mart_funnel", "identity.identifier_observations"):
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cursor.execute(f"select 1 from {closed} limit 1")
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cursor.execute("create table marts.mine (x int)")
    # the next publication re-grants the new schema
    from leadloop.publish import publish_postgres_marts

    with pytest.MonkeyPatch.context() as env:
        for key, value in server.environment().items():
            env.setenv(key, value)
        env.setenv("LEADLOOP_WAREHOUSE", "postgres")
        publish_postgres_marts("postgres-test-night-2")
    with _connect(server, user="metabase", password="bi-secret-1") as connection, connection.cursor() as cursor:
        cursor.execute("select run_id from publication.night")
        assert cursor.fetchall() == [("postgres-test-night-2",)]
        cursor.execute("select count(*) from marts.mart_funnel")
        assert cursor.fetchone()[0] == publication.rows["mart_funnel"]


def _table_differences(duckdb_path, server, schema: str, table: str) -> dict:
    """Rows only one warehouse has, a few of each."""
    import duckdb

    query = f"select * from {schema}.{table}"
    with duckdb.connect(str(duckdb_path), read_only=True) as duck, _connect(server) as pg, pg.cursor() as cursor:
        duck_rows = set(duck.execute(query).fetchall())
        cursor.execute(query)
        pg_rows = set(cursor.fetchall())
    assert duck_rows, f"{schema}.{table} is empty"
    only_duck, only_pg = duck_rows - pg_rows, pg_rows - duck_rows
    return {"duckdb_only": sorted(only_duck)[:3], "postgres_only": sorted(only_pg)[:3]} if only_duck or only_pg else {}


def _comparable(value: object) -> object:
    """One representation per value across drivers (Decimal vs float, aware vs naive time)."""
    if isinstance(value, (Decimal, float)):
        return Decimal(str(value)).normalize()
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return value


def _mart_rows(cursor, table: str) -> list[tuple]:
    cursor.execute(f"select * from marts.{table}")
    return sorted((tuple(_comparable(v) for v in row) for row in cursor.fetchall()), key=repr)


def _mart_differences(duckdb_path, server) -> dict:
    """Marts whose rows differ between the DuckDB file and the Postgres server, with a first example."""
    import duckdb

    with duckdb.connect(str(duckdb_path), read_only=True) as duck, _connect(server) as pg:
        marts = [row[0] for row in duck.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1").fetchall()]
        assert len(marts) >= 9
        differences = {}
        for mart in marts:
            duck_rows, pg_rows = _mart_rows(duck.cursor(), mart), _mart_rows(pg.cursor(), mart)
            if mart == "mart_data_sources":  # when each warehouse loaded differs: compare what fed what
                duck_rows, pg_rows = ([row[:3] + (row[5],) for row in rows] for rows in (duck_rows, pg_rows))
            if duck_rows != pg_rows:
                differences[mart] = (len(duck_rows), len(pg_rows),
                                     next((a, b) for a, b in zip(duck_rows, pg_rows) if a != b) if
                                     len(duck_rows) == len(pg_rows) else None)
    return differences


def test_the_docs_site_and_the_analyst_guide_work_on_postgres(postgres_night, demo_night, tmp_path):
    """Issue 14 (for analysts and BI) on PostgreSQL: the night's docs step writes its offline page with the
    catalog read from the server, and every query of README's analyst guide answers as on DuckDB (its
    metric questions through the metric layer's SQL for PostgreSQL, on the published schema)."""
    import duckdb

    from leadloop import metrics
    from leadloop.orchestration.dbt_project import dbt_cli_resource, leadloop_dbt_project
    from leadloop.orchestration.docs import generate_docs, remote_references
    from tests.test_analyst_guide import guide_metric_queries, guide_queries, metric_query_parts

    server, _ = postgres_night
    with pytest.MonkeyPatch.context() as env:
        for key, value in server.environment().items():
            env.setenv(key, value)
        env.setenv("LEADLOOP_WAREHOUSE", "postgres")
        page = generate_docs(dbt_cli_resource(leadloop_dbt_project()), tmp_path / "docs" / "index.html")
    html = page.read_text(encoding="utf-8")
    assert remote_references(html) == []
    # the catalog is the server's: the marts as dbt built them there, in the build schema
    catalogued = re.search(r'"model\.leadloop\.mart_funnel": \{"metadata": \{[^}]*"schema": "(\w+)"', html)
    assert catalogued and catalogued.group(1) == project_var("postgres_marts_build_schema")

    queries, metric_queries = guide_queries(), guide_metric_queries()
    assert len(queries) + len(metric_queries) == 10
    # The metric layer writes each metric question's SQL for PostgreSQL too (its published `marts`).
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LEADLOOP_WAREHOUSE", "postgres")
        on_server = {number: metrics.compile_sql(*metric_query_parts(arguments))
                     for number, arguments in metric_queries.items()}
    on_file = {number: metrics.compile_sql(*metric_query_parts(arguments))
               for number, arguments in metric_queries.items()}
    with duckdb.connect(str(settings.published_marts_path()), read_only=True) as duck, \
            _connect(server) as pg, pg.cursor() as cursor:
        for number, sql in [*queries.items(), *((n, (on_server[n], on_file[n])) for n in metric_queries)]:
            postgres_sql, duckdb_sql = sql if isinstance(sql, tuple) else (sql, sql)
            cursor.execute(postgres_sql)
            on_postgres = [tuple(_comparable(v) for v in row) for row in cursor.fetchall()]
            on_duckdb = [tuple(_comparable(v) for v in row) for row in duck.execute(duckdb_sql).fetchall()]
            assert on_postgres and on_postgres == on_duckdb, number
