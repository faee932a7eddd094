"""`leadloop doctor`'s check of 神策: one SQL query for a single event of one day, the load's own call.

Sensors has no token endpoint: the API token travels with every query, so the smallest
authenticated request is a query. A `date` condition lets the deployment prune to one partition.
"""

from __future__ import annotations

from datetime import datetime

from leadloop.extract.common.probe import PROBE_TIMEOUT_SECONDS, Probe, run_probe
from leadloop.extract.sensors import sensors_source, settings
from leadloop.extract.sensors.client import SensorsAuthError, SensorsClient, SensorsSettings


def probe(timeout: float = PROBE_TIMEOUT_SECONDS) -> Probe:
    """Whether the deployment answers, and whether it takes the configured API token for the project."""
    return run_probe(sensors_source, _check, refusals=(SensorsAuthError,), timeout=timeout)


def probe_sql(config: SensorsSettings) -> str:
    """At most one event of the last configured day (end_time's, else today's in the project time zone)."""
    day = config.end() or datetime.now(settings.PROJECT_TZ).replace(tzinfo=None)
    return f"select time from {settings.EVENTS_TABLE} where date = '{day:%Y-%m-%d}' limit 1"


def _check(config: SensorsSettings) -> str:
    """Runs the one-row query; returns what that verified."""
    client = SensorsClient(config)
    try:
        client.query(probe_sql(config))
    finally:
        client.close()
    return f"a one-row query on project {config.project!r} answered"
