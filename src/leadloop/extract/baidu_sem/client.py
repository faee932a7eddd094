"""HTTP details of the 百度营销 report API: header auth, token refresh, startRow paging, failure codes."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any, ClassVar

import requests
from dlt.common.configuration import configspec
from dlt.common.typing import TSecretStrValue

from leadloop.extract.baidu_sem import settings
from leadloop.extract.common.config import MissingSettingError, SourceSettings, describe_settings
from leadloop.extract.common.http import RetryingSession, SourceClient, TransientError, json_body
from leadloop.extract.common.token import Token, TokenCache

logger = logging.getLogger(__name__)

SOURCE_NAME = "baidu_sem"
REFRESH_KEYS = ("refresh_token", "app_id", "secret_key")
OK = "ok"


class BaiduSemError(RuntimeError):
    """Any failure talking to 百度营销; the message says what to fix."""


class BaiduSemAuthError(BaiduSemError):
    """The API or the token refresh refused the configured credentials."""


class BaiduSemApiError(BaiduSemError):
    """A request failed with codes the client does not retry."""

    def __init__(self, message: str, codes: Sequence[int]) -> None:
        super().__init__(message)
        self.codes = tuple(codes)


@configspec
class BaiduSemSettings(SourceSettings):
    """The `[sources.baidu_sem]` settings, as dlt config resolves them; credentials may still be missing."""

    __source__: ClassVar[str] = SOURCE_NAME

    base_url: str = settings.DEFAULT_BASE_URL
    refresh_url: str = settings.DEFAULT_REFRESH_URL
    username: str | None = None
    access_token: TSecretStrValue | None = None
    refresh_token: TSecretStrValue | None = None
    app_id: str | None = None
    secret_key: TSecretStrValue | None = None
    user_ids: list[int] | None = None
    start_date: str = settings.DEFAULT_START_DATE
    end_date: str | None = None
    lookback_days: int = settings.DEFAULT_LOOKBACK_DAYS
    row_count: int = settings.DEFAULT_ROW_COUNT

    @property
    def can_refresh(self) -> bool:
        """True when every setting a token refresh needs is present."""
        return all(getattr(self, key) for key in REFRESH_KEYS)

    def accounts(self) -> tuple[int, ...]:
        """The configured account ids (user_ids) as numbers."""
        return tuple(int(user_id) for user_id in self.user_ids or ())

    def check(self) -> None:
        """Raises MissingSettingError / ValueError naming the setting, before any request is sent."""
        self.require(["username"])
        if not self.access_token and not self.refresh_token:
            raise MissingSettingError(
                f"baidu_sem: missing setting {describe_settings(SOURCE_NAME, ['access_token'])};"
                f" or set {describe_settings(SOURCE_NAME, list(REFRESH_KEYS))} so leadloop can fetch one"
            )
        self.check_between("row_count", self.row_count, 1, settings.MAX_ROW_COUNT)
        super().check()


@dataclass(frozen=True)
class Failure:
    """One entry of header.failures."""

    code: int | None
    message: str
    position: str

    @classmethod
    def parse(cls, raw: Any) -> Failure:
        """Reads {code, message, position}, tolerating missing or oddly typed parts."""
        if not isinstance(raw, Mapping):
            return cls(None, str(raw), "")
        try:
            code = int(raw.get("code"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            code = None
        return cls(code, str(raw.get("message") or ""), str(raw.get("position") or ""))

    def describe(self) -> str:
        """`code 8206 (meaning): message [position]` for error texts."""
        known = settings.FAILURE_CODES.get(self.code) if self.code is not None else None
        meaning = f" ({known.meaning})" if known else ""
        where = f" [position {self.position}]" if self.position else ""
        return f"code {self.code}{meaning}: {self.message or 'no message'}{where}"


def failure_action(failure: Failure, status: int) -> str:
    """What to do about one failure: its code's action; unknown codes retry on status 3, else fail."""
    known = settings.FAILURE_CODES.get(failure.code) if failure.code is not None else None
    if known is not None:
        return known.action
    return settings.RETRY if status == settings.STATUS_SYSTEM_ERROR else settings.FAIL


def answer_action(status: int, failures: Sequence[Failure]) -> str:
    """The action for a whole answer: the most serious of its failures' actions.

    A partly failed report (status 1) is treated like a failed one: loading it would lose the
    failed accounts' rows without a trace.
    """
    if status == settings.STATUS_OK:
        return OK
    if not failures:
        return settings.RETRY if status == settings.STATUS_SYSTEM_ERROR else settings.FAIL
    actions = {failure_action(f, status) for f in failures}
    for action in (settings.REAUTH, settings.AUTH, settings.FAIL):
        if action in actions:
            return action
    return settings.RETRY


