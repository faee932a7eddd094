"""Runs started from the command line (src/leadloop/orchestration/launch.py) are recorded under the `leadloop`
code location of workspace.yaml, the origin the Dagster UI filters its Runs tab and timeline on,
and their materializations and check results read back from the instance."""

from __future__ import annotations

import dagster as dg
import pytest

from leadloop.orchestration.launch import (
    asset_check_evaluations,
    asset_materializations,
    code_location_origin,
    reconstructable_job,
    run_job,
)


def test_workspace_yaml_declares_the_leadloop_location_of_the_definitions():
    from leadloop.orchestration.definitions import defs

    origin = code_location_origin()
    target = origin.loadable_target_origin
    assert (origin.location_name, target.module_name, target.attribute) == (
        "leadloop", "leadloop.orchestration.definitions", "defs")
    rebuilt = reconstructable_job("nightly_refresh").get_definition()
    loaded = defs.resolve_job_def("nightly_refresh")
    assert rebuilt.asset_layer.executable_asset_keys == loaded.asset_layer.executable_asset_keys


def test_an_unknown_location_names_the_file_to_fix():
    with pytest.raises(ValueError, match=r"workspace\.yaml has no code location named 'elsewhere'"):
        code_location_origin("elsewhere")


def test_a_launched_run_carries_the_leadloop_origin_and_its_events(private_warehouse, demo_world):
    from leadloop.demo.serve import running_demo_sources
    from leadloop.orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    wecom = {key for key in graph.get_all_asset_keys() if key.path[0] == "raw_wecom"}
    with running_demo_sources(demo_world), dg.DagsterInstance.ephemeral() as instance:
        result = run_job("nightly_refresh", instance, tags={"leadloop/purpose": "test"},
                         asset_selection=wecom)
        run = instance.get_run_by_id(result.run_id)
        materialized = {m.asset_key for m in asset_materializations(instance, result.run_id)}
        checks = {(e.asset_key, e.check_name, e.passed)
                  for e in asset_check_evaluations(instance, result.run_id)}
        # The Runs tab's filter: the job and the repository label tag the origin gives the run.
        listed = instance.get_run_ids(dg.RunsFilter(job_name="nightly_refresh",
                                                    tags={".dagster/repository": "__repository__@leadloop"}))

    assert result.success and run.status == dg.DagsterRunStatus.SUCCESS
    origin = run.remote_job_origin
    assert (origin.location_name, origin.repository_origin.repository_name, origin.job_name) == (
        "leadloop", "__repository__", "nightly_refresh")
    assert run.job_code_origin == reconstructable_job("nightly_refresh").get_python_origin()
    assert run.tags["leadloop/purpose"] == "test" and run.asset_selection == wecom
    assert listed == [result.run_id]
    assert materialized == wecom
    assert checks == {(key, check, True) for key in wecom for check in ("gx_suite", "schema_unchanged")}
