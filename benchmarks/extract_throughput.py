"""Throughput of every dlt source: extract + load rows/second over HTTP into DuckDB, vs DuckDB itself.

    .venv/bin/python benchmarks/extract_throughput.py [--scales 1 10] [--sources neocrm …]
        [--repeat 3] [--yardstick-repeat 3] [--timeout 240] [--profile DIR]

For each demo scale, a server child process builds the demo company (`leadloop.demo.world.simulate(scale=…)`,
`leadloop.demo.digital.simulate_digital`) and starts each source's simulator exactly as the demo does
(`leadloop.demo.serve.SIMULATOR_STARTERS`), recording every answer it serves. For each source, a
pipeline child process gets that simulator's `DemoSimulator.environment` (the SOURCES__<NAME>__*
settings), runs the real dlt source (HTTP, parse, arrow, dlt normalize, DuckDB merge) into a
fresh DuckDB file and reports rows, wall time and peak memory: the peak RSS of the pipeline
child (VmHWM of /proc/self/status; see `_harness.peak_rss_mb`), so memory is per source and
the simulator's own memory is not counted.

The yardstick, in the same run: the server child writes the data pages the source was served
(one file per page: the JSON body exactly as served) and DuckDB builds the same raw tables from
them with its own C++ reader (`create table … as select … from read_json(…)`, unnesting the
platform's envelope), once over the page files and once over one concatenated file per table.
Ratio = source rows/s ÷ DuckDB rows/s on the same pages (the row counts are checked equal).
Target (issue 3): ≥ 15 % for Sensors.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _harness import (
    TARGET_RATIO,
    LineChild,
    SourceRun,
    concatenate,
    duckdb_create_tables,
    run_json_child,
    scratch_pipeline,
    timed_run,
)

DUCKDB_MAX_OBJECT = 16 * 2**20  # read_json's default maximum_object_size
SLOW_RATE = 3_000  # rows/s under which a source is worth a profile (--profile)

# -- what DuckDB makes of each source's pages ---------------------------------------------------------
# Page kinds: the server child files each data answer under a kind (below). Selects: per raw table
# the source loads, the DuckDB query building it from the kinds' pages; `{kind}` stands for a
# read_json over that kind's files. Answers without rows of their own (tokens, id listings) are
# not data pages.


def _json(body: bytes) -> Any:
    """A JSON answer, or None when it is not one."""
    try:
        return json.loads(body)
    except ValueError:
        return None


def _neocrm_kind(path: str, request: Any, body: bytes) -> str | None:
    """xoqlScroll batches, by the object the xoql selects from (the raw table's name)."""
    from leadloop.extract.neocrm import settings

    if path != settings.XOQL_SCROLL_PATH:
        return None
    match = re.search(r"\bfrom\s+(\w+)", request.form().get("xoql", ""), re.IGNORECASE)
    resources = {obj.xoql_name: obj.resource for obj in settings.OBJECTS}
    return resources.get(match.group(1)) if match else None


def _salesforce_kind(path: str, request: Any, body: bytes) -> str | None:
    """queryAll / nextRecordsUrl pages, by their records' sObject (empty pages have no rows to read)."""
    from leadloop.extract.salesforce import settings

    answer = _json(body) if "/query" in path else None
    records = answer.get("records") if isinstance(answer, dict) else None
    if not records:
        return None
    sobject = records[0].get("attributes", {}).get("type")
    obj = settings.OBJECTS_BY_SOBJECT.get(sobject)
    return obj.resource if obj else None


def _path_kinds(module: str, kinds: Mapping[str, str]) -> Callable[[str, Any, bytes], str | None]:
    """A page kind per API path (the names are attributes of the source's settings module)."""

    def kind(path: str, request: Any, body: bytes) -> str | None:
        import importlib

        settings = importlib.import_module(f"leadloop.extract.{module}.settings")
        return {getattr(settings, name): value for name, value in kinds.items()}.get(path)

    return kind


PAGE_KINDS: dict[str, Callable[[str, Any, bytes], str | None]] = {
    "neocrm": _neocrm_kind,
    "salesforce": _salesforce_kind,
    "baidu_sem": _path_kinds("baidu_sem", {"REPORT_PATH": "keyword_daily_report"}),
    "oceanengine": _path_kinds("oceanengine", {"REPORT_PATH": "promotion_daily_report"}),
    "sensors": _path_kinds("sensors", {"QUERY_PATH": "events"}),
    "wecom": _path_kinds(
        "wecom",
        {
            "BATCH_GET_BY_USER_PATH": "contacts",
            "CORP_TAG_LIST_PATH": "tag_groups",
            "GET_CONTACT_WAY_PATH": "contact_ways",
        },
    ),
}

_WECOM_ITEMS = "(select unnest(external_contact_list) as item from {contacts})"
SELECTS: dict[str, Callable[[list[str]], dict[str, str]]] = {
    # one table per object; each page is {"code", "msg", "data": {"records": [...], ...}}
    "neocrm": lambda kinds: {
        k: f"select unnest(data.records, recursive := true) from {{{k}}}" for k in kinds
    },
    # {"totalSize", "done", "records": [{"attributes": {...}, ...fields}]}; attributes stays a struct
    "salesforce": lambda kinds: {k: f"select unnest(records, max_depth := 2) from {{{k}}}" for k in kinds},
    # {"header": {...}, "body": {"data": [{"rows": [...], ...}]}}
    "baidu_sem": lambda kinds: {
        "keyword_daily_report": "select unnest(body.data[1].rows, max_depth := 2) from {keyword_daily_report}"
    },
    # {"code", "data": {"rows": [{"dimensions": {...}, "metrics": {...}}], "page_info": ...}}
    "oceanengine": lambda kinds: {
        "promotion_daily_report": "select unnest(data.rows, recursive := true) from {promotion_daily_report}"
    },
    # NDJSON, one event per line
    "sensors": lambda kinds: {"events": "select * from {events}"},
    # contacts pages hold {"external_contact", "follow_info"} items: one contact (deduplicated) and one
    # relation each; tag groups hold their tags (rows: groups × tags); get_contact_way holds one code.
    "wecom": lambda kinds: {
        "external_contacts": f"select distinct unnest(item.external_contact) from {_WECOM_ITEMS}",
        "follow_relations": "select item.external_contact.external_userid, unnest(item.follow_info)"
        f" from {_WECOM_ITEMS}",
        "corp_tags": "select unnest(g.tag, recursive := true), g.group_id, g.group_name,"
        ' g.create_time as group_create_time, g."order" as group_order'
        " from (select unnest(tag_group) as g from {tag_groups})",
        "contact_ways": "select unnest(contact_way) from {contact_ways}",
    },
}


# -- server child: the simulators -------------------------------------------------------------------


class Recorder:
    """Keeps every answer a simulator gives, in order, to hand the same pages to the yardstick."""

    def __init__(self, simulator: Any) -> None:
        self.answers: list[tuple[Any, Any]] = []
        serve = simulator.dispatch

        def dispatch(request: Any) -> Any:
            """The simulator's own dispatch, remembered (list.append is atomic across server threads)."""
            response = serve(request)
            self.answers.append((request, response))
            return response

        simulator.dispatch = dispatch  # the HTTP handler calls simulator.dispatch(request)

    def dump(self, source: str, folder: Path) -> dict[str, Any]:
        """Writes the data pages under folder/<kind>/; returns pages, bytes and largest page per kind; requests."""
        kinds: dict[str, list[int]] = {}
        for n, (request, response) in enumerate(self.answers):
            kind = (
                PAGE_KINDS[source](request.path, request, response.body) if response.status == 200 else None
            )
            if kind is None:
                continue
            if not response.body.endswith(b"\n") and b"\n" in response.body:
                raise ValueError(
                    f"{source}: a {kind} page spans several lines; the yardstick reads one per line"
                )
            (folder / kind).mkdir(parents=True, exist_ok=True)
            (folder / kind / f"page_{n:06d}.ndjson").write_bytes(response.body)
            counts = kinds.setdefault(kind, [0, 0, 0])  # pages, bytes, largest page
            counts[0] += 1
            counts[1] += len(response.body)
            counts[2] = max(counts[2], len(response.body))
        return {"requests": len(self.answers), "kinds": kinds}


def serve(scale: float, sources: list[str]) -> None:
    """Server child: the demo company at `scale` behind its simulators; `reset <source>`, `dump <source> <dir>`."""
    from leadloop.demo.digital import simulate_digital
    from leadloop.demo.serve import SIMULATOR_STARTERS
    from leadloop.demo.world import simulate

    world = simulate(scale=scale)
    digital = simulate_digital(world)
    running = {name: SIMULATOR_STARTERS[name](world, digital, world.as_of_ms) for name in sources}
    recorders = {name: Recorder(demo.simulator) for name, demo in running.items()}
    try:
        print(json.dumps({name: demo.environment for name, demo in running.items()}), flush=True)
        for line in sys.stdin:
            command, name, *argument = line.split()
            if command == "reset":
                recorders[name].answers.clear()
                print("ok", flush=True)
            elif command == "dump":
                print(json.dumps(recorders[name].dump(name, Path(argument[0]))), flush=True)
    finally:
        for demo in running.values():
            demo.simulator.stop()


# -- pipeline child: the real source --------------------------------------------------------------


def child_run(source: str, workdir: str, profile: str | None = None) -> dict[str, Any]:
    """Runs the real dlt source once into a fresh DuckDB file; rows per table, time, memory."""
    import importlib

    from leadloop import settings

    settings.apply_environment()  # what every leadloop entry point does first (telemetry off, .dlt/)
    import pyarrow as pa

    source_factory = getattr(importlib.import_module(f"leadloop.extract.{source}"), f"{source}_source")
    pa.scalar("warm-up")  # pyarrow's first Python-scalar conversion imports pandas: a once-per-process cost
    pipeline = scratch_pipeline(f"{source}_benchmark", f"raw_{source}", workdir)
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        measured = profiler.runcall(timed_run, pipeline, source_factory)
        profiler.dump_stats(profile)
    else:
        measured = timed_run(pipeline, source_factory)
    tables = {table: rows for table, rows in measured["tables"].items() if not table.startswith("_dlt")}
    with pipeline.sql_client() as client:
        loaded = {
            table: client.execute_sql(f"select count(*) from {client.make_qualified_table_name(table)}")[0][0]
            for table in tables
        }
    return {
        **measured,
        "rows": sum(rows for table, rows in tables.items() if table != "quarantine"),
        "tables": tables,
        "loaded": loaded,
    }


# -- parent: runs, yardstick, report ----------------------------------------------------------------


@dataclass
class Result:
    """One source at one scale: the best source run, the pages it read and DuckDB on them."""

    source: str
    scale: float
    run: SourceRun | None = None
    failure: str = ""
    loaded: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    pages: int = 0
    megabytes: float = 0.0
    per_page: tuple[dict[str, int], float] | None = None
    single: tuple[dict[str, int], float] | None = None
    notes: list[str] = field(default_factory=list)

    def yardstick_rate(self, which: str) -> float | None:
        """DuckDB rows/s over the page files ('pages') or one file per table ('single')."""
        measured = self.per_page if which == "pages" else self.single
        if measured is None or measured[1] <= 0:
            return None
        return sum(measured[0].values()) / measured[1]

    def ratio(self, which: str) -> float | None:
        """Source rows/s as a fraction of DuckDB's rows/s on the same pages."""
        rate = self.yardstick_rate(which)
        return self.run.rate / rate if self.run and rate else None


def run_source(
    name: str, env: Mapping[str, str], timeout: float, profile: str | None
) -> tuple[SourceRun, dict[str, int]] | str:
    """The source once in a child process: its measurements and rows found in DuckDB, or why it failed."""
    with tempfile.TemporaryDirectory(prefix=f"{name}-bench-") as workdir:
        arguments = [__file__, "--child", name, workdir, *([profile] if profile else [])]
        try:
            answer = run_json_child(arguments, env={**os.environ, **env}, timeout=timeout)
        except subprocess.TimeoutExpired:
            return f"did not finish within {timeout:g} s, imports included (too slow here; raise --timeout)"
        except subprocess.CalledProcessError as exc:
            tail = (exc.stderr or "").strip().splitlines()[-3:]
            return "failed: " + " | ".join(tail)
    loaded = answer.pop("loaded")
    return SourceRun(**answer), loaded


def yardstick(
    name: str, folder: Path, kinds: Mapping[str, int], *, single_file: bool
) -> tuple[dict[str, int], float]:
    """DuckDB building the source's raw tables from its pages: (rows per table, seconds).

    `kinds` maps each page kind to its largest page in bytes: DuckDB's JSON reader refuses a
    document above `maximum_object_size` (16 MiB by default), so that is raised only when needed.
    """
    with tempfile.TemporaryDirectory(prefix=f"{name}-yardstick-") as scratch:
        sources: dict[str, str] = {}
        for kind, largest in kinds.items():
            pattern = f"{folder}/{kind}/*.ndjson"
            if single_file:
                pages = sorted((folder / kind).glob("*.ndjson"))
                pattern = str(concatenate(pages, Path(scratch, f"{kind}.ndjson")))
            options = "format = 'newline_delimited'"
            if largest >= DUCKDB_MAX_OBJECT:
                options += f", maximum_object_size = {1 << largest.bit_length()}"
            sources[kind] = f"read_json('{pattern}', {options})"
        selects = {table: select.format(**sources) for table, select in SELECTS[name](list(kinds)).items()}
        return duckdb_create_tables(selects, scratch)


def benchmark(
    name: str, scale: float, server: LineChild, env: Mapping[str, str], args: argparse.Namespace
) -> Result:
    """Measures one source and its yardstick at one scale."""
    result = Result(name, scale)
    runs: list[tuple[SourceRun, dict[str, int]]] = []
    for attempt in range(args.repeat):
        server.ask(f"reset {name}")
        profile = (
            str(Path(args.profile, f"{name}-x{scale:g}.prof")) if args.profile and attempt == 0 else None
        )
        outcome = run_source(name, env, args.timeout, profile)
        if isinstance(outcome, str):
            result.failure = outcome
            return result
        runs.append(outcome)
    result.run, result.loaded = min(runs, key=lambda outcome: outcome[0].seconds)
    with tempfile.TemporaryDirectory(prefix=f"{name}-pages-") as folder:
        dumped = json.loads(server.ask(f"dump {name} {folder}"))
        result.requests = dumped["requests"]
        result.pages = sum(pages for pages, _, _ in dumped["kinds"].values())
        result.megabytes = sum(size for _, size, _ in dumped["kinds"].values()) / 2**20
        kinds = {kind: largest for kind, (_, _, largest) in sorted(dumped["kinds"].items())}
        try:
            result.per_page = min(
                (
                    yardstick(name, Path(folder), kinds, single_file=False)
                    for _ in range(args.yardstick_repeat)
                ),
                key=lambda measured: measured[1],
            )
            result.single = min(
                (
                    yardstick(name, Path(folder), kinds, single_file=True)
                    for _ in range(args.yardstick_repeat)
                ),
                key=lambda measured: measured[1],
            )
        except Exception as exc:  # noqa: BLE001 - one source's yardstick must not hide the others' figures
            result.notes.append(f"yardstick failed: {exc}")
    _check_rows(result)
    return result


def _check_rows(result: Result) -> None:
    """Notes any table whose row count differs between the source, DuckDB's copy and the yardstick."""
    assert result.run is not None
    normalized = result.run.tables
    for table, rows in sorted(result.loaded.items()):
        if rows != normalized.get(table):
            result.notes.append(f"{table}: {normalized.get(table, 0):,} rows normalized, {rows:,} in DuckDB")
    if normalized.get("quarantine"):
        result.notes.append(f"{normalized['quarantine']:,} rows went to quarantine")
    if result.per_page is not None:
        data = {table: rows for table, rows in normalized.items() if table != "quarantine"}
        yard = result.per_page[0]
        for table in sorted(set(data) | set(yard)):
            if data.get(table, 0) != yard.get(table, 0):
                result.notes.append(
                    f"rows differ in {table}: source {data.get(table, 0):,}, read_json {yard.get(table, 0):,}"
                )


def report_detail(result: Result) -> None:
    """Prints one source's figures as they come."""
    print(f"\n-- {result.source} at demo scale {result.scale:g}", flush=True)
    if result.run is None:
        print(f"   source {result.failure}", flush=True)
        return
    run = result.run
    steps = ", ".join(f"{step} {seconds:.2f}s" for step, seconds in run.steps.items())
    tables = ", ".join(f"{table} {rows:,}" for table, rows in sorted(run.tables.items()))
    print(f"   source: {run.rows:,} rows in {run.seconds:.2f} s = {run.rate:,.0f} rows/s ({steps})")
    print(f"   tables: {tables}")
    print(
        f"   peak RSS of the pipeline child {run.peak_rss_mb:,.0f} MiB (after imports {run.baseline_rss_mb:,.0f});"
        f" {result.requests:,} requests, {result.pages:,} data pages, {result.megabytes:.1f} MiB of JSON"
    )
    for which, label in (("pages", "page files"), ("single", "one file per table")):
        measured = result.per_page if which == "pages" else result.single
        rate = result.yardstick_rate(which)
        if measured is not None and rate is not None:
            print(
                f"   duckdb read_json, {label}: {sum(measured[0].values()):,} rows in {measured[1]:.2f} s"
                f" = {rate:,.0f} rows/s; ratio {result.ratio(which):.1%}"
            )
    for note in result.notes:
        print(f"   note: {note}")
    sys.stdout.flush()


def _cell(value: float | None, spec: str) -> str:
    """A formatted number, or '-' when missing."""
    return "-" if value is None else format(value, spec)


def report_table(results: list[Result]) -> None:
    """The summary table of every source and scale."""
    header = (
        f"{'scale':>5} {'source':<12} {'rows':>9} {'JSON MiB':>8} {'pages':>6} {'seconds':>8} {'rows/s':>8}"
        f" {'peak MiB':>8} {'duck pages r/s':>14} {'duck 1-file r/s':>15} {'ratio pages':>11} {'ratio 1-file':>12}"
    )
    print("\n" + header)
    print("-" * len(header))
    for result in results:
        run = result.run
        if run is None:
            print(f"{result.scale:>5g} {result.source:<12} {result.failure}")
            continue
        print(
            f"{result.scale:>5g} {result.source:<12} {run.rows:>9,} {result.megabytes:>8.1f} {result.pages:>6,}"
            f" {run.seconds:>8.2f} {run.rate:>8,.0f} {run.peak_rss_mb:>8,.0f}"
            f" {_cell(result.yardstick_rate('pages'), ',.0f'):>14} {_cell(result.yardstick_rate('single'), ',.0f'):>15}"
            f" {_cell(result.ratio('pages'), '.1%'):>11} {_cell(result.ratio('single'), '.1%'):>12}"
            + ("  *" if result.notes else "")
        )
    print(
        "\nrows: rows the source normalized and loaded into its raw tables (quarantine excluded); seconds:"
        " extract + normalize + load;\npeak MiB: peak RSS (VmHWM) of the pipeline child process, imports"
        " included; duck …: DuckDB read_json building the same\ntables from the same pages, one file per"
        " page / one file per table; ratio = source rows/s ÷ DuckDB rows/s; *: see notes above."
    )


def report_scaling(results: list[Result]) -> None:
    """Per source, what the extra rows of the largest scale cost: marginal rows/s and the fixed cost it implies.

    At demo scale most of a run is per-run cost (dlt setup, config, one merge per table), so the
    rows/s column understates what a source does per row; the difference between scales isolates it.
    """
    if len({r.scale for r in results if r.run}) < 2:
        return
    print(
        "\nscaling (smallest → largest scale): marginal rows/s = Δrows ÷ Δseconds; fixed ≈ seconds at the"
        " smallest scale − its rows ÷ marginal rate"
    )
    for name in dict.fromkeys(r.source for r in results):
        runs = sorted((r for r in results if r.source == name and r.run), key=lambda r: r.scale)
        if len(runs) < 2:
            continue
        low, high = runs[0], runs[-1]
        assert low.run is not None and high.run is not None
        extra_rows, extra_seconds = high.run.rows - low.run.rows, high.run.seconds - low.run.seconds
        line = (
            f"  {name:<12} rows {low.run.rows:>9,} → {high.run.rows:>9,}, seconds {low.run.seconds:5.2f} →"
            f" {high.run.seconds:5.2f}: "
        )
        if extra_rows < low.run.rows:
            line += f"volume did not grow {high.scale / low.scale:g}× with the demo scale (see README)"
        elif extra_seconds <= 0:
            line += "no measurable extra time (noise)"
        else:
            marginal = extra_rows / extra_seconds
            fixed = low.run.seconds - low.run.rows / marginal
            line += f"marginal {marginal:,.0f} rows/s, fixed ≈ {fixed:.2f} s per run"
        print(line)


def report_target(results: list[Result]) -> None:
    """The Sensors ratio against the issue's target."""
    print()
    for result in results:
        if result.source != "sensors" or result.run is None:
            continue
        for which, label in (("pages", "page files"), ("single", "one concatenated file")):
            ratio = result.ratio(which)
            if ratio is None:
                continue
            verdict = "meets" if ratio >= TARGET_RATIO else "BELOW"
            print(
                f"Sensors at scale {result.scale:g}: {ratio:.1%} of DuckDB read_json over {label}"
                f" ({verdict} the {TARGET_RATIO:.0%} target)"
            )


def main(argv: list[str] | None = None) -> None:
    """Benchmarks every requested source at every requested scale (or runs a child side)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0])
    from leadloop.extract.registry import SOURCES_BY_NAME  # the one list of sources

    parser.add_argument("--sources", nargs="+", choices=list(SOURCES_BY_NAME), default=list(SOURCES_BY_NAME))
    parser.add_argument("--repeat", type=int, default=3, help="source runs per scale; the fastest is kept")
    parser.add_argument("--yardstick-repeat", type=int, default=3, help="DuckDB runs; the fastest is kept")
    parser.add_argument(
        "--timeout",
        type=float,
        default=240.0,
        help="seconds one source child process may take, imports included",
    )
    parser.add_argument("--profile", metavar="DIR", help="cProfile the first run of each source into DIR")
    parser.add_argument("--child", nargs="+", metavar="ARG", help=argparse.SUPPRESS)
    parser.add_argument("--serve", nargs="+", metavar="ARG", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(float(args.serve[0]), args.serve[1:])
        return
    if args.child:
        print(json.dumps(child_run(*args.child)))
        return
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    print(
        f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; source runs: best of {args.repeat};"
        f" DuckDB: best of {args.yardstick_repeat}; load average {_load()}",
        flush=True,
    )
    results: list[Result] = []
    for scale in args.scales:
        began = time.perf_counter()
        server = LineChild([__file__, "--serve", str(scale), *args.sources])
        try:
            environments = json.loads(server.greeting)
            print(
                f"\n== demo scale {scale:g}: simulators up in {time.perf_counter() - began:.1f} s", flush=True
            )
            for name in args.sources:
                result = benchmark(name, scale, server, environments[name], args)
                report_detail(result)
                results.append(result)
        finally:
            server.close()
    report_table(results)
    report_scaling(results)
    report_target(results)
    slow = [f"{r.source} x{r.scale:g}" for r in results if r.run is not None and r.run.rate < SLOW_RATE]
    if slow:
        print(f"Below {SLOW_RATE:,} rows/s: {', '.join(slow)} (profile with --profile DIR --sources …)")
    print(
        f"\nwall time: {time.perf_counter() - started:.0f} s; load average {_load()}"
        " (above ~2 on 2 cores, other processes share the CPU and slow every figure)"
    )


def _load() -> str:
    """The 1/5/15-minute load averages (other processes on a 2-core machine skew every figure)."""
    try:
        return "/".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


if __name__ == "__main__":
    main()
