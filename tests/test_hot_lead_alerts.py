"""Acceptance (issue 12, line 4): alerts within minutes. Against the Sensors and WeCom simulators and local
WeCom robots, on a copy of the session's demo night: a person of a company the demo's truth calls dormant
reads an article, visits the site and adds WeCom; the owner's robot gets one message within the sensor
interval plus a minute, and only one; quiet hours hold it back; an active company's person gives no
dormant alert; and the sensor alerts in time while a real night runs, which then succeeds and publishes.

The sensor is driven the way the daemon drives it: ticks of `hot_lead_alerts` every interval, each
handed the previous tick's cursor (dagster's build_sensor_context + evaluate_tick).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Self

import duckdb
import pytest

from leadloop.demo.digital import business_day, simulate_digital
from leadloop.demo.dormancy import DORMANT_AFTER_MONTHS, AccountHistory, months_before
from leadloop.demo.model import BUSINESS_TZ
from leadloop.demo.sensors_records import local_time, user_id
from leadloop.demo.serve import running_demo_sources
from leadloop.demo.simulators.wecom_robot import WecomRobotReceiver
from leadloop.hot_lead_alerts import DORMANT_REENGAGED, REASONS, AlertState
from leadloop.identity.normalize import normalize_phone
from leadloop.orchestration.alerts import WecomRobotWebhook
from leadloop.privacy.salt import SALT_FILE
from tests.support.outbound import guarded_environment, outbound_attempts

pytestmark = pytest.mark.e2e

INTERVAL_SECONDS = 3


@dataclass(frozen=True)
class Contact:
    """A person of a demo company, as the demo's truth knows them (never read from the warehouse)."""

    person_id: str
    mobile: str
    account_name: str
    owner_key: str  # <crm>:<owner user id>, the demo's 销售易 being every company's oldest CRM
    owner_name: str
    distinct_id: str  # their browser's anonymous id
    login_id: str | None


def status_as_known(history: AccountHistory, account_id: int, known_ms: int, now_ms: int) -> str:
    """What a company is at `now_ms` by what its platforms showed at `known_ms` (the night's as-of): the
    demo world goes on after it (deals, payments), which the night, and so the live path, cannot know."""
    bought = [at for at in history.purchases[account_id] if at <= known_ms]
    if not bought:
        return "new"
    if any(deal.created_at <= known_ms and (deal.closed_at is None or deal.closed_at > known_ms)
           for deal in history.deals[account_id]):
        return "active"
    return "active" if max(bought) >= months_before(now_ms, DORMANT_AFTER_MONTHS) else "dormant"


def contacts_by_status(world, digital, now_ms: int) -> dict[str, list[Contact]]:
    """new / active / dormant → persons of such companies now who visited the site before (truth)."""
    history, users = AccountHistory(world), {user[0]: user[1] for user in world.users}
    visits: dict[str, tuple[str, str | None]] = {}
    for event in digital.web_events:
        if event.person_id:
            visits[event.person_id] = (event.distinct_id, event.login_id or visits.get(event.person_id, ("", None))[1])
    found = defaultdict(list)
    for account in world.accounts:
        status = status_as_known(history, account.account_id, world.as_of_ms, now_ms)
        for person in account.committee:
            if person.person_id in visits and normalize_phone(person.mobile).ok:
                found[status].append(Contact(person.person_id, person.mobile, account.name,
                                             f"neocrm:{account.owner_id}", users[account.owner_id],
                                             *visits[person.person_id]))
    return found


class Daemon:
    """Ticks the sensor every interval in a thread, carrying its cursor, as the Dagster daemon does."""

    def __init__(self, robot) -> None:
        import dagster as dg

        from leadloop.orchestration.hot_lead_sensor import hot_lead_alerts_sensor

        self.dg, self.sensor, self.robot = dg, hot_lead_alerts_sensor, robot
        self.cursor: str | None = None
        self.ticks: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> str:
        context = self.dg.build_sensor_context(cursor=self.cursor, resources={"wecom_robot": self.robot})
        result = self.sensor.evaluate_tick(context)
        self.cursor = result.cursor or self.cursor
        reason = result.skip_message or ""
        self.ticks.append(reason)
        return reason

    def __enter__(self) -> Self:
        def run() -> None:
            while not self._stop.wait(INTERVAL_SECONDS):
                self.tick()

        self._stop.clear()  # a module's tests enter it more than once
        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


