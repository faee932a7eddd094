"""The real sensors dlt source against the Sensors simulator on 127.0.0.1, loading into DuckDB.

Expectations come from the demo world (`leadloop.demo.digital.web_events`) and, for when an event reaches
Sensors, from `leadloop.demo.sensors_records.receive_ms`.
"""

from __future__ import annotations

import json
from collections import Counter

import dlt
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from leadloop.demo.digital import DigitalWorld
from leadloop.demo.model import World
from leadloop.demo.sensors_records import receive_ms, render
from leadloop.demo.simulators.sensors import QUERY_PATH, SensorsSimulator
from tests.extract.sensors_fixtures import *  # the fixtures, found by name
from tests.extract.sensors_fixtures import (
    DAY_MS,
    RECENT_START,
    cursor,
    local_ms,
    rows,
    run_sensors,
    served_events,
    wire_distinct_id,
    wire_time,
)

LOOKBACK_MS = 48 * 3_600_000


def _snapshot(pipeline: dlt.Pipeline) -> list[tuple[object, ...]]:
    """Every row of raw events, ordered, to detect any change."""
    return rows(pipeline, "select * from events order by event_key")


def _identities(pipeline: dlt.Pipeline) -> Counter[tuple[str, str, str]]:
    """(event, time, distinct_id) of every loaded row, with multiplicity."""
    return Counter(rows(pipeline, "select event, time, distinct_id from events"))


def test_full_load_matches_the_demo_world(
    sensors_env: SensorsSimulator, sensors_pipeline: dlt.Pipeline, demo_world: World, digital: DigitalWorld
) -> None:
    expected = served_events(digital, demo_world.as_of_ms)
    loaded = run_sensors(sensors_pipeline)

    assert loaded["events"] == len(expected) == sensors_env.rows_served
    assert rows(sensors_pipeline, "select count(*), count(distinct event_key) from events") == [
        (len(expected), len(expected))
    ]
    assert rows(sensors_pipeline, "select count(*) from quarantine") == [(0,)]
    assert _identities(sensors_pipeline) == Counter(
        (e.event, wire_time(e.time_ms), wire_distinct_id(e)) for e in expected
    )
    # $SignUp ties the anonymous id (original_id) to the login id (distinct_id); both share user_id
    signups = {(e.distinct_id, e.login_id) for e in expected if e.event == "$SignUp"}
    assert (
        set(rows(sensors_pipeline, "select original_id, distinct_id from events where event = '$SignUp'"))
        == signups
    )
    anonymous, login = min(signups)
    assert rows(
        sensors_pipeline,
        f"select count(distinct user_id) from events where distinct_id in ('{anonymous}', '{login}')",
    ) == [(1,)]
    phones = Counter(e.properties["phone"] for e in expected if e.event == "form_submit")
    assert (
        Counter(p for (p,) in rows(sensors_pipeline, "select phone from events where event = 'form_submit'"))
        == phones
    )
    durations = sorted(float(e.properties["event_duration"]) for e in expected if e.event == "$WebStay")
    assert [
        d
        for (d,) in rows(
            sensors_pipeline, "select event_duration from events where event = '$WebStay' order by 1"
        )
    ] == durations
    # properties outside the field table are kept as JSON; the typed ones are not repeated there
    extras = [json.loads(text) for (text,) in rows(sensors_pipeline, "select properties_json from events")]
    assert all(extra["$lib"] in ("js", "python") for extra in extras)
    assert not {key for extra in extras for key in extra} & {"$url", "event_duration", "phone", "time"}
    types = dict(rows(sensors_pipeline, "select column_name, column_type from (describe events)"))
    assert (types["user_id"], types["event_duration"], types["is_login_id"], types["time"]) == (
        "BIGINT",
        "DOUBLE",
        "BOOLEAN",
        "VARCHAR",
    )
    assert cursor(sensors_pipeline) == max(wire_time(e.time_ms) for e in expected)


