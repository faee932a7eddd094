"""What the throughput benchmarks share: child processes, peak memory, a timed dlt run, DuckDB's yardstick.

Used by `sensors_throughput.py` (one source) and `extract_throughput.py` (all six). Nothing here
knows a platform: the scripts say which source to run and which SQL reads its pages.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TARGET_RATIO = 0.15  # issue 3: a source must reach 15 % of DuckDB's own read_json rate


@dataclass(frozen=True)
class SourceRun:
    """What one child run of a pipeline measured."""

    rows: int
    seconds: float
    peak_rss_mb: float
    baseline_rss_mb: float
    steps: dict[str, float]
    peaks: dict[str, float]
    tables: dict[str, int] = field(default_factory=dict)  # rows per table, as normalized

    @property
    def rate(self) -> float:
        """Rows per second, extract + normalize + load."""
        return self.rows / self.seconds


# -- memory ----------------------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MiB.

    Linux: VmHWM of /proc/self/status, the high-water mark of this process's own address space.
    Elsewhere: ru_maxrss, which on Linux would also count the parent's RSS at fork (it survives
    exec), so it is only the fallback.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- the pipeline, inside its child process ----------------------------------------------------------


def timed_run(pipeline: Any, source_factory: Callable[[], Any]) -> dict[str, Any]:
    """Runs extract, normalize and load of a fresh source; wall time and peak RSS after each step.

    The source is built inside the extract step (as `pipeline.run(source())` would). Returns the
    keyword arguments of `SourceRun` except `rows`, which the caller picks from `tables`.
    """
    baseline = peak_rss_mb()
    started = time.perf_counter()
    steps: dict[str, float] = {}
    peaks: dict[str, float] = {}
    for step in ("extract", "normalize", "load"):
        began = time.perf_counter()
        if step == "extract":
            pipeline.extract(source_factory())
        else:
            getattr(pipeline, step)()
        steps[step] = time.perf_counter() - began
        peaks[step] = peak_rss_mb()
    seconds = time.perf_counter() - started
    tables = dict(pipeline.last_trace.last_normalize_info.row_counts)
    return {
        "seconds": seconds,
        "peak_rss_mb": peak_rss_mb(),
        "baseline_rss_mb": baseline,
        "steps": steps,
        "peaks": peaks,
        "tables": tables,
    }


def scratch_pipeline(name: str, dataset_name: str, workdir: str | Path) -> Any:
    """A dlt pipeline into a fresh DuckDB file, with its state, under `workdir`."""
    import dlt

    return dlt.pipeline(
        pipeline_name=name,
        destination=dlt.destinations.duckdb(str(Path(workdir) / "bench.duckdb")),
        dataset_name=dataset_name,
        pipelines_dir=str(Path(workdir) / "pipelines"),
    )


# -- child processes -------------------------------------------------------------------------------


def run_json_child(
    arguments: list[str], *, env: Mapping[str, str] | None = None, timeout: float | None = None
) -> Any:
    """Runs `python <arguments>` and decodes the JSON on its last stdout line.

    A failing child raises `subprocess.CalledProcessError` (its stderr attached), a slow one
    `subprocess.TimeoutExpired` (the child is killed).
    """
    done = subprocess.run(
        [sys.executable, *arguments],
        check=True,
        capture_output=True,
        text=True,
        env=None if env is None else dict(env),
        timeout=timeout,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


class LineChild:
    """A long-lived child Python steered by one-line commands on its stdin, one line back for each.

    The child prints one greeting line when ready (e.g. its server's URL): `greeting` holds it.
    """

    def __init__(self, arguments: list[str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, *arguments], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.greeting = self._reply()

    def _reply(self) -> str:
        """The child's next output line."""
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line:
            raise RuntimeError("the child process stopped")
        return line

    def ask(self, command: str) -> str:
        """Sends a command, returns the answer line."""
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self._reply()

    def close(self) -> None:
        """Ends the child (closing stdin ends its command loop)."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


# -- the yardstick: DuckDB reading the same pages ---------------------------------------------------


def concatenate(pages: Iterable[Path], target: Path) -> Path:
    """Writes the pages one after another into `target`, each ending with a newline (NDJSON).

    Empty pages add nothing (no blank line)."""
    with open(target, "wb") as joined:
        for page in pages:
            body = page.read_bytes()
            if body:
                joined.write(body if body.endswith(b"\n") else body + b"\n")
    return target


def duckdb_create_tables(selects: Mapping[str, str], scratch: str | Path) -> tuple[dict[str, int], float]:
    """(rows per table, seconds) of `create table <name> as <select>` for each entry, in a fresh DuckDB file.

    The clock covers the create statements only (not connecting, not counting).
    """
    import duckdb

    connection = duckdb.connect(str(Path(scratch) / "yardstick.duckdb"))
    try:
        started = time.perf_counter()
        for table, select in selects.items():
            connection.execute(f'create table "{table}" as {select}')
        seconds = time.perf_counter() - started
        rows = {
            table: int(connection.execute(f'select count(*) from "{table}"').fetchone()[0])  # type: ignore[index]
            for table in selects
        }
    finally:
        connection.close()
    return rows, seconds
