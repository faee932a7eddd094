"""Issue 15, acceptance 4: `leadloop forget` erases a person, and one more night keeps them out.

On a copy of the session's demo night: a person known to three platforms (a CRM lead, a Sensors user,
a WeCom contact) is forgotten by a phone number as a CRM wrote it; then the production night runs again
on the copy against the same simulators (WeCom sends its whole contact list every night, so the person
comes back). Afterwards no table of the night's file or the published marts holds any of the person's
values, identifiers or their marts hashes; the audit row exists and carries none of them; every other
person's rows in the person-level marts are what they were.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from leadloop.identity.lookup import identifier_hash

pytestmark = pytest.mark.e2e

PERSON_MARTS = {  # person-level marts: table -> key columns to order by
    "dim_customers": "customer_id",
    "fct_lead_journeys": "journey_id",
    "bridge_customer_identifiers": "customer_id, identifier_hash",
    "fct_touchpoints": "touchpoint_id",
}


@dataclass
class Forgotten:
    warehouse: Path
    customer_id: str
    traces: set[str]
    others_before: dict[str, list[tuple]]
    exit_code: int
    shared_line_refused: bool
    night_success: bool
    purged_on_arrival: int
    hashes_found_before: list[str]


def _person(con) -> tuple[str, str, set[str]]:
    """A customer with a 销售易 lead, a Sensors user and a WeCom contact, none of whose identifiers another
    record carries: (customer_id, a phone as the CRM wrote it, every trace of the person)."""
    customer_id = con.execute("""
        with records as (
            select assigned.customer_id, observations.record_type, observations.record_id
            from identity.identifier_observations as observations
            inner join intermediate.int_customer_ids_assigned as assigned
                on observations.record_id = assigned.identifier
        ),
        carriers as (
            -- every person identifier with the customers (or none) whose records carry it
            select observations.identifier, records.customer_id
            from identity.identifier_observations as observations
            left join records on observations.record_id = records.record_id
            where observations.graph = 'person' and observations.identifier is not null
        ),
        shared as (
            select identifier from carriers
            group by identifier
            having count(distinct coalesce(customer_id, '')) > 1 or count(customer_id) < count(*)
        ),
        with_shared as (
            select distinct carriers.customer_id from carriers
            inner join shared on carriers.identifier = shared.identifier
            where carriers.customer_id is not null
        )
        select customer_id from records
        where customer_id not in (select customer_id from with_shared)
        group by customer_id
        having count(distinct case when record_type = 'neocrm_lead' then record_id end) > 0
            and count(distinct case when record_type = 'sensors_user' then record_id end) > 0
            and count(distinct case when record_type = 'wecom_contact' then record_id end) > 0
            and count(distinct case when record_type in ('neocrm_contact', 'salesforce_contact') then record_id end) = 0
        order by customer_id limit 1""").fetchone()[0]
    observed = con.execute("""
        select observations.record_type, observations.record_id, observations.identifier, observations.raw_value
        from identity.identifier_observations as observations
        inner join intermediate.int_customer_ids_assigned as assigned on observations.record_id = assigned.identifier
        where assigned.customer_id = ? and observations.graph = 'person'""", [customer_id]).fetchall()
    phone = next(raw for record_type, _, identifier, raw in observed
                 if record_type == "neocrm_lead" and identifier and identifier.startswith("phone:"))
    traces = {customer_id}
    for _, record_id, identifier, raw in observed:
        traces |= {record_id.split(":", 1)[1], raw}
        if identifier:
            bare = identifier.split(":", 1)[1]
            traces |= {identifier, bare, hashlib.md5(identifier.encode()).hexdigest(), identifier_hash(identifier)}
    return customer_id, phone, {t for t in traces if t and len(t) >= 6}


def _others(con, customer_id: str) -> dict[str, list[tuple]]:
    return {table: con.execute(f"select * from marts.{table} where customer_id is distinct from ?"
                               f" order by {keys}", [customer_id]).fetchall()
            for table, keys in PERSON_MARTS.items()}


def _found(path: Path, traces: set[str]) -> list[str]:
    """'schema.table.column' of every text column of the file holding one of the traces (whole or within)."""
    found = []
    with duckdb.connect(str(path), read_only=True) as con:
        columns = con.execute("""
            select columns.table_schema, columns.table_name, columns.column_name
            from information_schema.columns as columns
            inner join information_schema.tables as tables
                on columns.table_schema = tables.table_schema and columns.table_name = tables.table_name
            where tables.table_type = 'BASE TABLE' and columns.data_type in ('VARCHAR', 'JSON')""").fetchall()
        listed = ", ".join("'" + t.replace("'", "''") + "'" for t in sorted(traces))
        for schema, table, column in columns:
            within = " or ".join(f"strpos(cast(\"{column}\" as varchar), '{t}') > 0" for t in sorted(traces)
                                 if len(t) >= 8 and "'" not in t)
            hit = con.execute(f'select count(*) from "{schema}"."{table}" where cast("{column}" as varchar)'
                              f" in ({listed}) or {within}").fetchone()[0]
            if hit:
                found.append(f"{schema}.{table}.{column}: {hit}")
    return found


def con_shared_line(warehouse: Path) -> str:
    """A phone, as written, that records of several people carry (the identity layer stitches it to nobody)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("""
            select min(raw_value) from identity.identifier_observations
            where identifier in (
                select identifier from identity.identifier_observations where identifier like 'phone:%'
                    and identifier not in (select identifier from intermediate.int_customer_ids_assigned)
                group by identifier having count(distinct record_id) > 1)""").fetchone()[0]


