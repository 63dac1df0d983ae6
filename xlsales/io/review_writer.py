"""Write the monthly review workbook (T4 and its analysis sheets) with native charts."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from xlsales.i18n import Label, Lang
from xlsales.io.atomic import atomic_path
from xlsales.io.xlsx_writer import NOTES_ROW, TITLE_ROW, _Formats, page_setup, write_table
from xlsales.tables.base import TableSpec

CHARTS = {
    "completion": Label("各代表目标完成率", "Completion by rep"),
    "line100": Label("100%目标线", "100% line"),
    "funnel": Label("销售漏斗:本期进入与反推所需", "Funnel: entered vs needed"),
}
TREND_CHARTS = ("sales", "conversion", "visits", "win_rate")
FALLING = Label("连续3个月下降:", "Fell three months in a row: ")


def _range(sheet: str, spec: TableSpec, key: str, first: int, last: int) -> str:
    c = spec.index(key)
    return (f"='{sheet}'!{xl_rowcol_to_cell(first, c, row_abs=True, col_abs=True)}:"
            f"{xl_rowcol_to_cell(last, c, row_abs=True, col_abs=True)}")


def _plain(_list: str, value: str) -> str:
    return value


def write_review(path: str | os.PathLike[str], *, lang: Lang, title: str,
                 t4_rows: list[dict[str, Any]], horizontal: list[dict[str, Any]],
                 trend: list[dict[str, Any]], cases: list[dict[str, Any]],
                 funnel_rows: list[dict[str, Any]], funnel_summary: dict[str, Any],
                 options: dict[str, Any], falling: list[str] | None = None) -> Path:
    """Write the review workbook to ``path`` through a temporary file."""
    from xlsales.tables.pipeline import FUNNEL, FUNNEL_SUMMARY
    from xlsales.tables.review import CASES, HORIZONTAL, REVIEW, TREND

    target = Path(path)
    with atomic_path(target) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False,
                                            "strings_to_numbers": False,
                                            "strings_to_urls": False})
        wb.set_properties({"title": title, "author": "xlsales",
                           "created": dt.datetime(2024, 1, 1)})
        fmts = _Formats(wb)
        kw: dict[str, Any] = {"lang": lang, "options": options, "display": _plain}

        def sheet_with_title(spec: TableSpec, text: str) -> Any:
            ws = wb.add_worksheet(spec.sheet(lang))
            ws.write_string(TITLE_ROW, 0, text, fmts.title)
            if spec.notes:
                ws.write_string(NOTES_ROW, 0, spec.notes(lang), fmts.notes)
            return ws

        ws = sheet_with_title(REVIEW, title)
        write_table(ws, fmts, REVIEW, t4_rows, header_row=2, blank_rows=0, validations=False,
                    **kw)
        ws.freeze_panes(3, 2)
        page_setup(ws)

        ws = sheet_with_title(HORIZONTAL, HORIZONTAL.title(lang))
        sheet = HORIZONTAL.sheet(lang)
        first, _ = write_table(ws, fmts, HORIZONTAL, horizontal, header_row=2,
                               validations=False, **kw)
        reps = [i for i, r in enumerate(horizontal) if r.get("level_code") == "rep"]
        if reps:
            r0, r1 = first + reps[0], first + reps[-1]
            bar = wb.add_chart({"type": "column"})
            bar.add_series({"name": CHARTS["completion"](lang),
                            "categories": _range(sheet, HORIZONTAL, "name", r0, r1),
                            "values": _range(sheet, HORIZONTAL, "completion", r0, r1),
                            "data_labels": {"value": True, "num_format": "0%"}})
            line = wb.add_chart({"type": "line"})
            line.add_series({"name": CHARTS["line100"](lang),
                             "categories": _range(sheet, HORIZONTAL, "name", r0, r1),
                             "values": _range(sheet, HORIZONTAL, "target_line", r0, r1),
                             "line": {"color": "#C00000", "dash_type": "dash"}})
            bar.combine(line)
            bar.set_title({"name": CHARTS["completion"](lang)})
            bar.set_y_axis({"num_format": "0%"})
            bar.set_size({"width": 760, "height": 320})
            ws.insert_chart(first + len(horizontal) + 2, 0, bar)
        page_setup(ws)

        ws = sheet_with_title(TREND, TREND.title(lang))
        sheet = TREND.sheet(lang)
        first, last = write_table(ws, fmts, TREND, trend, header_row=2, validations=False,
                                  **kw)
        for i, key in enumerate(TREND_CHARTS):
            chart = wb.add_chart({"type": "line"})
            header = TREND.column(key).header(lang)
            chart.add_series({"name": header,
                              "categories": _range(sheet, TREND, "month", first, last),
                              "values": _range(sheet, TREND, key, first, last),
                              "marker": {"type": "circle"}})
            chart.set_title({"name": header})
            chart.set_legend({"none": True})
            if TREND.column(key).kind.value == "percent":
                chart.set_y_axis({"num_format": "0%"})
            chart.set_size({"width": 360, "height": 240})
            ws.insert_chart(last + 3 + (i // 2) * 13, (i % 2) * 5, chart,
                            {"x_offset": (i % 2) * 20})
        if falling:
            ws.write_string(last + 2, 0, FALLING(lang) + "、".join(falling), fmts.cond["bad"])
        page_setup(ws)

        ws = sheet_with_title(CASES, CASES.title(lang))
        write_table(ws, fmts, CASES, cases, header_row=2, validations=False, **kw)
        page_setup(ws)

        ws = wb.add_worksheet(FUNNEL.sheet(lang))
        sheet = FUNNEL.sheet(lang)
        ws.write_string(TITLE_ROW, 0, FUNNEL.title(lang), fmts.title)
        if FUNNEL.notes:
            ws.write_string(NOTES_ROW, 0, FUNNEL.notes(lang), fmts.notes)
        write_table(ws, fmts, FUNNEL_SUMMARY, [funnel_summary], header_row=3, widths=False,
                    validations=False, **kw)
        first, last = write_table(ws, fmts, FUNNEL, funnel_rows, header_row=7,
                                  validations=False, **kw)
        chart = wb.add_chart({"type": "bar"})
        for key in ("entered", "needed"):
            chart.add_series({"name": FUNNEL.column(key).header(lang),
                              "categories": _range(sheet, FUNNEL, "stage", first, last),
                              "values": _range(sheet, FUNNEL, key, first, last)})
        chart.set_y_axis({"reverse": True})
        chart.set_title({"name": CHARTS["funnel"](lang)})
        chart.set_size({"width": 760, "height": 320})
        ws.insert_chart(last + 3, 0, chart)
        page_setup(ws)
        wb.close()
    return target
