"""DuckDB's memory under dbt is a setting of every DuckDB target, LEADLOOP_DUCKDB_MEMORY_LIMIT (default DuckDB's
own, 80% of the machine): 1GB holds `dbt build` at 10x the demo to 1.2 GiB instead of 3 GiB, but fails two window
models at 100x, so a team sets it for its own size."""

from __future__ import annotations

import yaml

from leadloop import settings


def test_every_duckdb_target_limits_duckdbs_memory():
    outputs = yaml.safe_load((settings.DBT_PROJECT_DIR / "profiles.yml").read_text())["leadloop"]["outputs"]
    duckdb_targets = {name: output for name, output in outputs.items() if output["type"] == "duckdb"}
    assert set(duckdb_targets) == {"duckdb", "duckdb_dev"}
    for output in duckdb_targets.values():
        assert output["settings"]["memory_limit"] == "{{ env_var('LEADLOOP_DUCKDB_MEMORY_LIMIT', '80%') }}"
