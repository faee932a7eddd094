"""mart_hot_leads' rows keyed as the demo company's truth keys them (leadloop.demo.hot_leads_truth): the true
person of each hot row's touch record and the touch itself, so a night's hot leads compare with the truth."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from leadloop.demo.digital import DigitalWorld
from leadloop.demo.hot_leads_truth import dormant_comebacks
from leadloop.demo.identity_truth import record_truth
from leadloop.demo.model import World

MART_TOUCHES = """
    select hot.hot_reason, hot.account_status, touches.source_record_id, touches.touched_at, touches.touch_type,
        touches.channel, touches.content_id
    from marts.mart_hot_leads as hot
    inner join marts.fct_touchpoints as touches
        on hot.touchpoint_id = touches.touchpoint_id
"""

TouchKey = tuple[str, int, str, str, Any]  # (person, at ms, touch type, channel, content)


def ms(moment: datetime) -> int:
    """Epoch milliseconds of a UTC timestamp stored without a zone."""
    return int(moment.replace(tzinfo=UTC).timestamp() * 1000)


def hot_touches(con: Any, world: World, digital: DigitalWorld) -> list[tuple[str, str | None, str, TouchKey]]:
    """Every hot row with a touch, as (reason, status, true person, touch key)."""
    owner = {row.record: row.person_id for row in record_truth(world, digital)}
    return [(reason, status, owner[record], (owner[record], ms(at), kind, channel, content))
            for reason, status, record, at, kind, channel, content in con.execute(MART_TOUCHES).fetchall()]


def expected_comebacks(world: World, digital: DigitalWorld,
                       sources: Collection[str] | None = None) -> set[tuple[str, TouchKey]]:
    """(person, touch key) of every dormant comeback the truth (restricted to `sources`) names."""
    return {(hot.person_id, (hot.person_id, hot.touch.at_ms, hot.touch.touch_type, hot.touch.channel,
                             hot.touch.content))
            for hot in dormant_comebacks(world, digital, sources=sources).values()}


def actual_comebacks(touches: list[tuple[str, str | None, str, TouchKey]]) -> list[tuple[str, TouchKey]]:
    """(person, touch key) of every dormant_account_reengaged row (a list: a doubled row shows)."""
    return [(person, key) for reason, _, person, key in touches if reason == "dormant_account_reengaged"]
