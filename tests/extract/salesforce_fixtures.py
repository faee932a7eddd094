"""Fixtures for the Salesforce tests: the demo company's CRM served as a Salesforce org on 127.0.0.1.

Import the fixtures you use into the test module (pytest finds fixtures by module namespace).
The world is the session's `demo_world` (tests/conftest.py): never mutate it; mutate the
rendered records instead, which are fresh for every test.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import pytest

from leadloop.demo import catalog
from leadloop.demo.digital import simulate_digital
from leadloop.demo.model import World
from leadloop.demo.sales_activities import MEETING, sales_activities
from leadloop.demo.salesforce_records import duplicate_of, render
from leadloop.demo.salesforce_shape import OrgShape
from leadloop.demo.simulators.salesforce import SalesforceSimulator
from leadloop.extract.salesforce import salesforce_source, settings

Records = dict[str, list[dict[str, Any]]]

CLIENT_ID, CLIENT_SECRET = "leadloop-sf-test", "sf-s3cret"
USERNAME, PASSWORD, SECURITY_TOKEN = "api@leadloop.test", "pass-word", "T0KEN"
BATCH_SIZE = 200  # the smallest page Salesforce allows: leads and history span several pages
DAY_MS = 86_400_000
DATA_TABLES = [obj.resource for obj in settings.OBJECTS]
# Stage names of the brief, restated here so that the renderer is checked against them.
STAGE = {
    catalog.STAGE_DISCOVERY: "Prospecting", catalog.STAGE_NEEDS: "Needs Analysis",
    catalog.STAGE_POC: "Proof of Concept", catalog.STAGE_NEGOTIATION: "Negotiation/Review",
    catalog.STAGE_WON: "Closed Won", catalog.STAGE_LOST: "Closed Lost",
}


@pytest.fixture(scope="session")
def sf_demo_records(demo_world: World) -> Records:
    """The demo org as of the demo's today, rendered once per session (never mutate it)."""
    return render(demo_world, simulate_digital(demo_world), demo_world.as_of_ms)


@pytest.fixture
def sf_records(sf_demo_records: Records) -> Records:
    """A private copy of the demo org for one test (free to mutate)."""
    return copy.deepcopy(sf_demo_records)


@pytest.fixture
def sf_simulator(sf_records: Records) -> Iterator[SalesforceSimulator]:
    """The Salesforce simulator serving `sf_records` on a free 127.0.0.1 port."""
    sim = SalesforceSimulator(
        sf_records,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        username=USERNAME,
        password=PASSWORD + SECURITY_TOKEN,
    )
    with sim:
        yield sim


