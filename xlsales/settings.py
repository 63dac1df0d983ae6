"""Team settings: roster, dropdown lists, stages, tiers, calendar and general options.

Settings are plain data (pydantic models). They live in the workspace's
``settings.xlsx``, which users edit in Excel; :mod:`xlsales.workspace` reads and
writes it. Values of dropdown lists are stored canonically in Chinese (the
``zh`` form, or ``en`` when a team left ``zh`` blank) and shown in the
workbook's language.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, PrivateAttr, field_validator, model_validator

from xlsales.errors import InputError
from xlsales.i18n import Label, Lang
from xlsales.normalize import name_key, to_date

if TYPE_CHECKING:
    import pandas as pd

StageKind = Literal["open", "won", "lost"]


class ListItem(BaseModel):
    """One value of a dropdown list, in both languages."""

    list: str
    zh: str = ""
    en: str = ""
    order: int = 0

    @model_validator(mode="after")
    def _one_name(self) -> ListItem:
        if not (self.zh or self.en):
            raise InputError(Label(f"列表 {self.list!r} 的项目需要中文或英文名称",
                                   f"list {self.list!r}: an item needs a Chinese or English "
                                   "name"))
        return self

    @property
    def canonical(self) -> str:
        return self.zh or self.en

    def label(self, lang: Lang) -> str:
        return (self.zh or self.en) if lang == "zh" else (self.en or self.zh)


class Stage(BaseModel):
    """An opportunity stage with its win probability and alert age."""

    zh: str
    en: str
    order: int
    probability: float = Field(ge=0, le=1)
    kind: StageKind = "open"
    max_days: int | None = None
    ideal_conversion: float | None = Field(default=None, ge=0, le=1)

    @property
    def canonical(self) -> str:
        return self.zh or self.en

    def label(self, lang: Lang) -> str:
        return (self.zh or self.en) if lang == "zh" else (self.en or self.zh)


class FollowUpRule(BaseModel):
    """A follow-up deadline of the cadence policy (spec §3)."""

    rule: str
    zh: str
    en: str
    days: int = Field(ge=0)
    working_days: bool = False
    enabled: bool = True

    def label(self, lang: Lang) -> str:
        return self.zh if lang == "zh" else self.en


DEFAULT_FOLLOWUP_RULES: tuple[FollowUpRule, ...] = (
    FollowUpRule(rule="first_contact", zh="新客户/新商机首次联系", en="First contact of a new "
                 "customer or opportunity", days=5),
    FollowUpRule(rule="proposal_feedback", zh="方案提交后未反馈预警", en="Proposal without "
                 "feedback", days=3),
    FollowUpRule(rule="objection", zh="方案异议书面答复", en="Written answer to an objection",
                 days=1),
    FollowUpRule(rule="complaint_answer", zh="投诉/建议响应", en="Answer a complaint", days=1),
    FollowUpRule(rule="complaint_solve", zh="投诉/建议解决", en="Solve a complaint", days=3,
                 working_days=True),
    FollowUpRule(rule="after_deal_48h", zh="成交后48小时回访", en="Call 48 hours after the deal",
                 days=2),
    FollowUpRule(rule="after_deal_week", zh="成交后一周回访(首次售后拜访)",
                 en="Visit a week after the deal", days=7),
    FollowUpRule(rule="satisfaction", zh="成交后满意度调查", en="Satisfaction survey after "
                 "the deal", days=15),
    FollowUpRule(rule="value_added", zh="高价值客户季度增值服务", en="Quarterly value-added "
                 "service for tier A", days=90),
    FollowUpRule(rule="holiday", zh="节日问候(节前最后一个工作日)", en="Holiday greeting (last "
                 "working day before)", days=0),
    FollowUpRule(rule="birthday", zh="生日问候", en="Birthday greeting", days=0),
)


class AgendaItem(BaseModel):
    """An item of the weekly meeting's standing agenda."""

    no: int
    item: str
    owner: str | None = None
    minutes: int = Field(ge=0)
    materials: str | None = None


DEFAULT_AGENDA: tuple[AgendaItem, ...] = (
    AgendaItem(no=1, item="上周业绩通报(数据对比)", owner="销售主管", minutes=20,
               materials="《上周业绩数据表》"),
    AgendaItem(no=2, item="销售代表发言(未达标原因分析)", owner="销售代表", minutes=30),
    AgendaItem(no=3, item="客户共性问题讨论", owner="销售主管", minutes=25),
    AgendaItem(no=4, item="本周行动项明确", owner="销售主管", minutes=15,
               materials="《会议纪要》"),
)


