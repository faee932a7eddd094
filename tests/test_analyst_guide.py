"""Issue 14 (for analysts and BI), acceptance 5: README's analyst guide, tried as a new user would,
answers each of its ten questions with the query it shows — every metric query runs as printed
(`leadloop metrics query …`, the metric layer) and every SQL query as printed against the session's
demo night's published marts (read-only), each returns rows, and several answers equal the demo
company's ground truth. The night's docs site is one page that opens offline and describes every
mart, and the cockpit exposure names every metric the cockpit reads."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import shlex
import statistics
import tomllib
from collections import Counter, defaultdict
from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import pytest

from leadloop import settings
from leadloop.cockpit import METRIC_QUERIES, RANGE_RATIOS
from leadloop.demo.model import BUSINESS_TZ
from leadloop.demo.truth import journeys_truth, opportunity_truth
from leadloop.orchestration.docs import remote_references
from tests.support import crm_truth

README = (settings.PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
GUIDE = README.split("## Analyst guide", 1)[1].split("\n## ", 1)[0]
QUESTION = re.compile(r"^### (\d+)\. (.+?)\n(.*?)```(sql|shell)\n(.*?)```", re.MULTILINE | re.DOTALL)
METRIC_COMMAND = ".venv/bin/leadloop metrics query "


def guide_queries() -> dict[int, str]:
    """Question number → the SQL the guide shows for it (questions answered in SQL)."""
    return {int(number): text for number, _, _, kind, text in QUESTION.findall(GUIDE) if kind == "sql"}


def guide_metric_queries() -> dict[int, list[str]]:
    """Question number → the arguments of the `leadloop metrics query` command the guide shows for it."""
    return {int(number): shlex.split(text.replace("\\\n", " "))[1:] for number, _, _, kind, text in
            QUESTION.findall(GUIDE) if kind == "shell"}


def metric_query_parts(arguments: list[str]) -> tuple[list[str], list[str], list[str]]:
    """A guide command's metrics, group-bys and filters (as the CLI reads them)."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("metrics", nargs="*")
    parser.add_argument("--by", action="append", default=[])
    parser.add_argument("--where", action="append", default=[])
    parsed = parser.parse_args(arguments[2:])
    return parsed.metrics, parsed.by, parsed.where


def _value(text: str):
    """A CSV cell as a number where it is one."""
    for kind in (int, float):
        with contextlib.suppress(ValueError):
            return kind(text)
    return text or None


def run_metric_command(arguments: list[str]) -> list[dict]:
    """The command as an analyst runs it (the leadloop CLI, in this process), its CSV read back."""
    from leadloop.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([*arguments, "--csv"]) == 0
    return [{k: _value(v) for k, v in row.items()} for row in csv.DictReader(io.StringIO(out.getvalue()))]


