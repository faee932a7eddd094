"""Lead scores recomputed in plain Python (issue 12), to compare with mart_lead_scores.

The inputs are the CRM layer (int_crm__*, custom fields included as their custom_<name> columns),
fct_touchpoints, the identity observations and the scoring seeds as the files hold them; the rules are
applied from their text, never through the warehouse's own matching (int_journey_fit_rules_matched).
Used on the session's demo night (tests/test_lead_scoring.py) and on the subset nights
(tests/test_source_subsets.py).
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from leadloop import settings
from leadloop.settings import project_var

CENT = Decimal("0.01")
MICRO = Decimal("0.000001")
SCORE_COLUMNS = ("rule_set_version", "region_weight", "fit_score", "behaviour_score", "total_score", "lead_grade",
                 "is_mql_by_score", "top_reasons")
CUSTOM_PREFIX = "custom."  # attribute custom.<name> of a custom CRM field (var crm_custom_fields)


def rows(con: Any, sql: str) -> list[dict]:
    """A query's rows as dicts."""
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


def seed(name: str) -> list[dict[str, str]]:
    """A scoring seed as its CSV file holds it."""
    with (settings.DBT_PROJECT_DIR / "seeds" / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@cache
def var(name: str) -> Any:
    """A var of dbt_project.yml (read once)."""
    return project_var(name)


def custom_fields() -> dict[str, list[str]]:
    """var crm_custom_fields: per CRM object (leads, contacts, accounts), the custom columns scoring reads."""
    return {object_: list(names or []) for object_, names in (var("crm_custom_fields") or {}).items()}


@cache
def _business_zone() -> ZoneInfo:
    return ZoneInfo(var("business_time_zone"))


def business_day(moment: datetime | None) -> date | None:
    """The business-time-zone day of a UTC timestamp (stored without a zone)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC).astimezone(_business_zone()).date()


def _clean(value: Any) -> str | None:
    text = None if value is None else str(value).strip().lower()
    return text or None


def _points_text(points: Decimal, signed: bool = True) -> str:
    """As the mart writes points: 2 places, no trailing zeros, a sign."""
    text = str(points.quantize(CENT, ROUND_HALF_UP))
    if text.endswith(".00"):
        text = text[:-3]
    elif text.endswith("0") and "." in text:
        text = text[:-1]
    return ("+" if signed and points.quantize(CENT, ROUND_HALF_UP) >= 0 else "") + text


@dataclass
class Scoring:
    """Everything the expected scores are computed from."""

    attributes: dict[str, dict[str, set[str]]]
    touches: dict[str, list[tuple[date, str]]]
    rule_sets: list[tuple[date, str]]
    fit_rules: dict[str, list[dict[str, str]]]
    behaviour_rules: dict[str, list[dict[str, str]]]
    weights: dict[tuple[str, str], Decimal]


def _custom_values(record: dict, object_: str) -> dict[str, set[Any]]:
    """attribute custom.<name> → the record's value of each custom field of its object."""
    return {CUSTOM_PREFIX + name: {record.get(f"custom_{name}")} for name in custom_fields().get(object_, [])}


def journey_attributes(con: Any) -> dict[str, dict[str, set[str]]]:
    """Per journey, what fit rules see: the converted account (else the company's oldest CRM account),
    the converted contact, the lead, the domains of their e-mail addresses, and the custom fields of the
    lead, the contact and the account."""
    journeys = rows(con, "select journey_id, account_id from marts.fct_lead_journeys")
    leads = {r["lead_id"]: r for r in rows(con, "select * from intermediate.int_crm__leads")}
    contacts = {r["contact_id"]: r for r in rows(con, "select * from intermediate.int_crm__contacts")}
    accounts = {r["account_record_id"]: r for r in rows(con, "select * from intermediate.int_crm__accounts")}
    members: dict[str, list[dict]] = defaultdict(list)
    for identifier, account_id in con.execute(
            "select identifier, account_id from intermediate.int_account_ids_assigned").fetchall():
        if identifier in accounts:
            members[account_id].append(accounts[identifier])
    emails: dict[str, set[str]] = defaultdict(set)
    for record_id, identifier in con.execute("""
            select record_id, identifier from identity.identifier_observations
            where identifier_type = 'email' and identifier is not null""").fetchall():
        emails[record_id].add(identifier.split("@")[1])
    result = {}
    for journey in journeys:
        lead = leads[journey["journey_id"]]
        account = accounts.get(lead["converted_account_record_id"])
        if account is None and members.get(journey["account_id"]):
            account = min(members[journey["account_id"]], key=lambda a: (a["created_at"], a["account_record_id"]))
        contact = contacts.get(lead["converted_contact_id"]) or {}
        account = account or {}
        values = {
            "industry": {account.get("industry") or lead["industry"]},
            "province": {account.get("province") or lead["province"]},
            "employee_count": {account.get("employee_count")},
            "job_title": {contact.get("job_title") or lead["job_title"]},
            "company_name": {lead["company_name"], account.get("account_name")},
            "email_domain": emails[lead["lead_id"]] | emails.get(lead["converted_contact_id"], set()),
        }
        for record, object_ in ((lead, "leads"), (contact, "contacts"), (account, "accounts")):
            for name, found in _custom_values(record, object_).items():
                values[name] = values.get(name, set()) | found
        result[journey["journey_id"]] = {k: {c for v in vs if (c := _clean(v))} for k, vs in values.items()}
    return result


def scoring(con: Any) -> Scoring:
    """The inputs of the recomputation, read from a warehouse and the seed files."""
    touches: dict[str, list[tuple[date, str]]] = defaultdict(list)
    for customer_id, touched_at, touch_type in con.execute(
            "select customer_id, touched_at, touch_type from marts.fct_touchpoints").fetchall():
        touches[customer_id].append((business_day(touched_at), touch_type))
    fit_rules: dict[str, list[dict[str, str]]] = defaultdict(list)
    for rule in seed("scoring_fit_rules"):
        fit_rules[rule["rule_set_version"]].append(rule)
    behaviour_rules: dict[str, list[dict[str, str]]] = defaultdict(list)
    for rule in seed("scoring_behaviour_rules"):
        behaviour_rules[rule["rule_set_version"]].append(rule)
    return Scoring(
        attributes=journey_attributes(con),
        touches=touches,
        rule_sets=sorted((date.fromisoformat(r["effective_from"]), r["rule_set_version"])
                         for r in seed("scoring_rule_sets")),
        fit_rules=fit_rules,
        behaviour_rules=behaviour_rules,
        weights={(r["rule_set_version"], r["province"]): Decimal(r["weight"]) for r in seed("scoring_region_weights")},
    )


def matches(rule: dict[str, str], value: str) -> bool:
    """Whether a (lower-cased) attribute value passes a fit rule, read from the rule's text."""
    operand = rule["match_value"].strip().lower()
    if rule["match_operator"] == "in":
        return value in operand.split("|")
    if rule["match_operator"] == "matches":
        return re.search(operand, value, flags=re.IGNORECASE) is not None
    assert rule["match_operator"] == "between", rule
    if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", value):
        return False
    low, high = (side.strip() for side in operand.split("|"))
    return (not low or Decimal(value) >= Decimal(low)) and (not high or Decimal(value) <= Decimal(high))


def expected_score(inputs: Scoring, journey_id: str, customer_id: str | None, day: date) -> dict[str, Any]:
    """The row mart_lead_scores should hold for a journey on a day, computed from the rules' text."""
    version = max(v for start, v in inputs.rule_sets if start <= day)
    attributes = inputs.attributes[journey_id]
    province = next(iter(attributes["province"]), None)
    weight = inputs.weights.get((version, province), Decimal(1))
    reasons: list[tuple[Decimal, int, str, str]] = []
    fit = Decimal(0)
    for rule in inputs.fit_rules[version]:
        if any(matches(rule, value) for value in attributes.get(rule["attribute_name"].strip().lower(), set())):
            points = Decimal(rule["points"])
            fit += points
            reasons.append((points, 1, rule["rule_id"], rule["reason_label"]))
    behaviour = Decimal(0)
    for rule in inputs.behaviour_rules[version]:
        ages = [(day - touched_on).days for touched_on, touch_type in inputs.touches.get(customer_id, [])
                if touch_type == rule["touch_type"] and touched_on <= day]
        if not ages:
            continue
        half_life = float(rule["half_life_days"])
        # The rule's sum rounded once to 6 places (floats summed in another order differ far below that).
        decayed = Decimal(float(rule["points"]) * sum(0.5 ** (age / half_life) for age in ages)).quantize(
            MICRO, ROUND_HALF_UP)
        cap = Decimal(rule["cap"]) if rule["cap"] else None
        points = decayed if cap is None else max(-cap, min(cap, decayed))
        behaviour += points
        reasons.append((points, 2, rule["rule_id"], f"{len(ages)}× {rule['touch_type']}"))
    fit_score = (fit * weight).quantize(CENT, ROUND_HALF_UP)
    behaviour_score = (behaviour * weight).quantize(CENT, ROUND_HALF_UP)
    total = fit_score + behaviour_score
    grades = var("lead_score_grades")
    grade = next((g for g in ("A", "B", "C") if total >= grades[g]), "D")
    ranked = sorted((r for r in reasons if r[0].quantize(CENT, ROUND_HALF_UP) != 0),
                    key=lambda r: (-abs(r[0].quantize(CENT, ROUND_HALF_UP)), r[1], r[2]))
    texts = [f"{text} {_points_text(points)}" for points, _, _, text in ranked[:var("lead_score_reason_count")]]
    if weight != 1:
        texts.append(f"地区权重 ×{_points_text(weight, signed=False)}")
    return {"rule_set_version": version, "region_weight": weight, "fit_score": fit_score,
            "behaviour_score": behaviour_score, "total_score": total, "lead_grade": grade,
            "is_mql_by_score": total >= var("lead_score_mql_threshold"),
            "top_reasons": "; ".join(texts) or None}


def scored_days(con: Any) -> dict[str, tuple[date, date]]:
    """Each journey's first and last day to score: lead day to close day, or to the data's as-of day."""
    as_of = business_day(con.execute("""
        select greatest(
            (select max(touched_at) from marts.fct_touchpoints), max(lead_at), max(won_at), max(lost_at))
        from marts.fct_lead_journeys""").fetchone()[0])
    spans = {}
    for journey in rows(con, "select journey_id, lead_at, won_at, lost_at from marts.fct_lead_journeys"):
        lead_on = business_day(journey["lead_at"])
        closed_on = business_day(journey["won_at"] or journey["lost_at"])
        last = as_of if closed_on is None or closed_on > as_of else max(closed_on, lead_on)
        spans[journey["journey_id"]] = (lead_on, last)
    return spans


def unscored_days(con: Any, spans: dict[str, tuple[date, date]]) -> dict[str, Any]:
    """Journeys whose scored days in mart_lead_scores are not exactly every day of their span."""
    actual = {r["journey_id"]: r for r in rows(con, """
        select journey_id, min(score_on) as first_on, max(score_on) as last_on, count(*) as days
        from marts.mart_lead_scores group by journey_id""")}
    return {j: (actual.get(j), span) for j, span in spans.items()
            if (actual.get(j) or {}).get("first_on") != span[0] or actual[j]["last_on"] != span[1]
            or actual[j]["days"] != (span[1] - span[0]).days + 1}


def score_differences(con: Any, inputs: Scoring, days: dict[str, set[date]]) -> tuple[list[tuple], list[dict]]:
    """(differences, expected rows) between mart_lead_scores and the recomputation on the given days of
    the given journeys (days outside a journey's span are skipped)."""
    spans = scored_days(con)
    customers = dict(con.execute("select journey_id, customer_id from marts.fct_lead_journeys").fetchall())
    seen, differences = [], []
    for journey_id, wanted in days.items():
        first, last = spans[journey_id]
        expected = {day: expected_score(inputs, journey_id, customers[journey_id], day)
                    for day in wanted if first <= day <= last}
        if not expected:
            continue
        actual = {r["score_on"]: r for r in rows(con, f"""
            select * from marts.mart_lead_scores
            where journey_id = '{journey_id}' and score_on in ({", ".join(f"date '{d}'" for d in expected)})""")}
        for day, want in expected.items():
            got = actual.get(day, {})
            differences += [(journey_id, day, c, got.get(c), v) for c, v in want.items() if got.get(c) != v]
            seen.append(want)
    return differences, seen


# The demo's custom lead field (leadloop.demo.custom_fields: meaning budgetRange, column budget_range).
DEMO_CUSTOM_ATTRIBUTE = CUSTOM_PREFIX + "budget_range"


def custom_rule_truth(world: Any, crm: str, journey_ids: set[str]) -> set[tuple[str, str, str]]:
    """(journey_id, rule set, rule) of every fit rule on the demo's custom field that each journey's lead
    matches, from the world's 预算范围 values (the simulators' source) and the rules' text."""
    from leadloop.demo.custom_fields import budget_range
    from tests.support.crm_keys import lead_key

    assert "budget_range" in custom_fields().get("leads", []), "the demo's field must be in var crm_custom_fields"
    rules = [r for r in seed("scoring_fit_rules") if r["attribute_name"].strip().lower() == DEMO_CUSTOM_ATTRIBUTE]
    expected = set()
    for journey in world.journeys:
        key = lead_key(crm, journey.lead_id)
        value = _clean(budget_range(journey))
        if key in journey_ids and value is not None:
            expected |= {(key, r["rule_set_version"], r["rule_id"]) for r in rules if matches(r, value)}
    return expected


def custom_rule_matches(con: Any) -> set[tuple[str, str, str]]:
    """(journey_id, rule set, rule) of every fit rule on a custom attribute the warehouse matched."""
    return set(con.execute(f"""
        select journey_id, rule_set_version, rule_id from intermediate.int_journey_fit_rules_matched
        where attribute_name = '{DEMO_CUSTOM_ATTRIBUTE}'""").fetchall())
