"""The follow-up engine: each customer's next contact from its tier, stage and history.

Every rule of the spec's table (§3) proposes a due date; the customer's next
follow-up is the earliest one. Policy:

* Tier cadences count calendar days from the last contact (the log's or the archive's
  最近联系日期, whichever is later, never the creation date); a cadence date on a
  non-working day moves back to the working day before, so the contact happens within
  the interval. A tier's extra contact never done counts from the first contact on record.
* "Within N days" deadlines (first contact, proposal feedback, objection, complaint,
  after-deal touches) count calendar or working days as the settings say. One that
  falls on a day off moves to the next working day, unless that gives the rep more
  working days (the event's day included) than the rule's N — then to the last working
  day before; the general setting ``deadline_off_day = previous`` always moves back.
  The reason names the move.
* A computed date is never before the event it follows nor before the last contact: a
  rule still open at the last contact is due on it (or the next working day).
* Holiday greetings land on the last working day before the holiday. Lost customers
  sleep; won customers get no first contact.
* A date the rep typed — in the archive's 下次跟进时间, or the 下次跟进时间 of the latest
  log entry — wins over the routine cadence date (and is flagged when it is later than
  the cadence allows). A typed date on or before the last contact has been used up. What
  xlsales wrote itself is told apart by a :class:`Ledger` (the ``_followups`` sheet the
  write keeps): a date differing from the one it wrote is a typed date.
* Onboarding (:func:`catch_up`): follow-ups overdue by more than
  ``catch_up_after_days`` when a customer is first planned are spread over the next
  working days, tier A and big budgets first, at most ``catch_up_per_day`` customers
  per rep and day.

The engine works on the canonical frames (:mod:`xlsales.frames`; records are turned
into frames first). Log rows dated up to today and opportunities belong to the customer
whose name has the same company key (:func:`~xlsales.normalize.company_key`, computed
once per distinct name). What the rules need of a customer's history is a plain
aggregate — the last contact, the last contact of each kind that settles a rule, the
latest objection and complaint, the latest won deal and the contacts in the windows
after it, the open opportunity, the proposals still waiting for an answer, the next
date the latest log entry agreed — and :meth:`Engine.histories` computes it for every
customer at once with group-bys, into one :class:`History` per customer. Python then
decides customer by customer which rules are due (:meth:`Engine.decide`), with the
calendar arithmetic memoised per day.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

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
# "Within N days" deadlines: on a day off they move as ``deadline_off_day`` says. The
# other rules are cadences ("every N days", moved back) and greetings.
WITHIN = frozenset({"first_contact", "proposal_feedback", "objection", "complaint_answer",
                    "complaint_solve", "after_deal_48h", "after_deal_week", "satisfaction"})
AGREED = "agreed"  # the rule of a typed date

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
        "holiday": Label("节日问候", "Holiday"), "birthday": Label("生日问候", "Birthday"),
        AGREED: Label("约定跟进", "Agreed follow-up")}
# Log kinds that settle a rule (any contact settles first contact and the cadence).
SETTLES = {"proposal_feedback": {"方案反馈"}, "objection": {"异议答复"},
           "complaint_answer": {"投诉响应", "投诉解决"}, "complaint_solve": {"投诉解决"},
           "after_deal_48h": {"售后回访"}, "after_deal_week": {"售后回访"},
           "satisfaction": {"满意度调查"}, "value_added": {"增值服务"},
           "holiday": {"节日问候"}, "birthday": {"生日问候"}}
OBJECTION, COMPLAINT = "客户异议", "客户投诉"  # log kinds that raise a deadline
SLEEPING = Label("流失客户:不再安排跟进", "lost: no follow-ups")
CATCH_UP = Label("补跟进", "Catch-up")

_company_key = lru_cache(maxsize=1 << 17)(company_key)  # names repeat across tables and runs

NONE = np.iinfo(np.int64).min  # a missing day number (NaT's integer)
_LAST = np.iinfo(np.int64).max
_EPOCH = dt.date(1970, 1, 1)

# What the archive's 下次跟进时间 holds: nothing; a date xlsales wrote; a date typed after
# the last contact (kept); a typed date on or before it (used up, refilled); a typed date
# ``--force`` overwrites.
Archive = Literal["empty", "ours", "typed", "past", "forced"]


@dataclass(frozen=True)
class Due:
    """A follow-up a rule asks for (``was``: the date it had before a catch-up plan moved
    it)."""

    customer: str
    owner: str
    date: dt.date
    rule: str
    kind: str
    reason: str
    catch_up: bool = False
    was: dt.date | None = None

    def overdue_days(self, today: dt.date) -> int:
        return max(0, (today - self.date).days)

    def moved(self, date: dt.date, reason: str, *, catch_up: bool = False) -> Due:
        """This due on another date with another reason (``was``: its date when a catch-up
        plan moves it)."""
        return Due(self.customer, self.owner, date, self.rule, self.kind, reason, catch_up,
                   self.date if catch_up else self.was)

    def as_dict(self, today: dt.date | None = None) -> dict[str, Any]:
        d: dict[str, Any] = {"customer": self.customer, "owner": self.owner,
                             "date": self.date.isoformat(), "rule": self.rule,
                             "kind": self.kind, "reason": self.reason}
        if today is not None:
            d["overdue_days"] = self.overdue_days(today)
        if self.catch_up:
            d["catch_up"] = True
            d["was"] = self.was.isoformat() if self.was else None
        return d


@dataclass(frozen=True)
class Typed:
    """A next follow-up date the rep typed: in the archive or in the latest log entry."""

    date: dt.date
    source: Literal["archive", "log"]
    logged: dt.date | None = None  # the day of the log entry that agreed it


@dataclass(frozen=True)
class LedgerEntry:
    """What xlsales keeps about one customer between runs: the date it last wrote into
    下次跟进时间 (None: it wrote none, e.g. a typed date was kept), the day it first planned
    the customer, and the customer's catch-up day."""

    written: dt.date | None = None
    since: dt.date | None = None
    slot: dt.date | None = None


