"""The real oceanengine dlt source against the 巨量引擎 simulator on 127.0.0.1, loading into DuckDB."""

from __future__ import annotations

import itertools
import json
from datetime import date, timedelta
from pathlib import Path

import dlt
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from demo.digital import DigitalWorld
from demo.model import World
from demo.simulators.oceanengine import REFRESH_TOKEN_PATH, REPORT_PATH, OceanengineSimulator
from extract.oceanengine import first_day_to_read, oceanengine_source, report_windows

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


def test_source_builds_without_any_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("BASE_URL", "ADVERTISER_IDS", "ACCESS_TOKEN", "REFRESH_TOKEN", "APP_ID", "SECRET"):
        monkeypatch.delenv(f"SOURCES__OCEANENGINE__{key}", raising=False)
    source = oceanengine_source()
    assert list(source.resources) == [TABLE, "quarantine"]
    report = source.resources[TABLE]
    assert report.write_disposition == "merge"
    assert report.compute_table_schema()["columns"]["cdp_promotion_id"]["primary_key"]


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
        == AGREED_COLUMNS
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


def test_rate_limit_then_success(
    oceanengine_env: OceanengineSimulator, oceanengine_world: Demo, oceanengine_pipeline: dlt.Pipeline
) -> None:
    world, digital = oceanengine_world
    oceanengine_env.inject(REPORT_PATH, 200, {"code": 40100, "message": "请求过于频繁", "data": {}})
    oceanengine_env.inject(REPORT_PATH, 429, "Too Many Requests", headers={"Retry-After": "0"})
    run_oceanengine(oceanengine_pipeline)
    assert loaded_rows(oceanengine_pipeline) == expected_rows(digital, world.as_of_ms, recent_start(world))
    _served_equals_kept(oceanengine_env, oceanengine_pipeline)


