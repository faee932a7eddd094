"""The demo company's digital traces: ad structure and daily spend, web events, WeCom contacts.

Generated from the CRM world (`leadloop.demo.world`) with its own random stream, so the CRM side of the
world does not change when this module does. Every trace carries the true person it belongs to
(None for anonymous noise) so identity stitching can be measured against truth.
"""

from __future__ import annotations

import random
import zlib
from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from leadloop.demo import catalog
from leadloop.demo.dormancy import AccountHistory
from leadloop.demo.model import BUSINESS_TZ, DAY_MS, Journey, World, to_ms

DAYS_RESTATED = 3  # how long the simulated platforms keep restating a day (leadloop re-reads 7: enough)
PROVISIONAL_COST_SHARE = 0.97  # what a not-yet-final day's cost shows before restatement
WECOM_STAFF = ("wangxiaoming", "liting", "zhangwei", "chenjing", "liuyang")
WECOM_STATES = {"展台活码": "qr_expo_booth", "公众号菜单活码": "qr_official_menu"}
EVENT_BOOTH_STATE = "qr_expo_booth"
SITE = "https://www.leadloop-demo.cn"
FORM_TYPES = {"paid_search": "demo", "paid_social": "download", "wechat_content": "download",
              "webinar": "webinar", "organic": "trial"}
DIGITAL_CHANNELS = tuple(FORM_TYPES)


@dataclass(frozen=True)
class AdUnit:
    """The finest unit an ad platform reports: a keyword (Baidu) or a promotion (Ocean Engine)."""

    platform: str  # baidu | oceanengine
    account_id: int
    account_name: str
    campaign_id: int
    campaign_name: str
    adgroup_id: int
    adgroup_name: str
    keyword_id: int | None
    keyword: str | None
    cost_per_click: float


@dataclass(slots=True)
class AdDay:
    """One unit's numbers on one business day, final values (restatement applied at render)."""

    impressions: int = 0
    clicks: int = 0
    cost: float = 0.0
    conversions: int = 0


@dataclass(frozen=True, slots=True)
class WebEvent:
    """One Sensors event as the website tracked it. `properties` may be shared between events (the
    generator interns equal ones, as a big demo has millions of events): read it, never change it."""

    event: str
    time_ms: int
    distinct_id: str
    login_id: str | None
    properties: dict[str, Any]
    person_id: str | None


@dataclass(frozen=True)
class WecomContact:
    """A WeChat user who added a staff member: the external contact and that relation's follow info."""

    external_userid: str
    unionid: str
    name: str
    corp_name: str
    position: str
    staff_userid: str
    added_ms: int
    remark_mobiles: tuple[str, ...]
    add_way: int
    state: str
    tag_ids: tuple[str, ...]
    person_id: str
    deleted_ms: int | None = None


