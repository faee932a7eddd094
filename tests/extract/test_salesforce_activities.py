"""Tasks, events, contact roles, opportunity field history and the organization: the demo world's
sales activities (leadloop.demo.sales_activities) rendered for Salesforce and loaded by the source."""

from __future__ import annotations

from datetime import UTC, date, datetime

import dlt
import pytest

from leadloop.demo import catalog
from leadloop.demo.model import DAY_MS, ID_BASE, World
from leadloop.demo.sales_activities import CALL, EMAIL, MEETING, SalesActivity, sales_activities
from leadloop.demo.salesforce_records import render, salesforce_id, sf_date
from leadloop.demo.simulators.salesforce import SalesforceSimulator

pytest.register_assert_rewrite("tests.extract.salesforce_fixtures")

import itertools

from tests.extract.salesforce_fixtures import STAGE, columns_of, rows, run_salesforce

pytest_plugins = ("tests.extract.salesforce_fixtures",)  # the sf_* fixtures


def sf(sobject: str, kind: str, world_id: int) -> str:
    """The Salesforce id the org must show for a world id."""
    return salesforce_id(sobject, world_id - ID_BASE[kind])


def expected_who_what(activity: SalesActivity, world: World, now: int) -> tuple[str | None, str | None]:
    """(WhoId, WhatId) an activity must show at `now`: the lead until it converts, then the contact;
    the opportunity once there is one."""
    people = {p.person_id: p for a in world.accounts for p in a.committee}
    person = people[activity.person_id]
    if activity.opportunity_id is not None:
        return sf("Contact", "contact", person.contact_id), sf(
            "Opportunity", "opportunity", activity.opportunity_id
        )
    journey = next(j for j in world.journeys if j.lead_id == activity.lead_id)
    converted = journey.converted_at is not None and journey.converted_at <= now
    who = sf("Contact", "contact", person.contact_id) if converted else sf("Lead", "lead", journey.lead_id)
    deal = journey.opportunity
    what = sf("Opportunity", "opportunity", deal.opportunity_id) if deal and deal.created_at <= now else None
    return who, what


# -- the world's activities ---------------------------------------------------------------------------


def test_sales_activities_are_deterministic_and_follow_the_world(demo_world: World) -> None:
    activities = sales_activities(demo_world)
    assert activities == sales_activities(demo_world)
    assert [a.at_ms for a in activities] == sorted(a.at_ms for a in activities)
    assert len({a.activity_id for a in activities}) == len(activities)
    journeys = {j.lead_id: j for j in demo_world.journeys}
    for journey in demo_world.journeys:  # every lead gets an SDR call within two days
        calls = [
            a
            for a in activities
            if a.lead_id == journey.lead_id and a.opportunity_id is None and a.kind == CALL
        ]
        assert len(calls) == 1 and 0 < calls[0].at_ms - journey.created_at <= 2 * DAY_MS
        assert calls[0].owner_id == journey.owner_id and calls[0].person_id == journey.person.person_id
    emails = [a for a in activities if a.kind == EMAIL]
    assert 0.6 < len(emails) / len(demo_world.journeys) < 0.95
    people = {p.person_id: p for a in demo_world.accounts for p in a.committee}
    for deal in demo_world.opportunities:  # a meeting when it opens, then a few calls while it runs
        touches = [a for a in activities if a.opportunity_id == deal.opportunity_id]
        [meeting] = [a for a in touches if a.kind == MEETING]
        assert 0 < meeting.at_ms - deal.created_at <= 3 * DAY_MS and meeting.owner_id == deal.owner_id
        if deal.lead_id is not None:
            assert meeting.person_id == journeys[deal.lead_id].person.person_id
        assert 1 <= sum(1 for a in touches if a.kind == CALL) <= 3
        for touch in touches:  # deal activities are with people who are contacts by then
            contact_since = people[touch.person_id].contact_created_at
            assert contact_since is not None and contact_since <= touch.at_ms


def test_tasks_name_the_lead_until_it_converts_then_the_contact(demo_world: World) -> None:
    first_calls = {
        a.lead_id: a for a in sales_activities(demo_world) if a.opportunity_id is None and a.kind == CALL
    }
    journey, call = next(
        (j, first_calls[j.lead_id])
        for j in demo_world.journeys
        if j.converted_at
        and j.opportunity
        and first_calls[j.lead_id].at_ms < j.converted_at
        and j.opportunity.created_at > j.converted_at + DAY_MS
    )
    task_id = salesforce_id("Task", call.activity_id - 1_900_000_000_000)
    assert journey.converted_at is not None and journey.opportunity is not None
    moments = (journey.converted_at - 1, journey.converted_at, journey.opportunity.created_at)
    shown = [next(t for t in render(demo_world, None, now)["Task"] if t["Id"] == task_id) for now in moments]
    assert shown[0]["WhoId"] == sf("Lead", "lead", journey.lead_id) and shown[0]["AccountId"] is None
    assert (
        shown[1]["WhoId"] == sf("Contact", "contact", journey.person.contact_id)
        and shown[1]["WhatId"] is None
    )
    assert shown[2]["WhatId"] == sf("Opportunity", "opportunity", journey.opportunity.opportunity_id)
    # every change moves SystemModstamp, so an incremental load sees it
    stamps = [t["SystemModstamp"] for t in shown]
    assert stamps == sorted(stamps) and stamps[1] < stamps[2]


# -- loaded by the source ---------------------------------------------------------------------------------


