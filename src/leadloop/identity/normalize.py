"""Normalise phones, emails, domains, company names and USCCs from Chinese CRM and marketing sources.

Identity stitching joins 销售易, Salesforce, 神策 form and 企业微信 records on these keys, so the same person
or company must come out identical whichever system typed it. Every function returns a `Normalized`:
a canonical `value`, or `value=None` with a short machine-readable `reason` the caller can count and
quarantine ('empty', 'placeholder', 'invalid_phone', 'invalid_email', 'invalid_domain',
'free_mail_domain', 'invalid_uscc', 'bad_checksum').
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

EMPTY = "empty"
PLACEHOLDER = "placeholder"
INVALID_PHONE = "invalid_phone"
INVALID_EMAIL = "invalid_email"
INVALID_DOMAIN = "invalid_domain"
FREE_MAIL_DOMAIN = "free_mail_domain"
INVALID_USCC = "invalid_uscc"
BAD_CHECKSUM = "bad_checksum"


@dataclass(frozen=True)
class Normalized:
    """One normalised identifier: `value` when usable, else None plus the `reason` it was rejected."""

    value: str | None
    reason: str | None
    kind: str | None = None

    @property
    def ok(self) -> bool:
        """True when the value can be used as an identifier."""
        return self.value is not None


def _rejected(reason: str) -> Normalized:
    """A rejection carrying only its reason."""
    return Normalized(None, reason)


# ---------------------------------------------------------------------------------------------------------
# Shared text clean-up

# NFKC already folds full-width forms (＋８６, ＠, （）); these CJK marks survive it and mean the same thing.
_CJK_FOLD = str.maketrans(
    {"。": ".", "【": "(", "】": ")", "〔": "(", "〕": ")", "[": "(", "]": ")", "—": "-", "–": "-", "―": "-"}
)

# What CRM exports and web forms put in a field that was left blank.
EMPTY_TOKENS = frozenset(
    {"", "null", "none", "nil", "nan", "n/a", "na", "-", "--", "/", "无", "暂无", "空", "未知", "未填写", "不详"}
)  # fmt: skip


def _fold(raw: str) -> str:
    """Full-width → half-width (NFKC) plus the CJK punctuation NFKC leaves alone, trimmed."""
    return unicodedata.normalize("NFKC", raw).translate(_CJK_FOLD).strip()


def _is_empty(text: str) -> bool:
    """True for blanks, 'null'-like tokens and text without a single letter or digit."""
    return text.lower() in EMPTY_TOKENS or not any(ch.isalnum() for ch in text)


def _is_repeated(text: str, min_len: int) -> bool:
    """True when text is one character repeated at least min_len times (11111111111, xxx)."""
    return len(text) >= min_len and len(set(text)) == 1


# ---------------------------------------------------------------------------------------------------------
# Phones

# Test numbers sales reps type to get past a mandatory field; national significant numbers or E.164.
# Specific values people type to get past a mandatory field (13800138000, test@test.com) are listed in
# one place, the dbt seed identity_blocked_values.csv, which the identity graph applies; this module
# rejects only what a rule recognises (one digit repeated, ascending runs, reserved domains, …).

_PHONE_START = re.compile(r"^.*?(?=\(?[+\d])")  # labels before the number: "tel:", "手机:", "电话(微信同号)"
_PHONE_TRAILING = re.compile(r"\D+$")  # notes after the number: " (张总)", "。"
# Landline extensions are dropped: the key identifies the switchboard line, not the desk behind it.
_PHONE_EXTENSION = re.compile(r"\s*(?:转|分机|ext\.?|extension|x|#)\s*\d{1,6}$", re.IGNORECASE)
_PHONE_DASH_EXTENSION = re.compile(r"^(?P<line>.*\d)\s*-\s*\d{1,5}$")  # 010-65521234-123
_PHONE_SEPARATORS = re.compile(r"[\s\-.()]")  # not '/': "139…/138…" is two numbers, not one
_PHONE_COMPACT = re.compile(r"\+?\d+")
_CN_MOBILE_SHAPE = re.compile(r"1[3-9]\d{9}")
_SAME_LAST_EIGHT = re.compile(r"1[3-9]\d(\d)\1{7}")  # 139 0000 0000, 188 8888 8888
_ASCENDING = "01234567890123456789"
_DESCENDING = _ASCENDING[::-1]
# phonenumbers' own CN mobile pattern: the fast path below accepts exactly what phonenumbers accepts.
_CN_MOBILE_PATTERN = re.compile(
    phonenumbers.PhoneMetadata.metadata_for_region("CN").mobile.national_number_pattern
)
_PHONE_KINDS = {PhoneNumberType.MOBILE: "mobile", PhoneNumberType.FIXED_LINE: "landline"}


def normalize_phone(raw: str | None, blocked: frozenset[str] = frozenset()) -> Normalized:
    """E.164 phone with kind 'mobile' / 'landline' / 'other', so every source's spelling joins."""
    if raw is None:
        return _rejected(EMPTY)
    return _normalize_phone_text(raw, blocked)


