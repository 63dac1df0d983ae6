"""Completion rates and submission discipline over a period."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from xlsales.calendar import parse_period, period_label
from xlsales.discipline import RepDiscipline, discipline
from xlsales.jobs.sources import load_daily, load_targets
from xlsales.performance import Completion, GroupBy, completion


def run_completion(source: str | os.PathLike[str], period: str, *, by: GroupBy = "rep",
                   today: dt.date | None = None) -> Completion:
    """Completion rates for a week, month, quarter or year (archived dailies of the
    period's years included)."""
    first, last, _ = parse_period(period)
    daily = load_daily(source, today=today, validate=False, since=first, until=last)
    result = completion(daily.frame, load_targets(daily.root, daily.settings), daily.settings,
                        first, last, by=by, today=today)
    result.lang = daily.lang
    return result


def run_compliance(source: str | os.PathLike[str], period: str, *,
                   today: dt.date | None = None,
                   write: bool = False) -> tuple[list[RepDiscipline], Path | None]:
    """Late and missing dailies per rep over a period (archived dailies of the period's
    years included); ``write`` adds a sheet for it."""
    first, last, _ = parse_period(period)
    daily = load_daily(source, today=today, validate=False, since=first, until=last)
    period = period_label(period)  # 2026Q4 in the sheet, however it was typed
    reps = discipline(daily.frame, daily.settings, first, last, today=today)
    written = None
    if write:
        from xlsales.io.edit.book import WorkbookEdit
        from xlsales.io.edit.lists import refresh_lists
        from xlsales.io.edit.tables import Printed, table_sheet
        from xlsales.tables.weekly import COMPLIANCE

        lang = daily.lang
        records = [{**r.as_dict(), "period": period,
                    "late_days": ", ".join(d.isoformat() for d in r.late_days),
                    "missing_days": ", ".join(d.isoformat() for d in r.missing_days)}
                   for r in reps]
        with WorkbookEdit(daily.files[0]) as wb:
            wb.put_sheet(COMPLIANCE.sheet(lang), table_sheet(
                wb, COMPLIANCE, records, lang=lang, name=COMPLIANCE.name,
                title=f"{COMPLIANCE.title(lang)} {period}",
                options=daily.settings.general.model_dump(), printed=Printed(period)))
            refresh_lists(wb, daily.settings, lang)
            wb.save()
        written = daily.files[0]
    return reps, written
