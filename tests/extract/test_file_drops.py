"""Console exports dropped in a folder land in the same raw tables as the API sources (acceptance 5).

The test writes a 百度营销 keyword export (GB18030 CSV, title lines, a 合计 line) and a 巨量引擎
ad export (UTF-8 CSV) from the demo world's numbers, next to API data already loaded: the real
baidu_sem source for Baidu, and rows in the agreed oceanengine columns for Ocean Engine.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import dlt
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from leadloop.demo.digital import AdUnit, reported_ad_day
from leadloop.demo.model import DAY_MS
from leadloop.demo.simulators.baidu_sem import BaiduSemSimulator
from leadloop.extract.common.keyed_arrow import keyed_column_hints, records_to_keyed_arrow
from leadloop.extract.file_drops import file_drops_source, kind_of, kind_patterns, run_file_drops
from leadloop.extract.file_drops.reader import clean_value, normalise_day
from leadloop.extract.file_drops.settings import OCEANENGINE_PROMOTION
from tests.extract.baidu_sem_fixtures import (  # noqa: F401 - *_fixture: pytest fixtures
    BaiduDemo,
    baidu_demo_fixture,
    baidu_digital_fixture,
    baidu_env_fixture,
    baidu_pipeline_fixture,
    baidu_simulator_fixture,
    loaded_report,
    run_baidu,
    table_rows,
)

BAIDU_HEADER = [
    "日期", "账户", "账户ID", "推广计划", "推广计划ID", "推广单元", "推广单元ID", "关键词", "关键词ID",
    "展现", "点击", "消费", "点击率", "平均点击价格", "转化",
]  # fmt: skip
OCEAN_HEADER = [
    "日期",
    "账户ID",
    "项目ID",
    "项目名称",
    "广告ID",
    "广告名称",
    "消耗",
    "展示数",
    "点击数",
    "转化数",
]
Key = tuple[int, int, str]


def _days(first: date, last: date) -> list[date]:
    """first..last, both included."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _units(demo: BaiduDemo, platform: str) -> list[AdUnit]:
    """The demo's ad units of one platform."""
    return [unit for unit in demo.digital.ad_units if unit.platform == platform]


def _shown(demo: BaiduDemo, key: int, day: date, as_of_ms: int) -> tuple[int, int, Decimal, int]:
    """(impressions, clicks, cost, conversions) the console shows for a unit-day at an instant."""
    numbers = reported_ad_day(demo.digital.ad_days[(key, day)], day, as_of_ms)
    return (
        numbers.impressions,
        numbers.clicks,
        Decimal(str(numbers.cost)).quantize(Decimal("0.01")),
        numbers.conversions,
    )


