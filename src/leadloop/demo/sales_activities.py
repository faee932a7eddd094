"""The demo company's sales activities: calls, e-mails and meetings, CRM-neutral.

Derived deterministically from the world (its own random stream, so nothing else moves): an SDR
calls and usually e-mails a new lead within days; sales meets the buying committee when a deal
opens and calls its contacts a few times while it runs. Like the world, the list runs past the
demo's "today": a renderer shows only activities at or before the instant it renders.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from leadloop.demo.model import DAY_MS, Account, Journey, Opportunity, Person, World

ActivityKind = Literal["call", "email", "meeting"]
CALL: ActivityKind = "call"
EMAIL: ActivityKind = "email"
MEETING: ActivityKind = "meeting"
ACTIVITY_ID_BASE = 1_900_000_000_000  # next to the world's other id ranges (leadloop.demo.world.ID_BASE)
HOUR_MS = 3_600_000
EMAIL_SHARE = 0.8  # leads that also get an e-mail after the first call
OPEN_DEAL_DAYS = 60  # calls on a deal still open fall within this many days of its opening
SUBJECTS = {
    ("lead", CALL): "首次电话沟通",
    ("lead", EMAIL): "发送产品资料",
    ("deal", MEETING): "需求沟通会",
    ("deal", CALL): "商务跟进电话",
}


@dataclass(frozen=True)
class SalesActivity:
    """One call, e-mail or meeting of a seller with a person, about a lead or an opportunity."""

    activity_id: int
    kind: ActivityKind
    at_ms: int
    person_id: str
    lead_id: int | None  # the world journey's lead, when the activity belongs to one
    opportunity_id: int | None  # the deal it was about, for activities of an open deal
    owner_id: int
    subject: str


@dataclass(frozen=True)
class _Draft:
    """An activity before ids are given (ids follow time order over the whole horizon)."""

    kind: ActivityKind
    at_ms: int
    person_id: str
    lead_id: int | None
    opportunity_id: int | None
    owner_id: int
    subject: str


def sales_activities(world: World) -> list[SalesActivity]:
    """Every sales activity of the world, ordered by time, with stable ids."""
    rng = random.Random(f"sales-activities:{world.seed}")
    drafts = [d for journey in world.journeys for d in _lead_touches(rng, journey)]
    accounts = {account.account_id: account for account in world.accounts}
    journeys = {journey.lead_id: journey for journey in world.journeys}
    for opportunity in world.opportunities:
        journey = journeys.get(opportunity.lead_id) if opportunity.lead_id else None
        drafts += _deal_touches(rng, opportunity, accounts[opportunity.account_id], journey)
    drafts.sort(key=lambda d: (d.at_ms, d.kind, d.person_id, d.lead_id or 0, d.opportunity_id or 0))
    return [
        SalesActivity(ACTIVITY_ID_BASE + n, d.kind, d.at_ms, d.person_id, d.lead_id, d.opportunity_id,
                      d.owner_id, d.subject)
        for n, d in enumerate(drafts, start=1)
    ]


def _lead_touches(rng: random.Random, journey: Journey) -> list[_Draft]:
    """The SDR's first call within two days of the lead, and usually an e-mail within three."""
    person_id, lead, owner = journey.person.person_id, journey.lead_id, journey.owner_id
    call_at = journey.created_at + rng.randint(HOUR_MS // 2, 2 * DAY_MS)
    touches = [_Draft(CALL, call_at, person_id, lead, None, owner, SUBJECTS[("lead", CALL)])]
    if rng.random() < EMAIL_SHARE:
        email_at = journey.created_at + rng.randint(HOUR_MS, 3 * DAY_MS)
        touches.append(_Draft(EMAIL, email_at, person_id, lead, None, owner, SUBJECTS[("lead", EMAIL)]))
    return touches


def contacts_at(account: Account, moment: int) -> list[Person]:
    """The account's committee members who are CRM contacts at `moment`, oldest contact first."""
    people = [
        p for p in account.committee
        if p.contact_id is not None and p.contact_created_at is not None and p.contact_created_at <= moment
    ]
    return sorted(people, key=lambda p: (p.contact_created_at or 0, p.person_id))


def deal_contact(opportunity: Opportunity, account: Account, journey: Journey | None) -> Person | None:
    """Who sales first works a deal with: the converted lead's person, else the oldest contact."""
    if journey is not None and journey.person.contact_id is not None:
        return journey.person
    contacts = contacts_at(account, opportunity.created_at)
    return contacts[0] if contacts else None


def _deal_touches(
    rng: random.Random, opportunity: Opportunity, account: Account, journey: Journey | None
) -> list[_Draft]:
    """A meeting within days of the deal opening, then one to three calls while it runs."""
    first = deal_contact(opportunity, account, journey)
    if first is None:
        return []
    lead, deal, owner = opportunity.lead_id, opportunity.opportunity_id, opportunity.owner_id
    meeting_at = opportunity.created_at + rng.randint(2 * HOUR_MS, 3 * DAY_MS)
    touches = [_Draft(MEETING, meeting_at, first.person_id, lead, deal, owner, SUBJECTS[("deal", MEETING)])]
    end = opportunity.closed_at or opportunity.created_at + OPEN_DEAL_DAYS * DAY_MS
    for _ in range(rng.randint(1, 3)):
        at = rng.randint(opportunity.created_at, max(opportunity.created_at, end))
        person = rng.choice(contacts_at(account, at) or [first])
        touches.append(_Draft(CALL, at, person.person_id, lead, deal, owner, SUBJECTS[("deal", CALL)]))
    return touches
