"""Business tables laid out on sheets xlsales writes into users' workbooks: the weekly
sheets, the compliance sheet, the due list, the agenda pack.

A block is a table of :mod:`xlsales.tables` written as an Excel table: its header row,
its rows (formula columns carry the value xlsales computed as their cached result), the
column's number formats, its conditional formats and, for blocks people fill in, their
dropdowns and date checks. :func:`table_sheet` is the usual sheet of one titled block.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from xlsales.cells import col_letters
from xlsales.formula_values import column_values
from xlsales.i18n import Label, Lang
from xlsales.io.edit.book import WorkbookEdit
from xlsales.io.edit.cells import Cell, column_xml
from xlsales.io.edit.newsheet import NewSheet, TablePart, Validation, table_header
from xlsales.io.edit.styles import Style
from xlsales.io.formulas import expand, expand_rows
from xlsales.tables.base import Kind, TableSpec

TITLE_ROW, NOTES_ROW, HEADER_ROW = 0, 1, 2  # 0-based
TITLE = Style(bold=True, size=14)
SUBTITLE = Style(bold=True, size=12)
NOTES = Style(italic=True, color="FF595959")
HEADER = Style(bold=True, color="FFFFFFFF", fill="FF1F4E78", wrap=True, h_align="center",
               v_align="center")
FILLS = {"bad": ("FFFFC7CE", "FF9C0006"), "warn": ("FFFFEB9C", "FF9C5700"),
         "good": ("FFC6EFCE", "FF006100")}
DATE_MAX_SERIAL = "73051"  # 2099-12-31
_CHOICE = Label("请从下拉列表中选择。", "Pick a value from the list.")
_DATE = Label("请输入日期,如 2024-03-05。", "Enter a date such as 2024-03-05.")
_INVALID = Label("输入有误", "Invalid entry")

Display = Callable[[str, str], str]


def _same(_list: str, value: str) -> str:
    return value


def cell_value(value: Any) -> Any:
    """A record's value as a cell holds it (lists joined, NaN and "" blank)."""
    kind = type(value)
    if kind is str:  # the usual kinds first: this runs for every cell of a block
        return value or None
    if kind is int:
        return value
    if kind is float:
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value) or None
    if value is None or value == "":
        return None
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, bool | int | float | str | dt.date):
        return value
    return str(value)


def heading(sheet: NewSheet, row: int, text: str, style: int | None) -> None:
    """Text in column A of the 0-based ``row``."""
    sheet.set(row, 0, Cell(text, style=style))


def add_block(wb: WorkbookEdit, sheet: NewSheet, spec: TableSpec,
              rows: Sequence[Mapping[str, Any]], *, header_row: int, name: str, lang: Lang,
              options: Mapping[str, Any], display: Display | None = None,
              blank_rows: int = 0, validations: bool = False, widths: bool = True) -> int:
    """Write ``spec`` as the Excel table ``name`` with its header on the 0-based
    ``header_row``; the 0-based last row of the table."""
    disp = display or _same
    inputs = [c for c in spec.columns if c.is_input]
    header = wb.xf(HEADER)
    headers = [table_header(c.header(lang)) for c in spec.columns]
    for c, (column, text) in enumerate(zip(spec.columns, headers, strict=True)):
        sheet.set(header_row, c, Cell(text, style=header))
        if widths:
            sheet.widths[c] = column.width
    values = [{c.key: _shown(c, cell_value(r.get(c.key)), disp) for c in inputs}
              for r in rows]
    nrows = max(len(values) + blank_rows, 1)
    values += [{} for _ in range(nrows - len(values))]
    computed = column_values(spec, values, lang=lang, options=options, display=disp)
    first = header_row + 1
    columns = []
    for c, column in enumerate(spec.columns):
        style = _column_style(wb, column)
        if column.formula:
            formulas = [f[1:] for f in expand_rows(
                column.formula, spec=spec, rows=range(first, first + nrows), first_col=0,
                lang=lang, options=options, display=disp)]
            columns.append(column_xml(c, first, [v.get(column.key) for v in computed],
                                      style=style, formulas=formulas))
        else:
            columns.append(column_xml(c, first, [v.get(column.key) for v in values],
                                      style=style))
    sheet.put_columns(first, columns)
    last = first + nrows - 1
    sheet.tables.append(TablePart(name, header_row, 0, last, headers))
    ncols = len(spec.columns)
    for cf in spec.formats:
        formula = expand(cf.formula, spec=spec, row=first, first_col=0, lang=lang,
                         options=options, display=disp)[1:]
        first_col, last_col = (0, ncols - 1) if cf.key is None else (spec.index(cf.key),) * 2
        bg, fg = FILLS[cf.style]
        sheet.formats.append((f"{col_letters(first_col)}{first + 1}:"
                              f"{col_letters(last_col)}{last + 1}", formula,
                              wb.dxf(Style(fill=bg, color=fg))))
    if validations:
        for c, column in enumerate(spec.columns):
            v = _validation(column, lang, f"{col_letters(c)}{first + 1}:"
                                          f"{col_letters(c)}{last + 1}")
            if v is not None:
                sheet.validations.append(v)
    return last


def table_sheet(wb: WorkbookEdit, spec: TableSpec, rows: Sequence[Mapping[str, Any]], *,
                lang: Lang, name: str, title: str, options: Mapping[str, Any],
                display: Display | None = None) -> NewSheet:
    """A sheet of one table: title, the table's note, the table, a frozen header."""
    sheet = NewSheet(freeze=(HEADER_ROW + 1, 0), print_title_rows=(HEADER_ROW, HEADER_ROW))
    heading(sheet, TITLE_ROW, title, wb.xf(TITLE))
    if spec.notes:
        heading(sheet, NOTES_ROW, spec.notes(lang), wb.xf(NOTES))
    add_block(wb, sheet, spec, rows, header_row=HEADER_ROW, name=name, lang=lang,
              options=options, display=display)
    return sheet


def _shown(column: Any, value: Any, display: Display) -> Any:
    """A list value as the workbook shows it (its label in the sheet's language)."""
    return display(column.choices, value) if column.choices and isinstance(value, str) \
        else value


def _column_style(wb: WorkbookEdit, column: Any) -> int | None:
    wrap = column.kind is Kind.LONG_TEXT
    if not column.fmt and not wrap:
        return None
    return wb.xf(Style(num_fmt=column.fmt, wrap=wrap, v_align="top" if wrap else None))


def _validation(column: Any, lang: Lang, sqref: str) -> Validation | None:
    """Dropdowns from the ``xs_*`` names and date checks, for blocks people fill in."""
    hint = column.hint(lang) if column.hint else None
    if column.choices:
        return Validation(sqref, "list", f"xs_{column.choices}", strict=column.strict_choices,
                          prompt_title=column.header(lang), prompt=hint or _CHOICE(lang),
                          error_title=_INVALID(lang), error=_CHOICE(lang))
    if column.kind in (Kind.DATE, Kind.DATETIME):
        return Validation(sqref, "date", "1", DATE_MAX_SERIAL,
                          prompt_title=column.header(lang), prompt=hint or _DATE(lang),
                          error_title=_INVALID(lang), error=_DATE(lang))
    return None