class AdDays(Mapping[tuple[int, date], AdDay]):
    """Every ad unit's numbers per business day: a mapping (unit key, day) → AdDay over arrays, one slot
    per unit and day from `first` to `last`, so that a big demo (thousands of units × hundreds of days)
    holds a few bytes per unit-day rather than an object. A unit-day is in the mapping once numbers were
    added to it (even zeros); reading one gives a copy, `add` changes it."""

    def __init__(self, first: date, last: date) -> None:
        self.first, self.days = first, (last - first).days + 1
        self._offsets: dict[int, int] = {}  # unit key → slot of its first day
        self._impressions, self._clicks, self._conversions = array("q"), array("q"), array("q")
        self._cost, self._present = array("d"), array("b")
        self._count = 0

    def _slot(self, key: int, day: date, create: bool) -> int | None:
        offset = self._offsets.get(key)
        index = (day - self.first).days
        if not 0 <= index < self.days:
            if create:
                raise ValueError(f"ad day {day} is outside the demo's horizon {self.first}…")
            return None
        if offset is None:
            if not create:
                return None
            offset = self._offsets[key] = len(self._present)
            for column in (self._impressions, self._clicks, self._conversions):
                column.extend(array("q", [0]) * self.days)
            self._cost.extend(array("d", [0.0]) * self.days)
            self._present.extend(array("b", [0]) * self.days)
        return offset + index

    def add(self, key: int, day: date, impressions: int = 0, clicks: int = 0, cost: float = 0.0,
            conversions: int = 0) -> None:
        """Adds numbers to a unit-day (the cost rounded to fen after each addition, as the platform sums)."""
        slot = self._slot(key, day, create=True)
        assert slot is not None
        if not self._present[slot]:
            self._present[slot] = 1
            self._count += 1
        self._impressions[slot] += impressions
        self._clicks[slot] += clicks
        self._cost[slot] = round(self._cost[slot] + cost, 2)
        self._conversions[slot] += conversions

    def __getitem__(self, item: tuple[int, date]) -> AdDay:
        slot = self._slot(item[0], item[1], create=False)
        if slot is None or not self._present[slot]:
            raise KeyError(item)
        return AdDay(self._impressions[slot], self._clicks[slot], self._cost[slot], self._conversions[slot])

    def __contains__(self, item: object) -> bool:
        if not isinstance(item, tuple) or len(item) != 2:
            return False
        slot = self._slot(item[0], item[1], create=False)
        return slot is not None and bool(self._present[slot])

    def __iter__(self) -> Iterator[tuple[int, date]]:
        """Unit by unit (in the order they were first added), day by day."""
        for key, offset in self._offsets.items():
            for index in range(self.days):
                if self._present[offset + index]:
                    yield key, self.first + timedelta(days=index)

    def __len__(self) -> int:
        return self._count


@dataclass
class DigitalWorld:
    """Everything the marketing systems saw of the demo company."""

    ad_units: list[AdUnit]
    ad_days: Mapping[tuple[int, date], AdDay]  # (unit key, business day) → numbers (an AdDays)
    web_events: list[WebEvent]
    wecom_contacts: list[WecomContact]
    contact_ways: dict[str, str] = field(default_factory=dict)  # state → QR code remark
    corp_tags: dict[str, str] = field(default_factory=dict)  # tag id → name

    @staticmethod
    def unit_key(unit: AdUnit) -> int:
        """The id that identifies a unit in its platform's reports."""
        return unit.keyword_id if unit.keyword_id is not None else unit.adgroup_id


def business_day(moment_ms: int) -> date:
    """The China-time calendar day of an instant."""
    return datetime.fromtimestamp(moment_ms / 1000, UTC).astimezone(BUSINESS_TZ).date()


def simulate_digital(world: World) -> DigitalWorld:
    """Derive the demo company's ad, web and WeCom traces from its CRM world, deterministically."""
    rng = random.Random(world.seed * 7 + 1)
    units = _ad_units(rng, world.scale)
    days = AdDays(business_day(to_ms(world.start) - DAY_MS), business_day(to_ms(world.as_of + timedelta(days=120))))
    digital = DigitalWorld(ad_units=units, ad_days=days, web_events=[], wecom_contacts=[],
                           contact_ways={state: remark for remark, state in WECOM_STATES.items()},
                           corp_tags={"et_hot": "高意向", "et_mfg": "制造业", "et_expo": "展会"})
    identities = _Identities(rng)
    ads = _AdUnitIndex(units)
    for journey in world.journeys:
        _journey_traces(rng, digital, identities, ads, journey)
    _anonymous_visitors(rng, digital, world, identities)
    _background_ad_traffic(rng, digital, world)
    _wechat_only_visitors(random.Random(world.seed * 7 + 2), digital, world, identities)
    _dormant_comebacks(random.Random(world.seed * 7 + 3), digital, world, identities)
    digital.web_events.sort(key=lambda e: (e.time_ms, e.distinct_id, e.event))
    digital.wecom_contacts.sort(key=lambda c: (c.added_ms, c.external_userid))
    return digital


BAIDU_IDS_BELOW = 1_000  # campaigns numbered below this keep the 31_000 + n id scheme of the first demo
PROMOTIONS_PER_PROJECT = 2


