"""Acceptance: telemetry is off in the project's own files, and nothing leaves 127.0.0.1."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from leadloop import settings
from tests import conftest
from tests.support.outbound import guarded_environment, outbound_attempts


def test_dbt_project_turns_usage_stats_off():
    project = yaml.safe_load((settings.DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    assert project["flags"]["send_anonymous_usage_stats"] is False


def test_dlt_config_turns_telemetry_off():
    config = tomllib.loads((settings.PROJECT_ROOT / ".dlt" / "config.toml").read_text())
    assert config["runtime"]["dlthub_telemetry"] is False


def test_dagster_yaml_turns_telemetry_off():
    config = yaml.safe_load((settings.PROJECT_ROOT / "dagster.yaml").read_text())
    assert config["telemetry"]["enabled"] is False


def test_network_guard_refuses_addresses_beyond_loopback():
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("192.0.2.1", 443))  # TEST-NET-1: refused before any packet is sent
    conftest.BLOCKED_CONNECTIONS.remove("('192.0.2.1', 443)")


@pytest.mark.e2e
def test_the_demo_night_made_no_connection_beyond_loopback(demo_night):
    assert conftest.BLOCKED_CONNECTIONS == []


# Entry points run as a user runs them, in a guarded subprocess (tests/support/outbound.py).
def _run_guarded(command: list[str], tmp_path: Path, cwd: Path, **environment: str) -> list[str]:
    """Run an entry point as a subprocess; the outbound attempts it made (none, when telemetry is off)."""
    log = tmp_path / "outbound.log"
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    shutil.copy(settings.PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    env = guarded_environment(log) | {"DAGSTER_HOME": str(home), "LEADLOOP_WAREHOUSE_DIR": str(tmp_path / "warehouse"),
                                      **environment}
    env.pop("LEADLOOP_DUCKDB_PATH", None)
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return outbound_attempts(log)


def test_the_guard_sees_an_attempt_to_phone_home(tmp_path):
    attempts = _run_guarded([sys.executable, "-c", "import socket; socket.socket().connect_ex(('192.0.2.7', 443))"],
                            tmp_path, tmp_path)
    assert len(attempts) == 1 and "192.0.2.7:443" in attempts[0]


@pytest.mark.e2e
def test_dbt_run_by_hand_phones_nobody(tmp_path):
    dbt = Path(sys.executable).with_name("dbt")
    attempts = _run_guarded([str(dbt), "parse", "--target-path", str(tmp_path / "target"),
                             "--log-path", str(tmp_path / "logs")], tmp_path, settings.DBT_PROJECT_DIR)
    assert attempts == []


@pytest.mark.e2e
def test_dagster_loading_the_definitions_phones_nobody(tmp_path):
    dagster = Path(sys.executable).with_name("dagster")
    attempts = _run_guarded([str(dagster), "definitions", "validate", "-w", str(settings.WORKSPACE_FILE)],
                            tmp_path, settings.PROJECT_ROOT)
    assert attempts == []


# A whole `leadloop night` (Dagster, dlt, Great Expectations and dbt in one run) runs guarded, from another
# folder, in tests/test_hot_lead_alerts.py::test_the_sensor_alerts_while_a_real_night_runs: one night serves both.


@pytest.mark.e2e
def test_the_metric_layer_phones_nobody(tmp_path):
    """`leadloop metrics` (MetricFlow reading the metrics and compiling a query) from another folder.
    MetricFlow's own CLI, `mf`, asks PyPI for a newer release: leadloop never runs it."""
    leadloop = Path(sys.executable).with_name("leadloop")
    attempts = _run_guarded([str(leadloop), "metrics", "query", "win_rate", "--by", "metric_time__month", "--sql"],
                            tmp_path, tmp_path)
    assert attempts == []
