"""Every dlt source as Dagster assets: one asset per raw table, keyed raw_<source>/<resource>.

The key equals the dbt source's asset key, so lineage runs unbroken from an API to the marts.
"""
# No `from __future__ import annotations`: Dagster reads the `context` annotation at runtime.

from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import dlt
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, build_dlt_asset_specs
from dagster_dlt.translator import DltResourceTranslatorData
from dlt.common.normalizers.naming.snake_case import NamingConvention

from leadloop import settings
from leadloop.extract.common.config import MissingSettingError
from leadloop.extract.common.reports import RESTATEMENT_DAYS
from leadloop.extract.common.schema_drift import (
    FieldTracker,
    TableDrift,
    fields_file,
    load_drift,
    table_columns,
    track_fields,
)
from leadloop.extract.file_drops import run_file_drops
from leadloop.extract.registry import SOURCES, SourceEntry, Status, configuration, setting_value
from leadloop.orchestration.freshness import RAW_TABLE_FRESHNESS
from leadloop.orchestration.jobs import AD_REPORT_DAYS
from leadloop.orchestration.quality import (
    SCHEMA_DRIFT_CHECK,
    raw_table_check,
    raw_table_check_spec,
    schema_drift_check,
    schema_drift_check_spec,
)
from leadloop.warehouse import (
    dlt_pipeline,
    ensure_writable,
    finish_pending_loads,
    loaded,
    read_table,
    table_exists,
)

_NAMING = NamingConvention()


class RawTableTranslator(DagsterDltTranslator):
    """Names a dlt resource's asset raw_<source>/<resource>, in group raw_<source>, due by 04:00."""

    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        """The default spec, re-keyed and re-grouped, without dlt's synthetic upstream asset."""
        spec = super().get_asset_spec(data)
        dataset = f"raw_{data.resource.source_name}"
        return spec.replace_attributes(
            key=dg.AssetKey([dataset, data.resource.name]),
            group_name=dataset,
            deps=[],
            freshness_policy=RAW_TABLE_FRESHNESS,
        ).merge_attributes(kinds={"dlt"})


RAW_TABLE_TRANSLATOR = RawTableTranslator()


def raw_assets(source: SourceEntry) -> dg.AssetsDefinition:
    """The raw tables of one dlt source as a multi-asset in the source's API pool, each table audited
    in the same step by a blocking Great Expectations check.

    The audit runs inside the load step on purpose: a failed blocking check then fails the step, and
    nothing downstream (dbt) runs, so yesterday's marts stay. Checks in separate ops would not gate
    dbt here, because Dagster exempts an op from other blocking checks on a key it checks itself,
    and the dbt op runs dbt's source tests on every raw table.

    A source that is not configured keeps its assets (lineage shows what it would feed) but says so
    in the UI, and the nightly job leaves it out; a half-configured one fails once, without retries.
    """
    source_name, source_factory = source.name, source.factory
    status = configuration(source).status
    described = source_factory()  # built once at definition time: its tables and their merge keys
    merge_keys = primary_keys(source_name, described)
    specs = [_with_status(spec, source, status) for spec in build_dlt_asset_specs(
        dlt_source=described, dlt_pipeline=dlt_pipeline(source_name),
        dagster_dlt_translator=RAW_TABLE_TRANSLATOR)]

    @dg.multi_asset(
        name=f"raw_{source_name}",
        specs=specs,
        check_specs=[*(raw_table_check_spec(spec.key) for spec in specs),
                     *(schema_drift_check_spec(spec.key) for spec in specs)],
        can_subset=True,
        pool=f"{source_name}_api",
        partitions_def=AD_REPORT_DAYS if source.ad_reports else None,
        backfill_policy=dg.BackfillPolicy.single_run() if source.ad_reports else None,
    )
    def _load(context: dg.AssetExecutionContext, dlt: DagsterDltResource) -> Iterator[Any]:
        _fail_without_retry_if_misconfigured(source)
        # A fresh source and pipeline per run, so config (base URL, credentials) is read at run time.
        try:
            ensure_writable()
            pipeline = dlt_pipeline(source_name)
            finished = finish_pending_loads(pipeline)
            if finished:
                context.log.warning(f"{source_name}: loaded {len(finished)} package(s) an interrupted run left "
                                    f"pending ({', '.join(finished)}) before extracting tonight's data")
            dlt_source = (_ad_report_source(context, source_name, source_factory) if source.ad_reports
                          else source_factory())
            tracker = track_fields(dlt_source)
            before = table_columns(pipeline.default_schema if pipeline.default_schema_name else None)
            yield from dlt.run(context=context, dlt_source=dlt_source, dlt_pipeline=pipeline,
                               dagster_dlt_translator=RAW_TABLE_TRANSLATOR)
            loaded(pipeline.dataset_name)  # on Spark: the views over the lake
            drifts = _schema_drift(context, source_name, before, tracker)
        except Exception as error:
            _reraise_settings_error(error)
            raise
        for check_key in sorted(context.selected_asset_check_keys, key=str):
            if check_key.name == SCHEMA_DRIFT_CHECK:
                yield schema_drift_check(check_key.asset_key, drifts.get(check_key.asset_key.path[-1]))
            else:
                yield raw_table_check(check_key.asset_key, merge_keys.get(check_key.asset_key, ()), read_table,
                                      table_exists)

    return _load


