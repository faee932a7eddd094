"""The 百度营销 simulator's wire format and the demo renderer behind it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from leadloop.demo.baidu_sem_records import render
from leadloop.demo.digital import PROVISIONAL_COST_SHARE, business_day
from leadloop.demo.model import DAY_MS
from leadloop.demo.simulators.baidu_sem import REFRESH_PATH, REPORT_PATH, BaiduSemSimulator
from leadloop.extract.baidu_sem import settings
from tests.extract.baidu_sem_fixtures import (  # noqa: F401 - *_fixture: pytest fixtures
    ACCESS_TOKEN,
    APP_ID,
    CREDENTIALS,
    REFRESH_TOKEN,
    SECRET_KEY,
    USERNAME,
    BaiduDemo,
    baidu_demo_fixture,
    baidu_digital_fixture,
)

ROWS = [
    {"date": f"2026-01-0{day}", "userId": 1, "keywordId": 10 + n, "cost": 1.5, "impression": 3}
    for day in (1, 2, 3)
    for n in range(4)
]


@pytest.fixture
def simulator() -> Iterator[BaiduSemSimulator]:
    """A simulator over twelve hand-made rows."""
    with BaiduSemSimulator([dict(row) for row in ROWS], **CREDENTIALS) as sim:
        yield sim


def _ask(
    sim: BaiduSemSimulator, token: str = ACCESS_TOKEN, user: str = USERNAME, **body: Any
) -> dict[str, Any]:
    """POSTs getReportData with a valid default body, overridden by `body`."""
    request = {
        "reportType": settings.KEYWORD_REPORT_TYPE,
        "userIds": [],
        "startDate": "2026-01-01",
        "endDate": "2026-01-03",
        "timeUnit": "DAY",
        "columns": ["date", "keywordId", "cost"],
        "startRow": 0,
        "rowCount": 5,
        **body,
    }
    answer = requests.post(
        sim.base_url + REPORT_PATH,
        json={"header": {"userName": user, "accessToken": token}, "body": request},
        timeout=5,
    )
    assert answer.status_code == 200
    return answer.json()


def _codes(answer: dict[str, Any]) -> list[int]:
    """The failure codes of an answer."""
    return [failure["code"] for failure in answer["header"]["failures"]]


def test_pages_follow_start_row_and_project_columns(simulator: BaiduSemSimulator) -> None:
    pages = [_ask(simulator, startRow=start)["body"]["data"][0] for start in (0, 5, 10)]
    assert [page["rowCount"] for page in pages] == [5, 5, 2]
    assert {page["totalRowCount"] for page in pages} == {12}
    rows = [row for page in pages for row in page["rows"]]
    assert rows == [{"date": r["date"], "keywordId": r["keywordId"], "cost": r["cost"]} for r in ROWS]
    answer = _ask(simulator, startDate="2026-01-02", endDate="2026-01-02")
    assert answer["header"]["status"] == 0 and answer["body"]["data"][0]["totalRowCount"] == 4


class _CountedReport:
    """A report made a day at a time (the simulator's RowsByDay), counting how often a window is made."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows, self.user_ids, self.windows = rows, {row["userId"] for row in rows}, 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)

    def between(self, start: str, end: str) -> list[dict[str, Any]]:
        self.windows += 1
        return [row for row in self.rows if start <= row["date"] <= end]


def test_a_report_made_by_day_makes_each_window_once_for_all_its_pages() -> None:
    """Paging through a window must not make the window again per page (a night's report time grew with the
    square of the demo's scale); the pages are those of rows held as a list, and a new report is served."""
    report = _CountedReport([dict(row) for row in ROWS])
    with BaiduSemSimulator(report, **CREDENTIALS) as sim:
        pages = [_ask(sim, startRow=start)["body"]["data"][0] for start in (0, 5, 10)]
        assert report.windows == 1
        assert [row for page in pages for row in page["rows"]] == [
            {"date": r["date"], "keywordId": r["keywordId"], "cost": r["cost"]} for r in ROWS]
        assert _ask(sim, startDate="2026-01-02", endDate="2026-01-02")["body"]["data"][0]["totalRowCount"] == 4
        assert report.windows == 2
        later = _CountedReport([dict(row, cost=2.5) for row in ROWS])
        sim.set_rows(later)
        assert {row["cost"] for row in _ask(sim)["body"]["data"][0]["rows"]} == {2.5}


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"token": "nope"}, settings.TOKEN_EXPIRED_CODE),
        ({"user": "someone"}, settings.USERNAME_INVALID_CODE),
        ({"startDate": "2024-01-01", "endDate": "2026-01-01"}, settings.RANGE_TOO_LONG_CODE),
        ({"columns": ["date", "ctr"]}, settings.BAD_REQUEST_CODE),
        ({"rowCount": settings.MAX_ROW_COUNT + 1}, settings.BAD_REQUEST_CODE),
        ({"timeUnit": "HOUR"}, settings.BAD_REQUEST_CODE),
        ({"userIds": [2]}, settings.USER_ID_DENIED_CODE),
    ],
)
def test_refusals_carry_status_2_and_a_failure_code(
    simulator: BaiduSemSimulator, kwargs: dict[str, Any], code: int
) -> None:
    answer = _ask(simulator, **kwargs)
    assert answer["header"]["status"] == settings.STATUS_FAILED
    assert _codes(answer) == [code]