class Tier(BaseModel):
    """A customer tier and its follow-up cadence."""

    tier: str
    zh: str
    en: str
    contact: str
    interval_days: int = Field(gt=0)
    extra_contact: str | None = None
    extra_interval_days: int | None = Field(default=None, gt=0)


class RosterEntry(BaseModel):
    """A rep on the team."""

    rep: str
    region: str = ""  # blank: the rep counts under "unassigned"
    product_line: str = ""
    manager: str | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    email: str | None = None
    leave: str | None = None

    def leave_days(self) -> set[dt.date]:
        """Days off from the ``leave`` text: ``2024-03-04~2024-03-06; 2024-03-15``."""
        return parse_day_list(self.leave)


class CalendarOverride(BaseModel):
    """A team's own day off or extra working day."""

    date: dt.date
    working: bool
    note: str | None = None


ROBOT_KINDS = {"": "auto", "自动": "auto", "钉钉": "dingtalk", "企业微信": "wecom", "企微": "wecom",
               "wework": "wecom", "wechatwork": "wecom", "weixin": "wecom",
               "microsoftteams": "teams", "msteams": "teams"}


class General(BaseModel):
    """Scalar options, one row each in the settings sheet."""

    team_name: str = "销售团队"
    language: Lang = "zh"
    calendar: str = "CN"
    # The currency of every amount (ISO code); amounts are in ten thousands of it (万元,
    # 10k CNY by default; 万美元, 10k USD …), as headers and texts say.
    currency: str = "CNY"
    # The unit amounts are typed and shown in: 10000 (万, ten thousands, the default) or 1
    # (whole units: 元, USD …). xlsales keeps amounts in 万 and converts at the workbooks'
    # edges.
    amount_unit: str = "10000"
    report_deadline: dt.time = dt.time(18, 0)
    spotcheck_share: float = Field(default=0.3, gt=0, le=1)
    completion_threshold: float = Field(default=0.8, gt=0)
    completion_ceiling: float = Field(default=3.0, gt=0)
    meeting_max_minutes: int = Field(default=90, gt=0)
    target_margin_low: float = 0.10
    target_margin_high: float = 0.15
    week_label: Literal["iso", "monday"] = "iso"
    conversion_target: float = Field(default=0.30, ge=0, le=1)
    meeting_topic: str = "季度目标冲刺周会"
    meeting_time: str = "周一 9:00-10:30"
    review_file: str = "review_{period}.xlsx"
    reconcile_tolerance: float = Field(default=0.10, ge=0)
    commit_min: float = Field(default=0.75, ge=0, le=1)
    best_case_min: float = Field(default=0.5, ge=0, le=1)
    # Follow-ups (spec §3): a "within N days" deadline on a day off moves to the next
    # working day ("next"; the last one before when that gives more working days than the
    # rule's N) or always to the last working day before ("previous").
    deadline_off_day: Literal["next", "previous"] = "next"
    # Onboarding: follow-ups overdue by more than this many days when xlsales first plans a
    # customer are spread over the next working days, at most catch_up_per_day customers
    # per rep and day.
    catch_up_after_days: int = Field(default=14, ge=0)
    catch_up_per_day: int = Field(default=5, gt=0)
    # The group-chat robot `xlsales summary --post` sends the digest to (blank: none).
    webhook_url: str = ""
    webhook_kind: Literal["auto", "dingtalk", "wecom", "teams"] = "auto"
    webhook_secret: str = ""
    # The team ledger (README "The team ledger"): blank is .xlsales/ledger.sqlite in the
    # workspace; a PostgreSQL URL; "off" records nothing.
    ledger_url: str = ""

    @field_validator("calendar")
    @classmethod
    def _a_known_calendar(cls, value: str) -> str:
        """CN (statutory holidays and make-up days) or a country the holidays package
        knows (HK, SG, US …)."""
        code = value.strip().upper()
        if code == "CN":
            return code
        import holidays

        if code not in holidays.list_supported_countries():
            raise InputError(Label(f"未知的日历 {value!r}："
                                   "请用 CN 或 HK、SG、TW、US 这样的国家代码",
                                   f"unknown calendar {value!r}: use CN or a country code "
                                   "such as HK, SG, TW, US"))
        return code

    @field_validator("currency")
    @classmethod
    def _a_currency_code(cls, value: str) -> str:
        """A three-letter ISO code (CNY, USD, EUR …); 人民币/元/RMB are CNY."""
        code = value.strip().upper()
        code = {"人民币": "CNY", "元": "CNY", "RMB": "CNY", "美元": "USD", "欧元": "EUR",
                "英镑": "GBP", "日元": "JPY", "港元": "HKD", "港币": "HKD"}.get(code, code)
        if not re.fullmatch(r"[A-Z]{3}", code):
            raise InputError(Label(f"不是三个字母的货币代码(如 CNY、USD、EUR):{value!r}",
                                   f"not a three-letter currency code (such as CNY, USD, "
                                   f"EUR): {value!r}"))
        return code

    @field_validator("amount_unit", mode="before")
    @classmethod
    def _an_amount_unit(cls, value: object) -> str:
        """10000 (万, 万元, 10k) or 1 (元, unit, whole units)."""
        from xlsales.words import unit_code

        code = unit_code(value)
        if code is None:
            raise InputError(Label(f"金额单位须为 10000(万元)或 1(元):{value!r}",
                                   f"the amount unit must be 10000 (ten thousands) or 1 "
                                   f"(whole units): {value!r}"))
        return code

    @field_validator("webhook_url")
    @classmethod
    def _a_web_address(cls, value: str) -> str:
        """Blank, or an http(s) address (never a file or another scheme)."""
        url = value.strip()
        if url and not re.match(r"https?://[^\s/]+", url, re.IGNORECASE):
            raise InputError(Label(f"必须是 http:// 或 https:// 开头的地址：{value!r}",
                                   f"must be an address starting with http:// or https://: "
                                   f"{value!r}"))
        return url

    @field_validator("webhook_kind", mode="before")
    @classmethod
    def _a_robot_kind(cls, value: object) -> object:
        """The robot's kind as people write it: 钉钉, 企业微信, 企微, Teams …; blank is auto."""
        if not isinstance(value, str):
            return value
        text = value.strip().lower().replace(" ", "")
        return ROBOT_KINDS.get(text, text)

    @field_validator("ledger_url")
    @classmethod
    def _a_ledger_url(cls, value: str) -> str:
        """Blank, off, or a database URL (postgresql://…, sqlite:///…)."""
        url = value.strip()
        if url and url.lower() != "off" and not re.match(
                r"(postgres(ql)?(\+\w+)?|sqlite)://", url, re.IGNORECASE):
            raise InputError(Label(f"必须留空、填 off 或 postgresql:// 开头的地址:{value!r}",
                                   f"must be blank, off or an address such as "
                                   f"postgresql://host/db: {value!r}"))
        return url

    @field_validator("webhook_secret")
    @classmethod
    def _trimmed(cls, value: str) -> str:
        return value.strip()

    @field_validator("review_file")
    @classmethod
    def _a_file_name(cls, value: str) -> str:
        """A file name in the workspace, never a path: shared settings must not make a
        command write (or replace a workbook) anywhere else."""
        name = value.strip()
        if not name or "/" in name or "\\" in name or ":" in name or name in (".", "..") \
                or name.startswith("."):
            raise InputError(Label(f"必须是工作区里的文件名，不能是路径：{value!r}",
                                   f"must be a file name in the workspace, not a path: "
                                   f"{value!r}"))
        try:
            example = name.format(period="2024-03")
        except (KeyError, IndexError, ValueError):
            raise InputError(Label("只能含 {period}，不能有其他 {…} 字段：" f"{value!r}",
                                   "may hold {period} and no other {…} field: "
                                   f"{value!r}")) from None
        if not example.lower().endswith(".xlsx"):
            raise InputError(Label(f"必须以 .xlsx 结尾：{value!r}",
                                   f"must end with .xlsx: {value!r}"))
        return name


