"""Acceptance (issue 4): touches, lifecycle events, journeys' touches and content performance equal
the demo company's truth, whole tables."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import duckdb
import pytest

from leadloop.demo import catalog
from leadloop.demo.digital import simulate_digital
from leadloop.demo.identity_truth import record_truth
from leadloop.demo.touch_truth import touches_truth
from leadloop.demo.truth import FUNNEL_STAGES, journeys_truth
from tests.support.crm_keys import lead_key, naming_crm
from tests.support.touch_truth import content_performance, journey_touches

SESSION_CRM = naming_crm(["neocrm", "salesforce"])  # the session night has every source

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def digital(demo_world):
    return simulate_digital(demo_world)


@pytest.fixture(scope="module")
def touches(demo_world, digital):
    return touches_truth(demo_world, digital)


def _rows(path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def _ms(moment: datetime) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp() * 1000)


def test_fct_touchpoints_equals_the_truth(demo_night, demo_world, digital, touches):
    owner = {row.record: row.person_id for row in record_truth(demo_world, digital)}
    actual = Counter(
        (owner[record], _ms(at), kind, channel, group, campaign, keyword, content)
        for record, at, kind, channel, group, campaign, keyword, content in _rows(
            demo_night, "select source_record_id, touched_at, touch_type, channel, channel_group, campaign,"
                        " keyword, content_id from marts.fct_touchpoints"))
    expected = Counter((t.person_id, t.at_ms, t.touch_type, t.channel, t.channel_group, t.campaign, t.keyword,
                        t.content) for t in touches)
    assert {kind for _, _, kind, *_ in expected} == {
        "ad_click", "web_session", "form_submit", "content_read", "webinar_attend", "wecom_add", "crm_lead",
        "campaign_response", "sales_call", "sales_email", "sales_meeting"}
    assert actual - expected == Counter() and expected - actual == Counter()


def test_journeys_carry_their_first_and_lead_creating_touch(demo_night, demo_world, touches):
    expected = {lead_key(SESSION_CRM, lead): row
                for lead, row in journey_touches(journeys_truth(demo_world), touches).items()}
    columns = ("first_touch_type", "first_touch_channel", "first_touch_campaign", "first_touch_keyword",
               "first_touch_content", "lead_touch_type", "lead_touch_channel", "lead_touch_campaign",
               "lead_touch_keyword", "lead_touch_content")
    rows = _rows(demo_night, f"select journey_id, first_touch_at, {', '.join(columns)} from marts.fct_lead_journeys")
    actual = {journey: {"first_touch_at_ms": _ms(first_at), **dict(zip(columns, values))}
              for journey, first_at, *values in rows}
    assert actual == expected
    # Journeys of the same person are numbered, and some people do come back.
    numbers = _rows(demo_night, "select customer_id, count(*), max(journey_number) from marts.fct_lead_journeys"
                                " group by customer_id")
    assert all(count == top for _, count, top in numbers) and any(count > 1 for _, count, _ in numbers)


def test_mart_content_performance_equals_the_truth(demo_night, demo_world, touches):
    expected = content_performance(journeys_truth(demo_world), touches)
    columns = ("reads", "readers", "registrations", "mqls", "sqls", "opportunities", "wins", "lead_won_revenue")
    rows = _rows(demo_night, f"select material_id, title, author, {', '.join(columns)}"
                             " from marts.mart_content_performance")
    actual = {material: dict(zip(columns, values)) for material, _, _, *values in rows}
    assert actual == expected
    assert all(author for _, _, author, *_ in rows), "every demo material is in seed content_catalog"
    articles = next(c for c in catalog.CHANNELS if c.name == "wechat_content").campaigns
    assert {title for _, title, *_ in rows} == set(articles)


def test_fct_lifecycle_events_has_one_row_per_stage_entered(demo_night, demo_world):
    expected = set()
    for journey in journeys_truth(demo_world):
        for stage in FUNNEL_STAGES:
            if journey[f"{stage}_at_ms"] is not None:
                expected.add((lead_key(SESSION_CRM, journey["lead_id"]), stage, journey[f"{stage}_at_ms"],
                              journey[f"is_{stage}_skipped"]))
        if journey["lost_at_ms"] is not None:
            expected.add((lead_key(SESSION_CRM, journey["lead_id"]), "lost", journey["lost_at_ms"], False))
    rows = _rows(demo_night, "select journey_id, funnel_stage, entered_at, is_skipped from marts.fct_lifecycle_events")
    assert len(rows) == len(expected)
    assert {(journey, stage, _ms(at), skipped) for journey, stage, at, skipped in rows} == expected


def test_marketing_touches_source_and_influence_deals(demo_night):
    """sourced_by uses touches in the look-back window where the CRM has no lineage (the values
    themselves are compared with the truth in tests/test_sales_marts.py)."""
    evidence = dict(_rows(demo_night, "select sourced_by_evidence, count(*) from marts.fct_opportunities"
                                      " group by sourced_by_evidence"))
    assert evidence.get("marketing_touch", 0) > 0 and evidence.get("crm_source", 0) > 0
    assert _rows(demo_night, "select count(*) from marts.fct_opportunities where not is_marketing_influenced"
                             " and sourced_by = 'marketing'") == [(0,)]
