"""The demo company at scale (issue 16) and the simulators' movable clock.

At scale k every part of the world grows about k-fold with the same truth; the simulators serve the
same world as of any moment up to its today, and a clock moved on serves exactly what simulators started
at the later moment serve.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest

from leadloop.demo import baidu_sem_records, catalog, oceanengine_records, salesforce_records, sensors_records
from leadloop.demo.digital import DigitalWorld, simulate_digital
from leadloop.demo.model import DAY_MS, World
from leadloop.demo.serve import DemoSources, demo_clock, running_demo_sources
from leadloop.demo.simulators.sensors import SensorsSimulator
from leadloop.demo.touch_truth import touches_truth
from leadloop.demo.world import simulate


@pytest.fixture(scope="module")
def digital(demo_world: World) -> DigitalWorld:
    return simulate_digital(demo_world)


@pytest.fixture(scope="module")
def world_x3() -> tuple[World, DigitalWorld]:
    world = simulate(scale=3)
    return world, simulate_digital(world)


def _sizes(world: World, digital: DigitalWorld) -> dict[str, float]:
    """How big each part of a demo world is."""
    units = digital.ad_units
    return {
        "accounts": len(world.accounts),
        "leads": len(world.journeys),
        "persons": sum(len(account.committee) for account in world.accounts),
        "opportunities": len(world.opportunities),
        "web events": len(digital.web_events),
        "WeCom contacts": len(digital.wecom_contacts),
        "ad units": len(units),
        "keywords": len({unit.keyword_id for unit in units if unit.keyword_id is not None}),
        "Baidu campaigns": len({unit.campaign_id for unit in units if unit.platform == "baidu"}),
        "Ocean Engine promotions": len({unit.adgroup_id for unit in units if unit.platform == "oceanengine"}),
        "ad spend": sum(digital.ad_days[key].cost for key in digital.ad_days),
    }


def test_scale_3_grows_every_part_of_the_world_about_threefold(demo_world, digital, world_x3):
    one, three = _sizes(demo_world, digital), _sizes(*world_x3)
    ratios = {part: three[part] / one[part] for part in one}
    assert {part: ratio for part, ratio in ratios.items() if not 2.5 <= ratio <= 3.5} == {}, ratios


def test_a_larger_world_keeps_its_truth_consistent_with_what_is_served(world_x3):
    """Every paid lead's UTM names an ad unit that exists, its clicks are counted on it, every UTM campaign
    is a Salesforce campaign, and the ad-click touches name campaigns the ad platforms report."""
    world, digital = world_x3
    units = {(unit.platform, unit.campaign_name, unit.keyword) for unit in digital.ad_units}
    campaigns = {unit.campaign_name for unit in digital.ad_units}
    for journey in world.journeys:
        utm = journey.utm
        if journey.channel.name == "paid_search":
            assert ("baidu", utm["utmCampaign"], utm["utmTerm"]) in units, utm
        elif journey.channel.name == "paid_social":
            assert ("oceanengine", utm["utmCampaign"], None) in units, utm
    known = salesforce_records.campaigns(world)
    assert all(salesforce_records.campaign_of(j, known) for j in world.journeys if j.utm["utmCampaign"])
    assert len({c.campaign_id for c in known.values()}) == len(known)
    added = [name for name, _ in catalog.ad_structure(catalog.CHANNELS[0], 3)[3:]]
    assert added and set(added) <= campaigns  # the added campaigns are bought, reported and led to
    paid = [t for t in touches_truth(world, digital) if t.touch_type == "ad_click"]
    assert paid and {t.campaign for t in paid} <= campaigns
    assert {t.campaign for t in paid} & set(added)
    keyword_ids = [unit.keyword_id for unit in digital.ad_units if unit.keyword_id is not None]
    assert len(keyword_ids) == len(set(keyword_ids))


def test_scale_1_keeps_the_catalog_ad_structure(digital):
    search = next(channel for channel in catalog.CHANNELS if channel.name == "paid_search")
    assert catalog.ad_structure(search, 1) == tuple((name, search.terms) for name in search.campaigns)
    assert len([u for u in digital.ad_units if u.platform == "baidu"]) == len(search.campaigns) * len(search.terms)


# -- the simulators' stores serve what the renderers render ---------------------------------------------


def test_sensors_served_events_are_the_rendered_rows(demo_world, digital):
    now = demo_world.as_of_ms - 3 * DAY_MS
    served = sensors_records.SensorsEvents(digital).at(now)
    assert list(served) == sensors_records.render(demo_world, digital, now)


@pytest.mark.parametrize("sql", [
    "select * from events",
    "select * from events where time >= '2026-11-01 00:00:00' and time < '2026-11-03 00:00:00' order by time",
    "select event, distinct_id, user_id from events where date = '2026-11-10'",
    "select * from events where event = 'form_submit' and time >= '2026-10-01' order by distinct_id desc limit 7",
])
def test_a_sensors_simulator_over_stored_events_answers_as_over_rows(demo_world, digital, sql):
    served = sensors_records.SensorsEvents(digital).at(demo_world.as_of_ms)
    lazy = SensorsSimulator(served, token="t")
    rows = SensorsSimulator(sensors_records.render(demo_world, digital), token="t")
    assert lazy.answer(sql) == rows.answer(sql)
    lazy.add_raw_line("2026-11-02 10:00:00", b"not json")  # a test's additions: the rows are held from then on
    rows.add_raw_line("2026-11-02 10:00:00", b"not json")
    assert lazy.answer(sql) == rows.answer(sql)
    live = {"event": "form_submit", "time": "2026-11-02 11:00:00.000", "distinct_id": "live-visitor"}
    lazy.add_rows([live])
    rows.add_rows([live])
    assert lazy.answer(sql) == rows.answer(sql)


def test_rows_added_to_a_sensors_simulator_over_stored_events_are_served_with_them(demo_world, digital):
    lazy = SensorsSimulator(sensors_records.SensorsEvents(digital).at(demo_world.as_of_ms), token="t")
    sql = "select * from events where time >= '2026-11-02 00:00:00' and time < '2026-11-03 00:00:00'"
    before = lazy.answer(sql).splitlines()
    lazy.add_rows([{"event": "content_read", "time": "2026-11-02 11:00:00.000", "distinct_id": "live"}])
    after = lazy.answer(sql).splitlines()
    assert len(after) == len(before) + 1 and b'"distinct_id":"live"' in b"".join(after)


def test_ad_reports_made_by_day_are_the_rendered_rows(demo_world, digital):
    now = demo_world.as_of_ms
    keyword_report = baidu_sem_records.KeywordReport(demo_world, digital, now)
    rendered = baidu_sem_records.render(demo_world, digital, now)
    assert list(keyword_report) == rendered
    assert keyword_report.between("2026-11-01", "2026-11-07") == [
        row for row in rendered if "2026-11-01" <= row["date"] <= "2026-11-07"]
    reports = oceanengine_records.reports_at(demo_world, digital, now)
    for advertiser, rows in oceanengine_records.render(demo_world, digital, now).items():
        assert list(reports[advertiser]) == rows
        assert reports[advertiser].between("2026-11-01", "2026-11-07") == [
            row for row in rows if "2026-11-01" <= row["dimensions"]["stat_time_day"] <= "2026-11-07"]


# -- the clock ---------------------------------------------------------------------------------------------


def _served(demo: DemoSources) -> dict[str, Any]:
    """Everything each running simulator serves, record for record, and the settings that follow the clock."""
    sims = {name: running.simulator for name, running in demo.simulators.items()}
    return {
        "neocrm": sims["neocrm"].records,
        "salesforce": sims["salesforce"].records,
        "wecom": sims["wecom"].records,
        "baidu_sem": list(sims["baidu_sem"].rows),
        "oceanengine": {advertiser: list(rows) for advertiser, rows in sims["oceanengine"].reports.items()},
        "sensors": [orjson.loads(line) for line in sims["sensors"].answer("select * from events").splitlines()],
        "settings": {key: value for key, value in demo.source_environment().items()
                     if key.endswith(("__END_DATE", "__END_TIME"))},
    }


def test_advancing_the_clock_serves_what_simulators_started_then_serve(demo_world):
    today = demo_world.as_of_ms
    with running_demo_sources(demo_world, clock_ms=today - 2 * DAY_MS) as moved:
        before = _served(moved)
        moved.advance_clock(demo_world.as_of)
        assert moved.clock_ms == today
        after = _served(moved)
    with running_demo_sources(demo_world) as started:
        assert started.clock_ms == today
        expected = _served(started)
    for name in expected:
        assert after[name] == expected[name], name
    # Two days earlier there was less of everything (the small demo's WeCom happens to gain no contact).
    assert [name for name in expected if before[name] == expected[name]] == ["wecom"]
    assert len(before["sensors"]) < len(expected["sensors"])


def test_the_clock_setting(demo_world, monkeypatch):
    today = demo_world.as_of
    assert demo_clock(demo_world, "") == demo_world.as_of_ms
    assert demo_clock(demo_world, "-7d") == demo_world.as_of_ms - 7 * DAY_MS
    assert demo_clock(demo_world, (today - timedelta(hours=30)).isoformat()) == demo_world.as_of_ms - 30 * 3_600_000
    monkeypatch.setenv("LEADLOOP_DEMO_CLOCK", "-1d")
    assert demo_clock(demo_world) == demo_world.as_of_ms - DAY_MS
    for wrong, says in (("2026-11-01T00:00", "time zone"), ("yesterday", "ISO datetime"),
                        ((today + timedelta(days=1)).isoformat(), "after the demo's today")):
        with pytest.raises(ValueError, match=says):
            demo_clock(demo_world, wrong)
