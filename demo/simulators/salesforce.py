"""Local stand-in for the Salesforce REST API.

Serves the OAuth token endpoint (password and client-credentials grants) and `query` /
`queryAll` with `nextRecordsUrl` paging, in the wire format of `/work/shared/sources/README.md`,
over records the caller supplies (keyed by sObject name, e.g. from `demo.salesforce_records`).
It understands the SOQL leadloop sends: `SELECT f, … FROM Object [WHERE f op literal [AND …]]
[ORDER BY f [ASC|DESC], …] [LIMIT n]`, with dateTime, date, string, number and boolean literals.
Errors come back as Salesforce does: an HTTP status and `[{"message", "errorCode"}]`.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from demo.simulators.base import Request, Response, SimulatorBase, json_response
from demo.simulators.query_tokens import TokenCursor, tokenize
from extract.salesforce import settings

TOKEN_PATH = settings.TOKEN_PATH
QUERY_ALL_PATH = settings.QUERY_ALL_PATH.format(api_version=settings.DEFAULT_API_VERSION)
QUERY_PATH = settings.QUERY_PATH.format(api_version=settings.DEFAULT_API_VERSION)
# Every next page has its own URL (…/query/01g…-2000); they are all routed, injected and counted
# under this one path.
QUERY_MORE_PATH = QUERY_PATH + "/{locator}"
DEFAULT_BATCH_SIZE = settings.MAX_BATCH_SIZE

Record = dict[str, Any]
Literal = str | int | float | bool | datetime | date | None

# -- SOQL ------------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"\s*(?:(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2}))"
    r"|(?P<date>\d{4}-\d{2}-\d{2})(?![\d:T])"
    r"|(?P<str>'(?:[^'\\]|\\.)*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>>=|<=|!=|<>|=|>|<)"
    r"|(?P<punct>,)|(?P<ident>[A-Za-z_][A-Za-z0-9_.]*))"
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


def _soql_syntax_error(text: str, pos: int) -> SoqlError:
    return SoqlError(f"line 1:{pos} no viable alternative at character '{text[pos]}'")


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

    def __init__(self, text: str) -> None:
        super().__init__(tokenize(text.strip(), _TOKEN_RE, _soql_syntax_error))

    def error(self, message: str) -> SoqlError:
        return SoqlError(message)

    def ended_early(self, expected: str) -> str:
        return f"unexpected token: <EOF> (expected {expected})"

    def unexpected(self, expected: str, got: str) -> str:
        return f"unexpected token: '{got}'"

    def name(self) -> str:
        """A field or object name (not a keyword)."""
        text = self.take("ident")
        if text.lower() in _KEYWORDS:
            raise SoqlError(f"unexpected token: '{text}'")
        return text

    def parse(self) -> SoqlQuery:
        """Parses a whole statement."""
        self.take("ident", "select")
        fields = [self.name()]
        while self.peek() == ",":
            self.take("punct")
            fields.append(self.name())
        self.take("ident", "from")
        sobject = self.name()
        conditions: list[Condition] = []
        if self.peek() == "where":
            self.take()
            conditions.append(self.condition())
            while self.peek() == "and":
                self.take()
                conditions.append(self.condition())
        order_by: list[tuple[str, bool]] = []
        if self.peek() == "order":
            self.take()
            self.take("ident", "by")
            order_by.append(self.ordering())
            while self.peek() == ",":
                self.take("punct")
                order_by.append(self.ordering())
        limit = None
        if self.peek() == "limit":
            self.take()
            limit = int(self.take("num"))
        if self.pos != len(self.tokens):
            raise SoqlError(f"unexpected token: '{self.tokens[self.pos][1]}'")
        return SoqlQuery(tuple(fields), sobject, tuple(conditions), tuple(order_by), limit)

    def condition(self) -> Condition:
        """Parses `<field> <op> <literal>`."""
        name = self.name()
        op = self.take("op")
        if self.pos >= len(self.tokens):
            raise SoqlError(f"unexpected token: <EOF> (expected a value after {name} {op})")
        kind, text = self.tokens[self.pos]
        self.pos += 1
        return Condition(name, op, _literal(kind, text))

    def ordering(self) -> tuple[str, bool]:
        """Parses `<field> [ASC|DESC]`."""
        name = self.name()
        if self.peek() in ("asc", "desc"):
            return name, self.take().lower() == "desc"
        return name, False


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


class SalesforceSimulator(SimulatorBase):
    """Serves the Salesforce token, query and queryAll endpoints over in-memory records."""

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
    ) -> None:
        super().__init__(port)
        self.records = records
        self._credentials = (client_id, client_secret, username, password)
        self.client_credentials = client_credentials
        self.api_version = api_version
        self._tokens: set[str] = set()
        self._cursors: dict[str, tuple[str, list[Record]]] = {}
        self._state_lock = threading.Lock()
        self.rows_served: Counter[str] = Counter()
        query = settings.QUERY_PATH.format(api_version=api_version)
        self.query_path, self.query_all_path = query, settings.QUERY_ALL_PATH.format(api_version=api_version)
        self.query_more_path = query + "/{locator}"
        self._more_re = re.compile(re.escape(query) + r"/(?P<locator>01g[A-Za-z0-9]+-\d+)")
        self.add_route("POST", TOKEN_PATH, self._token)
        self.add_route("GET", self.query_path, lambda request: self._query(request, include_deleted=False))
        self.add_route("GET", self.query_all_path, lambda request: self._query(request, include_deleted=True))
        self.add_route("GET", self.query_more_path, self._query_more)

    # -- test controls ---------------------------------------------------------------------------

    def set_records(self, records: Mapping[str, list[Record]]) -> None:
        """Replaces the whole data set served from the next query on."""
        self.records = records

    def expire_tokens(self) -> None:
        """Invalidates every issued token, as when the org's session timeout passes."""
        with self._state_lock:
            self._tokens.clear()

    @property
    def login_url(self) -> str:
        """The URL to configure as the login host (the simulator is its own instance too)."""
        return self.base_url

    def dispatch(self, request: Request) -> Response:
        """Routes every next-page URL (…/query/01g…-N) to one path, keeping the locator."""
        match = self._more_re.fullmatch(request.path)
        if match:
            request = replace(
                request, path=self.query_more_path, query={**request.query, "locator": match["locator"]}
            )
        return super().dispatch(request)

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
        token = f"00D2t0000000LdAEAU!{secrets.token_urlsafe(24)}"
        with self._state_lock:
            self._tokens.add(token)
        return json_response(
            {
                "access_token": token,
                "instance_url": self.base_url,
                "id": f"{self.base_url}/id/00D2t0000000LdAEAU/0052t000000001AAAA",
                "token_type": "Bearer",
                "issued_at": str(int(time.time() * 1000)),
                "signature": secrets.token_urlsafe(32),
            }
        )

    def _query(self, request: Request, *, include_deleted: bool) -> Response:
        """query / queryAll: the first page, and nextRecordsUrl while rows remain."""
        if denied := self._check_token(request):
            return denied
        soql = request.query.get("q", "")
        if not soql.strip():
            return _error(400, "MALFORMED_QUERY", "A query string has to be specified")
        try:
            sobject, rows = self._select(soql, include_deleted=include_deleted)
        except SoqlError as exc:
            return _error(400, exc.code, str(exc))
        locator = "01g" + secrets.token_hex(8)
        with self._state_lock:
            self._cursors[locator] = (sobject, rows)
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
        with self._state_lock:
            valid = scheme.lower() == "bearer" and token in self._tokens
        if not valid:
            return _error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        return None

    def _select(self, soql: str, *, include_deleted: bool) -> tuple[str, list[Record]]:
        """Parses and runs a query; `query` (unlike `queryAll`) leaves deleted rows out."""
        query = parse_soql(soql)
        known = self._known_objects()
        if query.sobject not in known:
            raise SoqlError(
                f"sObject type '{query.sobject}' is not supported. If you are attempting to use a custom"
                " object, be sure to append the '__c' after the entity name. Please reference your WSDL"
                " or the describe call for the appropriate names.",
                "INVALID_TYPE",
            )
        rows = self.records.get(query.sobject, [])
        if not include_deleted:
            rows = [row for row in rows if not row.get(settings.DELETED_FIELD)]
        return query.sobject, run_query(query, rows, known[query.sobject])

    def _known_objects(self) -> dict[str, set[str]]:
        """sObject → field names: settings' field table plus any key present in served records."""
        known = {obj.sobject: set(obj.fields) for obj in settings.OBJECTS}
        for name, rows in self.records.items():
            fields = known.setdefault(name, {"Id"})
            for row in rows:
                fields.update(row)
        return known
