"""Runs whose worker process is gone: each command-line run names its worker, and a sweep fails the
runs of this host whose worker no longer exists.

Dagster notices a dead worker only for runs it launched itself (the code server reports a run whose
subprocess exited; its run monitoring cannot ask the default run launcher about a worker's health).
A run the command line executes in its own process (launch.py) has no one watching it: killed, it
stays STARTED in run storage forever, keeps its concurrency-pool slots and holds a place in a run
queue. The launcher tags such a run with the worker's pid, host and process start, and
`fail_runs_of_lost_workers` reports it failed once that process is gone, so the failure alert fires
(alerts.py) and the next night starts. It runs before every night and as a sensor in the daemon.
"""
# No `from __future__ import annotations`: Dagster reads the sensor's `context` annotation at runtime.

import os
import socket
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

PID_TAG = "leadloop/worker_pid"
HOST_TAG = "leadloop/worker_host"
# '<boot id>:<start time in clock ticks>' of the worker: a recycled pid (or one after a reboot) is
# another process, not the run's worker.
PROCESS_START_TAG = "leadloop/worker_process_start"
# A run created but not yet started is as orphaned as a started one: its creator is its worker.
UNFINISHED = [dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
SWEEP_INTERVAL_SECONDS = 60


def this_host() -> str:
    """The name runs of this machine are tagged with."""
    return socket.gethostname()


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """(state, start time in clock ticks since boot) of a process from /proc; None where it cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # the command name may hold spaces and parentheses
    return fields[0], fields[19]


def process_start(pid: int) -> str | None:
    """When a process started, as '<boot id>:<ticks>' (Linux); None where the system does not say."""
    stat = _proc_stat(pid)
    try:
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None
    return f"{boot_id}:{stat[1]}" if stat else None


def worker_tags() -> dict[str, str]:
    """The tags that name this process as the worker of a run it creates and executes."""
    tags = {PID_TAG: str(os.getpid()), HOST_TAG: this_host()}
    started = process_start(os.getpid())
    if started:
        tags[PROCESS_START_TAG] = started
    return tags


def worker_is_alive(pid: int, started: str | None) -> bool:
    """Whether process `pid` of this host still exists and is the one that started at `started`.

    A zombie (killed, not yet reaped) is gone. Where the start time cannot be read (no /proc), an
    existing pid counts as alive: a live run is never failed on a guess."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    stat = _proc_stat(pid)
    if stat is None:
        return True
    if stat[0] in ("Z", "X"):
        return False
    return not started or process_start(pid) == started


def lost_worker_message(pid: int, host: str) -> str:
    """What the run's failure says, in its event log, the UI and the alert."""
    return f"run worker process {pid} on {host} is gone: killed or crashed"


@dataclass(frozen=True)
class LostRun:
    """A run the sweep reported failed because its worker was gone."""

    run_id: str
    job_name: str
    pid: int
    host: str
    message: str


def fail_runs_of_lost_workers(instance: dg.DagsterInstance) -> list[LostRun]:
    """Report failed every unfinished run of this host whose tagged worker process is gone, free the
    concurrency-pool slots it held, and return what was marked.

    Runs of other hosts (shared PostgreSQL storage) and runs without worker tags (launched by the
    daemon, watched by the code server) are left alone; a run whose worker is alive is never touched.
    """
    host = this_host()
    records = instance.get_run_records(dg.RunsFilter(statuses=UNFINISHED, tags={HOST_TAG: host}))
    lost = []
    for record in records:
        run = record.dagster_run
        try:
            pid = int(run.tags[PID_TAG])
        except (KeyError, ValueError):
            continue
        if worker_is_alive(pid, run.tags.get(PROCESS_START_TAG)):
            continue
        current = instance.get_run_by_id(run.run_id)  # another sweep may have been first
        if current is None or current.is_finished:
            continue
        message = lost_worker_message(pid, host)
        instance.report_run_failed(current, message)
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        lost.append(LostRun(run.run_id, run.job_name, pid, host, message))
    return lost


@dg.sensor(name="fail_runs_of_lost_workers", minimum_interval_seconds=SWEEP_INTERVAL_SECONDS,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Marks failed the command-line runs of this host whose worker process is gone"
                       " (killed or crashed), so alert_on_run_failure posts them and their pool slots free up.")
def fail_runs_of_lost_workers_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    """The sweep, every minute while the daemon runs: a killed night is failed and alerted within
    minutes instead of at the start of the next night."""
    lost = fail_runs_of_lost_workers(context.instance)
    for run in lost:
        context.log.warning(f"run {run.run_id} ({run.job_name}) marked failed: {run.message}")
    return dg.SkipReason(f"marked {len(lost)} run(s) failed: {', '.join(r.run_id for r in lost)}" if lost
                         else "no run of this host has lost its worker")
