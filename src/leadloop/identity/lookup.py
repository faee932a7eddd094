"""Who a record seen after the night is: the one place that matches live records to stitched persons.

A record's identifiers are named exactly as the identity graph names them (`<type>:<normalised value>`,
see observations.py: the record itself, its ids in other systems, its phones and e-mails) and matched
by their salted md5 (the marts' key, leadloop.privacy.salt) against the published
`bridge_customer_identifiers.identifier_hash`, never by their clear value, since the marts hold personal
data only hashed. Identifiers the graph excluded (blocked placeholders, hubs) match nobody.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from leadloop.identity import normalize
from leadloop.privacy.salt import marts_hash, marts_hash_key

Query = Callable[[str], tuple[list[str], list[tuple]]]
_NORMALIZERS = {"phone": normalize.normalize_phone, "email": normalize.normalize_email}


def identifier(kind: str, raw: Any) -> str | None:
    """The graph's name of one carried value: phones and e-mails normalised, other systems' ids as they are."""
    if raw is None or not str(raw).strip():
        return None
    if kind in _NORMALIZERS:
        found = _NORMALIZERS[kind](str(raw))
        return f"{kind}:{found.value}" if found.ok else None
    return f"{kind}:{str(raw).strip()}"


def identifier_hash(name: str, key: str | None = None) -> str:
    """An identifier's salted md5, as bridge_customer_identifiers.identifier_hash holds it (key: the
    marts' hash key, read from the salt when not given)."""
    return marts_hash(name, key or marts_hash_key(create=False))


def sensors_event_identifiers(row: Mapping[str, Any]) -> list[str]:
    """A Sensors event row (wire names) as the graph sees its visitor (observations.RECORD_SOURCES):
    the visitor `sensors_user:<user_id>` first, then its login or anonymous id, the id a sign-up
    replaced, what a form told (phone, e-mail) and the WeCom contact an article was opened from."""
    login = bool(row.get("$is_login_id"))
    carried = [("sensors_user", row.get("user_id")),
               ("sensors_login" if login else "sensors_distinct_id", row.get("distinct_id")),
               ("sensors_distinct_id", row.get("original_id")),
               ("phone", row.get("phone")), ("email", row.get("email")),
               ("wecom_contact", row.get("external_userid"))]
    return _named(carried)


def wecom_contact_identifiers(item: Mapping[str, Any]) -> list[str]:
    """A batch/get_by_user item (external contact × follow info) as the graph sees the contact: the
    contact `wecom_contact:<external_userid>` first, then its WeChat unionid and the remark phones."""
    contact, follow = item.get("external_contact") or {}, item.get("follow_info") or {}
    phones = follow.get("remark_mobiles") or []
    if isinstance(phones, str):
        phones = json.loads(phones)
    carried = [("wecom_contact", contact.get("external_userid")), ("wechat_unionid", contact.get("unionid")),
               *(("phone", phone) for phone in phones)]
    return _named(carried)


def _named(carried: Iterable[tuple[str, Any]]) -> list[str]:
    """The usable identifiers, in order, each once."""
    names: list[str] = []
    for kind, raw in carried:
        name = identifier(kind, raw)
        if name and name not in names:
            names.append(name)
    return names


def match_customers(records: Sequence[Sequence[str]], query: Query) -> list[str | None]:
    """The customer_id of each record (its identifiers, strongest first): the person its first known
    identifier belongs to in the published bridge, None when the marts know none of them."""
    key = marts_hash_key(create=False)
    hashes = sorted({identifier_hash(name, key) for names in records for name in names})
    if not hashes:
        return [None] * len(records)
    listed = ", ".join(f"'{value}'" for value in hashes)  # hex digests: nothing to escape
    _, rows = query("select identifier_hash, customer_id from marts.bridge_customer_identifiers"
                    f" where customer_id is not null and identifier_hash in ({listed})")
    known = dict(rows)
    return [next((known[h] for h in (identifier_hash(name, key) for name in names) if h in known), None)
            for names in records]
