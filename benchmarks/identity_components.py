"""Person stitching: connected components of an identifier graph in SQL (dbt) vs scipy, same run.

    .venv/bin/python benchmarks/identity_components.py [--edges 1000000] [--seed 20260101] [--repeat 3]
                                                       [--postgres-edges 100000 | --postgres-edges 0]
                                                       [--dbt-project-dir DIR]

Generates an identifier graph that looks like identity data (fixed seed): many people with 2-6
identifiers linked by the records they appear on (phone, email, Sensors ids, CRM lead, WeCom
contact), duplicate edges, a few hundred larger components (shared phones, front desks), a few
long chains of 50-200 identifiers (some named so that byte order puts the smallest at the far end).
Then, in the same run:

- SQL: `dbt run --select int_persons_stitched` (materialization connected_components: one statement
  per step and round, in work tables) on a DuckDB file holding the edges as
  intermediate.int_identifiers_linked. The time is dbt's own timing of the model's execute phase
  (every statement, the rename and the commit; not dbt's start-up and parse). Best of `--repeat`.
- scipy: strings -> integers (Arrow's C++ dictionary encoding, then the dictionary sorted, so code
  order is byte order), then scipy.sparse.csgraph.connected_components, then each component's
  smallest identifier. Timed in three parts: "core" (the main scipy figure) is the sparse matrix
  and connected_components alone; "end to end" adds the factorisation and the component ids, i.e.
  the same strings in and the same answer out as the SQL. Best of `--repeat`.
- Both partitions are compared identifier by identifier (component id = smallest identifier).
- PostgreSQL (Debian binaries, a throw-away server as the tests start it): the same model on the
  first `--postgres-edges` edges, with DuckDB and scipy on that subset for comparison.

`--dbt-project-dir` runs another copy of the dbt project (e.g. an older commit's, to compare).

Target: SQL <= 25x scipy end to end (the fair comparison: both start from strings and end with
component ids; the SQL also writes its table). Both ratios are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT = ROOT / "dbt_project"
MODEL = "int_persons_stitched"
TARGET_RATIO = 25.0  # SQL seconds / scipy end-to-end seconds

# -- the graph -------------------------------------------------------------------------------------

KINDS = ("phone", "email", "sensors_distinct_id", "sensors_login_id", "neocrm_lead", "wecom_external_userid")
KIND_WEIGHTS = (0.28, 0.20, 0.27, 0.10, 0.10, 0.05)
PHONE_PREFIXES = ("139", "138", "137", "136", "135", "150", "151", "158", "186", "188", "177", "199")
MAIL_DOMAINS = ("qq.com", "163.com", "126.com", "sina.com", "gmail.com", "acme.cn", "huawei.com", "alibaba-inc.com")


def _identifier(kind: int, entity: int) -> str:
    """A realistic, unique string for entity number `entity` of kind `kind`."""
    scrambled = (entity * 2654435761 + 40503) % 2**32
    name = KINDS[kind]
    if name == "phone":
        return f"phone:+86{PHONE_PREFIXES[scrambled % 12]}{(entity * 48271 + 12345) % 10**8:08d}"
    if name == "email":
        return f"email:user{scrambled % 9973}.{entity}@{MAIL_DOMAINS[entity % 8]}"
    if name == "sensors_distinct_id":
        return f"sensors_distinct_id:{scrambled:08x}-{entity:06x}-sa"
    if name == "sensors_login_id":
        return f"sensors_login_id:u{entity * 7919 % 10**9:09d}"
    if name == "neocrm_lead":
        return f"neocrm_lead:{1400000000000 + entity * 37}"
    return f"wecom_external_userid:wm{scrambled:08x}{entity:07x}"


def _random_trees(sizes: np.ndarray, first: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Edges of one random tree per component (node i hangs on a random earlier node), nodes numbered from `first`."""
    starts = first + np.concatenate([[0], np.cumsum(sizes)[:-1]])
    local = np.concatenate([np.arange(1, size) for size in sizes]) if len(sizes) else np.array([], dtype=np.int64)
    start_of = np.repeat(starts, sizes - 1)
    parents = start_of + np.floor(rng.random(len(local)) * local).astype(np.int64)
    return start_of + local, parents


