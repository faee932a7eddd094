"""Who mart_hot_leads must call hot because their dormant company came back (mart_hot_leads' truth).

Read from the world and its digital traces alone (`touch_truth`, `dormancy`), never from the warehouse: a
person of a company is hot from their first re-engaging touch (a visit, an ad click, a form, a content
read, a webinar, a WeCom add) made while the company was dormant, unless the company opened a deal after
that touch (sales has picked it up). With `sources`, as a team with only those platforms sees it: their
touches only, and payments only where 销售易 (the CRM that records them) is among them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from leadloop.demo.digital import DigitalWorld
from leadloop.demo.dormancy import DORMANT_AFTER_MONTHS, AccountHistory
from leadloop.demo.model import World
from leadloop.demo.touch_truth import Touch, touches_truth

REENGAGING_TOUCHES = frozenset(
    ("web_session", "content_read", "wecom_add", "form_submit", "ad_click", "webinar_attend"))


@dataclass(frozen=True)
class HotComeback:
    """A person hot because their dormant company touched us again, and the touch that did it."""

    person_id: str
    account_id: int
    touch: Touch


def person_accounts(world: World) -> dict[str, int]:
    """person id → the company whose buying committee they sit on."""
    return {person.person_id: account.account_id for account in world.accounts for person in account.committee}


def _history(world: World, sources: Collection[str] | None) -> AccountHistory:
    """The companies' purchases as the configured CRMs record them (payments only in 销售易)."""
    return AccountHistory(world, payments=sources is None or "neocrm" in sources)


def touch_statuses(world: World, digital: DigitalWorld, months: int = DORMANT_AFTER_MONTHS,
                   sources: Collection[str] | None = None, now: int | None = None) -> list[tuple[Touch, int, str]]:
    """Every re-engaging touch (known at `now`, default the demo's today) of a person of a company, with
    the company and what it was at the touch."""
    history = _history(world, sources)
    accounts = person_accounts(world)
    return [(touch, accounts[touch.person_id], history.status_at(accounts[touch.person_id], touch.at_ms, months))
            for touch in touches_truth(world, digital, now, sources=sources)
            if touch.touch_type in REENGAGING_TOUCHES and touch.person_id in accounts]


def dormant_comebacks(world: World, digital: DigitalWorld, months: int = DORMANT_AFTER_MONTHS,
                      sources: Collection[str] | None = None, now: int | None = None) -> dict[str, HotComeback]:
    """person id → why they are hot for dormant_account_reengaged (the first qualifying touch known at
    `now`, default the demo's today)."""
    history = _history(world, sources)
    hot: dict[str, HotComeback] = {}
    for touch, account_id, status in sorted(touch_statuses(world, digital, months, sources, now),
                                            key=lambda t: t[0].at_ms):
        last_opened = history.last_opened_ms(account_id)
        if status != "dormant" or (last_opened is not None and last_opened >= touch.at_ms):
            continue
        hot.setdefault(touch.person_id, HotComeback(touch.person_id, account_id, touch))
    return hot


def account_statuses(world: World, months: int = DORMANT_AFTER_MONTHS, now: int | None = None) -> dict[int, str]:
    """account id → what every company is at `now` (default: the demo's today)."""
    history = AccountHistory(world)
    moment = world.as_of_ms if now is None else now
    return {account.account_id: history.status_at(account.account_id, moment, months)
            for account in world.accounts}
