"""Issue 15, acceptance 2: the drift matrix. Every source (6) meets every kind of schema drift (4) on a real field
of its main object, served by its simulator on 127.0.0.1 (leadloop.demo.drift): a new field, a field of a new type
(a number sent as text, a text sent as an object), a field dropped, a field renamed. Each case loads once clean,
then once drifted into a private DuckDB pipeline, and checks that the load went through, what raw holds (the new
field in the extras column, values intact, nulls where a field went missing), what quarantine holds, and what
`load_drift` — the function behind every raw table's `schema_unchanged` check — says changed in which table.

What each source does with each kind (the report of issue 15):

| source      | new field          | number as text       | text as object | dropped / renamed away |
|-------------|--------------------|----------------------|----------------|------------------------|
| neocrm      | _extra_fields_json | typed column, intact | quarantine     | null in its column     |
| salesforce  | _extra_fields_json | (Lead has no number) | quarantine     | null in its column     |
| sensors     | properties_json    | typed column, intact | quarantine     | null in its column     |
| wecom       | _extra_fields_json | typed column, intact | quarantine     | null in its column     |
| baidu_sem   | _extra_fields_json | typed column, intact | quarantine     | null in its column     |
| oceanengine | _extra_fields_json | (numbers are text)   | quarantine     | null in its column     |

A renamed field is both: its new name in the extras column, its old column null. A required field (primary key,
cursor) that goes missing sends its record to quarantine (tests/extract/test_source_faults.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from leadloop.demo.drift import (
    Drift,
    DriftKind,
    dropped,
    new_field,
    number_as_text,
    renamed,
    text_as_object,
)
from leadloop.extract.common.schema_drift import (
    TableDrift,
    fields_file,
    load_drift,
    table_columns,
    track_fields,
)
from tests.extract.source_adapters import (
    BAIDU_SEM,
    NEOCRM,
    OCEANENGINE,
    SALESFORCE,
    SENSORS,
    SOURCE_TEST_PLUGINS,
    WECOM,
    SourceCase,
    SourceRun,
)

pytestmark = pytest.mark.integration

pytest_plugins = SOURCE_TEST_PLUGINS

EXTRAS = "_extra_fields_json"
Row = tuple[Any, ...]


@dataclass(frozen=True)
class Field:
    """A field of the main object: where the simulator's drift reaches it, and its raw column."""

    path: str
    column: str


@dataclass(frozen=True)
class Plan:
    """One source's drift matrix: its main object and table, and the fields each kind drifts.

    `identity` is SQL naming a raw row the same way before and after the drift (Sensors' event_key digests the
    whole event, so a drifted event is a new key there). `touch` makes some records be served again in the
    drifted load (a CRM reads only records changed since its cursor: their cursor moves, as an edit would) and
    returns the wire id of one of them; sources that re-read a window or a snapshot serve them anyway.
    """

    case: SourceCase
    sim_object: str
    table: str
    identity: str
    extras: str  # the column unknown fields land in
    new: Field  # a field the records start carrying (path and the name drift gives it)
    numeric: Field | None  # a number the platform starts sending as text
    textual: Field  # a text the platform starts sending as an object
    dropped: Field
    renamed: Field
    new_name: str  # the renamed field's new name on the wire
    pick: Callable[[dict[str, Any]], bool]  # the records whose text arrives as an object
    touch: Callable[[SourceRun], None] = lambda run: None
    drifting: Callable[[dict[str, Any]], bool] | None = None  # the records that drift (all when None)


def _neocrm_touch(run: SourceRun) -> None:
    leads = run.fixture("world")["lead"]
    latest = max(lead["updatedAt"] for lead in leads)
    for lead in leads[:12]:  # edited since the first load: the next load reads them again
        lead["updatedAt"] = latest + 60_000


SF_TOUCHED_MILLIS = ".777+0000"  # the edited leads' stamps end so (the world's end in .000)


