"""Freshness of the raw tables: the nightly load must have landed by 04:00 China time."""

from datetime import timedelta

import dagster as dg

from leadloop.orchestration.jobs import NIGHTLY_TIMEZONE

# The night starts at 02:00; at 04:00 a raw table without a load since 01:30 is overdue.
RAW_TABLE_FRESHNESS = dg.FreshnessPolicy.cron(
    deadline_cron="0 4 * * *",
    lower_bound_delta=timedelta(hours=2, minutes=30),
    timezone=NIGHTLY_TIMEZONE,
)
