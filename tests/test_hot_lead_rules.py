"""The hot-lead alerts' rules without a platform: cooldown, quiet hours across midnight, held alerts, the
settings' errors, and identifiers named and hashed as the identity graph and the bridge mart name them."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from leadloop.hot_lead_alerts import (
    DORMANT_REENGAGED,
    AlertSettings,
    AlertState,
    Hit,
    due_alerts,
    hold,
    mark_sent,
    owner_message,
)
from leadloop.identity.lookup import (
    identifier_hash,
    match_customers,
    sensors_event_identifiers,
    wecom_contact_identifiers,
)
from leadloop.privacy.salt import SALT_ENV, MissingSaltError, marts_hash_key

pytestmark = pytest.mark.unit

NOON = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


def hit(customer: str, owner: str, at: datetime) -> Hit:
    return Hit(customer_id=customer, rule=DORMANT_REENGAGED, touches=((at.isoformat(), "阅读了《白皮书》"),),
               masked_name="王*", job_title="CTO", lead_score=40.5, lead_grade="C", account_id=f"acc_{customer}",
               account_name=f"{customer} 有限公司", crm="neocrm", crm_account_id="1", owner_user_id=owner,
               owner_name=f"owner {owner}")


@pytest.fixture(autouse=True)
def pii_salt(monkeypatch) -> None:
    """The marts' hashes these tests build and match are salted with a salt of their own."""
    monkeypatch.setenv(SALT_ENV, "a test salt")


@pytest.fixture
def config(monkeypatch) -> AlertSettings:
    for name in ("COOLDOWN_HOURS", "QUIET_HOURS", "ROBOTS", "WEBHOOK_URL", "LINK", "LOOKBACK_MINUTES"):
        monkeypatch.delenv(f"LEADLOOP_HOT_LEAD_{name}", raising=False)
    monkeypatch.setenv("LEADLOOP_HOT_LEAD_COOLDOWN_HOURS", "2")
    monkeypatch.setenv("LEADLOOP_HOT_LEAD_LINK", "https://crm.example/account/{crm_account_id}?who={customer_id}")
    return AlertSettings.from_environment()


def test_one_alert_per_person_and_rule_per_cooldown_grouped_by_owner(config):
    state = AlertState()
    first = due_alerts([hit("a", "1", NOON), hit("b", "1", NOON), hit("c", "2", NOON)], state, NOON, config)
    assert {owner: [h.customer_id for h in hits] for owner, hits in first.items()} == {
        "neocrm:1": ["a", "b"], "neocrm:2": ["c"]}
    for hits in first.values():
        mark_sent(hits, state, NOON)
    later = NOON + timedelta(hours=1)
    assert due_alerts([hit("a", "1", later)], state, later, config) == {}
    after_cooldown = NOON + timedelta(hours=2, minutes=1)
    assert list(due_alerts([hit("a", "1", after_cooldown)], state, after_cooldown, config)) == ["neocrm:1"]


def test_quiet_hours_cross_midnight_and_hold_alerts_for_the_morning(config, monkeypatch):
    monkeypatch.setenv("LEADLOOP_HOT_LEAD_QUIET_HOURS", "22:00-08:00")
    quiet = AlertSettings.from_environment()
    night = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    morning = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)  # 08:00
    assert quiet.is_quiet(night) and quiet.is_quiet(morning - timedelta(seconds=1))
    assert not quiet.is_quiet(morning) and not quiet.is_quiet(NOON)
    state = AlertState()
    assert due_alerts([hit("a", "1", night)], state, night, quiet) == {}
    later = hit("a", "1", night + timedelta(minutes=5))
    assert due_alerts([later], state, night + timedelta(minutes=5), quiet) == {}
    sent = due_alerts([], AlertState.from_json(state.to_json()), morning, quiet)
    [merged] = sent["neocrm:1"]
    assert len(merged.touches) == 2  # what the person did overnight, in one alert


