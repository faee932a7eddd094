"""The dbt project as Dagster assets: one asset per model and seed, dbt tests as asset checks."""
# No `from __future__ import annotations`: Dagster reads the `context` annotation at runtime.


import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets
from dagster_dbt.errors import DagsterDbtCliRuntimeError

from leadloop.orchestration.dbt_project import (
    dbt_cli_resource,
    keep_parse,
    leadloop_dbt_project,
    memory_limit_hint,
    prepare_manifest_if_dev,
)
from leadloop.orchestration.jobs import NO_RETRY


class LeadloopDbtTranslator(DagsterDbtTranslator):
    """Groups dbt assets by top folder (staging / intermediate / marts / seeds) = warehouse schema."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        """Sources keep their raw_<source> group; models and seeds take their schema's name."""
        if dbt_resource_props["resource_type"] == "source":
            return dbt_resource_props["source_name"]
        return dbt_resource_props.get("config", {}).get("schema") or "default"


DBT_PROJECT = leadloop_dbt_project()
prepare_manifest_if_dev()  # parses under `dagster dev` only; elsewhere an entry point prepared it
if not DBT_PROJECT.manifest_path.exists():
    raise FileNotFoundError(
        f"dbt manifest {DBT_PROJECT.manifest_path} is missing: run `leadloop prepare` (or `dbt parse` in"
        f" {DBT_PROJECT.project_dir}) before loading the Dagster definitions; `leadloop` commands and"
        " `dagster dev` do it themselves")
# dbt's tests on sources still run inside `dbt build` (a failure skips what reads the table), but are
# not Dagster checks of the raw tables: those have their blocking Great Expectations suite, and a
# dbt-run check on a raw table would make every Python asset that reads raw tables (the identity
# observations) wait for the dbt step it feeds — a cycle Dagster can only break by splitting dbt.
DBT_TRANSLATOR = LeadloopDbtTranslator(
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_source_tests_as_checks=False)
)


class DbtBuildConfig(dg.Config):
    """Launch options of the dbt step (the Launchpad's config of op leadloop_dbt).

    full_refresh: rebuild every incremental model from all of its input (dbt build --full-refresh) instead
    of deriving only the partitions whose input changed; after a change of a macro the models call, or to
    prove a night's marts. The customer-id log is kept either way."""

    full_refresh: bool = False


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
def leadloop_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource,
                        config: DbtBuildConfig) -> Iterator[Any]:
    """Build the selected seeds and models and run their tests (dbt build); incremental models derive
    only what changed unless the run asks for a full refresh."""
    arguments = ["build", "--full-refresh"] if config.full_refresh else ["build"]
    with _source_tests_unremarked():
        invocation = dbt.cli(arguments, context=context)
        try:
            yield from invocation.stream()
        except DagsterDbtCliRuntimeError as error:
            hint = memory_limit_hint(str(error))
            if hint:
                raise DagsterDbtCliRuntimeError(description=f"{hint}\n\n{error}") from error
            raise
    keep_parse(invocation.target_path)


class _SourceTestObservationFilter(logging.Filter):
    """Drops dagster-dbt's warning for each dbt test on a source: those tests run inside `dbt build` by
    design (see DBT_TRANSLATOR above), so the warning is noise nobody can act on."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("Logging an `AssetObservation` instead of an `AssetCheckResult`")
                    and "for dbt test `source_" in message)


@contextmanager
def _source_tests_unremarked() -> Iterator[None]:
    """While dbt runs, dagster-dbt's logger leaves out the source-test warnings."""
    quiet, logger = _SourceTestObservationFilter(), dg.get_dagster_logger()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def dbt_resource() -> DbtCliResource:
    """dbt CLI resource bound to the project and target."""
    return dbt_cli_resource(DBT_PROJECT)

