"""HTTP details of the 销售易 API: OAuth password grant, xoqlScroll paging, answer codes."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from functools import partial
from typing import Any, ClassVar

import requests
from dlt.common.configuration import configspec
from dlt.common.typing import TSecretStrValue

from leadloop.extract.common.config import SourceSettings, describe_settings
from leadloop.extract.common.http import RetryingSession, SourceClient, TransientError, json_body
from leadloop.extract.common.token import Token, TokenCache
from leadloop.extract.neocrm import settings

logger = logging.getLogger(__name__)

SOURCE_NAME = "neocrm"
CREDENTIAL_KEYS = ("client_id", "client_secret", "username", "password")
_AUTH_ERRORS = {
    "invalid_client": ("client_id", "client_secret"),
    "invalid_grant": ("username", "password"),
}


class NeocrmError(RuntimeError):
    """Any failure talking to 销售易; the message says what to fix."""


class NeocrmAuthError(NeocrmError):
    """The token endpoint refused the configured credentials."""


class NeocrmApiError(NeocrmError):
    """A query answered with a code the client does not retry."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@configspec
class NeocrmSettings(SourceSettings):
    """The `[sources.neocrm]` settings, as dlt config resolves them; credentials may still be missing."""

    __source__: ClassVar[str] = SOURCE_NAME

    base_url: str = settings.DEFAULT_BASE_URL
    token_url: str = settings.DEFAULT_TOKEN_URL
    client_id: str | None = None
    client_secret: TSecretStrValue | None = None
    username: str | None = None
    password: TSecretStrValue | None = None
    redirect_uri: str | None = None
    batch_count: int = settings.SCROLL_BATCH_COUNT
    custom_fields: dict[str, dict[str, str]] | None = None

    def check(self) -> None:
        """Raises MissingSettingError naming each missing credential, before any request is sent."""
        self.require(CREDENTIAL_KEYS)
        self.check_between("batch_count", self.batch_count, 1, settings.SCROLL_BATCH_COUNT)
        super().check()


def build_xoql(
    object_name: str, fields: Mapping[str, str] | list[str], *, cursor: str, since: int | None
) -> str:
    """`select … from <object> [where <cursor> >= <since>] order by <cursor>`.

    `>=` (not `>`) so rows sharing the last run's final millisecond are read again; dlt's
    incremental drops the ones already loaded by primary key. No `since` means a full read.
    """
    query = f"select {', '.join(fields)} from {object_name}"
    if since is not None:
        query += f" where {cursor} >= {int(since)}"
    return f"{query} order by {cursor}"


def answer_code(response: requests.Response, body: Any) -> str:
    """The code of an answer: the envelope's string `code`, else the HTTP status."""
    if isinstance(body, Mapping) and body.get("code") is not None:
        return str(body["code"])
    return str(response.status_code)


def action_for(code: str) -> str:
    """What to do with an answer code, from settings.ERROR_CODES (unknown codes fail)."""
    if code == settings.OK_CODE:
        return "ok"
    return settings.ERROR_CODES.get(code, (settings.FAIL, ""))[0]


def _message(body: Any) -> str:
    """The server's own words from an envelope or OAuth error body."""
    if isinstance(body, Mapping):
        for key in ("msg", "error_description", "message", "error"):
            if body.get(key):
                return str(body[key])
    return "no message"


def next_locator(body: Mapping[str, Any]) -> str | None:
    """The scroll cursor of an answer, looked up in `data` first, then at the top level."""
    data = body.get("data")
    for holder in (data if isinstance(data, Mapping) else {}, body):
        for key in settings.QUERY_LOCATOR_KEYS:
            if holder.get(key):
                return str(holder[key])
    return None


