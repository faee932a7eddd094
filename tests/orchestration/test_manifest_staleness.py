"""The prepared manifest (and dbt's partial-parse file beside it) is made again when the profile changes: dbt
records the profile's digest there and, while it differs, parses every model again in each invocation."""

from __future__ import annotations

import os
import shutil

from dagster_dbt import DbtProject

from leadloop import settings
from leadloop.orchestration.dbt_project import manifest_is_stale


def test_a_newer_profile_makes_the_manifest_stale(tmp_path):
    project_dir = tmp_path / "dbt_project"
    shutil.copytree(settings.DBT_PROJECT_DIR, project_dir, ignore=shutil.ignore_patterns("target", "logs"))
    project = DbtProject(project_dir=project_dir, profiles_dir=project_dir, target="duckdb")
    manifest = project_dir / "target" / "manifest.json"
    manifest.parent.mkdir()
    manifest.write_text("{}")
    later = max(p.stat().st_mtime for p in project_dir.rglob("*") if p.is_file()) + 10
    os.utime(manifest, (later, later))
    assert not manifest_is_stale(project)
    os.utime(project_dir / "profiles.yml", (later + 10, later + 10))
    assert manifest_is_stale(project)
