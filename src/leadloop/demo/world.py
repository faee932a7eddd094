"""The demo company: a seeded, deterministic simulation of one B2B company's world.

`simulate()` plays every account's story forward (leads, stage changes, opportunities, POCs,
wins, losses, payments) as timestamped events, including events after the demo's "today".
Renderers (`leadloop.demo.neocrm_records`, `leadloop.demo.truth`) then show that world *as of* an instant, which is
how a simulator can later advance by a day without changing the past.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from faker import Faker

from leadloop.demo import catalog, identity
from leadloop.demo.model import (
    ACCOUNTS_PER_SCALE,
    BUSINESS_TZ,
    DAY_MS,
    DEFAULT_AS_OF,
    DEFAULT_SEED,
    DEFAULT_START,
    ID_BASE,
    Account,
    Journey,
    Opportunity,
    Person,
    World,
    to_ms,
)

# A deal's chances before its lead's channel quality: lost at each stage, won when it reaches the decision.
STAGE_LOSS_RATE = 0.18
BASE_WIN_RATE = 0.62


class _Simulation:
    """Holds the random streams and id counters while a world is generated."""

    def __init__(self, seed: int, start: datetime, horizon: datetime, scale: float = 1.0) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(seed)
        self.start, self.horizon = start, horizon
        self.counters: dict[str, int] = {}
        # (campaign, keywords) per channel: the paid channels' ad structure grows with the scale.
        self.campaigns = {channel.name: catalog.ad_structure(channel, scale) for channel in catalog.CHANNELS}

    def next_id(self, kind: str) -> int:
        """A new id of the given object kind."""
        self.counters[kind] = self.counters.get(kind, 0) + 1
        return ID_BASE[kind] + self.counters[kind]

    def moment_between(self, low: int, high: int) -> int:
        """A business-hours-ish instant between two instants (some late at night, as in life)."""
        day = self.rng.randint(low // DAY_MS, max(low // DAY_MS, high // DAY_MS))
        local_midnight = datetime.fromtimestamp(day * 86_400, UTC).replace(tzinfo=BUSINESS_TZ)
        if self.rng.random() < 0.06:  # just after local midnight: the UTC date is the day before
            offset_s = self.rng.randint(0, 2 * 3600)
        else:
            offset_s = self.rng.randint(8 * 3600, 23 * 3600)
        moment = to_ms(local_midnight + timedelta(seconds=offset_s))
        return min(max(moment, low), high)

    def after(self, moment: int, min_days: float, max_days: float) -> int:
        """An instant a random number of days after another."""
        return moment + int(self.rng.uniform(min_days, max_days) * DAY_MS)


def simulate(
    seed: int = DEFAULT_SEED,
    scale: float = 1.0,
    start: datetime = DEFAULT_START,
    as_of: datetime = DEFAULT_AS_OF,
) -> World:
    """Generate the demo company deterministically from a seed; scale multiplies the accounts (and so
    leads, people, deals) and the paid channels' campaigns (`catalog.ad_structure`)."""
    if scale <= 0:
        raise ValueError(f"demo scale must be > 0, got {scale!r} (setting LEADLOOP_DEMO_SCALE)")
    horizon = as_of + timedelta(days=120)  # the world goes on after "today"
    sim = _Simulation(seed, start, horizon, scale)
    users = [(sim.next_id("user"), name, dept, pos) for name, dept, pos in catalog.USERS]
    sdrs = [u[0] for u in users if u[3] == "SDR"]
    sellers = [u[0] for u in users if u[3] in ("大客户销售", "电话销售")]
    accounts = [_make_account(sim, sellers) for _ in range(max(1, round(ACCOUNTS_PER_SCALE * scale)))]
    journeys: list[Journey] = []
    opportunities: list[Opportunity] = []
    for account in accounts:
        for _ in range(sim.rng.choice((1, 1, 2, 2, 3, 4))):
            journey = _make_journey(sim, account, sdrs)
            journeys.append(journey)
            if journey.opportunity:
                opportunities.append(journey.opportunity)
        if sim.rng.random() < 0.15:
            opportunities.append(_self_sourced_opportunity(sim, account))
    journeys.sort(key=lambda j: (j.created_at, j.lead_id))
    _walk_lead_deals_by_channel_quality(opportunities, journeys, seed)
    _number_contacts(sim, accounts)
    world = World(seed, scale, start, as_of, users, accounts, journeys, opportunities)
    identity.add_identity_mess(world)  # its own random stream: the funnel does not move
    return world


