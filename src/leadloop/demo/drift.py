"""Schema drift a simulator can serve (issue 15): a platform's records change shape from one night to the next.

Four kinds, each on one field of a record (a dotted path reaches into nested objects, e.g. `metrics.click_cnt`
for Ocean Engine or `follow_info.remark` for WeCom):

- `new_field`: the record carries a field it never had;
- `retyped`: a number arrives as its text (`"1234"`), or a text arrives as an object (`{"zh": "…"}`);
- `dropped`: the field is no longer sent;
- `renamed`: the field arrives under another name (the old name is gone).

A simulator applies its drifts to the records it answers with (`SimulatorBase.set_drift`), after it has picked
and projected them, so the drift is what goes over the wire whatever the extractor asked for.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

Record = Mapping[str, Any]


class DriftKind(StrEnum):
    """The four ways a platform's records drift."""

    NEW_FIELD = "new_field"
    RETYPED = "retyped"
    DROPPED = "dropped"
    RENAMED = "renamed"


def as_text(value: Any) -> Any:
    """A number as the text a platform would send it as ("1234", "12.5"); anything else unchanged."""
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def as_object(value: Any) -> Any:
    """A text wrapped in an object, as a platform that turns a label into a translated one would send it."""
    return {"zh": value, "en": None} if isinstance(value, str) else value


@dataclass(frozen=True)
class Drift:
    """One change to the records of one object: `kind` on the field at `path`.

    `value` is the new field's value (`new_field`, a constant or a function of the record) or the function
    that retypes the old value (`retyped`); `new_name` the field's name after `renamed`; `where` picks the
    records that drift (all when None).
    """

    kind: DriftKind
    path: str
    value: Any = None
    new_name: str | None = None
    where: Callable[[Record], bool] | None = None

    def apply(self, record: Any) -> Any:
        """The record as the drifted platform sends it (a copy; the simulator's own records stay as they are)."""
        if not isinstance(record, Mapping) or (self.where is not None and not self.where(record)):
            return record
        drifted = copy.deepcopy(dict(record))
        *parents, name = self.path.split(".")
        holder: Any = drifted
        for step in parents:
            holder = holder.get(step) if isinstance(holder, dict) else None
        if not isinstance(holder, dict):
            return drifted
        if self.kind is DriftKind.NEW_FIELD:
            holder[name] = self.value(record) if callable(self.value) else self.value
        elif name not in holder:
            return drifted
        elif self.kind is DriftKind.RETYPED:
            holder[name] = self.value(holder[name])
        elif self.kind is DriftKind.DROPPED:
            del holder[name]
        elif self.kind is DriftKind.RENAMED:
            holder[str(self.new_name)] = holder.pop(name)
        return drifted


def new_field(path: str, value: Any, where: Callable[[Record], bool] | None = None) -> Drift:
    """Records start carrying `path` (its value a constant or a function of the record)."""
    return Drift(DriftKind.NEW_FIELD, path, value=value, where=where)


def number_as_text(path: str, where: Callable[[Record], bool] | None = None) -> Drift:
    """A numeric field arrives as its text."""
    return Drift(DriftKind.RETYPED, path, value=as_text, where=where)


def text_as_object(path: str, where: Callable[[Record], bool] | None = None) -> Drift:
    """A text field arrives as an object."""
    return Drift(DriftKind.RETYPED, path, value=as_object, where=where)


def dropped(path: str, where: Callable[[Record], bool] | None = None) -> Drift:
    """A field is no longer sent."""
    return Drift(DriftKind.DROPPED, path, where=where)


def renamed(path: str, new_name: str, where: Callable[[Record], bool] | None = None) -> Drift:
    """A field arrives under `new_name`; its old name is gone."""
    return Drift(DriftKind.RENAMED, path, new_name=new_name, where=where)


def drift_records(records: Iterable[Any], drifts: Iterable[Drift]) -> list[Any]:
    """Every record with every drift applied, in order."""
    drifts = tuple(drifts)
    out = []
    for record in records:
        for drift in drifts:
            record = drift.apply(record)
        out.append(record)
    return out
