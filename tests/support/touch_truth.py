"""What the journeys' touches and the content marts must say, from the demo's touch truth."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from leadloop.demo.touch_truth import CRM_RECORDED, Touch
from tests.support.crm_truth import money

JOURNEY_TOUCH_FIELDS = ("touch_type", "channel", "campaign", "keyword", "content")


def journey_windows(journeys: list[dict[str, Any]], touches: list[Touch]) -> dict[int, list[Touch]]:
    """lead_id → the person's own touches (what a CRM records left out) after their previous lead, up
    to this one, in time order."""
    by_person: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for journey in journeys:
        by_person[journey["person_id"]].append(journey)
    touches_of: dict[str, list[Touch]] = defaultdict(list)
    for touch in touches:
        if touch.touch_type not in CRM_RECORDED:
            touches_of[touch.person_id].append(touch)
    windows: dict[int, list[Touch]] = {}
    for person, own in by_person.items():
        previous = None
        for journey in sorted(own, key=lambda j: (j["lead_at_ms"], j["lead_id"])):
            lead_at = journey["lead_at_ms"]
            windows[journey["lead_id"]] = sorted(
                (t for t in touches_of[person] if t.at_ms <= lead_at and (previous is None or t.at_ms > previous)),
                key=lambda t: t.at_ms)
            previous = lead_at
    return windows


def journey_touches(journeys: list[dict[str, Any]], touches: list[Touch]) -> dict[int, dict[str, Any]]:
    """lead_id → first touch and lead-creating touch fields, as fct_lead_journeys carries them."""
    crm_touch = {(t.person_id, t.at_ms): t for t in touches if t.touch_type == "crm_lead"}
    windows = journey_windows(journeys, touches)
    result = {}
    for journey in journeys:
        window = windows[journey["lead_id"]]
        own = crm_touch[(journey["person_id"], journey["lead_at_ms"])]
        first, last = (window[0], window[-1]) if window else (own, own)
        row = {"first_touch_at_ms": first.at_ms}
        for prefix, touch in (("first_touch", first), ("lead_touch", last)):
            for field in JOURNEY_TOUCH_FIELDS:
                row[f"{prefix}_{field.removeprefix('touch_')}"] = getattr(touch, field)
        result[journey["lead_id"]] = row
    return result


def content_performance(journeys: list[dict[str, Any]], touches: list[Touch]) -> dict[str, dict[str, Any]]:
    """material id → reads, readers and the funnel of the journeys a read of it led to."""
    rows: dict[str, dict[str, Any]] = defaultdict(lambda: {
        "reads": 0, "readers": set(), "registrations": 0, "mqls": 0, "sqls": 0, "opportunities": 0,
        "wins": 0, "lead_won_revenue": Decimal("0.00")})
    for touch in touches:
        if touch.touch_type == "content_read":
            rows[touch.content]["reads"] += 1
            rows[touch.content]["readers"].add(touch.person_id)
    by_lead = {journey["lead_id"]: journey for journey in journeys}
    for lead_id, window in journey_windows(journeys, touches).items():
        journey = by_lead[lead_id]
        for material in {t.content for t in window if t.touch_type == "content_read"}:
            row = rows[material]
            row["registrations"] += 1
            for stage, column in (("mql", "mqls"), ("sql", "sqls"), ("opportunity", "opportunities"),
                                  ("won", "wins")):
                row[column] += journey[f"{stage}_at_ms"] is not None
            if journey["won_amount"] is not None:
                row["lead_won_revenue"] += money(journey["won_amount"])
    return {material: {**row, "readers": len(row["readers"])} for material, row in rows.items()}
