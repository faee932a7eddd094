"""Acceptance (issue 5): Dagster with PostgreSQL run and event storage runs the nightly job."""

from __future__ import annotations

import shutil

import dagster as dg
import psycopg2
import pytest

from leadloop import settings

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]


def test_nightly_job_runs_on_postgres_storage(postgres_server, warehouse_copy, demo_world, tmp_path,
                                               monkeypatch):
    """The nightly job, on top of the session's warehouse, recorded in Postgres: its WeCom step (a
    source's load and its blocking audits) is enough to exercise run and event storage, schedules
    aside; the whole graph's run is the session night's."""
    from leadloop.demo.serve import running_demo_sources
    from leadloop.orchestration.extract import raw_asset_keys
    from leadloop.orchestration.launch import run_job

    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(settings.PROJECT_ROOT / "deploy" / "dagster-postgres" / "dagster.yaml", dagster_home)
    database = postgres_server.create_database("dagster_storage")
    for key, value in {"DAGSTER_HOME": str(dagster_home), "DAGSTER_PG_HOST": "127.0.0.1",
                       "DAGSTER_PG_PORT": str(postgres_server.port), "DAGSTER_PG_USER": postgres_server.user,
                       "DAGSTER_PG_PASSWORD": postgres_server.password, "DAGSTER_PG_DB": database}.items():
        monkeypatch.setenv(key, value)

    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        with running_demo_sources(demo_world, ["wecom"]):
            result = run_job("nightly_refresh", instance, asset_selection=raw_asset_keys(["wecom"]))
        assert result.success
        assert instance.get_run_by_id(result.run_id).status == dg.DagsterRunStatus.SUCCESS

    with psycopg2.connect(host="127.0.0.1", port=postgres_server.port, user=postgres_server.user,
                          password=postgres_server.password, dbname=database) as connection, \
            connection.cursor() as cursor:
        cursor.execute("select count(*) from runs where run_id = %s", (result.run_id,))
        assert cursor.fetchone()[0] == 1
        cursor.execute("select count(*) from event_logs where run_id = %s", (result.run_id,))
        assert cursor.fetchone()[0] > 20
