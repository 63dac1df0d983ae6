"""Realistic exports of CRMs and home-made spreadsheets, and the rows xlsales should read
from them: the ground truth of the import tests.

Every generator writes one file in the source's own headers, value spellings, number and
date formats and encoding (with a few columns no profile maps, as real exports have) and
returns an :class:`Export` whose ``expected`` rows are keyed by xlsales column keys:
amounts in 万元 (``float``, compare with ``pytest.approx``), dates as ``datetime.date``,
date-times as ``datetime.datetime``, counts as ``int``, stages and list values as the
team's canonical (zh) values, people and companies as the file writes them. A row holds
exactly the keys the export provides (directly, through a profile's fill or defaults, or
from its pseudo-columns: stage_override, first_name/last_name); a blank cell is ``None``.

The expectations follow the import conventions written at the top of
``xlsales/importing/profiles/salesforce.toml``; the stage and value maps here are written
independently of the profiles, so a test that imports a file checks both.

``GENERATORS`` names every generator by its profile entry (``"salesforce/leads"``);
:func:`write_all` writes one file per entry; :func:`write_crm_dataset` writes the four
files of a dataset shaped like the public "CRM Sales Opportunities" one.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import random
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMATS = ("csv", "csv-bom", "csv-gbk", "csv-gb18030", "xlsx")
ENCODINGS = {"csv": "utf-8", "csv-bom": "utf-8-sig", "csv-gbk": "gbk",
             "csv-gb18030": "gb18030"}
START, TODAY = dt.date(2024, 1, 2), dt.date(2024, 6, 28)

Row = dict[str, Any]


@dataclass
class Export:
    """A written export and the rows an import of it should give."""

    path: Path
    profile: str
    table: str
    headers: list[str]
    expected: list[Row]
    fmt: str
    header_row: int = 1  # 1-based: 2 when a title row sits above the headers

    @property
    def key(self) -> str:
        """The profile entry the file belongs to, ``profile/table``."""
        return f"{self.profile}/{self.table}"


# -- writing -----------------------------------------------------------------------------

def write_table(path: Path, headers: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str,
                *, title: str | None = None, footer: Sequence[str] = (),
                quote_all: bool = False, sheet: str = "Sheet1") -> int:
    """Write ``headers`` and ``rows`` as ``fmt`` (see :data:`FORMATS`), with an optional
    title row above the headers and footer lines below a blank line; the header's 1-based
    row number."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; one of {FORMATS}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        from openpyxl import Workbook
        from openpyxl.styles import Font

        wb = Workbook()
        ws = wb.active
        ws.title = sheet
        if title is not None:
            ws.append([title])
            ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
            ws.cell(1, 1).font = Font(bold=True, size=14)
        ws.append(list(headers))
        for row in rows:
            ws.append([_cell(v) for v in row])
        for line in footer:
            ws.append([line])
        wb.save(path)
        return 2 if title is not None else 1
    with path.open("w", encoding=ENCODINGS[fmt], newline="") as f:
        w = csv.writer(f, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
        if title is not None:
            w.writerow([title])
        w.writerow(headers)
        for row in rows:
            w.writerow(["" if v is None else v for v in row])
        if footer:
            f.write("\r\n")
            for line in footer:
                w.writerow([line])
    return 2 if title is not None else 1


def _cell(value: Any) -> Any:
    return None if value == "" else value


# -- rendering ---------------------------------------------------------------------------

def mdy(d: dt.date) -> str:
    """US short date, as Salesforce's en_US locale writes it: 3/5/2024."""
    return f"{d.month}/{d.day}/{d.year}"


def mdy_time(t: dt.datetime) -> str:
    """US date and 12-hour time: 3/5/2024 2:07 PM."""
    hour = t.hour % 12 or 12
    return f"{mdy(t)} {hour}:{t.minute:02d} {'AM' if t.hour < 12 else 'PM'}"


def iso(d: dt.date) -> str:
    return d.strftime("%Y-%m-%d")


def iso_min(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M")


def iso_sec(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def ymd_slash(d: dt.date) -> str:
    """2024/3/5, as Chinese Excel shows a date typed in a CSV."""
    return f"{d.year}/{d.month}/{d.day}"


def ymd_zh(d: dt.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def ymd_dot(d: dt.date) -> str:
    return f"{d.year}.{d.month}.{d.day}"


def wan(yuan: float) -> float:
    """元 as 万元, computed as the importer would."""
    return yuan * 1.0 / 1e4


# -- people, companies, dates ------------------------------------------------------------

_SURNAMES = (("张", "Zhang"), ("王", "Wang"), ("李", "Li"), ("刘", "Liu"), ("陈", "Chen"),
             ("杨", "Yang"), ("赵", "Zhao"), ("黄", "Huang"), ("周", "Zhou"), ("吴", "Wu"),
             ("徐", "Xu"), ("孙", "Sun"), ("胡", "Hu"), ("朱", "Zhu"), ("高", "Gao"),
             ("林", "Lin"), ("何", "He"), ("郭", "Guo"), ("马", "Ma"), ("罗", "Luo"))
_GIVEN = (("伟", "Wei"), ("芳", "Fang"), ("娜", "Na"), ("敏", "Min"), ("静", "Jing"),
          ("强", "Qiang"), ("磊", "Lei"), ("军", "Jun"), ("洋", "Yang"), ("勇", "Yong"),
          ("艳", "Yan"), ("杰", "Jie"), ("涛", "Tao"), ("明", "Ming"), ("超", "Chao"),
          ("秀英", "Xiuying"), ("晓东", "Xiaodong"), ("建华", "Jianhua"), ("海燕", "Haiyan"),
          ("志强", "Zhiqiang"), ("婷婷", "Tingting"), ("宇航", "Yuhang"), ("思远", "Siyuan"))
_CITIES = ("上海", "北京", "深圳", "杭州", "苏州", "广州", "南京", "成都", "武汉", "宁波",
           "无锡", "天津", "青岛", "厦门", "合肥", "西安")
_CORES = ("恒信", "华创", "鼎盛", "瑞丰", "博远", "中科", "天行", "同创", "金石", "宏达",
          "凯德", "新纪元", "蓝海", "明阳", "长风", "众合", "汇通", "启航", "远景", "德鑫",
          "正泰", "嘉禾", "立信", "锦程")
_KINDS = ("科技", "智能装备", "精密制造", "物流", "医疗器械", "教育科技", "新能源", "信息技术",
          "电子", "供应链管理", "化工", "零售连锁")
_FORMS = ("有限公司", "股份有限公司", "集团有限公司")
_TITLES = ("采购经理", "IT经理", "总经理", "信息部主管", "生产总监", "财务总监", "行政主管",
           "CTO")
_NEEDS = ("需采购自动化设备,预算50万", "MES系统选型", "仓储管理系统升级", "希望试用产品A",
          "询问批量采购价格", "替换现有供应商", "新工厂信息化规划", "需要数据分析平台")
_LOST = ("价格高于竞品", "客户预算取消", "选择了竞争对手", "项目延期", "需求变更")
_CONTENT = ("介绍产品A功能,客户反馈需看案例", "电话确认需求,约下周拜访", "提交方案,等待反馈",
            "客户对报价有异议,需申请折扣", "演示系统,客户技术部参加", "回访使用情况,客户满意",
            "沟通合同条款", "节日问候")
_PRODUCTS = ("产品A", "产品B", "产品C")


@dataclass
class Person:
    """A person's name, in characters and in pinyin."""

    surname: str
    given: str
    last: str
    first: str

    @property
    def zh(self) -> str:
        return self.surname + self.given

    @property
    def western(self) -> str:
        """As a CRM with an English locale shows a user created as First/Last."""
        return f"{self.first} {self.last}"


@dataclass
class Faker:
    """Seeded names, companies, phones and dates."""

    seed: int
    rng: random.Random = field(init=False)
    _companies: set[str] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def person(self) -> Person:
        (s, last), (g, first) = self.rng.choice(_SURNAMES), self.rng.choice(_GIVEN)
        return Person(s, g, last, first)

    def people(self, k: int) -> list[Person]:
        """``k`` people with distinct names (a team)."""
        out: dict[str, Person] = {}
        while len(out) < k:
            p = self.person()
            out.setdefault(p.zh, p)
        return list(out.values())

    def company(self) -> str:
        """A company name not given before."""
        while True:
            name = (self.rng.choice(_CITIES) + self.rng.choice(_CORES) + self.rng.choice(_KINDS)
                    + self.rng.choice(_FORMS))
            if name not in self._companies:
                self._companies.add(name)
                return name

    def mobile(self) -> str:
        return self.rng.choice(("138", "139", "186", "135", "159", "177")) + "".join(
            self.rng.choices(string.digits, k=8))

    def landline(self) -> str:
        area = self.rng.choice(("021", "010", "0755", "0571", "0512", "020"))
        return f"{area}-{self.rng.randint(5000_0000, 8999_9999)}"

    def phone(self) -> str:
        return self.mobile() if self.rng.random() < 0.6 else self.landline()

    def day(self, a: dt.date = START, b: dt.date = TODAY) -> dt.date:
        return a + dt.timedelta(days=self.rng.randint(0, (b - a).days))

    def moment(self, d: dt.date, start: int = 9, end: int = 18) -> dt.datetime:
        """A time of day on ``d`` between ``start`` and ``end`` o'clock."""
        minute = self.rng.randint(start * 60, end * 60 - 1)
        return dt.datetime.combine(d, dt.time(minute // 60, minute % 60))

    def seconds(self, t: dt.datetime) -> dt.datetime:
        return t.replace(second=self.rng.randint(0, 59))

    def yuan(self, low: float = 2e4, high: float = 3e6) -> int:
        """An amount in 元, log-uniform, rounded to 100 元."""
        v = math.exp(self.rng.uniform(math.log(low), math.log(high)))
        return int(round(v / 100) * 100)

    def code(self, k: int, alphabet: str = string.ascii_letters + string.digits) -> str:
        return "".join(self.rng.choices(alphabet, k=k))

    def pick(self, weighted: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
        """One tuple of ``weighted``, whose last item is its weight."""
        return self.rng.choices(weighted, weights=[w[-1] for w in weighted])[0]

    def maybe(self, p: float) -> bool:
        return self.rng.random() < p


@dataclass
class Deal:
    """An opportunity's dates: created, expected close, and closed (won or lost)."""

    created: dt.date
    close: dt.date
    closed: dt.date | None


def deal_dates(fake: Faker, kind: str) -> Deal:
    """Created in the first half of 2024; a won or lost deal closed by :data:`TODAY`."""
    created = fake.day(START, dt.date(2024, 6, 10))
    if kind == "open":
        return Deal(created, created + dt.timedelta(days=fake.rng.randint(20, 150)), None)
    closed = min(created + dt.timedelta(days=fake.rng.randint(7, 120)), TODAY)
    return Deal(created, closed, closed)


def _path(folder: Path, profile: str, table: str, fmt: str) -> Path:
    ext = "xlsx" if fmt == "xlsx" else "csv"
    return Path(folder) / f"{profile}_{table}.{ext}"


def _export(folder: Path, profile: str, table: str, fmt: str, headers: list[str],
            rows: list[list[Any]], expected: list[Row], **kw: Any) -> Export:
    path = _path(folder, profile, table, fmt)
    header_row = write_table(path, headers, rows, fmt, **kw)
    return Export(path, profile, table, headers, expected, fmt, header_row)


def _contact_name(fake: Faker) -> tuple[str, str, str]:
    """First name, last name and the contact's full name, the three ways a Chinese team
    fills a western CRM's name fields: pinyin First/Last, characters First/Last, or the
    whole name in Last Name."""
    p = fake.person()
    how = fake.rng.random()
    if how < 0.3:
        return p.first, p.last, f"{p.first} {p.last}"
    if how < 0.7:
        return p.given, p.surname, p.zh
    return "", p.zh, p.zh


# -- Salesforce --------------------------------------------------------------------------

SF_STAGES = (  # label, team stage, kind, default probability, weight
    ("Prospecting", "潜在客户识别", "open", 10, 2), ("Qualification", "初步接触", "open", 10, 3),
    ("Needs Analysis", "需求分析", "open", 20, 3), ("Value Proposition", "方案提交", "open", 50, 2),
    ("Id. Decision Makers", "方案提交", "open", 60, 1),
    ("Perception Analysis", "方案提交", "open", 70, 1),
    ("Proposal/Price Quote", "报价与谈判", "open", 75, 2),
    ("Negotiation/Review", "报价与谈判", "open", 90, 2),
    ("Closed Won", "签约成交", "won", 100, 4), ("Closed Lost", "输单", "lost", 0, 3))
SF_INDUSTRIES = (  # label, expected, weight
    ("Manufacturing", "制造业", 4), ("Machinery", "制造业", 2), ("Electronics", "制造业", 2),
    ("Retail", "零售", 2), ("Banking", "金融", 1), ("Finance", "金融", 1),
    ("Insurance", "金融", 1), ("Healthcare", "医疗", 2), ("Biotechnology", "医疗", 1),
    ("Education", "教育", 1), ("Transportation", "物流", 1), ("Energy", "能源", 1),
    ("Technology", "Technology", 2), ("Consulting", "Consulting", 1), ("", None, 2))
SF_SOURCES = (("Web", "线上官网", 4), ("Phone Inquiry", "电话营销", 2),
              ("Partner Referral", "老客户推荐", 2), ("Employee Referral", "老客户推荐", 1),
              ("Trade Show", "展会推广", 2), ("Purchased List", "电话营销", 1),
              ("Advertisement", "其他", 1), ("Other", "其他", 1))
SF_ID_PREFIX = {"account": "0015g00000", "lead": "00Q5g00000", "opportunity": "0065g00000"}


def _sf_id(fake: Faker, kind: str) -> str:
    """A 15-character record ID as reports show it."""
    return SF_ID_PREFIX[kind] + fake.code(5)


def _sf_footer(fake: Faker, by: Person) -> list[str]:
    stamp = mdy_time(fake.moment(TODAY))
    return ["Copyright (c) 2000-2024 salesforce.com, inc. All rights reserved.",
            "Confidential Information - Do Not Distribute",
            f"Generated By:  {by.western}  {stamp}", "上海恒信科技有限公司"]


def salesforce_customers(folder: Path, n: int = 40, seed: int = 0, fmt: str = "csv",
                         footer: bool = True) -> Export:
    """An Accounts report; by default as Classic's "Export Details" writes it, quoting
    every field and ending with the copyright footer."""
    fake = Faker(seed)
    reps = fake.people(5)
    headers = ["Account Owner", "Account Name", "Account ID", "Type", "Industry", "Rating",
               "Phone", "Billing City", "Billing State/Province", "Created Date",
               "Last Activity", "Annual Revenue", "Website"]
    types = (("Prospect", "潜在客户", 5), ("Customer - Direct", "成交客户", 4),
             ("Customer - Channel", "成交客户", 2))
    ratings = (("Hot", "A", 2), ("Warm", "B", 3), ("Cold", "C", 2), ("", None, 2))
    rows, expected = [], []
    for _ in range(n):
        owner, name, cid = fake.rng.choice(reps).western, fake.company(), _sf_id(fake, "account")
        typ, stage, _ = fake.pick(types)
        industry, industry_x, _ = fake.pick(SF_INDUSTRIES)
        rating, tier, _ = fake.pick(ratings)
        phone, city = fake.phone(), fake.rng.choice(_CITIES)
        created = fake.day(dt.date(2022, 1, 1), TODAY)
        last = fake.day(created, TODAY) if fake.maybe(0.7) else None
        revenue = f"CNY {fake.yuan(1e6, 5e8):,.2f}" if fake.maybe(0.5) else ""
        rows.append([owner, name, cid, typ, industry, rating, phone, city, city,
                     mdy(created), mdy(last) if last else "", revenue,
                     f"www.{fake.code(6, string.ascii_lowercase)}.com.cn"])
        expected.append({"customer_id": cid, "name": name, "owner": owner, "phone": phone,
                         "industry": industry_x, "stage": stage, "tier": tier, "city": city,
                         "created_on": created, "last_contact": last})
    tail = _sf_footer(fake, reps[0]) if footer else []
    return _export(folder, "salesforce", "customers", fmt, headers, rows, expected,
                   footer=tail, quote_all=True)


def salesforce_leads(folder: Path, n: int = 40, seed: int = 0, fmt: str = "csv-bom"
                     ) -> Export:
    """A Leads report: First Name/Last Name, Company / Account, Rating Hot/Warm/Cold,
    dates M/D/YYYY; "CSV UTF-8" as Excel saves it (with a BOM)."""
    fake = Faker(seed + 1)
    reps = fake.people(5)
    headers = ["Lead ID", "First Name", "Last Name", "Title", "Company / Account", "Phone",
               "Email", "Lead Source", "Lead Status", "Lead Owner", "Create Date", "Rating",
               "Industry", "City"]
    statuses = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted",
                "Closed - Not Converted")
    ratings = (("Hot", "高", 2), ("Warm", "中", 3), ("Cold", "低", 2))
    rows, expected = [], []
    for _ in range(n):
        lid, company = _sf_id(fake, "lead"), fake.company()
        first, last, contact = _contact_name(fake)
        title, phone = fake.rng.choice(_TITLES), fake.mobile()
        source, source_x, _ = fake.pick(SF_SOURCES)
        status, owner = fake.rng.choice(statuses), fake.rng.choice(reps).western
        created = fake.day()
        rating, priority, _ = fake.pick(ratings)
        industry, industry_x, _ = fake.pick(SF_INDUSTRIES)
        rows.append([lid, first, last, title, company, phone,
                     f"{fake.code(6, string.ascii_lowercase)}@example.cn", source, status, owner,
                     mdy(created), rating, industry, fake.rng.choice(_CITIES)])
        expected.append({"lead_id": lid, "company": company, "contact": contact,
                         "title": title, "phone": phone, "industry": industry_x,
                         "source": source_x, "priority": priority, "assignee": owner,
                         "created_at": dt.datetime.combine(created, dt.time()),
                         "status": status})
    return _export(folder, "salesforce", "leads", fmt, headers, rows, expected)


def salesforce_opportunities(folder: Path, n: int = 40, seed: int = 0, fmt: str = "csv-bom"
                             ) -> Export:
    """An Opportunities report with the default columns and the Opportunity ID, amounts
    as a multi-currency org writes them ("CNY 12,500.00")."""
    fake = Faker(seed + 2)
    reps = fake.people(6)
    headers = ["Opportunity Owner", "Account Name", "Opportunity Name", "Opportunity ID",
               "Stage", "Fiscal Period", "Amount", "Probability (%)", "Age", "Close Date",
               "Created Date", "Next Step", "Lead Source", "Type"]
    rows, expected = [], []
    for _ in range(n):
        owner, customer = fake.rng.choice(reps).western, fake.company()
        name = f"{customer[2:6]}-{fake.rng.choice(_PRODUCTS)}"
        oid = _sf_id(fake, "opportunity")
        label, stage, kind, prob, _ = fake.pick(SF_STAGES)
        d = deal_dates(fake, kind)
        yuan = fake.yuan()
        age = ((d.closed or TODAY) - d.created).days
        rows.append([owner, customer, name, oid, label,
                     f"Q{(d.close.month - 1) // 3 + 1}-{d.close.year}", f"CNY {yuan:,.2f}",
                     f"{prob}%", age, mdy(d.close), mdy(d.created),
                     "约技术交流" if fake.maybe(0.4) else "", fake.pick(SF_SOURCES)[0],
                     fake.rng.choice(("New Customer", "Existing Customer - Upgrade"))])
        expected.append({"opp_id": oid, "name": name, "customer": customer, "owner": owner,
                         "stage": stage, "amount": wan(yuan), "expected_close": d.close,
                         "created_on": d.created, "closed_on": d.closed,
                         "stage_entered": d.closed or d.created})
    return _export(folder, "salesforce", "opportunities", fmt, headers, rows, expected)


SF_PATH = ("潜在客户识别", "初步接触", "需求分析", "方案提交", "报价与谈判")


def salesforce_stage_history(folder: Path, n: int = 15, seed: int = 0, fmt: str = "csv"
                             ) -> Export:
    """An Opportunity History report for ``n`` opportunities (one row per change, the
    first with no From Stage), Last Modified Date as "3/5/2024 2:07 PM"."""
    fake = Faker(seed + 3)
    reps = fake.people(5)
    headers = ["Opportunity Owner", "Opportunity Name", "Opportunity ID", "Account Name",
               "From Stage", "To Stage", "Amount", "Probability (%)", "Close Date",
               "Last Modified By", "Last Modified Date"]
    labels: dict[str, list[tuple[str, int]]] = {}
    for label, stage, _, prob, _ in SF_STAGES:
        labels.setdefault(stage, []).append((label, prob))
    rows, expected = [], []
    for _ in range(n):
        owner, customer = fake.rng.choice(reps), fake.company()
        name, oid = f"{customer[2:6]}-{fake.rng.choice(_PRODUCTS)}", _sf_id(fake, "opportunity")
        path = list(SF_PATH[: fake.rng.randint(1, len(SF_PATH))])
        if fake.maybe(0.5):
            path.append(fake.rng.choice(("签约成交", "输单")))
        day = fake.day(START, dt.date(2024, 3, 1))
        close = day + dt.timedelta(days=90)
        yuan = fake.yuan()
        previous: tuple[str, str] | None = None
        for stage in path:
            label, prob = fake.rng.choice(labels[stage])
            when = fake.moment(day)
            editor = owner if fake.maybe(0.85) else fake.rng.choice(reps)
            rows.append([owner.western, name, oid, customer, previous[0] if previous else "",
                         label, f"{yuan:.2f}", prob, mdy(close), editor.western,
                         mdy_time(when)])
            expected.append({"opp_id": oid, "customer": customer,
                             "from_stage": previous[1] if previous else None,
                             "to_stage": stage, "date": day, "owner": owner.western})
            previous = (label, stage)
            day = min(day + dt.timedelta(days=fake.rng.randint(3, 25)), TODAY)
    return _export(folder, "salesforce", "stage_history", fmt, headers, rows, expected)


def salesforce_follow_ups(folder: Path, n: int = 40, seed: int = 0, fmt: str = "csv"
                          ) -> Export:
    """A Tasks and Events report: Comments are often blank and the Subject is then all
    that was written."""
    fake = Faker(seed + 4)
    reps = fake.people(5)
    customers = [fake.company() for _ in range(max(3, n // 3))]
    headers = ["Assigned", "Subject", "Date", "Company / Account", "Contact", "Status",
               "Priority", "Type", "Comments"]
    kinds = (("Call", "电话", "Call", 4), ("Email", "邮件", "Email", 2),
             ("Meeting", "会议", "Meeting", 2), ("Other", "Other", "Follow-up", 1))
    rows, expected = [], []
    for _ in range(n):
        owner, customer = fake.rng.choice(reps).western, fake.rng.choice(customers)
        typ, kind, subject, _ = fake.pick(kinds)
        comments = fake.rng.choice(_CONTENT) if fake.maybe(0.7) else ""
        when = fake.day()
        rows.append([owner, subject, mdy(when), customer, fake.person().zh, "Completed",
                     fake.rng.choice(("Normal", "High")), typ, comments])
        expected.append({"date": when, "customer": customer, "owner": owner,
                         "contact_kind": kind, "content": comments or subject})
    return _export(folder, "salesforce", "follow_ups", fmt, headers, rows, expected)


# -- HubSpot -----------------------------------------------------------------------------

HS_STAGES = (  # label, internal value, team stage, kind, weight
    ("Appointment Scheduled", "appointmentscheduled", "初步接触", "open", 3),
    ("Qualified To Buy", "qualifiedtobuy", "需求分析", "open", 3),
    ("Presentation Scheduled", "presentationscheduled", "方案提交", "open", 2),
    ("Decision Maker Bought-In", "decisionmakerboughtin", "报价与谈判", "open", 2),
    ("Contract Sent", "contractsent", "报价与谈判", "open", 1),
    ("Closed Won", "closedwon", "签约成交", "won", 4),
    ("Closed Lost", "closedlost", "输单", "lost", 3))
HS_LIFECYCLE = (("Lead", "潜在客户", 3), ("Marketing Qualified Lead", "潜在客户", 1),
                ("Sales Qualified Lead", "意向客户", 2), ("Opportunity", "意向客户", 2),
                ("Customer", "成交客户", 3), ("Evangelist", "成交客户", 1))
HS_INDUSTRIES = (("Machinery", "制造业", 3), ("Electrical/Electronic Manufacturing", "制造业", 2),
                 ("Financial Services", "金融", 1), ("Hospital & Health Care", "医疗", 1),
                 ("Logistics and Supply Chain", "物流", 1), ("Retail", "零售", 1),
                 ("Internet", "互联网", 1), ("Computer Software", "Computer Software", 2),
                 ("", None, 2))
HS_SOURCES = (("Organic Search", "线上官网", 3), ("Paid Search", "线上官网", 2),
              ("Direct Traffic", "线上官网", 2), ("Referrals", "线上官网", 1),
              ("Organic Social", "社交媒体", 1), ("Paid Social", "社交媒体", 1),
              ("Email Marketing", "其他", 1), ("Offline Sources", "其他", 3))


def _hs_id(fake: Faker) -> int:
    return fake.rng.randint(10_000_000_000, 19_999_999_999)


def hubspot_customers(folder: Path, n: int = 40, seed: int = 0, fmt: str = "csv") -> Export:
    """A Companies export: Lifecycle Stage labels, times "2024-03-15 10:20"."""
    fake = Faker(seed + 10)
    reps = fake.people(5)
    headers = ["Record ID", "Company name", "Company owner", "Create Date", "Phone Number",
               "Last Activity Date", "City", "Country/Region", "Industry", "Lifecycle Stage",
               "Company Domain Name", "Type", "Number of Employees", "Annual Revenue"]
    rows, expected = [], []
    for _ in range(n):
        rid, name, owner = _hs_id(fake), fake.company(), fake.rng.choice(reps).western
        created = fake.moment(fake.day(dt.date(2023, 1, 1), TODAY))
        last = fake.moment(fake.day(created.date(), TODAY)) if fake.maybe(0.7) else None
        phone, city = fake.phone(), fake.rng.choice(_CITIES)
        industry, industry_x, _ = fake.pick(HS_INDUSTRIES)
        life, stage, _ = fake.pick(HS_LIFECYCLE)
        rows.append([rid, name, owner, iso_min(created), phone, iso_min(last) if last else "",
                     city, "China", industry, life, f"{fake.code(7, string.ascii_lowercase)}.cn",
                     fake.rng.choice(("Prospect", "Partner", "")), fake.rng.randint(20, 5000),
                     fake.yuan(1e6, 1e8)])
        expected.append({"customer_id": str(rid), "name": name, "owner": owner,
                         "phone": phone, "industry": industry_x, "stage": stage, "city": city,
                         "created_on": created.date(),
                         "last_contact": last.date() if last else None})
    return _export(folder, "hubspot", "customers", fmt, headers, rows, expected)


def hubspot_leads(folder: Path, n: int = 40, seed: int = 0, fmt: str = "csv") -> Export:
    """A Contacts export (no priority: every lead is expected at 中)."""
    fake = Faker(seed + 11)
    reps = fake.people(5)
    headers = ["Record ID", "First Name", "Last Name", "Email", "Phone Number",
               "Contact owner", "Lead Status", "Lifecycle Stage", "Create Date",
               "Company Name", "Job Title", "Original Source", "Last Activity Date",
               "Marketing contact status"]
    statuses = ("New", "Open", "In Progress", "Open Deal", "Unqualified",
                "Attempted to Contact", "Connected", "Bad Timing")
    rows, expected = [], []
    for _ in range(n):
        rid, company = _hs_id(fake), fake.company()
        first, last, contact = _contact_name(fake)
        phone, owner = fake.mobile(), fake.rng.choice(reps).western
        status, created = fake.rng.choice(statuses), fake.moment(fake.day())
        title = fake.rng.choice(_TITLES)
        source, source_x, _ = fake.pick(HS_SOURCES)
        rows.append([rid, first, last, f"{fake.code(6, string.ascii_lowercase)}@example.cn",
                     phone, owner, status, "Lead", iso_min(created), company, title, source,
                     "", fake.rng.choice(("Marketing contact", "Non-marketing contact"))])
        expected.append({"lead_id": str(rid), "company": company, "contact": contact,
                         "title": title, "phone": phone, "source": source_x,
                         "priority": "中", "assignee": owner, "created_at": created,
                         "status": status})
    return _export(folder, "hubspot", "leads", fmt, headers, rows, expected)


def hubspot_opportunities(folder: Path, n: int = 40, seed: int = 0, fmt: str = "xlsx"
                          ) -> Export:
    """A Deals export in XLSX (HubSpot's default): IDs and amounts as numbers, dates as
    date cells, a tenth of the stages as internal values (an export made through the
    API)."""
    fake = Faker(seed + 12)
    reps = fake.people(6)
    headers = ["Record ID", "Deal Name", "Deal Stage", "Close Date", "Deal owner", "Amount",
               "Create Date", "Pipeline", "Deal Type", "Associated Company",
               "Last Activity Date", "Closed Lost Reason", "Forecast category"]
    rows, expected = [], []
    for _ in range(n):
        rid, customer, owner = _hs_id(fake), fake.company(), fake.rng.choice(reps).western
        name = f"{customer[2:6]} {fake.rng.choice(_PRODUCTS)}"
        label, internal, stage, kind, _ = fake.pick(HS_STAGES)
        d = deal_dates(fake, kind)
        created = fake.moment(d.created)
        close = fake.moment(d.close, 0, 24)
        yuan = fake.yuan()
        reason = fake.rng.choice(_LOST) if kind == "lost" else None
        rows.append([rid, name, internal if fake.maybe(0.1) else label, close, owner, yuan,
                     created, "Sales Pipeline",
                     fake.rng.choice(("New Business", "Existing Business")), customer,
                     None, reason, {"won": "Closed won", "lost": "Not forecasted"}.get(
                         kind, "Pipeline")])
        expected.append({"opp_id": str(rid), "name": name, "customer": customer,
                         "owner": owner, "stage": stage, "amount": wan(yuan),
                         "expected_close": d.close, "created_on": d.created,
                         "lost_reason": reason, "closed_on": d.closed,
                         "stage_entered": d.closed or d.created})
    return _export(folder, "hubspot", "opportunities", fmt, headers, rows, expected,
                   sheet="All deals")


# -- Zoho CRM ----------------------------------------------------------------------------

ZOHO_STAGES = (  # label, team stage, kind, probability, weight
    ("Qualification", "初步接触", "open", 10, 3), ("Needs Analysis", "需求分析", "open", 20, 3),
    ("Value Proposition", "方案提交", "open", 40, 2),
    ("Identify Decision Makers", "方案提交", "open", 60, 1),
    ("Proposal/Price Quote", "报价与谈判", "open", 75, 2),
    ("Negotiation/Review", "报价与谈判", "open", 90, 2),
    ("Closed Won", "签约成交", "won", 100, 4), ("Closed Lost", "输单", "lost", 0, 2),
    ("Closed-Lost to Competition", "输单", "lost", 0, 1))
ZOHO_SOURCES = (("Cold Call", "电话营销", 2), ("Employee Referral", "老客户推荐", 1),
                ("External Referral", "老客户推荐", 1), ("Trade Show", "展会推广", 2),
                ("Web Download", "线上官网", 1), ("Web Research", "线上官网", 2),
                ("Advertisement", "其他", 1), ("Chat", "线上官网", 1), ("", None, 1))


def _zoho_id(fake: Faker) -> str:
    return f"zcrm_4150868{fake.rng.randint(0, 10**12 - 1):012d}"


def zoho_customers(folder: Path, n: int = 40, seed: int = 0, fmt: str = "csv") -> Export:
    """An Accounts export: zcrm_ record IDs, Account Type, ISO date-times with seconds."""
    fake = Faker(seed + 20)
    reps = fake.people(5)
    headers = ["Record Id", "Account Owner", "Account Name", "Phone", "Website",
               "Account Type", "Industry", "Annual Revenue", "Created Time", "Modified Time",
               "Billing City", "Billing Country", "Last Activity Time", "Description"]
    types = (("Customer", "成交客户", 3), ("Prospect", "潜在客户", 4))
    industries = ("Large Enterprise", "Small/Medium Enterprise", "Service Provider",
                  "Systems Integrator", "")
    rows, expected = [], []
    for _ in range(n):
        rid, owner, name = _zoho_id(fake), fake.rng.choice(reps).western, fake.company()
        phone, city = fake.phone(), fake.rng.choice(_CITIES)
        typ, stage, _ = fake.pick(types)
        industry = fake.rng.choice(industries)
        created = fake.seconds(fake.moment(fake.day(dt.date(2023, 1, 1), TODAY)))
        last = fake.seconds(fake.moment(fake.day(created.date(), TODAY))) \
            if fake.maybe(0.6) else None
        rows.append([rid, owner, name, phone, "", typ, industry, fake.yuan(1e6, 1e8),
                     iso_sec(created), iso_sec(last or created), city, "China",
                     iso_sec(last) if last else "", ""])
        expected.append({"customer_id": rid, "name": name, "owner": owner, "phone": phone,
                         "industry": industry or None, "stage": stage, "city": city,
                         "created_on": created.date(),
                         "last_contact": last.date() if last else None})
    return _export(folder, "zoho", "customers", fmt, headers, rows, expected)


def zoho_leads(folder: Path, n: int = 40, seed: int = 0, fmt: str = "csv") -> Export:
    """A Leads export: Designation for the title, Phone or Mobile (the first filled one is
    the phone), no priority (expected at 中)."""
    fake = Faker(seed + 21)
    reps = fake.people(5)
    headers = ["Record Id", "Lead Owner", "Company", "First Name", "Last Name", "Designation",
               "Email", "Phone", "Mobile", "Lead Source", "Lead Status", "Industry",
               "Created Time", "Modified Time", "Description"]
    statuses = ("Attempted to Contact", "Contact in Future", "Contacted", "Junk Lead",
                "Not Contacted", "Pre-Qualified", "Not Qualified")
    rows, expected = [], []
    for _ in range(n):
        rid, owner, company = _zoho_id(fake), fake.rng.choice(reps).western, fake.company()
        first, last, contact = _contact_name(fake)
        title = fake.rng.choice(_TITLES)
        phone = fake.landline() if fake.maybe(0.5) else ""
        mobile = fake.mobile() if not phone or fake.maybe(0.5) else ""
        source, source_x, _ = fake.pick(ZOHO_SOURCES)
        status = fake.rng.choice(statuses)
        created = fake.seconds(fake.moment(fake.day()))
        needs = fake.rng.choice(_NEEDS) if fake.maybe(0.6) else ""
        industry = fake.rng.choice(("Large Enterprise", "Small/Medium Enterprise", ""))
        rows.append([rid, owner, company, first, last, title, "", phone, mobile, source,
                     status, industry, iso_sec(created), iso_sec(created), needs])
        expected.append({"lead_id": rid, "company": company, "contact": contact,
                         "title": title, "phone": phone or mobile, "source": source_x,
                         "industry": industry or None,
                         "priority": "中", "assignee": owner, "created_at": created,
                         "status": status, "needs": needs or None})
    return _export(folder, "zoho", "leads", fmt, headers, rows, expected)


def zoho_opportunities(folder: Path, n: int = 40, seed: int = 0, fmt: str = "csv"
                       ) -> Export:
    """A Deals export: plain amounts, Closing Date ISO, Reason For Loss on lost deals."""
    fake = Faker(seed + 22)
    reps = fake.people(6)
    headers = ["Record Id", "Deal Owner", "Deal Name", "Amount", "Closing Date",
               "Account Name", "Stage", "Type", "Probability (%)", "Expected Revenue",
               "Lead Source", "Contact Name", "Created Time", "Modified Time",
               "Reason For Loss", "Next Step"]
    rows, expected = [], []
    for _ in range(n):
        rid, owner, customer = _zoho_id(fake), fake.rng.choice(reps).western, fake.company()
        name = f"{customer[2:6]}-{fake.rng.choice(_PRODUCTS)}"
        label, stage, kind, prob, _ = fake.pick(ZOHO_STAGES)
        d = deal_dates(fake, kind)
        created = fake.seconds(fake.moment(d.created))
        yuan = fake.yuan()
        reason = fake.rng.choice(_LOST) if kind == "lost" else None
        rows.append([rid, owner, name, yuan, iso(d.close), customer, label,
                     fake.rng.choice(("New Business", "Existing Business", "")), prob,
                     round(yuan * prob / 100), fake.pick(ZOHO_SOURCES)[0], fake.person().zh,
                     iso_sec(created), iso_sec(created), reason or "", ""])
        expected.append({"opp_id": rid, "name": name, "customer": customer, "owner": owner,
                         "stage": stage, "amount": wan(yuan), "expected_close": d.close,
                         "created_on": d.created, "lost_reason": reason,
                         "closed_on": d.closed, "stage_entered": d.closed or d.created})
    return _export(folder, "zoho", "opportunities", fmt, headers, rows, expected)


# -- Pipedrive ---------------------------------------------------------------------------

PD_STAGES = (  # label, team stage, weight
    ("Qualified", "潜在客户识别", 2), ("Contact Made", "初步接触", 3),
    ("Demo Scheduled", "需求分析", 2), ("Needs Defined", "需求分析", 1),
    ("Proposal Made", "方案提交", 2), ("Negotiations Started", "报价与谈判", 2))


def pipedrive_opportunities(folder: Path, n: int = 40, seed: int = 0, fmt: str = "csv"
                            ) -> Export:
    """A Deals export: the stage is where the deal stood in the pipeline, Deal - Status
    (Open/Won/Lost) says whether it was won or lost, Won time/Lost time when."""
    fake = Faker(seed + 30)
    reps = fake.people(6)
    headers = ["Deal - ID", "Deal - Title", "Deal - Creator", "Deal - Owner", "Deal - Value",
               "Deal - Currency", "Deal - Weighted value", "Deal - Probability",
               "Deal - Organization", "Deal - Pipeline", "Deal - Contact person",
               "Deal - Stage", "Deal - Label", "Deal - Status", "Deal - Deal created",
               "Deal - Update time", "Deal - Last stage change", "Deal - Next activity date",
               "Deal - Expected close date", "Deal - Won time", "Deal - Lost time",
               "Deal - Lost reason"]
    statuses = (("Open", "open", 4), ("Won", "won", 3), ("Lost", "lost", 2))
    rows, expected = [], []
    for i in range(n):
        owner, customer = fake.rng.choice(reps).western, fake.company()
        title = f"{customer[2:6]} deal"
        label, stage, _ = fake.pick(PD_STAGES)
        status, kind, _ = fake.pick(statuses)
        d = deal_dates(fake, kind)
        created = fake.seconds(fake.moment(d.created))
        moved = None
        if fake.maybe(0.8):
            moved = fake.seconds(fake.moment(fake.day(d.created, d.closed or TODAY)))
            moved = max(moved, created)
        closed = fake.seconds(fake.moment(d.closed)) if d.closed else None
        closed = max(closed, created) if closed else None
        yuan = fake.yuan()
        reason = fake.rng.choice(_LOST) if kind == "lost" else ""
        rows.append([1000 + i, title, owner, owner, yuan, "CNY", "", "",
                     customer, "Pipeline", fake.person().zh, label, "", status,
                     iso_sec(created), iso_sec(closed or moved or created),
                     iso_sec(moved) if moved else "", "", iso(d.close),
                     iso_sec(closed) if kind == "won" and closed else "",
                     iso_sec(closed) if kind == "lost" and closed else "", reason])
        x_stage = {"won": "签约成交", "lost": "输单"}.get(kind, stage)
        entered = closed.date() if closed else (moved or created).date()
        expected.append({"opp_id": str(1000 + i), "name": title, "customer": customer,
                         "owner": owner, "stage": x_stage, "amount": wan(yuan),
                         "expected_close": d.close, "created_on": created.date(),
                         "stage_entered": entered,
                         "closed_on": closed.date() if closed else None,
                         "lost_reason": reason or None})
    return _export(folder, "pipedrive", "opportunities", fmt, headers, rows, expected)


def pipedrive_customers(folder: Path, n: int = 40, seed: int = 0, fmt: str = "csv"
                        ) -> Export:
    """An Organizations export: the default labels (Customer, Hot/Warm/Cold lead)."""
    fake = Faker(seed + 31)
    reps = fake.people(5)
    headers = ["Organization - ID", "Organization - Name", "Organization - Owner",
               "Organization - Label", "Organization - Address", "Organization - People",
               "Organization - Open deals", "Organization - Won deals",
               "Organization - Lost deals", "Organization - Organization created",
               "Organization - Update time", "Organization - Last activity date",
               "Organization - Next activity date", "Organization - Visible to"]
    labels = (("Customer", "成交客户", 3), ("Hot lead", "意向客户", 2),
              ("Warm lead", "意向客户", 2), ("Cold lead", "潜在客户", 2))
    rows, expected = [], []
    for i in range(n):
        name, owner = fake.company(), fake.rng.choice(reps).western
        label, stage, _ = fake.pick(labels)
        created = fake.seconds(fake.moment(fake.day(dt.date(2023, 1, 1), TODAY)))
        last = fake.day(created.date(), TODAY) if fake.maybe(0.7) else None
        nxt = TODAY + dt.timedelta(days=fake.rng.randint(1, 30)) if fake.maybe(0.5) else None
        city = fake.rng.choice(_CITIES)
        rows.append([200 + i, name, owner, label, f"{city}市某区某路{fake.rng.randint(1, 999)}号",
                     fake.rng.randint(1, 5), fake.rng.randint(0, 3), fake.rng.randint(0, 3),
                     fake.rng.randint(0, 2), iso_sec(created), iso_sec(created),
                     iso(last) if last else "", iso(nxt) if nxt else "",
                     "Owner's visibility group"])
        expected.append({"customer_id": str(200 + i), "name": name, "owner": owner,
                         "stage": stage, "created_on": created.date(), "last_contact": last,
                         "next_follow_up": nxt})
    return _export(folder, "pipedrive", "customers", fmt, headers, rows, expected)


def pipedrive_leads(folder: Path, n: int = 40, seed: int = 0, fmt: str = "csv") -> Export:
    """A Leads Inbox export: UUID IDs, Hot/Warm/Cold labels, the lead's source."""
    fake = Faker(seed + 32)
    reps = fake.people(5)
    headers = ["Lead - ID", "Lead - Title", "Lead - Owner", "Lead - Labels", "Lead - Source",
               "Lead - Lead created", "Lead - Organization", "Lead - Person", "Lead - Value",
               "Lead - Expected close date", "Lead - Update time"]
    labels = (("Hot", "高", 2), ("Warm", "中", 3), ("Cold", "低", 2))
    sources = (("Web forms", "线上官网", 3), ("Chatbot", "线上官网", 1),
               ("Prospector", "电话营销", 2), ("Manually created", "其他", 3),
               ("Import", "其他", 1))
    rows, expected = [], []
    for _ in range(n):
        lid = "-".join(fake.code(k, "0123456789abcdef") for k in (8, 4, 4, 4, 12))
        company, contact = fake.company(), fake.person().zh
        owner, needs = fake.rng.choice(reps).western, fake.rng.choice(_NEEDS)
        label, priority, _ = fake.pick(labels)
        source, source_x, _ = fake.pick(sources)
        created = fake.seconds(fake.moment(fake.day()))
        rows.append([lid, needs, owner, label, source, iso_sec(created), company, contact,
                     "", "", iso_sec(created)])
        expected.append({"lead_id": lid, "needs": needs, "company": company,
                         "contact": contact, "assignee": owner, "priority": priority,
                         "source": source_x, "created_at": created})
    return _export(folder, "pipedrive", "leads", fmt, headers, rows, expected)


def pipedrive_follow_ups(folder: Path, n: int = 40, seed: int = 0, fmt: str = "csv"
                         ) -> Export:
    """An Activities export of done activities: the Note when written, else the
    Subject, is the content."""
    fake = Faker(seed + 33)
    reps = fake.people(5)
    customers = [fake.company() for _ in range(max(3, n // 3))]
    headers = ["Activity - ID", "Activity - Subject", "Activity - Type", "Activity - Due date",
               "Activity - Due time", "Activity - Duration", "Activity - Done",
               "Activity - Organization", "Activity - Contact person", "Activity - Deal",
               "Activity - Assigned to user", "Activity - Note",
               "Activity - Marked as done time"]
    kinds = (("Call", "电话", 4), ("Meeting", "会议", 2), ("Email", "邮件", 2),
             ("Lunch", "拜访", 1), ("Task", "Task", 1))
    rows, expected = [], []
    for i in range(n):
        typ, kind, _ = fake.pick(kinds)
        subject = {"Call": "电话跟进", "Meeting": "方案讨论会", "Email": "发送报价",
                   "Lunch": "午餐拜访", "Task": "准备合同"}[typ]
        note = fake.rng.choice(_CONTENT) if fake.maybe(0.7) else ""
        when = fake.moment(fake.day())
        customer, owner = fake.rng.choice(customers), fake.rng.choice(reps).western
        rows.append([5000 + i, subject, typ, iso(when.date()), when.strftime("%H:%M"),
                     "00:30", "Done", customer, fake.person().zh, "", owner, note,
                     iso_sec(fake.seconds(when))])
        expected.append({"date": when.date(), "customer": customer, "owner": owner,
                         "contact_kind": kind, "content": note or subject})
    return _export(folder, "pipedrive", "follow_ups", fmt, headers, rows, expected)


# -- 纷享销客 ------------------------------------------------------------------------------

FX_STAGES = (  # label, team stage, kind, win rate, weight
    ("验证客户", "初步接触", "open", "10%", 3), ("需求确定", "需求分析", "open", "30%", 3),
    ("方案/报价", "方案提交", "open", "60%", 2), ("谈判审核", "报价与谈判", "open", "80%", 2),
    ("赢单", "签约成交", "won", "100%", 3), ("输单", "输单", "lost", "0%", 2),
    ("无效", "输单", "lost", "0%", 1))
FX_TIERS = (("重要客户", "A", 2), ("普通客户", "B", 3), ("非优先客户", "C", 2),
            ("A类客户", "A", 1), ("", None, 1))
FX_SOURCES = (("展会", "展会推广", 2), ("网络推广", "线上官网", 2), ("客户介绍", "老客户推荐", 2),
              ("电话销售", "电话营销", 2), ("广告", "其他", 1), ("", None, 1))
FX_INDUSTRIES = (("装备制造", "制造业", 3), ("电子制造", "制造业", 1), ("金融业", "金融", 1),
                 ("医疗健康", "医疗", 1), ("教育培训", "教育", 1), ("物流运输", "物流", 1),
                 ("批发零售", "零售", 1), ("能源电力", "能源", 1), ("制造业", "制造业", 1),
                 ("专业服务", "专业服务", 1))
FX_DEPTS = ("华东销售部", "华南销售部", "华北销售部")


def fxiaoke_customers(folder: Path, n: int = 40, seed: int = 0, fmt: str = "xlsx") -> Export:
    """A 客户 list export: 成交状态 (未成交/已成交/多次成交), 客户级别, times as text."""
    fake = Faker(seed + 40)
    reps = fake.people(5)
    headers = ["客户名称", "客户编号", "负责人", "负责人主属部门", "客户级别", "客户来源", "行业",
               "电话", "详细地址", "成交状态", "创建时间", "最后跟进时间", "最后修改时间",
               "创建人", "生命状态"]
    deals = (("未成交", "潜在客户", 4), ("已成交", "成交客户", 3), ("多次成交", "成交客户", 1))
    rows, expected = [], []
    for i in range(n):
        name, owner = fake.company(), fake.rng.choice(reps).zh
        cid = f"KH{fake.day(dt.date(2023, 1, 1)):%Y%m%d}{i:04d}"
        tier, tier_x, _ = fake.pick(FX_TIERS)
        source, source_x, _ = fake.pick(FX_SOURCES)
        industry, industry_x, _ = fake.pick(FX_INDUSTRIES)
        phone = fake.phone()
        deal, stage, _ = fake.pick(deals)
        created = fake.moment(fake.day(dt.date(2023, 1, 1), TODAY))
        last = fake.moment(fake.day(created.date(), TODAY)) if fake.maybe(0.8) else None
        rows.append([name, cid, owner, fake.rng.choice(FX_DEPTS), tier, source, industry,
                     phone, f"{fake.rng.choice(_CITIES)}市某区某路{fake.rng.randint(1, 999)}号",
                     deal, iso_min(created), iso_min(last) if last else "",
                     iso_min(last or created), owner, "正常"])
        expected.append({"customer_id": cid, "name": name, "owner": owner, "tier": tier_x,
                         "source": source_x, "industry": industry_x, "phone": phone,
                         "stage": stage, "created_on": created.date(),
                         "last_contact": last.date() if last else None})
    return _export(folder, "fxiaoke", "customers", fmt, headers, rows, expected,
                   sheet="客户")


def fxiaoke_opportunities(folder: Path, n: int = 40, seed: int = 0, fmt: str = "xlsx"
                          ) -> Export:
    """A 商机 list export with a title row above the headers; 商机金额(元) as numbers or
    as text with thousands separators; no number column (no opp_id is expected)."""
    fake = Faker(seed + 41)
    reps = fake.people(6)
    headers = ["商机名称", "客户名称", "负责人", "销售阶段", "商机金额(元)", "预计成交日期", "赢率",
               "创建时间", "输单原因", "销售流程", "最后跟进时间", "负责人主属部门", "生命状态"]
    rows, expected = [], []
    for i in range(n):
        customer, owner = fake.company(), fake.rng.choice(reps).zh
        name = f"{customer[2:6]}{fake.rng.choice(_PRODUCTS)}项目{i + 1:03d}"
        label, stage, kind, rate, _ = fake.pick(FX_STAGES)
        d = deal_dates(fake, kind)
        created = fake.moment(d.created)
        yuan = fake.yuan()
        amount: Any = f"{yuan:,.2f}" if fake.maybe(0.5) else float(yuan)
        reason = fake.rng.choice(_LOST) if kind == "lost" else None
        rows.append([name, customer, owner, label, amount, iso(d.close), rate,
                     iso_min(created), reason or "", "默认销售流程", "",
                     fake.rng.choice(FX_DEPTS), "正常"])
        expected.append({"name": name, "customer": customer, "owner": owner,
                         "stage": stage, "amount": wan(yuan), "expected_close": d.close,
                         "created_on": d.created, "lost_reason": reason,
                         "closed_on": d.closed, "stage_entered": d.closed or d.created})
    return _export(folder, "fxiaoke", "opportunities", fmt, headers, rows, expected,
                   title=f"商机 导出数据({iso(TODAY)})", sheet="商机")


def fxiaoke_follow_ups(folder: Path, n: int = 40, seed: int = 0, fmt: str = "xlsx"
                       ) -> Export:
    """A 跟进记录 export: 跟进时间 as text with minutes, 跟进方式 in the CRM's words."""
    fake = Faker(seed + 42)
    reps = fake.people(5)
    customers = [fake.company() for _ in range(max(3, n // 3))]
    headers = ["跟进时间", "客户名称", "关联商机", "跟进人", "跟进方式", "跟进内容", "下次跟进时间",
               "所属部门", "定位地址", "创建时间"]
    kinds = (("电话沟通", "电话", 4), ("上门拜访", "拜访", 3), ("微信沟通", "微信", 2),
             ("邮件沟通", "邮件", 1), ("线上会议", "会议", 1))
    rows, expected = [], []
    for _ in range(n):
        when = fake.moment(fake.day())
        customer, owner = fake.rng.choice(customers), fake.rng.choice(reps).zh
        way, kind, _ = fake.pick(kinds)
        content = fake.rng.choice(_CONTENT)
        nxt = when.date() + dt.timedelta(days=fake.rng.randint(2, 14)) \
            if fake.maybe(0.6) else None
        rows.append([iso_min(when), customer,
                     f"{customer[2:6]}{fake.rng.choice(_PRODUCTS)}项目" if fake.maybe(0.5) else "",
                     owner, way, content, iso(nxt) if nxt else "", fake.rng.choice(FX_DEPTS),
                     "", iso_min(when)])
        expected.append({"date": when.date(), "customer": customer, "owner": owner,
                         "contact_kind": kind, "content": content, "next_date": nxt})
    return _export(folder, "fxiaoke", "follow_ups", fmt, headers, rows, expected,
                   sheet="跟进记录")


# -- 钉钉日志 ------------------------------------------------------------------------------

def working_days(a: dt.date, b: dt.date) -> list[dt.date]:
    """Monday to Friday from ``a`` to ``b`` (use a span without Chinese holidays)."""
    days, d = [], a
    while d <= b:
        if d.weekday() < 5:
            days.append(d)
        d += dt.timedelta(days=1)
    return days


def dingtalk_daily(folder: Path, n: int = 40, seed: int = 0, fmt: str = "xlsx") -> Export:
    """日志报表 export of the 日报 template with the team's own fields, a title row above
    the headers, 提交时间 as text; a report's date is the day it was submitted. Rows run
    over March 2024 (no holiday), every rep every working day, until ``n``."""
    fake = Faker(seed + 50)
    reps = fake.people(max(1, min(8, n // 5 or 1)))
    headers = ["日志模板", "提交人", "部门", "提交时间", "今日完成工作", "未完成工作",
               "需协调工作", "拜访客户数", "有效沟通客户数", "新客户数", "方案提交数",
               "成交金额(万元)", "明日计划", "备注", "接收人"]
    slots = [(d, r) for d in working_days(dt.date(2024, 3, 4), dt.date(2024, 3, 29))
             for r in reps]
    rows, expected = [], []
    for day, rep in slots[:n]:
        submitted = fake.moment(day, 17, 21)
        visits = fake.rng.randint(0, 8)
        effective = fake.rng.randint(0, visits)
        new, proposals = fake.rng.randint(0, min(3, visits)), fake.rng.randint(0, 2)
        signed = round(fake.rng.choice((0, 0, 0, 1.5, 3.2, 8, 12.6)), 1)
        cell_signed: Any = signed if fake.maybe(0.8) else (str(signed) if signed else "")
        problem = fake.rng.choice(("客户预算低于预期", "需技术支持配合演示", "", "", ""))
        plan = fake.rng.choice(("跟进客户C方案反馈,拜访2家新客户", "准备投标文件", "电话回访老客户",
                                "陪同主管拜访A类客户"))
        rows.append(["日报", rep.zh, fake.rng.choice(FX_DEPTS), iso_min(submitted),
                     fake.rng.choice(_CONTENT), "", problem, visits, effective, new, proposals,
                     cell_signed, plan, "", "王经理"])
        expected.append({"rep": rep.zh, "submitted_at": submitted, "date": day,
                         "visits": visits, "effective": effective, "new_customers": new,
                         "proposals": proposals,
                         "amount_signed": None if cell_signed == "" else float(signed),
                         "problems": problem or None, "next_plan": plan})
    return _export(folder, "dingtalk", "daily", fmt, headers, rows, expected,
                   title="日志报表-日报(2024-03-04~2024-03-29)", sheet="日报")


# -- Odoo and ERPNext ---------------------------------------------------------------------

ODOO_STAGES = (("New", "潜在客户识别", 3), ("Qualified", "需求分析", 3),
               ("Proposition", "方案提交", 2), ("Won", "签约成交", 3))
ODOO_LOST = ("Too expensive", "We don't have people/skills", "Not enough stock")


def odoo_opportunities(folder: Path, n: int = 40, seed: int = 0, fmt: str = "xlsx"
                       ) -> Export:
    """The CRM pipeline's export: date and date-time cells, Active as a boolean cell (a
    lost opportunity is archived, whatever its stage), Odoo's default lost reasons."""
    fake = Faker(seed + 80)
    reps = fake.people(5)
    headers = ["ID", "Opportunity", "Customer", "Email", "Salesperson", "Sales Team", "Stage",
               "Expected Revenue", "Probability", "Expected Closing", "Priority", "Tags",
               "Created on", "Last Stage Update", "Closed Date", "Active", "Lost Reason"]
    rows, expected = [], []
    for i in range(n):
        customer, owner = fake.company(), fake.rng.choice(reps).western
        name = f"{customer[2:6]}的商机"
        label, stage, _ = fake.pick(ODOO_STAGES)
        lost = label != "Won" and fake.maybe(0.25)
        kind = "won" if label == "Won" else "lost" if lost else "open"
        d = deal_dates(fake, kind)
        created = fake.seconds(fake.moment(d.created))
        moved = fake.seconds(fake.moment(fake.day(d.created, d.closed or TODAY)))
        moved = max(moved, created)
        closed = max(fake.seconds(fake.moment(d.closed)), created) if d.closed else None
        yuan = fake.yuan()
        reason = fake.rng.choice(ODOO_LOST) if lost else None
        rows.append([300 + i, name, customer, "", owner, "Sales", label, float(yuan),
                     {"won": 100.0, "lost": 0.0}.get(kind, 30.0), d.close,
                     fake.rng.choice(("Low", "Medium", "High", "Very High")), "", created,
                     moved, closed, not lost, reason])
        entered = closed.date() if lost and closed else moved.date()
        expected.append({"opp_id": str(300 + i), "name": name, "customer": customer,
                         "owner": owner, "stage": "输单" if lost else stage,
                         "amount": wan(yuan), "expected_close": d.close,
                         "created_on": created.date(), "stage_entered": entered,
                         "closed_on": closed.date() if closed else None,
                         "lost_reason": reason})
    return _export(folder, "odoo", "opportunities", fmt, headers, rows, expected,
                   sheet="Sheet1")


ERP_STAGES = (  # sales stage, team stage, weight
    ("Prospecting", "潜在客户识别", 2), ("Qualification", "初步接触", 3),
    ("Needs Analysis", "需求分析", 3), ("Value Proposition", "方案提交", 1),
    ("Identifying Decision Makers", "方案提交", 1), ("Perception Analysis", "方案提交", 1),
    ("Proposal/Price Quote", "报价与谈判", 2), ("Negotiation/Review", "报价与谈判", 2))


def erpnext_opportunities(folder: Path, n: int = 40, seed: int = 0, fmt: str = "csv"
                          ) -> Export:
    """The Opportunity list's export: CRM-OPP- IDs, owners as user e-mails, Status
    (Converted and Lost decide the stage), dates as stored."""
    fake = Faker(seed + 81)
    reps = fake.people(5)
    owners = [f"{p.first.lower()}.{p.last.lower()}@example.cn" for p in reps]
    headers = ["ID", "Title", "Opportunity From", "Party", "Customer Name", "Status",
               "Sales Stage", "Opportunity Type", "Source", "Opportunity Date",
               "Expected Closing Date", "Probability (%)", "Opportunity Amount", "Currency",
               "Opportunity Owner", "Company", "Detailed Reason"]
    statuses = (("Open", "open", 3), ("Replied", "open", 1), ("Quotation", "open", 2),
                ("Converted", "won", 3), ("Lost", "lost", 2))
    rows, expected = [], []
    for i in range(n):
        customer, owner = fake.company(), fake.rng.choice(owners)
        label, stage, _ = fake.pick(ERP_STAGES)
        status, kind, _ = fake.pick(statuses)
        d = deal_dates(fake, kind)
        yuan = fake.yuan()
        reason = fake.rng.choice(_LOST) if kind == "lost" else ""
        oid = f"CRM-OPP-2024-{i + 1:05d}"
        rows.append([oid, customer, "Customer", customer, customer, status, label, "Sales",
                     fake.rng.choice(("Campaign", "Cold Calling", "Existing Customer", "")),
                     iso(d.created), iso(d.close), fake.rng.choice((10, 20, 50, 75)),
                     f"{yuan:.1f}", "CNY", owner, "恒信科技有限公司", reason])
        x_stage = {"won": "签约成交", "lost": "输单"}.get(kind, stage)
        expected.append({"opp_id": oid, "name": customer, "customer": customer,
                         "owner": owner, "stage": x_stage, "amount": wan(yuan),
                         "expected_close": d.close, "created_on": d.created,
                         "stage_entered": d.created, "lost_reason": reason or None})
    return _export(folder, "erpnext", "opportunities", fmt, headers, rows, expected)


# -- home-made Chinese spreadsheets --------------------------------------------------------

def plain_zh_customers(folder: Path, n: int = 40, seed: int = 0, fmt: str = "csv-gbk"
                       ) -> Export:
    """A customer list saved by Chinese Excel as CSV (GBK): a 序号 column, the team's own
    words for stages and tiers, budgets as "50万", "30" (万元) or "￥80,000" (元), dates
    2024/3/15 and 2024年3月15日."""
    fake = Faker(seed + 60)
    reps = fake.people(5)
    headers = ["序号", "客户编码", "单位名称", "联系人姓名", "手机", "所属行业", "客户状态",
               "客户级别", "需求", "预算", "来源", "所在城市", "所属业务员", "建档时间",
               "最后联系时间", "下次联系时间", "流失原因", "备注"]
    stages = (("潜在", "潜在客户", 2), ("意向", "意向客户", 3), ("已成交", "成交客户", 2),
              ("老客户", "成交客户", 1), ("已流失", "流失客户", 1), ("意向客户", "意向客户", 1))
    tiers = (("A类", "A", 2), ("B类", "B", 3), ("C类", "C", 2), ("重要客户", "A", 1),
             ("B", "B", 1))
    sources = (("官网", "线上官网", 2), ("展会", "展会推广", 2), ("转介绍", "老客户推荐", 2),
               ("电销", "电话营销", 1), ("抖音", "社交媒体", 1), ("老客户推荐", "老客户推荐", 1))
    industries = ("制造业", "零售", "金融", "医疗", "教育", "物流")
    rows, expected = [], []
    for i in range(n):
        cid, name = f"C{i + 1:04d}", fake.company()
        person, phone = fake.person(), fake.mobile()
        contact = person.zh if fake.maybe(0.6) else person.surname + fake.rng.choice(
            ("经理", "总", "工"))
        industry = fake.rng.choice(industries)
        word, stage, _ = fake.pick(stages)
        tier, tier_x, _ = fake.pick(tiers)
        needs = fake.rng.choice(_NEEDS)
        budget_wan = fake.rng.choice((5, 12, 30, 50, 80, 120))
        how = fake.rng.random()
        budget = (f"{budget_wan}万" if how < 0.4 else str(budget_wan) if how < 0.8
                  else f"￥{budget_wan * 10000:,}")
        source, source_x, _ = fake.pick(sources)
        city, owner = fake.rng.choice(_CITIES), fake.rng.choice(reps).zh
        created = fake.day(dt.date(2023, 6, 1), dt.date(2024, 3, 1))
        last = fake.day(created, TODAY)
        nxt = last + dt.timedelta(days=fake.rng.randint(3, 30)) if stage != "流失客户" else None
        lost = fake.rng.choice(_LOST) if stage == "流失客户" else ""
        rows.append([i + 1, cid, name, contact, phone, industry, word, tier, needs, budget,
                     source, city, owner, ymd_slash(created),
                     ymd_zh(last) if fake.maybe(0.5) else iso(last),
                     ymd_slash(nxt) if nxt else "", lost, ""])
        expected.append({"customer_id": cid, "name": name, "contact": contact,
                         "phone": phone, "industry": industry, "stage": stage,
                         "tier": tier_x, "needs": needs, "budget": float(budget_wan),
                         "source": source_x, "city": city, "owner": owner,
                         "created_on": created, "last_contact": last, "next_follow_up": nxt,
                         "lost_reason": lost or None})
    return _export(folder, "plain_zh", "customers", fmt, headers, rows, expected)


def plain_zh_leads(folder: Path, n: int = 40, seed: int = 0, fmt: str = "csv-bom") -> Export:
    """A lead list saved as "CSV UTF-8" (with a BOM): 意向程度 强/中/弱, 登记时间
    2024/3/15 9:30."""
    fake = Faker(seed + 61)
    reps = fake.people(5)
    headers = ["编号", "企业名称", "联系人姓名", "职位", "手机号", "需求描述", "渠道", "意向程度",
               "负责销售", "登记时间", "线索状态"]
    levels = (("强", "高", 2), ("中", "中", 3), ("弱", "低", 2), ("高", "高", 1))
    sources = (("官网", "线上官网", 3), ("展会", "展会推广", 2), ("转介绍", "老客户推荐", 1),
               ("小红书", "社交媒体", 1), ("线上官网", "线上官网", 1))
    rows, expected = [], []
    for i in range(n):
        lid, company = f"XS{i + 1:05d}", fake.company()
        contact, title, phone = fake.person().zh, fake.rng.choice(_TITLES), fake.mobile()
        needs = fake.rng.choice(_NEEDS)
        source, source_x, _ = fake.pick(sources)
        level, priority, _ = fake.pick(levels)
        owner = fake.rng.choice(reps).zh if fake.maybe(0.85) else ""
        created = fake.moment(fake.day())
        status = fake.rng.choice(("待跟进", "跟进中", "已转客户", "无效"))
        rows.append([lid, company, contact, title, phone, needs, source, level, owner,
                     f"{ymd_slash(created)} {created.hour}:{created.minute:02d}", status])
        expected.append({"lead_id": lid, "company": company, "contact": contact,
                         "title": title, "phone": phone, "needs": needs, "source": source_x,
                         "priority": priority, "assignee": owner or None,
                         "created_at": created, "status": status})
    return _export(folder, "plain_zh", "leads", fmt, headers, rows, expected)


PLAIN_STAGES = (  # typed, team stage, kind, weight
    ("初步沟通", "初步接触", "open", 2), ("初步接触", "初步接触", "open", 1),
    ("需求确认", "需求分析", "open", 2), ("需求分析", "需求分析", "open", 1),
    ("方案制定", "方案提交", "open", 1), ("已提交方案", "方案提交", "open", 1),
    ("商务谈判", "报价与谈判", "open", 2), ("已签约", "签约成交", "won", 3),
    ("丢单", "输单", "lost", 2))


def plain_zh_opportunities(folder: Path, n: int = 40, seed: int = 0, fmt: str = "xlsx"
                           ) -> Export:
    """An opportunity tracker kept in Excel: 合同金额(元) as numbers, "￥128,000" or
    "12.8万", dates as date cells or text."""
    fake = Faker(seed + 62)
    reps = fake.people(5)
    headers = ["项目编号", "项目名称", "单位名称", "跟进销售", "意向产品", "销售阶段",
               "阶段更新日期", "合同金额(元)", "预计签单日期", "创建时间", "签约日期", "丢单原因",
               "备注"]
    rows, expected = [], []
    for i in range(n):
        oid, customer = f"XM-2024-{i + 1:03d}", fake.company()
        name = f"{customer[2:6]}{fake.rng.choice(('MES', 'WMS', 'ERP', '数据平台'))}项目"
        owner, product = fake.rng.choice(reps).zh, fake.rng.choice(_PRODUCTS)
        typed, stage, kind, _ = fake.pick(PLAIN_STAGES)
        d = deal_dates(fake, kind)
        entered = d.closed or fake.day(d.created, min(d.close, TODAY))
        yuan = fake.yuan(2e4, 2e6)
        how = fake.rng.random()
        amount: Any = (yuan if how < 0.5 else f"￥{yuan:,}" if how < 0.75
                       else f"{yuan / 1e4:g}万")
        reason = fake.rng.choice(_LOST) if kind == "lost" else ""
        rows.append([oid, name, customer, owner, product, typed,
                     entered if fake.maybe(0.6) else ymd_slash(entered), amount, d.close,
                     ymd_dot(d.created), d.closed, reason, ""])
        expected.append({"opp_id": oid, "name": name, "customer": customer, "owner": owner,
                         "product_line": product, "stage": stage, "stage_entered": entered,
                         "amount": wan(yuan), "expected_close": d.close,
                         "created_on": d.created, "closed_on": d.closed,
                         "lost_reason": reason or None})
    return _export(folder, "plain_zh", "opportunities", fmt, headers, rows, expected,
                   sheet="商机跟踪")


def plain_zh_follow_ups(folder: Path, n: int = 40, seed: int = 0, fmt: str = "csv-gbk"
                        ) -> Export:
    """A visit log saved as CSV (GBK): 拜访日期 2024-3-15, 沟通方式 in the team's words."""
    fake = Faker(seed + 63)
    reps = fake.people(5)
    customers = [fake.company() for _ in range(max(3, n // 3))]
    headers = ["拜访日期", "拜访客户", "拜访人", "沟通方式", "沟通内容", "承诺", "下次拜访时间"]
    kinds = (("电话", "电话", 3), ("打电话", "电话", 1), ("上门拜访", "拜访", 3),
             ("微信", "微信", 2), ("面谈", "拜访", 1))
    rows, expected = [], []
    for _ in range(n):
        when, customer = fake.day(), fake.rng.choice(customers)
        owner = fake.rng.choice(reps).zh
        way, kind, _ = fake.pick(kinds)
        content = fake.rng.choice(_CONTENT)
        promise = fake.rng.choice(("3日内发送方案", "周五前报价", "", ""))
        nxt = when + dt.timedelta(days=fake.rng.randint(2, 14)) if fake.maybe(0.7) else None
        rows.append([f"{when.year}-{when.month}-{when.day}", customer, owner, way, content,
                     promise, iso(nxt) if nxt else ""])
        expected.append({"date": when, "customer": customer, "owner": owner,
                         "contact_kind": kind, "content": content,
                         "commitments": promise or None, "next_date": nxt})
    return _export(folder, "plain_zh", "follow_ups", fmt, headers, rows, expected)


def plain_zh_targets(folder: Path, n: int = 12, seed: int = 0, fmt: str = "xlsx") -> Export:
    """A quarterly target sheet: quarters as 2024Q2 or 2024年第二季度, 万元 amounts as
    numbers or "30万"."""
    fake = Faker(seed + 64)
    reps = fake.people(max(1, n))
    headers = ["大区", "产品", "姓名", "考核季度", "季度任务", "首月目标", "次月目标", "末月目标",
               "新增客户目标", "周拜访目标", "关键举措", "本人签字", "经理签字", "确认日期"]
    rows, expected = [], []
    for i in range(n):
        rep = reps[i]
        region, product = fake.rng.choice(("华东", "华南", "华北")), fake.rng.choice(_PRODUCTS)
        months = [fake.rng.choice((8, 10, 12, 15)) for _ in range(3)]
        total = sum(months)
        quarter = "2024Q2" if fake.maybe(0.5) else "2024年第二季度"
        signed = fake.maybe(0.8)
        strategy = fake.rng.choice(("重点攻关3家行业龙头企业,参加2场行业展会",
                                    "推广新品试用套餐,拓展中小客户渠道"))
        on = dt.date(2024, 3, fake.rng.randint(20, 29)) if signed else None
        rows.append([region, product, rep.zh, quarter,
                     f"{total}万" if fake.maybe(0.3) else total, *months,
                     fake.rng.randint(3, 10), 5, strategy, rep.zh if signed else "",
                     "王经理" if signed else "", on])
        expected.append({"region": region, "product_line": product, "owner": rep.zh,
                         "quarter": "2024Q2", "quarterly_target": float(total),
                         "month1": float(months[0]), "month2": float(months[1]),
                         "month3": float(months[2]), "new_customers": rows[-1][8],
                         "visits_per_week": 5, "strategy": strategy,
                         "owner_signed": rep.zh if signed else None,
                         "manager_signed": "王经理" if signed else None, "signed_on": on})
    return _export(folder, "plain_zh", "targets", fmt, headers, rows, expected,
                   sheet="目标分解")


def plain_zh_daily(folder: Path, n: int = 40, seed: int = 0, fmt: str = "csv-gb18030"
                   ) -> Export:
    """A daily-report sheet saved as CSV in GB18030: 成交金额(元), 客户进展 as stage
    moves, 填报时间 2024/3/15 17:45."""
    fake = Faker(seed + 65)
    reps = fake.people(max(1, min(8, n // 5 or 1)))
    headers = ["工作日期", "报告人", "今日拜访", "有效客户数", "新增客户", "提交方案数",
               "成交金额(元)", "客户进展", "问题", "明日安排", "填报时间"]
    slots = [(d, r) for d in working_days(dt.date(2024, 3, 4), dt.date(2024, 3, 29))
             for r in reps]
    rows, expected = [], []
    for day, rep in slots[:n]:
        visits = fake.rng.randint(0, 8)
        effective, new = fake.rng.randint(0, visits), fake.rng.randint(0, min(2, visits))
        proposals = fake.rng.randint(0, 2)
        yuan = fake.rng.choice((0, 0, 0, 15000, 32000, 86000))
        moves = fake.rng.choice(("客户C:需求分析→方案提交", "", "", "客户D:方案提交→报价与谈判"))
        problem = fake.rng.choice(("客户预算低于预期", "", ""))
        plan = fake.rng.choice(("跟进客户C方案反馈,拜访2家新客户", "整理报价单", "拜访老客户"))
        submitted = fake.moment(day, 17, 20)
        rows.append([ymd_slash(day), rep.zh, visits, effective, new, proposals, yuan, moves,
                     problem, plan,
                     f"{ymd_slash(day)} {submitted.hour}:{submitted.minute:02d}"])
        expected.append({"date": day, "rep": rep.zh, "visits": visits, "effective": effective,
                         "new_customers": new, "proposals": proposals,
                         "amount_signed": wan(yuan), "stage_moves": moves or None,
                         "problems": problem or None, "next_plan": plan,
                         "submitted_at": submitted})
    return _export(folder, "plain_zh", "daily", fmt, headers, rows, expected)


# -- the "CRM Sales Opportunities" dataset ------------------------------------------------

CRM_PRODUCTS = (  # product, series, sales price, spelling in sales_pipeline.csv, weight
    ("NX Basic", "NX", 550, "NX Basic", 5), ("NX Pro", "NX", 4821, "NXPro", 3),
    ("NX Plus Basic", "NX", 1096, "NX Plus Basic", 4), ("NX Plus Pro", "NX", 5482,
                                                          "NX Plus Pro", 2),
    ("QX Special", "QX", 55, "QX Special", 4), ("QX Advanced", "QX", 3393, "QX Advanced", 4),
    ("ZK 500", "ZK", 26768, "ZK 500", 1))
CRM_STAGES = (("Won", "签约成交", 48), ("Lost", "输单", 28), ("Engaging", "需求分析", 18),
              ("Prospecting", "潜在客户识别", 6))
CRM_OFFICES = ("Central", "East", "West")
CRM_SECTORS = ("technolgy", "medical", "retail", "software", "marketing", "finance",
               "entertainment", "telecommunications", "services", "employment")
_FIRST = ("Anna", "Cecily", "Versie", "Lajuana", "Moses", "Jonathan", "Marty", "Gladys",
          "Niesha", "Darcel", "Violet", "Corliss", "Rosie", "Garret", "Wilburn", "Daniell",
          "Cassey", "Donn", "Reed", "Boris", "Vicki", "Rosalina", "Hayden", "Markita",
          "Elease", "James", "Kary", "Kami", "Zane", "Maureen", "Carl", "Mei-Mei", "Natalya",
          "Elizabeth", "Carol", "Dustin", "Melvin", "Cara", "Rocco", "Celia", "Summer")
_LAST = ("Snelling", "Lampkin", "Hillebrand", "Vencill", "Frase", "Berthelot", "Freudenburg",
         "Colclough", "Huffines", "Schlecht", "Mclelland", "Cosme", "Papadopoulos", "Kinder",
         "Farren", "Hammack", "Cress", "Cantrell", "Clapper", "Faz", "Laflamme", "Dieter",
         "Neloms", "Hansen", "Gluck", "Ascencio", "Hendrixson", "Bicknell", "Levy", "Marcano")
_SYLLABLES = ("zum", "cod", "how", "ron", "tech", "sun", "nam", "plex", "fin", "job", "gogo",
              "zoom", "kin", "dom", "hat", "fan", "bio", "hold", "ing", "con", "ecom", "dal",
              "zot", "ware", "stan", "red", "tax", "lab", "drill", "tree", "quote", "ganja",
              "flex", "sonr", "isd", "warep", "hase", "plus", "strip")


@dataclass
class CrmDataset:
    """The four files of :func:`write_crm_dataset` and what they hold."""

    folder: Path
    pipeline: Export  # sales_pipeline.csv, with the opportunities xlsales should read
    teams: list[Row]  # sales_teams.csv rows: sales_agent, manager, regional_office
    accounts: list[Row]  # accounts.csv rows
    products: list[Row]  # products.csv rows


def _crm_names(fake: Faker, k: int) -> list[str]:
    out: dict[str, None] = {}
    while len(out) < k:
        out[f"{fake.rng.choice(_FIRST)} {fake.rng.choice(_LAST)}"] = None
    return list(out)


def _crm_accounts(fake: Faker, k: int) -> list[str]:
    out: dict[str, None] = {}
    while len(out) < k:
        word = "".join(fake.rng.choice(_SYLLABLES) for _ in range(2))
        word = word.capitalize() if fake.maybe(0.85) else word  # the data has "dambase"
        if fake.maybe(0.15):
            word = f"{word[:2].capitalize()}-{word[2:]}"
        out[word] = None
    return list(out)


def write_crm_dataset(folder: Path, n: int = 8000, seed: int = 0, gaps: bool = True
                      ) -> CrmDataset:
    """sales_pipeline.csv (``n`` opportunities), sales_teams.csv, accounts.csv and
    products.csv, shaped like the public "CRM Sales Opportunities" dataset: ISO dates from
    October 2016 to December 2017, close_date and close_value blank unless Won or Lost
    (close_value 0 when Lost), the pipeline spelling one product differently from
    products.csv ("NXPro" for "NX Pro"). With ``gaps`` (the dataset's way) a Prospecting
    deal has no engage_date and two open deals in three have no account."""
    fake = Faker(seed + 70)
    folder = Path(folder)
    names = _crm_names(fake, 41)
    managers, agents = names[:6], names[6:]
    teams = [{"sales_agent": a, "manager": managers[i % 6],
              "regional_office": CRM_OFFICES[(i % 6) // 2]} for i, a in enumerate(agents)]
    accounts = [{"account": a, "sector": fake.rng.choice(CRM_SECTORS),
                 "year_established": fake.rng.randint(1979, 2017),
                 "revenue": round(fake.rng.uniform(4, 12000), 2),
                 "employees": fake.rng.randint(9, 35000),
                 "office_location": "United States" if fake.maybe(0.85) else fake.rng.choice(
                     ("Japan", "Germany", "Italy", "Brazil", "Kenya", "Korea")),
                 "subsidiary_of": ""} for a in _crm_accounts(fake, 85)]
    for acc in accounts:
        parent = fake.rng.choice(accounts)["account"]
        if fake.maybe(0.2) and parent != acc["account"]:
            acc["subsidiary_of"] = parent
    products = [{"product": p, "series": s, "sales_price": price}
                for p, s, price, _, _ in CRM_PRODUCTS]
    ids: set[str] = set()
    raw, expected = [], []
    alphabet = string.ascii_uppercase + string.digits
    for _ in range(n):
        oid = fake.code(8, alphabet)
        while oid in ids:
            oid = fake.code(8, alphabet)
        ids.add(oid)
        agent = fake.rng.choice(agents)
        _, _, price, spelled, _ = fake.pick(CRM_PRODUCTS)
        deal, stage, _ = fake.pick(CRM_STAGES)
        is_open = deal in ("Engaging", "Prospecting")
        account: str | None = fake.rng.choice(accounts)["account"]
        if gaps and is_open and fake.maybe(0.68):
            account = None
        engage: dt.date | None = fake.day(dt.date(2016, 10, 20), dt.date(2017, 12, 27))
        if gaps and deal == "Prospecting":
            engage = None
        close = value = None
        if not is_open:
            assert engage is not None
            earliest = max(engage + dt.timedelta(days=1), dt.date(2017, 3, 1))
            close = fake.day(earliest, max(earliest, dt.date(2017, 12, 31)))
            value = 0 if deal == "Lost" else round(price * fake.rng.uniform(0.8, 1.2))
        raw.append((oid, agent, spelled, account, deal, engage, close, value))
        expected.append({"opp_id": oid, "name": oid, "owner": agent, "product_line": spelled,
                         "customer": account, "stage": stage, "created_on": engage,
                         "closed_on": close, "expected_close": close,
                         "amount": None if value is None else wan(value),
                         "stage_entered": close or engage})
    raw.sort(key=lambda r: (r[5] or dt.date.max, r[1]))
    order = {r[0]: i for i, r in enumerate(raw)}
    expected.sort(key=lambda e: order[e["opp_id"]])
    headers = ["opportunity_id", "sales_agent", "product", "account", "deal_stage",
               "engage_date", "close_date", "close_value"]
    rows = [[oid, agent, product, account or "", deal, iso(engage) if engage else "",
             iso(close) if close else "", "" if value is None else value]
            for oid, agent, product, account, deal, engage, close, value in raw]
    path = folder / "sales_pipeline.csv"
    write_table(path, headers, rows, "csv")
    _write_dicts(folder / "sales_teams.csv", teams)
    _write_dicts(folder / "accounts.csv", accounts)
    _write_dicts(folder / "products.csv", products)
    pipeline = Export(path, "crm_sample", "opportunities", headers, expected, "csv")
    return CrmDataset(folder, pipeline, teams, accounts, products)


def _write_dicts(path: Path, rows: list[Row]) -> None:
    write_table(path, list(rows[0]), [list(r.values()) for r in rows], "csv")


def crm_sample_opportunities(folder: Path, n: int = 400, seed: int = 0, fmt: str = "csv"
                             ) -> Export:
    """The dataset's sales_pipeline.csv alone (see :func:`write_crm_dataset`)."""
    if fmt != "csv":
        raise ValueError("the dataset is CSV only")
    return write_crm_dataset(folder, n=n, seed=seed).pipeline


# -- registry ------------------------------------------------------------------------------

Generator = Callable[..., Export]

GENERATORS: dict[str, Generator] = {
    "salesforce/customers": salesforce_customers,
    "salesforce/leads": salesforce_leads,
    "salesforce/opportunities": salesforce_opportunities,
    "salesforce/stage_history": salesforce_stage_history,
    "salesforce/follow_ups": salesforce_follow_ups,
    "hubspot/customers": hubspot_customers,
    "hubspot/leads": hubspot_leads,
    "hubspot/opportunities": hubspot_opportunities,
    "zoho/customers": zoho_customers,
    "zoho/leads": zoho_leads,
    "zoho/opportunities": zoho_opportunities,
    "pipedrive/opportunities": pipedrive_opportunities,
    "pipedrive/customers": pipedrive_customers,
    "pipedrive/leads": pipedrive_leads,
    "pipedrive/follow_ups": pipedrive_follow_ups,
    "fxiaoke/customers": fxiaoke_customers,
    "fxiaoke/opportunities": fxiaoke_opportunities,
    "fxiaoke/follow_ups": fxiaoke_follow_ups,
    "dingtalk/daily": dingtalk_daily,
    "odoo/opportunities": odoo_opportunities,
    "erpnext/opportunities": erpnext_opportunities,
    "plain_zh/customers": plain_zh_customers,
    "plain_zh/leads": plain_zh_leads,
    "plain_zh/opportunities": plain_zh_opportunities,
    "plain_zh/follow_ups": plain_zh_follow_ups,
    "plain_zh/targets": plain_zh_targets,
    "plain_zh/daily": plain_zh_daily,
    "crm_sample/opportunities": crm_sample_opportunities,
}


def write_all(folder: Path, n: int = 40, seed: int = 0) -> list[Export]:
    """One export per profile entry, each in its own subfolder of ``folder``."""
    return [gen(Path(folder) / key.replace("/", "_"), n=n, seed=seed)
            for key, gen in GENERATORS.items()]
