"""Running a leadloop entry point as a user runs it, in a subprocess whose Python refuses and records every
attempt to reach beyond this machine (the sitecustomize in tests/support/outbound_guard): telemetry, usage
statistics and version checks all show up in its log. Nothing in the environment turns telemetry off, so
the project's own files (and the entry points themselves) must."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from leadloop import settings

GUARD = settings.PROJECT_ROOT / "tests" / "support" / "outbound_guard"
# Switches that would hide telemetry if the test's own environment set them.
TELEMETRY_SWITCHES = ("DBT_SEND_ANONYMOUS_USAGE_STATS", "RUNTIME__DLTHUB_TELEMETRY", "GX_ANALYTICS_ENABLED",
                      "DAGSTER_DISABLE_TELEMETRY", "DO_NOT_TRACK", "DLT_PROJECT_DIR", "HTTP_PROXY", "HTTPS_PROXY",
                      "http_proxy", "https_proxy")


def guarded_environment(log: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (the test's environment) without the telemetry switches, with the guard loaded and logging to `log`."""
    environment = {key: value for key, value in (base or os.environ).items() if key not in TELEMETRY_SWITCHES}
    return environment | {"PYTHONPATH": str(GUARD), "LEADLOOP_OUTBOUND_LOG": str(log)}


def outbound_attempts(log: Path) -> list[str]:
    """The attempts the guarded process made (none, when telemetry is off)."""
    return log.read_text().splitlines() if log.exists() else []