def _sf_touch(run: SourceRun) -> None:
    """A dozen leads edited a minute after the latest one (a plausible stamp: 2099 is quarantined)."""
    leads = run.fixture("sf_records")["Lead"]
    latest = max(datetime.strptime(lead["SystemModstamp"][:19], "%Y-%m-%dT%H:%M:%S") for lead in leads)
    stamp = f"{latest + timedelta(minutes=1):%Y-%m-%dT%H:%M:%S}{SF_TOUCHED_MILLIS}"
    for lead in leads[:12]:
        lead["SystemModstamp"] = lead["LastModifiedDate"] = stamp


NEW_SDK = "1.27.0"  # Sensors: tonight's events come from a new SDK release, in the new shape


def _sensors_touch(run: SourceRun) -> None:
    """Events of the last half day happen again a day later, sent by the new SDK; the drifted load starts after
    the old events (which, still in their old shape, would say every field is still sent)."""
    rows = run.fixture("today_rows")
    last = datetime.fromisoformat(max(row["time"] for row in rows))
    run.setenv("START_TIME", f"{last + timedelta(hours=1):%Y-%m-%d %H:%M:%S}")
    recent = [row for row in rows if datetime.fromisoformat(row["time"]) > last - timedelta(hours=12)][-80:]
    again = []
    for row in recent:
        moment = datetime.fromisoformat(row["time"]) + timedelta(days=1)
        text = f"{moment:%Y-%m-%d %H:%M:%S}.{moment.microsecond // 1000:03d}"
        again.append({**row, "time": text, "date": text[:10], "$lib_version": NEW_SDK})
    run.sim.add_rows(again)


PLANS = {
    "neocrm": Plan(
        NEOCRM, "lead", "leads", "cast(id as varchar)", EXTRAS,
        new=Field("customItem300__c", "custom_item300_c"),
        numeric=Field("ownerId", "owner_id"), textual=Field("industry", "industry"),
        dropped=Field("post", "post"), renamed=Field("companyName", "company_name"), new_name="company",
        pick=lambda r: r.get("id") == 5003, touch=_neocrm_touch,
    ),
    "salesforce": Plan(
        SALESFORCE, "Lead", "leads", "id", EXTRAS,
        new=Field("Rating", "rating"), numeric=None, textual=Field("Industry", "industry"),
        dropped=Field("Title", "title"), renamed=Field("Company", "company"), new_name="CompanyName",
        pick=lambda r: str(r.get("SystemModstamp")).endswith(SF_TOUCHED_MILLIS), touch=_sf_touch,
    ),
    "sensors": Plan(
        # The day moves a day on: an event is the same person, event and time of day.
        SENSORS, "events", "events", "distinct_id || '/' || event || '/' || substr(time, 12)", "properties_json",
        new=Field("$viewport_width", "$viewport_width"),
        numeric=Field("event_duration", "event_duration"), textual=Field("$title", "page_title"),
        dropped=Field("$is_login_id", "is_login_id"), renamed=Field("user_id", "user_id"), new_name="uid",
        pick=lambda r: r.get("event") == "$pageview", touch=_sensors_touch,
        drifting=lambda r: r.get("$lib_version") == NEW_SDK,
    ),
    "wecom": Plan(
        WECOM, "contacts", "follow_relations", "external_userid || '/' || userid", EXTRAS,
        new=Field("follow_info.remark_pic_mediaid", "remark_pic_mediaid"),
        numeric=Field("follow_info.createtime", "createtime"), textual=Field("follow_info.description", "description"),
        dropped=Field("follow_info.oper_userid", "oper_userid"), renamed=Field("follow_info.remark", "remark"),
        new_name="remark_name",
        pick=lambda r: str(r.get("external_contact", {}).get("external_userid", "")).endswith(("0", "5")),
    ),
    "baidu_sem": Plan(
        BAIDU_SEM, "keyword_report", "keyword_daily_report", "user_id || '/' || keyword_id || '/' || date", EXTRAS,
        new=Field("deviceType", "device_type"),
        numeric=Field("impression", "impression"), textual=Field("keyword", "keyword"),
        dropped=Field("campaignName", "campaign_name"), renamed=Field("adGroupName", "ad_group_name"),
        new_name="unitName",
        pick=lambda r: r.get("keywordId", 0) % 5 == 0,
    ),
    "oceanengine": Plan(
        OCEANENGINE, "report", "promotion_daily_report",
        "advertiser_id || '/' || cdp_promotion_id || '/' || stat_time_day", EXTRAS,
        new=Field("metrics.active_cnt", "active_cnt"), numeric=None,
        textual=Field("dimensions.cdp_promotion_name", "cdp_promotion_name"),
        dropped=Field("dimensions.cdp_project_name", "cdp_project_name"),
        renamed=Field("dimensions.cdp_promotion_name", "cdp_promotion_name"), new_name="promotion_name",
        pick=lambda r: int(r.get("dimensions", {}).get("cdp_promotion_id", 0) or 0) % 4 == 0,
    ),
}
NEW_VALUE = "drift-值"


