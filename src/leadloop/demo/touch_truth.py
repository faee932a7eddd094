"""Every touch of a known person in the demo company, as the truth sees it (fct_touchpoints' truth).

The rules are the demo company's own reading of what a touch is, written apart from the dbt
project and its seeds: a website visit (page views with no gap over 30 minutes) at its landing
page, a form submit, a content read, a webinar attended, a WeCom add, and what the CRMs record — a
lead, a campaign response, a sales call, e-mail or meeting. A web visitor counts once their own
events identify them (a form, a sign-up, an article opened from WeCom); before that nobody could know
who they are, however true it is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from leadloop.demo import catalog, salesforce_records, sensors_records
from leadloop.demo.digital import SITE, DigitalWorld, WebEvent
from leadloop.demo.model import World
from leadloop.demo.sales_activities import sales_activities
from leadloop.demo.wecom_records import exists_at
from leadloop.extract.sensors import settings as sensors_settings

SESSION_GAP_S = 30 * 60
# The demo night loads Sensors events from the extractor's default start (project-local time).
SENSORS_LOADED_FROM_MS = sensors_records.local_ms(sensors_settings.DEFAULT_START_TIME)
# utm_source → (channel, is paid): the demo company's campaigns tag their links this way.
UTM_CHANNELS = {c.utm_source: (c.name, c.name in ("paid_search", "paid_social"))
                for c in catalog.CHANNELS if c.utm_source}
SEARCH_ENGINES = {"www.baidu.com"}
WECOM_CAMPAIGNS = {"qr_expo_booth": "展台活码", "qr_official_menu": "公众号菜单活码"}
SALES_CHANNELS = {"outbound"}
# What each source tells: the web touches come from Sensors, adds from WeCom, leads from either CRM,
# campaign responses and sales activities from Salesforce (销售易's are not loaded).
CRMS = ("neocrm", "salesforce")
TOUCH_SOURCES = {
    **dict.fromkeys(("ad_click", "web_session", "form_submit", "content_read", "webinar_attend"), ("sensors",)),
    "wecom_add": ("wecom",), "crm_lead": CRMS,
    **dict.fromkeys(("campaign_response", "sales_call", "sales_email", "sales_meeting"), ("salesforce",)),
}
SALES_ACTIVITY_TOUCHES = {"call": "sales_call", "email": "sales_email", "meeting": "sales_meeting"}
# Touches only a CRM records: never a journey's own first or lead-creating touch.
CRM_RECORDED = frozenset(kind for kind, systems in TOUCH_SOURCES.items() if set(systems) <= set(CRMS))


@dataclass(frozen=True)
class Touch:
    """One touch: who, when, what, and where it came from."""

    person_id: str
    at_ms: int
    touch_type: str
    channel: str
    channel_group: str
    campaign: str | None = None
    keyword: str | None = None
    content: str | None = None


def touches_truth(world: World, digital: DigitalWorld, now: int | None = None,
                  sources: Collection[str] | None = None) -> list[Touch]:
    """Every touch of a known person that the systems hold at `now` (default: the demo's today), as
    a team with `sources` configured sees them (default: every platform)."""
    moment = world.as_of_ms if now is None else now
    touches = _all_touches(world, digital, moment)
    if sources is None:
        return touches
    return [t for t in touches if set(TOUCH_SOURCES[t.touch_type]) & set(sources)]


def _all_touches(world: World, digital: DigitalWorld, moment: int) -> list[Touch]:
    touches = [_crm_lead(j) for j in world.journeys if j.created_at <= moment]
    touches += _salesforce_touches(world, moment)
    touches += [
        Touch(c.person_id, c.added_ms // 1000 * 1000, "wecom_add",  # WeCom tells seconds
              "wecom" if c.state else "wecom_sales_add",
              "marketing" if c.state else "sales", WECOM_CAMPAIGNS.get(c.state), None, c.state or None)
        for c in digital.wecom_contacts if exists_at(c, moment)]
    touches += _web_touches(digital, moment)
    return touches


def _crm_lead(journey) -> Touch:
    channel = journey.channel.name
    return Touch(journey.person.person_id, journey.created_at, "crm_lead", channel,
                 "sales" if channel in SALES_CHANNELS else "marketing",
                 journey.utm["utmCampaign"], journey.utm["utmTerm"], journey.utm["utmContent"])


def _salesforce_touches(world: World, moment: int) -> list[Touch]:
    """Campaign responses (a lead that came with a UTM campaign is its member from the lead on) and
    the sales team's calls, e-mails and meetings."""
    known = salesforce_records.campaigns(world)
    touches = []
    for journey in world.journeys:
        campaign = salesforce_records.campaign_of(journey, known)
        if campaign is not None and journey.created_at <= moment:
            touches.append(Touch(journey.person.person_id, journey.created_at, "campaign_response",
                                 campaign.channel.name, "marketing", campaign.name))
    touches += [Touch(a.person_id, a.at_ms, SALES_ACTIVITY_TOUCHES[a.kind], "sales_follow_up", "sales")
                for a in sales_activities(world) if a.at_ms <= moment]
    return touches


def _web_touches(digital: DigitalWorld, moment: int) -> list[Touch]:
    """Visits, forms, content reads and webinars of identified visitors."""
    context = sensors_records.EventContext.of(digital)
    by_visitor: dict[str, list[WebEvent]] = defaultdict(list)
    for event in sensors_records.received_events(digital, moment):
        if event.time_ms >= SENSORS_LOADED_FROM_MS:
            by_visitor[event.distinct_id].append(event)
    touches: list[Touch] = []
    for events in by_visitor.values():
        person = events[0].person_id
        if person is None or not any(_identifies(e, context) for e in events):
            continue
        events.sort(key=lambda e: (e.time_ms, sensors_records.event_identity(e)))
        previous_view: int | None = None
        for event in events:
            if event.event == "$pageview":
                if previous_view is None or event.time_ms // 1000 - previous_view // 1000 > SESSION_GAP_S:
                    touches.append(_classified(person, event, "web_session"))
                previous_view = event.time_ms
            elif event.event == "form_submit":
                touches.append(_classified(person, event, "form_submit"))
            elif event.event == "content_read":
                touches.append(Touch(person, event.time_ms, "content_read", "wechat_content", "marketing",
                                     None, None, event.properties["material_id"]))
            elif event.event == "webinar_attend":
                touches.append(Touch(person, event.time_ms, "webinar_attend", "webinar", "marketing"))
    return touches


def identified_sensors_users(digital: DigitalWorld, now: int) -> set[str]:
    """The Sensors users (as `sensors_user:<id>` records) whose own events say who they are; any other
    visitor is nobody the warehouse can know, whoever they really are."""
    context = sensors_records.EventContext.of(digital)
    return {f"sensors_user:{sensors_records.user_id(event.distinct_id)}"
            for event in sensors_records.received_events(digital, now)
            if event.time_ms >= SENSORS_LOADED_FROM_MS and event.person_id and _identifies(event, context)}


def _identifies(event: WebEvent, context: Any) -> bool:
    """Whether this event tells who the visitor is: anything but an anonymous cookie does (a sign-up, a
    form, a visit signed in with the website account, an article opened from WeCom)."""
    if event.event in ("form_submit", "$SignUp") or event.login_id is not None:
        return True
    return event.event == "content_read" and context.external_userid(event.person_id, event.time_ms) is not None


def _classified(person: str, event: WebEvent, touch_type: str) -> Touch:
    """A visit or form with the channel its UTM, else its referrer, says."""
    props = event.properties
    source = props.get("$utm_source")
    if source:
        channel, paid = UTM_CHANNELS[source]
    else:
        host = urlsplit(props.get("$referrer") or "").netloc
        channel, paid = ("organic" if host in SEARCH_ENGINES else "direct"), False
        if host and host != urlsplit(SITE).netloc and host not in SEARCH_ENGINES:
            raise ValueError(f"demo referrer {host!r} has no channel in the truth")
    kind = "ad_click" if touch_type == "web_session" and paid else touch_type
    return Touch(person, event.time_ms, kind, channel, "marketing", props.get("$utm_campaign"),
                 props.get("$utm_term"), props.get("$utm_content"))
