"""Which fields to select from an object: the field table and custom-field map, cut to the describe.

Orgs differ: field history, custom fields, multi-currency and field-level security all change
which fields an object has, and a SOQL naming a field the org lacks fails whole. So the query
names only fields the object's describe lists; a wanted field the org lacks is left out (its raw
column is then simply absent), and `CurrencyIsoCode` is added wherever the org has it.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from leadloop.extract.common.custom_fields import object_fields
from leadloop.extract.salesforce import settings
from leadloop.extract.salesforce.client import SOURCE_NAME

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FieldSelection:
    """The fields one run selects from an object, and what it had to leave out."""

    sobject: str
    fields: dict[str, str]  # wire name (as the describe spells it) → kind, in SELECT order
    rename: dict[str, str]  # wire name → loaded name, for custom fields
    missing_standard: tuple[str, ...] = ()
    missing_custom: tuple[str, ...] = ()

    @property
    def missing(self) -> tuple[str, ...]:
        """Every wanted field the org lacks."""
        return self.missing_standard + self.missing_custom


def select_fields(
    obj: settings.SalesforceObject,
    available: Collection[str],
    custom_fields: Mapping[str, str] | None = None,
) -> FieldSelection:
    """The wanted fields (settings table, custom map) that `available` (the describe) lists.

    Names match case-insensitively, as SOQL does, and are selected as the describe spells them,
    because the API keys its answers that way. CurrencyIsoCode is added when the org has it.
    """
    wanted, mapping = object_fields(SOURCE_NAME, obj, custom_fields)
    spelled = {name.lower(): name for name in available}
    fields: dict[str, str] = {}
    rename: dict[str, str] = {}
    missing_standard, missing_custom = [], []
    for name, kind in wanted.items():
        actual = spelled.get(name.lower())
        if actual is None:
            (missing_custom if name in mapping else missing_standard).append(name)
            continue
        fields[actual] = kind
        if name in mapping:
            rename[actual] = mapping[name]
    currency = spelled.get(settings.CURRENCY_FIELD.lower())
    if currency is not None and currency not in fields:
        fields[currency] = settings.STRING
    return FieldSelection(obj.sobject, fields, rename, tuple(missing_standard), tuple(missing_custom))


def required_fields(obj: settings.SalesforceObject) -> tuple[str, str]:
    """The fields a load cannot do without: the primary key and the cursor."""
    return settings.PRIMARY_KEY, obj.cursor


def log_missing(obj: settings.SalesforceObject, selection: FieldSelection) -> None:
    """One line naming the wanted fields the org lacks: WARNING when configured custom fields are
    among them (the setting may be stale), INFO when only standard fields are (an org's shape)."""
    if not selection.missing:
        return
    parts = []
    if selection.missing_custom:
        parts.append(
            f"custom fields {', '.join(selection.missing_custom)} (from SOURCES__SALESFORCE__CUSTOM_FIELDS"
            " or settings.py)"
        )
    if selection.missing_standard:
        parts.append(f"standard fields {', '.join(selection.missing_standard)}")
    level = logging.WARNING if selection.missing_custom else logging.INFO
    logger.log(
        level,
        "salesforce: %s lacks %s (or the API user may not see them); %s is loaded without those columns",
        obj.sobject, " and ".join(parts), obj.resource,
    )
