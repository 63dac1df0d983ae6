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
from xlsales.io import printing as pr
from xlsales.io.atomic import atomic_path
from xlsales.io.edit.graft import CHART_MARK, regenerate
from xlsales.io.xlsx_writer import (
    NOTES_ROW,
    TITLE_ROW,
    Tables,
    _Formats,
    table_values,
    write_table,
)
from xlsales.tables.base import TableSpec
from xlsales.words import options_text

CHART_TITLES = {
    "funnel": Label("销售漏斗:本期进入与反推所需", "Funnel: entered vs needed"),
    "forecast": Label("按代表:已成交与加权预测对比目标", "By rep: won and weighted vs quota"),
}
SERIES = {
    "entered": Label("本期进入", "Entered"), "needed": Label("反推所需", "Needed"),
    "won": Label("已成交", "Won"), "weighted": Label("加权预测", "Weighted"),
    "quota": Label("目标", "Quota"),
}
AXES = {
    "rep": Label("销售代表", "Rep"), "month": Label("月份", "Month"),
    "completion": Label("完成率", "Completion"), "stage": Label("商机阶段", "Stage"),
    "amount": Label("金额(万元)", "Amount (10k CNY)"),
    "deals": Label("商机数", "Opportunities"),
}
CHART_FONT = {"name": "Microsoft YaHei", "size": 9}


def axis(title: str, num_format: str | None = None) -> dict[str, Any]:
    """A chart axis with its title (and number format)."""
    out: dict[str, Any] = {"name": title,
                           "name_font": {**CHART_FONT, "bold": False},
                           "num_font": CHART_FONT}
    if num_format:
        out["num_format"] = num_format
    return out


_WRAPPED = {"title": {"bold": True, "font_size": 14},
            "notes": {"italic": True, "font_color": "#595959"}}


def wrap_titles(ws: Any, fmts: _Formats, widths: Mapping[int, float], *,
                title: str | None = None, notes: str | None = None) -> None:
    """A sheet's title and note (rows 1 and 2) wrapped over its table when they would run
    past its last column."""
    for row, kind, text in ((TITLE_ROW, "title", title), (NOTES_ROW, "notes", notes)):
        if text:
            wrap_note(ws, fmts, widths, row, text, kind=kind)


def wrap_note(ws: Any, fmts: _Formats, widths: Mapping[int, float], row: int, text: str, *,
              kind: str = "notes") -> None:
    """The line of text written in column A of ``row`` wrapped over the table's columns
    ``widths`` when it would run past the last (``kind``: a sheet's title or note)."""
    cache = fmts.__dict__.setdefault("_wrapped", {})
    if kind not in cache:
        cache[kind] = fmts.wb.add_format({**fmts.base, **_WRAPPED[kind],
                                          "text_wrap": True, "valign": "top"})
    pr.xlsx_note(ws, row, text, widths, cache[kind], size=14.0 if kind == "title" else 11.0)


