"""`leadloop` command line: tonight's refresh, the sources and their health, the demo night, the UI."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from leadloop import settings

if TYPE_CHECKING:
    from dagster import DagsterInstance

    from leadloop.orchestration.launch import LaunchedRun


def run_nightly_refresh(first_day: str, last_day: str, instance: DagsterInstance | None = None,
                        full_refresh: bool = False) -> LaunchedRun:
    """Run nightly_refresh in this process over ad-report days [first_day, last_day] (one run).

    The run is created under the `leadloop` code location (src/leadloop/orchestration/launch.py), so the UI lists
    it in the job's Runs tab and on the Overview timeline like a run it launched itself. Without an
    instance the run is recorded in DAGSTER_HOME. `full_refresh` rebuilds every incremental dbt model.
    """
    import dagster as dg

    from leadloop.orchestration.night import execute_night

    if instance is not None:
        return execute_night(first_day, last_day, instance, full_refresh)
    with dg.DagsterInstance.get() as own_instance:
        return execute_night(first_day, last_day, own_instance, full_refresh)


def demo_night(demo, instance=None):
    """The demo's night: every ad-report day from the first partition to the day before the demo's clock
    (its today, unless LEADLOOP_DEMO_CLOCK or `DemoSources.advance_clock` set an earlier moment)."""
    from datetime import timedelta

    from leadloop.demo.digital import business_day
    from leadloop.orchestration.jobs import AD_REPORT_DAYS

    first = AD_REPORT_DAYS.start.date().isoformat()
    yesterday = (business_day(demo.clock_ms) - timedelta(days=1)).isoformat()
    return run_nightly_refresh(first, yesterday, instance)


def funnel_summary() -> str:
    """A few lines on the funnel as the published marts now say it (what BI reads)."""
    import duckdb

    with duckdb.connect(str(settings.published_marts_path()), read_only=True) as con:
        totals = con.execute(
            "select coalesce(sum(leads), 0), coalesce(sum(mqls), 0), coalesce(sum(sqls), 0),"
            " coalesce(sum(opportunities), 0), coalesce(sum(pocs), 0), coalesce(sum(wins), 0),"
            " coalesce(sum(lead_won_revenue), 0), count(*) from marts.mart_funnel"
        ).fetchone()
        journeys = con.execute("select count(*) from marts.fct_lead_journeys").fetchone()[0]
        all_won, deals = con.execute("select coalesce(sum(won_revenue), 0), coalesce(sum(won_deals), 0)"
                                     " from marts.mart_revenue_reconciliation").fetchone()
    leads, mqls, sqls, opportunities, pocs, wins, revenue, rows = totals
    rate = f"{opportunities / leads:.1%}" if leads else "n/a"
    return "\n".join([
        (f"fct_lead_journeys: {journeys} journeys; mart_funnel: {rows} cells"
         " (cohort month x channel x campaign x keyword x region x industry)"),
        (f"funnel: leads {leads} -> MQL {mqls} -> SQL {sqls} -> opportunity {opportunities}"
         f" -> POC {pocs} -> won {wins}"),
        (f"won revenue of lead journeys: {revenue:,.2f}; of all {deals} deals won: {all_won:,.2f}"
         f" (reporting currency; mart_revenue_reconciliation); lead->opportunity cohort rate: {rate}"),
    ])


def command_demo(args: argparse.Namespace) -> int:
    """Run one night of the warehouse on the demo company and print what it built."""
    from leadloop.demo.serve import running_demo_sources

    if settings.warehouse_kind() != "duckdb":
        print("leadloop demo: the demo summary reads the DuckDB warehouse; unset LEADLOOP_WAREHOUSE",
              file=sys.stderr)
        return 2
    sources = args.sources.split(",") if args.sources else None
    with running_demo_sources(sources=sources) as demo:
        ok = demo_night(demo).success
    if not ok:
        print("leadloop demo: the nightly_refresh run failed; see the log above", file=sys.stderr)
        return 1
    print(funnel_summary())
    print(f"warehouse: {settings.duckdb_path()} (the night's own file)")
    print(f"marts for BI and analysts (read-only): {settings.published_marts_path()}")
    print(f"cockpit page: {settings.cockpit_path()} (`leadloop cockpit` serves it)")
    print(f"docs site (every mart and column): {settings.docs_path()}")
    print(f"ground truth: {settings.demo_truth_dir()}")
    return 0


def command_night(args: argparse.Namespace) -> int:
    """The production night: yesterday's report day (China time) on the sources configured here."""
    from datetime import UTC, date, datetime

    import dagster as dg

    from leadloop.extract.registry import Status, configurations
    from leadloop.orchestration.night import report_day_before, summarize_night

    found = configurations()
    for broken in [c for c in found if c.status is Status.INCOMPLETE]:
        print(f"leadloop night: {broken.problem}", file=sys.stderr)
    if not any(c.status is Status.ON for c in found):
        print("leadloop night: no source is configured; set a source's SOURCES__<NAME>__* settings"
              " (`leadloop sources` lists them)", file=sys.stderr)
        return 2
    if any(c.status is Status.INCOMPLETE for c in found):
        return 2
    day = date.fromisoformat(args.day) if args.day else report_day_before(datetime.now(UTC))
    with dg.DagsterInstance.get() as instance:
        result = run_nightly_refresh(day.isoformat(), day.isoformat(), instance, full_refresh=args.full_refresh)
        print(summarize_night(instance, result.run_id).text())
    return 0 if result.success else 1


