"""How attribution grows with the company: one demo night per scale, then its attribution steps timed.

    .venv/bin/python benchmarks/attribution_scale.py                # scales 1 and 10 (~15 min on 2 cores)
    .venv/bin/python benchmarks/attribution_scale.py --scales 10 --repeat 1

Per scale, a child process runs one whole demo night (`LEADLOOP_DEMO_SCALE`) into a scratch warehouse
with an ephemeral Dagster instance, then, on that warehouse, times the attribution steps again on
their own (`--repeat` times, the fastest kept):

- dbt: `dbt run` of int_attribution_touches_windowed, mart_attribution and mart_attribution_by_channel
  (each model's execution time from dbt's run_results.json);
- the data-driven models: read every deal's path, Markov and Shapley exactly, write the mart
  (`leadloop.orchestration.attribution.build_data_driven_attribution`), with the peak of the Python
  heap it allocated (tracemalloc).

Prints per scale the deals and touches attributed, the night's wall time and its slowest steps, each
attribution step's seconds, and the growth from the first scale to the last. Issue 13's target: at
10x, attribution takes at most 60 s, a tenth of issue 16's 10-minute budget for the whole 10x night.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ATTRIBUTION_MODELS = ("int_attribution_touches_windowed", "mart_attribution", "mart_attribution_by_channel")
TARGET_SECONDS_AT_10X = 60.0


def measure_scale(scale: float, scratch: Path, repeat: int) -> dict:
    """In this process: one demo night at `scale`, then the attribution steps timed on its warehouse."""
    os.environ["LEADLOOP_DEMO_SCALE"] = str(scale)
    os.environ["LEADLOOP_WAREHOUSE_DIR"] = str(scratch / "warehouse")
    os.environ.pop("LEADLOOP_DUCKDB_PATH", None)
    from leadloop import settings
    from leadloop.orchestration.dbt_project import prepare_manifest

    settings.apply_environment()
    prepare_manifest()
    import dagster as dg

    from leadloop.cli import demo_night
    from leadloop.demo.serve import running_demo_sources

    with dg.DagsterInstance.ephemeral() as instance, running_demo_sources() as demo:
        started = time.monotonic()
        result = demo_night(demo, instance)
        night_seconds = time.monotonic() - started
        if not result.success:
            raise SystemExit(f"the demo night at scale {scale} failed (run {result.run_id})")
        steps = sorted(((s.step_key, (s.end_time or 0) - (s.start_time or 0))
                        for s in instance.get_run_step_stats(result.run_id)), key=lambda s: -s[1])

    dbt_runs = [_dbt_attribution_seconds(scratch / f"dbt-{n}") for n in range(repeat)]
    dbt_seconds = min(dbt_runs, key=lambda run: sum(run.values()))
    python_seconds, python_peak_mib, rows = min(_data_driven_seconds() for _ in range(repeat))
    deals, touches = _attributed_volume()
    return {"scale": scale, "night_seconds": night_seconds, "slowest_steps": steps[:6], "dbt_seconds": dbt_seconds,
            "data_driven_seconds": python_seconds, "data_driven_peak_mib": python_peak_mib,
            "data_driven_rows": rows, "deals": deals, "touches": touches}


def _dbt_attribution_seconds(work_dir: Path) -> dict[str, float]:
    """`dbt run` of the attribution models alone: each model's execution time."""
    from leadloop import settings

    dbt = Path(sys.executable).with_name("dbt")
    completed = subprocess.run(
        [str(dbt), "run", "--select", *ATTRIBUTION_MODELS, "--project-dir", str(settings.DBT_PROJECT_DIR),
         "--profiles-dir", str(settings.DBT_PROJECT_DIR), "--target-path", str(work_dir / "target"),
         "--log-path", str(work_dir / "logs")],
        capture_output=True, text=True, cwd=settings.DBT_PROJECT_DIR, check=False,
        env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"})
    if completed.returncode != 0:
        raise SystemExit(f"dbt run of the attribution models failed:\n{completed.stdout[-4000:]}")
    results = json.loads((work_dir / "target" / "run_results.json").read_text())["results"]
    return {r["unique_id"].rsplit(".", 1)[-1]: r["execution_time"] for r in results}


def _data_driven_seconds() -> tuple[float, float, int]:
    """The data-driven asset's work, timed, with its Python heap peak in MiB and the rows it wrote."""
    import tracemalloc

    from leadloop.orchestration.attribution import build_data_driven_attribution

    tracemalloc.start()
    started = time.monotonic()
    rows = build_data_driven_attribution()
    seconds = time.monotonic() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return seconds, peak, len(rows)


def _attributed_volume() -> tuple[int, int]:
    """Deals and deal × touch rows in the window model: what attribution works through."""
    from leadloop.warehouse import query

    _, rows = query("select count(distinct opportunity_id), count(touchpoint_id)"
                    " from intermediate.int_attribution_touches_windowed")
    return int(rows[0][0]), int(rows[0][1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0], help="demo scales (default 1 10)")
    parser.add_argument("--repeat", type=int, default=2, help="timings of the attribution steps per scale (fastest kept)")
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--scratch", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        # A file, not stdout: the night's own logs go to the child's output.
        (args.scratch / "figures.json").write_text(json.dumps(measure_scale(args.child, args.scratch, args.repeat)))
        return 0

    figures = []
    for scale in args.scales:
        scratch = Path(tempfile.mkdtemp(prefix=f"leadloop-bench-attribution-x{scale:g}-"))
        child = subprocess.run([sys.executable, __file__, "--child", str(scale), "--scratch", str(scratch),
                                "--repeat", str(args.repeat)],
                               check=False, capture_output=True, text=True, cwd=PROJECT_ROOT)
        if child.returncode != 0:
            print(child.stdout[-3000:], child.stderr[-6000:], sep="\n", file=sys.stderr)
            return 1
        figure = json.loads((scratch / "figures.json").read_text())
        figures.append(figure)
        _print_scale(figure)
    if len(figures) > 1:
        first, last = figures[0], figures[-1]
        print(f"\ngrowth x{first['scale']:g} -> x{last['scale']:g}: deals x{last['deals'] / first['deals']:.1f},"
              f" touches x{last['touches'] / first['touches']:.1f},"
              f" attribution time x{_attribution_seconds(last) / _attribution_seconds(first):.1f}")
    at_10x = [f for f in figures if f["scale"] == 10]
    if at_10x:
        seconds = _attribution_seconds(at_10x[0])
        print(f"target at x10: attribution {seconds:.1f} s <= {TARGET_SECONDS_AT_10X:.0f} s"
              f" (ratio {seconds / TARGET_SECONDS_AT_10X:.2f});"
              f" the whole x10 night took {at_10x[0]['night_seconds']:.0f} s")
    return 0


def _attribution_seconds(figure: dict) -> float:
    return sum(figure["dbt_seconds"].values()) + figure["data_driven_seconds"]


def _print_scale(figure: dict) -> None:
    print(f"\nscale x{figure['scale']:g}: {figure['deals']} deals, {figure['touches']} deal x touch rows;"
          f" night {figure['night_seconds']:.0f} s; slowest steps: "
          + ", ".join(f"{key} {seconds:.0f} s" for key, seconds in figure["slowest_steps"]))
    for model, seconds in figure["dbt_seconds"].items():
        print(f"  dbt {model:<36} {seconds:7.2f} s")
    print(f"  data-driven (Markov + Shapley)       {figure['data_driven_seconds']:7.2f} s,"
          f" Python heap peak {figure['data_driven_peak_mib']:.1f} MiB, {figure['data_driven_rows']} rows")
    print(f"  attribution in all                   {_attribution_seconds(figure):7.2f} s")


if __name__ == "__main__":
    sys.exit(main())
