"""Every source leadloop can pull, and whether this installation has configured it.

A team runs with the platforms it has. A source is *on* when its settings are present (dlt config:
`SOURCES__<NAME>__<KEY>` environment variables or `[sources.<name>]` in `.dlt/secrets.toml`), *off*
when none of them is — an off source is not run, not retried and fails nothing — and *incomplete*
when some are there and others missing: that is a mistake worth one clear error, not a night of
retries. Adding a source means one entry here (and its folder under src/leadloop/extract/, with the probe.py that
`leadloop doctor` runs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

import dlt

from leadloop.extract.baidu_sem import baidu_sem_source
from leadloop.extract.baidu_sem.probe import probe as probe_baidu_sem
from leadloop.extract.common.config import MissingSettingError, describe_settings
from leadloop.extract.common.probe import PROBE_TIMEOUT_SECONDS, Probe
from leadloop.extract.neocrm import neocrm_source
from leadloop.extract.neocrm.probe import probe as probe_neocrm
from leadloop.extract.oceanengine import oceanengine_source
from leadloop.extract.oceanengine.probe import probe as probe_oceanengine
from leadloop.extract.salesforce import salesforce_source
from leadloop.extract.salesforce.probe import probe as probe_salesforce
from leadloop.extract.sensors import sensors_source
from leadloop.extract.sensors.probe import probe as probe_sensors
from leadloop.extract.wecom import wecom_source
from leadloop.extract.wecom.probe import probe as probe_wecom

SourceFactory = Callable[..., dlt.sources.DltSource]
# Reaches the platform with the source's own client and settings, within a timeout (seconds) per request.
SourceProbe = Callable[[float], Probe]


class Status(str, Enum):
    """How far a source is configured."""

    ON = "configured"
    OFF = "not configured"
    INCOMPLETE = "incomplete"


@dataclass(frozen=True)
class SourceEntry:
    """One platform: its dlt source, the settings that switch it on, what kind of data it gives, and
    the probe `leadloop doctor` runs to see that the platform answers and takes the credentials."""

    name: str
    platform: str
    kind: str  # crm | ad_platform | web_analytics | wecom
    factory: SourceFactory
    required: tuple[str, ...]
    # Ways to authenticate; at least one must be complete (e.g. a token, or what refreshes one).
    credentials: tuple[tuple[str, ...], ...] = ()
    ad_reports: bool = False  # daily report partitions with a restatement window
    probe: SourceProbe = field(kw_only=True)

    @property
    def signals(self) -> tuple[str, ...]:
        """Every setting whose presence says the team meant to use this source."""
        keys = list(self.required)
        for alternative in self.credentials:
            keys += [key for key in alternative if key not in keys]
        return tuple(keys)


@dataclass(frozen=True)
class Configuration:
    """A source's status in this environment, and what to fix when it is incomplete."""

    source: SourceEntry
    status: Status
    missing: tuple[str, ...] = ()
    problem: str = ""

    @property
    def name(self) -> str:
        """The source's name."""
        return self.source.name

    def raise_if_incomplete(self) -> None:
        """MissingSettingError naming what to set, when the source is half configured."""
        if self.status is Status.INCOMPLETE:
            raise MissingSettingError(self.problem)


SOURCES: tuple[SourceEntry, ...] = (
    SourceEntry("baidu_sem", "百度营销 Baidu search ads", "ad_platform", baidu_sem_source,
                required=("username", "user_ids"),
                credentials=(("access_token",), ("refresh_token", "app_id", "secret_key")), ad_reports=True,
                probe=probe_baidu_sem),
    SourceEntry("neocrm", "销售易 Neocrm CRM", "crm", neocrm_source,
                required=("client_id", "client_secret", "username", "password"), probe=probe_neocrm),
    SourceEntry("oceanengine", "巨量引擎 Ocean Engine ads", "ad_platform", oceanengine_source,
                required=("advertiser_ids",),
                credentials=(("access_token",), ("refresh_token", "app_id", "secret")), ad_reports=True,
                probe=probe_oceanengine),
    SourceEntry("salesforce", "Salesforce CRM", "crm", salesforce_source,
                required=("client_id", "client_secret"), probe=probe_salesforce),
    SourceEntry("sensors", "神策 Sensors Data web analytics", "web_analytics", sensors_source,
                required=("base_url", "token"), probe=probe_sensors),
    SourceEntry("wecom", "企业微信 WeCom external contacts", "wecom", wecom_source,
                required=("corp_id", "corp_secret"), probe=probe_wecom),
)
SOURCES_BY_NAME: Mapping[str, SourceEntry] = {source.name: source for source in SOURCES}


def setting_value(source: str, key: str) -> object | None:
    """A setting as dlt resolves it (environment, then .dlt/secrets.toml and config.toml); None if unset."""
    value = dlt.secrets.get(f"sources.{source}.{key}")
    if isinstance(value, str) and not value.strip():
        return None
    return value


def configuration(source: SourceEntry) -> Configuration:
    """Whether `source` is on, off or incomplete in this environment (reads settings, sends nothing)."""
    present = {key for key in source.signals if setting_value(source.name, key) is not None}
    if not present:
        return Configuration(source, Status.OFF)

    def absent(keys: Sequence[str]) -> list[str]:
        return [key for key in keys if key not in present]

    missing = absent(source.required)
    complete = [alt for alt in source.credentials if not absent(alt)]
    if source.credentials and not complete:
        # Name the shortest way to finish: the alternative with the fewest keys still missing.
        missing += absent(min(source.credentials, key=lambda alt: len(absent(alt))))
    if not missing:
        return Configuration(source, Status.ON)
    noun = "setting" if len(missing) == 1 else "settings"
    problem = (f"{source.name}: configured in part ({', '.join(sorted(present))} set) but missing"
               f" {noun} {describe_settings(source.name, missing)}; set them, or remove the"
               f" {source.name} settings to switch the source off")
    if source.credentials and not complete and len(source.credentials) > 1:
        ways = " or ".join("+".join(alt) for alt in source.credentials)
        problem += f" (credentials: {ways})"
    return Configuration(source, Status.INCOMPLETE, tuple(missing), problem)


def configurations(names: Sequence[str] | None = None) -> list[Configuration]:
    """The configuration of every source (or of the named ones), in registry order."""
    wanted = SOURCES if names is None else [SOURCES_BY_NAME[name] for name in names]
    return [configuration(source) for source in wanted]


def probe(source: SourceEntry | str, timeout: float = PROBE_TIMEOUT_SECONDS) -> Probe:
    """Runs a source's probe: reachable, credentials accepted, and what to fix (sends requests).

    Only a configured source is worth probing; a source that is off or incomplete is reported as
    not contacted, with the settings still missing, and nothing is sent.
    """
    entry = SOURCES_BY_NAME[source] if isinstance(source, str) else source
    found = configuration(entry)
    if found.status is Status.OFF:
        return Probe(False, None, f"not contacted: {entry.name} is not configured")
    if found.status is Status.INCOMPLETE:
        return Probe(False, None, f"not contacted: {found.problem}")
    return entry.probe(timeout)


def active_sources() -> list[str]:
    """Names of the sources a night runs: configured ones, and incomplete ones (which then fail once)."""
    return [c.name for c in configurations() if c.status is not Status.OFF]
