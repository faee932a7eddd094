"""DuckDB's memory under dbt is a setting of every DuckDB target, LEADLOOP_DUCKDB_MEMORY_LIMIT, default 700MB:
it holds `dbt build` at 10x the demo to 0.94 GiB (DuckDB's own default, 80% of the machine, let it reach 2.6 GiB),
and a team with a bigger warehouse raises it."""

from __future__ import annotations

import yaml

from leadloop import settings


def test_every_duckdb_target_limits_duckdbs_memory():
    outputs = yaml.safe_load((settings.DBT_PROJECT_DIR / "profiles.yml").read_text())["leadloop"]["outputs"]
    duckdb_targets = {name: output for name, output in outputs.items() if output["type"] == "duckdb"}
    assert set(duckdb_targets) == {"duckdb", "duckdb_dev"}
    for output in duckdb_targets.values():
        assert output["settings"]["memory_limit"] == "{{ env_var('LEADLOOP_DUCKDB_MEMORY_LIMIT', '700MB') }}"