def _make_account(sim: _Simulation, sellers: list[int]) -> Account:
    """A company with its buying committee."""
    rng = sim.rng
    account = Account(
        account_id=sim.next_id("account"),
        name=sim.fake.company(),
        industry=rng.choice(catalog.INDUSTRIES),
        province=sim.fake.province(),
        city=sim.fake.city_name(),
        employees=rng.choice((50, 120, 300, 800, 2000, 5000, 12000)),
        owner_id=rng.choice(sellers),
        created_at=0,  # set when the first lead converts, or a seller opens it
    )
    roles = rng.sample(catalog.COMMITTEE_ROLES, rng.randint(2, 5))
    if not set(roles) & set(catalog.FORM_FILLER_ROLES):
        roles[0] = rng.choice(catalog.FORM_FILLER_ROLES)
    for n, role in enumerate(roles):
        account.committee.append(Person(
            person_id=f"P{account.account_id}-{n}",
            name=sim.fake.name(),
            role=role,
            mobile=sim.fake.phone_number(),
            email=sim.fake.email() if rng.random() < 0.7 else None,
        ))
    return account


def _make_journey(sim: _Simulation, account: Account, sdrs: list[int]) -> Journey:
    """A lead from one committee member through the CRM stages it reaches."""
    rng = sim.rng
    channel = rng.choices(catalog.CHANNELS, weights=[c.weight for c in catalog.CHANNELS])[0]
    fillers = [p for p in account.committee if p.role in catalog.FORM_FILLER_ROLES]
    person = rng.choice(fillers)
    created = sim.moment_between(to_ms(sim.start), to_ms(sim.horizon))
    journey = Journey(
        lead_id=sim.next_id("lead"),
        person=person,
        account=account,
        channel=channel,
        lead_source=rng.choice(channel.lead_sources),
        utm=_utm_for(rng, channel, sim.campaigns[channel.name]),
        owner_id=rng.choice(sdrs),
        created_at=created,
        status_events=[(created, catalog.LEAD_STATUS_NEW)],
    )
    _progress_lead(sim, journey)
    return journey


def _utm_for(rng: random.Random, channel: catalog.Channel,
             campaigns: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, str | None]:
    """UTM parameters a digital channel's landing page carried into the form: one of the channel's
    (campaign, keywords) and one keyword of that campaign."""
    if channel.utm_source is None:
        return {"utmSource": None, "utmMedium": None, "utmCampaign": None, "utmTerm": None,
                "utmContent": None}
    campaign, terms = rng.choice(campaigns) if campaigns else (None, ())
    return {
        "utmSource": channel.utm_source,
        "utmMedium": channel.utm_medium,
        "utmCampaign": campaign,
        "utmTerm": rng.choice(terms) if terms else None,
        "utmContent": None,
    }


def _progress_lead(sim: _Simulation, journey: Journey) -> None:
    """Walk a lead through 跟进中 / 已认可 / 已转化 / 无效 and maybe open an opportunity."""
    rng, quality = sim.rng, journey.channel.quality
    moment = sim.after(journey.created_at, 0.05, 3)
    journey.status_events.append((moment, catalog.LEAD_STATUS_WORKING))
    skips_mql = rng.random() < 0.12  # SDR converts straight away, never marks it qualified
    if not skips_mql:
        if rng.random() > min(0.95, 0.55 * quality):
            _maybe_disqualify(sim, journey, moment)
            return
        moment = sim.after(moment, 0.2, 12)
        journey.status_events.append((moment, catalog.LEAD_STATUS_QUALIFIED))
    if rng.random() > min(0.95, 0.55 * quality):
        _maybe_disqualify(sim, journey, moment)
        return
    moment = sim.after(moment, 0.5, 20)
    journey.status_events.append((moment, catalog.LEAD_STATUS_CONVERTED))
    journey.converted_at = moment
    _convert_person(journey.person, journey.account, moment)
    if rng.random() < min(0.95, 0.62 * quality):
        opened = moment if rng.random() < 0.5 else sim.after(moment, 1, 30)
        journey.opportunity = _make_opportunity(
            sim, journey.account, opened, catalog.OPPORTUNITY_SOURCE_MARKETING, journey.lead_id)


def _maybe_disqualify(sim: _Simulation, journey: Journey, after: int) -> None:
    """Most dead leads are marked 无效 eventually; some just sit in 跟进中 forever."""
    if sim.rng.random() < 0.7:
        journey.status_events.append((sim.after(after, 1, 25), catalog.LEAD_STATUS_DISQUALIFIED))


def _convert_person(person: Person, account: Account, moment: int) -> None:
    """Conversion makes the person a CRM contact of the account (once) and the account exist."""
    if person.contact_created_at is None or person.contact_created_at > moment:
        person.contact_created_at = moment
    if account.created_at == 0 or account.created_at > moment:
        account.created_at = moment