@lru_cache(maxsize=65536)
def _normalize_phone_text(raw: str, blocked: frozenset[str]) -> Normalized:
    """normalize_phone for a string; cached because exports repeat the same contact many times."""
    text = _fold(raw)
    if _is_empty(text):
        return _rejected(EMPTY)
    body = _phone_body(text)
    compact = _PHONE_SEPARATORS.sub("", body)
    if not _PHONE_COMPACT.fullmatch(compact):
        return _rejected(INVALID_PHONE)  # letters or masks inside the number: 139****5678, 1391234567a
    national = _cn_national_digits(compact)
    if _is_placeholder_phone(compact.lstrip("+") if national is None else national, blocked):
        return _rejected(PLACEHOLDER)
    result = _fast_cn_mobile(national) if national is not None else None
    if result is None:
        result = _parse_with_phonenumbers(compact)
        dash_match = _PHONE_DASH_EXTENSION.match(body)
        if result.value is None and dash_match:
            line = _parse_with_phonenumbers(_PHONE_SEPARATORS.sub("", dash_match["line"]))
            result = line if line.kind == "landline" else result
    if result.value is not None and result.value in blocked:
        return _rejected(PLACEHOLDER)
    return result


def _phone_body(text: str) -> str:
    """The number itself: labels in front, notes behind and an extension cut off."""
    body = _PHONE_TRAILING.sub("", _PHONE_START.sub("", text, count=1))
    return _PHONE_TRAILING.sub("", _PHONE_EXTENSION.sub("", body))


def _cn_national_digits(compact: str) -> str | None:
    """Digits after a +86 / 0086 / 86 prefix (or all of them); None for another country's number."""
    if compact.startswith("+"):
        return compact[3:] if compact.startswith("+86") else None
    if compact.startswith("0086"):
        return compact[4:]
    if compact.startswith("00"):
        return None  # international prefix to another country
    if compact.startswith("86") and len(compact) == 13:
        return compact[2:]  # 86 13912345678 typed without the plus
    return compact


def _is_placeholder_phone(national: str, blocked: frozenset[str]) -> bool:
    """Blocked test numbers, one repeated digit, runs like 12345678901, 1xx + eight equal digits."""
    if national in blocked or national.lstrip("0") in blocked:
        return True
    if _is_repeated(national, 7) or bool(_SAME_LAST_EIGHT.fullmatch(national)):
        return True
    return len(national) >= 7 and (national in _ASCENDING or national in _DESCENDING)


def _fast_cn_mobile(national: str) -> Normalized | None:
    """Clean 11-digit CN mobile without the phonenumbers parser; None when the number needs it."""
    if not _CN_MOBILE_SHAPE.fullmatch(national):
        return None
    if _CN_MOBILE_PATTERN.fullmatch(national):
        return Normalized("+86" + national, None, "mobile")
    return _rejected(INVALID_PHONE)


