"""Each source's probe (src/leadloop/extract/<source>/probe.py) against the demo simulators over 127.0.0.1: it
authenticates with the source's own client, tells refused credentials from an unreachable host, names
the setting to fix, and gives up within seconds."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator

import pytest

from leadloop.demo.serve import DemoSources, running_demo_sources
from leadloop.extract.common.probe import Probe, host_of, scrub, settings_named
from leadloop.extract.registry import SOURCES, SOURCES_BY_NAME, probe

# What each probe sends, and nothing more: (path, requests) per source.
WIRE = {
    "baidu_sem": {"/json/sms/service/OpenApiReportService/getReportData": 1},
    "neocrm": {"/auc/oauth2/token": 1, "/rest/data/v2.0/query/xoqlScroll": 1},
    "oceanengine": {"/open_api/v3.0/report/custom/get/": 1},
    "salesforce": {"/services/oauth2/token": 1, "/services/data/v61.0/query": 1},
    "sensors": {"/api/sql/query": 1},
    "wecom": {"/cgi-bin/gettoken": 1, "/cgi-bin/externalcontact/get_follow_user_list": 1},
}


@pytest.fixture(scope="module")
def demo(demo_world) -> Iterator[DemoSources]:
    """All six simulators of the demo company, every source configured to use them."""
    saved = {key: value for key, value in os.environ.items() if key.startswith("SOURCES__")}
    for key in saved:
        del os.environ[key]
    try:
        with running_demo_sources(demo_world) as running:
            yield running
    finally:
        os.environ.update(saved)


@pytest.fixture
def served(demo: DemoSources) -> DemoSources:
    """The demo with its request counters at zero."""
    for demo_simulator in demo.simulators.values():
        demo_simulator.simulator.requests_served.clear()
    return demo


def closed_port_url() -> str:
    """http://127.0.0.1:<port> where nothing listens (a port just released)."""
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        port = probe_socket.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_every_source_probes_ok_against_its_simulator(served, private_warehouse):
    for source in SOURCES:
        found = probe(source)
        assert found == Probe(True, True, found.detail), (source.name, found)
        served_paths = dict(served.simulators[source.name].simulator.requests_served)
        assert served_paths == WIRE[source.name], source.name
    assert not private_warehouse.exists()  # a probe never writes to the warehouse


@pytest.mark.parametrize(
    ("source", "key", "named"),
    [
        ("salesforce", "CLIENT_SECRET", "SOURCES__SALESFORCE__CLIENT_ID / CLIENT_SECRET"),  # OAuth grant
        ("neocrm", "PASSWORD", "SOURCES__NEOCRM__USERNAME / PASSWORD"),  # OAuth password grant
        ("wecom", "CORP_SECRET", "SOURCES__WECOM__CORP_SECRET"),  # errcode in an HTTP 200 answer
        ("sensors", "TOKEN", "SOURCES__SENSORS__TOKEN"),  # token in the query string, HTTP 403
    ],
)
def test_wrong_credentials_are_refused_naming_the_setting(served, monkeypatch, source, key, named):
    wrong = "wrong-value-that-must-not-be-echoed"
    monkeypatch.setenv(f"SOURCES__{source.upper()}__{key}", wrong)
    found = probe(source)
    assert (found.reachable, found.credentials_accepted) == (True, False)
    assert found.detail.startswith(f"credentials refused: check {named}")
    assert wrong not in found.detail


def test_an_ad_platform_token_refused_is_not_renewed_without_a_token_file(served, monkeypatch, tmp_path):
    """巨量引擎 refresh tokens are single-use: the probe spends one only where its successor is kept."""
    simulator = served.simulators["oceanengine"].simulator
    monkeypatch.setenv("SOURCES__OCEANENGINE__ACCESS_TOKEN", "expired-token")
    found = probe("oceanengine")
    assert (found.reachable, found.credentials_accepted) == (True, False)
    assert "SOURCES__OCEANENGINE__ACCESS_TOKEN" in found.detail
    assert "SOURCES__OCEANENGINE__TOKEN_FILE" in found.detail
    assert simulator.requests_served["/open_api/oauth2/refresh_token/"] == 0

    monkeypatch.setenv("SOURCES__OCEANENGINE__TOKEN_FILE", str(tmp_path / "oceanengine_tokens.json"))
    assert probe("oceanengine").ok
    assert simulator.requests_served["/open_api/oauth2/refresh_token/"] == 1
    assert (tmp_path / "oceanengine_tokens.json").exists()  # the next load starts from the renewed token


@pytest.mark.parametrize("source", sorted(SOURCES_BY_NAME))
def test_a_closed_port_is_unreachable_within_seconds(served, monkeypatch, source):
    url = closed_port_url()
    for key in ("BASE_URL", "LOGIN_URL", "TOKEN_URL", "REFRESH_URL"):
        if f"SOURCES__{source.upper()}__{key}" in os.environ or key == "BASE_URL":
            monkeypatch.setenv(f"SOURCES__{source.upper()}__{key}", url)
    started = time.monotonic()
    found = probe(source)
    assert time.monotonic() - started < 2
    assert found == Probe(False, None, found.detail)
    assert found.detail.startswith(f"cannot reach {url} (connection refused); check SOURCES__{source.upper()}__")


def test_a_host_that_never_answers_is_given_up_after_the_timeout(served, monkeypatch):
    with socket.socket() as silent:  # accepts connections (backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        monkeypatch.setenv("SOURCES__SENSORS__BASE_URL", url)
        started = time.monotonic()
        found = probe("sensors", timeout=0.3)
        seconds = time.monotonic() - started
    assert seconds < 2  # two tries of 0.3 s and one short pause
    assert found == Probe(False, None, f"cannot reach {url} (no answer within 0.3 s); check SOURCES__SENSORS__BASE_URL")


def test_an_impossible_setting_is_reported_without_a_request(served, monkeypatch):
    monkeypatch.setenv("SOURCES__OCEANENGINE__ADVERTISER_IDS", "not-a-number")
    found = probe("oceanengine")
    assert (found.reachable, found.credentials_accepted) == (False, None)
    assert "SOURCES__OCEANENGINE__ADVERTISER_IDS" in found.detail
    assert sum(served.simulators["oceanengine"].simulator.requests_served.values()) == 0


def test_an_unconfigured_source_is_not_contacted(monkeypatch):
    for key in [key for key in os.environ if key.startswith("SOURCES__WECOM__")]:
        monkeypatch.delenv(key)
    assert probe("wecom") == Probe(False, None, "not contacted: wecom is not configured")


def test_detail_lines_name_settings_and_hosts_but_no_secrets():
    message = ("wecom: /cgi-bin/gettoken answered errcode 40001. Check SOURCES__WECOM__CORP_ID,"
               " SOURCES__WECOM__CORP_SECRET (or corp_id, corp_secret under [sources.wecom])")
    assert settings_named(message) == "SOURCES__WECOM__CORP_ID / CORP_SECRET"
    assert host_of("https://user:pw@qyapi.weixin.qq.com:8443/cgi-bin/gettoken?corpsecret=s") == (
        "https://qyapi.weixin.qq.com:8443"
    )
    assert scrub("failed: http://sa.example.com/api/sql/query?token=s3cret&project=p\nagain") == (
        "failed: http://sa.example.com/api/sql/query again"
    )
