"""Child process groups that stop as one, and stop signals that wait for the cleanup.

`leadloop ui` runs `dagster dev` in a process group of its own: dagster dev starts a webserver, a
daemon, a code server and run workers (which start dbt), and none of them leaves that group. One
signal to the group therefore reaches every one of them, however deep, and nothing outlives
leadloop. POSIX only (process groups, /proc), like the rest of leadloop's tooling.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
GRACE_SECONDS = 15.0  # dagster dev stops its webserver, daemon and code server in a few seconds
POLL_SECONDS = 0.1


class StopRequested(Exception):
    """SIGTERM or SIGINT arrived: the command should stop what it started and exit."""


def start_group(command: Sequence[str], cwd: Path, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """Start `command` as the leader of a new process group, so one signal reaches all it spawns.

    The group is not the terminal's foreground group: Ctrl-C reaches leadloop only, which then
    stops the group (see `stop_group`). Start it while `stop_signals()` is open: a child inherits an
    ignored SIGINT (leadloop run as a script's background job), and dagster maps SIGTERM to SIGINT's
    handler, so it would ignore SIGTERM too; with leadloop's handlers set it starts with the defaults.
    """
    return subprocess.Popen(list(command), cwd=cwd, env=dict(env), process_group=0)


def _stat_fields(pid: str) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state, ppid, pgrp, ...), None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()


def group_members(pgid: int) -> set[int]:
    """Processes of process group `pgid` that are still running (zombies are already dead)."""
    members = set()
    for entry in os.listdir("/proc"):
        fields = _stat_fields(entry) if entry.isdigit() else None
        if fields and fields[0] != "Z" and int(fields[2]) == pgid:
            members.add(int(entry))
    return members


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    """Send `signum` to every process of the group; a group that is gone already is fine."""
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass


def _wait_for_group(process: subprocess.Popen[bytes], deadline: float) -> bool:
    """Reap the leader and wait until no process of its group runs, or the deadline passes."""
    while True:
        process.poll()
        if process.returncode is not None and not group_members(process.pid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)


def stop_group(process: subprocess.Popen[bytes], grace_seconds: float = GRACE_SECONDS) -> None:
    """Stop the whole process group led by `process`: SIGTERM to every member, SIGKILL to any
    still running after `grace_seconds`, then reap the leader."""
    pgid = process.pid
    _signal_group(pgid, signal.SIGTERM)
    if not _wait_for_group(process, time.monotonic() + grace_seconds):
        _signal_group(pgid, signal.SIGKILL)
        _wait_for_group(process, time.monotonic() + grace_seconds)
    process.wait()


class StopSignals:
    """While armed, SIGTERM and SIGINT raise StopRequested in the main thread; while disarmed
    (starting or cleaning up) they are only remembered, so a child is never left half-started."""

    def __init__(self) -> None:
        self.armed = False
        self.received: int | None = None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received = signum
        if self.armed:
            self.armed = False
            raise StopRequested(signal.Signals(signum).name)

    def arm(self) -> None:
        """Raise StopRequested from now on, at once if a stop signal came while disarmed."""
        if self.received is not None:
            raise StopRequested(signal.Signals(self.received).name)
        self.armed = True

    def disarm(self) -> None:
        """Only remember stop signals from now on (the cleanup runs to its end)."""
        self.armed = False


@contextmanager
def stop_signals() -> Iterator[StopSignals]:
    """Route SIGTERM and SIGINT to a disarmed StopSignals while open; restore the handlers after."""
    stops = StopSignals()
    previous = {signum: signal.signal(signum, stops._handle) for signum in STOP_SIGNALS}
    try:
        yield stops
    finally:
        stops.disarm()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
