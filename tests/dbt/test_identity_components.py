"""Person stitching in SQL: materialization connected_components, model int_persons_stitched.

dbt unit tests cannot run a model made of many statements, so the stitching is tested by building
the model on small graphs whose answer is written out here (chains, stars, cycles, isolated
identifiers, long chains in byte order, byte order itself), on DuckDB and on a real PostgreSQL,
and on a random identity graph against scipy's connected components. rounds_needed is checked
against a Python rendering of the same algorithm. One round's steps are unit tested in dbt (model
int_identifier_edges_contracted, run here too). The lifecycle of the work tables and the failure
when var identity_max_rounds runs out are tested on DuckDB, the rollback on PostgreSQL.

The model's only parent, int_identifiers_linked, is created as a table of its own here instead of
building the whole upstream chain (which would need every raw table the identity layer reads).
"""

from __future__ import annotations

import io
import itertools
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest
import yaml

from leadloop import settings
from tests.support.dbt import passed, run_dbt

MODEL = "int_persons_stitched"
ROUND_MODEL = "int_identifier_edges_contracted"
UNIT_TESTS = settings.DBT_PROJECT_DIR / "models" / "intermediate" / "identity" / "_identity__unit_tests.yml"
EDGES_TABLE = "intermediate.int_identifiers_linked"
SEED = 20260518
Edge = tuple[str | None, str | None]