def test_a_731_day_range_is_accepted(simulator: BaiduSemSimulator) -> None:
    answer = _ask(simulator, startDate="2024-01-04", endDate="2026-01-03")  # 731 days, both ends included
    assert answer["header"]["status"] == 0


def test_refresh_issues_a_token_and_expiry_revokes_it(simulator: BaiduSemSimulator) -> None:
    wrong = requests.post(
        simulator.refresh_url,
        json={"appId": APP_ID, "secretKey": "bad", "refreshToken": REFRESH_TOKEN},
        timeout=5,
    ).json()
    assert wrong["code"] != 0 and wrong["data"] is None
    answer = requests.post(
        simulator.base_url + REFRESH_PATH,
        json={"appId": APP_ID, "secretKey": SECRET_KEY, "refreshToken": REFRESH_TOKEN},
        timeout=5,
    ).json()
    token = answer["data"]["accessToken"]
    assert answer["code"] == 0 and answer["data"]["expiresIn"] > 0
    assert _ask(simulator, token=token)["header"]["status"] == 0
    simulator.expire_tokens()
    assert _codes(_ask(simulator, token=token)) == [settings.TOKEN_EXPIRED_CODE]
    assert _codes(_ask(simulator)) == [settings.TOKEN_EXPIRED_CODE]


def test_render_shows_recent_days_provisionally(baidu_demo: BaiduDemo) -> None:
    rows = render(baidu_demo.world, baidu_demo.digital)
    today = baidu_demo.today
    assert rows[-1]["date"] == today.isoformat() and rows[0]["date"] == "2025-01-01"
    keys = {(row["userId"], row["keywordId"], row["date"]) for row in rows}
    assert len(keys) == len(rows)
    unit_key = rows[-1]["keywordId"]
    final = baidu_demo.digital.ad_days[(unit_key, today)]
    assert rows[-1]["cost"] == round(final.cost * PROVISIONAL_COST_SHARE, 2)
    later = render(baidu_demo.world, baidu_demo.digital, baidu_demo.as_of_ms + 5 * DAY_MS)
    same_day = next(r for r in later if r["keywordId"] == unit_key and r["date"] == today.isoformat())
    assert same_day["cost"] == final.cost  # restated to its final value
    assert business_day(baidu_demo.as_of_ms + 5 * DAY_MS) == today + timedelta(days=5)
    assert len(later) == len(rows) + 5 * 15
