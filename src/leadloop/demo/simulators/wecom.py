"""Local stand-in for the 企业微信 (WeCom) external-contact API.

Serves gettoken, get_follow_user_list, batch/get_by_user, get_corp_tag_list, list_contact_way and
get_contact_way in the wire format of `src/leadloop/extract/wecom/README.md`: every answer is HTTP 200
with an `errcode` (0 = ok). Records come from `leadloop.demo.wecom_records.render` or a test; swap them with
`set_records` between runs (the simulator "advancing a day"), or add one contact live with `add_contact`.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from leadloop.demo.simulators.base import AccessTokens, Request, Response, SimulatorBase, json_response
from leadloop.demo.wecom_records import WecomRecords
from leadloop.extract.wecom import settings

TOKEN_PATH = settings.TOKEN_PATH
FOLLOW_USER_LIST_PATH = settings.FOLLOW_USER_LIST_PATH
BATCH_GET_BY_USER_PATH = settings.BATCH_GET_BY_USER_PATH
CORP_TAG_LIST_PATH = settings.CORP_TAG_LIST_PATH
LIST_CONTACT_WAY_PATH = settings.LIST_CONTACT_WAY_PATH
GET_CONTACT_WAY_PATH = settings.GET_CONTACT_WAY_PATH
CONTACTS_OBJECT = "contacts"  # what `set_drift` calls the batch/get_by_user items
TOKEN_TTL_SECONDS = 7200
DEFAULT_CONTACT_WAY_DAYS = 90
INVALID_PARAMETER = 40058  # 不合法的参数 (global code list)

Record = dict[str, Any]


class WecomAnswerError(Exception):
    """An errcode answer raised inside a handler."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errmsg)
        self.errcode = errcode
        self.errmsg = errmsg


def ok(payload: Mapping[str, Any] | None = None) -> Response:
    """A success answer: errcode 0 plus the payload's keys."""
    return json_response({"errcode": 0, "errmsg": "ok", **(payload or {})})


def error(errcode: int, errmsg: str) -> Response:
    """An error answer: HTTP 200 with a non-zero errcode, as WeCom does."""
    return json_response({"errcode": errcode, "errmsg": errmsg})


@dataclass
class _Cursor:
    """Server-side state of a paged listing: the frozen result and where the next page starts."""

    rows: list[Any]
    offset: int
    scope: tuple[Any, ...]


