"""Render the demo company's web events as the Sensors SQL API would return them at an instant.

What the renderer adds to `leadloop.demo.digital` (all derived deterministically, never from hash()):
- *Late events*: 3 % of events (chosen by zlib.crc32 of the event's identity) reach Sensors
  1–36 hours after their `time` (a phone offline, a batch import); an event is served only once
  received, so a run at an instant misses events a later run finds with an earlier `time`.
- *Login ids* (Sensors ID-Mapping 1.0): before sign-up an event's `distinct_id` is the browser's
  anonymous id and `$is_login_id` is false; `$SignUp` is sent with `distinct_id` = the new login
  id and `original_id` = the anonymous id it replaces — the edge dbt uses to join the two — and
  later events carry the login id. Both ids share one `user_id`, Sensors' internal user number
  (here a signed int64 digested from the anonymous id).
- *SDK presets* the JS SDK adds to every browser event (`$lib`, `$lib_version`, `$os`,
  `$browser`, `$screen_width`, `$screen_height`, `$is_first_day`): not in the extractor's field
  table, so they land in `properties_json`. `webinar_attend` is imported server-side (`$lib` python).
- `content_read` carries the reader's WeCom `external_userid` when the reader was already a WeCom
  contact of the company at that moment (the article was opened from WeCom).
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import zlib
from array import array
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadloop.demo.digital import DigitalWorld, WebEvent
from leadloop.demo.model import BUSINESS_TZ, World

Row = dict[str, Any]
HOUR_MS = 3_600_000
LATE_PERCENT = 3
LATE_MIN_MS, LATE_MAX_MS = 1 * HOUR_MS, 36 * HOUR_MS
SERVER_SIDE_EVENTS = frozenset({"webinar_attend"})
_DEVICES = (  # ($os, $browser, $screen_width, $screen_height)
    ("Windows", "Chrome", 1920, 1080),
    ("Mac", "Safari", 1440, 900),
    ("Windows", "Edge", 1536, 864),
    ("iOS", "WeChat", 390, 844),
    ("Android", "WeChat", 412, 915),
)


def event_identity(event: WebEvent) -> str:
    """The stable text that picks an event's receive delay."""
    return f"{event.event}|{event.time_ms}|{event.distinct_id}|{event.login_id or ''}"


def receive_delay_ms(event: WebEvent) -> int:
    """How long after its `time` Sensors receives the event: 0, or 1–36 h for 3 % of events."""
    identity = event_identity(event).encode()
    if zlib.crc32(identity) % 100 >= LATE_PERCENT:
        return 0
    return LATE_MIN_MS + zlib.crc32(b"delay|" + identity) % (LATE_MAX_MS - LATE_MIN_MS + 1)


def receive_ms(event: WebEvent) -> int:
    """The instant Sensors has the event and serves it."""
    return event.time_ms + receive_delay_ms(event)


@functools.lru_cache(maxsize=1 << 16)  # a visitor's events come together: rendering a window asks again and again
def user_id(anonymous_id: str) -> int:
    """Sensors' internal user number of a visitor: a signed int64 digested from the anonymous id."""
    return int.from_bytes(hashlib.sha256(anonymous_id.encode()).digest()[:8], "big", signed=True)


def local_time(moment_ms: int) -> str:
    """Wire `time`: project-local (China) time 'YYYY-MM-DD HH:MM:SS.mmm'."""
    moment = datetime.fromtimestamp(moment_ms / 1000, BUSINESS_TZ)
    return f"{moment:%Y-%m-%d %H:%M:%S}.{moment_ms % 1000:03d}"


def local_ms(text: str) -> int:
    """Epoch milliseconds of a project-local time text ('YYYY-MM-DD[ HH:MM:SS[.fff]]')."""
    for pattern in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            moment = datetime.strptime(text, pattern)
        except ValueError:
            continue
        return int(moment.replace(tzinfo=BUSINESS_TZ).timestamp() * 1000)
    raise ValueError(f"not a local time: {text!r}")


