"""Every dlt source as Dagster assets: one asset per raw table, keyed raw_<source>/<resource>.

The key equals the dbt source's asset key, so lineage runs unbroken from an API to the marts.
"""


from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData

from extract.neocrm import neocrm_source
from leadloop import settings
from leadloop.warehouse import dlt_pipeline

settings.apply_environment()


class RawTableTranslator(DagsterDltTranslator):
    """Names a dlt resource's asset raw_<source>/<resource>, in group raw_<source>."""

    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        """The default spec, re-keyed and re-grouped, without dlt's synthetic upstream asset."""
        spec = super().get_asset_spec(data)
        dataset = f"raw_{data.resource.source_name}"
        return spec.replace_attributes(
            key=dg.AssetKey([dataset, data.resource.name]),
            group_name=dataset,
            deps=[],
        ).merge_attributes(kinds={"dlt"})


RAW_TABLE_TRANSLATOR = RawTableTranslator()


@dlt_assets(
    dlt_source=neocrm_source(),
    dlt_pipeline=dlt_pipeline("neocrm"),
    name="raw_neocrm",
    dagster_dlt_translator=RAW_TABLE_TRANSLATOR,
    pool="neocrm_api",
)
def raw_neocrm_assets(context: dg.AssetExecutionContext, dlt: DagsterDltResource) -> Iterator[Any]:
    """Pull 销售易 objects changed since the last cursor and merge them into raw_neocrm."""
    # A fresh source and pipeline per run, so config (base URL, credentials) is read at run time.
    yield from dlt.run(context=context, dlt_source=neocrm_source(), dlt_pipeline=dlt_pipeline("neocrm"))


EXTRACT_ASSETS = [raw_neocrm_assets]
