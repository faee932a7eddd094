"""The shape of a Salesforce org: which features, fields and objects it has, and its currency.

Real orgs differ: field history tracking may be off, campaigns unused, custom fields named
differently or absent, multi-currency on, field-level security hiding fields, objects missing.
`OrgShape` describes one org; the demo renderer (`leadloop.demo.salesforce_records.render`) shapes its
records by it and the simulator (`leadloop.demo.simulators.salesforce`) serves describes and answers SOQL
by it, so both always agree. The default shape is the demo org: everything on, CNY, one currency.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

Record = dict[str, Any]

WORLD_CURRENCY = "CNY"  # the demo world's amounts
CURRENCY_FIELD = "CurrencyIsoCode"
# Units of each currency one CNY buys: demo rates for rendering, not market data.
DEMO_CNY_RATES: Mapping[str, Decimal] = {
    "CNY": Decimal(1), "USD": Decimal("0.1380"), "EUR": Decimal("0.1270"), "HKD": Decimal("1.0780"),
    "SGD": Decimal("0.1850"), "JPY": Decimal("21.30"),
}
FIELD_HISTORY_OBJECTS = frozenset({"LeadHistory", "OpportunityFieldHistory"})
CAMPAIGN_OBJECTS = frozenset({"Campaign", "CampaignMember"})
# Objects that carry CurrencyIsoCode in a multi-currency org (history rows and the org itself do
# not; OpportunityHistory does). The source does not rely on this list: it reads the describe.
CURRENCY_OBJECTS = frozenset({
    "User", "Account", "Contact", "Lead", "Opportunity", "OpportunityHistory", "Campaign",
    "CampaignMember", "Task", "Event", "OpportunityContactRole",
})
# Money fields converted from the world's CNY into the org's currency.
AMOUNT_FIELDS = {"Opportunity": ("Amount",), "OpportunityHistory": ("Amount",)}
AMOUNT_HISTORY = ("OpportunityFieldHistory", "Amount")  # history rows whose Old/NewValue are amounts
# In a single-currency org the corporate currency is Organization.DefaultCurrencyIsoCode; a
# multi-currency org keeps it in CurrencyType instead (which field it keeps is unconfirmed).
ORG_CURRENCY = ("Organization", "DefaultCurrencyIsoCode")
SHAPE_ENV = "LEADLOOP_DEMO_SALESFORCE_SHAPE"


@dataclass(frozen=True)
class OrgShape:
    """Which features, fields and objects a Salesforce org has, and the currency its amounts are in.

    - field_history: off → LeadHistory and OpportunityFieldHistory have no rows.
    - campaigns: off → no Campaign / CampaignMember rows, Opportunity.CampaignId null.
    - custom_fields: off → no `…__c` field exists (describe omits them, SOQL naming one fails).
    - multi_currency / currency: amounts are rendered in `currency` (the corporate currency) from
      the world's CNY with `cny_rates` (units per CNY), rounded to cents; multi-currency adds a
      CurrencyIsoCode to every record of CURRENCY_OBJECTS.
    - empty_objects: objects with no rows; absent_objects: objects the org lacks altogether.
    - hidden_fields: "Object.Field" names field-level security hides from the API user.
    """

    field_history: bool = True
    campaigns: bool = True
    custom_fields: bool = True
    multi_currency: bool = False
    currency: str = WORLD_CURRENCY
    cny_rates: Mapping[str, Decimal] = field(default_factory=lambda: dict(DEMO_CNY_RATES), hash=False)
    empty_objects: frozenset[str] = frozenset()
    absent_objects: frozenset[str] = frozenset()
    hidden_fields: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        """Refuses a currency without a rate and malformed hidden field names."""
        if self.currency not in self.cny_rates:
            raise ValueError(f"OrgShape: no CNY→{self.currency} rate in cny_rates {sorted(self.cny_rates)}")
        bad = sorted(name for name in self.hidden_fields if name.count(".") != 1)
        if bad:
            raise ValueError(f"OrgShape: hidden_fields must be Object.Field names, got {bad}")

    def has_object(self, sobject: str) -> bool:
        """Whether the org has the object at all (describe, SOQL)."""
        return sobject not in self.absent_objects

    def has_rows(self, sobject: str) -> bool:
        """Whether the object's rows are served (features on, not forced empty)."""
        return not (
            sobject in self.empty_objects
            or not self.has_object(sobject)
            or (not self.field_history and sobject in FIELD_HISTORY_OBJECTS)
            or (not self.campaigns and sobject in CAMPAIGN_OBJECTS)
        )

    def has_field(self, sobject: str, name: str) -> bool:
        """Whether the org's `sobject` has field `name` visible to the API user."""
        if f"{sobject}.{name}" in self.hidden_fields:
            return False
        if name.endswith("__c"):
            return self.custom_fields
        if name == CURRENCY_FIELD:
            return self.multi_currency and sobject in CURRENCY_OBJECTS
        if (sobject, name) == ORG_CURRENCY:
            return not self.multi_currency
        return True

    def fields_of(self, sobject: str, base: Iterable[str]) -> list[str]:
        """The org's fields of an object: `base` cut to the shape, plus CurrencyIsoCode if it has one."""
        names = [name for name in dict.fromkeys(base) if self.has_field(sobject, name)]
        if self.has_field(sobject, CURRENCY_FIELD) and CURRENCY_FIELD not in names:
            names.append(CURRENCY_FIELD)
        return names

    def amount(self, cny: float | None) -> float | None:
        """A CNY amount in the org's currency, rounded half-up to cents (JSON has no decimals)."""
        if cny is None:
            return None
        converted = Decimal(str(cny)) * self.cny_rates[self.currency]
        return float(converted.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))

    @classmethod
    def parse(cls, text: str) -> OrgShape:
        """A shape from `key=value` pairs, e.g. `field_history=off,currency=USD,empty=Task+Event`.

        Keys: field_history, campaigns, custom_fields, multi_currency (on/off), currency, and
        empty / absent / hidden (`+`-separated names). Unknown keys are refused.
        """
        shape = cls()
        for pair in filter(None, (part.strip() for part in text.split(","))):
            key, _, value = pair.partition("=")
            shape = _with_setting(shape, key.strip(), value.strip())
        return shape

    @classmethod
    def from_environment(cls) -> OrgShape:
        """The shape named by LEADLOOP_DEMO_SALESFORCE_SHAPE (`parse` syntax); the default if unset."""
        return cls.parse(os.environ.get(SHAPE_ENV, ""))


