"""Ground truth of the demo company, written outside the warehouse so marts can be checked against it.

Stage semantics follow architecture §3: a journey's stages are monotonic; reaching a later stage
back-fills earlier missing ones with that later stage's timestamp, flagged as skipped.
"""

from __future__ import annotations

import json
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from leadloop.demo import catalog
from leadloop.demo.digital import simulate_digital
from leadloop.demo.model import BUSINESS_TZ, DAY_MS, Journey, World
from leadloop.demo.touch_truth import Touch, touches_truth

FUNNEL_STAGES = ("lead", "mql", "sql", "opportunity", "poc", "won")
# The CRM sale stages that count as a POC: the demo's own reading of stage_map_crm_sale_stage.csv.
# Tests pass another set to predict the marts after a marketer maps more stages to poc.
POC_STAGES = frozenset({catalog.STAGE_POC})
TRUTH_FILES = ("journeys.parquet", "manifest.json")


def _first(events: list[tuple[int, Any]], wanted: AbstractSet[Any], now: int) -> int | None:
    """The first instant at or before `now` at which one of the wanted values was entered."""
    return next((at for at, value in events if value in wanted and at <= now), None)


def journey_truth(journey: Journey, now: int, poc_stages: frozenset[int] = POC_STAGES) -> dict[str, Any] | None:
    """What really happened to one journey, as known at `now`; None if the lead did not exist yet.

    `poc_stages` are the sale stage ids whose first entry counts as the POC.
    """
    if journey.created_at > now:
        return None
    opportunity = journey.opportunity
    if opportunity is not None and opportunity.created_at > now:
        opportunity = None
    stage_events = opportunity.stage_events if opportunity else []
    reached: dict[str, int | None] = {
        "lead": journey.created_at,
        "mql": _first(journey.status_events, {catalog.LEAD_STATUS_QUALIFIED}, now),
        "sql": _first(journey.status_events, {catalog.LEAD_STATUS_CONVERTED}, now),
        "opportunity": opportunity.created_at if opportunity else None,
        "poc": _first(stage_events, poc_stages, now),
        "won": _first(stage_events, {catalog.STAGE_WON}, now),
    }
    skipped = {stage: False for stage in FUNNEL_STAGES}
    for later, earlier in zip(FUNNEL_STAGES[:0:-1], FUNNEL_STAGES[-2::-1]):
        if reached[earlier] is None and reached[later] is not None:
            reached[earlier], skipped[earlier] = reached[later], True
    lost_at = _first(stage_events, {catalog.STAGE_LOST}, now)
    cohort = datetime.fromtimestamp(journey.created_at / 1000, UTC).astimezone(BUSINESS_TZ)
    row: dict[str, Any] = {
        "lead_id": journey.lead_id,
        "person_id": journey.person.person_id,
        "account_id": journey.account.account_id,
        "channel": journey.channel.name,
        "lead_source": journey.lead_source,
        "campaign": journey.utm["utmCampaign"],
        "keyword": journey.utm["utmTerm"],
        "province": journey.account.province,
        "industry": journey.account.industry,
        "cohort_month": cohort.strftime("%Y-%m-01"),
        "opportunity_id": opportunity.opportunity_id if opportunity else None,
        "lost_at_ms": lost_at,
        "lost_reason": opportunity.lost_reason if lost_at is not None else None,
        "won_amount": opportunity.won_amount if reached["won"] is not None else None,
    }
    for stage in FUNNEL_STAGES:
        row[f"{stage}_at_ms"] = reached[stage]
        row[f"is_{stage}_skipped"] = skipped[stage]
    return row


def journeys_truth(world: World, now: int | None = None,
                   poc_stages: frozenset[int] = POC_STAGES) -> list[dict[str, Any]]:
    """Truth of every journey that exists at `now` (default: the demo's today)."""
    moment = world.as_of_ms if now is None else now
    return [row for j in world.journeys if (row := journey_truth(j, moment, poc_stages))]


def write_truth(world: World, directory: Path, now: int | None = None) -> Path:
    """Write the journeys' truth as Parquet plus a manifest naming seed, scale and instant."""
    directory.mkdir(parents=True, exist_ok=True)
    rows = journeys_truth(world, now)
    pq.write_table(pa.Table.from_pylist(rows), directory / "journeys.parquet")
    manifest = {"seed": world.seed, "scale": world.scale,
                "as_of_ms": world.as_of_ms if now is None else now, "journeys": len(rows)}
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return directory


