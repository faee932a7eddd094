"""Acceptance: the same dbt project builds the same marts on Apache Spark, from raw tables dlt wrote to a lake.

One local Spark session (one JVM: the embedded metastore admits one) for the whole test session, in this
process: leadloop's Python and dbt (dbtRunner, dbt-spark's session method) share it. The demo data is the
session's DuckDB night's raw tables, written by dlt's filesystem destination as Parquet into a lake folder
(what a Spark night's extract writes), so no extraction runs again; the DuckDB night's marts are the
comparison. dbt builds seeds and models only: the data tests ran on DuckDB and PostgreSQL and would double
this test's time.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from leadloop import settings

pytestmark = [pytest.mark.spark, pytest.mark.e2e]

SYSTEM_TABLES = ("_dlt_version", "_dlt_pipeline_state", "_dlt_loads")


# Module scope: its settings (LEADLOOP_WAREHOUSE=spark, …) must end with this module, or every later test of
# the worker would run against Spark.
@pytest.fixture(scope="module")
def spark_night(demo_night, tmp_path_factory):
    """The demo night's raw tables in a lake, Spark views over them, the identity step and dbt's seeds and
    models built on a local Spark session; yields the session and seconds per step."""
    folder = tmp_path_factory.mktemp("spark")
    timings: dict[str, float] = {}
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LEADLOOP_WAREHOUSE", "spark")
        env.setenv("LEADLOOP_LAKE_DIR", str(folder / "lake"))
        env.setenv("LEADLOOP_SPARK_DIR", str(folder / "spark"))
        env.setenv("LEADLOOP_SPARK_MASTER", "local[2]")
        env.setenv("LEADLOOP_DUCKDB_PATH", str(demo_night))
        from leadloop.identity.load import load_observations
        from leadloop.privacy.salt import write_marts_hash_key
        from leadloop.spark import spark_session, stop_spark_session

        started = time.monotonic()
        spark = spark_session()
        timings["spark session"] = time.monotonic() - started

        started = time.monotonic()
        copied = _raw_tables_to_lake(demo_night)
        timings["dlt: raw tables to the lake"] = time.monotonic() - started
        assert copied > 20

        started = time.monotonic()
        load_observations()  # the identity asset's body: reads the raw views, writes the lake, its view
        write_marts_hash_key()
        timings["identity step"] = time.monotonic() - started

        started = time.monotonic()
        result = _dbt_in_process("build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test",
                                 work_dir=folder / "dbt")
        timings["dbt build (seeds, models)"] = time.monotonic() - started
        assert result.success, _failures(result)
        yield spark, timings
        stop_spark_session()


def _raw_tables_to_lake(duckdb_path: Path) -> int:
    """Every raw table of the DuckDB night written to the lake by dlt (filesystem destination, Parquet), with
    the primary keys of the night's dlt schema, dataset by dataset as the night's sources load them; the
    number of tables."""
    import dlt
    import duckdb

    from leadloop.warehouse import dlt_pipeline, loaded

    count = 0
    with duckdb.connect(str(duckdb_path), read_only=True) as duck:
        datasets = [row[0] for row in duck.execute(
            "select distinct table_schema from information_schema.tables where table_schema like 'raw_%'"
            " and table_schema not like '%_staging' order by 1").fetchall()]
        for dataset in datasets:
            keys = _primary_keys(duck, dataset)
            tables = [row[0] for row in duck.execute(
                "select table_name from information_schema.tables where table_schema = ? order by 1",
                [dataset]).fetchall() if row[0] not in SYSTEM_TABLES]
            resources = [dlt.resource(duck.sql(f'select * from "{dataset}"."{table}"').to_arrow_table(),
                                      name=table, primary_key=keys.get(table) or None,
                                      write_disposition="merge" if keys.get(table) else "append")
                         for table in tables]
            pipeline = dlt_pipeline(dataset.removeprefix("raw_"), dataset_name=dataset)
            pipeline.run(resources, loader_file_format="parquet").raise_on_failed_jobs()
            loaded(dataset)
            count += len(tables)
    return count


def _primary_keys(duck, dataset: str) -> dict[str, list[str]]:
    """Primary keys per table of a dataset's newest dlt schema in the DuckDB night."""
    row = duck.execute(f'select schema from "{dataset}"._dlt_version order by inserted_at desc limit 1').fetchone()
    tables = json.loads(row[0])["tables"] if row else {}
    return {name: [c for c, spec in table.get("columns", {}).items() if spec.get("primary_key")]
            for name, table in tables.items()}


