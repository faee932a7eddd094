"""Local stand-in for the 销售易 (Neocrm) CRM REST API.

Serves the OAuth password grant and the xoql / xoqlScroll query endpoints in the wire format of
`src/leadloop/extract/neocrm/README.md`, over records the caller supplies. Records are read on every
query, so tests may mutate the mapping in place or swap it with `set_records` between runs.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from leadloop.demo.simulators.base import AccessTokens, Request, Response, SimulatorBase, json_response
from leadloop.demo.simulators.query_tokens import COMPARISONS, TokenCursor, simple_token_pattern, sort_key
from leadloop.demo.simulators.query_tokens import Condition as Comparison
from leadloop.extract.neocrm import settings

TOKEN_PATH = "/auc/oauth2/token"
XOQL_PATH = settings.XOQL_PATH
XOQL_SCROLL_PATH = settings.XOQL_SCROLL_PATH
XOQL_MAX_ROWS = 3000
SCROLL_MAX_BATCH = 2000

Record = dict[str, Any]

# -- xoql ------------------------------------------------------------------------------------------

_TOKEN_RE = simple_token_pattern(r"[A-Za-z_][A-Za-z0-9_.]*")


class XoqlError(ValueError):
    """A query the simulator cannot parse or run; its text goes back in `msg`."""


class Condition(Comparison):
    """`<field> <op> <literal>` in a where clause."""

    def matches(self, record: Mapping[str, Any]) -> bool:
        """SQL-like test: a missing/null value or a type clash never matches."""
        actual = record.get(self.field)
        if actual is None or isinstance(actual, bool):
            return False
        try:
            return bool(COMPARISONS[self.op](actual, self.value))
        except TypeError:
            return False


@dataclass(frozen=True)
class XoqlQuery:
    """The parts of `select … from … [where …] [order by …]` the simulator understands."""

    fields: tuple[str, ...]
    object_name: str
    conditions: tuple[Condition, ...] = ()
    order_by: str | None = None
    descending: bool = False


class _Parser(TokenCursor):
    """Recursive-descent parser of the xoql subset."""

    pattern = _TOKEN_RE
    near_text = "xoql syntax error near: {near!r}"
    error_type = XoqlError
    ended_early_text = "xoql ended early, expected {expected}"
    unexpected_text = "xoql syntax error: expected {expected}, got {got!r}"
    trailing_text = "xoql syntax error: unexpected {got!r}"
    literal_text = "xoql syntax error: expected a number or 'string' after {field} {op}"
    condition_type = Condition

    def parse(self) -> XoqlQuery:
        """Parses a whole statement."""
        self.take("ident", "select")
        fields = self.names()
        self.take("ident", "from")
        object_name = self.take("ident")
        conditions = self.where(self.condition)
        [(order_by, descending)] = self.order_by() or [(None, False)]
        self.end()
        return XoqlQuery(tuple(fields), object_name, tuple(conditions), order_by, descending)


def parse_xoql(text: str) -> XoqlQuery:
    """Parses the xoql subset used by leadloop (select/from/where … and …/order by)."""
    return _Parser(text).parse()


def run_query(query: XoqlQuery, records: Iterable[Mapping[str, Any]], known_fields: set[str]) -> list[Record]:
    """Filters, orders (order-by field, then id) and projects records; unknown fields raise."""
    referenced = [*query.fields, *(c.field for c in query.conditions)]
    if query.order_by:
        referenced.append(query.order_by)
    for name in referenced:
        if name not in known_fields:
            raise XoqlError(f"field '{name}' does not exist on object '{query.object_name}'")
    rows = [r for r in records if all(c.matches(r) for c in query.conditions)]
    if query.order_by:
        order_by = query.order_by
        rows.sort(
            key=lambda r: (sort_key(r.get(order_by)), sort_key(r.get("id"))), reverse=query.descending
        )
    else:
        rows.sort(key=lambda r: sort_key(r.get("id")))
    return [{name: row[name] for name in query.fields if name in row} for row in rows]


# -- server ----------------------------------------------------------------------------------------


@dataclass
class _Scroll:
    """Server-side state of one xoqlScroll: the frozen result and where the next batch starts."""

    rows: list[Record]
    offset: int


class NeocrmSimulator(SimulatorBase):
    """Serves 销售易 token, xoql and xoqlScroll endpoints over in-memory records."""

    def __init__(
        self,
        records: Mapping[str, list[Record]],
        *,
        client_id: str,
        client_secret: str,
        username: str,
        password: str,
        port: int = 0,
        token_ttl_seconds: int = 7199,
        tenant_id: str = "100000001",
    ) -> None:
        super().__init__(port)
        self.records = records
        self._credentials = (client_id, client_secret, username, password)
        self.token_ttl_seconds = token_ttl_seconds
        self.tenant_id = tenant_id
        self.tokens = AccessTokens(token_ttl_seconds)
        self._scrolls: dict[str, _Scroll] = {}
        self._state_lock = threading.Lock()
        self.add_route("POST", TOKEN_PATH, self._token)
        self.add_route("POST", XOQL_PATH, self._xoql)
        self.add_route("POST", XOQL_SCROLL_PATH, self._xoql_scroll)

    # -- test controls ---------------------------------------------------------------------------

    def set_records(self, records: Mapping[str, list[Record]]) -> None:
        """Replaces the whole data set served from the next query on."""
        self.records = records

    @property
    def token_url(self) -> str:
        """Full URL of the token endpoint on this simulator."""
        return f"{self.base_url}{TOKEN_PATH}"

    # -- handlers --------------------------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        """OAuth2 password grant: checks client and user credentials, issues a Bearer token."""
        form = request.form()
        if form.get("grant_type") != "password":
            return _oauth_error("unsupported_grant_type", "grant_type must be password", 400)
        client_id, client_secret, username, password = self._credentials
        if form.get("client_id") != client_id or form.get("client_secret") != client_secret:
            return _oauth_error("invalid_client", "client_id or client_secret is wrong", 401)
        if form.get("username") != username or form.get("password") != password:
            return _oauth_error("invalid_grant", "username or password (+ security token) is wrong", 401)
        token = self.tokens.issue(secrets.token_hex(16))
        return json_response(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": self.token_ttl_seconds,
                "instance_uri": self.base_url,
                "tenant_id": self.tenant_id,
            }
        )

    def _xoql(self, request: Request) -> Response:
        """Plain xoql: the first 3,000 matching rows at most."""
        if denied := self._check_token(request):
            return denied
        try:
            rows = self._select(request.form().get("xoql", ""))
        except XoqlError as exc:
            return _api_error("400", str(exc))
        page = rows[:XOQL_MAX_ROWS]
        return _api_ok({"totalSize": len(rows), "count": len(page), "records": page})

    def _xoql_scroll(self, request: Request) -> Response:
        """xoqlScroll: a batch of rows plus the queryLocator of the next batch ('' when done)."""
        if denied := self._check_token(request):
            return denied
        form = request.form()
        try:
            batch = int(form.get("batchCount") or SCROLL_MAX_BATCH)
        except ValueError:
            return _api_error("400", "batchCount must be an integer")
        if not 1 <= batch <= SCROLL_MAX_BATCH:
            return _api_error("400", f"batchCount must be between 1 and {SCROLL_MAX_BATCH}")
        locator = form.get("queryLocator") or ""
        try:
            scroll = self._scroll_for(locator, form.get("xoql", ""))
        except XoqlError as exc:
            return _api_error("400", str(exc))
        page = scroll.rows[scroll.offset : scroll.offset + batch]
        next_offset = scroll.offset + len(page)
        next_locator = self._remember(scroll.rows, next_offset) if next_offset < len(scroll.rows) else ""
        data = {
            "totalSize": len(scroll.rows),
            "count": len(page),
            "records": page,
            "queryLocator": next_locator,
        }
        return _api_ok(data)

    # -- helpers ---------------------------------------------------------------------------------

    def _check_token(self, request: Request) -> Response | None:
        """Returns a 401 answer unless the Bearer token is known and unexpired."""
        scheme, _, token = request.header("authorization").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return json_response({"code": "401", "msg": "missing Authorization: Bearer token"}, 401)
        if not self.tokens.is_valid(token):
            return json_response({"code": "401", "msg": "access token is invalid or expired"}, 401)
        return None

    def _select(self, xoql: str) -> list[Record]:
        """Parses and runs a query against the current records."""
        query = parse_xoql(xoql)
        known = self._known_objects()
        if query.object_name not in known:
            raise XoqlError(f"object '{query.object_name}' does not exist")
        rows = run_query(query, self.records.get(query.object_name, []), known[query.object_name])
        return self.drifted(query.object_name, rows)

    def _known_objects(self) -> dict[str, set[str]]:
        """Object → field names: settings' field table plus any key present in served records."""
        known = {obj.xoql_name: set(obj.fields) for obj in settings.OBJECTS}
        for name, rows in self.records.items():
            fields = known.setdefault(name, set())
            for row in rows:
                fields.update(row)
        return known

    def _scroll_for(self, locator: str, xoql: str) -> _Scroll:
        """Looks up a scroll by locator, or starts a new one from the query."""
        if not locator:
            return _Scroll(self._select(xoql), 0)
        with self._state_lock:
            scroll = self._scrolls.get(locator)
        if scroll is None:
            raise XoqlError(f"queryLocator '{locator}' is unknown or expired")
        return scroll

    def _remember(self, rows: list[Record], offset: int) -> str:
        """Stores the scroll position under a fresh locator (re-asking the same locator is safe)."""
        locator = secrets.token_hex(12)
        with self._state_lock:
            self._scrolls[locator] = _Scroll(rows, offset)
        return locator


def _api_ok(data: Mapping[str, Any]) -> Response:
    """The 销售易 success envelope (`code` is a string)."""
    return json_response({"code": "200", "msg": None, "data": dict(data)})


def _api_error(code: str, msg: str) -> Response:
    """A 销售易 application error: HTTP 200 with a non-200 string code."""
    return json_response({"code": code, "msg": msg, "data": None})


def _oauth_error(error: str, description: str, status: int) -> Response:
    """An OAuth2 error answer from the token endpoint."""
    return json_response({"error": error, "error_description": description}, status=status)
