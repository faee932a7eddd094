"""The whole night at several demo scales: a full refresh, then one new day, timed step by step.

    .venv/bin/python benchmarks/night_scale.py                  # scales 1 and 10 (~25 min on 2 cores)
    .venv/bin/python benchmarks/night_scale.py 1 10 100 --json /tmp/night.json
    .venv/bin/python benchmarks/night_scale.py 100 --keep       # keep the scratch folder (warehouse, logs)

Per scale, in a fresh scratch folder (warehouse, dlt state, DAGSTER_HOME):

1. A server child process builds the demo company at the scale and starts every simulator exactly as
   `leadloop serve-demo` does (`running_demo_sources`), its clock one day before the demo's today
   (LEADLOOP_DEMO_CLOCK=-1d). The simulators' memory is theirs: it is not counted in the night's.
2. The full night: a night child process runs `nightly_refresh` over every ad-report day up to the day
   before the clock (what `leadloop demo` runs; `leadloop night` takes one day), into the empty warehouse.
3. The server moves its clock on one day (`DemoSources.advance_clock`, the same as restarting it at the
   demo's today), and `leadloop night --day <the new day>` runs on that warehouse: one new day. Where the
   installed `leadloop night` has no incremental path this is a full rebuild again; where it has, this
   measures it (`--full-refresh` is never passed to it; the first night's warehouse is empty anyway).

Per night: wall and CPU seconds of the night's process tree (imports included: what a scheduler waits
for), its peak resident memory (the RSS of the night process and every descendant, e.g. dbt, summed and
sampled every 0.2 s; and the largest single process's own peak, exact, from the kernel), the load
average while it ran, Dagster's time per step grouped (extract+load per source, GX checks, identity,
dbt build, scorers and attribution, publish and docs), dbt's own slowest nodes (run_results.json), dlt's
extract / normalize / load split per source (its pipeline trace) and rows per second per source.
After every scale: the exponent of a power-law fit (figure ∝ scale^b) per figure, and one verdict line
per target of issue 16 with its ratio.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import LineChild

PROJECT_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
GIB = 1024**3
# Issue 16's targets.
TARGET_FULL_NIGHT_10X_S = 600.0
TARGET_INCREMENTAL_SHARE = 0.05
TARGET_PEAK_BYTES = 2 * GIB
TARGET_PEAK_GROWTH = 1.5
RSS_LIMIT_BYTES = 16 * GIB  # a night whose tree passes this is stopped (the machine is shared)
GROUPS = ("extract+load", "gx checks", "identity", "dbt build", "scorers", "attribution", "publish+docs", "other")


# -- the process tree ------------------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    """Every process's children, from /proc/<pid>/stat (ppid is the 4th field, after the command)."""
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def tree_rss_bytes(root: int) -> int:
    """Resident memory of `root` and all its descendants, summed (VmRSS; shared pages count per process)."""
    tree, total, todo = _children(), 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(tree.get(pid, []))
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            pass
    return total


def run_sampled(command: list[str], env: dict[str, str], log: Path, interval: float = 0.2) -> dict[str, Any]:
    """Run `command`, sampling its tree's RSS and the load average until it exits; wall, CPU, memory, exit code.

    CPU and the largest single peak come from the kernel's accounting of the child and the descendants it
    waited for (wait4), so they cover dbt and any other process the night starts."""
    started = time.perf_counter()
    with open(log, "w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
    peak, loads, stopped, done, samples = 0, [], [], threading.Event(), []

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            rss = tree_rss_bytes(process.pid)
            samples.append((time.time(), rss))
            peak = max(peak, rss)
            loads.append(os.getloadavg()[0])
            if rss > RSS_LIMIT_BYTES:
                stopped.append(rss)
                process.kill()
            time.sleep(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)  # the sampler never reaps it: this keeps its rusage
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    done.set()
    sampler.join()
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_tree_bytes": peak, "peak_single_bytes": usage.ru_maxrss * 1024,
            "load_avg": sum(loads) / len(loads) if loads else os.getloadavg()[0],
            "load_max": max(loads, default=0.0), "exit_code": process.returncode, "samples": samples,
            "stopped_at_bytes": stopped[0] if stopped else None}


# -- the children ------------------------------------------------------------------------------------