def _baidu_ids(c: int, k: int) -> tuple[int, int, int]:
    """(campaign, ad group, keyword) ids of a Baidu campaign's k-th keyword; a very large demo's
    campaigns past BAIDU_IDS_BELOW move to ranges of their own, so no two ids collide."""
    if c < BAIDU_IDS_BELOW:
        return 31_000 + c, 32_000 + c, 33_000 + c * 100 + k
    return 310_000_000 + c, 320_000_000 + c, 3_300_000_000 + c * 100 + k


def _ad_units(rng: random.Random, scale: float = 1.0) -> list[AdUnit]:
    """Baidu: campaign × keyword (one ad group per campaign); Ocean Engine: project × promotion. The
    campaigns and their keywords grow with the scale (`catalog.ad_structure`); an added campaign's unit
    costs per click what the catalog campaign's unit at the same place costs (a keyword with a modifier
    word costs what its head term costs), so spend grows with the units."""
    units: list[AdUnit] = []
    search = next(c for c in catalog.CHANNELS if c.name == "paid_search")
    prices: dict[tuple[int, int], float] = {}
    for c, (campaign, terms) in enumerate(catalog.ad_structure(search, scale), start=1):
        for k, term in enumerate(terms, start=1):
            campaign_id, adgroup_id, keyword_id = _baidu_ids(c, k)
            if c <= len(search.campaigns):
                prices[(c, k)] = round(rng.uniform(4, 22), 2)
            units.append(AdUnit("baidu", 30_001, "leadloop-demo-百度", campaign_id, campaign,
                                adgroup_id, f"{campaign}-核心词", keyword_id, term,
                                prices.get((c, k), prices[((c - 1) % len(search.campaigns) + 1, k)])))
    social = next(c for c in catalog.CHANNELS if c.name == "paid_social")
    prices = {}
    for c, (campaign, _) in enumerate(catalog.ad_structure(social, scale), start=1):
        for p in range(1, PROMOTIONS_PER_PROJECT + 1):
            if c <= len(social.campaigns):
                prices[(c, p)] = round(rng.uniform(1.5, 6), 2)
            units.append(AdUnit("oceanengine", 1_760_000_001, "leadloop-demo-巨量", 7_100_000 + c, campaign,
                                7_200_000 + c * 10 + p, f"{campaign}-素材{p}", None, None,
                                prices.get((c, p), prices[((c - 1) % len(social.campaigns) + 1, p)])))
    return units


class _AdUnitIndex:
    """The units a paid click can land on, by (platform, campaign, keyword) — Ocean Engine's by project."""

    def __init__(self, units: list[AdUnit]) -> None:
        self.units: dict[tuple[str, str, str | None], list[AdUnit]] = {}
        for unit in units:
            self.units.setdefault((unit.platform, unit.campaign_name, unit.keyword), []).append(unit)

    def candidates(self, platform: str, campaign: str | None, term: str | None) -> list[AdUnit]:
        """The units of a campaign (and keyword, on Baidu), in the units' order."""
        return self.units.get((platform, campaign or "", term if platform == "baidu" else None), [])


class _Identities:
    """Stable digital identifiers per true person."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.distinct_ids: dict[str, str] = {}
        self.login_ids: dict[str, str] = {}
        self.wecom: dict[str, tuple[str, str]] = {}
        self.relations: set[tuple[str, str]] = set()  # (external_userid, staff userid) already added
        self.properties: dict[tuple[tuple[str, Any], ...], dict[str, Any]] = {}

    def distinct_id(self, person_id: str) -> str:
        """The person's browser cookie (one per person in this version)."""
        if person_id not in self.distinct_ids:
            self.distinct_ids[person_id] = self.anonymous()
        return self.distinct_ids[person_id]

    def anonymous(self) -> str:
        """A fresh Sensors-style anonymous distinct_id."""
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(16)) + "-sa"

    def login_id(self, person_id: str) -> str:
        """The website account id a person gets at their first sign-up."""
        if person_id not in self.login_ids:
            self.login_ids[person_id] = f"web_u{100_000 + len(self.login_ids) + 1}"
        return self.login_ids[person_id]

    def interned(self, properties: dict[str, Any]) -> dict[str, Any]:
        """One shared dict for equal event properties (a session's pages repeat the same few)."""
        key = tuple(properties.items())
        return self.properties.setdefault(key, properties)

    def wecom_ids(self, person_id: str) -> tuple[str, str]:
        """(external_userid, unionid) of a person's WeChat."""
        if person_id not in self.wecom:
            token = "".join(self.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
                            for _ in range(20))
            self.wecom[person_id] = (f"wmDemo{token}", f"oDemo{token[::-1]}")
        return self.wecom[person_id]


