"""Write a :class:`~xlsales.workbook.BookPlan` as a new .xlsx with XlsxWriter.

Every table becomes a real Excel Table with a frozen header, widths, number formats,
data validation (dropdowns fed from the hidden ``_lists`` sheet through defined
names), input and error messages in the workbook's language, and conditional
formatting. User text is always written as a string, never as a formula.

Every formula carries the value Python computes for it (:mod:`xlsales.formula_values`) as
its cached result, so readers that do not recalculate (LibreOffice by default, previews,
pandas) show the real figures; Excel still recalculates on load (``fullCalcOnLoad``).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from xlsales.formula_values import ExcelError, column_values, evaluate, evaluate_tables
from xlsales.formula_values import table_columns as _table_columns
from xlsales.i18n import Label, Lang
from xlsales.io.atomic import atomic_path
from xlsales.io.formulas import expand, structured_ref
from xlsales.tables.base import Column, Kind, TableSpec
from xlsales.words import to_unit_cells
from xlsales.workbook import (
    LISTS_SHEET,
    STAGE_PROB_NAME,
    BookPlan,
    SheetPlan,
    list_name,
    lists_layout,
)

TITLE_ROW = 0
NOTES_ROW = 1
HEADER_ROW = 2
DATE_MIN = dt.date(1900, 1, 1)
DATE_MAX = dt.date(2100, 12, 31)
TOTAL_LABEL = Label("合计", "Total")
ROW_HEIGHT = 15
MAX_LINES = 4
SUBTOTAL_CODES = {"sum": 109, "average": 101, "count_nums": 102, "count": 103, "max": 104,
                  "min": 105, "std_dev": 107, "var": 110}

Tables = MutableMapping[str, Mapping[str, Sequence[Any]]]

_ERR = {
    "title": Label("输入有误", "Invalid entry"),
    Kind.INT: Label("请输入{lo}以上的整数。", "Enter a whole number of at least {lo}."),
    "int_range": Label("请输入{lo}到{hi}之间的整数。", "Enter a whole number from {lo} to {hi}."),
    Kind.AMOUNT: Label("请输入不小于{lo}的数字。", "Enter a number of at least {lo}."),
    Kind.NUMBER: Label("请输入数字。", "Enter a number."),
    Kind.PERCENT: Label("请输入0%到100%之间的百分比。", "Enter a percentage from 0% to 100%."),
    Kind.DATE: Label("请输入日期,如 2024-03-05。", "Enter a date such as 2024-03-05."),
    Kind.DATETIME: Label("请输入日期时间,如 2024-03-05 17:30。",
                         "Enter a date and time such as 2024-03-05 17:30."),
    Kind.CHOICE: Label("请从下拉列表中选择。", "Pick a value from the list."),
    "choice_soft": Label("该值不在下拉列表中,确定保留吗?",
                         "This value is not in the list. Keep it?"),
}

_STYLES = {
    "bad": {"bg_color": "#FFC7CE", "font_color": "#9C0006"},
    "warn": {"bg_color": "#FFEB9C", "font_color": "#9C5700"},
    "good": {"bg_color": "#C6EFCE", "font_color": "#006100"},
}


class _Formats:
    """XlsxWriter formats, created once per workbook."""

    def __init__(self, wb: Workbook) -> None:
        base = {"font_name": "Microsoft YaHei", "font_size": 10, "valign": "top"}
        self.wb, self.base = wb, base
        self.title = wb.add_format({**base, "bold": True, "font_size": 14})
        self.notes = wb.add_format({**base, "italic": True, "font_color": "#595959"})
        self.header = wb.add_format({**base, "bold": True, "text_wrap": True,
                                     "valign": "vcenter", "align": "center",
                                     "bg_color": "#1F4E78", "font_color": "#FFFFFF",
                                     "border": 1, "border_color": "#BFBFBF"})
        self.cond = {k: wb.add_format(v) for k, v in _STYLES.items()}
        self._cells: dict[tuple[str | None, bool, bool], Any] = {}
        self._plain: dict[tuple[str, str], Any] = {}

    def number(self, num_format: str) -> Any:
        """A plain cell format with ``num_format`` (per-row formats in reports)."""
        key = ("plain", num_format)
        if key not in self._plain:
            self._plain[key] = self.wb.add_format({**self.base, "num_format": num_format})
        return self._plain[key]

    def cell(self, col: Column, options: Mapping[str, Any] | None = None) -> Any:
        """The cell format of ``col`` (an amount in whole units: ``#,##0``, see
        :meth:`Column.fmt_in`)."""
        wrap = col.kind is Kind.LONG_TEXT
        fmt = col.fmt_in(options)
        key = (fmt, wrap, not col.is_input)
        if key not in self._cells:
            props: dict[str, Any] = dict(self.base)
            if fmt:
                props["num_format"] = fmt
            if wrap:
                props["text_wrap"] = True
            if not col.is_input:
                props["bg_color"] = "#F2F2F2"
            self._cells[key] = self.wb.add_format(props)
        return self._cells[key]


def write_book(plan: BookPlan, path: str | os.PathLike[str], *,
               more: Callable[[xlsxwriter.Workbook], None] | None = None,
               after: Callable[[Path], None] | None = None) -> None:
    """Write ``plan`` to ``path`` (through a temporary file); ``more`` adds to the
    workbook before it is closed, ``after`` finishes the closed temporary file."""
    with atomic_path(path) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {
            "strings_to_formulas": False, "strings_to_numbers": False,
            "strings_to_urls": False, "default_date_format": "yyyy-mm-dd",
        })
        wb.set_properties({"title": plan.title, "author": "xlsales", "company": "xlsales",
                           "created": dt.datetime(2024, 1, 1)})
        fmts = _Formats(wb)
        tables = book_tables(plan)
        sheets = [_write_sheet(wb, fmts, plan, sheet, tables) for sheet in plan.sheets]
        _write_lists(wb, plan)
        if plan.vba_modules:
            _add_macros(wb, plan, sheets[0])
        if more is not None:
            more(wb)
        wb.close()
        if after is not None:
            after(Path(tmp))


def _display(plan: BookPlan, list_key: str, value: str) -> str:
    """A canonical list value as shown in the workbook."""
    canon = plan.canonical_lists.get(list_key, [])
    return plan.lists[list_key][canon.index(value)] if value in canon else value


def book_names(plan: BookPlan) -> dict[str, list[list[Any]]]:
    """The defined names formulas look values up in (the stage probabilities)."""
    return {STAGE_PROB_NAME: [[stage, prob] for stage, prob in plan.stage_prob]}


def book_tables(plan: BookPlan) -> dict[str, Mapping[str, Sequence[Any]]]:
    """Every table's columns as the workbook's cells will hold them, formulas evaluated."""

    def display(list_key: str, value: str) -> str:
        return _display(plan, list_key, value)

    items = [(sheet.spec, cell_rows(sheet.spec, sheet.rows, options=plan.options))
             for sheet in plan.sheets]
    return dict(evaluate_tables(items, lang=plan.lang, options=plan.options, display=display,
                                names=book_names(plan)))


def _add_macros(wb: Workbook, plan: BookPlan, main: Worksheet) -> None:
    """The VBA project (built from source), sheet code names, buttons, ``xlwings.conf``."""
    import io

    from xlsales.vba import vba_project, workbook_modules

    if plan.xlwings_conf:
        conf = wb.add_worksheet("xlwings.conf")
        for r, (key, value) in enumerate(plan.xlwings_conf):
            conf.write_string(r, 0, key)
            conf.write_string(r, 1, value)
        conf.hide()
    wb.set_vba_name("ThisWorkbook")
    for i, ws in enumerate(wb.worksheets(), start=1):
        ws.set_vba_name(f"Sheet{i}")
    modules = workbook_modules(len(wb.worksheets()), plan.vba_modules)
    wb.add_vba_project(io.BytesIO(vba_project(modules)), is_stream=True)
    main.set_row(TITLE_ROW, 30)
    for i, (caption, macro) in enumerate(plan.buttons):
        main.insert_button(TITLE_ROW, 4 + 2 * i, {
            "macro": macro, "caption": caption, "width": 128, "height": 34,
            "x_offset": 2, "y_offset": 2})


def _write_sheet(wb: Workbook, fmts: _Formats, plan: BookPlan, sheet: SheetPlan,
                 tables: Tables) -> Worksheet:
    spec, lang = sheet.spec, plan.lang
    ws = wb.add_worksheet(spec.sheet(lang))
    ws.write_string(TITLE_ROW, 0, spec.title(lang), fmts.title)
    if spec.notes:
        ws.write_string(NOTES_ROW, 0, spec.notes(lang), fmts.notes)

    def display(list_key: str, value: str) -> str:
        return _display(plan, list_key, value)

    write_table(ws, fmts, spec, sheet.rows, lang=lang, options=plan.options, display=display,
                header_row=HEADER_ROW, tables=tables, names=book_names(plan))
    ws.freeze_panes(HEADER_ROW + 1, 0)
    ws.repeat_rows(HEADER_ROW)
    page_setup(ws)
    return ws


def page_setup(ws: Worksheet) -> None:
    """Landscape A4, one page wide."""
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)


def row_count(spec: TableSpec, rows: Sequence[Any], blank_rows: int | None = None) -> int:
    """How many data rows :func:`write_table` writes (at least the spec's blank rows)."""
    return max(len(rows), spec.blank_rows if blank_rows is None else blank_rows, 1)


def cell_rows(spec: TableSpec, rows: Sequence[Mapping[str, Any]],
              blank_rows: int | None = None, *,
              options: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The input values :func:`write_table` puts in the cells, one dict per data row
    (the blank rows too); None is a blank cell. Amounts are in the unit of the settings'
    ``options`` (whole units: × 10,000, :meth:`Column.scaled`)."""
    inputs = spec.input_columns
    out = [{c.key: cell_value(r.get(c.key), c) for c in inputs} for r in rows]
    for key in [c.key for c in inputs if c.scaled(options) != 1.0]:
        for cells, v in zip(out, to_unit_cells([r.get(key) for r in out], options),
                            strict=True):
            cells[key] = v
    out += [{} for _ in range(row_count(spec, rows, blank_rows) - len(rows))]
    return out


def table_values(spec: TableSpec, rows: Sequence[Mapping[str, Any]], *, lang: Lang,
                 options: Mapping[str, Any], display: Callable[[str, str], str],
                 tables: Mapping[str, Mapping[str, Sequence[Any]]] | None = None,
                 names: Mapping[str, Sequence[Sequence[Any]]] | None = None,
                 blank_rows: int | None = None) -> dict[str, list[Any]]:
    """The columns of ``spec``'s table as :func:`write_table` writes ``rows``: inputs as
    the cells hold them and formula columns evaluated (for formulas of other tables)."""
    cells = cell_rows(spec, rows, blank_rows, options=options)
    values = column_values(spec, cells, lang=lang, options=options, display=display,
                           tables=tables, names=names)
    return _table_columns(spec, cells, values)


class _EmptyText(str):
    """The empty text as a cached formula result. XlsxWriter writes a plain ``""`` as an
    untyped ``<v></v>`` (an empty *number*, which some readers take as "not calculated");
    this ``""`` does not compare equal to ``""``, so XlsxWriter types it ``t="str"`` as
    Excel does."""

    def __eq__(self, other: object) -> bool:
        return other is self

    def __ne__(self, other: object) -> bool:
        return other is not self

    __hash__ = str.__hash__


EMPTY_TEXT = _EmptyText("")


def cached(value: Any) -> Any:
    """A computed value as ``write_formula(..., value=)`` takes it: XlsxWriter writes
    ``t="e"`` for an error text, ``t="b"`` for a bool, ``t="str"`` for text (the empty
    text too, see :class:`_EmptyText`), and a number untyped."""
    if isinstance(value, ExcelError):
        return str(value)
    if isinstance(value, str) and not value:
        return EMPTY_TEXT
    return value


def write_table(ws: Worksheet, fmts: _Formats, spec: TableSpec, rows: list[dict[str, Any]], *,
                lang: Lang, options: dict[str, Any], display: Callable[[str, str], str],
                header_row: int, first_col: int = 0, blank_rows: int | None = None,
                validations: bool = True, widths: bool = True, tables: Tables | None = None,
                names: Mapping[str, Sequence[Sequence[Any]]] | None = None) -> tuple[int, int]:
    """Write ``spec`` as an Excel table with its header at ``header_row``.

    Every formula gets its computed value as the cached result. ``tables`` holds the
    columns of the workbook's other tables (for formulas that sum them); this table's
    columns are added to it. ``names`` holds the defined names formulas look up.
    Returns the first and last data row (0-based).
    """
    ncols = len(spec.columns)
    nrows = row_count(spec, rows, blank_rows)
    first, last = header_row + 1, header_row + nrows
    cells = cell_rows(spec, rows, blank_rows, options=options)
    known: Tables = {} if tables is None else tables
    values = column_values(spec, cells, lang=lang, options=options, display=display,
                           tables=known, names=names)
    known[spec.name] = _table_columns(spec, cells, values)
    has_total = any(c.total for c in spec.columns)
    ws.set_row(header_row, 30)
    columns: list[dict[str, Any]] = []
    for i, col in enumerate(spec.columns):
        if widths:
            ws.set_column(first_col + i, first_col + i, col.width)
        entry: dict[str, Any] = {"header": col.header(lang, options),
                                 "format": fmts.cell(col, options)}
        if has_total and i == 0:
            entry["total_string"] = TOTAL_LABEL(lang)
        if col.total:
            entry["total_function"] = col.total
        columns.append(entry)
    ws.add_table(header_row, first_col, last + (1 if has_total else 0), first_col + ncols - 1, {
        "name": spec.name, "columns": columns, "style": "Table Style Medium 2",
        "total_row": has_total,
    })
    for c, entry in enumerate(columns):  # header cells get our header format
        ws.write_string(header_row, first_col + c, entry["header"], fmts.header)
    for c, col in enumerate(spec.columns):
        if col.total:  # XlsxWriter writes SUBTOTAL(109,[Col]); LibreOffice needs Table[Col]
            code = SUBTOTAL_CODES[col.total]
            total = evaluate(f"SUBTOTAL({code},{{{spec.name}.{col.key}}})", {}, lang=lang,
                             options=options, tables=known)
            ws.write_formula(last + 1, first_col + c,
                             f"=SUBTOTAL({code},{structured_ref(spec, col.key, lang, options)})",
                             fmts.cell(col, options), cached(total))

    for r in range(nrows):
        row = first + r
        given = rows[r] if r < len(rows) else {}
        row_formats = given.get("_num_formats", {})
        for c, col in enumerate(spec.columns):
            fmt = (fmts.number(row_formats[col.key]) if col.key in row_formats
                   else fmts.cell(col, options))
            if col.formula:
                ws.write_formula(row, first_col + c, expand(
                    col.formula, spec=spec, row=row, first_col=first_col, lang=lang,
                    options=options, display=display), fmt, cached(values[r][col.key]))
            else:
                _write_value(ws, row, first_col + c, cells[r].get(col.key), fmt)
        lines = max((text_lines(given.get(col.key), col.width) for col in spec.columns
                     if col.kind is Kind.LONG_TEXT), default=1)
        if lines > 1:
            ws.set_row(row, ROW_HEIGHT * lines)

    if validations:
        for c, col in enumerate(spec.columns):
            if col.is_input:
                dv = _validation(col, lang, options)
                if dv:
                    ws.data_validation(first, first_col + c, last, first_col + c, dv)
    for cf in spec.formats:
        c0, c1 = ((0, ncols - 1) if cf.key is None else (spec.index(cf.key),) * 2)
        formula = expand(cf.formula, spec=spec, row=first, first_col=first_col, lang=lang,
                         options=options, display=display)
        ws.conditional_format(first, first_col + c0, last, first_col + c1, {
            "type": "formula", "criteria": formula, "format": fmts.cond[cf.style]})
    limit = spec.extra.get("total_limit")
    if has_total and limit:
        key, option = limit
        c = spec.index(key)
        ws.conditional_format(last + 1, first_col + c, last + 1, first_col + c, {
            "type": "cell", "criteria": ">", "value": options[option],
            "format": fmts.cond["bad"]})
    return first, last


def text_lines(value: Any, width: float) -> int:
    """How many wrapped lines ``value`` needs in a column ``width`` characters wide."""
    if not isinstance(value, str) or not value:
        return 1
    lines = 0
    for part in value.splitlines() or [""]:
        units = sum(2 if ord(ch) > 0x2E7F else 1 for ch in part)  # CJK is two wide
        lines += max(1, -(-units // max(int(width) - 1, 1)))
    return min(lines, MAX_LINES)


def cell_value(value: Any, col: Column) -> Any:
    """What an input cell of ``col`` holds for ``value``: None (blank), bool, date or
    time, number, else text (a DATE column drops a datetime's time)."""
    if value is None or (isinstance(value, str) and value == ""):
        return None
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        if col.kind is Kind.DATE and isinstance(value, dt.datetime):
            return value.date()
        return value
    return str(value)


def _write_value(ws: Worksheet, row: int, col_idx: int, value: Any, fmt: Any) -> None:
    """Write a value of :func:`cell_value`."""
    if value is None:
        ws.write_blank(row, col_idx, None, fmt)
    elif isinstance(value, bool):
        ws.write_boolean(row, col_idx, value, fmt)
    elif isinstance(value, dt.datetime | dt.date | dt.time):
        ws.write_datetime(row, col_idx, value, fmt)
    elif isinstance(value, int | float):
        ws.write_number(row, col_idx, value, fmt)
    else:
        ws.write_string(row, col_idx, value, fmt)


def _validation(col: Column, lang: Lang,
                options: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """The data-validation options for an input column, or None."""
    hint = col.hint_text(lang, options)
    err_title = _ERR["title"](lang)
    lo = col.minimum if col.minimum is not None else 0
    dv: dict[str, Any]
    if col.kind is Kind.INT:
        if col.maximum is not None:
            msg = _ERR["int_range"](lang).format(lo=int(lo), hi=int(col.maximum))
            dv = {"validate": "integer", "criteria": "between", "minimum": int(lo),
                  "maximum": int(col.maximum)}
        else:
            msg = _ERR[Kind.INT](lang).format(lo=int(lo))
            dv = {"validate": "integer", "criteria": ">=", "value": int(lo)}
    elif col.kind in (Kind.AMOUNT, Kind.NUMBER) and col.minimum is not None:
        msg = _ERR[Kind.AMOUNT](lang).format(lo=f"{lo:g}")
        dv = {"validate": "decimal", "criteria": ">=", "value": lo}
    elif col.kind is Kind.PERCENT:
        msg = _ERR[Kind.PERCENT](lang)
        dv = {"validate": "decimal", "criteria": "between", "minimum": 0, "maximum": 1}
    elif col.kind in (Kind.DATE, Kind.DATETIME):
        msg = _ERR[col.kind](lang)
        dv = {"validate": "date", "criteria": "between",
              "minimum": dt.datetime.combine(DATE_MIN, dt.time()),
              "maximum": dt.datetime.combine(DATE_MAX, dt.time(23, 59))}
    elif col.choices:
        msg = _ERR[Kind.CHOICE if col.strict_choices else "choice_soft"](lang)
        dv = {"validate": "list", "source": f"={list_name(col.choices)}"}
        if not col.strict_choices:
            dv["error_type"] = "warning"
    elif hint:
        return {"validate": "any", "input_title": col.header(lang, options)[:32],
                "input_message": hint[:255]}
    else:
        return None
    dv.update({"error_title": err_title, "error_message": msg[:255], "ignore_blank": True})
    dv["input_title"] = col.header(lang, options)[:32]
    dv["input_message"] = (hint or msg)[:255]
    return dv


def _write_lists(wb: Workbook, plan: BookPlan) -> None:
    """The hidden sheet with every dropdown list and the stage probabilities."""
    ws = wb.add_worksheet(LISTS_SHEET)
    columns, names = lists_layout(plan.lists, plan.stage_prob)
    for c, column in enumerate(columns):
        for r, value in enumerate(column):
            if isinstance(value, str):
                ws.write_string(r, c, value)
            else:
                ws.write_number(r, c, value)
    for name, ref in names.items():
        wb.define_name(name, f"={ref}")
    ws.hide()
