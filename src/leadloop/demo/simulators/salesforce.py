"""Local stand-in for the Salesforce REST and Bulk API 2.0.

Serves the OAuth token endpoint (password and client-credentials grants), the global and
per-object describe, `query` / `queryAll` with `nextRecordsUrl` paging, and Bulk API 2.0 query
jobs (create, status, CSV results paged by `Sforce-Locator`, delete), in the wire format of
`src/leadloop/extract/salesforce/README.md`, over records the caller supplies (keyed by sObject name, e.g.
from `leadloop.demo.salesforce_records`). An `OrgShape` says which objects and fields the org has: the
describe lists exactly those, and SOQL naming anything else fails as it does on Salesforce.
It understands the SOQL leadloop sends: `SELECT f, … | COUNT() FROM Object [WHERE f op literal
[AND …]] [ORDER BY f [ASC|DESC], …] [LIMIT n]`, with dateTime, date, string, number and boolean
literals. Errors come back as Salesforce does: an HTTP status and `[{"message", "errorCode"}]`.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from leadloop.demo.salesforce_records import ORG_ID, PREFIXES
from leadloop.demo.salesforce_shape import DEFAULT_SHAPE, OrgShape
from leadloop.demo.simulators.base import Request, Response, SimulatorBase, json_response
from leadloop.demo.simulators.query_tokens import TokenCursor
from leadloop.demo.simulators.salesforce_bulk import BulkJob, csv_page, decode_locator, encode_locator
from leadloop.extract.salesforce import settings

_VERSION = {"api_version": settings.DEFAULT_API_VERSION}
TOKEN_PATH = settings.TOKEN_PATH
QUERY_ALL_PATH = settings.QUERY_ALL_PATH.format(**_VERSION)
QUERY_PATH = settings.QUERY_PATH.format(**_VERSION)
# Every next page has its own URL (…/query/01g…-2000); they are all routed, injected and counted
# under this one path. Describe and Bulk job URLs likewise, under their templates.
QUERY_MORE_PATH = QUERY_PATH + "/{locator}"
SOBJECTS_PATH = settings.SOBJECTS_PATH.format(**_VERSION)
DESCRIBE_PATH = settings.DESCRIBE_PATH.format(sobject="{sobject}", **_VERSION)
BULK_JOBS_PATH = settings.BULK_JOBS_PATH.format(**_VERSION)
BULK_JOB_PATH = settings.BULK_JOB_PATH.format(job_id="{job_id}", **_VERSION)
BULK_RESULTS_PATH = settings.BULK_RESULTS_PATH.format(job_id="{job_id}", **_VERSION)
DEFAULT_BATCH_SIZE = settings.MAX_BATCH_SIZE
DEFAULT_BULK_PAGE_SIZE = 10_000  # rows per Bulk results page unless maxRecords asks for fewer
# Describe types of the field table's kinds (ids and references by name, below).
DESCRIBE_TYPES = {
    settings.STRING: "string", settings.BOOL: "boolean", settings.MONEY: "currency",
    settings.NUMBER: "double", "bigint": "int", "timestamp": "datetime", "date": "date",
}

Record = dict[str, Any]
Literal = str | int | float | bool | datetime | date | None

# -- SOQL ------------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"\s*(?:(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2}))"
    r"|(?P<date>\d{4}-\d{2}-\d{2})(?![\d:T])"
    r"|(?P<str>'(?:[^'\\]|\\.)*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>>=|<=|!=|<>|=|>|<)"
    r"|(?P<punct>[,()])|(?P<ident>[A-Za-z_][A-Za-z0-9_.]*))"
)
_KEYWORDS = {"select", "from", "where", "and", "order", "by", "asc", "desc", "limit"}


class SoqlError(ValueError):
    """A query the simulator refuses; `code` is the errorCode Salesforce would answer with."""

    def __init__(self, message: str, code: str = "MALFORMED_QUERY") -> None:
        super().__init__(message)
        self.code = code


def _compare(op: str, left: Any, right: Any) -> bool:
    """SQL-like comparison of two values of one type."""
    if op == "=":
        return bool(left == right)
    if op in ("!=", "<>"):
        return bool(left != right)
    if isinstance(left, bool) or isinstance(right, bool):
        raise TypeError("booleans only compare with = and !=")
    return bool({">": left > right, ">=": left >= right, "<": left < right, "<=": left <= right}[op])


def _typed(actual: Any, literal: Literal) -> Any:
    """Reads a record value as the literal's type (dateTime and date fields travel as text)."""
    if isinstance(literal, datetime):
        return datetime.fromisoformat(str(actual)).astimezone(UTC)
    if isinstance(literal, date):
        return date.fromisoformat(str(actual)[:10])
    return actual


