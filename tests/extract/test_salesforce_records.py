"""The demo world rendered as a Salesforce org: ids, as-of logic, deletions."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest

from leadloop.demo import catalog
from leadloop.demo.model import DAY_MS, World
from leadloop.demo.salesforce_records import (
    ORG_ID,
    PREFIXES,
    duplicate_of,
    render,
    salesforce_id,
    sf_date,
    sf_datetime,
    with_checksum,
)
from leadloop.demo.salesforce_shape import DEFAULT_SHAPE, OrgShape

ID_RE = re.compile(r"^[0-9A-Za-z]{15}[A-Z0-5]{3}$")


def test_checksum_matches_salesforce_for_a_known_id() -> None:
    # The 15 → 18 character example of Salesforce's own documentation.
    assert with_checksum("001D000000IqhSL") == "001D000000IqhSLIAZ"


def test_ids_carry_the_object_prefix_and_are_unique(demo_world: World) -> None:
    records = render(demo_world)
    ids = [r["Id"] for rows in records.values() for r in rows]
    assert len(ids) == len(set(ids)) and all(ID_RE.match(i) for i in ids)
    assert len({i.lower() for i in ids}) == len(ids)  # unique case-insensitively too
    for sobject, rows in records.items():
        assert {r["Id"][:3] for r in rows} == {PREFIXES[sobject]}
    assert salesforce_id("Lead", 1) != salesforce_id("Lead", 2)


def test_wire_forms_of_datetimes_and_dates() -> None:
    ms = 1_767_225_600_123  # 2026-01-01T00:00:00.123Z, already 2026-01-01 08:00 in Shanghai
    assert sf_datetime(ms) == "2026-01-01T00:00:00.123+0000"
    assert sf_date(ms - 9 * 3_600_000) == "2025-12-31" and sf_date(ms) == "2026-01-01"


def test_nothing_is_shown_before_it_happens(demo_world: World) -> None:
    for as_of in (demo_world.as_of_ms - 200 * DAY_MS, demo_world.as_of_ms):
        stamp = sf_datetime(as_of)
        for rows in render(demo_world, None, as_of).values():
            for row in rows:
                assert max(row.get("SystemModstamp", ""), row["CreatedDate"]) <= stamp


def test_advancing_a_day_never_removes_a_row(demo_world: World) -> None:
    today = render(demo_world)
    tomorrow = render(demo_world, None, demo_world.as_of_ms + DAY_MS)
    for sobject, rows in today.items():
        assert {r["Id"] for r in rows} <= {r["Id"] for r in tomorrow[sobject]}


def test_duplicates_are_about_two_percent_and_deleted_within_hours(demo_world: World) -> None:
    duplicates = [d for j in demo_world.journeys if (d := duplicate_of(j))]
    assert 0.01 <= len(duplicates) / len(demo_world.journeys) <= 0.04
    assert all(3_600_000 <= d.deleted_at - d.created_at <= 8 * 3_600_000 for d in duplicates)
    leads = {r["Id"]: r for r in render(demo_world)["Lead"]}
    shown = [leads[d.lead_id] for d in duplicates if d.lead_id in leads]
    assert shown and all(r["IsDeleted"] and not r["IsConverted"] for r in shown)


def test_converted_leads_point_at_their_account_contact_and_opportunity(demo_world: World) -> None:
    records = render(demo_world)
    accounts = {r["Id"] for r in records["Account"]}
    contacts = {r["Id"] for r in records["Contact"]}
    opportunities = {r["Id"]: r for r in records["Opportunity"]}
    converted = [r for r in records["Lead"] if r["IsConverted"]]
    assert converted and all(r["Status"] == "Closed - Converted" for r in converted)
    for lead in converted:
        assert lead["ConvertedAccountId"] in accounts and lead["ConvertedContactId"] in contacts
        if lead["ConvertedOpportunityId"]:
            assert opportunities[lead["ConvertedOpportunityId"]]["LeadSource"] == lead["LeadSource"]
    closed = [o for o in records["Opportunity"] if o["IsClosed"]]
    assert {o["StageName"] for o in closed} == {"Closed Won", "Closed Lost"}
    assert all((o["Loss_Reason__c"] in catalog.LOST_REASONS) == (not o["IsWon"]) for o in closed)
    assert all(datetime.fromisoformat(o["CloseDate"]) for o in records["Opportunity"])


# -- org shapes ----------------------------------------------------------------------------------------


def test_the_default_shape_changes_nothing(demo_world: World) -> None:
    assert render(demo_world, shape=DEFAULT_SHAPE) == render(demo_world)
    assert OrgShape.parse("") == DEFAULT_SHAPE


def test_shapes_switch_features_off(demo_world: World) -> None:
    shape = OrgShape(field_history=False, campaigns=False, custom_fields=False,
                     empty_objects=frozenset({"Event"}), hidden_fields=frozenset({"Contact.MobilePhone"}))
    records = render(demo_world, shape=shape)
    for sobject in ("LeadHistory", "OpportunityFieldHistory", "Campaign", "CampaignMember", "Event"):
        assert records[sobject] == [], sobject
    assert records["OpportunityHistory"] and records["Task"]
    assert all(o["CampaignId"] is None for o in records["Opportunity"])
    assert not [k for rows in records.values() for r in rows for k in r if k.endswith("__c")]
    assert all("MobilePhone" not in c for c in records["Contact"])


def test_currency_shapes_convert_amounts_to_cents(demo_world: World) -> None:
    cny = render(demo_world)
    rates = {"CNY": Decimal(1), "USD": Decimal("0.1389")}
    single = render(demo_world, shape=OrgShape(currency="USD", cny_rates=rates))
    multi = render(demo_world, shape=OrgShape(currency="USD", cny_rates=rates, multi_currency=True))
    for before, after in zip(cny["Opportunity"], single["Opportunity"], strict=True):
        assert Decimal(str(after["Amount"])) == (Decimal(str(before["Amount"])) * rates["USD"]).quantize(
            Decimal("0.01"), ROUND_HALF_UP)
    assert "CurrencyIsoCode" not in single["Opportunity"][0]
    assert single["Organization"][0]["DefaultCurrencyIsoCode"] == "USD"
    assert {o["CurrencyIsoCode"] for o in multi["Opportunity"] + multi["Task"] + multi["User"]} == {"USD"}
    assert "CurrencyIsoCode" not in multi["LeadHistory"][0]
    assert "CurrencyIsoCode" not in multi["Organization"][0]
    assert [o["Amount"] for o in multi["Opportunity"]] == [o["Amount"] for o in single["Opportunity"]]


def test_shapes_are_read_from_text_and_refuse_what_they_cannot_render() -> None:
    text = "field_history=off, multi_currency=on, currency=usd, empty=Task+Event, hidden=Lead.Phone"
    assert OrgShape.parse(text) == OrgShape(
        field_history=False, multi_currency=True, currency="USD",
        empty_objects=frozenset({"Task", "Event"}), hidden_fields=frozenset({"Lead.Phone"}),
    )
    with pytest.raises(ValueError, match="LEADLOOP_DEMO_SALESFORCE_SHAPE"):
        OrgShape.parse("campaigns=maybe")
    with pytest.raises(ValueError, match="no CNY→GBP rate"):
        OrgShape(currency="GBP")
    with pytest.raises(ValueError, match="Object.Field"):
        OrgShape(hidden_fields=frozenset({"Phone"}))


def test_contact_roles_and_field_history_appear_with_their_deal(demo_world: World) -> None:
    deal = next(o for o in demo_world.opportunities if o.closed_at and o.closed_at < demo_world.as_of_ms)
    deal_id = salesforce_id("Opportunity", deal.opportunity_id - 1_500_000_000_000)
    before = render(demo_world, None, deal.created_at - 1)
    after = render(demo_world, None, deal.closed_at)
    assert not [r for r in before["OpportunityContactRole"] if r["OpportunityId"] == deal_id]
    roles = [r for r in after["OpportunityContactRole"] if r["OpportunityId"] == deal_id]
    assert roles and sum(r["IsPrimary"] for r in roles) == 1
    history = [r for r in after["OpportunityFieldHistory"] if r["OpportunityId"] == deal_id]
    assert len([r for r in history if r["Field"] == "StageName"]) == len(deal.stage_events) - 1
    assert with_checksum(ORG_ID[:15]) == ORG_ID and after["Organization"][0]["Id"] == ORG_ID
