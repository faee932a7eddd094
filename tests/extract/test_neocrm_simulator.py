"""The 销售易 simulator: its xoql parser and the wire format it serves."""

from __future__ import annotations

import pytest
import requests

from leadloop.demo.simulators.neocrm import (
    TOKEN_PATH,
    XOQL_PATH,
    XOQL_SCROLL_PATH,
    Condition,
    NeocrmSimulator,
    XoqlError,
    XoqlQuery,
    parse_xoql,
    run_query,
)
from tests.extract.conftest import CLIENT_ID, CLIENT_SECRET, PASSWORD, USERNAME, World

ROWS = [
    {"id": 3, "name": "c", "updatedAt": 20},
    {"id": 1, "name": "a", "updatedAt": 20},
    {"id": 2, "name": "it's", "updatedAt": 10},
    {"id": 4, "name": "d"},
]
FIELDS = {"id", "name", "updatedAt"}


def test_parse_full_statement() -> None:
    query = parse_xoql(
        "SELECT id, name FROM lead WHERE updatedAt >= 5 and name != 'it''s' ORDER BY updatedAt DESC"
    )
    assert query == XoqlQuery(
        fields=("id", "name"),
        object_name="lead",
        conditions=(Condition("updatedAt", ">=", 5), Condition("name", "!=", "it's")),
        order_by="updatedAt",
        descending=True,
    )


def test_parse_minimal_statement() -> None:
    assert parse_xoql("select id from user") == XoqlQuery(("id",), "user")


@pytest.mark.parametrize(
    "text",
    [
        "select from lead",
        "select id lead",
        "select id from lead where updatedAt >",
        "select id from lead limit",
        'select id from lead where name = "x"',
        "select id, from lead",
    ],
)
def test_parse_rejects_bad_syntax(text: str) -> None:
    with pytest.raises(XoqlError):
        parse_xoql(text)


@pytest.mark.parametrize(
    ("where", "ids"),
    [
        ("updatedAt = 20", [1, 3]),
        ("updatedAt > 10", [1, 3]),
        ("updatedAt >= 10", [2, 1, 3]),
        ("updatedAt < 20", [2]),
        ("updatedAt <= 20 and id != 1", [2, 3]),
        ("name = 'it''s'", [2]),
    ],
)
def test_where_filters_and_orders_by_field_then_id(where: str, ids: list[int]) -> None:
    rows = run_query(parse_xoql(f"select id from lead where {where} order by updatedAt"), ROWS, FIELDS)
    assert [row["id"] for row in rows] == ids


def test_order_puts_nulls_first_and_projects_fields() -> None:
    rows = run_query(parse_xoql("select id, updatedAt from lead order by updatedAt"), ROWS, FIELDS)
    assert rows == [
        {"id": 4},
        {"id": 2, "updatedAt": 10},
        {"id": 1, "updatedAt": 20},
        {"id": 3, "updatedAt": 20},
    ]


def test_unknown_field_is_named() -> None:
    with pytest.raises(XoqlError, match="'nope'"):
        run_query(parse_xoql("select id from lead where nope = 1"), ROWS, FIELDS)


@pytest.fixture
def session(simulator: NeocrmSimulator) -> requests.Session:
    """A requests session already holding a valid bearer token."""
    answer = requests.post(
        simulator.token_url,
        data={
            "grant_type": "password",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uri": "",
            "username": USERNAME,
            "password": PASSWORD,
        },
        timeout=5,
    ).json()
    assert answer["token_type"] == "Bearer" and answer["expires_in"] == 7199 and answer["instance_uri"]
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {answer['access_token']}"
    return http


def test_wrong_credentials_get_401_with_oauth_error(simulator: NeocrmSimulator) -> None:
    answer = requests.post(
        simulator.token_url,
        data={
            "grant_type": "password",
            "client_id": CLIENT_ID,
            "client_secret": "x",
            "username": USERNAME,
            "password": PASSWORD,
        },
        timeout=5,
    )
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"


def test_missing_or_expired_token_gets_401(simulator: NeocrmSimulator, session: requests.Session) -> None:
    url = simulator.base_url + XOQL_PATH
    assert requests.post(url, data={"xoql": "select id from lead"}, timeout=5).json()["code"] == "401"
    assert session.post(url, data={"xoql": "select id from lead"}, timeout=5).json()["code"] == "200"
    simulator.expire_tokens()
    expired = session.post(url, data={"xoql": "select id from lead"}, timeout=5)
    assert expired.status_code == 401 and expired.json() == {
        "code": "401",
        "msg": "access token is invalid or expired",
    }


def test_plain_xoql_caps_at_3000_rows(simulator: NeocrmSimulator, session: requests.Session) -> None:
    simulator.set_records({"lead": [{"id": i, "updatedAt": i} for i in range(3100)]})
    body = session.post(
        simulator.base_url + XOQL_PATH, data={"xoql": "select id from lead"}, timeout=5
    ).json()
    assert body["code"] == "200" and body["msg"] is None
    assert (body["data"]["totalSize"], body["data"]["count"], len(body["data"]["records"])) == (
        3100,
        3000,
        3000,
    )


def test_scroll_pages_with_query_locator(
    simulator: NeocrmSimulator, session: requests.Session, world: World
) -> None:
    url, ids, locator, pages = simulator.base_url + XOQL_SCROLL_PATH, [], "", 0
    while True:
        form = {
            "xoql": "select id from lead order by updatedAt",
            "batchCount": "100",
            "queryLocator": locator,
        }
        data = session.post(url, data=form, timeout=5).json()["data"]
        ids += [row["id"] for row in data["records"]]
        pages += 1
        locator = data["queryLocator"]
        if not locator:
            break
    assert pages == 4 and len(ids) == len(set(ids)) == len(world["lead"]) == data["totalSize"]
    again = session.post(url, data={"xoql": "x", "batchCount": "3000"}, timeout=5).json()
    assert again["code"] == "400" and "batchCount" in again["msg"]


def test_unknown_object_is_an_application_error(
    simulator: NeocrmSimulator, session: requests.Session
) -> None:
    answer = session.post(simulator.base_url + XOQL_PATH, data={"xoql": "select id from nothing"}, timeout=5)
    assert answer.status_code == 200 and answer.json()["code"] == "400" and "nothing" in answer.json()["msg"]


def test_injected_faults_are_served_first_and_counted(simulator: NeocrmSimulator) -> None:
    simulator.inject(TOKEN_PATH, 503, "busy", times=2)
    simulator.inject(TOKEN_PATH, 429, {"code": "429"}, headers={"Retry-After": "1"})
    statuses = [requests.post(simulator.token_url, data={}, timeout=5) for _ in range(4)]
    assert [answer.status_code for answer in statuses] == [503, 503, 429, 400]
    assert statuses[2].headers["Retry-After"] == "1" and statuses[0].text == "busy"
    assert simulator.requests_served[TOKEN_PATH] == 4
    assert requests.get(simulator.base_url + "/nowhere", timeout=5).status_code == 404
