"""Time the night's two slowest Python steps on a copy of a built warehouse, and keep what they wrote.

    .venv/bin/python benchmarks/night_python_steps.py --warehouse /tmp/b10/wh/leadloop.duckdb --out /tmp/x/after
    .venv/bin/python benchmarks/night_python_steps.py ... --steps identity --profile   # cProfile into --out
    .venv/bin/python benchmarks/night_python_steps.py --compare /tmp/x/before /tmp/x/after

Each step runs in its own child process on a fresh copy of the warehouse file (and its privacy_salt), so its
peak memory is its own. What a step wrote is saved as parquet (its tables, with their column types), so two
runs — before and after a change — can be compared row for row with --compare.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

STEPS = {
    "identity": ("leadloop.identity.load", "load_observations", [("identity", "identifier_observations")]),
    "scores": ("leadloop.orchestration.lead_score_model", "build_lead_model_scores",
               [("marts", "mart_lead_model_scores"), ("marts", "mart_lead_score_quality"),
                ("marts", "mart_lead_score_calibration")]),
}
# Columns dlt fills per load (a load id, a random row id): compared by type and nulls, not value.
PER_LOAD_COLUMNS = ("_dlt_load_id", "_dlt_id")


def peak_rss_mb() -> float:
    """Peak resident memory of this process, MiB (VmHWM)."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:"))


def _cpu_seconds() -> float:
    """User and system CPU time of this process so far (all its threads): on a machine shared with other work,
    steadier than wall time."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_step(step: str, folder: Path, profile: bool) -> None:
    """In the child: run one step on the warehouse in `folder`, then save its tables and timings."""
    import importlib

    from leadloop import settings

    settings.apply_environment()
    module_name, function_name, tables = STEPS[step]
    module = importlib.import_module(module_name)
    import sklearn.ensemble  # noqa: F401  (imports outside the timing, as a warm Dagster process has them)

    function = getattr(module, function_name)
    baseline = peak_rss_mb()
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    if profile:
        import cProfile

        cProfile.runctx("function()", globals(), {"function": function}, str(folder / f"{step}.prof"))
    else:
        function()
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
    peak = peak_rss_mb()
    import duckdb

    with duckdb.connect(str(settings.duckdb_path()), read_only=True) as connection:
        for schema, table in tables:
            types = connection.execute(
                "select column_name, data_type from information_schema.columns where table_schema = ? and"
                " table_name = ? order by ordinal_position", [schema, table]).fetchall()
            (folder / f"{table}.types.json").write_text(json.dumps(types))
            connection.execute(f"copy (select * from {schema}.{table}) to '{folder / table}.parquet'")
    (folder / f"{step}.json").write_text(json.dumps(
        {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), "peak_rss_mb": round(peak),
         "rss_after_imports_mb": round(baseline)}))
    print(f"{step}: {seconds:.1f} s, {cpu:.1f} s of CPU, peak {peak:.0f} MiB (after imports {baseline:.0f} MiB)")


def compare(before: Path, after: Path) -> bool:
    """True when every table saved in both folders holds the same rows in the same order, with the same types."""
    import duckdb

    same = True
    connection = duckdb.connect()
    for parquet in sorted(before.glob("*.parquet")):
        other = after / parquet.name
        if not other.exists():
            continue
        types = (json.loads(parquet.with_suffix(".types.json").read_text()),
                 json.loads(other.with_suffix(".types.json").read_text()))
        columns = [name for name, _ in types[0] if name not in PER_LOAD_COLUMNS]
        listed = ", ".join(f'"{c}"' for c in columns)
        ordered = f"select row_number() over () as n, {listed} from read_parquet('{{}}')"
        counts = [connection.execute(f"select count(*) from read_parquet('{p}')").fetchone()[0] for p in (parquet, other)]
        differ_in_order = connection.execute(
            f"select count(*) from (({ordered.format(parquet)}) except all ({ordered.format(other)}))").fetchone()[0]
        differ_as_set = connection.execute(
            f"select count(*) from ((select {listed} from read_parquet('{parquet}')) except all"
            f" (select {listed} from read_parquet('{other}')))").fetchone()[0]
        per_load = [connection.execute(f"select count(*) from read_parquet('{other}') where \"{c}\" is null")
                    .fetchone()[0] for c in PER_LOAD_COLUMNS if c in dict(types[0])]
        ok = types[0] == types[1] and counts[0] == counts[1] and differ_as_set == 0 and not any(per_load)
        same &= ok
        print(f"{parquet.stem}: {'same' if ok else 'DIFFERENT'} — rows {counts[0]} / {counts[1]}, types"
              f" {'same' if types[0] == types[1] else f'{types[0]} / {types[1]}'}, rows missing from after"
              f" {differ_as_set}, rows in another place {differ_in_order}"
              + (f", null per-load ids {per_load}" if any(per_load) else ""))
    return same


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", type=Path, help="a built warehouse file (copied, never written)")
    parser.add_argument("--out", type=Path, help="folder for the copies, the saved tables and the timings")
    parser.add_argument("--steps", nargs="+", default=list(STEPS), choices=list(STEPS))
    parser.add_argument("--profile", action="store_true", help="cProfile each step into <out>/<step>/<step>.prof")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.compare:
        return 0 if all(compare(args.compare[0] / step, args.compare[1] / step) for step in STEPS
                        if (args.compare[0] / step).exists() and (args.compare[1] / step).exists()) else 1
    if args.child:
        run_step(args.child, args.out, args.profile)
        return 0
    for step in args.steps:
        folder = (args.out / step).resolve()
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        shutil.copy(args.warehouse, folder / "leadloop.duckdb")
        salt = args.warehouse.with_name("privacy_salt")
        if salt.exists():
            shutil.copy(salt, folder / "privacy_salt")
        environment = {**os.environ, "LEADLOOP_WAREHOUSE_DIR": str(folder),
                       "LEADLOOP_DUCKDB_PATH": str(folder / "leadloop.duckdb"), "LEADLOOP_WAREHOUSE": "duckdb"}
        command = [sys.executable, __file__, "--child", step, "--out", str(folder)] + (["--profile"] if args.profile else [])
        subprocess.run(command, env=environment, check=True)
        (folder / "leadloop.duckdb").unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
