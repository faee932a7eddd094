"""巨量引擎 (Ocean Engine) endpoints, report fields and answer codes.

This file is the single place where the wire names live: if the real API differs from what the
public documentation shows (details marked *unconfirmed*), this is the file to correct.
"""

from __future__ import annotations

from leadloop.extract.common.reports import RESTATEMENT_DAYS

DEFAULT_BASE_URL = "https://api.oceanengine.com"
REPORT_PATH = "/open_api/v3.0/report/custom/get/"
REFRESH_TOKEN_PATH = "/open_api/oauth2/refresh_token/"
ACCESS_TOKEN_HEADER = "Access-Token"

DEFAULT_START_DATE = "2025-01-01"
DEFAULT_LOOKBACK_DAYS = RESTATEMENT_DAYS  # ad numbers are restated for about a week: every run re-reads them
BUSINESS_TIME_ZONE = "Asia/Shanghai"  # report days are China days; the default end date is today there
# start_time and end_time may be at most 30 days apart; windows of 30 calendar days are safe under
# either reading of that rule (30 days inclusive, or a difference of 30 days).
MAX_WINDOW_DAYS = 30
# The shared wire notes say page_size <= 1000; the official Go SDK documents "default 10, max 100"
# (unconfirmed which holds): lower SOURCES__OCEANENGINE__PAGE_SIZE if the API refuses 1000.
MAX_PAGE_SIZE = 1000

RESOURCE = "promotion_daily_report"
DIMENSIONS = ("stat_time_day", "cdp_project_id", "cdp_project_name", "cdp_promotion_id", "cdp_promotion_name")
METRICS = ("stat_cost", "show_cnt", "click_cnt", "convert_cnt")
# Query parameters the official SDK marks as required besides the documented ones (unconfirmed):
# no filter, and a stable order so that pages do not shift while they are read.
EXTRA_QUERY = {
    "filters": [],
    "order_by": [{"field": "stat_time_day", "type": "ASC"}],
}

# Arrow / dlt column types.
STRING, BIGINT, DECIMAL = "text", "bigint", "decimal"
# The raw table, column by column. A file-drop reader lands console exports into the same table,
# so names, order and types are an agreement: do not change them on one side only.
FIELDS: dict[str, str] = {
    "stat_time_day": STRING,  # YYYY-MM-DD, a China business day
    "advertiser_id": BIGINT,  # not in the answer: the advertiser the request was for
    "cdp_project_id": BIGINT,
    "cdp_project_name": STRING,
    "cdp_promotion_id": BIGINT,
    "cdp_promotion_name": STRING,
    "stat_cost": DECIMAL,  # CNY, decimal(18,2)
    "show_cnt": BIGINT,
    "click_cnt": BIGINT,
    "convert_cnt": BIGINT,
    "_source": STRING,  # how the row arrived: 'api' here
}
SOURCE_TAG = "api"
MERGE_KEY = ("advertiser_id", "cdp_promotion_id", "stat_time_day")
# A row missing any of these is quarantined; names may be absent (null).
REQUIRED_FIELDS = (*MERGE_KEY, "cdp_project_id", *METRICS)
# Dimension and metric values arrive as strings (the SDK types both as map[string]string).
# Day values are read as YYYY-MM-DD; a time part of midnight is dropped (unconfirmed format).
DAY_FORMAT = "%Y-%m-%d"

# What the client does with the envelope's integer `code` (HTTP 200 answers). "reauth": refresh
# the access token and retry once; "retry": back off and retry; "fail": stop with the server's
# message and the settings named here. Any code not listed fails. All codes but 0 are unconfirmed.
OK_CODE = 0
REAUTH, RETRY, FAIL = "reauth", "retry", "fail"
ERROR_CODES: dict[int, tuple[str, str, tuple[str, ...]]] = {
    40100: (RETRY, "requests too frequent (rate limit)", ()),
    40102: (REAUTH, "access token expired", ("access_token", "refresh_token")),
    40103: (REAUTH, "access token invalid", ("access_token", "refresh_token")),
    40104: (REAUTH, "access token missing", ("access_token",)),
    40001: (FAIL, "invalid request parameter", ()),
    40002: (FAIL, "no permission for this advertiser or API", ("advertiser_ids", "access_token")),
    40105: (FAIL, "refresh token invalid or already used", ("refresh_token",)),
    40107: (FAIL, "refresh token expired", ("refresh_token",)),
    40108: (FAIL, "app_id or secret wrong", ("app_id", "secret")),
    50000: (RETRY, "system error", ()),
    51010: (RETRY, "service busy", ()),
}
