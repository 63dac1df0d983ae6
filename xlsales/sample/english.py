"""The sample team in English: the same story (the same figures, row by row) with English
names, companies and texts.

The generator tells the story once, in Chinese; :func:`to_english` rewrites its free texts
(people, companies, needs, problems, plans, notes). Values of the team's dropdown lists
(stages, contact kinds, industries …) stay canonical: an English workbook shows them by
their English names anyway.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from xlsales.sample import team

if TYPE_CHECKING:
    from xlsales.sample.generator import SampleTeam

PEOPLE = {
    "张伟": "Adam Scott", "李娜": "Lisa Brown", "王强": "Mark Wilson", "刘洋": "Ryan Lee",
    "陈静": "Grace Hall", "杨帆": "Evan Young", "赵磊": "Leo King", "黄敏": "Mia Wright",
    "周杰": "Jack Green", "吴婷": "Tina Baker", "徐明": "Max Adams", "孙丽": "Sophie Clark",
    "周建国": "George Turner", "郑晓梅": "Helen Parker", "冯志远": "Frank Morris",
}
CITIES = {
    "上海": "Shanghai", "杭州": "Hangzhou", "苏州": "Suzhou", "南京": "Nanjing", "宁波": "Ningbo",
    "广州": "Guangzhou", "深圳": "Shenzhen", "东莞": "Dongguan", "佛山": "Foshan", "厦门": "Xiamen",
    "北京": "Beijing", "天津": "Tianjin", "石家庄": "Shijiazhuang", "济南": "Jinan",
    "太原": "Taiyuan",
}
CORES = dict(zip(team.NAME_CORES, (
    "Apex", "Beacon", "Cedar", "Delta", "Eagle", "Falcon", "Granite", "Harbor", "Horizon",
    "Ivory", "Juniper", "Keystone", "Landmark", "Maple", "Meridian", "Northstar", "Oakridge",
    "Pinnacle", "Quantum", "Redwood", "Sterling", "Summit", "Trident", "Unity", "Vanguard",
    "Westfield", "Willow", "Zenith", "Atlas", "Bluewater", "Crestview", "Evergreen",
    "Frontier", "Liberty", "Pioneer", "Silverline"), strict=True))
TRADES = dict(zip(team.NAME_TRADES, (
    "Precision Machinery", "Electronics", "Automation", "Logistics", "Medical Devices",
    "Advanced Materials", "IT Solutions", "Foods", "Trading", "Energy Tech", "EdTech",
    "Retail Stores", "Financial Services", "Packaging"), strict=True))
SUFFIXES = {"股份有限公司": "Holdings Ltd.", "有限责任公司": "LLC", "集团有限公司": "Group Ltd.",
            "集团(有限公司)": "Group (Ltd.)", "(有限公司)": "(Ltd.)", "有限公司": "Ltd."}
SURNAMES = dict(zip(team.SURNAMES, (
    "Smith", "Jones", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas", "Roberts",
    "Johnson", "Lewis", "Walker", "Robinson", "Wood", "Thompson", "White", "Watson",
    "Jackson", "Wright", "Green"), strict=True))
TITLES = {"经理": "Manager", "总监": "Director", "总": "GM", "主任": "Head",
          "工程师": "Engineer", "先生": "Mr.", "采购经理": "Purchasing manager",
          "总经理": "General manager", "技术总监": "Technical director"}

NEEDS = dict(zip(team.NEEDS, (
    "Buying automation equipment, budget {b}0k", "Upgrading a production line; delivery "
    "time matters", "Replacing the current supplier; price-sensitive", "Equipping a new "
    "plant; needs a full solution", "Cares about after-sales response times",
    "Needs industry cases and a trial", "Annual bulk purchase",
    "Choosing a digital management system", "Expanding capacity, budget {b}0k"), strict=True))
PROBLEMS = dict(zip(team.PROBLEMS, (
    "Customer's budget lower than expected", "A competitor quoted lower",
    "Decision maker travelling; meeting postponed", "Customer wants more references",
    "Technical specs to be confirmed", "Payment terms under negotiation",
    "Customer's internal process changed", "Customer worried about delivery time"),
    strict=True))
PLANS = dict(zip(team.PLANS, (
    "Follow up the proposal feedback of {c}, visit 2 new customers",
    "Prepare the quote for {c}, call back existing customers",
    "Visit the decision maker of {c}",
    "Sort out the needs, meet the technical lead of {c}",
    "Attend the industry fair, collect leads", "Revise and submit the proposal for {c}",
    "Call 3 interested customers", "Visit {c} with the manager"), strict=True))
LOST_REASONS = dict(zip(team.LOST_REASONS, (
    "Competitor cut prices", "Budget cancelled", "Needs changed",
    "Stayed with the current supplier", "Decision postponed indefinitely"), strict=True))
STRATEGIES = {team.STRATEGIES["产品线A"]: "Win 3 industry leaders; attend 2 trade fairs",
              team.STRATEGIES["产品线B"]: "Promote the new trial package; open "
                                         "small-customer channels"}
TEXTS = {
    **dict(zip(team.FOLLOW_CONTENT, (
        "Presented product A; customer wants to see references", "Call about the needs",
        "Sent product documents and the quote", "On-site demo; customer fairly satisfied",
        "Discussed the contract terms", "Asked how it is going", "Holiday greetings",
        "Asked about budget and purchase timing", "Answered technical questions"),
        strict=True)),
    "主管陪同拜访,了解高层需求": "Visit with the manager; senior management's needs",
    "发送产品动态邮件": "Sent the product newsletter",
    "季度人工筛选潜在转化机会": "Quarterly screening for conversion chances",
    "提交方案,等待客户反馈": "Proposal sent, waiting for feedback",
    "成交后48小时回访,确认交付安排": "Call 48 hours after the deal: delivery plan confirmed",
    "首次售后拜访,检查使用情况": "First after-sales visit: checked the installation",
    "满意度调查:8分,希望加快响应": "Satisfaction survey: 8/10, wants faster responses",
    "下周发送案例资料": "Send case studies next week",
    "一次性": "One-off", "年度": "Yearly", "季度": "Quarterly", "按项目": "Per project",
    "跟进中": "In progress", "已转商机": "Converted", "无效": "Invalid",
    "待分配": "To assign",
    "周一拜访客户": "Visit customers on Monday",
    "个人目标合计高出团队目标约12%": "Individual targets add up to about 12% above the "
                                    "team target",
    "季度目标冲刺周会": "Weekly meeting: the quarter's targets",
    "周一 9:00-10:30": "Monday 9:00-10:30",
    "上周业绩通报(数据对比)": "Last week's results (figures compared)",
    "销售代表发言(未达标原因分析)": "Reps speak (why a target was missed)",
    "客户共性问题讨论": "Problems customers share",
    "本周行动项明确": "This week's action items",
    "销售主管": "Sales manager", "销售代表": "Sales reps",
    "《上周业绩数据表》": "Last week's figures", "《会议纪要》": "Meeting minutes",
    "3月15日前完成客户C方案并提交": "Finish and submit the proposal for customer C by "
                                   "15 March",
    "3月22日前整理华南区竞品报价对比": "Compare the competitors' quotes in South China "
                                      "by 22 March",
    "跟进客户C": "Follow up customer C",
    "3月29日前约见3家A类客户决策人": "Meet the decision makers of 3 tier-A customers by "
                                    "29 March",
    "方案文档": "Proposal document", "竞品对比表": "Competitor comparison",
    "拜访记录": "Visit notes",
    "周建国、郑晓梅、冯志远及全体销售代表": "George Turner, Helen Parker, Frank Morris and "
                                      "all reps",
    "通报上周业绩,明确本周行动项": "Last week's results; this week's action items",
    "华东华南华北销售部": "East, South and North China Sales",
}
_CITY_RE = "|".join(sorted(CITIES, key=len, reverse=True))
_COMPANY = re.compile(rf"^({_CITY_RE})(..)({'|'.join(team.NAME_TRADES)})(.*)$")


class _English:
    """The translations of one sample's texts."""

    def __init__(self, customers: list[dict[str, Any]]) -> None:
        self.names: dict[str, str] = {}
        self.short: dict[str, str] = {"新客户": "a new customer"}
        for c in customers:
            self.company(c["name"])
            self.short.setdefault(c["name"][:6], self._short(c["name"]))

    def _parts(self, name: str) -> tuple[str, str, str, str]:
        m = _COMPANY.match(name)
        if m is None or m.group(2) not in CORES:
            raise ValueError(f"not a sample company name: {name!r}")
        city, core, trade, suffix = m.groups()
        return CITIES[city], CORES[core], TRADES[trade], SUFFIXES[suffix]

    def _short(self, name: str) -> str:
        _, core, trade, _ = self._parts(name)
        return f"{core} {trade}"

    def company(self, name: str) -> str:
        if name not in self.names:
            self.names[name] = " ".join(self._parts(name))
        return self.names[name]

    def person(self, name: str | None) -> str | None:
        return None if name is None else PEOPLE.get(name, name)

    def contact(self, text: str | None) -> str | None:
        """``张经理`` → ``Manager Zhang``-like: a title and an English surname."""
        if not text:
            return text
        return f"{TITLES[text[1:]]} {SURNAMES[text[0]]}"

    def needs(self, text: str | None) -> str | None:
        if not text:
            return text
        for zh, en in NEEDS.items():
            m = re.fullmatch(re.escape(zh).replace(r"\{b\}", r"(\d+)"), text)
            if m:
                return en.format(b=m.group(1)) if m.groups() else en
        raise ValueError(f"not a sample need: {text!r}")

    def plan(self, text: str | None) -> str | None:
        if not text:
            return text
        if text in TEXTS:
            return TEXTS[text]
        for zh, en in PLANS.items():
            m = re.fullmatch(re.escape(zh).replace(r"\{c\}", "(.+)"), text)
            if m:
                return en.format(c=self.short[m.group(1)]) if m.groups() else en
        raise ValueError(f"not a sample plan: {text!r}")

    def moves(self, text: str | None) -> str | None:
        if not text:
            return text
        out = []
        for part in text.split(";"):
            customer, stages = part.split(":", 1)
            out.append(f"{self.company(customer)}: {stages}")
        return "; ".join(out)

    def text(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        for table in (TEXTS, PROBLEMS, LOST_REASONS, TITLES):
            if value in table:
                return table[value]
        raise ValueError(f"no English for {value!r}")


def _stage_names(text: str, stages: dict[str, str]) -> str:
    """The Chinese stage names of a move text in English."""
    for zh, en in sorted(stages.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(zh, en)
    return text


def to_english(sample: SampleTeam) -> SampleTeam:
    """The sample with English texts; every number, date and list value as it was."""
    data = sample.data
    en = _English(data["customers"])
    stages = {s.zh: s.en for s in sample.settings.stages}
    t = en.text
    rows: dict[str, list[dict[str, Any]]] = {}

    def each(key: str, **fields: Any) -> None:
        rows[key] = [{**r, **{k: f(r[k]) for k, f in fields.items() if k in r}}
                     for r in data[key]]

    def follow(text: str | None) -> str | None:
        """``2024-03-01:介绍…`` with its text in English."""
        if not text:
            return text
        day, _, what = text.partition(":")
        return f"{day}: {t(what)}"

    each("customers", name=en.company, contact=en.contact, needs=en.needs,
         purchase_cycle=t, city=lambda c: CITIES.get(c, c), owner=en.person,
         lost_reason=t, last_follow_up=follow)
    each("follow_ups", customer=en.company, owner=en.person, content=t, commitments=t)
    each("opportunities", name=lambda n: _opportunity(en, n), customer=en.company,
         owner=en.person, lost_reason=t)
    each("stage_history", customer=en.company, owner=en.person)
    each("daily", rep=en.person, problems=t, next_plan=en.plan,
         stage_moves=lambda m: en.moves(_stage_names(m, stages)) if m else m)
    each("leads", company=lambda c: " ".join(en._parts(c)),
         contact=lambda c: f"Mr. {SURNAMES[c[0]]}" if c else c, title=t, needs=en.needs,
         assignee=en.person, status=t)
    each("targets", owner=en.person, owner_signed=en.person, manager_signed=en.person,
         strategy=lambda s: STRATEGIES.get(s, s))
    each("team_targets", note=t)
    each("agenda", topic=t, time=t, item=t, owner=t, materials=t)
    each("actions", item=t, owner=en.person, deliverable=t)
    each("minutes", attendees=t, summary=t)
    settings = sample.settings.model_copy(deep=True)
    settings.general.team_name = TEXTS[settings.general.team_name]
    settings.general.meeting_topic = TEXTS[settings.general.meeting_topic]
    settings.general.meeting_time = TEXTS[settings.general.meeting_time]
    settings.general.language = "en"
    settings.agenda = [a.model_copy(update={"item": t(a.item), "owner": t(a.owner),
                                            "materials": t(a.materials)})
                       for a in settings.agenda]
    settings.roster = [r.model_copy(update={"rep": en.person(r.rep),
                                            "manager": en.person(r.manager)})
                       for r in settings.roster]
    return replace(sample, settings=settings, data={**data, **rows})


def _opportunity(en: _English, name: str | None) -> str | None:
    """``恒瑞精密机械-产品线A项目`` → ``Apex Precision Machinery - product line A``."""
    if not name:
        return name
    m = re.fullmatch(r"(.+)-产品线(\w)项目", name)
    if m is None:
        raise ValueError(f"not a sample opportunity name: {name!r}")
    return f"{en.short[m.group(1)]} - product line {m.group(2)}"
