"""What the marts' yml says about them reaches the warehouse: every mart and every mart column
carries its dbt description as a comment (persist_docs), so a BI tool shows it."""

from __future__ import annotations

import json

import duckdb
import pytest

from leadloop import settings

pytestmark = pytest.mark.e2e


def _documented_marts() -> dict[str, tuple[str, dict[str, str]]]:
    """mart → (its description, column → description), from the manifest the night built with."""
    manifest = json.loads((settings.DBT_PROJECT_DIR / "target" / "manifest.json").read_text(encoding="utf-8"))
    return {node["name"]: (node["description"], {name: column["description"]
                                                 for name, column in node["columns"].items()})
            for node in manifest["nodes"].values()
            if node["resource_type"] == "model" and node["config"].get("schema") == "marts"}


def test_every_mart_and_column_carries_its_description(demo_night):
    documented = _documented_marts()
    assert len(documented) >= 15
    with duckdb.connect(str(demo_night), read_only=True) as con:
        tables = dict(con.execute(
            "select table_name, comment from duckdb_tables() where schema_name = 'marts'").fetchall())
        columns = {(t, c): comment for t, c, comment in con.execute(
            "select table_name, column_name, comment from duckdb_columns() where schema_name = 'marts'").fetchall()}
    missing = [mart for mart, (description, _) in documented.items()
               if not description or (tables.get(mart) or "").strip() != description.strip()]
    assert missing == []
    wrong = [f"{mart}.{name}" for mart, (_, described) in documented.items() for name, text in described.items()
             if not text or (columns.get((mart, name)) or "").strip() != text.strip()]
    assert wrong == []
    # and no mart column goes undocumented
    undocumented = [f"{t}.{c}" for (t, c) in columns if t in documented and c not in documented[t][1]]
    assert undocumented == []
