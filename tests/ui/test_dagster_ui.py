"""Acceptance (issue 5, and runs started from the command line): `leadloop ui`, the real console
script, serves the Dagster UI from workspace.yaml (code location `leadloop`). In a real headless
Chromium it shows the lineage from a raw table to mart_funnel, launches a materialization that
succeeds, and lists a run started the CLI's way on the job's Runs page; SIGTERM to leadloop then
ends every process it started. Screenshots are kept in test-artifacts/ (LEADLOOP_TEST_ARTIFACTS).

One `leadloop ui` serves the whole module (it takes ~20 s to come up); the SIGTERM test stops it,
so it is the module's last test (pytest runs a module's tests in file order)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import pytest

from leadloop import settings

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("LEADLOOP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = Path(os.environ.get("LEADLOOP_TEST_ARTIFACTS", settings.PROJECT_ROOT / "test-artifacts"))
LEADLOOP = Path(sys.executable).with_name("leadloop")  # the console script of this environment
STARTUP_SECONDS = 180
STOP_SECONDS = 40  # leadloop's grace period for dagster dev is 15 s, then SIGKILL

# The UI's own queries (dagster-webserver's ui-core, 1.13): a job's Runs tab (PipelineRunsFeedRoot)
# filters on the job and the repository label tag; the Overview timeline (useRunsForTimeline) asks
# for finished runs updated in its window and drops runs without a repository origin or start time.
RUNS_TAB_QUERY = """
query RunsFeedRootQuery($limit: Int!, $cursor: String, $filter: RunsFilter, $view: RunsFeedView!) {
  runsFeedOrError(limit: $limit, cursor: $cursor, filter: $filter, view: $view) {
    ... on RunsFeedConnection {
      results {
        __typename
        id
        runStatus
        jobName
        ... on Run { repositoryOrigin { id repositoryLocationName repositoryName } }
      }
    }
    ... on PythonError { message }
  }
}"""
TIMELINE_QUERY = """
query CompletedRunTimelineQuery($completedFilter: RunsFilter!, $limit: Int!, $cursor: String) {
  completed: runsOrError(filter: $completedFilter, limit: $limit, cursor: $cursor) {
    ... on Runs {
      results {
        id
        pipelineName
        externalJobSource
        tags { key value }
        repositoryOrigin { id repositoryName repositoryLocationName }
        status
        creationTime
        startTime
        endTime
        updateTime
      }
    }
  }
}"""
LOCATIONS_QUERY = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"


@dataclass
class LeadloopUi:
    """A running `leadloop ui`: the process, its URL and the folders it was given."""

    process: subprocess.Popen[bytes]
    url: str
    dagster_home: Path
    warehouse_dir: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"Dagster webserver did not answer on {url} within {seconds} s")


def _graphql(base_url: str, query: str, variables: dict | None = None) -> dict:
    """POST one GraphQL query to the webserver, as the UI does; the `data` of the answer."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(f"{base_url}/graphql", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        payload = json.load(answer)
    assert "errors" not in payload, payload["errors"]
    return payload["data"]


