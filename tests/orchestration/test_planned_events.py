"""A run over a range of daily partitions records one planned event per asset, not one per day (settings.
DAGSTER_DEFAULTS): a full refresh over ~700 ad-report days wrote thousands before its first step. Every day
is still recorded as materialized, one event per day, on the SQLite storage a default install uses."""

# No `from __future__ import annotations`: Dagster reads the `context` annotation at runtime.

import dagster as dg

from leadloop import settings

DAYS = dg.DailyPartitionsDefinition(start_date="2026-01-01")


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def daily_report(context: dg.AssetExecutionContext) -> None:
    """A stand-in for an ad platform's report table: a run loads its whole range at once."""
    context.log.info(f"{len(context.partition_keys)} days")


def test_a_range_run_plans_once_and_records_every_day(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    settings.apply_environment()
    job = dg.define_asset_job("range_job", selection=[daily_report], partitions_def=DAYS)
    definitions = dg.Definitions(assets=[daily_report], jobs=[job])
    tags = {"dagster/asset_partition_range_start": "2026-01-01", "dagster/asset_partition_range_end": "2026-01-30"}
    with dg.DagsterInstance.local_temp(str(tmp_path)) as instance:
        result = definitions.get_job_def("range_job").execute_in_process(instance=instance, tags=tags)
        assert result.success
        planned = instance.get_records_for_run(
            result.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED).records
        materialized = instance.get_materialized_partitions(daily_report.key)
    assert len(planned) == 1
    assert materialized == {f"2026-01-{day:02d}" for day in range(1, 31)}
