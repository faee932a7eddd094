"""leadloop's dbt project for Dagster: its target, the dbt CLI that runs it, and how its manifest is
prepared. Importing this module runs nothing; `prepare_manifest()` is called by entry points (the
leadloop CLI, the test session, `leadloop prepare` in a deployment's build) and, under `dagster dev`
only, when the definitions load."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import pprint
import re
import shutil
import sys
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path

import msgpack
from dagster_dbt import DbtCliResource, DbtProject
from dagster_dbt.dbt_project import using_dagster_dev
from dbt.version import __version__ as installed_dbt_version
from packaging import version

from leadloop import settings

DBT_INPUT_DIRS = ("models", "macros", "seeds", "tests")
PARTIAL_PARSE_FILE = "partial_parse.msgpack"
# Parses kept per rendered profile (a warehouse path, a server): the newest few.
PARSES_KEPT = 8
# Where the DuckDB file lives: dbt's profile digest covers its folder, which nothing dbt parses can read
# (the file's name is the database name, and does count).
WAREHOUSE_FOLDER_VARIABLES = ("LEADLOOP_DUCKDB_PATH", "LEADLOOP_WAREHOUSE_DIR", "LEADLOOP_SPARK_DIR")

log = logging.getLogger(__name__)


class OfflineDbtCliResource(DbtCliResource):
    """DbtCliResource that reads dbt's version from the installed package.

    The stock resource runs `dbt --version`, which asks PyPI for the latest release on every run;
    leadloop makes no call beyond the machine it runs on.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(installed_dbt_version)

    def _initialize_dbt_core_adapter(self, args):
        """No dbt adapter in this process. The stock resource loads dbt's macros into one for every invocation
        (≈1.8 s) so that a run can fetch row counts or column metadata; leadloop asks for neither."""
        return

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


def profile_digest(environment: Mapping[str, str] | None = None, *, warehouse_folder: bool = True) -> str:
    """A digest of the profile as dbt renders it: profiles.yml, where the project lives (relative defaults) and
    the value of every environment variable profiles.yml reads. Without `warehouse_folder`: the same with only
    the DuckDB file's name in place of where it lives, the same for every warehouse of one DuckDB setup."""
    environment = os.environ if environment is None else environment
    profiles = (settings.DBT_PROJECT_DIR / "profiles.yml").read_text(encoding="utf-8")
    names = sorted(set(re.findall(r"env_var\(\s*['\"]([^'\"]+)['\"]", profiles)))
    if not warehouse_folder:
        names = [name for name in names if name not in WAREHOUSE_FOLDER_VARIABLES]
    rendered = [str(settings.DBT_PROJECT_DIR), profiles, *(f"{name}={environment.get(name)}" for name in names)]
    if not warehouse_folder:
        rendered.append(f"duckdb file={_duckdb_file_name(environment)}")
    return hashlib.sha256("\n".join(rendered).encode("utf-8")).hexdigest()[:16]


def _duckdb_file_name(environment: Mapping[str, str]) -> str:
    """The DuckDB file's name as profiles.yml resolves it (settings.duckdb_path, for any environment)."""
    return Path(environment.get("LEADLOOP_DUCKDB_PATH") or "leadloop.duckdb").name


def _parses_folder() -> Path:
    project = leadloop_dbt_project()
    return Path(project.project_dir) / project.target_path / "parses"  # target_path may be relative


def _kept_parse_name(environment: Mapping[str, str] | None = None) -> str:
    """<digest without the warehouse folder>-<exact digest>.msgpack: found by either."""
    return f"{profile_digest(environment, warehouse_folder=False)}-{profile_digest(environment)}.msgpack"


def reuse_parse(target: Path) -> None:
    """Give a dbt invocation's target folder the last parse made with the current profile, if any.

    dbt parses every file again when the profile differs from the one its partial-parse file was made with,
    and the profile names the warehouse: a night on another DuckDB file, or a runtime whose settings differ
    from the build that prepared the manifest, would pay a full parse (≈7 s on the demo project) in each
    invocation. dbt still checks the file it is given (files, vars, versions), so an outdated one costs
    only the parse it would have done anyway.

    On DuckDB, a warehouse in a folder no invocation has used yet gets a parse made for another folder with
    everything else the same, marked with dbt's digest of this profile (rebase_parse)."""
    if (target / PARTIAL_PARSE_FILE).exists():
        return
    folder = _parses_folder()
    exact = folder / _kept_parse_name()
    if exact.exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(exact, target / PARTIAL_PARSE_FILE)
        return
    if settings.warehouse_kind() != "duckdb":
        return
    siblings = sorted(folder.glob(f"{profile_digest(warehouse_folder=False)}-*.msgpack"),
                      key=lambda p: p.stat().st_mtime, reverse=True)
    if siblings:
        rebase_parse(siblings[0], target / PARTIAL_PARSE_FILE)