# Built-in vocabularies: (list name, zh, en).
_DEFAULT_LISTS: tuple[tuple[str, Label], ...] = (
    *(("customer_stages", Label(z, e)) for z, e in (
        ("潜在客户", "Potential"), ("意向客户", "Intent"),
        ("成交客户", "Won"), ("流失客户", "Lost"))),
    *(("priorities", Label(z, e)) for z, e in (("高", "High"), ("中", "Medium"), ("低", "Low"))),
    *(("lead_sources", Label(z, e)) for z, e in (
        ("线上官网", "Website"), ("展会推广", "Trade show"), ("老客户推荐", "Referral"),
        ("电话营销", "Cold call"), ("社交媒体", "Social media"), ("其他", "Other"))),
    *(("industries", Label(z, e)) for z, e in (
        ("制造业", "Manufacturing"), ("零售", "Retail"), ("金融", "Finance"),
        ("医疗", "Healthcare"), ("教育", "Education"), ("物流", "Logistics"),
        ("互联网", "Internet"), ("能源", "Energy"), ("其他", "Other"))),
    *(("contact_kinds", Label(z, e)) for z, e in (
        ("电话", "Phone"), ("拜访", "Visit"), ("邮件", "Email"), ("微信", "WeChat"),
        ("演示", "Demo"), ("会议", "Meeting"), ("主管拜访", "Manager visit"),
        ("人工筛选", "Manual screening"))),
    *(("assessment", Label(z, e)) for z, e in (("强", "Strong"), ("中", "Medium"), ("弱", "Weak"))),
    *(("action_status", Label(z, e)) for z, e in (
        ("未开始", "Not started"), ("进行中", "In progress"), ("已完成", "Done"),
        ("已取消", "Cancelled"))),
    *(("follow_up_kinds", Label(z, e)) for z, e in (
        ("例行跟进", "Routine"), ("首次联系", "First contact"),
        ("方案反馈", "Proposal feedback"), ("客户异议", "Objection raised"),
        ("异议答复", "Objection answered"), ("客户投诉", "Complaint received"),
        ("投诉响应", "Complaint answered"), ("投诉解决", "Complaint solved"),
        ("售后回访", "After-sales"), ("满意度调查", "Satisfaction survey"),
        ("节日问候", "Holiday"), ("生日问候", "Birthday"),
        ("增值服务", "Value-added service"))),
    *(("yes_no", Label(z, e)) for z, e in (("是", "Yes"), ("否", "No"))),
)