def test_next_day_reads_the_lookback_and_picks_up_late_events(
    sensors_env: SensorsSimulator, sensors_pipeline: dlt.Pipeline, demo_world: World, digital: DigitalWorld
) -> None:
    first_as_of = demo_world.as_of_ms
    next_as_of = first_as_of + DAY_MS
    run_sensors(sensors_pipeline)
    first_cursor = cursor(sensors_pipeline)
    before = len(served_events(digital, first_as_of))

    sensors_env.set_rows(render(demo_world, digital, next_as_of))
    sensors_env.reset_counters()
    loaded = run_sensors(sensors_pipeline)

    now_served = served_events(digital, next_as_of)
    resume_ms = local_ms(first_cursor) - LOOKBACK_MS
    assert f"time >= '{wire_time(resume_ms)}'" in sensors_env.queries[0]
    # the second run reads exactly the events received with time in [previous cursor - look-back, …)
    assert (
        loaded["events"] == len([e for e in now_served if e.time_ms >= resume_ms]) == sensors_env.rows_served
    )
    # … and merge grows the table by exactly the events received since, late ones included
    count = rows(sensors_pipeline, "select count(*) from events")[0][0]
    assert count == len(now_served) and count - before > 0
    late = [e for e in now_served if e.time_ms <= first_as_of < receive_ms(e)]
    assert late, "the demo world should have an event that reaches Sensors late on the next day"
    identities = _identities(sensors_pipeline)
    assert all(identities[(e.event, wire_time(e.time_ms), wire_distinct_id(e))] for e in late)

    snapshot = _snapshot(sensors_pipeline)
    again = run_sensors(sensors_pipeline)  # the same instant again: re-read, merged, nothing changes
    second_cursor_ms = local_ms(cursor(sensors_pipeline)) - LOOKBACK_MS
    assert again["events"] == len([e for e in now_served if e.time_ms >= second_cursor_ms])
    assert _snapshot(sensors_pipeline) == snapshot


def test_a_token_reset_mid_run_stops_with_one_clear_error(
    sensors_env: SensorsSimulator, sensors_pipeline: dlt.Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCES__SENSORS__START_TIME", RECENT_START)
    sensors_env.call_after(QUERY_PATH, 3, sensors_env.expire_tokens)
    with pytest.raises(PipelineStepFailed) as failure:
        run_sensors(sensors_pipeline)
    message = str(failure.value)
    assert "refused the API token (HTTP 403" in message and "SOURCES__SENSORS__TOKEN" in message
    assert sensors_env.requests_served[QUERY_PATH] <= 3 + 2  # in-flight windows only: no retries


def test_window_and_end_time_come_from_config(
    sensors_env: SensorsSimulator,
    sensors_pipeline: dlt.Pipeline,
    monkeypatch: pytest.MonkeyPatch,
    digital: DigitalWorld,
) -> None:
    monkeypatch.setenv("SOURCES__SENSORS__START_TIME", "2026-10-01")
    monkeypatch.setenv("SOURCES__SENSORS__END_TIME", "2026-10-03 00:00:00")
    monkeypatch.setenv("SOURCES__SENSORS__WINDOW_HOURS", "6")
    loaded = run_sensors(sensors_pipeline)
    assert len(sensors_env.queries) == 8
    # Windows are fetched concurrently (SOURCES__SENSORS__CONCURRENCY), so the last one asked for is
    # not always the last one to arrive: check the latest window by its text, not by arrival order.
    assert max(sensors_env.queries) == (
        "select * from events where date >= '2026-10-02' and date <= '2026-10-02'"
        " and time >= '2026-10-02 18:00:00.000' and time < '2026-10-03 00:00:00.000' order by time"
    )
    low, high = local_ms("2026-10-01 00:00:00"), local_ms("2026-10-03 00:00:00")
    assert loaded["events"] == len([e for e in digital.web_events if low <= e.time_ms < high])