def command_sources(args: argparse.Namespace) -> int:
    """List every source: configured or not, and what the warehouse holds from it (no network)."""
    from leadloop.doctor import examine, sources_lines

    found = examine(probe=False)
    for report in found.reports:
        print("\n".join(sources_lines(report)))
    if found.warehouse_problem:
        print(f"leadloop sources: {found.warehouse_problem}", file=sys.stderr)
    return 0


def command_doctor(args: argparse.Namespace) -> int:
    """Every source: configured or not, reachable, credentials accepted, last load; the setting to fix.

    Configured sources are probed with their own clients (a token grant or the smallest authenticated
    request); others are not contacted. Exit 0 when every configured source answers and takes its
    credentials, 1 when one does not, 2 when a source is incomplete or none is configured.
    """
    from leadloop.doctor import doctor_lines, examine
    from leadloop.extract.common.probe import PROBE_TIMEOUT_SECONDS
    from leadloop.extract.registry import Status

    found = examine(PROBE_TIMEOUT_SECONDS if args.timeout is None else args.timeout)
    for report in found.reports:
        print("\n".join(doctor_lines(report)))
    if found.warehouse_problem:
        print(f"leadloop doctor: {found.warehouse_problem}", file=sys.stderr)
    if not any(report.configuration.status is Status.ON for report in found.reports):
        print("leadloop doctor: no source is configured; set a source's SOURCES__<NAME>__* settings"
              " (README: Point a source at the real platform)", file=sys.stderr)
    return found.exit_code()


def command_ui(args: argparse.Namespace) -> int:
    """Serve the Dagster UI (workspace.yaml, code location `leadloop`) with the demo simulators running.

    `dagster dev` runs in a process group of its own. SIGTERM or SIGINT to leadloop stops that whole
    group (SIGTERM, then SIGKILL after a grace period) and then the simulators, and leadloop exits:
    no webserver, daemon or code server outlives it.
    """
    from contextlib import nullcontext

    from leadloop.demo.serve import running_demo_sources
    from leadloop.extract.registry import active_sources
    from leadloop.processes import StopRequested, start_group, stop_group, stop_signals

    command = [sys.executable, "-m", "dagster", "dev", "-w", str(settings.WORKSPACE_FILE),
               "-h", args.host, "-p", str(args.port)]
    # A team's own settings win: the demo company is served only where nothing is configured, or asked for.
    demo = args.demo or not active_sources()
    print("serving the demo company's simulators" if demo
          else f"using this machine's sources: {', '.join(active_sources())}", flush=True)
    with (running_demo_sources() if demo else nullcontext()), stop_signals() as stops:
        dagster_dev = start_group(command, cwd=settings.PROJECT_ROOT, env=os.environ.copy())
        print(f"Dagster UI on http://{args.host}:{args.port} (Ctrl-C stops it and the simulators)",
              flush=True)
        try:
            stops.arm()
            return dagster_dev.wait()
        except StopRequested:
            return 0
        finally:
            stops.disarm()
            stop_group(dagster_dev)


def command_serve_demo(args: argparse.Namespace) -> int:
    """Serve the demo company's platforms on 127.0.0.1 until interrupted, and print the settings that
    point leadloop at them: a stand-in for a team's own platforms, to try `leadloop night` with."""
    import signal
    import threading

    from leadloop.demo.serve import running_demo_sources

    sources = args.sources.split(",") if args.sources else None
    stop = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stop.set())
    with running_demo_sources(sources=sources) as demo:
        for key, value in sorted(demo.source_environment().items()):
            print(f"export {key}='{value}'", flush=True)
        print("# serving until Ctrl-C", flush=True)
        stop.wait()
    return 0


