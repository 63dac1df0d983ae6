"""Edit existing workbooks with openpyxl: add or replace a table sheet, set cells.

Used where xlsales writes into a workbook users already work in (weekly sheets in
the daily report, spot-check marks). Everything else in the file is kept; ``.xlsm``
files keep their VBA project. Saves go through a temporary file.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from xlsales.i18n import Lang
from xlsales.io.atomic import atomic_path
from xlsales.io.formulas import expand
from xlsales.io.reader import require_defusedxml
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


def table_name(base: str, suffix: str) -> str:
    """A valid Excel table name from ``base`` and ``suffix`` (``Weekly_2024_W10``)."""
    return re.sub(r"\W", "_", f"{base}_{suffix}")


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


def replace_table_sheet(wb: Workbook, spec: TableSpec, rows: list[dict[str, Any]], *,
                        lang: Lang, sheet_name: str, name: str, title: str,
                        options: dict[str, Any], index: int | None = None,
                        display: Callable[[str, str], str] | None = None) -> Worksheet:
    """Write ``rows`` as an Excel table on a fresh sheet ``sheet_name`` (replacing it)."""
    if sheet_name in wb.sheetnames:
        old = wb[sheet_name]
        index = wb.sheetnames.index(sheet_name) if index is None else index
        wb.remove(old)
    ws = wb.create_sheet(sheet_name[:31], index)
    ws.cell(row=TITLE_ROW, column=1, value=title).font = Font(bold=True, size=14)
    if spec.notes:
        ws.cell(row=TITLE_ROW + 1, column=1, value=spec.notes(lang)).font = Font(
            italic=True, color="FF595959")
    ncols = len(spec.columns)
    for c, column in enumerate(spec.columns, start=1):
        cell = ws.cell(row=HEADER_ROW, column=c, value=column.header(lang))
        cell.fill, cell.font = HEADER_FILL, HEADER_FONT
        cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
        ws.column_dimensions[openpyxl.utils.get_column_letter(c)].width = column.width
    disp = display or (lambda _list, value: value)
    for i, values in enumerate(rows):
        r = HEADER_ROW + 1 + i
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
    last = HEADER_ROW + max(len(rows), 1)
    ref = f"A{HEADER_ROW}:{openpyxl.utils.get_column_letter(ncols)}{last}"
    table = Table(displayName=name, ref=ref)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(table)
    first = HEADER_ROW + 1
    for cf in spec.formats:
        if not rows:
            break
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
    ws.freeze_panes = f"A{HEADER_ROW + 1}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    return ws


def _cell_value(value: Any) -> Any:
    if isinstance(value, list):
        return "; ".join(str(v) for v in value) or None
    if isinstance(value, dt.date | dt.datetime | int | float | str) or value is None:
        return value if value != "" else None
    return str(value)


def set_cells(ws: Worksheet, values: dict[str, Any]) -> None:
    """Set cells by A1 address; text stays text."""
    for ref, value in values.items():
        cell = ws[ref]
        cell.value = value
        if isinstance(value, str):
            cell.data_type = "s"