@dataclass(frozen=True)
class Condition:
    """`<field> <op> <literal>` in a WHERE clause."""

    field: str
    op: str
    value: Literal

    def matches(self, record: Mapping[str, Any]) -> bool:
        """A null on either side only matches `= null` / `!= null`; a type clash never matches."""
        actual = record.get(self.field)
        if actual is None or self.value is None:
            same = (actual is None) == (self.value is None)
            return same if self.op == "=" else (not same if self.op in ("!=", "<>") else False)
        try:
            return _compare(self.op, _typed(actual, self.value), self.value)
        except (TypeError, ValueError):
            return False


@dataclass(frozen=True)
class SoqlQuery:
    """The parts of a SOQL statement the simulator understands."""

    fields: tuple[str, ...]
    sobject: str
    conditions: tuple[Condition, ...] = ()
    order_by: tuple[tuple[str, bool], ...] = ()  # (field, descending)
    limit: int | None = None
    count: bool = False  # SELECT COUNT(): the answer is the number of rows, no records


def _literal(kind: str, text: str) -> Literal:
    """The Python value of a literal token."""
    if kind == "datetime":
        return datetime.fromisoformat(text).astimezone(UTC)
    if kind == "date":
        return date.fromisoformat(text)
    if kind == "str":
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    if kind == "num":
        return float(text) if "." in text else int(text)
    lowered = text.lower()
    if kind == "ident" and lowered in ("true", "false", "null"):
        return {"true": True, "false": False, "null": None}[lowered]
    raise SoqlError(f"unexpected token: '{text}'")


class _Parser(TokenCursor):
    """Recursive-descent parser of the SOQL subset."""

    pattern = _TOKEN_RE
    near_text = "line 1:{pos} no viable alternative at character '{char}'"
    error_type = SoqlError
    ended_early_text = "unexpected token: <EOF> (expected {expected})"
    unexpected_text = trailing_text = "unexpected token: '{got}'"

    def field_name(self) -> str:
        """A field or object name (not a keyword)."""
        text = self.take("ident")
        if text.lower() in _KEYWORDS:
            raise SoqlError(f"unexpected token: '{text}'")
        return text

    def parse(self) -> SoqlQuery:
        """Parses a whole statement."""
        self.take("ident", "select")
        fields, count = self.selection()
        self.take("ident", "from")
        sobject = self.field_name()
        conditions = self.where(self.condition)
        order_by = self.order_by(several=True)
        limit = self.limit()
        self.end()
        return SoqlQuery(tuple(fields), sobject, tuple(conditions), tuple(order_by), limit, count)

    def selection(self) -> tuple[list[str], bool]:
        """`COUNT()` (no fields), or a list of field names."""
        if self.peek() == "count" and self.pos + 1 < len(self.tokens) and self.tokens[self.pos + 1][1] == "(":
            self.take()
            self.take("punct", "(")
            self.take("punct", ")")
            return [], True
        return self.names(), False

    def condition(self) -> Condition:
        """Parses `<field> <op> <literal>`."""
        name = self.field_name()
        op = self.take("op")
        if self.pos >= len(self.tokens):
            raise SoqlError(f"unexpected token: <EOF> (expected a value after {name} {op})")
        kind, text = self.tokens[self.pos]
        self.pos += 1
        return Condition(name, op, _literal(kind, text))


def parse_soql(text: str) -> SoqlQuery:
    """Parses the SOQL subset leadloop sends."""
    return _Parser(text).parse()


def _sort_key(value: Any) -> tuple[int, Any]:
    """Orders nulls first, then booleans, numbers, text, without comparing across types."""
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, (int, float)):
        return (2, value)
    return (3, str(value))


