"""Erase one person from the warehouse (`leadloop forget`) and keep them out when platforms send them again.

The person is found through the identity layer: the identifier given (a phone, an e-mail, a WeCom id or a
customer_id) names a stitched customer, whose records (CRM leads and contacts, Sensors users, WeCom
contacts) are then deleted from every raw table (and dlt's staging copies and the quarantine), from the
identity observations, the customer_id log (the one table the night does not rebuild) and every derived
table that names the customer; the next night rebuilds the rest from raw. An identifier the person shares
with other people's records (a company switchboard) stays with them: it is not only this person's.

What stays is an audit row without any personal data (`privacy.erasure_log`) and the person's identifiers
as salted hashes (`privacy.suppressed_identifiers`): the night's identity step purges any record that
carries one of them again (see `purge_suppressed_records`).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from leadloop import settings
from leadloop.identity import normalize
from leadloop.identity.observations import PERSON
from leadloop.privacy.person_records import PERSON_RECORD_ROWS
from leadloop.privacy.salt import PRIVACY_SCHEMA, salt
from leadloop.warehouse import execute_in_one_transaction, query, table_exists

SUPPRESSED_TABLE = f"{PRIVACY_SCHEMA}.suppressed_identifiers"
ERASURE_LOG_TABLE = f"{PRIVACY_SCHEMA}.erasure_log"
# Columns by which a derived table (dbt's intermediate and marts) names a person.
PERSON_COLUMNS = ("customer_id", "identifier", "identifier_a", "identifier_b", "record_id")
LOOKUP_KINDS = ("phone", "email", "wecom_id", "customer_id")
MIN_SEARCHED_TEXT = 5  # shorter values (a '1') would match unrelated quarantined payloads


class ForgetError(ValueError):
    """The request cannot be carried out as asked; the message says what to give instead."""


@dataclass
class Erasure:
    """What one `forget` did: counts only, as the audit row keeps them."""

    erasure_id: str
    matched_by: str
    customer_ids: list[str]
    records: int
    identifiers_suppressed: int
    identifiers_kept_shared: int
    rows_deleted: dict[str, int] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows_deleted.values())


def identifier_hash(identifier: str, pepper: str) -> str:
    """The salted hash a suppressed identifier ('phone:+86…', 'wecom_contact:wm…') is kept as."""
    return hashlib.sha256(f"{pepper}\x00{identifier}".encode()).hexdigest()


def _quoted(values: Iterable[str]) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in sorted(set(values)))


def _lookup_identifiers(kind: str, value: str) -> list[str]:
    """The identity layer's identifiers the given value may be (normalised as the night normalises)."""
    text = value.strip()
    if not text:
        raise ForgetError(f"--{kind.replace('_', '-')} is empty: give the value to erase")
    if kind == "phone":
        normalized = normalize.normalize_phone(text)
        if not normalized.value:
            raise ForgetError(f"{value!r} is not a usable phone number ({normalized.reason})")
        return [f"phone:{normalized.value}"]
    if kind == "email":
        normalized = normalize.normalize_email(text)
        if not normalized.value:
            raise ForgetError(f"{value!r} is not a usable e-mail address ({normalized.reason})")
        return [f"email:{normalized.value}"]
    if kind == "wecom_id":  # an external_userid, or the WeChat unionid WeCom reports
        return [f"wecom_contact:{text}", f"wechat_unionid:{text}"]
    raise ForgetError(f"unknown identifier kind {kind!r}; use one of {', '.join(LOOKUP_KINDS)}")


def _customer_ids(kind: str, value: str) -> tuple[list[str], list[str]]:
    """The stitched customers the value names, and the identifiers it was looked up as."""
    if not table_exists("intermediate", "int_customer_ids_assigned"):
        raise ForgetError("the warehouse has no stitched customers yet (intermediate.int_customer_ids_assigned):"
                          " run a night first, or nothing of the person is stored")
    if kind == "customer_id":
        _, rows = query("select distinct customer_id from intermediate.int_customer_ids_assigned"
                        f" where customer_id = {_quoted([value.strip()])}")
        return [r[0] for r in rows], []
    identifiers = _lookup_identifiers(kind, value)
    _, rows = query("select distinct customer_id from intermediate.int_customer_ids_assigned"
                    f" where identifier in ({_quoted(identifiers)})")
    if not rows:
        # Stored but stitched to nobody: a line or mailbox many people share (a switchboard), screened out
        # of the person graph. Suppressing it would keep every one of them out.
        _, carriers = query("select count(distinct record_id) from identity.identifier_observations"
                            f" where identifier in ({_quoted(identifiers)})")
        if carriers[0][0]:
            raise ForgetError(f"the {kind.replace('_', ' ')} {value!r} is shared by {carriers[0][0]} records of"
                              " different people (a company line or mailbox), so it names no one person: name"
                              " the person by another phone, e-mail, WeCom id or customer_id")
    return [r[0] for r in rows], identifiers


