"""Issue 16, acceptance 2: seven incremental nights give every mart one full refresh gives, row for row.

The session's demo night holds the whole raw data. A copy of it is turned back a week: the rows of the
last seven days (Sensors events, Baidu and Ocean Engine report days, both CRMs' leads and their status
history) are held back, and a first night builds everything. Then each night brings one more day, and
some nights also bring what real sources do to the past: a corrected old event, a restated report day, a
visitor whose events are all deleted, a lead whose province changes. Every night runs the dbt project
incrementally (`dbt run`, in this process on one parsed manifest). After the seventh, a copy of the
warehouse is rebuilt with `--full-refresh`, and every mart, every incremental model and every digest must
equal it. The last night must also have derived only a part of each incremental model.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from leadloop import settings

pytestmark = pytest.mark.e2e

NIGHTS = 7
# Each raw table held back, with the UTC day ('YYYY-MM-DD') a row arrives on.
ARRIVAL_DAYS = {
    "raw_sensors.events": '"date"',
    "raw_baidu_sem.keyword_daily_report": '"date"',
    "raw_oceanengine.promotion_daily_report": "substr(stat_time_day, 1, 10)",
    "raw_neocrm.leads": "strftime(epoch_ms(created_at), '%Y-%m-%d')",
    "raw_neocrm.lead_status_history": "strftime(epoch_ms(created_at), '%Y-%m-%d')",
    "raw_salesforce.leads": "substr(cast(created_date as varchar), 1, 10)",
    "raw_salesforce.lead_history": "substr(cast(created_date as varchar), 1, 10)",
}
INCREMENTAL_MODELS = ("int_web_touches_classified", "int_ad_performance_days", "int_lead_scores_daily")
DIGEST_MODELS = ("int_web_visitor_events_digested", "int_ad_report_days_digested",
                 "int_journey_scoring_inputs_digested")
BOOKKEEPING = {"derived_by_invocation_id"}  # differs by design between the two builds


def _held_back(table: str) -> str:
    return "night_sources." + table.replace(".", "__")


def _correct_an_old_event(con: duckdb.DuckDBPyConnection, today: str) -> None:
    """Sensors re-sends a month-old page view with its UTM fixed (a late correction)."""
    con.execute(f"""
        update {_held_back('raw_sensors.events')} set utm_source = 'baidu', utm_medium = 'cpc'
        where event_key = (select min(event_key) from {_held_back('raw_sensors.events')}
                           where event = '$pageview' and utm_source is null
                             and "date" < cast(date '{today}' - interval 30 day as varchar))""")


def _restate_a_report_day(con: duckdb.DuckDBPyConnection, today: str) -> None:
    """Baidu restates the report day three weeks back: every keyword's cost doubles."""
    con.execute(f"""
        update {_held_back('raw_baidu_sem.keyword_daily_report')} set cost = cost * 2
        where "date" = cast(date '{today}' - interval 21 day as varchar)""")


def _delete_a_visitor(con: duckdb.DuckDBPyConnection, today: str) -> None:
    """Every event of a visitor who has touches is deleted (a visitor forgotten at the source)."""
    con.execute(f"""
        delete from {_held_back('raw_sensors.events')}
        where user_id = (select max(user_id) from {_held_back('raw_sensors.events')}
                         where event = 'form_submit' and "date" < '{today}')""")


def _move_a_lead(con: duckdb.DuckDBPyConnection, today: str) -> None:
    """A 销售易 lead of an old journey moves to another province (its fit and region weight change)."""
    con.execute(f"""
        update {_held_back('raw_neocrm.leads')} set province = '香港特别行政区'
        where id = (select min(id) from {_held_back('raw_neocrm.leads')}
                    where province is distinct from '香港特别行政区' and "status" is not null)""")


# What each night also brings besides its day (night number → change of the held-back sources).
CHANGES: dict[int, Callable[[duckdb.DuckDBPyConnection, str], None]] = {
    2: _correct_an_old_event, 3: _restate_a_report_day, 4: _delete_a_visitor, 5: _move_a_lead}


@contextmanager
def _pointed_at(path: Path) -> Iterator[None]:
    """dbt's profile reads the warehouse path from the environment."""
    kept = {name: os.environ.get(name) for name in ("LEADLOOP_DUCKDB_PATH", "LEADLOOP_WAREHOUSE")}
    os.environ.update({"LEADLOOP_DUCKDB_PATH": str(path), "LEADLOOP_WAREHOUSE": "duckdb"})
    try:
        yield
    finally:
        for name, value in kept.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class Dbt:
    """The project's dbt in this process: parsed once, then `dbt run` as often as the nights need."""

    def __init__(self, work_dir: Path) -> None:
        from dbt.cli.main import dbtRunner

        self.flags = ["--project-dir", str(settings.DBT_PROJECT_DIR), "--profiles-dir", str(settings.DBT_PROJECT_DIR),
                      "--target-path", str(work_dir / "target"), "--log-path", str(work_dir / "logs"), "--quiet"]
        parsed = dbtRunner().invoke(["parse", *self.flags])
        assert parsed.success, parsed.exception
        self.runner = dbtRunner(manifest=parsed.result)

    def run(self, *args: str) -> None:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager

        result = self.runner.invoke(["run", *args, *self.flags])
        # dbt-duckdb keeps its database open in the process after a run; close it, so that the test (and
        # the next run, on another file of the same name) can open the file as it likes.
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager.close_all_connections()
        failures = [r.message for r in (result.result or []) if r.status not in ("success", "skipped")]
        assert result.success and not failures, failures or result.exception


