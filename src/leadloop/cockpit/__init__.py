"""The cockpit: one self-contained HTML page of the CEO's charts, built from the metric layer.

Every number on the page is a metric (leadloop.metrics: defined once in dbt_project/models/marts/
metrics/, queried by name on the published marts), so the page and an analyst's metric query cannot
disagree; display names come from the label seeds published beside the marts. The page embeds the
metric answers as one JSON block and draws them with Apache ECharts, inlined from `vendor/` with the
page's own script, so it opens with no network. Filters (months, channel) and the Chinese / English
switch work in the browser on the embedded answers: a rate over several months or channels is its
numerator's sum over its denominator's sum, the ratio definition the block carries from the layer.
The night builds it after publishing (orchestration/cockpit.py); `leadloop cockpit` serves it.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from leadloop import metrics, settings
from leadloop.publish import PUBLICATION_SCHEMA, labels_schema, query_published

HERE = Path(__file__).resolve().parent
ECHARTS_JS = HERE / "vendor" / "echarts.min.js"
# Pinned: the file in vendor/ is Apache ECharts 6.1.0 as published (vendor/README.md says where from).
ECHARTS_VERSION = "6.1.0"
ECHARTS_SHA256 = "b66b25aeb4df84e33199dc21694014d336d222cbd9deb0e5a7c14bd6aa0d0fd0"

# The funnel's stages in order, each with its cohort count metric, its conversion from the stage before
# and its cost per stage (ratio metrics the page sums over the months and channel picked).
FUNNEL_STAGES = [
    {"stage": "lead", "count": "leads", "conversion": None, "cost": "cost_per_lead"},
    {"stage": "mql", "count": "cohort_mqls", "conversion": "lead_to_mql_rate_cohort", "cost": "cost_per_mql_cohort"},
    {"stage": "sql", "count": "cohort_sqls", "conversion": "mql_to_sql_rate_cohort", "cost": "cost_per_sql_cohort"},
    {"stage": "opportunity", "count": "cohort_opportunities", "conversion": "sql_to_opportunity_rate_cohort",
     "cost": "cost_per_opportunity_cohort"},
    {"stage": "poc", "count": "cohort_pocs", "conversion": "opportunity_to_poc_rate_cohort",
     "cost": "cost_per_poc_cohort"},
    {"stage": "won", "count": "cohort_wins", "conversion": "poc_to_won_rate_cohort", "cost": "cost_per_win_cohort"},
]
NORTH_STAR = "north_star_lead_to_opportunity_rate_cohort"
# What the page embeds: metric queries by name, (metrics, group by). Ratio metrics the page shows over
# a range come with their numerator and denominator, which it sums.
METRIC_QUERIES: dict[str, tuple[list[str], list[str]]] = {
    "months": (["won_revenue", "won_deals", "lead_won_revenue", "ad_spend", "leads", "cohort_opportunities",
                "opportunities_opened", NORTH_STAR, "lead_to_opportunity_rate_period"], ["metric_time__month"]),
    "funnel": ([*[s["count"] for s in FUNNEL_STAGES], "ad_spend", "cohort_lead_won_revenue", "cohort_lead_net_return",
                NORTH_STAR, "lead_roi_cohort"], ["metric_time__month", "funnel__channel"]),
    "revenue_by_source": (["won_revenue"], ["metric_time__month", "deal__sourced_by"]),
    "pocs": (["poc_deals"], ["metric_time__month", "poc__industry", "poc__outcome", "poc__lost_reason"]),
    "sales_cycle": (["closed_deals", "median_sales_cycle_days"],
                    ["metric_time__month", "deal__outcome", "deal__sourced_by"]),
    "content": (["content_registrations", "content_lead_won_revenue"], ["material", "material__title"]),
}
RANGE_RATIOS = [*(s[k] for s in FUNNEL_STAGES for k in ("conversion", "cost") if s[k]), NORTH_STAR, "lead_roi_cohort"]


def _label_queries() -> dict[str, str]:
    schema = labels_schema()
    return {
        "channels": ("select channel, channel_label_zh as zh, channel_label_en as en, display_order"
                     f" from {schema}.channel_labels order by display_order"),
        "stages": ("select funnel_stage, stage_label_zh as zh, stage_label_en as en, stage_order"
                   f" from {schema}.funnel_stage_labels order by stage_order"),
    }


def _json_value(value: Any) -> Any:
    """A warehouse value as JSON: amounts and rates as numbers, dates as ISO strings."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _table(columns: list[str], rows: list[tuple]) -> dict[str, list]:
    return {"columns": columns, "rows": [[_json_value(v) for v in row] for row in rows]}


def metric_sql() -> dict[str, str]:
    """The SQL the metric layer compiles for each of the page's metric queries (and nothing else
    reads the marts for the page)."""
    return {name: metrics.compile_sql(names, group_by) for name, (names, group_by) in METRIC_QUERIES.items()}


def cockpit_data() -> dict[str, Any]:
    """Everything the page shows: the published night, the display names and the metric answers,
    read in one connection, so all of it is one night's."""
    labels, answers = _label_queries(), metric_sql()
    night, *tables = query_published(f"select run_id, published_at from {PUBLICATION_SCHEMA}.night",
                                     *labels.values(), *answers.values())
    run_id, published_at = night[1][0] if night[1] else (None, None)
    ratios = metrics.ratio_definitions()
    return {
        "run_id": run_id,
        "published_at": _json_value(published_at),
        "currency": "CNY",
        "labels": {name: _table(*table) for name, table in zip(labels, tables[:len(labels)], strict=True)},
        "metrics": {name: _table(*table) for name, table in zip(answers, tables[len(labels):], strict=True)},
        "funnel_stages": FUNNEL_STAGES,
        "ratios": {name: list(ratios[name]) for name in RANGE_RATIOS},
    }


def echarts_source() -> str:
    """The vendored ECharts, after checking it is the pinned file (a changed file is refused)."""
    content = ECHARTS_JS.read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    if digest != ECHARTS_SHA256:
        raise ValueError(f"{ECHARTS_JS} has sha256 {digest}, not the pinned {ECHARTS_SHA256} of ECharts"
                         f" {ECHARTS_VERSION}: restore it, or update the pin and vendor/README.md together")
    return content.decode("utf-8")


def _inline_script(source: str) -> str:
    """Script text safe inside a <script> element (no closing tag can end it early)."""
    return source.replace("</", "<\\/")


def render_page(data: dict[str, Any]) -> str:
    """The page: template, its CSS and script, ECharts and the data, all inline."""
    template = (HERE / "page.html").read_text(encoding="utf-8")
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    replacements = {
        "/*@CSS@*/": (HERE / "page.css").read_text(encoding="utf-8"),
        "/*@ECHARTS@*/": _inline_script(echarts_source()),
        "/*@PAGE_JS@*/": _inline_script((HERE / "page.js").read_text(encoding="utf-8")),
        "@DATA@": _inline_script(payload),
        "@ECHARTS_VERSION@": ECHARTS_VERSION,
    }
    for token, text in replacements.items():
        template = template.replace(token, text, 1)
    return template


def build_cockpit(path: Path | None = None) -> Path:
    """Write the page from the metric layer; it replaces the previous one in one rename."""
    target = path or settings.cockpit_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    page = render_page(cockpit_data() | {"built_at": datetime.now(UTC).isoformat()})
    partial = target.with_name(f".{target.name}.building")
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, target)
    return target
