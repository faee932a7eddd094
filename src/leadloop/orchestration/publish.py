"""The published marts asset: the night's last step, after every mart and its blocking checks."""
# No `from __future__ import annotations`: Dagster reads the `context` annotation at runtime.

import dagster as dg

from leadloop import settings
from leadloop.orchestration.attribution import DATA_DRIVEN_KEY
from leadloop.orchestration.dbt import leadloop_dbt_assets
from leadloop.orchestration.jobs import NO_RETRY
from leadloop.orchestration.lead_score_model import CALIBRATION_KEY, QUALITY_KEY, SCORES_KEY
from leadloop.publish import publish_marts

PUBLISHED_MARTS_KEY = dg.AssetKey(["published", "marts"])
# Downstream of every mart, so a failed blocking check on any of them (dbt tests of error severity,
# the marts' GX suites, the Python marts' own checks) or a failed step skips publishing: readers keep
# yesterday's night. Python assets that write into schema marts are listed here beside dbt's.
PYTHON_MART_KEYS = [DATA_DRIVEN_KEY, SCORES_KEY, QUALITY_KEY, CALIBRATION_KEY]
MART_KEYS = sorted([*(key for key in leadloop_dbt_assets.keys if key.path[0] == "marts"), *PYTHON_MART_KEYS],
                   key=lambda key: key.to_user_string())


@dg.asset(
    key=PUBLISHED_MARTS_KEY,
    group_name="published",
    deps=MART_KEYS,
    kinds={settings.warehouse_kind()},
    retry_policy=NO_RETRY,
    description="The marts BI tools and analysts read, swapped in whole when every blocking check has "
    "passed: on DuckDB a copy of tonight's marts in their own file (LEADLOOP_PUBLISHED_PATH, default "
    "warehouse/leadloop_marts.duckdb) that readers open read-only, never locking the night's file; on "
    "PostgreSQL schema `marts`, replaced by a copy of the build schema in one transaction.",
)
def published_marts_asset(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Copy the marts into a new file (schema) and swap it in for the published one."""
    publication = publish_marts(context.run_id)
    context.log.info(f"published {len(publication.rows)} marts of run {context.run_id} to {publication.path}")
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(publication.path)),
        "marts": len(publication.rows),
        "rows": sum(publication.rows.values()),
        "rows_by_mart": publication.rows,
    })

