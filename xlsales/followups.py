"""The follow-up engine: each customer's next contact from its tier, stage and history.

Every rule of the spec's table (§3) proposes a due date; the customer's next
follow-up is the earliest one. Tier cadences count calendar days from the last
contact; deadlines count calendar or working days as the settings say. A due date
on a non-working day moves back to the working day before it, so the contact
happens within the interval; holiday greetings land on the last working day before
the holiday. Lost customers sleep.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from xlsales.calendar import WorkCalendar
from xlsales.i18n import Label, Lang
from xlsales.normalize import company_key
from xlsales.settings import Settings
from xlsales.tables.customers import UNKNOWN_BIRTHDAY

LOST, WON_CUSTOMER = "流失客户", "成交客户"
PROPOSAL_STAGE = "方案提交"
GREETED_HOLIDAYS = {"Spring Festival": Label("春节", "Spring Festival"),
                    "Mid-autumn Festival": Label("中秋节", "Mid-Autumn Festival"),
                    "National Day": Label("国庆节", "National Day"),
                    "Dragon Boat Festival": Label("端午节", "Dragon Boat Festival"),
                    "New Year's Day": Label("元旦", "New Year's Day"),
                    "Labour Day": Label("劳动节", "Labour Day")}
HOLIDAY_LOOKAHEAD = 45
DEAL_WINDOW = 60  # after-deal touches are asked for during this many days
# Any contact in this window of days after the deal settles the rule.
SETTLED_WITHIN = {"after_deal_48h": (0, 7), "after_deal_week": (4, 14)}

KIND = {"tier": Label("例行跟进", "Routine"), "tier_extra": Label("例行跟进", "Routine"),
        "first_contact": Label("首次联系", "First contact"),
        "proposal_feedback": Label("方案反馈", "Proposal feedback"),
        "objection": Label("异议答复", "Objection answered"),
        "complaint_answer": Label("投诉响应", "Complaint answered"),
        "complaint_solve": Label("投诉解决", "Complaint solved"),
        "after_deal_48h": Label("售后回访", "After-sales"),
        "after_deal_week": Label("售后回访", "After-sales"),
        "satisfaction": Label("满意度调查", "Satisfaction survey"),
        "value_added": Label("增值服务", "Value-added service"),
        "holiday": Label("节日问候", "Holiday"), "birthday": Label("生日问候", "Birthday")}
# Log kinds that settle a rule (any contact settles first contact and the cadence).
SETTLES = {"proposal_feedback": {"方案反馈"}, "objection": {"异议答复"},
           "complaint_answer": {"投诉响应", "投诉解决"}, "complaint_solve": {"投诉解决"},
           "after_deal_48h": {"售后回访"}, "after_deal_week": {"售后回访"},
           "satisfaction": {"满意度调查"}, "value_added": {"增值服务"},
           "holiday": {"节日问候"}, "birthday": {"生日问候"}}


@dataclass(frozen=True)
class Due:
    """A follow-up a rule asks for."""

    customer: str
    owner: str
    date: dt.date
    rule: str
    kind: str
    reason: str

    def overdue_days(self, today: dt.date) -> int:
        return max(0, (today - self.date).days)

    def as_dict(self, today: dt.date | None = None) -> dict[str, Any]:
        d = {"customer": self.customer, "owner": self.owner, "date": self.date.isoformat(),
             "rule": self.rule, "kind": self.kind, "reason": self.reason}
        if today is not None:
            d["overdue_days"] = self.overdue_days(today)
        return d


@dataclass
class CustomerPlan:
    """Every follow-up the rules ask of one customer, earliest first."""

    customer: dict[str, Any]
    dues: list[Due] = field(default_factory=list)

    @property
    def next(self) -> Due | None:
        return self.dues[0] if self.dues else None


class Engine:
    """Applies the cadence policy with the team calendar."""

    def __init__(self, settings: Settings, cal: WorkCalendar | None = None,
                 lang: Lang = "zh") -> None:
        self.settings = settings
        self.cal = cal or WorkCalendar(settings.general.calendar, tuple(settings.calendar))
        self.lang = lang

    # -- dates ---------------------------------------------------------------------

    def on_working_day(self, day: dt.date) -> dt.date:
        """``day`` or the last working day before it."""
        while not self.cal.is_working(day):
            day -= dt.timedelta(days=1)
        return day

    def deadline(self, start: dt.date, rule: str) -> dt.date | None:
        """``start`` plus the rule's days (calendar or working), on a working day."""
        r = self.settings.followup_rule(rule)
        if r is None:
            return None
        if r.working_days:
            return self.cal.add(start, r.days)
        return self.on_working_day(start + dt.timedelta(days=r.days))

    def _due(self, c: dict[str, Any], day: dt.date, rule: str, reason: str,
             kind_key: str | None = None) -> Due:
        return Due(c["name"], c.get("owner") or "", day, rule,
                   KIND[kind_key or rule](self.lang), reason)

    # -- rules ---------------------------------------------------------------------

    def plan(self, c: dict[str, Any], log: list[dict[str, Any]], opps: list[dict[str, Any]],
             today: dt.date) -> CustomerPlan:
        """The follow-ups one customer needs (``log`` and ``opps`` are its own)."""
        plan = CustomerPlan(c)
        if c.get("stage") == LOST:
            return plan
        log = sorted(log, key=lambda r: r["date"])
        last = max([r["date"] for r in log] + ([c["last_contact"]] if c.get("last_contact")
                                                 else []), default=None)
        t = self.lang
        dues: list[Due] = []
        tier = next((x for x in self.settings.tiers if x.tier == c.get("tier")), None)
        if tier and last:
            dues.append(self._due(c, self.on_working_day(last + dt.timedelta(
                days=tier.interval_days)), f"tier_{tier.tier}",
                _reason(t, "{tier}类客户每{n}天{kind}", "tier {tier}: {kind} every {n} days",
                        tier=tier.tier, n=tier.interval_days, kind=tier.contact), "tier"))
            if tier.extra_interval_days and tier.extra_contact:
                extra_last = max((r["date"] for r in log
                                  if r.get("contact_kind") == tier.extra_contact
                                  or r.get("kind") == tier.extra_contact), default=None)
                # Never done: count from the first known day of the customer, so that
                # routine contacts do not postpone the extra contact forever.
                first_seen = min([r["date"] for r in log] + [
                    d for d in (c.get("created_on"), last) if isinstance(d, dt.date)])
                base = extra_last or first_seen
                dues.append(self._due(c, self.on_working_day(base + dt.timedelta(
                    days=tier.extra_interval_days)), f"tier_{tier.tier}_extra",
                    _reason(t, "{tier}类客户每{n}天{kind}", "tier {tier}: {kind} every {n} days",
                            tier=tier.tier, n=tier.extra_interval_days,
                            kind=tier.extra_contact), "tier_extra"))
        dues += self._first_contact(c, log, opps)
        dues += self._proposals(c, log, opps)
        dues += self._raised(c, log)
        if c.get("stage") == WON_CUSTOMER or any(o.get("closed_on") and _won(self, o)
                                                 for o in opps):
            dues += self._after_deal(c, log, opps, today)
        plan.dues = sorted(dues, key=lambda d: (d.date, d.rule))
        return plan

    def _first_contact(self, c: dict[str, Any], log: list[dict[str, Any]],
                       opps: list[dict[str, Any]]) -> list[Due]:
        starts = [("customer", c.get("created_on"))] + [
            ("opportunity", o.get("created_on")) for o in opps if not o.get("closed_on")]
        out = []
        for what, start in starts:
            if not isinstance(start, dt.date):
                continue
            if any(r["date"] >= start for r in log):
                continue
            day = self.deadline(start, "first_contact")
            if day:
                out.append(self._due(c, day, "first_contact", _reason(
                    self.lang, "新{what}({start})需在{n}天内首次联系",
                    "new {what} ({start}): first contact within {n} days",
                    what=_WHAT[what](self.lang), start=start,
                    n=self.settings.followup_rule("first_contact").days)))  # type: ignore[union-attr]
        return sorted(out, key=lambda d: d.date)[:1]  # the earliest deadline

    def _proposals(self, c: dict[str, Any], log: list[dict[str, Any]],
                   opps: list[dict[str, Any]]) -> list[Due]:
        out = []
        for o in opps:
            entered = o.get("stage_entered")
            if o.get("stage") != PROPOSAL_STAGE or not isinstance(entered, dt.date):
                continue
            if any(r["date"] > entered and r.get("kind") in SETTLES["proposal_feedback"]
                   for r in log):
                continue
            day = self.deadline(entered, "proposal_feedback")
            if day:
                out.append(self._due(c, day, "proposal_feedback", _reason(
                    self.lang, "方案于{d}提交,{n}天未获反馈需跟进",
                    "proposal sent {d}: chase feedback after {n} days", d=entered,
                    n=self.settings.followup_rule("proposal_feedback").days)))  # type: ignore[union-attr]
        return out

    def _raised(self, c: dict[str, Any], log: list[dict[str, Any]]) -> list[Due]:
        out = []
        for raised_kind, rules in (("客户异议", ("objection",)),
                                   ("客户投诉", ("complaint_answer", "complaint_solve"))):
            events = [r["date"] for r in log if r.get("kind") == raised_kind]
            if not events:
                continue
            raised = events[-1]
            for rule in rules:
                if any(r["date"] >= raised and r.get("kind") in SETTLES[rule] for r in log):
                    continue
                day = self.deadline(raised, rule)
                if day:
                    out.append(self._due(c, day, rule, _reason(
                        self.lang, "{d}{what},需在{n}{unit}内处理",
                        "{what} on {d}: due within {n} {unit}", d=raised,
                        what=_RAISED[raised_kind](self.lang),
                        n=self.settings.followup_rule(rule).days,  # type: ignore[union-attr]
                        unit=_unit(self.lang, self.settings.followup_rule(rule).working_days))))  # type: ignore[union-attr]
        return out

    def _after_deal(self, c: dict[str, Any], log: list[dict[str, Any]],
                    opps: list[dict[str, Any]], today: dt.date) -> list[Due]:
        out = []
        closes = [o["closed_on"] for o in opps if o.get("closed_on") and _won(self, o)]
        if closes:
            deal = max(closes)
            for rule in ("after_deal_48h", "after_deal_week", "satisfaction"):
                if (today - deal).days > DEAL_WINDOW:
                    break
                lo, hi = SETTLED_WITHIN.get(rule, (1, 10_000))
                if any(lo <= (r["date"] - deal).days <= hi
                       and (rule in SETTLED_WITHIN or r.get("kind") in SETTLES[rule])
                       for r in log):
                    continue
                day = self.deadline(deal, rule)
                if day:
                    out.append(self._due(c, day, rule, _reason(
                        self.lang, "{d}成交,{label}", "deal closed {d}: {label}", d=deal,
                        label=self.settings.followup_rule(rule).label(self.lang))))  # type: ignore[union-attr]
            if c.get("tier") == "A" and self.settings.followup_rule("value_added"):
                last_service = max((r["date"] for r in log
                                    if r.get("kind") in SETTLES["value_added"]), default=deal)
                day = self.deadline(last_service, "value_added")
                if day:
                    out.append(self._due(c, day, "value_added", _reason(
                        self.lang, "A类客户每季度一次增值服务", "tier A: a value-added service "
                        "every quarter")))
        out += self._greetings(c, log, today)
        return out

    def _greetings(self, c: dict[str, Any], log: list[dict[str, Any]],
                   today: dt.date) -> list[Due]:
        out = []
        if self.settings.followup_rule("holiday"):
            holiday = self.next_holiday(today)
            if holiday:
                name, start = holiday
                day = self.on_working_day(start - dt.timedelta(days=1))
                if not any(day - dt.timedelta(days=14) <= r["date"] <= start
                           and r.get("kind") in SETTLES["holiday"] for r in log):
                    out.append(self._due(c, day, "holiday", _reason(
                        self.lang, "{h}问候(节前最后一个工作日)",
                        "{h} greeting (last working day before)", h=name)))
        birthday = c.get("birthday")
        if (self.settings.followup_rule("birthday") and isinstance(birthday, dt.date)
                and birthday != UNKNOWN_BIRTHDAY):
            nxt = _next_anniversary(birthday, today)
            day = self.on_working_day(nxt)
            if not any(r["date"] >= day - dt.timedelta(days=7)
                       and r.get("kind") in SETTLES["birthday"] for r in log):
                out.append(self._due(c, day, "birthday", _reason(
                    self.lang, "联系人生日 {d}", "contact's birthday {d}", d=nxt)))
        return out

    def next_holiday(self, today: dt.date) -> tuple[str, dt.date] | None:
        """The next greeted statutory holiday starting within the look-ahead, and its day."""
        day = today
        for _ in range(HOLIDAY_LOOKAHEAD):
            day += dt.timedelta(days=1)
            name = self.cal.holiday_name(day)
            prev = self.cal.holiday_name(day - dt.timedelta(days=1))
            if name in GREETED_HOLIDAYS and prev != name:
                return GREETED_HOLIDAYS[name](self.lang), day
        return None