@dataclass(frozen=True)
class EventContext:
    """What a row needs beyond its own event: first-seen days and WeCom contacts per person."""

    first_day: dict[str, str]  # anonymous distinct_id → local date of its first event
    wecom_adds: dict[str, list[tuple[int, str]]]  # person_id → sorted (added_ms, external_userid)

    @classmethod
    def of(cls, digital: DigitalWorld) -> EventContext:
        """Built once per render from the whole digital world."""
        first: dict[str, int] = {}
        for event in digital.web_events:
            first[event.distinct_id] = min(event.time_ms, first.get(event.distinct_id, event.time_ms))
        adds: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for contact in digital.wecom_contacts:
            adds[contact.person_id].append((contact.added_ms, contact.external_userid))
        for pairs in adds.values():
            pairs.sort()
        return cls({d: local_time(ms)[:10] for d, ms in first.items()}, dict(adds))

    def external_userid(self, person_id: str | None, moment_ms: int) -> str | None:
        """The person's WeCom id if they were a contact by `moment_ms`."""
        pairs = self.wecom_adds.get(person_id or "", [])
        index = bisect.bisect_right(pairs, (moment_ms, "\uffff"))
        return pairs[0][1] if index else None


def _presets(event: WebEvent, day: str, context: EventContext) -> Row:
    """Properties the SDK adds on its own."""
    if event.event in SERVER_SIDE_EVENTS:
        return {"$lib": "python", "$lib_version": "1.10.3"}
    os_name, browser, width, height = _DEVICES[zlib.crc32(event.distinct_id.encode()) % len(_DEVICES)]
    return {
        "$lib": "js",
        "$lib_version": "1.26.8",
        "$os": os_name,
        "$browser": browser,
        "$screen_width": width,
        "$screen_height": height,
        "$is_first_day": context.first_day.get(event.distinct_id) == day,
    }


def wire_row(event: WebEvent, context: EventContext) -> Row:
    """One event as a row of the `events` table (properties with null values left out)."""
    time = local_time(event.time_ms)
    day = time[:10]
    row: Row = {"event": event.event, "time": time}
    if event.event == "$SignUp" and event.login_id:
        row.update(distinct_id=event.login_id, original_id=event.distinct_id)
    else:
        row["distinct_id"] = event.login_id or event.distinct_id
    row.update(user_id=user_id(event.distinct_id), date=day, **{"$is_login_id": event.login_id is not None})
    row.update(event.properties)
    if event.event == "content_read" and (wecom := context.external_userid(event.person_id, event.time_ms)):
        row["external_userid"] = wecom
    row.update(_presets(event, day, context))
    return row


def received_events(digital: DigitalWorld, as_of_ms: int) -> Iterable[WebEvent]:
    """The events Sensors has received by `as_of_ms`, in the world's order."""
    return (event for event in digital.web_events if receive_ms(event) <= as_of_ms)


class SensorsEvents:
    """A digital world's events as Sensors serves them, ready to be shown at any instant: the context
    and every event's receive time are worked out once, so moving the clock only filters."""

    def __init__(self, digital: DigitalWorld) -> None:
        self.events = digital.web_events
        self.context = EventContext.of(digital)
        self.received_at = array("q", (receive_ms(event) for event in self.events))

    def at(self, as_of_ms: int) -> ServedEvents:
        """The events received by `as_of_ms`, in served order."""
        return ServedEvents(self, as_of_ms)


class ServedEvents:
    """The rows the SQL API serves at an instant, ordered by time (stable in the world's order), each
    rendered to its wire row only when read: a big demo's simulator holds two integers per event, not a
    million rows. Iterating gives the rows; `times[n]` and `row(n)` give one."""

    def __init__(self, source: SensorsEvents, as_of_ms: int) -> None:
        self.source, self.as_of_ms = source, as_of_ms
        received, events = source.received_at, source.events
        positions = [n for n in range(len(events)) if received[n] <= as_of_ms]
        positions.sort(key=lambda n: events[n].time_ms)  # stable; the world's events are in time order already
        self.positions = array("q", positions)
        self.times = array("q", (events[n].time_ms for n in positions))

    def __len__(self) -> int:
        return len(self.positions)

    def row(self, n: int) -> Row:
        """The n-th served row, rendered now."""
        return wire_row(self.source.events[self.positions[n]], self.source.context)

    def __iter__(self) -> Iterator[Row]:
        return (self.row(n) for n in range(len(self.positions)))


def render(world: World, digital: DigitalWorld, as_of_ms: int | None = None) -> list[Row]:
    """Every event row the SQL API serves at an instant (default: the demo's today), by time."""
    now = world.as_of_ms if as_of_ms is None else as_of_ms
    return list(SensorsEvents(digital).at(now))
