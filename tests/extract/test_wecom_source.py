"""The real wecom dlt source against the WeCom simulator (default demo company) on 127.0.0.1, into DuckDB."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

import dlt
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from demo.model import DAY_MS
from demo.simulators.wecom import (
    BATCH_GET_BY_USER_PATH,
    FOLLOW_USER_LIST_PATH,
    GET_CONTACT_WAY_PATH,
    LIST_CONTACT_WAY_PATH,
    TOKEN_PATH,
    WecomSimulator,
)
from demo.wecom_records import contact_way_created_ms
from extract.wecom import settings, wecom_source

pytest.register_assert_rewrite("tests.extract.wecom_fixtures")

from tests.extract.wecom_fixtures import (
    DATA_TABLES,
    MAX_TRIES,
    Demo,
    changed_keys,
    expected_tags,
    live_relations,
    mql_moments,
    query,
    run_wecom,
    table_contents,
)

pytest_plugins = ("tests.extract.wecom_fixtures",)  # the wecom_* fixtures

NOTHING = dict.fromkeys(DATA_TABLES, 0)


def _loaded_data(loaded: dict[str, int]) -> dict[str, int]:
    """Rows loaded per data table (quarantine left out)."""
    return {table: loaded[table] for table in DATA_TABLES}


def _world_counts(demo: Demo, at_ms: int) -> dict[str, int]:
    """Rows each raw table should hold after a first run at an instant, from the demo world."""
    relations = live_relations(demo.digital, at_ms)
    ways = [
        s for s in demo.digital.contact_ways if contact_way_created_ms(demo.world, demo.digital, s) <= at_ms
    ]
    return {
        "external_contacts": len({eu for eu, _ in relations}),
        "follow_relations": len(relations),
        "corp_tags": len(demo.digital.corp_tags),
        "contact_ways": len(ways),
    }


def _table_counts(pipeline: dlt.Pipeline) -> dict[str, int]:
    """Rows per raw data table in DuckDB."""
    return {table: query(pipeline, f"select count(*) from {table}")[0][0] for table in DATA_TABLES}


# -- building and first load -------------------------------------------------------------------


def test_source_builds_without_any_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("CORP_ID", "CORP_SECRET", "BASE_URL"):
        monkeypatch.delenv(f"SOURCES__WECOM__{key}", raising=False)
    source = wecom_source()
    assert list(source.resources) == [*DATA_TABLES, "quarantine"]
    relations = source.resources["follow_relations"]
    assert relations.write_disposition == "merge"
    assert relations.compute_table_schema()["columns"]["userid"]["primary_key"]


def test_full_load_matches_the_demo_world(
    wecom_env: WecomSimulator, wecom_demo: Demo, wecom_pipeline: dlt.Pipeline
) -> None:
    today = wecom_demo.world.as_of_ms
    loaded = run_wecom(wecom_pipeline)
    expected = _world_counts(wecom_demo, today)
    assert _loaded_data(loaded) == expected
    assert _table_counts(wecom_pipeline) == expected
    assert loaded["quarantine"] == 0

    mqls = mql_moments(wecom_demo.world)
    relations = {
        (row[0], row[1]): (*row[2:6], json.loads(row[6]), json.loads(row[7]), *row[8:])
        for row in query(
            wecom_pipeline,
            "select external_userid, userid, createtime, state, add_way, remark_mobile, remark_mobiles,"
            " tag_ids, is_deleted, deleted_at from follow_relations",
        )
    }
    for key, contact in live_relations(wecom_demo.digital, today).items():
        assert relations[key] == (
            contact.added_ms // 1000,
            contact.state,
            contact.add_way,
            contact.remark_mobiles[0] if contact.remark_mobiles else None,
            list(contact.remark_mobiles),
            expected_tags(contact, mqls, today),
            False,
            None,
        )
    names = dict(query(wecom_pipeline, "select external_userid, name from external_contacts"))
    assert names == {c.external_userid: c.name for c in live_relations(wecom_demo.digital, today).values()}
    assert (
        dict(query(wecom_pipeline, "select tag_id, tag_name from corp_tags")) == wecom_demo.digital.corp_tags
    )
    assert (
        dict(query(wecom_pipeline, "select state, remark from contact_ways"))
        == wecom_demo.digital.contact_ways
    )
    # WeChat users carry the unionid identity stitching needs
    unionids = dict(
        query(wecom_pipeline, "select external_userid, unionid from external_contacts where type = 1")
    )
    truth = {c.external_userid: c.unionid for c in wecom_demo.digital.wecom_contacts}
    assert unionids and all(unionids[eu] == truth[eu] for eu in unionids)
    columns = dict(query(wecom_pipeline, "select column_name, column_type from (describe follow_relations)"))
    assert columns["createtime"] == "BIGINT" and columns["is_deleted"] == "BOOLEAN"
    assert columns["deleted_at"] == "TIMESTAMP WITH TIME ZONE"


# -- the next day ------------------------------------------------------------------------------


def _start_of_changing_day(demo: Demo, kind: str) -> int:
    """An instant whose following 24 hours hold a change of `kind` in the demo world."""
    if kind == "today":
        return demo.world.as_of_ms
    if kind == "a_deletion":
        moment = min(c.deleted_ms for c in demo.digital.wecom_contacts if c.deleted_ms is not None)
    else:
        mqls = mql_moments(demo.world)
        moment = min(
            m
            for c in demo.digital.wecom_contacts
            if "et_hot" not in c.tag_ids
            for m in mqls.get(c.person_id, [])
            if m > c.added_ms
        )
    return moment - DAY_MS // 2


def _world_changes(demo: Demo, start: int, end: int) -> dict[str, set[tuple[str, ...]]]:
    """Keys the demo world changed between two instants, per table."""
    before, after = live_relations(demo.digital, start), live_relations(demo.digital, end)
    mqls = mql_moments(demo.world)
    retagged = {
        key
        for key in before.keys() & after.keys()
        if expected_tags(before[key], mqls, start) != expected_tags(after[key], mqls, end)
    }
    contacts_before, contacts_after = {eu for eu, _ in before}, {eu for eu, _ in after}
    ways = {
        (s,)
        for s in demo.digital.contact_ways
        if start < contact_way_created_ms(demo.world, demo.digital, s) <= end
    }
    return {
        "follow_relations": (before.keys() ^ after.keys()) | retagged,
        "external_contacts": {(eu,) for eu in contacts_before ^ contacts_after},
        "corp_tags": set(),
        "contact_ways": ways,
    }


@pytest.mark.parametrize("kind", ["today", "a_deletion", "a_tagging"])
def test_next_day_loads_exactly_what_the_world_changed(
    kind: str, wecom_env: WecomSimulator, wecom_demo: Demo, wecom_pipeline: dlt.Pipeline
) -> None:
    start = _start_of_changing_day(wecom_demo, kind)
    end = start + DAY_MS
    wecom_env.set_records(wecom_demo.render(start))
    run_wecom(wecom_pipeline)
    before = table_contents(wecom_pipeline)

    wecom_env.set_records(wecom_demo.render(end))  # the simulator advances one day
    loaded = run_wecom(wecom_pipeline)
    after = table_contents(wecom_pipeline)
    world = _world_changes(wecom_demo, start, end)
    was, now = (
        live_relations(wecom_demo.digital, start).keys(),
        live_relations(wecom_demo.digital, end).keys(),
    )
    if kind == "a_deletion":
        assert was - now, "the demo world deletes no relation that day"
    if kind == "a_tagging":
        assert world["follow_relations"] - (was ^ now), "the demo world retags no relation that day"
    assert _loaded_data(loaded) == {table: len(keys) for table, keys in world.items()}
    ways_by_state = {row[2]: key for key, row in after["contact_ways"].items()}  # state column
    assert changed_keys(before["follow_relations"], after["follow_relations"]) == world["follow_relations"]
    assert changed_keys(before["external_contacts"], after["external_contacts"]) == world["external_contacts"]
    assert changed_keys(before["contact_ways"], after["contact_ways"]) == {
        ways_by_state[s] for (s,) in world["contact_ways"]
    }
    assert _table_counts(wecom_pipeline)["follow_relations"] == len(was | now)  # deleted rows are kept
    deleted = query(
        wecom_pipeline,
        "select external_userid, userid, deleted_at = last_changed_at from follow_relations where is_deleted",
    )
    assert {(eu, user) for eu, user, _ in deleted} == was - now
    assert all(same for *_, same in deleted)

    again = run_wecom(wecom_pipeline)  # the same day once more: nothing changes at all
    assert _loaded_data(again) == NOTHING
    assert table_contents(wecom_pipeline) == after


def test_deletions_need_a_complete_snapshot_and_returns_are_undeleted(
    wecom_env: WecomSimulator, wecom_demo: Demo, wecom_pipeline: dlt.Pipeline
) -> None:
    records = wecom_demo.render()
    run_wecom(wecom_pipeline)
    victim = records.contacts[0]  # on the first page
    key = (victim["external_contact"]["external_userid"], victim["follow_info"]["userid"])
    select_victim = (
        "select is_deleted, deleted_at, first_seen_at, deleted_at = last_changed_at from follow_relations"
        f" where external_userid = '{key[0]}' and userid = '{key[1]}'"
    )
    first_seen = query(wecom_pipeline, select_victim)[0][2]
    without = replace(records, contacts=records.contacts[1:])
    wecom_env.set_records(without)

    # page 2 fails for good: the snapshot is incomplete, nothing may be marked deleted
    served = wecom_env.requests_served[BATCH_GET_BY_USER_PATH]
    wecom_env.call_after(
        BATCH_GET_BY_USER_PATH,
        served + 1,
        lambda: wecom_env.inject(BATCH_GET_BY_USER_PATH, 503, "busy", times=MAX_TRIES),
    )
    loaded = run_wecom(wecom_pipeline)
    assert _loaded_data(loaded) == NOTHING
    assert query(wecom_pipeline, select_victim)[0][:3] == (False, None, first_seen)
    failures = query(wecom_pipeline, "select resource, record_id, reason from quarantine order by resource")
    assert [(r[0], r[1]) for r in failures] == [("external_contacts", None), ("follow_relations", None)]
    assert all(r[2].startswith("snapshot incomplete") and "503" in r[2] for r in failures)

    # a complete snapshot without the relation marks it deleted, once
    loaded = run_wecom(wecom_pipeline)
    still_followed = any(c["external_contact"]["external_userid"] == key[0] for c in without.contacts)
    assert _loaded_data(loaded) == {
        **NOTHING,
        "follow_relations": 1,
        "external_contacts": 0 if still_followed else 1,
    }
    is_deleted, deleted_at, kept_first_seen, stamped_now = query(wecom_pipeline, select_victim)[0]
    assert is_deleted and deleted_at is not None and stamped_now and kept_first_seen == first_seen

    # the relation comes back: undeleted, first_seen_at kept
    wecom_env.set_records(records)
    loaded = run_wecom(wecom_pipeline)
    assert loaded["follow_relations"] == 1
    assert query(wecom_pipeline, select_victim)[0][:3] == (False, None, first_seen)
    assert query(wecom_pipeline, "select count(*) from follow_relations where is_deleted") == [(0,)]


# -- faults ------------------------------------------------------------------------------------


def _rate_limited(sim: WecomSimulator) -> None:
    """45009 (frequency limit) on a page, a contact-way read and the follower list."""
    busy = {"errcode": 45009, "errmsg": "api freq out of limit"}
    for path in (BATCH_GET_BY_USER_PATH, GET_CONTACT_WAY_PATH, FOLLOW_USER_LIST_PATH):
        sim.inject(path, 200, busy)


def _token_expires_after_first_page(sim: WecomSimulator) -> None:
    """Every token expires right after the first contacts page (42001 on the second)."""
    sim.call_after(BATCH_GET_BY_USER_PATH, 1, sim.expire_tokens)


def _server_errors(sim: WecomSimulator) -> None:
    """A burst of 5xx on the contacts pages, the token and the contact-way list."""
    sim.inject(BATCH_GET_BY_USER_PATH, 503, "Service Unavailable", times=MAX_TRIES - 1)
    sim.inject(TOKEN_PATH, 502, "Bad Gateway")
    sim.inject(LIST_CONTACT_WAY_PATH, 500, {"error": "oops"}, times=2)


def _invalid_json(sim: WecomSimulator) -> None:
    """A contacts page cut off mid-body, after the first page."""
    sim.call_after(
        BATCH_GET_BY_USER_PATH, 1, lambda: sim.inject(BATCH_GET_BY_USER_PATH, 200, b'{"errcode":0,"ext')
    )


def _missing_fields(sim: WecomSimulator) -> None:
    """Answers that say ok but lack their list: a contacts page, a tag list, a contact way."""
    sim.inject(BATCH_GET_BY_USER_PATH, 200, {"errcode": 0, "errmsg": "ok"})
    sim.inject(GET_CONTACT_WAY_PATH, 200, {"errcode": 0, "errmsg": "ok"})
    sim.inject(settings.CORP_TAG_LIST_PATH, 200, {"errcode": 0, "errmsg": "ok", "tag_group": None})


FAULTS: dict[str, Callable[[WecomSimulator], None]] = {
    "rate_limit": _rate_limited,
    "token_expiry": _token_expires_after_first_page,
    "server_errors": _server_errors,
    "invalid_json": _invalid_json,
    "missing_fields": _missing_fields,
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_faults_are_absorbed_and_the_run_completes(
    fault: str, wecom_env: WecomSimulator, wecom_demo: Demo, wecom_pipeline: dlt.Pipeline
) -> None:
    FAULTS[fault](wecom_env)
    loaded = run_wecom(wecom_pipeline)
    expected = _world_counts(wecom_demo, wecom_demo.world.as_of_ms)
    assert _loaded_data(loaded) == expected
    assert _table_counts(wecom_pipeline) == expected
    assert query(wecom_pipeline, "select count(*) from quarantine") == [(0,)]  # served = raw + quarantine
    if fault == "token_expiry":
        assert wecom_env.requests_served[TOKEN_PATH] == 2


def test_invalid_records_go_to_quarantine(
    wecom_env: WecomSimulator, wecom_demo: Demo, wecom_pipeline: dlt.Pipeline
) -> None:
    records = wecom_demo.render()
    good = records.contacts[0]
    bad_time = {
        "external_contact": {**good["external_contact"], "external_userid": "wmBadTime"},
        "follow_info": {**good["follow_info"], "createtime": "yesterday"},
    }
    no_id = {"external_contact": {"name": "无ID"}, "follow_info": {**good["follow_info"], "userid": "liting"}}
    bad_gender = {
        "external_contact": {**good["external_contact"], "external_userid": "wmBadGender", "gender": "男"},
        "follow_info": good["follow_info"],
    }
    served = [*records.contacts, bad_time, no_id, bad_gender]
    wecom_env.set_records(replace(records, contacts=served))

    loaded = run_wecom(wecom_pipeline)
    rows = query(wecom_pipeline, "select resource, record_id, reason, raw_payload from quarantine")
    bad_time_id = f"wmBadTime/{good['follow_info']['userid']}"
    assert {(r[0], r[1]) for r in rows} == {
        ("external_contacts", "wmBadGender"),
        ("external_contacts", None),
        ("follow_relations", "/liting"),
        ("follow_relations", bad_time_id),
    }
    by_id = {r[1]: r for r in rows}
    assert "gender" in by_id["wmBadGender"][2] and "external_contact.external_userid" in by_id["/liting"][2]
    assert "createtime" in by_id[bad_time_id][2]
    assert json.loads(by_id[bad_time_id][3]) == bad_time  # the record exactly as received
    counts = _table_counts(wecom_pipeline)
    per_resource = {"external_contacts": 2, "follow_relations": 2}
    assert counts["follow_relations"] + per_resource["follow_relations"] == len(served)
    distinct_contacts = {c["external_contact"].get("external_userid") for c in served}
    assert counts["external_contacts"] + per_resource["external_contacts"] == len(distinct_contacts)
    assert loaded["quarantine"] == 4

    again = run_wecom(wecom_pipeline)  # quarantine is idempotent; nothing else changes
    assert _loaded_data(again) == NOTHING
    assert query(wecom_pipeline, "select count(*) from quarantine") == [(4,)]
    assert query(wecom_pipeline, "select count(*) from follow_relations where is_deleted") == [(0,)]


# -- credentials -------------------------------------------------------------------------------


def test_wrong_secret_fails_once_naming_the_setting(
    wecom_env: WecomSimulator, monkeypatch: pytest.MonkeyPatch, wecom_pipeline: dlt.Pipeline
) -> None:
    monkeypatch.setenv("SOURCES__WECOM__CORP_SECRET", "not-the-secret")
    with pytest.raises(PipelineStepFailed) as failure:
        run_wecom(wecom_pipeline)
    message = str(failure.value)
    assert "SOURCES__WECOM__CORP_SECRET" in message and "40001" in message
    assert "not-the-secret" not in message  # the secret is never echoed
    assert wecom_env.requests_served[TOKEN_PATH] == 1
    assert sum(wecom_env.requests_served.values()) == 1


def test_wrong_corp_id_names_the_setting(
    wecom_env: WecomSimulator, monkeypatch: pytest.MonkeyPatch, wecom_pipeline: dlt.Pipeline
) -> None:
    monkeypatch.setenv("SOURCES__WECOM__CORP_ID", "ww_someone_else")
    with pytest.raises(PipelineStepFailed) as failure:
        run_wecom(wecom_pipeline)
    assert "SOURCES__WECOM__CORP_ID" in str(failure.value) and "40013" in str(failure.value)
    assert sum(wecom_env.requests_served.values()) == 1


def test_api_not_authorised_stops_naming_the_secret(
    wecom_env: WecomSimulator, wecom_pipeline: dlt.Pipeline
) -> None:
    wecom_env.inject(FOLLOW_USER_LIST_PATH, 200, {"errcode": 48001, "errmsg": "api forbidden"}, times=10)
    with pytest.raises(PipelineStepFailed) as failure:
        run_wecom(wecom_pipeline)
    message = str(failure.value)
    assert "errcode 48001" in message and "SOURCES__WECOM__CORP_SECRET" in message and "客户联系" in message
    assert wecom_env.requests_served[FOLLOW_USER_LIST_PATH] == 1  # no retry storm


def test_missing_setting_is_named(
    wecom_env: WecomSimulator, monkeypatch: pytest.MonkeyPatch, wecom_pipeline: dlt.Pipeline
) -> None:
    monkeypatch.delenv("SOURCES__WECOM__CORP_SECRET")
    with pytest.raises(PipelineStepFailed) as failure:
        run_wecom(wecom_pipeline)
    assert (
        "wecom: missing setting SOURCES__WECOM__CORP_SECRET (or corp_secret under [sources.wecom]"
        " in .dlt/secrets.toml)" in str(failure.value)
    )
    assert sum(wecom_env.requests_served.values()) == 0
