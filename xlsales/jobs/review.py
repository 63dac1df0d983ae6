"""The one-click monthly (or quarterly) review."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xlsales import tables as T
from xlsales.calendar import parse_period, period_label
from xlsales.errors import InputError
from xlsales.i18n import Label, Lang
from xlsales.jobs.pipeline import LEVEL_LIST
from xlsales.jobs.sources import (
    load_customers,
    load_daily,
    load_targets,
    with_archives,
    workspace_settings,
)
from xlsales.performance import QUOTA_BASIS
from xlsales.settings import Settings
from xlsales.tables.base import WHOLE_FORMAT
from xlsales.words import is_whole, to_unit

KIND_FORMATS = {"percent": "0.0%", "amount": "#,##0.00", "count": "0", "number": "0.00"}
KEPT = ("cause", "improvement", "owner", "due")


@dataclass
class ReviewResult:
    """The review written, and what it kept of the manager's words."""

    review: Any
    written: Path
    kept: int
    pdf: Path | None = None  # the PDF export (``pdf=True``)

    def as_dict(self) -> dict[str, Any]:
        out = {**self.review.as_dict(), "written": str(self.written), "kept_notes": self.kept}
        if self.pdf is not None:
            out["pdf"] = str(self.pdf)
        return out


NO_LIBREOFFICE = Label(
    "导出 PDF 需要 LibreOffice,但没有找到它(soffice)。安装:Debian/Ubuntu 运行 "
    "sudo apt install libreoffice-calc-nogui;macOS 或 Windows 从 "
    "https://www.libreoffice.org/download/download-libreoffice/ 下载安装;"
    "已安装在别处时,把环境变量 XLSALES_SOFFICE 设为 soffice 的路径",
    "exporting a PDF needs LibreOffice, which was not found (soffice). Install it: on "
    "Debian/Ubuntu run sudo apt install libreoffice-calc-nogui; on macOS or Windows download "
    "it from https://www.libreoffice.org/download/download-libreoffice/; when it is "
    "installed elsewhere, set XLSALES_SOFFICE to the path of soffice")


def find_libreoffice() -> str:
    """LibreOffice's ``soffice``, or the error saying how to install it."""
    from xlsales.errors import XlsalesError
    from xlsales.io import libreoffice

    found = libreoffice.find_soffice()
    if found is None:
        raise XlsalesError(NO_LIBREOFFICE)
    return found


def export_pdf(workbook: Path, *, soffice: str | None = None) -> Path:
    """The workbook as a PDF beside it (same name, ``.pdf``), printed by LibreOffice with
    the workbook's page setup."""
    from xlsales.io import libreoffice

    return libreoffice.convert(workbook, "pdf", workbook.parent,
                               soffice=soffice or find_libreoffice())


SALES_TARGET = Label("销售额目标:", "sales target: ")
SALES_FROM = Label("销售额取自:", "sales from: ")


def review_data(root: Path, since: dt.date | None = None) -> tuple[Any, Lang]:
    """What the review reads from a workspace: each workbook once; with ``since`` (the
    first day its figures reach back to), the archived dailies of the years from
    ``since`` on too (:func:`xlsales.jobs.sources.with_archives`)."""
    from xlsales.review import ReviewData

    settings = workspace_settings(root)
    daily = load_daily(root, settings=settings, validate=False)
    ws = load_customers(root, ("opportunities", "stage_history"), settings=settings)
    targets = load_targets(root, settings)
    frame = with_archives(daily, since) if since is not None else daily.frame
    data = ReviewData(settings, targets, frame, ws.frame("opportunities"),
                      ws.frame("stage_history"), targets.rows)
    return data, daily.lang


def reach(first: dt.date, last: dt.date) -> dt.date:
    """The first day the review of ``first``..``last`` reads: its six months of history
    before ``first`` and its six-month trend ending with the month of ``last``."""
    from xlsales.review import months_before

    trend = months_before(dt.date(last.year, last.month, 1), 5)[0][0]
    return min(months_before(first, 6)[0][0], trend, first)


