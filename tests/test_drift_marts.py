"""Issue 15, acceptance 2, the marts' side: after a night whose platforms all drifted, the marts still build.

On a copy of the session's demo warehouse (its raw tables and dlt state), the next night's loads of every source
run as the nightly job runs them, against the demo's simulators serving drifted records — the four kinds spread
over the six sources — and then one `dbt build` must pass with no error: every staging model, every mart and
every enforced contract holds. The night's `schema_unchanged` checks say what changed in which table, as the
WeCom alert will."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import dagster as dg
import duckdb
import pytest

from leadloop.demo.digital import business_day
from leadloop.demo.drift import dropped, new_field, number_as_text, renamed, text_as_object
from leadloop.demo.serve import running_demo_sources
from leadloop.demo.simulators.baidu_sem import REPORT_OBJECT as BAIDU_REPORT
from leadloop.demo.simulators.oceanengine import REPORT_OBJECT as OCEAN_REPORT
from leadloop.demo.simulators.sensors import EVENTS_OBJECT
from leadloop.demo.simulators.wecom import CONTACTS_OBJECT
from leadloop.orchestration.alerts import alert_text, failed_checks
from leadloop.orchestration.extract import raw_asset_keys
from leadloop.orchestration.launch import run_job
from tests.support.dbt import duckdb_environment, passed, run_dbt

pytestmark = pytest.mark.e2e

SOURCES = ("neocrm", "salesforce", "sensors", "wecom", "baidu_sem", "oceanengine")
EDITED = 20  # CRM records edited since the demo night: the incremental loads read them again
# What each raw table's schema check must say after the drifted night (Sensors' numbers as text are read as
# numbers, nothing to say).
EXPECTED_CHANGES = {
    "raw_neocrm/leads": "new field custom_item300_c",
    "raw_salesforce/leads": "industry arrived as object (kept in quarantine)",
    "raw_wecom/follow_relations": "no longer sent: oper_userid",
    "raw_baidu_sem/keyword_daily_report": "new field unit_name; no longer sent: ad_group_name",
    "raw_oceanengine/promotion_daily_report": "new field active_cnt",
}


def _edit_crm_records(simulators) -> None:
    """A few leads of each CRM are edited a second after the last change the demo night read."""
    neocrm = simulators["neocrm"].simulator
    leads = neocrm.records["lead"]
    latest = max(lead["updatedAt"] for lead in leads)
    for n in range(EDITED):
        leads[n] = {**leads[n], "updatedAt": latest + 1000}
    salesforce = simulators["salesforce"].simulator
    leads = salesforce.records["Lead"]
    latest = max(datetime.fromisoformat(lead["SystemModstamp"]) for lead in leads) + timedelta(seconds=1)
    stamp = latest.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    for n in range(EDITED):
        leads[n] = {**leads[n], "SystemModstamp": stamp}


def _plant_drift(simulators) -> None:
    """Every source drifts: new fields (销售易, Ocean Engine), a text that arrives as an object (Salesforce), numbers
    that arrive as text (Sensors), a field dropped (WeCom), a field renamed (Baidu)."""
    _edit_crm_records(simulators)
    simulators["neocrm"].simulator.set_drift("lead", new_field("customItem300__c", "展会B"))
    simulators["salesforce"].simulator.set_drift(
        "Lead", text_as_object("Industry"))  # only the edited leads are read again
    simulators["sensors"].simulator.set_drift(EVENTS_OBJECT, number_as_text("event_duration"))
    simulators["wecom"].simulator.set_drift(CONTACTS_OBJECT, dropped("follow_info.oper_userid"))
    simulators["baidu_sem"].simulator.set_drift(BAIDU_REPORT, renamed("adGroupName", "unitName"))
    simulators["oceanengine"].simulator.set_drift(OCEAN_REPORT, new_field("metrics.active_cnt", "7"))


def test_a_night_of_drift_in_every_source_loads_and_the_marts_still_build(warehouse_copy, demo_world, tmp_path):
    yesterday = (business_day(demo_world.as_of_ms) - timedelta(days=1)).isoformat()
    days = {"dagster/asset_partition_range_start": yesterday, "dagster/asset_partition_range_end": yesterday}
    with running_demo_sources(demo_world) as demo, dg.DagsterInstance.ephemeral() as instance:
        _plant_drift(demo.simulators)
        result = run_job("nightly_refresh", instance, tags=days, asset_selection=raw_asset_keys(SOURCES))
        checks = failed_checks(instance, result.run_id)
    assert result.success  # no load crashed, every blocking raw-table audit passed

    said = dict(check.split(":schema_unchanged: ", 1) for check in checks)
    assert said == EXPECTED_CHANGES, checks  # the drifted tables, and only they, each with what changed
    alert = alert_text("nightly_refresh", result.run_id, "succeeded with failed checks", [], checks)
    assert all(f"{table}:schema_unchanged: {change}" in alert for table, change in EXPECTED_CHANGES.items())

    with duckdb.connect(str(warehouse_copy), read_only=True) as con:
        extras = [json.loads(text) for (text,) in con.execute(
            "select _extra_fields_json from raw_neocrm.leads where _extra_fields_json is not null").fetchall()]
        assert len(extras) == EDITED and all(found["customItem300__c"] == "展会B" for found in extras)
        reasons = con.execute("select reason from raw_salesforce.quarantine").fetchall()
        assert len(reasons) >= EDITED and all("field Industry: expected text, got dict" in r for (r,) in reasons)
        renamed_rows = con.execute(
            "select count(*) from raw_baidu_sem.keyword_daily_report"
            " where ad_group_name is null and json_extract_string(_extra_fields_json, '$.unitName') is not null"
        ).fetchone()[0]
        assert renamed_rows > 0
        assert con.execute("select count(*) from raw_oceanengine.promotion_daily_report"
                           " where json_extract_string(_extra_fields_json, '$.active_cnt') = '7'").fetchone()[0] > 0

    build = run_dbt("build", work_dir=tmp_path, environment=duckdb_environment(warehouse_copy))
    assert passed(build) > 500  # every model, test and contract of the project, none failing