@pytest.fixture(scope="module")
def live(demo_night, demo_world, tmp_path_factory):
    """A copy of the night's warehouse and published marts, the Sensors and WeCom simulators, and robots."""
    folder = tmp_path_factory.mktemp("hot_lead_alerts")
    # The warehouse, its published marts and its PII salt (the marts' hashes the live lookup matches are salted).
    for name in (demo_night.name, f"{demo_night.stem}_marts.duckdb", SALT_FILE):
        shutil.copy(demo_night.parent / name, folder / name)
    owner_robot, sales_robot = WecomRobotReceiver(key="owner").start(), WecomRobotReceiver(key="sales").start()
    digital = simulate_digital(demo_world)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LEADLOOP_WAREHOUSE_DIR", str(folder))
        patch.setenv("LEADLOOP_DUCKDB_PATH", str(folder / demo_night.name))
        patch.setenv("LEADLOOP_PUBLISHED_PATH", str(folder / f"{demo_night.stem}_marts.duckdb"))
        patch.setenv("LEADLOOP_HOT_LEAD_SENSOR_SECONDS", str(INTERVAL_SECONDS))
        patch.delenv("LEADLOOP_HOT_LEAD_QUIET_HOURS", raising=False)
        with running_demo_sources(demo_world, sources=["sensors", "wecom"]) as demo:
            patch.setenv("LEADLOOP_HOT_LEAD_WEBHOOK_URL", sales_robot.webhook_url)  # over the demo's receiver
            contacts = contacts_by_status(demo_world, digital, int(time.time() * 1000))
            dormant = contacts["dormant"]
            # The premise: the demo has dormant companies with known visitors, at least three of them apart.
            assert len({c.account_name for c in dormant}) >= 3, "the demo needs three dormant companies"
            robots = {contact.owner_key: owner_robot.webhook_url for contact in dormant}
            patch.setenv("LEADLOOP_HOT_LEAD_ROBOTS", json.dumps(robots))
            # An article of the demo's, as its truth titles it.
            article = next((e.properties["material_id"], e.properties["material_title"])
                           for e in digital.web_events if e.event == "content_read")
            yield {"demo": demo, "contacts": contacts, "owner_robot": owner_robot, "sales_robot": sales_robot,
                   "daemon": Daemon(WecomRobotWebhook()), "folder": folder, "patch": patch, "article": article}
    owner_robot.stop()
    sales_robot.stop()


def one_per_company(contacts: list[Contact]) -> list[Contact]:
    """The first known visitor of each company, companies in a stable order."""
    firsts: dict[str, Contact] = {}
    for contact in contacts:
        firsts.setdefault(contact.account_name, contact)
    return [firsts[name] for name in sorted(firsts)]


def sensors_row(contact: Contact, event: str, moment: datetime, **properties) -> dict:
    """A live event of the contact's browser, as the Sensors wire writes it."""
    moment_ms = int(moment.timestamp() * 1000)
    at = local_time(moment_ms)
    return {"event": event, "time": at, "distinct_id": contact.login_id or contact.distinct_id,
            "user_id": user_id(contact.distinct_id), "date": at[:10],
            "$is_login_id": contact.login_id is not None, **properties}


def wecom_add(contact: Contact, moment: datetime) -> dict:
    """The contact adds a staff member on WeCom: a new external contact whose remark holds their phone."""
    return {"external_contact": {"external_userid": f"wmLive{contact.person_id}", "name": "live", "type": 1},
            "follow_info": {"userid": "live-seller", "remark": "live", "createtime": int(moment.timestamp()),
                            "remark_mobiles": [contact.mobile], "add_way": 1, "state": ""}}