SOURCED_BY_LOOKBACK_MS = 90 * DAY_MS  # the demo company's reading of var sourced_by_lookback_days
SOURCED_BY = {"市场线索": "marketing", "销售自拓": "sales", "高层关系": "executive", "渠道伙伴": "partner"}
MARKETING_GROUP_EXCLUDES = {"outbound"}  # channels whose leads sales, not marketing, generated


def _lead_of(world: World) -> dict[int, Journey]:
    return {j.opportunity.opportunity_id: j for j in world.journeys if j.opportunity is not None}


def _marketing_touch_times(world: World, now: int, touches: list[Touch] | None) -> dict[int, list[int]]:
    """account id → sorted instants of the marketing touches of its people (known at `now`)."""
    if touches is None:
        touches = touches_truth(world, simulate_digital(world), now)
    account_of = {p.person_id: a.account_id for a in world.accounts for p in a.committee}
    times: dict[int, list[int]] = {}
    for touch in touches:
        if touch.channel_group == "marketing" and touch.person_id in account_of:
            times.setdefault(account_of[touch.person_id], []).append(touch.at_ms)
    return {account: sorted(moments) for account, moments in times.items()}


def opportunity_truth(world: World, now: int | None = None, poc_stages: frozenset[int] = POC_STAGES,
                      touches: list[Touch] | None = None) -> list[dict[str, Any]]:
    """What really happened to every opportunity that exists at `now`.

    The POC starts at the first entry into one of `poc_stages` and ends at the first later entry
    into a stage that is not one of them. A deal no lead was converted into is still sourced by
    marketing when someone at its company had a marketing touch (`touches`, default: all the
    demo's) within SOURCED_BY_LOOKBACK_MS before it opened; marketing influenced it when such a
    touch came any time before it closed.
    """
    moment = world.as_of_ms if now is None else now
    touch_times = _marketing_touch_times(world, moment, touches)
    lead_of = _lead_of(world)
    industries = {account.account_id: account.industry for account in world.accounts}
    rows = []
    for opportunity in world.opportunities:
        if opportunity.created_at > moment:
            continue
        stages = [(at, stage) for at, stage in opportunity.stage_events if at <= moment]
        poc_at = _first(stages, poc_stages, moment)
        poc_end = next((at for at, stage in stages
                        if poc_at is not None and at > poc_at and stage not in poc_stages), None)
        won_at = _first(stages, {catalog.STAGE_WON}, moment)
        lost_at = _first(stages, {catalog.STAGE_LOST}, moment)
        journey = lead_of.get(opportunity.opportunity_id)
        linked = journey is not None and opportunity.created_at <= moment
        company_touches = touch_times.get(opportunity.account_id, [])
        opened = opportunity.created_at
        if linked:
            sourced_by = "sales" if journey.channel.name in MARKETING_GROUP_EXCLUDES else "marketing"
        elif any(opened - SOURCED_BY_LOOKBACK_MS <= at < opened for at in company_touches):
            sourced_by = "marketing"
        else:
            sourced_by = SOURCED_BY[opportunity.source]
        closed = won_at or lost_at
        touched_before_close = bool(company_touches) and (closed is None or company_touches[0] < closed)
        rows.append({
            "opportunity_id": opportunity.opportunity_id,
            "account_id": opportunity.account_id,
            "industry": industries[opportunity.account_id],
            "source_lead_id": journey.lead_id if linked else None,
            "sourced_by": sourced_by,
            "is_marketing_influenced": sourced_by == "marketing" or touched_before_close,
            "opened_at_ms": opportunity.created_at,
            "poc_started_at_ms": poc_at,
            "poc_ended_at_ms": poc_end,
            "won_at_ms": won_at,
            "lost_at_ms": lost_at,
            "outcome": "won" if won_at else ("lost" if lost_at else "open"),
            "lost_reason": opportunity.lost_reason if lost_at else None,
            "won_amount": opportunity.won_amount if won_at else None,
        })
    return rows
