"""`leadloop cockpit`: a small local web server for the cockpit page.

It serves the one file at `/` (read anew on every request, so the page a night rebuilds shows on
the next reload) and nothing else: the page carries its data and scripts, so no other path exists.
"""

from __future__ import annotations

import signal
import sys
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class CockpitHandler(BaseHTTPRequestHandler):
    """GET / (or /index.html): the page; any other path: 404."""

    def __init__(self, *args, page: Path, **kwargs) -> None:
        self.page = page
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] not in ("/", "/index.html"):
            self.send_error(404, "the cockpit is one page, at /")
            return
        body = self.page.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        sys.stderr.write(f"leadloop cockpit: {self.address_string()} {format % args}\n")


def _stop(signum: int, frame) -> None:
    raise KeyboardInterrupt


def serve_cockpit(page: Path, host: str = "127.0.0.1", port: int = 8050) -> int:
    """Serve `page` until SIGTERM or Ctrl-C; the exit code of the command."""
    server = ThreadingHTTPServer((host, port), partial(CockpitHandler, page=page))
    print(f"leadloop cockpit: serving {page} at http://{host}:{server.server_address[1]}/ (Ctrl-C stops)",
          flush=True)
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.server_close()
    return 0
