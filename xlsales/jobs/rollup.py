"""The weekly rollup job: dailies → one weekly sheet per week."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from xlsales.calendar import WorkCalendar, display_week, parse_period, week_label
from xlsales.findings import Finding
from xlsales.i18n import Label
from xlsales.jobs.sources import WEEKLY_FILE, DailySource, load_daily, load_targets
from xlsales.performance import QUOTA_BASIS
from xlsales.rollup import (
    WeekRow,
    implausible_warnings,
    week_rows,
    weekly_frame,
    weeks_between,
)

WEEK_SHEET = Label("周报 {week}", "Weekly {week}")
TEAM_ROW_TARGET = Label("团队合计行的目标:", "team row's target: ")


@dataclass
class RollupResult:
    """What the weekly rollup read and wrote (``frame``: one row per rep, region and team
    and week; ``rows``: the same as :class:`WeekRow` objects)."""

    weeks: list[str]
    frame: pd.DataFrame
    findings: list[Finding]
    dropped: int
    written: Path | None = None
    sheets: list[str] = field(default_factory=list)
    implausible: list[str] = field(default_factory=list)  # warnings: completion not plausible

    @cached_property
    def rows(self) -> list[WeekRow]:
        return week_rows(self.frame)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    def as_dict(self) -> dict[str, Any]:
        return {"weeks": self.weeks, "rows": [r.as_dict() for r in self.rows],
                "errors": self.errors,
                "warnings": sum(1 for f in self.findings if f.severity == "warning"),
                "duplicates_dropped": self.dropped,
                "findings": [f.model_dump(mode="json") for f in self.findings
                             if f.severity == "error"],
                "implausible": self.implausible,
                "written": str(self.written) if self.written else None, "sheets": self.sheets}


def select_weeks(daily: pd.DataFrame, *, week: str | None = None,
                 month: str | None = None, all_weeks: bool = False,
                 today: dt.date | None = None) -> list[str]:
    """The weeks a rollup covers (default: the week of ``today``)."""
    if week:
        parse_period(week)
        return [week.upper()]
    if month:
        first, last, _ = parse_period(month)
        return weeks_between(first, last)
    days = daily["date"].dropna()
    if all_weeks:
        return weeks_between(days.min().date(), days.max().date()) if len(days) else []
    return [week_label(today or dt.date.today())]


def run_rollup(source: str | os.PathLike[str], *, week: str | None = None,
               month: str | None = None, all_weeks: bool = False,
               out: str | os.PathLike[str] | None = None, today: dt.date | None = None,
               write: bool = True) -> RollupResult:
    """Roll the dailies up into weekly reports and write one sheet per week."""
    daily = load_daily(source, today=today)
    weeks = select_weeks(daily.frame, week=week, month=month, all_weeks=all_weeks,
                         today=today)
    targets = load_targets(daily.root, daily.settings)
    cal = WorkCalendar.of(daily.settings)
    frame = weekly_frame(daily.frame, targets, daily.settings, weeks, today=today, cal=cal,
                         errors_by_row=daily.errors_by_row, moves=daily.moves)
    result = RollupResult(weeks, frame, daily.findings, daily.dropped)
    result.implausible = implausible_warnings(result.rows, daily.settings, daily.lang)
    if write:
        if out:
            target = Path(out)
        elif len(daily.files) == 1:
            target = daily.files[0]
        else:  # per-rep workbooks: the weekly sheets go into a workbook of their own
            target = daily.root / WEEKLY_FILE
        result.written, result.sheets = _write_weeks(daily, result.rows, weeks, target)
    return result


def _write_weeks(daily: DailySource, rows: list[WeekRow], weeks: list[str],
                 target: Path) -> tuple[Path, list[str]]:
    """One sheet per week in ``target`` (the daily report, or a workbook of its own):
    replaced where it is when the week was rolled up before, keeping the manager's
    comments, notes and drawings."""
    from xlsales.io.edit.book import WorkbookEdit
    from xlsales.io.edit.lists import refresh_lists
    from xlsales.io.edit.tables import table_sheet
    from xlsales.io.read import sheets_records
    from xlsales.tables.weekly import LEVELS, WEEKLY

    lang = daily.lang
    if target.exists():
        src: Path | None = target
    elif len(daily.files) == 1:
        src = daily.files[0]
    else:
        src = None
    names = {week: WEEK_SHEET(lang).format(
        week=display_week(week, daily.settings.general.week_label)) for week in weeks}
    by_week: dict[str, list[WeekRow]] = {week: [] for week in weeks}
    for r in rows:
        by_week.setdefault(r.week, []).append(r)
    options = daily.settings.general.model_dump()
    with WorkbookEdit(src) if src else WorkbookEdit.new(target) as wb:
        again = [names[w] for w in weeks if names[w] in wb.sheet_names]
        typed = sheets_records(src, again, WEEKLY, daily.settings,
                               keys=("level", "name", "comment")) if src and again else {}
        for week in weeks:
            name = names[week]
            kept = {(str(old.get("level")), str(old.get("name"))): old["comment"]
                    for old in typed.get(name, []) if old.get("comment")}
            records = []
            for r in by_week[week]:
                rec = r.as_dict()
                rec["level"] = LEVELS[r.level](lang)
                rec["week_end"] = r.week_end
                rec["comment"] = kept.get((rec["level"], r.name))
                records.append(rec)
            basis = next((r.quota_basis for r in by_week[week] if r.level == "team"), None)
            said = f" · {TEAM_ROW_TARGET(lang)}{QUOTA_BASIS[basis](lang)}" if basis else ""
            sheet = table_sheet(wb, WEEKLY, records, lang=lang,
                                name=f"Weekly_{week.replace('-', '_')}",
                                title=f"{WEEKLY.title(lang)} {week}{said}", options=options)
            wb.put_sheet(name, sheet)
        refresh_lists(wb, daily.settings, lang)
        wb.save(target)
    return target, [names[w] for w in weeks]
