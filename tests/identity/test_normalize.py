"""Identifier normalisation for identity stitching: every rule pinned to exact outputs.

Pure functions, no warehouse and no fixtures from tests/conftest.py.
"""

from __future__ import annotations

import random

import pytest

from leadloop.identity.normalize import (
    REGION_WORDS,
    USCC_ALPHABET,
    USCC_WEIGHTS,
    Normalized,
    _fast_cn_mobile,
    _parse_with_phonenumbers,
    company_parent_key,
    email_domain,
    normalize_company_name,
    normalize_email,
    normalize_phone,
    normalize_uscc,
    uscc_check_character,
)


def ok(value: str, kind: str | None = None) -> Normalized:
    """A usable result."""
    return Normalized(value, None, kind)


def rejected(reason: str) -> Normalized:
    """A rejected result."""
    return Normalized(None, reason)


def full_width(text: str) -> str:
    """Full-width form of printable ASCII, the way Chinese IMEs type it."""
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


# ---------------------------------------------------------------------------------------------------------
# Phones

MOBILE = ok("+8613912345678", "mobile")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+86 139-1234-5678", MOBILE),
        ("0086 13912345678", MOBILE),
        ("８６１３９１２３４５６７８", MOBILE),
        (full_width("+86 139 1234 5678"), MOBILE),
        ("139 1234 5678 ", MOBILE),
        ("13912345678", MOBILE),
        ("8613912345678", MOBILE),
        ("(+86)139.1234.5678", MOBILE),
        ("手机:139 1234 5678", MOBILE),
        ("手机：１３９１２３４５６７８", MOBILE),
        ("tel:+8613912345678", MOBILE),
        ("13912345678 (微信同号)", MOBILE),
        ("(010) 6552-1234", ok("+861065521234", "landline")),
        ("010-12345678", ok("+861012345678", "landline")),
        ("0755-88886666", ok("+8675588886666", "landline")),
        ("0755 8888 6666", ok("+8675588886666", "landline")),
        ("+86 21 5555 1234", ok("+862155551234", "landline")),
        ("+86 0755 8888 6666", ok("+8675588886666", "landline")),
        ("电话: 021-5555 1234", ok("+862155551234", "landline")),
        # Extensions are dropped: the key is the switchboard line.
        ("010-65521234转123", ok("+861065521234", "landline")),
        ("010-65521234-123", ok("+861065521234", "landline")),
        ("010 6552 1234 ext. 12", ok("+861065521234", "landline")),
        ("0755-88886666 分机 8001", ok("+8675588886666", "landline")),
        ("+1 650 253 0000", ok("+16502530000", "other")),
        ("001 650 253 0000", ok("+16502530000", "other")),
        ("+852 9123 4567", ok("+85291234567", "mobile")),
        ("+852 2123 4567", ok("+85221234567", "landline")),
        ("400-820-8820", ok("+864008208820", "other")),
    ],
)
def test_phone_normalises_to_e164(raw: str, expected: Normalized) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("13888888888", "placeholder"),
        ("13900000000", "placeholder"),
        ("18888888888", "placeholder"),
        ("11111111111", "placeholder"),
        ("00000000", "placeholder"),
        ("12345678901", "placeholder"),
        ("98765432109", "placeholder"),
        ("12345", "invalid_phone"),
        ("1391234567", "invalid_phone"),
        ("14012345678", "invalid_phone"),
        ("139****5678", "invalid_phone"),
        ("13912345678/13812345678", "invalid_phone"),
        ("65521234", "invalid_phone"),
        ("13912345678-1", "invalid_phone"),
        ("abc", "invalid_phone"),
        ("", "empty"),
        ("   ", "empty"),
        (None, "empty"),
        ("null", "empty"),
        ("NULL", "empty"),
        ("none", "empty"),
        ("-", "empty"),
        ("无", "empty"),
    ],
)
def test_phone_rejections_carry_a_reason(raw: str | None, reason: str) -> None:
    assert normalize_phone(raw) == rejected(reason)


