"""Which true person and which true company every demo record belongs to, as of an instant.

Records are named the way leadloop's identity graph names them (`<system>_<object>:<id>`), so a
test can join the stitched warehouse to this truth and count pairs. Anonymous web visitors are
their own person (`anonymous:<distinct_id>`): merging two of them would be a stitching error too.
"""

from __future__ import annotations

from typing import NamedTuple

from leadloop.demo import salesforce_records, sensors_records
from leadloop.demo.digital import DigitalWorld
from leadloop.demo.model import World
from leadloop.demo.touch_truth import SENSORS_LOADED_FROM_MS
from leadloop.demo.wecom_records import exists_at


class RecordTruth(NamedTuple):
    """One record of a source system and the true person and account behind it."""

    record: str  # e.g. 'neocrm_lead:1400000000017'
    person_id: str
    account_id: int | None  # None for records that name no company (web visitors, WeChat users)


def record_truth(world: World, digital: DigitalWorld, now: int | None = None) -> list[RecordTruth]:
    """Every person-bearing record that exists at `now` (default: the demo's today)."""
    moment = world.as_of_ms if now is None else now
    rows: list[RecordTruth] = []
    for journey in world.journeys:
        if journey.created_at > moment:
            continue
        person, account_id = journey.person.person_id, journey.account.account_id
        rows.append(RecordTruth(f"neocrm_lead:{journey.lead_id}", person, account_id))
        rows.append(RecordTruth(f"salesforce_lead:{salesforce_records.lead_id(journey.lead_id)}",
                                person, account_id))
        duplicate = salesforce_records.duplicate_of(journey)
        if duplicate and duplicate.created_at <= moment < duplicate.deleted_at:
            rows.append(RecordTruth(f"salesforce_lead:{duplicate.lead_id}", person, account_id))
    for account in world.accounts:
        for person in account.committee:
            if person.contact_id is None or person.contact_created_at is None:
                continue
            if person.contact_created_at <= moment:
                rows.append(RecordTruth(f"neocrm_contact:{person.contact_id}", person.person_id,
                                        account.account_id))
                rows.append(RecordTruth(
                    f"salesforce_contact:{salesforce_records.contact_id(person.contact_id)}",
                    person.person_id, account.account_id))
    visitors: dict[int, str] = {}
    for event in sensors_records.received_events(digital, moment):
        if event.time_ms < SENSORS_LOADED_FROM_MS:
            continue  # before the Sensors load starts: never in the warehouse
        visitors.setdefault(sensors_records.user_id(event.distinct_id),
                            event.person_id or f"anonymous:{event.distinct_id}")
    rows += [RecordTruth(f"sensors_user:{user}", person, None) for user, person in visitors.items()]
    contacts = {c.external_userid: c.person_id for c in digital.wecom_contacts if exists_at(c, moment)}
    rows += [RecordTruth(f"wecom_contact:{external}", person, None) for external, person in contacts.items()]
    return rows


def account_record_truth(world: World, now: int | None = None) -> list[tuple[str, int]]:
    """Every CRM account record that exists at `now` and the true company (a branch is its own)."""
    moment = world.as_of_ms if now is None else now
    rows: list[tuple[str, int]] = []
    for account in world.accounts:
        if account.created_at == 0 or account.created_at > moment:
            continue
        rows.append((f"neocrm_account:{account.account_id}", account.account_id))
        rows.append((f"salesforce_account:{salesforce_records.account_id(account.account_id)}",
                     account.account_id))
    return rows