def _has_erasure_tables(warehouse: Path) -> bool:
    """Whether a forget ever wrote (the privacy schema itself exists: the night keeps the marts' hash key there)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("select count(*) from information_schema.tables where table_schema = 'privacy'"
                           " and table_name in ('erasure_log', 'suppressed_identifiers')").fetchone()[0] > 0


@pytest.fixture(scope="module")
def forgotten(demo_night, demo_world, night_instance, tmp_path_factory) -> Forgotten:
    from leadloop.cli import main, run_nightly_refresh
    from leadloop.demo.digital import business_day
    from leadloop.demo.serve import running_demo_sources
    from leadloop.identity.load import DATASET, TABLE

    copy = tmp_path_factory.mktemp("forget") / "warehouse"
    shutil.copytree(demo_night.parent, copy)
    warehouse = copy / demo_night.name
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LEADLOOP_WAREHOUSE_DIR", str(copy))
        patch.setenv("LEADLOOP_DUCKDB_PATH", str(warehouse))
        patch.delenv("LEADLOOP_PUBLISHED_PATH", raising=False)
        with duckdb.connect(str(warehouse), read_only=True) as con:
            customer_id, phone, traces = _person(con)
            others_before = _others(con, customer_id)
            salted = {identifier_hash(i) for (i,) in con.execute(
                "select identifier from intermediate.int_customer_ids_assigned where customer_id = ?", [customer_id]
            ).fetchall()}
        hashes_found_before = _found(warehouse.with_name(f"{warehouse.stem}_marts.duckdb"), salted)
        shared_line = con_shared_line(warehouse)
        refused = main(["forget", "--phone", shared_line]) == 2 and not _has_erasure_tables(warehouse)
        exit_code = main(["forget", "--phone", phone])
        yesterday = (business_day(demo_world.as_of_ms) - timedelta(days=1)).isoformat()
        with running_demo_sources(demo_world):
            result = run_nightly_refresh(yesterday, yesterday, night_instance)
        materialization = night_instance.get_latest_materialization_event(dg.AssetKey([DATASET, TABLE]))
        purged = materialization.asset_materialization.metadata["forgotten_records_purged"].value
    assert os.environ.get("LEADLOOP_DUCKDB_PATH") != str(warehouse)
    return Forgotten(warehouse, customer_id, traces, others_before, exit_code, refused, result.success, purged,
                     hashes_found_before)


def test_forget_succeeds_and_the_next_night_too(forgotten):
    assert forgotten.exit_code == 0
    assert forgotten.night_success


def test_the_person_sent_again_is_purged_on_arrival(forgotten):
    """WeCom sends every contact every night: the forgotten person's contact came back and was purged."""
    assert forgotten.purged_on_arrival >= 1


def test_the_marts_knew_the_person_by_salted_hashes_before(forgotten):
    """The search below looks for the salted hashes the marts really hold (not only bare md5s)."""
    columns = {hit.split(":")[0] for hit in forgotten.hashes_found_before}
    assert {"marts.bridge_customer_identifiers.identifier_hash", "marts.dim_customers.phone_hash"} <= columns


def test_no_trace_of_the_person_in_any_schema(forgotten):
    assert len(forgotten.traces) >= 8  # phones, e-mail, ids, their hashes: the search has something to find
    assert _found(forgotten.warehouse, forgotten.traces) == []
    published = forgotten.warehouse.with_name(f"{forgotten.warehouse.stem}_marts.duckdb")
    assert _found(published, forgotten.traces) == []


def test_the_audit_row_exists_without_personal_data(forgotten):
    with duckdb.connect(str(forgotten.warehouse), read_only=True) as con:
        rows = con.execute("select * from privacy.erasure_log").fetchall()
        suppressed = con.execute("select count(*) from privacy.suppressed_identifiers").fetchone()[0]
    assert len(rows) == 1
    _, _, matched_by, customers, records, identifiers, _, deleted, _ = rows[0]
    assert (matched_by, customers) == ("phone", 1)
    assert records >= 3 and identifiers == suppressed >= 3 and deleted > 0
    assert not any(trace in str(value) for value in rows[0] for trace in forgotten.traces)


def test_every_other_persons_rows_are_unchanged(forgotten):
    with duckdb.connect(str(forgotten.warehouse), read_only=True) as con:
        after = _others(con, forgotten.customer_id)
    changed = {table: len(set(rows) ^ set(after[table])) for table, rows in forgotten.others_before.items()
               if rows != after[table]}
    assert changed == {}


def test_a_line_many_people_share_is_refused_and_nothing_is_written(forgotten):
    """Suppressing a company switchboard would keep everyone who gave it out: forget refuses it (exit 2)."""
    assert forgotten.shared_line_refused
