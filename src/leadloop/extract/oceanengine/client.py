"""HTTP details of the 巨量引擎 API: Access-Token header, token refresh, report paging, answer codes."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from functools import partial
from typing import Any, ClassVar

from dlt.common.configuration import configspec
from dlt.common.typing import TSecretStrValue

from leadloop.extract.common.config import (
    MissingSettingError,
    SourceSettings,
    describe_settings,
    require_settings,
)
from leadloop.extract.common.http import RetryingSession, SourceClient, TransientError, json_body
from leadloop.extract.common.reports import business_today, parse_day
from leadloop.extract.common.token import Token, TokenCache
from leadloop.extract.oceanengine import settings
from leadloop.extract.oceanengine.tokens import TokenFile

logger = logging.getLogger(__name__)

SOURCE_NAME = "oceanengine"
REFRESH_KEYS = ("refresh_token", "app_id", "secret")


class OceanengineError(RuntimeError):
    """Any failure talking to 巨量引擎; the message says what to fix."""


class OceanengineAuthError(OceanengineError):
    """The access token was refused and could not be renewed with the configured settings."""


class OceanengineApiError(OceanengineError):
    """An answer with a code the client does not retry."""

    def __init__(self, message: str, code: int | None) -> None:
        super().__init__(message)
        self.code = code


def parse_advertiser_ids(value: Any) -> tuple[int, ...]:
    """Advertiser ids from a list, a number, or text such as `1,2` or `[1, 2]` (env vars)."""
    try:
        if isinstance(value, str):
            text = value.strip()
            items: Sequence[Any] = json.loads(text) if text.startswith("[") else text.split(",")
        else:
            items = value if isinstance(value, (list, tuple)) else [value]
        return tuple(int(str(item).strip()) for item in items if str(item).strip())
    except (TypeError, ValueError):
        raise ValueError(
            f"{SOURCE_NAME}: {describe_settings(SOURCE_NAME, ['advertiser_ids'])} must be a list of"
            f" numeric advertiser ids, e.g. [1760000001], got {value!r}"
        ) from None


@configspec
class OceanengineSettings(SourceSettings):
    """The `[sources.oceanengine]` settings, as dlt config resolves them; credentials may still be missing."""

    __source__: ClassVar[str] = SOURCE_NAME

    base_url: str = settings.DEFAULT_BASE_URL
    advertiser_ids: Any | None = None  # a list, or text such as `1,2` (see parse_advertiser_ids)
    access_token: TSecretStrValue | None = None
    refresh_token: TSecretStrValue | None = None
    app_id: str | None = None
    secret: TSecretStrValue | None = None
    start_date: str = settings.DEFAULT_START_DATE
    lookback_days: int = settings.DEFAULT_LOOKBACK_DAYS
    end_date: str | None = None
    page_size: int = settings.MAX_PAGE_SIZE
    token_file: str | None = None

    def check(self) -> None:
        """Raises naming each missing or wrong setting, before any request is sent."""
        self.require(["advertiser_ids"])
        if not parse_advertiser_ids(self.advertiser_ids):
            require_settings(SOURCE_NAME, {"advertiser_ids": None})
        if not self.access_token and not self.can_refresh():
            raise MissingSettingError(
                f"{SOURCE_NAME}: missing setting {describe_settings(SOURCE_NAME, ['access_token'])};"
                f" or set {describe_settings(SOURCE_NAME, REFRESH_KEYS)} to obtain one"
            )
        if self.start_day() > self.end_day():
            raise ValueError(
                f"{SOURCE_NAME}: SOURCES__OCEANENGINE__START_DATE ({self.start_date}) is after the end date"
                f" ({self.end_day()})"
            )
        if self.lookback_days < 0:
            raise ValueError(
                f"{SOURCE_NAME}: SOURCES__OCEANENGINE__LOOKBACK_DAYS must be >= 0, got {self.lookback_days}"
            )
        self.check_between("page_size", self.page_size, 1, settings.MAX_PAGE_SIZE)
        super().check()

    def can_refresh(self) -> bool:
        """True when refresh_token, app_id and secret are all set."""
        return all((self.refresh_token, self.app_id, self.secret))

    def advertisers(self) -> tuple[int, ...]:
        """The configured advertiser ids, in order, without repeats."""
        return tuple(dict.fromkeys(parse_advertiser_ids(self.advertiser_ids)))

    def start_day(self) -> date:
        """The first report day ever read."""
        return parse_day(SOURCE_NAME, self.start_date, "start_date")

    def end_day(self) -> date:
        """The last report day to read: end_date, or today in China."""
        if self.end_date:
            return parse_day(SOURCE_NAME, self.end_date, "end_date")
        return business_today(settings.BUSINESS_TIME_ZONE)


def report_query(advertiser_id: int, start: date, end: date, page: int, page_size: int) -> dict[str, str]:
    """Query parameters of one report page: arrays as JSON text, days as YYYY-MM-DD."""
    query = {
        "advertiser_id": str(advertiser_id),
        "dimensions": json.dumps(list(settings.DIMENSIONS)),
        "metrics": json.dumps(list(settings.METRICS)),
        "start_time": start.isoformat(),
        "end_time": end.isoformat(),
        "page": str(page),
        "page_size": str(page_size),
    }
    query.update({key: json.dumps(value) for key, value in settings.EXTRA_QUERY.items()})
    return query


def action_for(code: int | None) -> str:
    """What to do with an envelope code, from settings.ERROR_CODES (unknown codes fail)."""
    if code == settings.OK_CODE:
        return "ok"
    return settings.ERROR_CODES.get(code, (settings.FAIL, "", ()))[0] if code is not None else settings.FAIL


def _code(body: Any) -> int | None:
    """The envelope's integer `code`, or None when there is none."""
    if not isinstance(body, Mapping):
        return None
    try:
        return int(body["code"])
    except (KeyError, TypeError, ValueError):
        return None


