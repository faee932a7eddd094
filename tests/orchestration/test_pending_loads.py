"""A night after a crash: packages an interrupted load left pending are loaded first, and the night
still extracts its own data (dlt's run() alone would load the old packages and skip the new data)."""

from __future__ import annotations

import dagster as dg
import dlt
import duckdb
import pytest
from dagster_dlt import DagsterDltResource

pytestmark = pytest.mark.integration


def test_a_load_left_pending_is_finished_and_the_source_still_extracts(demo_world, monkeypatch, private_warehouse):
    from leadloop.demo.serve import running_demo_sources
    from leadloop.orchestration.extract import EXTRACT_ASSETS
    from leadloop.warehouse import dlt_pipeline

    wecom = next(a for a in EXTRACT_ASSETS if any(k.path[0] == "raw_wecom" for k in a.keys))
    with running_demo_sources(demo_world, ["wecom"]), dg.DagsterInstance.ephemeral() as instance:
        # What a night killed between extract and load leaves behind: a normalized, unloaded package.
        crashed = dlt_pipeline("wecom")
        crashed.extract(dlt.resource([{"probe_id": 1}, {"probe_id": 2}], name="left_pending",
                                     primary_key="probe_id"))
        crashed.normalize()
        assert crashed.has_pending_data

        result = dg.materialize([wecom], resources={"dlt": DagsterDltResource()}, instance=instance)
        warnings = [e.message for e in instance.all_logs(result.run_id) if "interrupted run" in e.message]

    assert result.success
    with duckdb.connect(str(private_warehouse), read_only=True) as con:
        tables = {t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw_wecom'").fetchall()}
        assert "external_contacts" in tables, "tonight's data was not extracted"
        assert con.execute("select count(*) from raw_wecom.external_contacts").fetchone()[0] > 0
        assert con.execute("select count(*) from raw_wecom.left_pending").fetchone()[0] == 2
    assert not dlt_pipeline("wecom").has_pending_data
    assert len(warnings) == 1 and "wecom: loaded 1 package(s)" in warnings[0]