def _hold_back(con: duckdb.DuckDBPyConnection) -> str:
    """Move every held-back table aside; returns the last day of the data (the seventh night's day)."""
    con.execute("create schema night_sources")
    for table, day in ARRIVAL_DAYS.items():
        con.execute(f"create table {_held_back(table)} as select *, {day} as arrival_day from {table}")
    return con.execute(f"select max(arrival_day) from {_held_back('raw_sensors.events')}").fetchone()[0]


def _serve_up_to(con: duckdb.DuckDBPyConnection, day: str) -> None:
    """The raw tables as the sources give them on `day`: rows that arrived by then."""
    for table in ARRIVAL_DAYS:
        con.execute(f"delete from {table}")
        con.execute(f"insert into {table} select * exclude (arrival_day) from {_held_back(table)} "
                    f"where arrival_day <= '{day}'")


def _invocations(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The dbt invocations that derived the rows the incremental models hold."""
    return {invocation for table in _tables(con, "intermediate", INCREMENTAL_MODELS) for (invocation,) in
            con.execute(f"select distinct derived_by_invocation_id from {table}").fetchall()}


def _tables(con: duckdb.DuckDBPyConnection, schema: str, names: tuple[str, ...] | None = None) -> list[str]:
    rows = con.execute("select table_name from information_schema.tables where table_catalog = current_database() "
                       "and table_schema = ? and table_type = 'BASE TABLE' order by 1", [schema]).fetchall()
    return [f"{schema}.{name}" for (name,) in rows if names is None or name in names]


def _differences(con: duckdb.DuckDBPyConnection, table: str) -> tuple[list[tuple], list[tuple]]:
    """Rows of `table` only the incremental warehouse holds, and only the refreshed one (a few of each)."""
    columns = ", ".join(name for (name,) in con.execute(
        "select column_name from information_schema.columns where table_catalog = current_database() and "
        "table_schema || '.' || table_name = ? order by ordinal_position", [table]).fetchall()
        if name not in BOOKKEEPING)

    def only(first: str, second: str) -> list[tuple]:
        return con.execute(f"select {columns} from {first}.{table} except all select {columns} from {second}.{table} "
                           "order by all limit 3").fetchall()

    nightly = con.execute("select current_database()").fetchone()[0]
    return only(nightly, "refreshed"), only("refreshed", nightly)


@pytest.fixture(scope="module")
def seven_nights(demo_night, tmp_path_factory):
    """(the warehouse after seven incremental nights, its full-refresh twin, rows per model the last
    night derived, rows per model)."""
    work = tmp_path_factory.mktemp("incremental_nights")
    # Both files keep the name leadloop.duckdb: DuckDB names its catalog after the file, and the parsed
    # manifest's relations name that catalog.
    nightly = work / "nightly" / demo_night.name
    nightly.parent.mkdir()
    shutil.copy2(demo_night, nightly)
    dbt = Dbt(work)
    with duckdb.connect(str(nightly)) as con:
        last_day = date.fromisoformat(_hold_back(con))
        _serve_up_to(con, str(last_day - timedelta(days=NIGHTS)))
    with _pointed_at(nightly):
        dbt.run("--full-refresh")  # the first night: the warehouse as it stood a week ago, built in full
        for night in range(1, NIGHTS + 1):
            today = str(last_day - timedelta(days=NIGHTS - night))
            with duckdb.connect(str(nightly)) as con:
                if night in CHANGES:
                    CHANGES[night](con, today)
                _serve_up_to(con, today)
                earlier = _invocations(con)
            dbt.run()
    with duckdb.connect(str(nightly)) as con:
        derived = {table: con.execute(
            f"select count(*) filter (where derived_by_invocation_id not in ?), count(*) from {table}",
            [sorted(earlier)]).fetchone() for table in _tables(con, "intermediate", INCREMENTAL_MODELS)}
    refreshed = work / "refreshed" / demo_night.name
    refreshed.parent.mkdir()
    shutil.copy2(nightly, refreshed)
    with _pointed_at(refreshed):
        dbt.run("--full-refresh")
    return nightly, refreshed, derived


def test_seven_incremental_nights_equal_a_full_refresh(seven_nights):
    nightly, refreshed, _ = seven_nights
    with duckdb.connect(str(nightly)) as con:
        con.execute(f"attach '{refreshed}' as refreshed")
        tables = _tables(con, "marts") + _tables(con, "intermediate", INCREMENTAL_MODELS + DIGEST_MODELS)
        assert len(tables) > 30 and all(f"intermediate.{m}" in tables for m in INCREMENTAL_MODELS)
        differing = {table: found for table in tables if any(found := _differences(con, table))}
        assert differing == {}


def test_the_last_night_derived_only_what_changed(seven_nights):
    """The seventh night (one new day, nothing else) derived a part of each incremental model: the new
    day, and whatever it changed (touches of the day re-derive their people's journeys)."""
    _, _, derived = seven_nights
    assert set(derived) == {f"intermediate.{m}" for m in INCREMENTAL_MODELS}
    shares = {table: new / total for table, (new, total) in derived.items()}
    assert all(0 < new < total for new, total in derived.values()), derived
    assert max(shares.values()) < 0.25, shares
