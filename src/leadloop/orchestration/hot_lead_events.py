"""Touches since the last look, straight from the platforms (no warehouse): Sensors events and WeCom adds.

Each source's own client and settings (dlt config, as tonight's load resolves them) read what is new:
Sensors events from an instant on (one open-ended time window), and WeCom follow relations added
since an instant (WeCom has no "changed since": the contact list is read whole and filtered by
createtime). The night's end_time / start settings do not apply: the light path reads up to now.
"""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import UTC, datetime, timedelta
from functools import cache

from leadloop import settings
from leadloop.extract.common.probe import source_settings
from leadloop.extract.sensors import sensors_source
from leadloop.extract.sensors import settings as sensors_settings
from leadloop.extract.sensors.client import SensorsClient, Window
from leadloop.extract.wecom import wecom_source
from leadloop.extract.wecom.client import WecomClient
from leadloop.hot_lead_alerts import LiveTouch
from leadloop.identity.lookup import sensors_event_identifiers, wecom_contact_identifiers
from leadloop.identity.observations import to_utc


@cache
def _seed(name: str) -> tuple[dict[str, str], ...]:
    """A dbt seed's rows: the rules the marts use (event types, content titles) stay in one place."""
    with (settings.DBT_PROJECT_DIR / "seeds" / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        return tuple(csv.DictReader(handle))


def event_touch_types() -> dict[str, str]:
    """Sensors event name → touch type (seed channel_map_event_type)."""
    return {row["event_name"]: row["touch_type"] for row in _seed("channel_map_event_type")}


def content_titles() -> dict[str, str]:
    """Material id → title (seed content_catalog)."""
    return {row["material_id"]: row["title"] for row in _seed("content_catalog")}


def _what(touch_type: str, row: dict) -> str:
    """What a seller reads, in mart_hot_leads' words."""
    if touch_type == "content_read":
        material = row.get("material_id") or ""
        return f"阅读了《{content_titles().get(material) or row.get('material_title') or material}》"
    if touch_type == "web_session":
        return "访问了官网" + (row.get("$url_path") or "")
    return {"form_submit": "提交了表单", "webinar_attend": "参加了线上研讨会"}.get(touch_type, touch_type)


def sensors_touches(since: datetime) -> tuple[list[LiveTouch], datetime | None]:
    """Sensors events at or after `since` (UTC) that are touches, and the latest event time read."""
    config = source_settings(sensors_source)
    config.check()
    local_since = since.astimezone(sensors_settings.PROJECT_TZ).replace(tzinfo=None)
    client = SensorsClient(config)
    try:
        answer = client.query(Window(local_since, None).sql())
    finally:
        client.close()
    kinds, touches, latest = event_touch_types(), [], None
    for line in answer.splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            at = to_utc(row["time"], "china_local_text")
        except (ValueError, KeyError, TypeError):
            continue  # a malformed line: the night's load quarantines it with its reason
        latest = at if latest is None or at > latest else latest
        touch_type = kinds.get(str(row.get("event")))
        if touch_type is None:
            continue
        touches.append(LiveTouch(key="sensors:" + hashlib.md5(line.strip()).hexdigest(), touch_type=touch_type,
                                 touched_at=at, identifiers=tuple(sensors_event_identifiers(row)),
                                 what=_what(touch_type, row)))
    return touches, latest


def wecom_touches(since: int) -> list[LiveTouch]:
    """Follow relations (a contact adding a staff member) created at or after `since` (unix seconds)."""
    config = source_settings(wecom_source)
    config.check()
    client = WecomClient(config)
    touches = []
    try:
        for page in client.contact_pages():
            if page.failure is not None:
                raise RuntimeError(f"wecom: {page.failure.path} failed: {page.failure.error}")
            for item in page.records:
                follow = item.get("follow_info") or {}
                created = int(follow.get("createtime") or 0)
                if created < since:
                    continue
                contact = item.get("external_contact") or {}
                touches.append(LiveTouch(
                    key=f"wecom:{contact.get('external_userid')}|{follow.get('userid')}", touch_type="wecom_add",
                    touched_at=datetime.fromtimestamp(created, UTC),
                    identifiers=tuple(wecom_contact_identifiers(item)), what="添加了企业微信"))
    finally:
        client.close()
    return touches


def first_look(now: datetime, lookback: timedelta) -> datetime:
    """Where a light path that has never looked starts: the look-back before now (not the whole history)."""
    return now - lookback
