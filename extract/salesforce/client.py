"""HTTP details of the Salesforce REST API: OAuth token, queryAll paging, error answers."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import requests

from extract.common.config import describe_settings, require_settings
from extract.common.http import RetryingSession, RetryPolicy, TransientError
from extract.common.token import Token, TokenCache
from extract.salesforce import settings

logger = logging.getLogger(__name__)

SOURCE_NAME = "salesforce"
Record = dict[str, Any]


class SalesforceError(RuntimeError):
    """Any failure talking to Salesforce; the message says what to fix."""


class SalesforceAuthError(SalesforceError):
    """The token endpoint refused the configured credentials."""


class SalesforceApiError(SalesforceError):
    """A query answered with an error the client does not retry."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class SalesforceSettings:
    """Everything the client needs, as resolved by dlt config; credentials may still be missing."""

    login_url: str = settings.DEFAULT_LOGIN_URL
    client_id: str | None = None
    client_secret: str | None = None
    username: str | None = None
    password: str | None = None
    security_token: str | None = None
    api_version: str = settings.DEFAULT_API_VERSION
    batch_size: int = settings.MAX_BATCH_SIZE
    max_tries: int = 5
    backoff_seconds: float = 1.0
    request_timeout: float = 60.0

    @property
    def grant_type(self) -> str:
        """`password` when a user is configured, else `client_credentials` (the app's run-as user)."""
        return "password" if self.username or self.password else "client_credentials"

    def check(self) -> None:
        """Raises MissingSettingError naming each missing credential, before any request is sent."""
        keys = ["client_id", "client_secret"]
        if self.grant_type == "password":
            keys += ["username", "password"]
        require_settings(SOURCE_NAME, {key: getattr(self, key) for key in keys})
        if not settings.MIN_BATCH_SIZE <= self.batch_size <= settings.MAX_BATCH_SIZE:
            raise ValueError(
                f"salesforce: SOURCES__SALESFORCE__BATCH_SIZE must be between {settings.MIN_BATCH_SIZE}"
                f" and {settings.MAX_BATCH_SIZE}, got {self.batch_size}"
            )
        if self.max_tries < 1:
            raise ValueError(
                f"salesforce: SOURCES__SALESFORCE__MAX_TRIES must be at least 1, got {self.max_tries}"
            )

    def retry_policy(self) -> RetryPolicy:
        """The backoff policy these settings describe."""
        return RetryPolicy(tries=self.max_tries, base_delay=self.backoff_seconds)


def soql_datetime(moment: datetime) -> str:
    """A SOQL dateTime literal (UTC, whole seconds, rounded down so no row is skipped)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_soql(sobject: str, fields: Sequence[str], *, cursor: str, since: datetime) -> str:
    """`SELECT … FROM <object> WHERE <cursor> >= <since> ORDER BY <cursor>, Id`.

    `>=` on a literal rounded down to the second re-reads the rows of the last run's final second;
    dlt's incremental drops the ones already loaded (by Id), so none is lost and none doubled.
    """
    return (
        f"SELECT {', '.join(fields)} FROM {sobject}"
        f" WHERE {cursor} >= {soql_datetime(since)} ORDER BY {cursor}, {settings.PRIMARY_KEY}"
    )


def error_of(body: Any) -> tuple[str | None, str]:
    """(errorCode, message) of a REST error body `[{"message", "errorCode"}]` (or a bare object)."""
    first = body[0] if isinstance(body, list) and body else body
    if isinstance(first, Mapping):
        code = first.get("errorCode") or first.get("error")
        message = first.get("message") or first.get("error_description") or "no message"
        return (str(code) if code else None), str(message)
    return None, "no message"


def action_for(code: str | None, status: int) -> str:
    """What to do with an error answer: by errorCode from settings.ERROR_CODES, else by status."""
    if code in settings.ERROR_CODES:
        return settings.ERROR_CODES[code][0]
    return settings.STATUS_ACTIONS.get(status, settings.FAIL)


def _json_body(response: requests.Response) -> Any:
    """The decoded JSON body, or None when the body is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def check_page(body: Any, url: str) -> Mapping[str, Any]:
    """A query answer as a mapping; a malformed one (not JSON, no records/done) is transient."""
    if (
        not isinstance(body, Mapping)
        or not isinstance(body.get("records"), list)
        or not isinstance(body.get("done"), bool)
    ):
        raise TransientError(f"salesforce: malformed query answer from {url} (no records/done); retrying")
    if not body["done"] and not body.get("nextRecordsUrl"):
        raise TransientError(f"salesforce: query answer from {url} is not done but has no nextRecordsUrl")
    return body


