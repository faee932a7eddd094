"""HTTP details of the Sensors SQL API: token in the query string, time windows, answer codes.

Each query is one time window of the `events` table, answered as newline-delimited JSON. The
token travels in the URL, so nothing here ever puts a URL with its query string in a message.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import ClassVar

import orjson
import requests
from dlt.common.configuration import configspec
from dlt.common.typing import TSecretStrValue

from leadloop.extract.common.config import SourceSettings, describe_settings, setting_env_var
from leadloop.extract.common.http import RetryPolicy, SourceClient, TransientError
from leadloop.extract.sensors import settings

logger = logging.getLogger(__name__)

SOURCE_NAME = "sensors"
REQUIRED_KEYS = ("base_url", "token")
_TIME_INPUT_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")


class SensorsError(RuntimeError):
    """Any failure talking to Sensors; the message says what to fix."""


class SensorsAuthError(SensorsError):
    """The API refused the token (or the token may not read this project)."""


class SensorsApiError(SensorsError):
    """A query answered with a status the client does not retry."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def parse_local_time(value: str, key: str) -> datetime:
    """A naive local (project time zone) datetime from config text; the error names the setting."""
    text = value.strip()
    for pattern in _TIME_INPUT_FORMATS:
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    raise ValueError(
        f"sensors: {setting_env_var(SOURCE_NAME, key)}={value!r} is not a local time like"
        f" '{settings.DEFAULT_START_TIME}'"
    )


def wire_time(moment: datetime) -> str:
    """A naive local datetime as the wire writes `time`: 'YYYY-MM-DD HH:MM:SS.mmm'."""
    return f"{moment:%Y-%m-%d %H:%M:%S}.{moment.microsecond // 1000:03d}"


@configspec
class SensorsSettings(SourceSettings):
    """The `[sources.sensors]` settings, as dlt config resolves them; base_url and token may be missing."""

    __source__: ClassVar[str] = SOURCE_NAME

    base_url: str | None = None
    token: TSecretStrValue | None = None
    project: str = settings.DEFAULT_PROJECT
    start_time: str = settings.DEFAULT_START_TIME
    end_time: str | None = None
    lookback_hours: float = settings.DEFAULT_LOOKBACK_HOURS
    window_hours: float = settings.DEFAULT_WINDOW_HOURS
    concurrency: int = settings.DEFAULT_CONCURRENCY
    batch_bytes: int = settings.DEFAULT_BATCH_BYTES
    request_timeout: float = 300.0  # a window of events can take minutes to answer

    def check(self) -> None:
        """Raises naming each missing or impossible setting, before any request is sent."""
        self.require(REQUIRED_KEYS)
        self.start()
        self.end()
        for key, value, low in (
            ("lookback_hours", self.lookback_hours, 0.0),
            ("window_hours", self.window_hours, 1 / 60),
            ("concurrency", self.concurrency, 1),
            ("batch_bytes", self.batch_bytes, 1),
        ):
            self.check_at_least(key, value, low)
        super().check()

    def start(self) -> datetime:
        """The configured first instant (local time)."""
        return parse_local_time(self.start_time, "start_time")

    def end(self) -> datetime | None:
        """The configured last instant (exclusive, local time), or None for 'up to now'."""
        return parse_local_time(self.end_time, "end_time") if self.end_time else None

    def retry_policy(self) -> RetryPolicy:
        """The backoff policy these settings describe; retry statuses come from settings.ERROR_CODES."""
        statuses = frozenset(
            code for code, (action, _) in settings.ERROR_CODES.items() if action == settings.RETRY
        )
        return RetryPolicy(tries=self.max_tries, base_delay=self.backoff_seconds, retry_statuses=statuses)


@dataclass(frozen=True)
class Window:
    """One query: local times [start, end), or from start on when end is None (the last window)."""

    start: datetime
    end: datetime | None

    def sql(self) -> str:
        """The query of this window; `date` bounds let Sensors prune its day partitions."""
        conditions = [f"date >= '{self.start:%Y-%m-%d}'"]
        if self.end is not None:
            conditions.append(f"date <= '{self.end - timedelta(milliseconds=1):%Y-%m-%d}'")
        conditions.append(f"time >= '{wire_time(self.start)}'")
        if self.end is not None:
            conditions.append(f"time < '{wire_time(self.end)}'")
        return f"select * from {settings.EVENTS_TABLE} where {' and '.join(conditions)} order by time"


