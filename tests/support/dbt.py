"""Run the project's dbt from a test: one subprocess, a private target and log folder, telemetry off."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from leadloop import settings


def run_dbt(*args: str, work_dir: Path, environment: Mapping[str, str] | None = None,
            project_dir: Path | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    """`dbt <args>` on the project (or a copy of it), writing target/ and logs/ under `work_dir`."""
    project = project_dir or settings.DBT_PROJECT_DIR
    dbt = Path(sys.executable).with_name("dbt")
    return subprocess.run(
        [str(dbt), *args, "--project-dir", str(project), "--profiles-dir", str(project),
         "--target-path", str(work_dir / "target"), "--log-path", str(work_dir / "logs")],
        check=False, capture_output=True, text=True, cwd=project, timeout=timeout,
        env={**os.environ, **(environment or {}), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
    )


def passed(result: subprocess.CompletedProcess) -> int:
    """The PASS= count of a dbt run that succeeded; fails the test with dbt's output otherwise."""
    assert result.returncode == 0 and "ERROR=0" in result.stdout, result.stdout[-6000:] + result.stderr[-2000:]
    return int(re.search(r"PASS=(\d+)", result.stdout).group(1))  # type: ignore[union-attr]


def duckdb_environment(path: Path) -> dict[str, str]:
    """The settings that point dbt at one DuckDB file."""
    return {"LEADLOOP_DUCKDB_PATH": str(path), "LEADLOOP_WAREHOUSE": "duckdb"}
