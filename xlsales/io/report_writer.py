"""Generated report workbooks (forecast and funnel) with native Excel charts.

Reports are written fresh with XlsxWriter: live formulas where a manager would tweak
(weighted amounts, coverage, conversions, the reverse funnel), values elsewhere, and
charts that read the sheet's cells. Formulas carry their computed values as cached
results, and the charts' caches hold the plotted numbers.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from xlsales.i18n import Label, Lang
from xlsales.io.atomic import atomic_path
from xlsales.io.edit.graft import CHART_MARK, regenerate
from xlsales.io.xlsx_writer import (
    NOTES_ROW,
    TITLE_ROW,
    Tables,
    _Formats,
    page_setup,
    table_values,
    write_table,
)
from xlsales.tables.base import TableSpec

CHART_TITLES = {
    "funnel": Label("销售漏斗:本期进入与反推所需", "Funnel: entered vs needed"),
    "forecast": Label("按代表:已成交与加权预测对比目标", "By rep: won and weighted vs quota"),
}
SERIES = {
    "entered": Label("本期进入", "Entered"), "needed": Label("反推所需", "Needed"),
    "won": Label("已成交", "Won"), "weighted": Label("加权预测", "Weighted"),
    "quota": Label("目标", "Quota"),
}


@contextlib.contextmanager
def report_path(target: Path) -> Iterator[Path]:
    """Where to write the report ``target``: a temporary file that replaces it atomically
    when there is none yet; when there is, a fresh copy whose sheets are then grafted into
    it, so what a manager added to the report is kept (:mod:`xlsales.io.edit.graft`)."""
    if not target.exists():
        with atomic_path(target) as tmp:
            yield tmp
        return
    with tempfile.TemporaryDirectory(prefix=".xlsales-", dir=target.parent) as folder:
        fresh = Path(folder) / f"fresh{target.suffix}"
        yield fresh
        regenerate(target, fresh)


def chart_options(title: str, **more: Any) -> dict[str, Any]:
    """``insert_chart`` options: the alternative text marks the chart as xlsales's."""
    return {"description": f"{title} {CHART_MARK}", **more}


def new_report(path: Path, title: str) -> tuple[Any, _Formats]:
    """A new report workbook (user text never becomes a formula) and its formats."""
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                         "strings_to_numbers": False,
                                         "strings_to_urls": False})
    wb.set_properties({"title": title, "author": "xlsales", "created": dt.datetime(2024, 1, 1)})
    return wb, _Formats(wb)


def _no_display(_list: str, value: str) -> str:
    return value


def col_range(sheet: str, spec: TableSpec, key: str, first: int, last: int,
               first_col: int = 0) -> str:
    """An absolute reference to ``key``'s cells in rows ``first``..``last`` of ``sheet``."""
    c = first_col + spec.index(key)
    return (f"='{sheet}'!{xl_rowcol_to_cell(first, c, row_abs=True, col_abs=True)}:"
            f"{xl_rowcol_to_cell(last, c, row_abs=True, col_abs=True)}")


def series_values(tables: Mapping[str, Mapping[str, Sequence[Any]]], spec: TableSpec,
                  key: str, start: int, stop: int) -> list[float | None]:
    """The chart cache of ``key``'s data rows ``start``..``stop`` (0-based, inclusive):
    numbers, and None for text, blanks and errors (Excel leaves those points out)."""
    values = tables[spec.name][key][start:stop + 1]
    return [v if isinstance(v, int | float) and not isinstance(v, bool) else None
            for v in values]


