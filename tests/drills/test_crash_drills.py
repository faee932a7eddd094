"""Issue 15: crash drills. A night is killed with SIGKILL at a seeded random moment — the whole process
group, dbt included, as when the machine dies — and the next night runs normally. After every drill
the marts equal those of a night that never crashed, the raw tables hold the same rows, the killed
run is marked failed in Dagster's storage, and the published marts are whole.

Each drill starts from an empty warehouse with three sources (a CRM, an ad platform with daily report
partitions, WeCom), so kills land in extraction, dlt loads, identity, dbt, the checks and publishing.
`LEADLOOP_CRASH_DRILLS` sets how many drills run (default 1, seeds 1..N; the issue's set is 20):

    LEADLOOP_CRASH_DRILLS=20 bash scripts/test.sh tests/drills -s
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from leadloop import settings
from leadloop.demo.digital import business_day
from leadloop.privacy.salt import SALT_ENV

pytestmark = pytest.mark.e2e

DRILL_SOURCES = ("neocrm", "baidu_sem", "wecom")
DRILLS = int(os.environ.get("LEADLOOP_CRASH_DRILLS", "1"))
LEADLOOP = str(Path(sys.executable).with_name("leadloop"))
# When a night's raw tables last loaded: the only mart columns that differ between two good nights.
RUN_TIME_COLUMNS = {"mart_data_sources": {"source_last_loaded_at"}}


@dataclass
class NightProcess:
    """One `leadloop night` in its own process: how it ended and how long it ran."""

    returncode: int
    seconds: float
    killed: bool
    log: Path


def night_in_a_process(folder: Path, sources_environment: dict[str, str], day: str,
                       kill_after: float | None = None) -> NightProcess:
    """`leadloop night --day` on the warehouse in `folder`, in a new process group; SIGKILL to the whole
    group after `kill_after` seconds if it is still running."""
    home = folder / "dagster_home"
    if not home.exists():
        home.mkdir(parents=True)
        shutil.copy(settings.PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    environment = {**os.environ, **sources_environment, "LEADLOOP_WAREHOUSE_DIR": str(folder),
                   "LEADLOOP_DUCKDB_PATH": str(folder / "leadloop.duckdb"), "DAGSTER_HOME": str(home)}
    environment.pop("LEADLOOP_PUBLISHED_PATH", None)
    log = folder / f"night-{int(time.time() * 1000)}.log"
    started = time.monotonic()
    with log.open("w") as output:
        process = subprocess.Popen([LEADLOOP, "night", "--day", day], env=environment, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            process.wait(timeout=kill_after if kill_after is not None else 900)
            killed = False
        except subprocess.TimeoutExpired:
            if kill_after is None:
                raise
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            killed = True
    return NightProcess(process.returncode, time.monotonic() - started, killed, log)


def runs(folder: Path) -> list[dg.DagsterRun]:
    from dagster._core.instance.ref import InstanceRef

    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(folder / "dagster_home"))) as instance:
        return list(reversed(instance.get_runs()))


def step_in_progress(folder: Path, run: dg.DagsterRun) -> str:
    """The step (or steps) the killed run had started and not finished."""
    from dagster._core.instance.ref import InstanceRef

    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(folder / "dagster_home"))) as instance:
        started, ended = [], set()
        for record in instance.get_records_for_run(run.run_id).records:
            event = record.event_log_entry.dagster_event
            if event is None or event.step_key is None:
                continue
            if event.event_type == dg.DagsterEventType.STEP_START:
                started.append(event.step_key)
            elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE,
                                      dg.DagsterEventType.STEP_SKIPPED):
                ended.add(event.step_key)
    open_steps = [step for step in started if step not in ended]
    return ", ".join(open_steps) or ("before the first step" if not started else "between steps")


def warehouse_contents(folder: Path) -> dict[str, list]:
    """Every mart's rows (sorted, run-time columns left out) and every raw table's row count."""
    contents = {}
    with duckdb.connect(str(folder / "leadloop_marts.duckdb"), read_only=True) as published:
        for (table,) in published.execute("select table_name from duckdb_tables() where schema_name = 'marts'"
                                          " order by 1").fetchall():
            columns = [c for (c,) in published.execute(
                "select column_name from duckdb_columns() where schema_name = 'marts' and table_name = ?"
                " order by column_index", [table]).fetchall() if c not in RUN_TIME_COLUMNS.get(table, ())]
            selected = ", ".join(f'"{c}"' for c in columns)
            contents[f"marts.{table}"] = published.execute(
                f'select {selected} from marts."{table}" order by all').fetchall()
    with duckdb.connect(str(folder / "leadloop.duckdb"), read_only=True) as work:
        for schema, table in work.execute(
                "select schema_name, table_name from duckdb_tables() where schema_name like 'raw_%'"
                " and table_name not like '_dlt_%' order by 1, 2").fetchall():
            contents[f"{schema}.{table}"] = work.execute(f'select count(*) from "{schema}"."{table}"').fetchall()
    return contents


@dataclass
class DrillGround:
    environment: dict[str, str]
    day: str
    clean: NightProcess
    clean_contents: dict[str, list]


@pytest.fixture(scope="module")
def drill_ground(demo_world, tmp_path_factory):
    """The three sources served for the module, and the night that never crashed."""
    from leadloop.demo.serve import running_demo_sources

    day = (business_day(demo_world.as_of_ms) - timedelta(days=1)).isoformat()
    with running_demo_sources(demo_world, sorted(DRILL_SOURCES)) as demo:
        environment = {k: v for k, v in demo.source_environment().items() if k != "LEADLOOP_ALERT_WEBHOOK_URL"}
        # One salt for every drill's warehouse, as a deployment configures it: customer ids and the marts' hashes
        # are salted, and each folder would otherwise make a salt of its own.
        environment[SALT_ENV] = "crash-drill-salt"
        folder = tmp_path_factory.mktemp("clean-night")
        clean = night_in_a_process(folder, environment, day)
        assert clean.returncode == 0, clean.log.read_text()[-3000:]
        yield DrillGround(environment, day, clean, warehouse_contents(folder))


@pytest.mark.parametrize("seed", range(1, DRILLS + 1))
def test_a_night_killed_at_a_random_moment_is_made_whole_by_the_next(drill_ground, seed, tmp_path):
    kill_after = random.Random(seed).uniform(3.0, drill_ground.clean.seconds * 0.97)
    killed = night_in_a_process(tmp_path, drill_ground.environment, drill_ground.day, kill_after=kill_after)
    killed_runs = runs(tmp_path)
    where = step_in_progress(tmp_path, killed_runs[-1]) if killed_runs else "before the run was created"
    print(f"\ndrill {seed}: SIGKILL after {kill_after:.1f} s of {drill_ground.clean.seconds:.1f} s, during {where}"
          + ("" if killed.killed else " (the night had already ended)"))

    recovery = night_in_a_process(tmp_path, drill_ground.environment, drill_ground.day)
    assert recovery.returncode == 0, recovery.log.read_text()[-4000:]
    statuses = [run.status for run in runs(tmp_path)]
    assert statuses[-1] == dg.DagsterRunStatus.SUCCESS
    assert dg.DagsterRunStatus.STARTED not in statuses  # the killed run was marked failed, not left running
    contents = warehouse_contents(tmp_path)
    differing = sorted(name for name in drill_ground.clean_contents.keys() | contents.keys()
                       if drill_ground.clean_contents.get(name) != contents.get(name))
    assert differing == [], f"drill {seed} ({where}): differs from the clean night: {differing}"
    assert not list(tmp_path.glob(".leadloop_marts.duckdb.*"))  # no half-written publication left
