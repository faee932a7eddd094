"""How each source's simulator serves a Fuzzer's bad records among its good ones (issue 15).

One function per source, registered on its SourceCase (`@CASE.fuzzes`) next to the framework in
tests/extract/source_adapters.py. Each plants records the way that source's `plant_invalid`
does — into the simulator's own store — and writes the Fuzzer's books as it goes: every good
record of the fuzzed table with the text it must load with, every bad one with the record_id
quarantine must name it by (or, for a kind that loads, its key and text). What the product must
do per kind is in tests/support/fuzz.py. Report days and event times the simulators' own window
filters would never store (1970, 2099) are put on the wire with `rewrite_answers` or as raw lines.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time
from typing import Any

from leadloop.demo.simulators import baidu_sem as baidu_sim
from leadloop.demo.simulators import neocrm as neocrm_sim
from leadloop.demo.simulators import oceanengine as ocean_sim
from leadloop.demo.simulators import salesforce as sf_sim
from leadloop.demo.simulators import sensors as sensors_sim
from leadloop.demo.simulators import wecom as wecom_sim
from leadloop.extract.baidu_sem import settings as baidu_settings
from tests.extract import oceanengine_fixtures as ocean
from tests.extract import sensors_fixtures as sensors
from tests.extract.source_adapters import (
    BAIDU_SEM,
    NEOCRM,
    OCEANENGINE,
    SALESFORCE,
    SENSORS,
    WECOM,
    SourceRun,
)
from tests.support.fuzz import (
    DATE_1970,
    DATE_2099,
    DUPLICATE_KEY,
    MISSING_KEY,
    NAN_SPEND,
    NEGATIVE_SPEND,
    TEXT_KINDS,
    WRONG_TYPE,
    Fuzzer,
    Kind,
)

CRM_KINDS = (WRONG_TYPE, MISSING_KEY, DUPLICATE_KEY, *TEXT_KINDS, DATE_1970, DATE_2099)
REPORT_KINDS = (*CRM_KINDS, NEGATIVE_SPEND, NAN_SPEND)
SENSORS_KINDS = (*CRM_KINDS, NAN_SPEND)
WECOM_KINDS = CRM_KINDS


@dataclass(frozen=True)
class View:
    """How the test reads a fuzzed raw table: its key as text, the text column the fuzz wrote."""

    key_sql: str
    text_sql: str


@dataclass
class Fuzzed:
    """The fuzzed tables of a source, and what its simulator says it served of each."""

    views: dict[str, View]
    sim_served: Callable[[], dict[str, int]]


# Per source: a page path and an answer to it cut off mid-JSON (NDJSON for Sensors).
CUT_PAGES: dict[str, tuple[str, bytes]] = {
    "neocrm": (neocrm_sim.XOQL_SCROLL_PATH, b'{"code":"200","msg":null,"data":{"totalSize":3'),
    "salesforce": (sf_sim.QUERY_MORE_PATH, b'{"totalSize": 3, "done": fa'),
    "sensors": (
        sensors_sim.QUERY_PATH,
        b'{"event":"$pageview","time":"2026-10-05 10:00:00.000","distinct_id":"x',
    ),
    "wecom": (wecom_sim.BATCH_GET_BY_USER_PATH, b'{"errcode":0,"ext'),
    "baidu_sem": (baidu_sim.REPORT_PATH, b'{"header":{"desc":"success","failures":[],"oprs":1'),
    "oceanengine": (ocean_sim.REPORT_PATH, b'{"code":0,"message":"OK","data":{"rows":[{"dimen'),
}


def _truncate(run: SourceRun, fuzzer: Fuzzer, after: tuple[int, ...]) -> None:
    """Cuts off the source's page answered right after each request count in `after`, once (retried)."""
    sim = run.sim
    path, body = CUT_PAGES[run.case.name]
    for count in after:
        sim.call_after(path, count, lambda: sim.inject(path, 200, body))
        fuzzer.truncated.append((path, count))


def _epoch_s(day: Any) -> int:
    """Unix seconds of a day's midnight (UTC)."""
    return int(datetime.combine(day, time(), UTC).timestamp())