def _wait_for_location(base_url: str, name: str, seconds: float) -> None:
    """Until the webserver has loaded code location `name` (the UI's pages need it)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        entries = _graphql(base_url, LOCATIONS_QUERY)["workspaceOrError"]["locationEntries"]
        if {(entry["name"], entry["loadStatus"]) for entry in entries} >= {(name, "LOADED")}:
            return
        time.sleep(0.5)
    raise TimeoutError(f"code location {name!r} did not load within {seconds} s")


def _proc_stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat fields after the command name: state, ppid, pgrp, ... (None once gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _all_processes() -> dict[int, list[str]]:
    stats = {int(entry): _proc_stat(int(entry)) for entry in os.listdir("/proc") if entry.isdigit()}
    return {pid: fields for pid, fields in stats.items() if fields is not None}


def _process_tree(root: int) -> dict[int, tuple[int, str]]:
    """The root and every descendant: pid -> (process group, start time); the start time tells a
    process from a later one that reuses its pid."""
    processes = _all_processes()
    tree, frontier = {}, [root]
    while frontier:
        pid = frontier.pop()
        if pid in processes:
            tree[pid] = (int(processes[pid][2]), processes[pid][19])
            frontier += [child for child, fields in processes.items() if int(fields[1]) == pid]
    return tree


def _still_running(tree: dict[int, tuple[int, str]], groups: set[int]) -> list[int]:
    """Processes of `tree` (same pid and start time) or of `groups` that have not ended (zombies have)."""
    running = []
    for pid, fields in _all_processes().items():
        if fields[0] == "Z":
            continue
        if (pid in tree and tree[pid][1] == fields[19]) or int(fields[2]) in groups:
            running.append(pid)
    return running


def _describe(pids: list[int]) -> list[str]:
    def command(pid: int) -> str:
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:160]
        except OSError:
            return "?"
    return [f"{pid}: {command(pid)}" for pid in pids]


@pytest.fixture(scope="module")
def leadloop_ui(tmp_path_factory) -> Iterator[LeadloopUi]:
    """`leadloop ui --port <free port>` with its own DAGSTER_HOME and warehouse, until the module ends."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium (scripts/test.sh does)")
    root = tmp_path_factory.mktemp("leadloop_ui")
    home, warehouse = root / "dagster_home", root / "warehouse"
    home.mkdir()
    shutil.copy(settings.PROJECT_ROOT / "dagster.yaml", home)
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "LEADLOOP_WAREHOUSE_DIR": str(warehouse),
           "LEADLOOP_DUCKDB_PATH": str(warehouse / "leadloop.duckdb")}
    log_path = root / "leadloop-ui.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([str(LEADLOOP), "ui", "--demo", "--port", str(port)], cwd=settings.PROJECT_ROOT,
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
        tree: dict[int, tuple[int, str]] = {}
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_for(f"{url}/server_info", STARTUP_SECONDS)
            _wait_for_location(url, "leadloop", STARTUP_SECONDS)
            tree = _process_tree(process.pid)
            yield LeadloopUi(process, url, home, warehouse)
        finally:
            if process.poll() is None:  # the SIGTERM test did not run or did not stop it
                tree |= _process_tree(process.pid)
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            for pid in _still_running(tree, set()):  # never leave a process behind, even on failure
                os.kill(pid, signal.SIGKILL)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(log_path, ARTIFACTS / "leadloop-ui.log")


def _running(ui: LeadloopUi) -> str:
    """The UI's URL, after checking it still runs (the SIGTERM test, last in the module, stops it)."""
    assert ui.process.poll() is None, "leadloop ui has stopped: the SIGTERM test must run last"
    return ui.url


def _dismiss_welcome_dialog(page) -> None:
    """A first visit shows Dagster's community dialog over the page; a user would skip it."""
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(state="visible", timeout=5_000)
    except Exception:  # noqa: BLE001 - the dialog is only shown once per DAGSTER_HOME
        return
    skip.click()
    skip.wait_for(state="hidden", timeout=10_000)


@contextmanager
def _browser_page() -> Iterator[Page]:
    """A page of a fresh headless Chromium; a failure inside leaves test-artifacts/failure.png."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        try:
            yield page
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "failure.png"), full_page=True)
            raise
        finally:
            browser.close()


def test_lineage_and_a_materialization_from_the_ui(leadloop_ui):
    from playwright.sync_api import expect

    url = _running(leadloop_ui)
    with _browser_page() as page:
        page.goto(f"{url}/assets/marts/mart_funnel?view=lineage&lineageScope=upstream&lineageDepth=6")
        _dismiss_welcome_dialog(page)
        # The upstream lineage reaches back to the raw CRM tables.
        expect(page.get_by_text("leads", exact=True).first).to_be_visible(timeout=60_000)
        expect(page.get_by_text("mart_funnel").first).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "lineage_mart_funnel.png"), full_page=True)

        page.goto(f"{url}/assets/raw_neocrm/leads")
        materialize = page.locator("button:has-text('Materialize')").first
        expect(materialize).to_be_visible(timeout=60_000)
        materialize.click()
        expect(page.get_by_text("Launched run").first).to_be_visible(timeout=30_000)
        page.goto(f"{url}/runs")
        expect(page.get_by_text("Success").first).to_be_visible(timeout=120_000)
        page.screenshot(path=str(ARTIFACTS / "run_succeeded.png"), full_page=True)


def _runs_tab_ids(url: str, job_name: str) -> set[str]:
    """Run ids the job's Runs tab lists: its filter is the job name and the repository label tag."""
    repository = {"key": ".dagster/repository", "value": "__repository__@leadloop"}
    variables = {"limit": 30, "view": "RUNS", "filter": {"pipelineName": job_name, "tags": [repository]}}
    feed = _graphql(url, RUNS_TAB_QUERY, variables)["runsFeedOrError"]
    return {entry["id"] for entry in feed["results"]}


