"""Person stitching in SQL (macro connected_components, model int_persons_stitched).

The dbt unit tests of int_persons_stitched run on DuckDB (and on PostgreSQL, marked `postgres`),
and the model's answer on a random identity graph is compared with scipy's connected components:
the same persons, each keyed by its smallest identifier.

The unit tests only need their input's columns, so the one parent, int_identifiers_linked, is
created as a table of its own here instead of building the whole upstream chain (which would need
every raw table the identity layer reads).
"""

from __future__ import annotations

import io
import itertools
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from leadloop import settings

MODEL = "int_persons_stitched"
UNIT_TESTS = settings.DBT_PROJECT_DIR / "models" / "intermediate" / "identity" / "_identity__unit_tests.yml"
EDGES_TABLE = "intermediate.int_identifiers_linked"
SEED = 20260518


def _dbt(tmp_path: Path, environment: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """Runs dbt on the project with a private target and log folder."""
    dbt = Path(sys.executable).with_name("dbt")
    return subprocess.run(
        [str(dbt), *args, "--project-dir", str(settings.DBT_PROJECT_DIR),
         "--profiles-dir", str(settings.DBT_PROJECT_DIR), "--target-path", str(tmp_path / "target"),
         "--log-path", str(tmp_path / "logs")],
        check=False, capture_output=True, text=True, cwd=settings.DBT_PROJECT_DIR,
        env={**os.environ, **environment, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
    )


def _passed(result: subprocess.CompletedProcess) -> int:
    """PASS= count of a successful dbt run (fails the test with dbt's output otherwise)."""
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    return int(re.search(r"PASS=(\d+)", result.stdout).group(1))  # type: ignore[union-attr]


def _built(result: subprocess.CompletedProcess) -> None:
    """The model and all its data tests passed, the convergence test among them."""
    assert _passed(result) >= 7
    assert re.search(r"PASS assert_identity_components_converged", result.stdout), result.stdout[-3000:]


def _unit_test_count() -> int:
    tests = yaml.safe_load(UNIT_TESTS.read_text())["unit_tests"]
    return sum(1 for test in tests if test["model"] == MODEL)


# -- a random identity graph and scipy's answer ---------------------------------------------------


def random_identity_graph(seed: int = SEED) -> list[tuple[str, str]]:
    """~20k edges: people of 2-6 identifiers, shared identifiers between people, a 300-long path
    named so byte order runs along it (smallest at the far end), a 200-leaf hub, self-loops and
    duplicates."""
    rng = np.random.default_rng(seed)
    kinds = ("phone:+86139", "email:u", "sensors_distinct_id:", "sensors_login_id:", "neocrm_lead:14000",
             "wecom_external_userid:wm")
    sizes = rng.integers(2, 7, size=5800)
    nodes = int(sizes.sum())
    names = [f"{kinds[k]}{(i * 7919) % 100_000_000:08d}" for i, k in enumerate(rng.integers(0, 6, size=nodes))]
    edges: list[tuple[str, str]] = []
    start = 0
    for size in sizes:  # a random tree per person
        for offset in range(1, size):
            edges.append((names[start + offset], names[start + int(rng.integers(0, offset))]))
        start += size
    for a, b in rng.integers(0, nodes, size=(1500, 2)):  # identifiers shared between people
        edges.append((names[a], names[b]))
    path = [f"sensors_distinct_id:path-{k:03d}" for k in range(299, -1, -1)]
    edges += list(itertools.pairwise(path))
    edges += [("phone:+864008888888", names[int(i)]) for i in rng.integers(0, nodes, size=200)]
    edges += [(names[int(i)], names[int(i)]) for i in rng.integers(0, nodes, size=50)]
    edges += [edges[int(i)][::-1] for i in rng.integers(0, len(edges), size=500)]
    order = rng.permutation(len(edges))
    return [edges[i] for i in order]


def scipy_persons(edges: list[tuple[str, str]]) -> dict[str, str]:
    """identifier -> smallest identifier (Python string order = byte order) of its component."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    identifiers, codes = np.unique(np.array(edges, dtype=object).ravel(), return_inverse=True)
    codes = codes.reshape(-1, 2)
    size = len(identifiers)
    graph = coo_matrix((np.ones(len(codes)), (codes[:, 0], codes[:, 1])), shape=(size, size))
    _, labels = connected_components(graph, directed=False)
    _, first = np.unique(labels, return_index=True)  # codes are sorted: the first is the smallest
    return dict(zip(identifiers.tolist(), identifiers[first[labels]].tolist()))


def _check_against_scipy(rows: list[tuple], edges: list[tuple[str, str]]) -> None:
    persons = {identifier: person_key for identifier, person_key, _, _ in rows}
    assert len(persons) == len(rows), "one row per identifier"
    assert {(rounds, converged) for _, _, rounds, converged in rows} == {(rows[0][2], True)}
    # Contraction needs a logarithmic number of rounds; label propagation would need 299 here.
    assert rows[0][2] <= 12, f"{rows[0][2]} rounds"
    expected = scipy_persons(edges)
    wrong = [(key, persons.get(key), value) for key, value in expected.items() if persons.get(key) != value]
    assert persons.keys() == expected.keys() and not wrong, wrong[:5]


# -- DuckDB ---------------------------------------------------------------------------------------


def _duckdb_edges(path: Path, edges: list[tuple[str, str]]) -> None:
    """The parent of int_persons_stitched, as a table holding `edges`, in a fresh DuckDB file."""
    import duckdb
    import pyarrow as pa

    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({"identifier_a": pa.array([a for a, _ in edges], pa.string()),
                      "identifier_b": pa.array([b for _, b in edges], pa.string())})
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema if not exists intermediate")
        connection.register("edges_arrow", table)
        connection.execute(f"create or replace table {EDGES_TABLE} as select * from edges_arrow")


def test_unit_tests_pass_on_duckdb(private_warehouse, tmp_path):
    _duckdb_edges(private_warehouse, [])
    result = _dbt(tmp_path, {"LEADLOOP_DBT_TARGET": "duckdb", "LEADLOOP_DUCKDB_PATH": str(private_warehouse)},
                  "test", "--select", f"{MODEL},test_type:unit")
    assert _passed(result) == _unit_test_count()


def test_duckdb_matches_scipy_on_a_random_graph(private_warehouse, tmp_path):
    import duckdb

    edges = random_identity_graph()
    _duckdb_edges(private_warehouse, edges)
    _built(_dbt(tmp_path, {"LEADLOOP_DBT_TARGET": "duckdb", "LEADLOOP_DUCKDB_PATH": str(private_warehouse)},
                "build", "--select", MODEL, "--exclude", "test_type:unit"))
    with duckdb.connect(str(private_warehouse), read_only=True) as connection:
        rows = connection.execute(f"select identifier, person_key, rounds_needed, is_converged "
                                  f"from intermediate.{MODEL}").fetchall()
    _check_against_scipy(rows, edges)


# -- PostgreSQL -----------------------------------------------------------------------------------


@pytest.mark.postgres
def test_unit_tests_pass_and_a_random_graph_matches_scipy_on_postgres(postgres_server, tmp_path):
    import psycopg2

    # A database of its own on the session's server: the end-to-end test builds the real graph.
    database = postgres_server.create_database("identity_components")
    environment = {**postgres_server.environment(), "LEADLOOP_PG_DATABASE": database,
                   "LEADLOOP_DBT_TARGET": "postgres"}
    connect = {"host": "127.0.0.1", "port": postgres_server.port, "user": postgres_server.user,
               "password": postgres_server.password, "dbname": database}
    edges = random_identity_graph()
    with psycopg2.connect(**connect) as connection, connection.cursor() as cursor:
        cursor.execute(f"create schema intermediate; create table {EDGES_TABLE} (identifier_a text, identifier_b text)")
        cursor.copy_expert(f"copy {EDGES_TABLE} from stdin", io.StringIO("".join(f"{a}\t{b}\n" for a, b in edges)))

    assert _passed(_dbt(tmp_path, environment, "test", "--select", f"{MODEL},test_type:unit")) == _unit_test_count()
    _built(_dbt(tmp_path, environment, "build", "--select", MODEL, "--exclude", "test_type:unit"))
    with psycopg2.connect(**connect) as connection, connection.cursor() as cursor:
        cursor.execute(f"select identifier, person_key, rounds_needed, is_converged from intermediate.{MODEL}")
        rows = cursor.fetchall()
    _check_against_scipy(rows, edges)
