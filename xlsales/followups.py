"""The follow-up engine: each customer's next contact from its tier, stage and history.

Every rule of the spec's table (§3) proposes a due date; the customer's next
follow-up is the earliest one. Tier cadences count calendar days from the last
contact; deadlines count calendar or working days as the settings say. A due date
on a non-working day moves back to the working day before it, so the contact
happens within the interval; holiday greetings land on the last working day before
the holiday. Lost customers sleep.

The engine works on the canonical frames (:mod:`xlsales.frames`; records are turned
into frames first). Log rows dated up to today and opportunities belong to the customer
whose name has the same company key (:func:`~xlsales.normalize.company_key`, computed
once per distinct name). What the rules need of a customer's history is a plain
aggregate — the last contact, the last contact of each kind that settles a rule, the
latest objection and complaint, the latest won deal and the contacts in the windows
after it, the open opportunity and the proposals still waiting for an answer — and
:meth:`Engine.histories` computes it for every customer at once with group-bys, into one
:class:`History` per customer. Python then decides customer by customer which rules are
due (:meth:`Engine.decide`), with the calendar arithmetic memoised per day.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from xlsales.calendar import WorkCalendar
from xlsales.frames import frame, records
from xlsales.i18n import Label, Lang
from xlsales.normalize import company_key
from xlsales.settings import FollowUpRule, Settings, Tier
from xlsales.tables.customers import CUSTOMERS, FOLLOW_UPS, UNKNOWN_BIRTHDAY, keyed
from xlsales.tables.opportunities import OPPORTUNITIES

Rows = Iterable[dict[str, Any]] | pd.DataFrame

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
AFTER_DEAL = ("after_deal_48h", "after_deal_week", "satisfaction")
# Any contact in this window of days after the deal settles the rule.
SETTLED_WITHIN = {"after_deal_48h": (0, 7), "after_deal_week": (4, 14)}
SETTLED_AFTER = (1, 10_000)  # the window of the other after-deal rules (their own kind)

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
OBJECTION, COMPLAINT = "客户异议", "客户投诉"  # log kinds that raise a deadline

NONE = np.iinfo(np.int64).min  # a missing day number (NaT's integer)
_LAST = np.iinfo(np.int64).max
_EPOCH = dt.date(1970, 1, 1)


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


@dataclass(frozen=True, slots=True)
class History:
    """What the rules need of one customer's follow-up log (up to today) and
    opportunities; None where there is nothing."""

    first_logged: dt.date | None = None  # the first contact in the log
    last_logged: dt.date | None = None  # the last contact in the log
    extra_last: dt.date | None = None  # the last contact of the tier's extra kind
    # The open opportunity not contacted since its creation whose first-contact deadline
    # comes first (the first such in the table on a tie): its creation day.
    opp_start: dt.date | None = None
    proposals: tuple[dt.date, ...] = ()  # days proposals were submitted, no feedback since
    objection: dt.date | None = None  # the latest objection raised
    objection_answered: dt.date | None = None  # the latest contact that answers one
    complaint: dt.date | None = None  # the latest complaint
    complaint_answered: dt.date | None = None
    complaint_solved: dt.date | None = None
    deal: dt.date | None = None  # the latest won opportunity's closing day
    deal_settled: frozenset[str] = frozenset()  # after-deal rules a contact settled
    service_last: dt.date | None = None  # the last value-added service
    greeted_holiday: bool = False  # greeted for the next holiday already
    birthday_greeted: dt.date | None = None  # the last birthday greeting


class Engine:
    """Applies the cadence policy with the team calendar."""

    def __init__(self, settings: Settings, cal: WorkCalendar | None = None,
                 lang: Lang = "zh") -> None:
        self.settings = settings
        self.cal = cal or WorkCalendar(settings.general.calendar, tuple(settings.calendar))
        self.lang = lang
        self.rules: dict[str, FollowUpRule] = {}  # the enabled rules (the first of a name)
        for r in settings.followup_rules:
            if r.enabled:
                self.rules.setdefault(r.rule, r)
        self.tiers: dict[str, Tier] = {}
        for t in settings.tiers:
            self.tiers.setdefault(t.tier, t)
        self.kinds = {k: label(lang) for k, label in KIND.items()}
        self._on_working: dict[dt.date, dt.date] = {}
        self._deadlines: dict[tuple[str, dt.date], dt.date | None] = {}
        self._holidays: dict[dt.date, tuple[str, dt.date] | None] = {}

    # -- dates ---------------------------------------------------------------------

    def on_working_day(self, day: dt.date) -> dt.date:
        """``day`` or the last working day before it."""
        found = self._on_working.get(day)
        if found is None:
            found = day
            while not self.cal.is_working(found):
                found -= dt.timedelta(days=1)
            self._on_working[day] = found
        return found

    def deadline(self, start: dt.date, rule: str) -> dt.date | None:
        """``start`` plus the rule's days (calendar or working), on a working day."""
        key = (rule, start)
        if key not in self._deadlines:
            r = self.rules.get(rule)
            if r is None:
                day = None
            elif r.working_days:
                day = self.cal.add(start, r.days)
            else:
                day = self.on_working_day(start + dt.timedelta(days=r.days))
            self._deadlines[key] = day
        return self._deadlines[key]

    def next_holiday(self, today: dt.date) -> tuple[str, dt.date] | None:
        """The next greeted statutory holiday starting within the look-ahead, and its day."""
        if today not in self._holidays:
            found = None
            day = today
            for _ in range(HOLIDAY_LOOKAHEAD):
                day += dt.timedelta(days=1)
                name = self.cal.holiday_name(day)
                prev = self.cal.holiday_name(day - dt.timedelta(days=1))
                if name in GREETED_HOLIDAYS and prev != name:
                    found = GREETED_HOLIDAYS[name](self.lang), day
                    break
            self._holidays[today] = found
        return self._holidays[today]

    def _deadline_days(self, days: np.ndarray, rule: str) -> np.ndarray:
        """The rule's deadline of each day number (NONE when the rule is off), each distinct
        day worked out once."""
        uniques, inverse = np.unique(days, return_inverse=True)
        mapped = np.array([_number(self.deadline(_date(d), rule)) for d in uniques.tolist()],
                          dtype=np.int64)
        return mapped[inverse.reshape(-1)]

    # -- the whole table -------------------------------------------------------------

    def plans(self, customers: Rows, log: Rows, opportunities: Rows,
              today: dt.date) -> list[CustomerPlan]:
        """One plan per named customer, in the archive's order (history after ``today``
        is ignored)."""
        if isinstance(customers, pd.DataFrame):
            named = customers["name"].notna() & customers["name"].ne("")
            df = customers[named.to_numpy(dtype=bool)]
            people = records(df, CUSTOMERS, with_row=True)
        else:
            people = [c for c in customers if c.get("name")]
            df = frame(people, CUSTOMERS)
        hist = self.histories(df, frame(log, FOLLOW_UPS), frame(opportunities, OPPORTUNITIES),
                              today)
        return [self.decide(c, h, today) for c, h in zip(people, hist, strict=True)]

    def plan(self, c: dict[str, Any], log: Rows, opps: Rows, today: dt.date) -> CustomerPlan:
        """The follow-ups one customer needs (``log`` and ``opps`` are its own, whatever
        names they carry; the log is taken as it is)."""
        hist = self.histories(frame([c], CUSTOMERS), frame(log, FOLLOW_UPS),
                              frame(opps, OPPORTUNITIES), today, own=True)
        return self.decide(c, hist[0], today)

    def histories(self, customers: pd.DataFrame, log: pd.DataFrame, opps: pd.DataFrame,
                  today: dt.date, *, own: bool = False) -> list[History]:
        """The :class:`History` of each customer of a canonical frame, by group-bys over
        the log (rows dated up to ``today``) and the opportunities. ``own``: every log row
        and opportunity is the one customer's (no name matching, no cut at today)."""
        n_c, n_l = len(customers), len(log)
        if own:
            codes = np.zeros(n_c + n_l + len(opps), dtype=np.intp)
            n = 1
        else:  # one integer per company key (a blank key is a key too)
            names = pd.concat([customers["name"], log["customer"], opps["customer"]],
                              ignore_index=True)
            codes, uniques = pd.factorize(keyed(names, company_key), use_na_sentinel=False)
            n = len(uniques)
        ccode, lcode, ocode = codes[:n_c], codes[n_c:n_c + n_l], codes[n_c + n_l:]

        # -- the log ------------------------------------------------------------------
        lday = _days(log["date"])
        keep = lday != NONE
        if not own:
            keep &= lday <= _number(today)
        lcode, lday = lcode[keep], lday[keep]

        def of_kind(kinds: Iterable[str], column: str = "kind") -> np.ndarray:
            return log[column].isin(list(kinds)).to_numpy(dtype=bool)[keep]

        def latest(mask: np.ndarray | None = None) -> np.ndarray:
            return _latest(lcode, lday, n, mask)

        last = latest()
        first = np.full(n, _LAST, dtype=np.int64)
        np.minimum.at(first, lcode, lday)
        first[first == _LAST] = NONE
        settled = {rule: latest(of_kind(SETTLES[rule])) for rule in (
            "proposal_feedback", "objection", "complaint_answer", "complaint_solve",
            "value_added", "birthday")}
        raised = {kind: latest(of_kind((kind,))) for kind in (OBJECTION, COMPLAINT)}

        extra = np.full(n_c, NONE, dtype=np.int64)  # per customer: its tier's extra kind
        by_contact: dict[str, np.ndarray] = {}
        tiers = customers["tier"]
        for name, tier in self.tiers.items():
            contact = tier.extra_contact
            if not (tier.extra_interval_days and contact):
                continue
            if contact not in by_contact:
                by_contact[contact] = latest(of_kind((contact,), "contact_kind")
                                             | of_kind((contact,)))
            mine = tiers.eq(name).to_numpy(dtype=bool, na_value=False)
            extra[mine] = by_contact[contact][ccode[mine]]

        # -- opportunities --------------------------------------------------------------
        closed, created = _days(opps["closed_on"]), _days(opps["created_on"])
        entered = _days(opps["stage_entered"])
        stages = opps["stage"]
        deal = _latest(ocode, closed, n, self._won(stages) & (closed != NONE))

        opp_start = np.full(n, NONE, dtype=np.int64)
        waiting = (closed == NONE) & (created != NONE) & ~(last[ocode] >= created)
        if "first_contact" in self.rules and waiting.any():
            starts, owners = created[waiting], ocode[waiting]
            due = self._deadline_days(starts, "first_contact")
            order = np.lexsort((np.arange(len(starts)), due, owners))
            firsts = order[np.r_[True, owners[order][1:] != owners[order][:-1]]]
            opp_start[owners[firsts]] = starts[firsts]

        proposals: dict[int, list[dt.date]] = defaultdict(list)
        open_proposal = (stages.eq(PROPOSAL_STAGE).to_numpy(dtype=bool, na_value=False)
                         & (entered != NONE)
                         & ~(settled["proposal_feedback"][ocode] > entered))
        for code, day in zip(ocode[open_proposal].tolist(),
                             entered[open_proposal].view("datetime64[D]").tolist(),
                             strict=True):
            proposals[code].append(day)

        # -- contacts after the deal, greetings ---------------------------------------------
        deal_of = deal[lcode]
        has_deal = deal_of != NONE
        after = np.where(has_deal, lday - np.where(has_deal, deal_of, 0), 0)
        bits = np.zeros(n, dtype=np.int64)
        for j, rule in enumerate(AFTER_DEAL):
            lo, hi = SETTLED_WITHIN.get(rule, SETTLED_AFTER)
            hit = has_deal & (after >= lo) & (after <= hi)
            if rule not in SETTLED_WITHIN:
                hit &= of_kind(SETTLES[rule])
            np.bitwise_or.at(bits, lcode[hit], 1 << j)
        combos = [frozenset(r for j, r in enumerate(AFTER_DEAL) if b >> j & 1)
                  for b in range(1 << len(AFTER_DEAL))]

        greeted = np.zeros(n, dtype=bool)
        holiday = self.next_holiday(today) if "holiday" in self.rules else None
        if holiday:
            start = holiday[1]
            since = self.on_working_day(start - dt.timedelta(days=1)) - dt.timedelta(days=14)
            hit = of_kind(SETTLES["holiday"]) & (lday >= _number(since)) & (
                lday <= _number(start))
            greeted[lcode[hit]] = True

        def at(per_key: np.ndarray) -> list[dt.date | None]:
            return per_key[ccode].view("datetime64[D]").tolist()

        return list(map(
            History, at(first), at(last), extra.view("datetime64[D]").tolist(),
            at(opp_start), [tuple(proposals.get(c, ())) for c in ccode.tolist()],
            at(raised[OBJECTION]), at(settled["objection"]), at(raised[COMPLAINT]),
            at(settled["complaint_answer"]), at(settled["complaint_solve"]), at(deal),
            [combos[b] for b in bits[ccode].tolist()], at(settled["value_added"]),
            greeted[ccode].tolist(), at(settled["birthday"])))

    def _won(self, stages: pd.Series) -> np.ndarray:
        """Whether each opportunity's stage is a won one (each distinct stage looked up
        once)."""
        codes, uniques = stages.factorize()
        flags = []
        for name in uniques:
            stage = self.settings.stage(name or "")
            flags.append(stage is not None and stage.kind == "won")
        return np.array([*flags, False], dtype=bool)[codes]

    # -- rules ---------------------------------------------------------------------

    def _due(self, c: dict[str, Any], day: dt.date, rule: str, reason: str,
             kind_key: str | None = None) -> Due:
        return Due(c["name"], c.get("owner") or "", day, rule, self.kinds[kind_key or rule],
                   reason)

    def decide(self, c: dict[str, Any], h: History, today: dt.date) -> CustomerPlan:
        """The follow-ups one customer needs, from its archive row and its history."""
        plan = CustomerPlan(c)
        if c.get("stage") == LOST:
            return plan
        last = h.last_logged
        if c.get("last_contact") and (last is None or c["last_contact"] > last):
            last = c["last_contact"]
        t = self.lang
        dues: list[Due] = []
        tier = self.tiers.get(c.get("tier"))
        if tier and last:
            dues.append(self._due(c, self.on_working_day(last + dt.timedelta(
                days=tier.interval_days)), f"tier_{tier.tier}",
                _reason(t, "{tier}类客户每{n}天{kind}", "tier {tier}: {kind} every {n} days",
                        tier=tier.tier, n=tier.interval_days, kind=tier.contact), "tier"))
            if tier.extra_interval_days and tier.extra_contact:
                # Never done: count from the first known day of the customer, so that
                # routine contacts do not postpone the extra contact forever.
                first_seen = min(d for d in (h.first_logged, c.get("created_on"), last)
                                 if isinstance(d, dt.date))
                base = h.extra_last or first_seen
                dues.append(self._due(c, self.on_working_day(base + dt.timedelta(
                    days=tier.extra_interval_days)), f"tier_{tier.tier}_extra",
                    _reason(t, "{tier}类客户每{n}天{kind}", "tier {tier}: {kind} every {n} days",
                            tier=tier.tier, n=tier.extra_interval_days,
                            kind=tier.extra_contact), "tier_extra"))
        dues += self._first_contact(c, h)
        dues += self._proposals(c, h)
        dues += self._raised(c, h)
        if c.get("stage") == WON_CUSTOMER or h.deal is not None:
            dues += self._after_deal(c, h, today)
        plan.dues = sorted(dues, key=lambda d: (d.date, d.rule))
        return plan

    def _first_contact(self, c: dict[str, Any], h: History) -> list[Due]:
        rule = self.rules.get("first_contact")
        if rule is None:
            return []
        starts = []
        created = c.get("created_on")
        if isinstance(created, dt.date) and not (h.last_logged is not None
                                                 and h.last_logged >= created):
            starts.append(("customer", created))
        if h.opp_start is not None:
            starts.append(("opportunity", h.opp_start))
        out = []
        for what, start in starts:
            day = self.deadline(start, "first_contact")
            if day:
                out.append(self._due(c, day, "first_contact", _reason(
                    self.lang, "新{what}({start})需在{n}天内首次联系",
                    "new {what} ({start}): first contact within {n} days",
                    what=_WHAT[what](self.lang), start=start, n=rule.days)))
        return sorted(out, key=lambda d: d.date)[:1]  # the earliest deadline

    def _proposals(self, c: dict[str, Any], h: History) -> list[Due]:
        out = []
        for entered in h.proposals:
            day = self.deadline(entered, "proposal_feedback")
            if day:
                out.append(self._due(c, day, "proposal_feedback", _reason(
                    self.lang, "方案于{d}提交,{n}天未获反馈需跟进",
                    "proposal sent {d}: chase feedback after {n} days", d=entered,
                    n=self.rules["proposal_feedback"].days)))
        return out

    def _raised(self, c: dict[str, Any], h: History) -> list[Due]:
        out = []
        for raised_kind, raised, rules in (
                (OBJECTION, h.objection, (("objection", h.objection_answered),)),
                (COMPLAINT, h.complaint, (("complaint_answer", h.complaint_answered),
                                          ("complaint_solve", h.complaint_solved)))):
            if raised is None:
                continue
            for rule, answered in rules:
                if answered is not None and answered >= raised:
                    continue
                day = self.deadline(raised, rule)
                if day:
                    r = self.rules[rule]
                    out.append(self._due(c, day, rule, _reason(
                        self.lang, "{d}{what},需在{n}{unit}内处理",
                        "{what} on {d}: due within {n} {unit}", d=raised,
                        what=_RAISED[raised_kind](self.lang), n=r.days,
                        unit=_unit(self.lang, r.working_days))))
        return out

    def _after_deal(self, c: dict[str, Any], h: History, today: dt.date) -> list[Due]:
        out = []
        deal = h.deal
        if deal is not None:
            if (today - deal).days <= DEAL_WINDOW:
                for rule in AFTER_DEAL:
                    if rule in h.deal_settled:
                        continue
                    day = self.deadline(deal, rule)
                    if day:
                        out.append(self._due(c, day, rule, _reason(
                            self.lang, "{d}成交,{label}", "deal closed {d}: {label}", d=deal,
                            label=self.rules[rule].label(self.lang))))
            if c.get("tier") == "A" and "value_added" in self.rules:
                day = self.deadline(h.service_last or deal, "value_added")
                if day:
                    out.append(self._due(c, day, "value_added", _reason(
                        self.lang, "A类客户每季度一次增值服务", "tier A: a value-added service "
                        "every quarter")))
        out += self._greetings(c, h, today)
        return out

    def _greetings(self, c: dict[str, Any], h: History, today: dt.date) -> list[Due]:
        out = []
        if "holiday" in self.rules:
            holiday = self.next_holiday(today)
            if holiday and not h.greeted_holiday:
                name, start = holiday
                day = self.on_working_day(start - dt.timedelta(days=1))
                out.append(self._due(c, day, "holiday", _reason(
                    self.lang, "{h}问候(节前最后一个工作日)",
                    "{h} greeting (last working day before)", h=name)))
        birthday = c.get("birthday")
        if ("birthday" in self.rules and isinstance(birthday, dt.date)
                and birthday != UNKNOWN_BIRTHDAY):
            nxt = _next_anniversary(birthday, today)
            day = self.on_working_day(nxt)
            if h.birthday_greeted is None or h.birthday_greeted < day - dt.timedelta(days=7):
                out.append(self._due(c, day, "birthday", _reason(
                    self.lang, "联系人生日 {d}", "contact's birthday {d}", d=nxt)))
        return out


