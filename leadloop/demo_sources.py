"""The built-in demo company served by local simulators, wired into the sources' config.

Used by `leadloop demo`, `leadloop ui` and the tests: it generates the world, writes its ground
truth outside the warehouse, starts one simulator per source on 127.0.0.1 and points each
source's SOURCES__<NAME>__* settings at it for as long as the context is open.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from demo.neocrm_records import render as render_neocrm
from demo.simulators.neocrm import NeocrmSimulator
from demo.simulators.wecom_robot import WecomRobotReceiver
from demo.truth import write_truth
from demo.world import DEFAULT_AS_OF, DEFAULT_SEED, World, simulate
from leadloop import settings

# The simulators' own credentials: demo-only values, never real secrets.
DEMO_NEOCRM_CREDENTIALS = {
    "client_id": "leadloop-demo",
    "client_secret": "demo-secret",
    "username": "demo@leadloop.cn",
    "password": "demo-password",
}


@dataclass
class DemoSources:
    """The running demo: its world and its simulators."""

    world: World
    neocrm: NeocrmSimulator
    alert_receiver: WecomRobotReceiver

    def source_environment(self) -> dict[str, str]:
        """SOURCES__* settings that point every source at its simulator, and alerts at the receiver."""
        env = {
            "LEADLOOP_ALERT_WEBHOOK_URL": self.alert_receiver.webhook_url,
            "SOURCES__NEOCRM__BASE_URL": self.neocrm.base_url,
            "SOURCES__NEOCRM__TOKEN_URL": f"{self.neocrm.base_url}/auc/oauth2/token",
        }
        env.update({f"SOURCES__NEOCRM__{k.upper()}": v for k, v in DEMO_NEOCRM_CREDENTIALS.items()})
        return env


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
def running_demo_sources(world: World | None = None, port: int = 0) -> Iterator[DemoSources]:
    """Start the simulators for a demo world and set the sources' environment while open."""
    if world is None:
        seed, scale, as_of = demo_parameters()
        world = simulate(seed=seed, scale=scale, as_of=as_of)
    write_truth(world, settings.demo_truth_dir())
    neocrm = NeocrmSimulator(render_neocrm(world), port=port, **DEMO_NEOCRM_CREDENTIALS).start()
    demo = DemoSources(world=world, neocrm=neocrm, alert_receiver=WecomRobotReceiver().start())
    previous = {key: os.environ.get(key) for key in demo.source_environment()}
    os.environ.update(demo.source_environment())
    try:
        yield demo
    finally:
        neocrm.stop()
        demo.alert_receiver.stop()
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
