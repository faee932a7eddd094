"""The cockpit: one self-contained HTML page of the CEO's charts, built from the published marts.

Every number on the page comes from `cockpit_data()`, which reads the published marts (what BI
reads, one whole night) and nothing else; the page embeds that data as one JSON block and draws it
with Apache ECharts, inlined from `vendor/` with the page's own script, so it opens with no network.
Filters (months, channel) and the Chinese / English switch work in the browser on the embedded data.
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

from leadloop import settings
from leadloop.publish import MARTS_SCHEMA, PUBLICATION_SCHEMA, labels_schema, query_published

HERE = Path(__file__).resolve().parent
ECHARTS_JS = HERE / "vendor" / "echarts.min.js"
# Pinned: the file in vendor/ is Apache ECharts 6.1.0 as published (vendor/README.md says where from).
ECHARTS_VERSION = "6.1.0"
ECHARTS_SHA256 = "b66b25aeb4df84e33199dc21694014d336d222cbd9deb0e5a7c14bd6aa0d0fd0"

# What the page embeds, mart by mart: the query and why it has that shape. mart_funnel's grain
# (month x channel x campaign x keyword x region x industry) is summed to month x channel, the
# grain the page filters on; its rates are recomputed from the sums. Every other mart is embedded whole.
MART_QUERIES: dict[str, str] = {
    "mart_exec_cockpit": f"select * from {MARTS_SCHEMA}.mart_exec_cockpit order by report_month",
    "mart_funnel": (
        "select lead_cohort_month, channel, sum(leads) as leads, sum(mqls) as mqls, sum(sqls) as sqls,"
        " sum(opportunities) as opportunities, sum(pocs) as pocs, sum(wins) as wins, sum(losses) as losses,"
        " sum(spend) as spend, sum(lead_won_revenue) as lead_won_revenue"
        f" from {MARTS_SCHEMA}.mart_funnel group by lead_cohort_month, channel order by lead_cohort_month, channel"),
    "mart_revenue_by_source": (
        "select won_month, sourced_by, deal_type, won_deals, won_revenue, marketing_influenced_deals"
        f" from {MARTS_SCHEMA}.mart_revenue_by_source order by won_month, sourced_by, deal_type"),
    "mart_channel_roi": (
        "select report_month, channel, spend, leads, mqls, opportunities, wins, lead_won_revenue"
        f" from {MARTS_SCHEMA}.mart_channel_roi order by report_month, channel"),
    "mart_poc_analysis": (
        "select poc_started_month, industry, poc_outcome, lost_reason, poc_deals, poc_deals_ended,"
        f" median_poc_days, won_revenue from {MARTS_SCHEMA}.mart_poc_analysis"
        " order by poc_started_month, industry, poc_outcome, lost_reason"),
    "mart_sales_cycle": (
        "select closed_month, outcome, sourced_by, deals, median_days_to_close, min_days_to_close,"
        f" max_days_to_close from {MARTS_SCHEMA}.mart_sales_cycle order by closed_month, outcome, sourced_by"),
    "mart_content_performance": (
        "select material_id, title, content_type, author, department, published_on, reads, readers,"
        " registrations, mqls, sqls, opportunities, wins, lead_won_revenue"
        f" from {MARTS_SCHEMA}.mart_content_performance order by lead_won_revenue desc, material_id"),
}


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


def cockpit_data() -> dict[str, Any]:
    """Everything the page shows: the published night, the display names and the marts' rows, read
    in one connection, so all of it is one night's."""
    labels, marts = _label_queries(), MART_QUERIES
    night, *tables = query_published(f"select run_id, published_at from {PUBLICATION_SCHEMA}.night",
                                     *labels.values(), *marts.values())
    run_id, published_at = night[1][0] if night[1] else (None, None)
    return {
        "run_id": run_id,
        "published_at": _json_value(published_at),
        "currency": "CNY",
        "labels": {name: _table(*table) for name, table in zip(labels, tables[:len(labels)], strict=True)},
        "marts": {name: _table(*table) for name, table in zip(marts, tables[len(labels):], strict=True)},
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
    """Write the page from the published marts; it replaces the previous one in one rename."""
    target = path or settings.cockpit_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    page = render_page(cockpit_data() | {"built_at": datetime.now(UTC).isoformat()})
    partial = target.with_name(f".{target.name}.building")
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, target)
    return target
