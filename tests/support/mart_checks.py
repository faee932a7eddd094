"""Every cell of the marts against the demo company's truth, for any warehouse scope: each function
returns the differences (an empty list when the mart equals the truth), so a failing test names them."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from leadloop.demo import salesforce_records
from leadloop.demo.identity_truth import record_truth
from leadloop.demo.touch_truth import identified_sensors_users
from leadloop.demo.truth import FUNNEL_STAGES
from tests.support import crm_truth
from tests.support.crm_keys import lead_key, opportunity_key
from tests.support.funnel import actual_funnel, expected_funnel, funnel_differences
from tests.support.scope import Truth
from tests.support.touch_truth import journey_touches

RECORD_SOURCES = {"neocrm": "neocrm", "salesforce": "salesforce", "sensors": "sensors", "wecom": "wecom"}
OPPORTUNITY_COLUMNS = ("source_lead_id", "sourced_by", "is_marketing_influenced", "outcome", "lost_reason",
                       "opened_at_ms", "poc_started_at_ms", "poc_ended_at_ms", "won_at_ms", "lost_at_ms")


def rows(con: Any, sql: str) -> list[dict[str, Any]]:
    """A query's rows as dicts (DuckDB connection)."""
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, values)) for values in cursor.fetchall()]


def ms(moment: datetime | None) -> int | None:
    """Epoch milliseconds of a UTC timestamp the warehouse stores without time zone."""
    return None if moment is None else int(moment.replace(tzinfo=UTC).timestamp() * 1000)


def _diff(key: Any, column: str, actual: Any, expected: Any) -> list[tuple]:
    return [] if actual == expected else [(key, column, actual, expected)]


def journey_differences(con: Any, truth: Truth) -> list[tuple]:
    """fct_lead_journeys: one row per true journey, named by the first configured CRM, with its CRM,
    channel, every stage time and flag, outcome, person numbering and first and lead-creating touch."""
    crm = truth.scope.naming_crm
    expected = {lead_key(crm, j["lead_id"]): j for j in truth.journeys}
    touches = {lead_key(crm, lead): row for lead, row in journey_touches(truth.journeys, truth.touches).items()}
    numbers: dict[str, int] = {}
    by_person: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for key, journey in expected.items():
        by_person[journey["person_id"]].append((journey["lead_at_ms"], key))
    for journeys in by_person.values():
        numbers.update({key: n for n, (_, key) in enumerate(sorted(journeys), start=1)})
    actual = {row["journey_id"]: row for row in rows(con, "select * from marts.fct_lead_journeys")}
    problems: list[tuple] = [("missing journey", key) for key in expected.keys() - actual.keys()]
    problems += [("unexpected journey", key) for key in actual.keys() - expected.keys()]
    for key in expected.keys() & actual.keys():
        want, got = expected[key], actual[key]
        problems += _diff(key, "crm", got["crm"], crm)
        problems += _diff(key, "journey_number", got["journey_number"], numbers[key])
        for column in ("channel", "lead_source", "lost_reason"):
            problems += _diff(key, column, got[column], want[column])
        for stage in FUNNEL_STAGES:
            problems += _diff(key, f"{stage}_at", ms(got[f"{stage}_at"]), want[f"{stage}_at_ms"])
            if stage != "won":
                problems += _diff(key, f"is_{stage}_skipped", got[f"is_{stage}_skipped"], want[f"is_{stage}_skipped"])
        problems += _diff(key, "lost_at", ms(got["lost_at"]), want["lost_at_ms"])
        problems += _diff(key, "won_amount", got["won_amount"],
                          crm_truth.money(want["won_amount"]) if want["won_amount"] is not None else None)
        problems += _diff(key, "first_touch_at", ms(got["first_touch_at"]), touches[key]["first_touch_at_ms"])
        for column, value in touches[key].items():
            if column != "first_touch_at_ms":
                problems += _diff(key, column, got[column], value)
    return problems


def funnel_cell_differences(con: Any, truth: Truth) -> list[str]:
    """mart_funnel, every cell (counts, rates, spend, costs, revenue, ROI)."""
    return funnel_differences(expected_funnel(truth.journeys, truth.ad_days), actual_funnel(con.cursor()))


