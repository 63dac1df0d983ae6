"""Targets pro-rated over working days, and completion rates by rep, region, product line, team.

A month's target is spread evenly over the month's working days, so a week's or a
partial period's target is the sum of its working days' shares; a full month gets
exactly its target. Completion = actual / target, ``None`` ("no target") when the
target is 0 or missing — never a division error.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from xlsales.calendar import WorkCalendar, month_range, quarter_months
from xlsales.figures import UNASSIGNED, completion_rate
from xlsales.i18n import Label, Lang
from xlsales.ranking import is_implausible, month_span, rank
from xlsales.settings import Settings
from xlsales.words import money_options

GroupBy = Literal["rep", "region", "product", "team"]


@dataclass
class Targets:
    """Monthly targets per owner, from T1 rows (canonical records)."""

    months: dict[tuple[str, int, int], float] = field(default_factory=dict)
    team_quarters: dict[str, float] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)  # the owners' rows, as read

    @classmethod
    def from_records(cls, rows: Iterable[dict[str, Any]],
                     team_rows: Iterable[dict[str, Any]] = ()) -> Targets:
        rows = list(rows)
        out = cls(rows=rows)
        for r in rows:
            quarter, owner = r.get("quarter"), r.get("owner")
            if not quarter or not owner:
                continue
            try:
                year, months = quarter_months(str(quarter))
            except ValueError:
                continue
            total = float(r.get("quarterly_target") or 0.0)
            split = [r.get("month1"), r.get("month2"), r.get("month3")]
            if all(m is None for m in split):
                split = [total / 3] * 3
            for month, value in zip(months, split, strict=True):
                key = (owner, year, month)
                out.months[key] = out.months.get(key, 0.0) + float(value or 0.0)
        for t in team_rows:
            if t.get("quarter") and t.get("team_target") is not None:
                out.team_quarters[str(t["quarter"]).upper()] = float(t["team_target"])
        return out

    def month(self, owner: str, year: int, month: int) -> float | None:
        return self.months.get((owner, year, month))

    def owners(self) -> set[str]:
        return {k[0] for k in self.months}


def daily_share(targets: Targets, owner: str, day: dt.date, cal: WorkCalendar) -> float | None:
    """The owner's target for one working day (None: no target that month)."""
    month_target = targets.month(owner, day.year, day.month)
    if month_target is None:
        return None
    if not cal.is_working(day):
        return 0.0
    first, last = month_range(day.year, day.month)
    days = cal.count(first, last)
    return month_target / days if days else None


def month_shares(first: dt.date, last: dt.date,
                 cal: WorkCalendar) -> list[tuple[int, int, float]]:
    """(year, month, share) of every month ``first``..``last`` touches: the share of the
    month's working days that lie in the period (0 for a month without working days)."""
    out = []
    day = first
    while day <= last:
        m_first, m_last = month_range(day.year, day.month)
        end = min(last, m_last)
        days_in_month = cal.count(m_first, m_last)
        out.append((day.year, day.month,
                    cal.count(day, end) / days_in_month if days_in_month else 0.0))
        day = end + dt.timedelta(days=1)
    return out


def shared_target(targets: Targets, owner: str,
                  shares: list[tuple[int, int, float]]) -> float | None:
    """The owner's target over a period given by :func:`month_shares` (None when no month
    of it has one)."""
    total, found = 0.0, False
    for year, month, share in shares:
        month_target = targets.month(owner, year, month)
        if month_target is not None:
            found = True
            total += month_target * share
    return total if found else None


class TargetTable:
    """The monthly targets of a list of owners as columns (one per month, built when first
    asked for): :func:`shared_target` of every owner at once.

    Each owner's total adds its months' ``target × share`` in the months' order, starting
    from 0.0, as :func:`shared_target` does, so the figures are the same to the last bit."""

    def __init__(self, targets: Targets, owners: Iterable[str]) -> None:
        self.targets = targets
        self.owners = list(owners)
        self._months: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._sums: dict[tuple[tuple[int, int, float], ...], float] = {}

    def month(self, year: int, month: int) -> tuple[np.ndarray, np.ndarray]:
        """Every owner's target of a month (0 where none) and whether there is one."""
        found = self._months.get((year, month))
        if found is None:
            months = self.targets.months
            values = [months.get((o, year, month)) for o in self.owners]
            found = self._months[(year, month)] = (
                np.array([0.0 if v is None else v for v in values], np.float64),
                np.array([v is not None for v in values], bool))
        return found

    def shared(self, shares: list[tuple[int, int, float]]) -> tuple[np.ndarray, np.ndarray]:
        """:func:`shared_target` of every owner: the totals (0.0 without a target) and
        whether any month of the period has one."""
        total = np.zeros(len(self.owners), np.float64)
        found = np.zeros(len(self.owners), bool)
        for year, month, share in shares:
            values, here = self.month(year, month)
            total = total + np.where(here, values * share, 0.0)  # never -0.0: + 0.0 is exact
            found |= here
        return total, found

    def targets_of(self, shares: list[tuple[int, int, float]]) -> list[float | None]:
        """:func:`shared_target` of every owner, None where no month has a target."""
        total, found = self.shared(shares)
        return [t if f else None for t, f in zip(total.tolist(), found.tolist(), strict=True)]

    def owners_sum(self, shares: list[tuple[int, int, float]]) -> float:
        """``sum(shared_target(…) or 0.0 for each owner)``, in the owners' order."""
        key = tuple(shares)
        if key not in self._sums:
            self._sums[key] = sum(self.shared(shares)[0].tolist())
        return self._sums[key]