def serve(scale: float, clock: str, folder: Path) -> None:
    """Server child: the demo company's simulators at `clock`; one JSON line of settings when ready, then
    commands on stdin: `advance` (to the demo's today; answers the new settings), `rss` (its own memory)."""
    protocol = os.fdopen(os.dup(1), "w")
    log = os.open(folder / "simulators.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.environ.update({"LEADLOOP_DEMO_SCALE": str(scale), "LEADLOOP_DEMO_CLOCK": clock,
                       "LEADLOOP_WAREHOUSE_DIR": str(folder / "simulators")})
    from leadloop import settings
    from leadloop.demo.digital import business_day
    from leadloop.demo.serve import running_demo_sources

    settings.apply_environment()

    def answer(demo: Any) -> str:
        return json.dumps({"environment": demo.source_environment(), "clock_ms": demo.clock_ms,
                           "day": business_day(demo.clock_ms).isoformat(), "today_ms": demo.world.as_of_ms})

    started = time.perf_counter()
    with running_demo_sources() as demo:
        print(json.dumps({"ready_s": time.perf_counter() - started, **json.loads(answer(demo))}), file=protocol,
              flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == "advance":
                began = time.perf_counter()
                demo.advance_clock(demo.world.as_of_ms)
                print(json.dumps({"advance_s": time.perf_counter() - began, **json.loads(answer(demo))}),
                      file=protocol, flush=True)
            elif command == "rss":
                status = Path("/proc/self/status").read_text().splitlines()
                print(json.dumps({k: int(line.split()[1]) * 1024 for line in status
                                  for k in ("VmRSS", "VmHWM") if line.startswith(k + ":")}), file=protocol,
                      flush=True)
            else:
                print(json.dumps({"error": f"unknown command {command!r}"}), file=protocol, flush=True)


def night(first_day: str, last_day: str) -> int:
    """Night child: what `leadloop night` does, over ad-report days [first_day, last_day] (the full night)."""
    from leadloop import settings

    settings.apply_environment()
    from leadloop.orchestration.dbt_project import prepare_manifest

    prepare_manifest()
    import dagster as dg

    from leadloop.cli import run_nightly_refresh
    from leadloop.orchestration.night import summarize_night

    with dg.DagsterInstance.get() as instance:
        result = run_nightly_refresh(first_day, last_day, instance)
        print(summarize_night(instance, result.run_id).text(), flush=True)
    return 0 if result.success else 1


def collect(started_at: float) -> dict[str, Any]:
    """Collector child: the last run's step times, rows per source, dbt's slowest nodes and dlt's split."""
    from leadloop import settings

    settings.apply_environment()
    import dagster as dg
    import dlt

    from leadloop.extract.registry import active_sources
    from leadloop.orchestration.night import summarize_night

    with dg.DagsterInstance.get() as instance:
        run = instance.get_runs(limit=1)[0]
        stats = instance.get_run_stats(run.run_id)
        step_stats = instance.get_run_step_stats(run.run_id)
        # A night killed mid-step leaves that step (and the run) without an end: it is listed as unfinished.
        finished = [s for s in step_stats if s.start_time and s.end_time]
        steps = {s.step_key: s.end_time - s.start_time for s in finished}
        windows = {s.step_key: (s.start_time, s.end_time) for s in finished}
        unfinished = sorted(s.step_key for s in step_stats if s.start_time and not s.end_time)
        summary = summarize_night(instance, run.run_id)
    figures: dict[str, Any] = {
        "run_id": run.run_id, "success": summary.success, "failed_steps": summary.failed_steps,
        "failed_checks": summary.failed_checks, "unfinished_steps": unfinished,
        "run_s": stats.end_time - stats.start_time if stats.start_time and stats.end_time else None,
        "steps": steps, "windows": windows, "rows": summary.rows_loaded, "dlt": {}, "dbt_nodes": []}
    for source in active_sources():
        try:
            pipeline = dlt.attach(f"leadloop_{source}", pipelines_dir=str(settings.dlt_pipelines_dir()))
            trace = pipeline.last_trace
        except Exception:  # noqa: BLE001, S112 (a source without a trace has no split to show)
            continue
        if trace is None or trace.started_at.timestamp() < started_at:
            continue
        figures["dlt"][source] = {step.step: (step.finished_at - step.started_at).total_seconds()
                                  for step in trace.steps if step.step in ("extract", "normalize", "load")}
    results = sorted(settings.DBT_PROJECT_DIR.glob(f"target/*-{run.run_id[:7]}-*/run_results.json"),
                     key=lambda p: p.stat().st_mtime)
    if results:
        nodes = json.loads(results[-1].read_text())["results"]
        figures["dbt_nodes"] = sorted(((n["unique_id"], n["execution_time"]) for n in nodes), key=lambda n: -n[1])
        figures["dbt_nodes_total_s"] = sum(n["execution_time"] for n in nodes)
        figures["dbt_node_count"] = len(nodes)
    return figures


# -- one scale ---------------------------------------------------------------------------------------


def group_of(step: str) -> str:
    """The step group a Dagster step key belongs to."""
    if step.startswith("raw_"):
        return "extract+load"
    if "gx_suite" in step:
        return "gx checks"
    if "identifier_observations" in step or step.startswith("identity"):
        return "identity"
    if step.startswith("leadloop_dbt"):
        return "dbt build"
    if "lead_score" in step:
        return "scorers"
    if "attribution" in step:
        return "attribution"
    if any(word in step for word in ("publish", "cockpit", "docs")):
        return "publish+docs"
    return "other"


def measure_night(label: str, command: list[str], env: dict[str, str], scratch: Path) -> dict[str, Any]:
    """Run one night (sampled) and collect what its run recorded."""
    started_at = time.time()
    print(f"  {label}: {' '.join(command[-3:])} … (log {scratch / f'{label}.log'})", file=sys.stderr, flush=True)
    measured = run_sampled(command, env, scratch / f"{label}.log")
    collected = subprocess.run([sys.executable, __file__, "--collect", str(started_at)], env=env, cwd=PROJECT_ROOT,
                               capture_output=True, text=True, check=False)
    if collected.returncode == 0:
        measured.update(json.loads(collected.stdout.strip().splitlines()[-1]))
    else:
        measured["collect_error"] = collected.stderr[-2000:]
    groups = dict.fromkeys(GROUPS, 0.0)
    for step, seconds in measured.get("steps", {}).items():
        groups[group_of(step)] += seconds
    measured["groups"] = groups
    # The tree's peak while each group's steps ran (samples inside a step's start..end), and outside every step.
    samples = measured.pop("samples")
    peaks = dict.fromkeys([*GROUPS, "outside steps"], 0)
    for moment, rss in samples:
        inside = [step for step, (begin, end) in measured.get("windows", {}).items() if begin <= moment <= end]
        for group in {group_of(step) for step in inside} or {"outside steps"}:
            peaks[group] = max(peaks[group], rss)
    measured["group_peaks"] = peaks
    measured["per_source"] = {step.removeprefix("raw_"): seconds for step, seconds in measured.get("steps", {}).items()
                              if step.startswith("raw_")}
    run_s = measured.get("run_s")
    measured["start_up_s"] = measured["wall_s"] - run_s if run_s is not None else None
    measured["between_steps_s"] = run_s - sum(measured.get("steps", {}).values()) if run_s is not None else None
    print(f"  {label}: {measured['wall_s']:.0f} s wall, {measured['cpu_s']:.0f} s CPU, peak"
          f" {measured['peak_tree_bytes'] / GIB:.2f} GiB, exit {measured['exit_code']}", file=sys.stderr, flush=True)
    return measured


def measure_scale(scale: float, keep: bool, new_day: bool = True) -> dict[str, Any]:
    """Both nights at one scale in a fresh scratch folder (the full night alone without `new_day`)."""
    scratch = Path(tempfile.mkdtemp(prefix=f"leadloop-night-x{scale:g}-"))
    home = scratch / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    print(f"scale {scale:g}: scratch {scratch}", file=sys.stderr, flush=True)
    began = time.perf_counter()
    server = LineChild([__file__, "--serve", str(scale), "--clock=-1d", "--scratch", str(scratch)])
    figures: dict[str, Any] = {"scale": scale, "scratch": str(scratch), "generate_s": time.perf_counter() - began}
    try:
        ready = json.loads(server.greeting)
        base_env = {key: value for key, value in os.environ.items()
                    if not key.startswith(("SOURCES__", "LEADLOOP_", "DAGSTER_"))}
        base_env.update({"LEADLOOP_WAREHOUSE_DIR": str(scratch / "warehouse"), "DAGSTER_HOME": str(home),
                         "LEADLOOP_WAREHOUSE": "duckdb", "PYTHONUNBUFFERED": "1"})
        env = {**base_env, **ready["environment"]}
        from datetime import date, timedelta

        first = "2025-01-01"  # AD_REPORT_DAYS' start (src/leadloop/orchestration/jobs.py)
        last = (date.fromisoformat(ready["day"]) - timedelta(days=1)).isoformat()
        figures["full"] = measure_night("full", [sys.executable, __file__, "--night", first, last], env, scratch)
        figures["full"]["days"] = [first, last]
        figures["simulators_rss_bytes"] = json.loads(server.ask("rss"))["VmHWM"]
        if figures["full"]["exit_code"] != 0:  # a new day on a half-built warehouse measures nothing
            print(f"  full night failed (exit {figures['full']['exit_code']}, unfinished steps"
                  f" {figures['full'].get('unfinished_steps')}): no new-day night", file=sys.stderr, flush=True)
            return figures
        if not new_day:
            return figures
        advanced = json.loads(server.ask("advance"))
        figures["advance_s"] = advanced["advance_s"]
        env = {**base_env, **advanced["environment"]}
        new_day = (date.fromisoformat(advanced["day"]) - timedelta(days=1)).isoformat()
        figures["incremental"] = measure_night("incremental", [str(BIN / "leadloop"), "night", "--day", new_day],
                                               env, scratch)
        figures["incremental"]["days"] = [new_day, new_day]
        figures["simulators_rss_bytes"] = max(figures["simulators_rss_bytes"], json.loads(server.ask("rss"))["VmHWM"])
        figures["warehouse_bytes"] = sum(p.stat().st_size for p in (scratch / "warehouse").glob("*.duckdb"))
    finally:
        server.close()
        if not keep:
            shutil.rmtree(scratch / "warehouse", ignore_errors=True)
            shutil.rmtree(scratch / "simulators", ignore_errors=True)
    return figures


# -- the report --------------------------------------------------------------------------------------


def exponent(points: list[tuple[float, float]]) -> float | None:
    """b of the least-squares fit of log(value) = a + b log(scale) (None with fewer than two positive points)."""
    points = [(math.log(s), math.log(v)) for s, v in points if s > 0 and v and v > 0]
    if len(points) < 2 or len({x for x, _ in points}) < 2:
        return None
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    return (sum((x - mean_x) * (y - mean_y) for x, y in points)
            / sum((x - mean_x) ** 2 for x, _ in points))


def figures_of(scale_figures: dict[str, Any]) -> dict[str, float | None]:
    """The rows of the table for one scale: name → value."""
    rows: dict[str, float | None] = {}
    for kind in ("full", "incremental"):
        n = scale_figures.get(kind)
        if not n:
            continue
        rows[f"{kind}: wall s"] = n["wall_s"]
        rows[f"{kind}: CPU s"] = n["cpu_s"]
        rows[f"{kind}: peak RSS GiB (tree, sampled)"] = n["peak_tree_bytes"] / GIB
        rows[f"{kind}: peak RSS GiB (largest process)"] = n["peak_single_bytes"] / GIB
        rows[f"{kind}: load average"] = n["load_avg"]
        rows[f"{kind}: start-up s (imports, definitions, dbt parse)"] = n["start_up_s"]
        rows[f"{kind}: between steps s (Dagster)"] = n["between_steps_s"]
        for group, seconds in n["groups"].items():
            rows[f"{kind}: {group} s"] = seconds
        for group, peak in n.get("group_peaks", {}).items():
            if peak:
                rows[f"{kind}: {group} peak RSS GiB"] = peak / GIB
        for source, seconds in sorted(n["per_source"].items()):
            rows[f"{kind}: {source} load s"] = seconds
            rows[f"{kind}: {source} rows"] = n.get("rows", {}).get(source)
            rows[f"{kind}: {source} rows/s"] = (n.get("rows", {}).get(source) or 0) / seconds if seconds else None
            for stage, stage_s in n.get("dlt", {}).get(source, {}).items():
                rows[f"{kind}: {source} dlt {stage} s"] = stage_s
        if kind == "full":
            for node, seconds in n.get("dbt_nodes", [])[:8]:
                rows[f"full: dbt {node.split('.', 2)[0]} {node.rsplit('.', 1)[-1] if node.startswith('model') else node.split('.', 2)[-1]} s"] = seconds
    return rows


def report(all_figures: list[dict[str, Any]]) -> str:
    """The markdown table (one column per scale, then the fit's exponent) and the verdict lines."""
    per_scale = [figures_of(f) for f in all_figures]
    names: list[str] = []
    for rows in per_scale:
        names += [name for name in rows if name not in names]
    scales = [f["scale"] for f in all_figures]
    lines = ["| figure | " + " | ".join(f"{s:g}×" for s in scales) + " | exponent b (∝ scale^b) |",
             "| --- | " + " | ".join("---:" for _ in scales) + " | ---: |"]

    def cell(value: float | None) -> str:
        if value is None:
            return "–"
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"

    for name in names:
        values = [rows.get(name) for rows in per_scale]
        b = exponent([(s, v) for s, v in zip(scales, values, strict=True) if v is not None])
        fit = "–" if b is None or "load average" in name else f"{b:.2f}"
        lines.append(f"| {name} | " + " | ".join(cell(v) for v in values) + f" | {fit} |")
    lines += ["", *verdicts(all_figures)]
    return "\n".join(lines)


def verdicts(all_figures: list[dict[str, Any]]) -> list[str]:
    """One line per target of issue 16, with the ratio to it (≤ 1 meets it)."""
    by_scale = {f["scale"]: f for f in all_figures}
    lines = []
    for scale, f in sorted(by_scale.items()):
        full, incremental = f.get("full"), f.get("incremental")
        if full and scale == 10:
            lines.append(f"- 10× full night {full['wall_s']:.0f} s / {TARGET_FULL_NIGHT_10X_S:.0f} s target"
                         f" = {full['wall_s'] / TARGET_FULL_NIGHT_10X_S:.2f}")
        if full and incremental and full.get("exit_code") == 0 and incremental.get("exit_code") == 0:
            share = incremental["wall_s"] / full["wall_s"]
            lines.append(f"- {scale:g}× incremental night {incremental['wall_s']:.0f} s = {share:.1%} of the full night;"
                         f" target ≤ {TARGET_INCREMENTAL_SHARE:.0%}: ratio {share / TARGET_INCREMENTAL_SHARE:.2f}")
        if full:
            peak = max(full["peak_tree_bytes"], (incremental or {}).get("peak_tree_bytes", 0))
            lines.append(f"- {scale:g}× peak RSS {peak / GIB:.2f} GiB / 2 GiB target = {peak / TARGET_PEAK_BYTES:.2f}")
        if scale == 100:
            ok = bool(full) and full.get("exit_code") == 0 and bool(incremental) and incremental.get("exit_code") == 0
            unfinished = ", ".join((full or {}).get("unfinished_steps") or [])
            lines.append(f"- 100× the nights {'completed' if ok else 'did NOT complete'}"
                         + (f" (the full night stopped in {unfinished})" if unfinished and not ok else ""))
    if 1 in by_scale and by_scale[1].get("full"):
        base = max(by_scale[1]["full"]["peak_tree_bytes"], by_scale[1].get("incremental", {}).get("peak_tree_bytes", 0))
        for scale, f in sorted(by_scale.items()):
            if scale == 1 or not f.get("full"):
                continue
            peak = max(f["full"]["peak_tree_bytes"], f.get("incremental", {}).get("peak_tree_bytes", 0))
            growth = peak / base
            lines.append(f"- {scale:g}× peak RSS {growth:.2f}× the 1× figure; target ≤ {TARGET_PEAK_GROWTH}×:"
                         f" ratio {growth / TARGET_PEAK_GROWTH:.2f}")
    return lines


def machine() -> str:
    """One line on the machine: cores, memory, CPU model, load average now."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown CPU")
    memory = next(int(line.split()[1]) * 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal:"))
    return (f"{os.cpu_count()} cores ({cpu}), {memory / GIB:.1f} GiB memory, load average now"
            f" {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scales", type=float, nargs="*", default=[1.0, 10.0], help="demo scales (default 1 10)")
    parser.add_argument("--json", type=Path, help="also write every figure as JSON here (after each scale)")
    parser.add_argument("--keep", action="store_true", help="keep each scale's warehouse and simulator folder")
    parser.add_argument("--full-only", action="store_true", help="the full night alone, no new-day night")
    parser.add_argument("--report", type=Path, nargs="+", metavar="JSON",
                        help="print the table of earlier runs' --json files (scales joined in order), run nothing")
    parser.add_argument("--serve", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--clock", default="", help=argparse.SUPPRESS)
    parser.add_argument("--scratch", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--night", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--collect", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve, args.clock, args.scratch)
        return 0
    if args.night:
        return night(*args.night)
    if args.collect is not None:
        print(json.dumps(collect(args.collect)))
        return 0
    if args.report:
        joined = {f["scale"]: f for path in args.report for f in json.loads(path.read_text())["scales"]}
        print(report([joined[scale] for scale in sorted(joined)]))
        return 0
    print(f"machine: {machine()}", flush=True)
    all_figures = []
    for scale in args.scales:
        all_figures.append(measure_scale(scale, args.keep, new_day=not args.full_only))
        if args.json:
            args.json.write_text(json.dumps({"machine": machine(), "scales": all_figures}, indent=1))
    print(report(all_figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
