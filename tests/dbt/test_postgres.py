"""Acceptance: the same dlt source and dbt project run on a real PostgreSQL server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from demo.truth import journeys_truth
from leadloop import settings
from tests.support.funnel import actual_funnel, expected_funnel, funnel_differences

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def postgres_warehouse(postgres_server, monkeypatch):
    """Point dlt and dbt at the Postgres server for one test."""
    for key, value in postgres_server.environment().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LEADLOOP_WAREHOUSE", "postgres")
    monkeypatch.setenv("LEADLOOP_DBT_TARGET", "postgres")
    return postgres_server


def _dbt(*args: str) -> subprocess.CompletedProcess:
    dbt = Path(sys.executable).with_name("dbt")
    return subprocess.run(
        [str(dbt), *args, "--project-dir", str(settings.DBT_PROJECT_DIR),
         "--profiles-dir", str(settings.DBT_PROJECT_DIR), "--target", "postgres",
         "--target-path", "target/postgres"],
        check=False, capture_output=True, text=True, env=os.environ.copy(), cwd=settings.DBT_PROJECT_DIR,
    )


def test_dbt_build_passes_on_postgres_and_matches_truth(postgres_warehouse, demo_world):
    import psycopg2

    from leadloop.demo_sources import running_demo_sources
    from leadloop.warehouse import dlt_pipeline
    from orchestration.extract import SOURCES

    with running_demo_sources(demo_world):
        for name, source_factory in SOURCES.items():  # every source, as the nightly job loads them
            dlt_pipeline(name).run(source_factory()).raise_on_failed_jobs()

    result = _dbt("build")
    assert result.returncode == 0, result.stdout[-4000:]
    assert "ERROR=0" in result.stdout and "PASS=" in result.stdout

    server = postgres_warehouse
    with psycopg2.connect(host="127.0.0.1", port=server.port, user=server.user, password=server.password,
                          dbname=server.database) as connection:
        actual = actual_funnel(connection.cursor())
    assert funnel_differences(expected_funnel(journeys_truth(demo_world)), actual) == []