def _person_observations(customer_ids: Sequence[str]) -> tuple[dict[str, list[str]], list[tuple]]:
    """The customers' records ({record_type: [record keys]}) and their observations
    (record_id, identifier, raw_value) from the identity layer."""
    _, rows = query(
        "select observations.record_id, observations.record_type, observations.identifier,"
        " observations.raw_value, observations.graph"
        " from identity.identifier_observations as observations"
        " inner join intermediate.int_customer_ids_assigned as assigned"
        " on observations.record_id = assigned.identifier"
        f" where assigned.customer_id in ({_quoted(customer_ids)})")
    records: dict[str, set[str]] = defaultdict(set)
    for record_id, record_type, _, _, _ in rows:
        records[record_type].add(record_id.split(":", 1)[1])
    return {t: sorted(keys) for t, keys in records.items()}, [(r[0], r[2], r[3], r[4]) for r in rows]


def _shared_identifiers(identifiers: set[str], record_ids: set[str]) -> set[str]:
    """Those of the identifiers that other people's records carry too."""
    if not identifiers:
        return set()
    _, rows = query("select distinct identifier from identity.identifier_observations"
                    f" where identifier in ({_quoted(identifiers)})"
                    f" and record_id not in ({_quoted(record_ids)})")
    return {r[0] for r in rows}


def _tables_with_column(schema_filter: str, columns: Sequence[str]) -> dict[str, list[str]]:
    """{schema.table: [columns present]} of base tables matching the filter that have any of the columns."""
    _, rows = query(
        "select columns.table_schema, columns.table_name, columns.column_name"
        " from information_schema.columns as columns inner join information_schema.tables as tables"
        " on columns.table_schema = tables.table_schema and columns.table_name = tables.table_name"
        f" where tables.table_type = 'BASE TABLE' and {schema_filter}"
        f" and columns.column_name in ({_quoted(columns)})")
    found: dict[str, list[str]] = defaultdict(list)
    for schema, table, column in rows:
        found[f"{schema}.{table}"].append(column)
    return dict(found)


def _existing_tables() -> set[str]:
    _, rows = query("select table_schema || '.' || table_name from information_schema.tables")
    return {r[0] for r in rows}


def raw_purge_statements(records: dict[str, list[str]], searched_texts: Iterable[str]) -> list[tuple[str, str]]:
    """(table, delete statement) for every raw row of the records: the record tables of PERSON_RECORD_ROWS
    with dlt's staging copies (`<schema>_staging`) and child tables (`<table>__*`), and quarantined
    payloads that carry one of the records' keys or personal values."""
    existing = _existing_tables()
    statements: list[tuple[str, str]] = []
    for rows in PERSON_RECORD_ROWS:
        keys = records.get(rows.record_type)
        if not keys:
            continue
        schema, table = rows.table.split(".")
        for copy in (f"{schema}.{table}", f"{schema}_staging.{table}"):
            if copy not in existing:
                continue
            where = f"cast({rows.column} as text) in ({_quoted(keys)})"
            copy_schema, copy_table = copy.split(".")
            for child in sorted(t for t in existing if t.startswith(f"{copy_schema}.{copy_table}__")):
                statements.append((child, (f"delete from {child} where _dlt_root_id in"
                                           f" (select _dlt_id from {copy} where {where})")))
            statements.append((copy, f"delete from {copy} where {where}"))
    texts = sorted({t for t in searched_texts if t and len(t) >= MIN_SEARCHED_TEXT})
    if texts:
        found = " or ".join(f"strpos(raw_payload, {_quoted([t])}) > 0" for t in texts)
        keys = [key for keys in records.values() for key in keys]
        for table in sorted(t for t in existing if t.endswith(".quarantine") and t.startswith("raw_")):
            by_key = f"cast(record_id as text) in ({_quoted(keys)}) or " if keys else ""
            statements.append((table, f"delete from {table} where {by_key}{found}"))
    return statements


def _derived_purge_statements(customer_ids: Sequence[str], identifiers: set[str],
                              record_ids: set[str]) -> list[tuple[str, str]]:
    """(table, delete statement) for every derived table row naming the person (dbt's tables, the identity
    observations): by customer_id, identifier or record id. Views follow their tables."""
    values = {"customer_id": set(customer_ids), "identifier": identifiers | record_ids,
              "identifier_a": identifiers | record_ids, "identifier_b": identifiers | record_ids,
              "record_id": record_ids}
    tables = _tables_with_column(
        f"left(tables.table_schema, 4) <> 'raw_' and tables.table_schema <> '{PRIVACY_SCHEMA}'"
        " and tables.table_schema not in ('information_schema', 'pg_catalog')", PERSON_COLUMNS)
    statements = []
    for table, columns in sorted(tables.items()):
        conditions = [f"cast({c} as text) in ({_quoted(values[c])})" for c in sorted(columns) if values[c]]
        if conditions:
            statements.append((table, f"delete from {table} where {' or '.join(conditions)}"))
    return statements


