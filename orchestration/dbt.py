"""The dbt project as Dagster assets: one asset per model and seed, dbt tests as asset checks."""
# No `from __future__ import annotations`: Dagster reads the `context` annotation at runtime.


import os
import sys
from collections.abc import Iterator, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)
from dbt.version import __version__ as installed_dbt_version
from packaging import version

from leadloop import settings
from orchestration.jobs import NO_RETRY

settings.apply_environment()

DBT_INPUT_DIRS = ("models", "macros", "seeds", "tests")


def leadloop_dbt_project() -> DbtProject:
    """The dbt project for the target picked by LEADLOOP_DBT_TARGET (duckdb or postgres)."""
    return DbtProject(
        project_dir=settings.DBT_PROJECT_DIR,
        profiles_dir=settings.DBT_PROJECT_DIR,
        target=os.environ["LEADLOOP_DBT_TARGET"],
    )


class OfflineDbtCliResource(DbtCliResource):
    """DbtCliResource that reads dbt's version from the installed package.

    The stock resource runs `dbt --version`, which asks PyPI for the latest release on every run;
    leadloop makes no call beyond the machine it runs on.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(installed_dbt_version)


def _dbt_cli_resource(project: DbtProject) -> DbtCliResource:
    """dbt CLI resource for a project, running the dbt of this environment (PATH or not)."""
    return OfflineDbtCliResource(
        project_dir=project,
        target=os.environ["LEADLOOP_DBT_TARGET"],
        dbt_executable=str(Path(sys.executable).with_name("dbt")),
    )


def _manifest_is_stale(project: DbtProject) -> bool:
    """True when the manifest is missing or older than any file dbt parses."""
    manifest = Path(project.manifest_path)
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    inputs = [project.project_dir / "dbt_project.yml"]
    for folder in DBT_INPUT_DIRS:
        inputs.extend(p for p in (project.project_dir / folder).rglob("*") if p.is_file())
    return any(p.stat().st_mtime > built for p in inputs)


def ensure_manifest(project: DbtProject) -> Path:
    """Parse the dbt project when its manifest is missing or stale (≈4 s), so definitions load."""
    if _manifest_is_stale(project):
        _dbt_cli_resource(project).cli(["parse", "--quiet"], target_path=project.target_path).wait()
    return Path(project.manifest_path)


class LeadloopDbtTranslator(DagsterDbtTranslator):
    """Groups dbt assets by top folder (staging / intermediate / marts / seeds) = warehouse schema."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        """Sources keep their raw_<source> group; models and seeds take their schema's name."""
        if dbt_resource_props["resource_type"] == "source":
            return dbt_resource_props["source_name"]
        return dbt_resource_props.get("config", {}).get("schema") or "default"


DBT_PROJECT = leadloop_dbt_project()
ensure_manifest(DBT_PROJECT)
# dbt's tests on sources still run inside `dbt build` (a failure skips what reads the table), but are
# not Dagster checks of the raw tables: those have their blocking Great Expectations suite, and a
# dbt-run check on a raw table would make every Python asset that reads raw tables (the identity
# observations) wait for the dbt step it feeds — a cycle Dagster can only break by splitting dbt.
DBT_TRANSLATOR = LeadloopDbtTranslator(
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_source_tests_as_checks=False)
)


# dbt unit tests check the SQL, not the night's data: they run in CI (tests/dbt), as dbt recommends,
# and a night does not spend a third of its dbt time re-proving its code.
NIGHTLY_EXCLUDE = "test_type:unit"


@dbt_assets(
    manifest=DBT_PROJECT.manifest_path,
    project=DBT_PROJECT,
    dagster_dbt_translator=DBT_TRANSLATOR,
    name="leadloop_dbt",
    retry_policy=NO_RETRY,
    exclude=NIGHTLY_EXCLUDE,
)
def leadloop_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    """Build the selected seeds and models and run their tests (dbt build)."""
    yield from dbt.cli(["build"], context=context).stream()


def dbt_resource() -> DbtCliResource:
    """dbt CLI resource bound to the project and target."""
    return _dbt_cli_resource(DBT_PROJECT)