def test_held_alerts_are_retried_at_the_next_look_and_sent_once(config):
    state = AlertState()
    hold([hit("a", "1", NOON)], state)  # e.g. the owner's robot failed
    retried = due_alerts([hit("a", "1", NOON + timedelta(minutes=4))], state, NOON + timedelta(minutes=5), config)
    [merged] = retried["neocrm:1"]
    assert len(merged.touches) == 2 and state.pending == []
    mark_sent([merged], state, NOON + timedelta(minutes=5))
    hold([hit("a", "1", NOON)], state)
    assert due_alerts([], state, NOON + timedelta(minutes=10), config) == {}


def test_the_message_names_person_company_touches_score_and_link(config):
    text = owner_message([hit("a", "7", NOON)], config)
    assert "owner 7" in text and "王* CTO" in text and "a 有限公司" in text
    assert "12-01 12:00 阅读了《白皮书》" in text and "40.5（C" in text
    assert "(https://crm.example/account/1?who=a)" in text


@pytest.mark.parametrize(("name", "value"), [("LEADLOOP_HOT_LEAD_ROBOTS", "[1]"),
                                             ("LEADLOOP_HOT_LEAD_QUIET_HOURS", "22-8"),
                                             ("LEADLOOP_HOT_LEAD_COOLDOWN_HOURS", "a day")])
