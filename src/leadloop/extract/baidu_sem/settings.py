"""百度营销 (Baidu search ads) endpoints, the keyword report's field table and its failure codes.

This file is the single place where the wire names and codes live: where the real API differs
from what the public documentation shows (details marked *unconfirmed*), correct it here.
"""

from __future__ import annotations

from dataclasses import dataclass

from leadloop.extract.common.reports import RESTATEMENT_DAYS

DEFAULT_BASE_URL = "https://api.baidu.com"
REPORT_PATH = "/json/sms/service/OpenApiReportService/getReportData"
# Access-token refresh. URL from the shared notes; request and answer shape unconfirmed:
# JSON {"appId","refreshToken","secretKey","userId"} → {"code":0,"message","data":{"accessToken",
# "refreshToken","expiresIn",…}}.
DEFAULT_REFRESH_URL = "https://u.baidu.com/oauth/refreshToken"
REFRESH_OK_CODE = 0

# Report types (reportType). leadloop reads the keyword report; campaign and ad-group structure
# is on every keyword row, so the other report types are not needed.
REPORT_TYPES = {
    "account": 2208157,
    "campaign": 2290316,
    "adgroup": 2284618,
    "keyword": 2602783,
    "search_term": 1900005,
    "landing_page": 5381679,
}
KEYWORD_REPORT_TYPE = REPORT_TYPES["keyword"]
TIME_UNIT = "DAY"
MAX_RANGE_DAYS = 731  # longest startDate..endDate span one request may ask for (both ends included)
DEFAULT_ROW_COUNT = 1000
MAX_ROW_COUNT = 10_000  # largest rowCount a page may ask for (unconfirmed)

DEFAULT_START_DATE = "2025-01-01"
DEFAULT_LOOKBACK_DAYS = RESTATEMENT_DAYS  # cost and conversions are restated for about a week
BUSINESS_TIME_ZONE = "Asia/Shanghai"  # report days are China calendar days

# The raw table and how its rows are told apart.
RESOURCE = "keyword_daily_report"
SOURCE_COLUMN = "_source"  # provenance of a row: "api" (this source) or "file_drop" (src/leadloop/extract/file_drops)
API_SOURCE, FILE_DROP_SOURCE = "api", "file_drop"

# Arrow / dlt column types used in the field table.
STRING, BIGINT, DOUBLE, DECIMAL = "text", "bigint", "double", "decimal"

# Keyword report columns: wire name → type. Requested in this order; loaded as dlt's snake_case
# (userId → user_id). `date` is a China calendar day as YYYY-MM-DD text; cost is CNY.
REPORT_FIELDS: dict[str, str] = {
    "date": STRING,
    "userId": BIGINT,
    "userName": STRING,
    "campaignId": BIGINT,
    "campaignName": STRING,
    "adGroupId": BIGINT,
    "adGroupName": STRING,
    "keywordId": BIGINT,
    "keyword": STRING,
    "impression": BIGINT,
    "click": BIGINT,
    "cost": DECIMAL,
    "conversion": BIGINT,
}
DAY_FIELDS = ("date",)
NON_NEGATIVE_FIELDS = ("impression", "click", "cost", "conversion")
# Restated days overwrite: rows merge on (userId, keywordId, date).
PRIMARY_KEY = ("userId", "keywordId", "date")
LOADED_PRIMARY_KEY = ("user_id", "keyword_id", "date")
# Some report types name the keyword columns differently (unconfirmed): read either spelling.
COLUMN_ALIASES = {"wInfoId": "keywordId", "wInfoNameStatus": "keyword"}

# header.status of every answer.
STATUS_OK, STATUS_PARTIAL, STATUS_FAILED, STATUS_SYSTEM_ERROR = 0, 1, 2, 3
STATUS_MEANINGS = {
    STATUS_OK: "ok",
    STATUS_PARTIAL: "partly failed",
    STATUS_FAILED: "failed",
    STATUS_SYSTEM_ERROR: "system error",
}

# What the client does with a failure code in header.failures:
# "reauth": refresh the access token once and retry; "retry": back off and retry;
# "auth": stop at once naming the settings to fix; "fail": stop with the server's message.
# A system error (status 3) without a listed code is retried; any other unlisted code fails.
REAUTH, RETRY, AUTH, FAIL = "reauth", "retry", "auth", "fail"


@dataclass(frozen=True)
class FailureCode:
    """What a failure code means, what the client does with it, which settings fix it."""

    action: str
    meaning: str
    settings: tuple[str, ...] = ()


# Every code below is unconfirmed: the public documentation does not list them for this API.
TOKEN_EXPIRED_CODE = 8206
USERNAME_INVALID_CODE = 8101
USER_ID_DENIED_CODE = 8103
RATE_LIMITED_CODE = 8901
QUOTA_EXHAUSTED_CODE = 8902
SYSTEM_BUSY_CODE = 9001
BAD_REQUEST_CODE = 8800
RANGE_TOO_LONG_CODE = 8801
FAILURE_CODES: dict[int, FailureCode] = {
    TOKEN_EXPIRED_CODE: FailureCode(REAUTH, "accessToken invalid or expired", ("access_token",)),
    USERNAME_INVALID_CODE: FailureCode(AUTH, "userName unknown or not the token's user", ("username",)),
    8102: FailureCode(AUTH, "the authorised app may not use this API", ("app_id",)),
    USER_ID_DENIED_CODE: FailureCode(AUTH, "a userId is not an account this user may read", ("user_ids",)),
    RATE_LIMITED_CODE: FailureCode(RETRY, "too many requests (rate limit)"),
    QUOTA_EXHAUSTED_CODE: FailureCode(RETRY, "API quota exhausted for now"),
    SYSTEM_BUSY_CODE: FailureCode(RETRY, "system busy"),
    BAD_REQUEST_CODE: FailureCode(FAIL, "invalid request parameter"),
    RANGE_TOO_LONG_CODE: FailureCode(FAIL, f"date range longer than {MAX_RANGE_DAYS} days"),
}
