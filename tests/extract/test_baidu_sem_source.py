"""The real baidu_sem dlt source against the 百度营销 simulator on 127.0.0.1, loading into DuckDB.

The simulator serves the default demo company; expectations come from `leadloop.demo.digital` directly.
"""

from __future__ import annotations

from datetime import date, timedelta

import dlt
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from leadloop.demo.model import DAY_MS
from leadloop.demo.simulators.baidu_sem import REFRESH_PATH, REPORT_PATH, BaiduSemSimulator
from leadloop.extract.baidu_sem import settings
from tests.extract.baidu_sem_fixtures import (  # noqa: F401 - *_fixture: pytest fixtures
    LOOKBACK_DAYS,
    BaiduDemo,
    advance_one_day,
    baidu_demo_fixture,
    baidu_digital_fixture,
    baidu_env_fixture,
    baidu_pipeline_fixture,
    baidu_simulator_fixture,
    expected_report,
    loaded_report,
    run_baidu,
    table_rows,
)

TABLE = settings.RESOURCE
UNITS = 15  # Baidu keywords of the demo company: 3 campaigns × 5 terms (leadloop.demo.catalog)


def _baidu_units(demo: BaiduDemo) -> int:
    """Keywords the demo world advertises on Baidu, counted from leadloop.demo.digital."""
    return sum(1 for unit in demo.digital.ad_units if unit.platform == "baidu")


def test_full_load_matches_the_demo_world(
    baidu_env: BaiduSemSimulator, baidu_demo: BaiduDemo, baidu_pipeline: dlt.Pipeline
) -> None:
    loaded = run_baidu(baidu_pipeline)
    expected = expected_report(baidu_demo)
    days = (baidu_demo.today - date(2025, 1, 1)).days + 1
    assert _baidu_units(baidu_demo) == UNITS and len(expected) == UNITS * days
    assert loaded == {TABLE: len(expected), "quarantine": 0}
    assert loaded_report(baidu_pipeline) == expected
    # structure columns, provenance and declared types
    campaigns = table_rows(
        baidu_pipeline,
        f"select distinct campaign_id, campaign_name, ad_group_id, keyword_id, keyword from {TABLE}",
    )
    truth = {
        (u.campaign_id, u.campaign_name, u.adgroup_id, u.keyword_id, u.keyword)
        for u in baidu_demo.digital.ad_units
        if u.platform == "baidu"
    }
    assert set(campaigns) == truth
    assert table_rows(baidu_pipeline, f"select distinct _source from {TABLE}") == [("api",)]
    columns = dict(table_rows(baidu_pipeline, f"select column_name, column_type from (describe {TABLE})"))
    assert (
        columns["cost"] == "DECIMAL(18,2)"
        and columns["keyword_id"] == "BIGINT"
        and columns["date"] == "VARCHAR"
    )
    total = table_rows(baidu_pipeline, f"select sum(cost) from {TABLE}")[0][0]
    assert total == sum(numbers[2] for numbers in expected.values())


def test_next_day_reloads_exactly_the_lookback_window(
    baidu_env: BaiduSemSimulator,
    baidu_demo: BaiduDemo,
    baidu_pipeline: dlt.Pipeline,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_baidu(baidu_pipeline)
    before = loaded_report(baidu_pipeline)
    advance_one_day(baidu_demo, baidu_env, monkeypatch)
    window_start = baidu_demo.today - timedelta(days=LOOKBACK_DAYS - 1)

    loaded = run_baidu(baidu_pipeline)
    assert loaded[TABLE] == UNITS * LOOKBACK_DAYS  # units × window days, nothing else re-read
    after = loaded_report(baidu_pipeline)
    assert len(after) == len(before) + UNITS
    assert after == expected_report(baidu_demo)
    older = {key: value for key, value in before.items() if key[2] < window_start.isoformat()}
    assert {key: after[key] for key in older} == older  # rows older than the window untouched
    # only restated rows changed: exactly those whose reported numbers moved with the day
    changed = {key for key, value in before.items() if after[key] != value}
    previous = BaiduDemo(baidu_demo.world, baidu_demo.digital, baidu_demo.as_of_ms - DAY_MS)
    now_shown = expected_report(baidu_demo, window_start, baidu_demo.today)
    restated = {key for key, value in expected_report(previous).items() if now_shown.get(key, value) != value}
    assert changed == restated and changed
    assert all(key[2] >= window_start.isoformat() for key in changed)

    again = run_baidu(baidu_pipeline)  # the same day again: same window re-read, nothing changes
    assert again[TABLE] == UNITS * LOOKBACK_DAYS
    assert loaded_report(baidu_pipeline) == after


def test_missed_runs_widen_the_window_back_to_the_last_end(
    baidu_env: BaiduSemSimulator,
    baidu_demo: BaiduDemo,
    baidu_pipeline: dlt.Pipeline,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_baidu(baidu_pipeline)
    for _ in range(10):
        advance_one_day(baidu_demo, baidu_env, monkeypatch)
    loaded = run_baidu(baidu_pipeline)
    # the 10 new days plus the days the last run still had in its look-back window (all but its first)
    assert loaded[TABLE] == UNITS * (10 + LOOKBACK_DAYS - 1)
    assert loaded_report(baidu_pipeline) == expected_report(baidu_demo)


def test_without_access_token_the_refresh_token_fetches_one(
    baidu_env: BaiduSemSimulator,
    baidu_demo: BaiduDemo,
    monkeypatch: pytest.MonkeyPatch,
    baidu_pipeline: dlt.Pipeline,
) -> None:
    monkeypatch.delenv("SOURCES__BAIDU_SEM__ACCESS_TOKEN")
    loaded = run_baidu(baidu_pipeline)
    assert loaded[TABLE] == len(expected_report(baidu_demo))
    assert baidu_env.requests_served[REFRESH_PATH] == 1


def test_ranges_longer_than_the_api_allows_are_split(
    baidu_env: BaiduSemSimulator,
    baidu_demo: BaiduDemo,
    monkeypatch: pytest.MonkeyPatch,
    baidu_pipeline: dlt.Pipeline,
) -> None:
    monkeypatch.setenv("SOURCES__BAIDU_SEM__START_DATE", "2024-06-01")  # 904 days: two requests ranges
    loaded = run_baidu(baidu_pipeline)
    assert loaded[TABLE] == len(expected_report(baidu_demo))
    assert loaded_report(baidu_pipeline) == expected_report(baidu_demo)


def test_user_ids_select_accounts_and_unknown_ones_are_named(
    baidu_env: BaiduSemSimulator,
    baidu_demo: BaiduDemo,
    monkeypatch: pytest.MonkeyPatch,
    baidu_pipeline: dlt.Pipeline,
) -> None:
    monkeypatch.setenv("SOURCES__BAIDU_SEM__USER_IDS", "[30001]")
    assert run_baidu(baidu_pipeline)[TABLE] == len(expected_report(baidu_demo))
    monkeypatch.setenv("SOURCES__BAIDU_SEM__USER_IDS", "[30001, 424242]")
    served = baidu_env.requests_served[REPORT_PATH]
    with pytest.raises(PipelineStepFailed) as failure:
        run_baidu(baidu_pipeline)
    assert "SOURCES__BAIDU_SEM__USER_IDS" in str(failure.value) and "424242" in str(failure.value)
    assert baidu_env.requests_served[REPORT_PATH] == served + 1
