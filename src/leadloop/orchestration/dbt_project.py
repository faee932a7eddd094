"""leadloop's dbt project for Dagster: its target, the dbt CLI that runs it, and how its manifest is
prepared. Importing this module runs nothing; `prepare_manifest()` is called by entry points (the
leadloop CLI, the test session, `leadloop prepare` in a deployment's build) and, under `dagster dev`
only, when the definitions load."""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import sys
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from dagster_dbt.dbt_project import using_dagster_dev
from dbt.version import __version__ as installed_dbt_version
from packaging import version

from leadloop import settings

DBT_INPUT_DIRS = ("models", "macros", "seeds", "tests")
PARTIAL_PARSE_FILE = "partial_parse.msgpack"
# Parses kept per rendered profile (a warehouse path, a server): the newest few.
PARSES_KEPT = 8


class OfflineDbtCliResource(DbtCliResource):
    """DbtCliResource that reads dbt's version from the installed package.

    The stock resource runs `dbt --version`, which asks PyPI for the latest release on every run;
    leadloop makes no call beyond the machine it runs on.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(installed_dbt_version)

    def cli(self, args, *, target_path: Path | None = None, context=None, **kwargs):
        """The stock invocation, its target folder first given the last parse made with this profile."""
        target_path = target_path or self._get_unique_target_path(context=context)
        absolute = target_path if target_path.is_absolute() else Path(self.project_dir) / target_path
        reuse_parse(absolute)
        return super().cli(args, target_path=target_path, context=context, **kwargs)


def dbt_cli_resource(project: DbtProject) -> DbtCliResource:
    """dbt CLI resource for a project, running the dbt of this environment (PATH or not)."""
    return OfflineDbtCliResource(project_dir=project, target=settings.dbt_target(),
                                 dbt_executable=str(Path(sys.executable).with_name("dbt")))


def manifest_is_stale(project: DbtProject) -> bool:
    """True when the manifest is missing or older than any file dbt parses, or than the profile: dbt keeps
    the profile's digest in its partial-parse file and parses every model again in each later invocation
    (the night's build, its docs) while the prepared file carries an older profile."""
    manifest = Path(project.manifest_path)
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    inputs = [project.project_dir / "dbt_project.yml", Path(project.profiles_dir) / "profiles.yml"]
    for folder in DBT_INPUT_DIRS:
        inputs.extend(p for p in (project.project_dir / folder).rglob("*") if p.is_file())
    return any(p.stat().st_mtime > built for p in inputs)


def profile_digest(environment: Mapping[str, str] | None = None) -> str:
    """A digest of the profile as dbt renders it: profiles.yml, where the project lives (relative defaults) and
    the value of every environment variable profiles.yml reads."""
    environment = os.environ if environment is None else environment
    profiles = (settings.DBT_PROJECT_DIR / "profiles.yml").read_text(encoding="utf-8")
    names = sorted(set(re.findall(r"env_var\(\s*['\"]([^'\"]+)['\"]", profiles)))
    rendered = [str(settings.DBT_PROJECT_DIR), profiles, *(f"{name}={environment.get(name)}" for name in names)]
    return hashlib.sha256("\n".join(rendered).encode("utf-8")).hexdigest()[:16]


def _parses_folder() -> Path:
    return Path(leadloop_dbt_project().target_path) / "parses"


def reuse_parse(target: Path) -> None:
    """Give a dbt invocation's target folder the last parse made with the current profile, if any.

    dbt parses every file again when the profile differs from the one its partial-parse file was made with,
    and the profile names the warehouse: a night on another DuckDB file, or a runtime whose settings differ
    from the build that prepared the manifest, would pay a full parse (≈7 s on the demo project) in each
    invocation. dbt still checks the file it is given (files, vars, versions), so an outdated one costs
    only the parse it would have done anyway."""
    kept = _parses_folder() / f"{profile_digest()}.msgpack"
    if kept.exists() and not (target / PARTIAL_PARSE_FILE).exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(kept, target / PARTIAL_PARSE_FILE)


def keep_parse(target: Path) -> None:
    """Keep the parse a finished invocation left in `target` for the next with the same profile (in one
    rename, so that concurrent invocations read a whole file); only the newest PARSES_KEPT are kept."""
    made = target / PARTIAL_PARSE_FILE
    if not made.exists():
        return
    folder = _parses_folder()
    folder.mkdir(parents=True, exist_ok=True)
    staged = folder / f".{os.getpid()}.{made.stat().st_mtime_ns}.tmp"
    shutil.copy2(made, staged)
    os.replace(staged, folder / f"{profile_digest()}.msgpack")
    for old in sorted(folder.glob("*.msgpack"), key=lambda p: p.stat().st_mtime, reverse=True)[PARSES_KEPT:]:
        old.unlink(missing_ok=True)


def leadloop_dbt_project() -> DbtProject:
    """The dbt project for the warehouse LEADLOOP_WAREHOUSE picks (duckdb, postgres or spark)."""
    return DbtProject(project_dir=settings.DBT_PROJECT_DIR, profiles_dir=settings.DBT_PROJECT_DIR,
                      target=settings.dbt_target())


def prepare_manifest() -> Path:
    """Make the manifest the Dagster definitions read exist and be current (dbt parse, ≈4 s, when it
    is missing or older than the project's files, with the offline dbt CLI); returns its path.

    Processes that start together (parallel test workers, `leadloop ui` beside a night) would each
    parse and write the same target/manifest.json, one reading it half-written: an exclusive lock on
    target/.prepare.lock lets one parse while the others wait, then find the manifest current."""
    project = leadloop_dbt_project()
    if manifest_is_stale(project):
        target = Path(project.manifest_path).parent
        target.mkdir(parents=True, exist_ok=True)
        with open(target / ".prepare.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            if manifest_is_stale(project):
                dbt_cli_resource(project).cli(["parse", "--quiet"], target_path=project.target_path).wait()
    return Path(project.manifest_path)


def prepare_manifest_if_dev() -> None:
    """Under `dagster dev`, prepare on every code-location load so edits to models show on reload (what
    dagster-dbt's prepare_if_dev does, with leadloop's offline dbt CLI and staleness check)."""
    if using_dagster_dev():
        prepare_manifest()
