"""The real wecom dlt source against the WeCom simulator (default demo company) on 127.0.0.1, into DuckDB."""

from __future__ import annotations

import json
from dataclasses import replace

import dlt
import pytest

from leadloop.demo.model import DAY_MS
from leadloop.demo.simulators.wecom import (
    BATCH_GET_BY_USER_PATH,
    WecomSimulator,
)
from leadloop.demo.wecom_records import contact_way_created_ms

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
    table_counts,
    world_counts,
)

pytest_plugins = ("tests.extract.wecom_fixtures",)  # the wecom_* fixtures

NOTHING = dict.fromkeys(DATA_TABLES, 0)


def _loaded_data(loaded: dict[str, int]) -> dict[str, int]:
    """Rows loaded per data table (quarantine left out)."""
    return {table: loaded[table] for table in DATA_TABLES}


# -- building and first load -------------------------------------------------------------------


def test_full_load_matches_the_demo_world(
    wecom_env: WecomSimulator, wecom_demo: Demo, wecom_pipeline: dlt.Pipeline
) -> None:
    today = wecom_demo.world.as_of_ms
    loaded = run_wecom(wecom_pipeline)
    expected = world_counts(wecom_demo, today)
    assert _loaded_data(loaded) == expected
    assert table_counts(wecom_pipeline) == expected
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
    assert table_counts(wecom_pipeline)["follow_relations"] == len(was | now)  # deleted rows are kept
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
