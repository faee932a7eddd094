"""Test session set-up: a private warehouse and DAGSTER_HOME, and a guard that keeps every
connection on 127.0.0.1 (acceptance: nothing in the tests reaches beyond this machine)."""

from __future__ import annotations

import ipaddress
import logging
import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="leadloop-tests-"))
BLOCKED_CONNECTIONS: list[str] = []


def _is_local(address: object) -> bool:
    """True for loopback addresses and Unix sockets."""
    if not isinstance(address, tuple):
        return True  # AF_UNIX path
    host = address[0]
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_local(address):
        BLOCKED_CONNECTIONS.append(repr(address))
        raise ConnectionRefusedError(f"leadloop tests never leave 127.0.0.1 (tried {address!r})")
    return _original_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _is_local(address):
        BLOCKED_CONNECTIONS.append(repr(address))
        return 111  # ECONNREFUSED
    return _original_connect_ex(self, address)


def pytest_configure(config: pytest.Config) -> None:
    """Point leadloop at throw-away folders before any leadloop module is imported."""
    dagster_home = _SESSION_DIR / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    os.environ["LEADLOOP_WAREHOUSE_DIR"] = str(_SESSION_DIR / "warehouse")
    os.environ.pop("LEADLOOP_DUCKDB_PATH", None)
    os.environ.pop("LEADLOOP_WAREHOUSE", None)
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    # Subprocesses (dbt) cannot be patched: any HTTP they attempt goes to a dead local port.
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        os.environ[key] = "http://127.0.0.1:9"
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    # What an entry point does before the Dagster definitions load (importing them changes nothing).
    from leadloop import settings
    from leadloop.orchestration.dbt_project import prepare_manifest

    settings.apply_environment()
    prepare_manifest()


