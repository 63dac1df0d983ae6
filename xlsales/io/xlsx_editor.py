"""Edit existing workbooks with openpyxl: add or replace a table sheet, set cells.

Used where xlsales writes into a workbook users already work in (weekly sheets in
the daily report, spot-check marks). Everything else in the file is kept; ``.xlsm``
files keep their VBA project. Saves go through a temporary file.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from xlsales.i18n import Lang
from xlsales.io.atomic import atomic_path
from xlsales.io.formulas import expand
from xlsales.io.read import require_defusedxml
from xlsales.tables.base import Kind, TableSpec

HEADER_FILL = PatternFill(start_color="FF1F4E78", end_color="FF1F4E78", fill_type="solid")
HEADER_FONT = Font(bold=True, color="FFFFFFFF")
STYLE_FILLS = {"bad": ("FFFFC7CE", "FF9C0006"), "warn": ("FFFFEB9C", "FF9C5700"),
               "good": ("FFC6EFCE", "FF006100")}
TITLE_ROW, HEADER_ROW = 1, 3  # 1-based


@contextmanager
def edit_workbook(path: str | os.PathLike[str] | None,
                  out: str | os.PathLike[str] | None = None) -> Iterator[Workbook]:
    """Open ``path`` for editing (None: a new workbook saved to ``out``); saved
    atomically, to ``out`` or in place, when the block succeeds."""
    require_defusedxml()
    if path is None:
        if out is None:
            raise ValueError("a new workbook needs an output path")
        wb = Workbook()
        wb.remove(wb.active)
        target = Path(out)
    else:
        src = Path(path)
        wb = openpyxl.load_workbook(src, keep_vba=src.suffix.lower() == ".xlsm")
        target = Path(out) if out else src
    try:
        yield wb
        with atomic_path(target) as tmp:
            wb.save(tmp)
    finally:
        wb.close()


def find_header(ws: Worksheet, spec: TableSpec, lang: Lang,
                max_rows: int = 30) -> tuple[int, dict[str, int]] | None:
    """The 1-based header row of ``spec`` in ``ws`` and the column (1-based) of each key."""
    from xlsales.tables.base import header_key, header_lookup

    lookup = header_lookup(spec.columns)
    for row in ws.iter_rows(min_row=1, max_row=max_rows):
        found: dict[str, int] = {}
        for cell in row:
            if isinstance(cell.value, str):
                key = lookup.get(header_key(cell.value))
                if key and key not in found:
                    found[key] = cell.column
        if len(found) >= max(2, len(spec.columns) // 2):
            return row[0].row, found
    return None


def read_existing(ws: Worksheet, spec: TableSpec, lang: Lang) -> list[dict[str, Any]]:
    """The rows of a table sheet xlsales wrote earlier, by header."""
    found = find_header(ws, spec, lang)
    if found is None:
        return []
    header_row, cols = found
    out = []
    for r in range(header_row + 1, ws.max_row + 1):
        values = {k: ws.cell(row=r, column=c).value for k, c in cols.items()}
        if any(v not in (None, "") for v in values.values()):
            out.append(values)
    return out


def heading(ws: Worksheet, row: int, text: str, *, size: int | None) -> None:
    """Text in column A of ``row``; bold at ``size`` points (plain when None)."""
    cell = ws.cell(row=row, column=1, value=text)
    cell.data_type = "s"
    if size:
        cell.font = Font(bold=True, size=size)


def read_named_table(ws: Worksheet, name: str, spec: TableSpec) -> list[dict[str, Any]]:
    """The filled rows of the Excel table ``name`` on ``ws``, by header (empty if absent)."""
    from xlsales.tables.base import header_key, header_lookup

    if name not in ws.tables:
        return []
    min_col, min_row, max_col, max_row = openpyxl.utils.range_boundaries(ws.tables[name].ref)
    lookup = header_lookup(spec.columns)
    keys = {c: lookup.get(header_key(ws.cell(row=min_row, column=c).value))
            for c in range(min_col, max_col + 1)}
    out = []
    for r in range(min_row + 1, max_row + 1):
        values = {k: ws.cell(row=r, column=c).value for c, k in keys.items() if k}
        if any(v not in (None, "") for v in values.values()):
            out.append(values)
    return out


def replace_table_sheet(wb: Workbook, spec: TableSpec, rows: list[dict[str, Any]], *,
                        lang: Lang, sheet_name: str, name: str, title: str,
                        options: dict[str, Any], index: int | None = None,
                        display: Callable[[str, str], str] | None = None) -> Worksheet:
    """Write ``rows`` as an Excel table on a fresh sheet ``sheet_name`` (replacing it)."""
    ws = fresh_sheet(wb, sheet_name, index)
    ws.cell(row=TITLE_ROW, column=1, value=title).font = Font(bold=True, size=14)
    if spec.notes:
        ws.cell(row=TITLE_ROW + 1, column=1, value=spec.notes(lang)).font = Font(
            italic=True, color="FF595959")
    write_block(ws, spec, rows, header_row=HEADER_ROW, name=name, lang=lang,
                options=options, display=display)
    ws.freeze_panes = f"A{HEADER_ROW + 1}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    return ws


def fresh_sheet(wb: Workbook, sheet_name: str, index: int | None = None) -> Worksheet:
    """An empty sheet ``sheet_name``, replacing one of that name at the same place."""
    if sheet_name in wb.sheetnames:
        index = wb.sheetnames.index(sheet_name) if index is None else index
        wb.remove(wb[sheet_name])
    return wb.create_sheet(sheet_name[:31], index)


def write_block(ws: Worksheet, spec: TableSpec, rows: list[dict[str, Any]], *,
                header_row: int, name: str, lang: Lang, options: dict[str, Any],
                display: Callable[[str, str], str] | None = None, blank_rows: int = 0,
                validations: bool = False, widths: bool = True) -> int:
    """Write ``spec`` as an Excel table with its header on (1-based) ``header_row``.

    Returns the last row of the table.
    """
    ncols = len(spec.columns)
    for c, column in enumerate(spec.columns, start=1):
        cell = ws.cell(row=header_row, column=c, value=column.header(lang))
        cell.fill, cell.font = HEADER_FILL, HEADER_FONT
        cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
        if widths:
            ws.column_dimensions[openpyxl.utils.get_column_letter(c)].width = column.width
    disp = display or (lambda _list, value: value)
    nrows = max(len(rows) + blank_rows, 1)
    for i in range(nrows):
        values = rows[i] if i < len(rows) else {}
        r = header_row + 1 + i
        for c, column in enumerate(spec.columns, start=1):
            cell = ws.cell(row=r, column=c)
            if column.formula:
                cell.value = expand(column.formula, spec=spec, row=r - 1, first_col=0,
                                    lang=lang, options=options, display=disp)
            else:
                cell.value = _cell_value(values.get(column.key))
                if isinstance(cell.value, str):
                    cell.data_type = "s"
            if column.fmt:
                cell.number_format = column.fmt
            if column.kind is Kind.LONG_TEXT:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    first, last = header_row + 1, header_row + nrows
    ref = f"A{header_row}:{openpyxl.utils.get_column_letter(ncols)}{last}"
    table = Table(displayName=name, ref=ref)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(table)
    for cf in spec.formats:
        formula = expand(cf.formula, spec=spec, row=first - 1, first_col=0, lang=lang,
                         options=options, display=disp).lstrip("=")
        if cf.key is None:
            rng = f"A{first}:{openpyxl.utils.get_column_letter(ncols)}{last}"
        else:
            letter = openpyxl.utils.get_column_letter(spec.index(cf.key) + 1)
            rng = f"{letter}{first}:{letter}{last}"
        bg, fg = STYLE_FILLS[cf.style]
        ws.conditional_formatting.add(rng, FormulaRule(
            formula=[formula], fill=PatternFill(start_color=bg, end_color=bg, fill_type="solid"),
            font=Font(color=fg)))
    if validations:
        for c, column in enumerate(spec.columns, start=1):
            dv = _openpyxl_validation(column, lang)
            if dv is not None:
                letter = openpyxl.utils.get_column_letter(c)
                dv.add(f"{letter}{first}:{letter}{last}")
                ws.add_data_validation(dv)
    return last


def _openpyxl_validation(column: Any, lang: Lang) -> DataValidation | None:
    """Dropdowns and date checks for blocks users fill (lists from the ``xs_*`` names)."""
    from xlsales.i18n import Label

    err = Label("请从下拉列表中选择。", "Pick a value from the list.")
    if column.choices:
        dv = DataValidation(type="list", formula1=f"=xs_{column.choices}", allow_blank=True,
                            errorStyle="stop" if column.strict_choices else "warning")
    elif column.kind in (Kind.DATE, Kind.DATETIME):
        err = Label("请输入日期,如 2024-03-05。", "Enter a date such as 2024-03-05.")
        dv = DataValidation(type="date", operator="between", formula1="1",
                            formula2="73051", allow_blank=True)
    else:
        return None
    dv.error, dv.errorTitle = err(lang), Label("输入有误", "Invalid entry")(lang)
    dv.prompt, dv.promptTitle = (column.hint(lang) if column.hint else err(lang)), \
        column.header(lang)[:32]
    dv.showErrorMessage = dv.showInputMessage = True
    return dv


def _cell_value(value: Any) -> Any:
    if isinstance(value, list):
        return "; ".join(str(v) for v in value) or None
    if isinstance(value, dt.date | dt.datetime | int | float | str) or value is None:
        return value if value != "" else None
    return str(value)
