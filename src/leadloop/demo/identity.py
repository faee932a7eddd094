"""The identity mess of real CRM and marketing data, added to the demo world, and its truth.

`add_identity_mess` runs once at the end of `leadloop.demo.world.simulate` with its own random stream, so
the funnel side of the world (journeys, stages, money) is the same with or without it. It gives
the demo the cases identity stitching must survive (architecture §4, issue "one customer out of many
ids"): a person whose lead phone differs from the phone sales later records, company switchboards
and shared mailboxes typed into many people's records, placeholder phones, phones and company
names typed every which way (full width, +86, region words, legal suffixes), branch offices with
their own CRM account, people with the same name at different companies, corporate and free-mail
addresses, and unified social credit codes on the CRM accounts.

The truth — which true person and account every record belongs to — comes from
`leadloop.demo.identity_truth`.
"""

from __future__ import annotations

import random
import string
from collections import defaultdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # leadloop.demo.world calls this module at the end of simulate()
    from leadloop.demo.model import Account, Journey, Person, World

PLACEHOLDER_MOBILE = "13800138000"  # what an SDR types when the caller would not give a number
MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
                   "155", "156", "157", "158", "159", "166", "176", "177", "180", "181", "185", "186",
                   "187", "188", "189", "198", "199")
AREA_CODES = ("010", "021", "020", "0755", "0571", "025", "028", "027", "022", "023", "0512", "0532")
FREE_MAIL = ("qq.com", "163.com", "126.com", "foxmail.com", "sina.com")
NAME_WORDS = ("华", "信", "达", "恒", "通", "瑞", "博", "创", "智", "云", "联", "科", "远", "盛", "新", "泰",
              "安", "合", "宏", "天", "海", "明", "正", "中", "鼎", "汇", "丰", "睿", "思", "卓")
NAME_TRADES = ("科技", "信息技术", "网络科技", "软件", "数据科技", "智能制造", "医疗器械", "电子", "物流",
               "汽车零部件", "新能源", "教育科技", "零售连锁", "金融服务")
LEGAL_FORMS = ("有限公司", "股份有限公司", "有限责任公司")
REGION_WORDS = ("北京", "上海", "深圳", "杭州", "苏州", "成都", "武汉", "南京")
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
FULL_WIDTH = {c: chr(ord(c) + 0xFEE0) for c in string.digits + string.ascii_letters + "()+-"}


def uscc_check_character(first17: str) -> str:
    """The GB 32100-2015 check character of a unified social credit code's first 17 characters."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def full_width(text: str) -> str:
    """The text as a Chinese input method in full-width mode types it."""
    return "".join(FULL_WIDTH.get(c, c) for c in text)


class _Mess:
    """The random stream and the values already handed out (identifiers must not collide)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed * 13 + 5)
        self.mobiles: set[str] = set()
        self.names: set[str] = set()
        self.emails: set[str] = set()

    def mobile(self) -> str:
        """A fresh, valid China mobile number nobody else has."""
        while True:
            number = self.rng.choice(MOBILE_PREFIXES) + "".join(self.rng.choices(string.digits, k=8))
            if number not in self.mobiles and len(set(number[3:])) > 2:
                self.mobiles.add(number)
                return number

    def company_name(self) -> str:
        """A company name no other demo company has (registered names are unique)."""
        while True:
            name = ("".join(self.rng.sample(NAME_WORDS, 2)) + self.rng.choice(NAME_TRADES)
                    + self.rng.choice(LEGAL_FORMS))
            if name not in self.names:
                self.names.add(name)
                return name

    def email(self, local: str, domain: str) -> str:
        """A unique address at a domain."""
        candidate, n = f"{local}@{domain}", 1
        while candidate in self.emails:
            n += 1
            candidate = f"{local}{n}@{domain}"
        self.emails.add(candidate)
        return candidate

    def uscc(self) -> str:
        """A checksum-valid unified social credit code (registration authority 9 = 工商, type 1 = 企业)."""
        body = "91" + "".join(self.rng.choices(string.digits, k=6)) + "".join(
            self.rng.choices(USCC_ALPHABET, k=9))
        return body + uscc_check_character(body)


