"""File kinds the drop folder understands: file-name patterns, target raw table, column map.

A console export (CSV, or XLSX when openpyxl is installed) is recognised by its file name and
loaded into the SAME raw table as the platform's API source, with the API's column names and
types, tagged `_source = 'file_drop'`. The column map lists, per wire column, the console headers
accepted for it. Console headers are *unconfirmed* (consoles rename columns and let users pick
them): add the spelling your export uses here.
"""

from __future__ import annotations

from dataclasses import dataclass

from leadloop.extract.baidu_sem import settings as baidu
from leadloop.extract.oceanengine import settings as oceanengine

SOURCE_NAME = "file_drops"
FILE_DROP_SOURCE = baidu.FILE_DROP_SOURCE  # value of `_source` on every row loaded from a file
SOURCE_COLUMN = baidu.SOURCE_COLUMN

STRING, BIGINT, DOUBLE, DECIMAL = "text", "bigint", "double", "decimal"
NUMERIC_TYPES = frozenset({BIGINT, DOUBLE, DECIMAL})


@dataclass(frozen=True)
class FileKind:
    """One kind of dropped file: which files, which raw table, which columns."""

    name: str  # also the dlt resource name
    platform: str  # dlt source name of the platform's API source; the raw dataset is raw_<platform>
    table: str  # raw table shared with the API source
    patterns: tuple[str, ...]  # file-name globs, matched case-insensitively
    fields: dict[str, str]  # wire column → type, as the API source loads it
    headers: dict[str, tuple[str, ...]]  # wire column → accepted console headers (first = canonical)
    required: tuple[str, ...]  # wire columns a file must have
    keys: tuple[str, ...]  # merge key (wire names)
    day_fields: tuple[str, ...]
    non_negative: tuple[str, ...] = ()  # spend and counts: below zero a line is quarantined, as from the API

    @property
    def dataset(self) -> str:
        """The raw dataset the kind's table lives in."""
        return f"raw_{self.platform}"


BAIDU_KEYWORD = FileKind(
    name="baidu_keyword",
    platform="baidu_sem",
    table=baidu.RESOURCE,
    patterns=("baidu_keyword_*.csv", "baidu_keyword_*.xlsx", "百度*关键词*.csv", "百度*关键词*.xlsx"),
    fields=dict(baidu.REPORT_FIELDS),
    headers={
        "date": ("日期", "时间"),
        "userId": ("账户ID", "账户id", "推广账户ID"),
        "userName": ("账户", "账户名称", "推广账户"),
        "campaignId": ("推广计划ID", "计划ID"),
        "campaignName": ("推广计划", "推广计划名称", "计划名称"),
        "adGroupId": ("推广单元ID", "单元ID"),
        "adGroupName": ("推广单元", "推广单元名称", "单元名称"),
        "keywordId": ("关键词ID", "关键词id"),
        "keyword": ("关键词", "关键词名称"),
        "impression": ("展现", "展现量"),
        "click": ("点击", "点击量"),
        "cost": ("消费", "消费(元)", "花费"),
        "conversion": ("转化", "转化量", "转化数"),
    },
    # The merge key and every number: a file missing one would overwrite API numbers with nulls.
    required=("date", "userId", "keywordId", "impression", "click", "cost", "conversion"),
    keys=baidu.PRIMARY_KEY,
    day_fields=baidu.DAY_FIELDS,
    non_negative=baidu.NON_NEGATIVE_FIELDS,
)

# Ocean Engine rows use the column names of the oceanengine API source's custom report
# (dimensions and metrics by their API names); stat_cost is CNY decimal(18,2).
OCEANENGINE_PROMOTION = FileKind(
    name="oceanengine_promotion",
    platform="oceanengine",
    table="promotion_daily_report",
    patterns=(
        "oceanengine_promotion_*.csv",
        "oceanengine_promotion_*.xlsx",
        "巨量*广告*.csv",
        "巨量*广告*.xlsx",
    ),
    fields={
        "stat_time_day": STRING,
        "advertiser_id": BIGINT,
        "cdp_project_id": BIGINT,
        "cdp_project_name": STRING,
        "cdp_promotion_id": BIGINT,
        "cdp_promotion_name": STRING,
        "stat_cost": DECIMAL,
        "show_cnt": BIGINT,
        "click_cnt": BIGINT,
        "convert_cnt": BIGINT,
    },
    headers={
        "stat_time_day": ("日期", "时间"),
        "advertiser_id": ("账户ID", "广告主ID", "广告账户ID"),
        "cdp_project_id": ("项目ID",),
        "cdp_project_name": ("项目名称", "项目"),
        "cdp_promotion_id": ("广告ID", "广告id"),
        "cdp_promotion_name": ("广告名称", "广告"),
        "stat_cost": ("消耗", "消耗(元)"),
        "show_cnt": ("展示数", "展示次数"),
        "click_cnt": ("点击数", "点击次数"),
        "convert_cnt": ("转化数", "转化次数"),
    },
    required=(
        "stat_time_day",
        "advertiser_id",
        "cdp_promotion_id",
        "stat_cost",
        "show_cnt",
        "click_cnt",
        "convert_cnt",
    ),
    keys=("advertiser_id", "cdp_promotion_id", "stat_time_day"),
    day_fields=("stat_time_day",),
    non_negative=oceanengine.METRICS,
)

FILE_KINDS: tuple[FileKind, ...] = (BAIDU_KEYWORD, OCEANENGINE_PROMOTION)
FILE_KINDS_BY_NAME = {kind.name: kind for kind in FILE_KINDS}
PLATFORMS = tuple(dict.fromkeys(kind.platform for kind in FILE_KINDS))

# Reading console exports.
ENCODINGS = ("utf-8-sig", "gb18030")  # Chinese consoles often export GBK/GB18030 CSV
HEADER_SCAN_ROWS = 20  # exports may start with title lines (account, date range) before the header
TOTAL_ROW_MARKERS = frozenset({"合计", "总计", "汇总", "total", "sum"})  # a summary line, not data
EMPTY_VALUES = frozenset({"", "-", "--", "—", "null", "NULL"})
IGNORED_PREFIXES = (".", "~$")  # hidden files and Office lock files
