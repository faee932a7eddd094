"""Issue 14 (the cockpit): the page the session's demo night built holds, in its one JSON block, the
metric layer's answers on the published marts and nothing else (it reads only metrics); a few of them
equal the demo company's truth; ECharts is the pinned file, inline, and the page asks for nothing over
the network."""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from leadloop import metrics, settings
from leadloop.cockpit import ECHARTS_JS, ECHARTS_SHA256, ECHARTS_VERSION, METRIC_QUERIES, cockpit_data
from leadloop.publish import query_published

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
    # the session's night may have been built by the other test worker, in its own folder
    assert Path(metadata["path"].value).parts[-3:] == settings.cockpit_path().parts[-3:]
    # Importing MetricFlow (≈1.5 s idle, ≈3 s on a busy machine) is most of it; the page itself ≈0.5 s.
    assert metadata["seconds"].value < 8.0, f"the cockpit runs in every night: keep it cheap ({metadata['seconds'].value} s)"


def test_the_embedded_data_is_the_metric_layers_answers(page):
    data = embedded_data(page)
    assert {k: v for k, v in data.items() if k != "built_at"} == cockpit_data()
    # Every embedded table is a metric query's answer, as an analyst's `metrics.query` returns it.
    assert data["metrics"].keys() == METRIC_QUERIES.keys()
    for name, (names, group_by) in METRIC_QUERIES.items():
        answer = metrics.query(names, group_by)
        assert data["metrics"][name] == {"columns": answer.columns,
                                         "rows": [[_json(v) for v in row] for row in answer.rows]}, name
        assert answer.rows, name
    # The ratios the page sums over a range are the layer's definitions.
    definitions = metrics.ratio_definitions()
    assert data["ratios"] == {name: list(definitions[name]) for name in data["ratios"]}
    assert {s["conversion"] for s in data["funnel_stages"][1:]} | {s["cost"] for s in data["funnel_stages"]} <= set(
        data["ratios"])
    # The funnel by month x channel keeps every total of the mart it is measured on.
    funnel = _rows(data, "metrics", "funnel")
    totals = _published("select sum(leads) as leads, sum(opportunities) as cohort_opportunities, sum(wins) as"
                        " cohort_wins, sum(spend) as ad_spend, sum(lead_won_revenue) as cohort_lead_won_revenue"
                        " from marts.mart_funnel")[0]
    for column, total in totals.items():
        assert sum(Decimal(str(r[column])) for r in funnel) == total, column
    channels = {r["channel"] for r in _published("select distinct channel from marts.mart_funnel")}
    assert {r["funnel__channel"] for r in funnel} == channels
    # Display names come from the seeds published beside the marts, and cover every channel shown.
    labels = {r["channel"]: r for r in _rows(data, "labels", "channels")}
    assert channels <= labels.keys()
    assert labels["paid_search"]["zh"] == "付费搜索" and labels["paid_search"]["en"] == "Paid search"
    stages = [r["funnel_stage"] for r in _rows(data, "labels", "stages")]
    assert stages[:6] == ["lead", "mql", "sql", "opportunity", "poc", "won"]


def test_the_cockpit_reads_only_metrics(demo_night, monkeypatch):
    """Every query the page's data runs on the published marts is SQL the metric layer compiled for a
    metric query; the rest read only the night's record and the display names. Neither the builder
    nor the page's script names a mart table."""
    from leadloop import cockpit

    run: list[str] = []

    def recording(*statements: str):
        run.extend(statements)
        return query_published(*statements)

    monkeypatch.setattr(cockpit, "query_published", recording)
    cockpit.cockpit_data()
    compiled = [metrics.compile_sql(names, group_by) for names, group_by in METRIC_QUERIES.values()]
    others = [sql for sql in run if sql not in compiled]
    assert run[-len(compiled):] == compiled
    assert len(others) == 3 and all(re.search(r"\bfrom (publication|labels)\.", sql) for sql in others)
    assert not any("marts" in sql for sql in others)
    sources = [Path(cockpit.__file__).read_text(encoding="utf-8"),
               (Path(cockpit.__file__).parent / "page.js").read_text(encoding="utf-8")]
    for source in sources:
        assert not re.search(r"\bmarts\.[a-z]|\b(mart|fct|dim)_[a-z_]+", source)


def test_the_page_figures_equal_the_demo_truth(page, demo_world):
    from leadloop.demo.truth import opportunity_truth
    from tests.support import crm_truth

    data = embedded_data(page)
    truth = opportunity_truth(demo_world)
    won = [opp for opp in truth if opp["won_at_ms"] is not None]
    months = _rows(data, "metrics", "months")
    assert Decimal(str(sum(Decimal(str(r["won_revenue"])) for r in months))) == sum(
        crm_truth.money(opp["won_amount"]) for opp in won)
    assert sum(r["won_deals"] for r in months) == len(won)

    by_source: dict[str, Decimal] = defaultdict(Decimal)
    for (_, sourced_by, _), row in crm_truth.revenue_by_source(truth).items():
        by_source[sourced_by] += row["won_revenue"]
    shown: dict[str, Decimal] = defaultdict(Decimal)
    for row in _rows(data, "metrics", "revenue_by_source"):
        if row["won_revenue"]:
            shown[row["deal__sourced_by"]] += Decimal(str(row["won_revenue"]))
    assert shown == by_source
    assert set(shown) <= {"marketing", "sales", "executive", "partner"}

    pocs: dict[str, int] = defaultdict(int)
    for (_, _, outcome, _), row in crm_truth.poc_analysis(truth).items():
        pocs[outcome] += row["poc_deals"]
    page_pocs: dict[str, int] = defaultdict(int)
    for row in _rows(data, "metrics", "pocs"):
        page_pocs[row["poc__outcome"]] += row["poc_deals"]
    assert page_pocs == pocs


def test_the_page_is_self_contained(page):
    """Every script and style inline; nothing the browser would fetch (the UI test proves it live)."""
    assert not re.search(r"<script[^>]*\bsrc=", page)
    assert not re.search(r"<link\b", page)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "default-src 'none'" in page  # the page's own policy forbids any fetch
    assert f"Apache ECharts {ECHARTS_VERSION}" in page
    assert ECHARTS_JS.read_text(encoding="utf-8")[:2000] in page
