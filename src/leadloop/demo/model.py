"""What the demo company's world is made of: people, accounts, opportunities, journeys, and the
clock they run on. `leadloop.demo.world` plays the world forward; `leadloop.demo.identity` adds the mess real data
has; renderers show it as each platform would. Every other demo module reads these types."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from leadloop.demo import catalog

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")
DAY_MS = 86_400_000
DEFAULT_SEED = 20260101
DEFAULT_START = datetime(2025, 1, 1, tzinfo=UTC)
# The demo's "today": fixed, so that every run of the demo sees the same world.
DEFAULT_AS_OF = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
ACCOUNTS_PER_SCALE = 300

# Object id ranges, so ids look like 销售易's long integers and never collide across objects.
ID_BASE = {
    "user": 1_100_000_000_000, "account": 1_200_000_000_000, "contact": 1_300_000_000_000,
    "lead": 1_400_000_000_000, "opportunity": 1_500_000_000_000, "payment": 1_600_000_000_000,
    "leadHistory": 1_700_000_000_000, "opportunityStageHistory": 1_800_000_000_000,
}


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime (the CRM's wire unit)."""
    return int(moment.timestamp() * 1000)


@dataclass
class Person:
    """A real human being at an account; the truth that identity stitching must recover."""

    person_id: str
    name: str
    role: str
    mobile: str
    email: str | None
    contact_id: int | None = None
    contact_created_at: int | None = None
    lead_mobile: str | None = None  # the phone on their leads and forms when it differs from `mobile`


@dataclass
class Account:
    """A company in the demo world."""

    account_id: int
    name: str
    industry: str
    province: str
    city: str
    employees: int
    owner_id: int
    created_at: int
    committee: list[Person] = field(default_factory=list)
    uscc: str | None = None  # 统一社会信用代码
    domain: str | None = None  # corporate e-mail domain
    switchboard: str | None = None  # 总机: typed as the phone of anybody at the company
    shared_mailbox: str | None = None  # info@…: the e-mail of people with none of their own
    parent_account_id: int | None = None  # set on a branch office (分公司)


@dataclass
class Opportunity:
    """A deal with its stage history (timestamped stage entries) and outcome."""

    opportunity_id: int
    account_id: int
    owner_id: int
    name: str
    source: str
    deal_type: str
    estimate: float
    created_at: int
    stage_events: list[tuple[int, int]] = field(default_factory=list)  # (entered at ms, stage id)
    won_amount: float | None = None
    lost_reason: str | None = None
    payments: list[tuple[int, float]] = field(default_factory=list)  # (paid at ms, amount)
    lead_id: int | None = None
    planned_stages: tuple[int, ...] = ()  # the stages after 初步接洽 it goes through unless lost on the way

    @property
    def closed_at(self) -> int | None:
        """When the deal entered 赢单 or 输单, if it ever did."""
        last_at, last_stage = self.stage_events[-1]
        return last_at if last_stage in (catalog.STAGE_WON, catalog.STAGE_LOST) else None


@dataclass
class Journey:
    """One path of one person from lead to close: the unit of the funnel."""

    lead_id: int
    person: Person
    account: Account
    channel: catalog.Channel
    lead_source: str
    utm: dict[str, str | None]
    owner_id: int
    created_at: int
    status_events: list[tuple[int, str]] = field(default_factory=list)  # (changed at ms, status)
    converted_at: int | None = None
    opportunity: Opportunity | None = None
    typed_mobile: str = ""  # the phone as typed into this lead (formatting, placeholders)
    typed_company: str = ""  # the company as typed into this lead

    @property
    def typed_email(self) -> str | None:
        """The e-mail on this lead: the person's own, else the company's shared mailbox."""
        return self.person.email or self.account.shared_mailbox


@dataclass
class World:
    """Everything the demo company ever does, up to the end of the simulated horizon."""

    seed: int
    scale: float
    start: datetime
    as_of: datetime
    users: list[tuple[int, str, str, str]]
    accounts: list[Account]
    journeys: list[Journey]
    opportunities: list[Opportunity]

    @property
    def as_of_ms(self) -> int:
        """The demo's "today" in epoch milliseconds."""
        return to_ms(self.as_of)
