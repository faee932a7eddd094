"""Acceptance (issue 6): persons and companies stitched from every system, measured against truth."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from leadloop.demo.digital import simulate_digital
from leadloop.demo.identity import PLACEHOLDER_MOBILE
from leadloop.demo.identity_truth import account_record_truth, record_truth
from leadloop.identity.normalize import normalize_email, normalize_phone
from tests.support.dbt import duckdb_environment, passed, run_dbt
from tests.support.stitching import mixed_groups, pair_score

pytestmark = pytest.mark.e2e
PERSON_RECORD_TYPES = ("neocrm_lead", "neocrm_contact", "salesforce_lead", "salesforce_contact",
                       "sensors_user", "wecom_contact")


@pytest.fixture(scope="module")
def digital(demo_world):
    return simulate_digital(demo_world)


@pytest.fixture(scope="module")
def warehouse(demo_night):
    with duckdb.connect(str(demo_night), read_only=True) as connection:
        yield connection


def _assigned(connection, model: str, column: str) -> dict[str, str]:
    return dict(connection.execute(f"select identifier, {column} from intermediate.{model}").fetchall())


def test_person_and_account_stitching_match_the_truth(warehouse, demo_world, digital):
    truth = {row.record: row.person_id for row in record_truth(demo_world, digital)}
    persons = pair_score(truth, _assigned(warehouse, "int_customer_ids_assigned", "customer_id"))
    companies = pair_score(dict(account_record_truth(demo_world)),
                           _assigned(warehouse, "int_account_ids_assigned", "account_id"))
    print(f"\npersons:  {persons}\naccounts: {companies}")
    assert {record.split(":")[0] for record in truth} == set(PERSON_RECORD_TYPES)
    assert persons.true_pairs > 4000 and companies.true_pairs > 100  # the truth is not trivial
    assert persons.precision >= 0.99 and persons.recall >= 0.99
    assert companies.precision >= 0.99 and companies.recall >= 0.99


def test_people_belong_to_their_company(warehouse, demo_world, digital):
    """A buying committee is one company: each CRM person's customer sits at their CRM account's company."""
    accounts = _assigned(warehouse, "int_account_ids_assigned", "account_id")
    customers = _assigned(warehouse, "int_customer_ids_assigned", "customer_id")
    company_of_customer = dict(warehouse.execute("select customer_id, account_id from marts.dim_customers").fetchall())
    checked = right = 0
    for row in record_truth(demo_world, digital):
        crm_account = accounts.get(f"neocrm_account:{row.account_id}")
        if row.record.startswith("neocrm_contact:") and crm_account:
            checked += 1
            right += company_of_customer.get(customers.get(row.record)) == crm_account
    print(f"\ncontacts at their company: {right}/{checked}")
    assert checked > 200 and right / checked >= 0.99


def test_switchboards_shared_mailboxes_and_placeholders_merge_nobody(warehouse, demo_world, digital):
    screened = {(identifier, reason) for identifier, reason in warehouse.execute(
        "select distinct identifier, exclusion_reason from intermediate.int_identifiers_screened"
        " where graph = 'person'").fetchall()}
    # A hub (found by counting) and a blocked value (the identity_blocked_values seed) both join no graph.
    excluded = {identifier for identifier, reason in screened if reason in ("hub", "blocked")}
    recorded = {identifier for identifier, _ in screened}
    switchboards = {f"phone:{normalize_phone(a.switchboard).value}" for a in demo_world.accounts if a.switchboard}
    mailboxes = {f"email:{normalize_email(a.shared_mailbox).value}" for a in demo_world.accounts if a.shared_mailbox}
    seen_switchboards = switchboards & recorded
    assert len(seen_switchboards) >= 10 and mailboxes & recorded
    # A switchboard typed on one person's records only is harmless; one shared by two is a hub.
    truth = {row.record: row.person_id for row in record_truth(demo_world, digital)}
    shared = {identifier for identifier, owners in _owners(warehouse, truth).items() if len(owners) > 1}
    assert shared & seen_switchboards and shared & mailboxes
    assert shared <= excluded, f"identifiers of several true persons left in the graph: {sorted(shared - excluded)[:5]}"
    # The placeholder number is a valid mobile to the normaliser; the seed is what keeps it out.
    placeholders = warehouse.execute(
        "select exclusion_reason, count(*) from intermediate.int_identifiers_screened where identifier = ?"
        " group by exclusion_reason", [f"phone:+86{PLACEHOLDER_MOBILE}"]).fetchall()
    assert len(placeholders) == 1 and placeholders[0][0] == "blocked" and placeholders[0][1] > 5
    assert mixed_groups(truth, _assigned(warehouse, "int_customer_ids_assigned", "customer_id")) == {}


def _owners(warehouse, truth: dict[str, str]) -> dict[str, set[str]]:
    """identifier → the true persons whose records carry it (truth: record → person)."""
    owners: dict[str, set[str]] = {}
    for record_id, identifier in warehouse.execute(
            "select record_id, identifier from intermediate.int_identifiers_screened where graph = 'person'"
            " and identifier_type in ('phone', 'email')").fetchall():
        if record_id in truth:
            owners.setdefault(identifier, set()).add(truth[record_id])
    return owners


def test_same_name_at_another_company_stays_another_person(warehouse, demo_world):
    customers = _assigned(warehouse, "int_customer_ids_assigned", "customer_id")
    by_name: dict[str, list] = {}
    for account in demo_world.accounts:
        for person in account.committee:
            if person.contact_id is not None and f"neocrm_contact:{person.contact_id}" in customers:
                by_name.setdefault(person.name, []).append(person)
    namesakes = [people for people in by_name.values() if len(people) > 1]
    assert namesakes, "the demo company should have namesakes"
    for people in namesakes:
        ids = {customers[f"neocrm_contact:{p.contact_id}"] for p in people}
        assert len(ids) == len(people)


# --- stability: ids survive unrelated data, merges are mapped --------------------------------------

OBSERVATION_COLUMNS = ("record_id", "record_type", "graph", "identifier_type", "raw_value", "identifier",
                       "phone_kind", "rejection_reason", "first_seen_at", "last_seen_at", "_dlt_load_id", "_dlt_id")


def _rebuild_identity(duckdb_path: Path, target: Path) -> None:
    """The identity chain from the screened identifiers to the customer id log and its change map, and
    dim_customers on top (its other inputs stay as the night built them): what customer ids depend on. Tests of
    models not rebuilt here (their relationships to dim_customers) are left out: `cautious` selection."""
    passed(run_dbt("build", "--select", "int_identifiers_screened+,+map_customer_id_changes", "dim_customers",
                   "--exclude", "test_type:unit", "--indirect-selection", "cautious", work_dir=target,
                   environment=duckdb_environment(duckdb_path)))


def _observe(connection, record_id: str, identifiers: list[tuple[str, str]], seen) -> None:
    """Add one record and the identifiers it carries, as the identity asset would."""
    record_type = record_id.split(":")[0]
    rows = [(record_id, record_type, "person", record_type, record_id.split(":", 1)[1], record_id)]
    rows += [(record_id, record_type, "person", kind, value, f"{kind}:{value}") for kind, value in identifiers]
    for n, row in enumerate(rows):
        connection.execute(
            f"insert into identity.identifier_observations ({', '.join(OBSERVATION_COLUMNS)})"
            " values (?, ?, ?, ?, ?, ?, null, null, ?, ?, 'test', ?)", [*row, seen, seen, f"{record_id}/{n}"])


def test_unrelated_data_keeps_every_customer_id_and_a_merge_is_mapped(demo_night, demo_world, tmp_path):
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_night, copy)
    target = tmp_path / "target"
    _rebuild_identity(copy, target)  # as the demo night left it: nothing new, nothing logged
    with duckdb.connect(str(copy)) as connection:
        before = _assigned(connection, "int_customer_ids_assigned", "customer_id")
        tomorrow = demo_world.as_of + timedelta(days=1)
        # A day of unrelated data: a new person fills a form and becomes a lead.
        _observe(connection, "neocrm_lead:1499999999001", [("phone", "+8613700000017"),
                                                           ("email", "newcomer@unrelated.cn")], tomorrow)
        _observe(connection, "sensors_user:77", [("phone", "+8613700000017"),
                                                 ("sensors_distinct_id", "fresh-visitor-sa")], tomorrow)
    _rebuild_identity(copy, target)
    with duckdb.connect(str(copy)) as connection:
        after = _assigned(connection, "int_customer_ids_assigned", "customer_id")
        assert {k: after[k] for k in before} == before, "unrelated data changed existing customer ids"
        assert after["neocrm_lead:1499999999001"] == after["sensors_user:77"]
        assert after["neocrm_lead:1499999999001"] not in before.values()
        assert connection.execute("select count(*) from marts.map_customer_id_changes").fetchone() == (0,)

        # New evidence that two known persons are one: a lead with one's phone, converted into the
        # other's CRM contact.
        older, younger = connection.execute(
            "select customer_id from marts.dim_customers where phone_hash is not null and crm_lead_count > 0"
            " and customer_id in (select customer_id from intermediate.int_customer_ids_assigned"
            " where identifier like 'neocrm_contact:%') order by first_seen_at limit 2").fetchall()
        phone = _identifier_of(connection, younger[0], "phone")
        contact = _identifier_of(connection, older[0], "neocrm_contact")
        _observe(connection, "neocrm_lead:1499999999002", [("phone", phone), ("neocrm_contact", contact)],
                 tomorrow + timedelta(hours=1))
    _rebuild_identity(copy, target)
    with duckdb.connect(str(copy)) as connection:
        merged = _assigned(connection, "int_customer_ids_assigned", "customer_id")
        moved = {k for k in before if merged[k] != before[k]}
        assert moved and {before[k] for k in moved} == {younger[0]}, "only the younger person's ids may move"
        assert {merged[k] for k in moved} == {older[0]}, "the older person's id survives the merge"
        assert connection.execute(
            "select old_customer_id, new_customer_id, identifiers_moved from marts.map_customer_id_changes"
        ).fetchall() == [(younger[0], older[0], len(moved))]


def _identifier_of(connection, customer_id: str, kind: str) -> str:
    """The normalised value of one of a customer's identifiers of a kind."""
    (identifier,) = connection.execute(
        "select min(identifier) from intermediate.int_customer_ids_assigned where customer_id = ?"
        " and identifier like ?", [customer_id, f"{kind}:%"]).fetchone()
    return identifier.split(":", 1)[1]
