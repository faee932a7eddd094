"""The real salesforce dlt source against the Salesforce simulator on 127.0.0.1, loading into DuckDB.

The simulator serves the demo company's CRM (src/leadloop/demo/world.py) rendered as a Salesforce org; the
expected rows are computed from the world itself.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal

import dlt
import pytest
import requests
from dlt.pipeline.exceptions import PipelineStepFailed

from leadloop.demo import catalog
from leadloop.demo.digital import simulate_digital
from leadloop.demo.model import ID_BASE, World
from leadloop.demo.salesforce_records import duplicate_of, render, salesforce_id
from leadloop.demo.simulators.salesforce import (
    QUERY_ALL_PATH,
    QUERY_MORE_PATH,
    TOKEN_PATH,
    SalesforceSimulator,
)
from leadloop.extract.salesforce import salesforce_source, settings

pytest.register_assert_rewrite("tests.extract.salesforce_fixtures")

from tests.extract.salesforce_fixtures import (
    CLIENT_ID,
    CLIENT_SECRET,
    DATA_TABLES,
    DAY_MS,
    STAGE,
    Records,
    columns_of,
    expected_counts,
    rows,
    run_salesforce,
    table_counts,
)

pytest_plugins = ("tests.extract.salesforce_fixtures",)  # the sf_* fixtures

# The mapping of the brief, restated here so that the renderer is checked against it.
STATUS = {
    catalog.LEAD_STATUS_NEW: "Open - Not Contacted",
    catalog.LEAD_STATUS_WORKING: "Working - Contacted",
    catalog.LEAD_STATUS_QUALIFIED: "Qualified",
    catalog.LEAD_STATUS_CONVERTED: "Closed - Converted",
    catalog.LEAD_STATUS_DISQUALIFIED: "Closed - Not Converted",
}


def _sf_id(sobject: str, kind: str, world_id: int) -> str:
    """The Salesforce id the org must show for a world id."""
    return salesforce_id(sobject, world_id - ID_BASE[kind])


def snapshot(pipeline: dlt.Pipeline) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every raw table (without dlt's load columns), ordered, to detect any change."""
    result = {}
    for name in DATA_TABLES:
        columns = [r[0] for r in rows(pipeline, f"select column_name from (describe {name})")]
        kept = ", ".join(c for c in columns if not c.startswith("_dlt"))
        result[name] = rows(pipeline, f"select {kept} from {name} order by id")
    return result


def changed_rows(before: Records, after: Records) -> dict[str, int]:
    """Rows per table that are new or different in `after` (what the next run must load)."""
    changed = {}
    for obj in settings.OBJECTS:
        old = {r["Id"]: r for r in before[obj.sobject]}
        changed[obj.resource] = sum(1 for r in after[obj.sobject] if old.get(r["Id"]) != r)
    return changed


