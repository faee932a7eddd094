"""Acceptance (issue 12, hot leads): mart_hot_leads' dormant comebacks equal the demo company's truth
(who, since when, through which touch), and no company the truth calls active is called dormant."""

from __future__ import annotations

import duckdb
import pytest

from leadloop.demo.digital import simulate_digital
from leadloop.demo.hot_leads_truth import account_statuses, dormant_comebacks, touch_statuses
from tests.support.hot_leads import actual_comebacks, expected_comebacks
from tests.support.hot_leads import hot_touches as mart_hot_touches

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def warehouse(demo_night):
    """A read-only connection to the session's demo night."""
    with duckdb.connect(str(demo_night), read_only=True) as con:
        yield con


@pytest.fixture(scope="module")
def digital(demo_world):
    return simulate_digital(demo_world)


@pytest.fixture(scope="module")
def hot_touches(warehouse, demo_world, digital):
    """Every hot row with a touch, as (reason, status, true person, touch key)."""
    return mart_hot_touches(warehouse, demo_world, digital)


def test_dormant_comebacks_equal_the_truth(warehouse, demo_world, digital, hot_touches):
    expected = expected_comebacks(demo_world, digital)
    # The premise: companies came back, through the demo's comeback reads as well as a journey of their own.
    assert len(expected) >= 3 and {key[2] for _, key in expected} >= {"content_read"}
    actual = actual_comebacks(hot_touches)
    assert len(actual) == len(set(actual))
    assert set(actual) == expected
    rows = warehouse.execute("select count(*) from marts.mart_hot_leads"
                             " where hot_reason = 'dormant_account_reengaged'").fetchone()[0]
    assert rows == len(expected)
    assert warehouse.execute("select count(*) from marts.mart_hot_leads where hot_reason = 'dormant_account_reengaged'"
                             " and (account_status <> 'dormant' or owner_name is null or why not like '沉睡客户回访：%')"
                             ).fetchone()[0] == 0


def test_no_active_company_is_called_dormant(demo_world, digital, hot_touches):
    statuses = {(touch.person_id, touch.at_ms, touch.touch_type, touch.channel, touch.content): status
                for touch, _, status in touch_statuses(demo_world, digital)}
    # The premise: companies quiet for a year came back too, active under the 18-month default.
    came_back_active = set(dormant_comebacks(demo_world, digital, months=12)) - set(
        dormant_comebacks(demo_world, digital))
    assert came_back_active
    called = [(status, key) for _, status, _, key in hot_touches if status is not None]
    assert called
    # Dormant exactly where the truth says so. (Between new and active a person stitched to a namesake
    # company — 盛远软件有限公司 and 盛远软件有限责任公司 — may differ: stitching is scored, not exact.)
    assert [(status, key) for status, key in called if (status == "dormant") != (statuses[key] == "dormant")] == []
    dormant_now = {account for account, status in account_statuses(demo_world).items() if status == "dormant"}
    comeback_accounts = {hot.account_id for hot in dormant_comebacks(demo_world, digital).values()}
    assert comeback_accounts <= dormant_now
