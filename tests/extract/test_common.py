"""leadloop.extract.common: arrow pages with rejects, quarantine rows, retries, token cache, settings errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import pyarrow as pa
import pytest

from leadloop.demo.simulators.base import Request, Response, SimulatorBase, json_response
from leadloop.extract.common import (
    MissingSettingError,
    RetriesExhaustedError,
    RetryingSession,
    RetryPolicy,
    Token,
    TokenCache,
    TransientError,
    call_with_retries,
    quarantine_id,
    quarantine_table,
    records_to_arrow,
    require_settings,
)
from leadloop.extract.common.arrow import Rejected, column_hints

FIELDS = {
    "id": "bigint",
    "name": "text",
    "score": "double",
    "money": "decimal",
    "updatedAt": "bigint",
    "customItem1__c": "text",
}
FAST = RetryPolicy(tries=3, base_delay=0.001)


def test_records_to_arrow_types_renames_and_rejects() -> None:
    records = [
        {
            "id": 1,
            "name": "a",
            "score": 1,
            "money": 12.5,
            "updatedAt": 10,
            "customItem1__c": "x",
            "extra": [1],
        },
        {"id": "2", "name": 7, "score": None, "money": "3", "updatedAt": 11.0},
        {"id": "abc", "updatedAt": 12},
        {"id": 4, "name": "no cursor"},
        {"id": True, "updatedAt": 13},
        {"id": 6, "money": 0.125, "updatedAt": 14},
        {"id": 7, "name": {"nested": 1}, "updatedAt": 15},
        "not an object",
    ]
    page = records_to_arrow(
        records, FIELDS, primary_key="id", cursor="updatedAt", rename={"customItem1__c": "utmSource"}
    )
    assert page.table.column_names == ["id", "name", "score", "money", "updatedAt", "utmSource"]
    assert page.table.schema.field("money").type == pa.decimal128(18, 2)
    assert not page.table.schema.field("id").nullable and page.table.schema.field("name").nullable
    assert page.table.to_pylist() == [
        {"id": 1, "name": "a", "score": 1.0, "money": Decimal("12.50"), "updatedAt": 10, "utmSource": "x"},
        {"id": 2, "name": "7", "score": None, "money": Decimal("3.00"), "updatedAt": 11, "utmSource": None},
    ]
    reasons = {r.record_id: r.reason for r in page.rejected}
    assert reasons["abc"] == 'field id: expected bigint, got str "abc"'
    assert reasons["4"] == "missing required field updatedAt"
    assert "expected bigint" in reasons["True"]
    assert "money: expected decimal" in reasons["6"]
    assert "name: expected text" in reasons["7"]
    assert reasons[None].startswith("record is str")
    assert len(page.rejected) == 6


def test_all_null_page_keeps_types() -> None:
    page = records_to_arrow([{"id": 1, "updatedAt": 2}], FIELDS, primary_key="id", cursor="updatedAt")
    assert page.table.schema.field("score").type == pa.float64()
    assert page.table.schema.field("name").type == pa.string()
    hints = column_hints(FIELDS, {"customItem1__c": "utmSource"}, ("id",))
    assert hints["money"] == {"data_type": "decimal", "nullable": True, "precision": 18, "scale": 2}
    assert hints["id"]["nullable"] is False and "utmSource" in hints


def test_quarantine_rows_are_deterministic_and_deduplicated() -> None:
    raw = {"b": 1, "a": "abc"}
    rejects = [Rejected(raw, "bad", "abc"), Rejected(dict(reversed(list(raw.items()))), "bad", "abc")]
    table = quarantine_table(rejects, source="neocrm", resource="leads")
    assert table.num_rows == 1
    row = table.to_pylist()[0]
    assert row["quarantine_id"] == quarantine_id(
        "neocrm", "leads", json.dumps(raw, sort_keys=True, separators=(",", ":"))
    )
    assert json.loads(row["raw_payload"]) == raw and row["first_seen_at"].tzinfo is not None
    assert quarantine_id("neocrm", "leads", "{}") != quarantine_id("neocrm", "contacts", "{}")


def test_call_with_retries_gives_up_after_the_policy_tries() -> None:
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise TransientError("busy", retry_after=0)
        return "ok"

    assert call_with_retries(flaky, FAST, what="flaky", sleep=lambda _: None) == "ok"
    calls.clear()
    with pytest.raises(RetriesExhaustedError, match="gave up after 2 tries"):
        call_with_retries(flaky, RetryPolicy(tries=2, base_delay=0), what="flaky", sleep=lambda _: None)


def test_backoff_grows_with_jitter_and_respects_retry_after() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=5.0)
    assert 0.5 <= policy.delay(1) <= 1.0 and 2.0 <= policy.delay(3) <= 4.0 and policy.delay(10) <= 5.0
    assert policy.delay(1, retry_after=3.0) == 3.0 and policy.delay(1, retry_after=99) == 5.0


class _EchoSimulator(SimulatorBase):
    """A minimal simulator: GET /echo answers {"ok": true}."""

    def __init__(self) -> None:
        super().__init__()
        self.add_route("GET", "/echo", self._echo)

    def _echo(self, request: Request) -> Response:
        return json_response({"ok": True, "q": request.query.get("q")})


@pytest.fixture
def echo() -> Iterator[_EchoSimulator]:
    with _EchoSimulator() as sim:
        yield sim


def test_retrying_session_rides_out_throttling_and_5xx(echo: _EchoSimulator) -> None:
    echo.inject("/echo", 429, {"error": "slow"}, headers={"Retry-After": "0"})
    echo.inject("/echo", 503, "down")
    answer = RetryingSession(FAST).get(echo.base_url + "/echo", params={"q": "hi"})
    assert answer.json() == {"ok": True, "q": "hi"} and echo.requests_served["/echo"] == 3

    echo.inject("/echo", 500, "down", times=3)
    with pytest.raises(RetriesExhaustedError, match="HTTP 500"):
        RetryingSession(FAST).get(echo.base_url + "/echo")


def test_retrying_session_check_hook_and_connection_errors(echo: _EchoSimulator) -> None:
    seen: list[int] = []

    def check(response: object) -> None:
        seen.append(1)
        if len(seen) == 1:
            raise TransientError("body says busy")

    assert RetryingSession(FAST).get(echo.base_url + "/echo", check=check).json()["ok"] is True
    url = echo.base_url + "/echo"
    echo.stop()
    with pytest.raises(RetriesExhaustedError):
        RetryingSession(FAST, timeout=1).get(url)


def test_simulator_call_after_and_context_manager() -> None:
    fired: list[str] = []
    with _EchoSimulator() as sim:
        sim.call_after("/echo", 2, lambda: fired.append("second"))
        session = RetryingSession(FAST)
        session.get(sim.base_url + "/echo")
        assert fired == []
        session.get(sim.base_url + "/echo")
        assert fired == ["second"]
    with pytest.raises(RuntimeError, match="not started"):
        _ = sim.base_url


def test_token_cache_reuses_refetches_and_remembers_failures() -> None:
    fetched: list[int] = []

    def fetch() -> Token:
        fetched.append(1)
        return Token(f"t{len(fetched)}", expires_in=3600)

    cache = TokenCache(fetch)
    assert (cache.get(), cache.get()) == ("t1", "t1")
    cache.invalidate()
    assert cache.get() == "t2"

    def refuse() -> Token:
        fetched.append(1)
        raise PermissionError("wrong secret")

    failing, fetched[:] = TokenCache(refuse), []
    for _ in range(3):
        with pytest.raises(PermissionError):
            failing.get()
    assert len(fetched) == 1


def test_require_settings_names_env_vars_and_toml_keys() -> None:
    require_settings("neocrm", {"client_id": "x"})
    with pytest.raises(MissingSettingError) as one:
        require_settings("neocrm", {"client_id": "x", "client_secret": None})
    assert str(one.value) == (
        "neocrm: missing setting SOURCES__NEOCRM__CLIENT_SECRET (or client_secret under [sources.neocrm] in"
        " .dlt/secrets.toml)"
    )
    with pytest.raises(
        MissingSettingError, match="settings SOURCES__NEOCRM__USERNAME, SOURCES__NEOCRM__PASSWORD"
    ):
        require_settings("neocrm", {"username": "", "password": None})