def wait_for(robot: WecomRobotReceiver, count: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(robot.messages) >= count:
            return True
        time.sleep(0.05)
    return False


def test_a_dormant_companys_contact_alerts_the_owner_once_within_the_interval(live):
    demo, owner_robot, sales_robot = live["demo"], live["owner_robot"], live["sales_robot"]
    contact = one_per_company(live["contacts"]["dormant"])[0]
    material, title = live["article"]
    daemon = live["daemon"]
    daemon.tick()  # the first look: nothing new yet
    assert owner_robot.messages == [] and sales_robot.messages == []
    with daemon:
        now = datetime.now(UTC)
        demo.simulators["sensors"].simulator.add_rows([
            sensors_row(contact, "content_read", now, material_id=material),
            sensors_row(contact, "$pageview", now + timedelta(seconds=1), **{"$url_path": "/pricing"})])
        demo.simulators["wecom"].simulator.add_contact(wecom_add(contact, now + timedelta(seconds=2)))
        started = time.monotonic()
        assert wait_for(owner_robot, 1, INTERVAL_SECONDS + 60), f"no alert; ticks said {daemon.ticks}"
        latency = time.monotonic() - started
        ticks_before = len(daemon.ticks)
        while len(daemon.ticks) < ticks_before + 2:  # two more looks: nothing more to say
            time.sleep(0.2)
    print(f"alert latency {latency:.1f} s (sensor interval {INTERVAL_SECONDS} s)")
    assert latency <= INTERVAL_SECONDS + 60
    assert len(owner_robot.messages) == 1 and sales_robot.messages == []
    text = owner_robot.texts()[0]
    assert contact.account_name in text and contact.owner_name in text
    assert f"阅读了《{title}》" in text and "访问了官网/pricing" in text and "添加了企业微信" in text
    assert text.count("沉睡客户回访") == 1
    assert "评分" in text and "[查看](" in text

    # A fourth thing within the cooldown: still that one message.
    demo.simulators["sensors"].simulator.add_rows([
        sensors_row(contact, "content_read", datetime.now(UTC), material_id=live["article"][0])])
    assert "1 hot persons, 0 messages sent" in daemon.tick()
    assert len(owner_robot.messages) == 1


def test_quiet_hours_hold_the_alert_until_they_end(live):
    demo, owner_robot, daemon = live["demo"], live["owner_robot"], live["daemon"]
    contact = one_per_company(live["contacts"]["dormant"])[1]
    before = len(owner_robot.messages)
    local = datetime.now(UTC).astimezone(BUSINESS_TZ)
    quiet = f"{(local - timedelta(hours=1)):%H:%M}-{(local + timedelta(hours=1)):%H:%M}"
    live["patch"].setenv("LEADLOOP_HOT_LEAD_QUIET_HOURS", quiet)
    demo.simulators["sensors"].simulator.add_rows([
        sensors_row(contact, "content_read", datetime.now(UTC), material_id=live["article"][0])])
    said = daemon.tick()
    assert "0 messages sent, 1 held for a later look" in said
    assert len(owner_robot.messages) == before
    assert len(AlertState.from_json(daemon.cursor).pending) == 1
    live["patch"].delenv("LEADLOOP_HOT_LEAD_QUIET_HOURS")
    daemon.tick()
    assert len(owner_robot.messages) == before + 1
    assert contact.account_name in owner_robot.texts()[-1]
    assert AlertState.from_json(daemon.cursor).pending == []


def test_an_active_companys_contact_gives_no_dormant_alert(live):
    demo, owner_robot, sales_robot, daemon = live["demo"], live["owner_robot"], live["sales_robot"], live["daemon"]
    active = one_per_company(live["contacts"]["active"])[:3]
    assert active, "the demo needs active companies with known visitors"
    before = len(owner_robot.messages), len(sales_robot.messages)
    now = datetime.now(UTC)
    demo.simulators["sensors"].simulator.add_rows(
        [sensors_row(contact, "content_read", now, material_id=live["article"][0]) for contact in active])
    said = daemon.tick()
    assert said.startswith(f"{len(active)} new touches")
    # A read may still pass someone's score over the MQL threshold (the other rule): never a dormant alert.
    told = owner_robot.texts()[before[0]:] + sales_robot.texts()[before[1]:]
    assert not any(REASONS[DORMANT_REENGAGED] in text for text in told)


class NightProcess:
    """`leadloop night` in its own process, as the daemon launches a run beside its sensors: the production night
    on the platforms configured here (the Sensors and WeCom simulators; the copied warehouse keeps every other
    source's raw tables). Its output is read in a thread, so a test can wait for a step to start."""

    def __init__(self, day: str, folder: Path) -> None:
        """Run from `folder` (not the project), guarded: every attempt to reach beyond 127.0.0.1 is refused and
        logged to `outbound_log` (tests/support/outbound.py), so the night also shows that it phones nobody."""
        self.lines: list[str] = []
        self.dbt_started = threading.Event()
        self.outbound_log = folder / "outbound.log"
        self.process = subprocess.Popen([sys.executable, "-m", "leadloop.cli", "night", "--day", day], cwd=folder,
                                        env=guarded_environment(self.outbound_log), stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)
            if "leadloop_dbt" in line:
                self.dbt_started.set()

    def finish(self, timeout: float) -> int:
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=10)
        return code