def _parse_with_phonenumbers(compact: str) -> Normalized:
    """Validate with phonenumbers (CN default region) and format as E.164."""
    try:
        number = phonenumbers.parse(compact, "CN")
    except NumberParseException:
        return _rejected(INVALID_PHONE)
    if not phonenumbers.is_valid_number(number):
        return _rejected(INVALID_PHONE)
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    # FIXED_LINE_OR_MOBILE (US, CA, …) cannot be told apart, so it is 'other' like toll-free and 400.
    return Normalized(e164, None, _PHONE_KINDS.get(phonenumbers.number_type(number), "other"))


# ---------------------------------------------------------------------------------------------------------
# Emails and domains

# Local parts that never name a person, whatever the domain.
PLACEHOLDER_EMAIL_LOCALS = frozenset(
    {"test", "null", "none", "noemail", "nomail", "noreply", "no-reply", "donotreply", "do-not-reply"}
)
# RFC 2606 / 6761 reserved names and the stand-ins people type for them.
PLACEHOLDER_DOMAINS = frozenset({"example.com", "example.net", "example.org", "test.com", "domain.com"})
_RESERVED_TLDS = frozenset({"test", "example", "invalid", "localhost"})

FREE_MAIL_DOMAINS = frozenset(
    {
        "qq.com",
        "vip.qq.com",
        "foxmail.com",
        "163.com",
        "vip.163.com",
        "126.com",
        "vip.126.com",
        "yeah.net",
        "188.com",
        "sina.com",
        "sina.cn",
        "vip.sina.com",
        "sohu.com",
        "vip.sohu.com",
        "139.com",
        "189.cn",
        "wo.cn",
        "aliyun.com",
        "tom.com",
        "21cn.com",
        "263.net",
        "gmail.com",
        "googlemail.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "live.cn",
        "msn.com",
        "yahoo.com",
        "yahoo.com.cn",
        "ymail.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "protonmail.com",
        "proton.me",
    }
)

_EMAIL_LOCAL = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_DOMAIN = r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})"
_EMAIL_RE = re.compile(rf"(?P<local>{_EMAIL_LOCAL})@(?P<domain>{_DOMAIN})")
_DOMAIN_RE = re.compile(_DOMAIN)
_ANGLE_ADDRESS = re.compile(r"<([^<>]*)>")  # "张三 <zhangsan@acme.com>" and "<zhangsan@acme.com>"
_WHITESPACE = re.compile(r"\s+")
_SPACED_PUNCTUATION = re.compile(r"\s*([@.])\s*")


def normalize_email(raw: str | None, blocked: frozenset[str] = frozenset()) -> Normalized:
    """Lower-case, trimmed, half-width email so form, CRM and WeCom spellings join."""
    if raw is None:
        return _rejected(EMPTY)
    text = _fold(raw)
    if _is_empty(text):
        return _rejected(EMPTY)
    parts = _split_email(text)
    if parts is None:
        return _rejected(INVALID_EMAIL)
    local, domain = parts
    # Dots and +tags in the local part stay: corporate mail servers (unlike Gmail) treat
    # zhang.san@ and zhangsan+cn@ as different mailboxes, so folding them could merge two people.
    email = f"{local}@{domain}"
    if email in blocked or _is_placeholder_local(local) or _is_placeholder_domain(domain):
        return _rejected(PLACEHOLDER)
    return Normalized(email, None)


def _split_email(text: str) -> tuple[str, str] | None:
    """(local, domain) of a folded address, or None when it is not one sane address."""
    angle = _ANGLE_ADDRESS.search(text)
    text = (angle.group(1) if angle else text).lower()
    text = text.removeprefix("mailto:")
    # Spaces around '@' and '.' are typing slips; any other whitespace makes it invalid rather than guessed.
    text = _SPACED_PUNCTUATION.sub(r"\1", text).rstrip(";,.").lstrip(";,")  # list separators, full stop
    match = _EMAIL_RE.fullmatch(text)
    if match is None or len(text) > 254 or len(match["local"]) > 64:
        return None
    return match["local"], match["domain"]


def _is_placeholder_local(local: str) -> bool:
    """Local parts like test@, noreply@ or aaa@ that stand for nobody."""
    return local in PLACEHOLDER_EMAIL_LOCALS or _is_repeated(local, 3)


