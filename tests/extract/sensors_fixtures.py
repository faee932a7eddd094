"""Fixtures for the sensors source tests: the demo company's web events served over 127.0.0.1.

Kept out of tests/extract/conftest.py, which is shared with the other sources; the test modules
star-import the fixtures (see __all__) and import the helpers by name.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import dlt
import pytest

from leadloop.demo.digital import DigitalWorld, WebEvent, simulate_digital
from leadloop.demo.model import BUSINESS_TZ, World
from leadloop.demo.sensors_records import receive_ms, render
from leadloop.demo.simulators.sensors import SensorsSimulator
from leadloop.extract.sensors import STATE_KEY, sensors_source

# Star-imported by the test modules: pytest finds fixtures by name in a module's namespace.
__all__ = ["digital", "sensors_env", "sensors_pipeline", "sensors_sim", "today_rows"]

TOKEN = "sa-api-secret-for-tests"
PROJECT = "leadloop_demo"
DAY_MS = 86_400_000
DEFAULT_START = "2025-01-01 00:00:00"
RECENT_START = "2026-10-01 00:00:00"  # a shorter history for tests that need many runs


def wire_time(moment_ms: int) -> str:
    """Local China time as the API writes it (computed here, independently of the renderer)."""
    moment = datetime.fromtimestamp(moment_ms / 1000, BUSINESS_TZ)
    return f"{moment:%Y-%m-%d %H:%M:%S}.{moment_ms % 1000:03d}"


def local_ms(text: str) -> int:
    """Epoch ms of a local 'YYYY-MM-DD HH:MM:SS[.fff]' text."""
    pattern = "%Y-%m-%d %H:%M:%S.%f" if "." in text else "%Y-%m-%d %H:%M:%S"
    return int(datetime.strptime(text, pattern).replace(tzinfo=BUSINESS_TZ).timestamp() * 1000)


def served_events(digital: DigitalWorld, as_of_ms: int, start: str = DEFAULT_START) -> list[WebEvent]:
    """Events the source must load at an instant: received by then, at or after the start time."""
    first = local_ms(start)
    return [e for e in digital.web_events if e.time_ms >= first and receive_ms(e) <= as_of_ms]


def wire_distinct_id(event: WebEvent) -> str:
    """The distinct_id Sensors shows: the login id once the visitor has one (ID-Mapping 1.0)."""
    return event.login_id or event.distinct_id


@pytest.fixture(scope="module")
def digital(demo_world: World) -> DigitalWorld:
    """The demo company's digital traces (web events among them)."""
    return simulate_digital(demo_world)


@pytest.fixture(scope="module")
def today_rows(demo_world: World, digital: DigitalWorld) -> list[dict[str, Any]]:
    """The event rows Sensors serves on the demo's today (rendered once per module)."""
    return render(demo_world, digital)


@pytest.fixture
def sensors_sim(today_rows: list[dict[str, Any]]) -> Iterator[SensorsSimulator]:
    """The Sensors simulator serving the demo company's events as of its today."""
    sim = SensorsSimulator(today_rows, token=TOKEN, project=PROJECT)
    with sim:
        yield sim


@pytest.fixture
def sensors_env(monkeypatch: pytest.MonkeyPatch, sensors_sim: SensorsSimulator) -> SensorsSimulator:
    """Points the source at the simulator through environment variables only, with fast retries."""
    env = {
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "SOURCES__SENSORS__BASE_URL": sensors_sim.base_url,
        "SOURCES__SENSORS__TOKEN": TOKEN,
        "SOURCES__SENSORS__PROJECT": PROJECT,
        "SOURCES__SENSORS__MAX_TRIES": "4",
        "SOURCES__SENSORS__BACKOFF_SECONDS": "0.01",
    }
    for key in ("START_TIME", "END_TIME", "LOOKBACK_HOURS", "WINDOW_HOURS", "CONCURRENCY", "BATCH_BYTES"):
        monkeypatch.delenv(f"SOURCES__SENSORS__{key}", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return sensors_sim


@pytest.fixture
def sensors_pipeline(tmp_path: Path) -> dlt.Pipeline:
    """A DuckDB pipeline into `raw_sensors`, private to the test."""
    return dlt.pipeline(
        pipeline_name="sensors_test",
        destination=dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
        dataset_name="raw_sensors",
        pipelines_dir=str(tmp_path / "pipelines"),
    )


def run_sensors(pipeline: dlt.Pipeline) -> dict[str, int]:
    """Runs a fresh sensors source and returns rows loaded per table (data tables only)."""
    pipeline.run(sensors_source())
    counts = pipeline.last_trace.last_normalize_info.row_counts
    return {table: n for table, n in counts.items() if not table.startswith("_dlt")}


def rows(pipeline: dlt.Pipeline, sql: str) -> list[tuple[Any, ...]]:
    """Runs a query against the pipeline's dataset."""
    with pipeline.sql_client() as client:
        return [tuple(row) for row in client.execute_sql(sql)]


def cursor(pipeline: dlt.Pipeline) -> str:
    """The latest event time the pipeline has loaded (its incremental state)."""
    return str(pipeline.state["sources"]["sensors"]["resources"]["events"][STATE_KEY])
