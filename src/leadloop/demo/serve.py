"""The built-in demo company served by local simulators, wired into the sources' config.

Used by `leadloop demo`, `leadloop ui` and the tests: it generates the world, writes its ground
truth outside the warehouse, starts one simulator per source on 127.0.0.1 and points each
source's SOURCES__<NAME>__* settings at it for as long as the context is open.

The simulators serve the world as of a clock: the demo's today by default, or an earlier moment
(LEADLOOP_DEMO_CLOCK, `running_demo_sources(clock_ms=…)`), moved on with `DemoSources.advance_clock`
night by night. The world itself is always generated up to its own today, so every clock shows the
same data, only less of it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from leadloop import settings
from leadloop.demo import (
    baidu_sem_records,
    custom_fields,
    neocrm_records,
    oceanengine_records,
    salesforce_records,
    sensors_records,
    wecom_records,
)
from leadloop.demo.digital import DigitalWorld, business_day, simulate_digital
from leadloop.demo.model import BUSINESS_TZ, DAY_MS, DEFAULT_AS_OF, DEFAULT_SEED, World, to_ms
from leadloop.demo.salesforce_shape import OrgShape
from leadloop.demo.simulators.baidu_sem import BaiduSemSimulator
from leadloop.demo.simulators.base import SimulatorBase
from leadloop.demo.simulators.neocrm import NeocrmSimulator
from leadloop.demo.simulators.oceanengine import OceanengineSimulator
from leadloop.demo.simulators.salesforce import SalesforceSimulator
from leadloop.demo.simulators.sensors import SensorsSimulator
from leadloop.demo.simulators.wecom import WecomSimulator
from leadloop.demo.simulators.wecom_robot import WecomRobotReceiver
from leadloop.demo.truth import write_truth
from leadloop.demo.world import simulate
from leadloop.extract.neocrm import settings as neocrm_settings
from leadloop.extract.salesforce import settings as salesforce_settings

# The simulators' own credentials: demo-only values, never real secrets.
DEMO_NEOCRM_CREDENTIALS = {
    "client_id": "leadloop-demo",
    "client_secret": "demo-secret",
    "username": "demo@leadloop.cn",
    "password": "demo-password",
}
DEMO_WECOM_CREDENTIALS = {"corp_id": "wwleadloopdemo", "corp_secret": "demo-corp-secret"}
DEMO_SALESFORCE_CREDENTIALS = {"client_id": "leadloop-demo-connected-app", "client_secret": "demo-sf-secret",
                               "username": "demo@leadloop-demo.cn", "password": "demo-password"}
DEMO_SALESFORCE_SECURITY_TOKEN = "DemoSecurityToken"
DEMO_BAIDU_CREDENTIALS = {"username": "leadloop-demo-百度", "access_token": "demo-baidu-token",
                          "refresh_token": "demo-baidu-refresh", "app_id": "demo-baidu-app",
                          "secret_key": "demo-baidu-secret"}
DEMO_SENSORS_TOKEN = "demo-sensors-api-secret"
DEMO_OCEANENGINE_CREDENTIALS = {"app_id": "1700000001", "secret": "demo-app-secret",
                                "access_token": "demo-access-token", "refresh_token": "demo-refresh-token"}


@dataclass
class DemoSimulator:
    """One running simulator, the settings that point its source at it, and how to re-render it.

    `clock_settings` gives the settings that follow the clock (a source's last report day or event time),
    already in `environment` for the clock the simulator started at."""

    simulator: SimulatorBase
    environment: dict[str, str]
    rerender: Callable[[World, DigitalWorld, int], None]
    clock_settings: Callable[[int], dict[str, str]] = field(default=lambda now: {})


def _env(source: str, values: dict[str, str]) -> dict[str, str]:
    return {f"SOURCES__{source.upper()}__{key.upper()}": str(value) for key, value in values.items()}


def _lead_custom_fields(defaults: Mapping[str, str], field_name: str) -> str:
    """The demo's CUSTOM_FIELDS setting: the source's default lead map plus its 预算范围 field, as a team
    sets it (the setting replaces a resource's map, so the defaults are repeated)."""
    return json.dumps({"leads": {**defaults, field_name: custom_fields.MEANING}})


def _neocrm(world: World, digital: DigitalWorld, now: int) -> DemoSimulator:
    sim = NeocrmSimulator(neocrm_records.render(world, now), **DEMO_NEOCRM_CREDENTIALS).start()
    env = _env("neocrm", {"base_url": sim.base_url, "token_url": f"{sim.base_url}/auc/oauth2/token",
                          "custom_fields": _lead_custom_fields(
                              neocrm_settings.OBJECTS_BY_RESOURCE["leads"].custom_fields, custom_fields.NEOCRM_FIELD),
                          **DEMO_NEOCRM_CREDENTIALS})
    return DemoSimulator(sim, env, lambda w, d, now: sim.set_records(neocrm_records.render(w, now)))


def _wecom(world: World, digital: DigitalWorld, now: int) -> DemoSimulator:
    sim = WecomSimulator(wecom_records.render(world, digital, now), **DEMO_WECOM_CREDENTIALS).start()
    env = _env("wecom", {"base_url": sim.base_url, **DEMO_WECOM_CREDENTIALS})
    return DemoSimulator(sim, env, lambda w, d, now: sim.set_records(wecom_records.render(w, d, now)))


def _end_date(source: str) -> Callable[[int], dict[str, str]]:
    """A report source's last day: the clock's China day."""
    return lambda now: _env(source, {"end_date": business_day(now).isoformat()})


def _oceanengine(world: World, digital: DigitalWorld, now: int) -> DemoSimulator:
    # Both ad reports are made a day at a time as they are asked for, not held as rows.
    reports = oceanengine_records.reports_at(world, digital, now)
    sim = OceanengineSimulator(reports, **DEMO_OCEANENGINE_CREDENTIALS).start()
    env = _env("oceanengine", {"base_url": sim.base_url, "advertiser_ids": ",".join(map(str, reports)),
                               **DEMO_OCEANENGINE_CREDENTIALS})
    dated = _end_date("oceanengine")
    return DemoSimulator(sim, env | dated(now),
                         lambda w, d, at: sim.set_reports(oceanengine_records.reports_at(w, d, at)), dated)


def _baidu_sem(world: World, digital: DigitalWorld, now: int) -> DemoSimulator:
    sim = BaiduSemSimulator(baidu_sem_records.KeywordReport(world, digital, now), **DEMO_BAIDU_CREDENTIALS).start()
    user_ids = sorted({unit.account_id for unit in digital.ad_units if unit.platform == "baidu"})
    env = _env("baidu_sem", {"base_url": sim.base_url, "refresh_url": sim.refresh_url,
                             "user_ids": json.dumps(user_ids), **DEMO_BAIDU_CREDENTIALS})
    dated = _end_date("baidu_sem")
    return DemoSimulator(sim, env | dated(now),
                         lambda w, d, at: sim.set_rows(baidu_sem_records.KeywordReport(w, d, at)), dated)


def _salesforce(world: World, digital: DigitalWorld, now: int) -> DemoSimulator:
    credentials = {**DEMO_SALESFORCE_CREDENTIALS,
                   "password": DEMO_SALESFORCE_CREDENTIALS["password"] + DEMO_SALESFORCE_SECURITY_TOKEN}
    # LEADLOOP_DEMO_SALESFORCE_SHAPE: the org's features, e.g. field_history=off,campaigns=off,currency=USD.
    shape = OrgShape.from_environment()
    sim = SalesforceSimulator(salesforce_records.render(world, digital, now, shape=shape), shape=shape,
                              **credentials).start()
    env = _env("salesforce", {"login_url": sim.login_url, "security_token": DEMO_SALESFORCE_SECURITY_TOKEN,
                              "custom_fields": _lead_custom_fields(
                                  salesforce_settings.OBJECTS_BY_RESOURCE["leads"].custom_fields,
                                  custom_fields.SALESFORCE_FIELD),
                              **DEMO_SALESFORCE_CREDENTIALS})
    return DemoSimulator(sim, env, lambda w, d, at: sim.set_records(
        salesforce_records.render(w, d, at, shape=shape), shape))


def _sensors(world: World, digital: DigitalWorld, now: int) -> DemoSimulator:
    # Served from the world's events as they are asked for (a window at a time), not as a list of rows.
    events = sensors_records.SensorsEvents(digital)
    sim = SensorsSimulator(events.at(now), token=DEMO_SENSORS_TOKEN).start()
    env = _env("sensors", {"base_url": sim.base_url, "token": DEMO_SENSORS_TOKEN})

    def rerender(w: World, d: DigitalWorld, at: int) -> None:
        sim.set_rows((events if d is digital else sensors_records.SensorsEvents(d)).at(at))

    def dated(at: int) -> dict[str, str]:
        local = datetime.fromtimestamp(at / 1000, BUSINESS_TZ).strftime("%Y-%m-%d %H:%M:%S")
        return _env("sensors", {"end_time": local})

    return DemoSimulator(sim, env | dated(now), rerender, dated)


SIMULATOR_STARTERS: dict[str, Callable[[World, DigitalWorld, int], DemoSimulator]] = {
    "baidu_sem": _baidu_sem,
    "neocrm": _neocrm,
    "wecom": _wecom,
    "oceanengine": _oceanengine,
    "salesforce": _salesforce,
    "sensors": _sensors,
}


@dataclass
class DemoSources:
    """The running demo: its world, one simulator per source, and the alert receiver."""

    world: World
    digital: DigitalWorld
    alert_receiver: WecomRobotReceiver
    simulators: dict[str, DemoSimulator] = field(default_factory=dict)
    clock_ms: int | None = None  # the instant the simulators serve (None: the world's today)
    truth_dir: str | None = None  # where the truth at the clock is written (None: not written)
    exported: bool = False  # whether the sources' settings are in os.environ (then a clock move updates them)

    def __post_init__(self) -> None:
        if self.clock_ms is None:
            self.clock_ms = self.world.as_of_ms

    @property
    def clock(self) -> datetime:
        """The instant the simulators serve, as an aware datetime (UTC)."""
        return datetime.fromtimestamp((self.clock_ms or 0) / 1000, DEFAULT_AS_OF.tzinfo)

    def source_environment(self) -> dict[str, str]:
        """SOURCES__* settings that point every source at its simulator, and alerts (run failures and
        hot leads alike) at the receiver."""
        env = {"LEADLOOP_ALERT_WEBHOOK_URL": self.alert_receiver.webhook_url,
               "LEADLOOP_HOT_LEAD_WEBHOOK_URL": self.alert_receiver.webhook_url}
        for demo_simulator in self.simulators.values():
            env.update(demo_simulator.environment)
        return env

    def advance_clock(self, moment: int | datetime) -> None:
        """Serve the world as every platform shows it at `moment` (epoch ms or an aware datetime), e.g.
        the next night: every running simulator is re-rendered, the settings that follow the clock (the
        ad sources' last day, Sensors' end time) move with it, and the truth is written again at it.
        A simulator serves exactly what one started at `moment` serves."""
        moment_ms = moment if isinstance(moment, int) else to_ms(moment)
        self.clock_ms = moment_ms
        for demo_simulator in self.simulators.values():
            demo_simulator.rerender(self.world, self.digital, moment_ms)
            demo_simulator.environment.update(demo_simulator.clock_settings(moment_ms))
        if self.exported:
            os.environ.update(self.source_environment())
        if self.truth_dir is not None:
            write_truth(self.world, Path(self.truth_dir), moment_ms)

    def advance_to(self, as_of_ms: int) -> None:
        """Serve the world as every platform would show it at another instant (`advance_clock`)."""
        self.advance_clock(as_of_ms)

    def stop(self) -> None:
        """Stop every server."""
        for demo_simulator in self.simulators.values():
            demo_simulator.simulator.stop()
        self.alert_receiver.stop()


def demo_source_names(text: str | None = None) -> list[str]:
    """The platforms the demo company serves: LEADLOOP_DEMO_SOURCES (comma-separated source names,
    e.g. `salesforce,baidu_sem` for a Salesforce shop that buys Baidu ads), every platform when unset."""
    text = os.environ.get("LEADLOOP_DEMO_SOURCES", "") if text is None else text
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(names) - set(SIMULATOR_STARTERS))
    if unknown:
        raise ValueError(f"LEADLOOP_DEMO_SOURCES names unknown sources {unknown}; known: {sorted(SIMULATOR_STARTERS)}")
    return names or list(SIMULATOR_STARTERS)


def demo_parameters() -> tuple[int, float, datetime]:
    """Seed, scale and "today" of the demo company (LEADLOOP_DEMO_SEED / _SCALE / _AS_OF)."""
    seed = int(os.environ.get("LEADLOOP_DEMO_SEED", DEFAULT_SEED))
    scale = float(os.environ.get("LEADLOOP_DEMO_SCALE", "1"))
    as_of_text = os.environ.get("LEADLOOP_DEMO_AS_OF")
    as_of = datetime.fromisoformat(as_of_text) if as_of_text else DEFAULT_AS_OF
    if as_of.tzinfo is None:
        raise ValueError(f"LEADLOOP_DEMO_AS_OF={as_of_text!r} needs a time zone, e.g. 2026-11-20T18:00+00:00")
    return seed, scale, as_of


def demo_clock(world: World, text: str | None = None) -> int:
    """The instant the simulators start serving (epoch ms): LEADLOOP_DEMO_CLOCK, an aware ISO datetime
    (`2026-11-13T18:00+00:00`) or a number of days before the demo's today (`-7d`); the demo's today
    when unset. Never after the world's today: the world is generated up to it."""
    text = os.environ.get("LEADLOOP_DEMO_CLOCK", "") if text is None else text
    text = text.strip()
    if not text:
        return world.as_of_ms
    if text.startswith("-") and text.endswith("d"):
        try:
            return world.as_of_ms - round(float(text[1:-1]) * DAY_MS)
        except ValueError:
            pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"LEADLOOP_DEMO_CLOCK={text!r} is neither an ISO datetime with a time zone nor "
                         f"'-<days>d' (days before the demo's today)") from exc
    if moment.tzinfo is None:
        raise ValueError(f"LEADLOOP_DEMO_CLOCK={text!r} needs a time zone, e.g. 2026-11-13T18:00+00:00")
    if moment > world.as_of:
        raise ValueError(f"LEADLOOP_DEMO_CLOCK={text!r} is after the demo's today {world.as_of.isoformat()}: "
                         "set LEADLOOP_DEMO_AS_OF later, or the clock earlier")
    return to_ms(moment)


