"""dbt parses every file again when the profile differs from the one its partial-parse file was made with, and
the profile names the warehouse. An invocation is given the last parse made with its own profile, so only the
first invocation on a warehouse pays the full parse."""

from __future__ import annotations

import os

from leadloop.orchestration import dbt_project
from leadloop.orchestration.dbt_project import (
    PARTIAL_PARSE_FILE,
    dbt_cli_resource,
    keep_parse,
    leadloop_dbt_project,
    profile_digest,
    reuse_parse,
)

FULL_PARSE = "Unable to do partial parsing because profile has changed"


def test_the_profile_digest_follows_what_profiles_yml_reads(monkeypatch, tmp_path):
    monkeypatch.setenv("LEADLOOP_DUCKDB_PATH", str(tmp_path / "a.duckdb"))
    first = profile_digest()
    monkeypatch.setenv("LEADLOOP_SOMETHING_ELSE", "x")  # profiles.yml does not read it
    assert profile_digest() == first
    monkeypatch.setenv("LEADLOOP_DUCKDB_MEMORY_LIMIT", "1GB")
    assert profile_digest() != first
    assert profile_digest({**os.environ, "LEADLOOP_DUCKDB_MEMORY_LIMIT": "80%"}) != profile_digest()


def test_a_kept_parse_goes_to_invocations_with_the_same_profile_only(monkeypatch, tmp_path):
    monkeypatch.setattr(dbt_project, "_parses_folder", lambda: tmp_path / "parses")
    monkeypatch.setenv("LEADLOOP_DUCKDB_PATH", str(tmp_path / "a.duckdb"))
    (tmp_path / "first").mkdir()
    (tmp_path / "first" / PARTIAL_PARSE_FILE).write_bytes(b"parse of a")
    keep_parse(tmp_path / "first")
    reuse_parse(tmp_path / "second")
    assert (tmp_path / "second" / PARTIAL_PARSE_FILE).read_bytes() == b"parse of a"
    monkeypatch.setenv("LEADLOOP_DUCKDB_PATH", str(tmp_path / "b.duckdb"))
    reuse_parse(tmp_path / "third")
    assert not (tmp_path / "third" / PARTIAL_PARSE_FILE).exists()
    for n in range(dbt_project.PARSES_KEPT + 3):  # the newest few are kept
        monkeypatch.setenv("LEADLOOP_DUCKDB_PATH", str(tmp_path / f"{n}.duckdb"))
        keep_parse(tmp_path / "first")
    assert len(list((tmp_path / "parses").glob("*.msgpack"))) == dbt_project.PARSES_KEPT


def test_only_the_first_invocation_on_another_warehouse_parses_everything(private_warehouse, tmp_path):
    dbt = dbt_cli_resource(leadloop_dbt_project())
    logs = []
    for name in ("first", "second"):
        target = tmp_path / name
        dbt.cli(["parse", "--quiet"], target_path=target).wait()
        keep_parse(target)
        logs.append((target / "dbt.log").read_text(encoding="utf-8"))
    assert FULL_PARSE in logs[0]  # the prepared parse was made with the session's warehouse
    assert FULL_PARSE not in logs[1]
