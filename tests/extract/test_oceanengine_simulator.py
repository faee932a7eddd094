"""The 巨量引擎 simulator and the demo renderer: the wire format they serve."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests

from leadloop.demo.digital import DigitalWorld, reported_ad_day
from leadloop.demo.model import DAY_MS, World
from leadloop.demo.oceanengine_records import render
from leadloop.demo.simulators.oceanengine import REFRESH_TOKEN_PATH, REPORT_PATH, OceanengineSimulator
from leadloop.extract.oceanengine import settings

pytest.register_assert_rewrite("tests.extract.oceanengine_fixtures")

from tests.extract.oceanengine_fixtures import ACCESS_TOKEN, APP_ID, REFRESH_TOKEN, SECRET, today

pytest_plugins = ("tests.extract.oceanengine_fixtures",)  # the oceanengine_* fixtures
Demo = tuple[World, DigitalWorld]
ADVERTISER = 1_760_000_001


def _report(sim: OceanengineSimulator, token: str = ACCESS_TOKEN, **params: Any) -> dict[str, Any]:
    """GETs a report page and returns the JSON envelope."""
    query = {
        "advertiser_id": ADVERTISER,
        "dimensions": json.dumps(list(settings.DIMENSIONS)),
        "metrics": json.dumps(list(settings.METRICS)),
        "page": 1,
        "page_size": 50,
        **params,
    }
    response = requests.get(
        sim.base_url + REPORT_PATH, params=query, headers={"Access-Token": token}, timeout=5
    )
    assert response.status_code == 200
    return response.json()


def _refresh(sim: OceanengineSimulator, refresh_token: str, secret: str = SECRET) -> dict[str, Any]:
    """POSTs a token refresh and returns the JSON envelope."""
    body = {"app_id": int(APP_ID), "secret": secret, "refresh_token": refresh_token}
    return requests.post(sim.base_url + REFRESH_TOKEN_PATH, json=body, timeout=5).json()


def test_pages_carry_string_values_page_info_and_totals(
    oceanengine_simulator: OceanengineSimulator, oceanengine_world: Demo
) -> None:
    world, _ = oceanengine_world
    end = today(world)
    start = end - timedelta(days=29)
    first = _report(oceanengine_simulator, start_time=start.isoformat(), end_time=end.isoformat())
    assert first["code"] == 0 and first["message"] == "OK" and first["request_id"]
    info = first["data"]["page_info"]
    assert info == {"page": 1, "page_size": 50, "total_number": 120, "total_page": 3}
    row = first["data"]["rows"][0]
    assert set(row["dimensions"]) == set(settings.DIMENSIONS) and set(row["metrics"]) == set(settings.METRICS)
    assert all(isinstance(v, str) for part in row.values() for v in part.values())
    pages = [
        _report(oceanengine_simulator, start_time=start.isoformat(), end_time=end.isoformat(), page=n)
        for n in (1, 2, 3)
    ]
    rows = [r for page in pages for r in page["data"]["rows"]]
    assert len(rows) == 120 and len({json.dumps(r, sort_keys=True) for r in rows}) == 120
    total_cost = sum(Decimal(r["metrics"]["stat_cost"]) for r in rows)
    assert Decimal(first["data"]["total_metrics"]["stat_cost"]) == total_cost
    assert oceanengine_simulator.rows_served == 50 + 120


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"start_time": "2026-01-01", "end_time": "2026-02-01"}, 40001),  # 31 days apart
        ({"start_time": "2026-01-02", "end_time": "2026-01-01"}, 40001),
        ({"start_time": "2026-01-01", "end_time": "2026-01-31", "page_size": 1001}, 40001),
        ({"start_time": "2026/01/01", "end_time": "2026-01-31"}, 40001),
        ({"start_time": "2026-01-01", "end_time": "2026-01-31", "metrics": '["cost"]'}, 40001),
        ({"start_time": "2026-01-01", "end_time": "2026-01-31", "advertiser_id": 42}, 40002),
    ],
)
def test_bad_requests_are_refused_with_a_code(
    oceanengine_simulator: OceanengineSimulator, params: dict[str, Any], code: int
) -> None:
    answer = _report(oceanengine_simulator, **params)
    assert answer["code"] == code and answer["message"]


def test_thirty_days_apart_is_allowed(oceanengine_simulator: OceanengineSimulator) -> None:
    assert _report(oceanengine_simulator, start_time="2026-01-01", end_time="2026-01-31")["code"] == 0


def test_token_codes_and_single_use_refresh(oceanengine_simulator: OceanengineSimulator) -> None:
    window = {"start_time": "2026-01-01", "end_time": "2026-01-02"}
    assert _report(oceanengine_simulator, token="nope", **window)["code"] == 40103
    assert _report(oceanengine_simulator, token="", **window)["code"] == 40104
    oceanengine_simulator.expire_tokens()
    assert _report(oceanengine_simulator, **window)["code"] == 40102

    assert _refresh(oceanengine_simulator, REFRESH_TOKEN, secret="wrong")["code"] == 40108
    renewed = _refresh(oceanengine_simulator, REFRESH_TOKEN)
    assert renewed["code"] == 0
    data = renewed["data"]
    assert data["expires_in"] == 86_400 and data["refresh_token"] != REFRESH_TOKEN
    assert _report(oceanengine_simulator, token=data["access_token"], **window)["code"] == 0
    assert _refresh(oceanengine_simulator, REFRESH_TOKEN)["code"] == 40105  # used up
    assert oceanengine_simulator.refresh_tokens == {data["refresh_token"]}


def test_render_shows_what_the_platform_shows_at_an_instant(oceanengine_world: Demo) -> None:
    world, digital = oceanengine_world
    rows = render(world, digital)[ADVERTISER]
    days = [r["dimensions"]["stat_time_day"] for r in rows]
    assert days == sorted(days) and max(days) == today(world).isoformat() and min(days) == "2025-01-01"
    latest = rows[-1]
    unit = int(latest["dimensions"]["cdp_promotion_id"])
    final = digital.ad_days[(unit, today(world))]
    shown = reported_ad_day(final, today(world), world.as_of_ms)
    assert latest["metrics"]["stat_cost"] == f"{shown.cost:.2f}" and shown.cost < final.cost  # provisional
    later = render(world, digital, world.as_of_ms + 5 * DAY_MS)[ADVERTISER]
    restated = next(r for r in later if r["dimensions"] == latest["dimensions"])
    assert restated["metrics"]["stat_cost"] == f"{final.cost:.2f}"
    assert len(later) > len(rows)
