"""One demo night for the whole test session, however many pytest-xdist workers run it.

The first worker that needs the night builds it (about two minutes); the others wait on a file lock and
then take a copy: the warehouse folder, and the run with its event log, which they store in their own
in-memory Dagster instance so that tests read run records as if the night had run there. Workers keep
their own copies because some tests change the session's warehouse in place (a second night on it).
"""

from __future__ import annotations

import fcntl
import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

WAREHOUSE, RUN, SNAPSHOTS, EVENTS, LOG_LINES = "warehouse", "run.json", "snapshots.json", "events.json", "log_lines.json"


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on a file (released when the process dies, so a crashed builder frees it)."""
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def shared_night(folder: Path, warehouse: Path, instance, log_lines: list[str],
                 build: Callable[[], str]) -> str:
    """The run id of the session's demo night in `instance`, with its warehouse at `warehouse`: built here by
    `build` (which returns the run id) and published into `folder`, or copied from `folder` if another
    worker built it."""
    from dagster._serdes import deserialize_value, serialize_value

    folder.mkdir(parents=True, exist_ok=True)
    with _exclusive(folder / "lock"):
        if not (folder / RUN).exists():
            run_id = build()
            shutil.copytree(warehouse, folder / WAREHOUSE)
            run = instance.get_run_by_id(run_id)
            (folder / SNAPSHOTS).write_text(serialize_value([  # a run record needs the snapshots it names
                instance.get_job_snapshot(run.job_snapshot_id),
                instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)]))
            (folder / EVENTS).write_text(serialize_value(list(instance.all_logs(run_id))))
            (folder / LOG_LINES).write_text(json.dumps(log_lines))
            (folder / RUN).write_text(serialize_value(run))  # last: the marker that the night is there
            return run_id
    shutil.copytree(folder / WAREHOUSE, warehouse, dirs_exist_ok=True)
    run = deserialize_value((folder / RUN).read_text())
    job_snapshot, plan_snapshot = deserialize_value((folder / SNAPSHOTS).read_text())
    instance.run_storage.add_job_snapshot(job_snapshot)
    instance.run_storage.add_execution_plan_snapshot(plan_snapshot)
    instance.add_run(run)
    for event in deserialize_value((folder / EVENTS).read_text()):
        instance.event_log_storage.store_event(event)
    log_lines.extend(json.loads((folder / LOG_LINES).read_text()))
    return run.run_id