class NeocrmClient(SourceClient):
    """Talks to one 销售易 tenant: one token per client, refreshed once when the API rejects it."""

    config: NeocrmSettings

    def __init__(self, config: NeocrmSettings, session: RetryingSession | None = None) -> None:
        super().__init__(config, session)
        self._tokens = TokenCache(self._fetch_token)

    # -- auth ------------------------------------------------------------------------------------

    def _fetch_token(self) -> Token:
        """OAuth2 password grant; a refusal becomes one NeocrmAuthError naming what to fix."""
        self.config.check()
        form = {
            "grant_type": "password",
            "client_id": self.config.client_id,
            "client_secret": self.config.client_secret,
            "username": self.config.username,
            "password": self.config.password,
            "redirect_uri": self.config.redirect_uri or "",
        }
        response = self._http.post(self.config.token_url, data=form)
        body = json_body(response)
        if response.status_code in (400, 401, 403) or not isinstance(body, Mapping):
            raise self._auth_error(response, body)
        token = body.get("access_token")
        if not token:
            raise self._auth_error(response, body)
        expires_in = body.get("expires_in")
        return Token(str(token), float(expires_in) if expires_in is not None else None)

    def _auth_error(self, response: requests.Response, body: Any) -> NeocrmAuthError:
        """Builds the credential error, naming the settings most likely wrong."""
        error = body.get("error") if isinstance(body, Mapping) else None
        keys = _AUTH_ERRORS.get(str(error), CREDENTIAL_KEYS)
        return NeocrmAuthError(
            f"neocrm: the token endpoint {self.config.token_url} refused the credentials"
            f" (HTTP {response.status_code} {error or ''}: {_message(body)}). Check"
            f" {describe_settings(SOURCE_NAME, keys)}. The password is the user's password followed"
            " by the security token."
        )

    # -- queries ---------------------------------------------------------------------------------

    def scroll(self, xoql: str) -> Iterator[list[dict[str, Any]]]:
        """Yields the records of a query batch by batch, following queryLocator until it is empty."""
        locator: str | None = None
        seen: set[str] = set()
        while True:
            form = {"xoql": xoql, "batchCount": str(self.config.batch_count)}
            if locator:
                form["queryLocator"] = locator
            body = self._post_query(settings.XOQL_SCROLL_PATH, form)
            data = body.get("data") or {}
            records = data.get("records") or []
            if records:
                yield records
            locator = next_locator(body)
            if not locator or not records:
                return
            if locator in seen:
                raise NeocrmError(
                    f"neocrm: xoqlScroll returned the same queryLocator twice for: {xoql[:200]}"
                )
            seen.add(locator)

    def query(self, xoql: str) -> list[dict[str, Any]]:
        """Runs a plain xoql query (the API caps it at about 3,000 rows; prefer `scroll`)."""
        body = self._post_query(settings.XOQL_PATH, {"xoql": xoql})
        return list((body.get("data") or {}).get("records") or [])

    def _post_query(self, path: str, form: Mapping[str, str]) -> Mapping[str, Any]:
        """POSTs a query with the bearer token; on a token rejection refreshes once and retries."""
        url = self.config.base_url.rstrip("/") + path
        for refreshed in (False, True):
            token = self._tokens.get()
            code, body = self._http.retrying(
                partial(self._post_once, url, form, token), what=f"neocrm POST {path}"
            )
            action = action_for(code)
            if action == "ok" and isinstance(body, Mapping):
                return body
            if action == settings.REAUTH and not refreshed:
                logger.info("neocrm: token rejected (code %s); fetching a new one", code)
                self._tokens.invalidate()
                continue
            raise self._api_error(path, code, body, form.get("xoql", ""), refreshed)
        raise AssertionError("unreachable")

    def _post_once(self, url: str, form: Mapping[str, str], token: str) -> tuple[str, Any]:
        """One POST: returns (answer code, body); codes marked "retry" raise TransientError."""
        response = self._http.send("POST", url, data=dict(form), headers={"Authorization": f"Bearer {token}"})
        body = json_body(response)
        if body is None and response.status_code == 200:
            # A 200 whose body does not parse was cut off on the way: ask again, never read it as empty.
            raise TransientError(f"answer from {url} is not JSON (cut off?): {response.text[:80]!r}")
        code = answer_code(response, body)
        if action_for(code) == settings.RETRY:
            raise TransientError(f"code {code} from {url}: {_message(body)}")
        return code, body

    def _api_error(self, path: str, code: str, body: Any, xoql: str, refreshed: bool) -> NeocrmApiError:
        """Builds the error for a failed query with the server's message and the fix."""
        meaning = settings.ERROR_CODES.get(code, (settings.FAIL, "unknown answer code"))[1]
        hint = ""
        if code == "401" and refreshed:
            hint = (
                " A freshly issued token was rejected too: check that the user may use the API and that"
                " SOURCES__NEOCRM__BASE_URL is the tenant's API host (instance_uri of the token answer)."
            )
        return NeocrmApiError(
            f"neocrm: {path} answered code {code} ({meaning}): {_message(body)}.{hint} Query: {xoql[:300]}",
            code,
        )