def _is_placeholder_domain(domain: str) -> bool:
    """Reserved or made-up domains: example.com, *.test, xxx.com."""
    labels = domain.split(".")
    return domain in PLACEHOLDER_DOMAINS or labels[-1] in _RESERVED_TLDS or _is_repeated(labels[0], 3)


def email_domain(email_or_raw: str | None, free_mail: frozenset[str] = FREE_MAIL_DOMAINS) -> Normalized:
    """Corporate domain of an email, bare domain or URL; free-mail domains identify no company."""
    if email_or_raw is None:
        return _rejected(EMPTY)
    text = _fold(email_or_raw)
    if _is_empty(text):
        return _rejected(EMPTY)
    if "@" in text:
        parts = _split_email(text)
        if parts is None:
            return _rejected(INVALID_EMAIL)
        domain: str | None = parts[1]
    else:
        domain = _host_of(text)
        if domain is None:
            return _rejected(INVALID_DOMAIN)
    domain = domain.removeprefix("www.")
    if _is_placeholder_domain(domain):
        return _rejected(PLACEHOLDER)
    if _is_free_mail(domain, free_mail):
        return _rejected(FREE_MAIL_DOMAIN)
    return Normalized(domain, None)


def _host_of(text: str) -> str | None:
    """Lower-case host name of a bare domain or URL (scheme, port, path and query dropped)."""
    text = _WHITESPACE.sub("", text).lower()
    if "://" not in text and not text.startswith("//"):
        text = "//" + text  # urlsplit only finds the host after '//'
    try:
        host = urlsplit(text).hostname
    except ValueError:
        return None
    host = (host or "").rstrip(".")
    return host if _DOMAIN_RE.fullmatch(host) else None


def _is_free_mail(domain: str, free_mail: frozenset[str]) -> bool:
    """True for a free-mail domain or any sub-domain of one (vip.sina.com, m.163.com)."""
    labels = domain.split(".")
    return any(".".join(labels[i:]) in free_mail for i in range(len(labels) - 1))


# ---------------------------------------------------------------------------------------------------------
# Company names

_PROVINCE_LEVEL = (
    "北京市", "天津市", "上海市", "重庆市", "河北省", "山西省", "辽宁省", "吉林省", "黑龙江省", "江苏省",
    "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省", "广东省", "海南省",
    "四川省", "贵州省", "云南省", "陕西省", "甘肃省", "青海省", "台湾省", "内蒙古自治区",
    "广西壮族自治区", "西藏自治区", "宁夏回族自治区", "新疆维吾尔自治区", "香港特别行政区",
    "澳门特别行政区",
)  # fmt: skip
_MAJOR_CITIES = (
    "石家庄市", "唐山市", "太原市", "呼和浩特市", "包头市", "沈阳市", "大连市", "长春市", "哈尔滨市",
    "南京市", "苏州市", "无锡市", "常州市", "南通市", "徐州市", "扬州市", "杭州市", "宁波市", "温州市",
    "嘉兴市", "绍兴市", "金华市", "台州市", "合肥市", "芜湖市", "福州市", "厦门市", "泉州市", "南昌市",
    "济南市", "青岛市", "烟台市", "潍坊市", "郑州市", "洛阳市", "武汉市", "宜昌市", "长沙市", "广州市",
    "深圳市", "东莞市", "佛山市", "珠海市", "中山市", "惠州市", "汕头市", "南宁市", "海口市", "三亚市",
    "成都市", "绵阳市", "贵阳市", "昆明市", "拉萨市", "西安市", "兰州市", "西宁市", "银川市",
    "乌鲁木齐市",
)  # fmt: skip
_ADMIN_SUFFIX = re.compile(r"(?:壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区|省|市)$")


def _with_short_forms(names: tuple[str, ...]) -> tuple[str, ...]:
    """Each region name with and without its 省/市/自治区 suffix, longest first for prefix matching."""
    forms = set(names) | {_ADMIN_SUFFIX.sub("", name) for name in names}
    return tuple(sorted(forms, key=lambda name: (-len(name), name)))


