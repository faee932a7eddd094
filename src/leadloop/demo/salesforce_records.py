"""Render the demo world as Salesforce records, as the org would show them at a given instant.

The same CRM world `leadloop.demo.neocrm_records` shows as 销售易 objects, for a company on Salesforce:
leads with their status history and conversion, accounts, contacts, opportunities with their
stage and field history and contact roles, the UTM campaigns as Campaign / CampaignMember, the
sales activities of `leadloop.demo.sales_activities` as Task (calls, e-mails) and Event (meetings), and
the Organization row. Ids are 18-character Salesforce ids derived from the world's ids. Besides
the world, about 2% of leads get a duplicate that someone created by mistake and deleted a few
hours later: deleted rows only `queryAll` serves. An `OrgShape` (leadloop.demo.salesforce_shape) turns the
demo org into another org shape: features off, fields missing, another currency.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from leadloop.demo import catalog, custom_fields
from leadloop.demo.digital import DigitalWorld
from leadloop.demo.identity import phone_as_typed
from leadloop.demo.model import (
    BUSINESS_TZ,
    DAY_MS,
    ID_BASE,
    Account,
    Journey,
    Opportunity,
    Person,
    World,
    to_ms,
)
from leadloop.demo.sales_activities import (
    ACTIVITY_ID_BASE,
    CALL,
    MEETING,
    SalesActivity,
    deal_contact,
    sales_activities,
)
from leadloop.demo.salesforce_shape import DEFAULT_SHAPE, OrgShape, apply_shape

__all__ = ["DEFAULT_SHAPE", "OrgShape", "render"]

Record = dict[str, Any]
HOUR_MS = 3_600_000
MINUTE_MS = 60_000

# Key prefixes: the first three characters of every Salesforce id name its object.
PREFIXES = {
    "Lead": "00Q", "Account": "001", "Contact": "003", "Opportunity": "006", "User": "005",
    "Campaign": "701", "CampaignMember": "00v", "OpportunityHistory": "008", "LeadHistory": "017",
    "Task": "00T", "Event": "00U", "OpportunityContactRole": "00K", "OpportunityFieldHistory": "017",
    "Organization": "00D",
}
POD = "2t"  # characters 4-5 of an id: the org's instance; character 6 is reserved ("0")
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

LEAD_STATUSES = {
    catalog.LEAD_STATUS_NEW: "Open - Not Contacted",
    catalog.LEAD_STATUS_WORKING: "Working - Contacted",
    catalog.LEAD_STATUS_QUALIFIED: "Qualified",
    catalog.LEAD_STATUS_CONVERTED: "Closed - Converted",
    catalog.LEAD_STATUS_DISQUALIFIED: "Closed - Not Converted",
}
STAGE_NAMES = {
    catalog.STAGE_DISCOVERY: "Prospecting",
    catalog.STAGE_NEEDS: "Needs Analysis",
    catalog.STAGE_POC: "Proof of Concept",
    catalog.STAGE_NEGOTIATION: "Negotiation/Review",
    catalog.STAGE_WON: "Closed Won",
    catalog.STAGE_LOST: "Closed Lost",
}
PROBABILITIES = {stage_id: float(win_rate) for stage_id, _, _, win_rate in catalog.SALE_STAGES}
OPPORTUNITY_TYPES = {
    "new_logo": "New Customer",
    "upsell": "Existing Customer - Upgrade",
    "cross_sell": "Existing Customer - Upgrade",
}
CAMPAIGN_TYPES = {
    "paid_search": "Advertisement", "paid_social": "Banner Ads", "wechat_content": "Other",
    "webinar": "Webinar", "wecom": "Other",
}
DUPLICATE_SEQUENCE_BASE = 50_000_000  # duplicate leads' id sequence, far from the world's leads
DUPLICATE_PER_MILLE = 20  # ~2% of leads
# OpportunityFieldHistory shares the history key prefix 017 with LeadHistory: its own id range.
FIELD_HISTORY_SEQUENCE_BASE = 1_000_000_000
AMOUNT_HISTORY_ROW = 99  # the Amount change of a deal's field history, after its stage changes
# Standard OpportunityContactRole roles for the demo's committee roles.
CONTACT_ROLES = {
    "研究员": "Evaluator", "工程师": "Technical Buyer", "市场经理": "Business User",
    "部门经理": "Decision Maker", "IT总监": "Technical Buyer", "CTO": "Executive Sponsor",
    "采购经理": "Economic Buyer", "总经理": "Economic Decision Maker",
}
TASK_SUBTYPES = {CALL: "Call", "email": "Email"}
MEETING_MINUTES = 60
# The org: the token endpoint's id URL names the same 00D id.
ORG_ID = "00D2t0000000LdAEAU"
ORG_NAME = "leadloop 演示科技有限公司"


def salesforce_id(sobject: str, sequence: int) -> str:
    """An 18-character id: prefix, pod, reserved 0, 9 base-62 digits, 3-character case checksum."""
    digits = ""
    for _ in range(9):
        sequence, remainder = divmod(sequence, 62)
        digits = _BASE62[remainder] + digits
    if sequence:
        raise ValueError(f"id sequence too large for a Salesforce id of {sobject}")
    return with_checksum(f"{PREFIXES[sobject]}{POD}0{digits}")


def with_checksum(id15: str) -> str:
    """The 18-character form of a 15-character id (each suffix letter encodes 5 characters' case)."""
    suffix = ""
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        bits = sum(1 << n for n, char in enumerate(chunk) if "A" <= char <= "Z")
        suffix += _SUFFIX[bits]
    return id15 + suffix


def sf_datetime(ms: int) -> str:
    """Salesforce's dateTime wire form, always UTC: 2026-01-01T08:00:00.000+0000."""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def sf_date(ms: int) -> str:
    """A date field (no time zone on the wire): the calendar day in the org's zone, Asia/Shanghai."""
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(BUSINESS_TZ).date().isoformat()


def _sequence(kind: str, world_id: int) -> int:
    """The running number of a world id within its object kind."""
    return world_id - ID_BASE[kind]


def user_id(world_user_id: int) -> str:
    """The User id of a world user (owners, SDRs)."""
    return salesforce_id("User", _sequence("user", world_user_id))


def account_id(world_account_id: int) -> str:
    """The Account id of a world account."""
    return salesforce_id("Account", _sequence("account", world_account_id))


def contact_id(world_contact_id: int) -> str:
    """The Contact id of a world contact."""
    return salesforce_id("Contact", _sequence("contact", world_contact_id))


def lead_id(world_lead_id: int) -> str:
    """The Lead id of a world journey."""
    return salesforce_id("Lead", _sequence("lead", world_lead_id))


def opportunity_id(world_opportunity_id: int) -> str:
    """The Opportunity id of a world opportunity."""
    return salesforce_id("Opportunity", _sequence("opportunity", world_opportunity_id))


def _stamps(created: int, modified: int) -> Record:
    """CreatedDate, LastModifiedDate and SystemModstamp (set together in this demo)."""
    return {"CreatedDate": sf_datetime(created), "LastModifiedDate": sf_datetime(modified),
            "SystemModstamp": sf_datetime(modified)}


def _split_name(name: str) -> tuple[str, str]:
    """(FirstName, LastName) of a Chinese name: the surname is the first character."""
    return name[1:], name[:1]


@dataclass(frozen=True)
class Duplicate:
    """A duplicate lead created by mistake soon after a journey's lead, deleted hours later."""

    journey: Journey
    created_at: int
    deleted_at: int

    @property
    def lead_id(self) -> str:
        """Its own Lead id, outside the world's sequence."""
        return salesforce_id("Lead", DUPLICATE_SEQUENCE_BASE + _sequence("lead", self.journey.lead_id))


def duplicate_of(journey: Journey) -> Duplicate | None:
    """The journey's mistaken duplicate lead, if it has one (~2%, by a CRC of the lead id)."""
    code = zlib.crc32(f"salesforce:duplicate-lead:{journey.lead_id}".encode())
    if code % 1000 >= DUPLICATE_PER_MILLE:
        return None
    created = journey.created_at + (5 + (code >> 10) % 55) * MINUTE_MS
    deleted = created + (2 + (code >> 16) % 6) * HOUR_MS
    return Duplicate(journey, created, deleted)


@dataclass(frozen=True)
class CampaignKey:
    """A UTM campaign of a channel, numbered in catalog order (the Campaign id's sequence)."""

    sequence: int
    channel: catalog.Channel
    name: str

    @property
    def campaign_id(self) -> str:
        """Its Campaign id."""
        return salesforce_id("Campaign", self.sequence)


def campaigns(world: World) -> dict[tuple[str, str], CampaignKey]:
    """(utm source, utm campaign) → campaign, for every campaign some journey came from."""
    used = {(j.utm["utmSource"], j.utm["utmCampaign"]) for j in world.journeys if j.utm["utmCampaign"]}
    # The catalog's campaigns first, then those a larger demo adds (catalog.ad_structure): the catalog's
    # keep their ids at every scale.
    named = [(channel, name) for channel in catalog.CHANNELS for name in channel.campaigns]
    named += [(channel, name) for channel in catalog.CHANNELS
              for name, _ in catalog.ad_structure(channel, world.scale)[len(channel.campaigns):]]
    found: dict[tuple[str, str], CampaignKey] = {}
    for sequence, (channel, name) in enumerate(named, start=1):
        if channel.utm_source is not None and (channel.utm_source, name) in used:
            found[(channel.utm_source, name)] = CampaignKey(sequence, channel, name)
    return found


def campaign_of(journey: Journey, known: dict[tuple[str, str], CampaignKey]) -> CampaignKey | None:
    """The campaign a journey's lead responded to, if it carried a UTM campaign."""
    return known.get((journey.utm["utmSource"] or "", journey.utm["utmCampaign"] or ""))


def render(
    world: World,
    digital: DigitalWorld | None = None,
    as_of_ms: int | None = None,
    *,
    shape: OrgShape = DEFAULT_SHAPE,
) -> dict[str, list[Record]]:
    """Every Salesforce object of an org of `shape` as of an instant (default: the demo's today).

    `digital` is accepted for the renderers' common signature; the CRM needs nothing from it.
    The default shape is the demo org: every feature on, custom fields, one currency (CNY).
    """
    del digital
    now = world.as_of_ms if as_of_ms is None else as_of_ms
    return apply_shape({**_core_objects(world, now), **_sales_objects(world, now)}, shape)


def _core_objects(world: World, now: int) -> dict[str, list[Record]]:
    """Users, accounts, contacts, leads, opportunities, their histories, campaigns as of `now`."""
    known = campaigns(world)
    journeys_by_lead = {j.lead_id: j for j in world.journeys}
    duplicates = [d for j in world.journeys if (d := duplicate_of(j))]
    return {
        "User": list(_users(world)),
        "Account": [r for a in world.accounts if (r := _account(a, now))],
        "Contact": [r for a in world.accounts for p in a.committee if (r := _contact(p, a, now))],
        "Lead": [r for j in world.journeys if (r := _lead(j, now))]
        + [r for d in duplicates if (r := _duplicate_lead(d, now))],
        "LeadHistory": [r for j in world.journeys for r in _lead_history(j, now)],
        "Opportunity": [
            r for o in world.opportunities if (r := _opportunity(o, journeys_by_lead, known, now))
        ],
        "OpportunityHistory": [r for o in world.opportunities for r in _opportunity_history(o, now)],
        "Campaign": [_campaign(c, world) for c in known.values()],
        "CampaignMember": [r for j in world.journeys if (r := _campaign_member(j, known, now))],
    }


def _users(world: World) -> Iterator[Record]:
    """The org's users (SDRs own leads, sales own accounts and deals), there from the start."""
    created = to_ms(world.start)
    for world_user_id, name, department, position in world.users:
        first, last = _split_name(name)
        email = f"u{world_user_id % 1000}@leadloop-demo.cn"
        yield {"Id": user_id(world_user_id), "Username": email, "Name": name, "FirstName": first,
               "LastName": last, "Email": email, "Department": department, "Title": position,
               "IsActive": True, **_stamps(created, created)}


def _account(account: Account, now: int) -> Record | None:
    """An account once its first lead converted or a seller opened a deal for it."""
    if account.created_at == 0 or account.created_at > now:
        return None
    return {"Id": account_id(account.account_id), "IsDeleted": False, "Name": account.name,
            "Industry": account.industry, "BillingState": account.province, "BillingCity": account.city,
            "NumberOfEmployees": account.employees, "OwnerId": user_id(account.owner_id),
            **_stamps(account.created_at, account.created_at)}


def _contact(person: Person, account: Account, now: int) -> Record | None:
    """A committee member once conversion or a deal made them a contact."""
    if person.contact_id is None or person.contact_created_at is None or person.contact_created_at > now:
        return None
    first, last = _split_name(person.name)
    return {"Id": contact_id(person.contact_id), "IsDeleted": False,
            "AccountId": account_id(account.account_id), "Name": person.name, "FirstName": first,
            "LastName": last, "Title": person.role, "Email": person.email,
            "MobilePhone": phone_as_typed(person), "Phone": account.switchboard,
            "OwnerId": user_id(account.owner_id),
            **_stamps(person.contact_created_at, person.contact_created_at)}


def _lead_fields(journey: Journey) -> Record:
    """What a lead shows from its creation on: the person, the company, source and UTM."""
    person, account, utm = journey.person, journey.account, journey.utm
    first, last = _split_name(person.name)
    return {"Name": person.name, "FirstName": first, "LastName": last, "Company": journey.typed_company,
            "Title": person.role, "Email": journey.typed_email, "MobilePhone": journey.typed_mobile,
            "Phone": account.switchboard,
            "State": account.province, "Industry": account.industry, "LeadSource": journey.lead_source,
            "OwnerId": user_id(journey.owner_id),
            "UTM_Source__c": utm["utmSource"], "UTM_Medium__c": utm["utmMedium"],
            "UTM_Campaign__c": utm["utmCampaign"], "UTM_Term__c": utm["utmTerm"],
            "UTM_Content__c": utm["utmContent"], custom_fields.SALESFORCE_FIELD: custom_fields.budget_range(journey)}


def _lead(journey: Journey, now: int) -> Record | None:
    """The lead as of `now`: status, conversion, and the opportunity once it exists (as 销售易)."""
    if journey.created_at > now:
        return None
    visible = [(at, status) for at, status in journey.status_events if at <= now]
    changes = [at for at, _ in visible]
    converted = journey.converted_at is not None and journey.converted_at <= now
    opportunity = journey.opportunity
    if opportunity is not None and opportunity.created_at > now:
        opportunity = None  # not opened yet
    if opportunity:
        changes.append(opportunity.created_at)
    person, account = journey.person, journey.account
    return {
        "Id": lead_id(journey.lead_id), "IsDeleted": False, **_lead_fields(journey),
        "Status": LEAD_STATUSES[visible[-1][1]],
        "IsConverted": converted,
        "ConvertedDate": sf_date(journey.converted_at) if converted and journey.converted_at else None,
        "ConvertedAccountId": account_id(account.account_id) if converted else None,
        "ConvertedContactId": contact_id(person.contact_id) if converted and person.contact_id else None,
        "ConvertedOpportunityId": opportunity_id(opportunity.opportunity_id) if opportunity else None,
        **_stamps(journey.created_at, max(changes)),
    }


def _duplicate_lead(duplicate: Duplicate, now: int) -> Record | None:
    """The mistaken duplicate: a fresh open lead, then deleted (IsDeleted, new SystemModstamp)."""
    if duplicate.created_at > now:
        return None
    deleted = duplicate.deleted_at <= now
    return {
        "Id": duplicate.lead_id, "IsDeleted": deleted, **_lead_fields(duplicate.journey),
        "Status": LEAD_STATUSES[catalog.LEAD_STATUS_NEW], "IsConverted": False, "ConvertedDate": None,
        "ConvertedAccountId": None, "ConvertedContactId": None, "ConvertedOpportunityId": None,
        **_stamps(duplicate.created_at, duplicate.deleted_at if deleted else duplicate.created_at),
    }


def _lead_history(journey: Journey, now: int) -> Iterator[Record]:
    """One LeadHistory row per change of Status (the creation status is not a change)."""
    sequence = _sequence("lead", journey.lead_id)
    events = journey.status_events
    for n in range(1, len(events)):
        at, new = events[n]
        if at > now:
            return
        yield {"Id": salesforce_id("LeadHistory", sequence * 10 + n), "IsDeleted": False,
               "LeadId": lead_id(journey.lead_id), "Field": "Status",
               "OldValue": LEAD_STATUSES[events[n - 1][1]], "NewValue": LEAD_STATUSES[new],
               "CreatedDate": sf_datetime(at)}


def _visible_stages(opportunity: Opportunity, now: int) -> list[tuple[int, int]]:
    """The stage entries that have happened by `now`."""
    return [(at, stage) for at, stage in opportunity.stage_events if at <= now]


def _amount(opportunity: Opportunity, stage: int) -> float:
    """The deal's amount: the estimate while open or lost, the signed amount once won."""
    won = stage == catalog.STAGE_WON and opportunity.won_amount is not None
    return opportunity.won_amount if won and opportunity.won_amount is not None else opportunity.estimate


def _close_date(opportunity: Opportunity, at: int, stage: int) -> str:
    """CloseDate: the day it closed, or the expected close 90 days after it opened."""
    closed = stage in (catalog.STAGE_WON, catalog.STAGE_LOST)
    return sf_date(at if closed else opportunity.created_at + 90 * DAY_MS)


def _opportunity(
    opportunity: Opportunity,
    journeys_by_lead: dict[int, Journey],
    known: dict[tuple[str, str], CampaignKey],
    now: int,
) -> Record | None:
    """The deal as of `now`: current stage, amount, outcome, and where it came from."""
    stages = _visible_stages(opportunity, now)
    if not stages:
        return None
    last_at, stage = stages[-1]
    journey = journeys_by_lead.get(opportunity.lead_id) if opportunity.lead_id else None
    campaign = campaign_of(journey, known) if journey else None
    return {
        "Id": opportunity_id(opportunity.opportunity_id), "IsDeleted": False, "Name": opportunity.name,
        "AccountId": account_id(opportunity.account_id), "OwnerId": user_id(opportunity.owner_id),
        "StageName": STAGE_NAMES[stage], "Amount": _amount(opportunity, stage),
        "Probability": PROBABILITIES[stage], "CloseDate": _close_date(opportunity, last_at, stage),
        "IsClosed": stage in (catalog.STAGE_WON, catalog.STAGE_LOST), "IsWon": stage == catalog.STAGE_WON,
        # Conversion copies the lead's source; deals sales opened themselves carry their own.
        "LeadSource": journey.lead_source if journey else opportunity.source,
        "Type": OPPORTUNITY_TYPES[opportunity.deal_type],
        "CampaignId": campaign.campaign_id if campaign else None,
        "Loss_Reason__c": opportunity.lost_reason if stage == catalog.STAGE_LOST else None,
        **_stamps(opportunity.created_at, last_at),
    }


def _opportunity_history(opportunity: Opportunity, now: int) -> Iterator[Record]:
    """One OpportunityHistory row per stage entry, with the deal's values at that moment."""
    sequence = _sequence("opportunity", opportunity.opportunity_id)
    for n, (at, stage) in enumerate(_visible_stages(opportunity, now)):
        yield {"Id": salesforce_id("OpportunityHistory", sequence * 10 + n), "IsDeleted": False,
               "OpportunityId": opportunity_id(opportunity.opportunity_id), "StageName": STAGE_NAMES[stage],
               "Amount": _amount(opportunity, stage), "Probability": PROBABILITIES[stage],
               "CloseDate": _close_date(opportunity, at, stage), "CreatedDate": sf_datetime(at),
               "SystemModstamp": sf_datetime(at)}


def _campaign(campaign: CampaignKey, world: World) -> Record:
    """A marketing campaign, set up when the demo company's story starts."""
    created = to_ms(world.start)
    marketing_owner = next(u for u in world.users if u[3] == "SDR")[0]
    return {"Id": campaign.campaign_id, "IsDeleted": False, "Name": campaign.name,
            "Type": CAMPAIGN_TYPES.get(campaign.channel.name, "Other"), "Status": "In Progress",
            "StartDate": sf_date(created), "EndDate": None, "IsActive": True,
            "OwnerId": user_id(marketing_owner), "UTM_Source__c": campaign.channel.utm_source,
            "UTM_Medium__c": campaign.channel.utm_medium, **_stamps(created, created)}


def _campaign_member(journey: Journey, known: dict[tuple[str, str], CampaignKey], now: int) -> Record | None:
    """The lead's membership of its UTM campaign; conversion adds the contact."""
    campaign = campaign_of(journey, known)
    if campaign is None or journey.created_at > now:
        return None
    converted = journey.converted_at is not None and journey.converted_at <= now
    person = journey.person
    modified = journey.converted_at if converted and journey.converted_at else journey.created_at
    return {"Id": salesforce_id("CampaignMember", _sequence("lead", journey.lead_id)), "IsDeleted": False,
            "CampaignId": campaign.campaign_id, "LeadId": lead_id(journey.lead_id),
            "ContactId": contact_id(person.contact_id) if converted and person.contact_id else None,
            "Status": "Responded", "HasResponded": True, "FirstRespondedDate": sf_date(journey.created_at),
            **_stamps(journey.created_at, modified)}


# -- sales activities, contact roles, field history, the org ------------------------------------


def _sales_objects(world: World, now: int) -> dict[str, list[Record]]:
    """Task, Event, OpportunityContactRole, OpportunityFieldHistory and Organization as of `now`."""
    context = _SalesContext.of(world)
    shown = [a for a in sales_activities(world) if a.at_ms <= now]
    return {
        "Task": [_task(a, context, now) for a in shown if a.kind != MEETING],
        "Event": [_event(a, context, now) for a in shown if a.kind == MEETING],
        "OpportunityContactRole": [
            r for o in world.opportunities if o.created_at <= now for r in _contact_roles(o, context, now)
        ],
        "OpportunityFieldHistory": [r for o in world.opportunities for r in _field_history(o, now)],
        "Organization": [_organization(world)],
    }


@dataclass(frozen=True)
class _SalesContext:
    """Lookups the sales objects need: people with their account, journeys, deals, accounts."""

    people: dict[str, tuple[Person, Account]]
    journeys: dict[int, Journey]
    opportunities: dict[int, Opportunity]
    accounts: dict[int, Account]

    @classmethod
    def of(cls, world: World) -> _SalesContext:
        """Builds the lookups of a world."""
        return cls(
            people={p.person_id: (p, a) for a in world.accounts for p in a.committee},
            journeys={j.lead_id: j for j in world.journeys},
            opportunities={o.opportunity_id: o for o in world.opportunities},
            accounts={a.account_id: a for a in world.accounts},
        )


def _activity_links(activity: SalesActivity, context: _SalesContext, now: int) -> tuple[Record, int]:
    """(WhoId, WhatId, AccountId) of an activity as of `now`, and when they last changed.

    A lead's activities name the lead until it converts, then its contact (and the deal once it
    exists): the links, and so the record's stamps, move on with the lead.
    """
    person, account = context.people[activity.person_id]
    if activity.opportunity_id is not None:
        deal = context.opportunities[activity.opportunity_id]
        links = {"WhoId": contact_id(person.contact_id) if person.contact_id else None,
                 "WhatId": opportunity_id(deal.opportunity_id), "AccountId": account_id(deal.account_id)}
        return links, activity.at_ms
    journey = context.journeys[activity.lead_id] if activity.lead_id is not None else None
    converted = journey is not None and journey.converted_at is not None and journey.converted_at <= now
    deal = journey.opportunity if journey is not None else None
    opened = deal is not None and deal.created_at <= now
    changes = [activity.at_ms]
    if converted and journey is not None and journey.converted_at is not None:
        changes.append(journey.converted_at)
    if opened and deal is not None:
        changes.append(deal.created_at)
    who = contact_id(person.contact_id) if converted and person.contact_id else (
        lead_id(activity.lead_id) if activity.lead_id is not None else None)
    links = {"WhoId": who, "WhatId": opportunity_id(deal.opportunity_id) if opened and deal else None,
             "AccountId": account_id(account.account_id) if converted or opened else None}
    return links, max(changes)


def _activity_sequence(activity: SalesActivity) -> int:
    """The running number of an activity (Task and Event ids)."""
    return activity.activity_id - ACTIVITY_ID_BASE


def _task(activity: SalesActivity, context: _SalesContext, now: int) -> Record:
    """A call or an e-mail as a completed Task (TaskSubtype Call / Email)."""
    links, modified = _activity_links(activity, context, now)
    call = activity.kind == CALL
    subtype = TASK_SUBTYPES[activity.kind]
    duration = 60 + zlib.crc32(f"call:{activity.activity_id}".encode()) % 840 if call else None
    return {"Id": salesforce_id("Task", _activity_sequence(activity)), "IsDeleted": False, **links,
            "OwnerId": user_id(activity.owner_id), "Subject": activity.subject, "TaskSubtype": subtype,
            "Type": subtype, "Status": "Completed", "Priority": "Normal", "IsClosed": True,
            "ActivityDate": sf_date(activity.at_ms), "CompletedDateTime": sf_datetime(activity.at_ms),
            "CallType": "Outbound" if call else None, "CallDurationInSeconds": duration,
            **_stamps(activity.at_ms, modified)}


def _event(activity: SalesActivity, context: _SalesContext, now: int) -> Record:
    """A meeting as an Event of an hour, on site or online."""
    links, modified = _activity_links(activity, context, now)
    end = activity.at_ms + MEETING_MINUTES * MINUTE_MS
    online = zlib.crc32(f"meeting:{activity.activity_id}".encode()) % 2 == 0
    return {"Id": salesforce_id("Event", _activity_sequence(activity)), "IsDeleted": False, **links,
            "OwnerId": user_id(activity.owner_id), "Subject": activity.subject, "EventSubtype": "Event",
            "Type": "Meeting", "Location": "腾讯会议" if online else "客户现场", "IsAllDayEvent": False,
            "ActivityDate": sf_date(activity.at_ms), "ActivityDateTime": sf_datetime(activity.at_ms),
            "StartDateTime": sf_datetime(activity.at_ms), "EndDateTime": sf_datetime(end),
            "DurationInMinutes": MEETING_MINUTES, **_stamps(activity.at_ms, modified)}


def contact_role_members(opportunity: Opportunity, account: Account) -> list[tuple[int, Person, int]]:
    """(committee index, person, role created at) of every member who is a contact while the deal
    runs: added when the deal opens, or when they become a contact later (before it closes)."""
    until = opportunity.closed_at
    members = []
    for index, person in enumerate(account.committee):
        became = person.contact_created_at
        if person.contact_id is None or became is None or (until is not None and became > until):
            continue
        members.append((index, person, max(opportunity.created_at, became)))
    return members


def _contact_roles(opportunity: Opportunity, context: _SalesContext, now: int) -> Iterator[Record]:
    """The deal's OpportunityContactRoles: the converted lead's contact (else the oldest) is primary."""
    account = context.accounts[opportunity.account_id]
    journey = context.journeys.get(opportunity.lead_id) if opportunity.lead_id else None
    primary = deal_contact(opportunity, account, journey)
    sequence = _sequence("opportunity", opportunity.opportunity_id)
    for index, person, created in contact_role_members(opportunity, account):
        if created > now or person.contact_id is None:
            continue
        yield {"Id": salesforce_id("OpportunityContactRole", sequence * 100 + index), "IsDeleted": False,
               "OpportunityId": opportunity_id(opportunity.opportunity_id),
               "ContactId": contact_id(person.contact_id), "Role": CONTACT_ROLES.get(person.role, "Other"),
               "IsPrimary": primary is not None and person.person_id == primary.person_id,
               **_stamps(created, created)}


def _field_history(opportunity: Opportunity, now: int) -> Iterator[Record]:
    """OpportunityFieldHistory: each StageName change, and the Amount change when a deal is won."""
    sequence = FIELD_HISTORY_SEQUENCE_BASE + _sequence("opportunity", opportunity.opportunity_id) * 100
    deal = opportunity_id(opportunity.opportunity_id)
    stages = _visible_stages(opportunity, now)
    for n in range(1, len(stages)):
        at, stage = stages[n]
        yield {"Id": salesforce_id("OpportunityFieldHistory", sequence + n), "IsDeleted": False,
               "OpportunityId": deal, "Field": "StageName", "OldValue": STAGE_NAMES[stages[n - 1][1]],
               "NewValue": STAGE_NAMES[stage], "CreatedDate": sf_datetime(at)}
    won_at, last = stages[-1] if stages else (0, 0)
    if last == catalog.STAGE_WON and opportunity.won_amount not in (None, opportunity.estimate):
        yield {"Id": salesforce_id("OpportunityFieldHistory", sequence + AMOUNT_HISTORY_ROW),
               "IsDeleted": False, "OpportunityId": deal, "Field": "Amount", "OldValue": opportunity.estimate,
               "NewValue": opportunity.won_amount, "CreatedDate": sf_datetime(won_at)}


def _organization(world: World) -> Record:
    """The org's single Organization row, set up when the demo company's story starts."""
    created = to_ms(world.start)
    return {"Id": ORG_ID, "Name": ORG_NAME, "TimeZoneSidKey": "Asia/Shanghai",
            "DefaultCurrencyIsoCode": "CNY", "LanguageLocaleKey": "zh_CN", "DefaultLocaleSidKey": "zh_CN",
            "FiscalYearStartMonth": 1, "OrganizationType": "Enterprise Edition", "IsSandbox": False,
            "InstanceName": "AP24", **_stamps(created, created)}
