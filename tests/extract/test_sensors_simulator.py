"""The Sensors simulator (its SQL subset, NDJSON answers, errors) and the demo renderer behind it."""

from __future__ import annotations

import orjson
import pytest
import requests

from leadloop.demo.digital import DigitalWorld
from leadloop.demo.model import World
from leadloop.demo.sensors_records import LATE_MAX_MS, LATE_MIN_MS, receive_delay_ms, render
from leadloop.demo.simulators.sensors import (
    QUERY_PATH,
    Condition,
    Query,
    SensorsSimulator,
    SqlError,
    parse_sql,
)
from tests.extract.sensors_fixtures import *  # the fixtures, found by name
from tests.extract.sensors_fixtures import DAY_MS, PROJECT, TOKEN, wire_time

ROWS = [
    {"event": "$pageview", "time": "2026-10-01 23:59:59.999", "distinct_id": "a", "$url": "u1"},
    {"event": "$pageview", "time": "2026-10-02 00:00:00.000", "distinct_id": "b", "$url": None},
    {"event": "$SignUp", "time": "2026-10-02 12:00:00.000", "distinct_id": "web_u1", "original_id": "b"},
    {"event": "$WebStay", "time": "2026-10-03 00:00:00.000", "distinct_id": "c", "event_duration": 5},
]


@pytest.fixture
def sim() -> SensorsSimulator:
    """A simulator over four hand-written rows."""
    with SensorsSimulator(ROWS, token=TOKEN, project=PROJECT) as server:
        yield server


def _ask(sim: SensorsSimulator, sql: str, *, token: str = TOKEN, project: str = PROJECT) -> requests.Response:
    """POSTs one query the way the extractor does."""
    return requests.post(
        sim.base_url + QUERY_PATH,
        params={"token": token, "project": project},
        data={"q": sql, "format": "json"},
        timeout=10,
    )


def _lines(response: requests.Response) -> list[dict[str, object]]:
    """The NDJSON rows of an answer."""
    assert response.status_code == 200, response.text
    return [orjson.loads(line) for line in response.content.splitlines()]


def test_parse_the_subset_the_extractor_sends() -> None:
    query = parse_sql(
        "SELECT event, $url FROM events WHERE date >= '2026-10-01' AND time < '2026-10-02 00:00:00.000'"
        " ORDER BY time DESC LIMIT 5;"
    )
    assert query == Query(
        ("event", "$url"),
        "events",
        (Condition("date", ">=", "2026-10-01"), Condition("time", "<", "2026-10-02 00:00:00.000")),
        "time",
        True,
        5,
    )
    assert parse_sql("select * from events").columns is None
    for bad in ("select from events", "select * from events where time >> 1", "select * events"):
        with pytest.raises(SqlError):
            parse_sql(bad)


def test_time_windows_are_half_open_and_dates_whole_days(sim: SensorsSimulator) -> None:
    day = _lines(
        _ask(
            sim,
            "select * from events where time >= '2026-10-02 00:00:00.000'"
            " and time < '2026-10-03 00:00:00.000' order by time",
        )
    )
    assert [row["distinct_id"] for row in day] == ["b", "web_u1"]
    assert "$url" not in day[0]  # select *: null properties are left out
    by_date = _lines(_ask(sim, "select * from events where date <= '2026-10-01'"))
    assert [row["distinct_id"] for row in by_date] == ["a"]
    listed = _lines(
        _ask(sim, "select distinct_id, $url from events where event = '$pageview' order by time desc")
    )
    assert listed == [{"distinct_id": "b", "$url": None}, {"distinct_id": "a", "$url": "u1"}]
    assert sim.rows_served == 5


def test_raw_lines_are_served_verbatim_in_their_window(sim: SensorsSimulator) -> None:
    sim.add_raw_line("2026-10-02 06:00:00.000", b'{"event": broken')
    body = _ask(
        sim, "select * from events where time >= '2026-10-02 00:00:00' and time < '2026-10-02 12:00:00'"
    )
    assert body.content.splitlines()[1] == b'{"event": broken'


def test_errors_come_back_as_json_with_a_4xx(sim: SensorsSimulator) -> None:
    denied = _ask(sim, "select * from events", token="wrong")
    assert denied.status_code == 403 and "Invalid token" in denied.json()["error"]
    assert _ask(sim, "select * from events", project="nope").status_code == 400
    assert "does not exist" in _ask(sim, "select * from users").json()["error"]
    assert "syntax" in _ask(sim, "select * form events").json()["error"]
    sim.expire_tokens()
    assert _ask(sim, "select * from events").status_code == 403


def test_render_serves_events_only_once_received(demo_world: World, digital: DigitalWorld) -> None:
    late = [e for e in digital.web_events if receive_delay_ms(e)]
    assert 0.02 < len(late) / len(digital.web_events) < 0.04
    assert all(LATE_MIN_MS <= receive_delay_ms(e) <= LATE_MAX_MS for e in late)
    as_of = demo_world.as_of_ms
    event = next(e for e in late if e.time_ms > as_of - 30 * DAY_MS)
    identity = (event.event, wire_time(event.time_ms), event.login_id or event.distinct_id)

    def served(at: int) -> set[tuple[object, object, object]]:
        """Identities served at an instant, around the late event."""
        return {(r["event"], r["time"], r["distinct_id"]) for r in render(demo_world, digital, at)}

    assert identity not in served(event.time_ms + receive_delay_ms(event) - 1)
    assert identity in served(event.time_ms + receive_delay_ms(event))
    today = render(demo_world, digital)
    assert max(row["time"] for row in today) <= wire_time(as_of)
    signup = next(row for row in today if row["event"] == "$SignUp")
    assert signup["$is_login_id"] is True and signup["original_id"].endswith("-sa")
    assert signup["distinct_id"].startswith("web_u")