# Customer key → entry; None: no ledger yet (nothing written by this version).
Ledger = Mapping[str, LedgerEntry]


@dataclass
class CustomerPlan:
    """Every follow-up the rules ask of one customer, earliest first, and what its
    archive row holds."""

    customer: dict[str, Any]
    dues: list[Due] = field(default_factory=list)
    key: str = ""  # the customer's ledger key
    archive: Archive = "empty"
    typed: Typed | None = None  # the typed date in effect
    cadence: dt.date | None = None  # the routine date a typed date replaced
    cadence_reason: str = ""
    cadence_limit: dt.date | None = None  # the last contact plus the tier's interval

    @property
    def next(self) -> Due | None:
        return self.dues[0] if self.dues else None

    @property
    def lost(self) -> bool:
        return self.customer.get("stage") == LOST

    @property
    def breaks_cadence(self) -> bool:
        """A typed date later than the tier's cadence allows (later than the routine date
        and than the last contact plus the tier's interval)."""
        if self.typed is None or self.cadence is None:
            return False
        return self.typed.date > max(self.cadence, self.cadence_limit or self.cadence)

    @property
    def keeps_cell(self) -> bool:
        """Whether a write leaves 下次跟进时间 and its reason as they are (a typed date)."""
        return self.archive == "typed"

    def cell(self, lang: Lang) -> tuple[dt.date | None, str | None]:
        """The date and reason a write puts into 下次跟进时间 and 跟进原因."""
        nxt = self.next
        if nxt is not None:
            return nxt.date, f"{nxt.kind}:{nxt.reason}"
        return None, SLEEPING(lang) if self.lost else None


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
    # The last contact of the log or of the archive's 最近联系日期 (up to today).
    last: dt.date | None = None
    # The 下次跟进时间 of the latest log entry, and that entry's day.
    log_next: dt.date | None = None
    log_next_on: dt.date | None = None


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
        self.move_back = settings.general.deadline_off_day == "previous"
        self._on_working: dict[dt.date, dt.date] = {}
        self._from: dict[dt.date, dt.date] = {}
        self._cadences: dict[tuple[dt.date, int], dt.date] = {}
        self._deadlines: dict[tuple[str, dt.date], tuple[dt.date, str] | None] = {}
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

    def working_from(self, day: dt.date) -> dt.date:
        """``day`` or the first working day after it."""
        found = self._from.get(day)
        if found is None:
            found = day
            while not self.cal.is_working(found):
                found += dt.timedelta(days=1)
            self._from[day] = found
        return found

    def deadline(self, start: dt.date, rule: str) -> dt.date | None:
        """``start`` plus the rule's days (calendar or working), on a working day."""
        found = self.deadline_note(start, rule)
        return None if found is None else found[0]

    def deadline_note(self, start: dt.date, rule: str) -> tuple[dt.date, str] | None:
        """:meth:`deadline` and what moved it off a day off ("" when nothing did), in
        words for the reason."""
        key = (rule, start)
        if key not in self._deadlines:
            r = self.rules.get(rule)
            found: tuple[dt.date, str] | None
            if r is None:
                found = None
            elif r.working_days:
                found = self.cal.add(start, r.days), ""
            else:
                found = self._moved(start, start + dt.timedelta(days=r.days), r.days,
                                    within=rule in WITHIN)
            self._deadlines[key] = found
        return self._deadlines[key]

    def _moved(self, start: dt.date, day: dt.date, days: int,
               within: bool) -> tuple[dt.date, str]:
        """A deadline ``days`` after ``start`` that falls on ``day``, on a working day never
        before ``start`` (a cadence: after it); the words saying how it moved."""
        if self.cal.is_working(day):
            return day, ""
        back, forward, t = self.on_working_day(day), self.working_from(day), self.lang
        if not within or self.move_back:
            if back > start or (within and back == start):
                return back, "" if not within else _reason(
                    t, "{d}为休息日,提前到前一个工作日",
                    "{d} is a day off: moved back to the last working day before", d=day)
            return forward, _reason(t, "{d}为休息日,之前没有晚于{s}的工作日,顺延到下一个工作日",
                                    "{d} is a day off and no working day lies between {s} "
                                    "and it: moved to the next working day", d=day, s=start)
        if self.cal.count(start, forward) <= days or back < start:
            return forward, _reason(t, "{d}为休息日,顺延到下一个工作日",
                                    "{d} is a day off: moved to the next working day", d=day)
        return back, _reason(t, "{d}为休息日,顺延到{f}将超过{n}个工作日,提前到前一个工作日",
                             "{d} is a day off: the next working day ({f}) would give more "
                             "than {n} working days, so the last working day before",
                             d=day, f=forward, n=days)

    def cadence_day(self, base: dt.date, days: int) -> dt.date:
        """Every ``days`` days from ``base``: on the working day before when it is a day off
        (the first working day after ``base`` when none lies between)."""
        key = (base, days)
        found = self._cadences.get(key)
        if found is None:
            found = self._moved(base, base + dt.timedelta(days=days), days, within=False)[0]
            self._cadences[key] = found
        return found

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
              today: dt.date, *, ledger: Ledger | None = None,
              force: bool = False) -> list[CustomerPlan]:
        """One plan per named customer, in the archive's order (history after ``today``
        is ignored). ``ledger``: what xlsales wrote before (None: no ledger, so a date
        whose reason reads like xlsales's is taken as its own); ``force``: typed dates in
        the archive are overwritten."""
        if isinstance(customers, pd.DataFrame):
            named = customers["name"].notna() & customers["name"].ne("")
            df = customers[named.to_numpy(dtype=bool)]
            people = records(df, CUSTOMERS, with_row=True)
        else:
            people = [c for c in customers if c.get("name")]
            df = frame(people, CUSTOMERS)
        hist = self.histories(df, frame(log, FOLLOW_UPS), frame(opportunities, OPPORTUNITIES),
                              today)
        keys = ledger_keys(df)
        return [self.decide(c, h, today, key=k, ledger=ledger, force=force)
                for c, h, k in zip(people, hist, keys, strict=True)]

    def plan(self, c: dict[str, Any], log: Rows, opps: Rows, today: dt.date) -> CustomerPlan:
        """The follow-ups one customer needs (``log`` and ``opps`` are its own, whatever
        names they carry; the log is taken as it is)."""
        df = frame([c], CUSTOMERS)
        hist = self.histories(df, frame(log, FOLLOW_UPS), frame(opps, OPPORTUNITIES), today,
                              own=True)
        return self.decide(c, hist[0], today, key=ledger_keys(df)[0])

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
            codes, uniques = pd.factorize(keyed(names, _company_key), use_na_sentinel=False)
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

        # the latest entry of each customer (the last row on a tie) and its next date
        log_next = np.full(n, NONE, dtype=np.int64)
        log_next_on = np.full(n, NONE, dtype=np.int64)
        if len(lday):
            order = np.lexsort((np.arange(len(lday)), lday, lcode))
            ends = order[np.r_[lcode[order][1:] != lcode[order][:-1], True]]
            log_next[lcode[ends]] = _days(log["next_date"])[keep][ends]
            log_next_on[lcode[ends]] = lday[ends]

        # any contact: the log's, or the archive's 最近联系日期 (up to today)
        archived = _days(customers["last_contact"])
        if not own:
            archived = np.where(archived <= _number(today), archived, NONE)
        any_last = last.copy()
        np.maximum.at(any_last, ccode, archived)

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
        waiting = (closed == NONE) & (created != NONE) & ~(any_last[ocode] >= created)
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
            greeted[ccode].tolist(), at(settled["birthday"]), at(any_last), at(log_next),
            at(log_next_on)))

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

    def archive_state(self, c: dict[str, Any], last: dt.date | None, entry: LedgerEntry | None,
                      ledger: Ledger | None) -> Archive:
        """What the archive's 下次跟进时间 holds (see :data:`Archive`; never "forced")."""
        day = c.get("next_follow_up")
        if not isinstance(day, dt.date):
            return "empty"
        if entry is not None and entry.written == day:
            return "ours"
        if ledger is None and written_by_xlsales(c.get("next_reason")):
            return "ours"  # written before xlsales kept a ledger
        if last is not None and day <= last:
            return "past"
        return "typed"

    def decide(self, c: dict[str, Any], h: History, today: dt.date, *, key: str = "",
               ledger: Ledger | None = None, force: bool = False) -> CustomerPlan:
        """The follow-ups one customer needs, from its archive row and its history."""
        last = h.last
        entry = ledger.get(key) if ledger is not None else None
        state = self.archive_state(c, last, entry, ledger)
        if force and state == "typed":
            state = "forced"
        plan = CustomerPlan(c, key=key, archive=state)
        if c.get("stage") == LOST:
            return plan
        won = c.get("stage") == WON_CUSTOMER or h.deal is not None
        t = self.lang
        dues: list[Due] = []
        tier = self.tiers.get(c.get("tier"))
        if tier and last:
            dues.append(self._due(c, self.cadence_day(last, tier.interval_days),
                                  f"tier_{tier.tier}", _reason(
                t, "{tier}类客户每{n}天{kind}", "tier {tier}: {kind} every {n} days",
                tier=tier.tier, n=tier.interval_days,
                kind=self.settings.display("contact_kinds", tier.contact, t)), "tier"))
            if tier.extra_interval_days and tier.extra_contact:
                # Never done: count from the first contact on record (never the creation
                # day), so that routine contacts do not postpone it forever.
                base = h.extra_last or h.first_logged or last
                dues.append(self._due(c, self.cadence_day(base, tier.extra_interval_days),
                                      f"tier_{tier.tier}_extra", _reason(
                    t, "{tier}类客户每{n}天{kind}", "tier {tier}: {kind} every {n} days",
                    tier=tier.tier, n=tier.extra_interval_days,
                    kind=self.settings.display("contact_kinds", tier.extra_contact, t)),
                    "tier_extra"))
        if not won:
            dues += self._first_contact(c, h, last)
        dues += self._proposals(c, h)
        dues += self._raised(c, h)
        if won:
            dues += self._after_deal(c, h, today)
        dues = [self._not_before(d, last) for d in dues]

        typed = None
        if state == "typed":
            typed = Typed(c["next_follow_up"], "archive")
        elif h.log_next is not None and (last is None or h.log_next > last):
            typed = Typed(h.log_next, "log", h.log_next_on)
        if typed is not None:
            plan.typed = typed
            routine = dues[0] if tier is not None and last is not None else None
            if routine is not None and tier is not None and last is not None:
                dues.remove(routine)
                plan.cadence, plan.cadence_reason = routine.date, routine.reason
                plan.cadence_limit = last + dt.timedelta(days=tier.interval_days)
            reason = (_reason(t, "负责人填写的下次跟进时间", "next follow-up typed in the archive")
                      if typed.source == "archive" else
                      _reason(t, "{d}跟进记录约定的下次跟进时间",
                              "next follow-up agreed in the log entry of {d}", d=typed.logged))
            if plan.breaks_cadence:
                reason += _reason(t, ";晚于{r}的节奏(应不晚于{d})",
                                  "; later than the cadence allows ({r}: by {d})",
                                  r=plan.cadence_reason, d=plan.cadence_limit)
            dues.append(self._due(c, typed.date, AGREED, reason))
        plan.dues = sorted(dues, key=lambda d: (d.date, d.rule))
        return plan

    def _not_before(self, due: Due, last: dt.date | None) -> Due:
        """``due`` on the last contact (or the first working day after it) when it falls
        before it: the rule was still open then."""
        if last is None or due.date >= last:
            return due
        return due.moved(self.working_from(last), due.reason + _reason(
            self.lang, ";最近联系({d})时仍未完成", "; still open at the last contact ({d})",
            d=last))

    def _first_contact(self, c: dict[str, Any], h: History,
                       last: dt.date | None) -> list[Due]:
        rule = self.rules.get("first_contact")
        if rule is None:
            return []
        starts = []
        created = c.get("created_on")
        if isinstance(created, dt.date) and not (last is not None and last >= created):
            starts.append(("customer", created))
        if h.opp_start is not None:
            starts.append(("opportunity", h.opp_start))
        out = []
        for what, start in starts:
            found = self.deadline_note(start, "first_contact")
            if found:
                out.append(self._due(c, found[0], "first_contact", _reason(
                    self.lang, "新{what}({start})需在{n}天内首次联系",
                    "new {what} ({start}): first contact within {n} days",
                    what=_WHAT[what](self.lang), start=start, n=rule.days) + _note(found)))
        return sorted(out, key=lambda d: d.date)[:1]  # the earliest deadline

    def _proposals(self, c: dict[str, Any], h: History) -> list[Due]:
        out = []
        for entered in h.proposals:
            found = self.deadline_note(entered, "proposal_feedback")
            if found:
                out.append(self._due(c, found[0], "proposal_feedback", _reason(
                    self.lang, "方案于{d}提交,{n}天未获反馈需跟进",
                    "proposal sent {d}: chase feedback after {n} days", d=entered,
                    n=self.rules["proposal_feedback"].days) + _note(found)))
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
                found = self.deadline_note(raised, rule)
                if found:
                    r = self.rules[rule]
                    out.append(self._due(c, found[0], rule, _reason(
                        self.lang, "{d}{what},需在{n}{unit}内处理",
                        "{what} on {d}: due within {n} {unit}", d=raised,
                        what=_RAISED[raised_kind](self.lang), n=r.days,
                        unit=_unit(self.lang, r.working_days)) + _note(found)))
        return out

    def _after_deal(self, c: dict[str, Any], h: History, today: dt.date) -> list[Due]:
        out = []
        deal = h.deal
        if deal is not None:
            if (today - deal).days <= DEAL_WINDOW:
                for rule in AFTER_DEAL:
                    if rule in h.deal_settled:
                        continue
                    found = self.deadline_note(deal, rule)
                    if found:
                        out.append(self._due(c, found[0], rule, _reason(
                            self.lang, "{d}成交,{label}", "deal closed {d}: {label}", d=deal,
                            label=self.rules[rule].label(self.lang)) + _note(found)))
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