def _dbt_in_process(*args: str, work_dir: Path):
    """dbt in this process, so it runs on this process's Spark session (dbt-spark's session method)."""
    from dbt.cli.main import dbtRunner

    project = settings.DBT_PROJECT_DIR
    cwd = os.getcwd()
    os.chdir(project)
    try:
        return dbtRunner().invoke([*args, "--project-dir", str(project), "--profiles-dir", str(project),
                                   "--target", "spark", "--target-path", str(work_dir / "target"),
                                   "--log-path", str(work_dir / "logs"), "--quiet"])
    finally:
        os.chdir(cwd)


def _failures(result) -> str:
    if result.exception is not None:
        return repr(result.exception)
    failed = [r for r in (result.result or []) if str(r.status) not in ("success", "pass")]
    return "\n".join(f"{r.node.unique_id}: {r.status}: {(r.message or '')[:1500]}" for r in failed[:5])


def _comparable(value: object) -> object:
    """One representation per value across DuckDB and Spark: numbers to 6 places, times as naive UTC."""
    if isinstance(value, float):
        return Decimal(str(round(value, 6))).normalize()
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.000001")).normalize()
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return value
    return value


def _rows(rows) -> list[tuple]:
    return sorted((tuple(_comparable(v) for v in row) for row in rows), key=repr)


class SparkCursor:
    """A DB-API-like cursor on the Spark session, for the support code that reads marts with SQL."""

    def __init__(self, spark) -> None:
        self.spark, self.rows, self.description = spark, [], []

    def execute(self, sql: str) -> None:
        frame = self.spark.sql(sql.replace(" as varchar)", " as string)"))
        self.description = [(name,) for name in frame.columns]
        self.rows = [tuple(row) for row in frame.collect()]

    def fetchall(self) -> list[tuple]:
        return self.rows


def test_dbt_builds_on_spark_the_marts_of_duckdb_and_the_truth(spark_night, demo_night, demo_world):
    import duckdb

    from leadloop.demo.digital import simulate_digital
    from leadloop.demo.truth import journeys_truth
    from tests.support.funnel import actual_funnel, expected_funnel, funnel_differences
    from tests.support.marketing_truth import loaded_ad_days

    spark, timings = spark_night
    print("spark test steps (s):", {step: round(seconds, 1) for step, seconds in timings.items()})
    # The numbers match the demo's ground truth, as on DuckDB and PostgreSQL.
    ad_days = loaded_ad_days(demo_world, simulate_digital(demo_world))
    actual = actual_funnel(SparkCursor(spark))
    assert funnel_differences(expected_funnel(journeys_truth(demo_world), ad_days), actual) == []

    # Every mart dbt builds has the DuckDB build's columns and rows.
    built = {row.tableName for row in spark.sql("show tables in marts").collect() if not row.isTemporary}
    differences = {}
    with duckdb.connect(str(demo_night), read_only=True) as duck:
        marts = [row[0] for row in duck.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1").fetchall()]
        dbt_marts = [mart for mart in marts if mart in built]
        assert len(dbt_marts) >= 20, (marts, built)
        for mart in dbt_marts:
            cursor = duck.execute(f"select * from marts.{mart}")
            duck_columns, duck_rows = [d[0] for d in cursor.description], _rows(cursor.fetchall())
            frame = spark.table(f"marts.{mart}")
            spark_columns, spark_rows = frame.columns, _rows(frame.collect())
            if mart == "mart_data_sources":  # when each warehouse loaded differs: compare what fed what
                duck_rows, spark_rows = ([row[:3] + (row[5],) for row in rows] for rows in (duck_rows, spark_rows))
            if duck_columns != spark_columns or duck_rows != spark_rows:
                differences[mart] = (duck_columns == spark_columns, len(duck_rows), len(spark_rows),
                                     next(((a, b) for a, b in zip(duck_rows, spark_rows) if a != b), None))
    assert differences == {}
    # Issue 6 on Spark too: the same persons and companies under the same ids.
    for model in ("int_customer_ids_assigned", "int_account_ids_assigned"):
        with duckdb.connect(str(demo_night), read_only=True) as duck:
            expected = _rows(duck.execute(f"select * from intermediate.{model}").fetchall())
        assert _rows(spark.table(f"intermediate.{model}").collect()) == expected, model
