"""Acceptance: the same dlt source and dbt project run on a real PostgreSQL server."""

from __future__ import annotations

import os
import subprocess
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from leadloop import settings
from leadloop.demo.digital import business_day, simulate_digital
from leadloop.demo.truth import journeys_truth
from tests.support.dbt import run_dbt
from tests.support.funnel import actual_funnel, expected_funnel, funnel_differences
from tests.support.marketing_truth import loaded_ad_days

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]


@pytest.fixture
def postgres_warehouse(postgres_server, monkeypatch):
    """Point dlt and dbt at the Postgres server for one test."""
    for key, value in postgres_server.environment().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LEADLOOP_WAREHOUSE", "postgres")
    return postgres_server


def _dbt(*args: str) -> subprocess.CompletedProcess:
    return run_dbt(*args, "--target", "postgres", work_dir=settings.DBT_PROJECT_DIR / "target" / "postgres")


def test_dbt_build_passes_on_postgres_matches_truth_and_duckdb(demo_night, postgres_warehouse, demo_world):
    import psycopg2

    from leadloop.demo.serve import running_demo_sources
    from leadloop.extract.registry import SOURCES
    from leadloop.identity.load import load_observations
    from leadloop.warehouse import dlt_pipeline

    yesterday = (business_day(demo_world.as_of_ms) - timedelta(days=1)).isoformat()
    with running_demo_sources(demo_world):
        # Every source, with the same ad-report days as the demo night (up to the demo's yesterday).
        for platform in ("BAIDU_SEM", "OCEANENGINE"):
            os.environ[f"SOURCES__{platform}__END_DATE"] = yesterday
        for source in SOURCES:
            dlt_pipeline(source.name).run(source.factory()).raise_on_failed_jobs()
    load_observations()  # what the identity asset does between the raw tables and dbt

    result = _dbt("build")
    assert result.returncode == 0, result.stdout[-4000:]
    assert "ERROR=0" in result.stdout and "PASS=" in result.stdout

    server = postgres_warehouse
    with psycopg2.connect(host="127.0.0.1", port=server.port, user=server.user, password=server.password,
                          dbname=server.database) as connection:
        actual = actual_funnel(connection.cursor())
    ad_days = loaded_ad_days(demo_world, simulate_digital(demo_world))
    assert funnel_differences(expected_funnel(journeys_truth(demo_world), ad_days), actual) == []
    # Issue 4 acceptance 5: every mart has the same rows on both warehouses.
    assert _mart_differences(demo_night, server) == {}
    # Issue 6 acceptance 5: the same persons and companies, under the same ids.
    for model in ("int_customer_ids_assigned", "int_account_ids_assigned"):
        assert _table_differences(demo_night, server, "intermediate", model) == {}, model


def _table_differences(duckdb_path, server, schema: str, table: str) -> dict:
    """Rows only one warehouse has, a few of each."""
    import duckdb
    import psycopg2

    query = f"select * from {schema}.{table}"
    with duckdb.connect(str(duckdb_path), read_only=True) as duck, psycopg2.connect(
            host="127.0.0.1", port=server.port, user=server.user, password=server.password,
            dbname=server.database) as pg, pg.cursor() as cursor:
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
    import psycopg2

    with duckdb.connect(str(duckdb_path), read_only=True) as duck, psycopg2.connect(
            host="127.0.0.1", port=server.port, user=server.user, password=server.password,
            dbname=server.database) as pg:
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