# Province-level divisions and major cities, as written at the start of 企业名称 (行政区划 + 字号 + 行业 + 组织形式).
REGION_WORDS: tuple[str, ...] = _with_short_forms(_PROVINCE_LEVEL + _MAJOR_CITIES)
_REGION_SET = frozenset(REGION_WORDS)

# Bracketed qualifiers that do not change which company is meant: 华为技术(深圳)有限公司 = 华为技术有限公司.
_BRACKET_QUALIFIERS = _REGION_SET | {
    "中国", "中国区", "集团", "有限合伙", "普通合伙", "特殊普通合伙", "有限责任", "china", "prc", "asia",
    "hongkong", "hk", "beijing", "shanghai", "shenzhen", "guangzhou", "hangzhou", "suzhou", "nanjing",
    "tianjin", "chongqing", "chengdu", "wuhan", "xiamen", "dalian", "qingdao",
}  # fmt: skip
_SHI_WORDS = ("市政", "市场", "市民")  # words starting with 市 that follow a bare city name
_BRACKETED = re.compile(r"\(([^()]*)\)")
_BRACKETED_DIVISION = re.compile(r"[\u4e00-\u9fff]{1,8}(?:省|市|区|县|自治州|自治县|盟|旗)")  # (浦东新区)

# Longest first; stripped repeatedly from the end of the (parent) name.
_LEGAL_SUFFIXES = (
    "集团股份有限公司", "集团有限责任公司", "集团有限公司", "股份有限公司", "有限责任公司", "有限公司",
    "股份公司", "集团公司", "总公司", "集团", "公司",
)  # fmt: skip
_LEGAL_FORM_IN_NAME = re.compile(r"有限责任公司|股份有限公司|有限公司|公司|集团")
_LATIN_SUFFIX = re.compile(
    r"(?<![a-z0-9])(?:co|corp|corporation|company|inc|incorporated|ltd|limited|llc|l\.l\.c|plc|gmbh|pte|group)"
    r"\.?$"
)
_BRANCH_MARKERS = (
    "分公司", "分中心", "办事处", "代表处", "营业部", "分厂", "分店", "分行", "支行", "分所", "分院", "分部",
)  # fmt: skip
_BRANCH_AT_END = re.compile("(?:" + "|".join(_BRANCH_MARKERS) + r")\)?$")
_ORDINAL = re.compile(r"第[一二三四五六七八九十百零〇\d]+")

# 行业 words: a name that is only region + these (北京银行, 上海市第一人民医院) keeps its region,
# otherwise 北京银行 and 上海银行 would both become 银行.
_INDUSTRY_WORDS = frozenset(
    {
        "科技", "技术", "信息", "网络", "软件", "电子", "通信", "通讯", "数据", "智能", "互联网", "计算机",
        "系统", "银行", "农商银行", "农村商业银行", "商业银行", "信用社", "农村信用社", "证券", "保险",
        "信托", "基金", "期货", "投资", "资产", "管理", "金融", "控股", "实业", "发展", "贸易", "商贸",
        "国际", "咨询", "服务", "传媒", "文化", "广告", "教育", "培训", "医药", "医疗", "生物", "医院",
        "人民医院", "中医院", "大学", "学院", "中学", "小学", "研究院", "研究所", "建设", "建筑", "工程",
        "设计", "装饰", "房地产", "地产", "置业", "物业", "物流", "运输", "航空", "机场", "地铁", "轨道交通",
        "公交", "电力", "供电", "能源", "新能源", "燃气", "水务", "自来水", "热力", "石油", "化工", "钢铁",
        "汽车", "机械", "制造", "食品", "啤酒", "酒业", "餐饮", "酒店", "旅游", "电视台", "广播电视台",
        "日报", "报业", "出版", "移动", "联通", "电信", "烟草", "农业", "环保", "环境", "供应链",
        "电子商务", "电商", "人民", "中心", "市场", "商务",
    }
)  # fmt: skip
_INDUSTRY_MAX_LEN = max(len(word) for word in _INDUSTRY_WORDS)

