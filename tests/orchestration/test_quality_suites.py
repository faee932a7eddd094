"""A GX check reads only the columns its suite looks at (a 1.5 M-row mart at 10x the demo took 24 s whole)."""

from __future__ import annotations

import duckdb

from leadloop.orchestration.quality import MART_SUITES, Expectation, raw_table_suite, suite_columns


def test_a_suite_names_the_columns_its_expectations_look_at():
    assert suite_columns(raw_table_suite(["id"])) == ["id"]
    assert suite_columns(raw_table_suite(["account_id", "day"])) == ["account_id", "day"]
    assert suite_columns(MART_SUITES["mart_lead_scores"]) == ["region_weight"]
    assert suite_columns([Expectation("ExpectColumnPairValuesAToBeGreaterThanB",
                                      {"column_A": "leads", "column_B": "mqls", "or_equal": True}),
                          Expectation("ExpectColumnValuesToNotBeNull", {"column": "mqls"})]) == ["leads", "mqls"]


def test_a_table_level_expectation_or_a_row_condition_reads_every_column():
    assert suite_columns([Expectation("ExpectColumnValuesToNotBeNull", {"column": "id"}),
                          Expectation("ExpectTableRowCountToBeBetween", {"min_value": 1})]) is None
    assert suite_columns(MART_SUITES["mart_hot_leads"]) is None  # its row condition names hot_reason


def test_read_table_reads_the_columns_asked_for(tmp_path, monkeypatch):
    from leadloop.warehouse import read_table

    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts; create table marts.t as select 1 as a, 2.5 as b, 'x' as c")
    monkeypatch.setenv("LEADLOOP_WAREHOUSE", "duckdb")
    monkeypatch.setenv("LEADLOOP_DUCKDB_PATH", str(path))
    assert list(read_table("marts", "t", ["c", "a"]).columns) == ["c", "a"]
    assert read_table("marts", "t").to_dict("records") == [{"a": 1, "b": 2.5, "c": "x"}]


def test_read_table_reads_text_as_categoricals_chunk_by_chunk(tmp_path, monkeypatch):
    """Columns read as categoricals (the lead scorers' 10 M decayed touches) hold the same values, in the
    same order, over chunk boundaries; every other column is what a plain read gives; an empty table too."""
    from leadloop import warehouse

    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema intermediate; create table intermediate.t as select 'j' || (i % 37) as journey,"
                    " date '2026-01-01' + (i % 11)::int as day, ['form', 'visit', null][i % 3 + 1] as kind,"
                    " (i / 7)::decimal(18, 6) as value from range(5000) as r(i) order by i")
        con.execute("create table intermediate.e as select * from intermediate.t limit 0")
    monkeypatch.setenv("LEADLOOP_WAREHOUSE", "duckdb")
    monkeypatch.setenv("LEADLOOP_DUCKDB_PATH", str(path))
    monkeypatch.setattr(warehouse, "CATEGORICAL_CHUNK_VECTORS", 1)  # 2,048 rows a chunk: three chunks

    plain = warehouse.read_table("intermediate", "t")
    chunked = warehouse.read_table("intermediate", "t", categorical=["journey", "kind"])
    assert list(chunked.columns) == list(plain.columns)
    assert str(chunked["journey"].dtype) == "category" and str(chunked["kind"].dtype) == "category"
    assert chunked.astype({"journey": plain["journey"].dtype, "kind": plain["kind"].dtype}).equals(plain)
    empty = warehouse.read_table("intermediate", "e", categorical=["journey"])
    assert list(empty.columns) == list(plain.columns) and empty.empty


def test_the_hot_leads_suite_refuses_a_comeback_that_was_not_dormant_or_had_no_touch():
    import pandas as pd

    from leadloop.orchestration.quality import validate_frame

    good = pd.DataFrame({"hot_reason": ["dormant_account_reengaged", "score_crossed_mql_threshold",
                                        "score_crossed_mql_threshold"],
                         "account_status": ["dormant", "active", None], "touchpoint_id": ["t1", None, None]})
    not_dormant, untouched = good.copy(), good.copy()
    not_dormant.loc[0, "account_status"] = "active"
    untouched.loc[0, "touchpoint_id"] = None
    suite = MART_SUITES["mart_hot_leads"]
    assert validate_frame("hot", good, suite).passed
    assert not validate_frame("hot", not_dormant, suite).passed
    assert not validate_frame("hot", untouched, suite).passed
