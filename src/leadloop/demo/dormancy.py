"""What a demo company was at an instant — new, active or dormant — as the demo company reads it.

A company has bought when a payment of one of its deals arrived or a deal of it was won (a deal won but
not yet paid counts as bought when it was won). At an instant it is new when it had never bought, active
when it bought within the dormancy period before it (a purchase exactly that long before included) or a
deal of it was open (created at or before the instant, not closed before it), and dormant otherwise.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from datetime import UTC, datetime

from leadloop.demo import catalog
from leadloop.demo.model import Opportunity, World, to_ms

DORMANT_AFTER_MONTHS = 18  # the warehouse's default (dbt var dormant_account_after_months)


def months_before(moment_ms: int, months: int) -> int:
    """The same wall-clock time `months` calendar months earlier (UTC), the day clamped to the month's end."""
    moment = datetime.fromtimestamp(moment_ms / 1000, UTC)
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return to_ms(moment.replace(year=year, month=month + 1, day=day))


def won_at(opportunity: Opportunity) -> int | None:
    """When the deal entered 赢单, if it did."""
    return next((at for at, stage in opportunity.stage_events if stage == catalog.STAGE_WON), None)


class AccountHistory:
    """Every company's purchases and deals, to say what it was at any instant."""

    def __init__(self, world: World, payments: bool = True) -> None:
        """`payments`: whether the CRM records payments (销售易 does; Salesforce has no payments object, so a
        team on Salesforce alone sees deals won only)."""
        self.purchases: dict[int, list[int]] = defaultdict(list)
        self.deals: dict[int, list[Opportunity]] = defaultdict(list)
        for opportunity in world.opportunities:
            self.deals[opportunity.account_id].append(opportunity)
            if payments:
                self.purchases[opportunity.account_id] += [at for at, _ in opportunity.payments]
            if (won := won_at(opportunity)) is not None:
                self.purchases[opportunity.account_id].append(won)

    def status_at(self, account_id: int, moment_ms: int, months: int = DORMANT_AFTER_MONTHS) -> str:
        """new, active or dormant at `moment_ms`."""
        bought = [at for at in self.purchases[account_id] if at <= moment_ms]
        if not bought:
            return "new"
        if any(self.is_open_at(deal, moment_ms) for deal in self.deals[account_id]):
            return "active"
        return "active" if max(bought) >= months_before(moment_ms, months) else "dormant"

    @staticmethod
    def is_open_at(deal: Opportunity, moment_ms: int) -> bool:
        """Created at or before the instant and not closed before it."""
        closed = deal.closed_at
        return deal.created_at <= moment_ms and (closed is None or closed >= moment_ms)

    def last_opened_ms(self, account_id: int) -> int | None:
        """When the company's latest deal was created, if it has any."""
        return max((deal.created_at for deal in self.deals[account_id]), default=None)