def test_a_wrong_setting_is_named(config, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        AlertSettings.from_environment()


def test_identifiers_are_named_and_hashed_as_the_bridge_names_them():
    row = {"event": "content_read", "user_id": -42, "distinct_id": "u-9", "$is_login_id": True,
           "phone": "＋86 139-1234-5678", "external_userid": "wmABC"}
    assert sensors_event_identifiers(row) == [
        "sensors_user:-42", "sensors_login:u-9", "phone:+8613912345678", "wecom_contact:wmABC"]
    item = {"external_contact": {"external_userid": "wmX", "unionid": "oU1"},
            "follow_info": {"remark_mobiles": ["13800138000", "13912345678"]}}
    # A placeholder (13800138000) may be named: the bridge lists it excluded, with no customer to match.
    names = wecom_contact_identifiers(item)
    assert names[:2] == ["wecom_contact:wmX", "wechat_unionid:oU1"] and "phone:+8613912345678" in names
    # Salted with the marts' key, as dbt's pii_hash writes the bridge: a bare md5 would be a phone book.
    key = marts_hash_key()
    assert identifier_hash("phone:+8613912345678") == hashlib.md5(f"{key}phone:+8613912345678".encode()).hexdigest()
    assert identifier_hash("phone:+8613912345678") != hashlib.md5(b"phone:+8613912345678").hexdigest()
    assert marts_hash_key("another salt") != key


def test_matching_without_the_nights_salt_names_the_setting(monkeypatch, tmp_path):
    """A lookup beside a warehouse folder with no salt would hash with a salt of its own and match nobody."""
    marts = tiny_marts()
    assert match_customers([["phone:+8613900000001"]], marts) == ["cus_d"]  # with the salt
    monkeypatch.delenv(SALT_ENV)
    monkeypatch.setenv("LEADLOOP_WAREHOUSE_DIR", str(tmp_path))
    with pytest.raises(MissingSaltError, match=SALT_ENV):
        match_customers([["phone:+8613900000001"]], marts)
    assert list(tmp_path.iterdir()) == []  # and it did not make one


def tiny_marts(with_dormant_at: bool = True):
    """Published marts of three persons: of a dormant company (dormant after DORMANT_AT), an active one
    (a deal open: no dormant_at) and a new one (never bought); phones known only by their salted md5."""
    import duckdb

    con = duckdb.connect()
    con.execute("create schema marts")
    bridge = [("phone:+8613900000001", "cus_d"), ("sensors_user:7", "cus_a"), ("phone:+8613900000003", "cus_n"),
              ("phone:+8613900000009", None)]
    con.execute("create table marts.bridge_customer_identifiers (identifier_hash text, customer_id text)")
    con.executemany("insert into marts.bridge_customer_identifiers values (?, ?)",
                    [(identifier_hash(name), customer) for name, customer in bridge])
    con.execute("create table marts.dim_customers as select * from (values"
                " ('cus_d', 'acc_d', '李*', 'CIO', 30.5, 'C', date '2026-11-30'),"
                " ('cus_a', 'acc_a', '张*', null, 45.0, 'B', date '2026-11-30'),"
                " ('cus_n', 'acc_n', '赵*', null, 45.0, 'B', date '2026-11-30'))"
                " as t(customer_id, account_id, masked_name, job_title, lead_score, lead_grade, lead_scored_on)")
    # cus_d's journeys: an old one, and the latest, scored last night with fit 20 (weighted) in a 1.2 region; one
    # content_read the night loaded (Shanghai day 2026-11-20).
    con.execute("create table marts.fct_lead_journeys as select * from (values"
                " ('j_d_old', 'L1', timestamp '2024-03-01 02:00:00', null, null),"
                " ('j_d', 'L2', timestamp '2026-10-01 02:00:00', null, null),"
                " ('j_a', 'L3', timestamp '2026-11-01 02:00:00', null, null),"
                " ('j_n', 'L4', timestamp '2026-11-01 02:00:00', null, timestamp '2026-11-20 02:00:00'))"
                " as t(journey_id, lead_id, lead_at, won_at, lost_at)")
    # cus_a's journey is open and 5 points short of the MQL threshold (50); cus_n's as close, but lost.
    con.execute("create table marts.mart_lead_scores as select * from (values"
                " ('cus_d', 'j_d_old', date '2026-11-30', 5.00, 1.0, 5.00, false),"
                " ('cus_d', 'j_d', date '2026-11-30', 20.00, 1.2, 30.50, false),"
                " ('cus_a', 'j_a', date '2026-11-30', 45.00, 1.0, 45.00, false),"
                " ('cus_n', 'j_n', date '2026-11-30', 45.00, 1.0, 45.00, false))"
                " as t(customer_id, journey_id, score_on, fit_score, region_weight, total_score, is_mql_by_score)")
    con.execute("create table marts.fct_touchpoints as select * from (values"
                " ('cus_d', 'content_read', timestamp '2026-11-20 03:00:00'))"
                " as t(customer_id, touch_type, touched_at)")
    dormant = ", dormant_at" if with_dormant_at else ""
    con.execute(f"create table marts.dim_accounts as select * exclude (dormant_at){dormant} from (values"
                " ('acc_d', '沉睡有限公司', 'neocrm', '11', 'u1', '陈静', timestamp '2026-11-05 08:00:00'),"
                " ('acc_a', '活跃有限公司', 'neocrm', '12', 'u1', '陈静', null),"
                " ('acc_n', '新客有限公司', 'neocrm', '13', 'u2', '刘洋', null))"
                " as t(account_id, account_name, primary_crm, primary_crm_account_id, owner_user_id, owner_name,"
                " dormant_at)")

    def query(sql: str):
        result = con.execute(sql)
        return [d[0] for d in result.description], result.fetchall()

    return query


def touch(key: str, at: datetime, *identifiers: str, kind: str = "content_read"):
    from leadloop.hot_lead_alerts import LiveTouch

    return LiveTouch(key, kind, at, identifiers, "阅读了《白皮书》")


def test_only_a_dormant_companys_person_touching_after_dormant_at_is_hot(config):
    from leadloop.hot_lead_alerts import hot_hits

    dormant_at = datetime(2026, 11, 5, 8, 0, tzinfo=UTC)
    touches = [touch("1", dormant_at, "phone:+8613900000001"),  # at the instant: not yet dormant
               touch("2", NOON, "sensors_user:99", "phone:+8613900000001"),  # unknown visitor, known phone
               touch("3", NOON, "phone:+8613900000001", kind="sales_call"),  # not a re-engaging touch
               touch("4", NOON, "sensors_user:7"), touch("5", NOON, "phone:+8613900000003"),
               touch("6", NOON, "phone:+8613900000009")]  # excluded identifier (a hub): nobody
    [hot] = [h for h in hot_hits(touches, tiny_marts(), config, NOON) if h.rule == DORMANT_REENGAGED]
    assert (hot.customer_id, hot.rule, hot.account_name, hot.owner_key) == (
        "cus_d", DORMANT_REENGAGED, "沉睡有限公司", "neocrm:u1")
    assert hot.touches == ((NOON.isoformat(), "阅读了《白皮书》"),) and hot.lead_score == 30.5
    # The score now, by rule set v3 (content_read: 6 points, half-life 30 days, cap 24) on 2026-12-01: the read
    # the night loaded (11 days old) 6 × 0.5^(11/30) = 4.653434, the read at dormant_at (26 days old, a touch
    # though not a hot one) 3.290475, today's 6: 13.943909 × 1.2 = 16.73, plus last night's fit 20.
    assert (hot.live_score, hot.live_grade) == (36.73, "C")
    assert "36.73（C，实时；昨夜 30.5）" in owner_message([hot], config)


def test_the_live_score_caps_decays_and_counts_a_touch_the_night_loaded_once(config):
    from leadloop.live_lead_score import behaviour_points, behaviour_rules, live_scores, rule_set_on

    assert rule_set_on(datetime(2026, 6, 30).date()) == "v2" and rule_set_on(NOON.date()) == "v3"
    rules = behaviour_rules("v3")
    today = NOON.date()
    reads = [("content_read", today)] * 5 + [("content_read", today - timedelta(days=30))]
    assert behaviour_points(reads, today, rules) == 24  # 5 × 6 + 3 = 33, capped at 24
    assert behaviour_points([("wecom_add", today - timedelta(days=60))], today, rules) == 5  # one half-life
    assert behaviour_points([("content_read", today + timedelta(days=1))], today, rules) == 0  # not yet
    loaded = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # the read already in fct_touchpoints
    [score] = live_scores({"cus_d": [("content_read", loaded)]}, tiny_marts(), NOON).values()
    assert (score.journey_id, score.behaviour_score, score.total_score) == ("j_d", Decimal("5.58"), Decimal("25.58"))


def test_an_open_journey_whose_score_passes_the_threshold_now_is_hot(config):
    """Live, the second rule of mart_hot_leads: last night 45 (threshold 50); a read (6 points today) takes the
    active company's person to 51 and makes them hot, once; the same for a lost journey makes nobody hot."""
    from leadloop.hot_lead_alerts import SCORE_CROSSED_MQL, hot_hits

    [hot] = hot_hits([touch("a1", NOON, "sensors_user:7"), touch("n1", NOON, "phone:+8613900000003")],
                     tiny_marts(), config, NOON)
    assert (hot.customer_id, hot.rule, hot.live_score, hot.live_grade) == ("cus_a", SCORE_CROSSED_MQL, 51.0, "B")
    assert "评分刚达到 MQL" in owner_message([hot], config) and "51（B，实时；昨夜 45）" in owner_message([hot], config)


def test_marts_of_an_older_version_are_named(config):
    from leadloop.hot_lead_alerts import hot_hits

    with pytest.raises(RuntimeError, match="dormant_at"):
        hot_hits([touch("1", NOON, "phone:+8613900000001")], tiny_marts(with_dormant_at=False), config, NOON)


def test_a_touch_read_again_in_the_look_back_is_handled_once():
    state = AlertState()
    early, late = touch("early", NOON - timedelta(minutes=30)), touch("late", NOON)
    assert [t.key for t in state.unseen([early, late], NOON - timedelta(hours=1))] == ["early", "late"]
    state = AlertState.from_json(state.to_json())  # through the cursor, as between two ticks
    assert state.unseen([early, late], NOON - timedelta(hours=1)) == []
    # A look that no longer reads back to `early` forgets it, and never takes it for new.
    assert state.unseen([early, late], NOON - timedelta(minutes=10)) == []
    assert list(state.seen) == ["late"]
