"""Render the demo company's WeCom traces as 企业微信 wire records, as the API shows them at an instant.

A follow relation exists at `as_of` when `added_ms <= as_of < deleted_ms` (or it was never
deleted). Details the digital world does not hold are derived deterministically here (zlib.crc32 /
md5 of stable keys, never Python's randomised hash()):

- contact type: one contact in four is a WeCom user (type 2: corp_name, corp_full_name and
  position on the contact, no unionid); the rest are WeChat users (type 1: unionid, the staff
  member types the company into remark_corp_name and the job title into the description);
- gender and avatar from the external_userid; oper_userid: the contact for QR-code adds, the
  staff member otherwise;
- the 高意向 tag (`et_hot`) is added to a relation when its person's lead is qualified (MQL)
  after the add — the only field of a relation that changes over time;
- tag groups for the corp tags (TAG_GROUPS) and, per channel code, its config_id and creation
  time (a week before the first add it brought, never before the world's start).
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from leadloop.demo import catalog
from leadloop.demo.digital import WECOM_STAFF, DigitalWorld, WecomContact
from leadloop.demo.model import DAY_MS, World, to_ms

Record = dict[str, Any]
HOT_TAG = "et_hot"
TAG_GROUPS = {
    "et_hot": ("etg_intent", "客户意向"),
    "et_mfg": ("etg_industry", "行业"),
    "et_expo": ("etg_source", "获客来源"),
}
OTHER_TAG_GROUP = ("etg_other", "其他")
CONTACT_WAY_LEAD_DAYS = 7
QR_ADD_WAY = 1


@dataclass(frozen=True)
class WecomRecords:
    """Everything the WeCom simulator serves for one instant."""

    follow_users: list[str]
    contacts: list[Record]  # batch/get_by_user items: {"external_contact": …, "follow_info": …}
    tag_groups: list[Record]  # get_corp_tag_list groups with their tags
    contact_ways: list[Record]  # get_contact_way objects
    contact_way_created: dict[str, int] = field(default_factory=dict)  # config_id → unix seconds


def exists_at(contact: WecomContact, as_of_ms: int) -> bool:
    """Whether a follow relation exists at an instant."""
    return contact.added_ms <= as_of_ms and (contact.deleted_ms is None or as_of_ms < contact.deleted_ms)


def qualified_moments(world: World) -> dict[str, list[int]]:
    """person_id → the instants any of their leads became qualified (MQL)."""
    moments: dict[str, list[int]] = {}
    for journey in world.journeys:
        for at, status in journey.status_events:
            if status == catalog.LEAD_STATUS_QUALIFIED:
                moments.setdefault(journey.person.person_id, []).append(at)
    return moments


def hot_tag_added_ms(contact: WecomContact, qualified: Mapping[str, list[int]]) -> int | None:
    """When staff tag a relation 高意向: its person's first MQL after the add, unless tagged at add."""
    if HOT_TAG in contact.tag_ids:
        return None
    later = [at for at in qualified.get(contact.person_id, []) if at > contact.added_ms]
    return min(later) if later else None


def tag_ids_at(contact: WecomContact, qualified: Mapping[str, list[int]], as_of_ms: int) -> list[str]:
    """The relation's tags at an instant."""
    hot_at = hot_tag_added_ms(contact, qualified)
    extra = [HOT_TAG] if hot_at is not None and hot_at <= as_of_ms else []
    return [*contact.tag_ids, *extra]


def contact_type(external_userid: str) -> int:
    """1 WeChat user, 2 WeCom user (one in four)."""
    return 2 if zlib.crc32(external_userid.encode()) % 4 == 0 else 1


