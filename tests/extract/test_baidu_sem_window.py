"""baidu_sem building blocks: the look-back window, 731-day ranges, failure classification."""

from __future__ import annotations

from datetime import date

import pytest

from leadloop.extract.baidu_sem import ReportWindow, date_chunks, keyword_report_page, settings
from leadloop.extract.baidu_sem.client import Failure, answer_action, report_block

TODAY = date(2026, 11, 21)


def test_first_run_reads_from_the_start_date() -> None:
    window = ReportWindow(start_date="2025-01-01", end_date=None, lookback_days=7)
    assert window.resolve(None, today=TODAY) == (date(2025, 1, 1), TODAY)


def test_daily_runs_read_exactly_the_lookback_days() -> None:
    window = ReportWindow(end_date="2026-11-22", lookback_days=7)
    assert window.resolve("2026-11-21") == (date(2026, 11, 16), date(2026, 11, 22))
    assert window.resolve("2026-11-22") == (date(2026, 11, 16), date(2026, 11, 22))  # same day again


def test_missed_runs_reach_back_to_the_unsettled_days() -> None:
    window = ReportWindow(end_date="2026-12-01", lookback_days=7)
    # the run of 11-21 last re-read 11-15..11-21; 11-15 got its final read, 11-16 did not
    assert window.resolve("2026-11-21") == (date(2026, 11, 16), date(2026, 12, 1))


def test_window_never_starts_before_the_start_date() -> None:
    window = ReportWindow(start_date="2026-11-20", end_date="2026-11-22", lookback_days=7)
    assert window.resolve("2026-11-21") == (date(2026, 11, 20), date(2026, 11, 22))


@pytest.mark.parametrize(
    ("window", "setting"),
    [
        (ReportWindow(start_date="2025/01/01"), "SOURCES__BAIDU_SEM__START_DATE"),
        (ReportWindow(end_date="yesterday"), "SOURCES__BAIDU_SEM__END_DATE"),
        (ReportWindow(lookback_days=0), "SOURCES__BAIDU_SEM__LOOKBACK_DAYS"),
    ],
)
def test_bad_window_settings_are_named(window: ReportWindow, setting: str) -> None:
    with pytest.raises(ValueError, match=setting):
        window.resolve(None, today=TODAY)


def test_long_ranges_split_into_731_day_chunks() -> None:
    chunks = date_chunks(date(2024, 1, 1), date(2026, 11, 21))
    assert chunks[0] == (date(2024, 1, 1), date(2025, 12, 31))  # 731 days, both ends included
    assert chunks[1] == (date(2026, 1, 1), date(2026, 11, 21))
    assert date_chunks(TODAY, TODAY) == [(TODAY, TODAY)]
    assert date_chunks(TODAY, date(2026, 11, 20)) == []


@pytest.mark.parametrize(
    ("status", "codes", "action"),
    [
        (0, [], "ok"),
        (2, [settings.TOKEN_EXPIRED_CODE], settings.REAUTH),
        (2, [settings.RATE_LIMITED_CODE], settings.RETRY),
        (1, [settings.QUOTA_EXHAUSTED_CODE, settings.USERNAME_INVALID_CODE], settings.AUTH),
        (2, [424242], settings.FAIL),
        (3, [424242], settings.RETRY),
        (3, [], settings.RETRY),
        (2, [], settings.FAIL),
    ],
)
def test_answers_are_classified_by_their_most_serious_failure(
    status: int, codes: list[int], action: str
) -> None:
    failures = [Failure(code, "m", "") for code in codes]
    assert answer_action(status, failures) == action


def test_malformed_report_bodies_are_recognised() -> None:
    assert report_block({"body": {"data": [{"rows": [], "totalRowCount": 0}]}}) is not None
    assert report_block({"body": {"data": []}}) == {"rows": [], "totalRowCount": 0}
    for body in ({}, {"data": None}, {"data": [{"rows": []}]}, {"data": [{"rows": {}, "totalRowCount": 1}]}):
        assert report_block({"body": body}) is None


def test_alias_columns_and_provenance() -> None:
    page = keyword_report_page(
        [
            {"date": "2026-11-21", "userId": 1, "wInfoId": 7, "wInfoNameStatus": "数据中台", "cost": "3.10"},
            {"date": "2026-11-21", "userId": 1, "keywordId": 8, "cost": 3.456},
        ],
        source="file_drop",
    )
    assert page.table.to_pylist()[0]["keywordId"] == 7 and page.table.to_pylist()[0]["keyword"] == "数据中台"
    assert page.table.column("_source").to_pylist() == ["file_drop"]
    assert [r.record_id for r in page.rejected] == ["1/8/2026-11-21"]