# -- neocrm (销售易): leads ----------------------------------------------------------------------------


@NEOCRM.fuzzes
def _neocrm_fuzz(run: SourceRun, fuzzer: Fuzzer) -> Fuzzed:
    world = run.fixture("world")
    leads = world["lead"]
    for lead in leads:
        fuzzer.good("leads", str(lead["id"]), lead["name"])
    wrong_fields = {"ownerId": "bigint", "accountId": "bigint", "name": "text", "email": "text"}
    added = []
    for n, kind in enumerate(fuzzer.kinds(CRM_KINDS)):
        template = fuzzer.pick(leads)
        new_id = 900_000 + n
        record = dict(template, id=new_id, name=f"模糊{n}")  # every bad payload differs
        record_id: str | None = str(new_id)
        if kind is WRONG_TYPE:
            name = fuzzer.pick(list(wrong_fields))
            record[name] = fuzzer.wrong(wrong_fields[name])
        elif kind is MISSING_KEY:
            gone = "id" if n % 2 else "updatedAt"
            del record[gone]
            record_id = None if gone == "id" else record_id
        elif kind is DUPLICATE_KEY:  # the same id and updatedAt: served right after the original
            record = dict(template, name=f"{template['name']}（副本{n}）")
            record_id = str(template["id"])
        elif kind in TEXT_KINDS:
            record["name"] = fuzzer.text(kind)
        else:
            record["updatedAt"] = _epoch_s(fuzzer.bad_day(kind)) * 1000
        added.append(record)
        fuzzer.served_bad(kind, "leads", record_id, str(new_id), record["name"])
    leads.extend(added)
    _truncate(run, fuzzer, (1, 9))
    return Fuzzed(
        {"leads": View("cast(id as varchar)", "name")},
        lambda: {"leads": len(leads)},
    )


# -- salesforce: Lead ---------------------------------------------------------------------------------


@SALESFORCE.fuzzes
def _sf_fuzz(run: SourceRun, fuzzer: Fuzzer) -> Fuzzed:
    records = run.fixture("sf_records")
    leads = records["Lead"]
    for lead in leads:
        fuzzer.good("leads", lead["Id"], lead["Company"])
    wrong_fields = {
        "IsConverted": "bool",
        "CreatedDate": "timestamp",
        "Company": "text",
        "ConvertedDate": "timestamp",
    }
    added = []
    for n, kind in enumerate(fuzzer.kinds(CRM_KINDS)):
        template = fuzzer.pick(leads)
        new_id = f"00Qfz{n:010d}AAA"
        record = dict(template, Id=new_id, Company=f"模糊公司{n}")
        record_id: str | None = new_id
        if kind is WRONG_TYPE:
            name = fuzzer.pick(list(wrong_fields))
            record[name] = fuzzer.wrong(wrong_fields[name])
        elif kind is MISSING_KEY:  # a missing SystemModstamp the platform never sends: Id only
            record["Id"] = None
            record_id = None
        elif kind is DUPLICATE_KEY:  # same Id and SystemModstamp: ORDER BY serves it after the original
            record = dict(template, Company=f"{template['Company']}（副本{n}）")
            record_id = template["Id"]
        elif kind in TEXT_KINDS:
            record["Company"] = fuzzer.text(kind)
        else:
            record["SystemModstamp"] = f"{fuzzer.bad_day(kind).isoformat()}T00:00:00.000+0000"
        added.append(record)
        fuzzer.served_bad(kind, "leads", record_id, new_id, record["Company"])
    leads.extend(added)
    _truncate(run, fuzzer, (1, 4))
    return Fuzzed({"leads": View("id", "company")}, lambda: {"leads": run.sim.rows_served["Lead"]})


# -- sensors (神策): events ----------------------------------------------------------------------------


def _event_key(row: Mapping[str, Any]) -> str:
    return f"{row.get('event')}/{row.get('time')}/{row.get('distinct_id')}"