def _make_opportunity(
    sim: _Simulation, account: Account, opened: int, source: str, lead_id: int | None,
) -> Opportunity:
    """An opportunity and its way through the sale stages to a win, a loss, or still open."""
    rng = sim.rng
    opportunity = Opportunity(
        opportunity_id=sim.next_id("opportunity"),
        account_id=account.account_id,
        owner_id=account.owner_id,
        name=f"{account.name}-{rng.choice(('营销云', 'CDP', '私域运营平台', '数据中台'))}项目",
        source=source,
        deal_type="new_logo",
        estimate=float(rng.randrange(50_000, 1_500_000, 1_000)),
        created_at=opened,
        stage_events=[(opened, catalog.STAGE_DISCOVERY)],
        lead_id=lead_id,
    )
    if account.created_at == 0 or account.created_at > opened:
        account.created_at = opened
    # Sales talks to more of the buying committee once a deal is open.
    for person in rng.sample(account.committee, min(len(account.committee), rng.randint(1, 2))):
        if person.contact_created_at is None or person.contact_created_at > opened:
            person.contact_created_at = opened
    path = [catalog.STAGE_NEEDS]
    if rng.random() < 0.65:
        path.append(catalog.STAGE_POC)
    if rng.random() < 0.8:
        path.append(catalog.STAGE_NEGOTIATION)
    opportunity.planned_stages = tuple(path)
    _walk_stages(opportunity, 1.0, rng)
    return opportunity


def _walk_stages(opportunity: Opportunity, quality: float, rng: random.Random) -> None:
    """Take an opened deal through its planned stages: at each it may be lost, then it is won or lost.
    A better lead channel (quality > 1) loses fewer deals on the way and wins more at the end."""
    moment = opportunity.created_at
    for stage in opportunity.planned_stages:
        if rng.random() < STAGE_LOSS_RATE / quality:
            _settle(opportunity, moment + _days(rng, 2, 30), False, rng)
            return
        moment += _days(rng, 3, 35 if stage == catalog.STAGE_POC else 20)
        opportunity.stage_events.append((moment, stage))
    closed = moment + _days(rng, 2, 25)
    _settle(opportunity, closed, rng.random() < min(0.95, BASE_WIN_RATE * quality), rng)


def _days(rng: random.Random, min_days: float, max_days: float) -> int:
    """A random number of days, in milliseconds."""
    return int(rng.uniform(min_days, max_days) * DAY_MS)


def _settle(opportunity: Opportunity, moment: int, won: bool, rng: random.Random) -> None:
    """Enter 赢单 with an amount paid in instalments, or 输单 with a reason, drawing from `rng`."""
    if won:
        opportunity.stage_events.append((moment, catalog.STAGE_WON))
        amount = round(opportunity.estimate * rng.uniform(0.7, 1.1), -2)
        opportunity.won_amount = amount
        installments = rng.choice((1, 1, 2, 3))
        paid_at = moment
        for n in range(installments):
            paid_at += _days(rng, 5, 60)
            share = round(amount / installments, 2) if n < installments - 1 else round(
                amount - round(amount / installments, 2) * (installments - 1), 2)
            opportunity.payments.append((paid_at, share))
    else:
        opportunity.stage_events.append((moment, catalog.STAGE_LOST))
        opportunity.lost_reason = rng.choice(catalog.LOST_REASONS)


def _walk_lead_deals_by_channel_quality(
    opportunities: list[Opportunity], journeys: list[Journey], seed: int,
) -> None:
    """A deal keeps the quality of the channel its lead came from (a referral's deal is lost less often and
    won more often than a cold call's), as the lead's way to the deal did. Walked again after the world is
    drawn, from a stream of its own, so that every other part of the company (its people, their identifiers,
    leads and touches) stays as it was drawn; self-sourced deals keep the base rates. The stream's offset
    keeps a few customers of early 2025 quiet long enough to be dormant by the demo's today, as the first
    draw had them (hot leads need a dormant company that comes back; tests/test_hot_leads.py)."""
    rng = random.Random(seed * 13 + 14)
    quality = {journey.lead_id: journey.channel.quality for journey in journeys}
    for opportunity in opportunities:
        if opportunity.lead_id is None:
            continue
        opportunity.stage_events = [opportunity.stage_events[0]]
        opportunity.won_amount, opportunity.lost_reason, opportunity.payments = None, None, []
        _walk_stages(opportunity, quality[opportunity.lead_id], rng)


def _self_sourced_opportunity(sim: _Simulation, account: Account) -> Opportunity:
    """A deal sales opened without any marketing lead (own prospecting, executives, partners)."""
    opened = sim.moment_between(to_ms(sim.start), to_ms(sim.horizon))
    source = sim.rng.choice(catalog.SELF_SOURCED_OPPORTUNITY_SOURCES)
    return _make_opportunity(sim, account, opened, source, lead_id=None)


def _number_contacts(sim: _Simulation, accounts: list[Account]) -> None:
    """Give CRM contact ids in the order the contacts came into being."""
    people = [p for a in accounts for p in a.committee if p.contact_created_at is not None]
    for person in sorted(people, key=lambda p: (p.contact_created_at, p.person_id)):
        person.contact_id = sim.next_id("contact")
