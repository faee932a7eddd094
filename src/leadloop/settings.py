"""The one place that reads leadloop's environment: paths, warehouse kind, telemetry.

Reading settings changes nothing. Only a process's entry point (the `leadloop` CLI, a benchmark,
the test session) calls `apply_environment()`, which sets leadloop's defaults for itself and the
processes it starts (dbt, `dagster dev`); values already set win, so production overrides them
without code. Importing the Dagster definitions sets nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # src/leadloop/settings.py
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# The Dagster workspace of `leadloop ui`; CLI runs are recorded under its code location too.
WORKSPACE_FILE = PROJECT_ROOT / "workspace.yaml"
SUPPORTED_WAREHOUSES = ("duckdb", "postgres", "spark")

# Telemetry is off for every tool, whoever starts the process.
TELEMETRY_OFF = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "RUNTIME__DLTHUB_TELEMETRY": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "DAGSTER_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
}


# Dagster's defaults that leadloop changes, for every process an entry point starts (values already set win).
# A run over a range of ad-report days records one "materialization planned" event per asset and range, not
# one per asset and day: a full refresh over ~700 days wrote 700 events per ad table before its first step
# (40-110 s of a full night on SQLite storage). The price: if such a run fails, the UI shows its days as not
# materialized rather than failed (the run itself is failed and alerted as before).
DAGSTER_DEFAULTS = {"DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "true"}


def warehouse_dir() -> Path:
    """Folder holding the embedded warehouse, the dlt pipeline state and the demo's truth
    (LEADLOOP_WAREHOUSE_DIR; a relative path is relative to the project root, as dbt's profile reads it)."""
    return (PROJECT_ROOT / os.environ.get("LEADLOOP_WAREHOUSE_DIR", "warehouse")).resolve()


def duckdb_path() -> Path:
    """The DuckDB file dlt loads into and dbt builds in (LEADLOOP_DUCKDB_PATH)."""
    return Path(os.environ.get("LEADLOOP_DUCKDB_PATH", warehouse_dir() / "leadloop.duckdb")).resolve()


def published_marts_path() -> Path:
    """The DuckDB file readers open: the last night's marts, replaced whole when a night publishes
    (LEADLOOP_PUBLISHED_PATH; default <warehouse file>_marts.duckdb beside the warehouse file)."""
    default = duckdb_path().with_name(f"{duckdb_path().stem}_marts.duckdb")
    return Path(os.environ.get("LEADLOOP_PUBLISHED_PATH", default)).resolve()


def cockpit_path() -> Path:
    """The cockpit page the night builds from the published marts, one self-contained HTML file
    (LEADLOOP_COCKPIT_PATH; default cockpit/index.html beside the published marts file)."""
    default = published_marts_path().parent / "cockpit" / "index.html"
    return Path(os.environ.get("LEADLOOP_COCKPIT_PATH", default)).resolve()


def docs_path() -> Path:
    """The dbt docs site the night publishes for analysts, one self-contained HTML file
    (LEADLOOP_DOCS_PATH; default docs/index.html beside the published marts file)."""
    default = published_marts_path().parent / "docs" / "index.html"
    return Path(os.environ.get("LEADLOOP_DOCS_PATH", default)).resolve()


def dlt_pipelines_dir() -> Path:
    """dlt's local pipeline state, beside the warehouse and apart per warehouse kind."""
    return warehouse_dir() / "dlt_pipelines" / warehouse_kind()


def demo_truth_dir() -> Path:
    """Where the demo company writes its ground truth (outside the warehouse)."""
    return warehouse_dir() / "demo_truth"


def drop_dir() -> Path:
    """The default folder for console exports, beside the warehouse (SOURCES__FILE_DROPS__DROP_DIR
    in dlt config overrides it)."""
    return warehouse_dir() / "drops"


def lake_dir() -> Path:
    """On Spark: the lake folder dlt writes raw tables into as Parquet files and Spark reads
    (LEADLOOP_LAKE_DIR; default lake/ in the warehouse folder). A local (or mounted) folder."""
    return Path(os.environ.get("LEADLOOP_LAKE_DIR", warehouse_dir() / "lake")).resolve()


def spark_dir() -> Path:
    """On a local Spark (LEADLOOP_SPARK_MASTER local[…]): the folder of its managed tables (warehouse/)
    and its embedded metastore (metastore_db/), LEADLOOP_SPARK_DIR; default spark/ in the warehouse folder.
    The embedded metastore admits one JVM at a time."""
    return Path(os.environ.get("LEADLOOP_SPARK_DIR", warehouse_dir() / "spark")).resolve()


def spark_master() -> str:
    """The Spark master a local session starts (LEADLOOP_SPARK_MASTER, default local[*])."""
    return os.environ.get("LEADLOOP_SPARK_MASTER", "local[*]")


def warehouse_kind() -> str:
    """duckdb (embedded default), postgres or spark, from LEADLOOP_WAREHOUSE."""
    kind = os.environ.get("LEADLOOP_WAREHOUSE", "duckdb").strip().lower()
    if kind not in SUPPORTED_WAREHOUSES:
        raise ValueError(
            f"LEADLOOP_WAREHOUSE={kind!r} is not supported; set it to one of {', '.join(SUPPORTED_WAREHOUSES)}"
        )
    return kind


def dbt_target() -> str:
    """The target of dbt_project/profiles.yml: LEADLOOP_DBT_TARGET (e.g. spark_thrift), else the warehouse kind."""
    return os.environ.get("LEADLOOP_DBT_TARGET") or warehouse_kind()


def apply_environment() -> None:
    """An entry point's defaults, for this process and those it starts: telemetry off, DAGSTER_DEFAULTS,
    DAGSTER_HOME (the project's dagster.yaml), the DuckDB file dbt's profile reads, the project's .dlt/
    folder for dlt (which otherwise looks in the working directory) and allocators that return freed memory
    (leadloop.process_memory)."""
    for key, value in {**TELEMETRY_OFF, **DAGSTER_DEFAULTS}.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT))
    os.environ["LEADLOOP_DUCKDB_PATH"] = str(duckdb_path())
    os.environ.setdefault("DLT_PROJECT_DIR", str(PROJECT_ROOT))
    from leadloop import process_memory

    # What a night's big steps free is not kept while dbt runs: in this process, and those it starts.
    for key, value in process_memory.ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    process_memory.hand_back_freed_memory()


def project_var(name: str) -> Any:
    """A var of dbt_project.yml, for the Python that must agree with the models (one rule, one place)."""
    import yaml

    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    try:
        return project["vars"][name]
    except KeyError:
        raise KeyError(f"dbt_project.yml has no var {name!r} under vars:") from None
