"""Which identifiers every raw record carries, normalised: the input of the identity graphs.

A record (a CRM lead, a CRM contact, a Sensors visitor, a WeCom contact, a CRM account) is itself
a node, named `<record type>:<id>`; each identifier it carries — a phone, an e-mail, a WeChat
unionid, another record it points at (a converted lead's contact id) — is an observation. The
person graph and the account graph are built from these observations in dbt (portable SQL);
normalising happens here because phones need the `phonenumbers` library.

Every value is kept, usable or not: a rejected value carries its reason, so nothing is dropped
without a trace and the rejections can be counted.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from leadloop.identity import normalize

CHINA = ZoneInfo("Asia/Shanghai")
PERSON, ACCOUNT = "person", "account"
# Identifier types of the account graph; every other type belongs to the person graph.
ACCOUNT_TYPES = frozenset({"company", "uscc", "email_domain", "neocrm_account", "salesforce_account"})


@dataclass(frozen=True)
class Carried:
    """One column of a raw table that carries an identifier, and how to read it."""

    column: str
    kind: str  # phone | phone_list | email | company | uscc | <identifier type> (taken as it is)
    when: str | None = None  # SQL condition under which the column holds this kind (else ignored)


@dataclass(frozen=True)
class RecordSource:
    """A raw table whose rows are records of one type, and the identifiers they carry."""

    table: str  # schema.table
    record_type: str
    key: str  # column holding the record's id
    seen_at: str  # column telling when the record (or this version of it) was seen
    seen_kind: str  # epoch_ms | unix_s | timestamp | china_local_text
    carried: tuple[Carried, ...]
    where: str | None = None
    relation: str | None = None  # SQL to read instead of the bare table (same columns plus extras)


@dataclass(frozen=True)
class CrmColumns:
    """How one CRM's raw tables name what its records carry (they carry the same things in both)."""

    name: str  # neocrm | salesforce: raw_<name>.<table>, record types <name>_lead, …
    seen_at: str
    seen_kind: str
    where: str | None
    mobile: str
    lead_company: str
    lead_contact: str  # a lead's column holding the contact it became
    lead_account: str  # a lead's column holding the account it became
    account_company: str
    account_uscc: str | None  # the account's unified social credit code, where the CRM has one


def _crm_records(crm: CrmColumns) -> tuple[RecordSource, ...]:
    """A CRM's leads, contacts and accounts: a person record carries phones and an e-mail (a lead
    also its company and what it was converted into), an account its company (and USCC)."""

    def record(table: str, record_type: str, *carried: Carried) -> RecordSource:
        return RecordSource(f"raw_{crm.name}.{table}", f"{crm.name}_{record_type}", "id", crm.seen_at,
                            crm.seen_kind, carried, crm.where)

    reached = (Carried(crm.mobile, "phone"), Carried("phone", "phone"), Carried("email", "email"))
    uscc = (Carried(crm.account_uscc, "uscc"),) if crm.account_uscc else ()
    return (
        record("leads", "lead", *reached, Carried(crm.lead_company, "company"),
               Carried(crm.lead_contact, f"{crm.name}_contact"), Carried(crm.lead_account, f"{crm.name}_account")),
        record("contacts", "contact", *reached, Carried("account_id", f"{crm.name}_account")),
        record("accounts", "account", Carried(crm.account_company, "company"), *uscc),
    )


NOT_DELETED = "not coalesce(is_deleted, false)"
NEOCRM = CrmColumns("neocrm", "created_at", "epoch_ms", None, mobile="mobile",
                    lead_company="company_name", lead_contact="contact_id", lead_account="account_id",
                    account_company="account_name", account_uscc="unified_social_credit_code")
SALESFORCE = CrmColumns("salesforce", "created_date", "timestamp", NOT_DELETED, mobile="mobile_phone",
                        lead_company="company", lead_contact="converted_contact_id",
                        lead_account="converted_account_id", account_company="name", account_uscc=None)
RECORD_SOURCES: tuple[RecordSource, ...] = (
    *_crm_records(NEOCRM),
    *_crm_records(SALESFORCE),
    # A Sensors visitor is its user_id: every distinct_id, the login id ($SignUp), and what forms
    # and WeCom-shared article links told about them.
    RecordSource("raw_sensors.events", "sensors_user", "user_id", "time", "china_local_text", (
        Carried("distinct_id", "sensors_distinct_id", "not coalesce(is_login_id, false)"),
        Carried("distinct_id", "sensors_login", "coalesce(is_login_id, false)"),
        Carried("original_id", "sensors_distinct_id"),
        Carried("phone", "phone"), Carried("email", "email"), Carried("company", "company"),
        Carried("external_userid", "wecom_contact"),
    )),
    # WeCom says when a contact was added (createtime), not when the contact came to be: the
    # earliest add stands for it, rather than the moment leadloop first loaded it.
    RecordSource("raw_wecom.external_contacts", "wecom_contact", "external_userid", "added_at", "unix_s",
                 (Carried("unionid", "wechat_unionid"), Carried("corp_name", "company")), NOT_DELETED,
                 "(select contacts.*, adds.added_at from raw_wecom.external_contacts as contacts"
                 " inner join (select external_userid as added_userid, min(createtime) as added_at"
                 " from raw_wecom.follow_relations group by external_userid) as adds"
                 " on contacts.external_userid = adds.added_userid) as contacts"),
    RecordSource("raw_wecom.follow_relations", "wecom_contact", "external_userid", "createtime", "unix_s",
                 (Carried("remark_mobiles", "phone_list"), Carried("remark_corp_name", "company")),
                 NOT_DELETED),
)

