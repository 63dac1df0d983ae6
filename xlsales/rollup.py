"""Daily → weekly rollup (T2 → T2w): per rep and week, with region subtotals and a team total."""

from __future__ import annotations

import datetime as dt
import operator
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from xlsales.calendar import WorkCalendar, week_days, week_label
from xlsales.discipline import daily_frame, dedupe, late_mask, owed_frame
from xlsales.figures import completion_rate, effective_rate
from xlsales.performance import Targets, month_shares, shared_target
from xlsales.settings import Settings
from xlsales.stagemoves import moves_frame

SUMS = ("visits", "effective", "new_customers", "proposals", "amount_signed")


@dataclass
class WeekRow:
    """One line of the weekly report: a rep, a region subtotal or the team total."""

    week: str
    level: str  # "rep", "region" or "team"
    name: str
    region: str = ""
    product_line: str = ""
    week_end: dt.date | None = None
    expected: int = 0
    reported: int = 0
    late: int = 0
    missing: int = 0
    visits: int = 0
    effective: int = 0
    new_customers: int = 0
    proposals: int = 0
    amount_signed: float = 0.0
    target: float | None = None
    progress: str = ""
    problems: str = ""
    errors: int = 0
    missing_days: list[dt.date] = field(default_factory=list)

    @property
    def effective_rate(self) -> float | None:
        return effective_rate(self.effective, self.visits)

    @property
    def completion(self) -> float | None:
        return completion_rate(self.amount_signed, self.target)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["effective_rate"] = self.effective_rate
        d["completion"] = self.completion
        d["missing_days"] = [x.isoformat() for x in self.missing_days]
        d["week_end"] = self.week_end.isoformat() if self.week_end else None
        return d


def weeks_between(first: dt.date, last: dt.date) -> list[str]:
    """ISO week labels touching ``first``..``last``."""
    out: list[str] = []
    day = first - dt.timedelta(days=first.weekday())
    while day <= last:
        out.append(week_label(day))
        day += dt.timedelta(days=7)
    return out


def progress_text(moves: list[tuple[dt.date, str, str, str]]) -> str:
    """Stage moves grouped by customer: ``客户C:需求分析→报价与谈判(2)``."""
    by_customer: dict[str, list[tuple[dt.date, str, str]]] = defaultdict(list)
    for day, customer, frm, to in sorted(moves):
        by_customer[customer].append((day, frm, to))
    parts = []
    for customer, items in by_customer.items():
        text = f"{customer}:{items[0][1]}→{items[-1][2]}"
        parts.append(text + (f"({len(items)})" if len(items) > 1 else ""))
    return "; ".join(parts)


def week_labels(dates: pd.Series) -> pd.Series:
    """The ISO week label (``2024-W10``) of every date of a datetime column."""
    iso = dates.dt.isocalendar()
    return (iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2)).astype(
        "str")


def _progress(rows: pd.DataFrame, moves: pd.DataFrame) -> dict[tuple[str, str], str]:
    """The week's stage moves of each (week, rep), grouped by customer (``moves`` refers
    to ``rows`` by their labels)."""
    moves = moves[moves["customer"].notna()]
    if moves.empty:
        return {}
    moves = moves.join(rows[["week", "rep", "date"]], on="row", how="inner")
    moves = moves.sort_values(["week", "rep", "date", "customer", "from_stage", "to_stage"],
                              kind="stable")
    per = moves.groupby(["week", "rep", "customer"], sort=False).agg(
        first=("from_stage", "first"), last=("to_stage", "last"), n=("to_stage", "size"))
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    for (week, rep, customer), first, last, n in zip(per.index, per["first"], per["last"],
                                                     per["n"], strict=True):
        out[(week, rep)].append(f"{customer}:{first}→{last}" + (f"({n})" if n > 1 else ""))
    return {k: "; ".join(v) for k, v in out.items()}


def _problems(rows: pd.DataFrame) -> dict[tuple[str, str], str]:
    """The distinct problems of each (week, rep), in date order."""
    p = rows[rows["problems"].notna()].sort_values(["week", "rep", "date"], kind="stable")
    p = p.drop_duplicates(["week", "rep", "problems"])
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    for week, rep, text in zip(p["week"].tolist(), p["rep"].tolist(), p["problems"].tolist(),
                               strict=True):
        out[(week, rep)].append(text)
    return {k: "; ".join(v) for k, v in out.items()}


def _stats(rows: pd.DataFrame, deadline: dt.time) -> dict[tuple[str, str], tuple[Any, ...]]:
    """Per (week, rep): the sums of the counts and the amount, and the late days."""
    if not len(rows):
        return {}
    late = late_mask(rows, deadline)
    g = rows.assign(_late=late).groupby(["week", "rep"], sort=False)
    agg = g[[*SUMS, "_late"]].sum()
    return {k: v for k, *v in zip(agg.index, *(agg[c].tolist() for c in agg.columns),
                                  strict=True)}


