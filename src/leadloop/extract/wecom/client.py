"""HTTP details of the 企业微信 API: access token, errcode handling, cursor paging.

WeCom answers errors with HTTP 200 and a non-zero `errcode`; settings.ERROR_CODES says what
each code means. Secrets travel in query strings (`corpsecret`, `access_token`), so no URL is
ever put into a message or log line: errors name the path only.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import requests
from dlt.common.configuration import configspec
from dlt.common.typing import TSecretStrValue

from leadloop.extract.common.config import SourceSettings, describe_settings
from leadloop.extract.common.http import (
    RetriesExhaustedError,
    RetryingSession,
    SourceClient,
    TransientError,
    json_body,
)
from leadloop.extract.common.token import Token, TokenCache
from leadloop.extract.wecom import settings

logger = logging.getLogger(__name__)

SOURCE_NAME = "wecom"
CREDENTIAL_KEYS = ("corp_id", "corp_secret")
CHINA_TZ = ZoneInfo("Asia/Shanghai")
Record = dict[str, Any]


class WecomError(RuntimeError):
    """Any failure talking to 企业微信; the message says what to fix."""


class WecomSettingsError(WecomError):
    """WeCom refused the configured corp ID or secret, or the secret may not call an API."""


class WecomApiError(WecomError):
    """An answer the client does not retry (unknown errcode, unexpected HTTP status)."""

    def __init__(self, message: str, errcode: int | None = None) -> None:
        super().__init__(message)
        self.errcode = errcode


@configspec
class WecomSettings(SourceSettings):
    """The `[sources.wecom]` settings, as dlt config resolves them; credentials may still be missing."""

    __source__: ClassVar[str] = SOURCE_NAME

    base_url: str = settings.DEFAULT_BASE_URL
    corp_id: str | None = None
    corp_secret: TSecretStrValue | None = None
    page_size: int = settings.CONTACTS_PAGE_MAX
    contact_way_page_size: int = settings.CONTACT_WAYS_PAGE_MAX
    contact_ways_since: str = settings.CONTACT_WAYS_EARLIEST

    def check(self) -> None:
        """Raises MissingSettingError / ValueError naming the setting, before any request is sent."""
        self.require(CREDENTIAL_KEYS)
        self.check_between("page_size", self.page_size, 1, settings.CONTACTS_PAGE_MAX)
        self.check_between(
            "contact_way_page_size", self.contact_way_page_size, 1, settings.CONTACT_WAYS_PAGE_MAX
        )
        self.contact_ways_start()
        super().check()

    def contact_ways_start(self) -> int:
        """`contact_ways_since` (a China-time date) as unix seconds."""
        try:
            day = date.fromisoformat(str(self.contact_ways_since))
        except ValueError:
            raise ValueError(
                "wecom: SOURCES__WECOM__CONTACT_WAYS_SINCE must be a date like 2021-07-10,"
                f" got {self.contact_ways_since!r}"
            ) from None
        return int(datetime(day.year, day.month, day.day, tzinfo=CHINA_TZ).timestamp())


@dataclass(frozen=True)
class PageFailure:
    """A page that failed for good (retries exhausted): the request and what went wrong."""

    path: str
    request: Mapping[str, Any]
    error: str


@dataclass(frozen=True)
class Page:
    """The wire records of one answer, and the failure that cut the read short, if any."""

    records: list[Any]
    failure: PageFailure | None = None


def action_for(errcode: int) -> str:
    """What to do with an errcode, from settings.ERROR_CODES ("ok", or "fail" when unknown)."""
    if errcode == settings.OK_CODE:
        return "ok"
    known = settings.ERROR_CODES.get(errcode)
    return known.action if known else "fail"


def _errcode(body: Any) -> int:
    """The integer errcode of an answer; TransientError when the answer has none (malformed)."""
    if not isinstance(body, Mapping):
        raise TransientError("answer is not a JSON object")
    try:
        return int(body["errcode"])
    except (KeyError, TypeError, ValueError):
        raise TransientError("answer has no integer errcode") from None


class WecomClient(SourceClient):
    """Talks to one corp: one cached access token, refreshed once when WeCom rejects it."""

    config: WecomSettings

    def __init__(self, config: WecomSettings, session: RetryingSession | None = None) -> None:
        super().__init__(config, session)
        self._tokens = TokenCache(self._fetch_token)

    # -- transport -------------------------------------------------------------------------------

    def _exchange(
        self,
        method: str,
        path: str,
        params: Mapping[str, str],
        body: Mapping[str, Any] | None,
        expect: tuple[str, type] | None,
    ) -> tuple[int, Mapping[str, Any]]:
        """One try: (errcode, answer). Retryable answers and malformed pages raise TransientError."""
        url = self.config.base_url.rstrip("/") + path
        try:
            response = self._http.send(method, url, params=dict(params), json=body)
        except requests.Timeout:
            raise TransientError(f"{method} {path}: timed out") from None
        except requests.ConnectionError:
            raise TransientError(f"{method} {path}: connection failed") from None
        except requests.RequestException as exc:  # bad URL and the like: never echo it (secrets)
            raise WecomError(
                f"wecom: cannot send {method} {path} ({type(exc).__name__}); check SOURCES__WECOM__BASE_URL"
            ) from None
        if response.status_code != 200:
            raise WecomApiError(
                f"wecom: {method} {path} answered HTTP {response.status_code}; check SOURCES__WECOM__BASE_URL"
                f" ({self.config.base_url})"
            )
        answer = json_body(response)
        if answer is None:
            raise TransientError(f"{method} {path}: answer is not valid JSON")
        code = _errcode(answer)
        if action_for(code) == settings.RETRY:
            raise TransientError(f"{method} {path}: errcode {code} ({answer.get('errmsg', '')})")
        if code == settings.OK_CODE and expect is not None:
            key, kind = expect
            if not isinstance(answer.get(key), kind):
                raise TransientError(f"{method} {path}: malformed answer, no {kind.__name__} '{key}'")
        return code, answer

    def _fetch_token(self) -> Token:
        """GET gettoken with corpid + corpsecret; a refusal becomes one error naming the setting."""
        self.config.check()
        params = {"corpid": str(self.config.corp_id), "corpsecret": str(self.config.corp_secret)}
        attempt = partial(self._exchange, "GET", settings.TOKEN_PATH, params, None, ("access_token", str))
        code, answer = self._http.retrying(attempt, what=f"wecom GET {settings.TOKEN_PATH}")
        if code != settings.OK_CODE:
            raise self._error(settings.TOKEN_PATH, code, answer)
        expires_in = answer.get("expires_in")
        return Token(str(answer["access_token"]), float(expires_in) if expires_in is not None else None)

    def call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        expect: tuple[str, type] | None = None,
    ) -> Mapping[str, Any]:
        """Calls an API with the access token; on 40014/42001 fetches a new token and retries once.

        Raises RetriesExhaustedError when retryable failures outlast the policy.
        """
        for refreshed in (False, True):
            token = self._tokens.get()
            attempt = partial(self._exchange, method, path, {"access_token": token}, body, expect)
            code, answer = self._http.retrying(attempt, what=f"wecom {method} {path}")
            action = action_for(code)
            if action == "ok":
                return answer
            if action == settings.REAUTH and not refreshed:
                logger.info("wecom: access token rejected (errcode %s); fetching a new one", code)
                self._tokens.invalidate()
                continue
            raise self._error(path, code, answer, refreshed=refreshed)
        raise AssertionError("unreachable")

    def _error(
        self, path: str, code: int, answer: Mapping[str, Any], *, refreshed: bool = False
    ) -> WecomError:
        """The error for an answer the client does not retry, naming the settings to fix."""
        known = settings.ERROR_CODES.get(code)
        errmsg = str(answer.get("errmsg") or "no errmsg")
        if known is not None and known.action == settings.SETTINGS:
            return WecomSettingsError(
                f"wecom: {path} answered errcode {code} ({known.meaning}): {errmsg}. Check"
                f" {describe_settings(SOURCE_NAME, known.settings)}. {known.hint}."
            )
        meaning = known.meaning if known else "not handled by leadloop"
        hint = ""
        if known is not None and known.action == settings.REAUTH and refreshed:
            hint = (
                " A freshly issued token was rejected too: check SOURCES__WECOM__BASE_URL and that"
                " SOURCES__WECOM__CORP_ID and SOURCES__WECOM__CORP_SECRET belong to the same corp."
            )
        return WecomApiError(f"wecom: {path} answered errcode {code} ({meaning}): {errmsg}.{hint}", code)

    # -- endpoints -------------------------------------------------------------------------------

    def follow_users(self) -> list[str]:
        """Staff userids configured for customer contact (get_follow_user_list)."""
        answer = self.call("GET", settings.FOLLOW_USER_LIST_PATH, expect=("follow_user", list))
        return [str(userid) for userid in answer["follow_user"]]

    def contact_pages(self) -> Iterator[Page]:
        """Every external contact × follow info, page by page, for batches of ≤100 staff.

        A page that fails for good ends its batch with a Page carrying the failure (the cursor
        chain is broken); the other batches are still read.
        """
        users = self.follow_users()
        for start in range(0, len(users), settings.USERID_LIST_MAX):
            yield from self._contact_batch(users[start : start + settings.USERID_LIST_MAX])

    def _contact_batch(self, userids: Sequence[str]) -> Iterator[Page]:
        """The pages of one batch of staff, following next_cursor until it is empty."""
        cursor, seen = "", set()
        while True:
            body = {"userid_list": list(userids), "cursor": cursor, "limit": self.config.page_size}
            try:
                answer = self.call(
                    "POST", settings.BATCH_GET_BY_USER_PATH, body, expect=("external_contact_list", list)
                )
            except RetriesExhaustedError as exc:
                yield Page([], PageFailure(settings.BATCH_GET_BY_USER_PATH, body, str(exc)))
                return
            yield Page(list(answer["external_contact_list"]))
            cursor = _next_cursor(answer, seen, settings.BATCH_GET_BY_USER_PATH)
            if not cursor:
                return

    def corp_tag_pages(self) -> Iterator[Page]:
        """All corp tags as one page of {"group": …, "tag": …} items (groups × tags)."""
        body: dict[str, Any] = {}
        try:
            answer = self.call("POST", settings.CORP_TAG_LIST_PATH, body, expect=("tag_group", list))
        except RetriesExhaustedError as exc:
            yield Page([], PageFailure(settings.CORP_TAG_LIST_PATH, body, str(exc)))
            return
        yield Page(list(_group_tags(answer["tag_group"])))

    def contact_way_pages(self, now: float | None = None) -> Iterator[Page]:
        """Every channel code ("contact me" way) created since contact_ways_since, with its details.

        list_contact_way filters on creation time, so the range is walked in windows of at most
        settings.CONTACT_WAY_WINDOW_DAYS; each listed config_id is read with get_contact_way.
        """
        end = int(time.time() if now is None else now)
        step = int(timedelta(days=settings.CONTACT_WAY_WINDOW_DAYS).total_seconds())
        for window_start in range(self.config.contact_ways_start(), end + 1, step):
            yield from self._contact_way_window(window_start, min(window_start + step - 1, end))

    def _contact_way_window(self, start: int, end: int) -> Iterator[Page]:
        """The contact ways created in [start, end], one page per list_contact_way answer."""
        cursor, seen = "", set()
        while True:
            body = {
                "start_time": start,
                "end_time": end,
                "cursor": cursor,
                "limit": self.config.contact_way_page_size,
            }
            try:
                answer = self.call("POST", settings.LIST_CONTACT_WAY_PATH, body, expect=("contact_way", list))
            except RetriesExhaustedError as exc:
                yield Page([], PageFailure(settings.LIST_CONTACT_WAY_PATH, body, str(exc)))
                return
            yield self._contact_way_details(answer["contact_way"])
            cursor = _next_cursor(answer, seen, settings.LIST_CONTACT_WAY_PATH)
            if not cursor:
                return

    def _contact_way_details(self, listed: Sequence[Any]) -> Page:
        """get_contact_way for each listed config_id; one that fails for good is the page's failure."""
        records: list[Any] = []
        failure: PageFailure | None = None
        for item in listed:
            config_id = item.get("config_id") if isinstance(item, Mapping) else None
            if not config_id:
                records.append(item)  # let validation quarantine it with its raw form
                continue
            body = {"config_id": config_id}
            try:
                answer = self.call(
                    "POST", settings.GET_CONTACT_WAY_PATH, body, expect=("contact_way", Mapping)
                )
            except RetriesExhaustedError as exc:
                failure = PageFailure(settings.GET_CONTACT_WAY_PATH, body, str(exc))
                continue
            records.append(answer["contact_way"])
        return Page(records, failure)