def _write_csv(path: Path, lines: list[list[Any]], encoding: str) -> None:
    """Writes lines as CSV in the given encoding (consoles export GB18030 or UTF-8 with a BOM)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(lines)
    path.write_bytes(buffer.getvalue().encode(encoding))


def write_baidu_export(
    path: Path, demo: BaiduDemo, days: list[date], as_of_ms: int
) -> dict[Key, tuple[Any, ...]]:
    """A 百度营销 keyword report export; returns the numbers it holds, keyed like the raw table."""
    lines: list[list[Any]] = [
        ["关键词报告"],
        [f"时间范围：{days[0].isoformat()} 至 {days[-1].isoformat()}"],
        [],
        BAIDU_HEADER,
    ]
    expected: dict[Key, tuple[Any, ...]] = {}
    for day in days:
        for unit in _units(demo, "baidu"):
            assert unit.keyword_id is not None
            impressions, clicks, cost, conversions = _shown(demo, unit.keyword_id, day, as_of_ms)
            expected[(unit.account_id, unit.keyword_id, day.isoformat())] = (
                impressions,
                clicks,
                cost,
                conversions,
            )
            lines.append([
                day.strftime("%Y/%m/%d"), unit.account_name, unit.account_id, unit.campaign_name, unit.campaign_id,
                unit.adgroup_name, unit.adgroup_id, unit.keyword, unit.keyword_id, f"{impressions:,}", clicks,
                f"{cost:,.2f}", f"{clicks / impressions:.2%}" if impressions else "-",
                f"{cost / clicks:.2f}" if clicks else "-", conversions,
            ])  # fmt: skip
    bad = list(lines[-1])
    bad[8], bad[10] = 99_999, "十二"  # a line whose clicks are not a number
    lines.append(bad)
    lines.append(["合计", "", "", "", "", "", "", "", "", "", "", "", "", "", ""])
    _write_csv(path, lines, "gb18030")
    return expected


def write_ocean_export(
    path: Path, demo: BaiduDemo, days: list[date], as_of_ms: int
) -> dict[tuple[Any, ...], Any]:
    """A 巨量引擎 ad report export; returns the numbers it holds keyed by the merge key."""
    lines: list[list[Any]] = [OCEAN_HEADER]
    expected: dict[tuple[Any, ...], Any] = {}
    for day in days:
        for unit in _units(demo, "oceanengine"):
            impressions, clicks, cost, conversions = _shown(demo, unit.adgroup_id, day, as_of_ms)
            expected[(unit.account_id, unit.adgroup_id, day.isoformat())] = (
                cost,
                impressions,
                clicks,
                conversions,
            )
            lines.append([
                day.isoformat(), unit.account_id, unit.campaign_id, unit.campaign_name, unit.adgroup_id,
                unit.adgroup_name, str(cost), impressions, clicks, conversions,
            ])  # fmt: skip
    _write_csv(path, lines, "utf-8-sig")
    return expected


def load_ocean_api_standin(
    pipeline: dlt.Pipeline, demo: BaiduDemo, days: list[date]
) -> dict[tuple[Any, ...], Any]:
    """Rows as the oceanengine API source lands them (agreed columns, `_source` 'api')."""
    kind = OCEANENGINE_PROMOTION
    records = [
        {
            "stat_time_day": day.isoformat(), "advertiser_id": unit.account_id, "cdp_project_id": unit.campaign_id,
            "cdp_project_name": unit.campaign_name, "cdp_promotion_id": unit.adgroup_id,
            "cdp_promotion_name": unit.adgroup_name, "stat_cost": str(numbers[2]), "show_cnt": numbers[0],
            "click_cnt": numbers[1], "convert_cnt": numbers[3],
        }
        for day in days
        for unit in _units(demo, "oceanengine")
        if (numbers := _shown(demo, unit.adgroup_id, day, demo.as_of_ms))
    ]  # fmt: skip
    page = records_to_keyed_arrow(records, kind.fields, keys=kind.keys, constants={"_source": "api"})
    columns = keyed_column_hints(kind.fields, keys=kind.keys, constants=("_source",))
    pipeline.run(page.table, table_name=kind.table, primary_key=list(kind.keys), write_disposition="merge",
                 columns=columns)  # fmt: skip
    return {(r["advertiser_id"], r["cdp_promotion_id"], r["stat_time_day"]): r for r in records}


@pytest.fixture
def drop_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty drop folder, configured through SOURCES__FILE_DROPS__DROP_DIR."""
    folder = tmp_path / "drops"
    folder.mkdir()
    monkeypatch.setenv("SOURCES__FILE_DROPS__DROP_DIR", str(folder))
    return folder


@pytest.fixture
def pipeline_for(tmp_path: Path) -> Callable[[str], dlt.Pipeline]:
    """Pipelines into the test's DuckDB file: `file_drops_<platform>` into raw_<platform>."""

    def make(platform: str, name: str | None = None) -> dlt.Pipeline:
        """One pipeline per platform (and per role), sharing the warehouse file."""
        return dlt.pipeline(
            pipeline_name=name or f"file_drops_{platform}",
            destination=dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
            dataset_name=f"raw_{platform}",
            pipelines_dir=str(tmp_path / "pipelines"),
        )

    return make


def _loaded_rows(infos: dict[str, Any], pipeline_for: Callable[[str], dlt.Pipeline]) -> dict[str, int]:
    """Data rows the last file-drop run loaded, per platform table (dlt's own tables left out)."""
    counts: dict[str, int] = {}
    for platform in infos:
        trace = pipeline_for(platform).last_trace
        for table, n in trace.last_normalize_info.row_counts.items():
            if not table.startswith("_dlt"):
                counts[f"{platform}.{table}"] = n
    return counts


def _ocean_rows(pipeline: dlt.Pipeline) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """raw_oceanengine.promotion_daily_report keyed by the merge key."""
    rows = table_rows(
        pipeline,
        "select advertiser_id, cdp_promotion_id, stat_time_day, stat_cost, show_cnt, click_cnt, convert_cnt,"
        " _source, cdp_project_id from promotion_daily_report",
    )
    return {row[:3]: row[3:] for row in rows}