def _landing(journey: Journey) -> dict[str, Any]:
    """UTM and URL properties of the landing page a digital journey arrived on."""
    utm = journey.utm
    props: dict[str, Any] = {"$url_path": "/demo" if journey.channel.name == "paid_search" else "/resources"}
    props["$url"] = SITE + props["$url_path"]
    for key, wire in (("utmSource", "$utm_source"), ("utmMedium", "$utm_medium"),
                      ("utmCampaign", "$utm_campaign"), ("utmTerm", "$utm_term")):
        if utm.get(key):
            props[wire] = utm[key]
    props["$referrer"] = "https://www.baidu.com/" if journey.channel.name in ("paid_search", "organic") else ""
    return props


def _journey_traces(rng: random.Random, digital: DigitalWorld, ids: _Identities, ads: _AdUnitIndex,
                    journey: Journey) -> None:
    """The web visits, form, ad click and WeCom add that led to (or followed) one CRM lead."""
    channel = journey.channel.name
    if channel in DIGITAL_CHANNELS:
        submit_ms = journey.created_at - rng.randint(60_000, 20 * 60_000)
        _web_visit_and_form(rng, digital, ids, journey, submit_ms)
        if channel in ("paid_search", "paid_social"):
            _ad_click(digital, ads, journey, submit_ms - rng.randint(60_000, 10 * 60_000))
    if channel == "wecom" or (channel == "event" and rng.random() < 0.5):
        state = WECOM_STATES.get(journey.utm.get("utmCampaign") or "", EVENT_BOOTH_STATE)
        _wecom_add(rng, digital, ids, journey, journey.created_at - rng.randint(60_000, 3_600_000), 1, state)
    mql_at = next((at for at, s in journey.status_events if s == catalog.LEAD_STATUS_QUALIFIED), None)
    if mql_at is not None and channel != "wecom" and rng.random() < 0.4:
        # SDRs add qualified leads on WeChat by phone: no channel code, a cross-system identity edge.
        _wecom_add(rng, digital, ids, journey, mql_at + rng.randint(600_000, DAY_MS), 2, "")


def _web_visit_and_form(rng: random.Random, digital: DigitalWorld, ids: _Identities,
                        journey: Journey, submit_ms: int) -> None:
    """Earlier anonymous sessions, the landing session, the form submit and the sign-up."""
    person = journey.person
    distinct_id = ids.distinct_id(person.person_id)
    for _ in range(rng.choice((0, 0, 1, 2))):  # came before, anonymously
        earlier = submit_ms - rng.randint(2, 40) * DAY_MS
        _pageviews(rng, digital, ids, distinct_id, None, earlier, {"$url_path": "/", "$url": SITE + "/",
                                                                   "$referrer": "https://www.baidu.com/"},
                   person.person_id)
    landing = _landing(journey)
    _pageviews(rng, digital, ids, distinct_id, None, submit_ms - rng.randint(60_000, 15 * 60_000), landing,
               person.person_id)
    if journey.channel.name == "wechat_content":
        material = journey.utm.get("utmCampaign") or "article"
        digital.web_events.append(WebEvent("content_read", submit_ms - 30 * 60_000, distinct_id, None,
                                           {"material_id": f"mat_{zlib.crc32(material.encode()) % 10_000:04d}",
                                            "material_title": material,
                                            "read_duration": rng.randint(30, 600)}, person.person_id))
    login_id = ids.login_id(person.person_id)
    form = {"form_id": f"form_{FORM_TYPES[journey.channel.name]}", "form_type": FORM_TYPES[journey.channel.name],
            "phone": journey.typed_mobile, "email": journey.typed_email or "", "name": person.name,
            "company": journey.typed_company, "title": person.role, **landing}
    digital.web_events.append(WebEvent("form_submit", submit_ms, distinct_id, None, form, person.person_id))
    digital.web_events.append(WebEvent("$SignUp", submit_ms + 1_000, distinct_id, login_id, {},
                                       person.person_id))
    if journey.channel.name == "webinar" and rng.random() < 0.6:
        digital.web_events.append(WebEvent("webinar_attend", submit_ms + rng.randint(1, 10) * DAY_MS,
                                           distinct_id, login_id,
                                           {"webinar_id": journey.utm.get("utmCampaign") or "webinar",
                                            "event_duration": rng.randint(300, 3600)}, person.person_id))


