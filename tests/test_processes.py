"""src/leadloop/processes.py: a process group stops as one, and stop signals wait for the cleanup."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from leadloop.processes import StopRequested, group_members, start_group, stop_group, stop_signals

# A leader that starts a grandchild ignoring SIGTERM (it touches a file once it does), then sleeps. The
# leader takes SIGTERM's default action whatever it inherited (a CI job may start with it ignored).
STUBBORN_TREE = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_DFL)
subprocess.Popen([sys.executable, "-c", "import pathlib, signal, sys, time; "
                  "signal.signal(signal.SIGTERM, signal.SIG_IGN); pathlib.Path(sys.argv[1]).touch(); "
                  "time.sleep(600)", sys.argv[1]])
time.sleep(600)
"""


def test_stop_group_ends_every_process_of_the_group_even_one_that_ignores_sigterm(tmp_path):
    ready = tmp_path / "ready"
    leader = start_group([sys.executable, "-c", STUBBORN_TREE, str(ready)], cwd=tmp_path, env=os.environ)
    try:
        deadline = time.monotonic() + 20
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), "the grandchild did not start"
        assert os.getpgid(leader.pid) == leader.pid != os.getpgrp()  # a group of its own
        assert len(group_members(leader.pid)) == 2

        started = time.monotonic()
        stop_group(leader, grace_seconds=1.0)
        assert time.monotonic() - started < 5
    finally:
        if leader.poll() is None:
            os.killpg(leader.pid, signal.SIGKILL)
            leader.wait()
    assert leader.returncode == -signal.SIGTERM
    assert group_members(leader.pid) == set()


def test_stop_signals_are_remembered_while_disarmed_and_raise_once_armed():
    before = signal.getsignal(signal.SIGTERM)
    with stop_signals() as stops:
        os.kill(os.getpid(), signal.SIGTERM)  # while starting: remembered, nothing raised
        time.sleep(0.1)
        assert stops.received == signal.SIGTERM
        with pytest.raises(StopRequested, match="SIGTERM"):
            stops.arm()
        stops.received = None
        stops.arm()
        with pytest.raises(StopRequested, match="SIGINT"):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
        assert not stops.armed  # the cleanup after a stop is not interrupted again
    assert signal.getsignal(signal.SIGTERM) is before
