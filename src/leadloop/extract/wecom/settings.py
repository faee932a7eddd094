"""企业微信 (WeCom) external-contact endpoints, field tables and answer codes.

This file is the single place where the wire names live: if a corp's API differs from what the
public documentation shows (details marked *unconfirmed*), this is the file to correct.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com"
TOKEN_PATH = "/cgi-bin/gettoken"
FOLLOW_USER_LIST_PATH = "/cgi-bin/externalcontact/get_follow_user_list"
BATCH_GET_BY_USER_PATH = "/cgi-bin/externalcontact/batch/get_by_user"
CORP_TAG_LIST_PATH = "/cgi-bin/externalcontact/get_corp_tag_list"
LIST_CONTACT_WAY_PATH = "/cgi-bin/externalcontact/list_contact_way"
GET_CONTACT_WAY_PATH = "/cgi-bin/externalcontact/get_contact_way"

# batch/get_by_user takes at most 100 staff userids and returns at most 100 contacts per call.
USERID_LIST_MAX = 100
CONTACTS_PAGE_MAX = 100
# list_contact_way returns at most 1,000 config_ids per call.
CONTACT_WAYS_PAGE_MAX = 1000
# list_contact_way filters on creation time; without a range it only lists the last 90 days.
# Unconfirmed: the widest range one call accepts, and the date before which codes are never listed.
CONTACT_WAY_WINDOW_DAYS = 90
CONTACT_WAYS_EARLIEST = "2021-07-10"

# Arrow / dlt column types used in the field tables.
TEXT, BIGINT = "text", "bigint"
# How a wire value becomes a column: as is, a list kept as JSON text, or a list's first element.
VALUE, JSON_LIST, FIRST = "value", "json_list", "first"


@dataclass(frozen=True)
class Field:
    """One raw column: its name, where it sits in a wire record (dotted path), type and shape."""

    column: str
    path: str
    kind: str
    shape: str = VALUE


@dataclass(frozen=True)
class Table:
    """One raw table (dlt resource): its merge key and fields, in column order."""

    name: str
    primary_key: tuple[str, ...]
    fields: tuple[Field, ...]


# One wire item of batch/get_by_user is {"external_contact": {…}, "follow_info": {…}}.
EXTERNAL_CONTACTS = Table(
    "external_contacts",
    ("external_userid",),
    (
        Field("external_userid", "external_contact.external_userid", TEXT),
        Field("name", "external_contact.name", TEXT),
        Field("type", "external_contact.type", BIGINT),  # 1 WeChat user, 2 WeCom user
        Field("gender", "external_contact.gender", BIGINT),  # 0 unknown, 1 male, 2 female
        Field("unionid", "external_contact.unionid", TEXT),  # only WeChat users, corp bound to open platform
        Field("position", "external_contact.position", TEXT),  # only WeCom users
        Field("corp_name", "external_contact.corp_name", TEXT),  # only WeCom users
        Field("corp_full_name", "external_contact.corp_full_name", TEXT),
        Field("avatar", "external_contact.avatar", TEXT),
    ),
)

FOLLOW_RELATIONS = Table(
    "follow_relations",
    ("external_userid", "userid"),
    (
        Field("external_userid", "external_contact.external_userid", TEXT),
        Field("userid", "follow_info.userid", TEXT),
        Field("remark", "follow_info.remark", TEXT),
        Field("description", "follow_info.description", TEXT),
        Field("createtime", "follow_info.createtime", BIGINT),  # unix seconds
        Field("tag_ids", "follow_info.tag_id", TEXT, JSON_LIST),
        Field("remark_corp_name", "follow_info.remark_corp_name", TEXT),
        Field("remark_mobiles", "follow_info.remark_mobiles", TEXT, JSON_LIST),
        Field("remark_mobile", "follow_info.remark_mobiles", TEXT, FIRST),
        Field("oper_userid", "follow_info.oper_userid", TEXT),
        Field("add_way", "follow_info.add_way", BIGINT),
        Field("state", "follow_info.state", TEXT),
    ),
)

# One wire item of get_corp_tag_list is a group with its tags; rows are groups × tags.
CORP_TAGS = Table(
    "corp_tags",
    ("tag_id",),
    (
        Field("tag_id", "tag.id", TEXT),
        Field("tag_name", "tag.name", TEXT),
        Field("tag_create_time", "tag.create_time", BIGINT),  # unix seconds
        Field("tag_order", "tag.order", BIGINT),
        Field("group_id", "group.group_id", TEXT),
        Field("group_name", "group.group_name", TEXT),
        Field("group_create_time", "group.create_time", BIGINT),
        Field("group_order", "group.order", BIGINT),
    ),
)

# One wire item is the `contact_way` object of get_contact_way.
CONTACT_WAYS = Table(
    "contact_ways",
    ("config_id",),
    (
        Field("config_id", "config_id", TEXT),
        Field("type", "type", BIGINT),  # 1 one staff member, 2 several
        Field("scene", "scene", BIGINT),  # 1 mini program, 2 QR code
        Field("state", "state", TEXT),  # the channel code follow_info.state carries
        Field("remark", "remark", TEXT),
        Field("skip_verify", "skip_verify", TEXT),  # JSON boolean, loaded as 'true' / 'false'
        Field("qr_code", "qr_code", TEXT),
        Field("user_ids", "user", TEXT, JSON_LIST),  # staff userids ("user" is reserved in SQL)
        Field("party_ids", "party", TEXT, JSON_LIST),  # department ids
    ),
)

TABLES = (EXTERNAL_CONTACTS, FOLLOW_RELATIONS, CORP_TAGS, CONTACT_WAYS)

# What the client does with an `errcode` (WeCom answers errors with HTTP 200). "reauth": fetch a
# new token and retry once; "retry": back off and retry; "settings": stop at once, naming the
# settings to fix; any code not listed stops the run with the server's errmsg. The codes
# WeCom's documentation lists are confirmed; those marked unconfirmed come from the global code list.
OK_CODE = 0
REAUTH, RETRY, SETTINGS = "reauth", "retry", "settings"


@dataclass(frozen=True)
class ErrorCode:
    """What one errcode means and what to do about it."""

    action: str
    meaning: str
    settings: tuple[str, ...] = ()
    hint: str = ""


_SECRET_HINT = (
    "Use the secret of the 客户联系 (customer contact) app, or add your app to 客户联系 →"
    " 可调用接口的应用 in the admin console"
)
ERROR_CODES: dict[int, ErrorCode] = {
    -1: ErrorCode(RETRY, "system busy"),  # unconfirmed
    40014: ErrorCode(REAUTH, "invalid access_token"),
    41001: ErrorCode(REAUTH, "access_token missing"),  # unconfirmed
    42001: ErrorCode(REAUTH, "access_token expired"),
    45009: ErrorCode(RETRY, "API call frequency over the limit"),
    45033: ErrorCode(RETRY, "too many concurrent calls"),  # unconfirmed
    40001: ErrorCode(
        SETTINGS, "invalid secret", ("corp_secret",), "Copy the secret again from the admin console"
    ),
    40013: ErrorCode(
        SETTINGS, "invalid corpid", ("corp_id",), "The corp ID is on 我的企业 → 企业信息"
    ),  # unconfirmed
    48001: ErrorCode(SETTINGS, "API not authorised for this secret", ("corp_secret",), _SECRET_HINT),
    48002: ErrorCode(SETTINGS, "API forbidden for this app", ("corp_secret",), _SECRET_HINT),  # unconfirmed
}
