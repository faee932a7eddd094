"""Fixtures for source tests: a small fabricated 销售易 tenant served over 127.0.0.1, and pipelines.

The world here is deliberately independent of src/leadloop/demo/world.py: a few hundred records per object,
timestamps in epoch milliseconds with several rows sharing a millisecond (to exercise the
incremental boundary), and one all-null column (`lead.phone`) to check that types hold.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dlt
import pytest

from leadloop.demo.simulators.neocrm import NeocrmSimulator
from leadloop.extract.neocrm import neocrm_source, settings

# The helper modules test modules share: their asserts report like a test's, whoever imports them first.
pytest.register_assert_rewrite(
    "tests.extract.source_adapters",
    "tests.extract.baidu_sem_fixtures",
    "tests.extract.oceanengine_fixtures",
    "tests.extract.salesforce_fixtures",
    "tests.extract.sensors_fixtures",
    "tests.extract.wecom_fixtures",
)

Record = dict[str, Any]
World = dict[str, list[Record]]

CLIENT_ID, CLIENT_SECRET = "leadloop-test-client", "s3cret"
USERNAME, PASSWORD = "api@leadloop.test", "pass+securitytoken"
BASE_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z
BATCH_COUNT = 50
COUNTS = {
    "user": 12,
    "saleStage": 6,
    "account": 60,
    "contact": 120,
    "lead": 320,
    "leadHistory": 200,
    "opportunity": 40,
    "opportunityStageHistory": 110,
    "payment": 30,
}


def stamps(i: int) -> dict[str, int]:
    """createdAt/updatedAt for the i-th row; three rows share each updatedAt millisecond."""
    return {"createdAt": BASE_MS + i * 1000, "updatedAt": BASE_MS + (i // 3) * 60_000 + 7}


def _users(rng: random.Random) -> list[Record]:
    """Sales reps."""
    return [
        {
            "id": 1000 + i,
            "name": f"Rep {i}",
            "email": f"rep{i}@acme.test",
            "departName": rng.choice(["华东", "华南"]),
            "position": "AE",
            **stamps(i),
        }
        for i in range(COUNTS["user"])
    ]


def _stages(_: random.Random) -> list[Record]:
    """The opportunity stage dictionary."""
    names = ["初步接洽", "需求确认", "方案报价", "商务谈判", "赢单", "输单"]
    return [
        {
            "id": 2000 + i,
            "stageName": name,
            "orderNo": i + 1,
            "winRate": [10, 30, 50, 80, 100, 0][i],
            **stamps(i),
        }
        for i, name in enumerate(names)
    ]


def _accounts(rng: random.Random) -> list[Record]:
    """Customer companies."""
    return [
        {
            "id": 3000 + i,
            "accountName": f"客户{i}有限公司",
            "industry": rng.choice(["制造", "软件", "零售"]),
            "province": "上海",
            "city": "上海",
            "employeeNumber": rng.randint(10, 5000),
            "ownerId": 1000 + i % COUNTS["user"],
            **stamps(i),
        }
        for i in range(COUNTS["account"])
    ]


def _contacts(rng: random.Random) -> list[Record]:
    """People at customer companies."""
    return [
        {
            "id": 4000 + i,
            "contactName": f"联系人{i}",
            "accountId": 3000 + i % COUNTS["account"],
            "mobile": f"138{i:08d}",
            "phone": None,
            "email": f"c{i}@client.test",
            "post": rng.choice(["CTO", "采购"]),
            "ownerId": 1000 + i % COUNTS["user"],
            **stamps(i),
        }
        for i in range(COUNTS["contact"])
    ]


def _leads(rng: random.Random) -> list[Record]:
    """Inbound leads with UTM custom fields; `phone` is null everywhere on purpose."""
    leads = []
    for i in range(COUNTS["lead"]):
        converted = i % 4 == 0
        leads.append(
            {
                "id": 5000 + i,
                "name": f"线索{i}",
                "mobile": f"139{i:08d}",
                "phone": None,
                "email": f"l{i}@x.test",
                "companyName": f"公司{i}",
                "post": "经理",
                "province": "北京",
                "industry": "软件",
                "leadSource": rng.choice(["官网", "展会", "百度"]),
                "status": "已转化" if converted else "跟进中",
                "ownerId": 1000 + i % COUNTS["user"],
                "accountId": 3000 + i % COUNTS["account"] if converted else None,
                "contactId": 4000 + i % COUNTS["contact"] if converted else None,
                "opportunityId": None,
                "customItem201__c": rng.choice(["baidu", "wechat", "linkedin"]),
                "customItem202__c": "cpc",
                "customItem203__c": f"campaign-{i % 7}",
                "customItem204__c": None,
                "customItem205__c": None,
                **stamps(i),
            }
        )
    return leads


def _lead_history(rng: random.Random) -> list[Record]:
    """Lead status changes."""
    return [
        {
            "id": 6000 + i,
            "leadId": 5000 + i % COUNTS["lead"],
            "fieldName": "status",
            "oldValue": "新建",
            "newValue": rng.choice(["跟进中", "已转化"]),
            **stamps(i),
        }
        for i in range(COUNTS["leadHistory"])
    ]


def _opportunities(rng: random.Random) -> list[Record]:
    """Deals, with money as a plain JSON number."""
    return [
        {
            "id": 7000 + i,
            "opportunityName": f"商机{i}",
            "accountId": 3000 + i,
            "ownerId": 1000 + i % COUNTS["user"],
            "money": round(rng.uniform(1000, 500000), 2),
            "saleStageId": 2000 + i % 6,
            "winRate": 50,
            "closeDate": BASE_MS + 86_400_000 * i,
            "reasonDesc": None,
            "opportunitySource": "线索转化",
            "opportunityType": "新客户",
            **stamps(i),
        }
        for i in range(COUNTS["opportunity"])
    ]


def _stage_history(_: random.Random) -> list[Record]:
    """Stage entries of opportunities."""
    return [
        {
            "id": 8000 + i,
            "opportunityId": 7000 + i % COUNTS["opportunity"],
            "saleStageId": 2000 + i % 6,
            **stamps(i),
        }
        for i in range(COUNTS["opportunityStageHistory"])
    ]


def _payments(rng: random.Random) -> list[Record]:
    """Payments received (回款)."""
    return [
        {
            "id": 9000 + i,
            "opportunityId": 7000 + i,
            "accountId": 3000 + i,
            "amount": rng.randint(1, 90000) + 0.5,
            "paymentDate": BASE_MS + 86_400_000 * i,
            **stamps(i),
        }
        for i in range(COUNTS["payment"])
    ]


def build_world(seed: int = 7) -> World:
    """A small, deterministic 销售易 tenant keyed by xoql object name."""
    rng = random.Random(seed)
    builders: dict[str, Callable[[random.Random], list[Record]]] = {
        "user": _users,
        "saleStage": _stages,
        "account": _accounts,
        "contact": _contacts,
        "lead": _leads,
        "leadHistory": _lead_history,
        "opportunity": _opportunities,
        "opportunityStageHistory": _stage_history,
        "payment": _payments,
    }
    return {name: build(rng) for name, build in builders.items()}


def expected_counts(world: World) -> dict[str, int]:
    """Rows per raw table the simulator holds."""
    return {obj.resource: len(world[obj.xoql_name]) for obj in settings.OBJECTS}


@pytest.fixture
def world() -> World:
    """A fresh world per test, free to mutate."""
    return build_world()


@pytest.fixture
def simulator(world: World) -> Iterator[NeocrmSimulator]:
    """The 销售易 simulator serving `world` on a free 127.0.0.1 port."""
    sim = NeocrmSimulator(
        world, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, username=USERNAME, password=PASSWORD
    )
    with sim:
        yield sim


@pytest.fixture
def neocrm_env(monkeypatch: pytest.MonkeyPatch, simulator: NeocrmSimulator) -> NeocrmSimulator:
    """Points the source at the simulator through environment variables only, with fast retries."""
    env = {
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "SOURCES__NEOCRM__BASE_URL": simulator.base_url,
        "SOURCES__NEOCRM__TOKEN_URL": simulator.token_url,
        "SOURCES__NEOCRM__CLIENT_ID": CLIENT_ID,
        "SOURCES__NEOCRM__CLIENT_SECRET": CLIENT_SECRET,
        "SOURCES__NEOCRM__USERNAME": USERNAME,
        "SOURCES__NEOCRM__PASSWORD": PASSWORD,
        "SOURCES__NEOCRM__BATCH_COUNT": str(BATCH_COUNT),
        "SOURCES__NEOCRM__MAX_TRIES": "4",
        "SOURCES__NEOCRM__BACKOFF_SECONDS": "0.01",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return simulator


@pytest.fixture
def pipeline(tmp_path: Path) -> dlt.Pipeline:
    """A DuckDB pipeline into `raw_neocrm`, private to the test."""
    return dlt.pipeline(
        pipeline_name="neocrm_test",
        destination=dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
        dataset_name="raw_neocrm",
        pipelines_dir=str(tmp_path / "pipelines"),
    )


def run_source(pipeline: dlt.Pipeline) -> dict[str, int]:
    """Runs a fresh neocrm source and returns rows loaded per table (data tables only)."""
    pipeline.run(neocrm_source())
    counts = pipeline.last_trace.last_normalize_info.row_counts
    return {table: n for table, n in counts.items() if not table.startswith("_dlt")}


def table_rows(pipeline: dlt.Pipeline, sql: str) -> list[tuple[Any, ...]]:
    """Runs a query against the pipeline's dataset."""
    with pipeline.sql_client() as client:
        return [tuple(row) for row in client.execute_sql(sql)]
