"""What every source must do, run against each one's simulator on 127.0.0.1 (adapters in
tests/extract/source_adapters.py): it builds without credentials; throttling, 5xx, expiring
tokens and malformed answers are absorbed and the run completes; wrong credentials fail once,
naming the setting to fix; a request refused for good stops the run with the platform's message;
a missing setting is named; invalid records land in quarantine."""

from __future__ import annotations

from collections import Counter

import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from tests.extract.source_adapters import (
    QUARANTINE_COLUMNS,
    SOURCE_TEST_PLUGINS,
    Fault,
    Missing,
    Refusal,
    SourceCase,
    SourceRun,
    WrongCredentials,
    by_source,
    by_source_and,
    quarantined_per_table,
)

pytest_plugins = SOURCE_TEST_PLUGINS


def _data(case: SourceCase, loaded: dict[str, int]) -> dict[str, int]:
    """Rows loaded per data table (quarantine left out)."""
    return {table: loaded[table] for table in case.tables.data}


@pytest.mark.parametrize("case", by_source())
def test_source_builds_without_any_credentials(case: SourceCase, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in case.credential_settings:
        monkeypatch.delenv(case.setting(key), raising=False)
    source = case.build()
    assert list(source.resources) == [*case.tables.data, "quarantine"]
    resource = source.resources[case.tables.main]
    schema = resource.compute_table_schema()
    assert schema["write_disposition"] == "merge" and resource.table_name == case.tables.main
    strategy = case.tables.merge_strategy
    assert resource.write_disposition == (
        "merge" if strategy is None else {"disposition": "merge", "strategy": strategy}
    )
    assert schema.get("x-merge-strategy") == strategy  # type: ignore[comparison-overlap]
    keys = [name for name, column in schema["columns"].items() if column.get("primary_key") is True]
    assert keys == list(case.tables.primary_key)


@pytest.mark.parametrize(("case", "fault"), by_source_and(lambda case: case.faults))
def test_faults_are_absorbed_and_the_run_completes(
    case: SourceCase, fault: Fault, source_run: SourceRun
) -> None:
    fault.plant(source_run)
    loaded = source_run.load()
    expected = case.expected(source_run)
    assert _data(case, loaded) == expected
    assert source_run.table_counts() == expected
    assert loaded["quarantine"] == 0 and source_run.rows("select count(*) from quarantine") == [(0,)]
    case.content(source_run)
    fault.check(source_run)


@pytest.mark.parametrize(("case", "wrong"), by_source_and(lambda case: case.wrong_credentials))
def test_wrong_credentials_fail_once_naming_the_setting(
    case: SourceCase, wrong: WrongCredentials, source_run: SourceRun
) -> None:
    for key, value in wrong.settings.items():
        source_run.setenv(key, value)
    with pytest.raises(PipelineStepFailed) as failure:
        source_run.load()
    message = str(failure.value)
    for text in wrong.named:
        assert text in message
    for secret in wrong.hidden:
        assert secret not in message  # a secret is never echoed
    served = source_run.sim.requests_served
    assert {path: served[path] for path in wrong.served} == dict(wrong.served)  # no retries
    if wrong.total_served is not None:
        assert sum(served.values()) == wrong.total_served


@pytest.mark.parametrize(("case", "refusal"), by_source_and(lambda case: case.refusals))
def test_a_refusal_stops_the_run_with_the_platform_message(
    case: SourceCase, refusal: Refusal, source_run: SourceRun
) -> None:
    refusal.plant(source_run)
    with pytest.raises(PipelineStepFailed) as failure:
        source_run.load()
    for text in refusal.named:
        assert text in str(failure.value)
    served = source_run.sim.requests_served
    assert {path: served[path] for path in refusal.served} == dict(refusal.served)  # no retries


@pytest.mark.parametrize(("case", "missing"), by_source_and(lambda case: case.missing))
def test_missing_setting_is_named(case: SourceCase, missing: Missing, source_run: SourceRun) -> None:
    for key in missing.unset:
        source_run.setenv(key, None)
    with pytest.raises(PipelineStepFailed) as failure:
        source_run.load()
    assert missing.message in str(failure.value)
    assert sum(source_run.sim.requests_served.values()) == 0  # found out before asking the platform


@pytest.mark.parametrize("case", by_source())
def test_invalid_records_land_in_quarantine(case: SourceCase, source_run: SourceRun) -> None:
    planted = case.plant_invalid(source_run)
    loaded = source_run.load()
    rows = source_run.quarantine()
    assert loaded["quarantine"] == len(rows) == planted.expected_count
    if planted.reasons is not None:
        assert Counter((row[0], row[1]) for row in rows) == Counter(planted.reasons.keys())
        reasons = {(row[0], row[1]): row[2] for row in rows}
        for key, word in planted.reasons.items():
            assert word in reasons[key], (key, reasons[key])
    every_reason = " | ".join(row[2] for row in rows)
    for word in planted.words:
        assert word in every_reason
    planted.check(rows)
    # every record served is either loaded or quarantined
    counts, quarantined = source_run.table_counts(), quarantined_per_table(rows)
    for table, served in planted.served().items():
        assert served == counts[table] + quarantined[table], table
    columns = [row[0] for row in source_run.rows("select column_name from (describe quarantine)")]
    assert columns == QUARANTINE_COLUMNS

    again = source_run.load()  # the bad records are served again: quarantine is idempotent
    if case.rerun_loads_nothing:
        assert _data(case, again) == dict.fromkeys(case.tables.data, 0)
    assert source_run.quarantine() == rows  # first_seen_at kept
    planted.after_rerun()