def test_phone_blocked_set_is_configurable() -> None:
    assert normalize_phone("139 1234 5678", blocked=frozenset({"13912345678"})) == rejected("placeholder")
    assert normalize_phone("13912345678", blocked=frozenset({"+8613912345678"})) == rejected("placeholder")
    assert normalize_phone("13800138000") == ok("+8613800138000", "mobile")


def test_typed_test_numbers_and_addresses_are_blocked_in_one_place() -> None:
    """A test number or address that no rule recognises is a valid value here; the seed
    identity_blocked_values.csv, which the identity graph applies, is where it is listed (once)."""
    import csv

    from leadloop import settings

    with (settings.DBT_PROJECT_DIR / "seeds" / "identity_blocked_values.csv").open(encoding="utf-8") as handle:
        blocked = {(row["identifier_type"], row["blocked_value"]) for row in csv.DictReader(handle)}
    for typed in ("13800138000", "138 0013 8000", "+86 138-0013-8000", "13012345678"):
        assert ("phone", normalize_phone(typed).value) in blocked, typed
    for typed in ("A@A.com", "no@email.com"):
        assert ("email", normalize_email(typed).value) in blocked, typed


def test_phone_fast_path_agrees_with_phonenumbers() -> None:
    """The clean-mobile shortcut returns exactly what the phonenumbers parser returns."""
    rng = random.Random(20240601)
    numbers = [f"{prefix}{rng.randrange(10**7):07d}" for prefix in range(1300, 2000)]
    numbers += [f"{prefix}0000000" for prefix in range(1300, 2000)]
    for number in numbers:
        assert _fast_cn_mobile(number) == _parse_with_phonenumbers(number), number
    assert sum(_fast_cn_mobile(n).value is None for n in numbers) > 0  # some prefixes are unassigned


def test_phone_cache_returns_the_same_result() -> None:
    assert normalize_phone("0755-88886666") == normalize_phone("0755-88886666")
    assert normalize_phone("+86 139 1234 5678") == normalize_phone("8613912345678") == MOBILE


# ---------------------------------------------------------------------------------------------------------
# Emails and domains


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" ZhangSan@Acme.COM ", "zhangsan@acme.com"),
        ("zhangsan＠acme.com", "zhangsan@acme.com"),
        (full_width("ZhangSan@Acme.com"), "zhangsan@acme.com"),
        ("zhangsan @ acme . com", "zhangsan@acme.com"),
        ("zhangsan@acme。com", "zhangsan@acme.com"),
        ("<li@acme.cn>", "li@acme.cn"),
        ("mailto:Li@Acme.cn", "li@acme.cn"),
        ("张三 <Zhang.San+cn@ACME.com.cn>", "zhang.san+cn@acme.com.cn"),
        ("li@acme.cn;", "li@acme.cn"),
        ("zhangsan@qq.com", "zhangsan@qq.com"),
    ],
)
def test_email_normalises(raw: str, expected: str) -> None:
    assert normalize_email(raw) == ok(expected)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("zhangsan", "invalid_email"),
        ("zhangsan@", "invalid_email"),
        ("a@b", "invalid_email"),
        ("a@@b.com", "invalid_email"),
        ("zhang san@acme.com", "invalid_email"),
        ("zhang@acme..com", "invalid_email"),
        (".zhang@acme.com", "invalid_email"),
        ("a@acme.com;b@acme.com", "invalid_email"),
        ("张三@acme.com", "invalid_email"),
        ("test@test.com", "placeholder"),
        ("TEST@TEST.COM", "placeholder"),
        ("null@null.com", "placeholder"),
        ("xxx@xxx.com", "placeholder"),
        ("noreply@acme.com", "placeholder"),
        ("aaa@acme.com", "placeholder"),
        ("zhangsan@example.com", "placeholder"),
        ("li@acme.test", "placeholder"),
        ("", "empty"),
        (None, "empty"),
        ("null", "empty"),
        ("无", "empty"),
    ],
)
def test_email_rejections_carry_a_reason(raw: str | None, reason: str) -> None:
    assert normalize_email(raw) == rejected(reason)


