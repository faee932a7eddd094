"""Seeded bad records for the source fuzz tests (issue 15): N records of the kinds below, made
from a source's good records and served among them by its simulator, plus truncated pages.

The fuzzer only makes values and keeps the books; how a record is planted in a simulator lives
with each source's adapter (tests/extract/source_fuzzers.py), next to its `plant_invalid`. Every
bad record gets a key of its own (so the good ones all stay), except a duplicate, which repeats
a good record's key with other values and is served after it.

What the product must do with each kind (`KINDS`; "—" where a source has no such field):

| kind            | baidu_sem | oceanengine | sensors | wecom | neocrm | salesforce |
|-----------------|-----------|-------------|---------|-------|--------|------------|
| wrong_type      | Q         | Q           | Q       | Q     | Q      | Q          |
| missing_key     | Q         | Q           | Q       | Q     | Q      | Q          |
| duplicate_key   | Q         | Q           | L (1)   | Q     | Q      | Q          |
| empty_string    | L         | L           | L       | L     | L      | L          |
| huge_string     | L         | L           | L       | L     | L      | L          |
| mixed_script    | L         | L           | L       | L     | L      | L          |
| date_1970       | Q         | Q           | Q       | Q     | Q      | Q          |
| date_2099       | Q         | Q           | Q       | Q     | Q      | Q          |
| negative_spend  | Q         | Q           | —       | —     | —      | —          |
| nan_spend       | Q         | Q           | Q (2)   | —     | —      | —          |

Q: quarantined with a reason naming the field (the kind's `word` is in it). L: loaded, the value
byte for byte. Dates are the report day (Baidu, Ocean Engine), the event time (Sensors), when a
contact was added (WeCom `createtime`) and the incremental cursor (销售易 `updatedAt`, Salesforce
`SystemModstamp`): before 2000 or more than a year ahead is corrupt (leadloop.extract.common.
plausible). A duplicate key is the same primary key twice in one load with other values: the
first copy read loads, the later one goes to quarantine ("duplicate key …"). (1) Sensors keys an
event by its content, so two events that share event, time and distinct_id but differ in a
property are two events and both load. (2) No spend: NaN in a number (`event_duration`). A bare
NaN in a JSON page (not JSON, but platforms write it) is read as a float and costs its record,
not its page. Huge strings are 96 KiB and load whole: no source needs a limit (DuckDB
and PostgreSQL text hold them; quarantine reasons cut values to 60 characters).

Truncated JSON pages: a page whose body is cut off mid-JSON is asked for again (every client
treats a body that does not parse as a transient failure), so its records load like any other;
the fuzzer cuts `truncated` pages, each fewer times in a row than the source's tries. A page that
stays cut off past the tries fails the run with the page named (nothing is loaded from a failed
run, so nothing is lost silently); it is not quarantined, because a fragment holds no record and
moving on would let an incremental cursor or a full snapshot skip the page's records.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

SEED = 15
BAD_RECORDS = 200
HUGE_BYTES = 96 * 1024


@dataclass(frozen=True)
class Kind:
    """A kind of bad record: whether the product must load it, and a word its reason must hold."""

    name: str
    loads: bool
    word: str = ""


WRONG_TYPE = Kind("wrong_type", False, "expected")
MISSING_KEY = Kind("missing_key", False, "missing required field")
DUPLICATE_KEY = Kind("duplicate_key", False, "duplicate key")
EMPTY_STRING = Kind("empty_string", True)
HUGE_STRING = Kind("huge_string", True)
MIXED_SCRIPT = Kind("mixed_script", True)
DATE_1970 = Kind("date_1970", False, "before 2000-01-01")
DATE_2099 = Kind("date_2099", False, "a year from today")
NEGATIVE_SPEND = Kind("negative_spend", False, "negative")
NAN_SPEND = Kind("nan_spend", False, "NaN")
KINDS = (
    WRONG_TYPE,
    MISSING_KEY,
    DUPLICATE_KEY,
    EMPTY_STRING,
    HUGE_STRING,
    MIXED_SCRIPT,
    DATE_1970,
    DATE_2099,
    NEGATIVE_SPEND,
    NAN_SPEND,
)
TEXT_KINDS = (EMPTY_STRING, HUGE_STRING, MIXED_SCRIPT)
EPOCH_DAY, FAR_DAY = date(1970, 1, 1), date(2099, 12, 31)

# Pieces of text the platforms do send: CJK beyond the BMP, emoji sequences, RTL scripts, a
# zero-width space, full-width and half-width forms.
_PIECES = (
    "王小明",
    "𠮷野家",
    "🚀",
    "👩‍💻",
    "👨‍👩‍👧‍👦",
    "🇨🇳",
    "Ünïcødé",
    "العربية",
    "עברית",
    "Ελληνικά",
    "हिन्दी",
    "한국어",
    "ｶﾀｶﾅ",
    "ＦＵＬＬ",
    "Ω≈ç√",
    "\u200b",
    "naïve café",
    "株式会社",
    "ß",
    " ",
)
_WRONG_VALUES = {
    "bigint": ("12,5O", "十二", "1e3x", {"v": 1}, [1, 2], True),
    "decimal": ("lots", "12,5O", {"v": 1}, [1], True),
    "double": ("long", "12,5O", {"v": 1}, [1], True),
    "text": ({"v": 1}, [1, 2], {"nested": {"x": "y"}}),
    "bool": ("maybe", 2, "yes"),
    "timestamp": ("yesterday", 1735689600000, "2026-01-01 08:00"),
}


@dataclass(frozen=True)
class Bad:
    """One bad record served: its kind, raw table, and the key quarantine or the table shows it by."""

    kind: Kind
    table: str
    record_id: str | None


@dataclass
class Books:
    """What one raw table must show after the run, as the fuzzer served it."""

    served: int = 0
    loaded: Counter[tuple[str, Any]] = field(default_factory=Counter)  # (key text, text column)
    quarantined: Counter[str | None] = field(default_factory=Counter)  # record_id of each reject
    kinds: Counter[str] = field(default_factory=Counter)  # rejects per kind


@dataclass
class Fuzzer:
    """Seeded maker of bad values, and the books of what a source was served."""

    seed: int = SEED
    n: int = BAD_RECORDS
    rng: random.Random = field(init=False)
    bad: list[Bad] = field(default_factory=list)
    books: dict[str, Books] = field(default_factory=dict)
    truncated: list[tuple[str, int]] = field(default_factory=list)  # (path, request count) cut off after

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    # -- planning --------------------------------------------------------------------------------

    def kinds(self, applicable: Sequence[Kind]) -> list[Kind]:
        """`n` kinds, every applicable kind as often as the others (±1), in a seeded order."""
        kinds = [applicable[i % len(applicable)] for i in range(self.n)]
        self.rng.shuffle(kinds)
        return kinds

    def pick(self, items: Sequence[Any]) -> Any:
        """A seeded choice."""
        return items[self.rng.randrange(len(items))]

    # -- values ----------------------------------------------------------------------------------

    def text(self, kind: Kind) -> str:
        """A legitimate text value of a text kind: empty, 96 KiB of mixed scripts, or a short mix."""
        if kind is EMPTY_STRING:
            return ""
        size = HUGE_BYTES if kind is HUGE_STRING else 1
        parts: list[str] = []
        length = 0
        while length < size or len(parts) < 4:
            piece = self.pick(_PIECES)
            parts.append(piece)
            length += len(piece.encode())
        return "".join(parts)

    def wrong(self, data_type: str) -> Any:
        """A value no converter of `data_type` accepts."""
        return self.pick(_WRONG_VALUES[data_type])

    def bad_day(self, kind: Kind) -> date:
        """The day of a date kind: 1970-01-01 (epoch zero) or 2099-12-31 (a placeholder)."""
        return EPOCH_DAY if kind is DATE_1970 else FAR_DAY

    # -- books -----------------------------------------------------------------------------------

    def table(self, name: str) -> Books:
        """The books of one raw table."""
        return self.books.setdefault(name, Books())

    def good(self, table: str, key: str, text: Any) -> None:
        """A good record served: it must load with its text."""
        books = self.table(table)
        books.served += 1
        books.loaded[(key, text)] += 1

    def served_bad(
        self,
        kind: Kind,
        table: str,
        record_id: str | None,
        key: str = "",
        text: Any = None,
        *,
        loads: bool | None = None,
    ) -> None:
        """A bad record served: quarantined as `record_id`, or (a kind that loads, or `loads` where a
        source differs from the kind) loaded as key/text."""
        books = self.table(table)
        books.served += 1
        self.bad.append(Bad(kind, table, record_id))
        if kind.loads if loads is None else loads:
            books.loaded[(key, text)] += 1
        else:
            books.quarantined[record_id] += 1
            books.kinds[kind.name] += 1

    def also_quarantined(self, kind: Kind, table: str, record_id: str | None) -> None:
        """A bad record served in `table` as well (one wire record feeding two tables)."""
        books = self.table(table)
        books.served += 1
        books.quarantined[record_id] += 1
        books.kinds[kind.name] += 1

    def per_kind(self) -> dict[str, int]:
        """Bad records served per kind."""
        return dict(sorted(Counter(bad.kind.name for bad in self.bad).items()))


# The kinds a quarantine reason can tell, the most specific words first (a reason of a wrong type
# says "expected …", and so does one of a NaN).
_BY_REASON = (DUPLICATE_KEY, DATE_1970, DATE_2099, NEGATIVE_SPEND, NAN_SPEND, MISSING_KEY, WRONG_TYPE)


def kind_of_reason(reason: str) -> str | None:
    """The kind of bad record a quarantine reason speaks of, or None when it names none."""
    return next((kind.name for kind in _BY_REASON if kind.word in reason), None)


Plant = Callable[[Any, Fuzzer], None]