def _schema_drift(context: dg.AssetExecutionContext, source_name: str, before: dict[str, dict[str, str]],
                  tracker: FieldTracker) -> dict[str, TableDrift]:
    """What changed in the source's tables in this load (logged), remembering the fields its records carried.

    The schema after the load is read from the pipeline attached afresh: dagster-dlt ran a new pipeline object
    (its `drop()` returns one), and the one this step built no longer sees any table."""
    ran = dlt_pipeline(source_name)
    drifts = load_drift(fields_file(ran), before, table_columns(ran.default_schema), tracker)
    for table, drift in drifts.items():
        context.log.warning(f"raw_{source_name}.{table} changed shape: {drift.describe()}")
    return drifts


def _with_status(spec: dg.AssetSpec, source: SourceEntry, status: Status) -> dg.AssetSpec:
    """The raw table's spec, telling in the UI whether its source is configured here."""
    note = {
        Status.ON: "",
        Status.OFF: (f"Not configured: {source.platform} is off here. Set "
                     + ", ".join(f"SOURCES__{source.name.upper()}__{key.upper()}" for key in source.required)
                     + " (see src/leadloop/extract/" + source.name + "/README.md) to switch it on. "),
        Status.INCOMPLETE: "Incomplete configuration: the night will fail on it until its settings are complete. ",
    }[status]
    return spec.replace_attributes(description=note + (spec.description or "")).merge_attributes(
        metadata={"leadloop/source_status": status.value}, tags={"leadloop/source_status": status.name.lower()})


def _fail_without_retry_if_misconfigured(source: SourceEntry) -> None:
    """A half-configured source fails the step once with the settings to fix (a retry changes nothing)."""
    found = configuration(source)
    if found.status is Status.INCOMPLETE:
        raise dg.Failure(description=found.problem, allow_retries=False)


def _reraise_settings_error(error: BaseException) -> None:
    """A settings mistake found while loading fails without retries: a missing setting, or a value
    error that names the setting to fix (every source's settings errors name SOURCES__<NAME>__<KEY>)."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, MissingSettingError) or (isinstance(cause, ValueError) and "SOURCES__" in str(cause)):
            raise dg.Failure(description=str(cause), allow_retries=False) from error
        cause = cause.__cause__ or cause.__context__


def _ad_report_source(context: dg.AssetExecutionContext, source_name: str,
                      source_factory: Callable[..., dlt.sources.DltSource]) -> dlt.sources.DltSource:
    """An ad platform's source for the run's China-time days, dropped console exports loaded first.

    A run for days [first, last] reads the restatement window ending with `first` (RESTATEMENT_DAYS,
    src/leadloop/extract/common/reports.py) up to `last`; merge keys make the re-read idempotent.
    """
    window = context.partition_time_window
    first = window.start.date() - timedelta(days=RESTATEMENT_DAYS - 1)
    last = window.end.date() - timedelta(days=1)  # the window's end is exclusive
    context.log.info(f"{source_name}: reading report days {first} .. {last}")
    _load_dropped_files(context, source_name)
    return source_factory(start_date=first.isoformat(), end_date=last.isoformat(),
                          lookback_days=(last - first).days + 1)


def _load_dropped_files(context: dg.AssetExecutionContext, platform: str) -> None:
    """Console exports dropped for this platform land first, so the API's numbers win where both exist.
    The folder is SOURCES__FILE_DROPS__DROP_DIR, else `drops/` beside the warehouse."""
    configured = setting_value("file_drops", "drop_dir")
    folder = Path(str(configured)).expanduser() if configured else settings.drop_dir()
    folder.mkdir(parents=True, exist_ok=True)
    infos = run_file_drops(lambda p: dlt_pipeline(f"file_drops_{p}", dataset_name=f"raw_{p}"), [platform],
                           drop_dir=str(folder))
    for info in infos.values():
        info.raise_on_failed_jobs()
    context.log.info(f"{platform}: file drops from {folder} loaded")


def primary_keys(source_name: str, dlt_source: dlt.sources.DltSource) -> dict[dg.AssetKey, list[str]]:
    """Each raw table's merge key, as dlt names the columns in the warehouse."""
    keys = {}
    for resource in dlt_source.resources.values():
        columns = resource.compute_table_schema().get("columns", {})
        pk = [_NAMING.normalize_identifier(c) for c, hints in columns.items() if hints.get("primary_key")]
        keys[dg.AssetKey([f"raw_{source_name}", resource.name])] = pk
    return keys


AD_REPORT_SOURCES = {source.name for source in SOURCES if source.ad_reports}
EXTRACT_ASSETS = [raw_assets(source) for source in SOURCES]


def raw_asset_keys(source_names: Sequence[str]) -> list[dg.AssetKey]:
    """The raw-table asset keys of the named sources."""
    groups = {f"raw_{name}" for name in source_names}
    return [key for assets in EXTRACT_ASSETS for key in assets.keys if key.path[0] in groups]