# Modules of pure Python: no server, simulator, warehouse or subprocess.
UNIT_MODULES = {"test_normalize.py", "test_layers.py", "test_readme.py", "test_processes.py", "test_house_style.py"}
# Modules that run dbt, PostgreSQL or a whole pipeline in every test: end to end.
E2E_FOLDERS = {"dbt", "ui"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test is unit, integration or e2e: e2e where marked (or in tests/dbt, tests/ui), unit for
    the pure modules, integration otherwise. `pytest -m "not e2e"` is the fast lane."""
    for item in items:
        path = item.path
        if path.parent.name in E2E_FOLDERS and path.parent.parent.name == "tests":
            item.add_marker(pytest.mark.e2e)
        if item.get_closest_marker("e2e"):
            continue
        item.add_marker(pytest.mark.unit if path.name in UNIT_MODULES else pytest.mark.integration)
    if hasattr(config, "workerinput"):  # a pytest-xdist worker (xdist tells workers their dist is "no")
        items[:] = _in_worker_order(items)


def _in_worker_order(items: list[pytest.Item]) -> list[pytest.Item]:
    """The order workers take the units in (scripts/test.sh turns xdist's own reordering off): first one unit
    that needs the session's demo night, so one worker builds it at once while the other runs end-to-end
    units with nights of their own; then the other end-to-end units (the long ones of EARLY_NIGHT_UNITS
    first), the longest stretch; the quick units last, where they even out the workers' finishing times."""
    units: dict[str, list[pytest.Item]] = {}
    for item in items:
        units.setdefault(_xdist_scope(item.nodeid), []).append(item)

    def needs_session_night(unit: list[pytest.Item]) -> bool:
        return any("demo_night_run" in getattr(item, "fixturenames", ()) for item in unit)

    def is_e2e(unit: list[pytest.Item]) -> bool:
        return any(item.get_closest_marker("e2e") for item in unit)

    ordered = list(units.values())
    first = next((unit for unit in ordered if needs_session_night(unit) and is_e2e(unit)), None)
    rank = {id(unit): (0 if unit is first else 1 if is_e2e(unit) and not needs_session_night(unit)
                       else 2 if _xdist_scope(unit[0].nodeid) in EARLY_NIGHT_UNITS
                       else 3 if is_e2e(unit) else 4) for unit in ordered}
    ordered.sort(key=lambda unit: rank[id(unit)])  # stable: collection order within a rank
    return [item for unit in ordered for item in unit]


# Parallel runs (pytest-xdist, --dist loadscope; scripts/test.sh asks for it) hand each worker whole
# modules, so a module's fixtures (a `leadloop ui`, a PostgreSQL night, a second demo night) start once.
# A module listed here is handed out one parameter at a time instead: its module-scoped fixture is
# parametrised, pytest builds it once per parameter anyway, and its five subset nights are the
# longest stretch of the suite, so the workers share them.
SPLIT_BY_PARAMETER = {"tests/test_source_subsets.py"}
# Long units that read the session's night: the first of those taken after the night is there, so that
# they do not end the suite on one worker (the Spark build takes ~3 minutes).
EARLY_NIGHT_UNITS = {"tests/dbt/test_spark.py"}


def _xdist_scope(nodeid: str) -> str:
    """The unit a worker receives: the module, or module + parameter for SPLIT_BY_PARAMETER."""
    module = nodeid.split("::", 1)[0]
    if module in SPLIT_BY_PARAMETER and nodeid.endswith("]"):
        return f"{module}[{nodeid.rsplit('[', 1)[1]}"
    return module


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """Under --dist loadscope: modules as units, SPLIT_BY_PARAMETER modules per parameter."""
    if config.getoption("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _xdist_scope(nodeid)

    return ModuleScheduling(config, log)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the session's folders."""
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def session_dir() -> Path:
    """The session's private folder (warehouse, DAGSTER_HOME)."""
    return _SESSION_DIR


@pytest.fixture(scope="session")
def demo_world():
    """The default demo company (seed, scale 1, fixed today)."""
    from leadloop.demo.world import simulate

    return simulate()


@pytest.fixture(scope="session")
def night_instance():
    """The session's Dagster instance for demo nights: in memory, so a night's thousands of events
    (one per ad-report partition and asset) cost no SQLite writes. Tests that are about run storage
    use their own."""
    import dagster as dg

    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


class KeptLogRecords(logging.Handler):
    """Every Python log line emitted while attached, formatted as a log file would hold it."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="session")
def demo_night_logs() -> KeptLogRecords:
    """The Python log lines of the session's demo night (at the levels its loggers are set to)."""
    return KeptLogRecords()


@pytest.fixture(scope="session")
def demo_night_run(demo_world, night_instance, demo_night_logs, tmp_path_factory):
    """The session's one nightly_refresh run of the whole pipeline on the demo company, into DuckDB.

    Tests read its warehouse (`demo_night`) and its run (this); tests that change the warehouse work
    on a copy (`warehouse_copy`). Under pytest-xdist the first worker to need it builds it and the
    others copy it (tests/support/shared_night.py)."""
    from leadloop import settings
    from leadloop.cli import demo_night as run_demo_night
    from leadloop.demo.serve import running_demo_sources
    from tests.support.shared_night import shared_night

    def build() -> str:
        logging.getLogger().addHandler(demo_night_logs)
        try:
            with running_demo_sources(demo_world) as demo:
                result = run_demo_night(demo, night_instance)
        finally:
            logging.getLogger().removeHandler(demo_night_logs)
        assert result.success, "nightly_refresh failed on the demo company"
        return result.run_id

    if os.environ.get("PYTEST_XDIST_WORKER"):
        # The workers' base temp folders share a parent: the session's meeting point.
        folder = tmp_path_factory.getbasetemp().parent / "session_demo_night"
        run_id = shared_night(folder, settings.warehouse_dir(), night_instance, demo_night_logs.lines, build)
    else:
        run_id = build()
    return night_instance.get_run_by_id(run_id)


@pytest.fixture(scope="session")
def demo_night(demo_night_run):
    """The DuckDB file the session's demo night built."""
    from leadloop import settings

    return settings.duckdb_path()


@pytest.fixture
def warehouse_copy(demo_night, tmp_path, monkeypatch):
    """A copy of the session's warehouse folder (DuckDB file and dlt state) that the test may change."""
    source = demo_night.parent
    copy = tmp_path / "warehouse"
    shutil.copytree(source, copy)
    monkeypatch.setenv("LEADLOOP_WAREHOUSE_DIR", str(copy))
    monkeypatch.setenv("LEADLOOP_DUCKDB_PATH", str(copy / demo_night.name))
    return copy / demo_night.name


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server for the session (Debian binaries, password auth, 127.0.0.1)."""
    from tests.support.postgres import start_postgres

    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture
def private_warehouse(tmp_path, monkeypatch):
    """A DuckDB warehouse of the test's own, so what it does harms no other test."""
    monkeypatch.setenv("LEADLOOP_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    monkeypatch.setenv("LEADLOOP_DUCKDB_PATH", str(tmp_path / "warehouse" / "leadloop.duckdb"))
    return tmp_path / "warehouse" / "leadloop.duckdb"
