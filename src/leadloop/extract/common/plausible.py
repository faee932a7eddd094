"""Checks on values that are well typed but cannot be true: a report day in 1970, an event in 2099,
a negative spend. Each check returns None for a good value, else the problem in plain words, for
`records_to_arrow(checks=…)` to put in the quarantine reason.

Why these bounds: none of the platforms leadloop reads existed before 2000, and 1970-01-01 is what
a zero or a lost timestamp turns into; a date more than a year ahead is a placeholder (2099-12-31)
or a unit mix-up (seconds read as milliseconds). Such a value in a cursor would also stall an
incremental read for good (nothing is ever newer than 2099), so it must not reach the raw table.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

EARLIEST_DAY = date(2000, 1, 1)
FUTURE_DAYS = 366


def latest_day() -> date:
    """The last plausible day: a year after today (UTC), so time zones and clock skew never matter."""
    return datetime.now(UTC).date() + timedelta(days=FUTURE_DAYS)


def day_problem(day: date, shown: str | None = None) -> str | None:
    """Why `day` cannot be a real day of business data, or None; `shown` is how the record wrote it."""
    text = shown if shown is not None else day.isoformat()
    if day < EARLIEST_DAY:
        return f"{text} is before {EARLIEST_DAY.isoformat()}: a placeholder or lost date, not a real one"
    last = latest_day()
    if day > last:
        return f"{text} is after {last.isoformat()} (a year from today): a placeholder date, not a real one"
    return None


def plausible_day_text(value: Any) -> str | None:
    """Check of a YYYY-MM-DD text day (already known to be one)."""
    return day_problem(date.fromisoformat(str(value)[:10]), repr(value))


def plausible_instant(value: datetime) -> str | None:
    """Check of a timezone-aware instant."""
    return day_problem(value.astimezone(UTC).date(), value.isoformat())


def plausible_epoch_ms(value: int) -> str | None:
    """Check of epoch milliseconds (销售易 timestamps)."""
    return _epoch(value, 1000, "ms")


def plausible_epoch_s(value: int) -> str | None:
    """Check of epoch seconds (WeCom's createtime)."""
    return _epoch(value, 1, "s")


def _epoch(value: int, per_second: int, unit: str) -> str | None:
    """Check of an epoch number in `unit`; out of datetime's range counts as implausible too."""
    try:
        moment = datetime.fromtimestamp(value / per_second, UTC)
    except (OverflowError, OSError, ValueError):
        return f"{value} {unit} since 1970 is no date at all"
    return day_problem(moment.date(), f"{value} ({moment.isoformat()})")


def non_negative(value: Decimal | float) -> str | None:
    """Check of a spend or a count: below zero it cannot be true."""
    if value < 0:
        return f"{value} is negative: spend and counts cannot be below zero"
    return None
