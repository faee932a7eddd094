"""The single Dagster entry point: extract assets, dbt assets, the nightly job and its schedule."""

from __future__ import annotations

import dagster as dg
from dagster_dlt import DagsterDltResource

from leadloop import settings

settings.apply_environment()

from orchestration.dbt import dbt_resource, leadloop_dbt_assets
from orchestration.extract import EXTRACT_ASSETS
from orchestration.jobs import nightly_refresh, nightly_refresh_schedule

defs = dg.Definitions(
    assets=[*EXTRACT_ASSETS, leadloop_dbt_assets],
    jobs=[nightly_refresh],
    schedules=[nightly_refresh_schedule],
    resources={"dlt": DagsterDltResource(), "dbt": dbt_resource()},
)
