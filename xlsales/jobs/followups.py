"""The follow-up job: every customer's next follow-up, written back on request.

What xlsales wrote is kept in a hidden ``_followups`` sheet of the customers workbook (the
ledger: per customer the date it wrote into 下次跟进时间, the day it first planned the
customer, its catch-up day). A date in 下次跟进时间 that differs from the one the ledger
holds was typed by a person and is kept (unless ``force``); a workbook without a ledger is
on its first run, and a customer the ledger does not know (a new row, an import) is
onboarded: what was long overdue is spread as a catch-up plan (:func:`xlsales.followups.
catch_up`). Removing the ``_followups`` sheet starts onboarding afresh.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xlsales.errors import InputError
from xlsales.followups import SLEEPING, FollowUpReport, LedgerEntry
from xlsales.frames import Table
from xlsales.i18n import Label, Lang
from xlsales.jobs.sources import Workspace, load_customers
from xlsales.settings import Settings
from xlsales.workspace import book_path

__all__ = ["BUCKETS", "LEDGER_SHEET", "SLEEPING", "FollowUpResult", "plan_followups",
           "read_ledger", "run_followups"]

BUCKETS = {"overdue": Label("逾期", "Overdue"), "today": Label("今天", "Today"),
           "this_week": Label("本周", "This week")}
LEDGER_SHEET = "_followups"  # what xlsales wrote, to tell typed dates apart
FORCE_NEEDS_WRITE = Label("--force 只能与 --write 一起使用", "--force only goes with --write")
TYPED_KEPT = Label("沿用负责人填写的下次跟进时间:档案 {archive} 位,跟进记录 {log} 位",
                   "Typed next follow-ups kept: {archive} from the archive, {log} from the "
                   "follow-up log")
TYPED_LATE = Label("第 {row} 行 {customer}({owner}):填写的 {date} 晚于节奏({rule},应不晚于 "
                   "{limit})", "row {row} {customer} ({owner}): typed {date} is later than "
                   "the cadence allows ({rule}: by {limit})")
OVERWRITTEN = Label("已覆盖 {cell} {customer}({owner}):{was} → {date}",
                    "Overwrote {cell} {customer} ({owner}): {was} → {date}")
REFILLED = Label("已替换 {cell} {customer}({owner}):{was} 不晚于最近联系日期 → {date}",
                 "Replaced {cell} {customer} ({owner}): {was} is not after the last contact "
                 "→ {date}")
MORE = Label("…… 另有 {n} 条(见 --json)", "… {n} more (use --json)")


@dataclass
class FollowUpResult:
    """Follow-ups planned as of a day, and where they were written: ``overwritten`` lists
    the typed dates ``force`` replaced, ``refilled`` the typed dates on or before the last
    contact that were replaced (used up)."""

    report: FollowUpReport
    rep: str | None
    written: Path | None = None
    overwritten: list[dict[str, Any]] = field(default_factory=list)
    refilled: list[dict[str, Any]] = field(default_factory=list)
    kept: int = 0  # typed dates left as they were by the write

    def notes(self, lang: Lang, limit: int | None = None) -> list[tuple[str, str]]:
        """What to tell besides the due lists, as (kind, text): the catch-up plan ("plan"),
        typed dates kept ("info") and the ones later than the cadence allows ("flag", at
        most ``limit``), the typed dates a write replaced ("info", every row)."""
        out: list[tuple[str, str]] = []
        plan = self.report.catch_up
        if plan is not None and plan.moved:
            out.append(("plan", plan.message(lang)))
        typed = self.report.typed_summary(self.rep)
        if typed["archive"] or typed["log"]:
            out.append(("info", TYPED_KEPT(lang).format(archive=typed["archive"],
                                                        log=typed["log"])))
        late = typed["breaks_cadence"]
        shown = late if limit is None else late[:limit]
        out += [("flag", TYPED_LATE(lang).format(**t)) for t in shown]
        if len(late) > len(shown):
            out.append(("flag", MORE(lang).format(n=len(late) - len(shown))))
        out += [("info", OVERWRITTEN(lang).format(**r)) for r in self.overwritten]
        out += [("info", REFILLED(lang).format(**r)) for r in self.refilled]
        return out

    def as_dict(self) -> dict[str, Any]:
        report = self.report
        today = report.today
        buckets = report.buckets(self.rep)
        plan = report.catch_up
        return {"on": today.isoformat(), "rep": self.rep,
                "due": {k: [d.as_dict(today) for d in v] for k, v in buckets.items()},
                "counts": {k: len(v) for k, v in buckets.items()},
                "per_rep": report.per_rep(),
                "next": [d.as_dict(today) for d in report.next_dues(self.rep)],
                "typed": report.typed_summary(self.rep),
                "catch_up": plan.as_dict(report.lang) if plan is not None else None,
                "written": str(self.written) if self.written else None,
                "kept": self.kept, "overwritten": self.overwritten, "refilled": self.refilled}


def read_ledger(path: Path) -> dict[str, LedgerEntry] | None:
    """The ledger of a customers workbook (None when it has none: its first run)."""
    from xlsales.followups import ledger_from_rows
    from xlsales.io.read import hidden_sheet_rows

    return ledger_from_rows(hidden_sheet_rows(path, LEDGER_SHEET))


def plan_followups(ws: Workspace, path: Path, today: dt.date, *,
                   force: bool = False) -> FollowUpReport:
    """Every customer's follow-ups as of ``today``, with the typed dates and the catch-up
    plan of the customers workbook at ``path`` (its ledger)."""
    from xlsales.followups import follow_up_report

    return follow_up_report(ws.frame("customers"), ws.frame("follow_ups"),
                            ws.frame("opportunities"), ws.settings, today, lang=ws.lang,
                            ledger=read_ledger(path), onboard=True, force=force)


def run_followups(root: str | os.PathLike[str], *, today: dt.date, rep: str | None = None,
                  write: bool = False, force: bool = False) -> FollowUpResult:
    """Every customer's next follow-up; ``write`` fills the archive (dates xlsales wrote
    and empty cells; typed dates too with ``force``) and a due list sheet."""
    if force and not write:
        raise InputError(FORCE_NEEDS_WRITE)
    root = Path(root)
    path = book_path(root, "customers") if root.is_dir() else root
    ws = load_customers(path, ("customers", "follow_ups", "opportunities"))
    report = plan_followups(ws, path, today, force=force)
    result = FollowUpResult(report, rep)
    if write:
        _write_followups(path, ws.tables["customers"], result, ws.settings, ws.lang)
    return result


def _write_followups(path: Path, customers: Table, result: FollowUpResult,
                     settings: Settings, lang: Lang) -> None:
    from xlsales.followups import ledger_after, ledger_rows
    from xlsales.io.edit.book import WorkbookEdit
    from xlsales.io.edit.cells import Cell
    from xlsales.io.edit.lists import refresh_lists
    from xlsales.io.edit.newsheet import NewSheet
    from xlsales.io.edit.styles import Style
    from xlsales.io.edit.tables import Printed, table_sheet
    from xlsales.tables.customers import DUE_LIST

    report = result.report
    records = []
    for bucket, dues in report.buckets().items():
        for d in dues:
            records.append({**d.as_dict(report.today), "date": d.date,
                            "status": BUCKETS[bucket](lang)})
    records.sort(key=lambda r: (r["owner"], r["date"], r["customer"]))
    written: dict[str, dt.date | None] = {}
    with WorkbookEdit(path) as wb:
        date_xf = wb.xf(Style(num_fmt="yyyy-mm-dd"))
        for plan in report.plans:
            row = plan.customer.get("_row")
            date_cell = customers.cell("next_follow_up", row) if row else None
            reason_cell = customers.cell("next_reason", row) if row else None
            if date_cell is None:
                continue
            if plan.keeps_cell:
                result.kept += 1
                continue
            day, text = plan.cell(lang)
            wb.set_cell(customers.sheet, date_cell, Cell(day, fallback=date_xf))
            if reason_cell:
                wb.set_cell(customers.sheet, reason_cell, Cell(text))
            written[plan.key] = day
            if plan.archive in ("forced", "past"):
                was = plan.customer.get("next_follow_up")
                (result.overwritten if plan.archive == "forced" else result.refilled).append(
                    {"customer": plan.customer.get("name"),
                     "owner": plan.customer.get("owner") or "", "row": row,
                     "cell": f"{customers.sheet}!{date_cell}",
                     "was": was.isoformat() if isinstance(was, dt.date) else None,
                     "date": day.isoformat() if day else None})
        wb.put_sheet(DUE_LIST.sheet(lang), table_sheet(
            wb, DUE_LIST, records, lang=lang, name=DUE_LIST.name,
            title=f"{DUE_LIST.title(lang)} {report.today}",
            options=settings.general.model_dump(), printed=Printed(str(report.today))),
            after=customers.sheet
            if DUE_LIST.sheet(lang) not in wb.sheet_names else None)
        ledger = ledger_after(report.plans, report.ledger, report.today,
                              report.catch_up, written)
        sheet = NewSheet(landscape=False, fit_width=False, footer_text="")
        for r, values in enumerate(ledger_rows(ledger)):
            for c, value in enumerate(values):
                if value:
                    sheet.set(r, c, Cell(value))
        wb.put_sheet(LEDGER_SHEET, sheet, hidden=True)
        refresh_lists(wb, settings, lang)
        wb.save()
    result.written = path