def test_email_keeps_dots_and_plus_tags_apart() -> None:
    """Corporate servers treat these as different mailboxes, so they must stay different keys."""
    keys = {
        normalize_email(raw).value
        for raw in ("zhang.san@acme.com", "zhangsan@acme.com", "zhangsan+x@acme.com")
    }
    assert keys == {"zhang.san@acme.com", "zhangsan@acme.com", "zhangsan+x@acme.com"}


def test_email_blocked_set_is_configurable() -> None:
    assert normalize_email("Sales@Acme.com", blocked=frozenset({"sales@acme.com"})) == rejected("placeholder")
    assert normalize_email("a@a.com", blocked=frozenset()) == ok("a@a.com")
    assert normalize_email("no@email.com", blocked=frozenset()) == ok("no@email.com")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("li@acme.com.cn", ok("acme.com.cn")),
        ("Li@ACME.COM", ok("acme.com")),
        ("li＠acme.com", ok("acme.com")),
        ("https://www.acme.com.cn/", ok("acme.com.cn")),
        ("HTTP://WWW.ACME.COM.CN/about?x=1", ok("acme.com.cn")),
        ("www.Acme.com", ok("acme.com")),
        ("acme.com:8080/contact", ok("acme.com")),
        ("sh.acme.com", ok("sh.acme.com")),
        ("Zhang@QQ.com", rejected("free_mail_domain")),
        ("li@vip.qq.com", rejected("free_mail_domain")),
        ("li@vip.163.com", rejected("free_mail_domain")),
        ("li@163.com", rejected("free_mail_domain")),
        ("li@126.com", rejected("free_mail_domain")),
        ("li@foxmail.com", rejected("free_mail_domain")),
        ("li@sina.cn", rejected("free_mail_domain")),
        ("li@139.com", rejected("free_mail_domain")),
        ("li@gmail.com", rejected("free_mail_domain")),
        ("https://mail.163.com", rejected("free_mail_domain")),
        ("outlook.com", rejected("free_mail_domain")),
        ("xxx@xxx.com", rejected("placeholder")),
        ("example.com", rejected("placeholder")),
        ("zhangsan@", rejected("invalid_email")),
        ("foo", rejected("invalid_domain")),
        ("http://", rejected("invalid_domain")),
        ("", rejected("empty")),
        (None, rejected("empty")),
    ],
)
def test_email_domain(raw: str | None, expected: Normalized) -> None:
    assert email_domain(raw) == expected


def test_email_domain_free_mail_set_is_configurable() -> None:
    assert email_domain("li@acme.com", free_mail=frozenset({"acme.com"})) == rejected("free_mail_domain")
    assert email_domain("li@qq.com", free_mail=frozenset()) == ok("qq.com")