def charts_layout(widths: Mapping[int, float], heights: Mapping[int, float], at: int,
                  charts: Sequence[tuple[int, float, int, int]], *,
                  landscape: bool = True, title_row: int = 2) -> pr.Layout:
    """How a sheet prints whose charts start at the 0-based row ``at`` (each chart: its
    row from ``at``, its left edge in pixels, its width and height in pixels; the rows
    under the charts keep Excel's default height): all on one page when that is
    readable, else the charts on a page of their own, never cut."""
    block = max(r * pr.LINE_PT + h * 0.75 for r, _, _, h in charts)
    width = max(pr.columns_pt(widths.values()), max((x + w) * 0.75 for _, x, w, _ in charts))
    return pr.keep_together(pr.rows_pt(heights, at), at, block, landscape=landscape,
                            width_pt=width, titles_pt=heights.get(title_row, pr.LINE_PT))


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
                          options: dict[str, Any], period: str | None = None) -> Path:
    """Write the forecast and funnel report to ``path``: every sheet one landscape page
    wide with the team and ``period`` in its header, charts never cut by a page."""
    from xlsales.tables.pipeline import FORECAST, FORECAST_LINES

    target = Path(path)
    with report_path(target) as tmp:
        wb, fmts = new_report(tmp, title)
        team = options.get("team_name")
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
        widths, heights = pr.xlsx_tables(ws, [(FORECAST, tables[FORECAST.name], 3)], lang)
        wrap_titles(ws, fmts, widths, title=title,
                    notes=FORECAST.notes(lang) if FORECAST.notes else None)
        sheet = FORECAST.sheet(lang)
        reps = [i for i, r in enumerate(forecast_rows) if r.get("level_code") == "rep"]
        layout = None
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
            chart.set_x_axis(axis(AXES["rep"](lang)))
            chart.set_y_axis(axis(options_text(AXES["amount"](lang), options), "#,##0"))
            size = (760, 320)
            chart.set_size({"width": size[0], "height": size[1]})
            ws.insert_chart(last + 2, 0, chart,
                            chart_options(CHART_TITLES["forecast"](lang)))
            layout = charts_layout(widths, heights, last + 2, [(0, 0, *size)], title_row=3)
        ws.freeze_panes(4, 2)
        pr.xlsx_page(ws, team=team, period=period, layout=layout, repeat_rows=(3, 3))

        ws = wb.add_worksheet(FORECAST_LINES.sheet(lang))
        ws.write_string(TITLE_ROW, 0, FORECAST_LINES.title(lang), fmts.title)
        write_table(ws, fmts, FORECAST_LINES, forecast_lines, header_row=2, lang=lang, **kw)
        widths, _ = pr.xlsx_tables(ws, [(FORECAST_LINES, tables[FORECAST_LINES.name], 2)],
                                   lang)
        wrap_titles(ws, fmts, widths, title=FORECAST_LINES.title(lang))
        ws.freeze_panes(3, 0)
        pr.xlsx_page(ws, team=team, period=period, repeat_rows=(2, 2))

        add_funnel_sheet(wb, fmts, funnel_rows, funnel_summary, lang=lang, period=period,
                         **kw)
        wb.close()
    return target


def add_funnel_sheet(wb: Any, fmts: _Formats, funnel_rows: list[dict[str, Any]],
                     funnel_summary: dict[str, Any], *, lang: Lang,
                     period: str | None = None, **kw: Any) -> None:
    """The funnel sheet: the reverse calculation's basis, the stages, a bar chart."""
    from xlsales.tables.pipeline import FUNNEL, FUNNEL_SUMMARY

    tables: Tables = kw.pop("tables", None) or {}
    kw["tables"] = tables  # the funnel reads the summary's deals needed
    ws = wb.add_worksheet(FUNNEL.sheet(lang))
    sheet = FUNNEL.sheet(lang)
    ws.write_string(TITLE_ROW, 0, FUNNEL.title(lang), fmts.title)
    if FUNNEL.notes:
        ws.write_string(NOTES_ROW, 0, FUNNEL.notes(lang), fmts.notes)
    ws.merge_range(3, 0, 3, len(FUNNEL_SUMMARY.columns) - 1, FUNNEL_SUMMARY.title(lang),
                   fmts.header)  # a caption over the summary, never wrapped in one cell
    write_table(ws, fmts, FUNNEL_SUMMARY, [funnel_summary], header_row=4, widths=False,
                lang=lang, **kw)
    first, last = write_table(ws, fmts, FUNNEL, funnel_rows, header_row=8, lang=lang, **kw)
    widths, heights = pr.xlsx_tables(ws, [(FUNNEL_SUMMARY, tables[FUNNEL_SUMMARY.name], 4),
                                          (FUNNEL, tables[FUNNEL.name], 8)], lang)
    wrap_titles(ws, fmts, widths, title=FUNNEL.title(lang),
                notes=FUNNEL.notes(lang) if FUNNEL.notes else None)
    chart = wb.add_chart({"type": "bar"})
    for key in ("entered", "needed"):
        chart.add_series({"name": SERIES[key](lang),
                          "categories": col_range(sheet, FUNNEL, "stage", first, last),
                          "values": col_range(sheet, FUNNEL, key, first, last),
                          "values_data": series_values(tables, FUNNEL, key, 0, last - first)})
    chart.set_x_axis(axis(AXES["deals"](lang), "0"))  # a bar chart's values run across
    chart.set_y_axis({**axis(AXES["stage"](lang)), "reverse": True})
    chart.set_title({"name": CHART_TITLES["funnel"](lang)})
    size = (760, 320)
    chart.set_size({"width": size[0], "height": size[1]})
    ws.insert_chart(last + 2, 0, chart, chart_options(CHART_TITLES["funnel"](lang)))
    layout = charts_layout(widths, heights, last + 2, [(0, 0, *size)], title_row=8)
    pr.xlsx_page(ws, team=kw.get("options", {}).get("team_name"), period=period,
                 layout=layout)
