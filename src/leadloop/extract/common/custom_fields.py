"""Which fields a CRM object is read with: its field table, with the tenant's custom-field map on top.

CRMs (销售易, Salesforce) let each tenant add custom fields (`customItem12__c`, `Lead_Score__c`)
that leadloop gives a meaning (`lead_score`). The settings table names a default map per object;
the `custom_fields` setting replaces it per resource.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Protocol

from leadloop.extract.common.arrow import TEXT
from leadloop.extract.common.config import setting_env_var


class CrmObject(Protocol):
    """What an object of a CRM settings table offers (NeocrmObject, SalesforceObject)."""

    @property
    def resource(self) -> str: ...

    @property
    def fields(self) -> Mapping[str, str]: ...

    @property
    def custom_fields(self) -> Mapping[str, str]: ...


def object_fields(
    source: str, obj: CrmObject, custom_fields: Mapping[str, str] | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """(wire fields wanted with their types, wire → loaded renames) for one object.

    `custom_fields` replaces the object's settings map: custom fields it leaves out are not
    selected (the tenant may not have them), new ones are read as text.
    """
    mapping = dict(obj.custom_fields if custom_fields is None else custom_fields)
    fields = {
        name: kind for name, kind in obj.fields.items() if name not in obj.custom_fields or name in mapping
    }
    fields.update({name: TEXT for name in mapping if name not in fields})
    loaded = [mapping.get(name, name) for name in fields]
    if len(set(loaded)) != len(loaded):
        raise ValueError(
            f"{source}: {setting_env_var(source, 'custom_fields')} gives {obj.resource} two columns"
            " of the same name"
        )
    return fields, mapping


def custom_field_maps(
    source: str, custom_fields: Mapping[str, Mapping[str, str]] | None, known: Collection[str]
) -> Mapping[str, Mapping[str, str]]:
    """The `custom_fields` setting, per resource (empty when unset); refuses resources that do not
    exist, naming the setting."""
    maps = custom_fields or {}
    unknown = sorted(set(maps) - set(known))
    if unknown:
        raise ValueError(
            f"{source}: {setting_env_var(source, 'custom_fields')} names unknown resources {unknown};"
            f" known: {sorted(known)}"
        )
    return maps
