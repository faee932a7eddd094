"""What a warehouse was built from — which platforms, which ad-report days — and the demo company's
truth as such a warehouse must show it.

A team with Salesforce alone has no web visits, no WeCom adds and no ad spend in its marts; its
journeys are the same journeys, named by Salesforce ids. `Truth` computes every expectation from the
simulated world (leadloop.demo.truth, leadloop.demo.touch_truth, tests.support.*_truth), never from the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from typing import Any

from leadloop.demo.digital import DigitalWorld, business_day
from leadloop.demo.model import World
from leadloop.demo.touch_truth import Touch, touches_truth
from leadloop.demo.truth import journeys_truth, opportunity_truth
from leadloop.extract.common.reports import RESTATEMENT_DAYS
from tests.support.crm_keys import CRM_PRECEDENCE, naming_crm
from tests.support.marketing_truth import FIRST_REPORT_DAY, loaded_ad_days

ALL_SOURCES = frozenset({"baidu_sem", "neocrm", "oceanengine", "salesforce", "sensors", "wecom"})


@dataclass(frozen=True)
class Scope:
    """The platforms a warehouse was loaded from and the ad-report days its nights covered."""

    sources: frozenset[str]
    first_ad_day: date
    last_ad_day: date

    @classmethod
    def demo_night(cls, world: World, sources: frozenset[str] = ALL_SOURCES) -> Scope:
        """`leadloop demo`: every report day from the first partition to the demo's yesterday."""
        return cls(sources, FIRST_REPORT_DAY, business_day(world.as_of_ms) - timedelta(days=1))

    @classmethod
    def production_night(cls, world: World, sources: frozenset[str]) -> Scope:
        """`leadloop night` on the demo's today: yesterday's report day and the restatement window."""
        yesterday = business_day(world.as_of_ms) - timedelta(days=1)
        return cls(sources, yesterday - timedelta(days=RESTATEMENT_DAYS - 1), yesterday)

    @property
    def crms(self) -> list[str]:
        """The CRMs configured, in var crm_precedence order."""
        return [crm for crm in CRM_PRECEDENCE if crm in self.sources]

    @property
    def naming_crm(self) -> str | None:
        """The CRM whose ids name journeys and deals (None without a CRM)."""
        return naming_crm(self.crms) if self.crms else None


class Truth:
    """The demo company's truth as a warehouse of `scope` must show it."""

    def __init__(self, world: World, digital: DigitalWorld, scope: Scope) -> None:
        self.world, self.digital, self.scope = world, digital, scope

    @cached_property
    def touches(self) -> list[Touch]:
        """Every touch the configured platforms record of a known person."""
        return touches_truth(self.world, self.digital, sources=self.scope.sources)

    @cached_property
    def journeys(self) -> list[dict[str, Any]]:
        """Every journey (none without a CRM)."""
        return journeys_truth(self.world) if self.scope.crms else []

    @cached_property
    def opportunities(self) -> list[dict[str, Any]]:
        """Every opportunity, sourced and influenced by the touches the warehouse can see."""
        return opportunity_truth(self.world, touches=self.touches) if self.scope.crms else []

    @cached_property
    def ad_days(self) -> dict[tuple, dict[str, Any]]:
        """fct_ad_performance_daily's rows: the configured ad platforms' days the nights loaded."""
        return loaded_ad_days(self.world, self.digital, last=self.scope.last_ad_day, first=self.scope.first_ad_day,
                              platforms=self.scope.sources)
