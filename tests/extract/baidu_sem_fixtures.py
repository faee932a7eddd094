"""Fixtures for the baidu_sem tests: the default demo world served by the 百度营销 simulator.

Test modules import the `*_fixture` functions; pytest knows them by their short names.
Expectations are computed from the demo world (`leadloop.demo.digital`) directly, never from the
renderer's output alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import dlt
import pytest

from leadloop.demo.baidu_sem_records import render
from leadloop.demo.digital import DigitalWorld, business_day, reported_ad_day, simulate_digital
from leadloop.demo.model import DAY_MS, World, to_ms
from leadloop.demo.simulators.baidu_sem import BaiduSemSimulator
from leadloop.extract.baidu_sem import baidu_sem_source

USERNAME = "leadloop-demo-百度"
ACCESS_TOKEN, REFRESH_TOKEN = "demo-access-token", "demo-refresh-token"
APP_ID, SECRET_KEY = "leadloop-demo-app", "demo-secret-key"
ROW_COUNT = 1000
LOOKBACK_DAYS = 7
CREDENTIALS = {
    "username": USERNAME,
    "access_token": ACCESS_TOKEN,
    "refresh_token": REFRESH_TOKEN,
    "app_id": APP_ID,
    "secret_key": SECRET_KEY,
}
Key = tuple[int, int, str]  # (user_id, keyword_id, day)
Numbers = tuple[int, int, Decimal, int]  # impressions, clicks, cost, conversions


@dataclass
class BaiduDemo:
    """The demo world, its digital traces and the instant the simulator currently shows."""

    world: World
    digital: DigitalWorld
    as_of_ms: int

    @property
    def today(self) -> date:
        """The China calendar day of the current instant."""
        return business_day(self.as_of_ms)

    def rows(self) -> list[dict[str, Any]]:
        """The simulator's rows at the current instant."""
        return render(self.world, self.digital, self.as_of_ms)


@pytest.fixture(scope="session", name="baidu_digital")
def baidu_digital_fixture(demo_world: World) -> DigitalWorld:
    """The default demo company's digital traces (shared, read-only)."""
    return simulate_digital(demo_world)


@pytest.fixture(name="baidu_demo")
def baidu_demo_fixture(demo_world: World, baidu_digital: DigitalWorld) -> BaiduDemo:
    """The demo world at its default today."""
    return BaiduDemo(demo_world, baidu_digital, demo_world.as_of_ms)


@pytest.fixture(name="baidu_simulator")
def baidu_simulator_fixture(baidu_demo: BaiduDemo) -> Iterator[BaiduSemSimulator]:
    """The 百度营销 simulator serving the demo world on a free 127.0.0.1 port."""
    with BaiduSemSimulator(baidu_demo.rows(), **CREDENTIALS) as simulator:
        yield simulator


@pytest.fixture(name="baidu_env")
def baidu_env_fixture(
    monkeypatch: pytest.MonkeyPatch, baidu_simulator: BaiduSemSimulator, baidu_demo: BaiduDemo
) -> BaiduSemSimulator:
    """Points the source at the simulator through environment variables only, with fast retries."""
    env = {
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "SOURCES__BAIDU_SEM__BASE_URL": baidu_simulator.base_url,
        "SOURCES__BAIDU_SEM__REFRESH_URL": baidu_simulator.refresh_url,
        **{f"SOURCES__BAIDU_SEM__{key.upper()}": value for key, value in CREDENTIALS.items()},
        "SOURCES__BAIDU_SEM__END_DATE": baidu_demo.today.isoformat(),
        "SOURCES__BAIDU_SEM__LOOKBACK_DAYS": str(LOOKBACK_DAYS),
        "SOURCES__BAIDU_SEM__ROW_COUNT": str(ROW_COUNT),
        "SOURCES__BAIDU_SEM__MAX_TRIES": "4",
        "SOURCES__BAIDU_SEM__BACKOFF_SECONDS": "0.01",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return baidu_simulator


def advance_one_day(demo: BaiduDemo, simulator: BaiduSemSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The world a day later: the simulator re-renders and the source's end_date moves with it."""
    demo.as_of_ms += DAY_MS
    simulator.set_rows(demo.rows())
    monkeypatch.setenv("SOURCES__BAIDU_SEM__END_DATE", demo.today.isoformat())


@pytest.fixture(name="baidu_pipeline")
def baidu_pipeline_fixture(tmp_path: Path) -> dlt.Pipeline:
    """A DuckDB pipeline into `raw_baidu_sem`, private to the test."""
    return dlt.pipeline(
        pipeline_name="baidu_sem_test",
        destination=dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
        dataset_name="raw_baidu_sem",
        pipelines_dir=str(tmp_path / "pipelines"),
    )


def run_baidu(pipeline: dlt.Pipeline) -> dict[str, int]:
    """Runs a fresh baidu_sem source and returns rows loaded per table (dlt's own tables left out)."""
    pipeline.run(baidu_sem_source())
    counts = pipeline.last_trace.last_normalize_info.row_counts
    return {table: n for table, n in counts.items() if not table.startswith("_dlt")}


def expected_report(
    demo: BaiduDemo, first: date | None = None, last: date | None = None
) -> dict[Key, Numbers]:
    """What 百度营销 shows at the demo's instant for first..last, straight from leadloop.demo.digital."""
    first = first or business_day(to_ms(demo.world.start))
    last = last or demo.today
    expected: dict[Key, Numbers] = {}
    for unit in demo.digital.ad_units:
        if unit.platform != "baidu" or unit.keyword_id is None:
            continue
        day = first
        while day <= last:
            numbers = demo.digital.ad_days.get((unit.keyword_id, day))
            if numbers is not None:
                shown = reported_ad_day(numbers, day, demo.as_of_ms)
                expected[(unit.account_id, unit.keyword_id, day.isoformat())] = (
                    shown.impressions,
                    shown.clicks,
                    Decimal(str(shown.cost)).quantize(Decimal("0.01")),
                    shown.conversions,
                )
            day += timedelta(days=1)
    return expected


def loaded_report(pipeline: dlt.Pipeline, where: str = "true") -> dict[Key, Numbers]:
    """The raw keyword report in DuckDB, keyed like `expected_report`."""
    with pipeline.sql_client() as client:
        rows = client.execute_sql(
            "select user_id, keyword_id, date, impression, click, cost, conversion"
            f" from keyword_daily_report where {where}"
        )
    return {(r[0], r[1], r[2]): (r[3], r[4], r[5], r[6]) for r in rows}


def table_rows(pipeline: dlt.Pipeline, sql: str) -> list[tuple[Any, ...]]:
    """Runs a query against the pipeline's dataset."""
    with pipeline.sql_client() as client:
        return [tuple(row) for row in client.execute_sql(sql)]