def test_exports_land_in_the_same_raw_tables_as_the_apis(
    baidu_env: BaiduSemSimulator,
    baidu_demo: BaiduDemo,
    baidu_pipeline: dlt.Pipeline,
    drop_dir: Path,
    pipeline_for: Callable[..., dlt.Pipeline],
) -> None:
    # API data first: Baidu through the real source, Ocean Engine as its source lands it
    run_baidu(baidu_pipeline)
    api_report = loaded_report(baidu_pipeline)
    today = baidu_demo.today
    ocean_api = load_ocean_api_standin(
        pipeline_for("oceanengine", "oceanengine_api"), baidu_demo, _days(today - timedelta(days=9), today)
    )
    # exports downloaded five days later: final numbers for the last three days and one more
    later = baidu_demo.as_of_ms + 5 * DAY_MS
    file_days = _days(today - timedelta(days=2), today + timedelta(days=1))
    baidu_file = write_baidu_export(drop_dir / "baidu_keyword_20261126.csv", baidu_demo, file_days, later)
    ocean_file = write_ocean_export(
        drop_dir / "oceanengine_promotion_20261126.csv", baidu_demo, file_days, later
    )
    (drop_dir / "notes.txt").write_text("not an export", encoding="utf-8")

    infos = run_file_drops(pipeline_for)
    assert _loaded_rows(infos, pipeline_for) == {
        "baidu_sem.keyword_daily_report": len(baidu_file),
        "baidu_sem.quarantine": 1,
        "oceanengine.promotion_daily_report": len(ocean_file),
        "oceanengine.quarantine": 0,
    }

    # Baidu: one table, API rows untouched outside the file, file rows merged on the API's key
    merged = loaded_report(baidu_pipeline)
    assert len(merged) == len(api_report) + 15  # the day after the API's last day is new
    assert {key: merged[key] for key in baidu_file} == baidu_file
    assert {key: value for key, value in merged.items() if key not in baidu_file} == {
        key: value for key, value in api_report.items() if key not in baidu_file
    }
    sources = dict(
        table_rows(baidu_pipeline, "select _source, count(*) from keyword_daily_report group by 1")
    )
    assert sources == {"file_drop": len(baidu_file), "api": len(api_report) + 15 - len(baidu_file)}
    names = table_rows(
        baidu_pipeline,
        "select distinct campaign_name, ad_group_name, keyword, user_name from keyword_daily_report"
        " where _source = 'file_drop' and keyword_id = 33101",
    )
    assert names == [("品牌词-华东", "品牌词-华东-核心词", "数据中台", "leadloop-demo-百度")]
    quarantined = table_rows(
        baidu_pipeline, "select source, resource, record_id, reason, raw_payload from quarantine"
    )
    bad_row = 4 + len(baidu_file) + 1  # the header is on line 4
    assert [row[:3] for row in quarantined] == [
        ("file_drops", "baidu_keyword", f"baidu_keyword_20261126.csv:{bad_row}")
    ]
    assert "click" in quarantined[0][3] and json.loads(quarantined[0][4])["line"]["点击"] == "十二"

    # Ocean Engine: the same table as its API rows, keyed alike
    ocean = _ocean_rows(pipeline_for("oceanengine"))
    assert len(ocean) == len(ocean_api) + 4
    for key, (cost, shows, clicks, converts) in ocean_file.items():
        assert ocean[key][:5] == (cost, shows, clicks, converts, "file_drop")
    assert {key for key, row in ocean.items() if row[4] == "api"} == set(ocean_api) - set(ocean_file)


def test_reruns_skip_loaded_files_and_reread_changed_ones(
    baidu_demo: BaiduDemo, drop_dir: Path, pipeline_for: Callable[..., dlt.Pipeline]
) -> None:
    today = baidu_demo.today
    first = write_ocean_export(
        drop_dir / "oceanengine_promotion_a.csv", baidu_demo, [today], baidu_demo.as_of_ms
    )
    run_file_drops(pipeline_for, ["oceanengine"])
    before = _ocean_rows(pipeline_for("oceanengine"))
    assert len(before) == len(first)

    infos = run_file_drops(pipeline_for, ["oceanengine"])  # nothing new: nothing loaded, nothing changed
    assert _loaded_rows(infos, pipeline_for).get("oceanengine.promotion_daily_report", 0) == 0
    assert _ocean_rows(pipeline_for("oceanengine")) == before

    later = baidu_demo.as_of_ms + 5 * DAY_MS  # the same file name re-downloaded with restated numbers
    changed = write_ocean_export(drop_dir / "oceanengine_promotion_a.csv", baidu_demo, [today], later)
    infos = run_file_drops(pipeline_for, ["oceanengine"])
    assert _loaded_rows(infos, pipeline_for)["oceanengine.promotion_daily_report"] == len(changed)
    assert {key: row[0] for key, row in _ocean_rows(pipeline_for("oceanengine")).items()} == {
        key: numbers[0] for key, numbers in changed.items()
    }


