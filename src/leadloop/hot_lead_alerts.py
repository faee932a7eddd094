"""Hot leads within minutes: touches seen since the last look, judged against the published marts.

The light path between two nights. It reads only the published marts (read-only, one connection: a
night writing the warehouse is never disturbed and never waits) and touches fetched straight from the
platforms, finds the persons a touch makes hot, and says whom to tell: one message per owner, at most
one alert per person and rule per cooldown, held back during quiet hours. Its own memory (how far it
has read, what it sent, what waits for the morning) is an `AlertState` the caller keeps (the Dagster
sensor's cursor). The rules are mart_hot_leads': dormant_account_reengaged, a re-engaging touch (dbt var
hot_lead_reengaging_touch_types) by a person of a company the marts call dormant at that moment
(dim_accounts.dormant_at, var dormant_account_after_months after its last purchase, no deal open); and
score_crossed_mql_threshold, a person whose latest journey is open and whose score now (last night's, moved on
by what they just did: leadloop.live_lead_score) passed var lead_score_mql_threshold, which last night's had not.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from leadloop import settings
from leadloop.identity.lookup import match_customers
from leadloop.live_lead_score import LiveScore, live_scores

DORMANT_REENGAGED = "dormant_account_reengaged"
SCORE_CROSSED_MQL = "score_crossed_mql_threshold"
COOLDOWN_ENV = "LEADLOOP_HOT_LEAD_COOLDOWN_HOURS"
QUIET_HOURS_ENV = "LEADLOOP_HOT_LEAD_QUIET_HOURS"
ROBOTS_ENV = "LEADLOOP_HOT_LEAD_ROBOTS"
WEBHOOK_ENV = "LEADLOOP_HOT_LEAD_WEBHOOK_URL"
LINK_ENV = "LEADLOOP_HOT_LEAD_LINK"
LOOKBACK_ENV = "LEADLOOP_HOT_LEAD_LOOKBACK_MINUTES"
MAX_TOUCHES = 10  # the latest touches one alert lists (a person held overnight may do many things)
DEFAULT_LINK = "http://127.0.0.1:3000/assets/marts/mart_hot_leads"
Query = Callable[[str], tuple[list[str], list[tuple]]]


@dataclass(frozen=True)
class LiveTouch:
    """One touch read from a platform after the night: who (their identifiers, strongest first), what, when."""

    key: str  # unique per platform record, e.g. sensors:<digest>, wecom:<external_userid>|<staff>
    touch_type: str  # a fct_touchpoints touch type
    touched_at: datetime  # UTC
    identifiers: tuple[str, ...]
    what: str  # what a seller reads, e.g. 阅读了《CMO 年度报告》


@dataclass(frozen=True)
class Hit:
    """A person a touch made hot for a rule, with what the marts know of them and their company."""

    customer_id: str
    rule: str
    touches: tuple[tuple[str, str], ...]  # (UTC ISO time, what), in time order
    masked_name: str | None
    job_title: str | None
    lead_score: float | None
    lead_grade: str | None
    account_id: str | None
    account_name: str | None
    crm: str | None
    crm_account_id: str | None
    owner_user_id: str | None
    owner_name: str | None
    live_score: float | None = None  # the score now, with what they just did (leadloop.live_lead_score)
    live_grade: str | None = None

    @property
    def dedup_key(self) -> str:
        """One alert per person and rule per cooldown."""
        return f"{self.customer_id}|{self.rule}"

    @property
    def owner_key(self) -> str:
        """`<crm>:<owner user id>`, how LEADLOOP_HOT_LEAD_ROBOTS names an owner ('unowned' without one)."""
        return f"{self.crm}:{self.owner_user_id}" if self.crm and self.owner_user_id else "unowned"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Hit:
        return cls(**{**data, "touches": tuple(tuple(pair) for pair in data["touches"])})


@dataclass(frozen=True)
class AlertSettings:
    """What the team set (environment, read at every look) and what the dbt project says."""

    cooldown: timedelta
    quiet_hours: tuple[time, time] | None
    time_zone: ZoneInfo
    robots: Mapping[str, str]
    default_webhook: str
    link: str
    lookback: timedelta
    reengaging_touch_types: frozenset[str]

    @classmethod
    def from_environment(cls) -> AlertSettings:
        """LEADLOOP_HOT_LEAD_* settings; dbt vars business_time_zone and hot_lead_reengaging_touch_types."""
        return cls(
            cooldown=timedelta(hours=_number(COOLDOWN_ENV, 24.0)),
            quiet_hours=_quiet_hours(os.environ.get(QUIET_HOURS_ENV, "")),
            time_zone=ZoneInfo(settings.project_var("business_time_zone")),
            robots=_robots(os.environ.get(ROBOTS_ENV, "").strip()),
            default_webhook=os.environ.get(WEBHOOK_ENV, "").strip(),
            link=os.environ.get(LINK_ENV, "").strip() or DEFAULT_LINK,
            lookback=timedelta(minutes=_number(LOOKBACK_ENV, 10.0)),
            reengaging_touch_types=frozenset(settings.project_var("hot_lead_reengaging_touch_types")),
        )

    def is_quiet(self, now: datetime) -> bool:
        """Whether `now` falls in the quiet hours (business time zone; a span may cross midnight)."""
        if self.quiet_hours is None:
            return False
        start, end = self.quiet_hours
        local = now.astimezone(self.time_zone).time()
        return start <= local < end if start <= end else (local >= start or local < end)

    def webhook_of(self, owner_key: str) -> str:
        """The owner's robot, else the sales group's (LEADLOOP_HOT_LEAD_WEBHOOK_URL); '' for none."""
        return str(self.robots.get(owner_key) or self.default_webhook)


def _robots(text: str) -> dict[str, str]:
    """LEADLOOP_HOT_LEAD_ROBOTS: a JSON object of '<crm>:<owner user id>' → that owner's robot webhook URL."""
    try:
        robots = json.loads(text) if text else {}
    except ValueError:
        robots = None
    if isinstance(robots, dict):
        return robots
    raise ValueError(f"{ROBOTS_ENV} must be a JSON object of '<crm>:<owner user id>' → WeCom robot webhook URL,"
                     f" e.g. {{\"neocrm:1100000000004\": \"https://…/cgi-bin/webhook/send?key=…\"}}; got {text[:80]!r}")


