"""The real neocrm dlt source against the 销售易 simulator on 127.0.0.1, loading into DuckDB."""

from __future__ import annotations

import json
from decimal import Decimal

import dlt
import pytest

from leadloop.demo.simulators.neocrm import NeocrmSimulator
from leadloop.extract.neocrm import neocrm_source, settings
from tests.extract.conftest import BASE_MS, World, expected_counts, run_source, table_rows

DATA_TABLES = [obj.resource for obj in settings.OBJECTS]


def _table_counts(pipeline: dlt.Pipeline) -> dict[str, int]:
    """Rows per raw table in DuckDB."""
    return {name: table_rows(pipeline, f"select count(*) from {name}")[0][0] for name in DATA_TABLES}


def _snapshot(pipeline: dlt.Pipeline) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every raw table, ordered, to detect any change."""
    return {name: table_rows(pipeline, f"select * from {name} order by id") for name in DATA_TABLES}


def test_full_load_matches_the_simulator(
    neocrm_env: NeocrmSimulator, world: World, pipeline: dlt.Pipeline
) -> None:
    loaded = run_source(pipeline)
    expected = expected_counts(world)
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


def test_world_timestamps_are_epoch_milliseconds(world: World) -> None:
    assert all(row["updatedAt"] >= BASE_MS for rows in world.values() for row in rows)


def test_rejects_are_kept_when_only_some_resources_run(
    neocrm_env: NeocrmSimulator, world: World, pipeline: dlt.Pipeline
) -> None:
    world["lead"].append(dict(world["lead"][0], id="abc"))
    pipeline.run(neocrm_source().with_resources("leads"))
    assert table_rows(pipeline, "select resource, record_id from quarantine") == [("leads", "abc")]
    assert table_rows(pipeline, "select count(*) from leads") == [(len(world["lead"]) - 1,)]
