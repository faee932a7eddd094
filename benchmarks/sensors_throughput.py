"""Throughput of the sensors source: extract + load rows/second over HTTP into DuckDB, vs DuckDB.

    .venv/bin/python benchmarks/sensors_throughput.py [--scales 1 10] [--repeat 3]

For each demo scale: a server child process renders the demo company's web events and serves
them with the Sensors simulator on 127.0.0.1; a pipeline child process runs the real dlt source
(HTTP, NDJSON parse, arrow, dlt normalize, DuckDB merge) into a fresh DuckDB file and reports its
wall time and peak memory: the peak RSS of the pipeline child process (VmHWM of
/proc/self/status on Linux; `resource.getrusage(RUSAGE_SELF).ru_maxrss` elsewhere — on Linux
ru_maxrss survives exec, so a child would also report its parent's size at fork; the simulator
therefore lives in a child of its own and this parent stays small). The yardstick, in the same run:
the server child writes the pages it served to files and DuckDB loads them with its own C++
reader (`create table … as select * from read_json(…)`), once as one file per page (what the
source read) and once as a single file. Each figure is the best of `--repeat` runs. Target:
source rate ≥ 15 % of the yardstick.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import _harness as harness

TOKEN = "benchmark-token"

# -- child: the pipeline -------------------------------------------------------------------------


def child_run(base_url: str, workdir: str) -> dict[str, Any]:
    """Runs the real sensors source once into a fresh DuckDB file; returns rows, time, memory."""
    os.environ.update(
        {
            "RUNTIME__DLTHUB_TELEMETRY": "false",
            "SOURCES__SENSORS__BASE_URL": base_url,
            "SOURCES__SENSORS__TOKEN": TOKEN,
        }
    )
    import pyarrow as pa

    from leadloop.extract.sensors import sensors_source

    pa.scalar("warm-up")  # pyarrow's first Python-scalar conversion imports pandas: a once-per-process cost
    pipeline = harness.scratch_pipeline("sensors_benchmark", "raw_sensors", workdir)
    measured = harness.timed_run(pipeline, sensors_source)
    return {"rows": measured["tables"].get("events", 0), **measured}


# -- parent: simulator, yardstick, report -------------------------------------------------------


def run_source_in_child(base_url: str) -> harness.SourceRun:
    """Starts a child Python running `child_run` and reads its JSON answer."""
    with tempfile.TemporaryDirectory(prefix="sensors-bench-") as workdir:
        return harness.SourceRun(**harness.run_json_child([__file__, "--child", base_url, workdir]))


def duckdb_read_json(folder: Path, *, single_file: bool) -> tuple[int, float]:
    """(rows, seconds) of DuckDB loading the page files (or their concatenation) into a fresh database file."""
    with tempfile.TemporaryDirectory(prefix="sensors-yardstick-") as scratch:
        pattern = f"{folder}/*.ndjson"
        if single_file:
            pattern = str(harness.concatenate(sorted(folder.glob("*.ndjson")), Path(scratch, "pages.ndjson")))
        select = f"select * from read_json('{pattern}', format = 'newline_delimited')"
        rows, seconds = harness.duckdb_create_tables({"events": select}, scratch)
    return rows["events"], seconds


def yardstick_in_child(folder: str, *, single_file: bool) -> tuple[int, float]:
    """`duckdb_read_json` in a child process, so that this parent stays small (see the docstring)."""
    rows, seconds = harness.run_json_child([__file__, "--yardstick", folder, "single" if single_file else "pages"])
    return int(rows), float(seconds)


class ServerChild(harness.LineChild):
    """The simulator in its own process, steered by one-line commands on its stdin."""

    def __init__(self, scale: float) -> None:
        super().__init__([__file__, "--serve", str(scale)])
        self.base_url = self.greeting


def serve(scale: float) -> None:
    """Server child: serve the demo events at `scale`; `reset` and `dump <dir>` on stdin."""
    from leadloop.demo.digital import simulate_digital
    from leadloop.demo.sensors_records import render
    from leadloop.demo.simulators.sensors import SensorsSimulator
    from leadloop.demo.world import simulate

    world = simulate(scale=scale)
    with SensorsSimulator(render(world, simulate_digital(world)), token=TOKEN) as simulator:
        print(simulator.base_url, flush=True)
        for line in sys.stdin:
            command, _, argument = line.strip().partition(" ")
            if command == "reset":
                simulator.reset_counters()
                print("ok", flush=True)
            elif command == "dump":
                for n, sql in enumerate(simulator.queries):
                    Path(argument, f"page_{n:05d}.ndjson").write_bytes(simulator.answer(sql))
                print(f"{len(simulator.queries)} {simulator.rows_served}", flush=True)


def benchmark_scale(scale: float, repeat: int) -> dict[str, Any]:
    """Measures the source and the yardstick at one demo scale."""
    server = ServerChild(scale)
    try:
        runs = []
        for _ in range(repeat):
            server.ask("reset")
            runs.append(run_source_in_child(server.base_url))
        with tempfile.TemporaryDirectory(prefix="sensors-pages-") as folder:
            pages, served = map(int, server.ask(f"dump {folder}").split())
            megabytes = sum(page.stat().st_size for page in Path(folder).glob("*.ndjson")) / 2**20
            per_page = min(
                (duckdb_read_json(Path(folder), single_file=False) for _ in range(repeat)), key=_seconds
            )
            single = min(
                (duckdb_read_json(Path(folder), single_file=True) for _ in range(repeat)), key=_seconds
            )
    finally:
        server.close()
    best = min(runs, key=lambda run: run.seconds)
    if not best.rows == served == per_page[0] == single[0]:
        raise AssertionError(
            f"row counts differ: source {best.rows}, served {served}, read_json {per_page[0]}"
        )
    return {
        "scale": scale,
        "pages": pages,
        "ndjson_mb": megabytes,
        "source": best,
        "per_page": per_page,
        "single": single,
    }


def _seconds(result: tuple[int, float]) -> float:
    """The time of a (rows, seconds) result."""
    return result[1]


def report(result: dict[str, Any]) -> None:
    """Prints one scale's figures."""
    source: harness.SourceRun = result["source"]
    per_page_rows, per_page_seconds = result["per_page"]
    single_rows, single_seconds = result["single"]
    per_page_rate, single_rate = per_page_rows / per_page_seconds, single_rows / single_seconds
    steps = ", ".join(f"{name} {seconds:.2f}s" for name, seconds in source.steps.items())
    peaks = ", ".join(f"{name} {megabytes:,.0f}" for name, megabytes in source.peaks.items())
    print(
        f"\n== demo scale {result['scale']:g}: {source.rows:,} events in {result['pages']} pages"
        f" ({result['ndjson_mb']:.1f} MiB NDJSON)"
    )
    print(f"sensors source, HTTP → DuckDB : {source.rate:>10,.0f} rows/s  ({source.seconds:.2f} s: {steps})")
    print(
        f"  peak memory (peak RSS = VmHWM of the pipeline child): {source.peak_rss_mb:,.0f} MiB"
        f" (after imports {source.baseline_rss_mb:,.0f}; peak by the end of {peaks} MiB)"
    )
    print(f"duckdb read_json, page files  : {per_page_rate:>10,.0f} rows/s  ({per_page_seconds:.2f} s)")
    print(f"duckdb read_json, one file    : {single_rate:>10,.0f} rows/s  ({single_seconds:.2f} s)")
    for name, rate in (("page files", per_page_rate), ("one file", single_rate)):
        ratio = source.rate / rate
        verdict = "meets" if ratio >= harness.TARGET_RATIO else "below"
        print(f"ratio source / read_json ({name}): {ratio:6.1%}  ({verdict} the {harness.TARGET_RATIO:.0%} target)")


def main(argv: list[str] | None = None) -> None:
    """Benchmarks every requested scale (or runs the child side when called with --child)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("BASE_URL", "WORKDIR"), help=argparse.SUPPRESS)
    parser.add_argument("--serve", type=float, metavar="SCALE", help=argparse.SUPPRESS)
    parser.add_argument("--yardstick", nargs=2, metavar=("DIR", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.yardstick:
        print(
            json.dumps(duckdb_read_json(Path(args.yardstick[0]), single_file=args.yardstick[1] == "single"))
        )
        return
    if args.serve is not None:
        serve(args.serve)
        return
    if args.child:
        print(json.dumps(child_run(*args.child)))
        return
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; best of {args.repeat}")
    for scale in args.scales:
        report(benchmark_scale(scale, args.repeat))


if __name__ == "__main__":
    main()