def add_identity_mess(world: World) -> None:
    """Give the demo world's people and companies the identifiers and typing habits of real data."""
    mess = _Mess(world.seed)
    journeys_of: dict[str, list[Journey]] = defaultdict(list)
    for journey in world.journeys:
        journeys_of[journey.person.person_id].append(journey)
    for n, account in enumerate(world.accounts):
        account.name = mess.company_name()
        account.uscc = mess.uscc()
        account.domain = f"{_latin_word(mess.rng)}{n}.com.cn"
    _branch_offices(mess, world.accounts)
    names = {a.account_id: a.name for a in world.accounts}
    for opportunity in world.opportunities:  # deal names start with the company's name
        opportunity.name = f"{names[opportunity.account_id]}-{opportunity.name.split('-', 1)[1]}"
    for account in world.accounts:
        _people(mess, account)
        _shared_contact_points(mess, account, journeys_of)
    _same_names(mess, world.accounts)
    for journey in world.journeys:
        _typing(mess, journey)


def _latin_word(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 8)))


def _branch_offices(mess: _Mess, accounts: list[Account]) -> None:
    """One account in 25 is the branch office of another: its own CRM account, the parent's domain."""
    for account in accounts:
        if mess.rng.random() >= 0.04:
            continue
        parent = mess.rng.choice(accounts)
        if parent is account or parent.parent_account_id is not None:
            continue
        account.name = f"{parent.name}{mess.rng.choice(REGION_WORDS)}分公司"
        account.parent_account_id = parent.account_id
        account.domain = parent.domain


def _people(mess: _Mess, account: Account) -> None:
    """Unique mobiles; corporate, free-mail or no e-mail; one person in ten changes phone after the lead."""
    for person in account.committee:
        person.mobile = mess.mobile()
        roll = mess.rng.random()
        if roll < 0.5:
            person.email = mess.email(_latin_word(mess.rng), account.domain or "")
        elif roll < 0.8:
            person.email = mess.email(str(mess.rng.randint(10_000_000, 3_999_999_999)),
                                      mess.rng.choice(FREE_MAIL))
        else:
            person.email = None
        if mess.rng.random() < 0.1:
            person.lead_mobile = mess.mobile()


def _shared_contact_points(mess: _Mess, account: Account, journeys_of: dict[str, list[Journey]]) -> None:
    """A switchboard typed as everybody's phone; a shared mailbox for people with no address of their own."""
    people = account.committee
    if len(people) >= 2 and mess.rng.random() < 0.25:
        account.switchboard = (f"{mess.rng.choice(AREA_CODES)}-"
                               f"{''.join(mess.rng.choices(string.digits[1:], k=8))}")
    with_leads = [p for p in people if journeys_of.get(p.person_id)]
    if len(with_leads) >= 3 and mess.rng.random() < 0.5:
        account.shared_mailbox = mess.email("info", account.domain or "")
        for person in with_leads:
            person.email = None


def _same_names(mess: _Mess, accounts: list[Account]) -> None:
    """Three people in a hundred share their name with someone at another company."""
    everyone = [(a, p) for a in accounts for p in a.committee]
    for account, person in everyone:
        if mess.rng.random() < 0.03:
            other_account, other = mess.rng.choice(everyone)
            if other_account is not account:
                person.name = other.name


def _typing(mess: _Mess, journey: Journey) -> None:
    """How this lead's phone and company were typed (into the form or by the SDR)."""
    rng, person, account = mess.rng, journey.person, journey.account
    mobile = person.lead_mobile or person.mobile
    roll = rng.random()
    if roll < 0.03 and person.email:
        journey.typed_mobile = PLACEHOLDER_MOBILE
    elif roll < 0.13:
        journey.typed_mobile = f"+86 {mobile[:3]} {mobile[3:7]} {mobile[7:]}"
    elif roll < 0.2:
        journey.typed_mobile = f"{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}"
    elif roll < 0.25:
        journey.typed_mobile = full_width(mobile)
    else:
        journey.typed_mobile = mobile
    journey.typed_company = _company_as_typed(rng, account)


def _company_as_typed(rng: random.Random, account: Account) -> str:
    """The company name as a person types it: mostly right, sometimes decorated or shortened."""
    name, roll = account.name, rng.random()
    if account.parent_account_id is not None or roll < 0.7:
        return name  # branch offices are typed in full, or the branch is lost
    region = rng.choice(REGION_WORDS)
    form = next(f for f in sorted(LEGAL_FORMS, key=len, reverse=True) if name.endswith(f))
    if roll < 0.8:
        return region + name
    if roll < 0.9:
        return f"{name[:-len(form)]}（{region}）{form}"  # full-width brackets, as IMEs type them
    return name[:-len(form)] + ("集团" if roll < 0.95 else "")


def phone_as_typed(person: Person) -> str:
    """The phone a person gives once they are a contact: the current mobile, sometimes formatted."""
    mobile = person.mobile
    return f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}" if int(mobile[-1]) % 4 == 0 else mobile
