"""神策 Sensors Data endpoints, the events field table and the answer-code table.

This file is the single place where the wire names live: if a deployment's SQL API differs from
what the public documentation shows (details marked *unconfirmed*), this is the file to correct.
"""

from __future__ import annotations

from datetime import timedelta, timezone

QUERY_PATH = "/api/sql/query"
DEFAULT_PROJECT = "default"
# Sensors writes `time` and `date` in the project's time zone; Chinese deployments run on UTC+8.
PROJECT_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # wire `time` is this plus ".mmm" (milliseconds)
DEFAULT_START_TIME = "2025-01-01 00:00:00"
DEFAULT_LOOKBACK_HOURS = 48.0  # must exceed the longest delay after which Sensors still receives an event
DEFAULT_WINDOW_HOURS = 24.0
DEFAULT_CONCURRENCY = 2  # windows queried at the same time (the SQL API runs on the customer's Impala)
DEFAULT_BATCH_BYTES = 8 * 1024 * 1024  # NDJSON collected from consecutive windows before one parse
EVENTS_TABLE = "events"
RESOURCE = "events"
PRIMARY_KEY = "event_key"
CURSOR_FIELD = "time"
PROPERTIES_JSON = "properties_json"

# Column types of the field table (dlt data types; the arrow type of each is in events.py).
TEXT, BIGINT, DOUBLE, BOOL = "text", "bigint", "double", "bool"

# The JSON type each field arrives as is *unconfirmed* (e.g. booleans as true/false or 0/1), and
# so is whether `select *` writes null properties or leaves them out (both are read the same).
# Wire name → (loaded column, type). Every other key of a row goes, as canonical JSON, into
# `properties_json`, so that no property is lost. Preset properties drop their `$`; `$title`
# becomes page_title because the forms' own `title` (job title) is a custom property.
FIELDS: dict[str, tuple[str, str]] = {
    "event": ("event", TEXT),
    "time": ("time", TEXT),  # local project time, 'YYYY-MM-DD HH:MM:SS.mmm'
    "distinct_id": ("distinct_id", TEXT),
    "user_id": ("user_id", BIGINT),  # Sensors' internal user id (int64, often negative)
    "date": ("date", TEXT),  # local project date, 'YYYY-MM-DD'
    "$is_login_id": ("is_login_id", BOOL),  # distinct_id is a login id (after login / $SignUp)
    # On $SignUp the anonymous distinct_id it replaces. Column name unconfirmed (`$original_id`?).
    "original_id": ("original_id", TEXT),
    "$url": ("url", TEXT),
    "$url_path": ("url_path", TEXT),
    "$referrer": ("referrer", TEXT),
    "$title": ("page_title", TEXT),
    "$utm_source": ("utm_source", TEXT),
    "$utm_medium": ("utm_medium", TEXT),
    "$utm_campaign": ("utm_campaign", TEXT),
    "$utm_content": ("utm_content", TEXT),
    "$utm_term": ("utm_term", TEXT),
    "event_duration": ("event_duration", DOUBLE),  # seconds ($WebStay, webinar_attend)
    # form_submit
    "form_id": ("form_id", TEXT),
    "form_type": ("form_type", TEXT),  # demo / trial / download / webinar
    "phone": ("phone", TEXT),
    "email": ("email", TEXT),
    "name": ("name", TEXT),
    "company": ("company", TEXT),
    "title": ("title", TEXT),
    # content_read
    "material_id": ("material_id", TEXT),
    "material_title": ("material_title", TEXT),
    "read_duration": ("read_duration", DOUBLE),
    "external_userid": ("external_userid", TEXT),  # WeCom reader, when shared through WeCom
    # webinar_attend
    "webinar_id": ("webinar_id", TEXT),
}
REQUIRED = ("event", "time", "distinct_id")
# What makes two rows the same event (see README, "event_key"); the rest of the row is digested.
IDENTITY = ("event", "time", "distinct_id")
# Left out of the event_key digest: derived from `time`, or reassigned by Sensors' ID mapping.
NOT_DIGESTED = ("date", "user_id")

# What the client does with an HTTP answer other than 200. "retry": back off and retry;
# "credentials": stop at once naming the token / project settings; "fail": stop with the
# server's message. Any status not listed fails. All of these are *unconfirmed*: the public
# documentation does not show the SQL API's error answers.
RETRY, CREDENTIALS, FAIL = "retry", "credentials", "fail"
ERROR_CODES: dict[int, tuple[str, str]] = {
    401: (CREDENTIALS, "API token missing or invalid"),
    403: (CREDENTIALS, "API token invalid, revoked, or not allowed on this project"),
    429: (RETRY, "too many queries (rate limit)"),
    500: (RETRY, "server error"),
    502: (RETRY, "bad gateway"),
    503: (RETRY, "query service busy or unavailable"),
    504: (RETRY, "gateway timeout"),
    400: (FAIL, "bad request: the SQL was refused or the project does not exist"),
    404: (FAIL, "not found: check SOURCES__SENSORS__BASE_URL (the deployment's API host and port)"),
}
# Keys of the error JSON that may hold the server's message (shape unconfirmed).
ERROR_MESSAGE_KEYS = ("error", "message", "msg", "error_msg")
