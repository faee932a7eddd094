"""Fixtures for the Salesforce tests: the demo company's CRM served as a Salesforce org on 127.0.0.1.

Import the fixtures you use into the test module (pytest finds fixtures by module namespace).
The world is the session's `demo_world` (tests/conftest.py): never mutate it; mutate the
rendered records instead, which are fresh for every test.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import pytest

from demo.digital import simulate_digital
from demo.model import World
from demo.salesforce_records import render
from demo.salesforce_shape import OrgShape
from demo.simulators.salesforce import SalesforceSimulator
from extract.salesforce import salesforce_source

Records = dict[str, list[dict[str, Any]]]

CLIENT_ID, CLIENT_SECRET = "leadloop-sf-test", "sf-s3cret"
USERNAME, PASSWORD, SECURITY_TOKEN = "api@leadloop.test", "pass-word", "T0KEN"
BATCH_SIZE = 200  # the smallest page Salesforce allows: leads and history span several pages
DAY_MS = 86_400_000


@pytest.fixture(scope="session")
def sf_demo_records(demo_world: World) -> Records:
    """The demo org as of the demo's today, rendered once per session (never mutate it)."""
    return render(demo_world, simulate_digital(demo_world), demo_world.as_of_ms)


@pytest.fixture
def sf_records(sf_demo_records: Records) -> Records:
    """A private copy of the demo org for one test (free to mutate)."""
    return copy.deepcopy(sf_demo_records)


@pytest.fixture
def sf_simulator(sf_records: Records) -> Iterator[SalesforceSimulator]:
    """The Salesforce simulator serving `sf_records` on a free 127.0.0.1 port."""
    sim = SalesforceSimulator(
        sf_records,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        username=USERNAME,
        password=PASSWORD + SECURITY_TOKEN,
    )
    with sim:
        yield sim


@pytest.fixture
def sf_env(monkeypatch: pytest.MonkeyPatch, sf_simulator: SalesforceSimulator) -> SalesforceSimulator:
    """Points the source at the simulator through environment variables only, with fast retries."""
    env = {
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "SOURCES__SALESFORCE__LOGIN_URL": sf_simulator.login_url,
        "SOURCES__SALESFORCE__CLIENT_ID": CLIENT_ID,
        "SOURCES__SALESFORCE__CLIENT_SECRET": CLIENT_SECRET,
        "SOURCES__SALESFORCE__USERNAME": USERNAME,
        "SOURCES__SALESFORCE__PASSWORD": PASSWORD,
        "SOURCES__SALESFORCE__SECURITY_TOKEN": SECURITY_TOKEN,
        "SOURCES__SALESFORCE__BATCH_SIZE": str(BATCH_SIZE),
        "SOURCES__SALESFORCE__MAX_TRIES": "4",
        "SOURCES__SALESFORCE__BACKOFF_SECONDS": "0.01",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return sf_simulator


@pytest.fixture
def sf_pipeline(tmp_path: Path) -> dlt.Pipeline:
    """A DuckDB pipeline into `raw_salesforce`, private to the test."""
    return dlt.pipeline(
        pipeline_name="salesforce_test",
        destination=dlt.destinations.duckdb(str(tmp_path / "sf.duckdb")),
        dataset_name="raw_salesforce",
        pipelines_dir=str(tmp_path / "pipelines"),
    )


def serve_shape(simulator: SalesforceSimulator, world: World, shape: OrgShape) -> Records:
    """Serves the demo org as an org of `shape` (as of the demo's today); returns what it serves."""
    records = render(world, None, world.as_of_ms, shape=shape)
    simulator.set_records(records, shape)
    return records


def table_names(pipeline: dlt.Pipeline) -> set[str]:
    """Tables in the pipeline's dataset (dlt's own included)."""
    return {row[0] for row in rows(pipeline, "select table_name from information_schema.tables"
                                             " where table_schema = 'raw_salesforce'")}


def columns_of(pipeline: dlt.Pipeline, table: str) -> dict[str, str]:
    """Column name → DuckDB type of a raw table, without dlt's load columns."""
    described = rows(pipeline, f"select column_name, column_type from (describe {table})")
    return {name: kind for name, kind in described if not name.startswith("_dlt")}


def run_salesforce(pipeline: dlt.Pipeline, source: dlt.sources.DltSource | None = None) -> dict[str, int]:
    """Runs a fresh salesforce source and returns rows loaded per table (data tables only)."""
    pipeline.run(source if source is not None else salesforce_source())
    counts = pipeline.last_trace.last_normalize_info.row_counts
    return {table: n for table, n in counts.items() if not table.startswith("_dlt")}


def rows(pipeline: dlt.Pipeline, sql: str) -> list[tuple[Any, ...]]:
    """Runs a query against the pipeline's dataset."""
    with pipeline.sql_client() as client:
        return [tuple(row) for row in client.execute_sql(sql)]