def test_full_load_matches_the_demo_world(
    sf_env: SalesforceSimulator, demo_world: World, sf_pipeline: dlt.Pipeline
) -> None:
    now = demo_world.as_of_ms
    loaded = run_salesforce(sf_pipeline)
    expected = expected_counts(demo_world, now)
    assert {name: loaded[name] for name in DATA_TABLES} == expected
    assert table_counts(sf_pipeline) == expected
    assert sf_env.requests_served[QUERY_MORE_PATH] > 0  # several pages were followed

    journeys = [j for j in demo_world.journeys if j.created_at <= now]
    leads = {
        r[0]: r[1:]
        for r in rows(
            sf_pipeline,
            "select id, status, is_converted, converted_opportunity_id, utm_campaign, is_deleted from leads",
        )
    }
    for j in journeys:
        status = [s for at, s in j.status_events if at <= now][-1]
        opp = j.opportunity
        opp_id = (
            _sf_id("Opportunity", "opportunity", opp.opportunity_id)
            if opp and opp.created_at <= now
            else None
        )
        converted = j.converted_at is not None and j.converted_at <= now
        assert leads[_sf_id("Lead", "lead", j.lead_id)] == (
            STATUS[status],
            converted,
            opp_id,
            j.utm["utmCampaign"],
            False,
        )
    # the mistaken duplicates: in raw, flagged deleted once deleted, never removed
    duplicates = [d for j in demo_world.journeys if (d := duplicate_of(j)) and d.created_at <= now]
    assert duplicates and {leads[d.lead_id][-1] for d in duplicates} == {True}
    assert rows(sf_pipeline, "select count(*) from leads where is_deleted")[0][0] == sum(
        1 for d in duplicates if d.deleted_at <= now
    )

    opportunities = {
        r[0]: r[1:]
        for r in rows(sf_pipeline, "select id, stage_name, is_won, amount, loss_reason from opportunities")
    }
    for o in (o for o in demo_world.opportunities if o.created_at <= now):
        stage = [s for at, s in o.stage_events if at <= now][-1]
        won, lost = stage == catalog.STAGE_WON, stage == catalog.STAGE_LOST
        amount = Decimal(str(o.won_amount if won else o.estimate)).quantize(Decimal("0.01"))
        assert opportunities[_sf_id("Opportunity", "opportunity", o.opportunity_id)] == (
            STAGE[stage],
            won,
            amount,
            o.lost_reason if lost else None,
        )
    won_total = rows(sf_pipeline, "select sum(amount) from opportunities where is_won")[0][0]
    assert won_total == sum(
        Decimal(str(o.won_amount))
        for o in demo_world.opportunities
        if o.closed_at and o.closed_at <= now and o.won_amount is not None
    )
    # declared column types hold, whatever the data
    columns = dict(rows(sf_pipeline, "select column_name, column_type from (describe opportunities)"))
    assert columns["system_modstamp"] == "TIMESTAMP WITH TIME ZONE" and columns["close_date"] == "DATE"
    assert columns["amount"] == "DECIMAL(18,2)" and columns["is_won"] == "BOOLEAN"
    assert rows(sf_pipeline, "select count(*) from quarantine") == [(0,)]


def test_next_day_loads_only_new_and_changed_rows(
    sf_env: SalesforceSimulator, demo_world: World, sf_records: Records, sf_pipeline: dlt.Pipeline
) -> None:
    run_salesforce(sf_pipeline)
    now, tomorrow = demo_world.as_of_ms, demo_world.as_of_ms + DAY_MS
    next_day = render(demo_world, simulate_digital(demo_world), tomorrow)
    sf_env.set_records(next_day)

    loaded = run_salesforce(sf_pipeline)
    expected = changed_rows(sf_records, next_day)
    assert {name: loaded.get(name, 0) for name in DATA_TABLES} == expected
    assert sum(expected.values()) > 0
    # cross-check with the world: what happened during that day
    assert expected["opportunity_history"] == sum(
        1 for o in demo_world.opportunities for at, _ in o.stage_events if now < at <= tomorrow
    )
    assert expected["lead_history"] == sum(
        1 for j in demo_world.journeys for at, _ in j.status_events[1:] if now < at <= tomorrow
    )
    assert table_counts(sf_pipeline) == expected_counts(demo_world, tomorrow)

    before = snapshot(sf_pipeline)
    again = run_salesforce(sf_pipeline)  # the same day once more: nothing changes
    assert {name: again.get(name, 0) for name in DATA_TABLES} == dict.fromkeys(DATA_TABLES, 0)
    assert snapshot(sf_pipeline) == before


def test_deletion_reaches_raw_as_a_flag(
    sf_env: SalesforceSimulator, demo_world: World, sf_pipeline: dlt.Pipeline
) -> None:
    # start the day a duplicate was created, before it was deleted
    duplicate = next(
        d for j in demo_world.journeys if (d := duplicate_of(j)) and d.deleted_at <= demo_world.as_of_ms
    )
    digital = simulate_digital(demo_world)
    sf_env.set_records(render(demo_world, digital, duplicate.created_at))
    run_salesforce(sf_pipeline, salesforce_source().with_resources("leads"))
    flag = f"select is_deleted from leads where id = '{duplicate.lead_id}'"
    assert rows(sf_pipeline, flag) == [(False,)]
    sf_env.set_records(render(demo_world, digital, duplicate.deleted_at))
    loaded = run_salesforce(sf_pipeline, salesforce_source().with_resources("leads"))
    assert rows(sf_pipeline, flag) == [(True,)]
    assert loaded["leads"] >= 1


