"""The hot-lead sensor: every few minutes, new Sensors events and WeCom adds → WeCom robot messages to owners.

Each tick is one look of the light path (leadloop.hot_lead_alerts): read what the platforms saw since
the last look, match it to persons in the published marts (read-only), and post one markdown message per
owner. It launches no run and never opens the night's warehouse file, so it runs beside a night. Its
memory is the sensor's cursor. Off (each tick says why) when neither Sensors nor WeCom is configured.
"""
# No `from __future__ import annotations`: Dagster reads the `context` annotation at runtime.

import os
from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg
import requests

from leadloop.extract.registry import SOURCES_BY_NAME, Status, configuration
from leadloop.hot_lead_alerts import (
    ROBOTS_ENV,
    WEBHOOK_ENV,
    AlertSettings,
    AlertState,
    LiveTouch,
    due_alerts,
    hold,
    hot_hits,
    mark_sent,
    owner_message,
)
from leadloop.orchestration.alerts import WecomRobotWebhook
from leadloop.orchestration.hot_lead_events import first_look, sensors_touches, wecom_touches
from leadloop.publish import published_reader

INTERVAL_ENV = "LEADLOOP_HOT_LEAD_SENSOR_SECONDS"
DEFAULT_INTERVAL_SECONDS = 120
LIVE_SOURCES = ("sensors", "wecom")


def sensor_interval() -> int:
    """Seconds between two looks (LEADLOOP_HOT_LEAD_SENSOR_SECONDS, default 120), read when the
    definitions load: an alert arrives within about this long after the touch reaches the platform."""
    text = os.environ.get(INTERVAL_ENV, "").strip()
    if text and not (text.isdigit() and int(text) >= 1):
        raise ValueError(f"{INTERVAL_ENV} must be a whole number of seconds of at least 1, got {text!r}")
    return int(text) if text else DEFAULT_INTERVAL_SECONDS


def live_sources() -> list[str]:
    """The platforms the light path reads: Sensors and WeCom, those configured."""
    return [name for name in LIVE_SOURCES if configuration(SOURCES_BY_NAME[name]).status is Status.ON]


@dataclass(frozen=True)
class Look:
    """What one look did."""

    touches: int
    hot: int
    messages: int
    held: int
    unrouted: list[str]
    failed: list[str]

    def summary(self) -> str:
        text = f"{self.touches} new touches, {self.hot} hot persons, {self.messages} messages sent"
        if self.held:
            text += f", {self.held} held for a later look"
        if self.failed:
            text += f"; robots failed for owners {', '.join(self.failed)}: retried at the next look"
        if self.unrouted:
            text += f"; no robot for owners {', '.join(self.unrouted)}: set {ROBOTS_ENV} or {WEBHOOK_ENV}"
        return text


def look(state: AlertState, now: datetime, robot: WecomRobotWebhook, sources: list[str]) -> Look:
    """One look of the light path: fetch, match, decide, post. Updates `state` in place."""
    config = AlertSettings.from_environment()
    touches: list[LiveTouch] = []
    read_from = [now]  # the earliest instant this look reads: what is remembered from before it can go
    if "sensors" in sources:
        since = datetime.fromisoformat(state.sensors_since) if state.sensors_since else first_look(now, config.lookback)
        read_from.append(since - config.lookback)  # late events: re-read the look-back
        found, latest = sensors_touches(read_from[-1])
        touches += found
        # Never further back than the look-back: a quiet site does not make every look re-read more.
        state.sensors_since = max(filter(None, [latest, since, now - config.lookback])).isoformat()
    if "wecom" in sources:
        since = datetime.fromtimestamp(state.wecom_since, UTC) if state.wecom_since else first_look(now, config.lookback)
        read_from.append(since - config.lookback)
        touches += wecom_touches(int(read_from[-1].timestamp()))
        state.wecom_since = int(now.timestamp())
    # Only touches that can make someone hot are remembered: the cursor stays small on a busy site.
    wanted = [touch for touch in touches if touch.touch_type in config.reengaging_touch_types]
    fresh = state.unseen(wanted, min(read_from))
    hits = []
    if fresh:
        with published_reader() as query:
            hits = hot_hits(fresh, query, config, now)
    by_owner = due_alerts(hits, state, now, config)
    sent, unrouted, failed = 0, [], []
    for owner, owner_hits in sorted(by_owner.items()):
        url = config.webhook_of(owner)
        if not url:
            unrouted.append(owner)
            hold(owner_hits, state)
            continue
        try:
            robot.post_markdown_to(url, owner_message(owner_hits, config), setting=f"{ROBOTS_ENV} / {WEBHOOK_ENV}")
        except (requests.RequestException, RuntimeError) as exc:
            # One owner's robot failing must not resend the others' alerts: theirs wait for the next look.
            failed.append(f"{owner} ({type(exc).__name__})")
            hold(owner_hits, state)
            continue
        mark_sent(owner_hits, state, now)
        sent += 1
    return Look(len(fresh), len(hits), sent, len(state.pending), unrouted, failed)


@dg.sensor(
    name="hot_lead_alerts",
    minimum_interval_seconds=sensor_interval(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Every LEADLOOP_HOT_LEAD_SENSOR_SECONDS: new Sensors events and WeCom adds, matched to "
    "persons in the published marts; a person of a dormant company who comes back is posted to their "
    "owner's WeCom robot (one message per owner, one alert per person per cooldown, quiet hours held). "
    "Reads only the published marts: runs beside the night.",
)
def hot_lead_alerts_sensor(context: dg.SensorEvaluationContext, wecom_robot: WecomRobotWebhook) -> dg.SensorResult:
    """One look; the cursor carries the light path's state to the next."""
    sources = live_sources()
    if not sources:
        return dg.SensorResult(skip_reason="hot-lead alerts are off: neither sensors nor wecom is configured")
    state = AlertState.from_json(context.cursor)
    done = look(state, datetime.now(UTC), wecom_robot, sources)
    context.log.info(done.summary())
    return dg.SensorResult(skip_reason=done.summary(), cursor=state.to_json())