def _pageviews(rng: random.Random, digital: DigitalWorld, ids: _Identities, distinct_id: str,
               login_id: str | None, start_ms: int, landing: dict[str, Any], person_id: str | None) -> None:
    """A session: one to four page views, each followed by its dwell time event."""
    moment = start_ms
    for n in range(rng.randint(1, 4)):
        props = dict(landing) if n == 0 else {"$url_path": rng.choice(("/pricing", "/cases", "/product")),
                                              "$referrer": SITE + "/"}
        props.setdefault("$url", SITE + props["$url_path"])
        props["$title"] = f"leadloop-demo {props['$url_path']}"
        digital.web_events.append(WebEvent("$pageview", moment, distinct_id, login_id, ids.interned(props),
                                           person_id))
        stay = rng.randint(5, 240)
        digital.web_events.append(WebEvent("$WebStay", moment + stay * 1000, distinct_id, login_id,
                                           ids.interned({"$url_path": props["$url_path"], "event_duration": stay}),
                                           person_id))
        moment += (stay + rng.randint(1, 30)) * 1000


def _ad_click(digital: DigitalWorld, ads: _AdUnitIndex, journey: Journey, click_ms: int) -> None:
    """Count the journey's paid click (and its conversion) on the unit its UTM names."""
    platform = "baidu" if journey.channel.name == "paid_search" else "oceanengine"
    candidates = ads.candidates(platform, journey.utm.get("utmCampaign"), journey.utm.get("utmTerm"))
    unit = candidates[journey.lead_id % len(candidates)]
    _ad_days(digital).add(DigitalWorld.unit_key(unit), business_day(click_ms), impressions=20, clicks=1,
                          cost=unit.cost_per_click, conversions=1)


def _ad_days(digital: DigitalWorld) -> AdDays:
    """The digital world's ad days as the store the generator adds to."""
    assert isinstance(digital.ad_days, AdDays)
    return digital.ad_days


def _wecom_add(rng: random.Random, digital: DigitalWorld, ids: _Identities, journey: Journey,
               added_ms: int, add_way: int, state: str) -> None:
    """A person adds (or is added by) a staff member on WeCom."""
    person = journey.person
    external_userid, unionid = ids.wecom_ids(person.person_id)
    staff = rng.choice(WECOM_STAFF)
    if (external_userid, staff) in ids.relations:
        return  # one relation per contact and staff member
    ids.relations.add((external_userid, staff))
    tags = ("et_expo",) if state == EVENT_BOOTH_STATE else (("et_hot",) if add_way == 2 else ())
    deleted = added_ms + rng.randint(10, 200) * DAY_MS if rng.random() < 0.05 else None
    digital.wecom_contacts.append(WecomContact(
        external_userid=external_userid, unionid=unionid, name=person.name,
        corp_name=journey.account.name, position=person.role, staff_userid=staff, added_ms=added_ms,
        remark_mobiles=(person.lead_mobile or person.mobile,), add_way=add_way, state=state, tag_ids=tags,
        person_id=person.person_id, deleted_ms=deleted))


def _anonymous_visitors(rng: random.Random, digital: DigitalWorld, world: World, ids: _Identities) -> None:
    """Visitors who never identify themselves: most of any website's traffic."""
    start, end = to_ms(world.start), to_ms(world.as_of + timedelta(days=120))
    for _ in range(len(world.journeys) * 3):
        landing = {"$url_path": "/", "$url": SITE + "/", "$referrer": rng.choice(("", "https://www.baidu.com/"))}
        _pageviews(rng, digital, ids, ids.anonymous(), None, rng.randint(start, end), landing, None)