def command_bi_role(args: argparse.Namespace) -> int:
    """Create (or update) a PostgreSQL login that reads the published marts only."""
    import getpass

    from leadloop.publish import MARTS_SCHEMA, READERS_ROLE, create_bi_role

    password = os.environ.get("LEADLOOP_BI_PASSWORD") or getpass.getpass(f"password for {args.login}: ")
    if not password:
        print("leadloop bi-role: set LEADLOOP_BI_PASSWORD or type a password", file=sys.stderr)
        return 2
    try:
        create_bi_role(args.login, password)
    except ValueError as error:
        print(f"leadloop bi-role: {error}", file=sys.stderr)
        return 2
    print(f"{args.login} (member of {READERS_ROLE}) reads schema {MARTS_SCHEMA} and nothing else")
    return 0


def command_cockpit(args: argparse.Namespace) -> int:
    """Serve the cockpit page the last night built (or build it now from the published marts)."""
    from leadloop.cockpit.serve import serve_cockpit

    path = settings.cockpit_path()
    if args.build:
        from leadloop.cockpit import build_cockpit

        try:
            build_cockpit(path)
        except FileNotFoundError as error:
            print(f"leadloop cockpit: {error}", file=sys.stderr)
            return 2
    if not path.exists():
        print(f"leadloop cockpit: no page at {path} yet: a night builds it (`leadloop demo` or `leadloop night`),"
              " or `leadloop cockpit --build` builds it from the published marts", file=sys.stderr)
        return 2
    return serve_cockpit(path, args.host, args.port)


def _cell(value: object) -> str:
    """A metric answer's value as text: months as YYYY-MM-DD, empty for none."""
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d")
    return str(value)