def period_target(targets: Targets, owner: str, first: dt.date, last: dt.date,
                  cal: WorkCalendar) -> float | None:
    """The owner's target over ``first``..``last``: each month's target spread evenly over
    its working days (None when no month has one)."""
    return shared_target(targets, owner, month_shares(first, last, cal))


@dataclass
class CompletionRow:
    """Completion of one rep, region, product line or the team."""

    key: str
    actual: float
    target: float | None
    rate: float | None
    rank: int | None = None
    below_threshold: bool = False
    reps: list[str] = field(default_factory=list)
    basis: float | None = None  # the target of the period's whole months (ranking.month_span)
    implausible: bool = False
    top: bool = False
    mark: str = ""
    quota_basis: str = "owners"  # "team": the team's own total (see :class:`Quota`)

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "actual": self.actual, "target": self.target,
                "rate": self.rate, "rank": self.rank, "below_threshold": self.below_threshold,
                "implausible": self.implausible, "mark": self.mark, "reps": self.reps,
                "quota_basis": self.quota_basis}


@dataclass
class Completion:
    """Completion rates for a period."""

    first: dt.date
    last: dt.date
    through: dt.date
    by: GroupBy
    rows: list[CompletionRow]
    threshold: float
    ceiling: float = 3.0
    top_label: str = ""  # TOP3, TOP2 when only two groups are ranked (xlsales.ranking)
    lang: Lang = "zh"
    money: dict[str, Any] | None = None  # the settings' currency and amount unit

    @property
    def top(self) -> list[CompletionRow]:
        """The TOP list of :mod:`xlsales.ranking`, best first."""
        return [r for r in self.rows if r.top]

    @property
    def below(self) -> list[CompletionRow]:
        return [r for r in self.rows if r.below_threshold]

    @property
    def implausible(self) -> list[CompletionRow]:
        return [r for r in self.rows if r.implausible]

    def warnings(self, lang: Lang | None = None) -> list[str]:
        """One warning per group whose completion is implausible."""
        from xlsales.ranking import implausible_message

        return [implausible_message(r.key, r.rate, r.actual, r.basis, self.ceiling,
                                    lang or self.lang, ranked=self.by != "team",
                                    money=self.money)
                for r in self.implausible]

    def as_dict(self) -> dict[str, Any]:
        return {"first": self.first.isoformat(), "last": self.last.isoformat(),
                "through": self.through.isoformat(), "by": self.by,
                "threshold": self.threshold, "ceiling": self.ceiling,
                "rows": [r.as_dict() for r in self.rows], "top_label": self.top_label,
                "top3": [r.key for r in self.top], "below": [r.key for r in self.below],
                "implausible": [r.key for r in self.implausible],
                "warnings": self.warnings()}


def group_of(settings: Settings, rep: str, by: GroupBy) -> str:
    """The group a rep belongs to for ``by``."""
    if by == "rep":
        return rep
    if by == "team":
        return settings.general.team_name
    entry = settings.rep(rep)
    group = "" if entry is None else entry.region if by == "region" else entry.product_line
    return group or UNASSIGNED(settings.general.language)


def group_labels(reps: pd.Series, settings: Settings, by: GroupBy) -> pd.Series:
    """:func:`group_of` over a column of reps (each distinct rep looked up once)."""
    codes, uniques = reps.factorize()
    labels = pd.Index([group_of(settings, r, by) for r in uniques] + [None], dtype=object)
    return pd.Series(labels.take(codes), index=reps.index, dtype=object)


def in_period(dates: pd.Series, first: dt.date, last: dt.date) -> pd.Series:
    """Whether each date of a datetime column lies in ``first``..``last``."""
    return dates.notna() & (dates >= pd.Timestamp(first)) & (dates <= pd.Timestamp(last))


