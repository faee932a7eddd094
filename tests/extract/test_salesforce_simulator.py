"""The Salesforce simulator: its SOQL parser and the wire format it serves."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime

import pytest
import requests

from leadloop.demo.model import World
from leadloop.demo.salesforce_shape import OrgShape
from leadloop.demo.simulators.salesforce import (
    BULK_JOB_PATH,
    BULK_JOBS_PATH,
    BULK_RESULTS_PATH,
    DESCRIBE_PATH,
    QUERY_ALL_PATH,
    QUERY_PATH,
    SOBJECTS_PATH,
    TOKEN_PATH,
    Condition,
    SalesforceSimulator,
    SoqlError,
    SoqlQuery,
    parse_soql,
    run_query,
)

pytest.register_assert_rewrite("tests.extract.salesforce_fixtures")

from tests.extract.salesforce_fixtures import (
    CLIENT_ID,
    CLIENT_SECRET,
    PASSWORD,
    SECURITY_TOKEN,
    USERNAME,
    Records,
    serve_shape,
)

pytest_plugins = ("tests.extract.salesforce_fixtures",)  # the sf_* fixtures

ROWS = [
    {"Id": "003C", "Name": "c", "SystemModstamp": "2026-01-02T00:00:00.000+0000", "IsDeleted": False},
    {"Id": "003A", "Name": "a", "SystemModstamp": "2026-01-02T00:00:00.000+0000", "IsDeleted": True},
    {"Id": "003B", "Name": "it's", "SystemModstamp": "2026-01-01T00:00:00.000+0000", "IsDeleted": False},
    {"Id": "003D", "Name": "d", "SystemModstamp": None, "IsDeleted": False},
]
FIELDS = {"Id", "Name", "SystemModstamp", "IsDeleted"}


def test_parse_full_statement() -> None:
    query = parse_soql(
        "SELECT Id, Name FROM Contact WHERE SystemModstamp >= 2026-01-01T00:00:00Z AND Name != 'it\\'s'"
        " AND IsDeleted = false ORDER BY SystemModstamp DESC, Id LIMIT 10"
    )
    assert query == SoqlQuery(
        fields=("Id", "Name"),
        sobject="Contact",
        conditions=(
            Condition("SystemModstamp", ">=", datetime(2026, 1, 1, tzinfo=UTC)),
            Condition("Name", "!=", "it's"),
            Condition("IsDeleted", "=", False),
        ),
        order_by=(("SystemModstamp", True), ("Id", False)),
        limit=10,
    )


def test_parse_date_and_offset_literals() -> None:
    query = parse_soql(
        "select Id from Opportunity where CloseDate < 2026-02-01 and CreatedDate > 2026-01-01T08:00:00+08:00"
    )
    assert query.conditions == (
        Condition("CloseDate", "<", date(2026, 2, 1)),
        Condition("CreatedDate", ">", datetime(2026, 1, 1, tzinfo=UTC)),
    )


@pytest.mark.parametrize(
    "text",
    [
        "SELECT FROM Lead",
        "SELECT Id Lead",
        "SELECT Id FROM Lead WHERE SystemModstamp >",
        "SELECT Id FROM Lead LIMIT",
        'SELECT Id FROM Lead WHERE Name = "x"',
        "SELECT Id, FROM Lead",
        "SELECT Id FROM Lead WHERE SystemModstamp >= '2026-01-01' ORDER",
    ],
)
def test_parse_rejects_bad_syntax(text: str) -> None:
    with pytest.raises(SoqlError) as error:
        parse_soql(text)
    assert error.value.code == "MALFORMED_QUERY"


@pytest.mark.parametrize(
    ("where", "ids"),
    [
        ("SystemModstamp = 2026-01-02T00:00:00Z", ["003A", "003C"]),
        ("SystemModstamp > 2026-01-01T00:00:00Z", ["003A", "003C"]),
        ("SystemModstamp >= 2026-01-01T00:00:00Z", ["003B", "003A", "003C"]),
        ("SystemModstamp < 2026-01-01T08:00:00+08:00", []),
        ("SystemModstamp = null", ["003D"]),
        ("IsDeleted = true", ["003A"]),
        ("Name = 'it\\'s'", ["003B"]),
    ],
)
def test_where_filters_and_orders_by_fields_then_id(where: str, ids: list[str]) -> None:
    rows = run_query(
        parse_soql(f"SELECT Id FROM Contact WHERE {where} ORDER BY SystemModstamp, Id"), ROWS, FIELDS
    )
    assert [row["Id"] for row in rows] == ids


def test_projection_keeps_selected_fields_nulls_first() -> None:
    rows = run_query(
        parse_soql("SELECT Id, SystemModstamp FROM Contact ORDER BY SystemModstamp"), ROWS, FIELDS
    )
    assert rows[0] == {"Id": "003D", "SystemModstamp": None}
    assert [row["Id"] for row in rows] == ["003D", "003B", "003A", "003C"]


def test_unknown_field_is_invalid_field() -> None:
    with pytest.raises(SoqlError, match="No such column 'Nope__c' on entity 'Contact'") as error:
        run_query(parse_soql("SELECT Id, Nope__c FROM Contact"), ROWS, FIELDS)
    assert error.value.code == "INVALID_FIELD"


def _token(simulator: SalesforceSimulator, **form: str) -> requests.Response:
    """POSTs a token request."""
    return requests.post(simulator.login_url + TOKEN_PATH, data=form, timeout=5)


@pytest.fixture
def session(sf_simulator: SalesforceSimulator) -> requests.Session:
    """A requests session already holding a valid bearer token (password grant)."""
    answer = _token(
        sf_simulator,
        grant_type="password",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        username=USERNAME,
        password=PASSWORD + SECURITY_TOKEN,
    ).json()
    assert answer["token_type"] == "Bearer" and answer["instance_url"] == sf_simulator.base_url
    assert answer["issued_at"].isdigit() and "expires_in" not in answer
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {answer['access_token']}"
    return http


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "password", "client_id": "x"}, "invalid_client_id"),
        ({"grant_type": "password", "client_id": CLIENT_ID, "client_secret": "x"}, "invalid_client"),
        (
            {
                "grant_type": "password",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "username": USERNAME,
                "password": PASSWORD,
            },
            "invalid_grant",
        ),
        ({"grant_type": "authorization_code"}, "unsupported_grant_type"),
    ],
)
def test_token_errors_are_oauth_answers(
    sf_simulator: SalesforceSimulator, form: dict[str, str], error: str
) -> None:
    answer = _token(sf_simulator, **form)
    assert (
        answer.status_code == 400 and answer.json()["error"] == error and answer.json()["error_description"]
    )


def test_client_credentials_grant(sf_simulator: SalesforceSimulator) -> None:
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    assert _token(sf_simulator, **form).json()["access_token"]
    sf_simulator.client_credentials = False
    assert _token(sf_simulator, **form).json()["error"] == "invalid_grant"


def test_missing_or_expired_session_gets_invalid_session_id(
    sf_simulator: SalesforceSimulator, session: requests.Session
) -> None:
    url, params = sf_simulator.base_url + QUERY_ALL_PATH, {"q": "SELECT Id FROM User"}
    assert requests.get(url, params=params, timeout=5).status_code == 401
    assert session.get(url, params=params, timeout=5).status_code == 200
    sf_simulator.expire_tokens()
    expired = session.get(url, params=params, timeout=5)
    assert expired.status_code == 401
    assert expired.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_query_all_pages_with_next_records_url(
    sf_simulator: SalesforceSimulator, session: requests.Session, sf_records: Records
) -> None:
    headers = {"Sforce-Query-Options": "batchSize=250"}
    body = session.get(
        sf_simulator.base_url + QUERY_ALL_PATH,
        params={"q": "SELECT Id, IsDeleted FROM Lead ORDER BY SystemModstamp, Id"},
        headers=headers,
        timeout=5,
    ).json()
    ids, pages = [], 0
    while True:
        pages += 1
        ids += [record["Id"] for record in body["records"]]
        assert all(record["attributes"]["type"] == "Lead" for record in body["records"])
        if body["done"]:
            assert "nextRecordsUrl" not in body
            break
        assert body["nextRecordsUrl"].startswith(QUERY_PATH + "/01g")
        body = session.get(sf_simulator.base_url + body["nextRecordsUrl"], headers=headers, timeout=5).json()
    assert pages == 3 and len(ids) == len(set(ids)) == len(sf_records["Lead"]) == body["totalSize"]
    last = body["records"][-1]
    assert last["attributes"]["url"] == f"/services/data/v61.0/sobjects/Lead/{last['Id']}"


def test_query_leaves_deleted_rows_out_and_query_all_keeps_them(
    sf_simulator: SalesforceSimulator, session: requests.Session, sf_records: Records
) -> None:
    params = {"q": "SELECT Id FROM Lead"}
    deleted = sum(1 for lead in sf_records["Lead"] if lead["IsDeleted"])
    alive = session.get(sf_simulator.base_url + QUERY_PATH, params=params, timeout=5).json()
    everything = session.get(sf_simulator.base_url + QUERY_ALL_PATH, params=params, timeout=5).json()
    assert deleted > 0
    assert (alive["totalSize"], everything["totalSize"]) == (
        len(sf_records["Lead"]) - deleted,
        len(sf_records["Lead"]),
    )


def test_batch_size_is_clamped_to_salesforce_limits(
    sf_simulator: SalesforceSimulator, session: requests.Session
) -> None:
    body = session.get(
        sf_simulator.base_url + QUERY_ALL_PATH,
        params={"q": "SELECT Id FROM Lead"},
        headers={"Sforce-Query-Options": "batchSize=10"},
        timeout=5,
    ).json()
    assert len(body["records"]) == 200 and not body["done"]


@pytest.mark.parametrize(
    ("q", "code", "words"),
    [
        ("SELECT Id FROM Nothing", "INVALID_TYPE", "sObject type 'Nothing' is not supported"),
        ("SELECT Id, Foo FROM Lead", "INVALID_FIELD", "No such column 'Foo' on entity 'Lead'"),
        ("SELECT Id FORM Lead", "MALFORMED_QUERY", "unexpected token"),
        ("", "MALFORMED_QUERY", "A query string has to be specified"),
    ],
)
def test_query_errors_are_salesforce_error_bodies(
    sf_simulator: SalesforceSimulator, session: requests.Session, q: str, code: str, words: str
) -> None:
    answer = session.get(sf_simulator.base_url + QUERY_ALL_PATH, params={"q": q}, timeout=5)
    assert answer.status_code == 400
    [error] = answer.json()
    assert error["errorCode"] == code and words in error["message"]


def test_unknown_query_locator(sf_simulator: SalesforceSimulator, session: requests.Session) -> None:
    answer = session.get(sf_simulator.base_url + QUERY_PATH + "/01gffffffff-200", timeout=5)
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


# -- describe, COUNT() and Bulk API 2.0 ----------------------------------------------------------------


def test_parse_count() -> None:
    query = parse_soql("SELECT COUNT() FROM Lead WHERE SystemModstamp < 2025-01-01T00:00:00Z")
    assert query.count and query.fields == () and query.sobject == "Lead"


def test_count_answers_total_size_without_records(
    sf_simulator: SalesforceSimulator, session: requests.Session, sf_records: Records
) -> None:
    live = sum(1 for lead in sf_records["Lead"] if not lead["IsDeleted"])
    count = {"q": "SELECT COUNT() FROM Lead"}
    body = session.get(sf_simulator.base_url + QUERY_PATH, params=count, timeout=5).json()
    assert body == {"totalSize": live, "done": True, "records": []}


def test_describe_lists_the_org_fields_of_its_shape(
    sf_simulator: SalesforceSimulator, session: requests.Session, demo_world: World
) -> None:
    def describe(sobject: str) -> requests.Response:
        return session.get(sf_simulator.base_url + DESCRIBE_PATH.format(sobject=sobject), timeout=5)

    fields = {f["name"]: f for f in describe("Lead").json()["fields"]}
    assert fields["Id"]["type"] == "id" and fields["OwnerId"]["type"] == "reference"
    assert fields["UTM_Source__c"]["custom"] and fields["IsConverted"]["type"] == "boolean"
    assert "CurrencyIsoCode" not in fields
    shape = OrgShape(custom_fields=False, multi_currency=True, currency="USD",
                     absent_objects=frozenset({"Event"}), hidden_fields=frozenset({"Lead.Industry"}))
    serve_shape(sf_simulator, demo_world, shape)
    fields = {f["name"]: f for f in describe("Lead").json()["fields"]}
    assert not [name for name in fields if name.endswith("__c")] and "Industry" not in fields
    assert fields["CurrencyIsoCode"]["type"] == "picklist"
    assert "DefaultCurrencyIsoCode" not in {f["name"] for f in describe("Organization").json()["fields"]}
    missing = describe("Event")
    assert missing.status_code == 404 and missing.json()[0]["errorCode"] == "NOT_FOUND"
    sobjects = session.get(sf_simulator.base_url + SOBJECTS_PATH, timeout=5).json()["sobjects"]
    names = {o["name"] for o in sobjects}
    assert "Event" not in names and {"Task", "Organization", "OpportunityFieldHistory"} <= names
    events = {"q": "SELECT Id FROM Event"}
    answer = session.get(sf_simulator.base_url + QUERY_ALL_PATH, params=events, timeout=5)
    assert answer.json()[0]["errorCode"] == "INVALID_TYPE"
    soql = {"q": "SELECT Id, UTM_Source__c FROM Lead"}
    answer = session.get(sf_simulator.base_url + QUERY_ALL_PATH, params=soql, timeout=5)
    assert answer.json()[0]["errorCode"] == "INVALID_FIELD"


def test_bulk_query_job_life(
    sf_simulator: SalesforceSimulator, session: requests.Session, sf_records: Records
) -> None:
    sf_simulator.bulk_polls_before_complete, sf_simulator.bulk_page_size = 1, 250
    job = session.post(sf_simulator.base_url + BULK_JOBS_PATH, timeout=5, json={
        "operation": "queryAll", "query": "SELECT Id, IsDeleted, CreatedDate, IsConverted FROM Lead",
        "contentType": "CSV", "columnDelimiter": "COMMA", "lineEnding": "LF"}).json()
    assert job["state"] == "UploadComplete" and job["object"] == "Lead" and job["id"].startswith("750")
    status = sf_simulator.base_url + BULK_JOB_PATH.format(job_id=job["id"])
    results = sf_simulator.base_url + BULK_RESULTS_PATH.format(job_id=job["id"])
    assert session.get(results, timeout=5).json()[0]["errorCode"] == "INVALIDJOBSTATE"
    assert [session.get(status, timeout=5).json()["state"] for _ in range(2)] == ["InProgress", "JobComplete"]
    ids, locator, pages = [], None, 0
    while True:
        answer = session.get(results, params={"locator": locator} if locator else None, timeout=5)
        lines = answer.text.splitlines()
        assert lines[0] == '"Id","IsDeleted","CreatedDate","IsConverted"'
        assert answer.headers["Sforce-NumberOfRecords"] == str(len(lines) - 1)
        first = next(csv.reader(lines[1:2]))
        assert first[1] in ("true", "false") and first[2].endswith("Z")
        ids += [next(csv.reader([line]))[0] for line in lines[1:]]
        pages += 1
        locator = answer.headers["Sforce-Locator"]
        if locator == "null":
            break
    assert pages == 3 and sorted(ids) == sorted(r["Id"] for r in sf_records["Lead"])
    assert session.delete(status, timeout=5).status_code == 204
    assert session.get(status, timeout=5).status_code == 404


@pytest.mark.parametrize(
    "query", ["SELECT COUNT() FROM Lead", "SELECT Id FROM Lead ORDER BY Id", "SELECT Id FROM Lead LIMIT 5"]
)
def test_bulk_refuses_what_query_jobs_do_not_support(
    sf_simulator: SalesforceSimulator, session: requests.Session, query: str
) -> None:
    answer = session.post(sf_simulator.base_url + BULK_JOBS_PATH, json={"operation": "query", "query": query},
                          timeout=5)
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "API_ERROR"
