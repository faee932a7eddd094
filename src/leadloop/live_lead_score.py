"""A person's lead score as it stands now, between two nights (issue 12: the light path scores).

mart_lead_scores scores every journey once a day, at night. A hot-lead alert wants the score when the contact
acts, moved on by what they just did. This computes the behaviour part the way the dbt model
int_lead_scores_daily does — every touch of the person (published fct_touchpoints, plus the touches read
live), per rule points × the sum of 0.5^(age in whole business days / half-life) over its touches, to six
decimals, then capped at ± cap — under the rule set in force today (seeds scoring_rule_sets and
scoring_behaviour_rules, as the night reads them). Fit is last night's: CRM fields reach the warehouse at night
only. Both are weighted by the region weight of last night's row, and the grade and MQL by score follow the same
dbt vars as the mart. Reads the published marts only (a `Query`, as the sensor's), never the night's file.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from leadloop import settings

Query = Callable[[str], tuple[list[str], list[tuple]]]
SIX_PLACES, TWO_PLACES = Decimal("0.000001"), Decimal("0.01")


@dataclass(frozen=True)
class BehaviourRule:
    """One behaviour rule of a rule set (seed scoring_behaviour_rules)."""

    rule_id: str
    touch_type: str
    points: Decimal
    cap: Decimal | None
    half_life_days: Decimal


@dataclass(frozen=True)
class LiveScore:
    """A person's score now: last night's fit, behaviour with the live touches, total, grade, MQL by score."""

    customer_id: str
    journey_id: str
    scored_on: date  # the business day it is computed for
    rule_set_version: str
    fit_score: Decimal
    behaviour_score: Decimal
    total_score: Decimal
    lead_grade: str
    is_mql_by_score: bool
    last_night_total_score: Decimal
    last_night_scored_on: date
    was_mql_by_score: bool  # last night
    journey_is_open: bool  # neither won nor lost (mart_hot_leads' open journey)

    @property
    def crossed_mql_threshold(self) -> bool:
        """An open journey whose score passed the MQL threshold since last night."""
        return self.journey_is_open and self.is_mql_by_score and not self.was_mql_by_score


def _seed_rows(name: str) -> list[dict[str, str]]:
    with open(settings.DBT_PROJECT_DIR / "seeds" / f"{name}.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def rule_set_on(day: date) -> str:
    """The rule set in force on a day: the latest whose effective_from is on or before it."""
    in_force = [(row["effective_from"], row["rule_set_version"]) for row in _seed_rows("scoring_rule_sets")
                if date.fromisoformat(row["effective_from"]) <= day]
    if not in_force:
        raise ValueError(f"no scoring rule set is in force on {day}: seed scoring_rule_sets starts later")
    return max(in_force)[1]


def behaviour_rules(rule_set_version: str) -> list[BehaviourRule]:
    """The behaviour rules of a rule set."""
    return [BehaviourRule(row["rule_id"], row["touch_type"], Decimal(row["points"]),
                          Decimal(row["cap"]) if row["cap"] else None, Decimal(row["half_life_days"]))
            for row in _seed_rows("scoring_behaviour_rules") if row["rule_set_version"] == rule_set_version]


def behaviour_points(touches: Iterable[tuple[str, date]], day: date, rules: Sequence[BehaviourRule]) -> Decimal:
    """The behaviour points (before the region weight) of touches (type, business day) as of a day."""
    total = Decimal(0)
    touches = list(touches)
    for rule in rules:
        touch_days = [touched_on for touch_type, touched_on in touches
                      if touch_type == rule.touch_type and touched_on <= day]
        if not touch_days:
            continue
        summed = _decayed(rule, touch_days, day)
        if rule.cap is not None:
            summed = max(-rule.cap, min(rule.cap, summed))
        total += summed
    return total


def _decayed(rule: BehaviourRule, touch_days: list[date], day: date) -> Decimal:
    """points × Σ 0.5^(age / half-life), in the order of the night's models: summed as of the last touch day
    (int_customer_behaviour_points_decayed), then decayed to the day (int_lead_scores_daily), to 6 places."""
    half_life = float(rule.half_life_days)
    last = max(touch_days)
    on_last_day = sum(0.5 ** ((last - touched_on).days / half_life) for touched_on in touch_days)
    value = float(rule.points) * on_last_day * 0.5 ** ((day - last).days / half_life)
    return Decimal(repr(value)).quantize(SIX_PLACES, rounding=ROUND_HALF_UP)


def grade_of(total: Decimal) -> str:
    """The grade of a total (var lead_score_grades: the lowest total of A, B and C; below C is D)."""
    floors = settings.project_var("lead_score_grades")
    return next((grade for grade in ("A", "B", "C") if total >= Decimal(str(floors[grade]))), "D")


LAST_ROWS_SQL = """
    select scores.customer_id, scores.journey_id, scores.score_on, scores.fit_score, scores.region_weight,
        scores.total_score, scores.is_mql_by_score,
        journeys.won_at is null and journeys.lost_at is null as journey_is_open
    from marts.mart_lead_scores as scores
    inner join marts.dim_customers as customers
        on scores.customer_id = customers.customer_id
        and scores.score_on = customers.lead_scored_on
    inner join marts.fct_lead_journeys as journeys
        on scores.journey_id = journeys.journey_id
    where scores.customer_id in ({ids})
    order by scores.customer_id, journeys.lead_at desc, journeys.lead_id desc  -- as dim_customers picks