DEFAULT_STAGES: tuple[Stage, ...] = (
    Stage(zh="潜在客户识别", en="Prospecting", order=1, probability=0.05, max_days=30,
          ideal_conversion=0.70),
    Stage(zh="初步接触", en="First contact", order=2, probability=0.10, max_days=21,
          ideal_conversion=0.70),
    Stage(zh="需求分析", en="Needs analysis", order=3, probability=0.25, max_days=21,
          ideal_conversion=0.60),
    Stage(zh="方案提交", en="Proposal", order=4, probability=0.50, max_days=14,
          ideal_conversion=0.60),
    Stage(zh="报价与谈判", en="Negotiation", order=5, probability=0.75, max_days=21,
          ideal_conversion=0.65),
    Stage(zh="签约成交", en="Won", order=6, probability=1.0, kind="won"),
    Stage(zh="售后服务", en="After-sales", order=7, probability=1.0, kind="won"),
    Stage(zh="输单", en="Lost", order=99, probability=0.0, kind="lost"),
)

DEFAULT_TIERS: tuple[Tier, ...] = (
    Tier(tier="A", zh="高价值客户", en="High value", contact="拜访", interval_days=7,
         extra_contact="主管拜访", extra_interval_days=30),
    Tier(tier="B", zh="中价值客户", en="Medium value", contact="电话", interval_days=14,
         extra_contact="邮件", extra_interval_days=30),
    Tier(tier="C", zh="低价值客户", en="Low value", contact="邮件", interval_days=30,
         extra_contact="人工筛选", extra_interval_days=90),
)

# Stage aliases accepted when parsing (seed 004 names "方案制定/方案提交").
STAGE_ALIASES: dict[str, str] = {"方案制定": "方案提交", "方案制定/方案提交": "方案提交"}

# The dropdown lists the roster fills while the lists sheet has none of them (list → roster
# column): after init, the regions and product lines typed in the roster are the dropdowns'.
ROSTER_LISTS = {"regions": "region", "product_lines": "product_line"}


