"""Daily → weekly rollup (T2 → T2w): per rep and week, with region subtotals and a team total."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from xlsales.calendar import WorkCalendar, week_days, week_label
from xlsales.discipline import dedupe, expected_days, is_late
from xlsales.figures import completion_rate, effective_rate
from xlsales.performance import Targets, period_target
from xlsales.settings import Settings
from xlsales.stagemoves import parse_stage_moves

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


def weekly_rollup(daily: Iterable[dict[str, Any]], targets: Targets, settings: Settings,
                  weeks: Iterable[str], *, today: dt.date | None = None,
                  cal: WorkCalendar | None = None,
                  errors_by_row: dict[tuple[Any, Any], int] | None = None) -> list[WeekRow]:
    """Weekly rows for ``weeks``: reps, then per-region subtotals, then the team total."""
    cal = cal or WorkCalendar(settings.general.calendar, tuple(settings.calendar))
    deadline = settings.general.report_deadline
    rows, _ = dedupe(daily)
    by_week_rep: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if isinstance(r.get("date"), dt.date) and r.get("rep"):
            by_week_rep[(week_label(r["date"]), r["rep"])].append(r)
    out: list[WeekRow] = []
    for week in weeks:
        monday, sunday = week_days(week)
        through = min(sunday, today) if today else sunday
        reps: list[WeekRow] = []
        names = settings.reps() + sorted({rep for (w, rep) in by_week_rep if w == week}
                                         - set(settings.reps()))
        for rep in names:
            entry = settings.rep(rep)
            mine = sorted(by_week_rep.get((week, rep), []), key=lambda r: r["date"])
            owed = expected_days(entry, monday, through, cal) if entry else []
            days = {r["date"] for r in mine}
            if not mine and not owed:
                continue
            row = WeekRow(week=week, level="rep", name=rep,
                          region=entry.region if entry else "",
                          product_line=entry.product_line if entry else "",
                          week_end=cal.week_end(week), expected=len(owed),
                          reported=sum(1 for d in owed if d in days),
                          late=sum(1 for r in mine if is_late(r, deadline)),
                          missing_days=[d for d in owed if d not in days])
            row.missing = len(row.missing_days)
            for key in SUMS:
                setattr(row, key, sum(r.get(key) or 0 for r in mine))
            row.amount_signed = round(float(row.amount_signed), 6)
            row.target = period_target(targets, rep, monday, sunday, cal)
            moves = []
            for r in mine:
                parsed, _ = parse_stage_moves(r.get("stage_moves"), settings)
                moves += [(r["date"], m.customer, m.from_stage, m.to_stage) for m in parsed]
            row.progress = progress_text(moves)
            row.problems = "; ".join(dict.fromkeys(
                str(r["problems"]) for r in mine if r.get("problems")))
            if errors_by_row:
                row.errors = sum(errors_by_row.get((rep, r["date"]), 0) for r in mine)
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
