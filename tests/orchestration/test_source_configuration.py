"""Issue 10: sources are switched on by configuration. An unconfigured source is off (not run, not
failing the night); a half-configured one fails once, without retries, naming what to set."""

from __future__ import annotations

import time

import dagster as dg
import pytest

from leadloop.extract.registry import SOURCES_BY_NAME, Status, configuration, configurations


def _clear_source_settings(monkeypatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("SOURCES__"):
            monkeypatch.delenv(key)


def test_a_source_without_settings_is_off_and_with_some_is_incomplete(monkeypatch):
    _clear_source_settings(monkeypatch)
    assert {c.name: c.status for c in configurations()} == {name: Status.OFF for name in SOURCES_BY_NAME}

    monkeypatch.setenv("SOURCES__NEOCRM__CLIENT_ID", "tenant-app")
    found = configuration(SOURCES_BY_NAME["neocrm"])
    assert found.status is Status.INCOMPLETE
    assert found.missing == ("client_secret", "username", "password")
    for key in ("SOURCES__NEOCRM__CLIENT_SECRET", "SOURCES__NEOCRM__USERNAME", "SOURCES__NEOCRM__PASSWORD"):
        assert key in found.problem

    for key, value in {"CLIENT_SECRET": "s", "USERNAME": "u", "PASSWORD": "p"}.items():
        monkeypatch.setenv(f"SOURCES__NEOCRM__{key}", value)
    assert configuration(SOURCES_BY_NAME["neocrm"]).status is Status.ON


def test_an_ad_platform_needs_a_token_or_what_renews_one(monkeypatch):
    _clear_source_settings(monkeypatch)
    monkeypatch.setenv("SOURCES__BAIDU_SEM__USERNAME", "account")
    monkeypatch.setenv("SOURCES__BAIDU_SEM__USER_IDS", "[1]")
    found = configuration(SOURCES_BY_NAME["baidu_sem"])
    assert found.status is Status.INCOMPLETE and "SOURCES__BAIDU_SEM__ACCESS_TOKEN" in found.problem
    assert "refresh_token+app_id+secret_key" in found.problem
    for key in ("REFRESH_TOKEN", "APP_ID", "SECRET_KEY"):
        monkeypatch.setenv(f"SOURCES__BAIDU_SEM__{key}", "x")
    assert configuration(SOURCES_BY_NAME["baidu_sem"]).status is Status.ON


@pytest.mark.e2e
def test_a_missing_setting_fails_the_night_once_in_seconds(demo_world, monkeypatch, private_warehouse):
    """Salesforce is configured (the demo org) and 销售易 only in part: the night's 销售易 step fails once
    with the settings to fix, nothing retries, and the whole night takes seconds, not minutes."""
    from leadloop.cli import run_nightly_refresh
    from leadloop.demo.serve import running_demo_sources

    _clear_source_settings(monkeypatch)
    monkeypatch.setenv("SOURCES__NEOCRM__CLIENT_ID", "tenant-app")
    with running_demo_sources(demo_world, ["salesforce"]), dg.DagsterInstance.ephemeral() as instance:
        started = time.monotonic()
        result = run_nightly_refresh("2026-11-19", "2026-11-19", instance)
        seconds = time.monotonic() - started
        events = instance.all_logs(result.run_id)
    failures = [e for e in events if e.dagster_event and e.dagster_event.event_type_value == "STEP_FAILURE"]
    retries = [e for e in events if e.dagster_event and e.dagster_event.event_type_value == "STEP_UP_FOR_RETRY"]
    print(f"\nmisconfigured night: {seconds:.1f} s")
    assert not result.success
    assert [f.dagster_event.step_key for f in failures] == ["raw_neocrm"]
    message = failures[0].dagster_event.step_failure_data.error.message
    assert "SOURCES__NEOCRM__CLIENT_SECRET" in message and "SOURCES__NEOCRM__PASSWORD" in message
    assert retries == []
    assert seconds < 60  # the source step fails at once; what time there is, is Salesforce's load


@pytest.mark.e2e
def test_an_impossible_setting_found_while_loading_is_not_retried(demo_world, monkeypatch, private_warehouse):
    from leadloop.cli import run_nightly_refresh
    from leadloop.demo.serve import running_demo_sources

    _clear_source_settings(monkeypatch)
    with running_demo_sources(demo_world, ["wecom"]), dg.DagsterInstance.ephemeral() as instance:
        monkeypatch.setenv("SOURCES__WECOM__MAX_TRIES", "0")
        started = time.monotonic()
        result = run_nightly_refresh("2026-11-19", "2026-11-19", instance)
        seconds = time.monotonic() - started
        events = instance.all_logs(result.run_id)
    kinds = [e.dagster_event.event_type_value for e in events if e.dagster_event]
    assert not result.success and "STEP_UP_FOR_RETRY" not in kinds
    failure = next(e for e in events if e.dagster_event and e.dagster_event.event_type_value == "STEP_FAILURE")
    assert "SOURCES__WECOM__MAX_TRIES" in failure.dagster_event.step_failure_data.error.message
    assert seconds < 30


def test_leadloop_night_refuses_to_start_with_a_half_configured_source(monkeypatch, capsys):
    from leadloop.cli import main

    _clear_source_settings(monkeypatch)
    monkeypatch.setenv("SOURCES__SALESFORCE__CLIENT_ID", "connected-app")
    started = time.monotonic()
    assert main(["night"]) == 2
    assert time.monotonic() - started < 5
    assert "SOURCES__SALESFORCE__CLIENT_SECRET" in capsys.readouterr().err


def test_leadloop_sources_lists_every_source_and_its_state(monkeypatch, capsys, private_warehouse):
    from leadloop.cli import main

    _clear_source_settings(monkeypatch)
    monkeypatch.setenv("SOURCES__WECOM__CORP_ID", "ww1")
    assert main(["sources"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line and not line.startswith(" ")}
    assert set(lines) == set(SOURCES_BY_NAME)
    assert "not configured" in lines["neocrm"] and "incomplete" in lines["wecom"]
    assert "SOURCES__WECOM__CORP_SECRET" in out
