"""What every ad platform's daily report shares.

Baidu and Ocean Engine restate a day's cost and conversions for about a week as late clicks and
conversions are attributed, so every read of a report day re-reads the days before it: a night
that loads yesterday reads the RESTATEMENT_DAYS days ending yesterday, and merge keys make the
re-read idempotent. The one place this window is set; orchestration and both sources read it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from leadloop.extract.common.config import describe_settings

RESTATEMENT_DAYS = 7  # the report day and the six before it


def parse_day(source: str, value: str, key: str) -> date:
    """A YYYY-MM-DD setting of `source` as a date; a malformed one names the setting to fix."""
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(
            f"{source}: {describe_settings(source, [key])} must be a day as YYYY-MM-DD, got {value!r}"
        ) from None


def business_today(time_zone: str) -> date:
    """Today's date in the platform's time zone (report days are the platform's calendar days)."""
    return datetime.now(ZoneInfo(time_zone)).date()


def day_windows(first: date, last: date, max_days: int) -> list[tuple[date, date]]:
    """Splits first..last (both included) into consecutive windows of at most `max_days` days,
    oldest first: a report request may only span so many days."""
    windows: list[tuple[date, date]] = []
    start = first
    while start <= last:
        end = min(last, start + timedelta(days=max_days - 1))
        windows.append((start, end))
        start = end + timedelta(days=1)
    return windows
