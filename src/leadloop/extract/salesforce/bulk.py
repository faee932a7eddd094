"""Bulk API 2.0 query jobs: create, wait until complete, read the CSV results page by locator.

Used for objects with more rows to read than SOURCES__SALESFORCE__BULK_THRESHOLD (see settings.py
for why Bulk API 2.0 and why that default). The CSV values come back as text; the source types
them with the same field table as the REST path, so a table loads identically either way. An
empty CSV value is null: Salesforce stores no empty text, so nothing is lost.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import requests

from leadloop.extract.common.http import TransientError, json_body
from leadloop.extract.salesforce import settings
from leadloop.extract.salesforce.client import (
    Record,
    SalesforceApiError,
    SalesforceClient,
    SalesforceError,
    answered_by,
)

logger = logging.getLogger(__name__)


def job_request(soql: str) -> dict[str, str]:
    """The body that creates a queryAll job (deleted rows too, like the REST path) with CSV results."""
    return {"operation": "queryAll", "query": soql, "contentType": "CSV", "columnDelimiter": "COMMA",
            "lineEnding": "LF"}


def _job_info(response: requests.Response) -> Mapping[str, Any]:
    """A job info answer (create or status); one without id and state is transient."""
    body = json_body(response)
    if not isinstance(body, Mapping) or not body.get("id") or not body.get("state"):
        raise TransientError(
            f"salesforce: malformed Bulk API job answer from {answered_by(response)} (no id/state)"
        )
    return body


def csv_records(text: str) -> list[Record]:
    """Rows of a CSV result page as records keyed by the header; empty values are null."""
    rows = csv.reader(io.StringIO(text, newline=""))
    header = next(rows, None)
    if header is None:
        return []
    records = []
    for row in rows:
        if len(row) != len(header):
            raise TransientError(
                f"salesforce: Bulk API result row has {len(row)} values for {len(header)} columns; retrying"
            )
        records.append({name: value or None for name, value in zip(header, row, strict=True)})
    return records


def _result_page(response: requests.Response) -> tuple[list[Record], str | None]:
    """(records, next locator or None) of one results answer."""
    text = response.content.decode("utf-8")
    locator = response.headers.get(settings.BULK_LOCATOR_HEADER)
    return csv_records(text), (None if locator in (None, "", settings.BULK_LAST_LOCATOR) else locator)


def create_query_job(client: SalesforceClient, soql: str) -> str:
    """Creates a queryAll job for `soql` and returns its id."""
    path = client.api_path(settings.BULK_JOBS_PATH)
    return str(client.call("POST", path, json=job_request(soql), parse=_job_info, detail=soql)["id"])


def wait_for_job(
    client: SalesforceClient,
    job_id: str,
    *,
    poll_seconds: float,
    max_wait: float = settings.BULK_MAX_WAIT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Mapping[str, Any]:
    """Polls the job until JobComplete (waits double up to a cap); Failed / Aborted / too long raise."""
    path = client.api_path(settings.BULK_JOB_PATH, job_id=job_id)
    started, delay = clock(), poll_seconds
    while True:
        info = client.call("GET", path, parse=_job_info, detail=f"Bulk API job {job_id}")
        state = str(info["state"])
        if state == settings.BULK_COMPLETE_STATE:
            return info
        if state not in settings.BULK_PENDING_STATES:
            raise SalesforceApiError(
                f"salesforce: Bulk API query job {job_id} ended {state}:"
                f" {info.get('errorMessage') or 'no message'}. Raise SOURCES__SALESFORCE__BULK_THRESHOLD"
                " above the object's row count to read it over REST instead.",
                state,
            )
        if clock() - started > max_wait:
            raise SalesforceError(
                f"salesforce: Bulk API query job {job_id} is still {state} after {max_wait:.0f} s; see Setup"
                " → Bulk Data Load Jobs, or raise SOURCES__SALESFORCE__BULK_THRESHOLD to read over REST"
            )
        sleep(delay)
        delay = min(delay * 2, settings.BULK_MAX_POLL_SECONDS)


def result_pages(client: SalesforceClient, job_id: str) -> Iterator[list[Record]]:
    """Yields the job's result rows page by page, following the Sforce-Locator header."""
    path = client.api_path(settings.BULK_RESULTS_PATH, job_id=job_id)
    locator: str | None = None
    seen: set[str] = set()
    while True:
        params = {"locator": locator} if locator else None
        records, locator = client.call(
            "GET", path, params=params, headers={"Accept": "text/csv"}, parse=_result_page,
            detail=f"results of Bulk API job {job_id}",
        )
        if records:
            yield records
        if locator is None:
            return
        if locator in seen:
            raise SalesforceError(f"salesforce: Bulk API locator {locator} came back twice for job {job_id}")
        seen.add(locator)


def delete_job(client: SalesforceClient, job_id: str) -> None:
    """Deletes a read job and its results (they count against the org's result storage); best effort."""
    path = client.api_path(settings.BULK_JOB_PATH, job_id=job_id)
    try:
        client.call("DELETE", path, parse=lambda response: None, detail=f"Bulk API job {job_id}")
    except RuntimeError as exc:  # SalesforceError, or retries exhausted
        logger.warning("salesforce: could not delete Bulk API job %s (%s); Salesforce drops it in 7 days",
                       job_id, exc)


def job_records(client: SalesforceClient, job_id: str, *, poll_seconds: float) -> Iterator[list[Record]]:
    """Waits for a created job, yields its result pages, then deletes it."""
    wait_for_job(client, job_id, poll_seconds=poll_seconds)
    yield from result_pages(client, job_id)
    delete_job(client, job_id)


def bulk_query(client: SalesforceClient, soql: str, *, poll_seconds: float) -> Iterator[list[Record]]:
    """All rows of `soql` (queryAll, no ORDER BY) through one Bulk API 2.0 job, page by page."""
    job_id = create_query_job(client, soql)
    yield from job_records(client, job_id, poll_seconds=poll_seconds)
