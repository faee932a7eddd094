"""Issue 15, schema drift: a platform adds a field, changes a field's type (number → string, string → object),
stops sending a field, renames one. The load never fails, each change lands in raw as dlt evolves the schema,
and `schema_drift` says in words what changed in which table. Real dlt loads into a private DuckDB file."""

from __future__ import annotations

import dlt
import duckdb
import pytest

from leadloop.extract.common.schema_drift import (
    FieldTracker,
    remember_fields,
    remembered_fields,
    schema_drift,
    table_columns,
)

pytestmark = pytest.mark.integration

NIGHT_ONE = [{"id": 1, "name": "甲公司", "amount": 1200, "owner": "u1", "note": "x"},
             {"id": 2, "name": "乙公司", "amount": 800, "owner": "u2"}]  # note: not on every record
NIGHT_TWO = [{"id": 3, "name": {"zh": "丙公司", "en": "Bing"}, "amount": "一千二", "owner_user": "u3",
              "fax": "010-1234"}]


def load(tmp_path, rows, fields_file):
    """One night of the `leads` resource: the drift seen and the pipeline."""
    pipeline = dlt.pipeline(pipeline_name="drift", destination=dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
                            dataset_name="raw_test", pipelines_dir=str(tmp_path / "pipelines"))

    @dlt.resource(name="leads", primary_key="id", write_disposition="merge")
    def leads():
        yield from rows

    tracker = FieldTracker()
    resource = leads()
    resource.add_map(tracker.observer("leads"))
    before = table_columns(pipeline.default_schema if pipeline.default_schema_name else None)
    pipeline.run(resource).raise_on_failed_jobs()
    drift = schema_drift(before, table_columns(pipeline.default_schema), remembered_fields(fields_file), tracker)
    remember_fields(fields_file, tracker)
    return drift, pipeline


def test_every_kind_of_drift_loads_and_is_named(tmp_path):
    fields_file = tmp_path / "fields.json"
    first, _ = load(tmp_path, NIGHT_ONE, fields_file)
    assert first == {}  # a first load is not drift
    assert remembered_fields(fields_file) == {"leads": ["amount", "id", "name", "owner"]}

    second, pipeline = load(tmp_path, NIGHT_TWO, fields_file)
    drift = second["leads"]
    assert set(drift.new_fields) == {"owner_user", "fax"}
    assert set(drift.retyped) == {("amount", "text", "amount__v_text"), ("name", "object", "name__zh"),
                                  ("name", "object", "name__en")}
    assert drift.missing_fields == ("owner",)  # renamed to owner_user; `note` was never on every record
    assert "no longer sent: owner" in drift.describe() and "amount arrived as text" in drift.describe()

    # Nothing was lost: the new night's values are in raw, old rows untouched.
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        rows = con.execute("select id, name, amount, amount__v_text, name__zh, owner, owner_user, fax"
                           " from raw_test.leads order by id").fetchall()
    assert rows == [(1, "甲公司", 1200, None, None, "u1", None, None), (2, "乙公司", 800, None, None, "u2", None, None),
                    (3, None, None, "一千二", "丙公司", None, "u3", "010-1234")]
    assert pipeline.default_schema.tables["leads"]["columns"]["amount"]["data_type"] == "bigint"


def test_a_night_without_records_or_changes_has_no_drift(tmp_path):
    fields_file = tmp_path / "fields.json"
    load(tmp_path, NIGHT_ONE, fields_file)
    assert load(tmp_path, [], fields_file)[0] == {}
    assert load(tmp_path, [{"id": 9, "name": "丁", "amount": 5, "owner": "u9"}], fields_file)[0] == {}
    assert remembered_fields(fields_file)["leads"] == ["amount", "id", "name", "owner"]


def test_a_drifted_table_fails_its_warning_check_and_the_alert_says_what_changed():
    import dagster as dg

    from leadloop.extract.common.schema_drift import TableDrift
    from leadloop.orchestration.alerts import alert_text, failed_checks
    from leadloop.orchestration.quality import schema_drift_check, schema_drift_check_spec

    leads, deals = dg.AssetKey(["raw_demo", "leads"]), dg.AssetKey(["raw_demo", "deals"])
    drift = TableDrift("leads", new_fields=("fax",), retyped=(("amount", "text", "amount__v_text"),))

    @dg.multi_asset(specs=[dg.AssetSpec(leads), dg.AssetSpec(deals)],
                    check_specs=[schema_drift_check_spec(leads), schema_drift_check_spec(deals)])
    def raw_demo():
        yield dg.MaterializeResult(asset_key=leads)
        yield dg.MaterializeResult(asset_key=deals)
        yield schema_drift_check(leads, drift)
        yield schema_drift_check(deals, None)

    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([raw_demo], instance=instance)
        assert result.success  # a warning: the night goes on
        checks = failed_checks(instance, result.run_id)
    assert checks == ["raw_demo/leads:schema_unchanged: new field fax; amount arrived as text (kept in amount__v_text)"]
    assert "new field fax" in alert_text("nightly_refresh", result.run_id, "succeeded with failed checks", [], checks)
