"""Issue 4, acceptance 4: changing a seed changes the marts accordingly on the next run.

Each test works on copies: the session's demo warehouse (raw data of one nightly run) and the
dbt project. It edits a seed CSV in the copy, runs `dbt build` on the same raw data (the next
run), and compares the marts with the demo company's truth read the way the edited seed says.
The control test runs the same build without an edit and gets the session's marts back, so a
difference in the other tests is the seed change and not the procedure.
"""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from leadloop.demo import catalog
from leadloop.demo.digital import simulate_digital
from leadloop.demo.identity_truth import record_truth
from leadloop.demo.touch_truth import touches_truth
from leadloop.demo.truth import FUNNEL_STAGES, POC_STAGES, journeys_truth, opportunity_truth
from tests.support import crm_truth
from tests.support.crm_keys import journeys_by_key, lead_key, naming_crm, opportunities_by_key
from tests.support.dbt import duckdb_environment, passed, run_dbt
from tests.support.funnel import actual_funnel, expected_funnel, funnel_differences
from tests.support.marketing_truth import loaded_ad_days

pytestmark = pytest.mark.e2e

PROJECT_ROOT = Path(__file__).resolve().parents[1]
STAGES = FUNNEL_STAGES
NEGOTIATION = next(name for stage_id, name, *_ in catalog.SALE_STAGES if stage_id == catalog.STAGE_NEGOTIATION)
MOVED_LEAD_SOURCE = "百度SEM"

JOURNEYS_SQL = (
    "select journey_id, channel, lead_source, "
    + ", ".join(f"epoch_ms({s}_at) as {s}_at_ms" for s in STAGES)
    + ", " + ", ".join(f"is_{s}_skipped" for s in STAGES[:-1])
    + ", epoch_ms(lost_at) as lost_at_ms, lost_reason from marts.fct_lead_journeys"
)
OPPORTUNITY_COLUMNS = ("source_lead_id", "sourced_by", "is_marketing_influenced", "outcome", "lost_reason",
                       "opened_at_ms", "poc_started_at_ms", "poc_ended_at_ms", "won_at_ms", "lost_at_ms")
OPPORTUNITIES_SQL = """
    select opportunity_id, source_lead_id, sourced_by, is_marketing_influenced, outcome, lost_reason,
           epoch_ms(opened_at) as opened_at_ms, epoch_ms(poc_started_at) as poc_started_at_ms,
           epoch_ms(poc_ended_at) as poc_ended_at_ms, epoch_ms(won_at) as won_at_ms,
           epoch_ms(lost_at) as lost_at_ms
    from marts.fct_opportunities"""


class NextRun:
    """A copy of the session warehouse and of the dbt project, rebuilt by `dbt build`."""

    def __init__(self, session_warehouse: Path, directory: Path) -> None:
        self.directory = directory
        self.project = directory / "dbt_project"
        shutil.copytree(PROJECT_ROOT / "dbt_project", self.project,
                        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
        self.warehouse = directory / "leadloop.duckdb"
        shutil.copy2(session_warehouse, self.warehouse)
        wal = session_warehouse.with_name(session_warehouse.name + ".wal")
        if wal.exists():
            shutil.copy2(wal, self.warehouse.with_name(self.warehouse.name + ".wal"))

    def edit_seed(self, seed: str, where: dict[str, str], changes: dict[str, str]) -> str:
        """Change one row of a seed CSV of the copied project, as a marketer would."""
        path = self.project / "seeds" / f"{seed}.csv"
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            fields, rows = reader.fieldnames, list(reader)
        matching = [row for row in rows if all(row[k] == v for k, v in where.items())]
        assert len(matching) == 1, (seed, where, matching)
        matching[0].update(changes)
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        return f"{seed}+"

    def build(self, select: str = "resource_type:seed+") -> None:
        """The next run of what a seed change touches: `dbt build -s <seed>+` (seeds, models, data
        tests) on the same raw data; everything else stays as the session's night built it."""
        passed(run_dbt("build", "--select", select, "--exclude", "test_type:unit", "--target", "duckdb",
                       work_dir=self.directory, project_dir=self.project,
                       environment=duckdb_environment(self.warehouse)))

    def rows(self, sql: str) -> list[dict]:
        return _rows(self.warehouse, sql)


def _rows(path: Path, sql: str) -> list[dict]:
    with duckdb.connect(str(path), read_only=True) as con:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, values)) for values in cursor.fetchall()]


def _funnel(path: Path) -> dict:
    with duckdb.connect(str(path), read_only=True) as con:
        return actual_funnel(con.cursor())