def opportunity_differences(con: Any, truth: Truth) -> list[tuple]:
    """fct_opportunities: each true deal once with its lineage, sourcing, influence, stage times and amount."""
    crm = truth.scope.naming_crm
    expected = {opportunity_key(crm, o["opportunity_id"]): o for o in truth.opportunities}
    actual = {row["opportunity_id"]: row for row in rows(con, """
        select opportunity_id, crm, source_lead_id, sourced_by, is_marketing_influenced, outcome, lost_reason,
               epoch_ms(opened_at) as opened_at_ms, epoch_ms(poc_started_at) as poc_started_at_ms,
               epoch_ms(poc_ended_at) as poc_ended_at_ms, epoch_ms(won_at) as won_at_ms,
               epoch_ms(lost_at) as lost_at_ms, won_amount
        from marts.fct_opportunities""")}
    problems: list[tuple] = [("missing deal", key) for key in expected.keys() - actual.keys()]
    problems += [("unexpected deal", key) for key in actual.keys() - expected.keys()]
    for key in expected.keys() & actual.keys():
        want = {**expected[key], "source_lead_id": lead_key(crm, expected[key]["source_lead_id"])}
        got = actual[key]
        problems += _diff(key, "crm", got["crm"], crm)
        for column in OPPORTUNITY_COLUMNS:
            problems += _diff(key, column, got[column], want[column])
        problems += _diff(key, "won_amount", got["won_amount"],
                          crm_truth.money(want["won_amount"]) if want["won_amount"] else None)
    return problems


def _keyed(table: list[dict[str, Any]], *key_columns: str) -> dict[tuple, dict[str, Any]]:
    keyed = {}
    for row in table:
        key = tuple(str(row.pop(c)) if c.endswith("month") else row.pop(c) for c in key_columns)
        keyed[key] = row
    return keyed


def sales_mart_differences(con: Any, truth: Truth) -> list[tuple]:
    """mart_revenue_by_source, mart_poc_analysis and mart_sales_cycle, every cell."""
    problems: list[tuple] = []
    revenue = _keyed(rows(con, "select * from marts.mart_revenue_by_source"), "won_month", "sourced_by", "deal_type")
    expected = crm_truth.revenue_by_source(truth.opportunities)
    problems += [("mart_revenue_by_source rows", sorted(revenue.keys() ^ expected.keys()))] \
        if revenue.keys() != expected.keys() else []
    month_totals: dict[str, Decimal] = defaultdict(Decimal)
    for (month, _, _), row in expected.items():
        month_totals[month] += row["won_revenue"]
    for key in expected.keys() & revenue.keys():
        want = {**expected[key], "share_of_month_revenue": (expected[key]["won_revenue"] / month_totals[key[0]])
                .quantize(Decimal("0.0001"), ROUND_HALF_UP)}
        problems += [("mart_revenue_by_source", key, c, revenue[key][c], v) for c, v in want.items()
                     if revenue[key][c] != v]
    for mart, key_columns, expected_rows in (
        ("mart_poc_analysis", ("poc_started_month", "industry", "poc_outcome", "lost_reason"),
         crm_truth.poc_analysis(truth.opportunities)),
        ("mart_sales_cycle", ("closed_month", "outcome", "sourced_by"), crm_truth.sales_cycle(truth.opportunities)),
    ):
        actual = _keyed(rows(con, f"select * from marts.{mart}"), *key_columns)
        if actual != expected_rows:
            problems.append((mart, {k: (actual.get(k), expected_rows.get(k)) for k in actual.keys() | expected_rows.keys()
                                    if actual.get(k) != expected_rows.get(k)}))
    return problems


def _records_in_scope(truth: Truth) -> list:
    """The person-bearing records of the configured platforms, with their true person and company. A
    web visitor whose own events never said who they are is a person of their own: nothing in the
    data can tie them to anyone."""
    identified = identified_sensors_users(truth.digital, truth.world.as_of_ms)
    records = []
    for record in record_truth(truth.world, truth.digital):
        if record.record.split(":")[0].split("_")[0] not in truth.scope.sources:
            continue
        if record.record.startswith("sensors_user:") and record.record not in identified:
            record = record._replace(person_id=f"anonymous:{record.record}")
        records.append(record)
    return records


def touchpoint_differences(con: Any, truth: Truth) -> Counter:
    """fct_touchpoints as a multiset of (true person, time, type, channel, group, campaign, keyword,
    content): what the warehouse has that the truth does not, and the reverse."""
    owner = {r.record: r.person_id for r in _records_in_scope(truth)}
    actual = Counter((owner[r["source_record_id"]], ms(r["touched_at"]), r["touch_type"], r["channel"],
                      r["channel_group"], r["campaign"], r["keyword"], r["content_id"])
                     for r in rows(con, "select * from marts.fct_touchpoints"))
    expected = Counter((t.person_id, t.at_ms, t.touch_type, t.channel, t.channel_group, t.campaign, t.keyword,
                        t.content) for t in truth.touches)
    return (actual - expected) + Counter({("missing",) + k: v for k, v in (expected - actual).items()})


