"""Every dlt source as Dagster assets: one asset per raw table, keyed raw_<source>/<resource>.

The key equals the dbt source's asset key, so lineage runs unbroken from an API to the marts.
"""
# No `from __future__ import annotations`: Dagster reads the `context` annotation at runtime.

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import dagster as dg
import dlt
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, build_dlt_asset_specs
from dagster_dlt.translator import DltResourceTranslatorData
from dlt.common.normalizers.naming.snake_case import NamingConvention

from extract.baidu_sem import baidu_sem_source
from extract.file_drops import run_file_drops
from extract.neocrm import neocrm_source
from extract.oceanengine import oceanengine_source
from extract.salesforce import salesforce_source
from extract.sensors import sensors_source
from extract.wecom import wecom_source
from leadloop import settings
from leadloop.warehouse import dlt_pipeline, read_table
from orchestration.freshness import RAW_TABLE_FRESHNESS
from orchestration.quality import raw_table_check, raw_table_check_spec

settings.apply_environment()

SourceFactory = Callable[[], dlt.sources.DltSource]
_NAMING = NamingConvention()
# Ad reports by China-time day; a day is complete once it is over (no partition for today).
AD_REPORT_DAYS = dg.DailyPartitionsDefinition(start_date="2025-01-01", timezone="Asia/Shanghai")
RESTATEMENT_DAYS = 6  # days re-read before a partition: the platforms restate recent numbers


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


def raw_assets(source_name: str, source_factory: Callable[..., dlt.sources.DltSource]) -> dg.AssetsDefinition:
    """The raw tables of one dlt source as a multi-asset in the source's API pool, each table audited
    in the same step by a blocking Great Expectations check.

    The audit runs inside the load step on purpose: a failed blocking check then fails the step, and
    nothing downstream (dbt) runs, so yesterday's marts stay. Checks in separate ops would not gate
    dbt here, because Dagster exempts an op from other blocking checks on a key it checks itself,
    and the dbt op runs dbt's source tests on every raw table.
    """
    specs = build_dlt_asset_specs(dlt_source=source_factory(), dlt_pipeline=dlt_pipeline(source_name),
                                  dagster_dlt_translator=RAW_TABLE_TRANSLATOR)
    ad_reports = source_name in AD_REPORT_SOURCES

    @dg.multi_asset(
        name=f"raw_{source_name}",
        specs=specs,
        check_specs=[raw_table_check_spec(spec.key) for spec in specs],
        can_subset=True,
        pool=f"{source_name}_api",
        partitions_def=AD_REPORT_DAYS if ad_reports else None,
        backfill_policy=dg.BackfillPolicy.single_run() if ad_reports else None,
    )
    def _load(context: dg.AssetExecutionContext, dlt: DagsterDltResource) -> Iterator[Any]:
        # A fresh source and pipeline per run, so config (base URL, credentials) is read at run time.
        source = _ad_report_source(context, source_name, source_factory) if ad_reports else source_factory()
        yield from dlt.run(context=context, dlt_source=source, dlt_pipeline=dlt_pipeline(source_name),
                           dagster_dlt_translator=RAW_TABLE_TRANSLATOR)
        for check_key in sorted(context.selected_asset_check_keys, key=str):
            yield raw_table_check(check_key.asset_key, RAW_PRIMARY_KEYS.get(check_key.asset_key, ()), read_table)

    return _load


def _ad_report_source(context: dg.AssetExecutionContext, source_name: str,
                      source_factory: Callable[..., dlt.sources.DltSource]) -> dlt.sources.DltSource:
    """An ad platform's source for the run's China-time days, dropped console exports loaded first.

    A run for days [first, last] reads from RESTATEMENT_DAYS before `first` up to `last`, because the
    platforms restate cost and conversions for a few days; merge keys make the re-read idempotent.
    """
    window = context.partition_time_window
    first = window.start.date() - timedelta(days=RESTATEMENT_DAYS)
    last = window.end.date() - timedelta(days=1)  # the window's end is exclusive
    context.log.info(f"{source_name}: reading report days {first} .. {last}")
    _load_dropped_files(context, source_name)
    return source_factory(start_date=first.isoformat(), end_date=last.isoformat(),
                          lookback_days=(last - first).days + 1)


def _load_dropped_files(context: dg.AssetExecutionContext, platform: str) -> None:
    """Console exports dropped for this platform land first, so the API's numbers win where both exist."""
    folder = settings.drop_dir()
    folder.mkdir(parents=True, exist_ok=True)
    infos = run_file_drops(lambda p: dlt_pipeline(f"file_drops_{p}", dataset_name=f"raw_{p}"), [platform])
    for info in infos.values():
        info.raise_on_failed_jobs()
    context.log.info(f"{platform}: file drops from {folder} loaded")


def primary_keys(source_name: str, source_factory: SourceFactory) -> dict[dg.AssetKey, list[str]]:
    """Each raw table's merge key, as dlt names the columns in the warehouse."""
    keys = {}
    for resource in source_factory().resources.values():
        columns = resource.compute_table_schema().get("columns", {})
        pk = [_NAMING.normalize_identifier(c) for c, hints in columns.items() if hints.get("primary_key")]
        keys[dg.AssetKey([f"raw_{source_name}", resource.name])] = pk
    return keys


# source name → factory: one entry per folder of extract/.
SOURCES: dict[str, SourceFactory] = {
    "baidu_sem": baidu_sem_source,
    "neocrm": neocrm_source,
    "oceanengine": oceanengine_source,
    "salesforce": salesforce_source,
    "sensors": sensors_source,
    "wecom": wecom_source,
}
AD_REPORT_SOURCES = {"baidu_sem", "oceanengine"}

RAW_PRIMARY_KEYS = {key: pk for name, factory in SOURCES.items() for key, pk in primary_keys(name, factory).items()}
EXTRACT_ASSETS = [raw_assets(name, factory) for name, factory in SOURCES.items()]
