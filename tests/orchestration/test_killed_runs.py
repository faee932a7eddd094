"""Acceptance (issue 15, Dagster's own records): a command-line run whose process is killed with SIGKILL
is marked FAILURE in run storage with the reason, the failure alert is posted, its pool slot is freed
and the next run starts; runs whose worker lives, and runs of other hosts, are left alone.

Run storage is a real SQLite DagsterInstance in the test's own DAGSTER_HOME (the project's
dagster.yaml); the worker is a real process (tests/orchestration/sleeping_worker.py)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dagster as dg
import pytest

from leadloop import settings
from leadloop.demo.simulators.wecom_robot import WecomRobotReceiver
from leadloop.orchestration.run_workers import (
    HOST_TAG,
    PID_TAG,
    PROCESS_START_TAG,
    fail_runs_of_lost_workers,
    fail_runs_of_lost_workers_sensor,
    lost_worker_message,
    this_host,
    worker_tags,
)
from tests.orchestration.sleeping_worker import JOB_NAME, POOL, run_sleeping_night

START_TIMEOUT_SECONDS = 60


@pytest.fixture
def dagster_home(tmp_path: Path) -> Path:
    """A DAGSTER_HOME of the test's own, configured by the project's dagster.yaml."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(settings.PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    return home


@pytest.fixture
def instance(dagster_home: Path):
    with dg.DagsterInstance.from_config(str(dagster_home)) as own:
        own.event_log_storage.set_concurrency_slots(POOL, 1)
        yield own


