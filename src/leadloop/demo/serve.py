"""The built-in demo company served by local simulators, wired into the sources' config.

Used by `leadloop demo`, `leadloop ui` and the tests: it generates the world, writes its ground
truth outside the warehouse, starts one simulator per source on 127.0.0.1 and points each
source's SOURCES__<NAME>__* settings at it for as long as the context is open.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

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
from leadloop.demo.model import BUSINESS_TZ, DEFAULT_AS_OF, DEFAULT_SEED, World
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
    """One running simulator, the settings that point its source at it, and how to re-render it."""

    simulator: SimulatorBase
    environment: dict[str, str]
    rerender: Callable[[World, DigitalWorld, int], None]


def _env(source: str, values: dict[str, str]) -> dict[str, str]:
    return {f"SOURCES__{source.upper()}__{key.upper()}": str(value) for key, value in values.items()}


def _lead_custom_fields(defaults: Mapping[str, str], field_name: str) -> str:
    """The demo's CUSTOM_FIELDS setting: the source's default lead map plus its 预算范围 field, as a team
    sets it (the setting replaces a resource's map, so the defaults are repeated)."""
    return json.dumps({"leads": {**defaults, field_name: custom_fields.MEANING}})


def _neocrm(world: World, digital: DigitalWorld) -> DemoSimulator:
    sim = NeocrmSimulator(neocrm_records.render(world), **DEMO_NEOCRM_CREDENTIALS).start()
    env = _env("neocrm", {"base_url": sim.base_url, "token_url": f"{sim.base_url}/auc/oauth2/token",
                          "custom_fields": _lead_custom_fields(
                              neocrm_settings.OBJECTS_BY_RESOURCE["leads"].custom_fields, custom_fields.NEOCRM_FIELD),
                          **DEMO_NEOCRM_CREDENTIALS})
    return DemoSimulator(sim, env, lambda w, d, now: sim.set_records(neocrm_records.render(w, now)))


def _wecom(world: World, digital: DigitalWorld) -> DemoSimulator:
    sim = WecomSimulator(wecom_records.render(world, digital), **DEMO_WECOM_CREDENTIALS).start()
    env = _env("wecom", {"base_url": sim.base_url, **DEMO_WECOM_CREDENTIALS})
    return DemoSimulator(sim, env, lambda w, d, now: sim.set_records(wecom_records.render(w, d, now)))


def _oceanengine(world: World, digital: DigitalWorld) -> DemoSimulator:
    reports = oceanengine_records.render(world, digital)
    sim = OceanengineSimulator(reports, **DEMO_OCEANENGINE_CREDENTIALS).start()
    env = _env("oceanengine", {"base_url": sim.base_url, "advertiser_ids": ",".join(map(str, reports)),
                               "end_date": business_day(world.as_of_ms).isoformat(),
                               **DEMO_OCEANENGINE_CREDENTIALS})
    return DemoSimulator(sim, env, lambda w, d, now: sim.set_reports(oceanengine_records.render(w, d, now)))


def _baidu_sem(world: World, digital: DigitalWorld) -> DemoSimulator:
    rows = baidu_sem_records.render(world, digital)
    sim = BaiduSemSimulator(rows, **DEMO_BAIDU_CREDENTIALS).start()
    user_ids = sorted({unit.account_id for unit in digital.ad_units if unit.platform == "baidu"})
    env = _env("baidu_sem", {"base_url": sim.base_url, "refresh_url": sim.refresh_url,
                             "user_ids": json.dumps(user_ids), "end_date": business_day(world.as_of_ms).isoformat(),
                             **DEMO_BAIDU_CREDENTIALS})
    return DemoSimulator(sim, env, lambda w, d, now: sim.set_rows(baidu_sem_records.render(w, d, now)))


def _salesforce(world: World, digital: DigitalWorld) -> DemoSimulator:
    credentials = {**DEMO_SALESFORCE_CREDENTIALS,
                   "password": DEMO_SALESFORCE_CREDENTIALS["password"] + DEMO_SALESFORCE_SECURITY_TOKEN}
    # LEADLOOP_DEMO_SALESFORCE_SHAPE: the org's features, e.g. field_history=off,campaigns=off,currency=USD.
    shape = OrgShape.from_environment()
    sim = SalesforceSimulator(salesforce_records.render(world, digital, shape=shape), shape=shape,
                              **credentials).start()
    env = _env("salesforce", {"login_url": sim.login_url, "security_token": DEMO_SALESFORCE_SECURITY_TOKEN,
                              "custom_fields": _lead_custom_fields(
                                  salesforce_settings.OBJECTS_BY_RESOURCE["leads"].custom_fields,
                                  custom_fields.SALESFORCE_FIELD),
                              **DEMO_SALESFORCE_CREDENTIALS})
    return DemoSimulator(sim, env, lambda w, d, now: sim.set_records(
        salesforce_records.render(w, d, now, shape=shape), shape))


def _sensors(world: World, digital: DigitalWorld) -> DemoSimulator:
    sim = SensorsSimulator(sensors_records.render(world, digital), token=DEMO_SENSORS_TOKEN).start()
    local_today = world.as_of.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M:%S")
    env = _env("sensors", {"base_url": sim.base_url, "token": DEMO_SENSORS_TOKEN, "end_time": local_today})
    return DemoSimulator(sim, env, lambda w, d, now: sim.set_rows(sensors_records.render(w, d, now)))


SIMULATOR_STARTERS: dict[str, Callable[[World, DigitalWorld], DemoSimulator]] = {
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

    def source_environment(self) -> dict[str, str]:
        """SOURCES__* settings that point every source at its simulator, and alerts (run failures and
        hot leads alike) at the receiver."""
        env = {"LEADLOOP_ALERT_WEBHOOK_URL": self.alert_receiver.webhook_url,
               "LEADLOOP_HOT_LEAD_WEBHOOK_URL": self.alert_receiver.webhook_url}
        for demo_simulator in self.simulators.values():
            env.update(demo_simulator.environment)
        return env

    def advance_to(self, as_of_ms: int) -> None:
        """Serve the world as every platform would show it at a later instant (a new day)."""
        for demo_simulator in self.simulators.values():
            demo_simulator.rerender(self.world, self.digital, as_of_ms)

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


@contextmanager
def running_demo_sources(world: World | None = None, sources: Sequence[str] | None = None) -> Iterator[DemoSources]:
    """Start the simulators of a demo world (of `sources` only, default demo_source_names()) and
    configure those sources while open; the others stay unconfigured, as at a team without them."""
    names = demo_source_names() if sources is None else demo_source_names(",".join(sources))
    if world is None:
        seed, scale, as_of = demo_parameters()
        world = simulate(seed=seed, scale=scale, as_of=as_of)
    write_truth(world, settings.demo_truth_dir())
    digital = simulate_digital(world)
    demo = DemoSources(world=world, digital=digital, alert_receiver=WecomRobotReceiver().start())
    try:
        for name, start in SIMULATOR_STARTERS.items():
            if name in names:
                demo.simulators[name] = start(world, digital)
        previous = {key: os.environ.get(key) for key in demo.source_environment()}
        os.environ.update(demo.source_environment())
        try:
            yield demo
        finally:
            for key, value in previous.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    finally:
        demo.stop()