def completion(daily: Iterable[dict[str, Any]] | pd.DataFrame, targets: Targets,
               settings: Settings, first: dt.date, last: dt.date, *, by: GroupBy = "rep",
               today: dt.date | None = None, cal: WorkCalendar | None = None) -> Completion:
    """Completion of signed amounts against pro-rated targets over ``first``..``last``.

    In a period still running (``today`` inside it) the target counts only the
    working days up to ``today`` (pro-rated target).
    """
    from xlsales.discipline import daily_frame

    cal = cal or WorkCalendar.of(settings)
    through = min(last, today) if today and first <= today else last
    df = daily_frame(daily)
    sel = df[in_period(df["date"], first, through) & df["rep"].notna()]
    amounts = sel["amount_signed"].fillna(0.0)
    actual = amounts.groupby(group_labels(sel["rep"], settings, by), sort=False).sum()
    reps = settings.reps() or sorted(targets.owners())
    groups: dict[str, list[str]] = defaultdict(list)
    for rep in reps:
        groups[group_of(settings, rep, by)].append(rep)
    for key in actual.index:
        groups.setdefault(key, [])
    rows = []
    span = month_span(first, last)
    ceiling = settings.general.completion_ceiling
    for key, members in groups.items():
        quota = group_quota(targets, settings, members, first, through, cal, team=by == "team")
        basis = group_quota(targets, settings, members, *span, cal, team=by == "team").value
        target = quota.value
        done = float(actual.get(key, 0.0))
        rows.append(CompletionRow(key, round(done, 6), target, completion_rate(done, target),
                                  reps=list(members), basis=basis,
                                  implausible=is_implausible(done, basis, ceiling),
                                  quota_basis=quota.basis))
    threshold = settings.general.completion_threshold
    ranking = rank(((r.key, r.rate, r.implausible) for r in rows), threshold)
    for r in rows:
        st = ranking.of(r.key)
        r.rank, r.top, r.below_threshold, r.mark = st.rank, st.top, st.below, st.mark
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.key))
    return Completion(first, last, through, by, rows, threshold, ceiling, ranking.label,
                      money=money_options(settings))


def owners_target(targets: Targets, owners: Iterable[str], first: dt.date, last: dt.date,
                  cal: WorkCalendar, *, table: TargetTable | None = None) -> float | None:
    """The owners' pro-rated targets added up (None when none of them has one; ``table``:
    the owners' targets when already gathered)."""
    table = table if table is not None else TargetTable(targets, owners)
    total, found = table.shared(month_shares(first, last, cal))
    values = total[found].tolist()
    return sum(values) if values else None


QUOTA_BASIS = {"team": Label("团队目标", "team target"),
               "owners": Label("个人目标合计", "sum of the reps' targets")}


@dataclass(frozen=True)
class Quota:
    """A group's target over a period, and what it is: the team's own total ("team",
    pro-rated like the owners' split) or the owners' pro-rated targets added up
    ("owners"). The one definition every output takes its targets from."""

    value: float | None
    basis: str

    def label(self, lang: Lang) -> str:
        return QUOTA_BASIS[self.basis](lang)


def team_quota(targets: Targets, settings: Settings, first: dt.date, last: dt.date,
               cal: WorkCalendar, *, table: TargetTable | None = None) -> Quota:
    """The whole team's quota of a period: its own total where one is set, else the
    owners' sum (``table``: :func:`team_table`, to share between many periods)."""
    table = table if table is not None else team_table(targets, settings)
    own = _team_target(targets, table, first, last, cal)
    if own is not None:
        return Quota(own, "team")
    return Quota(owners_target(targets, table.owners, first, last, cal, table=table),
                 "owners")


def team_table(targets: Targets, settings: Settings) -> TargetTable:
    """The targets of the team's members (the roster, else every owner with a target)."""
    return TargetTable(targets, settings.reps() or sorted(targets.owners()))


def group_quota(targets: Targets, settings: Settings, members: Iterable[str], first: dt.date,
                last: dt.date, cal: WorkCalendar, *, team: bool = False) -> Quota:
    """The quota of a group (``team``: the whole team, see :func:`team_quota`; any other
    group: its owners' pro-rated targets added up)."""
    if team:
        return team_quota(targets, settings, first, last, cal)
    return Quota(owners_target(targets, members, first, last, cal), "owners")


def team_target(targets: Targets, settings: Settings, first: dt.date, last: dt.date,
                cal: WorkCalendar) -> float | None:
    """The value of :func:`team_quota`."""
    return team_quota(targets, settings, first, last, cal).value


def _team_target(targets: Targets, members: TargetTable, first: dt.date, last: dt.date,
                 cal: WorkCalendar) -> float | None:
    """The team total pro-rated like the owners' split (None without a team total)."""
    if not targets.team_quarters:
        return None
    total = 0.0
    for quarter, team_total in targets.team_quarters.items():
        year, months = quarter_months(quarter)
        q_first, q_last = dt.date(year, months[0], 1), month_range(year, months[2])[1]
        lo, hi = max(first, q_first), min(last, q_last)
        if lo > hi:
            continue
        whole, part = month_shares(q_first, q_last, cal), month_shares(lo, hi, cal)
        owners_q = members.owners_sum(whole)
        owners_p = members.owners_sum(part)
        if owners_q:
            total += team_total * owners_p / owners_q
    return total or None
