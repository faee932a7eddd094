"""Acceptance 2 of issue 14: the cockpit page, served by `leadloop cockpit` (the real console script)
from the session's demo night, in a real headless Chromium with every request beyond 127.0.0.1
aborted: no request leaves, every chart draws, the numbers the page shows equal the published marts,
the filters work on the embedded data and the English switch changes the labels. (The page reads
the metric layer; this test reads the marts with its own SQL, so both must agree.) Screenshots go to
test-artifacts/ (LEADLOOP_TEST_ARTIFACTS)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from decimal import Decimal
from urllib.parse import urlsplit

import duckdb
import pytest

from leadloop import settings
from tests.ui.test_dagster_ui import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, LEADLOOP, _free_port, _wait_for

pytestmark = pytest.mark.e2e

CHART_IDS = ["chart-north-star", "chart-funnel", "chart-stage-cost", "chart-revenue-source", "chart-channel-roi",
             "chart-poc", "chart-poc-loss", "chart-sales-cycle", "chart-content"]
LOCAL_HOSTS = {"127.0.0.1"}


def _published(sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.published_marts_path()), read_only=True) as con:
        return con.execute(sql).fetchall()


def _number(sql: str) -> float:
    return float(_published(sql)[0][0] or 0)


@pytest.fixture(scope="module")
def cockpit_url(demo_night, tmp_path_factory) -> Iterator[str]:
    """`leadloop cockpit --port <free port>` serving the page the session's night built."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium (scripts/test.sh does)")
    port = _free_port()
    log_path = tmp_path_factory.mktemp("cockpit") / "leadloop-cockpit.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([str(LEADLOOP), "cockpit", "--port", str(port)], cwd=settings.PROJECT_ROOT,
                                   env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}/"
            _wait_for(url, 30)
            yield url
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                assert process.wait(timeout=10) == 0, log_path.read_text()
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def test_the_cockpit_renders_offline_and_shows_the_marts(cockpit_url, browser):
    started = time.monotonic()
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    requested, left = [], []

    def only_local(route) -> None:
        url = route.request.url
        requested.append(url)
        if urlsplit(url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            left.append(url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(cockpit_url)
        page.wait_for_selector("body[data-ready=true]", timeout=15_000)
        assert errors == []
        assert left == [], f"requests beyond 127.0.0.1: {left}"
        # The page needs nothing but itself (Chromium may ask for a favicon on its own).
        assert [url for url in requested if not url.endswith("/favicon.ico")] == [cockpit_url]

        # Every chart drew on a canvas of real size.
        for chart_id in CHART_IDS:
            box = page.locator(f"#{chart_id} canvas").first.bounding_box()
            assert box is not None and box["width"] > 200 and box["height"] > 200, chart_id
        assert page.locator("h1").inner_text() == "leadloop 经营驾驶舱"
        page.screenshot(path=str(ARTIFACTS / "cockpit_zh.png"), full_page=True)

        # What the page shows (all months, all channels) is what the published marts say.
        shown = page.evaluate("window.cockpit.shown")
        kpis = shown["kpis"]
        for column in ("won_revenue", "won_deals", "lead_won_revenue", "spend", "leads"):
            assert kpis[column] == pytest.approx(_number(f"select sum({column}) from marts.mart_exec_cockpit")), column
        assert Decimal(str(kpis["won_revenue"])) == Decimal(str(_number(
            "select sum(won_revenue) from marts.mart_revenue_by_source")))
        latest = _published("select lead_to_opportunity_cohort_rate from marts.mart_exec_cockpit where leads > 0"
                            " order by report_month desc limit 1")[0][0]
        # Rates: the marts store 4 decimals, the metric layer computes them unrounded.
        assert kpis["north_star"] == pytest.approx(float(latest), abs=5e-5)
        cohort = dict(_published("select strftime(report_month, '%Y-%m'), lead_to_opportunity_cohort_rate"
                                 " from marts.mart_exec_cockpit"))
        north_star = shown["north_star"]
        assert north_star["cohort_rate"] == pytest.approx([None if cohort[m] is None else float(cohort[m])
                                                           for m in north_star["months"]], abs=5e-5)
        stage_sums = _published("select sum(leads), sum(mqls), sum(sqls), sum(opportunities), sum(pocs), sum(wins),"
                                " sum(spend) from marts.mart_funnel")[0]
        assert [s["count"] for s in shown["funnel"]] == list(stage_sums[:6])
        assert shown["funnel_spend"] == pytest.approx(float(stage_sums[6]))
        by_source = dict(_published("select sourced_by, sum(won_revenue) from marts.mart_revenue_by_source"
                                    " group by sourced_by"))
        assert {k: v for k, v in shown["revenue_by_source"].items() if v} == pytest.approx(
            {k: float(v) for k, v in by_source.items()})
        pocs = dict(_published("select poc_outcome, sum(poc_deals) from marts.mart_poc_analysis group by 1"))
        assert {k: v for k, v in shown["poc"].items() if v} == pocs
        # The chart draws those numbers: the funnel chart's own data.
        funnel_values = page.evaluate("window.cockpit.charts['chart-funnel'].getOption().series[0].data"
                                      ".map(d => d.value)")
        assert funnel_values == list(stage_sums[:6])

        # The channel filter and the month range work on the embedded data.
        page.select_option("#channel", "paid_search")
        shown = page.evaluate("window.cockpit.shown")
        paid = _published("select sum(leads), sum(wins) from marts.mart_funnel where channel = 'paid_search'")[0]
        assert (shown["funnel"][0]["count"], shown["funnel"][5]["count"]) == paid
        assert [row["channel"] for row in shown["channel_roi"]] == ["paid_search"]
        months = page.evaluate("window.cockpit.state")
        first = _published("select strftime(min(report_month), '%Y-%m') from marts.mart_exec_cockpit"
                           " where won_deals > 0")[0][0]
        page.select_option("#month-from", first)
        page.select_option("#month-to", first)
        shown = page.evaluate("window.cockpit.shown")
        assert shown["from"] == shown["to"] == first and months["channel"] == "paid_search"
        assert shown["kpis"]["won_deals"] == _number(
            f"select won_deals from marts.mart_exec_cockpit where strftime(report_month, '%Y-%m') = '{first}'")
        page.screenshot(path=str(ARTIFACTS / "cockpit_filtered.png"), full_page=True)
        page.select_option("#channel", "")
        page.select_option("#month-from", north_star["months"][0])
        page.select_option("#month-to", north_star["months"][-1])

        # The English switch: labels from the seeds' English names, the page's own text too.
        stage_en = [row[0] for row in _published(
            "select stage_label_en from labels.funnel_stage_labels order by stage_order limit 6")]
        stage_zh = [row[0] for row in _published(
            "select stage_label_zh from labels.funnel_stage_labels order by stage_order limit 6")]
        names = "window.cockpit.charts['chart-funnel'].getOption().series[0].data.map(d => d.name)"
        assert page.evaluate(names) == stage_zh
        page.click("#lang")
        assert page.evaluate(names) == stage_en
        assert page.locator("h1").inner_text() == "leadloop cockpit"
        assert page.evaluate("document.documentElement.lang") == "en"
        paid_en = _published("select channel_label_en from labels.channel_labels where channel = 'paid_search'")[0][0]
        assert paid_en in page.locator("#channel").inner_text()
        assert "cohort rate" in page.locator("#chart-north-star").locator("..").inner_text()
        page.screenshot(path=str(ARTIFACTS / "cockpit_en.png"), full_page=True)
        assert left == [] and errors == []
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "cockpit_failure.png"), full_page=True)
        raise
    finally:
        context.close()
    assert time.monotonic() - started < 20