def test_later_files_win_on_the_same_key(
    baidu_demo: BaiduDemo, drop_dir: Path, pipeline_for: Callable[..., dlt.Pipeline]
) -> None:
    today = baidu_demo.today
    write_ocean_export(drop_dir / "oceanengine_promotion_1.csv", baidu_demo, [today], baidu_demo.as_of_ms)
    final = write_ocean_export(
        drop_dir / "oceanengine_promotion_2.csv", baidu_demo, [today], baidu_demo.as_of_ms + 5 * DAY_MS
    )
    run_file_drops(pipeline_for, ["oceanengine"])
    assert {key: row[0] for key, row in _ocean_rows(pipeline_for("oceanengine")).items()} == {
        key: numbers[0] for key, numbers in final.items()
    }


def test_lines_that_cannot_be_true_are_quarantined_and_counted(
    baidu_demo: BaiduDemo, drop_dir: Path, pipeline_for: Callable[..., dlt.Pipeline]
) -> None:
    """A console export is checked as the API's rows are: a negative spend or count, a day in 1970 or 2099."""
    today = baidu_demo.today
    path = drop_dir / "oceanengine_promotion_bad.csv"
    good = write_ocean_export(path, baidu_demo, [today], baidu_demo.as_of_ms)
    unit = _units(baidu_demo, "oceanengine")[0]
    bad = {  # a line per problem, each under a key of its own
        "stat_cost: -3.50 is negative": [today.isoformat(), unit.account_id, unit.campaign_id, "p", 900001, "n", "-3.50", 1, 1, 0],
        "show_cnt: -1 is negative": [today.isoformat(), unit.account_id, unit.campaign_id, "p", 900002, "n", "3.50", -1, 1, 0],
        "before 2000": ["1970-01-01", unit.account_id, unit.campaign_id, "p", 900003, "n", "3.50", 1, 1, 0],
        "a year from today": ["2099-12-31", unit.account_id, unit.campaign_id, "p", 900004, "n", "3.50", 1, 1, 0],
    }
    lines = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    _write_csv(path, [*lines, *bad.values()], "utf-8-sig")
    run_file_drops(pipeline_for, ["oceanengine"])
    pipeline = pipeline_for("oceanengine")
    assert set(_ocean_rows(pipeline)) == set(good)  # every good line loaded, no bad one
    reasons = sorted(r for (r,) in table_rows(pipeline, "select reason from quarantine"))
    assert len(reasons) == len(bad) and len(lines) - 1 == len(good)  # served = loaded + quarantined
    for words in bad:
        assert any(words in reason for reason in reasons), (words, reasons)


def test_a_file_missing_a_column_names_the_file_and_the_column(
    drop_dir: Path, pipeline_for: Callable[..., dlt.Pipeline]
) -> None:
    header = [name for name in BAIDU_HEADER if name != "关键词ID"]
    _write_csv(
        drop_dir / "baidu_keyword_noid.csv", [header, ["2026-11-20"] + ["1"] * (len(header) - 1)], "utf-8"
    )
    with pytest.raises(PipelineStepFailed) as failure:
        run_file_drops(pipeline_for, ["baidu_sem"])
    message = str(failure.value)
    assert (
        "baidu_keyword_noid.csv" in message
        and "关键词ID" in message
        and "src/leadloop/extract/file_drops/settings.py" in message
    )


