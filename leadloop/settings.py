"""The one place that picks leadloop's environment: paths, warehouse target, telemetry.

Every entry point (CLI, Dagster definitions, tests) calls `apply_environment()` first. Values
already set in the environment win, so production overrides everything here without code.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# The Dagster workspace of `leadloop ui`; CLI runs are recorded under its code location too.
WORKSPACE_FILE = PROJECT_ROOT / "workspace.yaml"
SUPPORTED_WAREHOUSES = ("duckdb", "postgres")

# Telemetry is off for every tool, whoever starts the process.
TELEMETRY_OFF = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "RUNTIME__DLTHUB_TELEMETRY": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "DAGSTER_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
}


def warehouse_dir() -> Path:
    """Folder holding the embedded warehouse, the dlt pipeline state and the demo's truth."""
    return Path(os.environ.get("LEADLOOP_WAREHOUSE_DIR", PROJECT_ROOT / "warehouse")).resolve()


def duckdb_path() -> Path:
    """The DuckDB file dlt loads into and dbt builds in (LEADLOOP_DUCKDB_PATH)."""
    return Path(os.environ.get("LEADLOOP_DUCKDB_PATH", warehouse_dir() / "leadloop.duckdb")).resolve()


def dlt_pipelines_dir() -> Path:
    """dlt's local pipeline state, beside the warehouse and apart per warehouse kind."""
    return warehouse_dir() / "dlt_pipelines" / warehouse_kind()


def demo_truth_dir() -> Path:
    """Where the demo company writes its ground truth (outside the warehouse)."""
    return warehouse_dir() / "demo_truth"


def drop_dir() -> Path:
    """Folder where people drop console exports (SOURCES__FILE_DROPS__DROP_DIR)."""
    return Path(os.environ.get("SOURCES__FILE_DROPS__DROP_DIR", warehouse_dir() / "drops")).resolve()


def warehouse_kind() -> str:
    """duckdb (embedded default) or postgres, from LEADLOOP_WAREHOUSE."""
    kind = os.environ.get("LEADLOOP_WAREHOUSE", "duckdb").strip().lower()
    if kind not in SUPPORTED_WAREHOUSES:
        raise ValueError(
            f"LEADLOOP_WAREHOUSE={kind!r} is not supported; set it to one of {', '.join(SUPPORTED_WAREHOUSES)}"
        )
    return kind


def apply_environment() -> None:
    """Set leadloop's defaults in os.environ (telemetry off, paths, dbt target, DAGSTER_HOME)."""
    for key, value in TELEMETRY_OFF.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT))
    os.environ.setdefault("LEADLOOP_DBT_TARGET", warehouse_kind())
    os.environ["LEADLOOP_DUCKDB_PATH"] = str(duckdb_path())
    os.environ.setdefault("SOURCES__FILE_DROPS__DROP_DIR", str(drop_dir()))
    # dlt reads .dlt/config.toml from the working directory; point it at the project's own.
    os.environ.setdefault("DLT_PROJECT_DIR", str(PROJECT_ROOT))