class Settings(BaseModel):
    """Everything a team configures."""

    general: General = Field(default_factory=General)
    roster: list[RosterEntry] = Field(default_factory=list)
    lists: list[ListItem] = Field(default_factory=list)
    stages: list[Stage] = Field(default_factory=lambda: list(DEFAULT_STAGES))
    tiers: list[Tier] = Field(default_factory=lambda: list(DEFAULT_TIERS))
    calendar: list[CalendarOverride] = Field(default_factory=list)
    followup_rules: list[FollowUpRule] = Field(
        default_factory=lambda: list(DEFAULT_FOLLOWUP_RULES))
    agenda: list[AgendaItem] = Field(default_factory=lambda: list(DEFAULT_AGENDA))

    def followup_rule(self, rule: str) -> FollowUpRule | None:
        return next((r for r in self.followup_rules if r.rule == rule and r.enabled), None)

    @classmethod
    def default(cls, lang: Lang = "zh") -> Settings:
        """The built-in settings; in ``en`` with the English default names and texts (team
        name, meeting topic, time and standing agenda: :func:`xlsales.words.defaults`)."""
        from xlsales.words import defaults

        lists = [
            ListItem(list=name, zh=lab.zh, en=lab.en, order=i)
            for i, (name, lab) in enumerate(_DEFAULT_LISTS)
        ]
        return cls(lists=lists, **defaults(lang))

    _lookups: Any = PrivateAttr(default=None)
    _problems: list[Any] = PrivateAttr(default_factory=list)
    _source: Any = PrivateAttr(default=None)

    @property
    def source(self) -> Any:
        """The settings workbook these settings were read from (None: built in code, or
        changed since); only such settings may rewrite a workbook's dropdown lists."""
        return self._source

    @source.setter
    def source(self, path: Any) -> None:
        self._source = path

    @property
    def problems(self) -> list[Any]:
        """What reading the settings workbook found wrong (findings naming their cells);
        the settings hold the valid rest."""
        return self._problems

    @problems.setter
    def problems(self, found: list[Any]) -> None:
        self._problems = list(found)

    def __eq__(self, other: object) -> bool:
        """Equal values are equal settings (where they were read from, and what reading
        them found, are not part of them)."""
        if not isinstance(other, Settings):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in type(self).model_fields)

    __hash__ = None  # type: ignore[assignment]

    def lookups(self) -> Lookups:
        """Dictionaries over these settings, built once (rebuilt when a list is replaced)."""
        key = tuple((id(x), len(x)) for x in (self.roster, self.lists, self.stages, self.tiers))
        cached = self._lookups
        if cached is None or cached.key != key or cached.settings is not self:
            cached = Lookups(self, key)
            self._lookups = cached
        return cached

    # -- dropdown lists ---------------------------------------------------

    def items(self, name: str) -> list[ListItem]:
        """The items of a named list (includes the team lists)."""
        return self.lookups().items(name)

    def list_names(self) -> list[str]:
        names = ["reps", "managers", "stages", "tiers"]
        names += list(dict.fromkeys(i.list for i in self.lists))
        names += [n for n, key in ROSTER_LISTS.items()  # the roster's, without a list
                  if n not in names and any(getattr(r, key) for r in self.roster)]
        return names

    def labels(self, name: str, lang: Lang) -> list[str]:
        return [i.label(lang) for i in self.items(name)]

    def canonical(self, name: str, value: str) -> str | None:
        """Map a value in either language to its canonical form; None when unknown."""
        return self.lookups().canonical(name, value)

    def display(self, name: str, value: str, lang: Lang) -> str:
        """Show a canonical value in ``lang`` (unknown values unchanged)."""
        item = self.lookups().item(name, value)
        return value if item is None else item.label(lang)

    # -- lookups -----------------------------------------------------------

    def stage(self, name: str) -> Stage | None:
        return self.lookups().stage(name)

    def rep(self, name: str) -> RosterEntry | None:
        return self.lookups().reps.get(name)

    def reps(self) -> list[str]:
        return [r.rep for r in self.roster]


