"""The cockpit page asset: built from the metric layer on the published marts, right after they are published."""
# No `from __future__ import annotations`: Dagster reads the `context` annotation at runtime.

import time

import dagster as dg

from leadloop import settings
from leadloop.cockpit import ECHARTS_VERSION, build_cockpit
from leadloop.orchestration.jobs import NO_RETRY
from leadloop.orchestration.publish import PUBLISHED_MARTS_KEY

COCKPIT_KEY = dg.AssetKey(["published", "cockpit"])


@dg.asset(
    key=COCKPIT_KEY,
    group_name="published",
    deps=[PUBLISHED_MARTS_KEY],  # a night that publishes nothing builds no new page either
    kinds={"html"},
    retry_policy=NO_RETRY,
    description="The CEO's cockpit: one self-contained HTML page (LEADLOOP_COCKPIT_PATH, default "
    "cockpit/index.html beside the published marts file) charting the north-star cohort rate, the funnel, "
    "revenue by source, channel ROI, POC outcomes, the sales cycle and top content, every figure a metric of the "
    "metric layer (leadloop.metrics) queried on the published marts, "
    f"with Apache ECharts {ECHARTS_VERSION} inline so it opens with no network; `leadloop cockpit` serves it.",
)
def cockpit_page_asset(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Query the metrics on the published marts and write the page."""
    started = time.monotonic()
    path = build_cockpit(settings.cockpit_path())
    seconds = round(time.monotonic() - started, 3)
    context.log.info(f"cockpit page {path} built in {seconds} s")
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(path)),
        "bytes": path.stat().st_size,
        "seconds": seconds,
    })