def _owed(settings: Settings, weeks: list[str], rows: pd.DataFrame, today: dt.date | None,
          cal: WorkCalendar) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int],
                                      dict[tuple[str, str], list[dt.date]]]:
    """Per (week, rep) of the roster: working days owed, owed days reported, and the
    owed days missing (up to today)."""
    if not weeks:
        return {}, {}, {}
    first = min(week_days(w)[0] for w in weeks)
    last = max(week_days(w)[1] for w in weeks)
    owed = owed_frame(settings, first, min(last, today) if today else last, cal)
    if not len(owed):
        return {}, {}, {}
    owed["week"] = week_labels(owed["date"])
    owed = owed[owed["week"].isin(weeks)]
    seen = rows[["rep", "date"]].drop_duplicates().assign(seen=True)
    owed = owed.merge(seen, on=["rep", "date"], how="left")
    owed["seen"] = owed["seen"].astype("boolean").fillna(False).astype(bool)
    g = owed.groupby(["week", "rep"], sort=False)["seen"]
    expected = g.size().to_dict()
    reported = g.sum().to_dict()
    gaps = owed[~owed["seen"]]
    missing: dict[tuple[str, str], list[dt.date]] = defaultdict(list)
    for week, rep, day in zip(gaps["week"].tolist(), gaps["rep"].tolist(),
                              gaps["date"].dt.date.tolist(), strict=True):
        missing[(week, rep)].append(day)
    return expected, {k: int(v) for k, v in reported.items()}, missing


def weekly_rollup(daily: Iterable[dict[str, Any]] | pd.DataFrame, targets: Targets,
                  settings: Settings, weeks: Iterable[str], *, today: dt.date | None = None,
                  cal: WorkCalendar | None = None,
                  errors_by_row: dict[tuple[Any, Any], int] | None = None,
                  moves: pd.DataFrame | None = None) -> list[WeekRow]:
    """Weekly rows for ``weeks``: reps, then per-region subtotals, then the team total.

    The sums, late counts, owed and missing days, stage moves and problems of every rep
    and week come from group-bys and merges over the daily frame; only the output rows
    are built one by one. ``moves`` are the rows' stage moves when already parsed
    (:func:`xlsales.stagemoves.moves_frame`, by row label)."""
    cal = cal or WorkCalendar.of(settings)
    weeks = list(weeks)
    needed = ["date", "rep", *SUMS, "stage_moves", "problems", "submitted_at"]
    rows, _ = dedupe(daily_frame(daily)[needed])
    if not rows.index.is_unique:
        rows = rows.reset_index(drop=True)
        moves = None
    rows = rows[rows["date"].notna() & rows["rep"].notna()]
    rows = rows.assign(week=week_labels(rows["date"]) if len(rows) else pd.Series(dtype="str"))
    rows = rows[rows["week"].isin(weeks)]
    stats = _stats(rows, settings.general.report_deadline)
    expected, reported, missing = _owed(settings, weeks, rows, today, cal)
    if moves is None and len(rows):
        moves = moves_frame(rows["stage_moves"], settings)
    progress = _progress(rows, moves) if len(rows) else {}
    problems = _problems(rows) if len(rows) else {}
    errors: dict[tuple[str, str], int] = defaultdict(int)
    if errors_by_row:
        for (rep, day), n in errors_by_row.items():
            if rep is not None and isinstance(day, dt.date):
                errors[(week_label(day), rep)] += n
    roster = settings.reps()
    roster_set = set(roster)
    by_week: dict[str, set[str]] = defaultdict(set)
    for week, rep in stats:
        by_week[week].add(rep)
    entries = settings.lookups().reps
    out: list[WeekRow] = []
    for week in weeks:
        monday, sunday = week_days(week)
        week_end = cal.week_end(week)
        shares = month_shares(monday, sunday, cal)
        present = sorted(by_week.get(week, set()) - roster_set)
        reps: list[WeekRow] = []
        for rep in roster + present:
            key = (week, rep)
            if key not in stats and not expected.get(key):
                continue
            entry = entries.get(rep)
            row = WeekRow(week=week, level="rep", name=rep,
                          region=entry.region if entry else "",
                          product_line=entry.product_line if entry else "",
                          week_end=week_end, expected=expected.get(key, 0),
                          reported=reported.get(key, 0), missing_days=missing.get(key, []))
            row.missing = len(row.missing_days)
            if key in stats:
                *counts, amount, late = stats[key]
                for name, value in zip(SUMS[:-1], counts, strict=True):
                    setattr(row, name, int(value))
                row.amount_signed = round(float(amount), 6)
                row.late = int(late)
                row.progress = progress.get(key, "")
                row.problems = problems.get(key, "")
                row.errors = errors.get(key, 0)
            row.target = shared_target(targets, rep, shares)
            reps.append(row)
        out += reps
        regions: dict[str, list[WeekRow]] = defaultdict(list)
        for r in reps:
            regions[r.region].append(r)
        for region, members in regions.items():
            out.append(_total(week, "region", region, members, week_end))
        if reps:
            out.append(_total(week, "team", settings.general.team_name, reps, week_end))
    return out


_TOTALLED = ("expected", "reported", "late", "missing", "errors", *SUMS)
_values = operator.attrgetter(*_TOTALLED)


def _total(week: str, level: str, name: str, members: list[WeekRow],
           week_end: dt.date | None) -> WeekRow:
    row = WeekRow(week=week, level=level, name=name,
                  region=name if level == "region" else "", week_end=week_end)
    for key, total in zip(_TOTALLED, map(sum, zip(*map(_values, members), strict=True)),
                          strict=True):
        setattr(row, key, total)
    row.amount_signed = round(float(row.amount_signed), 6)
    targets = [m.target for m in members if m.target is not None]
    row.target = sum(targets) if targets else None
    return row
