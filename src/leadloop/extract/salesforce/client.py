"""HTTP details of the Salesforce REST API: OAuth token, describe, queryAll paging, error answers."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar, TypeVar

import requests
from dlt.common.configuration import configspec
from dlt.common.typing import TSecretStrValue

from leadloop.extract.common.config import SourceSettings, describe_settings
from leadloop.extract.common.http import RetryingSession, SourceClient, TransientError, json_body
from leadloop.extract.common.token import Token, TokenCache
from leadloop.extract.salesforce import settings

logger = logging.getLogger(__name__)

SOURCE_NAME = "salesforce"
Record = dict[str, Any]
T = TypeVar("T")


class SalesforceError(RuntimeError):
    """Any failure talking to Salesforce; the message says what to fix."""


class SalesforceAuthError(SalesforceError):
    """The token endpoint refused the configured credentials."""


class SalesforceApiError(SalesforceError):
    """A request answered with an error the client does not retry (code: errorCode or HTTP status)."""

    def __init__(self, message: str, code: str, status: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


@configspec
class SalesforceSettings(SourceSettings):
    """The `[sources.salesforce]` settings, as dlt config resolves them; credentials may still be missing."""

    __source__: ClassVar[str] = SOURCE_NAME

    login_url: str = settings.DEFAULT_LOGIN_URL
    client_id: str | None = None
    client_secret: TSecretStrValue | None = None
    username: str | None = None
    password: TSecretStrValue | None = None
    security_token: TSecretStrValue | None = None
    api_version: str = settings.DEFAULT_API_VERSION
    start: str | None = settings.DEFAULT_START
    batch_size: int = settings.MAX_BATCH_SIZE
    custom_fields: dict[str, dict[str, str]] | None = None
    bulk_threshold: int = settings.DEFAULT_BULK_THRESHOLD
    bulk_poll_seconds: float = settings.DEFAULT_BULK_POLL_SECONDS

    @property
    def grant_type(self) -> str:
        """`password` when a user is configured, else `client_credentials` (the app's run-as user)."""
        return "password" if self.username or self.password else "client_credentials"

    def check(self) -> None:
        """Raises MissingSettingError naming each missing credential, before any request is sent."""
        keys = ["client_id", "client_secret"]
        if self.grant_type == "password":
            keys += ["username", "password"]
        self.require(keys)
        self.check_between("batch_size", self.batch_size, settings.MIN_BATCH_SIZE, settings.MAX_BATCH_SIZE)
        super().check()


def soql_datetime(moment: datetime) -> str:
    """A SOQL dateTime literal (UTC, whole seconds, rounded down so no row is skipped)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _where(cursor: str, since: datetime | None, before: datetime | None = None) -> str:
    """` WHERE <cursor> >= since [AND <cursor> < before]`, or nothing without bounds."""
    conditions = []
    if since is not None:
        conditions.append(f"{cursor} >= {soql_datetime(since)}")
    if before is not None:
        conditions.append(f"{cursor} < {soql_datetime(before)}")
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""


def build_soql(
    sobject: str, fields: Sequence[str], *, cursor: str, since: datetime | None, ordered: bool = True
) -> str:
    """`SELECT … FROM <object> [WHERE <cursor> >= <since>] [ORDER BY <cursor>, Id]`.

    No `since` reads all history. `>=` on a literal rounded down to the second re-reads the rows of
    the last run's final second; dlt's incremental drops the ones already loaded (by Id), so none
    is lost and none doubled. Bulk API 2.0 jobs get no ORDER BY (`ordered=False`): it would stop
    Salesforce from chunking the query.
    """
    order = f" ORDER BY {cursor}, {settings.PRIMARY_KEY}" if ordered else ""
    return f"SELECT {', '.join(fields)} FROM {sobject}{_where(cursor, since)}{order}"


def build_count_soql(
    sobject: str, *, cursor: str, since: datetime | None = None, before: datetime | None = None
) -> str:
    """`SELECT COUNT() FROM <object>` with the same cursor bounds as the data query."""
    return f"SELECT COUNT() FROM {sobject}{_where(cursor, since, before)}"


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


def answered_by(response: requests.Response) -> str:
    """The URL an answer came from, without its query string (a SOQL can be long)."""
    return str(response.url).split("?", 1)[0]


def check_page(response: requests.Response) -> Mapping[str, Any]:
    """A query answer as a mapping; a malformed one (not JSON, no records/done) is transient."""
    body, url = json_body(response), answered_by(response)
    if (
        not isinstance(body, Mapping)
        or not isinstance(body.get("records"), list)
        or not isinstance(body.get("done"), bool)
    ):
        raise TransientError(f"salesforce: malformed query answer from {url} (no records/done); retrying")
    if not body["done"] and not body.get("nextRecordsUrl"):
        raise TransientError(f"salesforce: query answer from {url} is not done but has no nextRecordsUrl")
    return body


def check_count(response: requests.Response) -> int:
    """The row count of a `SELECT COUNT()` answer (its totalSize)."""
    body = json_body(response)
    size = body.get("totalSize") if isinstance(body, Mapping) else None
    if not isinstance(size, int) or isinstance(size, bool):
        raise TransientError(
            f"salesforce: malformed COUNT() answer from {answered_by(response)} (no totalSize)"
        )
    return size


@dataclass(frozen=True)
class ObjectDescribe:
    """What an object's describe says leadloop needs: its field names with their describe types."""

    name: str
    fields: Mapping[str, str]
    queryable: bool = True


def check_describe(response: requests.Response) -> ObjectDescribe:
    """An sObject describe answer; one without a `fields` list is transient."""
    body = json_body(response)
    fields = body.get("fields") if isinstance(body, Mapping) else None
    if not isinstance(fields, list) or not all(isinstance(f, Mapping) and f.get("name") for f in fields):
        raise TransientError(
            f"salesforce: malformed describe answer from {answered_by(response)} (no fields)"
        )
    return ObjectDescribe(
        name=str(body.get("name") or ""),
        fields={str(f["name"]): str(f.get("type") or "") for f in fields},
        queryable=body.get("queryable") is not False,
    )


def check_sobjects(response: requests.Response) -> frozenset[str]:
    """The queryable sObject names of a global describe answer."""
    body = json_body(response)
    sobjects = body.get("sobjects") if isinstance(body, Mapping) else None
    if not isinstance(sobjects, list):
        raise TransientError(
            f"salesforce: malformed global describe from {answered_by(response)} (no sobjects)"
        )
    return frozenset(
        str(entry["name"])
        for entry in sobjects
        if isinstance(entry, Mapping) and entry.get("name") and entry.get("queryable") is not False
    )


@dataclass(frozen=True)
class _Refused:
    """An error answer not worth retrying: its errorCode, HTTP status and message."""

    code: str | None
    status: int
    message: str


class SalesforceClient(SourceClient):
    """Talks to one Salesforce org: one token per client, refreshed once when the API rejects it.

    A client lives for one run (the source builds one), so its describe cache is read once per
    object per run.
    """

    config: SalesforceSettings

    def __init__(self, config: SalesforceSettings, session: RetryingSession | None = None) -> None:
        super().__init__(config, session)
        self._tokens = TokenCache(self._fetch_token)
        self._instance_url: str | None = None
        self._describe_lock = threading.Lock()
        self._sobjects: frozenset[str] | None = None
        self._describes: dict[str, ObjectDescribe | None] = {}

    def api_path(self, template: str, **parts: str) -> str:
        """A path of settings (…/{api_version}/…) for this org's configured API version."""
        return template.format(api_version=self.config.api_version, **parts)

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
        body = json_body(response)
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

    # -- describe --------------------------------------------------------------------------------

    def available_objects(self) -> frozenset[str]:
        """Every queryable sObject the API user can see (the global describe, read once)."""
        with self._describe_lock:
            if self._sobjects is None:
                path = self.api_path(settings.SOBJECTS_PATH)
                self._sobjects = self.call("GET", path, parse=check_sobjects, detail="global describe")
            return self._sobjects

    def describe(self, sobject: str) -> ObjectDescribe | None:
        """The object's describe, read once per run; None when the org lacks it or may not read it."""
        if sobject not in self.available_objects():
            return None
        with self._describe_lock:
            if sobject not in self._describes:
                self._describes[sobject] = self._read_describe(sobject)
            return self._describes[sobject]

    def _read_describe(self, sobject: str) -> ObjectDescribe | None:
        """GET …/sobjects/<Object>/describe; a 404 / NOT_FOUND / INVALID_TYPE answer means absent."""
        path = self.api_path(settings.DESCRIBE_PATH, sobject=sobject)
        try:
            described = self.call("GET", path, parse=check_describe, detail=f"describe of {sobject}")
        except SalesforceApiError as exc:
            if exc.status == 404 or exc.code in settings.MISSING_OBJECT_CODES:
                return None
            raise
        return described if described.queryable else None

    # -- queries ---------------------------------------------------------------------------------

    def query_all(self, soql: str) -> Iterator[list[Record]]:
        """Yields the records of a queryAll page by page, following nextRecordsUrl until done."""
        path = self.api_path(settings.QUERY_ALL_PATH)
        body = self._query_page(path, {"q": soql}, soql)
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
            body = self._query_page(next_url, None, soql)

    def count(self, soql: str) -> int:
        """The answer of a `SELECT COUNT() …` (through `query`: rows in the recycle bin not counted)."""
        path = self.api_path(settings.QUERY_PATH)
        return self.call("GET", path, params={"q": soql}, parse=check_count, detail=soql)

    def _query_page(self, path: str, params: Mapping[str, str] | None, soql: str) -> Mapping[str, Any]:
        """One page of a query, asking for the configured batch size."""
        headers = {settings.BATCH_SIZE_HEADER: f"batchSize={self.config.batch_size}"}
        return self.call("GET", path, params=params, headers=headers, parse=check_page, detail=soql)

    # -- one request -----------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        parse: Callable[[requests.Response], T],
        params: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        detail: str = "",
    ) -> T:
        """Sends one API request with the bearer token and returns `parse` of its 2xx answer.

        Throttling, 5xx, dropped connections and answers `parse` finds malformed are retried with
        backoff; a token rejection gets a new token and one more try; anything else raises
        SalesforceApiError with the server's message and `detail` (the query, the object).
        """
        request = partial(self._send_once, method, parse=parse, params=params, json=json, headers=headers)
        for refreshed in (False, True):
            token = self._tokens.get()
            url = path if path.startswith(("http://", "https://")) else f"{self._instance_url}{path}"
            outcome = self._http.retrying(partial(request, url, token), what=f"salesforce {method} {path}")
            if not isinstance(outcome, _Refused):
                return outcome
            if action_for(outcome.code, outcome.status) == settings.REAUTH and not refreshed:
                reason = outcome.code or outcome.status
                logger.info("salesforce: token rejected (%s); fetching a new one", reason)
                self._tokens.invalidate()
                continue
            raise self._api_error(path, outcome, detail, refreshed)
        raise AssertionError("unreachable")

    def _send_once(
        self,
        method: str,
        url: str,
        token: str,
        *,
        parse: Callable[[requests.Response], T],
        params: Mapping[str, str] | None,
        json: Any,
        headers: Mapping[str, str] | None,
    ) -> T | _Refused:
        """One try: the parsed answer, or the refusal; retryable answers raise TransientError."""
        sent = {"Authorization": f"Bearer {token}", **(headers or {})}
        response = self._http.send(method, url, params=dict(params or {}), json=json, headers=sent)
        if 200 <= response.status_code < 300:
            return parse(response)
        code, message = error_of(json_body(response))
        if action_for(code, response.status_code) == settings.RETRY:
            raise TransientError(f"HTTP {response.status_code} {code or ''} from {url}: {message}")
        return _Refused(code, response.status_code, message)

    def _api_error(self, path: str, refused: _Refused, detail: str, refreshed: bool) -> SalesforceApiError:
        """Builds the error for a refused request with the server's message and the fix."""
        code, status = refused.code, refused.status
        meaning = settings.ERROR_CODES.get(code or "", (settings.FAIL, "unknown error"))[1]
        hint = ""
        if action_for(code, status) == settings.REAUTH and refreshed:
            hint = (
                " A freshly issued token was rejected too: check that the API user may use the API and"
                " that SOURCES__SALESFORCE__LOGIN_URL is the org's login host."
            )
        what = f" Query: {detail[:300]}" if detail.lstrip().upper().startswith("SELECT") else f" ({detail})"
        return SalesforceApiError(
            f"salesforce: {path} answered HTTP {status} {code or ''} ({meaning}): {refused.message}.{hint}"
            f"{what if detail else ''}",
            code or str(status),
            status,
        )