@dataclass
class Graph:
    """Edges as identifier strings, and what shaped them."""

    identifier_a: list[str]
    identifier_b: list[str]
    people: int
    large_components: int
    chains: list[int]


def generate_graph(edges: int, seed: int) -> Graph:
    """About `edges` identity edges with a fixed seed (see the module docstring for the shape)."""
    rng = np.random.default_rng(seed)
    a_parts: list[np.ndarray] = []
    b_parts: list[np.ndarray] = []
    next_entity = 0
    # A few long chains: a visitor's anonymous ids handed on from device to device.
    chains = [int(length) for length in rng.integers(50, 201, size=12)]
    for length in chains:
        nodes = np.arange(next_entity, next_entity + length)
        a_parts.append(nodes[:-1])
        b_parts.append(nodes[1:])
        next_entity += length
    chain_entities = next_entity
    # Larger components: shared company phones, front-desk emails (sizes 7 .. ~3000, heavy-tailed).
    large = np.minimum(7 + rng.lognormal(3.0, 1.2, size=400).astype(np.int64), 3000)
    tree_a, tree_b = _random_trees(large, next_entity, rng)
    extra = len(tree_a) // 4  # some cycles
    owners = np.repeat(np.arange(len(large)), large)
    pick = rng.integers(0, len(owners), size=extra)
    starts = next_entity + np.concatenate([[0], np.cumsum(large)[:-1]])
    a_parts += [tree_a, next_entity + pick]
    b_parts += [tree_b, starts[owners[pick]] + (rng.random(extra) * large[owners[pick]]).astype(np.int64)]
    next_entity += int(large.sum())
    # People: 2-6 identifiers each, tree of records, until the edge budget is spent.
    budget = edges - sum(len(part) for part in a_parts)
    mean_edges = 3.0 * 1.12  # a person of 2-6 identifiers (mean 4) has ~3 edges, plus duplicates and cross links
    people = max(int(budget / mean_edges), 1)
    sizes = rng.choice(np.arange(2, 7), size=people, p=(0.30, 0.25, 0.20, 0.15, 0.10))
    tree_a, tree_b = _random_trees(sizes, next_entity, rng)
    people_first = next_entity
    next_entity += int(sizes.sum())
    a_parts.append(tree_a)
    b_parts.append(tree_b)
    # Cross links: two people share an identifier (a family phone), merging small components.
    cross = int(0.01 * len(tree_a))
    a_parts.append(rng.integers(people_first, next_entity, size=cross))
    b_parts.append(rng.integers(people_first, next_entity, size=cross))
    all_a = np.concatenate(a_parts)
    all_b = np.concatenate(b_parts)
    # Duplicates: the same two identifiers on another record; then trim to the budget and shuffle.
    missing = max(edges - len(all_a), 0)
    again = rng.integers(0, len(all_a), size=missing)
    all_a = np.concatenate([all_a, all_a[again]])[:edges]
    all_b = np.concatenate([all_b, all_b[again]])[:edges]
    order = rng.permutation(len(all_a))
    all_a, all_b = all_a[order], all_b[order]
    swap = rng.random(len(all_a)) < 0.5
    all_a, all_b = np.where(swap, all_b, all_a), np.where(swap, all_a, all_b)

    kinds = rng.choice(len(KINDS), size=next_entity, p=KIND_WEIGHTS)
    names = [_identifier(int(kind), entity) for entity, kind in enumerate(kinds)]
    # Half the chains are named in order, so byte order puts their smallest identifier at the far end
    # (the worst case for label propagation): z...0199 -> ... -> z...0000.
    entity = 0
    for number, length in enumerate(chains):
        if number % 2 == 0:
            for step in range(length):
                names[entity + step] = f"sensors_distinct_id:chain{number:02d}-{length - 1 - step:04d}"
        entity += length
    assert entity == chain_entities
    return Graph([names[i] for i in all_a], [names[i] for i in all_b], people, len(large), chains)