@SENSORS.fuzzes
def _sensors_fuzz(run: SourceRun, fuzzer: Fuzzer) -> Fuzzed:
    today_rows = run.fixture("today_rows")  # shared by the module: never mutated
    served = [row for row in today_rows if row["time"] >= sensors.RECENT_START]
    for row in served:
        fuzzer.good("events", _event_key(row), row.get("$title"))
    wrong_fields = {
        "event_duration": "double",
        "user_id": "bigint",
        "distinct_id": "text",
        "$is_login_id": "bool",
    }
    rows: list[dict[str, Any]] = []
    lines: list[tuple[str, bytes]] = []
    for n, kind in enumerate(fuzzer.kinds(SENSORS_KINDS)):
        template = fuzzer.pick(served)
        record = dict(template, distinct_id=f"fuzz-{n}", **{"$title": f"模糊{n}"})
        if kind is WRONG_TYPE:
            name = fuzzer.pick(list(wrong_fields))
            record[name] = fuzzer.wrong(wrong_fields[name])
        elif kind is MISSING_KEY:
            del record["distinct_id" if n % 2 else "time"]
        elif kind is DUPLICATE_KEY:  # same event, time and visitor, another property: another event
            record = dict(template, **{"$title": f"{template.get('$title')}（副本{n}）"})
        elif kind in TEXT_KINDS:
            record["$title"] = fuzzer.text(kind)
        elif kind is NAN_SPEND:
            record["event_duration"] = "NaN"
        else:
            day = fuzzer.bad_day(kind).isoformat()
            record.update(time=f"{day} 08:00:00.000", date=day)
        loads = kind.loads or kind is DUPLICATE_KEY
        if loads:
            rows.append(record)
        else:  # served at the template's moment, whatever the line says
            lines.append((template["time"], json.dumps(record, ensure_ascii=False).encode()))
        fuzzer.served_bad(kind, "events", None, _event_key(record), record.get("$title"), loads=loads)
    run.sim.set_rows([*today_rows, *rows])
    run.sim.add_raw_lines(lines)
    _truncate(run, fuzzer, (2, 20))
    return Fuzzed(
        {"events": View("event || '/' || time || '/' || distinct_id", "page_title")},
        lambda: {"events": run.sim.rows_served},
    )


# -- wecom (企业微信): follow relations (and the contacts they bring) ----------------------------------


@WECOM.fuzzes
def _wecom_fuzz(run: SourceRun, fuzzer: Fuzzer) -> Fuzzed:
    records = run.fixture("wecom_demo").render()
    items = records.contacts
    names: dict[str, str] = {}
    for item in items:
        contact, follow = item["external_contact"], item["follow_info"]
        fuzzer.good(
            "follow_relations", f"{contact['external_userid']}/{follow['userid']}", follow.get("remark")
        )
        names.setdefault(contact["external_userid"], contact.get("name"))
    for external_userid, name in names.items():
        fuzzer.good("external_contacts", external_userid, name)
    wrong_fields = {"createtime": "bigint", "add_way": "bigint", "remark": "text", "description": "text"}
    added = []
    for n, kind in enumerate(fuzzer.kinds(WECOM_KINDS)):
        template = fuzzer.pick(items)
        external_userid = f"wmFuzz{n:04d}"
        contact = {**template["external_contact"], "external_userid": external_userid}
        follow = {**template["follow_info"], "remark": f"模糊{n}"}
        userid = follow["userid"]
        key: str | None = f"{external_userid}/{userid}"
        if kind is WRONG_TYPE:
            name = fuzzer.pick(list(wrong_fields))
            follow[name] = fuzzer.wrong(wrong_fields[name])
        elif kind is MISSING_KEY:  # both tables refuse it: no contact can be keyed
            del contact["external_userid"]
            key = f"/{userid}"
            fuzzer.also_quarantined(kind, "external_contacts", None)
        elif kind is DUPLICATE_KEY:  # the same contact and follower again, another remark
            contact = template["external_contact"]
            follow = {
                **template["follow_info"],
                "remark": f"{template['follow_info'].get('remark')}（副本{n}）",
            }
            key = f"{contact['external_userid']}/{userid}"
        elif kind in TEXT_KINDS:
            follow["remark"] = fuzzer.text(kind)
        else:
            follow["createtime"] = _epoch_s(fuzzer.bad_day(kind))
        if kind not in (MISSING_KEY, DUPLICATE_KEY):  # a new contact, which loads whatever its follow info
            fuzzer.good("external_contacts", external_userid, contact.get("name"))
        added.append({"external_contact": contact, "follow_info": follow})
        fuzzer.served_bad(kind, "follow_relations", key, key or "", follow.get("remark"))
    served = [*items, *added]
    run.sim.set_records(replace(records, contacts=served))
    _truncate(run, fuzzer, (1, 5))

    def sim_served() -> dict[str, int]:
        contacts = [item["external_contact"].get("external_userid") for item in served]
        return {
            "follow_relations": len(served),
            "external_contacts": len({c for c in contacts if c}) + contacts.count(None),
        }

    return Fuzzed(
        {
            "follow_relations": View("external_userid || '/' || userid", "remark"),
            "external_contacts": View("external_userid", "name"),
        },
        sim_served,
    )


