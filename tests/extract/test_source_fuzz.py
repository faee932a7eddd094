"""Fuzz (issue 15, acceptance 3): per source, 200 seeded bad records served among the good ones
by its simulator on 127.0.0.1, and pages cut off mid-JSON. The run completes; every good record
loads with its values; every bad record that cannot be true is in quarantine with a reason, and
those that are legitimate (empty, huge, emoji and mixed scripts) load byte for byte; served =
loaded + quarantined per table, exactly; a second run changes nothing. What each kind must do,
per source, is in tests/support/fuzz.py; how each simulator serves them, tests/extract/source_fuzzers.py.
"""

from __future__ import annotations

from collections import Counter

import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from tests.extract import source_fuzzers
from tests.extract.source_adapters import (
    SOURCE_TEST_PLUGINS,
    SourceCase,
    SourceRun,
    by_source,
    quarantined_per_table,
)
from tests.support.fuzz import BAD_RECORDS, Fuzzer, kind_of_reason

pytest_plugins = SOURCE_TEST_PLUGINS
assert source_fuzzers  # registers each source's fuzzer on its SourceCase


@pytest.mark.parametrize("case", by_source())
def test_bad_records_are_quarantined_and_every_good_one_loads(
    case: SourceCase, source_run: SourceRun
) -> None:
    fuzzer = Fuzzer()
    fuzzed = case.fuzz(source_run, fuzzer)
    assert len(fuzzer.bad) == BAD_RECORDS

    source_run.load()  # no crash: cut-off pages are asked for again, bad records set aside

    sim = source_run.sim
    for path, count in fuzzer.truncated:  # the cut-off answer was served, then the page again
        assert sim.requests_served[path] >= count + 2, (path, count)
    assert fuzzed.sim_served() == {table: fuzzer.books[table].served for table in fuzzed.views}

    quarantine = source_run.quarantine()
    per_table = quarantined_per_table(quarantine)
    contents = {}
    for table, view in fuzzed.views.items():
        books = fuzzer.books[table]
        contents[table] = Counter(source_run.rows(f"select {view.key_sql}, {view.text_sql} from {table}"))
        # every good record, and every bad one that is legitimate, with its text byte for byte
        missing, extra = books.loaded - contents[table], contents[table] - books.loaded
        assert not missing and not extra, (table, _short(missing), _short(extra))
        # every bad one in quarantine, under its record id
        assert Counter(row[1] for row in quarantine if row[0] == table) == books.quarantined, table
        kinds = Counter(kind_of_reason(row[2]) for row in quarantine if row[0] == table)
        assert kinds == books.kinds, (table, kinds)  # each reason names what is wrong (no None)
        # exactly: served = loaded + quarantined
        assert books.served == contents[table].total() + per_table[table], table
    assert set(per_table) <= set(fuzzed.views)  # nothing else was quarantined
    assert all(row[2] for row in quarantine)

    counts = {
        table: f"served {b.served} = loaded {contents[table].total()} + quarantined {per_table[table]}"
        for table, b in fuzzer.books.items()
    }
    print(
        f"\n{case.name}: bad records per kind {fuzzer.per_kind()}; truncated pages {len(fuzzer.truncated)};"
        f" {counts}"
    )

    again = source_run.load()  # the same bad records are served again: nothing new
    assert source_run.quarantine() == quarantine
    for table, view in fuzzed.views.items():
        assert (
            Counter(source_run.rows(f"select {view.key_sql}, {view.text_sql} from {table}"))
            == contents[table]
        )
    if case.rerun_loads_nothing:
        assert {table: again[table] for table in case.tables.data} == dict.fromkeys(case.tables.data, 0)


def _short(counter: Counter[tuple[str, object]]) -> list[tuple[str, str]]:
    """A few entries of a Counter of (key, text), texts cut short, for an assertion message."""
    return [(key, repr(text)[:40]) for key, text in list(counter)[:5]]


@pytest.mark.parametrize("case", by_source())
def test_a_page_that_stays_cut_off_is_never_lost_silently(case: SourceCase, source_run: SourceRun) -> None:
    """Past the tries, a cut-off page stops the run naming the page (nothing of it is loaded), or,
    for WeCom's snapshots, goes to quarantine as a failed page and no row is marked deleted."""
    source_run.setenv("MAX_TRIES", "2")
    path, body = source_fuzzers.CUT_PAGES[case.name]
    sim = source_run.sim
    sim.call_after(path, 1, lambda: sim.inject(path, 200, body, times=50))
    if case.name != "wecom":
        with pytest.raises(PipelineStepFailed) as failure:
            source_run.load()
        error: BaseException | None = failure.value
        messages = []
        while error is not None:
            messages.append(str(error))
            error = error.__cause__ or error.__context__
        message = "\n".join(messages)
        assert "gave up after 2 tries" in message and path.split("{")[0] in message, message
        assert sim.requests_served[path] >= 3  # a good page, then the cut-off one twice (or more in flight)
        return
    source_run.load()
    reasons = [row[2] for row in source_run.quarantine()]
    assert reasons and all(f"snapshot incomplete: {path} failed for good" in reason for reason in reasons)
    assert source_run.rows("select count(*) from follow_relations where is_deleted") == [(0,)]