@contextmanager
def running_demo_sources(world: World | None = None, sources: Sequence[str] | None = None,
                         clock_ms: int | None = None) -> Iterator[DemoSources]:
    """Start the simulators of a demo world (of `sources` only, default demo_source_names()) and
    configure those sources while open; the others stay unconfigured, as at a team without them.
    The simulators serve the world as of `clock_ms` (default `demo_clock`: LEADLOOP_DEMO_CLOCK, else
    the world's today); `DemoSources.advance_clock` moves them on."""
    names = demo_source_names() if sources is None else demo_source_names(",".join(sources))
    if world is None:
        seed, scale, as_of = demo_parameters()
        world = simulate(seed=seed, scale=scale, as_of=as_of)
    now = demo_clock(world) if clock_ms is None else clock_ms
    if now > world.as_of_ms:
        raise ValueError(f"the demo clock {now} is after the world's today {world.as_of_ms}")
    truth_dir = settings.demo_truth_dir()
    write_truth(world, truth_dir, now)
    digital = simulate_digital(world)
    demo = DemoSources(world=world, digital=digital, alert_receiver=WecomRobotReceiver().start(),
                       clock_ms=now, truth_dir=str(truth_dir))
    try:
        for name, start in SIMULATOR_STARTERS.items():
            if name in names:
                demo.simulators[name] = start(world, digital, now)
        previous = {key: os.environ.get(key) for key in demo.source_environment()}
        os.environ.update(demo.source_environment())
        demo.exported = True
        try:
            yield demo
        finally:
            demo.exported = False
            for key, value in previous.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    finally:
        demo.stop()
