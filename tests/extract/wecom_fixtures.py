"""Fixtures for the WeCom source tests: the default demo company served over 127.0.0.1, and pipelines.

Expectations are computed from the demo world (`leadloop.demo.digital`) directly, not from the renderer,
so the renderer, the simulator and the extractor are all checked against the world.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlt
import pytest

from leadloop.demo import catalog
from leadloop.demo.digital import DigitalWorld, WecomContact, simulate_digital
from leadloop.demo.model import World
from leadloop.demo.simulators.wecom import WecomSimulator
from leadloop.demo.wecom_records import contact_way_created_ms, render
from leadloop.demo.world import simulate
from leadloop.extract.wecom import wecom_source

CORP_ID, CORP_SECRET = "ww_leadloop_test", "wecom-s3cret"
PAGE_SIZE = 25  # ~150 relations → several pages
MAX_TRIES = 4
DATA_TABLES = ("external_contacts", "follow_relations", "corp_tags", "contact_ways")
BOOKKEEPING = ("content_hash", "is_deleted", "deleted_at", "first_seen_at", "last_changed_at")
Row = tuple[Any, ...]


@dataclass(frozen=True)
class Demo:
    """The default demo company: its CRM world and its digital traces."""

    world: World
    digital: DigitalWorld

    def render(self, as_of_ms: int | None = None) -> Any:
        """The WeCom wire records at an instant (default: the demo's today)."""
        return render(self.world, self.digital, as_of_ms)


@pytest.fixture(scope="session")
def wecom_demo() -> Demo:
    """The default demo world (seed, scale 1, fixed today) and its digital traces."""
    world = simulate()
    return Demo(world, simulate_digital(world))


@pytest.fixture
def wecom_sim(wecom_demo: Demo) -> Iterator[WecomSimulator]:
    """The WeCom simulator serving the demo corp as of its today, on a free 127.0.0.1 port."""
    with WecomSimulator(wecom_demo.render(), corp_id=CORP_ID, corp_secret=CORP_SECRET) as sim:
        yield sim


@pytest.fixture
def wecom_env(monkeypatch: pytest.MonkeyPatch, wecom_sim: WecomSimulator) -> WecomSimulator:
    """Points the source at the simulator through environment variables only, with fast retries."""
    env = {
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "SOURCES__WECOM__BASE_URL": wecom_sim.base_url,
        "SOURCES__WECOM__CORP_ID": CORP_ID,
        "SOURCES__WECOM__CORP_SECRET": CORP_SECRET,
        "SOURCES__WECOM__PAGE_SIZE": str(PAGE_SIZE),
        "SOURCES__WECOM__CONTACT_WAYS_SINCE": "2024-10-01",
        "SOURCES__WECOM__MAX_TRIES": str(MAX_TRIES),
        "SOURCES__WECOM__BACKOFF_SECONDS": "0.01",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return wecom_sim


@pytest.fixture
def wecom_pipeline(tmp_path: Path) -> dlt.Pipeline:
    """A DuckDB pipeline into `raw_wecom`, private to the test."""
    return dlt.pipeline(
        pipeline_name="wecom_test",
        destination=dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
        dataset_name="raw_wecom",
        pipelines_dir=str(tmp_path / "pipelines"),
    )


def run_wecom(pipeline: dlt.Pipeline) -> dict[str, int]:
    """Runs a fresh wecom source; rows loaded per table (every data table and quarantine, 0 if none)."""
    pipeline.run(wecom_source())
    counts = pipeline.last_trace.last_normalize_info.row_counts
    return {table: counts.get(table, 0) for table in (*DATA_TABLES, "quarantine")}


def query(pipeline: dlt.Pipeline, sql: str) -> list[Row]:
    """Runs a query against the pipeline's dataset."""
    with pipeline.sql_client() as client:
        return [tuple(row) for row in client.execute_sql(sql)]


KEYS = {
    "external_contacts": "external_userid",
    "follow_relations": "external_userid, userid",
    "corp_tags": "tag_id",
    "contact_ways": "config_id",
}


def table_contents(pipeline: dlt.Pipeline) -> dict[str, dict[Row, Row]]:
    """Every data table as {key: whole row}, to see exactly which rows a run changed."""
    contents: dict[str, dict[Row, Row]] = {}
    for table, key in KEYS.items():
        width = key.count(",") + 1
        rows = query(pipeline, f"select {key}, * from {table}")
        contents[table] = {row[:width]: row[width:] for row in rows}
    return contents


def changed_keys(before: dict[Row, Row], after: dict[Row, Row]) -> set[Row]:
    """Keys whose row was added, removed or differs in any column."""
    return {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}


# -- what the demo world says ------------------------------------------------------------------


def live_relations(digital: DigitalWorld, at_ms: int) -> dict[tuple[str, str], WecomContact]:
    """(external_userid, staff userid) → relation, for relations that exist at an instant."""
    return {
        (c.external_userid, c.staff_userid): c
        for c in digital.wecom_contacts
        if c.added_ms <= at_ms and (c.deleted_ms is None or at_ms < c.deleted_ms)
    }


def mql_moments(world: World) -> dict[str, list[int]]:
    """person_id → when their leads were qualified (staff tag those relations 高意向 afterwards)."""
    moments: dict[str, list[int]] = {}
    for journey in world.journeys:
        moments.setdefault(journey.person.person_id, []).extend(
            at for at, status in journey.status_events if status == catalog.LEAD_STATUS_QUALIFIED
        )
    return moments


def expected_tags(contact: WecomContact, mqls: dict[str, list[int]], at_ms: int) -> list[str]:
    """A relation's tags at an instant: as added, plus et_hot once its person is qualified later."""
    tagged_later = "et_hot" not in contact.tag_ids and any(
        contact.added_ms < moment <= at_ms for moment in mqls.get(contact.person_id, [])
    )
    return [*contact.tag_ids, *(["et_hot"] if tagged_later else [])]


def world_counts(demo: Demo, at_ms: int) -> dict[str, int]:
    """Rows each raw table should hold after a first run at an instant, from the demo world."""
    relations = live_relations(demo.digital, at_ms)
    ways = [
        s for s in demo.digital.contact_ways if contact_way_created_ms(demo.world, demo.digital, s) <= at_ms
    ]
    return {
        "external_contacts": len({eu for eu, _ in relations}),
        "follow_relations": len(relations),
        "corp_tags": len(demo.digital.corp_tags),
        "contact_ways": len(ways),
    }


def table_counts(pipeline: dlt.Pipeline) -> dict[str, int]:
    """Rows per raw data table in DuckDB."""
    return {table: query(pipeline, f"select count(*) from {table}")[0][0] for table in DATA_TABLES}