def _dbt(tmp_path: Path, environment: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """Runs dbt on the project with a private target and log folder."""
    return run_dbt(*args, work_dir=tmp_path, environment=environment)


def _built(result: subprocess.CompletedProcess) -> None:
    """The model and all its data tests passed, the convergence test among them."""
    assert passed(result) >= 7
    assert re.search(r"PASS assert_identity_components_converged", result.stdout), result.stdout[-3000:]


def _round_unit_tests() -> int:
    tests = yaml.safe_load(UNIT_TESTS.read_text())["unit_tests"]
    return sum(1 for test in tests if test["model"] == ROUND_MODEL)


def _build_with_round_unit_tests(tmp_path: Path, environment: dict[str, str]) -> None:
    """dbt build of the model and of the one-round model: its unit tests, the model, its data tests."""
    result = _dbt(tmp_path, environment, "build", "--select", MODEL, ROUND_MODEL)
    _built(result)
    unit_passes = re.findall(rf"PASS {ROUND_MODEL}::", result.stdout)
    assert len(unit_passes) == _round_unit_tests() > 0, result.stdout[-3000:]


# -- the algorithm, in Python, for rounds_needed ----------------------------------------------------


def order_key(byte_rank: int) -> int:
    """macro identity_order_key: the node id rounds hook by."""
    return ((((1588635695 * byte_rank + 1117695901) % 2147483647) * byte_rank + 739391) % 2147483647) * 2**32 \
        + byte_rank


def reference_rounds(edges: Iterable[Edge]) -> int:
    """Rounds of hook / shortcut twice / contract until no edge is left (Python order = byte order)."""
    edges = [(a, b) for a, b in edges if a is not None and b is not None and a != b]
    node = {name: order_key(rank) for rank, name in enumerate(sorted({x for edge in edges for x in edge}), 1)}
    left = {(min(node[a], node[b]), max(node[a], node[b])) for a, b in edges}
    rounds = 0
    while left:
        rounds += 1
        parent: dict[int, int] = {}
        for lo, hi in left:
            parent[lo] = min(parent.get(lo, lo), lo)
            parent[hi] = min(parent.get(hi, hi), lo)
        grandparent = {n: parent[parent[n]] for n in parent}
        representative = {n: grandparent[grandparent[n]] for n in grandparent}
        moved = ((representative[lo], representative[hi]) for lo, hi in left)
        left = {(min(a, b), max(a, b)) for a, b in moved if a != b}
    return rounds


# -- small graphs with their answer ----------------------------------------------------------------


def _path(names: list[str]) -> list[Edge]:
    return list(itertools.pairwise(names))


def _same_key(names: Iterable[str], key: str) -> dict[str, str]:
    return dict.fromkeys(names, key)


HOPS = [f"sensors_distinct_id:hop-{k:03d}" for k in range(127, -1, -1)]
VISITORS = [f"sensors_distinct_id:visitor-{k:02d}" for k in range(60)]
LEAVES = [f"sensors_distinct_id:leaf-{k}" for k in range(1, 6)]
RING = [f"phone:+861380000000{k}" for k in (5, 3, 1, 4, 2, 6, 5)]

# name -> (edges, identifier -> person_key). The graphs share no identifier, so one build of their
# union answers them all (the components of a disjoint union are the components of its parts).
SMALL_GRAPHS: dict[str, tuple[list[Edge], dict[str, str]]] = {
    "chain_of_records_is_one_person": (
        _path(["sensors_distinct_id:d-7f3a", "sensors_login_id:u1001", "phone:+8613912345678",
               "email:li.lei@example.cn"]),
        _same_key(["sensors_distinct_id:d-7f3a", "sensors_login_id:u1001", "phone:+8613912345678",
                   "email:li.lei@example.cn"], "email:li.lei@example.cn"),
    ),
    "star_joins_its_leaves_through_a_hub_that_is_not_smallest": (
        [("wecom_external_userid:wm-hub", leaf) for leaf in LEAVES],
        _same_key(["wecom_external_userid:wm-hub", *LEAVES], "sensors_distinct_id:leaf-1"),
    ),
    "cycle_is_one_person_keyed_mid_ring": (
        _path(RING),
        _same_key(RING, "phone:+8613800000001"),
    ),
    "long_path_with_the_smallest_identifier_at_the_far_end": (
        _path(HOPS),  # label propagation would need 127 rounds
        _same_key(HOPS, "sensors_distinct_id:hop-000"),
    ),
    "separate_persons_keep_their_own_keys": (
        [("phone:+8613911110001", "email:wang@example.cn"), ("email:wang@example.cn", "neocrm_lead:1400000000001"),
         ("phone:+8613922220002", "sensors_login_id:u2002"), ("sensors_login_id:u2002", "sensors_distinct_id:d-2002"),
         ("wecom_external_userid:wm-3003", "neocrm_lead:1400000000003")],
        {**_same_key(["phone:+8613911110001", "email:wang@example.cn", "neocrm_lead:1400000000001"],
                     "email:wang@example.cn"),
         **_same_key(["phone:+8613922220002", "sensors_login_id:u2002", "sensors_distinct_id:d-2002"],
                     "phone:+8613922220002"),
         **_same_key(["wecom_external_userid:wm-3003", "neocrm_lead:1400000000003"], "neocrm_lead:1400000000003")},
    ),
    "isolated_identifiers_self_loops_duplicates_and_nulls": (
        [("phone:+8613933330003", "phone:+8613933330003"), ("email:zhao@example.cn", "sensors_login_id:u4004"),
         ("email:zhao@example.cn", "sensors_login_id:u4004"), ("sensors_login_id:u4004", "email:zhao@example.cn"),
         ("sensors_login_id:u4004", "sensors_login_id:u4004"), ("neocrm_lead:1400000000005", None),
         (None, "neocrm_lead:1400000000006"), (None, None)],
        {"phone:+8613933330003": "phone:+8613933330003", "neocrm_lead:1400000000005": "neocrm_lead:1400000000005",
         "neocrm_lead:1400000000006": "neocrm_lead:1400000000006",
         **_same_key(["email:zhao@example.cn", "sensors_login_id:u4004"], "email:zhao@example.cn")},
    ),
    "hub_with_sixty_leaves_is_one_component": (
        [(visitor, "phone:+8640088888888") for visitor in VISITORS],  # hubs are blocked upstream, not here
        _same_key([*VISITORS, "phone:+8640088888888"], "phone:+8640088888888"),
    ),
    "byte_order_picks_the_key": (
        [("email:adam@example.cn", "email:Zoe@example.cn"), ("company:华为", "company:Huawei")],
        {**_same_key(["email:adam@example.cn", "email:Zoe@example.cn"], "email:Zoe@example.cn"),
         **_same_key(["company:华为", "company:Huawei"], "company:Huawei")},
    ),
}


def small_graphs_union() -> list[Edge]:
    """Every small graph's edges in one graph (checked to share no identifier)."""
    seen: set[str] = set()
    edges: list[Edge] = []
    for name, (graph, expected) in SMALL_GRAPHS.items():
        assert not seen & expected.keys(), f"{name} shares identifiers with another graph"
        seen |= expected.keys()
        edges += graph
    return edges


def _check_small_graph(rows: list[tuple], name: str) -> None:
    persons = {identifier: person_key for identifier, person_key, _, _ in rows}
    assert len(persons) == len(rows), "one row per identifier"
    _, expected = SMALL_GRAPHS[name]
    assert {identifier: persons.get(identifier) for identifier in expected} == expected
    assert {converged for _, _, _, converged in rows} == {True}


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
    assert {(rounds, converged) for _, _, rounds, converged in rows} == {(reference_rounds(edges), True)}
    # Contraction needs a logarithmic number of rounds; label propagation would need 299 here.
    assert rows[0][2] <= 12, f"{rows[0][2]} rounds"
    expected = scipy_persons(edges)
    wrong = [(key, persons.get(key), value) for key, value in expected.items() if persons.get(key) != value]
    assert persons.keys() == expected.keys() and not wrong, wrong[:5]


# -- DuckDB ---------------------------------------------------------------------------------------


def _duckdb_edges(path: Path, edges: list[Edge]) -> None:
    """The parent of int_persons_stitched, as a table holding `edges`, in a (new) DuckDB file."""
    import duckdb
    import pyarrow as pa

    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({"identifier_a": pa.array([a for a, _ in edges], pa.string()),
                      "identifier_b": pa.array([b for _, b in edges], pa.string())})
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema if not exists intermediate")
        connection.register("edges_arrow", table)
        connection.execute(f"create or replace table {EDGES_TABLE} as select * from edges_arrow")


def _duckdb_rows(path: Path) -> list[tuple]:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute(f"select identifier, person_key, rounds_needed, is_converged "
                                  f"from intermediate.{MODEL}").fetchall()


def _duckdb_work_tables(path: Path) -> list[str]:
    """Tables and views named like the model's work tables, in any schema."""
    import duckdb

    with duckdb.connect(str(path), read_only=True) as connection:
        names = connection.execute("select table_name from information_schema.tables").fetchall()
    return sorted(name for (name,) in names if name.startswith(f"{MODEL}__"))


@pytest.fixture(scope="module")
def duckdb_small_graphs(tmp_path_factory) -> list[tuple]:
    """The union of the small graphs built on DuckDB, with the one-round unit tests: the model's rows."""
    folder = tmp_path_factory.mktemp("small_graphs_duckdb")
    warehouse = folder / "warehouse" / "leadloop.duckdb"
    _duckdb_edges(warehouse, small_graphs_union())
    _build_with_round_unit_tests(folder, {"LEADLOOP_WAREHOUSE": "duckdb", "LEADLOOP_DUCKDB_PATH": str(warehouse)})
    return _duckdb_rows(warehouse)


@pytest.mark.parametrize("name", SMALL_GRAPHS)
def test_small_graph_on_duckdb(duckdb_small_graphs, name):
    _check_small_graph(duckdb_small_graphs, name)


def test_small_graphs_take_the_rounds_of_the_algorithm_on_duckdb(duckdb_small_graphs):
    # The 128-long path dominates: a handful of rounds, the same as the algorithm in Python.
    assert {rounds for _, _, rounds, _ in duckdb_small_graphs} == {reference_rounds(small_graphs_union())}
    assert duckdb_small_graphs[0][2] <= 8


def test_duckdb_matches_scipy_on_a_random_graph(private_warehouse, tmp_path):
    edges = random_identity_graph()
    _duckdb_edges(private_warehouse, edges)
    _built(_dbt(tmp_path, {"LEADLOOP_WAREHOUSE": "duckdb", "LEADLOOP_DUCKDB_PATH": str(private_warehouse)},
                "build", "--select", MODEL))
    _check_against_scipy(_duckdb_rows(private_warehouse), edges)


def test_work_tables_the_script_and_running_out_of_rounds(private_warehouse, tmp_path):
    """A graph with no edge at all; work tables kept on request and dropped by the next run; every
    statement in target/run; too few rounds fail the model, naming the var, and keep the old table."""
    environment = {"LEADLOOP_WAREHOUSE": "duckdb", "LEADLOOP_DUCKDB_PATH": str(private_warehouse)}

    # Only self-loops and nulls: no round, every identifier its own person.
    _duckdb_edges(private_warehouse, [("phone:+8613900000001", "phone:+8613900000001"),
                                      ("email:solo@example.cn", None), (None, None)])
    passed(_dbt(tmp_path, environment, "run", "--select", MODEL))
    assert sorted(_duckdb_rows(private_warehouse)) == [
        ("email:solo@example.cn", "email:solo@example.cn", 0, True),
        ("phone:+8613900000001", "phone:+8613900000001", 0, True)]
    assert _duckdb_work_tables(private_warehouse) == []

    # A path of 40 in byte order, work tables kept: one table per step and round, named for both.
    path = [f"sensors_distinct_id:hop-{k:02d}" for k in range(39, -1, -1)]
    _duckdb_edges(private_warehouse, _path(path))
    rounds = reference_rounds(_path(path))
    kept = _dbt(tmp_path, environment, "run", "--select", MODEL, "--vars", "{identity_keep_work_tables: true}")
    passed(kept)
    assert rounds >= 2
    steps = [f"{step}_{r:02d}" for r in range(1, rounds + 1) for step in ("parents", "representatives", "roots")]
    assert _duckdb_work_tables(private_warehouse) == sorted(
        [f"{MODEL}__{name}" for name in ("edges_given", "nodes", *steps)]
        + [f"{MODEL}__edges_{r:02d}" for r in range(rounds + 1)])
    for r in range(1, rounds + 1):  # each round is logged with the edges it left
        assert re.search(rf"{MODEL}: round {r}: [\d,]+ edges left", kept.stdout), kept.stdout[-3000:]
    assert f"{MODEL}: round {rounds}: 0 edges left" in kept.stdout

    # The next run drops them; target/run holds every statement it ran, in order, and no long one.
    passed(_dbt(tmp_path, environment, "run", "--select", MODEL))
    assert _duckdb_work_tables(private_warehouse) == []
    assert {(person_key, n) for person_key, n in _key_counts(_duckdb_rows(private_warehouse))} == {(path[-1], 40)}
    script = next((tmp_path / "target" / "run").rglob(f"{MODEL}.sql")).read_text()
    statements = [part for part in script.split(";\n") if "create " in part]
    assert len(statements) == 4 + 4 * rounds, script[:2000]  # view, nodes, edges; 3 steps + roots a round; table
    assert max(len(statement.splitlines()) for statement in statements) <= 40
    for r in range(1, rounds + 1):
        assert f"-- round {r}, hook" in script and f"-- round {r}, shortcut" in script
        assert f"-- round {r}, contract" in script and f"-- round {r}: " in script

    # One round is too few: the model fails, naming the var, and the table of the last run stays.
    before = sorted(_duckdb_rows(private_warehouse))
    failed = _dbt(tmp_path, environment, "run", "--select", MODEL, "--vars", "{identity_max_rounds: 1}")
    assert failed.returncode != 0
    assert re.search(r"edges are left after 1 rounds, the most var identity_max_rounds allows", failed.stdout), \
        failed.stdout[-3000:]
    assert sorted(_duckdb_rows(private_warehouse)) == before
    assert _duckdb_work_tables(private_warehouse) == []


def _copy_value(value: str | None) -> str:
    """A value in PostgreSQL's COPY text format (identifiers hold no tab, newline or backslash)."""
    return r"\N" if value is None else value


def _key_counts(rows: list[tuple]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for _, person_key, _, _ in rows:
        counts[person_key] = counts.get(person_key, 0) + 1
    return sorted(counts.items())


# -- PostgreSQL -----------------------------------------------------------------------------------


@pytest.mark.postgres
def test_small_graphs_a_random_graph_and_running_out_of_rounds_on_postgres(postgres_server, tmp_path):
    import psycopg2

    database = postgres_server.create_database("identity_components")
    environment = {**postgres_server.environment(), "LEADLOOP_PG_DATABASE": database,
                   "LEADLOOP_WAREHOUSE": "postgres"}
    connect = {"host": "127.0.0.1", "port": postgres_server.port, "user": postgres_server.user,
               "password": postgres_server.password, "dbname": database}

    def load(edges: list[Edge]) -> None:
        rows = "".join(f"{_copy_value(a)}\t{_copy_value(b)}\n" for a, b in edges)
        with psycopg2.connect(**connect) as connection, connection.cursor() as cursor:
            cursor.execute(f"create schema if not exists intermediate; drop table if exists {EDGES_TABLE};"
                           f" create table {EDGES_TABLE} (identifier_a text, identifier_b text)")
            cursor.copy_expert(f"copy {EDGES_TABLE} from stdin", io.StringIO(rows))

    def query(sql: str) -> list[tuple]:
        with psycopg2.connect(**connect) as connection, connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()

    def model_rows() -> list[tuple]:
        return query(f"select identifier, person_key, rounds_needed, is_converged from intermediate.{MODEL}")

    def work_tables() -> list[str]:
        names = query("select tablename from pg_tables union all select viewname from pg_views")
        return sorted(name for (name,) in names if name.startswith(f"{MODEL}__"))

    # The small graphs (and the one-round unit tests) on PostgreSQL.
    load(small_graphs_union())
    _build_with_round_unit_tests(tmp_path, environment)
    rows = model_rows()
    for name in SMALL_GRAPHS:
        _check_small_graph(rows, name)
    assert {r[2] for r in rows} == {reference_rounds(small_graphs_union())}
    assert work_tables() == []

    # The random graph against scipy.
    edges = random_identity_graph()
    load(edges)
    _built(_dbt(tmp_path, environment, "build", "--select", MODEL))
    _check_against_scipy(model_rows(), edges)

    # Too few rounds: the transaction rolls back, the table stays, no work table is left.
    before = sorted(model_rows())
    assert before[0][2] > 2
    failed = _dbt(tmp_path, environment, "run", "--select", MODEL, "--vars", "{identity_max_rounds: 2}")
    assert failed.returncode != 0 and "var identity_max_rounds" in failed.stdout, failed.stdout[-3000:]
    assert sorted(model_rows()) == before
    assert work_tables() == []
