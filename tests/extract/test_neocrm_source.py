"""The real neocrm dlt source against the 销售易 simulator on 127.0.0.1, loading into DuckDB."""

from __future__ import annotations

import json
from decimal import Decimal

import dlt
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from demo.simulators.neocrm import TOKEN_PATH, XOQL_SCROLL_PATH, NeocrmSimulator
from extract.neocrm import neocrm_source, settings
from tests.extract.conftest import BASE_MS, World, run_source, table_rows

DATA_TABLES = [obj.resource for obj in settings.OBJECTS]


def _expected_counts(world: World) -> dict[str, int]:
    """Rows per raw table the simulator holds."""
    return {obj.resource: len(world[obj.xoql_name]) for obj in settings.OBJECTS}


def _table_counts(pipeline: dlt.Pipeline) -> dict[str, int]:
    """Rows per raw table in DuckDB."""
    return {name: table_rows(pipeline, f"select count(*) from {name}")[0][0] for name in DATA_TABLES}


def _snapshot(pipeline: dlt.Pipeline) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every raw table, ordered, to detect any change."""
    return {name: table_rows(pipeline, f"select * from {name} order by id") for name in DATA_TABLES}


def test_source_builds_without_any_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("CLIENT_ID", "CLIENT_SECRET", "USERNAME", "PASSWORD", "BASE_URL", "TOKEN_URL"):
        monkeypatch.delenv(f"SOURCES__NEOCRM__{key}", raising=False)
    source = neocrm_source()
    assert list(source.resources) == [*DATA_TABLES, "quarantine"]
    leads = source.resources["leads"]
    assert leads.write_disposition == "merge" and leads.table_name == "leads"


def test_full_load_matches_the_simulator(
    neocrm_env: NeocrmSimulator, world: World, pipeline: dlt.Pipeline
) -> None:
    loaded = run_source(pipeline)
    expected = _expected_counts(world)
    assert {name: loaded[name] for name in DATA_TABLES} == expected
    assert _table_counts(pipeline) == expected
    # key fields, renamed custom fields and exact decimals
    leads = {
        row[0]: row[1:]
        for row in table_rows(pipeline, "select id, updated_at, utm_source, utm_campaign from leads")
    }
    for lead in world["lead"]:
        assert leads[lead["id"]] == (lead["updatedAt"], lead["customItem201__c"], lead["customItem203__c"])
    money = dict(table_rows(pipeline, "select id, money from opportunities"))
    assert money == {o["id"]: Decimal(str(o["money"])) for o in world["opportunity"]}
    # an all-null column keeps its declared type; wire names of custom fields never land
    columns = dict(table_rows(pipeline, "select column_name, column_type from (describe leads)"))
    assert columns["phone"] == "VARCHAR" and columns["updated_at"] == "BIGINT"
    assert not [name for name in columns if name.startswith("custom_item")]
    assert table_rows(pipeline, "select count(*) from quarantine") == [(0,)]


def test_second_run_without_changes_loads_nothing(
    neocrm_env: NeocrmSimulator, pipeline: dlt.Pipeline
) -> None:
    run_source(pipeline)
    before = _snapshot(pipeline)
    loaded = run_source(pipeline)
    assert {name: loaded.get(name, 0) for name in DATA_TABLES} == dict.fromkeys(DATA_TABLES, 0)
    assert _snapshot(pipeline) == before


def test_next_run_loads_exactly_the_updated_and_new_rows(
    neocrm_env: NeocrmSimulator, world: World, pipeline: dlt.Pipeline
) -> None:
    run_source(pipeline)
    latest = max(lead["updatedAt"] for lead in world["lead"])
    bumped = world["lead"][10:15]  # N = 5
    for lead in bumped:
        lead["updatedAt"], lead["status"] = latest + 1, "无效"  # same new millisecond for all five
    new = [dict(world["lead"][0], id=99_000 + i, updatedAt=latest + 2) for i in range(7)]  # M = 7
    world["lead"].extend(new)
    world["account"][0]["updatedAt"] = latest + 5

    loaded = run_source(pipeline)
    assert loaded["leads"] == len(bumped) + len(new)
    assert loaded["accounts"] == 1
    assert {name: loaded.get(name, 0) for name in DATA_TABLES if name not in ("leads", "accounts")} == {
        name: 0 for name in DATA_TABLES if name not in ("leads", "accounts")
    }
    assert _table_counts(pipeline)["leads"] == 320 + len(new)
    statuses = dict(table_rows(pipeline, "select id, status from leads where id between 5010 and 5014"))
    assert set(statuses.values()) == {"无效"}


def test_token_expiring_mid_run_is_refreshed(
    neocrm_env: NeocrmSimulator, world: World, pipeline: dlt.Pipeline
) -> None:
    neocrm_env.call_after(XOQL_SCROLL_PATH, 1, neocrm_env.expire_tokens)
    loaded = run_source(pipeline)
    assert {name: loaded[name] for name in DATA_TABLES} == _expected_counts(world)
    assert neocrm_env.requests_served[TOKEN_PATH] == 2


def test_throttling_and_server_errors_are_retried(
    neocrm_env: NeocrmSimulator, monkeypatch: pytest.MonkeyPatch, world: World, pipeline: dlt.Pipeline
) -> None:
    monkeypatch.setenv("SOURCES__NEOCRM__MAX_TRIES", "6")  # five failures in a row on the first query
    neocrm_env.inject(
        XOQL_SCROLL_PATH, 429, {"code": "429", "msg": "slow down"}, headers={"Retry-After": "0"}
    )
    neocrm_env.inject(XOQL_SCROLL_PATH, 503, "Service Unavailable", times=3)
    neocrm_env.inject(XOQL_SCROLL_PATH, 200, {"code": "500", "msg": "internal error", "data": None})
    neocrm_env.inject(TOKEN_PATH, 502, "Bad Gateway")
    loaded = run_source(pipeline)
    assert {name: loaded[name] for name in DATA_TABLES} == _expected_counts(world)
    assert _table_counts(pipeline) == _expected_counts(world)


def test_invalid_records_land_in_quarantine(
    neocrm_env: NeocrmSimulator, world: World, pipeline: dlt.Pipeline
) -> None:
    latest = max(lead["updatedAt"] for lead in world["lead"])
    world["lead"].append(dict(world["lead"][0], id="abc", updatedAt=latest))  # re-read by the next run too
    no_cursor = dict(world["contact"][0], id=48_000)
    del no_cursor["updatedAt"]
    world["contact"].append(no_cursor)
    world["payment"].append(dict(world["payment"][0], id=49_000, amount="lots"))

    loaded = run_source(pipeline)
    rows = table_rows(
        pipeline,
        "select resource, record_id, reason, raw_payload, first_seen_at from quarantine order by resource",
    )
    assert [(r[0], r[1]) for r in rows] == [("contacts", "48000"), ("leads", "abc"), ("payments", "49000")]
    reasons = {r[0]: r[2] for r in rows}
    assert "updatedAt" in reasons["contacts"] and "id" in reasons["leads"] and "amount" in reasons["payments"]
    assert json.loads(rows[1][3])["id"] == "abc"
    # served = loaded + quarantined, for every object
    counts = _table_counts(pipeline)
    per_resource = {r[0]: 1 for r in rows}
    for obj in settings.OBJECTS:
        assert len(world[obj.xoql_name]) == counts[obj.resource] + per_resource.get(obj.resource, 0)
    assert loaded["quarantine"] == 3

    columns = [row[0] for row in table_rows(pipeline, "select column_name from (describe quarantine)")]
    assert columns == [
        "quarantine_id",
        "source",
        "resource",
        "record_id",
        "reason",
        "raw_payload",
        "first_seen_at",
    ]

    again = run_source(pipeline)  # the bad lead is served again: quarantine is idempotent, first_seen_at kept
    assert {name: again.get(name, 0) for name in DATA_TABLES} == dict.fromkeys(DATA_TABLES, 0)
    assert (
        table_rows(
            pipeline,
            "select resource, record_id, reason, raw_payload, first_seen_at from quarantine order by resource",
        )
        == rows
    )


def test_wrong_client_secret_fails_once_naming_the_setting(
    neocrm_env: NeocrmSimulator, monkeypatch: pytest.MonkeyPatch, pipeline: dlt.Pipeline
) -> None:
    monkeypatch.setenv("SOURCES__NEOCRM__CLIENT_SECRET", "not-the-secret")
    with pytest.raises(PipelineStepFailed) as failure:
        run_source(pipeline)
    assert "SOURCES__NEOCRM__CLIENT_SECRET" in str(failure.value)
    assert neocrm_env.requests_served[TOKEN_PATH] == 1
    assert neocrm_env.requests_served[XOQL_SCROLL_PATH] == 0


def test_missing_setting_is_named(
    neocrm_env: NeocrmSimulator, monkeypatch: pytest.MonkeyPatch, pipeline: dlt.Pipeline
) -> None:
    monkeypatch.delenv("SOURCES__NEOCRM__CLIENT_SECRET")
    with pytest.raises(PipelineStepFailed) as failure:
        run_source(pipeline)
    assert (
        "neocrm: missing setting SOURCES__NEOCRM__CLIENT_SECRET (or client_secret under [sources.neocrm]"
        " in .dlt/secrets.toml)" in str(failure.value)
    )
    assert neocrm_env.requests_served[TOKEN_PATH] == 0


def test_custom_field_map_comes_from_config(
    neocrm_env: NeocrmSimulator, monkeypatch: pytest.MonkeyPatch, world: World, pipeline: dlt.Pipeline
) -> None:
    for lead in world["lead"]:
        lead["customItem301__c"] = "spring-fair"
    override = {"leads": {"customItem201__c": "adChannel", "customItem301__c": "eventName"}}
    monkeypatch.setenv("SOURCES__NEOCRM__CUSTOM_FIELDS", json.dumps(override))
    run_source(pipeline)
    columns = {row[0] for row in table_rows(pipeline, "select column_name from (describe leads)")}
    assert {"ad_channel", "event_name"} <= columns
    assert not columns & {"utm_source", "utm_medium"}
    assert table_rows(pipeline, "select distinct event_name from leads") == [("spring-fair",)]


def test_unknown_field_stops_with_the_server_message(
    neocrm_env: NeocrmSimulator, monkeypatch: pytest.MonkeyPatch, pipeline: dlt.Pipeline
) -> None:
    monkeypatch.setenv(
        "SOURCES__NEOCRM__CUSTOM_FIELDS", json.dumps({"leads": {"customItem999__c": "nothing"}})
    )
    with pytest.raises(PipelineStepFailed) as failure:
        run_source(pipeline)
    assert "customItem999__c" in str(failure.value) and "code 400" in str(failure.value)


def test_world_timestamps_are_epoch_milliseconds(world: World) -> None:
    assert all(row["updatedAt"] >= BASE_MS for rows in world.values() for row in rows)


def test_rejects_are_kept_when_only_some_resources_run(
    neocrm_env: NeocrmSimulator, world: World, pipeline: dlt.Pipeline
) -> None:
    world["lead"].append(dict(world["lead"][0], id="abc"))
    pipeline.run(neocrm_source().with_resources("leads"))
    assert table_rows(pipeline, "select resource, record_id from quarantine") == [("leads", "abc")]
    assert table_rows(pipeline, "select count(*) from leads") == [(len(world["lead"]) - 1,)]
