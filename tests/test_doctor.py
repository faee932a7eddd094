"""`leadloop doctor` at a Salesforce-only team: one line per source, only Salesforce probed, the
setting to fix under a source that fails, the last load from the warehouse, and the exit codes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime

import duckdb
import pytest

from leadloop.demo.serve import DemoSources, running_demo_sources
from leadloop.extract.registry import SOURCES_BY_NAME
from tests.conftest import BLOCKED_CONNECTIONS


@pytest.fixture(scope="module")
def salesforce_only(demo_world) -> Iterator[DemoSources]:
    """The demo org's Salesforce simulator; no other source configured."""
    saved = {key: value for key, value in os.environ.items() if key.startswith("SOURCES__")}
    for key in saved:
        del os.environ[key]
    try:
        with running_demo_sources(demo_world, ["salesforce"]) as running:
            yield running
    finally:
        os.environ.update(saved)


def doctor(capsys) -> tuple[int, dict[str, str], str, str]:
    """Runs `leadloop doctor`: exit code, each source's line by name, all of stdout, stderr."""
    from leadloop.cli import main

    code = main(["doctor"])
    out, err = capsys.readouterr()
    lines = {line.split()[0]: line for line in out.splitlines() if line and not line.startswith(" ")}
    assert set(lines) == set(SOURCES_BY_NAME)  # one line per source, indented lines say what to fix
    return code, lines, out, err


def test_a_healthy_salesforce_only_team_exits_0_and_nothing_else_is_contacted(
    salesforce_only, capsys, private_warehouse
):
    simulator = salesforce_only.simulators["salesforce"].simulator
    simulator.requests_served.clear()
    blocked = len(BLOCKED_CONNECTIONS)
    code, lines, out, _ = doctor(capsys)
    assert code == 0
    assert lines["salesforce"].split()[1:6] == ["configured", "reachable", "credentials", "accepted", "nothing"]
    assert lines["salesforce"].endswith("nothing loaded")
    for name in set(SOURCES_BY_NAME) - {"salesforce"}:
        assert lines[name].split()[1:5] == ["not", "configured", "not", "probed"], lines[name]
        assert lines[name].endswith("nothing loaded")
    assert not [line for line in out.splitlines() if line.startswith(" ")]  # nothing to fix
    assert sum(simulator.requests_served.values()) == 2  # token grant and one COUNT()
    assert len(BLOCKED_CONNECTIONS) == blocked  # no probe of an unconfigured source's default host


def test_the_last_load_comes_from_the_warehouse(salesforce_only, capsys, private_warehouse):
    private_warehouse.parent.mkdir(parents=True)
    with duckdb.connect(str(private_warehouse)) as con:
        con.execute("create schema raw_salesforce")
        con.execute("create table raw_salesforce.leads as select range as id from range(3)")
        con.execute("create table raw_salesforce._dlt_loads (load_id text, status bigint, inserted_at timestamp)")
        con.execute("insert into raw_salesforce._dlt_loads values ('1', 0, ?)", [datetime(2026, 11, 20, 18, 5)])
    code, lines, _, _ = doctor(capsys)
    assert code == 0
    assert lines["salesforce"].endswith("3 rows in raw_salesforce, last load 2026-11-20 18:05 UTC")
    assert lines["neocrm"].endswith("nothing loaded")


def test_refused_credentials_exit_1_naming_the_setting(salesforce_only, capsys, monkeypatch, private_warehouse):
    monkeypatch.setenv("SOURCES__SALESFORCE__CLIENT_SECRET", "not-the-secret")
    code, lines, out, _ = doctor(capsys)
    assert code == 1
    assert "reachable   credentials refused" in lines["salesforce"]
    assert "credentials refused: check SOURCES__SALESFORCE__CLIENT_ID / CLIENT_SECRET" in out
    assert "not-the-secret" not in out


def test_an_unreachable_login_host_exits_1_naming_it(salesforce_only, capsys, monkeypatch, private_warehouse):
    monkeypatch.setenv("SOURCES__SALESFORCE__LOGIN_URL", "http://127.0.0.1:9")  # discard port: closed
    code, lines, out, _ = doctor(capsys)
    assert code == 1
    assert "unreachable credentials unchecked" in lines["salesforce"]
    assert "cannot reach http://127.0.0.1:9 (connection refused); check SOURCES__SALESFORCE__LOGIN_URL" in out


def test_a_half_configured_source_exits_2_and_is_not_probed(salesforce_only, capsys, monkeypatch, private_warehouse):
    monkeypatch.setenv("SOURCES__NEOCRM__CLIENT_ID", "tenant-app")
    code, lines, out, _ = doctor(capsys)
    assert code == 2
    assert "incomplete (missing client_secret, username, password) not probed" in lines["neocrm"]
    assert "SOURCES__NEOCRM__CLIENT_SECRET" in out
    assert "credentials accepted" in lines["salesforce"]  # the configured source is still checked


def test_no_source_configured_exits_2_with_a_hint(capsys, monkeypatch, private_warehouse):
    for key in [key for key in os.environ if key.startswith("SOURCES__")]:
        monkeypatch.delenv(key)
    code, lines, _, err = doctor(capsys)
    assert code == 2
    assert all("not configured" in line for line in lines.values())
    assert "no source is configured" in err


def test_leadloop_sources_stays_the_quick_listing(salesforce_only, capsys, private_warehouse):
    from leadloop.cli import main

    simulator = salesforce_only.simulators["salesforce"].simulator
    simulator.requests_served.clear()
    assert main(["sources"]) == 0
    out = capsys.readouterr().out
    assert "Salesforce CRM" in out and "reachable" not in out
    assert sum(simulator.requests_served.values()) == 0
