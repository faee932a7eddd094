"""Acceptance (issue 5): backfilling 7 days of ad-report partitions works, in one run."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg
import duckdb
import pytest

from leadloop.demo.digital import reported_ad_day, simulate_digital

pytestmark = pytest.mark.e2e

FIRST, LAST = date(2026, 10, 1), date(2026, 10, 7)


def test_backfilling_seven_days_loads_exactly_those_days_with_their_numbers(private_warehouse, demo_world):
    from leadloop.demo.serve import running_demo_sources
    from leadloop.orchestration.definitions import defs
    from leadloop.orchestration.launch import asset_materializations, run_job

    graph = defs.resolve_asset_graph()
    ad_keys = [k for k in graph.get_all_asset_keys()
               if k.path[0] in ("raw_baidu_sem", "raw_oceanengine") and graph.get(k).is_materializable]
    days = {"dagster/asset_partition_range_start": FIRST.isoformat(),
            "dagster/asset_partition_range_end": LAST.isoformat()}
    with running_demo_sources(demo_world), dg.DagsterInstance.get() as instance:
        result = run_job("nightly_refresh", instance, tags=days, asset_selection=ad_keys)  # the CLI's way
        assert result.success
        materialized = {m.partition for m in asset_materializations(instance, result.run_id)
                        if m.asset_key == dg.AssetKey(["raw_baidu_sem", "keyword_daily_report"])}
    wanted = {(FIRST + timedelta(days=n)).isoformat() for n in range(7)}
    assert materialized == wanted  # one run, every partition of the range recorded

    digital = simulate_digital(demo_world)
    with duckdb.connect(str(private_warehouse), read_only=True) as con:
        baidu = con.execute("select date, keyword_id, cost from raw_baidu_sem.keyword_daily_report").fetchall()
        ocean = con.execute("select distinct stat_time_day from raw_oceanengine.promotion_daily_report").fetchall()
    loaded_days = {row[0] for row in baidu}
    assert wanted <= loaded_days  # the range, plus the restatement days read before it
    assert min(loaded_days) >= (FIRST - timedelta(days=6)).isoformat() and max(loaded_days) == LAST.isoformat()
    assert wanted <= {row[0] for row in ocean}
    for day_text, keyword_id, cost in baidu:
        day = date.fromisoformat(day_text)
        truth = reported_ad_day(digital.ad_days[(keyword_id, day)], day, demo_world.as_of_ms)
        assert float(cost) == pytest.approx(truth.cost, abs=0.005), (day, keyword_id)