def report_block(answer: Any) -> Mapping[str, Any] | None:
    """`body.data[0]` of an answer if it has a rows list and a totalRowCount, else None.

    An empty `data` list reads as an empty report.
    """
    body = answer.get("body") if isinstance(answer, Mapping) else None
    data = body.get("data") if isinstance(body, Mapping) else None
    if isinstance(data, list) and not data:
        return {"rows": [], "totalRowCount": 0}
    block = data[0] if isinstance(data, list) else None
    if not isinstance(block, Mapping) or not isinstance(block.get("rows"), list):
        return None
    total = block.get("totalRowCount")
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        return None
    return block


def _snippet(response: requests.Response) -> str:
    """The first 120 characters of a body, for error texts."""
    return response.text[:120].replace("\n", " ")


class BaiduSemClient(SourceClient):
    """Talks to 百度营销 for one API user; refreshes the access token once when it is rejected."""

    config: BaiduSemSettings

    def __init__(self, config: BaiduSemSettings, session: RetryingSession | None = None) -> None:
        super().__init__(config, session)
        self._tokens = TokenCache(self._fetch_token)
        self._configured_token_used = False
        self._refresh_token = config.refresh_token

    # -- auth ------------------------------------------------------------------------------------

    def _fetch_token(self) -> Token:
        """The configured access token first; after that (or without one) a refreshed token."""
        self.config.check()
        if self.config.access_token and not self._configured_token_used:
            self._configured_token_used = True
            return Token(self.config.access_token)
        return self._refresh()

    def _refresh(self) -> Token:
        """POSTs the refresh token; a refusal becomes one BaiduSemAuthError naming what to fix."""
        self.config.require(REFRESH_KEYS)
        payload: dict[str, Any] = {
            "appId": self.config.app_id,
            "refreshToken": self._refresh_token,
            "secretKey": self.config.secret_key,
        }
        if self.config.accounts():
            payload["userId"] = self.config.accounts()[0]
        response, body = self._http.retrying(
            partial(self._post_json, self.config.refresh_url, payload), what="baidu_sem token refresh"
        )
        data = body.get("data") if isinstance(body, Mapping) else None
        code = body.get("code") if isinstance(body, Mapping) else None
        token = data.get("accessToken") if isinstance(data, Mapping) else None
        if response.status_code != 200 or code != settings.REFRESH_OK_CODE or not token:
            message = body.get("message") if isinstance(body, Mapping) else _snippet(response)
            raise BaiduSemAuthError(
                f"baidu_sem: the token refresh at {self.config.refresh_url} refused the credentials"
                f" (HTTP {response.status_code}, code {code}: {message or 'no message'}). Check"
                f" {describe_settings(SOURCE_NAME, list(REFRESH_KEYS))}."
            )
        assert isinstance(data, Mapping)
        if data.get("refreshToken"):
            self._refresh_token = str(data["refreshToken"])
        expires_in = data.get("expiresIn")
        logger.info("baidu_sem: access token refreshed")
        return Token(str(token), float(expires_in) if isinstance(expires_in, (int, float)) else None)

    def _post_json(self, url: str, payload: Mapping[str, Any]) -> tuple[requests.Response, Any]:
        """One JSON POST; a 200 answer that is not JSON counts as a transient hiccup."""
        response = self._http.send("POST", url, json=dict(payload))
        body = json_body(response)
        if response.status_code == 200 and body is None:
            raise TransientError(f"answer from {url} is not JSON: {_snippet(response)!r}")
        return response, body

    # -- reports ---------------------------------------------------------------------------------

    def report_pages(
        self, report_type: int, columns: Sequence[str], start: date, end: date
    ) -> Iterator[list[Any]]:
        """Yields the rows of one report over start..end page by page (startRow/rowCount paging)."""
        start_row = 0
        while True:
            body = {
                "reportType": report_type,
                "userIds": list(self.config.accounts()),
                "startDate": start.isoformat(),
                "endDate": end.isoformat(),
                "timeUnit": settings.TIME_UNIT,
                "columns": list(columns),
                "sorts": [],
                "filters": [],
                "startRow": start_row,
                "rowCount": self.config.row_count,
                "needSum": False,
            }
            block = report_block(self._post_report(body))
            assert block is not None  # _post_report only returns well-formed pages
            rows = list(block["rows"])
            if rows:
                yield rows
            # Advance by what arrived (equal to rowCount on every full page), never past a row.
            start_row += len(rows)
            if not rows or start_row >= block["totalRowCount"]:
                return

    def _post_report(self, body: Mapping[str, Any]) -> Mapping[str, Any]:
        """POSTs one report request; on a token rejection refreshes once and retries."""
        url = self.config.base_url.rstrip("/") + settings.REPORT_PATH
        for refreshed in (False, True):
            token = self._tokens.get()
            payload = {"header": {"userName": self.config.username, "accessToken": token}, "body": body}
            action, answer, failures = self._http.retrying(
                partial(self._post_report_once, url, payload), what="baidu_sem getReportData"
            )
            if action == OK:
                return answer
            if action == settings.REAUTH and not refreshed:
                if not self.config.can_refresh:
                    raise self._token_rejected_error(failures)
                logger.info("baidu_sem: access token rejected; refreshing it")
                self._tokens.invalidate()
                continue
            raise self._report_error(action, answer, failures, body, refreshed)
        raise AssertionError("unreachable")

    def _post_report_once(
        self, url: str, payload: Mapping[str, Any]
    ) -> tuple[str, Mapping[str, Any], list[Failure]]:
        """One POST: (action, answer, failures); transient failures and malformed pages raise."""
        response, answer = self._post_json(url, payload)
        if response.status_code != 200:
            raise BaiduSemApiError(
                f"baidu_sem: HTTP {response.status_code} from {url}: {_snippet(response)!r}."
                " Check SOURCES__BAIDU_SEM__BASE_URL.",
                [],
            )
        header = answer.get("header") if isinstance(answer, Mapping) else None
        status = header.get("status") if isinstance(header, Mapping) else None
        if status not in settings.STATUS_MEANINGS or isinstance(status, bool):
            raise TransientError(f"malformed answer from {url}: no header.status ({_snippet(response)!r})")
        assert isinstance(header, Mapping)
        failures = [Failure.parse(raw) for raw in header.get("failures") or []]
        action = answer_action(status, failures)
        if action == settings.RETRY:
            detail = "; ".join(f.describe() for f in failures) or settings.STATUS_MEANINGS[status]
            raise TransientError(f"getReportData status {status}: {detail}")
        if action == OK and report_block(answer) is None:
            raise TransientError(f"malformed page from {url}: body.data[0].rows / totalRowCount missing")
        return action, answer, failures

    def _token_rejected_error(self, failures: Sequence[Failure]) -> BaiduSemAuthError:
        """The access token was refused and there is no way to renew it."""
        detail = "; ".join(f.describe() for f in failures)
        return BaiduSemAuthError(
            f"baidu_sem: the API rejected the access token ({detail}). Set a fresh"
            f" {describe_settings(SOURCE_NAME, ['access_token'])}, or set"
            f" {describe_settings(SOURCE_NAME, list(REFRESH_KEYS))} so leadloop can renew it."
        )

    def _report_error(
        self,
        action: str,
        answer: Mapping[str, Any],
        failures: Sequence[Failure],
        body: Mapping[str, Any],
        refreshed: bool,
    ) -> BaiduSemError:
        """Builds the error for a failed report request, with the server's words and the fix."""
        status = answer.get("header", {}).get("status")
        detail = "; ".join(f.describe() for f in failures) or "no failure details"
        request = (
            f"reportType {body.get('reportType')}, {body.get('startDate')}..{body.get('endDate')},"
            f" startRow {body.get('startRow')}"
        )
        if action == settings.REAUTH and refreshed:
            return BaiduSemAuthError(
                f"baidu_sem: a freshly refreshed access token was rejected too ({detail}). Check that"
                f" {describe_settings(SOURCE_NAME, ['username'])} is the user the app was authorised"
                " for."
            )
        if action == settings.AUTH:
            keys = sorted(
                {
                    key
                    for f in failures
                    if f.code in settings.FAILURE_CODES
                    for key in settings.FAILURE_CODES[f.code].settings
                }
            ) or ["username"]
            return BaiduSemAuthError(
                f"baidu_sem: getReportData refused the request ({detail}). Check"
                f" {describe_settings(SOURCE_NAME, keys)}."
            )
        meaning = settings.STATUS_MEANINGS.get(status, str(status))
        return BaiduSemApiError(
            f"baidu_sem: getReportData {meaning} (status {status}): {detail}. Request: {request}",
            [f.code for f in failures if f.code is not None],
        )