COLUMNS = ("record_id", "record_type", "graph", "identifier_type", "raw_value", "identifier",
           "phone_kind", "rejection_reason", "first_seen_at", "last_seen_at")


def source_query(source: RecordSource) -> str:
    """One row per record and distinct combination of carried values, with when it was first/last seen."""
    values = [f"case when {c.when} then {c.column} end" if c.when else c.column for c in source.carried]
    listed = ", ".join(f"{v} as v{n}" for n, v in enumerate(values))
    grouped = ", ".join([source.key, *values])
    where = f" where {source.key} is not null" + (f" and {source.where}" if source.where else "")
    return (f"select {source.key} as record_key, min({source.seen_at}) as first_seen, "
            f"max({source.seen_at}) as last_seen, {listed} from {source.relation or source.table}{where} "
            f"group by {grouped}")


def to_utc(value: Any, kind: str) -> datetime | None:
    """A seen-at value of any source's unit as an aware UTC datetime."""
    if value is None:
        return None
    if kind == "epoch_ms":
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    if kind == "unix_s":
        return datetime.fromtimestamp(int(value), UTC)
    if kind == "china_local_text":
        text = str(value)
        pattern = "%Y-%m-%d %H:%M:%S.%f" if "." in text else "%Y-%m-%d %H:%M:%S"
        return datetime.strptime(text, pattern).replace(tzinfo=CHINA).astimezone(UTC)
    if kind == "timestamp":
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    raise ValueError(f"unknown seen-at kind {kind!r} in leadloop.identity.observations.RECORD_SOURCES")


Normalizer = Callable[[str | None], normalize.Normalized]
NORMALIZERS: dict[str, tuple[str, Normalizer]] = {
    "phone": ("phone", normalize.normalize_phone),
    "email": ("email", normalize.normalize_email),
    "company": ("company", normalize.normalize_company_name),
    "uscc": ("uscc", normalize.normalize_uscc),
}


def _identifiers(kind: str, raw: Any) -> Iterator[tuple[str, str, normalize.Normalized]]:
    """(identifier type, raw text, normalised) for one carried value; lists give one per element."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return
    if kind == "phone_list":
        items = raw if isinstance(raw, list) else json.loads(raw)
        for item in items:
            yield from _identifiers("phone", item)
        return
    text = str(raw)
    if kind in NORMALIZERS:
        identifier_type, normalizer = NORMALIZERS[kind]
        yield identifier_type, text, normalizer(text)
    else:  # an id of another system: taken as it is
        yield kind, text, normalize.Normalized(text.strip(), None)


def observations(source: RecordSource, rows: Sequence[tuple]) -> Iterator[dict[str, Any]]:
    """The observations of one record source's query rows (see `source_query`)."""
    for record_key, first_seen, last_seen, *values in rows:
        record_id = f"{source.record_type}:{record_key}"
        first, last = to_utc(first_seen, source.seen_kind), to_utc(last_seen, source.seen_kind)
        found = [ident for carried, raw in zip(source.carried, values, strict=True)
                 for ident in _identifiers(carried.kind, raw)]
        # A record is a node of its graph even when it carries nothing usable.
        own_graph = ACCOUNT if source.record_type in ACCOUNT_TYPES else PERSON
        yield _row(record_id, source.record_type, own_graph, source.record_type, str(record_key),
                   normalize.Normalized(str(record_key), None), first, last)
        has_company = any(t in ("company", "neocrm_account", "salesforce_account") and n.value
                          for t, _, n in found)
        for identifier_type, raw, normalized in found:
            graph = ACCOUNT if identifier_type in ACCOUNT_TYPES else PERSON
            yield _row(record_id, source.record_type, graph, identifier_type, raw, normalized, first, last)
            if identifier_type == "email" and normalized.value and not has_company:
                # A corporate domain only speaks for the company when nothing better names it:
                # branch offices share their parent's domain.
                domain = normalize.email_domain(normalized.value)
                yield _row(record_id, source.record_type, ACCOUNT, "email_domain", normalized.value,
                           domain, first, last)


def _row(record_id: str, record_type: str, graph: str, identifier_type: str, raw: str,
         normalized: normalize.Normalized, first: datetime | None, last: datetime | None) -> dict[str, Any]:
    identifier = f"{identifier_type}:{normalized.value}" if normalized.value else None
    return {"record_id": record_id, "record_type": record_type, "graph": graph,
            "identifier_type": identifier_type, "raw_value": raw, "identifier": identifier,
            "phone_kind": normalized.kind if identifier_type == "phone" else None,
            "rejection_reason": normalized.reason, "first_seen_at": first, "last_seen_at": last}


def collect(run_query: Callable[[str], tuple[list[str], list[tuple]]],
            existing_tables: set[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """Observations of every record source whose raw table exists, and the sources skipped."""
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    for source in RECORD_SOURCES:
        if source.table not in existing_tables:
            skipped.append(source.table)
            continue
        _, result = run_query(source_query(source))
        rows.extend(observations(source, result))
    return rows, skipped
