"""Bulk API 2.0 query jobs for the Salesforce simulator: job state, job info, CSV result pages.

A job runs its query when it is created (the rows are fixed then, as Salesforce's snapshot is),
reports `InProgress` for a few status checks, then `JobComplete` (or `Failed` when a test asks
for it). Results are CSV as Bulk API 2.0 serves them: a header of the selected fields, every
value quoted, null as an empty value, booleans `true` / `false`, instants in `…Z` form, pages
chained by an opaque `Sforce-Locator` header that is the string `null` on the last page.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from dataclasses import dataclass
from typing import Any

Record = dict[str, Any]
_REST_INSTANT = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?)\+0000$")


@dataclass
class BulkJob:
    """One query job: what it selected, the rows it found, and where it is in its life."""

    job_id: str
    sobject: str
    operation: str
    fields: tuple[str, ...]
    rows: list[Record]
    created: str
    polls_left: int
    failure: str | None = None
    state: str = "UploadComplete"

    def poll(self) -> str:
        """Advances the job by one status check and returns its state."""
        if self.state in ("UploadComplete", "InProgress"):
            if self.polls_left > 0:
                self.polls_left -= 1
                self.state = "InProgress"
            else:
                self.state = "Failed" if self.failure else "JobComplete"
        return self.state

    def info(self, api_version: str) -> dict[str, Any]:
        """The job info document of create and status answers."""
        body: dict[str, Any] = {
            "id": self.job_id, "operation": self.operation, "object": self.sobject,
            "createdById": "0052t000000001AAAA", "createdDate": self.created, "systemModstamp": self.created,
            "state": self.state, "concurrencyMode": "Parallel", "contentType": "CSV",
            "apiVersion": float(api_version.lstrip("v")), "jobType": "V2Query", "lineEnding": "LF",
            "columnDelimiter": "COMMA",
        }
        if self.state == "JobComplete":
            body.update({"numberRecordsProcessed": len(self.rows), "retries": 0, "totalProcessingTime": 42})
        if self.state == "Failed":
            body["errorMessage"] = self.failure
        return body


def encode_locator(offset: int) -> str:
    """An opaque locator for a result offset (Salesforce's look like `MTAwMDA`)."""
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def decode_locator(locator: str) -> int | None:
    """The offset of a locator, None when it is not one of ours."""
    try:
        return int(base64.b64decode(locator + "=" * (-len(locator) % 4)).decode())
    except ValueError:
        return None


def csv_value(value: Any) -> str:
    """A record value as Bulk API CSV text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    text = str(value)
    match = _REST_INSTANT.match(text)
    return f"{match.group(1)}Z" if match else text


def csv_page(fields: tuple[str, ...], rows: list[Record]) -> bytes:
    """One result page: the header, then every row with every value quoted."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(fields)
    for row in rows:
        writer.writerow([csv_value(row.get(name)) for name in fields])
    return out.getvalue().encode("utf-8")