def _external_contact(contact: WecomContact) -> Record:
    """The `external_contact` part: what the contact's own profile shows."""
    crc = zlib.crc32(contact.external_userid.encode())
    record: Record = {
        "external_userid": contact.external_userid,
        "name": contact.name,
        "avatar": f"https://wx.qlogo.cn/mmhead/{crc:08x}{crc >> 3:08x}/0",
        "type": contact_type(contact.external_userid),
        "gender": (crc >> 8) % 3,
    }
    if record["type"] == 2:
        record.update(
            position=contact.position, corp_name=contact.corp_name, corp_full_name=contact.corp_name
        )
    else:
        record["unionid"] = contact.unionid
    return record


def _follow_info(contact: WecomContact, qualified: Mapping[str, list[int]], as_of_ms: int) -> Record:
    """The `follow_info` part: what the staff member recorded about the contact."""
    wechat_user = contact_type(contact.external_userid) == 1
    return {
        "userid": contact.staff_userid,
        "remark": contact.name,
        "description": contact.position if wechat_user else "",
        "createtime": contact.added_ms // 1000,
        "tag_id": tag_ids_at(contact, qualified, as_of_ms),
        "remark_corp_name": contact.corp_name if wechat_user else "",
        "remark_mobiles": list(contact.remark_mobiles),
        "oper_userid": contact.external_userid if contact.add_way == QR_ADD_WAY else contact.staff_userid,
        "add_way": contact.add_way,
        "state": contact.state,
    }


def _tag_groups(world: World, digital: DigitalWorld) -> list[Record]:
    """Corp tags grouped by TAG_GROUPS, in a stable order."""
    created = to_ms(world.start) // 1000
    groups: dict[str, Record] = {}
    for tag_id, name in digital.corp_tags.items():
        group_id, group_name = TAG_GROUPS.get(tag_id, OTHER_TAG_GROUP)
        group = groups.setdefault(
            group_id,
            {
                "group_id": group_id,
                "group_name": group_name,
                "create_time": created,
                "order": len(groups) + 1,
                "tag": [],
            },
        )
        group["tag"].append(
            {"id": tag_id, "name": name, "create_time": created, "order": len(group["tag"]) + 1}
        )
    return list(groups.values())


def config_id(state: str) -> str:
    """The config_id of the channel code with a given state."""
    return hashlib.md5(f"contact_way:{state}".encode()).hexdigest()


def contact_way_created_ms(world: World, digital: DigitalWorld, state: str) -> int:
    """A channel code is made a week before the first add it brought (never before the world's start)."""
    start = to_ms(world.start)
    adds = [c.added_ms for c in digital.wecom_contacts if c.state == state]
    return max(start, min(adds) - CONTACT_WAY_LEAD_DAYS * DAY_MS) if adds else start


def _contact_ways(world: World, digital: DigitalWorld, as_of_ms: int) -> Iterator[tuple[Record, int]]:
    """(get_contact_way object, created unix seconds) of every channel code made by as_of."""
    for state, remark in digital.contact_ways.items():
        created = contact_way_created_ms(world, digital, state)
        if created > as_of_ms:
            continue
        way_id = config_id(state)
        yield (
            {
                "config_id": way_id,
                "type": 2,
                "scene": 2,
                "remark": remark,
                "skip_verify": True,
                "state": state,
                "qr_code": f"https://wework.qpic.cn/wwpic/{way_id[:16]}/0",
                "user": list(WECOM_STAFF),
                "party": [],
            },
            created // 1000,
        )


def render(world: World, digital: DigitalWorld, as_of_ms: int | None = None) -> WecomRecords:
    """The demo corp's WeCom as of an instant (default: the demo's today)."""
    now = world.as_of_ms if as_of_ms is None else as_of_ms
    qualified = qualified_moments(world)
    contacts = [
        {"external_contact": _external_contact(c), "follow_info": _follow_info(c, qualified, now)}
        for c in digital.wecom_contacts
        if exists_at(c, now)
    ]
    ways = list(_contact_ways(world, digital, now))
    return WecomRecords(
        follow_users=list(WECOM_STAFF),
        contacts=contacts,
        tag_groups=_tag_groups(world, digital),
        contact_ways=[way for way, _ in ways],
        contact_way_created={way["config_id"]: created for way, created in ways},
    )
