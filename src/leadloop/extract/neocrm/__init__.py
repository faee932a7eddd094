"""dlt source for 销售易 (Neocrm) CRM: one merge-incremental raw table per object in settings.OBJECTS.

Configure it through dlt config / environment (see README.md). The source can be built with no
credentials at all — Dagster builds it at import time to list its resources — and says which
setting is missing at the first HTTP request.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import dlt
from dlt.extract.resource import DltResource

from leadloop.extract.common.arrow import column_hints
from leadloop.extract.common.custom_fields import custom_field_maps, object_fields
from leadloop.extract.common.plausible import plausible_epoch_ms
from leadloop.extract.common.quarantine import (
    KeyLedger,
    incremental_merge_resource,
    page_items,
    passthrough_incremental,
    quarantine_resource,
)
from leadloop.extract.neocrm import settings
from leadloop.extract.neocrm.client import SOURCE_NAME, NeocrmClient, NeocrmSettings, build_xoql

__all__ = ["neocrm_source"]

INITIAL_UPDATED_AT = 0
# Record times (epoch ms) in 1970 or decades ahead are corrupt; in the cursor they would stall the
# incremental read for good, so such records go to quarantine.
CHECKS = {"createdAt": plausible_epoch_ms, settings.CURSOR_FIELD: plausible_epoch_ms}


def _object_resource(
    obj: settings.NeocrmObject, client: NeocrmClient, custom_fields: Mapping[str, str] | None
) -> DltResource:
    """The raw-table resource of one object: scroll pages → arrow tables, rejects → quarantine."""
    fields, rename = object_fields(SOURCE_NAME, obj, custom_fields)
    columns = column_hints(fields, rename, (settings.PRIMARY_KEY, settings.CURSOR_FIELD), extra_fields=True)

    def read_pages(
        updated_at: dlt.sources.incremental[int] = passthrough_incremental(  # noqa: B008 - dlt idiom
            settings.CURSOR_FIELD, INITIAL_UPDATED_AT
        ),
    ) -> Iterator[Any]:
        """Reads rows updated since the last run (everything on the first run)."""
        start = updated_at.start_value
        since = start if start is not None and start > INITIAL_UPDATED_AT else None
        xoql = build_xoql(obj.xoql_name, list(fields), cursor=settings.CURSOR_FIELD, since=since)
        ledger = KeyLedger((rename.get(settings.PRIMARY_KEY, settings.PRIMARY_KEY),))
        for records in client.scroll(xoql):
            yield from page_items(records, fields, source=SOURCE_NAME, resource=obj.resource,
                                  primary_key=settings.PRIMARY_KEY, cursor=settings.CURSOR_FIELD,
                                  rename=rename, columns=columns, ledger=ledger, checks=CHECKS)

    return incremental_merge_resource(read_pages, name=obj.resource, primary_key=settings.PRIMARY_KEY)


@dlt.source(name=SOURCE_NAME, section=SOURCE_NAME, max_table_nesting=0, spec=NeocrmSettings)
def neocrm_source(config: NeocrmSettings = dlt.config.value, **overrides: Any) -> list[DltResource]:
    """All 销售易 objects of settings.OBJECTS as `raw_neocrm.<resource>` tables, plus `quarantine`."""
    config = config.overridden(overrides)
    custom_fields = custom_field_maps(SOURCE_NAME, config.custom_fields, settings.OBJECTS_BY_RESOURCE)
    client = NeocrmClient(config)
    resources = [_object_resource(obj, client, custom_fields.get(obj.resource)) for obj in settings.OBJECTS]
    return [*resources, quarantine_resource()]
