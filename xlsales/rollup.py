"""Daily → weekly rollup (T2 → T2w): per rep and week, with region subtotals and a team total."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from xlsales.calendar import WorkCalendar, week_days, week_label
from xlsales.discipline import daily_frame, dedupe, expected_days, late_mask
from xlsales.figures import completion_rate, effective_rate
from xlsales.performance import Targets, period_target
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


def _progress(rows: pd.DataFrame, settings: Settings) -> dict[tuple[str, str], str]:
    """The week's stage moves of each (week, rep), grouped by customer."""
    moves = moves_frame(rows["stage_moves"], settings)
    moves = moves[moves["customer"].notna()]
    if moves.empty:
        return {}
    moves = moves.join(rows[["week", "rep", "date"]], on="row")
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
    return {k: "; ".join(v) for k, v in p.groupby(["week", "rep"], sort=False)["problems"]}


def weekly_rollup(daily: Iterable[dict[str, Any]] | pd.DataFrame, targets: Targets,
                  settings: Settings, weeks: Iterable[str], *, today: dt.date | None = None,
                  cal: WorkCalendar | None = None,
                  errors_by_row: dict[tuple[Any, Any], int] | None = None) -> list[WeekRow]:
    """Weekly rows for ``weeks``: reps, then per-region subtotals, then the team total.

    The sums, late counts, stage moves and problems of every rep and week come from
    group-bys over the daily frame; only the output rows are built one by one."""
    cal = cal or WorkCalendar.of(settings)
    weeks = list(weeks)
    rows, _ = dedupe(daily_frame(daily))
    rows = rows[rows["date"].notna() & rows["rep"].notna()]
    rows = rows.assign(week=week_labels(rows["date"]) if len(rows) else pd.Series(dtype="str"))
    rows = rows[rows["week"].isin(weeks)].reset_index(drop=True)  # rows of several files
    keys = ["week", "rep"]
    sums = rows.groupby(keys)[list(SUMS)].sum() if len(rows) else None
    late = late_mask(rows, settings.general.report_deadline).groupby(
        [rows["week"], rows["rep"]]).sum() if len(rows) else None
    days = {k: {d.date() for d in v} for k, v in rows.groupby(keys)["date"]} if len(rows) \
        else {}
    progress = _progress(rows, settings) if len(rows) else {}
    problems = _problems(rows) if len(rows) else {}
    errors: dict[tuple[str, str], int] = defaultdict(int)
    if errors_by_row:
        for (rep, day), n in errors_by_row.items():
            if rep is not None and isinstance(day, dt.date):
                errors[(week_label(day), rep)] += n
    roster = settings.reps()
    out: list[WeekRow] = []
    for week in weeks:
        monday, sunday = week_days(week)
        through = min(sunday, today) if today else sunday
        week_end = cal.week_end(week)
        present = sorted({rep for (w, rep) in days if w == week} - set(roster))
        reps: list[WeekRow] = []
        for rep in roster + present:
            entry = settings.rep(rep)
            mine = days.get((week, rep), set())
            owed = expected_days(entry, monday, through, cal) if entry else []
            if not mine and not owed:
                continue
            row = WeekRow(week=week, level="rep", name=rep,
                          region=entry.region if entry else "",
                          product_line=entry.product_line if entry else "",
                          week_end=week_end, expected=len(owed),
                          reported=sum(1 for d in owed if d in mine),
                          missing_days=[d for d in owed if d not in mine])
            row.missing = len(row.missing_days)
            if mine:
                totals = sums.loc[(week, rep)]  # type: ignore[union-attr]
                for key in SUMS[:-1]:
                    setattr(row, key, int(totals[key]))
                row.amount_signed = round(float(totals["amount_signed"]), 6)
                row.late = int(late.loc[(week, rep)])  # type: ignore[union-attr]
                row.progress = progress.get((week, rep), "")
                row.problems = problems.get((week, rep), "")
                row.errors = errors.get((week, rep), 0)
            row.target = period_target(targets, rep, monday, sunday, cal)
            reps.append(row)
        out += reps
        regions: dict[str, list[WeekRow]] = defaultdict(list)
        for r in reps:
            regions[r.region].append(r)
        for region, members in regions.items():
            out.append(_total(week, "region", region, members, cal))
        if reps:
            out.append(_total(week, "team", settings.general.team_name, reps, cal))
    return out


def _total(week: str, level: str, name: str, members: list[WeekRow],
           cal: WorkCalendar) -> WeekRow:
    row = WeekRow(week=week, level=level, name=name,
                  region=name if level == "region" else "", week_end=cal.week_end(week))
    for key in ("expected", "reported", "late", "missing", "errors", *SUMS):
        setattr(row, key, sum(getattr(m, key) for m in members))
    row.amount_signed = round(float(row.amount_signed), 6)
    targets = [m.target for m in members if m.target is not None]
    row.target = sum(targets) if targets else None
    return row