def _timeline_runs(url: str) -> dict[str, dict]:
    """Finished runs of the timeline's default 12-hour window (the UI asks hour by hour), by id."""
    now = time.time()
    variables = {"limit": 500, "completedFilter": {"statuses": ["FAILURE", "SUCCESS", "CANCELED"],
                                                   "updatedAfter": now - 12 * 3600, "updatedBefore": now}}
    return {run["id"]: run for run in _graphql(url, TIMELINE_QUERY, variables)["completed"]["results"]}


def _on_timeline(run: dict | None) -> bool:
    """What useRunsForTimeline keeps: a run with a start time and a repository origin."""
    return bool(run and run["startTime"] is not None and run["repositoryOrigin"])


def test_a_run_started_the_cli_way_is_listed_like_a_ui_run(leadloop_ui, demo_world, monkeypatch):
    """One source's raw tables, run through src/leadloop/orchestration/launch.py against the webserver's
    DAGSTER_HOME, show in the job's Runs tab and on the timeline; an execute_in_process run does not."""
    from playwright.sync_api import expect

    from leadloop.demo.serve import running_demo_sources
    from leadloop.orchestration.definitions import defs
    from leadloop.orchestration.launch import run_job

    url = _running(leadloop_ui)
    monkeypatch.setenv("LEADLOOP_WAREHOUSE_DIR", str(leadloop_ui.warehouse_dir))
    monkeypatch.setenv("LEADLOOP_DUCKDB_PATH", str(leadloop_ui.warehouse_dir / "leadloop.duckdb"))
    graph = defs.resolve_asset_graph()
    wecom = [key for key in graph.get_all_asset_keys() if key.path[0] == "raw_wecom"]
    with running_demo_sources(demo_world), \
            dg.DagsterInstance.from_config(str(leadloop_ui.dagster_home)) as instance:
        cli_run = run_job("nightly_refresh", instance, asset_selection=wecom)
        no_origin = defs.resolve_job_def("nightly_refresh").execute_in_process(instance=instance,
                                                                             asset_selection=wecom)
    assert cli_run.success and no_origin.success

    runs_tab = _runs_tab_ids(url, "nightly_refresh")
    assert cli_run.run_id in runs_tab
    assert no_origin.run_id not in runs_tab  # the query really is the UI's filter
    timeline = _timeline_runs(url)
    assert _on_timeline(timeline.get(cli_run.run_id))
    assert timeline[cli_run.run_id]["repositoryOrigin"]["repositoryLocationName"] == "leadloop"
    assert not _on_timeline(timeline.get(no_origin.run_id))

    with _browser_page() as page:
        page.goto(f"{url}/locations/leadloop/jobs/nightly_refresh/runs")
        _dismiss_welcome_dialog(page)
        expect(page.get_by_text(cli_run.run_id[:8]).first).to_be_visible(timeout=60_000)
        expect(page.get_by_text(no_origin.run_id[:8])).to_have_count(0)
        page.screenshot(path=str(ARTIFACTS / "cli_run_on_job_runs_page.png"), full_page=True)


def test_sigterm_to_leadloop_ui_stops_every_process_it_started(leadloop_ui):
    """Last in the module: it stops the module's `leadloop ui`."""
    _running(leadloop_ui)
    leadloop = leadloop_ui.process.pid
    tree = _process_tree(leadloop)
    dagster_groups = {group for group, _ in tree.values()} - {os.getpgid(leadloop)}
    # leadloop, dagster dev, webserver, daemon, code server and its gRPC server; dagster dev's own group
    assert len(tree) >= 6, _describe(list(tree))
    assert len(dagster_groups) == 1, _describe(list(tree))

    leadloop_ui.process.send_signal(signal.SIGTERM)
    assert leadloop_ui.process.wait(timeout=STOP_SECONDS) == 0
    deadline = time.monotonic() + 5  # leadloop waits for its group; what is left now stays
    while (left := _still_running(tree, dagster_groups)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left == [], _describe(left)