def _privacy_tables() -> list[str]:
    return [
        f"create schema if not exists {PRIVACY_SCHEMA}",
        (f"create table if not exists {SUPPRESSED_TABLE} (identifier_hash text not null, identifier_type text"
         " not null, erasure_id text not null, suppressed_at timestamp not null)"),
        (f"create table if not exists {ERASURE_LOG_TABLE} (erasure_id text not null, requested_at timestamp"
         " not null, matched_by text not null, customers_erased integer not null, records_erased integer"
         " not null, identifiers_suppressed integer not null, identifiers_kept_shared integer not null,"
         " rows_deleted integer not null, rows_deleted_by_table text not null)"),
    ]


def forget(kind: str, value: str) -> Erasure:
    """Erase the person the identifier names from every schema; suppress their identifiers; audit it."""
    if kind not in LOOKUP_KINDS:
        raise ForgetError(f"unknown identifier kind {kind!r}; use one of {', '.join(LOOKUP_KINDS)}")
    customer_ids, looked_up = _customer_ids(kind, value)
    records, observed = _person_observations(customer_ids) if customer_ids else ({}, [])
    record_ids = {f"{t}:{k}" for t, keys in records.items() for k in keys}
    person_identifiers = {ident for _, ident, _, graph in observed if ident and graph == PERSON}
    person_identifiers |= set(looked_up) | record_ids
    shared = _shared_identifiers(person_identifiers - record_ids, record_ids)
    own = person_identifiers - shared
    raw_values = {raw for _, ident, raw, graph in observed if graph == PERSON and ident not in shared and raw}
    raw_values |= {value.strip()} if kind != "customer_id" else set()
    statements = raw_purge_statements(records, raw_values | {k for keys in records.values() for k in keys})
    if customer_ids or record_ids:
        statements += _derived_purge_statements(customer_ids, own, record_ids)
    erasure_id = str(uuid.uuid4())
    now = datetime.now(UTC).replace(tzinfo=None)
    pepper = salt()
    suppressed = sorted((identifier_hash(i, pepper), i.split(":", 1)[0]) for i in own)
    counts = execute_in_one_transaction(
        [*_privacy_tables(), *(sql for _, sql in statements)],
        inserts=[(f"insert into {SUPPRESSED_TABLE} values (?, ?, ?, ?)",
                  [(h, t, erasure_id, now) for h, t in suppressed])])
    deleted: dict[str, int] = defaultdict(int)
    for (table, _), count in zip(statements, counts[len(_privacy_tables()):], strict=True):
        if count:
            deleted[table] += count
    erasure = Erasure(erasure_id, kind, customer_ids, len(record_ids), len(suppressed), len(shared),
                      dict(sorted(deleted.items())))
    execute_in_one_transaction([], inserts=[(
        f"insert into {ERASURE_LOG_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(erasure_id, now, kind, len(customer_ids), erasure.records, erasure.identifiers_suppressed,
          erasure.identifiers_kept_shared, erasure.total_rows, json.dumps(erasure.rows_deleted))])])
    return erasure


def suppressed_hashes() -> set[str]:
    """Every suppressed identifier's hash (empty when nobody was ever forgotten)."""
    if not table_exists(PRIVACY_SCHEMA, "suppressed_identifiers"):
        return set()
    _, rows = query(f"select identifier_hash from {SUPPRESSED_TABLE}")
    return {r[0] for r in rows}


def purge_returning_persons(observations: Sequence[dict]) -> tuple[set[str], int]:
    """The night's identity step: records among the observations that carry a suppressed identifier (or are
    one), i.e. a forgotten person a platform sent again. Their raw rows are deleted here; the record ids
    (to leave out of the observations) and the raw rows deleted are returned."""
    hashes = suppressed_hashes()
    if not hashes:
        return set(), 0
    pepper = salt()
    hits: dict[str, set[str]] = defaultdict(set)
    for row in observations:
        if row["graph"] == PERSON and row["identifier"] and identifier_hash(row["identifier"], pepper) in hashes:
            hits[row["record_type"]].add(row["record_id"].split(":", 1)[1])
    if not hits:
        return set(), 0
    statements = raw_purge_statements({t: sorted(keys) for t, keys in hits.items()}, [])
    deleted = sum(execute_in_one_transaction([sql for _, sql in statements])) if statements else 0
    return {f"{t}:{k}" for t, keys in hits.items() for k in keys}, deleted


def published_file_note() -> str:
    """What a user should know about the published marts after an erasure."""
    path: Path = settings.published_marts_path()
    return (f"the published marts ({path}) still hold the night's copy until the next night publishes;"
            " run a night now to replace them")
