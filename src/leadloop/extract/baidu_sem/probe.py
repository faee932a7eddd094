"""`leadloop doctor`'s check of 百度营销: one keyword-report request for one day and one row.

Baidu has no token grant to try on its own: the access token travels in every request's header,
so the smallest authenticated request is a report page. A refused token is renewed through the
token refresh when the refresh settings are there, as in a load.
"""

from __future__ import annotations

from datetime import timedelta

from leadloop.extract.baidu_sem import baidu_sem_source, settings
from leadloop.extract.baidu_sem.client import BaiduSemAuthError, BaiduSemClient, BaiduSemSettings
from leadloop.extract.common.probe import PROBE_TIMEOUT_SECONDS, Probe, run_probe
from leadloop.extract.common.reports import business_today


def probe(timeout: float = PROBE_TIMEOUT_SECONDS) -> Probe:
    """Whether the report API answers, and whether it takes the configured user, token and accounts."""
    return run_probe(baidu_sem_source, _check, refusals=(BaiduSemAuthError,), timeout=timeout,
                     overrides={"row_count": 1})


def _check(config: BaiduSemSettings) -> str:
    """Asks for the first row of yesterday's keyword report (China days); returns what that verified."""
    day = business_today(settings.BUSINESS_TIME_ZONE) - timedelta(days=1)
    client = BaiduSemClient(config)
    try:
        pages = client.report_pages(settings.KEYWORD_REPORT_TYPE, list(settings.REPORT_FIELDS), day, day)
        next(pages, None)
    finally:
        client.close()
    return f"keyword report for {day.isoformat()} answered (accounts {list(config.accounts())})"