def test_token_expiring_mid_run_is_refreshed_and_kept_for_the_next_run(
    oceanengine_env: OceanengineSimulator,
    oceanengine_world: Demo,
    oceanengine_pipeline: dlt.Pipeline,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    world, digital = oceanengine_world
    token_file = tmp_path / "tokens" / "oceanengine.json"
    monkeypatch.setenv("SOURCES__OCEANENGINE__TOKEN_FILE", str(token_file))
    oceanengine_env.call_after(REPORT_PATH, 2, oceanengine_env.expire_tokens)
    run_oceanengine(oceanengine_pipeline)
    assert oceanengine_env.requests_served[REFRESH_TOKEN_PATH] == 1
    assert loaded_rows(oceanengine_pipeline) == expected_rows(digital, world.as_of_ms, recent_start(world))
    _served_equals_kept(oceanengine_env, oceanengine_pipeline)
    saved = json.loads(token_file.read_text())
    assert {saved["refresh_token"]} == oceanengine_env.refresh_tokens  # the rotated one, kept
    assert token_file.stat().st_mode & 0o077 == 0
    assert saved["refresh_token"] not in _warehouse_state_text(oceanengine_pipeline)

    oceanengine_env.expire_tokens()  # next night: the configured refresh token is already used up
    run_oceanengine(oceanengine_pipeline)
    assert oceanengine_env.requests_served[REFRESH_TOKEN_PATH] == 2


def _warehouse_state_text(pipeline: dlt.Pipeline) -> str:
    """Everything the pipeline keeps in the warehouse's state table, to check no token is there."""
    return json.dumps(query(pipeline, "select * from _dlt_pipeline_state"), default=str)


def test_burst_of_server_errors_is_retried(
    oceanengine_env: OceanengineSimulator,
    oceanengine_world: Demo,
    oceanengine_pipeline: dlt.Pipeline,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world, digital = oceanengine_world
    monkeypatch.setenv("SOURCES__OCEANENGINE__MAX_TRIES", "6")
    oceanengine_env.inject(REPORT_PATH, 503, "Service Unavailable", times=3)
    oceanengine_env.inject(REPORT_PATH, 500, {"code": 50000, "message": "系统错误"})
    oceanengine_env.inject(REPORT_PATH, 200, {"code": 50000, "message": "系统错误", "data": {}})
    run_oceanengine(oceanengine_pipeline)
    assert loaded_rows(oceanengine_pipeline) == expected_rows(digital, world.as_of_ms, recent_start(world))
    _served_equals_kept(oceanengine_env, oceanengine_pipeline)


def test_malformed_pages_are_retried(
    oceanengine_env: OceanengineSimulator, oceanengine_world: Demo, oceanengine_pipeline: dlt.Pipeline
) -> None:
    world, digital = oceanengine_world
    oceanengine_env.inject(REPORT_PATH, 200, b'{"code":0,"message":"OK","data":{"rows":[{"dimen')
    oceanengine_env.inject(REPORT_PATH, 200, {"code": 0, "message": "OK", "data": {"rows": []}})
    oceanengine_env.inject(REPORT_PATH, 200, {"message": "OK"})
    run_oceanengine(oceanengine_pipeline)
    assert loaded_rows(oceanengine_pipeline) == expected_rows(digital, world.as_of_ms, recent_start(world))
    _served_equals_kept(oceanengine_env, oceanengine_pipeline)


def test_invalid_rows_go_to_quarantine(
    oceanengine_env: OceanengineSimulator, oceanengine_world: Demo, oceanengine_pipeline: dlt.Pipeline
) -> None:
    world, digital = oceanengine_world
    reports = json.loads(json.dumps(oceanengine_env.reports))
    reports = {int(advertiser): rows for advertiser, rows in reports.items()}
    rows = reports[1_760_000_001]
    recent = [row for row in rows if row["dimensions"]["stat_time_day"] >= recent_start(world).isoformat()]
    bad_keys = {
        (int(r["dimensions"]["cdp_promotion_id"]), r["dimensions"]["stat_time_day"]) for r in recent[:5]
    }
    recent[0]["metrics"]["stat_cost"] = "--"
    recent[1]["metrics"]["show_cnt"] = "1.5"
    del recent[2]["metrics"]["click_cnt"]
    recent[3]["dimensions"]["stat_time_day"] += " 25:00"
    recent[4]["metrics"] = "oops"
    oceanengine_env.set_reports(reports)

    loaded = run_oceanengine(oceanengine_pipeline)
    assert loaded["quarantine"] == 5
    got = query(
        oceanengine_pipeline, "select record_id, reason, raw_payload from quarantine order by record_id"
    )
    reasons = " | ".join(r[1] for r in got)
    for word in ("stat_cost", "show_cnt", "click_cnt", "stat_time_day", "metrics"):
        assert word in reasons
    payload = json.loads(got[0][2])
    assert payload["advertiser_id"] == 1_760_000_001 and set(payload["row"]) == {"dimensions", "metrics"}
    assert all(r[0].startswith("1760000001/") for r in got)
    expected = expected_rows(digital, world.as_of_ms, recent_start(world))
    kept = loaded_rows(oceanengine_pipeline)
    assert len(kept) == len(expected) - 5 and not {(k[1], k[2]) for k in kept} & bad_keys
    _served_equals_kept(oceanengine_env, oceanengine_pipeline)

    columns = [r[0] for r in query(oceanengine_pipeline, "select column_name from (describe quarantine)")]
    assert columns == [
        "quarantine_id",
        "source",
        "resource",
        "record_id",
        "reason",
        "raw_payload",
        "first_seen_at",
    ]
    first_seen = query(oceanengine_pipeline, "select quarantine_id, first_seen_at from quarantine order by 1")
    run_oceanengine(oceanengine_pipeline)  # served again: quarantine is idempotent
    assert (
        query(oceanengine_pipeline, "select quarantine_id, first_seen_at from quarantine order by 1")
        == first_seen
    )


def test_wrong_secret_fails_once_naming_the_setting(
    oceanengine_env: OceanengineSimulator, oceanengine_pipeline: dlt.Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCES__OCEANENGINE__ACCESS_TOKEN", "revoked-token")
    monkeypatch.setenv("SOURCES__OCEANENGINE__SECRET", "not-the-secret")
    with pytest.raises(PipelineStepFailed) as failure:
        run_oceanengine(oceanengine_pipeline)
    message = str(failure.value)
    assert "SOURCES__OCEANENGINE__SECRET" in message and "SOURCES__OCEANENGINE__APP_ID" in message
    assert "not-the-secret" not in message and "revoked-token" not in message
    assert oceanengine_env.requests_served[REPORT_PATH] == 1
    assert oceanengine_env.requests_served[REFRESH_TOKEN_PATH] == 1


def test_wrong_access_token_without_refresh_settings_names_it(
    oceanengine_env: OceanengineSimulator, oceanengine_pipeline: dlt.Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCES__OCEANENGINE__ACCESS_TOKEN", "revoked-token")
    for key in ("REFRESH_TOKEN", "APP_ID", "SECRET"):
        monkeypatch.delenv(f"SOURCES__OCEANENGINE__{key}")
    with pytest.raises(PipelineStepFailed) as failure:
        run_oceanengine(oceanengine_pipeline)
    assert "SOURCES__OCEANENGINE__ACCESS_TOKEN" in str(failure.value)
    assert oceanengine_env.requests_served[REPORT_PATH] == 1
    assert oceanengine_env.requests_served[REFRESH_TOKEN_PATH] == 0


def test_advertiser_without_permission_stops_with_the_server_message(
    oceanengine_env: OceanengineSimulator, oceanengine_pipeline: dlt.Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCES__OCEANENGINE__ADVERTISER_IDS", "[1760000001, 42]")
    with pytest.raises(PipelineStepFailed) as failure:
        run_oceanengine(oceanengine_pipeline)
    message = str(failure.value)
    assert "code 40002" in message and "advertiser 42" in message
    assert "SOURCES__OCEANENGINE__ADVERTISER_IDS" in message


@pytest.mark.parametrize(
    ("unset", "named"),
    [
        (
            ("ADVERTISER_IDS",),
            (
                "missing setting SOURCES__OCEANENGINE__ADVERTISER_IDS (or advertiser_ids under"
                " [sources.oceanengine] in .dlt/secrets.toml)"
            ),
        ),
        (("ACCESS_TOKEN", "REFRESH_TOKEN"), "missing setting SOURCES__OCEANENGINE__ACCESS_TOKEN"),
    ],
)
def test_missing_setting_is_named(
    oceanengine_env: OceanengineSimulator,
    oceanengine_pipeline: dlt.Pipeline,
    monkeypatch: pytest.MonkeyPatch,
    unset: tuple[str, ...],
    named: str,
) -> None:
    for key in unset:
        monkeypatch.delenv(f"SOURCES__OCEANENGINE__{key}")
    with pytest.raises(PipelineStepFailed) as failure:
        run_oceanengine(oceanengine_pipeline)
    assert named in str(failure.value)
    assert sum(oceanengine_env.requests_served.values()) == 0
