"""The customer-id history survives `dbt build --full-refresh`.

int_customer_id_assignments_logged is an append-only log no source can give back (full_refresh:
false): after a full refresh it still holds the first run's rows, and map_customer_id_changes still
maps the old id of two persons that merged to the new one. Built from a hand-made observations
table (the identity models' only source) on DuckDB and on a real PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from leadloop.settings import project_var
from tests.support.dbt import passed, run_dbt

SELECT = "+map_customer_id_changes"
OBSERVATIONS = "identity.identifier_observations"
COLUMNS = ("record_id", "record_type", "graph", "identifier_type", "raw_value", "identifier", "phone_kind",
           "rejection_reason", "first_seen_at", "last_seen_at")
DAY_1, DAY_2, DAY_3 = (datetime(2026, 3, day, 9, 0, tzinfo=UTC) for day in (1, 2, 3))


def _observations(record_id: str, identifiers: list[tuple[str, str]], seen: datetime) -> list[tuple]:
    """One record and the identifiers it carries, as the identity asset writes them."""
    record_type, own_id = record_id.split(":", 1)
    rows = [(record_id, record_type, "person", record_type, own_id, record_id, None, None, seen, seen)]
    rows += [(record_id, record_type, "person", kind, value, f"{kind}:{value}", None, None, seen, seen)
             for kind, value in identifiers]
    return rows


# Two persons and a bystander; on day 3 a CRM lead carries the phone of the one and the e-mail of the
# other, so they are one person from then on, under the older one's id.
FIRST_NIGHT = (
    _observations("neocrm_lead:1400000000001", [("phone", "+8613911110001"), ("email", "wang@example.cn")], DAY_1)
    + _observations("sensors_user:2002", [("phone", "+8613922220002"), ("sensors_distinct_id", "d-2002")], DAY_2)
    + _observations("wecom_contact:wm-3003", [("phone", "+8613933330003")], DAY_2)
)
MERGING_LEAD = _observations("neocrm_lead:1400000000004",
                             [("phone", "+8613922220002"), ("email", "wang@example.cn")], DAY_3)


def _dbt(tmp_path: Path, environment: dict[str, str], *args: str) -> None:
    passed(run_dbt(*args, "--select", SELECT, "--exclude", "test_type:unit", work_dir=tmp_path,
                   environment=environment))


def _check_history_survives_a_full_refresh(tmp_path: Path, environment: dict[str, str],
                                           insert: Callable[[list[tuple]], None],
                                           query: Callable[[str], list[tuple]], marts: str = "marts") -> None:
    """`marts`: the schema dbt builds the marts into (on PostgreSQL the build schema, published later)."""
    insert(FIRST_NIGHT)
    _dbt(tmp_path, environment, "build")
    first = set(query("select identifier, customer_id, assigned_at from intermediate.int_customer_id_assignments_logged"))
    assigned = dict(query("select identifier, customer_id from intermediate.int_customer_ids_assigned"))
    assert {(identifier, customer_id) for identifier, customer_id, _ in first} == set(assigned.items())
    older, younger = assigned["neocrm_lead:1400000000001"], assigned["sensors_user:2002"]
    assert older != younger
    moving = {identifier for identifier, customer_id in assigned.items() if customer_id == younger}
    assert query(f"select count(*) from {marts}.map_customer_id_changes") == [(0,)]

    insert(MERGING_LEAD)
    _dbt(tmp_path, environment, "build", "--full-refresh")

    logged = set(query("select identifier, customer_id, assigned_at from intermediate.int_customer_id_assignments_logged"))
    assert first <= logged, "the full refresh erased the first run's history"
    merged = dict(query("select identifier, customer_id from intermediate.int_customer_ids_assigned"))
    assert {merged[identifier] for identifier in moving} == {older}, "the older person's id survives the merge"
    assert merged["wecom_contact:wm-3003"] == assigned["wecom_contact:wm-3003"]
    appended = {(identifier, customer_id) for identifier, customer_id, _ in logged - first}
    new_identifiers = {"neocrm_lead:1400000000004"}
    assert appended == {(identifier, older) for identifier in moving | new_identifiers}
    assert query(f"select old_customer_id, new_customer_id, identifiers_moved from {marts}.map_customer_id_changes") \
        == [(younger, older, len(moving))]


def test_customer_id_history_survives_a_full_refresh_on_duckdb(private_warehouse, tmp_path):
    """Also: a table of a model the project retired (macros/retired_relations.sql) is dropped by the first
    build, as an upgraded warehouse's would be; nothing else of its schema is."""
    import duckdb

    from leadloop.privacy.salt import write_marts_hash_key

    private_warehouse.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(private_warehouse)) as connection:
        connection.execute("create schema intermediate; create table intermediate.int_journey_touches_decayed (a int);"
                           " create table intermediate.kept_by_someone (a int)")
        connection.execute("create schema identity")
        connection.execute(f"create table {OBSERVATIONS} ({', '.join(f'{c} varchar' for c in COLUMNS[:-2])},"
                           " first_seen_at timestamptz, last_seen_at timestamptz)")
    write_marts_hash_key()  # as the identity asset does before dbt: customer ids are salted hashes

    def insert(rows: list[tuple]) -> None:
        with duckdb.connect(str(private_warehouse)) as connection:
            connection.executemany(f"insert into {OBSERVATIONS} values ({', '.join('?' for _ in COLUMNS)})", rows)

    def query(sql: str) -> list[tuple]:
        with duckdb.connect(str(private_warehouse), read_only=True) as connection:
            return connection.execute(sql).fetchall()

    environment = {"LEADLOOP_WAREHOUSE": "duckdb", "LEADLOOP_DUCKDB_PATH": str(private_warehouse)}
    _check_history_survives_a_full_refresh(tmp_path, environment, insert, query)
    assert query("select table_name from information_schema.tables where table_schema = 'intermediate'"
                 " and table_name in ('int_journey_touches_decayed', 'kept_by_someone')") == [("kept_by_someone",)]


@pytest.mark.postgres
def test_customer_id_history_survives_a_full_refresh_on_postgres(postgres_server, tmp_path, monkeypatch):
    import psycopg2

    from leadloop.privacy.salt import write_marts_hash_key

    database = postgres_server.create_database("customer_id_history")
    connect = {"host": "127.0.0.1", "port": postgres_server.port, "user": postgres_server.user,
               "password": postgres_server.password, "dbname": database}
    with psycopg2.connect(**connect) as connection, connection.cursor() as cursor:
        cursor.execute(f"create schema identity; create table {OBSERVATIONS}"
                       f" ({', '.join(f'{c} text' for c in COLUMNS[:-2])},"
                       " first_seen_at timestamptz, last_seen_at timestamptz)")
    environment = {**postgres_server.environment(), "LEADLOOP_PG_DATABASE": database, "LEADLOOP_WAREHOUSE": "postgres"}
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    write_marts_hash_key()

    def insert(rows: list[tuple]) -> None:
        with psycopg2.connect(**connect) as connection, connection.cursor() as cursor:
            cursor.executemany(f"insert into {OBSERVATIONS} values ({', '.join('%s' for _ in COLUMNS)})", rows)

    def query(sql: str) -> list[tuple]:
        with psycopg2.connect(**connect) as connection, connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()

    _check_history_survives_a_full_refresh(tmp_path, environment, insert, query,
                                           marts=project_var("postgres_marts_build_schema"))
