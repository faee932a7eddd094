"""Issue 14 (the cockpit): the page the session's demo night built holds, in its one JSON block, the
published marts' numbers and nothing else; a few of them equal the demo company's truth; ECharts is
the pinned file, inline, and the page asks for nothing over the network."""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from decimal import Decimal

import dagster as dg
import duckdb
import pytest

from leadloop import settings
from leadloop.cockpit import ECHARTS_JS, ECHARTS_SHA256, ECHARTS_VERSION, MART_QUERIES, cockpit_data

DATA_BLOCK = re.compile(r'<script type="application/json" id="cockpit-data">(.*?)</script>', re.DOTALL)
VENDOR_README = ECHARTS_JS.parent / "README.md"


def embedded_data(page: str) -> dict:
    """The page's JSON block, as the page's own script reads it."""
    blocks = DATA_BLOCK.findall(page)
    assert len(blocks) == 1
    return json.loads(blocks[0])


def _published(sql: str) -> list[dict]:
    with duckdb.connect(str(settings.published_marts_path()), read_only=True) as con:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def _rows(data: dict, group: str, name: str) -> list[dict]:
    table = data[group][name]
    return [dict(zip(table["columns"], row)) for row in table["rows"]]


def _json(value):
    if isinstance(value, Decimal):
        return float(value)
    return value.isoformat() if hasattr(value, "isoformat") else value


@pytest.fixture(scope="module")
def page(demo_night) -> str:
    """The page the session's demo night wrote (its cockpit asset ran after publishing)."""
    return settings.cockpit_path().read_text(encoding="utf-8")


def test_the_vendored_echarts_is_the_pinned_release():
    """The file is the one vendor/README.md names (version and sha256), and building checks it too."""
    digest = hashlib.sha256(ECHARTS_JS.read_bytes()).hexdigest()
    assert digest == ECHARTS_SHA256
    readme = VENDOR_README.read_text(encoding="utf-8")
    assert f"`{ECHARTS_SHA256}`" in readme and f"| version | {ECHARTS_VERSION} |" in readme
    assert f"echarts-{ECHARTS_VERSION}.tgz" in readme and "Apache-2.0" in readme
    assert (ECHARTS_JS.parent / "echarts-LICENSE").read_text().lstrip().startswith("Apache License")


def test_the_night_built_the_page_after_publishing(demo_night_run, night_instance, page):
    """The page holds the night whose marts the session's warehouse publishes now (the session's night,
    or its rerun), and that night built it after publishing. Other tests' nights in the same Dagster
    instance write other warehouses, so the run is the one the published file names."""
    from leadloop.publish import read_published_night

    run_id = read_published_night().run_id
    assert embedded_data(page)["run_id"] == run_id
    events = {record.asset_materialization.asset_key: record for record in night_instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
        if record.asset_materialization and record.asset_materialization.asset_key.path[0] == "published"}
    cockpit, published = events[dg.AssetKey(["published", "cockpit"])], events[dg.AssetKey(["published", "marts"])]
    assert published.timestamp <= cockpit.timestamp
    metadata = cockpit.asset_materialization.metadata
    assert metadata["path"].value == str(settings.cockpit_path())
    assert metadata["seconds"].value < 2.0, "the cockpit runs in every demo night: keep it cheap"


def test_the_embedded_data_is_the_published_marts(page):
    data = embedded_data(page)
    assert {k: v for k, v in data.items() if k != "built_at"} == cockpit_data()
    # Every mart but mart_funnel whole, row for row, as the published file holds it.
    for name in MART_QUERIES.keys() - {"mart_funnel"}:
        columns = data["marts"][name]["columns"]
        expected = [[_json(row[c]) for c in columns] for row in _published(MART_QUERIES[name])]
        assert data["marts"][name]["rows"] == expected, name
    assert _rows(data, "marts", "mart_exec_cockpit")[0].keys() >= {
        "report_month", "lead_to_opportunity_cohort_rate", "won_revenue", "lead_won_revenue"}
    # mart_funnel summed to month x channel keeps every total of the mart.
    funnel = _rows(data, "marts", "mart_funnel")
    totals = _published("select sum(leads) as leads, sum(opportunities) as opportunities, sum(wins) as wins,"
                        " sum(spend) as spend, sum(lead_won_revenue) as lead_won_revenue from marts.mart_funnel")[0]
    for column, total in totals.items():
        assert sum(Decimal(str(r[column])) for r in funnel) == total, column
    channels = {r["channel"] for r in _published("select distinct channel from marts.mart_funnel")}
    assert {r["channel"] for r in funnel} == channels
    # Display names come from the seeds published beside the marts, and cover every channel shown.
    labels = {r["channel"]: r for r in _rows(data, "labels", "channels")}
    assert channels <= labels.keys()
    assert labels["paid_search"]["zh"] == "付费搜索" and labels["paid_search"]["en"] == "Paid search"
    stages = [r["funnel_stage"] for r in _rows(data, "labels", "stages")]
    assert stages[:6] == ["lead", "mql", "sql", "opportunity", "poc", "won"]


def test_the_page_figures_equal_the_demo_truth(page, demo_world):
    from leadloop.demo.truth import opportunity_truth
    from tests.support import crm_truth

    data = embedded_data(page)
    truth = opportunity_truth(demo_world)
    won = [opp for opp in truth if opp["won_at_ms"] is not None]
    exec_rows = _rows(data, "marts", "mart_exec_cockpit")
    assert Decimal(str(sum(Decimal(str(r["won_revenue"])) for r in exec_rows))) == sum(
        crm_truth.money(opp["won_amount"]) for opp in won)
    assert sum(r["won_deals"] for r in exec_rows) == len(won)

    by_source: dict[str, Decimal] = defaultdict(Decimal)
    for (_, sourced_by, _), row in crm_truth.revenue_by_source(truth).items():
        by_source[sourced_by] += row["won_revenue"]
    shown: dict[str, Decimal] = defaultdict(Decimal)
    for row in _rows(data, "marts", "mart_revenue_by_source"):
        shown[row["sourced_by"]] += Decimal(str(row["won_revenue"]))
    assert shown == by_source
    assert set(shown) <= {"marketing", "sales", "executive", "partner"}

    pocs: dict[str, int] = defaultdict(int)
    for (_, _, outcome, _), row in crm_truth.poc_analysis(truth).items():
        pocs[outcome] += row["poc_deals"]
    page_pocs: dict[str, int] = defaultdict(int)
    for row in _rows(data, "marts", "mart_poc_analysis"):
        page_pocs[row["poc_outcome"]] += row["poc_deals"]
    assert page_pocs == pocs


def test_the_page_is_self_contained(page):
    """Every script and style inline; nothing the browser would fetch (the UI test proves it live)."""
    assert not re.search(r"<script[^>]*\bsrc=", page)
    assert not re.search(r"<link\b", page)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "default-src 'none'" in page  # the page's own policy forbids any fetch
    assert f"Apache ECharts {ECHARTS_VERSION}" in page
    assert ECHARTS_JS.read_text(encoding="utf-8")[:2000] in page