_WHAT = {"customer": Label("客户", "customer"), "opportunity": Label("商机", "opportunity")}
_RAISED = {OBJECTION: Label("客户提出异议", "objection raised"),
           COMPLAINT: Label("客户投诉/建议", "complaint received")}


def _unit(lang: Lang, working: bool) -> str:
    return (("个工作日" if working else "天") if lang == "zh"
            else ("working days" if working else "days"))


def _reason(lang: Lang, zh: str, en: str, **params: Any) -> str:
    return (zh if lang == "zh" else en).format(**params)


def _next_anniversary(birthday: dt.date, today: dt.date) -> dt.date:
    for year in (today.year, today.year + 1):
        try:
            day = birthday.replace(year=year)
        except ValueError:  # 29 February
            day = dt.date(year, 2, 28)
        if day >= today:
            return day
    return today


# -- day numbers (days since 1970-01-01; NONE for none) -------------------------------------


def _days(column: pd.Series) -> np.ndarray:
    """The day number of each date of a datetime column."""
    return column.to_numpy(dtype="datetime64[ms]").astype("datetime64[D]").view(np.int64)


def _number(day: dt.date | None) -> int:
    return NONE if day is None else (day - _EPOCH).days


def _date(number: int) -> dt.date:
    return _EPOCH + dt.timedelta(days=number)


def _latest(codes: np.ndarray, days: np.ndarray, n: int,
            mask: np.ndarray | None = None) -> np.ndarray:
    """The latest day of each of ``n`` groups (NONE for a group without a day)."""
    out = np.full(n, NONE, dtype=np.int64)
    if mask is not None:
        codes, days = codes[mask], days[mask]
    np.maximum.at(out, codes, days)
    return out


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


def follow_up_report(customers: Rows, log: Rows, opportunities: Rows, settings: Settings,
                     today: dt.date, *, lang: Lang = "zh",
                     cal: WorkCalendar | None = None) -> FollowUpReport:
    """Plan every customer's follow-ups as of ``today`` (history after today is ignored).

    The tables are canonical frames or records; a plan's ``customer`` is the customer's
    record (with its Excel row as ``_row`` when it comes from a frame)."""
    engine = Engine(settings, cal, lang)
    return FollowUpReport(today, engine.plans(customers, log, opportunities, today))
