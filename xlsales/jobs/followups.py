"""The follow-up job: every customer's next follow-up, written back on request."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xlsales.frames import Table
from xlsales.i18n import Label, Lang
from xlsales.jobs.sources import load_customers
from xlsales.settings import Settings
from xlsales.workspace import book_path

BUCKETS = {"overdue": Label("逾期", "Overdue"), "today": Label("今天", "Today"),
           "this_week": Label("本周", "This week")}
SLEEPING = Label("流失客户:不再安排跟进", "lost: no follow-ups")


@dataclass
class FollowUpResult:
    """Follow-ups planned as of a day, and where they were written."""

    report: Any
    rep: str | None
    written: Path | None = None

    def as_dict(self) -> dict[str, Any]:
        today = self.report.today
        buckets = self.report.buckets(self.rep)
        return {"on": today.isoformat(), "rep": self.rep,
                "due": {k: [d.as_dict(today) for d in v] for k, v in buckets.items()},
                "counts": {k: len(v) for k, v in buckets.items()},
                "per_rep": self.report.per_rep(),
                "next": [d.as_dict(today) for d in self.report.next_dues(self.rep)],
                "written": str(self.written) if self.written else None}


def run_followups(root: str | os.PathLike[str], *, today: dt.date, rep: str | None = None,
                  write: bool = False) -> FollowUpResult:
    """Every customer's next follow-up; ``write`` fills the archive and a due list sheet."""
    from xlsales.followups import follow_up_report

    root = Path(root)
    path = book_path(root, "customers") if root.is_dir() else root
    ws = load_customers(path, ("customers", "follow_ups", "opportunities"))
    report = follow_up_report(ws.frame("customers"), ws.frame("follow_ups"),
                              ws.frame("opportunities"), ws.settings, today, lang=ws.lang)
    result = FollowUpResult(report, rep)
    if write:
        result.written = _write_followups(path, ws.tables["customers"], report, ws.settings,
                                          ws.lang)
    return result


def _write_followups(path: Path, customers: Table, report: Any, settings: Settings,
                     lang: Lang) -> Path:
    from xlsales.io.edit.book import WorkbookEdit
    from xlsales.io.edit.cells import Cell
    from xlsales.io.edit.lists import refresh_lists
    from xlsales.io.edit.styles import Style
    from xlsales.io.edit.tables import table_sheet
    from xlsales.tables.customers import DUE_LIST

    records = []
    for bucket, dues in report.buckets().items():
        for d in dues:
            records.append({**d.as_dict(report.today), "date": d.date,
                            "status": BUCKETS[bucket](lang)})
    records.sort(key=lambda r: (r["owner"], r["date"], r["customer"]))
    with WorkbookEdit(path) as wb:
        date_xf = wb.xf(Style(num_fmt="yyyy-mm-dd"))
        for plan in report.plans:
            row = plan.customer.get("_row")
            date_cell = customers.cell("next_follow_up", row) if row else None
            reason_cell = customers.cell("next_reason", row) if row else None
            if date_cell is None:
                continue
            nxt = plan.next
            wb.set_cell(customers.sheet, date_cell,
                        Cell(nxt.date if nxt else None, fallback=date_xf))
            if reason_cell:
                text = (f"{nxt.kind}:{nxt.reason}" if nxt else
                        SLEEPING(lang) if plan.customer.get("stage") == "流失客户" else None)
                wb.set_cell(customers.sheet, reason_cell, Cell(text))
        wb.put_sheet(DUE_LIST.sheet(lang), table_sheet(
            wb, DUE_LIST, records, lang=lang, name=DUE_LIST.name,
            title=f"{DUE_LIST.title(lang)} {report.today}",
            options=settings.general.model_dump()), after=customers.sheet
            if DUE_LIST.sheet(lang) not in wb.sheet_names else None)
        refresh_lists(wb, settings, lang)
        wb.save()
    return path