def plan_windows(start: datetime, end: datetime | None, now: datetime, hours: float) -> Iterator[Window]:
    """Consecutive windows of `hours` from start; without an end the last window is open-ended.

    Open-ended so that an event stamped after this machine's clock (client clocks drift) is still
    read; every earlier window is bounded, which keeps each answer's size bounded.
    """
    step = timedelta(hours=hours)
    low = start
    while True:
        high = low + step
        if end is not None:
            if low >= end:
                return
            yield Window(low, min(high, end))
        elif high > now:
            yield Window(low, None)
            return
        else:
            yield Window(low, high)
        low = high


def first_window_start(config: SensorsSettings, last_event_time: str | None) -> datetime:
    """Where a run starts: the configured start, or the last loaded event time minus the look-back."""
    start = config.start()
    if not last_event_time:
        return start
    resumed = parse_local_time(last_event_time, "start_time") - timedelta(hours=config.lookback_hours)
    return max(start, resumed)


def _message(response: requests.Response) -> str:
    """The server's own words from an error answer (JSON shape unconfirmed, else the text)."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300].strip() or "no message"
    if isinstance(body, dict):
        for key in settings.ERROR_MESSAGE_KEYS:
            if body.get(key):
                return str(body[key])
    return str(body)[:300]


def is_cut_off(body: bytes) -> bool:
    """True when an NDJSON answer ends inside a line: no final newline and a last line that does not
    parse. (An answer cut exactly after a line cannot be told from a complete one.)"""
    if not body or body.endswith(b"\n"):
        return False
    last = body.rsplit(b"\n", 1)[-1]
    if not last.strip():
        return False
    try:
        orjson.loads(last)
    except orjson.JSONDecodeError:
        return True
    return False


class SensorsClient(SourceClient):
    """Runs SQL queries against one Sensors project and returns their NDJSON answers."""

    config: SensorsSettings

    @property
    def url(self) -> str:
        """The query endpoint, without the query string (which carries the token)."""
        return str(self.config.base_url).rstrip("/") + settings.QUERY_PATH

    def query(self, sql: str) -> bytes:
        """The NDJSON answer of one query; throttling, 5xx and broken connections are retried."""
        self.config.check()
        return self._http.retrying(partial(self._query_once, sql), what=f"sensors POST {settings.QUERY_PATH}")

    def query_all(self, queries: Iterable[str]) -> Iterator[bytes]:
        """Answers of several queries, in order: the first alone, then `concurrency` at a time.

        The first query runs alone so that a wrong token costs one request, not one per worker.
        """
        iterator = iter(queries)
        first = next(iterator, None)
        if first is None:
            return
        yield self.query(first)
        with ThreadPoolExecutor(self.config.concurrency, thread_name_prefix="sensors-query") as pool:
            pending: deque[Future[bytes]] = deque()
            try:
                for sql in iterator:
                    pending.append(pool.submit(self.query, sql))
                    if len(pending) >= self.config.concurrency:
                        yield pending.popleft().result()
                while pending:
                    yield pending.popleft().result()
            finally:
                for future in pending:
                    future.cancel()

    def _query_once(self, sql: str) -> bytes:
        """One POST: returns the body of a 200; raises TransientError or a SensorsError otherwise."""
        params = {"token": str(self.config.token), "project": self.config.project}
        form = {"q": sql, "format": "json"}
        try:
            response = self._http.send("POST", self.url, params=params, data=form)
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            # requests' own message repeats the URL with the token: say what happened without it.
            raise TransientError(f"{type(exc).__name__} talking to {self.url}") from None
        if response.status_code == 200:
            if is_cut_off(response.content):
                # The rest of the answer never arrived: reading it would lose its lines without a trace.
                raise TransientError(f"answer from {self.url} is cut off mid-line; asking again")
            return response.content
        action, meaning = settings.ERROR_CODES.get(response.status_code, (settings.FAIL, "unexpected answer"))
        if action == settings.RETRY:
            raise TransientError(f"HTTP {response.status_code} from {self.url}: {_message(response)}")
        if action == settings.CREDENTIALS:
            raise SensorsAuthError(
                f"sensors: {self.url} refused the API token (HTTP {response.status_code}, {meaning}:"
                f" {_message(response)}). Check {describe_settings(SOURCE_NAME, ('token', 'project'))};"
                f" the project is {self.config.project!r}."
            )
        raise SensorsApiError(
            f"sensors: {self.url} answered HTTP {response.status_code} ({meaning}): {_message(response)}."
            f" Project {self.config.project!r}. Query: {sql[:300]}",
            response.status_code,
        )
