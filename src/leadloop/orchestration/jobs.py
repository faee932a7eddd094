"""Jobs and schedules: the nightly refresh of the whole warehouse."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from leadloop.extract.registry import SOURCES, active_sources

NIGHTLY_CRON = "0 2 * * *"
NIGHTLY_TIMEZONE = "Asia/Shanghai"

# Source loads retry with exponential backoff (an API outage at 02:00 rarely lasts); dbt and the
# quality checks opt out with their own no-retry policy, since running them again changes nothing.
SOURCE_RETRY_POLICY = dg.RetryPolicy(max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL,
                                     jitter=dg.Jitter.PLUS_MINUS)
NO_RETRY = dg.RetryPolicy(max_retries=0)
# Ad reports by China-time day; a day is complete once it is over (no partition for today). The
# nightly job is partitioned by it even when no ad platform is configured, so its schedule and
# backfills read the same whatever a team has.
AD_REPORT_DAYS = dg.DailyPartitionsDefinition(start_date="2025-01-01", timezone=NIGHTLY_TIMEZONE)



def night_selection(active_sources: Sequence[str]) -> dg.AssetSelection:
    """Everything but the raw tables of sources this installation does not use."""
    off = [f"raw_{source.name}" for source in SOURCES if source.name not in active_sources]
    return dg.AssetSelection.all() - dg.AssetSelection.groups(*off) if off else dg.AssetSelection.all()


# The sources configured when the definitions load (a code location reload picks up new settings).
NIGHT_SOURCES = active_sources()

nightly_refresh = dg.define_asset_job(
    name="nightly_refresh",
    selection=night_selection(NIGHT_SOURCES),
    description="Pull every configured source, then build and test every dbt model and seed. Sources that "
    "are not configured are left out (their staging models build empty).",
    op_retry_policy=SOURCE_RETRY_POLICY,
    partitions_def=AD_REPORT_DAYS,
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
