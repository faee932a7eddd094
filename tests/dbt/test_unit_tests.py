"""dbt unit tests prove the SQL, not a night's data, so the nightly build leaves them out
(src/leadloop/orchestration/dbt.py); CI runs every one of them here, on DuckDB (tests/dbt/test_postgres.py runs
them on PostgreSQL inside its full build)."""

from __future__ import annotations

import re

import pytest

from tests.support.dbt import duckdb_environment, passed, run_dbt

pytestmark = pytest.mark.e2e


def test_every_dbt_unit_test_passes_on_duckdb(warehouse_copy, tmp_path):
    result = run_dbt("test", "--select", "test_type:unit", work_dir=tmp_path,
                     environment=duckdb_environment(warehouse_copy))
    passed(result)
    ran = set(re.findall(r" PASS \S+::(\S+)", result.stdout))  # unit tests only (not the run's hooks)
    declared = set(re.findall(r"^\s+- name: (\S+)", _unit_test_files(), flags=re.MULTILINE))
    assert ran == declared and len(declared) >= 15


def _unit_test_files() -> str:
    from leadloop import settings

    return "\n".join(path.read_text(encoding="utf-8")
                     for path in (settings.DBT_PROJECT_DIR / "models").rglob("*unit_tests.yml"))


def test_unit_test_names_fit_a_postgres_relation_name():
    """dbt names a relation after each unit test; PostgreSQL allows 63 characters."""
    names = re.findall(r"^\s+- name: (\S+)", _unit_test_files(), flags=re.MULTILINE)
    assert [name for name in names if len(name) > 63] == []


def test_a_developer_target_builds_beside_production_not_over_it(tmp_path):
    """Macro generate_schema_name: production targets build into staging / marts; duckdb_dev into
    <LEADLOOP_DEV_SCHEMA>_staging / _marts."""
    import json

    def schemas(target: str) -> set[str]:
        result = run_dbt("ls", "--resource-type", "model", "--output", "json", "--output-keys", "schema",
                         "--target", target, work_dir=tmp_path / target,
                         environment={"LEADLOOP_DEV_SCHEMA": "dev_alice"})
        assert result.returncode == 0, result.stdout[-3000:]
        return {json.loads(line)["schema"] for line in result.stdout.splitlines() if line.startswith("{")}

    assert schemas("duckdb") == {"staging", "intermediate", "marts"}
    assert schemas("duckdb_dev") == {"dev_alice_staging", "dev_alice_intermediate", "dev_alice_marts"}
