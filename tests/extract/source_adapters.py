"""What every source test shares, one adapter per platform: how to build the source against its
simulator, what a first run must load, which faults to plant and which settings an error must name.

tests/extract/test_source_faults.py runs the same behaviour against every adapter; what only one
platform does stays in its own tests/extract/test_<source>_source.py. The shared tests build a
source through `WIRING` only (the public source function, configured from the environment as the
other tests do), so a change to a source function's arguments touches one spot. Each platform's
section then registers its expectations, faults and credential cases on its `SourceCase`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import dlt
import pytest

from leadloop.demo.simulators import baidu_sem as baidu_sim
from leadloop.demo.simulators import neocrm as neocrm_sim
from leadloop.demo.simulators import oceanengine as ocean_sim
from leadloop.demo.simulators import salesforce as sf_sim
from leadloop.demo.simulators import sensors as sensors_sim
from leadloop.demo.simulators import wecom as wecom_sim
from leadloop.extract.baidu_sem import baidu_sem_source
from leadloop.extract.baidu_sem import settings as baidu_settings
from leadloop.extract.neocrm import neocrm_source
from leadloop.extract.neocrm import settings as neocrm_settings
from leadloop.extract.oceanengine import oceanengine_source
from leadloop.extract.salesforce import salesforce_source
from leadloop.extract.salesforce import settings as sf_settings
from leadloop.extract.sensors import sensors_source
from leadloop.extract.wecom import settings as wecom_settings
from leadloop.extract.wecom import wecom_source
from tests.extract import baidu_sem_fixtures as baidu
from tests.extract import conftest as neocrm
from tests.extract import oceanengine_fixtures as ocean
from tests.extract import salesforce_fixtures as sf
from tests.extract import sensors_fixtures as sensors
from tests.extract import wecom_fixtures as wecom

# The modules a source test module names in its `pytest_plugins`: the `source_run` fixture here and each
# source's fixtures (`<source>_env`, `<source>_pipeline`, worlds), asked for by name.
SOURCE_TEST_PLUGINS = (
    "tests.extract.source_adapters",
    "tests.extract.salesforce_fixtures",
    "tests.extract.sensors_fixtures",
    "tests.extract.wecom_fixtures",
    "tests.extract.baidu_sem_fixtures",
    "tests.extract.oceanengine_fixtures",
)

Row = tuple[Any, ...]
QUARANTINE_COLUMNS = [
    "quarantine_id",
    "source",
    "resource",
    "record_id",
    "reason",
    "raw_payload",
    "first_seen_at",
]


@dataclass(frozen=True)
class Wiring:
    """How a test builds a source and points it at its simulator (fixtures asked for by name)."""

    build: Callable[[], dlt.sources.DltSource]
    env_fixture: str  # sets the source's settings (environment), returns the running simulator
    pipeline_fixture: str  # a private DuckDB pipeline


@dataclass(frozen=True)
class Tables:
    """The raw tables a source loads, the one the shared tests look at and its primary key."""

    data: tuple[str, ...]
    main: str
    primary_key: tuple[str, ...]
    merge_strategy: str | None = None


OCEAN_KEY = ("advertiser_id", "cdp_promotion_id", "stat_time_day")

# The one place the shared tests build a source: a change to a source function's arguments, or to
# how a test points it at its simulator, touches this table only.
WIRING = {
    "neocrm": Wiring(neocrm_source, "neocrm_env", "pipeline"),
    "salesforce": Wiring(salesforce_source, "sf_env", "sf_pipeline"),
    "sensors": Wiring(sensors_source, "sensors_env", "sensors_pipeline"),
    "wecom": Wiring(wecom_source, "wecom_env", "wecom_pipeline"),
    "baidu_sem": Wiring(baidu_sem_source, "baidu_env", "baidu_pipeline"),
    "oceanengine": Wiring(oceanengine_source, "oceanengine_env", "oceanengine_pipeline"),
}
TABLES = {
    "neocrm": Tables(tuple(obj.resource for obj in neocrm_settings.OBJECTS), "leads", ("id",)),
    "salesforce": Tables(tuple(sf.DATA_TABLES), "leads", ("Id",)),
    "sensors": Tables(("events",), "events", ("event_key",), merge_strategy="insert-only"),
    "wecom": Tables(wecom.DATA_TABLES, "follow_relations", ("external_userid", "userid")),
    "baidu_sem": Tables((baidu_settings.RESOURCE,), baidu_settings.RESOURCE, ("userId", "keywordId", "date")),
    "oceanengine": Tables((ocean.TABLE,), ocean.TABLE, OCEAN_KEY),
}


@dataclass
class SourceRun:
    """One test's source, simulator and DuckDB pipeline, with the test's fixtures at hand."""

    case: SourceCase
    sim: Any
    pipeline: dlt.Pipeline
    monkeypatch: pytest.MonkeyPatch
    request: pytest.FixtureRequest

    def fixture(self, name: str) -> Any:
        """Another fixture of the test (the source's world, its records…)."""
        return self.request.getfixturevalue(name)

    def setenv(self, key: str, value: str | None) -> None:
        """Sets (or, with None, removes) one of the source's settings, e.g. `MAX_TRIES`."""
        if value is None:
            self.monkeypatch.delenv(self.case.setting(key))
        else:
            self.monkeypatch.setenv(self.case.setting(key), value)

    def load(self, pipeline: dlt.Pipeline | None = None) -> dict[str, int]:
        """Runs a freshly built source; rows loaded per data table and quarantine (0 where none)."""
        pipeline = pipeline or self.pipeline
        pipeline.run(self.case.build())
        counts = pipeline.last_trace.last_normalize_info.row_counts
        return {table: counts.get(table, 0) for table in (*self.case.tables.data, "quarantine")}

    def rows(self, sql: str) -> list[Row]:
        """Runs a query against the pipeline's dataset."""
        with self.pipeline.sql_client() as client:
            return [tuple(row) for row in client.execute_sql(sql)]

    def table_counts(self) -> dict[str, int]:
        """Rows per raw data table."""
        return {t: self.rows(f"select count(*) from {t}")[0][0] for t in self.case.tables.data}

    def quarantine(self) -> list[Row]:
        """(resource, record_id, reason, raw_payload, first_seen_at, quarantine_id) of every record."""
        return self.rows(
            "select resource, record_id, reason, raw_payload, first_seen_at, quarantine_id from quarantine"
            " order by resource, record_id"
        )


@pytest.fixture
def source_run(
    case: SourceCase, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> SourceRun:
    """The source of `case` pointed at its running simulator, with a private DuckDB pipeline."""
    run = SourceRun(
        case=case,
        sim=request.getfixturevalue(case.wiring.env_fixture),
        pipeline=request.getfixturevalue(case.wiring.pipeline_fixture),
        monkeypatch=monkeypatch,
        request=request,
    )
    case.prepare(run)
    return run


Step = Callable[[SourceRun], None]
Expected = Callable[[SourceRun], dict[str, int]]  # rows per data table a complete first run loads


def _nothing(_: SourceRun) -> None:
    """No step."""


@dataclass(frozen=True)
class Fault:
    """A fault planted in the simulator before a run, and what the run must show besides loading all."""

    plant: Step
    check: Step = _nothing


@dataclass(frozen=True)
class WrongCredentials:
    """Settings given wrong values (None: removed) and what the single failing attempt must show."""

    settings: Mapping[str, str | None]
    named: tuple[str, ...]  # texts the error must contain: the settings to fix, the platform's code
    served: Mapping[str, int]  # requests the simulator answered, per path
    hidden: tuple[str, ...] = ()  # wrong values (secrets) the error must not echo
    total_served: int | None = None


@dataclass(frozen=True)
class Refusal:
    """A request the platform refuses for good (set up by `plant`): the run stops with its message."""

    plant: Step
    named: tuple[str, ...]  # texts the error must contain: the platform's code and words, the setting
    served: Mapping[str, int]  # requests the simulator answered, per path: no retries


@dataclass(frozen=True)
class Missing:
    """Settings left out and the message that must name them."""

    unset: tuple[str, ...]
    message: str


@dataclass
class Planted:
    """Invalid records planted in the simulator, and what quarantine must hold after one run."""

    served: Callable[[], dict[str, int]]  # rows served per data table, read after the run
    reasons: dict[tuple[str, str | None], str] | None = None  # (resource, record_id) → word in reason
    words: tuple[str, ...] = ()  # words the reasons must hold, where record ids are not pinned
    count: int | None = None  # records quarantined, where `reasons` does not say
    check: Callable[[list[Row]], None] = lambda _: None  # the platform's own checks of the rows
    after_rerun: Callable[[], None] = lambda: None

    @property
    def expected_count(self) -> int:
        """How many records quarantine must hold."""
        return self.count if self.count is not None else len(self.reasons or {})


def _unset_expected(run: SourceRun) -> dict[str, int]:
    raise NotImplementedError(f"{run.case.name}: no expected row counts registered")


def _unset_plant(run: SourceRun) -> Planted:
    raise NotImplementedError(f"{run.case.name}: no invalid records registered")


def _unset_fuzz(run: SourceRun, fuzzer: Any) -> Any:
    raise NotImplementedError(f"{run.case.name}: no fuzzer registered (tests/extract/source_fuzzers.py)")


@dataclass
class SourceCase:
    """The adapter of one source: what the shared tests need to know about it.

    Its section below fills it in next to the code: `@CASE.expects` (rows a first run loads),
    `@CASE.fault(name)`, `CASE.refuses(…)` (wrong credentials), `@CASE.stops_on(…)` (a refusal for
    good), `CASE.names_missing(…)`,
    `@CASE.plants_invalid`, `@CASE.fuzzes`, and optionally `@CASE.prepares` / `@CASE.checks_content`.
    """

    name: str
    credential_settings: tuple[str, ...]  # none is needed to build the source
    rerun_loads_nothing: bool = False  # a second run on unchanged data loads no data row
    expected: Expected = _unset_expected
    plant_invalid: Callable[[SourceRun], Planted] = _unset_plant
    # Serves a Fuzzer's bad records among the good ones (tests/extract/source_fuzzers.py).
    fuzz: Callable[[SourceRun, Any], Any] = _unset_fuzz
    prepare: Step = _nothing  # settings every run-based shared test starts from
    content: Step = _nothing  # what a complete first run must hold beyond row counts
    faults: dict[str, Fault] = field(default_factory=dict)
    wrong_credentials: dict[str, WrongCredentials] = field(default_factory=dict)
    refusals: dict[str, Refusal] = field(default_factory=dict)
    missing: list[Missing] = field(default_factory=list)

    @property
    def wiring(self) -> Wiring:
        """How the source is built and pointed at its simulator."""
        return WIRING[self.name]

    @property
    def tables(self) -> Tables:
        """The source's raw tables."""
        return TABLES[self.name]

    def build(self) -> dlt.sources.DltSource:
        """A fresh source, configured from the environment as in production."""
        return self.wiring.build()

    def setting(self, key: str) -> str:
        """The environment variable of a setting, e.g. SOURCES__NEOCRM__CLIENT_SECRET."""
        return f"SOURCES__{self.name.upper()}__{key}"

    def env(self, *keys: str) -> tuple[str, ...]:
        """The environment variables of some settings."""
        return tuple(self.setting(key) for key in keys)

    def expects(self, expected: Expected) -> Expected:
        """Registers the rows per data table a complete first run loads."""
        self.expected = expected
        return expected

    def plants_invalid(self, plant: Callable[[SourceRun], Planted]) -> Callable[[SourceRun], Planted]:
        """Registers how invalid records are planted, and what quarantine must then hold."""
        self.plant_invalid = plant
        return plant

    def fuzzes(self, plant: Callable[[SourceRun, Any], Any]) -> Callable[[SourceRun, Any], Any]:
        """Registers how a Fuzzer's bad records are served among the good ones (and read back)."""
        self.fuzz = plant
        return plant

    def prepares(self, step: Step) -> Step:
        """Registers settings every run-based shared test starts from."""
        self.prepare = step
        return step

    def checks_content(self, step: Step) -> Step:
        """Registers what a complete first run must hold beyond row counts."""
        self.content = step
        return step

    def fault(self, name: str, check: Step = _nothing) -> Callable[[Step], Step]:
        """Registers the decorated function as a fault to plant; `check` what the run must show."""

        def register(plant: Step) -> Step:
            self.faults[name] = Fault(plant, check)
            return plant

        return register

    def refuses(self, name: str, settings: Mapping[str, str | None], **expected: Any) -> None:
        """Registers wrong credentials and what their failure must show (see WrongCredentials)."""
        self.wrong_credentials[name] = WrongCredentials(settings, **expected)

    def stops_on(
        self, name: str, named: tuple[str, ...], served: Mapping[str, int] | None = None
    ) -> Callable[[Step], Step]:
        """Registers the decorated function as a refusal to plant and what the stopped run must show."""

        def register(plant: Step) -> Step:
            self.refusals[name] = Refusal(plant, named, served or {})
            return plant

        return register

    def names_missing(self, *keys: str, message: str | None = None) -> None:
        """Registers settings to leave out; one alone must be named as every source words it."""
        if message is None:
            [key] = keys
            message = (
                f"{self.name}: missing setting {self.setting(key)}"
                f" (or {key.lower()} under [sources.{self.name}] in .dlt/secrets.toml)"
            )
        self.missing.append(Missing(keys, message))


# -- neocrm (销售易) ----------------------------------------------------------------------------------

NEOCRM = SourceCase(
    "neocrm",
    credential_settings=("CLIENT_ID", "CLIENT_SECRET", "USERNAME", "PASSWORD", "BASE_URL", "TOKEN_URL"),
    rerun_loads_nothing=True,
)


@NEOCRM.expects
def _neocrm_expected(run: SourceRun) -> dict[str, int]:
    return neocrm.expected_counts(run.fixture("world"))


def _one_new_token(path: str) -> Step:
    """Check: the expired token was replaced by exactly one new one."""

    def check(run: SourceRun) -> None:
        assert run.sim.requests_served[path] == 2

    return check


@NEOCRM.fault("throttling_and_server_errors")
def _neocrm_throttled_then_failing(run: SourceRun) -> None:
    """429, three 503s and a 200 carrying code 500 on the first query, a 502 on the token."""
    run.setenv("MAX_TRIES", "6")  # five failures in a row on the first query
    slow_down = {"code": "429", "msg": "slow down"}
    run.sim.inject(neocrm_sim.XOQL_SCROLL_PATH, 429, slow_down, headers={"Retry-After": "0"})
    run.sim.inject(neocrm_sim.XOQL_SCROLL_PATH, 503, "Service Unavailable", times=3)
    run.sim.inject(neocrm_sim.XOQL_SCROLL_PATH, 200, {"code": "500", "msg": "internal error", "data": None})
    run.sim.inject(neocrm_sim.TOKEN_PATH, 502, "Bad Gateway")


@NEOCRM.fault("token_expiry", check=_one_new_token(neocrm_sim.TOKEN_PATH))
def _neocrm_token_expires(run: SourceRun) -> None:
    run.sim.call_after(neocrm_sim.XOQL_SCROLL_PATH, 1, run.sim.expire_tokens)


NEOCRM.refuses(
    "client_secret",
    {"CLIENT_SECRET": "not-the-secret"},
    named=NEOCRM.env("CLIENT_SECRET"),
    served={neocrm_sim.TOKEN_PATH: 1, neocrm_sim.XOQL_SCROLL_PATH: 0},
    hidden=("not-the-secret",),
)
NEOCRM.names_missing("CLIENT_SECRET")


@NEOCRM.stops_on("unknown_custom_field", named=("customItem999__c", "code 400"))
def _neocrm_unknown_field(run: SourceRun) -> None:
    run.setenv("CUSTOM_FIELDS", json.dumps({"leads": {"customItem999__c": "nothing"}}))


@NEOCRM.plants_invalid
def _neocrm_invalid(run: SourceRun) -> Planted:
    world = run.fixture("world")
    latest = max(lead["updatedAt"] for lead in world["lead"])
    world["lead"].append(dict(world["lead"][0], id="abc", updatedAt=latest))  # re-read by the next run too
    no_cursor = dict(world["contact"][0], id=48_000)
    del no_cursor["updatedAt"]
    world["contact"].append(no_cursor)
    world["payment"].append(dict(world["payment"][0], id=49_000, amount="lots"))

    def check(rows: list[Row]) -> None:
        [lead] = [row for row in rows if row[0] == "leads"]
        assert json.loads(lead[3])["id"] == "abc"

    reasons = {("contacts", "48000"): "updatedAt", ("leads", "abc"): "id", ("payments", "49000"): "amount"}
    return Planted(served=lambda: neocrm.expected_counts(world), reasons=reasons, check=check)


# -- salesforce ---------------------------------------------------------------------------------------

SALESFORCE = SourceCase(
    "salesforce",
    credential_settings=("CLIENT_ID", "CLIENT_SECRET", "USERNAME", "PASSWORD", "SECURITY_TOKEN", "LOGIN_URL"),
)


@SALESFORCE.expects
def _sf_expected(run: SourceRun) -> dict[str, int]:
    world = run.fixture("demo_world")
    return sf.expected_counts(world, world.as_of_ms)


def _sf_request_limit_check(run: SourceRun) -> None:
    assert run.sim.requests_served[sf_sim.QUERY_ALL_PATH] == len(sf.DATA_TABLES) + 2


@SALESFORCE.fault("request_limit", check=_sf_request_limit_check)
def _sf_request_limit(run: SourceRun) -> None:
    limit = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    run.sim.inject(sf_sim.QUERY_ALL_PATH, 403, limit, times=2)


@SALESFORCE.fault("token_expiry", check=_one_new_token(sf_sim.TOKEN_PATH))
def _sf_token_expires(run: SourceRun) -> None:
    run.sim.call_after(sf_sim.QUERY_MORE_PATH, 1, run.sim.expire_tokens)  # between two pages of one query


@SALESFORCE.fault("server_errors")
def _sf_server_errors(run: SourceRun) -> None:
    unavailable = [{"message": "Server unavailable", "errorCode": "SERVER_UNAVAILABLE"}]
    unexpected = [{"message": "An unexpected error", "errorCode": "UNKNOWN_EXCEPTION"}]
    run.sim.inject(sf_sim.TOKEN_PATH, 502, "Bad Gateway")
    run.sim.inject(sf_sim.QUERY_ALL_PATH, 503, unavailable, times=2, headers={"Retry-After": "0"})
    run.sim.inject(sf_sim.QUERY_ALL_PATH, 500, unexpected)
    run.sim.inject(sf_sim.QUERY_MORE_PATH, 502, "Bad Gateway")


def _sf_served_once(run: SourceRun) -> None:
    """Check: rows served = rows in raw (quarantine is empty)."""
    expected = _sf_expected(run)
    for obj in sf_settings.OBJECTS:
        assert run.sim.rows_served[obj.sobject] == expected[obj.resource]


@SALESFORCE.fault("malformed_pages", check=_sf_served_once)
def _sf_malformed_pages(run: SourceRun) -> None:
    run.sim.inject(sf_sim.QUERY_ALL_PATH, 200, b'{"totalSize": 3, "done": tr')  # cut off mid-answer
    run.sim.inject(sf_sim.QUERY_MORE_PATH, 200, {"totalSize": 558, "nextRecordsUrl": None})  # no records


SALESFORCE.refuses(
    "client_secret",
    {"CLIENT_SECRET": "not-the-secret"},
    named=(*SALESFORCE.env("CLIENT_SECRET"), "invalid_client"),
    served={sf_sim.TOKEN_PATH: 1, sf_sim.QUERY_ALL_PATH: 0},
    hidden=("not-the-secret",),
)
SALESFORCE.refuses(
    "no_security_token",
    {"SECURITY_TOKEN": None},
    named=(*SALESFORCE.env("PASSWORD", "SECURITY_TOKEN"), "authentication failure"),
    served={sf_sim.TOKEN_PATH: 1},
)
SALESFORCE.names_missing("CLIENT_SECRET")
SALESFORCE.names_missing("PASSWORD")


@SALESFORCE.plants_invalid
def _sf_invalid(run: SourceRun) -> Planted:
    records = run.fixture("sf_records")
    records["Lead"][3]["IsConverted"] = "maybe"
    records["Opportunity"][0]["Amount"] = "lots"
    records["Contact"][5]["MobilePhone"] = ["13800138000", "13900139000"]  # a list, not text
    records["CampaignMember"][7]["Id"] = None
    records["LeadHistory"][0]["CreatedDate"] = "2026-01-01 08:00"  # no time zone: not an instant

    def served() -> dict[str, int]:
        for obj in sf_settings.OBJECTS:  # every record was served
            assert len(records[obj.sobject]) == run.sim.rows_served[obj.sobject]
        return {obj.resource: run.sim.rows_served[obj.sobject] for obj in sf_settings.OBJECTS}

    def check(rows: list[Row]) -> None:
        [lead] = [row for row in rows if row[0] == "leads"]
        assert json.loads(lead[3])["IsConverted"] == "maybe"

    reasons = {
        ("campaign_members", None): "Id",
        ("contacts", records["Contact"][5]["Id"]): "MobilePhone",
        ("lead_history", records["LeadHistory"][0]["Id"]): "CreatedDate",
        ("leads", records["Lead"][3]["Id"]): "IsConverted",
        ("opportunities", records["Opportunity"][0]["Id"]): "Amount",
    }
    return Planted(served=served, reasons=reasons, check=check)


# -- sensors (神策) -----------------------------------------------------------------------------------

SENSORS = SourceCase("sensors", credential_settings=("BASE_URL", "TOKEN", "PROJECT"))


@SENSORS.prepares
def _sensors_recent(run: SourceRun) -> None:
    run.setenv("START_TIME", sensors.RECENT_START)  # a shorter history: the shared tests run many times


@SENSORS.expects
def _sensors_expected(run: SourceRun) -> dict[str, int]:
    as_of_ms = run.fixture("demo_world").as_of_ms
    return {"events": len(sensors.served_events(run.fixture("digital"), as_of_ms, sensors.RECENT_START))}


@SENSORS.checks_content
def _sensors_served_equals_loaded(run: SourceRun) -> None:
    assert run.sim.rows_served == run.table_counts()["events"]


def _sensors_four_retries(run: SourceRun) -> None:
    assert run.sim.requests_served[sensors_sim.QUERY_PATH] == len(run.sim.queries) + 4


@SENSORS.fault("throttling_and_server_errors", check=_sensors_four_retries)
def _sensors_throttled_then_failing(run: SourceRun) -> None:
    """A 429 on the first window, three 503s after the tenth."""
    sim, path = run.sim, sensors_sim.QUERY_PATH
    sim.inject(path, 429, {"error": "too many requests"}, headers={"Retry-After": "0"})
    sim.call_after(path, 10, lambda: sim.inject(path, 503, "busy", times=3))


SENSORS.refuses(
    "token",
    {"TOKEN": "not-the-token"},
    named=SENSORS.env("TOKEN", "PROJECT"),
    served={sensors_sim.QUERY_PATH: 1},
    hidden=("not-the-token",),
)
SENSORS.names_missing("BASE_URL")
SENSORS.names_missing(
    "BASE_URL", "TOKEN", message=f"sensors: missing settings {', '.join(SENSORS.env('BASE_URL', 'TOKEN'))}"
)


@SENSORS.stops_on(
    "unknown_project",
    named=("HTTP 400", "project 'production' does not exist"),
    served={sensors_sim.QUERY_PATH: 1},
)
def _sensors_unknown_project(run: SourceRun) -> None:
    run.setenv("PROJECT", "production")


@SENSORS.plants_invalid
def _sensors_invalid(run: SourceRun) -> Planted:
    sim, pipeline = run.sim, run.pipeline
    clean = dlt.pipeline(
        pipeline_name="sensors_clean",
        destination=dlt.destinations.duckdb(str(pipeline.pipelines_dir) + "/clean.duckdb"),
        dataset_name="raw_sensors",
        pipelines_dir=str(pipeline.pipelines_dir) + "/clean",
    )
    run.load(clean)
    clean_keys = set(sensors.rows(clean, "select event_key from events"))
    moment = "2026-10-05 10:00:00.000"
    bad = [
        b'{"event":"$pageview","time":"2026-10-05 10:00:00.000","distinct_id":',  # cut off
        b'{"event":"$pageview","time":"2026-10-05 10:00:00.000"}',  # no distinct_id
        b'{"event":"$WebStay","time":"2026-10-05 10:00:00.000","distinct_id":"x-sa","event_duration":"long"}',
        b'{"event":"$pageview","time":"5 Oct 2026","distinct_id":"x-sa"}',
        b"[1, 2]",
    ]
    for line in bad:
        sim.add_raw_line(moment, line)
    sim.reset_counters()

    def check(rows: list[Row]) -> None:
        assert any('distinct_id":' in json.loads(row[3]) for row in rows if row[3].startswith('"'))
        # the good rows keep the keys of a clean run
        assert set(run.rows("select event_key from events")) == clean_keys

    words = (
        "malformed NDJSON line",
        "missing required field distinct_id",
        "event_duration",
        "field time",
        "not an object",
    )
    return Planted(served=lambda: {"events": sim.rows_served}, words=words, count=len(bad), check=check)


# -- wecom (企业微信) ----------------------------------------------------------------------------------

WECOM = SourceCase(
    "wecom", credential_settings=("CORP_ID", "CORP_SECRET", "BASE_URL"), rerun_loads_nothing=True
)


@WECOM.expects
def _wecom_expected(run: SourceRun) -> dict[str, int]:
    demo = run.fixture("wecom_demo")
    return wecom.world_counts(demo, demo.world.as_of_ms)


@WECOM.fault("rate_limit")
def _wecom_rate_limited(run: SourceRun) -> None:
    """45009 (frequency limit) on a page, a contact-way read and the follower list."""
    busy = {"errcode": 45009, "errmsg": "api freq out of limit"}
    paths = wecom_sim.BATCH_GET_BY_USER_PATH, wecom_sim.GET_CONTACT_WAY_PATH, wecom_sim.FOLLOW_USER_LIST_PATH
    for path in paths:
        run.sim.inject(path, 200, busy)


@WECOM.fault("token_expiry", check=_one_new_token(wecom_sim.TOKEN_PATH))
def _wecom_token_expires(run: SourceRun) -> None:
    """Every token expires right after the first contacts page (42001 on the second)."""
    run.sim.call_after(wecom_sim.BATCH_GET_BY_USER_PATH, 1, run.sim.expire_tokens)


@WECOM.fault("server_errors")
def _wecom_server_errors(run: SourceRun) -> None:
    """A burst of 5xx on the contacts pages, the token and the contact-way list."""
    run.sim.inject(wecom_sim.BATCH_GET_BY_USER_PATH, 503, "Service Unavailable", times=wecom.MAX_TRIES - 1)
    run.sim.inject(wecom_sim.TOKEN_PATH, 502, "Bad Gateway")
    run.sim.inject(wecom_sim.LIST_CONTACT_WAY_PATH, 500, {"error": "oops"}, times=2)


@WECOM.fault("invalid_json")
def _wecom_invalid_json(run: SourceRun) -> None:
    """A contacts page cut off mid-body, after the first page."""
    path, sim = wecom_sim.BATCH_GET_BY_USER_PATH, run.sim
    sim.call_after(path, 1, lambda: sim.inject(path, 200, b'{"errcode":0,"ext'))


@WECOM.fault("missing_fields")
def _wecom_missing_fields(run: SourceRun) -> None:
    """Answers that say ok but lack their list: a contacts page, a tag list, a contact way."""
    ok = {"errcode": 0, "errmsg": "ok"}
    run.sim.inject(wecom_sim.BATCH_GET_BY_USER_PATH, 200, ok)
    run.sim.inject(wecom_sim.GET_CONTACT_WAY_PATH, 200, ok)
    run.sim.inject(wecom_settings.CORP_TAG_LIST_PATH, 200, {**ok, "tag_group": None})


WECOM.refuses(
    "corp_secret",
    {"CORP_SECRET": "not-the-secret"},
    named=(*WECOM.env("CORP_SECRET"), "40001"),
    served={wecom_sim.TOKEN_PATH: 1},
    hidden=("not-the-secret",),
    total_served=1,
)
WECOM.refuses(
    "corp_id", {"CORP_ID": "ww_someone_else"}, named=(*WECOM.env("CORP_ID"), "40013"), served={},
    total_served=1,
)
WECOM.names_missing("CORP_SECRET")


@WECOM.stops_on(
    "api_not_authorised",
    named=("errcode 48001", *WECOM.env("CORP_SECRET"), "客户联系"),
    served={wecom_sim.FOLLOW_USER_LIST_PATH: 1},  # no retry storm
)
def _wecom_api_forbidden(run: SourceRun) -> None:
    forbidden = {"errcode": 48001, "errmsg": "api forbidden"}
    run.sim.inject(wecom_sim.FOLLOW_USER_LIST_PATH, 200, forbidden, times=10)


@WECOM.plants_invalid
def _wecom_invalid(run: SourceRun) -> Planted:
    records = run.fixture("wecom_demo").render()
    good = records.contacts[0]
    bad_time = {
        "external_contact": {**good["external_contact"], "external_userid": "wmBadTime"},
        "follow_info": {**good["follow_info"], "createtime": "yesterday"},
    }
    no_id = {"external_contact": {"name": "无ID"}, "follow_info": {**good["follow_info"], "userid": "liting"}}
    bad_gender = {
        "external_contact": {**good["external_contact"], "external_userid": "wmBadGender", "gender": "男"},
        "follow_info": good["follow_info"],
    }
    served = [*records.contacts, bad_time, no_id, bad_gender]
    run.sim.set_records(replace(records, contacts=served))
    bad_time_id = f"wmBadTime/{good['follow_info']['userid']}"

    def check(rows: list[Row]) -> None:
        [row] = [row for row in rows if row[1] == bad_time_id]
        assert json.loads(row[3]) == bad_time  # the record exactly as received

    def no_deletions() -> None:
        assert run.rows("select count(*) from follow_relations where is_deleted") == [(0,)]

    contacts = {c["external_contact"].get("external_userid") for c in served}
    reasons = {
        ("external_contacts", "wmBadGender"): "gender",
        ("external_contacts", None): "external_userid",
        ("follow_relations", "/liting"): "external_contact.external_userid",
        ("follow_relations", bad_time_id): "createtime",
    }
    return Planted(
        served=lambda: {"follow_relations": len(served), "external_contacts": len(contacts)},
        reasons=reasons,
        check=check,
        after_rerun=no_deletions,
    )


# -- baidu_sem (百度营销) ------------------------------------------------------------------------------

BAIDU_SEM = SourceCase(
    "baidu_sem",
    credential_settings=("USERNAME", "ACCESS_TOKEN", "REFRESH_TOKEN", "APP_ID", "SECRET_KEY", "BASE_URL"),
)


def _baidu_status(status: int, *failures: tuple[int, str]) -> dict[str, object]:
    """A 百度营销 answer envelope with the given status and failure codes."""
    return {
        "header": {
            "desc": "failure",
            "failures": [{"code": code, "message": message, "position": ""} for code, message in failures],
            "oprs": 0,
            "oprtime": 0,
            "quota": 2,
            "rquota": 100,
            "status": status,
        },
        "body": {},
    }


@BAIDU_SEM.expects
def _baidu_expected(run: SourceRun) -> dict[str, int]:
    return {baidu_settings.RESOURCE: len(baidu.expected_report(run.fixture("baidu_demo")))}


@BAIDU_SEM.checks_content
def _baidu_report_as_shown(run: SourceRun) -> None:
    assert baidu.loaded_report(run.pipeline) == baidu.expected_report(run.fixture("baidu_demo"))


@BAIDU_SEM.fault("rate_limit")
def _baidu_rate_limited(run: SourceRun) -> None:
    """Status 2 'too frequent', a 429 and status 1 'quota' on the first pages."""
    path = baidu_sim.REPORT_PATH
    run.sim.inject(path, 200, _baidu_status(2, (baidu_settings.RATE_LIMITED_CODE, "too frequent")))
    run.sim.inject(path, 429, {"error": "slow down"}, headers={"Retry-After": "0"})
    run.sim.inject(path, 200, _baidu_status(1, (baidu_settings.QUOTA_EXHAUSTED_CODE, "quota")))


def _baidu_refreshed_once(run: SourceRun) -> None:
    assert run.sim.requests_served[baidu_sim.REFRESH_PATH] == 1
    pages = -(-len(baidu.expected_report(run.fixture("baidu_demo"))) // baidu.ROW_COUNT)
    assert run.sim.requests_served[baidu_sim.REPORT_PATH] == pages + 1  # one page asked twice


@BAIDU_SEM.fault("token_expiry", check=_baidu_refreshed_once)
def _baidu_token_expires(run: SourceRun) -> None:
    run.sim.call_after(baidu_sim.REPORT_PATH, 3, run.sim.expire_tokens)


@BAIDU_SEM.fault("server_errors")
def _baidu_server_errors(run: SourceRun) -> None:
    """Three 503s and two status-3 system errors in a row on the first page."""
    run.setenv("MAX_TRIES", "6")  # five failures in a row on the first page
    run.sim.inject(baidu_sim.REPORT_PATH, 503, "Service Unavailable", times=3)
    run.sim.inject(baidu_sim.REPORT_PATH, 200, _baidu_status(3))  # system error without details
    run.sim.inject(baidu_sim.REPORT_PATH, 200, _baidu_status(3, (baidu_settings.SYSTEM_BUSY_CODE, "busy")))


@BAIDU_SEM.fault("malformed_pages")
def _baidu_malformed_pages(run: SourceRun) -> None:
    ok_header = _baidu_status(0)["header"]
    run.sim.inject(baidu_sim.REPORT_PATH, 200, b"<html>upstream timed out</html>")  # not JSON
    run.sim.inject(baidu_sim.REPORT_PATH, 200, {"header": ok_header, "body": {}})  # no data
    no_total = {"header": ok_header, "body": {"data": [{"rows": []}]}}
    run.sim.inject(baidu_sim.REPORT_PATH, 200, no_total)


BAIDU_SEM.refuses(
    "username",
    {"USERNAME": "somebody-else"},
    named=BAIDU_SEM.env("USERNAME"),
    served={baidu_sim.REPORT_PATH: 1, baidu_sim.REFRESH_PATH: 0},
)
BAIDU_SEM.refuses(
    "stale_access_token_wrong_refresh_token",
    {"ACCESS_TOKEN": "stale-token", "REFRESH_TOKEN": "not-the-refresh-token"},
    named=BAIDU_SEM.env("REFRESH_TOKEN"),
    hidden=("stale-token", "not-the-refresh-token"),
    served={baidu_sim.REPORT_PATH: 1, baidu_sim.REFRESH_PATH: 1},
)
BAIDU_SEM.refuses(
    "stale_access_token_no_refresh_settings",
    {"ACCESS_TOKEN": "stale-token", "REFRESH_TOKEN": None, "APP_ID": None, "SECRET_KEY": None},
    named=BAIDU_SEM.env("ACCESS_TOKEN", "REFRESH_TOKEN"),
    served={baidu_sim.REPORT_PATH: 1},
)
BAIDU_SEM.names_missing("USERNAME")


@BAIDU_SEM.plants_invalid
def _baidu_invalid(run: SourceRun) -> Planted:
    sim, table = run.sim, baidu_settings.RESOURCE
    template = dict(sim.rows[-1])
    bad_cost = dict(template, keywordId=99_001, cost="12,5O")
    no_keyword = {key: value for key, value in template.items() if key != "keywordId"}
    bad_day = dict(template, keywordId=99_003, date=template["date"][:-1])  # e.g. 2026-11-2
    sim.rows.extend([bad_cost, no_keyword, bad_day])
    served = len(sim.rows)

    def check(rows: list[Row]) -> None:
        assert all(json.loads(row[3])["userId"] == 30001 for row in rows)

    reasons = {
        (table, f"30001/99001/{template['date']}"): "cost",
        (table, f"30001//{template['date']}"): "keywordId",
        (table, f"30001/99003/{bad_day['date']}"): "YYYY-MM-DD",
    }
    return Planted(served=lambda: {table: served}, reasons=reasons, check=check)


# -- oceanengine (巨量引擎) ----------------------------------------------------------------------------

OCEANENGINE = SourceCase(
    "oceanengine",
    credential_settings=("BASE_URL", "ADVERTISER_IDS", "ACCESS_TOKEN", "REFRESH_TOKEN", "APP_ID", "SECRET"),
)


def _ocean_expected_rows(run: SourceRun) -> dict[ocean.Key, ocean.Numbers]:
    world, digital = run.fixture("oceanengine_world")
    return ocean.expected_rows(digital, world.as_of_ms, ocean.recent_start(world))


OCEANENGINE.expects(lambda run: {ocean.TABLE: len(_ocean_expected_rows(run))})


@OCEANENGINE.checks_content
def _ocean_content(run: SourceRun) -> None:
    assert ocean.loaded_rows(run.pipeline) == _ocean_expected_rows(run)
    # every row the simulator answered is in the raw table or in quarantine
    assert run.sim.rows_served == ocean.raw_count(run.pipeline) + ocean.raw_count(run.pipeline, "quarantine")


@OCEANENGINE.fault("rate_limit")
def _ocean_rate_limited(run: SourceRun) -> None:
    run.sim.inject(ocean_sim.REPORT_PATH, 200, {"code": 40100, "message": "请求过于频繁", "data": {}})
    run.sim.inject(ocean_sim.REPORT_PATH, 429, "Too Many Requests", headers={"Retry-After": "0"})


def _ocean_token_file(run: SourceRun) -> Path:
    return Path(run.fixture("tmp_path")) / "tokens" / "oceanengine.json"


def _ocean_token_kept_for_the_next_run(run: SourceRun) -> None:
    """The rotated refresh token is kept in the token file (private, not in the warehouse) and used next."""
    assert run.sim.requests_served[ocean_sim.REFRESH_TOKEN_PATH] == 1
    token_file = _ocean_token_file(run)
    saved = json.loads(token_file.read_text())
    assert {saved["refresh_token"]} == run.sim.refresh_tokens  # the rotated one, kept
    assert token_file.stat().st_mode & 0o077 == 0
    state = json.dumps(run.rows("select * from _dlt_pipeline_state"), default=str)
    assert saved["refresh_token"] not in state

    run.sim.expire_tokens()  # next night: the configured refresh token is already used up
    run.load()
    assert run.sim.requests_served[ocean_sim.REFRESH_TOKEN_PATH] == 2


@OCEANENGINE.fault("token_expiry", check=_ocean_token_kept_for_the_next_run)
def _ocean_token_expires(run: SourceRun) -> None:
    run.setenv("TOKEN_FILE", str(_ocean_token_file(run)))
    run.sim.call_after(ocean_sim.REPORT_PATH, 2, run.sim.expire_tokens)


@OCEANENGINE.fault("server_errors")
def _ocean_server_errors(run: SourceRun) -> None:
    run.setenv("MAX_TRIES", "6")
    run.sim.inject(ocean_sim.REPORT_PATH, 503, "Service Unavailable", times=3)
    run.sim.inject(ocean_sim.REPORT_PATH, 500, {"code": 50000, "message": "系统错误"})
    run.sim.inject(ocean_sim.REPORT_PATH, 200, {"code": 50000, "message": "系统错误", "data": {}})


@OCEANENGINE.fault("malformed_pages")
def _ocean_malformed_pages(run: SourceRun) -> None:
    run.sim.inject(ocean_sim.REPORT_PATH, 200, b'{"code":0,"message":"OK","data":{"rows":[{"dimen')
    run.sim.inject(ocean_sim.REPORT_PATH, 200, {"code": 0, "message": "OK", "data": {"rows": []}})
    run.sim.inject(ocean_sim.REPORT_PATH, 200, {"message": "OK"})


OCEANENGINE.refuses(
    "stale_access_token_wrong_secret",
    {"ACCESS_TOKEN": "revoked-token", "SECRET": "not-the-secret"},
    named=OCEANENGINE.env("SECRET", "APP_ID"),
    served={ocean_sim.REPORT_PATH: 1, ocean_sim.REFRESH_TOKEN_PATH: 1},
    hidden=("not-the-secret", "revoked-token"),
)
OCEANENGINE.refuses(
    "stale_access_token_no_refresh_settings",
    {"ACCESS_TOKEN": "revoked-token", "REFRESH_TOKEN": None, "APP_ID": None, "SECRET": None},
    named=OCEANENGINE.env("ACCESS_TOKEN"),
    served={ocean_sim.REPORT_PATH: 1, ocean_sim.REFRESH_TOKEN_PATH: 0},
)
OCEANENGINE.names_missing("ADVERTISER_IDS")
# Either token will do: the message names the access token.
OCEANENGINE.names_missing(
    "ACCESS_TOKEN", "REFRESH_TOKEN", message=f"missing setting {OCEANENGINE.setting('ACCESS_TOKEN')}"
)


@OCEANENGINE.stops_on(
    "advertiser_without_permission", named=("code 40002", "advertiser 42", *OCEANENGINE.env("ADVERTISER_IDS"))
)
def _ocean_advertiser_without_permission(run: SourceRun) -> None:
    """An advertiser the token may not read: code 40002, naming the setting that lists it."""
    run.setenv("ADVERTISER_IDS", "[1760000001, 42]")


@OCEANENGINE.plants_invalid
def _ocean_invalid(run: SourceRun) -> Planted:
    world, _ = run.fixture("oceanengine_world")
    reports = {int(advertiser): rows for advertiser, rows in json.loads(json.dumps(run.sim.reports)).items()}
    first_day = ocean.recent_start(world).isoformat()
    recent = [row for row in reports[1_760_000_001] if row["dimensions"]["stat_time_day"] >= first_day]
    bad_days = [row["dimensions"] for row in recent[:5]]
    bad_keys = {(int(day["cdp_promotion_id"]), day["stat_time_day"]) for day in bad_days}
    recent[0]["metrics"]["stat_cost"] = "--"
    recent[1]["metrics"]["show_cnt"] = "1.5"
    del recent[2]["metrics"]["click_cnt"]
    recent[3]["dimensions"]["stat_time_day"] += " 25:00"
    recent[4]["metrics"] = "oops"
    run.sim.set_reports(reports)

    def check(rows: list[Row]) -> None:
        payload = json.loads(min(rows, key=lambda row: row[1])[3])
        assert payload["advertiser_id"] == 1_760_000_001 and set(payload["row"]) == {"dimensions", "metrics"}
        assert all(row[1].startswith("1760000001/") for row in rows)
        kept = ocean.loaded_rows(run.pipeline)
        assert len(kept) == len(_ocean_expected_rows(run)) - 5 and not {(k[1], k[2]) for k in kept} & bad_keys

    words = ("stat_cost", "show_cnt", "click_cnt", "stat_time_day", "metrics")
    return Planted(served=lambda: {ocean.TABLE: run.sim.rows_served}, words=words, count=5, check=check)


SOURCES: tuple[SourceCase, ...] = (NEOCRM, SALESFORCE, SENSORS, WECOM, BAIDU_SEM, OCEANENGINE)


def by_source() -> list[Any]:
    """One parameter per source, its id the source's name."""
    return [pytest.param(case, id=case.name) for case in SOURCES]


def by_source_and(table: Callable[[SourceCase], Mapping[str, Any] | list[Missing]]) -> list[Any]:
    """One parameter per (source, entry of one of its tables), its id `<source>-<entry>`."""
    params = []
    for case in SOURCES:
        entries = table(case)
        items = entries.items() if isinstance(entries, Mapping) else (("+".join(e.unset), e) for e in entries)
        params.extend(pytest.param(case, entry, id=f"{case.name}-{label}") for label, entry in items)
    return params


def quarantined_per_table(rows: list[Row]) -> Counter[str]:
    """Quarantined records per resource."""
    return Counter(row[0] for row in rows)