def test_sales_objects_load_and_match_the_world(
    sf_env: SalesforceSimulator, demo_world: World, sf_pipeline: dlt.Pipeline
) -> None:
    now = demo_world.as_of_ms
    run_salesforce(sf_pipeline)
    activities = [a for a in sales_activities(demo_world) if a.at_ms <= now]
    tasks = {
        r[0]: r[1:]
        for r in rows(
            sf_pipeline,
            "select id, who_id, what_id, task_subtype, activity_date, owner_id, is_closed from tasks",
        )
    }
    events = {
        r[0]: r[1:]
        for r in rows(
            sf_pipeline, "select id, who_id, what_id, type, start_date_time, duration_in_minutes from events"
        )
    }
    assert len(tasks) + len(events) == len(activities)
    for activity in activities:
        sequence = activity.activity_id - 1_900_000_000_000
        who, what = expected_who_what(activity, demo_world, now)
        day = date.fromisoformat(sf_date(activity.at_ms))
        if activity.kind == MEETING:
            start = datetime.fromtimestamp(activity.at_ms / 1000, UTC)
            assert events[salesforce_id("Event", sequence)] == (who, what, "Meeting", start, 60)
        else:
            subtype = {CALL: "Call", EMAIL: "Email"}[activity.kind]
            owner = sf("User", "user", activity.owner_id)
            assert tasks[salesforce_id("Task", sequence)] == (who, what, subtype, day, owner, True)
    assert columns_of(sf_pipeline, "tasks")["call_duration_in_seconds"] == "BIGINT"
    assert columns_of(sf_pipeline, "events")["end_date_time"] == "TIMESTAMP WITH TIME ZONE"


def test_contact_roles_are_the_committee_with_one_primary(
    sf_env: SalesforceSimulator, demo_world: World, sf_pipeline: dlt.Pipeline
) -> None:
    run_salesforce(sf_pipeline, _source("opportunity_contact_roles", "contacts"))
    roles = rows(
        sf_pipeline, "select opportunity_id, contact_id, role, is_primary from opportunity_contact_roles"
    )
    contacts = {r[0]: r[1] for r in rows(sf_pipeline, "select id, account_id from contacts")}
    opened = [o for o in demo_world.opportunities if o.created_at <= demo_world.as_of_ms]
    by_deal: dict[str, list[tuple[str, str, bool]]] = {}
    for deal, contact, role, primary in roles:
        by_deal.setdefault(deal, []).append((contact, role, primary))
    assert set(by_deal) == {sf("Opportunity", "opportunity", o.opportunity_id) for o in opened}
    journeys = {j.lead_id: j for j in demo_world.journeys}
    for deal in opened:
        members = by_deal[sf("Opportunity", "opportunity", deal.opportunity_id)]
        account = sf("Account", "account", deal.account_id)
        assert all(contacts[contact] == account for contact, _, _ in members)  # its account's people
        [primary] = [contact for contact, _, is_primary in members if is_primary]
        if deal.lead_id is not None:  # the converted lead's contact
            assert primary == sf("Contact", "contact", journeys[deal.lead_id].person.contact_id)
        assert all(
            role
            in {
                "Evaluator",
                "Technical Buyer",
                "Business User",
                "Decision Maker",
                "Executive Sponsor",
                "Economic Buyer",
                "Economic Decision Maker",
            }
            for _, role, _ in members
        )


def test_opportunity_field_history_tracks_stage_and_amount(
    sf_env: SalesforceSimulator, demo_world: World, sf_pipeline: dlt.Pipeline
) -> None:
    now = demo_world.as_of_ms
    run_salesforce(sf_pipeline, _source("opportunity_field_history"))
    loaded = rows(
        sf_pipeline,
        "select opportunity_id, field, old_value, new_value, created_date"
        " from opportunity_field_history order by opportunity_id, created_date, field",
    )
    expected = []
    for deal in demo_world.opportunities:
        stages = [(at, s) for at, s in deal.stage_events if at <= now]
        deal_id = sf("Opportunity", "opportunity", deal.opportunity_id)
        for (_, old), (at, new) in itertools.pairwise(stages):
            expected.append((deal_id, "StageName", STAGE[old], STAGE[new], at))
        if stages and stages[-1][1] == catalog.STAGE_WON and deal.won_amount != deal.estimate:
            expected.append((deal_id, "Amount", str(deal.estimate), str(deal.won_amount), stages[-1][0]))
    expected = [(d, f, o, n, datetime.fromtimestamp(at / 1000, UTC)) for d, f, o, n, at in expected]
    assert sorted(loaded) == sorted(expected)
    assert any(field == "Amount" for _, field, _, _, _ in loaded)


def test_organization_is_one_row(
    sf_env: SalesforceSimulator, demo_world: World, sf_pipeline: dlt.Pipeline
) -> None:
    loaded = run_salesforce(sf_pipeline, _source("organization"))
    assert loaded["organization"] == 1
    assert rows(
        sf_pipeline,
        "select id, time_zone_sid_key, default_currency_iso_code, fiscal_year_start_month,"
        " is_sandbox from organization",
    ) == [("00D2t0000000LdAEAU", "Asia/Shanghai", "CNY", 1, False)]
    assert "is_deleted" not in columns_of(sf_pipeline, "organization")
    assert run_salesforce(sf_pipeline, _source("organization")).get("organization", 0) == 0  # merged, once


def _source(*resources: str) -> dlt.sources.DltSource:
    """A fresh salesforce source cut to some resources."""
    from leadloop.extract.salesforce import salesforce_source

    return salesforce_source().with_resources(*resources)
