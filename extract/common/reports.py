"""What every ad platform's daily report shares.

Baidu and Ocean Engine restate a day's cost and conversions for about a week as late clicks and
conversions are attributed, so every read of a report day re-reads the days before it: a night
that loads yesterday reads the RESTATEMENT_DAYS days ending yesterday, and merge keys make the
re-read idempotent. The one place this window is set; orchestration and both sources read it.
"""

from __future__ import annotations

RESTATEMENT_DAYS = 7  # the report day and the six before it
