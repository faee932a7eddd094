"""Issue 14: BI reads a published copy of the marts, never the file the night writes."""

from __future__ import annotations

import subprocess
import sys
import time

import duckdb
import pytest

from leadloop import settings
from leadloop.publish import read_published_night
from leadloop.warehouse import WarehouseInUse, ensure_writable


def _marts(path) -> dict[str, list]:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [t for (t,) in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts' order by 1").fetchall()]
        return {t: con.execute(f'select * from marts."{t}" order by all').fetchall() for t in tables}


def _comments(path) -> set[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return set(con.execute("select table_name, column_name, comment from duckdb_columns()"
                               " where schema_name = 'marts' and comment is not null").fetchall())


@pytest.mark.e2e
def test_the_published_file_holds_the_nights_marts_row_for_row_with_their_docs(demo_night, demo_night_run):
    published = settings.published_marts_path()
    assert published.parent == demo_night.parent and published != demo_night
    work_marts = _marts(demo_night)
    assert len(work_marts) >= 15 and _marts(published) == work_marts
    assert _comments(published) == _comments(demo_night) != set()
    night = read_published_night()
    assert night.whole and night.marts == len(work_marts)
    # the run that published it (this session's night, or the rerun of tests/test_demo_funnel.py)
    assert night.run_id and not list(published.parent.glob(f".{published.name}.*"))


@pytest.mark.integration
def test_a_reader_holding_the_warehouse_file_is_named_before_the_night_writes(private_warehouse):
    private_warehouse.parent.mkdir(parents=True)
    with duckdb.connect(str(private_warehouse)) as con:
        con.execute("create table t as select 1 as x")
    holder = subprocess.Popen([sys.executable, "-c",
                               ("import duckdb, sys, time; held = duckdb.connect(sys.argv[1], read_only=True);"
                               " print('open', flush=True); time.sleep(60)"), str(private_warehouse)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(WarehouseInUse) as raised:
            ensure_writable()
    finally:
        holder.kill()
        holder.wait()
    message = str(raised.value)
    assert str(private_warehouse) in message and str(settings.published_marts_path()) in message
    assert f"PID {holder.pid}" in message  # DuckDB names the holder
    time.sleep(0.1)
    ensure_writable()  # once the reader is gone, the night may write


KILLED_PUBLISHER = """
import os, signal
import leadloop.publish as publish
def die_mid_copy(connection):  # the machine dies while the new file is being written
    os.kill(os.getpid(), signal.SIGKILL)
publish._copy_labels = die_mid_copy
publish.publish_duckdb_marts("killed-night")
"""


def test_a_publication_killed_mid_write_leaves_nothing_the_next_one_does_not_clear(private_warehouse):
    """Drill 2 of the crash drills (SIGKILL during published__marts): the half-written copy and DuckDB's
    write-ahead log beside it are gone after the next night's publication, and readers see that night."""
    from leadloop.publish import publish_duckdb_marts

    private_warehouse.parent.mkdir(parents=True)
    with duckdb.connect(str(private_warehouse)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.mart_x as select range as x from range(100000)")
    killed = subprocess.run([sys.executable, "-c", KILLED_PUBLISHER], check=False, capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr[-2000:]
    leftovers = sorted(p.name for p in private_warehouse.parent.glob(".leadloop_marts.duckdb.*"))
    assert leftovers and leftovers[0] == ".leadloop_marts.duckdb.killed-night.building"
    publish_duckdb_marts("next-night")
    assert list(private_warehouse.parent.glob(".leadloop_marts.duckdb.*")) == []
    assert read_published_night().run_id == "next-night"
    assert _marts(settings.published_marts_path())["mart_x"][-1] == (99999,)