@pytest.fixture
def sf_env(monkeypatch: pytest.MonkeyPatch, sf_simulator: SalesforceSimulator) -> SalesforceSimulator:
    """Points the source at the simulator through environment variables only, with fast retries."""
    env = {
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "SOURCES__SALESFORCE__LOGIN_URL": sf_simulator.login_url,
        "SOURCES__SALESFORCE__CLIENT_ID": CLIENT_ID,
        "SOURCES__SALESFORCE__CLIENT_SECRET": CLIENT_SECRET,
        "SOURCES__SALESFORCE__USERNAME": USERNAME,
        "SOURCES__SALESFORCE__PASSWORD": PASSWORD,
        "SOURCES__SALESFORCE__SECURITY_TOKEN": SECURITY_TOKEN,
        "SOURCES__SALESFORCE__BATCH_SIZE": str(BATCH_SIZE),
        "SOURCES__SALESFORCE__MAX_TRIES": "4",
        "SOURCES__SALESFORCE__BACKOFF_SECONDS": "0.01",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return sf_simulator


@pytest.fixture
def sf_pipeline(tmp_path: Path) -> dlt.Pipeline:
    """A DuckDB pipeline into `raw_salesforce`, private to the test."""
    return dlt.pipeline(
        pipeline_name="salesforce_test",
        destination=dlt.destinations.duckdb(str(tmp_path / "sf.duckdb")),
        dataset_name="raw_salesforce",
        pipelines_dir=str(tmp_path / "pipelines"),
    )


def serve_shape(simulator: SalesforceSimulator, world: World, shape: OrgShape) -> Records:
    """Serves the demo org as an org of `shape` (as of the demo's today); returns what it serves."""
    records = render(world, None, world.as_of_ms, shape=shape)
    simulator.set_records(records, shape)
    return records


def table_names(pipeline: dlt.Pipeline) -> set[str]:
    """Tables in the pipeline's dataset (dlt's own included)."""
    return {row[0] for row in rows(pipeline, "select table_name from information_schema.tables"
                                             " where table_schema = 'raw_salesforce'")}


def columns_of(pipeline: dlt.Pipeline, table: str) -> dict[str, str]:
    """Column name → DuckDB type of a raw table, without dlt's load columns."""
    described = rows(pipeline, f"select column_name, column_type from (describe {table})")
    return {name: kind for name, kind in described if not name.startswith("_dlt")}


def run_salesforce(pipeline: dlt.Pipeline, source: dlt.sources.DltSource | None = None) -> dict[str, int]:
    """Runs a fresh salesforce source and returns rows loaded per table (data tables only)."""
    pipeline.run(source if source is not None else salesforce_source())
    counts = pipeline.last_trace.last_normalize_info.row_counts
    return {table: n for table, n in counts.items() if not table.startswith("_dlt")}


def rows(pipeline: dlt.Pipeline, sql: str) -> list[tuple[Any, ...]]:
    """Runs a query against the pipeline's dataset."""
    with pipeline.sql_client() as client:
        return [tuple(row) for row in client.execute_sql(sql)]


def contact_role_count(world: World, now: int) -> int:
    """Committee members who are contacts while a deal runs, once the deal and they exist."""
    accounts = {a.account_id: a for a in world.accounts}
    count = 0
    for o in (o for o in world.opportunities if o.created_at <= now):
        for p in accounts[o.account_id].committee:
            became = p.contact_created_at
            if p.contact_id is None or became is None or (o.closed_at is not None and became > o.closed_at):
                continue
            count += max(o.created_at, became) <= now
    return count


def field_history_count(world: World, now: int) -> int:
    """Stage changes seen by `now`, plus one Amount change per deal won for another amount."""
    count = 0
    for o in world.opportunities:
        stages = [s for at, s in o.stage_events if at <= now]
        count += max(0, len(stages) - 1)
        count += bool(stages) and stages[-1] == catalog.STAGE_WON and o.won_amount not in (None, o.estimate)
    return count


def expected_counts(world: World, now: int) -> dict[str, int]:
    """Rows per raw table the demo world holds at `now`, counted from the world itself."""
    journeys = [j for j in world.journeys if j.created_at <= now]
    activities = [a for a in sales_activities(world) if a.at_ms <= now]
    duplicates = [d for j in world.journeys if (d := duplicate_of(j)) and d.created_at <= now]
    people = [p for a in world.accounts for p in a.committee]
    campaigns = {(j.utm["utmSource"], j.utm["utmCampaign"]) for j in world.journeys if j.utm["utmCampaign"]}
    return {
        "users": len(world.users),
        "accounts": sum(1 for a in world.accounts if 0 < a.created_at <= now),
        "contacts": sum(
            1 for p in people if p.contact_created_at is not None and p.contact_created_at <= now
        ),
        "leads": len(journeys) + len(duplicates),
        "lead_history": sum(sum(1 for at, _ in j.status_events[1:] if at <= now) for j in journeys),
        "opportunities": sum(1 for o in world.opportunities if o.created_at <= now),
        "opportunity_history": sum(1 for o in world.opportunities for at, _ in o.stage_events if at <= now),
        "campaigns": len(campaigns),
        "campaign_members": sum(1 for j in journeys if j.utm["utmCampaign"]),
        "tasks": sum(1 for a in activities if a.kind != MEETING),
        "events": sum(1 for a in activities if a.kind == MEETING),
        "opportunity_contact_roles": contact_role_count(world, now),
        "opportunity_field_history": field_history_count(world, now),
        "organization": 1,
    }


def table_counts(pipeline: dlt.Pipeline) -> dict[str, int]:
    """Rows per raw table in DuckDB."""
    return {name: rows(pipeline, f"select count(*) from {name}")[0][0] for name in DATA_TABLES}