def _drifts(plan: Plan, kind: DriftKind) -> tuple[Drift, ...]:
    """What the simulator serves for `kind`."""
    some = plan.drifting
    picked = plan.pick if some is None else (lambda r: some(r) and plan.pick(r))
    if kind is DriftKind.NEW_FIELD:
        return (new_field(plan.new.path, NEW_VALUE, where=some),)
    if kind is DriftKind.RETYPED:
        numbers = (number_as_text(plan.numeric.path, where=some),) if plan.numeric else ()
        return (*numbers, text_as_object(plan.textual.path, where=picked))
    if kind is DriftKind.DROPPED:
        return (dropped(plan.dropped.path, where=some),)
    return (renamed(plan.renamed.path, plan.new_name, where=some),)


@pytest.fixture
def source_run(case: SourceCase, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> SourceRun:
    """The source of `case` pointed at its running simulator, with a private DuckDB pipeline."""
    run = SourceRun(case=case, sim=request.getfixturevalue(case.wiring.env_fixture),
                    pipeline=request.getfixturevalue(case.wiring.pipeline_fixture),
                    monkeypatch=monkeypatch, request=request)
    case.prepare(run)
    return run


def load(run: SourceRun) -> dict[str, TableDrift]:
    """One load of the source as the nightly job runs it: the drift its `schema_unchanged` checks report."""
    pipeline = run.pipeline
    source = run.case.build()
    tracker = track_fields(source)
    before = table_columns(pipeline.default_schema if pipeline.default_schema_name else None)
    pipeline.run(source).raise_on_failed_jobs()
    return load_drift(fields_file(pipeline), before, table_columns(pipeline.default_schema), tracker)


def raw_rows(run: SourceRun, plan: Plan, column: str | None) -> list[tuple[str, Any, dict[str, Any]]]:
    """(identity, the column's value, the extras column as an object) of every row of the main table."""
    picked = f'"{column}"' if column else "null"
    rows = run.rows(f"select {plan.identity}, {picked}, {plan.extras} from {plan.table}")
    return [(identity, value, json.loads(text) if text else {}) for identity, value, text in rows]


def columns(run: SourceRun, plan: Plan) -> list[str]:
    """The main table's columns, in order."""
    return [row[0] for row in run.rows(f"select column_name from (describe {plan.table})")]


CASES = [pytest.param(plan.case, kind, id=f"{name}-{kind.value}") for name, plan in PLANS.items() for kind in DriftKind]


@pytest.mark.parametrize(("case", "kind"), CASES)
def test_a_drifted_load_goes_through_and_says_what_changed(case: SourceCase, kind: DriftKind, source_run: SourceRun):
    run, plan = source_run, PLANS[case.name]
    assert load(run) == {}  # a first load is not drift
    clean_columns = columns(run, plan)
    assert plan.extras in clean_columns
    watched = {
        DriftKind.NEW_FIELD: None,
        DriftKind.RETYPED: plan.numeric.column if plan.numeric else None,
        DriftKind.DROPPED: plan.dropped.column,
        DriftKind.RENAMED: plan.renamed.column,
    }[kind]
    clean = {identity: value for identity, value, _ in raw_rows(run, plan, watched)}

    plan.touch(run)
    run.sim.set_drift(plan.sim_object, *_drifts(plan, kind))
    drift = load(run)  # no crash
    quarantine = run.quarantine()
    after = raw_rows(run, plan, watched)

    assert set(drift) == {plan.table}, drift  # the table that changed, and only it
    change = drift[plan.table]
    assert columns(run, plan) == clean_columns  # the typed columns hold: no column added, none retyped

    if kind is DriftKind.NEW_FIELD:
        assert quarantine == []
        arrived = [found[_wire_name(plan.new)] for _, _, found in after if _wire_name(plan.new) in found]
        assert arrived and set(arrived) == {NEW_VALUE}, "the new field reached raw, its value intact"
        assert change.new_fields == (_drift_name(plan.new),) and not change.retyped and not change.missing_fields
        assert f"new field {_drift_name(plan.new)}" in change.describe()

    elif kind is DriftKind.RETYPED:
        assert quarantine, "the records whose text arrived as an object are in quarantine"
        for _, _, reason, payload, _, _ in quarantine:
            assert f"{_wire_name(plan.textual)}: expected text, got dict" in reason, reason
            assert plan.pick(_wire_record(case.name, json.loads(payload)))
            assert plan.drifting is None or plan.drifting(_wire_record(case.name, json.loads(payload)))
        assert change.retyped == ((_drift_name(plan.textual), "object", "quarantine"),)
        assert f"{_drift_name(plan.textual)} arrived as object (kept in quarantine)" in change.describe()
        assert not change.new_fields and not change.missing_fields
        if watched:  # numbers sent as text: read into their typed column, every value intact
            assert all(value == clean[identity] for identity, value, _ in after if identity in clean)
            assert {identity for identity, _, _ in after} >= set(clean)

    elif kind is DriftKind.DROPPED:
        assert quarantine == []
        lost = [identity for identity, value, _ in after if value is None and clean.get(identity) is not None]
        assert lost, "rows read again have null where the field went missing"
        assert change.missing_fields == (plan.dropped.column,) and not change.new_fields and not change.retyped
        assert f"no longer sent: {plan.dropped.column}" in change.describe()

    else:  # renamed: the old name gone (null), the new name kept in the extras column with the same value
        assert quarantine == []
        moved = [(identity, value, found[plan.new_name]) for identity, value, found in after if plan.new_name in found]
        assert moved, "the renamed field reached raw under its new name"
        assert all(old is None and new == clean[identity] for identity, old, new in moved)
        assert change.new_fields == (_normal(plan.new_name),) and change.missing_fields == (plan.renamed.column,)
        assert not change.retyped


def _wire_name(field: Field) -> str:
    """The field's name in its record (the last step of its path)."""
    return field.path.split(".")[-1]


def _normal(name: str) -> str:
    """A field's name as dlt names columns."""
    from dlt.common.normalizers.naming.snake_case import NamingConvention

    return NamingConvention().normalize_identifier(name)


def _drift_name(field: Field) -> str:
    """How drift names a field: its column, or for one kept in the extras column its wire name as dlt names it."""
    return _normal(_wire_name(field))


def _wire_record(source: str, payload: Any) -> dict[str, Any]:
    """The record a quarantined payload holds, as the simulator served it (Ocean Engine wraps it)."""
    return payload["row"] if source == "oceanengine" else payload
