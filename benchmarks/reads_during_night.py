"""How much a BI reader costs the night: demo nights with and without a reader of the published marts.

    .venv/bin/python benchmarks/reads_during_night.py              # 1 warm-up + 2 pairs of nights (~8 min)
    .venv/bin/python benchmarks/reads_during_night.py --pairs 1 --every 0.5

The reader is tests/support/bi_reader.py in its own process (open the published file read-only,
read every mart, close, every `--every` seconds), as a BI tool with a short-lived connection. Nights
alternate without / with it, after a warm-up night that creates the published file. Prints each
night's wall time, the reads and failed reads, and the ratio of the median night with a reader to
the median without (issue 14's target: at most 1.10).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=2, help="nights without and with a reader (default 2 each)")
    parser.add_argument("--every", type=float, default=0.5, help="seconds between a reader's reads")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="leadloop-bench-reads-"))
    os.environ["LEADLOOP_WAREHOUSE_DIR"] = str(scratch / "warehouse")
    os.environ.pop("LEADLOOP_DUCKDB_PATH", None)
    from leadloop import settings
    from leadloop.orchestration.dbt_project import prepare_manifest

    settings.apply_environment()
    prepare_manifest()
    import dagster as dg

    from leadloop.cli import demo_night
    from leadloop.demo.serve import running_demo_sources

    timings: dict[str, list[float]] = {"without": [], "with": []}
    reads_total = failed_total = 0
    with dg.DagsterInstance.ephemeral() as instance, running_demo_sources() as demo:
        started = time.monotonic()
        assert demo_night(demo, instance).success, "warm-up night failed"
        print(f"warm-up night: {time.monotonic() - started:.1f} s", flush=True)
        for pair in range(args.pairs):
            for kind in ("without", "with"):
                reader = None
                if kind == "with":
                    reader = subprocess.Popen(
                        [sys.executable, "-m", "tests.support.bi_reader", "--every", str(args.every)],
                        stdout=subprocess.PIPE, text=True, cwd=PROJECT_ROOT)
                started = time.monotonic()
                ok = demo_night(demo, instance).success
                seconds = time.monotonic() - started
                reads = failed = 0
                if reader is not None:
                    reader.terminate()
                    output, _ = reader.communicate(timeout=30)
                    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
                    reads, failed = len(lines), sum(not line["ok"] or not line["whole"] for line in lines)
                    reads_total, failed_total = reads_total + reads, failed_total + failed
                timings[kind].append(seconds)
                print(f"pair {pair + 1}, {kind:7} reader: {seconds:6.1f} s, night {'ok' if ok else 'FAILED'}"
                      + (f", {reads} reads, {failed} failed or mixed" if reader is not None else ""), flush=True)
    ratio = statistics.median(timings["with"]) / statistics.median(timings["without"])
    print(f"\nmedian night without a reader {statistics.median(timings['without']):.1f} s, with one"
          f" {statistics.median(timings['with']):.1f} s: ratio {ratio:.3f} (target <= 1.10);"
          f" {reads_total} reads, {failed_total} failed or mixed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
