"""Render the demo world as 销售易 wire records, as the CRM would show it at a given instant."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from leadloop.demo import catalog, custom_fields
from leadloop.demo.identity import phone_as_typed
from leadloop.demo.model import DAY_MS, ID_BASE, Journey, Opportunity, World, to_ms

Record = dict[str, Any]
OPPORTUNITY_TYPE_LABELS = {"new_logo": "新客户", "upsell": "增购", "cross_sell": "交叉销售"}


def render(world: World, as_of_ms: int | None = None) -> dict[str, list[Record]]:
    """Every 销售易 object of the demo tenant as of an instant (default: the demo's today)."""
    now = world.as_of_ms if as_of_ms is None else as_of_ms
    by_id = {o.opportunity_id: o for o in world.opportunities}
    return {
        "user": list(_users(world)),
        "saleStage": list(_sale_stages(world)),
        "account": [r for a in world.accounts if (r := _account(a, now))],
        "contact": [r for a in world.accounts for p in a.committee if (r := _contact(p, a, now))],
        "lead": [r for j in world.journeys if (r := _lead(j, now))],
        "leadHistory": [r for j in world.journeys for r in _lead_history(j, now)],
        "opportunity": [r for o in by_id.values() if (r := _opportunity(o, now))],
        "opportunityStageHistory": [r for o in by_id.values() for r in _stage_history(o, now)],
        "payment": [r for o in by_id.values() for r in _payments(o, now)],
    }


def _users(world: World) -> Iterator[Record]:
    created = to_ms(world.start)
    for user_id, name, department, position in world.users:
        yield {"id": user_id, "name": name, "email": f"u{user_id % 1000}@leadloop-demo.cn",
               "departName": department, "position": position, "createdAt": created, "updatedAt": created}


def _sale_stages(world: World) -> Iterator[Record]:
    created = to_ms(world.start)
    for stage_id, name, order, win_rate in catalog.SALE_STAGES:
        yield {"id": stage_id, "stageName": name, "orderNo": order, "winRate": win_rate,
               "createdAt": created, "updatedAt": created}


def _account(account, now: int) -> Record | None:
    if account.created_at == 0 or account.created_at > now:
        return None
    return {"id": account.account_id, "accountName": account.name, "industry": account.industry,
            "province": account.province, "city": account.city, "employeeNumber": account.employees,
            "ownerId": account.owner_id, "customItem210__c": account.uscc, "createdAt": account.created_at,
            "updatedAt": account.created_at}


def _contact(person, account, now: int) -> Record | None:
    if person.contact_created_at is None or person.contact_created_at > now:
        return None
    return {"id": person.contact_id, "contactName": person.name, "accountId": account.account_id,
            "mobile": phone_as_typed(person), "phone": account.switchboard, "email": person.email,
            "post": person.role,
            "ownerId": account.owner_id, "createdAt": person.contact_created_at,
            "updatedAt": person.contact_created_at}


def _lead(journey: Journey, now: int) -> Record | None:
    if journey.created_at > now:
        return None
    changes = [at for at, _ in journey.status_events if at <= now]
    status = [s for at, s in journey.status_events if at <= now][-1]
    converted = journey.converted_at is not None and journey.converted_at <= now
    opportunity = journey.opportunity
    linked = opportunity is not None and opportunity.created_at <= now
    if linked:
        changes.append(opportunity.created_at)
    person, account, utm = journey.person, journey.account, journey.utm
    return {
        "id": journey.lead_id, "name": person.name, "mobile": journey.typed_mobile,
        "phone": account.switchboard, "email": journey.typed_email, "companyName": journey.typed_company,
        "post": person.role,
        "province": account.province, "industry": account.industry, "leadSource": journey.lead_source,
        "status": status, "ownerId": journey.owner_id,
        "accountId": account.account_id if converted else None,
        "contactId": person.contact_id if converted else None,
        "opportunityId": opportunity.opportunity_id if linked else None,
        "customItem201__c": utm["utmSource"], "customItem202__c": utm["utmMedium"],
        "customItem203__c": utm["utmCampaign"], "customItem204__c": utm["utmTerm"],
        "customItem205__c": utm["utmContent"], custom_fields.NEOCRM_FIELD: custom_fields.budget_range(journey),
        "createdAt": journey.created_at, "updatedAt": max(changes),
    }


def _lead_history(journey: Journey, now: int) -> Iterator[Record]:
    """One row per change of lead.status (the creation status is not a change)."""
    sequence = journey.lead_id - ID_BASE["lead"]
    events = journey.status_events
    for n in range(1, len(events)):
        at, new = events[n]
        if at > now:
            return
        yield {"id": ID_BASE["leadHistory"] + sequence * 10 + n, "leadId": journey.lead_id,
               "fieldName": "status", "oldValue": events[n - 1][1], "newValue": new,
               "createdAt": at, "updatedAt": at}


def _visible_stages(opportunity: Opportunity, now: int) -> list[tuple[int, int]]:
    return [(at, stage) for at, stage in opportunity.stage_events if at <= now]


def _opportunity(opportunity: Opportunity, now: int) -> Record | None:
    stages = _visible_stages(opportunity, now)
    if not stages:
        return None
    last_at, stage = stages[-1]
    closed = stage in (catalog.STAGE_WON, catalog.STAGE_LOST)
    win_rate = {s[0]: s[3] for s in catalog.SALE_STAGES}[stage]
    money = opportunity.won_amount if stage == catalog.STAGE_WON else opportunity.estimate
    expected_close = opportunity.created_at + 90 * DAY_MS
    return {
        "id": opportunity.opportunity_id, "opportunityName": opportunity.name,
        "accountId": opportunity.account_id, "ownerId": opportunity.owner_id, "money": money,
        "saleStageId": stage, "winRate": win_rate,
        "closeDate": last_at if closed else expected_close,
        "reasonDesc": opportunity.lost_reason if stage == catalog.STAGE_LOST else None,
        "opportunitySource": opportunity.source,
        "opportunityType": OPPORTUNITY_TYPE_LABELS[opportunity.deal_type],
        "createdAt": opportunity.created_at, "updatedAt": last_at,
    }


def _stage_history(opportunity: Opportunity, now: int) -> Iterator[Record]:
    sequence = opportunity.opportunity_id - ID_BASE["opportunity"]
    for n, (at, stage) in enumerate(_visible_stages(opportunity, now)):
        yield {"id": ID_BASE["opportunityStageHistory"] + sequence * 10 + n,
               "opportunityId": opportunity.opportunity_id, "saleStageId": stage,
               "createdAt": at, "updatedAt": at}


def _payments(opportunity: Opportunity, now: int) -> Iterator[Record]:
    sequence = opportunity.opportunity_id - ID_BASE["opportunity"]
    for n, (at, amount) in enumerate(opportunity.payments):
        if at > now:
            return
        yield {"id": ID_BASE["payment"] + sequence * 10 + n, "opportunityId": opportunity.opportunity_id,
               "accountId": opportunity.account_id, "amount": amount, "paymentDate": at,
               "createdAt": at, "updatedAt": at}