def rebase_parse(parse: Path, destination: Path) -> bool:
    """Write `parse` to `destination` recording dbt's digest of the current profile instead of its own.

    Only for a parse whose profile differed from this one in the DuckDB file's folder alone: the manifest holds
    the database name (the file's name) and never the folder, so the parse is the one dbt would make here.
    dbt still compares the files, vars and versions. When this dbt cannot say its digest, nothing is written
    and dbt parses as it would have."""
    profile_hash = dbt_profile_hash()
    if profile_hash is None:
        return False
    manifest = msgpack.unpackb(parse.read_bytes(), raw=False, strict_map_key=False)
    try:
        manifest["state_check"]["profile_hash"]["checksum"] = profile_hash
    except (KeyError, TypeError):
        log.info("dbt's partial-parse file %s has no profile digest where leadloop expects it: not reused", parse)
        return False
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_bytes(msgpack.packb(manifest, use_bin_type=True))
    return True


def dbt_profile_hash() -> str | None:
    """dbt's digest of the current profile, as its partial-parse file records it (dbt's own code renders the
    profile and digests its connection info), or None when this dbt's internals differ."""
    try:
        from argparse import Namespace

        from dbt.config.profile import Profile, read_profile
        from dbt.config.renderer import ProfileRenderer
        from dbt.contracts.files import FileHash
        from dbt.flags import get_flags, set_from_args
        from dbt_common.context import set_invocation_context

        set_invocation_context(dict(os.environ))
        if not hasattr(get_flags(), "LOG_CACHE_EVENTS"):  # dbt's defaults, where no dbt command set them
            set_from_args(Namespace(), None)
        profile = Profile.from_raw_profiles(read_profile(str(settings.DBT_PROJECT_DIR)), "leadloop",
                                            ProfileRenderer({}), target_override=settings.dbt_target())
        connection = sorted(profile.credentials.connection_info())
        return FileHash.from_contents(pprint.pformat(connection)).checksum
    except Exception:
        log.info("dbt's profile digest could not be computed here: dbt parses the project itself", exc_info=True)
        return None


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
    os.replace(staged, folder / _kept_parse_name())
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
                keep_parse(Path(project.project_dir) / project.target_path)
    return Path(project.manifest_path)


def prepare_manifest_if_dev() -> None:
    """Under `dagster dev`, prepare on every code-location load so edits to models show on reload (what
    dagster-dbt's prepare_if_dev does, with leadloop's offline dbt CLI and staleness check)."""
    if using_dagster_dev():
        prepare_manifest()


# How DuckDB's errors begin when a query needs more than its memory_limit (and cannot spill the rest).
DUCKDB_OUT_OF_MEMORY = "Out of Memory Error"


def memory_limit_hint(dbt_error: str) -> str | None:
    """What to change when dbt failed because DuckDB ran out of memory, else None. DuckDB's message names its
    own memory_limit, which leadloop sets from LEADLOOP_DUCKDB_MEMORY_LIMIT (dbt_project/profiles.yml)."""
    if settings.warehouse_kind() != "duckdb" or DUCKDB_OUT_OF_MEMORY not in dbt_error:
        return None
    limit = os.environ.get("LEADLOOP_DUCKDB_MEMORY_LIMIT")
    now = f"is {limit}" if limit else "is not set, so dbt_project/profiles.yml's default applies"
    return (f"DuckDB ran out of the memory dbt may give it: LEADLOOP_DUCKDB_MEMORY_LIMIT {now}. Set it higher "
            "(e.g. 2GB) where the machine has that memory free beside the night, or to 80% for DuckDB's own "
            "default; past the limit DuckDB spills joins and sorts to disk, but some operators cannot spill.")