class WecomSimulator(SimulatorBase):
    """Serves one corp's external contacts, corp tags and channel codes over in-memory records."""

    def __init__(
        self,
        records: WecomRecords,
        *,
        corp_id: str,
        corp_secret: str,
        port: int = 0,
        token_ttl_seconds: int = TOKEN_TTL_SECONDS,
    ) -> None:
        super().__init__(port)
        self.records = records
        self._corp = (corp_id, corp_secret)
        self.token_ttl_seconds = token_ttl_seconds
        self.tokens = AccessTokens(token_ttl_seconds)  # expired: errcode 42001, unknown: 40014
        self._cursors: dict[str, _Cursor] = {}
        self._state_lock = threading.Lock()
        self.add_route("GET", TOKEN_PATH, self._gettoken)
        self._add_api("GET", FOLLOW_USER_LIST_PATH, self._follow_users)
        self._add_api("POST", BATCH_GET_BY_USER_PATH, self._batch_get_by_user)
        self._add_api("POST", CORP_TAG_LIST_PATH, self._corp_tags)
        self._add_api("POST", LIST_CONTACT_WAY_PATH, self._list_contact_way)
        self._add_api("POST", GET_CONTACT_WAY_PATH, self._get_contact_way)

    # -- test controls ---------------------------------------------------------------------------

    def set_records(self, records: WecomRecords) -> None:
        """Replaces the whole corp served from the next call on."""
        self.records = records

    def add_contact(self, item: Record) -> None:
        """Serves one more batch/get_by_user item (a contact who just added a staff member) from the
        next call on; its staff member joins the follow users if they were not among them."""
        follow_user = _follower(item)
        with self._state_lock:
            if follow_user is not None and follow_user not in self.records.follow_users:
                self.records.follow_users.append(follow_user)
            self.records.contacts.append(item)

    # -- plumbing --------------------------------------------------------------------------------

    def _add_api(self, method: str, path: str, handler: Callable[[Request], Mapping[str, Any]]) -> None:
        """Registers an API behind the access-token check; handlers return the payload or raise."""

        def serve(request: Request) -> Response:
            """Checks the token, runs the handler, turns WecomAnswerError into an errcode answer."""
            if denied := self._check_token(request):
                return denied
            try:
                return ok(handler(request))
            except WecomAnswerError as exc:
                return error(exc.errcode, exc.errmsg)

        self.add_route(method, path, serve)

    def _check_token(self, request: Request) -> Response | None:
        """41001 without a token, 40014 for an unknown one, 42001 for an expired one."""
        token = request.query.get("access_token", "")
        if not token:
            return error(41001, "access_token missing")
        state = self.tokens.state(token)
        if state == "unknown":
            return error(40014, f"invalid access_token, hint: [{secrets.token_hex(4)}]")
        if state == "expired":
            return error(42001, "access_token expired")
        return None

    @staticmethod
    def _body(request: Request) -> Mapping[str, Any]:
        """The JSON body, or 40058 when it is not a JSON object."""
        try:
            body = request.json()
        except ValueError:
            raise WecomAnswerError(INVALID_PARAMETER, "invalid json body") from None
        if not isinstance(body, Mapping):
            raise WecomAnswerError(INVALID_PARAMETER, "body must be a JSON object")
        return body

    def _page(
        self, rows: list[Any], cursor: str, limit: int, scope: tuple[Any, ...]
    ) -> tuple[list[Any], str]:
        """One page of a listing and the next cursor ('' at the end); cursors freeze the result."""
        if cursor:
            with self._state_lock:
                state = self._cursors.get(cursor)
            if state is None or state.scope != scope:
                raise WecomAnswerError(INVALID_PARAMETER, "invalid cursor")
            rows, offset = state.rows, state.offset
        else:
            offset = 0
        page = rows[offset : offset + limit]
        end = offset + len(page)
        if end >= len(rows):
            return page, ""
        following = secrets.token_hex(12)
        with self._state_lock:
            self._cursors[following] = _Cursor(rows, end, scope)
        return page, following

    # -- handlers --------------------------------------------------------------------------------

    def _gettoken(self, request: Request) -> Response:
        """Checks corpid then corpsecret; issues a token valid for token_ttl_seconds."""
        corp_id, corp_secret = self._corp
        if request.query.get("corpid") != corp_id:
            return error(40013, "invalid corpid")
        if request.query.get("corpsecret") != corp_secret:
            return error(40001, "invalid credential")
        token = self.tokens.issue(secrets.token_urlsafe(48))
        return ok({"access_token": token, "expires_in": self.token_ttl_seconds})

    def _follow_users(self, _: Request) -> Mapping[str, Any]:
        """The staff configured for customer contact."""
        return {"follow_user": list(self.records.follow_users)}

    def _batch_get_by_user(self, request: Request) -> Mapping[str, Any]:
        """Contacts with follow info of ≤100 staff, ≤100 per page, in record order."""
        body = self._body(request)
        userids = body.get("userid_list")
        if not isinstance(userids, list) or not 1 <= len(userids) <= settings.USERID_LIST_MAX:
            raise WecomAnswerError(INVALID_PARAMETER, "userid_list must hold 1 to 100 userids")
        limit = _int_in(body.get("limit", settings.CONTACTS_PAGE_MAX), 1, settings.CONTACTS_PAGE_MAX, "limit")
        wanted = set(userids)
        rows = [item for item in self.records.contacts if _follower(item) in wanted]
        page, following = self._page(
            rows, str(body.get("cursor") or ""), limit, ("contacts", *sorted(wanted))
        )
        return {"external_contact_list": self.drifted(CONTACTS_OBJECT, page), "next_cursor": following}

    def _corp_tags(self, request: Request) -> Mapping[str, Any]:
        """Every tag group with its tags (filters by tag_id / group_id are not simulated)."""
        self._body(request)
        return {"tag_group": list(self.records.tag_groups)}

    def _list_contact_way(self, request: Request) -> Mapping[str, Any]:
        """config_ids of channel codes created in [start_time, end_time] (default: the last 90 days)."""
        body = self._body(request)
        end = _int_in(body.get("end_time", int(time.time())), 0, 2**62, "end_time")
        start = _int_in(body.get("start_time", end - DEFAULT_CONTACT_WAY_DAYS * 86_400), 0, end, "start_time")
        limit = _int_in(body.get("limit", 100), 1, settings.CONTACT_WAYS_PAGE_MAX, "limit")
        created = self.records.contact_way_created
        rows = [
            {"config_id": way["config_id"]}
            for way in self.records.contact_ways
            if start <= created.get(way["config_id"], 0) <= end
        ]
        page, following = self._page(rows, str(body.get("cursor") or ""), limit, ("ways", start, end))
        return {"contact_way": page, "next_cursor": following}

    def _get_contact_way(self, request: Request) -> Mapping[str, Any]:
        """One channel code's details."""
        config_id = self._body(request).get("config_id")
        for way in self.records.contact_ways:
            if way.get("config_id") == config_id:
                return {"contact_way": way}
        raise WecomAnswerError(INVALID_PARAMETER, f"invalid config_id {config_id!r}")


def _follower(item: Any) -> Any:
    """The staff userid of a batch/get_by_user item (None when the item is malformed)."""
    follow = item.get("follow_info") if isinstance(item, Mapping) else None
    return follow.get("userid") if isinstance(follow, Mapping) else None


def _int_in(value: Any, low: int, high: int, name: str) -> int:
    """An integer parameter within bounds, else 40058."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise WecomAnswerError(INVALID_PARAMETER, f"invalid {name}: {value!r}")
    return value
