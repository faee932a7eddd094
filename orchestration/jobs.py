"""Jobs and schedules: the nightly refresh of the whole warehouse."""

from __future__ import annotations

import dagster as dg

NIGHTLY_CRON = "0 2 * * *"
NIGHTLY_TIMEZONE = "Asia/Shanghai"

# Source loads retry with exponential backoff (an API outage at 02:00 rarely lasts); dbt and the
# quality checks opt out with their own no-retry policy, since running them again changes nothing.
SOURCE_RETRY_POLICY = dg.RetryPolicy(max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL,
                                     jitter=dg.Jitter.PLUS_MINUS)
NO_RETRY = dg.RetryPolicy(max_retries=0)

nightly_refresh = dg.define_asset_job(
    name="nightly_refresh",
    selection=dg.AssetSelection.all(),
    description="Pull every source, then build and test every dbt model and seed.",
    op_retry_policy=SOURCE_RETRY_POLICY,
)

# The job is partitioned by the ad reports' China-time day: each night runs yesterday's partition.
nightly_refresh_schedule = dg.build_schedule_from_partitioned_job(
    nightly_refresh,
    name="nightly_refresh_schedule",
    hour_of_day=2,
    minute_of_hour=0,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every night at 02:00 China time (yesterday's ad-report day), before the CMO's morning read.",
)
