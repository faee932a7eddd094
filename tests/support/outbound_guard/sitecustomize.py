"""Loaded at start-up by a Python process whose PYTHONPATH includes this folder (tests only): every
attempt to reach beyond this machine — a DNS lookup of another host, a connection to a non-loopback
address — is refused and written to $LEADLOOP_OUTBOUND_LOG, so a test can run a real entry point as
a subprocess and see whether anything (telemetry, version checks) tried to phone home."""

import ipaddress
import os
import socket

_LOG = os.environ.get("LEADLOOP_OUTBOUND_LOG")
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", ""}


def _is_local(host) -> bool:
    if host is None or isinstance(host, bytes) and not host:
        return True
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.split("%")[0]).is_loopback
    except ValueError:
        return False


def _record(what: str) -> None:
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()} {what}\n")


if _LOG:
    _getaddrinfo, _connect, _connect_ex = socket.getaddrinfo, socket.socket.connect, socket.socket.connect_ex

    def _guarded_getaddrinfo(host, *args, **kwargs):
        if not _is_local(host):
            _record(f"lookup {host}")
            raise socket.gaierror(socket.EAI_NONAME, "leadloop tests: no lookups beyond this machine")
        return _getaddrinfo(host, *args, **kwargs)

    def _guarded_connect(self, address):
        if isinstance(address, tuple) and not _is_local(address[0]):
            _record(f"connect {address[0]}:{address[1]}")
            raise ConnectionRefusedError("leadloop tests: no connections beyond this machine")
        return _connect(self, address)

    def _guarded_connect_ex(self, address):
        if isinstance(address, tuple) and not _is_local(address[0]):
            _record(f"connect {address[0]}:{address[1]}")
            return 111
        return _connect_ex(self, address)

    socket.getaddrinfo = _guarded_getaddrinfo
    socket.socket.connect = _guarded_connect
    socket.socket.connect_ex = _guarded_connect_ex