def _note(found: tuple[dt.date, str]) -> str:
    return f"({found[1]})" if found[1] else ""


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


_OWN_KINDS = sorted({text for label in (*KIND.values(), CATCH_UP) for text in label.all()},
                    key=len, reverse=True)
_OWN_REASON = re.compile("^(?:" + "|".join(map(re.escape, _OWN_KINDS)) + ")[::]")


def written_by_xlsales(reason: Any) -> bool:
    """Whether a 跟进原因 reads like one xlsales writes (``kind:reason``, or the lost
    customer's note): how a date is recognised as xlsales's own where no ledger is kept yet
    (workbooks written by versions before the ledger)."""
    if not isinstance(reason, str):
        return False
    text = reason.strip()
    return text in SLEEPING.all() or bool(_OWN_REASON.match(text))


def ledger_keys(customers: pd.DataFrame) -> list[str]:
    """The ledger key of each archive row: its customer ID and its company key."""
    ids = customers["customer_id"].astype(object).where(customers["customer_id"].notna(), "")
    names = keyed(customers["name"], _company_key).where(lambda s: s.notna(), "")
    return (ids.astype(str) + "|" + names.astype(str)).tolist()


# -- onboarding: the catch-up plan -----------------------------------------------------------


@dataclass
class CatchUp:
    """Follow-ups overdue by more than ``threshold`` days when xlsales first planned their
    customer, spread over working days (see :func:`catch_up`)."""

    threshold: int
    per_day: int
    first_run: bool  # no ledger: xlsales has planned no customer of this workbook before
    onboarded: int = 0  # customers planned for the first time now
    slots: dict[str, dt.date] = field(default_factory=dict)  # customer key → catch-up day
    new: set[str] = field(default_factory=set)  # keys whose day was set now
    moved: list[Due] = field(default_factory=list)  # the dues it moved, as moved

    @property
    def customers(self) -> int:
        return len({(d.customer, d.owner) for d in self.moved})

    def per_day_counts(self) -> dict[str, dict[str, int]]:
        """Day → rep → customers to catch up with that day."""
        seen: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        for d in self.moved:
            seen[d.date.isoformat()][d.owner].add(d.customer)
        return {day: {rep: len(c) for rep, c in sorted(reps.items())}
                for day, reps in sorted(seen.items())}

    def message(self, lang: Lang) -> str:
        """One sentence on the plan (empty when it moved nothing)."""
        if not self.moved:
            return ""
        days = sorted(d.date for d in self.moved)
        text = _reason(lang, "{n}位客户的{m}项逾期超过{t}天的跟进未一次列出,已排入补跟进计划:"
                       "{a}至{b},每位代表每天最多{cap}位客户,A类与预算大的客户优先",
                       "{m} follow-ups of {n} customers overdue by more than {t} days are "
                       "not listed at once but spread as a catch-up plan over {a} – {b}, at "
                       "most {cap} customers per rep and day, tier A and big budgets first",
                       n=self.customers, m=len(self.moved), t=self.threshold, a=days[0],
                       b=days[-1], cap=self.per_day)
        if self.first_run:
            text = _reason(lang, "首次安排跟进:", "First follow-up plan: ") + text
        return text

    def as_dict(self, lang: Lang) -> dict[str, Any]:
        return {"first_run": self.first_run, "onboarded": self.onboarded,
                "threshold_days": self.threshold, "per_rep_per_day": self.per_day,
                "customers": self.customers, "items": len(self.moved),
                "first": min((d.date for d in self.moved), default=None),
                "last": max((d.date for d in self.moved), default=None),
                "per_day": self.per_day_counts(), "message": self.message(lang)}