def write_pipeline_report(path: str | os.PathLike[str], *, lang: Lang, title: str,
                          forecast_rows: list[dict[str, Any]],
                          forecast_lines: list[dict[str, Any]],
                          funnel_rows: list[dict[str, Any]], funnel_summary: dict[str, Any],
                          options: dict[str, Any]) -> Path:
    """Write the forecast and funnel report to ``path``."""
    from xlsales.tables.pipeline import FORECAST, FORECAST_LINES

    target = Path(path)
    with report_path(target) as tmp:
        wb, fmts = new_report(tmp, title)
        tables: Tables = {}  # the forecast sums the lines, written on the next sheet
        tables[FORECAST_LINES.name] = table_values(FORECAST_LINES, forecast_lines, lang=lang,
                                                   options=options, display=_no_display)
        kw: dict[str, Any] = {"options": options, "display": _no_display,
                              "validations": False, "tables": tables}

        ws = wb.add_worksheet(FORECAST.sheet(lang))
        ws.write_string(TITLE_ROW, 0, title, fmts.title)
        if FORECAST.notes:
            ws.write_string(NOTES_ROW, 0, FORECAST.notes(lang), fmts.notes)
        first, last = write_table(ws, fmts, FORECAST, forecast_rows, header_row=3, lang=lang,
                                   **kw)
        sheet = FORECAST.sheet(lang)
        reps = [i for i, r in enumerate(forecast_rows) if r.get("level_code") == "rep"]
        if reps:
            r0, r1 = first + reps[0], first + reps[-1]
            chart = wb.add_chart({"type": "column", "subtype": "stacked"})
            for key in ("won", "weighted"):
                chart.add_series({"name": SERIES[key](lang),
                                  "categories": col_range(sheet, FORECAST, "key", r0, r1),
                                  "values": col_range(sheet, FORECAST, key, r0, r1),
                                  "values_data": series_values(tables, FORECAST, key,
                                                               reps[0], reps[-1])})
            line = wb.add_chart({"type": "line"})
            line.add_series({"name": SERIES["quota"](lang),
                             "categories": col_range(sheet, FORECAST, "key", r0, r1),
                             "values": col_range(sheet, FORECAST, "quota", r0, r1),
                             "values_data": series_values(tables, FORECAST, "quota",
                                                          reps[0], reps[-1]),
                             "marker": {"type": "diamond"}})
            chart.combine(line)
            chart.set_title({"name": CHART_TITLES["forecast"](lang)})
            chart.set_size({"width": 760, "height": 320})
            ws.insert_chart(last + 3, 0, chart,
                            chart_options(CHART_TITLES["forecast"](lang)))
        ws.freeze_panes(4, 2)
        page_setup(ws)

        ws = wb.add_worksheet(FORECAST_LINES.sheet(lang))
        ws.write_string(TITLE_ROW, 0, FORECAST_LINES.title(lang), fmts.title)
        write_table(ws, fmts, FORECAST_LINES, forecast_lines, header_row=2, lang=lang, **kw)
        ws.freeze_panes(3, 0)
        page_setup(ws)

        add_funnel_sheet(wb, fmts, funnel_rows, funnel_summary, lang=lang, **kw)
        wb.close()
    return target


def add_funnel_sheet(wb: Any, fmts: _Formats, funnel_rows: list[dict[str, Any]],
                     funnel_summary: dict[str, Any], *, lang: Lang, **kw: Any) -> None:
    """The funnel sheet: the reverse calculation's basis, the stages, a bar chart."""
    from xlsales.tables.pipeline import FUNNEL, FUNNEL_SUMMARY

    tables: Tables = kw.pop("tables", None) or {}
    kw["tables"] = tables  # the funnel reads the summary's deals needed
    ws = wb.add_worksheet(FUNNEL.sheet(lang))
    sheet = FUNNEL.sheet(lang)
    ws.write_string(TITLE_ROW, 0, FUNNEL.title(lang), fmts.title)
    if FUNNEL.notes:
        ws.write_string(NOTES_ROW, 0, FUNNEL.notes(lang), fmts.notes)
    ws.write_string(3, 0, FUNNEL_SUMMARY.title(lang), fmts.header)
    write_table(ws, fmts, FUNNEL_SUMMARY, [funnel_summary], header_row=4, widths=False,
                lang=lang, **kw)
    first, last = write_table(ws, fmts, FUNNEL, funnel_rows, header_row=8, lang=lang, **kw)
    chart = wb.add_chart({"type": "bar"})
    for key in ("entered", "needed"):
        chart.add_series({"name": SERIES[key](lang),
                          "categories": col_range(sheet, FUNNEL, "stage", first, last),
                          "values": col_range(sheet, FUNNEL, key, first, last),
                          "values_data": series_values(tables, FUNNEL, key, 0, last - first)})
    chart.set_y_axis({"reverse": True})
    chart.set_title({"name": CHART_TITLES["funnel"](lang)})
    chart.set_size({"width": 760, "height": 320})
    ws.insert_chart(last + 3, 0, chart, chart_options(CHART_TITLES["funnel"](lang)))
    page_setup(ws)