def _message(body: Any) -> str:
    """The server's own words from an envelope."""
    if isinstance(body, Mapping) and body.get("message"):
        return str(body["message"])
    return "no message"


def report_data(body: Any) -> Mapping[str, Any]:
    """The `data` of a report answer; raises TransientError when the page is malformed."""
    data = body.get("data") if isinstance(body, Mapping) else None
    rows = data.get("rows") if isinstance(data, Mapping) else None
    info = data.get("page_info") if isinstance(data, Mapping) else None
    if not isinstance(rows, list) or not isinstance(info, Mapping):
        raise TransientError("malformed report page: data.rows or data.page_info is missing")
    try:
        int(info["total_page"])
    except (KeyError, TypeError, ValueError):
        raise TransientError("malformed report page: data.page_info.total_page is not a number") from None
    assert isinstance(data, Mapping)
    return data


class OceanengineClient(SourceClient):
    """Talks to 巨量引擎 for one set of credentials; renews the access token when it is refused."""

    config: OceanengineSettings

    def __init__(self, config: OceanengineSettings, session: RetryingSession | None = None) -> None:
        super().__init__(config, session)
        self._tokens = TokenCache(self._next_token, leeway_seconds=300.0)
        self._store = TokenFile(config.token_file, config.refresh_token) if config.token_file else None
        self._access_token = config.access_token
        self._refresh_token = config.refresh_token
        self._checked = False

    def ensure_configured(self) -> None:
        """Checks the settings once, at first use (the source itself is built without them)."""
        if self._checked:
            return
        self.config.check()
        saved = self._store.load() if self._store else None
        if saved:  # tokens renewed by an earlier run supersede the configured ones
            self._access_token, self._refresh_token = saved.access_token, saved.refresh_token
        self._checked = True

    # -- tokens ----------------------------------------------------------------------------------

    def _next_token(self) -> Token:
        """The configured access token the first time, a refreshed one after that."""
        if self._access_token:
            token, self._access_token = self._access_token, None
            return Token(token)
        return self._refresh()

    def _refresh(self) -> Token:
        """POSTs the refresh token for a new access token (and a new refresh token)."""
        if not (self._refresh_token and self.config.app_id and self.config.secret):
            raise OceanengineAuthError(
                f"{SOURCE_NAME}: the access token was refused and cannot be renewed. Set a valid"
                f" {describe_settings(SOURCE_NAME, ['access_token'])}, or set"
                f" {describe_settings(SOURCE_NAME, REFRESH_KEYS)} so it can be refreshed."
            )
        url = self.config.base_url.rstrip("/") + settings.REFRESH_TOKEN_PATH
        payload = {
            "app_id": _app_id(self.config.app_id),
            "secret": self.config.secret,
            "refresh_token": self._refresh_token,
        }
        code, body = self._http.retrying(
            partial(self._send_refresh, url, payload), what=f"{SOURCE_NAME} token refresh"
        )
        data = body.get("data") if isinstance(body, Mapping) else None
        token = data.get("access_token") if isinstance(data, Mapping) else None
        if code != settings.OK_CODE or not token:
            raise self._refresh_error(code, body)
        assert isinstance(data, Mapping)
        self._refresh_token = str(data.get("refresh_token") or self._refresh_token)
        if self._store:
            self._store.save(str(token), self._refresh_token)
        else:
            logger.warning(
                "%s: access token refreshed; if the platform rotated the refresh token, set"
                " SOURCES__OCEANENGINE__TOKEN_FILE so the next run can use the new one",
                SOURCE_NAME,
            )
        expires_in = data.get("expires_in")
        return Token(str(token), float(expires_in) if expires_in is not None else None)

    def _send_refresh(self, url: str, payload: Mapping[str, Any]) -> tuple[int | None, Any]:
        """One refresh POST: (code, body); codes marked "retry" raise TransientError."""
        response = self._http.send("POST", url, json=dict(payload))
        body = json_body(response)
        code = _code(body)
        if action_for(code) == settings.RETRY:
            raise TransientError(f"code {code} from {url}: {_message(body)}")
        return code, body

    def _refresh_error(self, code: int | None, body: Any) -> OceanengineAuthError:
        """The error for a refused refresh, naming the settings most likely wrong."""
        keys = settings.ERROR_CODES.get(code, ("", "", ()))[2] if code is not None else ()
        if not keys or not set(keys) <= set(REFRESH_KEYS):
            keys = REFRESH_KEYS
        return OceanengineAuthError(
            f"{SOURCE_NAME}: the access token was refused and the refresh at {settings.REFRESH_TOKEN_PATH}"
            f" failed (code {code}: {_message(body)}). Check {describe_settings(SOURCE_NAME, keys)};"
            " a refresh token is single-use, so re-authorise the app if it was already used."
        )

    # -- reports ---------------------------------------------------------------------------------

    def report_pages(self, advertiser_id: int, start: date, end: date) -> Iterator[list[Any]]:
        """Yields the raw rows of a report window page by page, from page 1 to total_page."""
        page = 1
        while True:
            query = report_query(advertiser_id, start, end, page, self.config.page_size)
            data = self._get_report(query)
            rows = list(data["rows"])
            if rows:
                yield rows
            if not rows or page >= int(data["page_info"]["total_page"]):
                return
            page += 1

    def _get_report(self, query: Mapping[str, str]) -> Mapping[str, Any]:
        """GETs one report page; on a token rejection renews the token once and retries."""
        url = self.config.base_url.rstrip("/") + settings.REPORT_PATH
        for renewed in (False, True):
            token = self._tokens.get()
            code, body = self._http.retrying(
                partial(self._get_once, url, query, token), what=f"{SOURCE_NAME} GET {settings.REPORT_PATH}"
            )
            action = action_for(code)
            if action == "ok":
                return report_data(body)
            if action == settings.REAUTH and not renewed:
                logger.info("%s: access token refused (code %s); renewing it", SOURCE_NAME, code)
                self._tokens.invalidate()
                continue
            raise self._api_error(code, body, query, renewed)
        raise AssertionError("unreachable")

    def _get_once(self, url: str, query: Mapping[str, str], token: str) -> tuple[int | None, Any]:
        """One GET: (code, body); throttling and malformed answers raise TransientError."""
        response = self._http.send(
            "GET", url, params=dict(query), headers={settings.ACCESS_TOKEN_HEADER: token}
        )
        body = json_body(response)
        code = _code(body)
        if code is None:
            if response.status_code != 200:
                raise OceanengineApiError(
                    f"{SOURCE_NAME}: GET {settings.REPORT_PATH} answered HTTP {response.status_code}"
                    f" without an envelope; check {describe_settings(SOURCE_NAME, ['base_url'])}",
                    None,
                )
            raise TransientError(f"malformed answer from {url}: not a JSON envelope with a code")
        if action_for(code) == settings.RETRY:
            raise TransientError(f"code {code} from {url}: {_message(body)}")
        if code == settings.OK_CODE:
            report_data(body)  # a malformed page is retried like a dropped connection
        return code, body

    def _api_error(
        self, code: int | None, body: Any, query: Mapping[str, str], renewed: bool
    ) -> OceanengineError:
        """The error for a failed report call, with the server's message and the settings to fix."""
        action, meaning, keys = settings.ERROR_CODES.get(code, (settings.FAIL, "unknown answer code", ()))
        where = (
            f"advertiser {query.get('advertiser_id')}, {query.get('start_time')}..{query.get('end_time')},"
            f" page {query.get('page')}"
        )
        fix = f" Check {describe_settings(SOURCE_NAME, keys)}." if keys else ""
        if action == settings.REAUTH and renewed:
            return OceanengineAuthError(
                f"{SOURCE_NAME}: a freshly renewed access token was refused too (code {code}: {_message(body)})."
                f" Check {describe_settings(SOURCE_NAME, ['access_token', *REFRESH_KEYS])}"
                " and that the app is authorised for the advertisers."
            )
        return OceanengineApiError(
            f"{SOURCE_NAME}: {settings.REPORT_PATH} answered code {code} ({meaning}): {_message(body)}"
            f" [{where}].{fix}",
            code,
        )


def _app_id(value: str | None) -> int | str | None:
    """app_id as a JSON number when it is numeric (the platform's ids are numbers; unconfirmed)."""
    text = str(value).strip() if value is not None else None
    return int(text) if text and text.isdigit() else text
