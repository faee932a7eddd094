"""dlt source for 神策 Sensors Data: the `events` table, read in time windows over the SQL API.

Configure it through dlt config / environment (see README.md). The source can be built with no
settings at all — Dagster builds it at import time to list its resources — and says which setting
is missing at the first request.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

import dlt
import pyarrow.compute as pc
from dlt.extract.resource import DltResource

from leadloop.extract.common.arrow import ArrowPage
from leadloop.extract.common.quarantine import quarantine_resource, typed_page_items
from leadloop.extract.sensors import settings
from leadloop.extract.sensors.client import (
    SOURCE_NAME,
    SensorsClient,
    SensorsSettings,
    first_window_start,
    plan_windows,
)
from leadloop.extract.sensors.events import events_columns, parse_events

__all__ = ["STATE_KEY", "sensors_source"]

STATE_KEY = "last_event_time"  # resource state: the latest `time` loaded so far (local wire text)
# The key digests the event's content, so a re-read row with a known key is that same event:
# insert-only merge skips it instead of deleting and rewriting it (half the load time).
WRITE_DISPOSITION: Any = {"disposition": "merge", "strategy": "insert-only"}


def _local_now() -> datetime:
    """This machine's clock in the project's time zone, as a naive local datetime."""
    return datetime.now(settings.PROJECT_TZ).replace(tzinfo=None)


def _batches(answers: Iterable[bytes], limit: int) -> Iterator[bytes]:
    """Concatenates consecutive NDJSON answers up to about `limit` bytes, so each parse is large."""
    parts: list[bytes] = []
    size = 0
    for answer in answers:
        if not answer or answer.isspace():
            continue
        parts.append(answer if answer.endswith(b"\n") else answer + b"\n")
        size += len(answer)
        if size >= limit:
            yield b"".join(parts)
            parts, size = [], 0
    if parts:
        yield b"".join(parts)


def _parsed(batches: Iterable[bytes]) -> Iterator[ArrowPage]:
    """Parses each batch in a worker thread while the next one downloads (two batches in memory)."""
    with ThreadPoolExecutor(1, thread_name_prefix="sensors-parse") as parser:
        pending: Future[ArrowPage] | None = None
        for body in batches:
            future = parser.submit(parse_events, body)
            if pending is not None:
                yield pending.result()
            pending = future
        if pending is not None:
            yield pending.result()


def _events_resource(client: SensorsClient) -> DltResource:
    """The raw `events` table: windows → NDJSON → arrow pages, merged (insert-only) on event_key."""
    columns = events_columns()
    config = client.config

    def read_events() -> Iterator[Any]:
        """Reads from the configured start (first run) or the last loaded time minus the look-back."""
        config.check()
        state = dlt.current.resource_state()
        start = first_window_start(config, state.get(STATE_KEY))
        windows = plan_windows(start, config.end(), _local_now(), config.window_hours)
        answers = client.query_all(window.sql() for window in windows)
        for page in _parsed(_batches(answers, config.batch_bytes)):
            yield from typed_page_items(page.table, page.rejected, source=SOURCE_NAME,
                                        resource=settings.RESOURCE, columns=columns)
            if page.table.num_rows:
                latest = pc.max(page.table.column(settings.CURSOR_FIELD)).as_py()
                state[STATE_KEY] = max(latest, state.get(STATE_KEY) or latest)

    return dlt.resource(
        read_events,
        name=settings.RESOURCE,
        primary_key=settings.PRIMARY_KEY,
        write_disposition=WRITE_DISPOSITION,
    )


@dlt.source(name=SOURCE_NAME, section=SOURCE_NAME, max_table_nesting=0, spec=SensorsSettings)
def sensors_source(config: SensorsSettings = dlt.config.value, **overrides: Any) -> list[DltResource]:
    """Sensors events as `raw_sensors.events` (merge on event_key), plus `quarantine`."""
    return [_events_resource(SensorsClient(config.overridden(overrides))), quarantine_resource()]
