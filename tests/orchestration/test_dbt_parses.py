"""dbt parses every file again when the profile differs from the one its partial-parse file was made with, and
the profile names the warehouse. An invocation is given the last parse made with its own profile; on DuckDB, a
warehouse in a new folder gets one made for another folder, marked with dbt's digest of its own profile. So
no invocation pays the full parse once one was made for a DuckDB file of the same name and settings."""

from __future__ import annotations

import os

import msgpack

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


def test_without_the_folder_the_digest_keeps_the_duckdb_files_name_and_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("LEADLOOP_DUCKDB_PATH", str(tmp_path / "x" / "leadloop.duckdb"))
    monkeypatch.setenv("LEADLOOP_WAREHOUSE_DIR", str(tmp_path / "x"))
    here = profile_digest(warehouse_folder=False)
    elsewhere = {**os.environ, "LEADLOOP_DUCKDB_PATH": str(tmp_path / "y" / "leadloop.duckdb"),
                 "LEADLOOP_WAREHOUSE_DIR": str(tmp_path / "y")}
    assert profile_digest(elsewhere) != profile_digest()
    assert profile_digest(elsewhere, warehouse_folder=False) == here
    renamed = {**elsewhere, "LEADLOOP_DUCKDB_PATH": str(tmp_path / "y" / "other.duckdb")}
    assert profile_digest(renamed, warehouse_folder=False) != here  # the file's name is dbt's database name
    limited = {**elsewhere, "LEADLOOP_DUCKDB_MEMORY_LIMIT": "1GB"}
    assert profile_digest(limited, warehouse_folder=False) != here


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


def _profile_hash(target) -> str:
    manifest = msgpack.unpackb((target / PARTIAL_PARSE_FILE).read_bytes(), raw=False, strict_map_key=False)
    return manifest["state_check"]["profile_hash"]["checksum"]


def test_one_full_parse_serves_every_duckdb_warehouse_of_the_same_name(monkeypatch, tmp_path):
    monkeypatch.setattr(dbt_project, "_parses_folder", lambda: tmp_path / "parses")
    dbt = dbt_cli_resource(leadloop_dbt_project())

    def use(warehouse: str, name: str) -> None:
        monkeypatch.setenv("LEADLOOP_WAREHOUSE_DIR", str(tmp_path / warehouse))
        monkeypatch.setenv("LEADLOOP_DUCKDB_PATH", str(tmp_path / warehouse / name))

    def parse(warehouse: str, name: str) -> str:
        use(warehouse, name)
        target = tmp_path / f"{warehouse}-{name}"
        dbt.cli(["parse", "--quiet"], target_path=target).wait()
        keep_parse(target)
        return (target / "dbt.log").read_text(encoding="utf-8")

    assert FULL_PARSE in parse("a", "leadloop.duckdb")  # nothing kept yet: the prepared parse is the session's
    rebased = tmp_path / "rebased"
    use("b", "leadloop.duckdb")
    reuse_parse(rebased)  # what the next invocation on b will be given
    assert FULL_PARSE not in parse("b", "leadloop.duckdb")  # another folder: the parse made for a serves
    assert FULL_PARSE not in parse("b", "leadloop.duckdb")  # and b's own, kept
    # the digest leadloop wrote is the one dbt computes for b's profile
    assert _profile_hash(rebased) == _profile_hash(tmp_path / "b-leadloop.duckdb")
    assert _profile_hash(rebased) != _profile_hash(tmp_path / "a-leadloop.duckdb")
    assert FULL_PARSE in parse("c", "other.duckdb")  # another database name: parsed again