def invalid_field(field: str, query: SoqlQuery) -> SoqlError:
    """Salesforce's INVALID_FIELD answer for a column the object lacks."""
    return SoqlError(
        f"No such column '{field}' on entity '{query.sobject}'. If you are attempting to use a custom"
        " field, be sure to append the '__c' after the custom field name. Please reference your WSDL or"
        " the describe call for the appropriate names.",
        "INVALID_FIELD",
    )


def run_query(query: SoqlQuery, records: Iterable[Mapping[str, Any]], known_fields: set[str]) -> list[Record]:
    """Filters, orders (ORDER BY fields, then Id) and projects records; unknown fields raise."""
    referenced = [*query.fields, *(c.field for c in query.conditions), *(f for f, _ in query.order_by)]
    for name in referenced:
        if name not in known_fields:
            raise invalid_field(name, query)
    rows = [r for r in records if all(c.matches(r) for c in query.conditions)]
    rows.sort(key=lambda r: _sort_key(r.get("Id")))
    for name, descending in reversed(query.order_by):
        rows.sort(key=lambda r, n=name: _sort_key(r.get(n)), reverse=descending)
    if query.limit is not None:
        rows = rows[: query.limit]
    return [{name: row.get(name) for name in query.fields} for row in rows]


# -- server ----------------------------------------------------------------------------------------


def _error(status: int, code: str, message: str) -> Response:
    """A Salesforce REST error answer."""
    return json_response([{"message": message, "errorCode": code}], status=status)


def _oauth_error(error: str, description: str) -> Response:
    """An OAuth2 error answer of the token endpoint (Salesforce answers HTTP 400)."""
    return json_response({"error": error, "error_description": description}, status=400)


def _batch_size(request: Request) -> int:
    """`Sforce-Query-Options: batchSize=N`, clamped to 200-2,000 as Salesforce does."""
    match = re.search(r"batchSize\s*=\s*(\d+)", request.header(settings.BATCH_SIZE_HEADER.lower()))
    if not match:
        return DEFAULT_BATCH_SIZE
    return min(settings.MAX_BATCH_SIZE, max(settings.MIN_BATCH_SIZE, int(match.group(1))))


def invalid_type(sobject: str) -> SoqlError:
    """Salesforce's INVALID_TYPE answer for an object the org lacks."""
    return SoqlError(
        f"sObject type '{sobject}' is not supported. If you are attempting to use a custom object, be"
        " sure to append the '__c' after the entity name. Please reference your WSDL or the describe"
        " call for the appropriate names.",
        "INVALID_TYPE",
    )


def describe_type(sobject: str, name: str, kind: str) -> str:
    """The describe type of a field: id, reference, picklist or its kind's type."""
    if name == "Id":
        return "id"
    if name.endswith("Id") and kind == settings.STRING:
        return "reference"
    if name == settings.CURRENCY_FIELD:
        return "picklist"
    return DESCRIBE_TYPES.get(kind, "string")