def test_missing_drop_dir_is_named(
    monkeypatch: pytest.MonkeyPatch, pipeline_for: Callable[..., dlt.Pipeline], tmp_path: Path
) -> None:
    monkeypatch.delenv("SOURCES__FILE_DROPS__DROP_DIR", raising=False)
    with pytest.raises(PipelineStepFailed) as failure:
        run_file_drops(pipeline_for, ["baidu_sem"])
    assert "SOURCES__FILE_DROPS__DROP_DIR" in str(failure.value)
    monkeypatch.setenv("SOURCES__FILE_DROPS__DROP_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(PipelineStepFailed, match="is not a folder"):
        run_file_drops(pipeline_for, ["baidu_sem"])


def test_pipeline_into_the_wrong_dataset_is_refused(tmp_path: Path) -> None:
    wrong = dlt.pipeline("x", destination="duckdb", dataset_name="raw_files", pipelines_dir=str(tmp_path))
    with pytest.raises(ValueError, match="raw_baidu_sem"):
        run_file_drops(lambda _: wrong, ["baidu_sem"])


def test_xlsx_without_openpyxl_says_so(drop_dir: Path, pipeline_for: Callable[..., dlt.Pipeline]) -> None:
    if importlib.util.find_spec("openpyxl") is not None:
        pytest.skip("openpyxl is installed: test_xlsx_exports_are_read covers .xlsx")
    (drop_dir / "baidu_keyword_1.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(PipelineStepFailed, match="openpyxl"):
        run_file_drops(pipeline_for, ["baidu_sem"])


def test_xlsx_exports_are_read(
    baidu_demo: BaiduDemo, drop_dir: Path, pipeline_for: Callable[..., dlt.Pipeline]
) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(OCEAN_HEADER)
    unit = _units(baidu_demo, "oceanengine")[0]
    sheet.append([baidu_demo.today, unit.account_id, unit.campaign_id, unit.campaign_name, unit.adgroup_id,
                  unit.adgroup_name, 12.3, 100, 5, 1])  # fmt: skip
    workbook.save(drop_dir / "oceanengine_promotion_1.xlsx")
    run_file_drops(pipeline_for, ["oceanengine"])
    rows = _ocean_rows(pipeline_for("oceanengine"))
    assert next(iter(rows.values()))[:4] == (Decimal("12.30"), 100, 5, 1)


def test_file_names_decide_the_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    patterns = kind_patterns()
    assert kind_of("baidu_keyword_2026-11.csv", patterns) == "baidu_keyword"
    assert kind_of("BAIDU_KEYWORD_1.CSV", patterns) == "baidu_keyword"
    assert kind_of("百度推广_关键词报告_202611.csv", patterns) == "baidu_keyword"
    assert kind_of("oceanengine_promotion_1.xlsx", patterns) == "oceanengine_promotion"
    assert kind_of("~$baidu_keyword_1.xlsx", patterns) is None
    assert kind_of("report.csv", patterns) is None
    custom = kind_patterns({"baidu_keyword": ["kw_*.csv"]})
    assert kind_of("kw_1.csv", custom) == "baidu_keyword" and kind_of("baidu_keyword_1.csv", custom) is None
    with pytest.raises(ValueError, match="SOURCES__FILE_DROPS__FILE_PATTERNS"):
        kind_patterns({"crm_leads": ["*.csv"]})
    monkeypatch.setenv(
        "SOURCES__FILE_DROPS__FILE_PATTERNS", json.dumps({"oceanengine_promotion": ["oe_*.csv"]})
    )
    source = file_drops_source(platform="oceanengine")
    assert list(source.resources) == ["oceanengine_promotion", "quarantine"]


@pytest.mark.parametrize(
    ("written", "day"),
    [
        ("2026/11/5", "2026-11-05"),
        ("20261105", "2026-11-05"),
        ("2026年11月5日", "2026-11-05"),
        ("2026-11-05 00:00:00", "2026-11-05"),
        (date(2026, 11, 5), "2026-11-05"),
        ("11/05/2026", "11/05/2026"),  # not recognised: left for validation to quarantine
    ],
)
def test_console_day_spellings(written: Any, day: str) -> None:
    assert normalise_day(written) == day


def test_console_number_spellings() -> None:
    assert clean_value("1,234", "bigint") == "1234"
    assert clean_value(" ¥1,234.50 ", "decimal") == "1234.50"
    assert clean_value("--", "bigint") is None
    assert clean_value(170.85000000000002, "decimal") == 170.85
    assert clean_value("数据中台", "text") == "数据中台"


def test_ocean_engine_columns_match_the_oceanengine_source() -> None:
    oceanengine = pytest.importorskip("leadloop.extract.oceanengine.settings")
    mine = {**OCEANENGINE_PROMOTION.fields, "_source": "text"}
    assert list(mine.items()) == list(oceanengine.FIELDS.items())
    assert OCEANENGINE_PROMOTION.keys == tuple(oceanengine.MERGE_KEY)
    assert OCEANENGINE_PROMOTION.table == oceanengine.RESOURCE
