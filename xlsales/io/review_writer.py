"""Write the monthly review workbook (T4 and its analysis sheets) with native charts.

Formulas carry their computed values as cached results; chart caches hold the plotted
numbers.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from xlsales.i18n import Label, Lang
from xlsales.io.report_writer import (
    add_funnel_sheet,
    chart_options,
    col_range,
    new_report,
    report_path,
    series_values,
)
from xlsales.io.xlsx_writer import NOTES_ROW, TITLE_ROW, Tables, page_setup, write_table
from xlsales.tables.base import TableSpec

CHARTS = {
    "completion": Label("各代表目标完成率", "Completion by rep"),
    "line100": Label("100%目标线", "100% line"),
    "funnel": Label("销售漏斗:本期进入与反推所需", "Funnel: entered vs needed"),
}
HINTS_SHEET = "_hints"  # the hints xlsales wrote into the cause column, to tell them apart
TREND_CHARTS = ("sales", "conversion", "visits", "win_rate")
FALLING = Label("连续3个月下降:", "Fell three months in a row: ")


def _plain(_list: str, value: str) -> str:
    return value


def write_review(path: str | os.PathLike[str], *, lang: Lang, title: str,
                 t4_rows: list[dict[str, Any]], horizontal: list[dict[str, Any]],
                 trend: list[dict[str, Any]], cases: list[dict[str, Any]],
                 funnel_rows: list[dict[str, Any]], funnel_summary: dict[str, Any],
                 options: dict[str, Any], falling: list[str] | None = None,
                 hints: list[tuple[str, str, str]] | None = None) -> Path:
    """Write the review workbook to ``path`` through a temporary file."""
    from xlsales.tables.review import CASES, HORIZONTAL, REVIEW, TREND

    target = Path(path)
    with report_path(target) as tmp:
        wb, fmts = new_report(tmp, title)
        tables: Tables = {}  # every table's columns as written, for the charts' caches
        kw: dict[str, Any] = {"lang": lang, "options": options, "display": _plain,
                              "tables": tables}

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
                            "categories": col_range(sheet, HORIZONTAL, "name", r0, r1),
                            "values": col_range(sheet, HORIZONTAL, "completion", r0, r1),
                            "values_data": series_values(tables, HORIZONTAL, "completion",
                                                         reps[0], reps[-1]),
                            "data_labels": {"value": True, "num_format": "0%"}})
            line = wb.add_chart({"type": "line"})
            line.add_series({"name": CHARTS["line100"](lang),
                             "categories": col_range(sheet, HORIZONTAL, "name", r0, r1),
                             "values": col_range(sheet, HORIZONTAL, "target_line", r0, r1),
                             "values_data": series_values(tables, HORIZONTAL, "target_line",
                                                          reps[0], reps[-1]),
                             "line": {"color": "#C00000", "dash_type": "dash"}})
            bar.combine(line)
            bar.set_title({"name": CHARTS["completion"](lang)})
            bar.set_y_axis({"num_format": "0%"})
            bar.set_size({"width": 760, "height": 320})
            ws.insert_chart(first + len(horizontal) + 2, 0, bar,
                            chart_options(CHARTS["completion"](lang)))
        page_setup(ws)

        ws = sheet_with_title(TREND, TREND.title(lang))
        sheet = TREND.sheet(lang)
        first, last = write_table(ws, fmts, TREND, trend, header_row=2, validations=False,
                                  **kw)
        for i, key in enumerate(TREND_CHARTS):
            chart = wb.add_chart({"type": "line"})
            header = TREND.column(key).header(lang)
            chart.add_series({"name": header,
                              "categories": col_range(sheet, TREND, "month", first, last),
                              "values": col_range(sheet, TREND, key, first, last),
                              "values_data": series_values(tables, TREND, key, 0,
                                                           last - first),
                              "marker": {"type": "circle"}})
            chart.set_title({"name": header})
            chart.set_legend({"none": True})
            if TREND.column(key).kind.value == "percent":
                chart.set_y_axis({"num_format": "0%"})
            chart.set_size({"width": 360, "height": 240})
            ws.insert_chart(last + 3 + (i // 2) * 13, (i % 2) * 5, chart,
                            chart_options(header, x_offset=(i % 2) * 20))
        if falling:
            ws.write_string(last + 2, 0, FALLING(lang) + "、".join(falling), fmts.cond["bad"])
        page_setup(ws)

        ws = sheet_with_title(CASES, CASES.title(lang))
        write_table(ws, fmts, CASES, cases, header_row=2, validations=False, **kw)
        page_setup(ws)

        add_funnel_sheet(wb, fmts, funnel_rows, funnel_summary, lang=lang,
                         options=options, display=_plain, validations=False, tables=tables)
        hints_sheet = wb.add_worksheet(HINTS_SHEET)
        for r, (dimension, metric, hint) in enumerate(hints or []):
            hints_sheet.write_string(r, 0, dimension)
            hints_sheet.write_string(r, 1, metric)
            hints_sheet.write_string(r, 2, hint)
        hints_sheet.hide()
        wb.close()
    return target
