"""The WeCom simulator's wire format and the demo renderer, spoken to with plain HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from leadloop.demo.model import DAY_MS
from leadloop.demo.simulators.wecom import (
    BATCH_GET_BY_USER_PATH,
    FOLLOW_USER_LIST_PATH,
    GET_CONTACT_WAY_PATH,
    LIST_CONTACT_WAY_PATH,
    TOKEN_PATH,
    WecomSimulator,
)
from leadloop.demo.wecom_records import WecomRecords, render
from leadloop.extract.wecom.client import Page, SharedPages

pytest.register_assert_rewrite("tests.extract.wecom_fixtures")

from tests.extract.wecom_fixtures import CORP_ID, CORP_SECRET, Demo

pytest_plugins = ("tests.extract.wecom_fixtures",)  # the wecom_demo fixture


@pytest.fixture
def sim(wecom_demo: Demo) -> Iterator[WecomSimulator]:
    """A simulator of the demo corp as of its today."""
    with WecomSimulator(wecom_demo.render(), corp_id=CORP_ID, corp_secret=CORP_SECRET) as simulator:
        yield simulator


def _token(sim: WecomSimulator) -> str:
    """A fresh access token."""
    answer = requests.get(
        sim.base_url + TOKEN_PATH, params={"corpid": CORP_ID, "corpsecret": CORP_SECRET}
    ).json()
    assert answer["errcode"] == 0 and answer["expires_in"] == 7200
    return str(answer["access_token"])


def _post(sim: WecomSimulator, path: str, token: str, body: Any) -> dict[str, Any]:
    """POSTs JSON with the token; every answer is HTTP 200."""
    response = requests.post(sim.base_url + path, params={"access_token": token}, json=body)
    assert response.status_code == 200
    return dict(response.json())


def test_gettoken_refuses_wrong_corp_and_secret(sim: WecomSimulator) -> None:
    url = sim.base_url + TOKEN_PATH
    assert requests.get(url, params={"corpid": "x", "corpsecret": CORP_SECRET}).json()["errcode"] == 40013
    assert requests.get(url, params={"corpid": CORP_ID, "corpsecret": "x"}).json()["errcode"] == 40001


def test_token_errors(sim: WecomSimulator) -> None:
    url = sim.base_url + FOLLOW_USER_LIST_PATH
    assert requests.get(url).json()["errcode"] == 41001
    assert requests.get(url, params={"access_token": "nope"}).json()["errcode"] == 40014
    token = _token(sim)
    assert requests.get(url, params={"access_token": token}).json()["follow_user"]
    sim.expire_tokens()
    assert requests.get(url, params={"access_token": token}).json()["errcode"] == 42001


def test_contacts_page_by_cursor_and_check_limits(sim: WecomSimulator) -> None:
    token = _token(sim)
    users = sim.records.follow_users
    seen: list[tuple[str, str]] = []
    cursor = ""
    while True:
        answer = _post(
            sim, BATCH_GET_BY_USER_PATH, token, {"userid_list": users, "cursor": cursor, "limit": 40}
        )
        assert answer["errcode"] == 0 and len(answer["external_contact_list"]) <= 40
        seen += [
            (c["external_contact"]["external_userid"], c["follow_info"]["userid"])
            for c in answer["external_contact_list"]
        ]
        cursor = answer["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == len(sim.records.contacts)
    only_one = _post(sim, BATCH_GET_BY_USER_PATH, token, {"userid_list": users[:1], "limit": 100})
    assert {c["follow_info"]["userid"] for c in only_one["external_contact_list"]} == {users[0]}
    for bad in (
        {"userid_list": users, "limit": 101},
        {"userid_list": [], "limit": 10},
        {"userid_list": users, "cursor": "forged", "limit": 10},
    ):
        assert _post(sim, BATCH_GET_BY_USER_PATH, token, bad)["errcode"] == 40058


def test_contact_ways_are_listed_by_creation_time(sim: WecomSimulator) -> None:
    token = _token(sim)
    created = sim.records.contact_way_created
    everything = _post(sim, LIST_CONTACT_WAY_PATH, token, {"start_time": 0, "end_time": 2**40, "limit": 1})
    assert len(everything["contact_way"]) == 1 and everything["next_cursor"]
    rest = _post(
        sim,
        LIST_CONTACT_WAY_PATH,
        token,
        {"start_time": 0, "end_time": 2**40, "limit": 1, "cursor": everything["next_cursor"]},
    )
    ids = [w["config_id"] for w in everything["contact_way"] + rest["contact_way"]]
    assert sorted(ids) == sorted(created) and not rest["next_cursor"]
    first = min(created.values())
    window = _post(sim, LIST_CONTACT_WAY_PATH, token, {"start_time": first, "end_time": first, "limit": 10})
    assert [w["config_id"] for w in window["contact_way"]] == [k for k, v in created.items() if v == first]
    detail = _post(sim, GET_CONTACT_WAY_PATH, token, {"config_id": ids[0]})["contact_way"]
    assert detail["config_id"] == ids[0] and detail["state"] and detail["qr_code"].startswith("https://")


def test_render_shows_relations_only_while_they_exist(wecom_demo: Demo) -> None:
    contact = next(c for c in wecom_demo.digital.wecom_contacts if c.deleted_ms is not None)

    def relations(records: WecomRecords) -> set[tuple[str, str]]:
        return {
            (c["external_contact"]["external_userid"], c["follow_info"]["userid"]) for c in records.contacts
        }

    key = (contact.external_userid, contact.staff_userid)
    world, digital = wecom_demo.world, wecom_demo.digital
    assert key not in relations(render(world, digital, contact.added_ms - 1))
    assert key in relations(render(world, digital, contact.added_ms))
    assert key in relations(render(world, digital, contact.deleted_ms - 1))
    assert key not in relations(render(world, digital, contact.deleted_ms))
    later = render(world, digital, contact.deleted_ms + DAY_MS)
    assert later.follow_users == list(render(world, digital).follow_users)


def test_render_follows_the_wire_format(wecom_demo: Demo) -> None:
    records = wecom_demo.render()
    for item in records.contacts:
        contact, follow = item["external_contact"], item["follow_info"]
        assert contact["type"] in (1, 2) and ("unionid" in contact) == (contact["type"] == 1)
        assert ("corp_name" in contact) == (contact["type"] == 2)
        assert isinstance(follow["createtime"], int) and follow["createtime"] < 10**10  # seconds
        assert isinstance(follow["tag_id"], list) and isinstance(follow["remark_mobiles"], list)
    tags = {t["id"] for g in records.tag_groups for t in g["tag"]}
    assert tags == set(wecom_demo.digital.corp_tags)


def test_shared_pages_read_once_and_report_completeness() -> None:
    reads: list[int] = []

    def produce() -> Iterator[Page]:
        for n in range(3):
            reads.append(n)
            yield Page([n])

    shared = SharedPages(produce)
    first, second = iter(shared), iter(shared)
    assert next(first).records == [0] and next(second).records == [0]
    assert [p.records for p in first] == [[1], [2]] and [p.records for p in second] == [[1], [2]]
    assert reads == [0, 1, 2] and shared.complete
