"""How long the demo company takes to generate and render at a scale, and how much memory it needs.

    .venv/bin/python benchmarks/demo_scale.py                       # scales 1 10 100
    .venv/bin/python benchmarks/demo_scale.py --scales 10 --profile /tmp/prof

Each scale runs in a child process of its own (so its peak memory is its own): the CRM world
(`simulate`), the digital world (`simulate_digital`), the ground truth (`write_truth` into a temporary
folder), then every simulator's records as `leadloop demo` renders them at the demo's today (销售易,
Salesforce, Baidu, Ocean Engine, Sensors, WeCom), each as its simulator holds it, all kept alive together
as a running demo keeps them, and each read through once (every row rendered). Printed per scale: the
seconds of each step, the world's size (accounts, leads, web events, WeCom contacts, ad units, keywords)
and the child's peak resident memory (`VmHWM` from /proc/self/status, imports included).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

STEPS = ("world", "digital", "truth", "neocrm", "salesforce", "baidu_sem", "oceanengine", "sensors", "wecom")


def peak_mib() -> float:
    """This process's peak resident memory (VmHWM) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _count(rendered: Any) -> int:
    """Records in a renderer's answer (a list, a dict of lists or reports, WeCom's records, or a store
    that renders its rows when read: read through, every row rendered and dropped)."""
    if isinstance(rendered, dict):
        return sum(_count(value) for value in rendered.values())
    if hasattr(rendered, "contacts"):
        return len(rendered.contacts)
    if isinstance(rendered, list):
        return len(rendered)
    return sum(1 for _ in rendered)


def measure(scale: float) -> dict[str, Any]:
    """Generate and render the demo company at `scale` in this process; seconds per step, sizes, peak."""
    from leadloop.demo import (
        baidu_sem_records,
        neocrm_records,
        oceanengine_records,
        salesforce_records,
        sensors_records,
        wecom_records,
    )
    from leadloop.demo.digital import simulate_digital
    from leadloop.demo.truth import write_truth
    from leadloop.demo.world import simulate

    usage = resource.getrusage(resource.RUSAGE_SELF)
    result: dict[str, Any] = {"scale": scale, "seconds": {}, "records": {}, "after_imports_mib": peak_mib(),
                              "cpu_at_start": usage.ru_utime + usage.ru_stime}
    started = time.perf_counter()

    def step(name: str, action: Any) -> Any:
        began = time.perf_counter()
        value = action()
        result["seconds"][name] = time.perf_counter() - began
        return value

    world = step("world", lambda: simulate(scale=scale))
    digital = step("digital", lambda: simulate_digital(world))
    with tempfile.TemporaryDirectory() as folder:
        step("truth", lambda: write_truth(world, Path(folder)))
    now = world.as_of_ms
    # What each simulator of `leadloop demo` holds: rendered records, or (where this version of the demo
    # has them) reports and event stores that make their rows when asked. All are kept alive together,
    # as a running demo keeps them; each is then read through once (its every row rendered).
    held_by = {
        "neocrm": lambda: neocrm_records.render(world, now),
        "salesforce": lambda: salesforce_records.render(world, digital, now),
        "baidu_sem": lambda: (baidu_sem_records.KeywordReport(world, digital, now)
                              if hasattr(baidu_sem_records, "KeywordReport")
                              else baidu_sem_records.render(world, digital, now)),
        "oceanengine": lambda: (oceanengine_records.reports_at(world, digital, now)
                                if hasattr(oceanengine_records, "reports_at")
                                else oceanengine_records.render(world, digital, now)),
        "sensors": lambda: (sensors_records.SensorsEvents(digital).at(now)
                            if hasattr(sensors_records, "SensorsEvents")
                            else sensors_records.render(world, digital, now)),
        "wecom": lambda: wecom_records.render(world, digital, now),
    }
    held = {}
    for name, hold in held_by.items():
        held[name] = step(name, lambda hold=hold, name=name: (value := hold(), _count(value))[0])
        result["records"][name] = _count(held[name])
    result["total_s"] = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu_s"] = usage.ru_utime + usage.ru_stime - result.pop("cpu_at_start")
    units = digital.ad_units
    result["size"] = {
        "accounts": len(world.accounts), "leads": len(world.journeys), "web_events": len(digital.web_events),
        "wecom_contacts": len(digital.wecom_contacts), "ad_units": len(units),
        "keywords": len({u.keyword_id for u in units if u.keyword_id is not None}),
    }
    result["peak_mib"] = peak_mib()
    return result


def child(scale: float, profile: str | None) -> None:
    """Child process: measure one scale, print the result as one JSON line."""
    if profile:
        profiler = cProfile.Profile()
        result = profiler.runcall(measure, scale)
        Path(profile).mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(str(Path(profile, f"demo-x{scale:g}.prof")))
    else:
        result = measure(scale)
    print(json.dumps(result), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1, 10, 100])
    parser.add_argument("--profile", help="cProfile each scale into DIR/demo-x<scale>.prof")
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        child(args.child, args.profile)
        return 0
    print(f"{'scale':>5} {'accounts':>8} {'leads':>7} {'web ev':>9} {'wecom':>6} {'units':>6} {'kw':>6} "
          + " ".join(f"{s[:7]:>7}" for s in STEPS) + f" {'total s':>8} {'CPU s':>7} {'peak MiB':>9}", flush=True)
    for scale in args.scales:
        command = [sys.executable, __file__, "--child", str(scale)]
        if args.profile:
            command += ["--profile", args.profile]
        done = subprocess.run(command, stdout=subprocess.PIPE, check=False, text=True)
        if done.returncode != 0:
            print(f"{scale:>5g} failed (exit {done.returncode})", flush=True)
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        size = r["size"]
        print(f"{scale:>5g} {size['accounts']:>8} {size['leads']:>7} {size['web_events']:>9} "
              f"{size['wecom_contacts']:>6} {size['ad_units']:>6} {size['keywords']:>6} "
              + " ".join(f"{r['seconds'][s]:>7.1f}" for s in STEPS)
              + f" {r['total_s']:>8.1f} {r['cpu_s']:>7.1f} {r['peak_mib']:>9.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