def catch_up(plans: list[CustomerPlan], ledger: Ledger | None, today: dt.date,
             settings: Settings, engine: Engine) -> CatchUp:
    """Spread what was long overdue when each customer was first planned.

    A customer the ledger does not know is planned for the first time today (all of them
    on a workbook's first run; the new rows after an import). Its dues overdue by more than
    ``catch_up_after_days`` on that first day are moved to one catch-up day of its own:
    customers ordered by tier (as the settings list them), budget (largest first), the
    oldest due and the archive's order, and given the next working days after today, at
    most ``catch_up_per_day`` per rep and day (days the ledger gave earlier count). The
    ledger keeps each customer's day, so later runs show the same plan; a catch-up day
    that passed without a contact is overdue like any other date. ``plans`` are changed in
    place (their dues moved and re-sorted)."""
    general = settings.general
    found = CatchUp(general.catch_up_after_days, general.catch_up_per_day, ledger is None)
    known = ledger or {}
    stale: list[tuple[CustomerPlan, dt.date, list[Due]]] = []
    for p in plans:
        entry = known.get(p.key)
        if entry is None or entry.since is None:
            found.onboarded += 1
        since = entry.since if entry is not None and entry.since else today
        limit = since - dt.timedelta(days=found.threshold)
        old = [d for d in p.dues if d.date < limit]
        if old:
            stale.append((p, since, old))
    tiers = {t.tier: i for i, t in enumerate(settings.tiers)}
    taken: dict[tuple[str, dt.date], int] = defaultdict(int)
    waiting = []
    for p, _, old in stale:
        entry = known.get(p.key)
        if entry is not None and entry.slot is not None:
            found.slots[p.key] = entry.slot
            taken[(_owner(p), entry.slot)] += 1
        else:
            waiting.append((p, old))
    waiting.sort(key=lambda po: (tiers.get(po[0].customer.get("tier"), len(tiers)),
                                 -_amount(po[0].customer.get("budget")),
                                 min(d.date for d in po[1])))
    start = engine.working_from(today + dt.timedelta(days=1))
    cursor: dict[str, dt.date] = {}
    for p, _ in waiting:
        owner = _owner(p)
        day = cursor.get(owner, start)
        while taken[(owner, day)] >= found.per_day:
            day = engine.working_from(day + dt.timedelta(days=1))
        cursor[owner] = day
        taken[(owner, day)] += 1
        found.slots[p.key] = day
        found.new.add(p.key)
    label = CATCH_UP(engine.lang)
    for p, since, old in stale:
        day = found.slots[p.key]
        ids = {id(d) for d in old}
        dues = []
        for d in p.dues:
            if id(d) in ids:
                d = d.moved(day, _reason(
                    engine.lang, "{label}(原定{was},首次安排时已逾期{n}天):{r}",
                    "{label} (was due {was}, {n} days overdue when first planned): {r}",
                    label=label, was=d.date, n=(since - d.date).days, r=d.reason),
                    catch_up=True)
                found.moved.append(d)
            dues.append(d)
        p.dues = sorted(dues, key=lambda d: (d.date, d.rule))
    return found


