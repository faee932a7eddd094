"""An access-token cache shared by sources whose APIs use short-lived bearer tokens."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Token:
    """An access token and how many seconds it is valid for (None: until the server says no)."""

    value: str
    expires_in: float | None = None


class TokenCache:
    """Fetches a token on first use, reuses it until shortly before expiry, refetches on demand.

    A fetch failure is remembered and re-raised, so a wrong secret costs one request, not a storm.
    """

    def __init__(self, fetch: Callable[[], Token], *, leeway_seconds: float = 60.0) -> None:
        self._fetch = fetch
        self._leeway = leeway_seconds
        self._token: str | None = None
        self._expires_at = 0.0
        self._failure: Exception | None = None
        self._lock = threading.Lock()

    def get(self) -> str:
        """Returns a valid token, fetching one if none is cached or the cached one is stale."""
        with self._lock:
            if self._failure is not None:
                raise self._failure
            if self._token is None or time.monotonic() >= self._expires_at:
                self._store(self._fetch_once())
            assert self._token is not None
            return self._token

    def invalidate(self) -> None:
        """Forgets the cached token (the server rejected it), so the next `get` refetches."""
        with self._lock:
            self._token = None

    def _fetch_once(self) -> Token:
        """Calls the fetch function, remembering a failure for later callers."""
        try:
            return self._fetch()
        except Exception as exc:
            self._failure = exc
            raise

    def _store(self, token: Token) -> None:
        """Caches a fresh token with its expiry (minus leeway)."""
        self._token = token.value
        lifetime = float("inf") if token.expires_in is None else max(0.0, token.expires_in - self._leeway)
        self._expires_at = time.monotonic() + lifetime
