"""Write the monthly review workbook (T4 and its analysis sheets) with native charts.

Formulas carry their computed values as cached results; chart caches hold the plotted
numbers.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from xlsales.i18n import Label, Lang
from xlsales.io import printing as pr
from xlsales.io.report_writer import (
    AXES,
    add_funnel_sheet,
    axis,
    chart_options,
    charts_layout,
    col_range,
    new_report,
    report_path,
    series_values,
    wrap_note,
    wrap_titles,
)
from xlsales.io.xlsx_writer import NOTES_ROW, TITLE_ROW, Tables, write_table
from xlsales.tables.base import WHOLE_FORMAT, TableSpec
from xlsales.words import SEP, is_whole, options_text, to_unit

CHARTS = {
    "completion": Label("各代表目标完成率", "Completion by rep"),
    "line100": Label("100%目标线", "100% line"),
    "funnel": Label("销售漏斗:本期进入与反推所需", "Funnel: entered vs needed"),
}
HINTS_SHEET = "_hints"  # the hints xlsales wrote into the cause column, to tell them apart
TREND_CHARTS = ("sales", "conversion", "visits", "win_rate")
FALLING = Label("连续3个月下降:", "Fell three months in a row: ")
TREND_ROWS = 13  # rows from one row of trend charts to the next (240 px and a gap)
TREND_UNITS = {"sales": Label("万元", "10k CNY"), "conversion": Label("转化率", "Rate"),
               "visits": Label("客户数", "Customers"), "win_rate": Label("赢单率", "Rate")}
TREND_FORMATS = {"amount": "#,##0", "percent": "0%", "int": "0"}
# The forecast accuracy of the last three months, a block right of the trend table (its
# header in the table's header row): the months, the figure, where the snapshots came from.
ACCURACY = {
    "title": Label("近三个月预测准确度", "Forecast accuracy, last three months"),
    "month": Label("月份", "Month"), "snapshot_date": Label("快照日期", "Snapshot"),
    "forecast": Label("月初预测", "Forecast at the start"),
    "commit_forecast": Label("承诺预测", "Commit forecast"),
    "actual": Label("实际赢单", "Won"), "ratio": Label("预测÷赢单", "Forecast ÷ won"),
}
ACCURACY_COLUMNS = ("month", "snapshot_date", "forecast", "commit_forecast", "actual",
                    "ratio")
ACCURACY_FORMATS = {"snapshot_date": "yyyy-mm-dd", "forecast": "#,##0.00",
                    "commit_forecast": "#,##0.00", "actual": "#,##0.00", "ratio": "0.0%"}
ACCURACY_WIDTHS = {"month": 9.0, "snapshot_date": 11.0, "forecast": 12.0,
                   "commit_forecast": 12.0, "actual": 11.0, "ratio": 12.0}


def _plain(_list: str, value: str) -> str:
    return value


def write_review(path: str | os.PathLike[str], *, lang: Lang, title: str,
                 t4_rows: list[dict[str, Any]], horizontal: list[dict[str, Any]],
                 trend: list[dict[str, Any]], cases: list[dict[str, Any]],
                 funnel_rows: list[dict[str, Any]], funnel_summary: dict[str, Any],
                 options: dict[str, Any], falling: list[str] | None = None,
                 hints: list[tuple[str, str, str]] | None = None,
                 period: str | None = None,
                 forecast_accuracy: dict[str, Any] | None = None,
                 note: str | None = None) -> Path:
    """Write the review workbook to ``path`` through a temporary file. Every sheet prints
    one landscape page wide, with the team and ``period`` in its header; a sheet's charts
    are kept whole on one page (:func:`xlsales.io.printing.keep_together`). ``note`` goes
    under the first sheet's table (where the sales come from, both sums and their gap)."""
    from xlsales.tables.review import CASES, HORIZONTAL, REVIEW, TREND

    target = Path(path)
    team = options.get("team_name")
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

        def fitted(ws: Any, spec: TableSpec, header_row: int, text: str) -> tuple[Any, Any]:
            widths, heights = pr.xlsx_tables(ws, [(spec, tables[spec.name], header_row)],
                                             lang)
            wrap_titles(ws, fmts, widths, title=text,
                        notes=spec.notes(lang) if spec.notes else None)
            return widths, heights

        ws = sheet_with_title(REVIEW, title)
        _, last = write_table(ws, fmts, REVIEW, t4_rows, header_row=2, blank_rows=0,
                              validations=False, **kw)
        widths, _ = fitted(ws, REVIEW, 2, title)
        if note:
            ws.write_string(last + 2, 0, note, fmts.notes)
            wrap_note(ws, fmts, widths, last + 2, note)
        ws.freeze_panes(3, 2)
        pr.xlsx_page(ws, team=team, period=period, repeat_rows=(2, 2))

        ws = sheet_with_title(HORIZONTAL, HORIZONTAL.title(lang))
        sheet = HORIZONTAL.sheet(lang)
        first, last = write_table(ws, fmts, HORIZONTAL, horizontal, header_row=2,
                                  validations=False, **kw)
        widths, heights = fitted(ws, HORIZONTAL, 2, HORIZONTAL.title(lang))
        reps = [i for i, r in enumerate(horizontal) if r.get("level_code") == "rep"]
        layout = None
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
            bar.set_x_axis(axis(AXES["rep"](lang)))
            bar.set_y_axis(axis(AXES["completion"](lang), "0%"))
            size = (760, 320)
            bar.set_size({"width": size[0], "height": size[1]})
            at = last + 2
            ws.insert_chart(at, 0, bar, chart_options(CHARTS["completion"](lang)))
            layout = charts_layout(widths, heights, at, [(0, 0, *size)])
        pr.xlsx_page(ws, team=team, period=period, layout=layout, repeat_rows=(2, 2))

        ws = sheet_with_title(TREND, TREND.title(lang))
        sheet = TREND.sheet(lang)
        first, last = write_table(ws, fmts, TREND, trend, header_row=2, validations=False,
                                  **kw)
        widths, heights = fitted(ws, TREND, 2, TREND.title(lang))
        if forecast_accuracy:  # beside the table: the charts' page keeps its height
            widths = {**widths, **_accuracy_block(ws, fmts, forecast_accuracy,
                                                  len(TREND.columns) + 1, 2, lang,
                                                  options.get("amount_unit"))}
        if falling:
            ws.write_string(last + 2, 0, FALLING(lang) + SEP(lang).join(falling), fmts.cond["bad"])
        at, size, gap = last + 4, (360, 240), 20
        right = pr.column_at(widths, size[0] + gap)  # the second chart's column
        x_right = size[0] + gap - pr.left_px(widths, right)
        placed = []
        for i, key in enumerate(TREND_CHARTS):
            chart = wb.add_chart({"type": "line"})
            column = TREND.column(key)
            header = column.header(lang, options)
            chart.add_series({"name": header,
                              "categories": col_range(sheet, TREND, "month", first, last),
                              "values": col_range(sheet, TREND, key, first, last),
                              "values_data": series_values(tables, TREND, key, 0,
                                                           last - first),
                              "marker": {"type": "circle"}})
            chart.set_title({"name": header})
            chart.set_legend({"none": True})
            chart.set_x_axis(axis(AXES["month"](lang)))
            chart.set_y_axis(axis(options_text(TREND_UNITS[key](lang), options),
                                  TREND_FORMATS[column.kind.value]))
            chart.set_size({"width": size[0], "height": size[1]})
            row = at + (i // 2) * TREND_ROWS
            col, x = (right, x_right) if i % 2 else (0, 0)
            ws.insert_chart(row, col, chart, chart_options(header, x_offset=x))
            placed.append(((i // 2) * TREND_ROWS, pr.left_px(widths, col) + x, *size))
        layout = charts_layout(widths, heights, at, placed)
        pr.xlsx_page(ws, team=team, period=period, layout=layout, repeat_rows=(2, 2))

        ws = sheet_with_title(CASES, CASES.title(lang))
        write_table(ws, fmts, CASES, cases, header_row=2, validations=False, **kw)
        fitted(ws, CASES, 2, CASES.title(lang))
        pr.xlsx_page(ws, team=team, period=period, repeat_rows=(2, 2))

        add_funnel_sheet(wb, fmts, funnel_rows, funnel_summary, lang=lang,
                         options=options, display=_plain, validations=False, tables=tables,
                         period=period)
        hints_sheet = wb.add_worksheet(HINTS_SHEET)
        for r, (dimension, metric, hint) in enumerate(hints or []):
            hints_sheet.write_string(r, 0, dimension)
            hints_sheet.write_string(r, 1, metric)
            hints_sheet.write_string(r, 2, hint)
        hints_sheet.hide()
        wb.close()
    return target


def _accuracy_block(ws: Any, fmts: Any, found: dict[str, Any], col: int, header_row: int,
                    lang: Lang, unit: object = None) -> dict[int, float]:
    """The forecast accuracy of the last months (:func:`xlsales.jobs.accuracy.
    recent_forecast_accuracy`) from column ``col``: a header on ``header_row``, a row per
    month, the figure beside its title, where the snapshots came from. Every cell holds
    its value (no formulas), amounts in the ``amount_unit`` ``unit``. Returns the widths
    of the columns it took."""
    import datetime as dt

    widths = {col + c: ACCURACY_WIDTHS[k] for c, k in enumerate(ACCURACY_COLUMNS)}
    for c, w in widths.items():
        ws.set_column(c, c, w)
    for c, key in enumerate(ACCURACY_COLUMNS):
        ws.write_string(header_row, col + c, ACCURACY[key](lang), fmts.header)
    r = header_row
    for m in found.get("months", []):
        r += 1
        for c, key in enumerate(ACCURACY_COLUMNS):
            v = m.get(key)
            fmt = fmts.number(ACCURACY_FORMATS.get(key, "@"))
            if key in ("forecast", "commit_forecast", "actual") and is_whole(unit):
                fmt = fmts.number(WHOLE_FORMAT)
                v = None if v is None else to_unit(float(v), unit)
            if v is None:
                ws.write_blank(r, col + c, None, fmt)
            elif key == "snapshot_date":
                ws.write_datetime(r, col + c, dt.datetime.fromisoformat(str(v)), fmt)
            elif isinstance(v, str):
                ws.write_string(r, col + c, v, fmt)
            else:
                ws.write_number(r, col + c, float(v), fmt)
    last = col + len(ACCURACY_COLUMNS) - 1
    bold = fmts.wb.add_format({**fmts.base, "bold": True})
    ws.merge_range(r + 1, col, r + 1, last - 1, ACCURACY["title"](lang), bold)
    value = found.get("accuracy")
    if value is None:
        ws.write_blank(r + 1, last, None, fmts.number("0.0%"))
    else:
        ws.write_number(r + 1, last, float(value), fmts.number("0.0%"))
    if found.get("note"):
        ws.merge_range(r + 2, col, r + 2, last, str(found["note"]), fmts.notes)
    return widths
