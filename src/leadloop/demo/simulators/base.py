"""A small local HTTP server that platform simulators build on.

Each simulator subclass registers handlers for (method, path) pairs and speaks one platform's
wire format on 127.0.0.1, so extractors can be tested against real HTTP without the network.
Tests steer it with canned fault answers (`inject`, `call_after`, `expire_tokens`), make it serve drifted
records (`set_drift`, see leadloop.demo.drift) and read what it served (`requests_served`).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from leadloop.demo.drift import Drift, drift_records

JsonBody = Mapping[str, Any] | list[Any] | str | bytes | None


@dataclass(frozen=True)
class Request:
    """One incoming HTTP request, already read off the socket."""

    method: str
    path: str
    query: dict[str, str]
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """Decodes the body as JSON (an empty body reads as an empty dict)."""
        return json.loads(self.body.decode("utf-8")) if self.body else {}

    def form(self) -> dict[str, str]:
        """Decodes an application/x-www-form-urlencoded body, keeping the last value of each key."""
        pairs = parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        return {key: values[-1] for key, values in pairs.items()}

    def header(self, name: str, default: str = "") -> str:
        """Reads a header case-insensitively."""
        value = self.headers.get(name)
        return default if value is None else value


@dataclass(frozen=True)
class Response:
    """What a handler answers: status, raw body bytes and extra headers."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Response]