def _number(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    try:
        value = float(text) if text else default
    except ValueError:
        raise ValueError(f"{name} must be a number, got {text!r}") from None
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {text!r}")
    return value


def _quiet_hours(text: str) -> tuple[time, time] | None:
    """'22:00-08:00' → (22:00, 08:00); empty → no quiet hours."""
    if not text.strip():
        return None
    try:
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise ValueError(f"{QUIET_HOURS_ENV} must look like 22:00-08:00 (business time zone), got {text!r}") from None
    return start, end


@dataclass
class AlertState:
    """The light path's memory between looks, kept as JSON (the sensor's cursor)."""

    sensors_since: str | None = None  # UTC ISO: events from here (minus the look-back) are read next
    wecom_since: int | None = None  # unix seconds: follow relations added from here on are new
    seen: dict[str, str] = field(default_factory=dict)  # touch key → UTC ISO time, within the look-back
    sent: dict[str, str] = field(default_factory=dict)  # person|rule → UTC ISO time of its alert
    pending: list[dict[str, Any]] = field(default_factory=list)  # hits held back by quiet hours

    @classmethod
    def from_json(cls, text: str | None) -> AlertState:
        return cls(**json.loads(text)) if text else cls()

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    def unseen(self, touches: Iterable[LiveTouch], read_from: datetime) -> list[LiveTouch]:
        """Touches not handled at an earlier look. Keys of touches before `read_from`, where this look
        began reading, are forgotten: no later look reads back that far."""
        self.seen = {key: at for key, at in self.seen.items() if datetime.fromisoformat(at) >= read_from}
        fresh = [touch for touch in touches if touch.key not in self.seen and touch.touched_at >= read_from]
        self.seen.update({touch.key: touch.touched_at.isoformat() for touch in fresh})
        return fresh


PERSONS_SQL = """
    select customers.customer_id, customers.masked_name, customers.job_title,
        customers.lead_score, customers.lead_grade,
        accounts.account_id, accounts.account_name, accounts.primary_crm, accounts.primary_crm_account_id,
        accounts.owner_user_id, accounts.owner_name, accounts.dormant_at
    from marts.dim_customers as customers
    left join marts.dim_accounts as accounts
        on customers.account_id = accounts.account_id
    where customers.customer_id in ({ids})
"""


def hot_hits(touches: Sequence[LiveTouch], query: Query, config: AlertSettings, now: datetime) -> list[Hit]:
    """The persons these touches make hot, each with their qualifying touches and their score now, moved on by
    every re-engaging touch they just made (published marts only)."""
    reengaging = [touch for touch in touches if touch.touch_type in config.reengaging_touch_types]
    customers = match_customers([touch.identifiers for touch in reengaging], query)
    known = sorted({customer for customer in customers if customer})
    if not known:
        return []
    _require_dormant_at(query)
    listed = ", ".join("'" + customer.replace("'", "''") + "'" for customer in known)
    columns, rows = query(PERSONS_SQL.format(ids=listed))
    persons = {row[0]: dict(zip(columns, row, strict=True)) for row in rows}
    for person in persons.values():  # a decimal, as JSON cannot keep it in the cursor
        person["lead_score"] = None if person["lead_score"] is None else float(person["lead_score"])
    touched: dict[str, list[LiveTouch]] = {}
    for touch, customer in zip(reengaging, customers, strict=True):
        if customer in persons:
            touched.setdefault(customer, []).append(touch)
    scores = live_scores({customer: [(t.touch_type, t.touched_at) for t in found]
                          for customer, found in touched.items()}, query, now)
    hits = []
    for customer, found in sorted(touched.items()):
        person, score = persons[customer], scores.get(customer)
        # no company, a new one (never bought) or an active one (deal open) has no dormant_at
        dormant_at = person["dormant_at"] and person["dormant_at"].replace(tzinfo=UTC)
        comeback = [touch for touch in found if dormant_at and touch.touched_at > dormant_at]
        if comeback:
            hits.append(_hit(person, DORMANT_REENGAGED, comeback, score))
        if score is not None and score.crossed_mql_threshold:
            hits.append(_hit(person, SCORE_CROSSED_MQL, found, score))
    return hits


def _require_dormant_at(query: Query) -> None:
    """Marts published by an older leadloop lack the column the rule reads: say what fixes it."""
    columns, _ = query("select * from marts.dim_accounts where 1 = 0")
    if "dormant_at" not in columns:
        raise RuntimeError("the published marts have no dim_accounts.dormant_at (published by an older leadloop):"
                           " run a night (`leadloop night`) to publish this version's marts")


def _hit(person: Mapping[str, Any], rule: str, touches: Sequence[LiveTouch], live: LiveScore | None) -> Hit:
    ordered = sorted(touches, key=lambda touch: (touch.touched_at, touch.key))
    return Hit(customer_id=person["customer_id"], rule=rule,
               touches=tuple((touch.touched_at.isoformat(), touch.what) for touch in ordered),
               masked_name=person["masked_name"], job_title=person["job_title"], lead_score=person["lead_score"],
               lead_grade=person["lead_grade"], account_id=person["account_id"],
               account_name=person["account_name"], crm=person["primary_crm"],
               crm_account_id=person["primary_crm_account_id"], owner_user_id=person["owner_user_id"],
               owner_name=person["owner_name"],
               live_score=None if live is None else float(live.total_score),
               live_grade=None if live is None else live.lead_grade)


def due_alerts(hits: Sequence[Hit], state: AlertState, now: datetime, config: AlertSettings) -> dict[str, list[Hit]]:
    """Owner key → the hits to tell that owner now. Hits of a person and rule alerted within the cooldown
    are dropped; in quiet hours everything waits in `state.pending` for the first look after them."""
    horizon = now - config.cooldown
    state.sent = {key: at for key, at in state.sent.items() if datetime.fromisoformat(at) > horizon}
    waiting: dict[str, Hit] = {}
    for hit in [*map(Hit.from_dict, state.pending), *hits]:
        if hit.dedup_key in state.sent:
            continue
        earlier = waiting.get(hit.dedup_key)
        waiting[hit.dedup_key] = hit if earlier is None else _merged(earlier, hit)
    if config.is_quiet(now):
        state.pending = [asdict(hit) for hit in waiting.values()]
        return {}
    state.pending = []
    by_owner: dict[str, list[Hit]] = {}
    for hit in waiting.values():
        by_owner.setdefault(hit.owner_key, []).append(hit)
    return by_owner


def _merged(earlier: Hit, later: Hit) -> Hit:
    """One hit with the touches of both (a person who did more while waiting)."""
    touches = tuple(sorted(set(earlier.touches) | set(later.touches)))[-MAX_TOUCHES:]
    return Hit(**{**asdict(later), "touches": touches})


def mark_sent(hits: Iterable[Hit], state: AlertState, now: datetime) -> None:
    """Remember the alerts just sent, for the cooldown."""
    state.sent.update({hit.dedup_key: now.isoformat() for hit in hits})


def hold(hits: Iterable[Hit], state: AlertState) -> None:
    """Keep alerts that could not go out (no robot for the owner, the robot failed) for the next look."""
    state.pending += [asdict(hit) for hit in hits]


REASONS = {DORMANT_REENGAGED: "沉睡客户回访", SCORE_CROSSED_MQL: "评分刚达到 MQL"}


def _score_text(hit: Hit) -> str:
    """'56.2（B，实时；昨夜 48）': the score now beside last night's; last night's alone when the person's latest
    journey was not scored; 无 without any."""
    last = None if hit.lead_score is None else f"{hit.lead_score:g}"
    if hit.live_score is None:
        return "无" if last is None else f"{last}（{hit.lead_grade}，昨夜）"
    return f"{hit.live_score:g}（{hit.live_grade}，实时" + ("" if last is None else f"；昨夜 {last}") + "）"


def owner_message(hits: Sequence[Hit], config: AlertSettings) -> str:
    """The markdown one owner reads: each hot person, their company, what they did, score and a link."""
    first = hits[0]
    owner = first.owner_name or first.owner_user_id or "未分配"
    lines = [f"**热线索提醒 · {owner}**：{len(hits)} 位联系人刚刚有动作"]
    for hit in sorted(hits, key=lambda hit: (hit.account_name or "", hit.customer_id)):
        who = " ".join(part for part in (hit.masked_name, hit.job_title) if part) or hit.customer_id
        score = _score_text(hit)
        link = config.link.format(**{key: value or "" for key, value in asdict(hit).items() if key != "touches"})
        lines += [f"> **{who}** · {hit.account_name or hit.account_id or '（公司未知）'}",
                  f"> 原因：<font color=\"warning\">{REASONS.get(hit.rule, hit.rule)}</font>　评分：{score}"]
        for at, what in hit.touches:
            local = datetime.fromisoformat(at).astimezone(config.time_zone)
            lines.append(f"> {local:%m-%d %H:%M} {what}")
        lines.append(f"> [查看]({link})")
    return "\n".join(lines)