class SalesforceSimulator(SimulatorBase):
    """Serves Salesforce's token, describe, query / queryAll and Bulk API 2.0 query endpoints over
    in-memory records, for an org of the given shape."""

    def __init__(
        self,
        records: Mapping[str, list[Record]],
        *,
        client_id: str,
        client_secret: str,
        username: str,
        password: str,
        port: int = 0,
        api_version: str = settings.DEFAULT_API_VERSION,
        client_credentials: bool = True,
        shape: OrgShape = DEFAULT_SHAPE,
    ) -> None:
        super().__init__(port)
        self.records = records
        self.shape = shape
        self._credentials = (client_id, client_secret, username, password)
        self.client_credentials = client_credentials
        self.api_version = api_version
        self._cursors: dict[str, tuple[str, list[Record]]] = {}
        self._jobs: dict[str, BulkJob] = {}
        self._state_lock = threading.Lock()
        self.rows_served: Counter[str] = Counter()
        # Bulk API test controls: status checks before a job completes, rows per results page,
        # a failure message for the jobs created from now on, a refusal (errorCode, message).
        self.bulk_polls_before_complete = 1
        self.bulk_page_size = DEFAULT_BULK_PAGE_SIZE
        self.bulk_failure: str | None = None
        self.bulk_refusal: tuple[str, str] | None = None
        self.bulk_jobs_created: list[str] = []  # sObject of every job created, in order
        self._add_routes(api_version)

    def _add_routes(self, api_version: str) -> None:
        """Routes every endpoint; URLs with ids are routed under their templates (see dispatch)."""
        version = {"api_version": api_version}
        query = settings.QUERY_PATH.format(**version)
        self.query_path, self.query_all_path = query, settings.QUERY_ALL_PATH.format(**version)
        self.query_more_path = query + "/{locator}"
        self.describe_path = settings.DESCRIBE_PATH.format(sobject="{sobject}", **version)
        self.bulk_job_path = settings.BULK_JOB_PATH.format(job_id="{job_id}", **version)
        self.bulk_results_path = settings.BULK_RESULTS_PATH.format(job_id="{job_id}", **version)
        data = re.escape(f"/services/data/{api_version}")
        self._templates = [
            (re.compile(re.escape(query) + r"/(?P<locator>01g[A-Za-z0-9]+-\d+)"), self.query_more_path),
            (re.compile(data + r"/sobjects/(?P<sobject>[A-Za-z0-9_]+)/describe"), self.describe_path),
            (re.compile(data + r"/jobs/query/(?P<job_id>750[A-Za-z0-9]+)/results"), self.bulk_results_path),
            (re.compile(data + r"/jobs/query/(?P<job_id>750[A-Za-z0-9]+)"), self.bulk_job_path),
        ]
        self.add_route("POST", TOKEN_PATH, self._token)
        self.add_route("GET", self.query_path, lambda request: self._query(request, include_deleted=False))
        self.add_route("GET", self.query_all_path, lambda request: self._query(request, include_deleted=True))
        self.add_route("GET", self.query_more_path, self._query_more)
        self.add_route("GET", settings.SOBJECTS_PATH.format(**version), self._global_describe)
        self.add_route("GET", self.describe_path, self._describe)
        self.add_route("POST", settings.BULK_JOBS_PATH.format(**version), self._create_job)
        self.add_route("GET", self.bulk_job_path, self._job_status)
        self.add_route("DELETE", self.bulk_job_path, self._delete_job)
        self.add_route("GET", self.bulk_results_path, self._job_results)

    # -- test controls ---------------------------------------------------------------------------

    def set_records(self, records: Mapping[str, list[Record]], shape: OrgShape | None = None) -> None:
        """Replaces the whole data set served from the next request on (and the shape, if given)."""
        self.records = records
        if shape is not None:
            self.shape = shape

    @property
    def open_bulk_jobs(self) -> int:
        """Bulk API jobs created and not deleted yet."""
        with self._state_lock:
            return len(self._jobs)

    @property
    def login_url(self) -> str:
        """The URL to configure as the login host (the simulator is its own instance too)."""
        return self.base_url

    def dispatch(self, request: Request) -> Response:
        """Routes URLs carrying a locator, object or job id to their template path, keeping the id."""
        for pattern, template in self._templates:
            match = pattern.fullmatch(request.path)
            if match:
                request = replace(request, path=template, query={**request.query, **match.groupdict()})
                break
        return super().dispatch(request)

    # -- the org's shape -------------------------------------------------------------------------

    def org_objects(self) -> list[str]:
        """Every sObject the org has: leadloop's field table and the served records, cut to the shape."""
        names = [obj.sobject for obj in settings.OBJECTS] + list(self.records)
        return [name for name in dict.fromkeys(names) if self.shape.has_object(name)]

    def org_fields(self, sobject: str) -> dict[str, str]:
        """One org object's fields with their kinds: field table and record keys, cut to the shape."""
        obj = settings.OBJECTS_BY_SOBJECT.get(sobject)
        kinds = dict(obj.fields) if obj else {"Id": settings.STRING}
        for row in self.records.get(sobject, []):
            for name in row:
                kinds.setdefault(name, settings.STRING)
        return {name: kinds.get(name, settings.STRING) for name in self.shape.fields_of(sobject, kinds)}

    # -- handlers --------------------------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        """OAuth2 password or client-credentials grant; issues a Bearer token and the instance URL."""
        form = request.form()
        client_id, client_secret, username, password = self._credentials
        grant = form.get("grant_type")
        if grant not in ("password", "client_credentials"):
            return _oauth_error("unsupported_grant_type", "grant type not supported")
        if form.get("client_id") != client_id:
            return _oauth_error("invalid_client_id", "client identifier invalid")
        if form.get("client_secret") != client_secret:
            return _oauth_error("invalid_client", "invalid client credentials")
        if grant == "client_credentials" and not self.client_credentials:
            return _oauth_error("invalid_grant", "no client credentials user enabled")
        if grant == "password" and (form.get("username") != username or form.get("password") != password):
            return _oauth_error("invalid_grant", "authentication failure")
        token = self.tokens.issue(f"{ORG_ID}!{secrets.token_urlsafe(24)}")
        return json_response(
            {
                "access_token": token,
                "instance_url": self.base_url,
                "id": f"{self.base_url}/id/{ORG_ID}/0052t000000001AAAA",
                "token_type": "Bearer",
                "issued_at": str(int(time.time() * 1000)),
                "signature": secrets.token_urlsafe(32),
            }
        )

    def _global_describe(self, request: Request) -> Response:
        """GET …/sobjects: every object of the org, queryable."""
        if denied := self._check_token(request):
            return denied
        sobjects = [
            {"name": name, "label": name, "keyPrefix": PREFIXES.get(name), "custom": name.endswith("__c"),
             "queryable": True, "urls": {"describe": self.describe_path.format(sobject=name)}}
            for name in self.org_objects()
        ]
        return json_response({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects})

    def _describe(self, request: Request) -> Response:
        """GET …/sobjects/<Object>/describe: the org's fields of the object, or 404 NOT_FOUND."""
        if denied := self._check_token(request):
            return denied
        sobject = request.query.get("sobject", "")
        if sobject not in self.org_objects():
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        fields = [
            {"name": name, "type": describe_type(sobject, name, kind), "label": name,
             "custom": name.endswith("__c"), "nillable": name != "Id"}
            for name, kind in self.org_fields(sobject).items()
        ]
        return json_response({"name": sobject, "label": sobject, "keyPrefix": PREFIXES.get(sobject),
                              "custom": False, "queryable": True, "fields": fields})

    def _query(self, request: Request, *, include_deleted: bool) -> Response:
        """query / queryAll: the first page and nextRecordsUrl while rows remain; COUNT() in one answer."""
        if denied := self._check_token(request):
            return denied
        soql = request.query.get("q", "")
        if not soql.strip():
            return _error(400, "MALFORMED_QUERY", "A query string has to be specified")
        try:
            query, rows = self._select(soql, include_deleted=include_deleted)
        except SoqlError as exc:
            return _error(400, exc.code, str(exc))
        if query.count:
            return json_response({"totalSize": len(rows), "done": True, "records": []})
        locator = "01g" + secrets.token_hex(8)
        with self._state_lock:
            self._cursors[locator] = (query.sobject, rows)
        return self._page(locator, 0, _batch_size(request))

    def _query_more(self, request: Request) -> Response:
        """The page a nextRecordsUrl names: the cursor's rows from its offset on."""
        if denied := self._check_token(request):
            return denied
        locator, _, offset = request.query.get("locator", "").rpartition("-")
        with self._state_lock:
            known = locator in self._cursors
        if not known:
            return _error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(locator, int(offset), _batch_size(request))

    # -- Bulk API 2.0 ----------------------------------------------------------------------------

    def _create_job(self, request: Request) -> Response:
        """POST …/jobs/query: runs the query into a new job (no aggregates, ORDER BY or LIMIT)."""
        if denied := self._check_token(request):
            return denied
        if self.bulk_refusal is not None:
            return _error(400, *self.bulk_refusal)
        body = request.json()
        operation, soql = body.get("operation"), str(body.get("query") or "")
        if operation not in ("query", "queryAll"):
            return _error(400, "INVALIDJOB", f"Invalid operation: {operation!r}; use query or queryAll")
        try:
            query, rows = self._select(soql, include_deleted=operation == "queryAll")
        except SoqlError as exc:
            return _error(400, exc.code, str(exc))
        if query.count or query.order_by or query.limit is not None:
            message = "Bulk API 2.0 query jobs do not support COUNT(), ORDER BY or LIMIT"
            return _error(400, "API_ERROR", message)
        # Bulk API 2.0 promises no order: rows come in chunk order, here a stable scramble of the Ids.
        rows = sorted(rows, key=lambda row: zlib.crc32(str(row.get("Id")).encode()))
        job = BulkJob("750" + secrets.token_hex(6), query.sobject, str(operation), query.fields, rows,
                      time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime()),
                      self.bulk_polls_before_complete, self.bulk_failure)
        with self._state_lock:
            self._jobs[job.job_id] = job
            self.bulk_jobs_created.append(job.sobject)
        return json_response(job.info(self.api_version))

    def _job(self, request: Request) -> BulkJob | Response:
        """The job a path names, or the answer to give when there is none (or no valid token)."""
        if denied := self._check_token(request):
            return denied
        with self._state_lock:
            job = self._jobs.get(request.query.get("job_id", ""))
        if job is None:
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        return job

    def _job_status(self, request: Request) -> Response:
        """GET …/jobs/query/<id>: InProgress for a few checks, then JobComplete (or Failed)."""
        job = self._job(request)
        if isinstance(job, Response):
            return job
        with self._state_lock:
            job.poll()
            return json_response(job.info(self.api_version))

    def _delete_job(self, request: Request) -> Response:
        """DELETE …/jobs/query/<id>: the job and its results are gone."""
        job = self._job(request)
        if isinstance(job, Response):
            return job
        with self._state_lock:
            self._jobs.pop(job.job_id, None)
        return Response(status=204)

    def _job_results(self, request: Request) -> Response:
        """GET …/jobs/query/<id>/results[?locator=…&maxRecords=…]: one CSV page and the next locator."""
        job = self._job(request)
        if isinstance(job, Response):
            return job
        if job.state != "JobComplete":
            return _error(400, "INVALIDJOBSTATE", f"Job {job.job_id} is {job.state}, not JobComplete")
        offset = decode_locator(request.query["locator"]) if request.query.get("locator") else 0
        if offset is None:
            return _error(400, "INVALIDLOCATOR", "invalid locator")
        size = min(self.bulk_page_size, int(request.query.get("maxRecords") or self.bulk_page_size))
        page = job.rows[offset : offset + size]
        with self._state_lock:
            self.rows_served[job.sobject] += len(page)
        more = offset + len(page) < len(job.rows)
        headers = {"Content-Type": "text/csv", settings.BULK_LOCATOR_HEADER: encode_locator(offset + size)
                   if more else settings.BULK_LAST_LOCATOR, "Sforce-NumberOfRecords": str(len(page))}
        return Response(status=200, body=csv_page(job.fields, page), headers=headers)

    # -- helpers ---------------------------------------------------------------------------------

    def _page(self, locator: str, offset: int, batch: int) -> Response:
        """One page of a cursor, with attributes on every record."""
        with self._state_lock:
            sobject, rows = self._cursors[locator]
            page = rows[offset : offset + batch]
            self.rows_served[sobject] += len(page)
        done = offset + len(page) >= len(rows)
        body: dict[str, Any] = {
            "totalSize": len(rows),
            "done": done,
            "records": [self._with_attributes(sobject, row) for row in page],
        }
        if not done:
            body["nextRecordsUrl"] = f"{self.query_path}/{locator}-{offset + len(page)}"
        return json_response(body)

    def _with_attributes(self, sobject: str, row: Record) -> Record:
        """A record as the REST API returns it: `attributes` first, then the selected fields."""
        url = f"/services/data/{self.api_version}/sobjects/{sobject}/{row.get('Id')}"
        return {"attributes": {"type": sobject, "url": url}, **row}

    def _check_token(self, request: Request) -> Response | None:
        """A 401 INVALID_SESSION_ID answer unless the Bearer token is known."""
        scheme, _, token = request.header("authorization").partition(" ")
        if scheme.lower() != "bearer" or not self.tokens.is_valid(token):
            return _error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        return None

    def _select(self, soql: str, *, include_deleted: bool) -> tuple[SoqlQuery, list[Record]]:
        """Parses and runs a query on the org's objects and fields; `query` leaves deleted rows out."""
        query = parse_soql(soql)
        if query.sobject not in self.org_objects():
            raise invalid_type(query.sobject)
        rows = self.records.get(query.sobject, [])
        if not include_deleted:
            rows = [row for row in rows if not row.get(settings.DELETED_FIELD)]
        return query, self.drifted(query.sobject, run_query(query, rows, set(self.org_fields(query.sobject))))