# -- baidu_sem (百度营销): the keyword report -----------------------------------------------------------


def _baidu_key(row: Mapping[str, Any]) -> str:
    return "/".join("" if row.get(k) is None else str(row.get(k)) for k in baidu_settings.PRIMARY_KEY)


def _rows_at(body: Any, *path: str | int) -> list[Any]:
    """The rows at `path` of an answer; none when the answer is not shaped so (an error answer)."""
    for step in path:
        try:
            body = body[step]
        except (KeyError, IndexError, TypeError):
            return []
    return body if isinstance(body, list) else []


def _redating(
    key_of: Callable[[Any], Any],
    path: tuple[str | int, ...],
    days: dict[Any, str],
    set_day: Callable[[Any, str], None],
) -> Callable[[Any], Any]:
    """An answer rewrite that gives the rows keyed in `days` their (implausible) day on the wire."""

    def rewrite(body: Any) -> Any:
        for row in _rows_at(body, *path):
            day = days.get(key_of(row)) if isinstance(row, Mapping) else None
            if day is not None:
                set_day(row, day)
        return body

    return rewrite


@BAIDU_SEM.fuzzes
def _baidu_fuzz(run: SourceRun, fuzzer: Fuzzer) -> Fuzzed:
    sim, table = run.sim, baidu_settings.RESOURCE
    rows = sim.rows
    for row in rows:
        fuzzer.good(table, _baidu_key(row), row["keyword"])
    wrong_fields = {"impression": "bigint", "click": "bigint", "cost": "decimal", "keyword": "text"}
    added, redated = [], {}
    for n, kind in enumerate(fuzzer.kinds(REPORT_KINDS)):
        template = fuzzer.pick(rows)
        record = dict(template, keywordId=990_000 + n, keyword=f"模糊{n}")
        if kind is WRONG_TYPE:
            name = fuzzer.pick(list(wrong_fields))
            record[name] = fuzzer.wrong(wrong_fields[name])
        elif kind is MISSING_KEY:
            del record["keywordId"]
        elif kind is DUPLICATE_KEY:  # the same account, keyword and day again, other numbers
            record = dict(
                template, keyword=f"{template['keyword']}（副本{n}）", cost=round(template["cost"] + 1, 2)
            )
        elif kind in TEXT_KINDS:
            record["keyword"] = fuzzer.text(kind)
        elif kind is NEGATIVE_SPEND:
            record["cost"] = -round(abs(template["cost"]) + 0.01, 2)
        elif kind is NAN_SPEND:
            record["cost"] = float("nan")
        else:  # stored on the template's day (so the window serves it), on the wire another day
            redated[record["keywordId"]] = fuzzer.bad_day(kind).isoformat()
        added.append(record)
        record_id = _baidu_key({**record, "date": redated.get(record.get("keywordId"), record["date"])})
        fuzzer.served_bad(kind, table, record_id, record_id, record["keyword"])
    rows.extend(added)
    sim.rewrite_answers(
        baidu_sim.REPORT_PATH,
        _redating(
            lambda row: row.get("keywordId"),
            ("body", "data", 0, "rows"),
            redated,
            lambda row, day: row.__setitem__("date", day),
        ),
    )
    _truncate(run, fuzzer, (1, 6))
    return Fuzzed(
        {
            table: View(
                "cast(user_id as varchar) || '/' || cast(keyword_id as varchar) || '/' || date", "keyword"
            )
        },
        lambda: {table: len(rows)},
    )


