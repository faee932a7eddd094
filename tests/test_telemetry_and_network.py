"""Acceptance: telemetry is off in the project's own files, and nothing leaves 127.0.0.1."""

from __future__ import annotations

import socket
import tomllib

import pytest
import yaml

from leadloop import settings
from tests import conftest


def test_dbt_project_turns_usage_stats_off():
    project = yaml.safe_load((settings.DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    assert project["flags"]["send_anonymous_usage_stats"] is False


def test_dlt_config_turns_telemetry_off():
    config = tomllib.loads((settings.PROJECT_ROOT / ".dlt" / "config.toml").read_text())
    assert config["runtime"]["dlthub_telemetry"] is False


def test_dagster_yaml_turns_telemetry_off():
    config = yaml.safe_load((settings.PROJECT_ROOT / "dagster.yaml").read_text())
    assert config["telemetry"]["enabled"] is False


def test_every_entry_point_sets_telemetry_off_in_the_environment():
    settings.apply_environment()
    import os

    assert os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] == "false"
    assert os.environ["RUNTIME__DLTHUB_TELEMETRY"] == "false"
    assert os.environ["GX_ANALYTICS_ENABLED"] == "false"


def test_network_guard_refuses_addresses_beyond_loopback():
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("192.0.2.1", 443))  # TEST-NET-1: refused before any packet is sent
    conftest.BLOCKED_CONNECTIONS.remove("('192.0.2.1', 443)")


@pytest.mark.slow
def test_the_demo_night_made_no_connection_beyond_loopback(demo_night):
    assert conftest.BLOCKED_CONNECTIONS == []
