"""How much history the salesforce source reads, and Bulk API 2.0 for large objects."""

from __future__ import annotations

import logging
from pathlib import Path

import dlt
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from leadloop.demo.digital import simulate_digital
from leadloop.demo.model import World
from leadloop.demo.salesforce_records import render
from leadloop.demo.simulators.salesforce import (
    BULK_JOB_PATH,
    BULK_JOBS_PATH,
    BULK_RESULTS_PATH,
    QUERY_ALL_PATH,
    QUERY_PATH,
    SalesforceSimulator,
)
from leadloop.extract.salesforce import settings

pytest.register_assert_rewrite("tests.extract.salesforce_fixtures")

from tests.extract.salesforce_fixtures import (
    DATA_TABLES,
    DAY_MS,
    Records,
    columns_of,
    rows,
    run_salesforce,
)

pytest_plugins = ("tests.extract.salesforce_fixtures",)  # the sf_* fixtures

OLD_STAMP = "2019-03-04T05:06:07.000+0000"


def age_leads(records: Records, n: int) -> list[str]:
    """Makes the first n live leads years old (created and last changed in 2019); their ids."""
    aged = [lead for lead in records["Lead"] if not lead["IsDeleted"]][:n]
    for lead in aged:
        lead.update({"CreatedDate": OLD_STAMP, "LastModifiedDate": OLD_STAMP, "SystemModstamp": OLD_STAMP})
    return [lead["Id"] for lead in aged]


def history_line(caplog: pytest.LogCaptureFixture, resource: str) -> str:
    """The history summary logged for one resource."""
    [line] = [
        r.getMessage() for r in caplog.records if r.getMessage().startswith(f"salesforce: {resource}: read")
    ]
    return line


def snapshot(pipeline: dlt.Pipeline) -> dict[str, tuple[dict[str, str], list[tuple[object, ...]]]]:
    """Every raw table's column types and rows (without dlt's load columns), ordered by id."""
    result = {}
    for name in DATA_TABLES:
        columns = columns_of(pipeline, name)
        result[name] = (columns, rows(pipeline, f"select {', '.join(columns)} from {name} order by id"))
    return result


def pipeline_at(path: Path, name: str) -> dlt.Pipeline:
    """A second DuckDB pipeline into raw_salesforce."""
    return dlt.pipeline(
        pipeline_name=name,
        destination=dlt.destinations.duckdb(str(path / f"{name}.duckdb")),
        dataset_name="raw_salesforce",
        pipelines_dir=str(path / "pipelines"),
    )


# -- history depth ----------------------------------------------------------------------------------


def test_the_default_reads_all_history_and_says_how_far_back(
    sf_env: SalesforceSimulator,
    sf_records: Records,
    sf_pipeline: dlt.Pipeline,
    caplog: pytest.LogCaptureFixture,
) -> None:
    old = age_leads(sf_records, 3)
    with caplog.at_level(logging.INFO, logger="leadloop.extract.salesforce"):
        loaded = run_salesforce(sf_pipeline)
    assert loaded["leads"] == len(sf_records["Lead"])
    found = rows(sf_pipeline, f"select count(*) from leads where id in ({', '.join(repr(i) for i in old)})")
    assert found == [(3,)]
    line = history_line(caplog, "leads")
    assert f"read {len(sf_records['Lead'])} rows over REST" in line and "all history (no lower bound)" in line
    assert "earliest CreatedDate 2019-03-04T05:06:07+00:00" in line
    assert "earliest CreatedDate 2025-" in history_line(caplog, "opportunities")
    assert not any("were not read" in r.getMessage() for r in caplog.records)


