"""Fixtures for the 巨量引擎 source tests: the demo company's promotions served over 127.0.0.1.

Expected rows are computed from `leadloop.demo.digital` directly (ad units and their daily numbers, with
`reported_ad_day` for what the platform shows at an instant), not from the renderer under test.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import dlt
import pytest

from leadloop.demo.digital import DigitalWorld, business_day, reported_ad_day, simulate_digital
from leadloop.demo.model import DAY_MS, World
from leadloop.demo.oceanengine_records import render
from leadloop.demo.simulators.oceanengine import OceanengineSimulator
from leadloop.demo.world import simulate
from leadloop.extract.oceanengine import oceanengine_source

APP_ID, SECRET = "1700000000000001", "app-s3cret"
ACCESS_TOKEN, REFRESH_TOKEN = "initial-access-token", "initial-refresh-token"
PAGE_SIZE = 100
RECENT_DAYS = 45  # most tests read only the last 45 days (two 30-day windows) to stay fast
Key = tuple[int, int, str]  # (advertiser_id, cdp_promotion_id, stat_time_day)
Numbers = tuple[Decimal, int, int, int]  # cost, impressions, clicks, conversions
TABLE = "promotion_daily_report"
SETTING_KEYS = (
    "BASE_URL",
    "ADVERTISER_IDS",
    "ACCESS_TOKEN",
    "REFRESH_TOKEN",
    "APP_ID",
    "SECRET",
    "START_DATE",
    "END_DATE",
    "LOOKBACK_DAYS",
    "PAGE_SIZE",
    "TOKEN_FILE",
    "MAX_TRIES",
    "BACKOFF_SECONDS",
)


@pytest.fixture(scope="session")
def oceanengine_world() -> tuple[World, DigitalWorld]:
    """The default demo company and its digital traces."""
    world = simulate()
    return world, simulate_digital(world)


def today(world: World, days_later: int = 0) -> date:
    """The demo's China business day, optionally some days later."""
    return business_day(world.as_of_ms + days_later * DAY_MS)


def expected_rows(digital: DigitalWorld, as_of_ms: int, first: date | None = None) -> dict[Key, Numbers]:
    """What the platform shows at as_of for every promotion-day with data, from `first` on."""
    last = business_day(as_of_ms)
    promotions = {u.adgroup_id: u for u in digital.ad_units if u.platform == "oceanengine"}
    rows: dict[Key, Numbers] = {}
    for (key, day), numbers in digital.ad_days.items():
        unit = promotions.get(key)
        if unit is None or day > last or (first is not None and day < first):
            continue
        shown = reported_ad_day(numbers, day, as_of_ms)
        if shown.impressions or shown.clicks or shown.cost or shown.conversions:
            cost = Decimal(str(shown.cost)).quantize(Decimal("0.01"))
            rows[(unit.account_id, unit.adgroup_id, day.isoformat())] = (
                cost,
                shown.impressions,
                shown.clicks,
                shown.conversions,
            )
    return rows


@pytest.fixture
def oceanengine_simulator(oceanengine_world: tuple[World, DigitalWorld]) -> Iterator[OceanengineSimulator]:
    """The 巨量引擎 simulator serving the demo company as of its today."""
    world, digital = oceanengine_world
    sim = OceanengineSimulator(
        render(world, digital),
        app_id=APP_ID,
        secret=SECRET,
        access_token=ACCESS_TOKEN,
        refresh_token=REFRESH_TOKEN,
    )
    with sim:
        yield sim


@pytest.fixture
def oceanengine_env(
    monkeypatch: pytest.MonkeyPatch,
    oceanengine_simulator: OceanengineSimulator,
    oceanengine_world: tuple[World, DigitalWorld],
) -> OceanengineSimulator:
    """Points the source at the simulator through environment variables only, with fast retries."""
    world, digital = oceanengine_world
    for key in SETTING_KEYS:
        monkeypatch.delenv(f"SOURCES__OCEANENGINE__{key}", raising=False)
    advertisers = sorted({u.account_id for u in digital.ad_units if u.platform == "oceanengine"})
    env = {
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "SOURCES__OCEANENGINE__BASE_URL": oceanengine_simulator.base_url,
        "SOURCES__OCEANENGINE__ADVERTISER_IDS": ",".join(map(str, advertisers)),
        "SOURCES__OCEANENGINE__ACCESS_TOKEN": ACCESS_TOKEN,
        "SOURCES__OCEANENGINE__REFRESH_TOKEN": REFRESH_TOKEN,
        "SOURCES__OCEANENGINE__APP_ID": APP_ID,
        "SOURCES__OCEANENGINE__SECRET": SECRET,
        "SOURCES__OCEANENGINE__START_DATE": recent_start(world).isoformat(),
        "SOURCES__OCEANENGINE__END_DATE": today(world).isoformat(),
        "SOURCES__OCEANENGINE__PAGE_SIZE": str(PAGE_SIZE),
        "SOURCES__OCEANENGINE__MAX_TRIES": "4",
        "SOURCES__OCEANENGINE__BACKOFF_SECONDS": "0.01",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return oceanengine_simulator


def recent_start(world: World) -> date:
    """The start date most tests use: RECENT_DAYS days up to the demo's today."""
    return today(world) - timedelta(days=RECENT_DAYS - 1)


def advance(
    sim: OceanengineSimulator,
    monkeypatch: pytest.MonkeyPatch,
    oceanengine_world: tuple[World, DigitalWorld],
    days: int,
) -> int:
    """Moves the platform (and the configured end date) `days` later; returns the new instant."""
    world, digital = oceanengine_world
    as_of_ms = world.as_of_ms + days * DAY_MS
    sim.set_reports(render(world, digital, as_of_ms))
    monkeypatch.setenv("SOURCES__OCEANENGINE__END_DATE", business_day(as_of_ms).isoformat())
    return as_of_ms


@pytest.fixture
def oceanengine_pipeline(tmp_path: Path) -> dlt.Pipeline:
    """A DuckDB pipeline into `raw_oceanengine`, private to the test."""
    return dlt.pipeline(
        pipeline_name="oceanengine_test",
        destination=dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
        dataset_name="raw_oceanengine",
        pipelines_dir=str(tmp_path / "pipelines"),
    )


def run_oceanengine(pipeline: dlt.Pipeline) -> dict[str, int]:
    """Runs a fresh source and returns rows loaded per table (data tables only)."""
    pipeline.run(oceanengine_source())
    counts = pipeline.last_trace.last_normalize_info.row_counts
    return {table: n for table, n in counts.items() if not table.startswith("_dlt")}


def query(pipeline: dlt.Pipeline, sql: str) -> list[tuple[Any, ...]]:
    """Runs a query against the pipeline's dataset."""
    with pipeline.sql_client() as client:
        return [tuple(row) for row in client.execute_sql(sql)]


def loaded_rows(pipeline: dlt.Pipeline) -> dict[Key, Numbers]:
    """The raw table as {key: numbers}."""
    rows = query(
        pipeline,
        f"select advertiser_id, cdp_promotion_id, stat_time_day, stat_cost, show_cnt, click_cnt, convert_cnt"
        f" from {TABLE}",
    )
    return {(r[0], r[1], r[2]): (r[3], r[4], r[5], r[6]) for r in rows}


def raw_count(pipeline: dlt.Pipeline, table: str = TABLE) -> int:
    """Rows in a raw table."""
    return int(query(pipeline, f"select count(*) from {table}")[0][0])