def test_client_credentials_grant_without_a_user(
    sf_env: SalesforceSimulator, monkeypatch: pytest.MonkeyPatch, demo_world: World, sf_pipeline: dlt.Pipeline
) -> None:
    for key in ("USERNAME", "PASSWORD", "SECURITY_TOKEN"):
        monkeypatch.delenv(f"SOURCES__SALESFORCE__{key}")
    loaded = run_salesforce(sf_pipeline, salesforce_source().with_resources("users", "campaigns"))
    assert (loaded["users"], loaded["campaigns"]) == (
        len(demo_world.users),
        expected_counts(demo_world, demo_world.as_of_ms)["campaigns"],
    )


def test_a_stale_custom_field_setting_is_left_out_not_fatal(
    sf_env: SalesforceSimulator,
    monkeypatch: pytest.MonkeyPatch,
    sf_pipeline: dlt.Pipeline,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The org has no Lead_Score__c: a SOQL naming it fails whole with INVALID_FIELD ...
    grant = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    token = requests.post(sf_env.login_url + TOKEN_PATH, data=grant, timeout=5).json()["access_token"]
    soql = {"q": "SELECT Id, Lead_Score__c FROM Lead"}
    answer = requests.get(sf_env.base_url + QUERY_ALL_PATH, params=soql, timeout=5,
                          headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "INVALID_FIELD"
    # ... so the source, reading the describe first, never sends it: the load goes on without it.
    stale = {"leads": {"Lead_Score__c": "score", "UTM_Campaign__c": "utmCampaign"}}
    monkeypatch.setenv("SOURCES__SALESFORCE__CUSTOM_FIELDS", json.dumps(stale))
    with caplog.at_level(logging.INFO, logger="leadloop.extract.salesforce"):
        loaded = run_salesforce(sf_pipeline, salesforce_source().with_resources("leads"))
    assert loaded["leads"] == len(sf_env.records["Lead"])
    columns = set(columns_of(sf_pipeline, "leads"))
    assert "utm_campaign" in columns and not columns & {"score", "utm_source", "lead_score"}
    [line] = [r for r in caplog.records if "Lead_Score__c" in r.getMessage()]
    assert line.levelno == logging.WARNING and "SOURCES__SALESFORCE__CUSTOM_FIELDS" in line.getMessage()
    assert "UTM_Campaign__c" not in line.getMessage()


def test_custom_field_map_comes_from_config(
    sf_env: SalesforceSimulator,
    monkeypatch: pytest.MonkeyPatch,
    sf_records: Records,
    sf_pipeline: dlt.Pipeline,
) -> None:
    for lead in sf_records["Lead"]:
        lead["Lead_Score__c"] = "42"
    override = {"leads": {"UTM_Source__c": "adChannel", "Lead_Score__c": "leadScore"}}
    monkeypatch.setenv("SOURCES__SALESFORCE__CUSTOM_FIELDS", json.dumps(override))
    run_salesforce(sf_pipeline, salesforce_source().with_resources("leads"))
    columns = {r[0] for r in rows(sf_pipeline, "select column_name from (describe leads)")}
    assert {"ad_channel", "lead_score"} <= columns and not columns & {"utm_source", "utm_medium"}


def test_malformed_query_answer_stops_without_retrying(
    sf_env: SalesforceSimulator, sf_pipeline: dlt.Pipeline
) -> None:
    bad = [{"message": "unexpected token: 'FORM'", "errorCode": "MALFORMED_QUERY"}]
    sf_env.inject(QUERY_ALL_PATH, 400, bad)
    with pytest.raises(PipelineStepFailed) as failure:
        run_salesforce(sf_pipeline, salesforce_source().with_resources("users"))
    assert "MALFORMED_QUERY" in str(failure.value) and "unexpected token: 'FORM'" in str(failure.value)
    assert sf_env.requests_served[QUERY_ALL_PATH] == 1


def test_start_must_be_an_instant(sf_env: SalesforceSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__SALESFORCE__START", "2025-01-01")
    with pytest.raises(Exception, match="SOURCES__SALESFORCE__START"):
        salesforce_source()