"""
TOUCHES_SQL = """
    select customer_id, touch_type, touched_at from marts.fct_touchpoints where customer_id in ({ids})
"""


def live_scores(live_touches: Mapping[str, Iterable[tuple[str, datetime]]], query: Query,
                now: datetime) -> dict[str, LiveScore]:
    """Customer id → their score now: the persons given (with the touches read live since the night: type and
    UTC time) whose latest journey the night scored. A live touch the night already loaded counts once."""
    ids = sorted(live_touches)
    if not ids:
        return {}
    listed = ", ".join("'" + customer.replace("'", "''") + "'" for customer in ids)
    columns, rows = query(LAST_ROWS_SQL.format(ids=listed))
    last_rows: dict[str, dict] = {}
    for row in rows:
        last_rows.setdefault(row[0], dict(zip(columns, row, strict=True)))  # the latest journey's row
    _, touch_rows = query(TOUCHES_SQL.format(ids=listed))
    known: dict[str, set[tuple[str, datetime]]] = {}
    for customer, touch_type, touched_at in touch_rows:
        known.setdefault(customer, set()).add((touch_type, touched_at))
    zone = ZoneInfo(settings.project_var("business_time_zone"))
    today = now.astimezone(zone).date()
    version = rule_set_on(today)
    rules = behaviour_rules(version)
    threshold = Decimal(str(settings.project_var("lead_score_mql_threshold")))
    scores = {}
    for customer, last in last_rows.items():
        history = known.get(customer, set())
        # fct_touchpoints keeps UTC times without a zone; a live touch the night loaded is the same instant
        fresh = {(touch_type, at.astimezone(ZoneInfo("UTC")).replace(tzinfo=None))
                 for touch_type, at in live_touches[customer]}
        touches = [(touch_type, _business_day(at, zone)) for touch_type, at in history | fresh]
        weight = Decimal(str(last["region_weight"]))
        fit = Decimal(str(last["fit_score"]))
        behaviour = (behaviour_points(touches, today, rules) * weight).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
        total = fit + behaviour
        scores[customer] = LiveScore(customer, last["journey_id"], today, version, fit, behaviour, total,
                                     grade_of(total), total >= threshold, Decimal(str(last["total_score"])),
                                     last["score_on"], bool(last["is_mql_by_score"]), bool(last["journey_is_open"]))
    return scores


def _business_day(utc_naive: datetime, zone: ZoneInfo) -> date:
    return utc_naive.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone).date()
