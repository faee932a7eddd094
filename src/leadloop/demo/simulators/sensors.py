"""Local stand-in for the 神策 Sensors Data SQL API (`POST /api/sql/query`).

Serves the `events` table as newline-delimited JSON, one object per row, in the wire format of
`src/leadloop/extract/sensors/README.md`. It understands the SQL subset leadloop sends:

    select * | col, … from events
    [where <col> <op> '<text>'|<number> [and …]] [order by <col> [asc|desc]] [limit <n>]

Conditions on `time` and `date` are answered from a time index (bisect), so a window query costs
what it returns, not the size of the table. With `select *` a row's null properties are left out
of its line; with a column list every listed column is written (null when absent).

Test controls: `set_rows` (the served rows, e.g. `leadloop.demo.sensors_records.render` at a new instant),
`add_rows` (events received just now, served from the next query on),
`add_raw_line` (a line served verbatim, e.g. malformed JSON), `expire_tokens` (the API token is
reset in the console: every later query is refused), `rows_served`, plus the base class's faults.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

import orjson

from leadloop.demo.sensors_records import local_ms
from leadloop.demo.simulators.base import Request, Response, SimulatorBase, json_response
from leadloop.demo.simulators.query_tokens import (
    COMPARISONS,
    Condition,
    Token,
    TokenCursor,
    simple_token_pattern,
    sort_key,
)
from leadloop.extract.sensors import settings

EVENTS_OBJECT = "events"  # what `set_drift` calls the event rows

QUERY_PATH = settings.QUERY_PATH
TABLE = "events"
NDJSON_HEADERS = {"Content-Type": "application/x-ndjson;charset=UTF-8"}
DAY_MS = 86_400_000
Row = dict[str, Any]

_TOKEN_RE = simple_token_pattern(r"[A-Za-z_$][A-Za-z0-9_$]*")


class SqlError(ValueError):
    """A query the simulator cannot parse or run; its text goes back in the error answer."""


@dataclass(frozen=True)
class Query:
    """The parts of a statement the simulator understands."""

    columns: tuple[str, ...] | None  # None: select *
    table: str
    conditions: tuple[Condition, ...] = ()
    order_by: str | None = None
    descending: bool = False
    limit: int | None = None


class _Parser(TokenCursor):
    """Recursive-descent parser of the Sensors SQL subset."""

    pattern = _TOKEN_RE
    near_text = "SQL syntax error near: {near!r}"
    error_type = SqlError
    ended_early_text = "SQL ended early, expected {expected}"
    unexpected_text = "SQL syntax error: expected {expected}, got {got!r}"
    trailing_text = "SQL syntax error: unexpected {got!r}"
    literal_text = "SQL syntax error: expected a number or 'text' after {field} {op}"

    def tokenize(self, text: str) -> list[Token]:
        """A trailing `;` ends the statement."""
        return super().tokenize(text.rstrip(";"))

    def parse(self) -> Query:
        """Parses a whole statement."""
        self.take("ident", "select")
        columns: list[str] | None = None
        if self.peek() == "*":
            self.take("punct")
        else:
            columns = self.names()
        self.take("ident", "from")
        table = self.take("ident")
        conditions = self.where(self.condition)
        [(order_by, descending)] = self.order_by() or [(None, False)]
        limit = self.limit()
        self.end()
        return Query(
            tuple(columns) if columns else None, table, tuple(conditions), order_by, descending, limit
        )


def parse_sql(text: str) -> Query:
    """Parses the SQL subset leadloop sends to Sensors."""
    return _Parser(text).parse()


def _time_bounds(condition: Condition) -> tuple[int, int]:
    """The [low, high) epoch-ms range a condition on `time` or `date` allows."""
    value = str(condition.value)
    try:
        if condition.field == "date":
            day = datetime.strptime(value[:10], "%Y-%m-%d")
            low = local_ms(f"{day:%Y-%m-%d}")
            low_after, high_incl = local_ms(f"{day + timedelta(days=1):%Y-%m-%d}"), None
        else:
            low = local_ms(value)
            low_after, high_incl = low + 1, low + 1
    except ValueError as exc:
        raise SqlError(f"cannot compare {condition.field} with {value!r}") from exc
    everything = (-(2**62), 2**62)
    bounds = {
        ">=": (low, everything[1]),
        ">": (low_after, everything[1]),
        "<": (everything[0], low),
        "<=": (everything[0], high_incl if high_incl is not None else low_after),
        "=": (low, high_incl if high_incl is not None else low_after),
    }
    if condition.op not in bounds:
        raise SqlError(f"operator {condition.op} is not supported on {condition.field}")
    return bounds[condition.op]


@runtime_checkable
class RowsByTime(Protocol):
    """Rows already in served order that render themselves when read (e.g.
    `leadloop.demo.sensors_records.ServedEvents`): served without being held or encoded up front."""

    times: Sequence[int]

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Row]: ...

    def row(self, n: int) -> Row: ...


@dataclass(frozen=True)
class _Indexed:
    """The served rows sorted by time, each with its pre-encoded `select *` line (`lines`), or rows
    that render on demand (`lazy`: lines are encoded per answer)."""

    times: Sequence[int]
    rows: list[Row | None]  # None: a raw line served verbatim
    lines: list[bytes]
    lazy: RowsByTime | None = None

    def row(self, n: int) -> Row | None:
        """The n-th row by time (None for a raw line)."""
        return self.lazy.row(n) if self.lazy is not None else self.rows[n]

    def line(self, n: int, row: Row | None) -> bytes:
        """The n-th `select *` line, `row` being that row as just read."""
        if self.lazy is not None and row is not None:
            return _encode(row)
        return self.lines[n]


def _encode(row: Row) -> bytes:
    """A row as an NDJSON line, null properties left out."""
    return orjson.dumps({key: value for key, value in row.items() if value is not None}) + b"\n"


def _index(rows: Iterable[Row], raw_lines: Sequence[tuple[int, bytes]]) -> _Indexed:
    """Sorts rows and raw lines by time and pre-encodes every line; rows that render themselves in time
    order (`RowsByTime`) are served as they are, while there are no raw lines to merge."""
    if isinstance(rows, RowsByTime) and not raw_lines:
        return _Indexed(rows.times, [], [], rows)
    entries: list[tuple[int, int, Row | None, bytes]] = []
    for n, row in enumerate(rows):
        entries.append((local_ms(str(row["time"])), n, row, _encode(row)))
    for n, (moment, line) in enumerate(raw_lines):
        entries.append((moment, -1 - n, None, line if line.endswith(b"\n") else line + b"\n"))
    entries.sort(key=lambda entry: (entry[0], entry[1]))
    return _Indexed([e[0] for e in entries], [e[2] for e in entries], [e[3] for e in entries])


class SensorsSimulator(SimulatorBase):
    """Serves the Sensors SQL API over in-memory event rows for one or more projects."""

    def __init__(
        self,
        rows: Iterable[Row],
        *,
        token: str,
        project: str = settings.DEFAULT_PROJECT,
        port: int = 0,
    ) -> None:
        super().__init__(port)
        self.token = token
        self.project = project
        self._raw_lines: list[tuple[int, bytes]] = []
        self._rows: list[Row] | RowsByTime = rows if isinstance(rows, RowsByTime) else list(rows)
        self._index = _index(self._rows, self._raw_lines)
        self._count_lock = threading.Lock()
        self.rows_served = 0
        self.queries: list[str] = []
        self.add_route("POST", QUERY_PATH, self._query)

    # -- test controls ---------------------------------------------------------------------------

    def set_rows(self, rows: Iterable[Row]) -> None:
        """Replaces the served rows from the next query on (raw lines added before are kept); rows that
        render themselves (`RowsByTime`) are kept as they are."""
        self._rows = rows if isinstance(rows, RowsByTime) else list(rows)
        self._index = _index(self._rows, self._raw_lines)

    def _held_rows(self) -> list[Row]:
        """The served rows as a list, rendering rows that render themselves once (before a test adds to them)."""
        if isinstance(self._rows, RowsByTime):
            self._rows = list(self._rows)
        return self._rows

    def add_rows(self, rows: Iterable[Row]) -> None:
        """Serves `rows` too from the next query on, as events Sensors has just received (a live
        visitor): merged into the time index without re-encoding the rows already served."""
        if isinstance(self._rows, RowsByTime):
            self._index = _index(self._held_rows(), self._raw_lines)
        index = self._index
        times, kept, lines = list(index.times), list(index.rows), list(index.lines)
        for row in rows:
            self._rows.append(row)
            moment = local_ms(str(row["time"]))
            at = bisect.bisect_right(times, moment)
            times.insert(at, moment)
            kept.insert(at, row)
            lines.insert(at, _encode(row))
        self._index = _Indexed(times, kept, lines)

    def add_raw_line(self, time_text: str, line: bytes) -> None:
        """Serves `line` verbatim, as if it were a row whose `time` is `time_text`."""
        self._raw_lines.append((local_ms(time_text), line))
        self._index = _index(self._held_rows(), self._raw_lines)

    def add_raw_lines(self, lines: Iterable[tuple[str, bytes]]) -> None:
        """Serves many lines verbatim at once (see `add_raw_line`), indexing the rows once."""
        self._raw_lines.extend((local_ms(time_text), line) for time_text, line in lines)
        self._index = _index(self._held_rows(), self._raw_lines)

    def expire_tokens(self) -> None:
        """Resets the API token (Sensors tokens do not expire; an admin resets them): later queries fail."""
        self.token = f"reset-{self.token}"

    def reset_counters(self) -> None:
        """Forgets rows served and queries seen (between runs of one test)."""
        with self._count_lock:
            self.rows_served = 0
            self.queries.clear()
            self.requests_served.clear()

    def answer(self, sql: str) -> bytes:
        """The NDJSON body a query gets (without counting it), e.g. to replay what a run read."""
        return b"".join(self._run(parse_sql(sql)))

    # -- handler ---------------------------------------------------------------------------------

    def _query(self, request: Request) -> Response:
        """POST /api/sql/query?token=…&project=… with form q=<sql>&format=json → NDJSON rows."""
        if request.query.get("token") != self.token:
            return json_response(
                {"error": "Invalid token, please check your API secret.", "code": 40301}, 403
            )
        project = request.query.get("project") or settings.DEFAULT_PROJECT
        if project != self.project:
            return json_response({"error": f"project '{project}' does not exist", "code": 40001}, 400)
        form = request.form()
        if form.get("format", "json") != "json":
            return json_response({"error": "this simulator only answers format=json"}, 400)
        sql = form.get("q", "")
        try:
            lines = self._run(parse_sql(sql))
        except SqlError as exc:
            return json_response({"error": str(exc)}, 400)
        with self._count_lock:
            self.rows_served += len(lines)
            self.queries.append(sql)
        return Response(200, b"".join(lines), NDJSON_HEADERS)

    def _run(self, query: Query) -> list[bytes]:
        """The answer lines of a parsed query."""
        if query.table != TABLE:
            raise SqlError(f"table '{query.table}' does not exist (this simulator serves '{TABLE}')")
        index = self._index
        low, high = 0, len(index.times)
        other: list[Condition] = []
        for condition in query.conditions:
            if condition.field in ("time", "date"):
                lo_ms, hi_ms = _time_bounds(condition)
                low = max(low, bisect.bisect_left(index.times, lo_ms))
                high = min(high, bisect.bisect_left(index.times, hi_ms))
            else:
                other.append(condition)
        picked = list(range(low, high)) if not other else [
            n for n in range(low, high) if _matches(index.row(n), other)]
        if query.order_by not in (None, "time"):
            order_by = query.order_by
            picked.sort(key=lambda n: sort_key((index.row(n) or {}).get(order_by)))
        if query.descending:
            picked.reverse()
        if query.limit is not None:
            picked = picked[: query.limit]
        rows = [index.row(n) for n in picked]
        drifted = self.drifted(EVENTS_OBJECT, rows)
        if drifted is not rows:  # a drift is set: the rows are encoded again as they now look
            return [index.line(n, None) if row is None else _encode_drifted(row, query.columns)
                    for n, row in zip(picked, drifted, strict=True)]
        if query.columns is None:
            return [index.line(n, row) for n, row in zip(picked, rows, strict=True)]
        return [_project(index, n, row, query.columns) for n, row in zip(picked, rows, strict=True)]


def _matches(row: Mapping[str, Any] | None, conditions: Sequence[Condition]) -> bool:
    """SQL-like test of the non-time conditions; raw lines only pass when there are none."""
    if not conditions:
        return True
    if row is None:
        return False
    for condition in conditions:
        actual = row.get(condition.field)
        try:
            if actual is None or not COMPARISONS[condition.op](actual, condition.value):
                return False
        except TypeError:
            return False
    return True


def _encode_drifted(row: Mapping[str, Any], columns: Sequence[str] | None) -> bytes:
    """A drifted row as its NDJSON line: every property (null ones left out), or the selected columns."""
    if columns is None:
        return _encode(row)
    return orjson.dumps({column: row.get(column) for column in columns}) + b"\n"


def _project(index: _Indexed, n: int, row: Row | None, columns: Sequence[str]) -> bytes:
    """One row restricted to `columns` (every listed column written, null when absent)."""
    if row is None:
        return index.lines[n]
    return orjson.dumps({column: row.get(column) for column in columns}) + b"\n"
