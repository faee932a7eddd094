"""dlt source for Salesforce CRM: one merge-incremental raw table per object in settings.OBJECTS.

Configure it through dlt config / environment (see README.md). The source can be built with no
credentials at all — Dagster builds it at import time to list its resources — and says which
setting is missing at the first HTTP request. Deleted rows (served by `queryAll`) are kept, with
`is_deleted = true`, never removed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import dlt
from dlt.common.typing import TSecretStrValue
from dlt.extract.resource import DltResource

from extract.common.arrow import column_hints
from extract.common.quarantine import add_quarantine_passthrough_step, page_items, quarantine_resource
from extract.salesforce import settings
from extract.salesforce.client import SOURCE_NAME, SalesforceClient, SalesforceSettings, build_soql

__all__ = ["object_fields", "parse_start", "salesforce_source"]


def parse_start(text: str) -> datetime:
    """The `start` setting as an aware UTC instant; a clear error naming the setting otherwise."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except (AttributeError, ValueError):
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValueError(
            f"salesforce: SOURCES__SALESFORCE__START must be an ISO-8601 instant with a time zone,"
            f" e.g. 2025-01-01T00:00:00Z; got {text!r}"
        )
    return moment.astimezone(UTC)


def object_fields(
    obj: settings.SalesforceObject, custom_fields: Mapping[str, str] | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """(wire fields to select with their types, wire → loaded renames) for one object.

    `custom_fields` replaces the object's settings map: custom fields it leaves out are not
    selected (the org may not have them), new ones are read as text.
    """
    mapping = dict(obj.custom_fields if custom_fields is None else custom_fields)
    fields = {
        name: kind for name, kind in obj.fields.items() if name not in obj.custom_fields or name in mapping
    }
    fields.update({name: settings.STRING for name in mapping if name not in fields})
    loaded = [mapping.get(name, name) for name in fields]
    if len(set(loaded)) != len(loaded):
        raise ValueError(
            f"salesforce: SOURCES__SALESFORCE__CUSTOM_FIELDS gives {obj.resource} two columns"
            " of the same name"
        )
    return fields, mapping


def _check_custom_fields(custom_fields: Mapping[str, Mapping[str, str]]) -> None:
    """Refuses overrides for resources that do not exist, naming the setting."""
    unknown = sorted(set(custom_fields) - set(settings.OBJECTS_BY_RESOURCE))
    if unknown:
        raise ValueError(
            f"salesforce: SOURCES__SALESFORCE__CUSTOM_FIELDS names unknown resources {unknown};"
            f" known: {sorted(settings.OBJECTS_BY_RESOURCE)}"
        )


def _object_resource(
    obj: settings.SalesforceObject,
    client: SalesforceClient,
    start: datetime,
    custom_fields: Mapping[str, str] | None,
) -> DltResource:
    """The raw-table resource of one object: queryAll pages → arrow tables, rejects → quarantine."""
    fields, rename = object_fields(obj, custom_fields)
    required = (settings.PRIMARY_KEY, obj.cursor)
    columns = column_hints(fields, rename, required)

    def read_pages(
        modstamp: dlt.sources.incremental[datetime] = dlt.sources.incremental(  # noqa: B008 - dlt idiom
            obj.cursor,
            initial_value=start,
            # Quarantine rows pass the incremental step with a null cursor (see quarantine.py).
            on_cursor_value_missing="include",
        ),
    ) -> Iterator[Any]:
        """Reads rows changed (or deleted) since the last run; from `start` on the first run."""
        since = modstamp.start_value or start
        soql = build_soql(obj.sobject, list(fields), cursor=obj.cursor, since=since)
        for records in client.query_all(soql):
            yield from page_items(records, fields, source=SOURCE_NAME, resource=obj.resource,
                                  primary_key=settings.PRIMARY_KEY, cursor=obj.cursor,
                                  rename=rename, columns=columns)

    resource = dlt.resource(
        read_pages, name=obj.resource, primary_key=settings.PRIMARY_KEY, write_disposition="merge"
    )
    return add_quarantine_passthrough_step(resource)


@dlt.source(name=SOURCE_NAME, section=SOURCE_NAME, max_table_nesting=0)
def salesforce_source(
    login_url: str = settings.DEFAULT_LOGIN_URL,
    client_id: str | None = None,
    client_secret: TSecretStrValue | None = None,
    username: str | None = None,
    password: TSecretStrValue | None = None,
    security_token: TSecretStrValue | None = None,
    api_version: str = settings.DEFAULT_API_VERSION,
    start: str = settings.DEFAULT_START,
    batch_size: int = settings.MAX_BATCH_SIZE,
    custom_fields: dict[str, dict[str, str]] | None = None,
    max_tries: int = 5,
    backoff_seconds: float = 1.0,
    request_timeout: float = 60.0,
) -> list[DltResource]:
    """All Salesforce objects of settings.OBJECTS as `raw_salesforce.<resource>` tables, plus `quarantine`."""
    overrides = custom_fields or {}
    _check_custom_fields(overrides)
    first = parse_start(start)
    client = SalesforceClient(
        SalesforceSettings(
            login_url=login_url,
            client_id=client_id,
            client_secret=client_secret,
            username=username,
            password=password,
            security_token=security_token,
            api_version=api_version,
            batch_size=batch_size,
            max_tries=max_tries,
            backoff_seconds=backoff_seconds,
            request_timeout=request_timeout,
        )
    )
    resources = [
        _object_resource(obj, client, first, overrides.get(obj.resource)) for obj in settings.OBJECTS
    ]
    return [*resources, quarantine_resource()]