COMPANY_PLACEHOLDERS = frozenset(
    {
        "个人", "个体", "个体户", "私人", "自由职业", "自由职业者", "学生", "无业", "待定", "无公司", "test",
        "testing", "demo", "测试", "测试公司", "公司", "有限公司", "xxx", "abc", "asdf", "unknown", "company",
    }
)  # fmt: skip


def normalize_company_name(raw: str | None) -> Normalized:
    """Company key: no region prefix or qualifier, no legal form, lower-case; '|branch' for branches.

    华为技术(深圳)有限公司 → 华为技术 and 华为技术有限公司北京分公司 → 华为技术|北京分公司, so a branch
    never merges with its parent yet `company_parent_key` recovers the parent.
    """
    if raw is None:
        return _rejected(EMPTY)
    text = _WHITESPACE.sub(" ", _fold(raw).lower()).replace("|", " ")
    if _is_empty(text):
        return _rejected(EMPTY)
    if _is_placeholder_company(_drop_punctuation(text.replace(" ", ""))):
        return _rejected(PLACEHOLDER)
    text = _WHITESPACE.sub(" ", _drop_bracket_qualifiers(text)).strip()
    text = _strip_latin_suffixes(text).replace(" ", "")
    parent, branch = _split_branch(text)
    parent = _drop_punctuation(_strip_leading_regions(_strip_legal_forms(parent)))
    if _is_placeholder_company(parent):
        return _rejected(PLACEHOLDER)
    if branch:
        return Normalized(f"{parent}|{_drop_punctuation(branch)}", None)
    return Normalized(parent, None)


def company_parent_key(normalized: str | Normalized) -> str:
    """The parent company's key of a normalised name (the part before '|'), for rolling branches up."""
    value = normalized.value if isinstance(normalized, Normalized) else normalized
    if value is None:
        raise ValueError(f"no parent key for a rejected company name ({normalized!r})")
    return value.split("|", 1)[0]


def _is_placeholder_company(compact: str) -> bool:
    """Names that stand for no company: 个人, 测试公司, xxxx, 123456."""
    return compact in COMPANY_PLACEHOLDERS or _is_repeated(compact, 2) or compact.isdigit()


def _drop_punctuation(text: str) -> str:
    """Remove punctuation and symbols ('·', ',', '-') but keep '&', '+' and brackets, which carry meaning."""
    kept = "".join(ch for ch in text if ch in "&+()" or unicodedata.category(ch)[0] not in "PSZ")
    return kept.replace("()", "")


def _drop_bracket_qualifiers(text: str) -> str:
    """Remove bracketed region / legal-form qualifiers: (北京), (中国), (有限合伙), (shanghai)."""

    def replace(match: re.Match[str]) -> str:
        content = match.group(1).replace(" ", "")
        if content in _BRACKET_QUALIFIERS or _BRACKETED_DIVISION.fullmatch(content):
            return " "
        return match.group(0)

    return _BRACKETED.sub(replace, text)


def _strip_latin_suffixes(name: str) -> str:
    """Drop trailing 'Co., Ltd.', 'Inc.', 'Corp.', 'LLC', 'Limited' … (word-bounded, repeatedly)."""
    name = name.rstrip(" ,.;")
    while (match := _LATIN_SUFFIX.search(name)) is not None:
        rest = name[: match.start()].rstrip(" ,.;")
        if len(rest) < 2:
            break
        name = rest
    return name


def _until_unchanged(step: Callable[[str], str], name: str) -> str:
    """Apply a one-affix step again and again, until it takes nothing more off."""
    while (shorter := step(name)) != name:
        name = shorter
    return name


def _strip_legal_form(name: str) -> str:
    """Drop one Chinese legal-form suffix (有限公司, 集团 …), then Latin ones, never leaving < 2 characters."""
    for suffix in _LEGAL_SUFFIXES:
        rest = name.removesuffix(suffix)
        # A trailing 分 means this was 'xx分公司' whose branch could not be split off: keep it whole.
        if rest != name and len(rest) >= 2 and not rest.endswith("分"):
            name = rest
            break
    return _strip_latin_suffixes(name)