DEFAULT_SHAPE = OrgShape()
_SWITCHES = ("field_history", "campaigns", "custom_fields", "multi_currency")
_SETS = {"empty": "empty_objects", "absent": "absent_objects", "hidden": "hidden_fields"}


def _with_setting(shape: OrgShape, key: str, value: str) -> OrgShape:
    """`shape` with one parsed setting changed; errors name the environment variable."""
    if key in _SWITCHES and value.lower() in ("on", "off", "true", "false"):
        return replace(shape, **{key: value.lower() in ("on", "true")})
    if key == "currency" and value:
        return replace(shape, currency=value.upper())
    if key in _SETS:
        return replace(shape, **{_SETS[key]: frozenset(filter(None, value.split("+")))})
    raise ValueError(
        f"{SHAPE_ENV}: cannot read {key}={value!r}; use on/off for {', '.join(_SWITCHES)},"
        f" a currency code for currency, and +-separated names for {', '.join(_SETS)}"
    )


def apply_shape(records: Mapping[str, list[Record]], shape: OrgShape) -> dict[str, list[Record]]:
    """The demo org's records as an org of `shape` shows them (the default shape changes nothing)."""
    if shape == DEFAULT_SHAPE:
        return dict(records)
    return {
        sobject: [_shaped_row(sobject, row, shape) for row in rows] if shape.has_rows(sobject) else []
        for sobject, rows in records.items()
    }


def _shaped_row(sobject: str, row: Record, shape: OrgShape) -> Record:
    """One record cut to the org's fields, amounts in its currency, CurrencyIsoCode where it has one."""
    shaped = {name: value for name, value in row.items() if shape.has_field(sobject, name)}
    if not shape.campaigns and "CampaignId" in shaped:
        shaped["CampaignId"] = None
    for name in AMOUNT_FIELDS.get(sobject, ()):
        if name in shaped:
            shaped[name] = shape.amount(shaped[name])
    if (sobject, shaped.get("Field")) == AMOUNT_HISTORY:
        shaped["OldValue"], shaped["NewValue"] = shape.amount(row["OldValue"]), shape.amount(row["NewValue"])
    if shape.has_field(sobject, CURRENCY_FIELD):
        shaped[CURRENCY_FIELD] = shape.currency
    if (sobject, ORG_CURRENCY[1]) == ORG_CURRENCY and ORG_CURRENCY[1] in shaped:
        shaped[ORG_CURRENCY[1]] = shape.currency
    return shaped