def command_metrics(args: argparse.Namespace) -> int:
    """List the metrics, or answer a metric query on the published marts (the metric layer)."""
    import csv

    from metricflow_semantics.errors.error_classes import MetricFlowException

    from leadloop import metrics

    if args.action == "list":
        for metric in metrics.list_metrics():
            print(f"{metric.name}  ({metric.type}) {metric.label}: {metric.description}")
            print(f"    by: {', '.join(metric.dimensions)}")
        return 0
    if not args.metrics:
        print("leadloop metrics query: name at least one metric (`leadloop metrics list` lists them)", file=sys.stderr)
        return 2
    try:
        if args.sql:
            print(metrics.compile_sql(args.metrics, args.by, args.where))
            return 0
        result = metrics.query(args.metrics, args.by, args.where)
    except FileNotFoundError as error:
        print(f"leadloop metrics: {error}", file=sys.stderr)
        return 2
    except MetricFlowException as error:  # it names the unknown metric or dimension, and the closest known ones
        print(f"leadloop metrics: {error}", file=sys.stderr)
        return 2
    rows = [[_cell(v) for v in row] for row in result.rows]
    if args.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(result.columns)
        writer.writerows(rows)
        return 0
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(result.columns)]
    for line in [result.columns, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
    return 0


def command_forget(args: argparse.Namespace) -> int:
    """Erase one person; print what was deleted (counts only: the audit keeps no personal data)."""
    from leadloop.privacy.erasure import ForgetError, forget, published_file_note
    from leadloop.warehouse import WarehouseInUse, ensure_writable

    kind, value = next((k, getattr(args, k)) for k in ("phone", "email", "wecom_id", "customer_id")
                       if getattr(args, k) is not None)
    try:
        ensure_writable()
        erasure = forget(kind, value)
    except (ForgetError, WarehouseInUse) as error:
        print(f"leadloop forget: {error}", file=sys.stderr)
        return 2
    if not erasure.customer_ids:
        print(f"no person with that {kind.replace('_', ' ')} is stored; it is suppressed all the same, so no"
              f" platform can load it again (erasure {erasure.erasure_id})")
        return 0
    print(f"erasure {erasure.erasure_id}: {erasure.records} records of {len(erasure.customer_ids)} customer(s),"
          f" {erasure.total_rows} rows deleted from {len(erasure.rows_deleted)} tables;"
          f" {erasure.identifiers_suppressed} identifiers suppressed,"
          f" {erasure.identifiers_kept_shared} kept (other people's records carry them too)")
    for table, rows in erasure.rows_deleted.items():
        print(f"  {table}: {rows}")
    print(published_file_note())
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `leadloop` command."""
    parser = argparse.ArgumentParser(prog="leadloop", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run the nightly pipeline on the demo company into DuckDB")
    demo.add_argument("--sources", default=os.environ.get("LEADLOOP_DEMO_SOURCES", ""),
                      help="serve only these platforms, comma-separated (e.g. salesforce,baidu_sem: a"
                           " Salesforce shop); default every one (LEADLOOP_DEMO_SOURCES)")
    night = commands.add_parser("night", help="run tonight's refresh on the sources configured here")
    night.add_argument("--day", help="ad-report day to load, YYYY-MM-DD (default: yesterday, China time)")
    night.add_argument("--full-refresh", action="store_true",
                       help="rebuild every incremental dbt model from all of its input (after a change of a"
                            " dbt macro; the marts are the same as the incremental night's)")
    commands.add_parser("sources", help="list every source: configured or not, and what is loaded")
    doctor = commands.add_parser("doctor", help="check every configured source: reachable, credentials"
                                                " accepted, last load (exit 0 when all are healthy)")
    doctor.add_argument("--timeout", type=float, default=None,
                        help="seconds to wait for each request of a probe (default 5)")
    commands.add_parser("prepare", help="prepare what the Dagster definitions read (the dbt manifest)")
    serve = commands.add_parser("serve-demo", help="serve the demo company's platforms and print their settings")
    serve.add_argument("--sources", default="", help="only these platforms, comma-separated (default: all)")
    bi_role = commands.add_parser("bi-role", help="PostgreSQL: create or update a login that reads the published"
                                                  " marts only (password from LEADLOOP_BI_PASSWORD or asked)")
    bi_role.add_argument("login", help="the role's name, e.g. metabase")
    ui = commands.add_parser("ui", help="open the Dagster UI (the demo's simulators when no source is configured)")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.add_argument("--demo", action="store_true", help="serve the demo company even if sources are configured")
    cockpit = commands.add_parser("cockpit", help="serve the CEO's cockpit page (built by each night from the"
                                                  " published marts) on 127.0.0.1")
    cockpit.add_argument("--host", default="127.0.0.1")
    cockpit.add_argument("--port", type=int, default=8050)
    cockpit.add_argument("--build", action="store_true",
                         help="build the page from the published marts first (instead of the night's page)")
    metric = commands.add_parser("metrics", help="the metric layer: `list` the metrics, or `query` them by name on"
                                                 " the published marts")
    metric.add_argument("action", choices=["list", "query"])
    metric.add_argument("metrics", nargs="*", help="metric names, e.g. north_star_lead_to_opportunity_rate_cohort")
    metric.add_argument("--by", action="append", default=[],
                        help="group by (repeatable): metric_time__month, funnel__channel, funnel__campaign,"
                             " funnel__keyword, funnel__region, funnel__industry, deal__sourced_by, account__industry, …")
    metric.add_argument("--where", action="append", default=[],
                        help="filter (repeatable), e.g. \"{{ Dimension('funnel__channel') }} = 'paid_search'\"")
    metric.add_argument("--csv", action="store_true", help="CSV instead of aligned columns")
    metric.add_argument("--sql", action="store_true", help="print the SQL the layer runs instead of running it")
    forget = commands.add_parser("forget", help="erase a person from every schema (PIPL), keep an audit row"
                                                " and keep them out when a platform sends them again")
    named_by = forget.add_mutually_exclusive_group(required=True)
    named_by.add_argument("--phone", help="a phone number of the person, as any system wrote it")
    named_by.add_argument("--email", help="an e-mail address of the person")
    named_by.add_argument("--wecom-id", help="the person's WeCom external_userid or WeChat unionid")
    named_by.add_argument("--customer-id", help="the person's customer_id (marts.dim_customers)")
    args = parser.parse_args(argv)
    settings.apply_environment()  # the entry point's defaults: telemetry off, DAGSTER_HOME, paths
    if args.command in ("demo", "night", "prepare", "metrics"):
        from leadloop.orchestration.dbt_project import prepare_manifest

        # The Dagster definitions and the metric layer read it; dagster dev (leadloop ui) prepares its own.
        prepare_manifest()
    if args.command == "prepare":
        return 0
    handlers = {"demo": command_demo, "night": command_night, "sources": command_sources,
                "doctor": command_doctor, "serve-demo": command_serve_demo, "ui": command_ui,
                "bi-role": command_bi_role, "cockpit": command_cockpit, "metrics": command_metrics,
                "forget": command_forget}
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
