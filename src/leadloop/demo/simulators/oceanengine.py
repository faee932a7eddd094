"""Local stand-in for the 巨量引擎 (Ocean Engine) Marketing API: custom reports and token refresh.

Serves `GET /open_api/v3.0/report/custom/get/` and `POST /open_api/oauth2/refresh_token/` in the
wire format of `src/leadloop/extract/oceanengine/README.md`, over report rows the caller supplies (see
`leadloop.demo.oceanengine_records.render`). Errors come back as HTTP 200 with a non-zero `code`.
"""

from __future__ import annotations

import json
import math
import secrets
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, runtime_checkable

from leadloop.demo.simulators.base import AccessTokens, Request, Response, SimulatorBase, json_response
from leadloop.extract.oceanengine import settings

REPORT_PATH = settings.REPORT_PATH
REFRESH_TOKEN_PATH = settings.REFRESH_TOKEN_PATH
REPORT_OBJECT = "report"  # what `set_drift` calls the report rows ({"dimensions", "metrics"})
MAX_SPAN_DAYS = 30  # end_time - start_time, in days
MAX_PAGE_SIZE = 1000
CODE_TOO_FREQUENT, CODE_TOKEN_EXPIRED, CODE_TOKEN_INVALID = 40100, 40102, 40103
CODE_BAD_PARAMETER, CODE_NO_PERMISSION = 40001, 40002
CODE_REFRESH_TOKEN_INVALID, CODE_APP_SECRET_WRONG = 40105, 40108

Row = dict[str, Any]


class ReportQueryError(ValueError):
    """A report request the platform would refuse; the text goes back in `message`."""


@dataclass(frozen=True)
class ReportQuery:
    """The parts of a report request the simulator acts on."""

    advertiser_id: int
    dimensions: tuple[str, ...]
    metrics: tuple[str, ...]
    start: date
    end: date
    page: int
    page_size: int