# -- oceanengine (巨量引擎): the promotion report -------------------------------------------------------


@OCEANENGINE.fuzzes
def _ocean_fuzz(run: SourceRun, fuzzer: Fuzzer) -> Fuzzed:
    world, _ = run.fixture("oceanengine_world")
    first, last = ocean.recent_start(world).isoformat(), ocean.today(world).isoformat()
    reports = copy.deepcopy(dict(run.sim.reports))
    table = ocean.TABLE
    served: list[tuple[int, dict[str, Any]]] = []
    for advertiser, rows in reports.items():
        for row in rows:
            dims = row["dimensions"]
            if first <= dims["stat_time_day"] <= last:
                served.append((advertiser, row))
                key = f"{advertiser}/{dims['cdp_promotion_id']}/{dims['stat_time_day']}"
                fuzzer.good(table, key, dims.get("cdp_promotion_name"))
    wrong = {
        "stat_cost": "decimal",
        "show_cnt": "bigint",
        "click_cnt": "bigint",
        "cdp_project_id": "bigint",
        "cdp_promotion_name": "text",
    }
    redated: dict[str, str] = {}
    for n, kind in enumerate(fuzzer.kinds(REPORT_KINDS)):
        advertiser, template = fuzzer.pick(served)
        promotion = str(990_000 + n)
        dims = {**template["dimensions"], "cdp_promotion_id": promotion, "cdp_promotion_name": f"模糊{n}"}
        metrics = dict(template["metrics"])
        if kind is WRONG_TYPE:
            name = fuzzer.pick(list(wrong))
            (metrics if name in metrics else dims)[name] = fuzzer.wrong(wrong[name])
        elif kind is MISSING_KEY:
            del dims["cdp_promotion_id"]
        elif kind is DUPLICATE_KEY:  # the same promotion and day again, another cost
            dims = dict(template["dimensions"])
            dims["cdp_promotion_name"] = f"{dims.get('cdp_promotion_name')}（副本{n}）"
            metrics["stat_cost"] = f"{float(metrics['stat_cost']) + 1:.2f}"
        elif kind in TEXT_KINDS:
            dims["cdp_promotion_name"] = fuzzer.text(kind)
        elif kind is NEGATIVE_SPEND:
            metrics["stat_cost"] = f"-{float(metrics['stat_cost']) + 0.01:.2f}"
        elif kind is NAN_SPEND:
            metrics["stat_cost"] = "NaN"
        else:
            redated[promotion] = fuzzer.bad_day(kind).isoformat()
        reports[advertiser].append({"dimensions": dims, "metrics": metrics})
        day = redated.get(promotion, dims["stat_time_day"])
        record_id = f"{advertiser}/{dims.get('cdp_promotion_id')}/{day}"
        fuzzer.served_bad(kind, table, record_id, record_id, dims.get("cdp_promotion_name"))
    run.sim.set_reports(reports)
    run.sim.rewrite_answers(
        ocean_sim.REPORT_PATH,
        _redating(
            lambda row: (row.get("dimensions") or {}).get("cdp_promotion_id"),
            ("data", "rows"),
            redated,
            lambda row, day: row["dimensions"].__setitem__("stat_time_day", day),
        ),
    )
    _truncate(run, fuzzer, (1, 3))
    key_sql = (
        "cast(advertiser_id as varchar) || '/' || cast(cdp_promotion_id as varchar) || '/' || stat_time_day"
    )
    return Fuzzed({table: View(key_sql, "cdp_promotion_name")}, lambda: {table: run.sim.rows_served})


__all__ = ["Fuzzed", "Kind", "View"]
