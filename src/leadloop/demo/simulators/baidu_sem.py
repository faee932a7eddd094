"""Local stand-in for the 百度营销 (Baidu search ads) report API and its token refresh.

Serves `getReportData` in the wire format of `src/leadloop/extract/baidu_sem/README.md`: a JSON body with
`header` {userName, accessToken} and `body` {reportType, userIds, startDate, endDate, timeUnit,
columns, startRow, rowCount, …}; answers `header.status` 0/1/2/3 with `failures` [{code,
message, position}] and pages by startRow / rowCount / totalRowCount. Failure codes come from
`leadloop.extract.baidu_sem.settings` (unconfirmed there). Rows are read on every request, so tests may
mutate the list in place or replace it with `set_rows` between runs.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Any, Protocol, runtime_checkable

from leadloop.demo.simulators.base import AccessTokens, Request, Response, SimulatorBase, json_response
from leadloop.extract.baidu_sem import settings

REPORT_PATH = settings.REPORT_PATH
REFRESH_PATH = "/oauth/refreshToken"
REPORT_OBJECT = "keyword_report"  # what `set_drift` calls the report rows
REFRESH_FAILED_CODE = 110  # the refresh endpoint's refusal code (unconfirmed)
DAILY_QUOTA = 1_000_000
REQUEST_COST = 2

Record = dict[str, Any]


class _Refusal(Exception):
    """A request the simulated API refuses: status, failure code, message and position."""

    def __init__(self, code: int, message: str, position: str, status: int = settings.STATUS_FAILED) -> None:
        super().__init__(message)
        self.code, self.message, self.position, self.status = code, message, position, status


@runtime_checkable
class RowsByDay(Protocol):
    """A report made a day at a time when asked (e.g. `leadloop.demo.baidu_sem_records.KeywordReport`):
    served without holding every row."""

    user_ids: set[int]

    def __iter__(self) -> Iterator[Record]: ...

    def between(self, start: str, end: str) -> list[Record]: ...


class BaiduSemSimulator(SimulatorBase):
    """Serves 百度营销 getReportData (keyword report) and /oauth/refreshToken over in-memory rows."""

    def __init__(
        self,
        rows: list[Record] | RowsByDay,
        *,
        username: str,
        access_token: str,
        refresh_token: str,
        app_id: str,
        secret_key: str,
        port: int = 0,
        token_ttl_seconds: int = 86_400,
        max_row_count: int = settings.MAX_ROW_COUNT,
    ) -> None:
        super().__init__(port)
        self.rows = rows
        self.username = username
        self._app = (app_id, secret_key, refresh_token)
        self.token_ttl_seconds = token_ttl_seconds
        self.max_row_count = max_row_count
        self.tokens = AccessTokens(token_ttl_seconds, [access_token])
        self._remaining_quota = DAILY_QUOTA
        self._state_lock = threading.Lock()
        self._window: tuple[tuple, list[Record], Any] | None = None  # (request key, its rows, the report)
        self.add_route("POST", REPORT_PATH, self._report)
        self.add_route("POST", REFRESH_PATH, self._refresh)

    # -- test controls ---------------------------------------------------------------------------

    def set_rows(self, rows: list[Record] | RowsByDay) -> None:
        """Replaces every report row served from the next request on (e.g. the world a day later)."""
        self.rows = rows

    @property
    def refresh_url(self) -> str:
        """Full URL of the token refresh endpoint on this simulator."""
        return f"{self.base_url}{REFRESH_PATH}"

    # -- handlers --------------------------------------------------------------------------------

    def _refresh(self, request: Request) -> Response:
        """Exchanges appId + secretKey + refreshToken for a new access token."""
        try:
            payload = request.json()
        except ValueError:
            payload = None
        app_id, secret_key, refresh_token = self._app
        if (
            not isinstance(payload, Mapping)
            or payload.get("appId") != app_id
            or payload.get("secretKey") != secret_key
            or payload.get("refreshToken") != refresh_token
        ):
            return json_response(
                {
                    "code": REFRESH_FAILED_CODE,
                    "message": "appId, secretKey or refreshToken invalid",
                    "data": None,
                }
            )
        token = self.tokens.issue(secrets.token_hex(16))
        data = {
            "accessToken": token,
            "refreshToken": refresh_token,
            "expiresIn": self.token_ttl_seconds,
            "refreshExpiresIn": 30 * 86_400,
            "userId": payload.get("userId"),
            "openId": "leadloop-demo-open-id",
        }
        return json_response({"code": 0, "message": "success", "data": data})

    def _report(self, request: Request) -> Response:
        """getReportData: checks the header, validates the body, answers one page of rows."""
        try:
            payload = request.json()
            if not isinstance(payload, Mapping):
                raise _Refusal(settings.BAD_REQUEST_CODE, "request must be a JSON object", "")
            self._check_header(payload.get("header"))
            body = payload.get("body")
            if not isinstance(body, Mapping):
                raise _Refusal(settings.BAD_REQUEST_CODE, "body is missing", "body")
            block = self._page(body)
        except _Refusal as refusal:
            return _answer(refusal.status, [_failure(refusal)], None, quota=self._charge())
        except ValueError:
            refusal = _Refusal(settings.BAD_REQUEST_CODE, "request is not valid JSON", "")
            return _answer(refusal.status, [_failure(refusal)], None, quota=self._charge())
        return _answer(settings.STATUS_OK, [], {"data": [block]}, quota=self._charge())

    # -- helpers ---------------------------------------------------------------------------------

    def _charge(self) -> int:
        """Takes one request's cost off the quota; returns what remains (header.rquota)."""
        with self._state_lock:
            self._remaining_quota = max(0, self._remaining_quota - REQUEST_COST)
            return self._remaining_quota

    def _check_header(self, header: Any) -> None:
        """A known, unexpired accessToken issued to this userName."""
        if not isinstance(header, Mapping):
            raise _Refusal(settings.BAD_REQUEST_CODE, "header is missing", "header")
        if not self.tokens.is_valid(str(header.get("accessToken") or "")):
            raise _Refusal(
                settings.TOKEN_EXPIRED_CODE, "accessToken is invalid or expired", "header.accessToken"
            )
        if header.get("userName") != self.username:
            raise _Refusal(settings.USERNAME_INVALID_CODE, "userName is invalid", "header.userName")

    def _page(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Validates a report request and cuts its page out of the matching rows."""
        if body.get("reportType") != settings.KEYWORD_REPORT_TYPE:
            raise _Refusal(
                settings.BAD_REQUEST_CODE, "reportType not served by the simulator", "body.reportType"
            )
        if body.get("timeUnit") != settings.TIME_UNIT:
            raise _Refusal(settings.BAD_REQUEST_CODE, "timeUnit must be DAY", "body.timeUnit")
        start, end = _day(body, "startDate"), _day(body, "endDate")
        if end < start:
            raise _Refusal(settings.BAD_REQUEST_CODE, "endDate is before startDate", "body.endDate")
        if (end - start).days + 1 > settings.MAX_RANGE_DAYS:
            raise _Refusal(settings.RANGE_TOO_LONG_CODE, "date range is too long", "body.endDate")
        columns = self._columns(body.get("columns"))
        start_row, row_count = _int(body, "startRow", 0, None), _int(body, "rowCount", 1, self.max_row_count)
        rows = self._matching(start.isoformat(), end.isoformat(), self._user_ids(body.get("userIds")))
        page = [
            {name: row[name] for name in columns if name in row}
            for row in rows[start_row : start_row + row_count]
        ]
        if start_row + row_count >= len(rows):
            self._window = None  # the last page: the window's rows are not held after it
        return {"rows": self.drifted(REPORT_OBJECT, page), "rowCount": len(page), "totalRowCount": len(rows)}

    def _columns(self, columns: Any) -> list[str]:
        """The requested columns, each one the keyword report knows."""
        if not isinstance(columns, list) or not columns:
            raise _Refusal(settings.BAD_REQUEST_CODE, "columns must be a non-empty list", "body.columns")
        for i, name in enumerate(columns):
            if name not in settings.REPORT_FIELDS:
                raise _Refusal(
                    settings.BAD_REQUEST_CODE, f"column {name!r} is not supported", f"body.columns[{i}]"
                )
        return list(columns)

    def _user_ids(self, user_ids: Any) -> set[int] | None:
        """The accounts asked for (None: every account of the user); unknown ones are refused."""
        if not user_ids:
            return None
        known = self.rows.user_ids if isinstance(self.rows, RowsByDay) else {
            row.get("userId") for row in self.rows if isinstance(row, Mapping)}
        for i, user_id in enumerate(user_ids):
            if user_id not in known:
                raise _Refusal(
                    settings.USER_ID_DENIED_CODE, f"no permission on userId {user_id}", f"body.userIds[{i}]"
                )
        return set(user_ids)

    def _matching(self, start: str, end: str, user_ids: set[int] | None) -> list[Record]:
        """Rows whose day falls in start..end (compared as text, as stored), in served order.

        A report made a day at a time keeps the rows of the last window asked for: a client pages through
        one window request after request, and making the whole window again for each page made a night's
        report time grow with the square of the demo's scale (90 s at 10x). A list of rows is read afresh
        on every request (tests change it in place)."""
        if isinstance(self.rows, RowsByDay):
            key = (id(self.rows), start, end, None if user_ids is None else frozenset(user_ids))
            window = self._window
            if window is None or window[0] != key or window[2] is not self.rows:
                window = (key, self._select(self.rows.between(start, end), start, end, user_ids), self.rows)
                self._window = window
            return window[1]
        return self._select(self.rows, start, end, user_ids)

    @staticmethod
    def _select(rows: Any, start: str, end: str, user_ids: set[int] | None) -> list[Record]:
        """The rows of `rows` whose day falls in start..end and whose account is asked for, in order."""
        return [
            row
            for row in rows
            if isinstance(row, Mapping)
            and isinstance(row.get("date"), str)
            and start <= row["date"] <= end
            and (user_ids is None or row.get("userId") in user_ids)
        ]


def _day(body: Mapping[str, Any], name: str) -> date:
    """A body date as a date, refusing anything that is not YYYY-MM-DD."""
    try:
        return date.fromisoformat(str(body.get(name)))
    except ValueError:
        raise _Refusal(settings.BAD_REQUEST_CODE, f"{name} must be YYYY-MM-DD", f"body.{name}") from None


def _int(body: Mapping[str, Any], name: str, low: int, high: int | None) -> int:
    """A body integer within [low, high]."""
    value = body.get(name)
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < low
        or (high is not None and value > high)
    ):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise _Refusal(settings.BAD_REQUEST_CODE, f"{name} must be an integer {bounds}", f"body.{name}")
    return value


def _failure(refusal: _Refusal) -> dict[str, Any]:
    """A header.failures entry."""
    return {"code": refusal.code, "message": refusal.message, "position": refusal.position}


def _answer(status: int, failures: Sequence[Mapping[str, Any]], body: Any, *, quota: int) -> Response:
    """The 百度营销 answer envelope (always HTTP 200)."""
    header = {
        "desc": "success" if status == settings.STATUS_OK else "failure",
        "failures": list(failures),
        "oprs": 1,
        "oprtime": 0,
        "quota": REQUEST_COST,
        "rquota": quota,
        "status": status,
    }
    return json_response({"header": header, "body": body if body is not None else {}})
