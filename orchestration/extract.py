"""Every dlt source as Dagster assets: one asset per raw table, keyed raw_<source>/<resource>.

The key equals the dbt source's asset key, so lineage runs unbroken from an API to the marts.
"""
# No `from __future__ import annotations`: Dagster reads the `context` annotation at runtime.

from collections.abc import Callable, Iterator
from typing import Any

import dagster as dg
import dlt
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData
from dlt.common.normalizers.naming.snake_case import NamingConvention

from extract.neocrm import neocrm_source
from leadloop import settings
from leadloop.warehouse import dlt_pipeline
from orchestration.freshness import RAW_TABLE_FRESHNESS

settings.apply_environment()

SourceFactory = Callable[[], dlt.sources.DltSource]
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


def raw_assets(source_name: str, source_factory: SourceFactory) -> dg.AssetsDefinition:
    """The raw tables of one dlt source as a multi-asset, limited by the source's API pool."""

    @dlt_assets(
        dlt_source=source_factory(),
        dlt_pipeline=dlt_pipeline(source_name),
        name=f"raw_{source_name}",
        dagster_dlt_translator=RAW_TABLE_TRANSLATOR,
        pool=f"{source_name}_api",
    )
    def _load(context: dg.AssetExecutionContext, dlt: DagsterDltResource) -> Iterator[Any]:
        # A fresh source and pipeline per run, so config (base URL, credentials) is read at run time.
        yield from dlt.run(context=context, dlt_source=source_factory(), dlt_pipeline=dlt_pipeline(source_name))

    return _load


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
    "neocrm": neocrm_source,
}

EXTRACT_ASSETS = [raw_assets(name, factory) for name, factory in SOURCES.items()]
RAW_PRIMARY_KEYS = {key: pk for name, factory in SOURCES.items() for key, pk in primary_keys(name, factory).items()}
