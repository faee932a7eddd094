"""The salesforce source against orgs of other shapes: describe-driven fields, missing and empty
objects, field-level security, multi-currency and another corporate currency."""

from __future__ import annotations

import logging
from decimal import ROUND_HALF_UP, Decimal

import dlt
import pytest

from leadloop.demo.model import World
from leadloop.demo.salesforce_shape import OrgShape
from leadloop.demo.simulators.salesforce import (
    DESCRIBE_PATH,
    QUERY_ALL_PATH,
    SOBJECTS_PATH,
    SalesforceSimulator,
)
from leadloop.extract.salesforce import settings

pytest.register_assert_rewrite("tests.extract.salesforce_fixtures")

from tests.extract.salesforce_fixtures import (
    columns_of,
    rows,
    run_salesforce,
    serve_shape,
    table_names,
)

pytest_plugins = ("tests.extract.salesforce_fixtures",)  # the sf_* fixtures

DATA_TABLES = [obj.resource for obj in settings.OBJECTS]
UTM_COLUMNS = {"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"}
CENT = Decimal("0.01")


def counts(pipeline: dlt.Pipeline, tables: list[str]) -> dict[str, int]:
    """Rows per raw table."""
    return {name: rows(pipeline, f"select count(*) from {name}")[0][0] for name in tables}


def messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    """The salesforce source's log lines of one level."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == level and r.name.startswith("leadloop.extract.salesforce")
    ]


def test_org_without_custom_fields_loads_without_their_columns(
    sf_env: SalesforceSimulator,
    demo_world: World,
    sf_pipeline: dlt.Pipeline,
    caplog: pytest.LogCaptureFixture,
) -> None:
    served = serve_shape(sf_env, demo_world, OrgShape(custom_fields=False))
    with caplog.at_level(logging.INFO, logger="leadloop.extract.salesforce"):
        loaded = run_salesforce(sf_pipeline)
    assert {name: loaded[name] for name in DATA_TABLES} == {
        obj.resource: len(served[obj.sobject]) for obj in settings.OBJECTS
    }
    assert not set(columns_of(sf_pipeline, "leads")) & UTM_COLUMNS
    assert "loss_reason" not in columns_of(sf_pipeline, "opportunities")
    assert not set(columns_of(sf_pipeline, "campaigns")) & UTM_COLUMNS
    assert {"id", "status", "converted_opportunity_id", "system_modstamp"} <= set(
        columns_of(sf_pipeline, "leads")
    )
    warnings = messages(caplog, logging.WARNING)
    [leads] = [m for m in warnings if m.startswith("salesforce: Lead lacks")]
    assert all(f"UTM_{part}__c" in leads for part in ("Source", "Medium", "Campaign", "Term", "Content"))
    assert any(m.startswith("salesforce: Opportunity lacks custom fields Loss_Reason__c") for m in warnings)
    # one describe per object and run, one global describe
    assert sf_env.requests_served[DESCRIBE_PATH] == len(settings.OBJECTS)
    assert sf_env.requests_served[SOBJECTS_PATH] == 1


def test_an_object_the_org_lacks_is_skipped_with_a_warning(
    sf_env: SalesforceSimulator,
    demo_world: World,
    sf_pipeline: dlt.Pipeline,
    caplog: pytest.LogCaptureFixture,
) -> None:
    shape = OrgShape(absent_objects=frozenset({"OpportunityFieldHistory", "Event"}))
    served = serve_shape(sf_env, demo_world, shape)
    with caplog.at_level(logging.INFO, logger="leadloop.extract.salesforce"):
        loaded = run_salesforce(sf_pipeline)
    assert "opportunity_field_history" not in loaded and "events" not in loaded
    assert not {"opportunity_field_history", "events"} & table_names(sf_pipeline)
    assert loaded["tasks"] == len(served["Task"]) > 0
    warnings = messages(caplog, logging.WARNING)
    assert any(
        "has no OpportunityFieldHistory" in m and "opportunity_field_history is skipped" in m
        for m in warnings
    )
    assert any("has no Event" in m for m in warnings)
    # never queried: no INVALID_TYPE answer was ever needed
    assert sf_env.rows_served["Event"] == 0


def test_empty_objects_load_as_empty_tables(
    sf_env: SalesforceSimulator, demo_world: World, sf_pipeline: dlt.Pipeline
) -> None:
    shape = OrgShape(field_history=False, campaigns=False, empty_objects=frozenset({"Task"}))
    serve_shape(sf_env, demo_world, shape)
    run_salesforce(sf_pipeline)
    empty = ["lead_history", "opportunity_field_history", "campaigns", "campaign_members", "tasks"]
    assert counts(sf_pipeline, empty) == dict.fromkeys(empty, 0)
    # the empty tables still have the org's columns, typed
    assert columns_of(sf_pipeline, "tasks")["activity_date"] == "DATE"
    assert columns_of(sf_pipeline, "lead_history")["created_date"] == "TIMESTAMP WITH TIME ZONE"
    assert rows(sf_pipeline, "select count(*) from opportunities where campaign_id is not null") == [(0,)]
    assert rows(sf_pipeline, "select count(*) from events")[0][0] > 0
    again = run_salesforce(sf_pipeline)  # the next run reads nothing new and fails nowhere
    assert sum(again.get(name, 0) for name in DATA_TABLES) == 0


def test_fields_hidden_by_field_level_security_are_left_out(
    sf_env: SalesforceSimulator,
    demo_world: World,
    sf_pipeline: dlt.Pipeline,
    caplog: pytest.LogCaptureFixture,
) -> None:
    shape = OrgShape(hidden_fields=frozenset({"Lead.Industry", "Account.NumberOfEmployees"}))
    serve_shape(sf_env, demo_world, shape)
    with caplog.at_level(logging.INFO, logger="leadloop.extract.salesforce"):
        run_salesforce(sf_pipeline, dlt_source_with("leads", "accounts"))
    assert "industry" not in columns_of(sf_pipeline, "leads")
    assert "number_of_employees" not in columns_of(sf_pipeline, "accounts")
    assert "industry" in columns_of(sf_pipeline, "accounts")
    info = messages(caplog, logging.INFO)
    assert any(m.startswith("salesforce: Lead lacks standard fields Industry") for m in info)
    assert not any("lacks" in m for m in messages(caplog, logging.WARNING))


def dlt_source_with(*resources: str) -> dlt.sources.DltSource:
    """A fresh salesforce source cut to some resources."""
    from leadloop.extract.salesforce import salesforce_source

    return salesforce_source().with_resources(*resources)


def test_multi_currency_org_keeps_each_record_currency(
    sf_env: SalesforceSimulator, demo_world: World, sf_pipeline: dlt.Pipeline, sf_demo_records: dict
) -> None:
    shape = OrgShape(multi_currency=True, currency="USD")
    serve_shape(sf_env, demo_world, shape)
    run_salesforce(sf_pipeline)
    for table in ("opportunities", "opportunity_history", "leads", "accounts", "tasks", "users"):
        assert columns_of(sf_pipeline, table)["currency_iso_code"] == "VARCHAR", table
        assert rows(sf_pipeline, f"select distinct currency_iso_code from {table}") == [("USD",)], table
    for table in ("lead_history", "opportunity_field_history", "organization"):
        assert "currency_iso_code" not in columns_of(sf_pipeline, table), table
    # amounts are the world's CNY at the shape's rate, to the cent
    rate = shape.cny_rates["USD"]
    expected = {
        r["Id"]: (Decimal(str(r["Amount"])) * rate).quantize(CENT, ROUND_HALF_UP)
        for r in sf_demo_records["Opportunity"]
    }
    assert dict(rows(sf_pipeline, "select id, amount from opportunities")) == expected


def test_single_currency_org_states_its_currency_once(
    sf_env: SalesforceSimulator, demo_world: World, sf_pipeline: dlt.Pipeline, sf_demo_records: dict
) -> None:
    shape = OrgShape(currency="EUR")
    serve_shape(sf_env, demo_world, shape)
    run_salesforce(sf_pipeline)
    assert all("currency_iso_code" not in columns_of(sf_pipeline, t) for t in DATA_TABLES)
    assert rows(sf_pipeline, "select default_currency_iso_code, time_zone_sid_key from organization") == [
        ("EUR", "Asia/Shanghai")
    ]
    rate = shape.cny_rates["EUR"]
    history = {
        r["Id"]: (Decimal(str(r["Amount"])) * rate).quantize(CENT, ROUND_HALF_UP)
        for r in sf_demo_records["OpportunityHistory"]
    }
    assert dict(rows(sf_pipeline, "select id, amount from opportunity_history")) == history
    won = [r for r in sf_demo_records["OpportunityFieldHistory"] if r["Field"] == "Amount"]
    loaded = dict(
        rows(sf_pipeline, "select id, new_value from opportunity_field_history where field = 'Amount'")
    )
    assert won and loaded == {
        r["Id"]: str(float((Decimal(str(r["NewValue"])) * rate).quantize(CENT, ROUND_HALF_UP))) for r in won
    }


def test_the_default_shape_is_the_demo_org(sf_env: SalesforceSimulator, sf_pipeline: dlt.Pipeline) -> None:
    run_salesforce(sf_pipeline, dlt_source_with("organization", "opportunities"))
    assert rows(sf_pipeline, "select id, default_currency_iso_code from organization") == [
        ("00D2t0000000LdAEAU", "CNY")
    ]
    assert "loss_reason" in columns_of(sf_pipeline, "opportunities")
    assert "currency_iso_code" not in columns_of(sf_pipeline, "opportunities")
    assert sf_env.requests_served[QUERY_ALL_PATH] == 2


@pytest.mark.parametrize(
    ("status", "code"), [(404, "NOT_FOUND"), (400, "INVALID_TYPE"), (403, "INSUFFICIENT_ACCESS")]
)
def test_an_object_whose_describe_is_refused_is_skipped(
    sf_env: SalesforceSimulator,
    sf_pipeline: dlt.Pipeline,
    caplog: pytest.LogCaptureFixture,
    status: int,
    code: str,
) -> None:
    # listed by the global describe, but its own describe is refused (no read access to the object)
    sf_env.inject(
        DESCRIBE_PATH, status, [{"message": "The requested resource does not exist", "errorCode": code}]
    )
    with caplog.at_level(logging.INFO, logger="leadloop.extract.salesforce"):
        loaded = run_salesforce(sf_pipeline, dlt_source_with("events", "organization"))
    assert "events" not in loaded and loaded["organization"] == 1
    assert any("has no Event" in m and "events is skipped" in m for m in messages(caplog, logging.WARNING))