def _table(path: Path, table: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(f"select * from {table} order by all").fetchall()


SESSION_CRM = naming_crm(["neocrm", "salesforce"])  # the session night has every source


def _journey_differences(truth: list[dict], rows: list[dict]) -> list[tuple]:
    """fct_lead_journeys rows whose channel or stage facts differ from the truth."""
    by_id = journeys_by_key(truth, SESSION_CRM)
    assert len(rows) == len(by_id)
    columns = ["channel", "lead_source", *(f"{s}_at_ms" for s in STAGES),
               *(f"is_{s}_skipped" for s in STAGES[:-1]), "lost_at_ms", "lost_reason"]
    return [(row["journey_id"], column, row[column], by_id[row["journey_id"]][column])
            for row in rows for column in columns if row[column] != by_id[row["journey_id"]][column]]


def _opportunity_differences(truth: list[dict], rows: list[dict]) -> list[tuple]:
    by_id = opportunities_by_key(truth, SESSION_CRM)
    assert len(rows) == len(by_id)
    return [(row["opportunity_id"], column, row[column], by_id[row["opportunity_id"]][column])
            for row in rows for column in OPPORTUNITY_COLUMNS if row[column] != by_id[row["opportunity_id"]][column]]


def _stages_entered(opportunity, now: int) -> set[int]:
    return {stage for at, stage in opportunity.stage_events if at <= now}


def _poc_analysis(path: Path) -> dict:
    keyed = {}
    for row in _rows(path, "select * from marts.mart_poc_analysis"):
        key = (str(row.pop("poc_started_month")), row.pop("industry"), row.pop("poc_outcome"), row.pop("lost_reason"))
        keyed[key] = row
    return keyed


TRUTH_GRAIN = ("cohort_month", "channel", "campaign", "keyword", "province", "industry")  # mart_funnel's
MARTS_UNDER_TEST = ("marts.mart_funnel", "marts.fct_lead_journeys", "marts.fct_opportunities",
                    "marts.mart_poc_analysis", "marts.mart_channel_roi")


@pytest.fixture(scope="module")
def ad_days(demo_world):
    return loaded_ad_days(demo_world, simulate_digital(demo_world))


def test_unchanged_seeds_rebuild_the_same_marts(demo_night, demo_world, ad_days, tmp_path):
    run = NextRun(demo_night, tmp_path)
    run.build()
    for table in MARTS_UNDER_TEST:
        assert _table(run.warehouse, table) == _table(demo_night, table), table
    assert funnel_differences(expected_funnel(journeys_truth(demo_world), ad_days), _funnel(run.warehouse)) == []


def test_mapping_negotiation_to_poc_moves_pocs_in_the_marts(demo_night, demo_world, ad_days, tmp_path):
    poc_stages = POC_STAGES | {catalog.STAGE_NEGOTIATION}
    before, after = journeys_truth(demo_world), journeys_truth(demo_world, poc_stages=poc_stages)

    # Straight from the generator's events: the journeys that reached 商务谈判 but no POC stage
    # now start their POC on entering 商务谈判; those not won by today are new POCs.
    negotiated_without_poc = {}
    for journey in demo_world.journeys:
        opportunity = journey.opportunity
        if opportunity is None or opportunity.created_at > demo_world.as_of_ms:
            continue
        entered = {stage: at for at, stage in reversed(opportunity.stage_events) if at <= demo_world.as_of_ms}
        if catalog.STAGE_NEGOTIATION in entered and catalog.STAGE_POC not in entered:
            negotiated_without_poc[journey.lead_id] = (entered[catalog.STAGE_NEGOTIATION],
                                                       catalog.STAGE_WON in entered)
    new_pocs = Counter(tuple(row[c] for c in TRUTH_GRAIN) for row in before
                       if row["lead_id"] in negotiated_without_poc and not negotiated_without_poc[row["lead_id"]][1])
    assert new_pocs and len(negotiated_without_poc) > sum(new_pocs.values())  # both kinds occur

    changed = {row["lead_id"]: row for row in after if row["lead_id"] in negotiated_without_poc}
    assert all(row["poc_at_ms"] == negotiated_without_poc[lead][0] and not row["is_poc_skipped"]
               for lead, row in changed.items())
    expected_before, expected_after = expected_funnel(before, ad_days), expected_funnel(after, ad_days)
    assert {key: expected_after[key]["pocs"] - expected_before[key]["pocs"] for key in expected_after
            if expected_after[key]["pocs"] != expected_before[key]["pocs"]} == dict(new_pocs)

    run = NextRun(demo_night, tmp_path)
    run.build(run.edit_seed("stage_map_crm_sale_stage",
                            {"source_system": "neocrm", "sale_stage_name": NEGOTIATION}, {"funnel_stage": "poc"}))

    funnel = _funnel(run.warehouse)
    assert funnel_differences(expected_after, funnel) == []
    original = _funnel(demo_night)
    assert funnel_differences(expected_before, original) == []
    assert {key: funnel[key]["pocs"] - original[key]["pocs"] for key in funnel
            if funnel[key]["pocs"] != original[key]["pocs"]} == dict(new_pocs)
    assert _journey_differences(after, run.rows(JOURNEYS_SQL)) == []

    opportunities_after = opportunity_truth(demo_world, poc_stages=poc_stages)
    assert _opportunity_differences(opportunities_after, run.rows(OPPORTUNITIES_SQL)) == []
    moved = {o["opportunity_id"] for o, p in zip(opportunity_truth(demo_world), opportunities_after)
             if o["poc_started_at_ms"] != p["poc_started_at_ms"]}
    assert moved == {o.opportunity_id for o in demo_world.opportunities
                     if {catalog.STAGE_NEGOTIATION} == _stages_entered(o, demo_world.as_of_ms) & {
                         catalog.STAGE_NEGOTIATION, catalog.STAGE_POC}}
    assert _poc_analysis(run.warehouse) == crm_truth.poc_analysis(opportunities_after)


def test_moving_a_lead_source_to_another_channel_relabels_its_journeys(demo_night, demo_world, ad_days, tmp_path):
    truth = journeys_truth(demo_world)
    moved = [row for row in truth if row["lead_source"] == MOVED_LEAD_SOURCE]
    assert moved and {row["channel"] for row in moved} == {"paid_search"}
    relabelled = [{**row, "channel": "organic"} if row["lead_source"] == MOVED_LEAD_SOURCE else row
                  for row in truth]
    expected = expected_funnel(relabelled, ad_days)
    assert funnel_differences(expected, expected_funnel(truth, ad_days)) != []  # the move shows in the funnel

    run = NextRun(demo_night, tmp_path)
    run.build(run.edit_seed("channel_map_crm_lead_source",
                            {"source_system": "neocrm", "lead_source": MOVED_LEAD_SOURCE},
                            {"channel": "organic", "channel_group": "marketing"}))

    funnel = _funnel(run.warehouse)
    assert funnel_differences(expected, funnel) == []
    assert _journey_differences(relabelled, run.rows(JOURNEYS_SQL)) == []
    # Leads move between channels, none appear or vanish: every stage total stays the same.
    original = _funnel(demo_night)
    for column in ("leads", "mqls", "sqls", "opportunities", "pocs", "wins", "losses", "lead_won_revenue"):
        assert sum(r[column] for r in funnel.values()) == sum(r[column] for r in original.values()), column
    channel_of = {lead_key(SESSION_CRM, row["lead_id"]): row["channel"] for row in relabelled}
    for row in run.rows("select source_lead_id, source_lead_channel from marts.fct_opportunities"
                        " where source_lead_id is not null"):
        assert row["source_lead_channel"] == channel_of[row["source_lead_id"]], row


def test_moving_a_utm_source_to_another_channel_relabels_its_touches(demo_night, demo_world, tmp_path):
    """A marketer decides WeChat article links are organic reach: the visits, forms and campaign
    responses they brought move to organic; content reads keep the channel the content catalog
    gives them."""
    digital = simulate_digital(demo_world)
    owner = {row.record: row.person_id for row in record_truth(demo_world, digital)}
    truth = touches_truth(demo_world, digital)
    utm_driven = ("web_session", "form_submit", "campaign_response")  # a campaign's channel is its UTM's
    relabelled = Counter(
        (t.person_id, t.touch_type, "organic" if t.channel == "wechat_content" and t.touch_type in utm_driven
         else t.channel, t.campaign) for t in truth)
    assert relabelled != Counter((t.person_id, t.touch_type, t.channel, t.campaign) for t in truth)

    run = NextRun(demo_night, tmp_path)
    run.build(run.edit_seed("channel_map_utm", {"utm_source": "wechat", "utm_medium": "article"},
                            {"channel": "organic"}))
    touches = Counter((owner[r["source_record_id"]], r["touch_type"], r["channel"], r["campaign"]) for r in run.rows(
        "select source_record_id, touch_type, channel, campaign from marts.fct_touchpoints"))
    assert touches == relabelled
    lead_touches = {r["lead_touch_channel"] for r in run.rows(
        "select lead_touch_channel from marts.fct_lead_journeys where channel = 'wechat_content'")}
    assert lead_touches == {"organic"}