_WHAT = {"customer": Label("客户", "customer"), "opportunity": Label("商机", "opportunity")}
_RAISED = {"客户异议": Label("客户提出异议", "objection raised"),
           "客户投诉": Label("客户投诉/建议", "complaint received")}


def _unit(lang: Lang, working: bool) -> str:
    return (("个工作日" if working else "天") if lang == "zh"
            else ("working days" if working else "days"))


def _reason(lang: Lang, zh: str, en: str, **params: Any) -> str:
    return (zh if lang == "zh" else en).format(**params)


def _won(engine: Engine, opp: dict[str, Any]) -> bool:
    stage = engine.settings.stage(opp.get("stage") or "")
    return stage is not None and stage.kind == "won"


def _next_anniversary(birthday: dt.date, today: dt.date) -> dt.date:
    for year in (today.year, today.year + 1):
        try:
            day = birthday.replace(year=year)
        except ValueError:  # 29 February
            day = dt.date(year, 2, 28)
        if day >= today:
            return day
    return today


@dataclass
class FollowUpReport:
    """Next follow-ups of every customer and the due lists per rep."""

    today: dt.date
    plans: list[CustomerPlan]

    def next_dues(self, rep: str | None = None) -> list[Due]:
        return [p.next for p in self.plans if p.next and (rep is None or p.next.owner == rep)]

    def all_dues(self, rep: str | None = None) -> list[Due]:
        return [d for p in self.plans for d in p.dues if rep is None or d.owner == rep]

    def buckets(self, rep: str | None = None) -> dict[str, list[Due]]:
        """Due follow-ups: overdue, today, the rest of this week."""
        week_end = self.today + dt.timedelta(days=6 - self.today.weekday())
        out: dict[str, list[Due]] = {"overdue": [], "today": [], "this_week": []}
        for d in sorted(self.all_dues(rep), key=lambda d: (d.date, d.owner, d.customer)):
            if d.date < self.today:
                out["overdue"].append(d)
            elif d.date == self.today:
                out["today"].append(d)
            elif d.date <= week_end:
                out["this_week"].append(d)
        return out

    def per_rep(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = defaultdict(lambda: {
            "overdue": 0, "today": 0, "this_week": 0})
        for bucket, dues in self.buckets().items():
            for d in dues:
                counts[d.owner][bucket] += 1
        return dict(counts)


def follow_up_report(customers: Iterable[dict[str, Any]], log: Iterable[dict[str, Any]],
                     opportunities: Iterable[dict[str, Any]], settings: Settings,
                     today: dt.date, *, lang: Lang = "zh",
                     cal: WorkCalendar | None = None) -> FollowUpReport:
    """Plan every customer's follow-ups as of ``today`` (history after today is ignored)."""
    engine = Engine(settings, cal, lang)
    logs: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for r in log:
        if isinstance(r.get("date"), dt.date) and r["date"] <= today:
            logs[company_key(r.get("customer"))].append(r)
    opps: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for o in opportunities:
        opps[company_key(o.get("customer"))].append(o)
    plans = []
    for c in customers:
        if not c.get("name"):
            continue
        key = company_key(c["name"])
        plans.append(engine.plan(c, logs.get(key, []), opps.get(key, []), today))
    return FollowUpReport(today, plans)