class Lookups:
    """The settings' lists, stages and roster as dictionaries, built once per settings."""

    def __init__(self, settings: Settings, key: tuple[Any, ...] = ()) -> None:
        self.settings = settings
        self.key = key
        self._items: dict[str, list[ListItem]] = {}
        self._maps: dict[str, tuple[dict[str, str], dict[str, str], dict[str, ListItem]]] = {}
        self.reps: dict[str, RosterEntry] = {}
        for r in settings.roster:
            self.reps.setdefault(r.rep, r)
        self.stages: dict[str, Stage] = {}
        for st in settings.stages:
            self.stages.setdefault(st.canonical, st)

    def items(self, name: str) -> list[ListItem]:
        """The items of a named list, built once."""
        if name not in self._items:
            self._items[name] = self._build_items(name)
        return self._items[name]

    def _build_items(self, name: str) -> list[ListItem]:
        s = self.settings
        if name == "reps":
            return [ListItem(list="reps", zh=r.rep, en=r.rep) for r in s.roster]
        if name == "managers":
            seen = dict.fromkeys(r.manager for r in s.roster if r.manager)
            return [ListItem(list="managers", zh=m, en=m) for m in seen]
        if name == "stages":
            return [ListItem(list="stages", zh=st.zh, en=st.en, order=st.order)
                    for st in sorted(s.stages, key=lambda st: st.order)]
        if name == "tiers":
            return [ListItem(list="tiers", zh=t.tier, en=t.tier) for t in s.tiers]
        items = sorted((i for i in s.lists if i.list == name), key=lambda i: i.order)
        if name in ROSTER_LISTS and not items:  # no list yet (after init): the roster's
            seen = dict.fromkeys(v for r in s.roster if (v := getattr(r, ROSTER_LISTS[name])))
            items = [ListItem(list=name, zh=v, en=v, order=n) for n, v in enumerate(seen)]
        return items

    def _map(self, name: str) -> tuple[dict[str, str], dict[str, str], dict[str, ListItem]]:
        """Exact values, and keys without spaces or case (``刘 洋`` and ``刘洋``, ``Line A``
        and ``line a``), to the canonical value; items by value."""
        if name not in self._maps:
            exact: dict[str, str] = {}
            loose: dict[str, str] = {}
            by_value: dict[str, ListItem] = {}
            for item in self.items(name):
                for v in (item.zh, item.en):
                    exact.setdefault(v, item.canonical)
                    by_value.setdefault(v, item)
                for v in (item.zh, item.en):
                    loose.setdefault(name_key(v), item.canonical)
            self._maps[name] = (exact, loose, by_value)
        return self._maps[name]

    def canonical(self, name: str, value: str) -> str | None:
        """A value in either language as its canonical form, matched exactly, else without
        spaces (ASCII, full-width, zero-width) and case; None when unknown."""
        v = value.strip()
        if name == "stages":
            v = STAGE_ALIASES.get(v, v)
        exact, loose, _ = self._map(name)
        found = exact.get(v)
        return found if found is not None else loose.get(name_key(v))

    def respelling(self, name: str, value: str) -> str | None:
        """The list value ``value`` is read as when only spaces (or zero-width characters)
        tell them apart (``刘 洋`` → ``刘洋``); None for an exact match (in any case) or no
        match."""
        v = value.strip()
        exact, loose, by_value = self._map(name)
        canon = None if v in exact else loose.get(name_key(v))
        item = by_value.get(canon) if canon is not None else None
        if item is None or v.casefold() in (item.zh.casefold(), item.en.casefold()):
            return None
        return canon

    def item(self, name: str, value: str) -> ListItem | None:
        """The item whose zh or en form is ``value``."""
        return self._map(name)[2].get(value)

    def canonical_series(self, name: str, s: pd.Series) -> pd.Series:
        """Every value of ``s`` in its canonical form; unknown values unchanged."""
        codes, values = s.factorize()
        mapped = [self.canonical(name, v) or v for v in values]
        if mapped == list(values):
            return s
        import pandas as pd

        return pd.Series(pd.Index(mapped, dtype="str").take(codes, allow_fill=True),
                         index=s.index, dtype="str")

    def known(self, name: str, s: pd.Series) -> pd.Series:
        """Whether each value of ``s`` is a known value of the list (blank: True)."""
        canon = {i.canonical for i in self.items(name)}
        return s.isna() | s.isin(canon)

    def stage(self, name: str) -> Stage | None:
        canon = self.canonical("stages", name)
        return None if canon is None else self.stages.get(canon)


def parse_day_list(text: str | None) -> set[dt.date]:
    """Dates and ranges separated by ``;``/``,``/``、``: ``2024-03-04~2024-03-06; 2024-03-15``."""
    out: set[dt.date] = set()
    if not text:
        return out
    for part in re.split(r"[;；,，、\s]+", text.strip()):
        if not part:
            continue
        ends = re.split(r"~|～|至|--", part)
        try:
            first, last = to_date(ends[0]), to_date(ends[-1])
        except ValueError:
            raise InputError(Label(f"不是日期或日期范围：{part!r}",
                                   f"not a date or range of dates: {part!r}")) from None
        if first is None or last is None:
            continue
        while first <= last:
            out.add(first)
            first += dt.timedelta(days=1)
    return out