def _strip_legal_forms(name: str) -> str:
    """Drop Chinese legal-form suffixes (有限公司, 集团 …) and Latin ones, never leaving < 2 characters."""
    return _until_unchanged(_strip_legal_form, name)


def _strip_leading_region(name: str) -> str:
    """Drop one leading province/city word (北京字节跳动 → 字节跳动) unless only an industry word would remain."""
    for region in REGION_WORDS:
        rest = name.removeprefix(region)
        if rest == name:
            continue
        if region.endswith("市") and name[len(region) - 1 :].startswith(_SHI_WORDS):
            continue  # 北京市政路桥 is 北京 + 市政路桥, not 北京市 + 政路桥
        # longest match only: a shorter one would cut inside the same word
        return rest if len(rest) >= 2 and not _is_generic(rest) else name
    return name


def _strip_leading_regions(name: str) -> str:
    """Drop leading province/city words (北京字节跳动 → 字节跳动) unless only an industry word would remain."""
    return _until_unchanged(_strip_leading_region, name)


def _is_generic(text: str) -> bool:
    """True when text is made only of industry words and ordinals (银行, 第一人民医院): no 字号 of its own."""
    reachable = [True] + [False] * len(text)
    for start in range(len(text)):
        if not reachable[start]:
            continue
        if (ordinal := _ORDINAL.match(text, start)) is not None:
            reachable[ordinal.end()] = True
        for end in range(start + 2, min(len(text), start + _INDUSTRY_MAX_LEN) + 1):
            if text[start:end] in _INDUSTRY_WORDS:
                reachable[end] = True
    return reachable[-1]


def _split_branch(name: str) -> tuple[str, str | None]:
    """(parent, branch) of a whitespace-free name ending in 分公司/分行/办事处 …, else (name, None)."""
    marker = _BRANCH_AT_END.search(name)
    if marker is None:
        return name, None
    if name.endswith(")") and (opening := name.rfind("(")) >= 2:
        return name[:opening], name[opening + 1 : -1]  # 华为技术有限公司(北京分公司)
    head = name[: marker.start()]
    cut = _last_legal_form_end(head) or _last_region_start(head) or marker.start()
    if cut < 2:
        return name, None
    return name[:cut], name[cut:]


def _last_legal_form_end(head: str) -> int | None:
    """Where the parent's legal form ends (华为技术有限公司|北京分公司), or None."""
    ends = [match.end() for match in _LEGAL_FORM_IN_NAME.finditer(head)]
    return ends[-1] if ends else None


def _last_region_start(head: str) -> int | None:
    """Where the branch's region or ordinal begins (招商银行|深圳分行, 华为|第一分公司), or None."""
    starts = [head.rfind(region) for region in REGION_WORDS]
    starts += [match.start() for match in _ORDINAL.finditer(head)]
    best = max(starts, default=-1)
    return best if best > 0 else None


# ---------------------------------------------------------------------------------------------------------
# 统一社会信用代码 (GB 32100-2015)

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1, 3, 9, 27, 19, 26, 16, …, 28
_USCC_VALUES = {char: value for value, char in enumerate(USCC_ALPHABET)}
_USCC_SEPARATORS = re.compile(r"[\s\-_]")


def uscc_check_character(first17: str) -> str:
    """GB 32100-2015 check character for the first 17 characters of a USCC."""
    total = sum(_USCC_VALUES[char] * weight for char, weight in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def normalize_uscc(raw: str | None) -> Normalized:
    """Upper-case 18-character USCC with a verified check character: the company key across systems."""
    if raw is None:
        return _rejected(EMPTY)
    text = _fold(raw)
    if _is_empty(text):
        return _rejected(EMPTY)
    code = _USCC_SEPARATORS.sub("", text).upper()
    if len(code) != 18 or any(char not in _USCC_VALUES for char in code):
        return _rejected(INVALID_USCC)
    if _is_repeated(code[:17], 17):
        return _rejected(PLACEHOLDER)  # 000000000000000000 even passes the checksum
    if uscc_check_character(code[:17]) != code[17]:
        return _rejected(BAD_CHECKSUM)
    return Normalized(code, None)
