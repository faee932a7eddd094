"""The night's memory is bounded by settings, not by the machine: DuckDB under dbt takes at most
LEADLOOP_DUCKDB_MEMORY_LIMIT (default 1GB; its own default, 80 % of the machine, let `dbt build` reach 3 GiB at
10x the demo), spilling beyond it."""

from __future__ import annotations

import yaml

from leadloop import settings


def test_every_duckdb_target_limits_duckdbs_memory():
    outputs = yaml.safe_load((settings.DBT_PROJECT_DIR / "profiles.yml").read_text())["leadloop"]["outputs"]
    duckdb_targets = {name: output for name, output in outputs.items() if output["type"] == "duckdb"}
    assert set(duckdb_targets) == {"duckdb", "duckdb_dev"}
    for output in duckdb_targets.values():
        assert output["settings"]["memory_limit"] == "{{ env_var('LEADLOOP_DUCKDB_MEMORY_LIMIT', '1GB') }}"
