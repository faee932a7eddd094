"""The real oceanengine dlt source against the 巨量引擎 simulator on 127.0.0.1, loading into DuckDB."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import dlt
import pytest

from leadloop.demo.digital import DigitalWorld
from leadloop.demo.model import World
from leadloop.demo.simulators.oceanengine import REPORT_PATH, OceanengineSimulator
from leadloop.extract.oceanengine import first_day_to_read, report_windows

pytest.register_assert_rewrite("tests.extract.oceanengine_fixtures")

from tests.extract.oceanengine_fixtures import (
    TABLE,
    advance,
    expected_rows,
    loaded_rows,
    query,
    raw_count,
    recent_start,
    run_oceanengine,
    today,
)

pytest_plugins = ("tests.extract.oceanengine_fixtures",)  # the oceanengine_* fixtures
Demo = tuple[World, DigitalWorld]
AGREED_COLUMNS = [
    ("stat_time_day", "VARCHAR"),
    ("advertiser_id", "BIGINT"),
    ("cdp_project_id", "BIGINT"),
    ("cdp_project_name", "VARCHAR"),
    ("cdp_promotion_id", "BIGINT"),
    ("cdp_promotion_name", "VARCHAR"),
    ("stat_cost", "DECIMAL(18,2)"),
    ("show_cnt", "BIGINT"),
    ("click_cnt", "BIGINT"),
    ("convert_cnt", "BIGINT"),
    ("_source", "VARCHAR"),
]


def _served_equals_kept(sim: OceanengineSimulator, pipeline: dlt.Pipeline) -> None:
    """Every row the simulator answered is in the raw table or in quarantine (one run, fresh warehouse)."""
    assert sim.rows_served == raw_count(pipeline) + raw_count(pipeline, "quarantine")


def test_windows_and_lookback_arithmetic() -> None:
    jan1 = date(2025, 1, 1)
    windows = report_windows(jan1, date(2025, 3, 2))
    assert windows[0] == (jan1, date(2025, 1, 30)) and windows[-1][1] == date(2025, 3, 2)
    assert all((end - start).days < 30 for start, end in windows)
    assert all(b[0] - a[1] == timedelta(days=1) for a, b in itertools.pairwise(windows))
    assert report_windows(jan1, jan1) == [(jan1, jan1)] and report_windows(jan1, jan1 - timedelta(1)) == []
    last, end = date(2026, 11, 21), date(2026, 11, 22)
    assert first_day_to_read(jan1, end, None, 7) == jan1
    assert first_day_to_read(jan1, end, last, 7) == date(2026, 11, 15)  # 7 days re-read + the new one
    assert first_day_to_read(jan1, end, last, 0) == date(2026, 11, 22)
    assert first_day_to_read(date(2026, 11, 20), end, last, 7) == date(2026, 11, 20)


def test_full_load_matches_the_demo_world(
    oceanengine_env: OceanengineSimulator,
    oceanengine_world: Demo,
    oceanengine_pipeline: dlt.Pipeline,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SOURCES__OCEANENGINE__START_DATE")  # the default, 2025-01-01: all history
    world, digital = oceanengine_world
    loaded = run_oceanengine(oceanengine_pipeline)
    expected = expected_rows(digital, world.as_of_ms)
    assert len(expected) > 2000 and min(k[2] for k in expected) == "2025-01-01"
    assert loaded[TABLE] == len(expected) and raw_count(oceanengine_pipeline) == len(expected)
    assert loaded_rows(oceanengine_pipeline) == expected
    assert (
        query(oceanengine_pipeline, f"select column_name, column_type from (describe {TABLE})")
        == [*AGREED_COLUMNS, ("_extra_fields_json", "VARCHAR")]  # fields the table does not know, kept by the API
    )
    names = set(
        query(
            oceanengine_pipeline,
            f"select distinct cdp_project_id, cdp_project_name, cdp_promotion_id,"
            f" cdp_promotion_name, _source from {TABLE}",
        )
    )
    assert names == {
        (u.campaign_id, u.campaign_name, u.adgroup_id, u.adgroup_name, "api")
        for u in digital.ad_units
        if u.platform == "oceanengine"
    }
    assert raw_count(oceanengine_pipeline, "quarantine") == 0
    _served_equals_kept(oceanengine_env, oceanengine_pipeline)
    # one window per 30 days, none longer than the API allows
    assert oceanengine_env.requests_served[REPORT_PATH] >= len(report_windows(date(2025, 1, 1), today(world)))


def test_next_day_reloads_only_the_lookback_window(
    oceanengine_env: OceanengineSimulator,
    oceanengine_world: Demo,
    oceanengine_pipeline: dlt.Pipeline,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world, digital = oceanengine_world
    run_oceanengine(oceanengine_pipeline)
    first = loaded_rows(oceanengine_pipeline)
    assert first == expected_rows(digital, world.as_of_ms, recent_start(world))

    as_of_ms = advance(oceanengine_env, monkeypatch, oceanengine_world, days=1)
    window_start = today(world) - timedelta(days=6)  # the 7 days read last time, then the new day
    loaded = run_oceanengine(oceanengine_pipeline)
    in_window = expected_rows(digital, as_of_ms, window_start)
    promotions = len({k[1] for k in in_window})
    assert promotions == 4 and len(in_window) == promotions * 8  # every promotion has data every day
    assert loaded[TABLE] == len(in_window)
    second = loaded_rows(oceanengine_pipeline)
    assert second == expected_rows(digital, as_of_ms, recent_start(world))  # restated days now final
    older = {k: v for k, v in first.items() if k[2] < window_start.isoformat()}
    assert {k: second[k] for k in older} == older  # rows older than the window are untouched
    restated = [k for k in first if first[k] != second[k]]
    assert restated and all(k[2] >= window_start.isoformat() for k in restated)

    again = run_oceanengine(oceanengine_pipeline)  # the same day again: the window, no value changes
    assert again[TABLE] == len(expected_rows(digital, as_of_ms, today(world, 1) - timedelta(days=6)))
    assert loaded_rows(oceanengine_pipeline) == second