# ---------------------------------------------------------------------------------------------------------
# Company names


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("华为技术有限公司", "华为技术"),
        ("华为技术(深圳)有限公司", "华为技术"),
        ("华为技术（深圳）有限公司", "华为技术"),
        ("华为技术【深圳】有限公司", "华为技术"),
        ("北京字节跳动科技有限公司", "字节跳动科技"),
        ("字节跳动科技有限公司", "字节跳动科技"),
        ("阿里巴巴(中国)网络技术有限公司", "阿里巴巴网络技术"),
        ("携程旅游网络技术(上海)有限公司", "携程旅游网络技术"),
        ("张江高科技(浦东新区)有限公司", "张江高科技"),
        ("腾讯 科技（深圳）有限公司", "腾讯科技"),
        ("深圳市腾讯计算机系统有限公司", "腾讯计算机系统"),
        ("广东省深圳市华强北科技有限公司", "华强北科技"),
        ("浙江大华技术股份有限公司", "大华技术"),
        ("海尔集团公司", "海尔"),
        ("青岛海尔股份有限公司", "海尔"),
        ("中国移动通信集团有限公司", "中国移动通信"),
        ("某某科技有限责任公司", "某某科技"),
        ("某某控股集团股份有限公司", "某某控股"),
        ("某某投资合伙企业(有限合伙)", "某某投资合伙企业"),
        # Region kept when only an industry word would remain, or too little would remain.
        ("北京银行股份有限公司", "北京银行"),
        ("上海汽车集团股份有限公司", "上海汽车"),
        ("上海市第一人民医院", "上海市第一人民医院"),
        ("北京市政路桥股份有限公司", "市政路桥"),
        ("北京", "北京"),
        ("北京市A公司", "北京市a"),
        # Latin names: lower-case, legal forms dropped with word boundaries.
        ("Acme Co., Ltd.", "acme"),
        (full_width("ACME Co.,Ltd."), "acme"),
        ("ACME (Shanghai) Co., Ltd.", "acme"),
        ("Apple Inc.", "apple"),
        ("Acme Corp.", "acme"),
        ("Acme LLC", "acme"),
        ("Acme Limited", "acme"),
        ("Acme Group", "acme"),
        ("Costco", "costco"),
        ("IBM(中国)有限公司", "ibm"),
        # Branches keep their own key, prefixed by the parent's.
        ("华为技术有限公司北京分公司", "华为技术|北京分公司"),
        ("华为技术有限公司 北京分公司", "华为技术|北京分公司"),
        ("华为技术有限公司（北京分公司）", "华为技术|北京分公司"),
        ("平安银行股份有限公司深圳分行", "平安银行|深圳分行"),
        ("招商银行深圳分行", "招商银行|深圳分行"),
        ("北京银行上海分行", "北京银行|上海分行"),
        ("某某咨询有限公司上海办事处", "某某咨询|上海办事处"),
    ],
)
def test_company_name_normalises(raw: str, expected: str) -> None:
    assert normalize_company_name(raw) == ok(expected)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("无", "empty"),
        ("null", "empty"),
        ("-", "empty"),
        ("", "empty"),
        ("   ", "empty"),
        (None, "empty"),
        ("个人", "placeholder"),
        ("test", "placeholder"),
        ("TEST", "placeholder"),
        ("测试公司", "placeholder"),
        ("测试有限公司", "placeholder"),
        ("有限公司", "placeholder"),
        ("xxxx", "placeholder"),
        ("123456", "placeholder"),
    ],
)
def test_company_name_rejections(raw: str | None, reason: str) -> None:
    assert normalize_company_name(raw) == rejected(reason)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("北京字节跳动科技有限公司", "字节跳动科技有限公司"),
        ("华为技术(深圳)有限公司", "华为技术有限公司"),
        ("Acme Co., Ltd.", "ACME Inc."),
        ("广东省深圳市华强北科技有限公司", "华强北科技有限公司"),
    ],
)
def test_company_spellings_join(left: str, right: str) -> None:
    assert normalize_company_name(left).value == normalize_company_name(right).value


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("华为技术有限公司北京分公司", "华为技术有限公司"),
        ("华为技术有限公司北京分公司", "华为技术有限公司上海分公司"),
        ("北京银行股份有限公司", "上海银行股份有限公司"),
    ],
)
def test_different_companies_stay_apart(left: str, right: str) -> None:
    assert normalize_company_name(left).value != normalize_company_name(right).value


def test_company_parent_key_rolls_branches_up() -> None:
    branch = normalize_company_name("华为技术有限公司北京分公司")
    parent = normalize_company_name("华为技术（深圳）有限公司")
    assert company_parent_key(branch.value) == parent.value == "华为技术"
    assert company_parent_key(branch) == "华为技术"
    assert company_parent_key("华为技术") == "华为技术"
    with pytest.raises(ValueError):
        company_parent_key(normalize_company_name("个人"))


