"""A retrying HTTP session shared by every source.

Platforms throttle (429) and hiccup (5xx, dropped connections); one policy — bounded tries,
exponential backoff with jitter, `Retry-After` honoured — keeps that out of each source's code.

Why not dlt's own `dlt.sources.helpers.requests.Client`: it retries one `session.send` on a status,
an exception or a predicate on the response, and when the tries run out on a status it hands back
the last response. Our sources retry a whole attempt — send, decode, classify the body (WeCom's
errcode 45009 and Baidu's status 3 come with HTTP 200; a malformed page is retried too) — and need
`RetriesExhaustedError` when the tries run out (WeCom turns it into an incomplete snapshot). Its
retries nested inside ours would multiply the bounded tries, so this module keeps the one loop.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import requests

if TYPE_CHECKING:
    from leadloop.extract.common.config import SourceSettings

logger = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class TransientError(Exception):
    """A failure worth retrying (throttling, server hiccup); may carry the server's Retry-After."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RetriesExhaustedError(RuntimeError):
    """Raised when every allowed try failed with a transient error."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry; tests shrink `base_delay` to keep runs fast."""

    tries: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0
    retry_statuses: frozenset[int] = field(default=DEFAULT_RETRY_STATUSES)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed try number `attempt` (1-based): exponential, jittered."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        jittered = ceiling * random.uniform(0.5, 1.0)
        if retry_after is not None:
            return min(self.max_delay, max(retry_after, jittered))
        return jittered


def call_with_retries(
    attempt: Callable[[], T],
    policy: RetryPolicy,
    *,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Calls `attempt` until it succeeds, retrying TransientError and connection failures."""
    for number in range(1, policy.tries + 1):
        try:
            return attempt()
        except (TransientError, requests.ConnectionError, requests.Timeout) as exc:
            if number == policy.tries:
                raise RetriesExhaustedError(f"{what}: gave up after {policy.tries} tries: {exc}") from exc
            wait = policy.delay(number, getattr(exc, "retry_after", None))
            logger.warning(
                "%s: try %d/%d failed (%s); retrying in %.2fs", what, number, policy.tries, exc, wait
            )
            sleep(wait)
    raise AssertionError("unreachable: RetryPolicy.tries must be >= 1")


def json_body(response: requests.Response) -> Any:
    """The decoded JSON body, or None when the body is not JSON.

    Read with the standard library first, which takes a bare NaN or Infinity as a float: a
    platform that writes one for a number it could not compute then costs one record (quarantined
    as not a decimal), not the whole page (requests may decode with simplejson, which refuses it).
    """
    try:
        return json.loads(response.content)
    except ValueError:
        pass
    try:
        return response.json()
    except ValueError:
        return None


def retry_after_seconds(response: requests.Response) -> float | None:
    """Reads a numeric Retry-After header (HTTP-date values are ignored)."""
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class RetryingSession:
    """A requests.Session whose calls retry transient failures under one RetryPolicy.

    `check` lets a source flag answers as transient from their body (platforms that report
    throttling with HTTP 200 and an error code) by raising TransientError.
    """

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        timeout: float = 60.0,
        headers: Mapping[str, str] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.timeout = timeout
        self._session = session or requests.Session()
        self._session.headers.update(headers or {})

    def send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One try without retrying; raises TransientError for the policy's retry statuses."""
        response = self._session.request(method, url, timeout=self.timeout, **kwargs)
        if response.status_code in self.policy.retry_statuses:
            raise TransientError(
                f"HTTP {response.status_code} from {method} {url}", retry_after_seconds(response)
            )
        return response

    def request(
        self,
        method: str,
        url: str,
        *,
        check: Callable[[requests.Response], None] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Sends a request; retries connection errors, retry statuses and `check` TransientErrors."""

        def attempt() -> requests.Response:
            """One try: send, then let `check` classify the answer."""
            response = self.send(method, url, **kwargs)
            if check is not None:
                check(response)
            return response

        return self.retrying(attempt, what=f"{method} {url}")

    def retrying(self, attempt: Callable[[], T], *, what: str) -> T:
        """Runs any multi-step `attempt` (e.g. send + parse + classify) under this session's policy."""
        return call_with_retries(attempt, self.policy, what=what)

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        """GET with retries."""
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        """POST with retries."""
        return self.request("POST", url, **kwargs)

    def close(self) -> None:
        """Closes pooled connections."""
        self._session.close()


class SourceClient:
    """The base of every source's client: its settings, and one RetryingSession under their policy."""

    def __init__(self, config: SourceSettings, session: RetryingSession | None = None) -> None:
        self.config = config
        self._http = session or RetryingSession(config.retry_policy(), timeout=config.request_timeout)

    def close(self) -> None:
        """Releases pooled HTTP connections."""
        self._http.close()