def _cents(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


@pytest.fixture(scope="module")
def answers(demo_night) -> dict[int, list[dict]]:
    """Each question's answer, from the published marts file opened read-only as the guide says."""
    found = {number: run_metric_command(arguments) for number, arguments in guide_metric_queries().items()}
    with duckdb.connect(str(settings.published_marts_path()), read_only=True) as con:
        for number, sql in guide_queries().items():
            cursor = con.execute(sql)
            names = [d[0] for d in cursor.description]
            found[number] = [dict(zip(names, row)) for row in cursor.fetchall()]
    return found


@pytest.fixture(scope="module")
def journeys(demo_world) -> list[dict]:
    return journeys_truth(demo_world)


@pytest.fixture(scope="module")
def opportunities(demo_world) -> list[dict]:
    return opportunity_truth(demo_world)


def test_the_guide_asks_ten_questions_each_with_one_query():
    assert sorted([*guide_queries(), *guide_metric_queries()]) == list(range(1, 11))
    assert sorted(guide_metric_queries()) == list(range(1, 8))  # the questions that are metrics
    for sql in guide_queries().values():
        assert "marts." in sql and "{{" not in sql  # plain SQL on the published schema, no dbt
    for text in re.findall(r"```shell\n(.*?)```", GUIDE, re.DOTALL):
        assert text.startswith((METRIC_COMMAND, ".venv/bin/leadloop metrics list"))


def test_the_guide_names_the_duckdb_a_client_needs():
    lock = tomllib.loads((settings.PROJECT_ROOT / "uv.lock").read_text(encoding="utf-8"))
    duckdb_version = next(p["version"] for p in lock["package"] if p["name"] == "duckdb")
    assert f"duckdb {duckdb_version}" in GUIDE
    major_minor = ".".join(duckdb_version.split(".")[:2])
    assert f"DuckDB ≥ {major_minor}" in GUIDE and f"duckdb>={major_minor}" in GUIDE


def test_every_question_is_answered_with_rows(answers):
    assert {number: len(rows) > 0 for number, rows in answers.items()} == {n: True for n in range(1, 11)}


def test_last_quarters_cohort_rate_by_channel_is_the_truth(answers, journeys, demo_world):
    """Question 1: the quarter before the demo's today, in the business time zone."""
    today = datetime.fromtimestamp(demo_world.as_of_ms / 1000, UTC).astimezone(BUSINESS_TZ)
    quarter_start = (today.month - 1) // 3 * 3 + 1
    last = (today.year, quarter_start - 3) if quarter_start > 1 else (today.year - 1, 10)
    months = {f"{last[0]}-{last[1] + offset:02d}-01" for offset in range(3)}
    leads, opportunities = Counter(), Counter()
    for journey in journeys:
        if journey["cohort_month"] in months:
            leads[journey["channel"]] += 1
            opportunities[journey["channel"]] += journey["opportunity_at_ms"] is not None
    assert leads, "the demo has no leads last quarter"
    got = {row["funnel__channel"]: (row["leads"], row["cohort_opportunities"],
                                    row["north_star_lead_to_opportunity_rate_cohort"]) for row in answers[1]}
    expected = {channel: (leads[channel], opportunities[channel],
                          pytest.approx(opportunities[channel] / leads[channel])) for channel in leads}
    assert got == expected


def test_a_months_funnel_is_the_truth(answers, journeys):
    """Question 2: the September 2026 cohort, stage by stage (skipped stages count as reached)."""
    cohort = [j for j in journeys if j["cohort_month"] == "2026-09-01"]
    stages = {"leads": "lead", "cohort_mqls": "mql", "cohort_sqls": "sql", "cohort_opportunities": "opportunity",
              "cohort_pocs": "poc", "cohort_wins": "won"}
    (row,) = answers[2]
    assert row["metric_time__month"] == "2026-09-01"
    assert {column: row[column] for column in stages} == {
        column: sum(j[f"{stage}_at_ms"] is not None for j in cohort) for column, stage in stages.items()}
    assert row["lead_to_mql_rate_cohort"] == pytest.approx(row["cohort_mqls"] / row["leads"])
    assert row["poc_to_won_rate_cohort"] == pytest.approx(row["cohort_wins"] / row["cohort_pocs"])


def test_cost_per_stage_and_roi_read_the_ad_spend_and_the_truth(answers, journeys, demo_night):
    """Questions 3 and 4: spend from the daily ad facts (not the funnel), stages and revenue from the truth."""
    with duckdb.connect(str(settings.published_marts_path()), read_only=True) as con:
        spend = dict(con.execute("select channel, sum(cost) from marts.fct_ad_performance_daily"
                                 " group by channel having sum(cost) > 0").fetchall())
        spend_2026 = dict(con.execute("select channel, sum(cost) from marts.fct_ad_performance_daily"
                                      " where stat_on >= date '2026-01-01' group by channel").fetchall())
    revenue = defaultdict(Decimal)
    mqls = Counter()
    for journey in journeys:
        if journey["won_amount"] is not None:
            revenue[journey["channel"]] += Decimal(str(journey["won_amount"]))
        if journey["cohort_month"] >= "2026-01-01" and journey["mql_at_ms"] is not None:
            mqls[journey["channel"]] += 1
    assert {row["funnel__channel"] for row in answers[4] if row["ad_spend"]} == set(spend)
    for row in answers[4]:
        channel = row["funnel__channel"]
        assert _cents(row["ad_spend"]) == _cents(spend.get(channel, 0))
        assert _cents(row["cohort_lead_won_revenue"]) == _cents(revenue[channel])
        if channel in spend:
            assert row["lead_roi_cohort"] == pytest.approx(float((revenue[channel] - spend[channel]) / spend[channel]))
        else:
            assert row["lead_roi_cohort"] is None
    assert {row["funnel__channel"] for row in answers[3] if row["ad_spend"]} == {c for c, v in spend_2026.items() if v}
    for row in answers[3]:
        channel = row["funnel__channel"]
        assert _cents(row["ad_spend"]) == _cents(spend_2026.get(channel, 0))
        if mqls[channel]:
            assert row["cost_per_mql_cohort"] == pytest.approx(float(spend_2026.get(channel, 0)) / mqls[channel])


def test_win_rates_cycle_and_revenue_by_source_are_the_truth(answers, opportunities):
    """Questions 5, 6 and 7 from the demo's opportunities."""
    closed = [o for o in opportunities if o["outcome"] != "open"]
    won = [o for o in closed if o["outcome"] == "won"]
    poc_closed = [o for o in closed if o["poc_started_at_ms"] is not None]
    poc_won = [o for o in poc_closed if o["outcome"] == "won"]
    (rates,) = answers[5]
    assert (rates["won_deals"], rates["closed_deals"], rates["poc_deals_won"], rates["poc_deals_closed"]) == (
        len(won), len(closed), len(poc_won), len(poc_closed))
    assert rates["win_rate"] == pytest.approx(len(won) / len(closed))
    assert rates["poc_win_rate"] == pytest.approx(len(poc_won) / len(poc_closed))

    deals, revenue, days = Counter(), defaultdict(Decimal), defaultdict(list)
    for deal in won:
        deals[deal["sourced_by"]] += 1
        revenue[deal["sourced_by"]] += Decimal(str(deal["won_amount"]))
        days[deal["sourced_by"]].append(crm_truth.days_between(deal["opened_at_ms"], deal["won_at_ms"]))
    assert {row["deal__sourced_by"]: (row["closed_deals"], row["average_sales_cycle_days"],
                                      row["median_sales_cycle_days"]) for row in answers[6]} == {
        source: (deals[source], pytest.approx(sum(d) / len(d)), pytest.approx(statistics.median(d)))
        for source, d in days.items()}
    assert {row["deal__sourced_by"]: (row["won_deals"], _cents(row["won_revenue"])) for row in answers[7]
            if row["won_deals"]} == {source: (deals[source], _cents(revenue[source])) for source in deals}


def test_top_content_and_hot_leads_agree_with_the_facts_they_come_from(answers, demo_night):
    """Questions 8 and 10, recomputed from other marts with other SQL."""
    with duckdb.connect(str(settings.published_marts_path()), read_only=True) as con:
        attributed = {(model, content): revenue for model, content, revenue in con.execute(
            "select attribution_model, content_id, sum(credited_revenue) from marts.mart_attribution"
            " where opportunity_state = 'won' and content_id is not null"
            " group by attribution_model, content_id").fetchall()}
        (materials,) = con.execute("select count(*) from marts.mart_content_performance").fetchone()
        hot = con.execute("""
            with latest_journeys as (
                select customer_id, journey_id, current_stage,
                    row_number() over (partition by customer_id order by lead_at desc, journey_id desc) as recency
                from marts.fct_lead_journeys
            ),
            latest_scores as (
                select journey_id, total_score, lead_grade,
                    row_number() over (partition by journey_id order by score_on desc) as recency
                from marts.mart_lead_scores
            )
            select journeys.customer_id, scores.total_score
            from latest_journeys as journeys
            join latest_scores as scores on journeys.journey_id = scores.journey_id and scores.recency = 1
            where journeys.recency = 1 and scores.lead_grade in ('A', 'B')
                and journeys.current_stage in ('lead', 'mql', 'sql')
        """).fetchall()
    assert len(answers[8]) == min(10, materials)
    assert [row["lead_won_revenue"] for row in answers[8]] == sorted(
        (row["lead_won_revenue"] for row in answers[8]), reverse=True)
    for row in answers[8]:
        credited = attributed.get((row["attribution_model"], row["material_id"]), 0)
        assert _cents(row["attributed_revenue"]) == _cents(credited), row["material_id"]
    assert {row["customer_id"]: _cents(row["lead_score"]) for row in answers[10]} == {
        customer: _cents(score) for customer, score in hot}
    assert all(row["lifetime_revenue"] > 0 for row in answers[9])


@pytest.fixture(scope="module")
def docs_page(demo_night) -> str:
    """The docs site the session's demo night published (its docs asset ran after publishing)."""
    return settings.docs_path().read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def docs_manifest(docs_page) -> dict:
    """The manifest dbt inlined into the page."""
    match = re.search(r'\{"metadata": \{"dbt_schema_version": "https://schemas\.getdbt\.com/dbt/manifest/', docs_page)
    assert match, "the page carries no manifest"
    manifest, _ = json.JSONDecoder().raw_decode(docs_page, match.start())
    return manifest


def test_the_docs_site_is_one_page_that_opens_offline(docs_page):
    assert settings.docs_path().parent.parent == settings.published_marts_path().parent
    assert remote_references(docs_page) == []
    assert not re.search(r"<(?:script|link|img)\b[^>]*\b(?:src|href)\s*=\s*[\"']?https?:", docs_page, re.IGNORECASE)
    assert "MANIFEST.JSON INLINE DATA" not in docs_page and "CATALOG.JSON INLINE DATA" not in docs_page


def test_the_docs_site_describes_every_mart_and_column(docs_manifest, docs_page):
    marts = {node["name"]: node for node in docs_manifest["nodes"].values()
             if node["resource_type"] == "model" and node["schema"].startswith("marts")}
    assert len(marts) >= 15
    for name, node in marts.items():
        assert node["description"].strip(), name
        assert node["columns"] and all(c["description"].strip() for c in node["columns"].values()), name
        assert f'"model.leadloop.{name}"' in docs_page
    catalog_marts = re.findall(r'"model\.leadloop\.(\w+)": \{"metadata": \{"type"', docs_page)
    assert set(marts) <= set(catalog_marts), "the warehouse's catalog misses marts"


def test_the_cockpit_exposure_reads_every_metric_the_cockpit_reads(docs_manifest):
    exposure = docs_manifest["exposures"]["exposure.leadloop.cockpit"]
    assert exposure["type"] == "dashboard" and exposure["owner"]["name"]
    read = {node.split(".")[-1] for node in exposure["depends_on"]["nodes"]}
    shown = {name for names, _ in METRIC_QUERIES.values() for name in names} | set(RANGE_RATIOS)
    assert shown | {"channel_labels", "funnel_stage_labels"} == read