def test_region_words_cover_provinces_with_and_without_suffix() -> None:
    assert isinstance(REGION_WORDS, tuple)
    for word in (
        "北京",
        "北京市",
        "广东",
        "广东省",
        "内蒙古",
        "内蒙古自治区",
        "广西",
        "广西壮族自治区",
        "新疆",
    ):
        assert word in REGION_WORDS
    for word in ("香港", "澳门", "台湾", "深圳市", "杭州", "东莞", "佛山", "乌鲁木齐"):
        assert word in REGION_WORDS
    lengths = [len(word) for word in REGION_WORDS]
    assert lengths == sorted(lengths, reverse=True)  # longest first, so 北京市 wins over 北京


# ---------------------------------------------------------------------------------------------------------
# 统一社会信用代码

# Check characters from the GB 32100-2015 formula, written out independently of the module.
SPEC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def reference_check_character(first17: str) -> str:
    """Straight transcription of the standard: C18 = 31 - (Σ Ci·Wi mod 31), 31 → 0."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    value = 31 - sum(alphabet.index(c) * w for c, w in zip(first17, SPEC_WEIGHTS, strict=True)) % 31
    return alphabet[0 if value == 31 else value]


def constructed_codes(count: int) -> list[str]:
    """Valid codes built from random bodies plus the reference check character."""
    rng = random.Random(32100)
    bodies = ["".join(rng.choice(USCC_ALPHABET) for _ in range(17)) for _ in range(count)]
    return [body + reference_check_character(body) for body in bodies]


def test_uscc_constants_match_the_standard() -> None:
    assert USCC_WEIGHTS == SPEC_WEIGHTS
    assert USCC_ALPHABET == "0123456789ABCDEFGHJKLMNPQRTUWXY"
    assert not set("IOSVZ") & set(USCC_ALPHABET)


@pytest.mark.parametrize(
    "code",
    [
        "914403001922038216",  # 华为技术有限公司 (published)
        "91330100716105852F",  # 阿里巴巴（中国）网络技术有限公司 (published)
        "91110000000000000" + reference_check_character("91110000000000000"),
        *constructed_codes(20),
    ],
)
def test_uscc_valid(code: str) -> None:
    assert normalize_uscc(code) == ok(code)
    assert uscc_check_character(code[:17]) == code[17]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("91330100716105852f", ok("91330100716105852F")),
        (" 9133 0100 7161 0585 2F ", ok("91330100716105852F")),
        ("91330100-716105852-F", ok("91330100716105852F")),
        ("９１４４０３００１９２２０３８２１６", ok("914403001922038216")),
        ("914403001922038217", rejected("bad_checksum")),
        ("91330100716105852E", rejected("bad_checksum")),
        ("91330100716105852", rejected("invalid_uscc")),
        ("91330100716105852FF", rejected("invalid_uscc")),
        ("91440300I922038216", rejected("invalid_uscc")),
        ("9144030019220382O6", rejected("invalid_uscc")),
        ("9144030019220382S6", rejected("invalid_uscc")),
        ("000000000000000000", rejected("placeholder")),
        ("", rejected("empty")),
        (None, rejected("empty")),
        ("无", rejected("empty")),
    ],
)
def test_uscc_normalises_or_rejects(raw: str | None, expected: Normalized) -> None:
    assert normalize_uscc(raw) == expected


def test_uscc_every_single_character_error_is_caught() -> None:
    """The mod-31 check detects any one wrong character, so each substitution must be rejected."""
    code = "914403001922038216"
    for position in range(18):
        for char in USCC_ALPHABET:
            if char != code[position]:
                typo = code[:position] + char + code[position + 1 :]
                assert normalize_uscc(typo) == rejected("bad_checksum"), typo