def _owner(p: CustomerPlan) -> str:
    return p.customer.get("owner") or ""


def _amount(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if number == number else 0.0


def ledger_after(plans: list[CustomerPlan], ledger: Ledger | None, today: dt.date,
                 plan: CatchUp | None, written: Mapping[str, dt.date | None]) -> dict[
                     str, LedgerEntry]:
    """The ledger a write leaves: for every planned customer, the date written (``written``
    by key; None when its cell was kept), the day it was first planned and its catch-up
    day while it has one."""
    known = ledger or {}
    out = {}
    for p in plans:
        entry = known.get(p.key)
        since = entry.since if entry is not None and entry.since else today
        slot = plan.slots.get(p.key) if plan is not None else None
        out[p.key] = LedgerEntry(written.get(p.key), since, slot)
    return out


LEDGER_HEADER = ("customer_key", "written", "since", "catch_up")


def ledger_rows(ledger: Mapping[str, LedgerEntry]) -> list[list[str]]:
    """The ledger as the rows of its sheet (a header, then dates as ISO text)."""
    out = [list(LEDGER_HEADER)]
    for key, e in ledger.items():
        out.append([key, *("" if d is None else d.isoformat()
                           for d in (e.written, e.since, e.slot))])
    return out


def ledger_from_rows(rows: list[list[Any]]) -> dict[str, LedgerEntry] | None:
    """The ledger read back from its sheet's rows (None when there are none)."""
    if not rows:
        return None
    out = {}
    for row in rows[1:]:
        if not row or not row[0]:
            continue
        cells = [*row[1:4], None, None, None][:3]
        key = str(row[0])
        out[key[1:] if key.startswith("'") else key] = LedgerEntry(
            *(_ledger_day(v) for v in cells))
    return out


def _ledger_day(value: Any) -> dt.date | None:
    """A ledger cell as a date: ISO text (also with a time, or a leading apostrophe), a
    date, or an Excel serial (when Excel turned the text into a date)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dt.date(1899, 12, 30) + dt.timedelta(days=int(value)) if value > 0 else None
    text = str(value or "").strip().lstrip("'")
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        try:
            return _ledger_day(float(text))
        except ValueError:
            return None


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
    """Next follow-ups of every customer, the due lists per rep, and the catch-up plan."""

    today: dt.date
    plans: list[CustomerPlan]
    catch_up: CatchUp | None = None
    lang: Lang = "zh"
    ledger: Ledger | None = None  # what xlsales wrote before, as the plans were made

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

    def typed(self, rep: str | None = None) -> list[CustomerPlan]:
        """Plans whose next routine contact is a date the rep typed."""
        return [p for p in self.plans if p.typed is not None
                and (rep is None or (p.customer.get("owner") or "") == rep)]

    def typed_summary(self, rep: str | None = None) -> dict[str, Any]:
        """Typed dates in effect, and the ones later than their tier's cadence allows."""
        plans = self.typed(rep)
        return {"archive": sum(p.typed.source == "archive" for p in plans if p.typed),
                "log": sum(p.typed.source == "log" for p in plans if p.typed),
                "breaks_cadence": [_typed_row(p) for p in plans if p.breaks_cadence]}


def _typed_row(p: CustomerPlan) -> dict[str, Any]:
    c = p.customer
    assert p.typed is not None
    return {"customer": c.get("name"), "owner": c.get("owner") or "", "row": c.get("_row"),
            "date": p.typed.date.isoformat(), "source": p.typed.source,
            "cadence": p.cadence.isoformat() if p.cadence else None,
            "limit": p.cadence_limit.isoformat() if p.cadence_limit else None,
            "rule": p.cadence_reason}


def follow_up_report(customers: Rows, log: Rows, opportunities: Rows, settings: Settings,
                     today: dt.date, *, lang: Lang = "zh", cal: WorkCalendar | None = None,
                     ledger: Ledger | None = None, onboard: bool = False,
                     force: bool = False) -> FollowUpReport:
    """Plan every customer's follow-ups as of ``today`` (history after today is ignored).

    The tables are canonical frames or records; a plan's ``customer`` is the customer's
    record (with its Excel row as ``_row`` when it comes from a frame). ``ledger``: what
    xlsales wrote before (see :class:`LedgerEntry`); ``onboard``: spread what was long
    overdue when a customer was first planned (:func:`catch_up`); ``force``: typed dates
    of the archive are overwritten (planned as if xlsales had written them)."""
    engine = Engine(settings, cal, lang)
    plans = engine.plans(customers, log, opportunities, today, ledger=ledger, force=force)
    plan = catch_up(plans, ledger, today, settings, engine) if onboard else None
    return FollowUpReport(today, plans, plan, lang, ledger)