# -- scipy ------------------------------------------------------------------------------------------


@dataclass
class ScipyRun:
    """Seconds of the three parts of one scipy run, and its answer."""

    factorise: float
    core: float
    finish: float
    components: int
    result: dict[str, str]

    @property
    def end_to_end(self) -> float:
        """Strings in, component ids out."""
        return self.factorise + self.core + self.finish


def scipy_components(identifier_a: pa.Array, identifier_b: pa.Array) -> ScipyRun:
    """Connected components with scipy, timed in three parts; identifier -> smallest identifier of its component.

    The strings start as Arrow arrays (as the SQL's start as a DuckDB column) and are factorised by
    Arrow's C++ kernels: dictionary-encode, sort the dictionary, renumber in byte order.
    """
    import pyarrow.compute as pc
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    began = time.perf_counter()
    encoded = pc.dictionary_encode(pa.concat_arrays([identifier_a, identifier_b]))
    dictionary = encoded.dictionary
    order = pc.sort_indices(dictionary).to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    codes = rank[encoded.indices.to_numpy()]
    half = len(identifier_a)
    factorised = time.perf_counter()
    size = len(dictionary)
    graph = coo_matrix((np.ones(half, dtype=np.int8), (codes[:half], codes[half:])), shape=(size, size)).tocsr()
    count, labels = connected_components(graph, directed=False)
    labelled = time.perf_counter()
    # Codes are in byte order, so a component's first code is its smallest identifier.
    _, first_code = np.unique(labels, return_index=True)
    component_ids = dictionary.take(pa.array(order[first_code[labels]]))
    finished = time.perf_counter()
    identifiers = dictionary.take(pa.array(order)).to_pylist()
    result = dict(zip(identifiers, component_ids.to_pylist()))
    return ScipyRun(factorised - began, labelled - factorised, finished - labelled, int(count), result)


# -- SQL --------------------------------------------------------------------------------------------