def _start_worker(dagster_home: Path, seconds: float) -> subprocess.Popen:
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home)}
    return subprocess.Popen([sys.executable, "-m", "tests.orchestration.sleeping_worker", str(seconds)],
                            cwd=settings.PROJECT_ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_until_sleeping(instance: dg.DagsterInstance, worker: subprocess.Popen) -> dg.DagsterRun:
    """The worker's run, once it is STARTED and its op holds the pool's slot."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        assert worker.poll() is None, f"the worker exited with {worker.returncode} before its run started"
        runs = instance.get_runs(dg.RunsFilter(job_name=JOB_NAME))
        if (runs and runs[0].status == dg.DagsterRunStatus.STARTED
                and instance.event_log_storage.get_concurrency_info(POOL).active_slot_count == 1):
            return runs[0]
        time.sleep(0.1)
    raise AssertionError(f"the worker's run did not start within {START_TIMEOUT_SECONDS} s")


def _evaluate_failure_alerts(instance: dg.DagsterInstance, url: str, cursor: str | None) -> str | None:
    """One tick of alert_on_run_failure as the daemon evaluates it in the `leadloop` code location; the new cursor."""
    from dagster._core.definitions.sensor_definition import SensorEvaluationContext
    from dagster._core.execution.build_resources import wrap_resources_for_execution

    from leadloop.orchestration.alerts import WecomRobotWebhook, alert_on_run_failure
    from leadloop.orchestration.launch import REPOSITORY_NAME, code_location_origin

    with SensorEvaluationContext(
        instance_ref=None, last_tick_completion_time=None, last_run_key=None, cursor=cursor, log_key=None,
        repository_name=REPOSITORY_NAME, instance=instance, sensor_name="alert_on_run_failure",
        resources=wrap_resources_for_execution({"wecom_robot": WecomRobotWebhook(url=url)}),
        code_location_origin=code_location_origin(),
    ) as context:
        alert_on_run_failure.evaluate_tick(context)
        return context.cursor


def _dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    finished = subprocess.Popen(["true"])
    finished.wait()
    return finished.pid


def _add_started_run(instance: dg.DagsterInstance, tags: dict[str, str]) -> dg.DagsterRun:
    run = dg.DagsterRun(job_name=JOB_NAME, run_id=str(uuid.uuid4()), status=dg.DagsterRunStatus.STARTED, tags=tags)
    return instance.add_run(run)


@pytest.mark.timeout(120)
def test_a_killed_run_is_failed_alerted_and_the_next_run_starts(dagster_home, instance):
    with WecomRobotReceiver() as receiver:
        cursor = _evaluate_failure_alerts(instance, receiver.webhook_url, None)  # the sensor's first tick
        worker = _start_worker(dagster_home, seconds=300)
        try:
            run = _wait_until_sleeping(instance, worker)
            assert run.tags[PID_TAG] == str(worker.pid) and run.tags[HOST_TAG] == this_host()
            assert fail_runs_of_lost_workers(instance) == []  # its worker lives: untouched
            assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait()
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED  # what a crash leaves

        lost = fail_runs_of_lost_workers(instance)

        message = lost_worker_message(worker.pid, this_host())
        assert message == f"run worker process {worker.pid} on {this_host()} is gone: killed or crashed"
        assert [(r.run_id, r.message) for r in lost] == [(run.run_id, message)]
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
        failure = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
        assert [r.event_log_entry.dagster_event.message for r in failure] == [message]
        assert instance.event_log_storage.get_concurrency_info(POOL).active_slot_count == 0

        cursor = _evaluate_failure_alerts(instance, receiver.webhook_url, cursor)
        assert len(receiver.texts()) == 1
        assert run.run_id in receiver.texts()[0] and message in receiver.texts()[0]

        # The next night: it takes the pool's slot and finishes; a second sweep and tick find nothing new.
        following = run_sleeping_night(instance, seconds=0.1)
        assert following.success
        assert fail_runs_of_lost_workers(instance) == []
        _evaluate_failure_alerts(instance, receiver.webhook_url, cursor)
        assert len(receiver.texts()) == 1


def test_a_recycled_pid_is_not_mistaken_for_the_worker(instance):
    """The pid is alive (this test's own process) but started at another time: the run's worker is gone."""
    tags = {**worker_tags(), PROCESS_START_TAG: "another-boot:1"}
    planted = _add_started_run(instance, tags)
    assert [r.run_id for r in fail_runs_of_lost_workers(instance)] == [planted.run_id]
    assert instance.get_run_by_id(planted.run_id).status == dg.DagsterRunStatus.FAILURE


def test_runs_of_live_workers_other_hosts_and_the_daemon_are_left_alone(instance):
    alive = _add_started_run(instance, worker_tags())
    elsewhere = _add_started_run(instance, {PID_TAG: str(_dead_pid()), HOST_TAG: f"not-{this_host()}"})
    launched_by_daemon = _add_started_run(instance, {})
    gone = _add_started_run(instance, {PID_TAG: str(_dead_pid()), HOST_TAG: this_host()})

    assert [r.run_id for r in fail_runs_of_lost_workers(instance)] == [gone.run_id]
    statuses = {run.run_id: instance.get_run_by_id(run.run_id).status
                for run in (alive, elsewhere, launched_by_daemon, gone)}
    assert statuses == {alive.run_id: dg.DagsterRunStatus.STARTED, elsewhere.run_id: dg.DagsterRunStatus.STARTED,
                        launched_by_daemon.run_id: dg.DagsterRunStatus.STARTED,
                        gone.run_id: dg.DagsterRunStatus.FAILURE}


def test_the_daemon_sweeps_too(instance):
    from leadloop.orchestration.definitions import defs

    assert defs.get_sensor_def("fail_runs_of_lost_workers") is fail_runs_of_lost_workers_sensor
    gone = _add_started_run(instance, {PID_TAG: str(_dead_pid()), HOST_TAG: this_host()})
    with dg.build_sensor_context(instance=instance) as context:
        skip = fail_runs_of_lost_workers_sensor(context)
    assert gone.run_id in skip.skip_message
    assert instance.get_run_by_id(gone.run_id).status == dg.DagsterRunStatus.FAILURE


def test_a_night_fails_lost_runs_before_it_creates_its_own(instance, monkeypatch, private_warehouse):
    from leadloop.orchestration import night
    from leadloop.orchestration.launch import LaunchedRun

    gone = _add_started_run(instance, {PID_TAG: str(_dead_pid()), HOST_TAG: this_host()})
    seen = []

    def fake_run_job(job_name, instance, **kwargs):
        seen.append((job_name, instance.get_run_by_id(gone.run_id).status))
        return LaunchedRun(run_id="tonight", success=True)

    monkeypatch.setattr(night, "run_job", fake_run_job)
    night.execute_night("2026-11-20", "2026-11-20", instance)
    assert seen == [("nightly_refresh", dg.DagsterRunStatus.FAILURE)]


def test_instance_config_enables_run_monitoring_without_resume(instance):
    """Dagster's own monitoring is on (daemon-launched runs); the default launcher cannot health-check
    or resume a worker, which is why the sweep exists."""
    assert instance.run_monitoring_enabled and instance.run_monitoring_max_resume_run_attempts == 0
    assert not instance.run_launcher.supports_check_run_worker_health
    assert "MONITORING" in instance.get_required_daemon_types()