def test_start_is_a_lower_bound_that_reports_what_it_leaves_out(
    sf_env: SalesforceSimulator,
    sf_records: Records,
    sf_pipeline: dlt.Pipeline,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    age_leads(sf_records, 3)
    monkeypatch.setenv("SOURCES__SALESFORCE__START", "2025-01-01T00:00:00Z")
    with caplog.at_level(logging.INFO, logger="leadloop.extract.salesforce"):
        loaded = run_salesforce(sf_pipeline)
    assert loaded["leads"] == len(sf_records["Lead"]) - 3
    [unread] = [r for r in caplog.records if r.getMessage().startswith("salesforce: leads: 3 rows")]
    assert unread.levelno == logging.WARNING
    assert "SystemModstamp before SOURCES__SALESFORCE__START=2025-01-01T00:00:00+00:00 were not read" in (
        unread.getMessage()
    )
    assert "changed since 2025-01-01T00:00:00+00:00" in history_line(caplog, "leads")
    assert any(
        r.getMessage().startswith("salesforce: users: 0 rows") and r.levelno == logging.INFO
        for r in caplog.records
    )


# -- Bulk API 2.0 ---------------------------------------------------------------------------------


@pytest.fixture
def sf_bulk_env(sf_env: SalesforceSimulator, monkeypatch: pytest.MonkeyPatch) -> SalesforceSimulator:
    """The simulator, with every object that has a row read through a Bulk API job, polled fast."""
    monkeypatch.setenv("SOURCES__SALESFORCE__BULK_THRESHOLD", "0")
    monkeypatch.setenv("SOURCES__SALESFORCE__BULK_POLL_SECONDS", "0.01")
    return sf_env


def test_objects_above_the_threshold_go_through_bulk_paged_by_locator(
    sf_env: SalesforceSimulator,
    sf_records: Records,
    sf_pipeline: dlt.Pipeline,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("SOURCES__SALESFORCE__BULK_THRESHOLD", "500")
    monkeypatch.setenv("SOURCES__SALESFORCE__BULK_POLL_SECONDS", "0.01")
    sf_env.bulk_page_size, sf_env.bulk_polls_before_complete = 150, 2
    with caplog.at_level(logging.INFO, logger="leadloop.extract.salesforce"):
        loaded = run_salesforce(sf_pipeline)
    large = sorted(obj.sobject for obj in settings.OBJECTS if len(sf_records[obj.sobject]) > 500)
    assert sorted(sf_env.bulk_jobs_created) == large and "Lead" in large and "User" not in large
    assert {name: loaded[name] for name in DATA_TABLES} == {
        obj.resource: len(sf_records[obj.sobject]) for obj in settings.OBJECTS
    }
    pages = sum(-(-len(sf_records[name]) // 150) for name in large)
    assert sf_env.requests_served[BULK_RESULTS_PATH] == pages
    # status checks until complete, then one delete, per job; every job is gone afterwards
    assert sf_env.requests_served[BULK_JOB_PATH] == len(large) * (2 + 1 + 1)
    assert sf_env.open_bulk_jobs == 0
    assert "over Bulk API 2.0" in history_line(caplog, "leads")
    assert "over REST" in history_line(caplog, "users")
    assert rows(sf_pipeline, "select count(*) from quarantine") == [(0,)]


@pytest.mark.e2e  # two full loads and a next day, both ways: ~20 s
def test_bulk_and_rest_load_identical_tables(
    sf_env: SalesforceSimulator,
    demo_world: World,
    sf_pipeline: dlt.Pipeline,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    run_salesforce(sf_pipeline)  # every object over REST (far below the default threshold)
    assert sf_env.bulk_jobs_created == []
    monkeypatch.setenv("SOURCES__SALESFORCE__BULK_THRESHOLD", "0")
    monkeypatch.setenv("SOURCES__SALESFORCE__BULK_POLL_SECONDS", "0.01")
    sf_env.bulk_page_size = 400
    bulk_pipeline = pipeline_at(tmp_path, "salesforce_bulk")
    run_salesforce(bulk_pipeline)  # every object with a row to read through a Bulk API job
    assert len(sf_env.bulk_jobs_created) == len(DATA_TABLES)
    assert snapshot(bulk_pipeline) == snapshot(sf_pipeline)

    # the next day, incrementally, both ways: still identical
    next_day = render(demo_world, simulate_digital(demo_world), demo_world.as_of_ms + DAY_MS)
    sf_env.set_records(next_day)
    jobs = len(sf_env.bulk_jobs_created)
    changed = run_salesforce(bulk_pipeline)
    assert (
        0 < sum(changed.get(name, 0) for name in DATA_TABLES) < sum(len(v) for v in next_day.values()) // 10
    )
    assert len(sf_env.bulk_jobs_created) > jobs
    monkeypatch.delenv("SOURCES__SALESFORCE__BULK_THRESHOLD")
    run_salesforce(sf_pipeline)
    assert snapshot(bulk_pipeline) == snapshot(sf_pipeline)


def test_a_failed_bulk_job_stops_the_run_naming_the_setting(
    sf_bulk_env: SalesforceSimulator, sf_pipeline: dlt.Pipeline
) -> None:
    sf_bulk_env.bulk_failure = "InternalServerError: retried more than 15 times"
    with pytest.raises(PipelineStepFailed) as failure:
        run_salesforce(sf_pipeline, _source("leads"))
    message = str(failure.value)
    assert "ended Failed: InternalServerError: retried more than 15 times" in message
    assert "SOURCES__SALESFORCE__BULK_THRESHOLD" in message


def test_bulk_refused_for_the_org_falls_back_to_rest(
    sf_bulk_env: SalesforceSimulator,
    sf_records: Records,
    sf_pipeline: dlt.Pipeline,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sf_bulk_env.bulk_refusal = ("FeatureNotEnabled", "Bulk API 2.0 is not enabled for this organization")
    with caplog.at_level(logging.INFO, logger="leadloop.extract.salesforce"):
        loaded = run_salesforce(sf_pipeline, _source("leads"))
    assert loaded["leads"] == len(sf_records["Lead"])
    served = sf_bulk_env.requests_served
    assert served[BULK_JOBS_PATH] == 1 and served[QUERY_ALL_PATH] == 1
    assert any(
        "no Bulk API job (FeatureNotEnabled" in r.getMessage() and r.levelno == logging.WARNING
        for r in caplog.records
    )


def test_bulk_results_survive_server_hiccups_and_expired_tokens(
    sf_bulk_env: SalesforceSimulator, sf_records: Records, sf_pipeline: dlt.Pipeline
) -> None:
    sf_bulk_env.bulk_page_size = 100
    sf_bulk_env.inject(BULK_RESULTS_PATH, 503, "Service Unavailable")
    sf_bulk_env.inject(BULK_JOB_PATH, 200, b'{"id": "750x", "sta')  # cut off: read again
    sf_bulk_env.call_after(BULK_RESULTS_PATH, 3, sf_bulk_env.expire_tokens)
    loaded = run_salesforce(sf_pipeline, _source("leads"))
    assert loaded["leads"] == len(sf_records["Lead"])
    assert rows(sf_pipeline, "select count(distinct id) from leads") == [(len(sf_records["Lead"]),)]


def test_counts_go_through_query_not_query_all(
    sf_env: SalesforceSimulator, sf_pipeline: dlt.Pipeline
) -> None:
    run_salesforce(sf_pipeline, _source("users"))
    assert sf_env.requests_served[QUERY_PATH] == 1  # the COUNT() that picks REST or Bulk
    assert sf_env.requests_served[QUERY_ALL_PATH] == 1


def _source(*resources: str) -> dlt.sources.DltSource:
    """A fresh salesforce source cut to some resources."""
    from leadloop.extract.salesforce import salesforce_source

    return salesforce_source().with_resources(*resources)


@pytest.mark.parametrize(
    ("key", "value"), [("BULK_THRESHOLD", "-1"), ("BULK_POLL_SECONDS", "0"), ("START", "yesterday")]
)
def test_bad_settings_are_named(
    sf_env: SalesforceSimulator, monkeypatch: pytest.MonkeyPatch, key: str, value: str
) -> None:
    monkeypatch.setenv(f"SOURCES__SALESFORCE__{key}", value)
    with pytest.raises(Exception, match=f"SOURCES__SALESFORCE__{key}"):
        _source("users")


def test_a_refused_count_falls_back_to_rest(
    sf_bulk_env: SalesforceSimulator,
    sf_records: Records,
    sf_pipeline: dlt.Pipeline,
    caplog: pytest.LogCaptureFixture,
) -> None:
    refused = [{"message": "COUNT() is not supported", "errorCode": "MALFORMED_QUERY"}]
    sf_bulk_env.inject(QUERY_PATH, 400, refused)
    with caplog.at_level(logging.INFO, logger="leadloop.extract.salesforce"):
        loaded = run_salesforce(sf_pipeline, _source("leads"))
    assert loaded["leads"] == len(sf_records["Lead"]) and sf_bulk_env.bulk_jobs_created == []
    assert any("COUNT() refused" in r.getMessage() for r in caplog.records)