def _json_list(query: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A query parameter holding a JSON array of names."""
    try:
        value = json.loads(query.get(name, ""))
    except ValueError:
        raise ReportQueryError(f"{name} must be a JSON array") from None
    if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
        raise ReportQueryError(f"{name} must be a non-empty JSON array of names")
    return tuple(value)


def _int(query: Mapping[str, str], name: str, default: int | None = None) -> int:
    """A whole-number query parameter."""
    text = query.get(name)
    if text is None and default is not None:
        return default
    try:
        return int(text or "")
    except ValueError:
        raise ReportQueryError(f"{name} must be an integer") from None


def _day(query: Mapping[str, str], name: str) -> date:
    """A YYYY-MM-DD query parameter."""
    try:
        return date.fromisoformat(query.get(name, ""))
    except ValueError:
        raise ReportQueryError(f"{name} must be a day YYYY-MM-DD") from None


def parse_report_query(query: Mapping[str, str]) -> ReportQuery:
    """Validates a report request as the platform does: known fields, a window of at most 30 days."""
    parsed = ReportQuery(
        advertiser_id=_int(query, "advertiser_id"),
        dimensions=_json_list(query, "dimensions"),
        metrics=_json_list(query, "metrics"),
        start=_day(query, "start_time"),
        end=_day(query, "end_time"),
        page=_int(query, "page", 1),
        page_size=_int(query, "page_size", 10),
    )
    unknown = sorted(set(parsed.dimensions) - set(settings.DIMENSIONS)) + sorted(
        set(parsed.metrics) - set(settings.METRICS)
    )
    if unknown:
        raise ReportQueryError(f"unknown dimensions or metrics: {', '.join(unknown)}")
    if parsed.start > parsed.end:
        raise ReportQueryError("start_time must not be after end_time")
    if (parsed.end - parsed.start).days > MAX_SPAN_DAYS:
        raise ReportQueryError(f"start_time and end_time must be at most {MAX_SPAN_DAYS} days apart")
    if parsed.page < 1 or not 1 <= parsed.page_size <= MAX_PAGE_SIZE:
        raise ReportQueryError(f"page must be >= 1 and page_size between 1 and {MAX_PAGE_SIZE}")
    return parsed


def _day_of(row: Mapping[str, Any]) -> str:
    """A row's stat_time_day, or '' when the row is not shaped like a report row."""
    dimensions = row.get("dimensions") if isinstance(row, Mapping) else None
    value = dimensions.get("stat_time_day") if isinstance(dimensions, Mapping) else None
    return str(value)[:10] if value is not None else ""


def _project(row: Any, query: ReportQuery) -> Any:
    """Keeps the requested dimensions and metrics of a well-formed row; odd rows pass as they are."""
    if not isinstance(row, Mapping):
        return row
    dimensions, metrics = row.get("dimensions"), row.get("metrics")
    if not isinstance(dimensions, Mapping) or not isinstance(metrics, Mapping):
        return row
    return {
        "dimensions": {k: v for k, v in dimensions.items() if k in query.dimensions},
        "metrics": {k: v for k, v in metrics.items() if k in query.metrics},
    }


def _totals(rows: list[Any], metrics: tuple[str, ...]) -> dict[str, str]:
    """total_metrics: the sum of each metric over all matching rows (unparsable values skipped)."""
    totals = dict.fromkeys(metrics, Decimal(0))
    for row in rows:
        values = row.get("metrics") if isinstance(row, Mapping) else None
        values = values if isinstance(values, Mapping) else {}
        for name in metrics:
            try:
                totals[name] += Decimal(str(values.get(name, "0")))
            except InvalidOperation:
                continue
    return {
        name: f"{value:.2f}" if name == "stat_cost" else str(int(value)) for name, value in totals.items()
    }


@runtime_checkable
class RowsByDay(Protocol):
    """An advertiser's report made a day at a time when asked (e.g.
    `leadloop.demo.oceanengine_records.PromotionReport`): served without holding every row."""

    def __iter__(self) -> Iterator[Row]: ...

    def between(self, first: str, last: str) -> list[Row]: ...


class OceanengineSimulator(SimulatorBase):
    """Serves 巨量引擎 custom reports for some advertisers, with expiring and rotating tokens."""

    def __init__(
        self,
        reports: Mapping[int, list[Row] | RowsByDay],
        *,
        app_id: str,
        secret: str,
        access_token: str,
        refresh_token: str,
        port: int = 0,
        token_ttl_seconds: int = 86_400,
    ) -> None:
        super().__init__(port)
        self.reports = reports
        self._app = (str(app_id), secret)
        self.token_ttl_seconds = token_ttl_seconds
        self._state_lock = threading.Lock()
        self.tokens = AccessTokens(token_ttl_seconds, [access_token])  # expired: code 40102
        self._refresh_tokens = {refresh_token}
        self.rows_served = 0
        self.add_route("GET", REPORT_PATH, self._report)
        self.add_route("POST", REFRESH_TOKEN_PATH, self._refresh)

    # -- test controls ---------------------------------------------------------------------------

    def set_reports(self, reports: Mapping[int, list[Row] | RowsByDay]) -> None:
        """Replaces every advertiser's report rows from the next request on."""
        self.reports = reports

    @property
    def refresh_tokens(self) -> set[str]:
        """Refresh tokens still valid (each can be used once)."""
        with self._state_lock:
            return set(self._refresh_tokens)

    # -- handlers --------------------------------------------------------------------------------

    def _refresh(self, request: Request) -> Response:
        """Trades a refresh token (used once) for a new access token and a new refresh token."""
        try:
            body = request.json()
        except ValueError:
            return _error(CODE_BAD_PARAMETER, "request body must be JSON")
        if not isinstance(body, Mapping):
            return _error(CODE_BAD_PARAMETER, "request body must be a JSON object")
        if (str(body.get("app_id")), body.get("secret")) != self._app:
            return _error(CODE_APP_SECRET_WRONG, "app_id or secret is wrong")
        with self._state_lock:
            if body.get("refresh_token") not in self._refresh_tokens:
                return _error(CODE_REFRESH_TOKEN_INVALID, "refresh_token is invalid or has been used")
            self._refresh_tokens.discard(body["refresh_token"])
            access, refresh = self.tokens.issue(secrets.token_hex(20)), secrets.token_hex(20)
            self._refresh_tokens.add(refresh)
        return _ok(
            {
                "access_token": access,
                "expires_in": self.token_ttl_seconds,
                "refresh_token": refresh,
                "refresh_token_expires_in": 2_592_000,
            }
        )

    def _report(self, request: Request) -> Response:
        """One page of a custom report for one advertiser and a window of days."""
        if denied := self._check_token(request.header(settings.ACCESS_TOKEN_HEADER.lower())):
            return denied
        try:
            query = parse_report_query(request.query)
        except ReportQueryError as exc:
            return _error(CODE_BAD_PARAMETER, str(exc))
        if query.advertiser_id not in self.reports:
            return _error(CODE_NO_PERMISSION, f"no permission for advertiser {query.advertiser_id}")
        first, last = query.start.isoformat(), query.end.isoformat()
        report = self.reports[query.advertiser_id]
        if isinstance(report, RowsByDay):
            rows = report.between(first, last)
        else:
            rows = [row for row in report if first <= _day_of(row) <= last]
        offset = (query.page - 1) * query.page_size
        page = self.drifted(REPORT_OBJECT, [_project(row, query) for row in rows[offset : offset + query.page_size]])
        with self._state_lock:
            self.rows_served += len(page)
        page_info = {
            "page": query.page,
            "page_size": query.page_size,
            "total_number": len(rows),
            "total_page": math.ceil(len(rows) / query.page_size),
        }
        return _ok({"rows": page, "total_metrics": _totals(rows, query.metrics), "page_info": page_info})

    def _check_token(self, token: str) -> Response | None:
        """An error answer unless the Access-Token is known and unexpired."""
        if not token:
            return _error(40104, "Access-Token header is missing")
        state = self.tokens.state(token)
        if state == "unknown":
            return _error(CODE_TOKEN_INVALID, "access token is invalid")
        if state == "expired":
            return _error(CODE_TOKEN_EXPIRED, "access token has expired")
        return None


def _ok(data: Mapping[str, Any]) -> Response:
    """The success envelope."""
    return json_response({"code": 0, "message": "OK", "request_id": uuid.uuid4().hex, "data": dict(data)})


def _error(code: int, message: str) -> Response:
    """An application error: HTTP 200 with a non-zero code."""
    return json_response({"code": code, "message": message, "request_id": uuid.uuid4().hex, "data": {}})