def run_review(root: str | os.PathLike[str], *, month: str | None = None,
               quarter: str | None = None, out: str | os.PathLike[str] | None = None,
               today: dt.date | None = None, pdf: bool = False) -> ReviewResult:
    """Generate the monthly (or quarterly) review; regenerating keeps the manager's words.
    ``pdf``: also export it to PDF through LibreOffice (looked for first: without it
    nothing is written)."""
    from xlsales.io.review_writer import write_review
    from xlsales.pipeline import funnel
    from xlsales.review import LABELS, build_review

    root = Path(root)
    if bool(month) == bool(quarter):
        raise InputError(Label("请给出 --month 2024-03 或 --quarter 2024Q1 其中之一",
                               "give one of --month 2024-03 or --quarter 2024Q1"))
    label = period_label(month or quarter or "")
    first, last, _ = parse_period(label)
    soffice = find_libreoffice() if pdf else None
    data, lang = review_data(root, reach(first, last))
    settings = data.settings
    review = build_review(data, first, last, label, lang=lang, today=today)
    from xlsales.jobs.accuracy import recent_forecast_accuracy

    review.forecast_accuracy = recent_forecast_accuracy(
        root, settings, data.opportunities, data.history, f"{last:%Y-%m}", lang=lang)
    target = Path(out) if out else root / settings.general.review_file.format(period=label)
    kept_notes = _kept_notes(target, settings)
    rows, kept = [], 0
    unit = settings.general.amount_unit
    for m in review.metrics:
        notes = kept_notes.get((m.dimension, m.metric)) or kept_notes.get(
            (LABELS[m.key][0].zh, LABELS[m.key][1].zh)) or kept_notes.get(
            (LABELS[m.key][0].en, LABELS[m.key][1].en))
        row = {"dimension": m.dimension, "metric": m.metric, "target": m.target,
               "actual": m.actual, "cause": m.hint,
               "_num_formats": {"target": KIND_FORMATS[m.kind],
                                "actual": KIND_FORMATS[m.kind]}}
        if m.kind == "amount" and is_whole(unit):  # whole units: × 10,000, no decimals
            row.update({k: None if row[k] is None else to_unit(row[k], unit)
                        for k in ("target", "actual")},
                       _num_formats={"target": WHOLE_FORMAT, "actual": WHOLE_FORMAT})
        if notes:
            kept += 1
            row.update(notes)
        rows.append(row)
    from xlsales.tables.pipeline import LEVELS

    horizontal = [{**h, "level": LEVELS[h["level_code"]](lang),
                   "name": settings.display(LEVEL_LIST.get(h["level_code"], ""), h["name"],
                                            lang),
                   "mark": h["mark"],
                   "target_line": 1.0} for h in review.horizontal]
    trend = [{"month": month_label, **{k: v[i] for k, v in review.trend.items()}}
             for i, month_label in enumerate(review.trend_months)]
    kinds = {"won": Label("成交", "Won"), "lost": Label("输单", "Lost")}
    cases = [{**c, "kind": kinds[c["kind"]](lang)} for c in review.cases]
    fu = funnel(data.opportunities, data.history, data.targets, settings, first, last,
                today=today)
    funnel_rows = [{**s.as_dict(), "stage": s.stage.label(lang)} for s in fu.stages]
    summary = {"quota": fu.quota, "quota_basis": QUOTA_BASIS[fu.quota_basis](lang),
               "won_count": fu.won_count, "won_amount": fu.won_amount,
               "average_deal": fu.average_deal}
    title = ({"zh": f"月度业绩复盘分析表 {label}", "en": f"Performance review {label}"}[lang]
             + f" · {SALES_TARGET(lang)}{QUOTA_BASIS[review.quota_basis](lang)}"
             + f" · {SALES_FROM(lang)}{review.reconciliation['source_label']}")
    written = write_review(target, lang=lang, title=title, t4_rows=rows,
                           horizontal=horizontal, trend=trend, cases=cases,
                           funnel_rows=funnel_rows, funnel_summary=summary,
                           options=settings.general.model_dump(), period=label,
                           falling=[LABELS[k][1](lang) for k in review.falling],
                           hints=[(m.dimension, m.metric, m.hint) for m in review.metrics
                                  if m.hint],
                           forecast_accuracy=review.forecast_accuracy,
                           note=review.reconciliation["line"])
    exported = export_pdf(Path(written), soffice=soffice) if soffice else None
    return ReviewResult(review, written, kept, exported)


def _generated_hints(path: Path) -> dict[tuple[str, str], str]:
    """The hints an earlier run wrote into the cause column (its hidden ``_hints`` sheet)."""
    from xlsales.io.read import hidden_sheet_rows
    from xlsales.io.review_writer import HINTS_SHEET

    rows = hidden_sheet_rows(path, HINTS_SHEET)
    return {(str(r[0]), str(r[1])): str(r[2]) for r in rows if len(r) >= 3}


def _kept_notes(path: Path, settings: Settings) -> dict[tuple[str, str], dict[str, Any]]:
    """The manager's cause/improvement/owner/due of an earlier review, by dimension+metric."""
    from xlsales.io.read import read_table

    if not path.exists():
        return {}
    table = read_table(path, T.get("review"), settings)
    generated = _generated_hints(path)
    out = {}
    for r in table.records():
        notes = {k: r.get(k) for k in KEPT if r.get(k) not in (None, "")}
        if notes.get("cause") == generated.get((str(r.get("dimension")), str(r.get("metric")))):
            notes.pop("cause", None)  # xlsales' own hint, not the manager's words
        if notes:
            out[(str(r.get("dimension")), str(r.get("metric")))] = notes
    return out


