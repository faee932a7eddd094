"""leadloop.extract.sensors: NDJSON parsing, the event key, properties_json, and the window plan."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import orjson
import pytest

from leadloop.extract.common import MissingSettingError
from leadloop.extract.sensors.client import (
    SensorsClient,
    SensorsSettings,
    Window,
    first_window_start,
    plan_windows,
)
from leadloop.extract.sensors.events import EVENTS_SCHEMA, parse_events

BASE = {
    "event": "$pageview",
    "distinct_id": "a1-sa",
    "user_id": -42,
    "date": "2026-10-05",
    "$is_login_id": False,
}


def _line(time: str, **properties: object) -> bytes:
    """One NDJSON line of an event at `time` with extra properties."""
    return orjson.dumps({**BASE, "time": time, **properties}) + b"\n"


def _body(count: int = 6) -> bytes:
    """A small answer: page views a minute apart, with SDK presets."""
    return b"".join(
        _line(
            f"2026-10-05 10:{n:02d}:00.000",
            **{"$url": f"https://x.cn/{n}", "$lib": "js", "$screen_width": 1920},
        )
        for n in range(count)
    )


@contextmanager
def _caplog_warnings() -> Iterator[list[str]]:
    """Collects the retry warnings the shared HTTP helper logs."""
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("leadloop.extract.common.http")
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def _keys(body: bytes) -> list[str]:
    """event_key of every row parsed from `body`."""
    return parse_events(body).table.column("event_key").to_pylist()


def test_fast_path_types_every_column() -> None:
    page = parse_events(_body())
    assert page.rejected == [] and page.table.schema == EVENTS_SCHEMA
    first = page.table.slice(0, 1).to_pylist()[0]
    assert first["url"] == "https://x.cn/0" and first["user_id"] == -42 and first["is_login_id"] is False
    assert json.loads(first["properties_json"]) == {"$lib": "js", "$screen_width": 1920}


def test_key_does_not_depend_on_the_window_that_read_the_row() -> None:
    lines = _body().splitlines(keepends=True)
    assert _keys(b"".join(lines)) == _keys(b"".join(lines[:2])) + _keys(b"".join(lines[2:]))


def test_careful_path_gives_the_same_keys_and_json_as_the_fast_path() -> None:
    body = _body()
    fast = parse_events(body).table
    careful = parse_events(body + b'{"event": broken\n')
    assert [r.reason[:21] for r in careful.rejected] == ["malformed NDJSON line"]
    assert careful.table.to_pylist() == fast.to_pylist()


def test_key_ignores_formatting_nulls_user_id_and_date() -> None:
    plain = _line("2026-10-05 10:00:00.000", event_duration=5, **{"$lib": "js", "$n": 3})
    variant = (
        orjson.dumps(
            {
                "$n": 3.0,
                "$lib": "js",
                "$os": None,
                "event_duration": 5.0,
                **BASE,
                "user_id": 7,
                "date": "x",
                "time": "2026-10-05 10:00:00.000",
            }
        )
        + b"\n"
    )
    assert _keys(plain) == _keys(variant)
    assert parse_events(plain).table.column("properties_json").to_pylist() == ['{"$lib":"js","$n":3}']
    assert _keys(plain) != _keys(
        _line("2026-10-05 10:00:00.000", event_duration=6, **{"$lib": "js", "$n": 3})
    )


def test_identical_rows_get_distinct_keys_and_the_first_keeps_its_own() -> None:
    one = _line("2026-10-05 10:00:00.000")
    keys = _keys(one * 3)
    assert len(set(keys)) == 3 and keys[0] == _keys(one)[0]
    assert _keys(one * 3 + _line("2026-10-05 11:00:00.000"))[:3] == keys


def test_text_properties_stay_text_even_when_they_look_like_dates() -> None:
    body = _line(
        "2026-10-05 10:00:00.000", **{"$first_visit": "2025-03-01 10:00:01", "birthday": "1990-01-02"}
    )
    extra = json.loads(parse_events(body).table.column("properties_json")[0].as_py())
    assert extra == {"$first_visit": "2025-03-01 10:00:01", "birthday": "1990-01-02"}


@pytest.mark.parametrize("text", ['say "hi"', "back\\slash", "换行\nnew line", "tab\there", "emoji 😀"])
def test_properties_json_round_trips_any_text(text: str) -> None:
    body = _line("2026-10-05 10:00:00.000", note=text, tags=["a", "b"])
    extra = json.loads(parse_events(body).table.column("properties_json")[0].as_py())
    assert extra == {"note": text, "tags": ["a", "b"]}


def test_numeric_text_is_coerced_and_keyed_like_the_number() -> None:
    as_text = parse_events(_line("2026-10-05 10:00:00.000", event_duration="12.5"))
    as_number = parse_events(_line("2026-10-05 10:00:00.000", event_duration=12.5))
    assert as_text.rejected == []
    assert as_text.table.to_pylist() == as_number.table.to_pylist()


def test_rows_without_identity_or_with_a_bad_time_are_rejected_with_the_reason() -> None:
    body = (
        _line("2026-10-05 10:00:00.000")
        + orjson.dumps({"event": "$pageview", "time": "2026-10-05 10:00:00.000"})
        + b"\n"
        + _line("yesterday")
        + b"\n   \n"
    )
    page = parse_events(body)
    assert page.table.num_rows == 1
    assert [r.reason for r in page.rejected] == [
        "missing required field distinct_id",
        "field time: 'yesterday' is not 'YYYY-MM-DD HH:MM:SS.mmm'",
    ]


def test_an_empty_answer_is_an_empty_table() -> None:
    assert parse_events(b"").table.num_rows == 0 and parse_events(b"\n").table.schema == EVENTS_SCHEMA


def test_windows_cover_the_range_and_the_last_one_is_open() -> None:
    start, now = datetime(2026, 10, 1), datetime(2026, 10, 3, 5)
    windows = list(plan_windows(start, None, now, 24))
    assert windows == [
        Window(datetime(2026, 10, 1), datetime(2026, 10, 2)),
        Window(datetime(2026, 10, 2), datetime(2026, 10, 3)),
        Window(datetime(2026, 10, 3), None),
    ]
    assert windows[-1].sql() == (
        "select * from events where date >= '2026-10-03' and time >= '2026-10-03 00:00:00.000' order by time"
    )
    bounded = list(plan_windows(start, datetime(2026, 10, 1, 10), now, 4))
    assert [w.end for w in bounded] == [
        datetime(2026, 10, 1, 4),
        datetime(2026, 10, 1, 8),
        datetime(2026, 10, 1, 10),
    ]


def test_a_run_resumes_at_the_cursor_minus_the_lookback_but_never_before_the_start() -> None:
    config = SensorsSettings(
        base_url="http://127.0.0.1:1", token="t", start_time="2026-10-01", lookback_hours=48
    )
    assert first_window_start(config, None) == datetime(2026, 10, 1)
    assert first_window_start(config, "2026-10-20 12:00:00.250") == datetime(2026, 10, 18, 12, 0, 0, 250_000)
    assert first_window_start(config, "2026-10-02 00:00:00.000") == datetime(2026, 10, 1)


def test_settings_errors_name_the_setting() -> None:
    with pytest.raises(MissingSettingError, match="SOURCES__SENSORS__TOKEN"):
        SensorsSettings(base_url="http://127.0.0.1:1").check()
    with pytest.raises(ValueError, match="SOURCES__SENSORS__START_TIME='last year'"):
        SensorsSettings(base_url="http://127.0.0.1:1", token="t", start_time="last year").check()
    with pytest.raises(ValueError, match="SOURCES__SENSORS__WINDOW_HOURS must be at least"):
        SensorsSettings(base_url="http://127.0.0.1:1", token="t", window_hours=0).check()


def test_a_truncated_answer_is_retried_without_leaking_the_token() -> None:
    good = _body(2)
    answers = [
        b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\nConnection: close\r\n\r\n" + good[:40],
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(good) + good,
    ]
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def serve() -> None:
            """Answers two connections: a cut-off body, then the whole one."""
            for answer in answers:
                connection, _ = server.accept()
                with connection:
                    connection.recv(65536)
                    connection.sendall(answer)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        config = SensorsSettings(base_url=f"http://127.0.0.1:{port}", token="s3cret", backoff_seconds=0.01)
        client = SensorsClient(config)
        with _caplog_warnings() as records:
            assert client.query("select * from events") == good
        thread.join(timeout=5)
    assert records and not any("s3cret" in text for text in records)
