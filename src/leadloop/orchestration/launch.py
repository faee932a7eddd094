"""Run a job of leadloop's definitions in this process as a run the Dagster UI knows.

`JobDefinition.execute_in_process` records a run without a code-location origin, and the UI leaves
such runs out of a job's Runs tab (filtered on the `.dagster/repository` tag) and out of the
Overview timeline (which groups runs by their repository origin). A run started here is created
with the remote origin of the `leadloop` code location declared in workspace.yaml, repository
__repository__ (the names the UI filters and groups on), and with the python origin that rebuilds
the job. It then executes in the calling process, with the job's own executor; the run is tagged with
that process (pid, host, start time) so a run whose process is killed can be found and failed
(run_workers.py).

(`dagster dev` records its own runs under a gRPC origin whose socket changes per start; the names
are what the UI compares, so the CLI uses the stable origin workspace.yaml describes.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import dagster as dg
from dagster._core.definitions.reconstruct import ReconstructableJob, ReconstructableRepository
from dagster._core.execution.api import execute_run
from dagster._core.remote_origin import (
    CodeLocationOrigin,
    ManagedGrpcPythonEnvCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.workspace.load import location_origins_from_yaml_paths

from leadloop import settings
from leadloop.orchestration.run_workers import worker_tags

WORKSPACE_FILE = settings.WORKSPACE_FILE
LOCATION_NAME = "leadloop"
# A code location loaded from one Definitions object has one repository, under this fixed name.
REPOSITORY_NAME = "__repository__"


@dataclass(frozen=True)
class LaunchedRun:
    """A finished run: its id and whether it succeeded. Its events are in the instance's event log."""

    run_id: str
    success: bool


def code_location_origin(location_name: str = LOCATION_NAME) -> ManagedGrpcPythonEnvCodeLocationOrigin:
    """A code location as workspace.yaml declares it, under the name `dagster dev -w workspace.yaml` uses."""
    origins: dict[str, CodeLocationOrigin] = {
        origin.location_name: origin for origin in location_origins_from_yaml_paths([str(WORKSPACE_FILE)])
    }
    origin = origins.get(location_name)
    if origin is None:
        raise ValueError(f"{WORKSPACE_FILE} has no code location named {location_name!r} (it has"
                         f" {sorted(origins)}); add a python_module location that loads"
                         " leadloop.orchestration.definitions")
    if not isinstance(origin, ManagedGrpcPythonEnvCodeLocationOrigin):
        raise TypeError(f"{WORKSPACE_FILE}: code location {location_name!r} must be a python_module location")
    return origin


def remote_job_origin(job_name: str, location_name: str = LOCATION_NAME) -> RemoteJobOrigin:
    """Where the UI finds the job: repository __repository__ of the location. A run with this origin is
    tagged `.dagster/repository=__repository__@leadloop`, the tag the job's Runs tab filters on."""
    repository = RemoteRepositoryOrigin(code_location_origin(location_name), REPOSITORY_NAME)
    return RemoteJobOrigin(repository, job_name)


def reconstructable_job(job_name: str, location_name: str = LOCATION_NAME) -> ReconstructableJob:
    """The job as the location's module and attribute rebuild it, so its python origin is the UI's too."""
    target = code_location_origin(location_name).loadable_target_origin
    if not (target.module_name and target.attribute):
        raise ValueError(f"{WORKSPACE_FILE}: location {location_name!r} needs module_name and attribute")
    # Relative to where dagster dev starts, which `leadloop ui` makes the project root.
    working_directory = settings.PROJECT_ROOT / (target.working_directory or ".")
    repository = ReconstructableRepository.for_module(target.module_name, target.attribute,
                                                      working_directory=str(working_directory.resolve()))
    return repository.get_reconstructable_job(job_name)


def run_job(
    job_name: str,
    instance: dg.DagsterInstance,
    run_config: Mapping[str, object] | None = None,
    tags: Mapping[str, str] | None = None,
    asset_selection: Iterable[dg.AssetKey] | None = None,
) -> LaunchedRun:
    """Create a run of `job_name` under the `leadloop` code location and execute it in this process.

    Tags carry partitions (e.g. dagster/asset_partition_range_start and _end); `asset_selection`
    runs a subset of the job's assets (with their checks). A failed run returns, it does not raise.
    """
    recon_job = reconstructable_job(job_name)
    return execute_in_this_process(recon_job, instance, remote_job_origin(job_name), run_config=run_config,
                                   tags=tags, asset_selection=asset_selection)


def execute_in_this_process(
    recon_job: ReconstructableJob,
    instance: dg.DagsterInstance,
    origin: RemoteJobOrigin,
    run_config: Mapping[str, object] | None = None,
    tags: Mapping[str, str] | None = None,
    asset_selection: Iterable[dg.AssetKey] | None = None,
) -> LaunchedRun:
    """Create a run of `recon_job` with the remote `origin`, tagged with this process as its worker,
    and execute it here. A failed run returns, it does not raise."""
    job_def = recon_job.get_definition()
    selection = frozenset(asset_selection) if asset_selection is not None else None
    run = instance.create_run_for_job(
        job_def=job_def,
        run_config=run_config,
        tags={**job_def.run_tags, **(tags or {}), **worker_tags()},
        asset_selection=selection,
        remote_job_origin=origin,
        job_code_origin=recon_job.get_python_origin(),
    )
    result = execute_run(recon_job, run, instance, raise_on_error=False)
    return LaunchedRun(run_id=result.run_id, success=result.success)


def asset_materializations(instance: dg.DagsterInstance, run_id: str) -> list[dg.AssetMaterialization]:
    """Every asset materialization the run recorded (one per asset and partition), in order."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    return [record.asset_materialization for record in records if record.asset_materialization]


def asset_check_evaluations(instance: dg.DagsterInstance, run_id: str) -> list[dg.AssetCheckEvaluation]:
    """Every asset check result the run recorded, in order (passed or not, with its metadata)."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    return [record.event_log_entry.dagster_event.event_specific_data for record in records
            if record.event_log_entry.dagster_event is not None]
