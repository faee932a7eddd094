"""The single Dagster entry point: raw-table, dbt and Python mart assets, the published marts, the
cockpit page and the docs site, quality checks, the nightly job, its schedule, the alert sensors, the hot-lead
alerts between nights and the sweep that fails runs whose worker process is gone.

Importing it changes nothing around it: no environment variable is set and no process started
(tests/test_layers.py). The dbt manifest it reads is prepared beforehand — by `dagster dev`
(prepare_if_dev), by the leadloop CLI, or by `leadloop prepare` in a deployment's build.
"""

import dagster as dg
from dagster_dlt import DagsterDltResource

from leadloop import settings
from leadloop.orchestration.alerts import ALERT_SENSORS, wecom_robot_resource
from leadloop.orchestration.attribution import mart_attribution_data_driven
from leadloop.orchestration.cockpit import cockpit_page_asset
from leadloop.orchestration.dbt import dbt_resource, leadloop_dbt_assets
from leadloop.orchestration.docs import docs_site_asset
from leadloop.orchestration.extract import EXTRACT_ASSETS
from leadloop.orchestration.hot_lead_sensor import hot_lead_alerts_sensor
from leadloop.orchestration.identity import identifier_observations
from leadloop.orchestration.jobs import nightly_refresh, nightly_refresh_schedule
from leadloop.orchestration.lead_score_model import lead_score_models
from leadloop.orchestration.publish import published_marts_asset
from leadloop.orchestration.quality import mart_checks
from leadloop.orchestration.run_workers import fail_runs_of_lost_workers_sensor
from leadloop.warehouse import read_table

# DuckDB allows one writer: on the embedded warehouse every step runs in one process, in order.
EXECUTOR = dg.in_process_executor if settings.warehouse_kind() == "duckdb" else dg.multiprocess_executor

defs = dg.Definitions(
    assets=[*EXTRACT_ASSETS, identifier_observations, leadloop_dbt_assets, lead_score_models, mart_attribution_data_driven,
            published_marts_asset, cockpit_page_asset, docs_site_asset],
    asset_checks=mart_checks(read_table),  # raw tables are audited inside their load step
    jobs=[nightly_refresh],
    schedules=[nightly_refresh_schedule],
    sensors=[*ALERT_SENSORS, fail_runs_of_lost_workers_sensor, hot_lead_alerts_sensor],
    resources={"dlt": DagsterDltResource(), "dbt": dbt_resource(), "wecom_robot": wecom_robot_resource()},
    executor=EXECUTOR,
)