def dbt_run(environment: dict[str, str], target: str, scratch: Path, project_dir: Path) -> float:
    """Seconds dbt's run of int_persons_stitched spent executing (its edges table must exist)."""
    dbt = Path(sys.executable).with_name("dbt")
    target_path = scratch / f"target-{target}"
    done = subprocess.run(
        [str(dbt), "run", "--select", MODEL, "--target", target, "--project-dir", str(project_dir),
         "--profiles-dir", str(project_dir), "--target-path", str(target_path), "--log-path", str(scratch / "logs")],
        capture_output=True, text=True, env={**os.environ, **environment, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        check=False, cwd=project_dir,
    )
    if done.returncode != 0:
        raise RuntimeError(f"dbt run failed on {target}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    (result,) = json.loads((target_path / "run_results.json").read_text())["results"]
    (execute,) = [phase for phase in result["timing"] if phase["name"] == "execute"]
    began, ended = (datetime.fromisoformat(execute[key]) for key in ("started_at", "completed_at"))
    return (ended - began).total_seconds()


def duckdb_load(path: Path, identifier_a: pa.Array, identifier_b: pa.Array) -> None:
    """intermediate.int_identifiers_linked in a fresh DuckDB file."""
    import duckdb

    edges = pa.table({"identifier_a": identifier_a, "identifier_b": identifier_b})
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema intermediate")
        connection.register("edges_arrow", edges)
        connection.execute("create table intermediate.int_identifiers_linked as select * from edges_arrow")


def _answer(rows: list[tuple]) -> tuple[int, bool, dict[str, str]]:
    """Rounds, convergence and identifier -> person_key of the model's rows."""
    rounds = {row[2] for row in rows}
    converged = {row[3] for row in rows}
    assert len(rounds) == 1 and len(converged) == 1, (rounds, converged)
    return rounds.pop(), converged.pop(), {row[0]: row[1] for row in rows}


def duckdb_run(path: Path, scratch: Path, repeat: int, project_dir: Path) -> tuple[float, int, bool, dict[str, str]]:
    """Best seconds of the model's dbt run, rounds, convergence, identifier -> person_key."""
    import duckdb

    best = min(dbt_run({"LEADLOOP_DUCKDB_PATH": str(path)}, "duckdb", scratch, project_dir) for _ in range(repeat))
    with duckdb.connect(str(path), read_only=True) as connection:
        rows = connection.execute(f"select identifier, person_key, rounds_needed, is_converged "
                                  f"from intermediate.{MODEL}").fetchall()
    return (best, *_answer(rows))


def postgres_run(identifier_a: list[str], identifier_b: list[str], scratch: Path,
                 repeat: int, project_dir: Path) -> tuple[float, int, bool, dict[str, str]]:
    """The same on a throw-away PostgreSQL server: best seconds, rounds, convergence, result."""
    import io

    import psycopg2

    sys.path.insert(0, str(ROOT))
    from tests.support.postgres import start_postgres

    server = start_postgres()
    try:
        connect = {"host": "127.0.0.1", "port": server.port, "user": server.user, "password": server.password,
                   "dbname": server.database}
        with psycopg2.connect(**connect) as connection, connection.cursor() as cursor:
            cursor.execute("create schema intermediate; create table intermediate.int_identifiers_linked "
                           "(identifier_a text, identifier_b text)")
            rows = io.StringIO("".join(f"{a}\t{b}\n" for a, b in zip(identifier_a, identifier_b)))
            cursor.copy_expert("copy intermediate.int_identifiers_linked from stdin", rows)
            cursor.execute("analyze intermediate.int_identifiers_linked")
        best = min(dbt_run(server.environment(), "postgres", scratch, project_dir) for _ in range(repeat))
        with psycopg2.connect(**connect) as connection, connection.cursor() as cursor:
            cursor.execute(f"select identifier, person_key, rounds_needed, is_converged from intermediate.{MODEL}")
            result = cursor.fetchall()
    finally:
        server.stop()
    return (best, *_answer(result))


def differences(sql: dict[str, str], scipy: dict[str, str]) -> list[str]:
    """Identifiers whose component id differs (or that one side lacks), a few of them."""
    if sql == scipy:
        return []
    found = [key for key in scipy if sql.get(key) != scipy[key]] + [key for key in sql if key not in scipy]
    return [f"{key}: sql={sql.get(key)!r} scipy={scipy.get(key)!r}" for key in found[:5]]


# -- report ----------------------------------------------------------------------------------------


def measure(graph_a: list[str], graph_b: list[str], repeat: int, scratch: Path, label: str,
            project_dir: Path) -> dict:
    """DuckDB and scipy on the same edges; prints and returns the figures."""
    database = scratch / f"identity_{label}.duckdb"
    arrow_a, arrow_b = pa.array(graph_a, pa.string()), pa.array(graph_b, pa.string())
    duckdb_load(database, arrow_a, arrow_b)
    sql_seconds, rounds, converged, sql_result = duckdb_run(database, scratch, repeat, project_dir)
    runs = [scipy_components(arrow_a, arrow_b) for _ in range(repeat)]
    scipy = min(runs, key=lambda run: run.end_to_end)
    core = min(run.core for run in runs)
    diff = differences(sql_result, scipy.result)
    figures = {
        "edges": len(graph_a), "identifiers": len(scipy.result), "components": scipy.components,
        "rounds": rounds, "converged": converged, "sql_seconds": sql_seconds,
        "scipy_core_seconds": core, "scipy_factorise_seconds": scipy.factorise,
        "scipy_finish_seconds": scipy.finish, "scipy_end_to_end_seconds": scipy.end_to_end,
        "ratio_end_to_end": sql_seconds / scipy.end_to_end, "ratio_core": sql_seconds / core,
        "partitions_agree": not diff,
    }
    print(f"\n== {label}: {figures['edges']:,} edges, {figures['identifiers']:,} identifiers, "
          f"{figures['components']:,} components")
    print(f"  DuckDB, dbt run of the model  {sql_seconds:8.3f} s   rounds {rounds}, converged {converged}")
    print(f"  scipy core (csr + cc)         {core:8.3f} s")
    print(f"  scipy factorise (strings)     {scipy.factorise:8.3f} s")
    print(f"  scipy component ids           {scipy.finish:8.3f} s")
    print(f"  scipy end to end              {scipy.end_to_end:8.3f} s")
    print(f"  ratio SQL / scipy end to end  {figures['ratio_end_to_end']:8.1f} x   (target <= {TARGET_RATIO:g} x)")
    print(f"  ratio SQL / scipy core        {figures['ratio_core']:8.1f} x")
    print(f"  partitions agree              {'yes' if not diff else 'NO: ' + '; '.join(diff)}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--repeat", type=int, default=3, help="runs per engine, the fastest is kept")
    parser.add_argument("--postgres-edges", type=int, default=100_000,
                        help="edges for the PostgreSQL run (the first N of the graph); 0 skips it")
    parser.add_argument("--dbt-project-dir", type=Path, default=DBT_PROJECT,
                        help="the dbt project to run (default: this checkout's)")
    arguments = parser.parse_args()

    started = time.perf_counter()
    graph = generate_graph(arguments.edges, arguments.seed)
    print(f"graph: {len(graph.identifier_a):,} edges (seed {arguments.seed}), {graph.people:,} people of 2-6 "
          f"identifiers, {graph.large_components} larger components, chains of {min(graph.chains)}-"
          f"{max(graph.chains)} ({time.perf_counter() - started:.1f} s to generate)")
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="identity-bench-") as scratch_dir:
        scratch = Path(scratch_dir)
        project_dir = arguments.dbt_project_dir.resolve()
        figures = {"full": measure(graph.identifier_a, graph.identifier_b, arguments.repeat, scratch, "full",
                                   project_dir)}
        if arguments.postgres_edges:
            subset_a = graph.identifier_a[:arguments.postgres_edges]
            subset_b = graph.identifier_b[:arguments.postgres_edges]
            subset = measure(subset_a, subset_b, arguments.repeat, scratch, "subset", project_dir)
            pg_seconds, pg_rounds, pg_converged, pg_result = postgres_run(subset_a, subset_b, scratch,
                                                                          arguments.repeat, project_dir)
            scipy_subset = scipy_components(pa.array(subset_a, pa.string()), pa.array(subset_b, pa.string())).result
            diff = differences(pg_result, scipy_subset)
            print(f"  PostgreSQL, dbt run           {pg_seconds:8.3f} s   rounds {pg_rounds}, converged {pg_converged}")
            print(f"  ratio PostgreSQL / DuckDB     {pg_seconds / subset['sql_seconds']:8.1f} x")
            print(f"  PostgreSQL agrees with scipy  {'yes' if not diff else 'NO: ' + '; '.join(diff)}")
            figures["subset"] = {**subset, "postgres_seconds": pg_seconds, "postgres_rounds": pg_rounds,
                                 "postgres_agrees": not diff}
    full = figures["full"]
    verdict = "meets" if full["ratio_end_to_end"] <= TARGET_RATIO and full["partitions_agree"] else "MISSES"
    print(f"\nTarget (SQL <= {TARGET_RATIO:g}x scipy end to end, strings in, component ids out): {verdict} "
          f"({full['ratio_end_to_end']:.1f}x). Wall time {time.perf_counter() - started:.0f} s, "
          f"load average at start {load:.2f} on {os.cpu_count()} cores.")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