def json_response(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """Builds a UTF-8 JSON answer, the format nearly every platform API uses."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    merged = {"Content-Type": "application/json;charset=UTF-8", **(headers or {})}
    return Response(status=status, body=body, headers=merged)


def canned_response(status: int, body: JsonBody, headers: Mapping[str, str] | None = None) -> Response:
    """Turns an injected body (JSON-able object, text or bytes) into a Response."""
    if isinstance(body, bytes):
        return Response(status=status, body=body, headers=dict(headers or {}))
    if isinstance(body, str):
        text_headers = {"Content-Type": "text/plain;charset=UTF-8", **(headers or {})}
        return Response(status=status, body=body.encode("utf-8"), headers=text_headers)
    return json_response({} if body is None else body, status=status, headers=headers)


class _RequestHandler(BaseHTTPRequestHandler):
    """Hands every request to the owning simulator; never logs per request."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle adds ~40 ms per answer.
    disable_nagle_algorithm = True
    server: _SimulatorHTTPServer

    def _serve(self) -> None:
        """Reads the request, lets the simulator answer, writes the answer."""
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            method=self.command,
            path=split.path,
            query={key: values[-1] for key, values in parse_qs(split.query).items()},
            headers={key.lower(): value for key, value in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )
        response = self.server.simulator.dispatch(request)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Silences the default one-line-per-request stderr log."""


class _SimulatorHTTPServer(ThreadingHTTPServer):
    """A threading server that knows which simulator it serves."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], simulator: SimulatorBase) -> None:
        self.simulator = simulator
        super().__init__(address, _RequestHandler)


class AccessTokens:
    """The access tokens a simulator has issued, each valid for a time to live; safe across threads.

    `expire_all` backs every simulator's `expire_tokens` test control: issued tokens stay known but
    expired, so a platform that answers 'expired' apart from 'unknown' can say which.
    """

    def __init__(self, ttl_seconds: float, issued: Iterable[str] = ()) -> None:
        self.ttl_seconds = ttl_seconds
        self._lock = threading.Lock()
        self._expiry = {token: time.monotonic() + ttl_seconds for token in issued}

    def issue(self, token: str) -> str:
        """Records a new token, valid for the time to live from now."""
        with self._lock:
            self._expiry[token] = time.monotonic() + self.ttl_seconds
        return token

    def state(self, token: str) -> str:
        """'valid', 'expired', or 'unknown' (never issued)."""
        with self._lock:
            expires = self._expiry.get(token)
        if expires is None:
            return "unknown"
        return "valid" if time.monotonic() < expires else "expired"

    def is_valid(self, token: str) -> bool:
        """Issued and not expired."""
        return self.state(token) == "valid"

    def expire_all(self) -> None:
        """Every issued token expires now."""
        with self._lock:
            self._expiry = dict.fromkeys(self._expiry, 0.0)


class SimulatorBase:
    """Generic local HTTP simulator: routing, fault injection and request counting.

    Subclasses call `add_route(method, path, handler)` in their `__init__`. Use it as a context
    manager (`with Sim(...) as sim:`) or call `start()` / `stop()` yourself.
    """

    host = "127.0.0.1"

    def __init__(self, port: int = 0) -> None:
        self._port = port
        self._routes: dict[tuple[str, str], Handler] = {}
        self._faults: dict[str, deque[Response]] = {}
        self._triggers: dict[str, list[tuple[int, Callable[[], None]]]] = {}
        self._rewrites: dict[str, Callable[[Any], Any]] = {}
        self._lock = threading.Lock()
        self._server: _SimulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.requests_served: Counter[str] = Counter()
        self.tokens = AccessTokens(float("inf"))  # a platform with expiring tokens sets its time to live
        self._drifts: dict[str, tuple[Drift, ...]] = {}

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> Self:
        """Binds 127.0.0.1:<port> (0 picks a free one) and serves in a daemon thread."""
        if self._server is not None:
            return self
        self._server = _SimulatorHTTPServer((self.host, self._port), self)
        self._thread = threading.Thread(
            # A short poll so that stop() returns in ~50 ms instead of the default 0.5 s.
            target=self._server.serve_forever, args=(0.05,), name=f"{type(self).__name__}-http", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops serving and releases the port; safe to call twice."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def port(self) -> int:
        """The port actually bound (useful when 0 was asked for)."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`, without a trailing slash."""
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> Self:
        """Starts the server for a `with` block."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stops the server when the `with` block ends."""
        self.stop()

    # -- routing and test controls ---------------------------------------------------------------

    def add_route(self, method: str, path: str, handler: Handler) -> None:
        """Registers the handler answering `method path` (exact path, query string ignored)."""
        self._routes[(method.upper(), path)] = handler

    def inject(
        self,
        path: str,
        status: int,
        body: JsonBody = None,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Queues `times` canned answers for `path`, served (FIFO) before normal handling."""
        canned = canned_response(status, body, headers)
        with self._lock:
            self._faults.setdefault(path, deque()).extend([canned] * times)

    def expire_tokens(self) -> None:
        """Every issued access token expires now; the platform's next answer to one says so its way."""
        self.tokens.expire_all()

    def set_drift(self, obj: str, *drifts: Drift) -> None:
        """From the next answer on, the records of `obj` (the simulator's name for it, e.g. `lead`) are served
        drifted; no drifts: served as they are again."""
        with self._lock:
            self._drifts[obj] = drifts

    def drifted(self, obj: str, records: list[Any]) -> list[Any]:
        """The records of `obj` as this answer serves them: drifted when a drift is set for `obj`."""
        with self._lock:
            drifts = self._drifts.get(obj, ())
        return drift_records(records, drifts) if drifts else records

    def call_after(self, path: str, count: int, action: Callable[[], None]) -> None:
        """Runs `action` once, right after the `count`-th request to `path` has been answered."""
        with self._lock:
            self._triggers.setdefault(path, []).append((count, action))

    def rewrite_answers(self, path: str, rewrite: Callable[[Any], Any] | None) -> None:
        """From now on passes every JSON answer the handler of `path` gives through `rewrite` (decoded
        body in, body out; None stops it): a test can serve what the platform's own filters would
        not let it store, e.g. a row dated 1970 inside a window of 2026."""
        with self._lock:
            if rewrite is None:
                self._rewrites.pop(path, None)
            else:
                self._rewrites[path] = rewrite

    def dispatch(self, request: Request) -> Response:
        """Answers one request: injected fault first, else the route's handler, else 404."""
        with self._lock:
            self.requests_served[request.path] += 1
            served = self.requests_served[request.path]
            queue = self._faults.get(request.path)
            fault = queue.popleft() if queue else None
        try:
            if fault is not None:
                return fault
            return self._rewritten(request.path, self._handle(request))
        finally:
            self._fire_triggers(request.path, served)

    def _rewritten(self, path: str, response: Response) -> Response:
        """The handler's answer, through the path's `rewrite_answers` function if it is JSON."""
        rewrite = self._rewrites.get(path)
        if rewrite is None or "application/json" not in str(response.headers.get("Content-Type", "")):
            return response
        body = rewrite(json.loads(response.body))
        return json_response(body, status=response.status, headers=response.headers)

    def _handle(self, request: Request) -> Response:
        """Routes to the registered handler; unexpected handler errors become a 500 with the text."""
        handler = self._routes.get((request.method, request.path))
        if handler is None:
            return json_response({"error": "not_found", "path": request.path}, status=404)
        try:
            return handler(request)
        except Exception as exc:  # noqa: BLE001 - a simulator bug must show up in the test, not hang it
            return json_response({"error": "simulator_error", "detail": repr(exc)}, status=500)

    def _fire_triggers(self, path: str, served: int) -> None:
        """Runs (and forgets) the `call_after` actions due at this request count."""
        with self._lock:
            pending = self._triggers.get(path, [])
            due = [action for count, action in pending if count == served]
            self._triggers[path] = [(count, action) for count, action in pending if count != served]
        for action in due:
            action()