def test_the_sensor_alerts_while_a_real_night_runs(live, demo_world):
    """The last clause of acceptance 4: a production night runs while the sensor ticks. The contact acts once
    the night is inside dbt (the warehouse's one writer); the alert still comes within the interval plus a
    minute, before the night ends, and the night succeeds and publishes its marts, which the next look reads.
    The night runs from another folder with no telemetry switch in its environment, and reaches nobody outside."""
    demo, owner_robot, daemon = live["demo"], live["owner_robot"], live["daemon"]
    contact = one_per_company(live["contacts"]["dormant"])[2]
    before = len(owner_robot.messages)
    published = live["folder"] / "leadloop_marts.duckdb"
    with duckdb.connect(str(published), read_only=True) as marts:
        night_before = marts.execute("select run_id from publication.night").fetchone()[0]
    elsewhere = live["folder"] / "elsewhere"
    elsewhere.mkdir()
    night = NightProcess((business_day(demo_world.as_of_ms) - timedelta(days=1)).isoformat(), elsewhere)
    try:
        with daemon:
            assert night.dbt_started.wait(timeout=300), "".join(night.lines[-40:])
            demo.simulators["sensors"].simulator.add_rows([
                sensors_row(contact, "content_read", datetime.now(UTC), material_id=live["article"][0])])
            started = time.monotonic()
            assert wait_for(owner_robot, before + 1, INTERVAL_SECONDS + 60), f"no alert; ticks said {daemon.ticks}"
            latency = time.monotonic() - started
            assert night.process.poll() is None, "the night ended before the alert: it did not run beside it"
        code = night.finish(timeout=600)
    finally:
        night.process.kill()
    print(f"alert latency beside a running night {latency:.1f} s")
    assert code == 0, "".join(night.lines[-60:])
    # Telemetry off in the project's own files: Dagster, dlt, Great Expectations and dbt asked nobody outside.
    assert outbound_attempts(night.outbound_log) == []
    assert len(owner_robot.messages) == before + 1 and contact.account_name in owner_robot.texts()[-1]
    with duckdb.connect(str(published), read_only=True) as marts:
        assert marts.execute("select run_id from publication.night").fetchone()[0] != night_before
    # The next look reads the night just published, and has nothing new to say.
    assert "0 new touches" in daemon.tick()


def test_the_sensor_is_off_without_sensors_and_wecom(monkeypatch):
    import dagster as dg

    from leadloop.orchestration.hot_lead_sensor import hot_lead_alerts_sensor

    for key in ("BASE_URL", "TOKEN"):
        monkeypatch.delenv(f"SOURCES__SENSORS__{key}", raising=False)
    for key in ("CORP_ID", "CORP_SECRET"):
        monkeypatch.delenv(f"SOURCES__WECOM__{key}", raising=False)
    context = dg.build_sensor_context(resources={"wecom_robot": WecomRobotWebhook()})
    result = hot_lead_alerts_sensor.evaluate_tick(context)
    assert "neither sensors nor wecom is configured" in result.skip_message