def customer_differences(con: Any, truth: Truth) -> list[tuple]:
    """dim_customers: one row per true person of the configured platforms (stitching exact), with their
    CRM name and title, records, journeys and where their latest journey stands; people of one company
    share its account."""
    records = _records_in_scope(truth)
    assigned = dict(con.execute("select identifier, customer_id from intermediate.int_customer_ids_assigned").fetchall())
    persons: dict[str, set[str]] = defaultdict(set)
    customers: dict[str, set[str]] = defaultdict(set)
    for record in records:
        persons[record.person_id].add(assigned.get(record.record, "(not stitched)"))
        customers[assigned.get(record.record)].add(record.person_id)
    problems: list[tuple] = [("person split over customers", p, c) for p, c in persons.items() if len(c) > 1]
    problems += [("customer of several persons", c, p) for c, p in customers.items() if len(p) > 1]
    dim = {row["customer_id"]: row for row in rows(con, "select * from marts.dim_customers")}
    problems += [("customers", len(dim), len(persons))] if len(dim) != len(persons) else []
    people = {p.person_id: (p, a) for a in truth.world.accounts for p in a.committee}
    journeys: dict[str, list[dict]] = defaultdict(list)
    for journey in truth.journeys:
        journeys[journey["person_id"]].append(journey)
    crm_people = {r.person_id for r in records if r.record.split(":")[0].endswith(("_lead", "_contact"))}
    for person_id, ids in persons.items():
        row = dim.get(next(iter(ids)))
        if row is None:
            problems.append(("no dim_customers row", person_id))
            continue
        own = [r for r in records if r.person_id == person_id]
        expected = {"record_count": len(own), "journey_count": len(journeys[person_id]),
                    "crm_lead_count": len(journeys[person_id])}
        if person_id in crm_people and person_id in people:
            person, _ = people[person_id]
            expected |= {"masked_name": person.name[:1] + "*", "job_title": person.role}
        if journeys[person_id]:
            latest = max(journeys[person_id], key=lambda j: (j["lead_at_ms"], j["lead_id"]))
            expected |= {"first_lead_at": min(j["lead_at_ms"] for j in journeys[person_id]),
                         "current_stage": _current_stage(latest)}
        got = {**row, "first_lead_at": ms(row["first_lead_at"])}
        problems += [(person_id, c, got[c], v) for c, v in expected.items() if got[c] != v]
    return problems


def _current_stage(journey: dict[str, Any]) -> str:
    if journey["won_at_ms"] is not None:
        return "won"
    if journey["lost_at_ms"] is not None:
        return "lost"
    return next(s for s in reversed(FUNNEL_STAGES[:-1]) if journey[f"{s}_at_ms"] is not None)


def account_differences(con: Any, truth: Truth) -> list[tuple]:
    """dim_accounts, for every company a configured CRM holds: one row (its CRM accounts stitched),
    the primary CRM account's firmographics and owner, when it became a customer, what it won and paid."""
    crms = truth.scope.crms
    if not crms:
        return []
    now = truth.world.as_of_ms
    assigned = dict(con.execute("select identifier, account_id from intermediate.int_account_ids_assigned").fetchall())
    dim = {row["account_id"]: row for row in rows(con, "select * from marts.dim_accounts")}
    won: dict[int, list[dict]] = defaultdict(list)
    for deal in truth.opportunities:
        if deal["won_at_ms"] is not None:
            won[deal["account_id"]].append(deal)
    problems: list[tuple] = []
    for account in truth.world.accounts:
        if account.created_at == 0 or account.created_at > now:
            continue
        records = {crm: _account_record(crm, account.account_id) for crm in crms}
        ids = {assigned.get(record) for record in records.values()}
        if len(ids) != 1 or None in ids:
            problems.append(("company's CRM accounts not stitched into one", account.account_id, ids))
            continue
        row = dim.get(ids.pop())
        if row is None:
            problems.append(("no dim_accounts row", account.account_id))
            continue
        primary = crms[0]  # both CRMs hold it since the same instant: the record name breaks the tie
        paid = [amount for deal in truth.world.opportunities if deal.account_id == account.account_id
                for at, amount in deal.payments if at <= now] if "neocrm" in crms else []
        expected = {
            "crm_account_count": len(crms), "primary_crm": primary,
            "primary_crm_account_id": records[primary].split(":", 1)[1], "account_name": account.name,
            "industry": account.industry, "province": account.province, "city": account.city,
            "employee_count": account.employees,
            "owner_user_id": (str(account.owner_id) if primary == "neocrm"
                              else salesforce_records.user_id(account.owner_id)),
            "customer_since": min((d["won_at_ms"] for d in won[account.account_id]), default=None),
            "lifetime_revenue": sum((crm_truth.money(d["won_amount"]) for d in won[account.account_id]),
                                    Decimal("0.00")),
            "lifetime_payments": sum((crm_truth.money(a) for a in paid), Decimal("0.00")),
        }
        got = {**row, "customer_since": ms(row["customer_since"])}
        problems += [(account.account_id, c, got[c], v) for c, v in expected.items() if got[c] != v]
    return problems


def _account_record(crm: str, world_account_id: int) -> str:
    if crm == "neocrm":
        return f"neocrm_account:{world_account_id}"
    return f"salesforce_account:{salesforce_records.account_id(world_account_id)}"
