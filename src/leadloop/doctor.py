"""What `leadloop doctor` and `leadloop sources` say about each source.

`sources` is the quick listing: configuration and what the warehouse holds, no network. `doctor`
adds, for every configured source, a probe of the platform (src/leadloop/extract/<source>/probe.py): reachable,
credentials accepted, and the setting to fix when not. Sources that are off or incomplete are not
probed: nothing is sent for them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from leadloop.extract.common.probe import PROBE_TIMEOUT_SECONDS, Probe, scrub
from leadloop.extract.registry import Configuration, Status, configurations
from leadloop.warehouse import SourceLoad, source_loads

EXIT_HEALTHY, EXIT_FAILING, EXIT_MISCONFIGURED = 0, 1, 2


@dataclass(frozen=True)
class SourceReport:
    """One source as the doctor sees it: its configuration, its last load, its probe (None: not probed)."""

    configuration: Configuration
    load: SourceLoad | None
    probe: Probe | None = None

    @property
    def name(self) -> str:
        """The source's name."""
        return self.configuration.name


@dataclass(frozen=True)
class Examination:
    """Every source's report, and why the last loads are unknown when the warehouse could not be read."""

    reports: list[SourceReport]
    warehouse_problem: str = ""

    def exit_code(self) -> int:
        """2 when a source is incomplete or none is configured, 1 when a probe failed, else 0."""
        statuses = [report.configuration.status for report in self.reports]
        if Status.INCOMPLETE in statuses or Status.ON not in statuses:
            return EXIT_MISCONFIGURED
        if any(report.probe is not None and not report.probe.ok for report in self.reports):
            return EXIT_FAILING
        return EXIT_HEALTHY


def warehouse_loads() -> tuple[dict[str, SourceLoad], str]:
    """Each source's last load, and a one-line problem when the warehouse cannot be read (e.g. locked)."""
    try:
        return source_loads(), ""
    except Exception as exc:  # noqa: BLE001 - a warehouse that cannot be read must not hide the sources
        return {}, f"warehouse not readable, last loads unknown: {type(exc).__name__}: {scrub(str(exc))}"


def load_summary(name: str, load: SourceLoad | None) -> str:
    """`<rows> rows in raw_<source>, last load <UTC time>`, or `nothing loaded`."""
    if load is None:
        return "nothing loaded"
    return f"{load.rows} rows in raw_{name}, last load {load.last_loaded_at:%Y-%m-%d %H:%M} UTC"


@contextmanager
def quiet_extract_logs() -> Iterator[None]:
    """Keeps the clients' retry warnings off the doctor's output (its own lines say what failed)."""
    logger = logging.getLogger("leadloop.extract")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def probe_configured(found: Sequence[Configuration], timeout: float) -> dict[str, Probe]:
    """Probes every configured source at once (each waits on a different platform); by source name."""
    targets = [c for c in found if c.status is Status.ON]
    if not targets:
        return {}
    with quiet_extract_logs(), ThreadPoolExecutor(len(targets), thread_name_prefix="doctor") as pool:
        probes = list(pool.map(lambda c: c.source.probe(timeout), targets))
    return {c.name: probe for c, probe in zip(targets, probes, strict=True)}


def examine(timeout: float = PROBE_TIMEOUT_SECONDS, *, probe: bool = True) -> Examination:
    """Every source's configuration and last load, and with `probe` the probe of each configured one."""
    found = configurations()
    loads, problem = warehouse_loads()
    probes: Mapping[str, Probe] = probe_configured(found, timeout) if probe else {}
    reports = [SourceReport(c, loads.get(c.name), probes.get(c.name)) for c in found]
    return Examination(reports, problem)


def status_text(found: Configuration) -> str:
    """configured / not configured / incomplete (missing <keys>)."""
    if found.status is Status.INCOMPLETE:
        return f"{found.status.value} (missing {', '.join(found.missing)})"
    return found.status.value


def probe_columns(probe: Probe | None) -> tuple[str, str]:
    """The reachable and credentials columns of a doctor line."""
    if probe is None:
        return "not probed", "-"
    if not probe.reachable:
        return "unreachable", "credentials unchecked"
    credentials = {True: "accepted", False: "refused", None: "unchecked"}[probe.credentials_accepted]
    return "reachable", f"credentials {credentials}"


def doctor_lines(report: SourceReport) -> list[str]:
    """One line for the source; below it, indented, what to fix when it is incomplete or its probe failed."""
    reachable, credentials = probe_columns(report.probe)
    status = status_text(report.configuration)
    held = load_summary(report.name, report.load)
    lines = [f"{report.name:<12} {status:<15} {reachable:<11} {credentials:<21} {held}"]
    if report.configuration.problem:
        lines.append(f"{'':<12} {report.configuration.problem}")
    if report.probe is not None and not report.probe.ok:
        lines.append(f"{'':<12} {report.probe.detail}")
    return lines


def sources_lines(report: SourceReport) -> list[str]:
    """`leadloop sources`: status, platform and what is loaded; below it what to fix when incomplete."""
    found = report.configuration
    held = load_summary(report.name, report.load)
    lines = [f"{found.name:<12} {found.status.value:<15} {found.source.platform:<34} {held}"]
    if found.problem:
        lines.append(f"{'':<12} {found.problem}")
    return lines