def _wechat_only_visitors(rng: random.Random, digital: DigitalWorld, world: World, ids: _Identities) -> None:
    """Booth visitors who scan the WeCom QR code and never leave a phone: known only by their unionid."""
    start, end = to_ms(world.start), to_ms(world.as_of + timedelta(days=120))
    for n in range(max(1, len(world.journeys) // 30)):
        person_id = f"W{world.seed}-{n}"
        external_userid, unionid = ids.wecom_ids(person_id)
        digital.wecom_contacts.append(WecomContact(
            external_userid=external_userid, unionid=unionid, name=f"微信用户{n}", corp_name="",
            position="", staff_userid=rng.choice(WECOM_STAFF), added_ms=rng.randint(start, end),
            remark_mobiles=(), add_way=1, state=EVENT_BOOTH_STATE, tag_ids=("et_expo",), person_id=person_id))


def _background_ad_traffic(rng: random.Random, digital: DigitalWorld, world: World) -> None:
    """Impressions, clicks and cost that produced no lead, every day of the horizon."""
    first = business_day(to_ms(world.start))
    last = business_day(to_ms(world.as_of + timedelta(days=120)))
    days = _ad_days(digital)
    for unit in digital.ad_units:
        key = DigitalWorld.unit_key(unit)
        day = first
        while day <= last:
            clicks = rng.randint(0, 12)
            impressions = clicks * rng.randint(15, 60) + rng.randint(0, 80)
            days.add(key, day, impressions=impressions, clicks=clicks,
                     cost=clicks * unit.cost_per_click * rng.uniform(0.8, 1.2))
            day += timedelta(days=1)


def reported_ad_day(numbers: AdDay, day: date, as_of_ms: int) -> AdDay:
    """A day's numbers as the platform reports them at as_of: recent days are still provisional."""
    age = (business_day(as_of_ms) - day).days
    if age >= DAYS_RESTATED:
        return numbers
    return AdDay(numbers.impressions, numbers.clicks, round(numbers.cost * PROVISIONAL_COST_SHARE, 2),
                 max(0, numbers.conversions - 1) if age == 0 else numbers.conversions)


COMEBACK_DORMANT_MONTHS = 12  # companies quiet this long come back; at the warehouse's 18 only some are dormant
COMEBACK_DAYS_BEFORE_AS_OF = (2, 6)


def _dormant_comebacks(rng: random.Random, digital: DigitalWorld, world: World, ids: _Identities) -> None:
    """A few days before today, a known person (one who signed up on the website) of each company that
    bought before and has been quiet for COMEBACK_DORMANT_MONTHS reads an article and, sometimes, looks
    around the site. Drawn last, from a stream of their own, so every other trace stays as it was."""
    history = AccountHistory(world)
    materials = sorted({e.properties["material_id"] for e in digital.web_events if e.event == "content_read"})
    for account in world.accounts:
        back_ms = world.as_of_ms - rng.randint(*COMEBACK_DAYS_BEFORE_AS_OF) * DAY_MS - rng.randint(0, DAY_MS)
        known = [p for p in account.committee if p.person_id in ids.login_ids]
        if not known or history.status_at(account.account_id, back_ms, COMEBACK_DORMANT_MONTHS) != "dormant":
            continue
        person = rng.choice(known)
        distinct_id = ids.distinct_id(person.person_id)
        material = rng.choice(materials)
        digital.web_events.append(WebEvent("content_read", back_ms, distinct_id, None,
                                           {"material_id": material, "material_title": material,
                                            "read_duration": rng.randint(60, 600)}, person.person_id))
        if rng.random() < 0.5:
            _pageviews(rng, digital, ids, distinct_id, ids.login_id(person.person_id),
                       back_ms + rng.randint(2, 30) * 60_000,
                       {"$url_path": "/product", "$url": SITE + "/product", "$referrer": ""}, person.person_id)
