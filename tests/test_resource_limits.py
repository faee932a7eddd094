"""DuckDB's memory under dbt is a setting of every DuckDB target, LEADLOOP_DUCKDB_MEMORY_LIMIT, default 700MB:
it holds `dbt build` at 10x the demo to 0.94 GiB (DuckDB's own default, 80% of the machine, let it reach 2.6 GiB),
and a team with a bigger warehouse raises it."""

from __future__ import annotations

import duckdb
import pytest
import yaml

from leadloop import settings
from leadloop.orchestration.dbt_project import memory_limit_hint


def test_every_duckdb_target_limits_duckdbs_memory():
    outputs = yaml.safe_load((settings.DBT_PROJECT_DIR / "profiles.yml").read_text())["leadloop"]["outputs"]
    duckdb_targets = {name: output for name, output in outputs.items() if output["type"] == "duckdb"}
    assert set(duckdb_targets) == {"duckdb", "duckdb_dev"}
    for output in duckdb_targets.values():
        assert output["settings"]["memory_limit"] == "{{ env_var('LEADLOOP_DUCKDB_MEMORY_LIMIT', '700MB') }}"


def test_duckdb_running_out_of_memory_under_dbt_names_the_setting(monkeypatch):
    """When dbt fails because DuckDB ran out of memory, the night's error says which setting raises the limit:
    DuckDB's own message (made here by DuckDB itself, as a model of dbt's would meet it) names memory_limit."""
    connection = duckdb.connect(config={"memory_limit": "10MB"})  # in memory: nothing can spill
    with pytest.raises(duckdb.OutOfMemoryException) as raised:
        connection.execute("select i, string_agg(cast(i as varchar), ',') from range(3000000) t(i) group by i"
                           " order by 2").fetchall()
    dbt_error = f"The dbt CLI process failed.\n\nRuntime Error in model int_x (models/int_x.sql)\n  {raised.value}"

    monkeypatch.delenv("LEADLOOP_WAREHOUSE", raising=False)
    monkeypatch.delenv("LEADLOOP_DUCKDB_MEMORY_LIMIT", raising=False)
    assert "LEADLOOP_DUCKDB_MEMORY_LIMIT is not set" in memory_limit_hint(dbt_error)
    monkeypatch.setenv("LEADLOOP_DUCKDB_MEMORY_LIMIT", "700MB")
    assert "LEADLOOP_DUCKDB_MEMORY_LIMIT is 700MB" in memory_limit_hint(dbt_error)
    assert memory_limit_hint("Runtime Error in model int_x: Binder Error: column y not found") is None
    monkeypatch.setenv("LEADLOOP_WAREHOUSE", "postgres")  # Postgres has no such setting
    assert memory_limit_hint(dbt_error) is None
