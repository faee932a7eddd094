"""Every touch of a known person in the demo company, as the truth sees it (fct_touchpoints' truth).

The rules are the demo company's own reading of what a touch is, written apart from the dbt
project and its seeds: a website visit (page views with no gap over 30 minutes) at its landing
page, a form submit, a content read, a webinar attended, a WeCom add, a CRM lead. A web visitor
counts once their own events identify them (a form, a sign-up, an article opened from WeCom);
before that nobody could know who they are, however true it is.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from demo import catalog, sensors_records
from demo.digital import SITE, DigitalWorld, WebEvent
from demo.wecom_records import exists_at
from demo.world import World
from extract.sensors import settings as sensors_settings

SESSION_GAP_S = 30 * 60
# The demo night loads Sensors events from the extractor's default start (project-local time).
SENSORS_LOADED_FROM_MS = sensors_records.local_ms(sensors_settings.DEFAULT_START_TIME)
# utm_source → (channel, is paid): the demo company's campaigns tag their links this way.
UTM_CHANNELS = {c.utm_source: (c.name, c.name in ("paid_search", "paid_social"))
                for c in catalog.CHANNELS if c.utm_source}
SEARCH_ENGINES = {"www.baidu.com"}
WECOM_CAMPAIGNS = {"qr_expo_booth": "展台活码", "qr_official_menu": "公众号菜单活码"}
SALES_CHANNELS = {"outbound"}


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


def touches_truth(world: World, digital: DigitalWorld, now: int | None = None) -> list[Touch]:
    """Every touch of a known person that the systems hold at `now` (default: the demo's today)."""
    moment = world.as_of_ms if now is None else now
    touches = [_crm_lead(j) for j in world.journeys if j.created_at <= moment]
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


def _identifies(event: WebEvent, context: Any) -> bool:
    """Whether this event tells who the visitor is."""
    if event.event in ("form_submit", "$SignUp"):
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