def _next_cursor(answer: Mapping[str, Any], seen: set[str], path: str) -> str:
    """The answer's next_cursor, "" after the last page; a cursor that comes back would loop forever."""
    cursor = str(answer.get("next_cursor") or "")
    if cursor and cursor in seen:
        raise WecomApiError(f"wecom: {path} returned the same next_cursor twice")
    seen.add(cursor)
    return cursor


def _group_tags(groups: Sequence[Any]) -> Iterator[Any]:
    """Flattens tag groups into {"group": group without its tags, "tag": tag} items."""
    for group in groups:
        if not isinstance(group, Mapping) or not isinstance(group.get("tag"), list):
            yield {"group": group, "tag": None}
            continue
        header = {key: value for key, value in group.items() if key != "tag"}
        for tag in group["tag"]:
            yield {"group": header, "tag": tag}


@dataclass
class SharedPages:
    """Reads a page stream once and replays it to every reader, e.g. two tables fed by one API.

    `complete` is True once the stream has ended and no page carried a failure. A failure of the
    producer itself (wrong secret, unknown errcode) is re-raised to every reader.
    """

    produce: Callable[[], Iterator[Page]]
    _pages: list[Page] = field(default_factory=list)
    _source: Iterator[Page] | None = None
    _done: bool = False
    _error: BaseException | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __iter__(self) -> Iterator[Page]:
        """Yields every page, reading the next one from the API only when no reader has yet."""
        index = 0
        while True:
            page = self._page_at(index)
            if page is None:
                return
            index += 1
            yield page

    def _page_at(self, index: int) -> Page | None:
        """The page at `index`, fetching it if needed; None at the end of the stream."""
        with self._lock:
            if self._error is not None:
                raise self._error
            if index < len(self._pages):
                return self._pages[index]
            if self._done:
                return None
            if self._source is None:
                self._source = self.produce()
            try:
                page = next(self._source)
            except StopIteration:
                self._done = True
                return None
            except BaseException as exc:
                self._error = exc
                raise
            self._pages.append(page)
            return page

    @property
    def complete(self) -> bool:
        """True when every page was read and none failed for good."""
        return self._done and self._error is None and all(page.failure is None for page in self._pages)


def failure_payload(failure: PageFailure, run_at: datetime) -> dict[str, Any]:
    """The raw form of a failed page for the quarantine table (the request, never the token)."""
    return {
        "path": failure.path,
        "request": json.loads(json.dumps(failure.request, default=str)),
        "error": failure.error,
        "run_at": run_at.isoformat(),
    }