class SalesforceClient:
    """Talks to one Salesforce org: one token per client, refreshed once when the API rejects it."""

    def __init__(self, config: SalesforceSettings, session: RetryingSession | None = None) -> None:
        self.config = config
        self._http = session or RetryingSession(config.retry_policy(), timeout=config.request_timeout)
        self._tokens = TokenCache(self._fetch_token)
        self._instance_url: str | None = None

    def close(self) -> None:
        """Releases pooled HTTP connections."""
        self._http.close()

    # -- auth ------------------------------------------------------------------------------------

    def _fetch_token(self) -> Token:
        """OAuth2 password or client-credentials grant; a refusal becomes one SalesforceAuthError."""
        self.config.check()
        form = {
            "grant_type": self.config.grant_type,
            "client_id": self.config.client_id,
            "client_secret": self.config.client_secret,
        }
        if self.config.grant_type == "password":
            form["username"] = self.config.username
            form["password"] = f"{self.config.password}{self.config.security_token or ''}"
        url = self.config.login_url.rstrip("/") + settings.TOKEN_PATH
        response = self._http.post(url, data=form)
        body = _json_body(response)
        token = body.get("access_token") if isinstance(body, Mapping) else None
        if response.status_code != 200 or not token:
            raise self._auth_error(url, response, body)
        self._instance_url = str(body.get("instance_url") or self.config.login_url).rstrip("/")
        # Salesforce does not say when a token expires (it is the org's session timeout): keep it
        # until the API answers INVALID_SESSION_ID.
        return Token(str(token), None)

    def _auth_error(self, url: str, response: requests.Response, body: Any) -> SalesforceAuthError:
        """Builds the credential error, naming the settings most likely wrong."""
        error, message = error_of(body)
        keys = settings.AUTH_ERRORS.get(str(error), ("client_id", "client_secret", "username", "password"))
        if self.config.grant_type == "client_credentials":
            keys = ("client_id", "client_secret")
            message += (
                " (no username/password configured, so the client-credentials grant was used: the"
                " connected app needs it enabled with a run-as user)"
            )
        return SalesforceAuthError(
            f"salesforce: the token endpoint {url} refused the credentials (HTTP {response.status_code}"
            f" {error or ''}: {message}). Check {describe_settings(SOURCE_NAME, list(keys))}."
        )

    # -- queries ---------------------------------------------------------------------------------

    def query_all(self, soql: str) -> Iterator[list[Record]]:
        """Yields the records of a queryAll page by page, following nextRecordsUrl until done."""
        path = settings.QUERY_ALL_PATH.format(api_version=self.config.api_version)
        body = self._get(path, {"q": soql}, soql)
        seen: set[str] = set()
        while True:
            if body["records"]:
                yield list(body["records"])
            if body["done"]:
                return
            next_url = str(body["nextRecordsUrl"])
            if next_url in seen:
                raise SalesforceError(
                    f"salesforce: nextRecordsUrl {next_url} came back twice for: {soql[:200]}"
                )
            seen.add(next_url)
            body = self._get(next_url, None, soql)

    def _get(self, path: str, params: Mapping[str, str] | None, soql: str) -> Mapping[str, Any]:
        """GETs a query page with the bearer token; on a token rejection refreshes once and retries."""
        for refreshed in (False, True):
            token = self._tokens.get()
            url = path if path.startswith(("http://", "https://")) else f"{self._instance_url}{path}"
            outcome = self._http.retrying(
                partial(self._get_once, url, params, token), what=f"salesforce GET {path}"
            )
            if isinstance(outcome, Mapping):
                return outcome
            code, status, message = outcome
            if action_for(code, status) == settings.REAUTH and not refreshed:
                logger.info("salesforce: token rejected (%s); fetching a new one", code or status)
                self._tokens.invalidate()
                continue
            raise self._api_error(path, code, status, message, soql, refreshed)
        raise AssertionError("unreachable")

    def _get_once(
        self, url: str, params: Mapping[str, str] | None, token: str
    ) -> Mapping[str, Any] | tuple[str | None, int, str]:
        """One GET: the page, or (errorCode, status, message); retryable answers raise TransientError."""
        headers = {
            "Authorization": f"Bearer {token}",
            settings.BATCH_SIZE_HEADER: f"batchSize={self.config.batch_size}",
        }
        response = self._http.send("GET", url, params=dict(params or {}), headers=headers)
        body = _json_body(response)
        if response.status_code == 200:
            return check_page(body, url)
        code, message = error_of(body)
        if action_for(code, response.status_code) == settings.RETRY:
            raise TransientError(f"HTTP {response.status_code} {code or ''} from {url}: {message}")
        return code, response.status_code, message

    def _api_error(
        self, path: str, code: str | None, status: int, message: str, soql: str, refreshed: bool
    ) -> SalesforceApiError:
        """Builds the error for a failed query with the server's message and the fix."""
        meaning = settings.ERROR_CODES.get(code or "", (settings.FAIL, "unknown error"))[1]
        hint = ""
        if action_for(code, status) == settings.REAUTH and refreshed:
            hint = (
                " A freshly issued token was rejected too: check that the API user may use the API and"
                " that SOURCES__SALESFORCE__LOGIN_URL is the org's login host."
            )
        return SalesforceApiError(
            f"salesforce: {path} answered HTTP {status} {code or ''} ({meaning}): {message}.{hint}"
            f" Query: {soql[:300]}",
            code or str(status),
        )
