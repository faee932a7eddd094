"""Static vocabulary of the demo company: channels, industries, roles, CRM stages, loss reasons.

The generator draws from these tables; the dbt seeds are written independently by people (as a
customer would), so a test comparing marts with ground truth also checks that the seeds are right.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Channel:
    """A marketing or sales channel and how its leads look in the CRM."""

    name: str
    weight: float  # share of leads
    lead_sources: tuple[str, ...]  # free-text values people type into the CRM's lead source
    utm_source: str | None = None
    utm_medium: str | None = None
    campaigns: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()
    quality: float = 1.0  # multiplies the stage conversion probabilities


CHANNELS: tuple[Channel, ...] = (
    Channel("paid_search", 0.24, ("百度推广", "百度SEM", "baidu_sem"), "baidu", "cpc",
            ("品牌词-华东", "竞品词-全国", "通用词-制造业"),
            ("数据中台", "营销自动化软件", "CDP 平台", "客户数据平台报价", "私域运营工具"), 0.9),
    Channel("paid_social", 0.14, ("巨量引擎", "抖音信息流"), "oceanengine", "feed",
            ("信息流-白皮书下载", "信息流-免费试用"), (), 0.7),
    Channel("wechat_content", 0.14, ("公众号文章", "微信公众号"), "wechat", "article",
            ("制造业数字化白皮书", "CMO 年度报告"), (), 1.0),
    Channel("webinar", 0.10, ("线上研讨会", "直播活动"), "webinar", "event",
            ("私域增长实战直播", "B2B 营销数字化研讨会"), (), 1.2),
    Channel("event", 0.08, ("展会", "线下沙龙"), None, None, (), (), 1.3),
    Channel("wecom", 0.10, ("企业微信渠道码", "企微活码"), "wecom", "qrcode",
            ("展台活码", "公众号菜单活码"), (), 1.1),
    Channel("organic", 0.08, ("官网自然流量", "SEO"), None, None, (), (), 1.0),
    Channel("referral", 0.05, ("客户推荐", "老客户转介绍"), None, None, (), (), 1.6),
    Channel("outbound", 0.07, ("SDR外呼", "电话拓客"), None, None, (), (), 0.6),
)

INDUSTRIES = ("制造业", "金融", "零售", "医疗健康", "教育", "互联网", "能源", "物流", "汽车", "企业服务")

# Buying committee roles: who fills in forms, who sales talks to, who signs.
COMMITTEE_ROLES = ("研究员", "工程师", "市场经理", "部门经理", "IT总监", "CTO", "采购经理", "总经理")
FORM_FILLER_ROLES = ("研究员", "工程师", "市场经理", "部门经理")

USERS = (
    # (name, department, position) — SDRs own leads, field sales own accounts and opportunities
    ("王晓明", "市场部", "SDR"), ("李婷", "市场部", "SDR"), ("张伟", "市场部", "SDR"),
    ("陈静", "销售部", "电话销售"), ("刘洋", "销售部", "电话销售"),
    ("赵磊", "销售部", "大客户销售"), ("孙丽", "销售部", "大客户销售"), ("周强", "销售部", "大客户销售"),
    ("吴芳", "销售部", "大客户销售"), ("郑凯", "销售部", "销售总监"),
)

# 销售易 lead statuses the demo tenant uses (线索状态).
LEAD_STATUS_NEW = "未处理"
LEAD_STATUS_WORKING = "跟进中"
LEAD_STATUS_QUALIFIED = "已认可"
LEAD_STATUS_CONVERTED = "已转化"
LEAD_STATUS_DISQUALIFIED = "无效"

# 销售易 sale stages of the demo tenant: (id, name, order, win rate %).
STAGE_DISCOVERY = 1
STAGE_NEEDS = 2
STAGE_POC = 3
STAGE_NEGOTIATION = 4
STAGE_WON = 5
STAGE_LOST = 6
SALE_STAGES = (
    (STAGE_DISCOVERY, "初步接洽", 1, 10),
    (STAGE_NEEDS, "需求确认", 2, 30),
    (STAGE_POC, "方案验证(POC)", 3, 50),
    (STAGE_NEGOTIATION, "商务谈判", 4, 70),
    (STAGE_WON, "赢单", 5, 100),
    (STAGE_LOST, "输单", 6, 0),
)

LOST_REASONS = ("价格因素", "选择竞品", "预算取消", "需求变更", "项目延期", "无决策人支持")

# The ad structure grows with the demo scale (`ad_structure`): at scale k a paid channel runs
# round(k × its catalog campaigns), the catalog's first, then campaigns named from these words.
SEARCH_CAMPAIGN_THEMES = ("品牌词", "竞品词", "通用词")
SEARCH_CAMPAIGN_QUALIFIERS = ("华南", "华北", "西南", "华中", "东北", "西北", "金融", "零售", "医疗健康", "教育",
                              "互联网", "能源", "物流", "汽车", "企业服务")
# An added search campaign buys the catalog keywords with one of these words after them.
KEYWORD_MODIFIERS = ("价格", "厂商", "排名", "对比", "案例", "解决方案", "哪家好", "免费试用", "系统", "公司", "多少钱")
SOCIAL_PROJECT_TOPICS = ("案例集下载", "直播预约", "产品演示", "行业报告", "选型指南", "客户故事", "限时优惠")


def _added_campaign_name(channel: Channel, n: int) -> str:
    """The name of a paid channel's n-th campaign beyond the catalog's (n from 0): unique, deterministic."""
    if channel.name == "paid_search":
        themes, qualifiers = SEARCH_CAMPAIGN_THEMES, SEARCH_CAMPAIGN_QUALIFIERS
        theme, rest = themes[n % len(themes)], n // len(themes)
        qualifier, lap = qualifiers[rest % len(qualifiers)], rest // len(qualifiers)
        return f"{theme}-{qualifier}" + (f"{lap + 1}" if lap else "")
    topic, lap = SOCIAL_PROJECT_TOPICS[n % len(SOCIAL_PROJECT_TOPICS)], n // len(SOCIAL_PROJECT_TOPICS)
    return "信息流-" + topic + (f"{lap + 1}" if lap else "")


def ad_structure(channel: Channel, scale: float) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(campaign, its keywords) of a channel at a demo scale, the catalog's first.

    Paid channels (search and social) run round(scale × their catalog campaigns) campaigns, never fewer
    than the catalog's: an added search campaign buys the catalog's keywords with a modifier word
    (数据中台价格, …), so ad units (campaign × keyword, project × promotion), keywords and spend grow in
    proportion to the scale. Every other channel keeps its catalog campaigns at any scale.
    """
    base = tuple((campaign, channel.terms) for campaign in channel.campaigns)
    if channel.name not in ("paid_search", "paid_social"):
        return base
    added = []
    for n in range(max(0, round(len(channel.campaigns) * scale) - len(channel.campaigns))):
        modifier = KEYWORD_MODIFIERS[n % len(KEYWORD_MODIFIERS)]
        added.append((_added_campaign_name(channel, n), tuple(term + modifier for term in channel.terms)))
    return base + tuple(added)


# Opportunity sources (商机来源) as typed in the CRM.
OPPORTUNITY_SOURCE_MARKETING = "市场线索"
SELF_SOURCED_OPPORTUNITY_SOURCES = ("销售自拓", "高层关系", "渠道伙伴")
