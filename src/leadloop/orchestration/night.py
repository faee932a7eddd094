"""One night of the warehouse: which day it loads, what it runs, and what it tells at the end.

The nightly job is partitioned by the ad platforms' China-time report day; a night loads yesterday's
partition (the ad sources re-read the restatement window before it) and everything else in full or
incrementally. The sources it runs are the ones configured when it starts.
"""
# No `from __future__ import annotations`: Dagster reads annotations of definitions at runtime.

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from leadloop.extract.registry import Status, active_sources, configurations
from leadloop.orchestration.jobs import NIGHTLY_TIMEZONE, night_selection
from leadloop.orchestration.launch import LaunchedRun, run_job
from leadloop.orchestration.publish import PUBLISHED_MARTS_KEY
from leadloop.orchestration.run_workers import fail_runs_of_lost_workers
from leadloop.warehouse import ensure_writable

QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
log = logging.getLogger(__name__)


def report_day_before(moment: datetime) -> date:
    """The ad-report day a night starting at `moment` loads: yesterday in China time."""
    return (moment.astimezone(ZoneInfo(NIGHTLY_TIMEZONE)) - timedelta(days=1)).date()


def night_run_config(full_refresh: bool = False) -> dict:
    """The nightly run's config: quiet logs, and the dbt step's full refresh when asked for."""
    if not full_refresh:
        return QUIET_LOGS
    return {**QUIET_LOGS, "ops": {"leadloop_dbt": {"config": {"full_refresh": True}}}}


def execute_night(first_day: str, last_day: str, instance: dg.DagsterInstance,
                  full_refresh: bool = False) -> LaunchedRun:
    """Run nightly_refresh in this process over ad-report days [first_day, last_day] as one run of the
    `leadloop` code location (so the UI lists it like its own), with the sources configured now
    rather than when the definitions were imported. `full_refresh` rebuilds every incremental model.

    First, an earlier run of this host whose process was killed is reported failed (and alerted by
    the failure sensor): left STARTED it would hold its pool slots and keep this night waiting."""
    from leadloop.orchestration.definitions import defs

    for lost in fail_runs_of_lost_workers(instance):
        log.warning("run %s (%s) marked failed: %s", lost.run_id, lost.job_name, lost.message)
    ensure_writable()  # before a run is recorded: a held warehouse file fails every load the same way
    days = {"dagster/asset_partition_range_start": first_day, "dagster/asset_partition_range_end": last_day}
    selection = night_selection(active_sources()).resolve(defs.resolve_asset_graph())
    return run_job("nightly_refresh", instance, run_config=night_run_config(full_refresh), tags=days,
                   asset_selection=list(selection))


@dataclass
class NightSummary:
    """What a night did, per source and overall, read back from the run's events."""

    run_id: str
    success: bool
    rows_loaded: dict[str, int] = field(default_factory=dict)
    quarantined: dict[str, int] = field(default_factory=dict)
    not_configured: list[str] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)
    failed_steps: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    marts_built: list[str] = field(default_factory=list)
    published_to: str | None = None

    def text(self) -> str:
        """The lines a data engineer reads at the end of a night."""
        lines = [f"night {self.run_id}: {'succeeded' if self.success else 'FAILED'}"]
        for source in sorted(self.rows_loaded.keys() | self.quarantined.keys()):
            lines.append(f"  {source}: {self.rows_loaded.get(source, 0)} rows loaded,"
                         f" {self.quarantined.get(source, 0)} quarantined")
        if self.not_configured:
            lines.append(f"  not configured (off): {', '.join(self.not_configured)}")
        if self.incomplete:
            lines.append(f"  configured in part (fix their settings): {', '.join(self.incomplete)}")
        if self.failed_steps:
            lines.append(f"  failed steps: {', '.join(self.failed_steps)}")
        lines.append(f"  checks failed: {len(self.failed_checks)}"
                     + (f" ({', '.join(self.failed_checks[:10])})" if self.failed_checks else ""))
        lines.append(f"  marts built: {len(self.marts_built)}"
                     + (f" ({', '.join(self.marts_built)})" if self.marts_built else ""))
        if self.published_to:
            lines.append(f"  published for readers: {self.published_to}")
        elif self.marts_built:
            lines.append("  not published: readers keep the previous night's marts")
        return "\n".join(lines)


def _records(instance: dg.DagsterInstance, run_id: str, event_type: dg.DagsterEventType) -> list:
    return [r.event_log_entry for r in instance.get_records_for_run(run_id, of_type=event_type).records]


def summarize_night(instance: dg.DagsterInstance, run_id: str, sources: Sequence[str] | None = None) -> NightSummary:
    """The summary of a finished night, from the run's materializations, checks and failures."""
    run = instance.get_run_by_id(run_id)
    found = configurations(sources)
    summary = NightSummary(
        run_id=run_id,
        success=run is not None and run.status == dg.DagsterRunStatus.SUCCESS,
        not_configured=[c.name for c in found if c.status is Status.OFF],
        incomplete=[c.name for c in found if c.status is Status.INCOMPLETE],
    )
    # A load over several report days records one materialization per day, each with the load's count.
    loaded_by_table: dict[tuple[str, ...], int] = {}
    marts = set()
    for entry in _records(instance, run_id, dg.DagsterEventType.ASSET_MATERIALIZATION):
        materialization = entry.dagster_event.event_specific_data.materialization
        path = tuple(materialization.asset_key.path)
        loaded = materialization.metadata.get("rows_loaded")
        if path[0].startswith("raw_"):
            loaded_by_table[path] = int(loaded.value) if loaded is not None else 0
        elif path[0] == "marts":
            marts.add(path[-1])
        elif path == tuple(PUBLISHED_MARTS_KEY.path):
            summary.published_to = materialization.metadata["path"].value
    rows: dict[str, int] = defaultdict(int)
    quarantined: dict[str, int] = defaultdict(int)
    for (schema, table), count in loaded_by_table.items():
        (quarantined if table == "quarantine" else rows)[schema.removeprefix("raw_")] += count
    summary.rows_loaded, summary.quarantined = dict(rows), dict(quarantined)
    summary.marts_built = sorted(marts)
    summary.failed_checks = sorted({
        f"{e.dagster_event.event_specific_data.asset_key.to_user_string()}:{e.dagster_event.event_specific_data.check_name}"
        for e in _records(instance, run_id, dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        if not e.dagster_event.event_specific_data.passed})
    summary.failed_steps = sorted({e.dagster_event.step_key
                                   for e in _records(instance, run_id, dg.DagsterEventType.STEP_FAILURE)})
    return summary
