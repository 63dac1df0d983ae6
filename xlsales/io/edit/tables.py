"""Business tables laid out on sheets xlsales writes into users' workbooks: the weekly
sheets, the compliance sheet, the due list, the agenda pack.

A block is a table of :mod:`xlsales.tables` written as an Excel table: its header row,
its rows (formula columns carry the value xlsales computed as their cached result), the
column's number formats, its conditional formats and, for blocks people fill in, their
dropdowns and date checks. :func:`table_sheet` is the usual sheet of one titled block.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from xlsales.cells import col_letters
from xlsales.formula_values import formula_columns
from xlsales.i18n import Label, Lang
from xlsales.io.edit.book import WorkbookEdit
from xlsales.io.edit.cells import Cell, column_cells, join_rows
from xlsales.io.edit.newsheet import Block, NewSheet, TablePart, Validation, table_header
from xlsales.io.edit.styles import Style
from xlsales.io.formulas import expand, expand_rows
from xlsales.tables.base import Kind, TableSpec
from xlsales.words import to_unit_cells, to_units

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
    columns = {c.key: [r.get(c.key) for r in rows] for c in spec.columns if c.is_input}
    return add_block_columns(wb, sheet, spec, columns, len(rows), header_row=header_row,
                             name=name, lang=lang, options=options, display=display,
                             blank_rows=blank_rows, validations=validations, widths=widths)


def add_block_columns(wb: WorkbookEdit, sheet: NewSheet, spec: TableSpec,
                      columns: Mapping[str, Sequence[Any]], n: int, *, header_row: int,
                      name: str, lang: Lang, options: Mapping[str, Any],
                      display: Display | None = None, blank_rows: int = 0,
                      validations: bool = False, widths: bool = True) -> int:
    """:func:`add_block` of ``n`` rows given as columns (``columns[key]``: a column's
    values, a list or a numpy array; a column not given is blank)."""
    header = wb.xf(HEADER)
    shown: list[dict[str, Sequence[Any]]] = []
    [cells] = _blocks_xml(wb, spec, columns, [n], header_row=header_row, lang=lang,
                          options=options, display=display, blank_rows=blank_rows,
                          shown=shown)
    return _put_block(wb, sheet, spec, cells, header, header_row=header_row, name=name,
                      lang=lang, options=options, display=display, validations=validations,
                      widths=widths, values=shown[0])


@dataclass(frozen=True)
class Printed:
    """How a sheet prints (see :mod:`xlsales.io.printing`): the header's team (default:
    the options' ``team_name``) and period, the orientation and, for a wide table with
    long text (the weekly sheet), ``details``: the key figures on a page of their own and
    the columns from the first long-text one after a column break, with the ``repeat``
    columns (keys of adjacent columns) printed at the left of every page."""

    period: str | None = None
    team: str | None = None
    landscape: bool = True
    details: bool = False
    repeat: tuple[str, ...] = ()


def table_sheet(wb: WorkbookEdit, spec: TableSpec, rows: Sequence[Mapping[str, Any]], *,
                lang: Lang, name: str, title: str, options: Mapping[str, Any],
                display: Display | None = None, printed: Printed | None = None) -> NewSheet:
    """A sheet of one table: title, the table's note, the table, a frozen header; laid
    out for print (:func:`fit_print`)."""
    sheet = _titled(wb, spec, title, lang)
    add_block(wb, sheet, spec, rows, header_row=HEADER_ROW, name=name, lang=lang,
              options=options, display=display)
    fit_print(wb, sheet, lang=lang, printed=printed or Printed(), options=options)
    return sheet


def table_sheets(wb: WorkbookEdit, spec: TableSpec, columns: Mapping[str, Sequence[Any]],
                 sizes: Sequence[int], *, lang: Lang, names: Sequence[str],
                 titles: Sequence[str], options: Mapping[str, Any],
                 display: Display | None = None, printed: Printed | None = None,
                 periods: Sequence[str] | None = None) -> Iterator[NewSheet]:
    """:func:`table_sheet` of several sheets of one table (the weekly sheets), one after
    the other: ``columns`` hold the rows of every sheet one after the other, ``sizes[i]``
    of them for the i-th sheet, whose table is ``names[i]`` under the title ``titles[i]``.

    The cells of consecutive sheets are computed together, column by column, some
    thousand rows at a time (:data:`BATCH_ROWS`): fast, and only that many rows are held
    as text at once when each sheet is put into the workbook as it comes. Each sheet is
    laid out for print as ``printed`` says, with ``periods[i]`` in its header."""
    header: int | None = None
    printed = printed or Printed()
    i = start = 0
    while i < len(sizes):
        j, count = i + 1, sizes[i]
        while j < len(sizes) and count < BATCH_ROWS:
            count += sizes[j]
            j += 1
        first = _titled(wb, spec, titles[i], lang)
        if header is None:
            header = wb.xf(HEADER)
        part = {k: _batch(v[start:start + count]) for k, v in columns.items()}
        shown: list[dict[str, Sequence[Any]]] = []
        blocks = _blocks_xml(wb, spec, part, sizes[i:j], header_row=HEADER_ROW, lang=lang,
                             options=options, display=display, shown=shown)
        for k, cells in enumerate(blocks):
            sheet = first if k == 0 else _titled(wb, spec, titles[i + k], lang)
            _put_block(wb, sheet, spec, cells, header, header_row=HEADER_ROW,
                       name=names[i + k], lang=lang, options=options, display=display,
                       values=shown[k])
            fit_print(wb, sheet, lang=lang, options=options, printed=dataclasses.replace(
                printed, period=periods[i + k]) if periods else printed)
            yield sheet
        i, start = j, start + count


BATCH_ROWS = 2048  # rows of the sheets table_sheets computes together (peak memory: a few MB)


def _batch(values: Sequence[Any]) -> Sequence[Any]:
    """A batch of a column as the cell renderers take it: a list or numpy array as it is;
    a big batch of a pandas array of Arrow-backed text as it is (its cells are made from
    its Arrow array: :func:`_text_cells`), a small one as an object array. Either way the
    Python strings of a big column exist a batch at a time."""
    import numpy as np

    if isinstance(values, list | np.ndarray):
        return values
    if len(values) >= _ARROW_CELLS and hasattr(values, "__arrow_array__"):
        return values  # Arrow-backed text, a column of cells at once (see _text_cells)
    to_numpy = getattr(values, "to_numpy", None)
    return to_numpy() if to_numpy is not None else values


def _titled(wb: WorkbookEdit, spec: TableSpec, title: str, lang: Lang) -> NewSheet:
    """A sheet with a title, the table's note and a frozen header row."""
    sheet = NewSheet(freeze=(HEADER_ROW + 1, 0), print_title_rows=(HEADER_ROW, HEADER_ROW))
    heading(sheet, TITLE_ROW, title, wb.xf(TITLE))
    if spec.notes:
        heading(sheet, NOTES_ROW, spec.notes(lang), wb.xf(NOTES))
    return sheet


def _blocks_xml(wb: WorkbookEdit, spec: TableSpec, columns: Mapping[str, Sequence[Any]],
                sizes: Sequence[int], *, header_row: int, lang: Lang,
                options: Mapping[str, Any], display: Display | None,
                blank_rows: int = 0, shown: list[dict[str, Sequence[Any]]] | None = None
                ) -> list[list[str]] | list[list[bytes]]:
    """The rows of blocks of ``spec`` whose headers are on ``header_row`` (``sizes``: the
    rows of each block in ``columns``, one block after the other, each followed by
    ``blank_rows`` blank rows and never empty): per block, each row's ``<c>`` elements.
    ``shown`` gets, per block, its columns' values as the cells hold them."""
    disp = display or _same
    rows = [max(size + blank_rows, 1) for size in sizes]
    padded = any(r != size for r, size in zip(rows, sizes, strict=True))
    total = sum(rows)
    values: dict[str, list[Any]] = {}
    for c in spec.columns:
        if not c.is_input:
            continue
        given = columns.get(c.key)
        scale = c.scaled(options)  # amounts in whole units (the amount_unit option)
        if scale != 1.0 and getattr(getattr(given, "dtype", None), "kind", "O") in "iuf":
            given, scale = to_units(given, options), 1.0  # a numpy column: at once
        cells = [None] * sum(sizes) if given is None else _cell_column(c, given, disp)
        if scale != 1.0:  # a column of mixed values (text typed among the amounts)
            cells = to_unit_cells(cells, options)
        values[c.key] = _pad(cells, sizes, rows) if padded else cells
    first = header_row + 1
    if len(rows) > 1 and any("{next:" in c.formula for c in spec.columns if c.formula):
        per_block = [formula_columns(spec, {k: v[a:b] for k, v in values.items()}, b - a,
                                     lang=lang, options=options, display=disp)
                     for a, b in _bounds(rows)]
        computed = {c.key: [x for block in per_block for x in block[c.key]]
                    for c in spec.columns if c.formula}
    else:
        computed = formula_columns(spec, values, total, lang=lang, options=options,
                                   display=disp)
    at = [r for n in rows for r in range(first, first + n)]
    cells: list[Any] = []
    for c, column in enumerate(spec.columns):
        style = _column_style(wb, column, options)
        if column.formula:
            formulas = [f[1:] for f in expand_rows(
                column.formula, spec=spec, rows=range(first, first + max(rows)), first_col=0,
                lang=lang, options=options, display=disp)]
            cells.append(column_cells(c, first, computed[column.key], style=style,
                                      formulas=[f for n in rows for f in formulas[:n]],
                                      rows=at))
        else:
            cells.append(column_cells(c, first, values[column.key], style=style, rows=at))
    joined = join_rows(cells)
    if shown is not None:
        from xlsales.io.printing import TextColumn

        every = {**values, **computed}
        shown.extend({k: v.part(a, b) if isinstance(v, TextColumn) else v[a:b]
                      for k, v in every.items()} for a, b in _bounds(rows))
    return [joined[a:b] for a, b in _bounds(rows)]


def _bounds(sizes: Sequence[int]) -> list[tuple[int, int]]:
    """(start, end) of consecutive blocks of ``sizes``."""
    ends = list(itertools.accumulate(sizes))
    return list(zip([0, *ends[:-1]], ends, strict=True))


def _pad(cells: list[Any], sizes: Sequence[int], rows: Sequence[int]) -> list[Any]:
    """``cells`` of blocks of ``sizes`` with blank cells added up to ``rows`` each."""
    out: list[Any] = []
    for (a, b), n in zip(_bounds(sizes), rows, strict=True):
        out += cells[a:b]
        out += [None] * (n - (b - a))
    return out


def _cell_column(column: Any, values: Sequence[Any], display: Display) -> list[Any]:
    """:func:`cell_value` (and a list's label, :func:`_shown`) of every value of a column;
    numpy columns of numbers at once."""
    kind = getattr(getattr(values, "dtype", None), "kind", "O")
    if kind in "iub":
        return values.tolist()  # type: ignore[attr-defined]
    if kind == "f":
        import numpy as np

        out = np.asarray(values).astype(object)
        out[~np.isfinite(np.asarray(values))] = None
        return out.tolist()
    cells = _text_cells(values) if len(values) >= _ARROW_CELLS else None
    if cells is None:
        cells = [cell_value(v) for v in values]
    if column.choices:
        return [_shown(column, v, display) for v in cells]
    return cells


_ARROW_CELLS = 512  # a text column this long is converted with Arrow, not cell by cell


def _text_cells(values: Sequence[Any]) -> list[Any] | None:
    """:func:`cell_value` of a column of texts and blanks (None, NaN) at once; None when
    the column holds anything else."""
    import pyarrow as pa

    try:
        arr = pa.array(values, from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError, UnicodeError):
        return None
    if pa.types.is_large_string(arr.type):  # a pandas column's (a batch of it: small)
        arr = arr.cast(pa.string())
    elif not pa.types.is_string(arr.type):
        return None
    from xlsales.io.printing import TextColumn

    out = arr.to_numpy(zero_copy_only=False)
    out[out == ""] = None
    return TextColumn(out.tolist(), arr)  # measured for print from the same array


def _put_block(wb: WorkbookEdit, sheet: NewSheet, spec: TableSpec,
               cells: list[str] | list[bytes],
               header: int, *, header_row: int, name: str, lang: Lang,
               options: Mapping[str, Any], display: Display | None, validations: bool = False,
               widths: bool = True, values: dict[str, Sequence[Any]] | None = None) -> int:
    """The header, the rows (``cells``: each row's ``<c>`` elements), the Excel table, its
    conditional formats and (with ``validations``) dropdowns of a block; its 0-based last
    row. ``values`` (the cells' values by column) are kept for :func:`fit_print`."""
    disp = display or _same
    headers = [table_header(c.header(lang, options)) for c in spec.columns]
    for c, (column, text) in enumerate(zip(spec.columns, headers, strict=True)):
        sheet.set(header_row, c, Cell(text, style=header))
        if widths:
            sheet.widths[c] = column.width
    first = header_row + 1
    sheet.put_rows(first, cells, len(spec.columns))
    last = first + len(cells) - 1
    sheet.tables.append(TablePart(name, header_row, 0, last, headers))
    sheet.blocks.append(Block(spec, header_row, values or {}, len(cells)))
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
                                          f"{col_letters(c)}{last + 1}", options)
            if v is not None:
                sheet.validations.append(v)
    return last


def _shown(column: Any, value: Any, display: Display) -> Any:
    """A list value as the workbook shows it (its label in the sheet's language)."""
    return display(column.choices, value) if column.choices and isinstance(value, str) \
        else value


def _column_style(wb: WorkbookEdit, column: Any,
                  options: Mapping[str, Any] | None = None) -> int | None:
    """A column's cell format: its number format (in the options' amount unit), long
    text wrapped; every cell at the top of its row (rows are as tall as their longest
    text)."""
    wrap = column.kind is Kind.LONG_TEXT
    return wb.xf(Style(num_fmt=column.fmt_in(options), wrap=wrap, v_align="top"))


def _validation(column: Any, lang: Lang, sqref: str,
                options: Mapping[str, Any] | None = None) -> Validation | None:
    """Dropdowns from the ``xs_*`` names and date checks, for blocks people fill in."""
    hint = column.hint_text(lang, options)
    if column.choices:
        return Validation(sqref, "list", f"xs_{column.choices}", strict=column.strict_choices,
                          prompt_title=column.header(lang, options),
                          prompt=hint or _CHOICE(lang),
                          error_title=_INVALID(lang), error=_CHOICE(lang))
    if column.kind in (Kind.DATE, Kind.DATETIME):
        return Validation(sqref, "date", "1", DATE_MAX_SERIAL,
                          prompt_title=column.header(lang, options),
                          prompt=hint or _DATE(lang),
                          error_title=_INVALID(lang), error=_DATE(lang))
    return None


# -- print layout ---------------------------------------------------------------------------

def fit_print(wb: WorkbookEdit, sheet: NewSheet, *, lang: Lang, printed: Printed,
              options: Mapping[str, Any] | None = None) -> None:
    """Lay ``sheet`` out for print from its tables' values (:attr:`NewSheet.blocks`):
    column widths that fit their content (long text wraps), row heights that fit the
    wrapped text and headers, the header and footer, and the page setup: one page wide;
    with ``printed.details``, the key figures at a scale that puts them on one page (when
    a readable one does) and the long-text columns after a column break."""
    from xlsales.io import printing as pr

    size = wb.styles.font_size
    team = printed.team if printed.team is not None else (options or {}).get("team_name")
    sheet.header_text, sheet.footer_text = pr.header_footer(team, printed.period)
    sheet.landscape = printed.landscape
    blocks, sheet.blocks = sheet.blocks, []
    if not blocks:
        return
    widths = pr.table_widths(((b.spec, b.values) for b in blocks), lang)
    _titles(wb, sheet, blocks, widths, size)
    split = _detail_split(blocks, printed)
    if split is not None:
        first, repeat = split
        sheet.scale = _split_scale(sheet, blocks, widths, first, repeat, lang, size)
        sheet.col_breaks = [first]
        sheet.print_title_cols = repeat
    else:
        if len(blocks) == 1:  # long text as wide as the page allows: fewer lines
            _grow(blocks[0], widths, dict(widths), range(len(blocks[0].spec.columns)),
                  pr.body_size(sheet.landscape)[0], pr.MAX_WIDTH)
        _row_heights(sheet, blocks, widths, lang, size)
    sheet.widths = {c: w for c, w in sorted(widths.items())}


def _titles(wb: WorkbookEdit, sheet: NewSheet, blocks: Sequence[Block],
            widths: Mapping[int, float], size: float) -> None:
    """Rows of titles and notes (text in column A above a table, running on to the
    right): a line of their font, or wrapped over the table's columns when they would
    run past them."""
    from xlsales.io import printing as pr

    headers = {b.header_row for b in blocks}
    for row, cells in sheet.cells.items():
        if row in headers or set(cells) != {0} or not isinstance(cells[0].value, str):
            continue
        cell = cells[0]
        style = wb.styles.style_of(cell.style) if cell.style is not None else None
        pt = style.size if style is not None and style.size else size
        lines = pr.spills(cell.value, widths, size=pt)
        if lines > 1:
            cells[0] = Cell(cell.value, style=wb.xf(dataclasses.replace(
                style or Style(), wrap=True, v_align="top")))
            sheet.merged.append(f"A{row + 1}:{col_letters(max(widths))}{row + 1}")
        if lines > 1 or pt > size:
            sheet.heights[row] = pr.row_height(lines, size=pt) + (4 if pt > size else 0)


def _row_heights(sheet: NewSheet, blocks: Sequence[Block], widths: Mapping[int, float],
                 lang: Lang, size: float) -> float:
    """Set the heights of the header rows and of rows whose wrapped text takes more than
    one line; the height of the sheet's rows, in points."""
    from xlsales.io import printing as pr

    for block in blocks:
        sheet.heights[block.header_row] = pr.header_height(block.spec, widths, lang,
                                                           size=size)
        first = block.header_row + 1
        for i, n in pr.data_lines(block.spec, block.values, widths, size=size).items():
            sheet.heights[first + i] = pr.row_height(n, size=size)
    last = max((b.header_row + b.rows for b in blocks), default=0)
    return sum(sheet.heights.get(r, pr.line_height(size)) for r in range(last + 1))


def _detail_split(blocks: Sequence[Block], printed: Printed
                  ) -> tuple[int, tuple[int, int] | None] | None:
    """The first detail column and the repeated columns of a sheet printed with its
    details after its key figures, or None."""
    if not printed.details or len(blocks) != 1:
        return None
    spec = blocks[0].spec
    first = next((c for c, col in enumerate(spec.columns) if col.kind is Kind.LONG_TEXT), 0)
    if first == 0:
        return None
    keys = [spec.index(k) for k in printed.repeat]
    repeat = (min(keys), max(keys)) if keys else None
    return first, repeat


def _split_scale(sheet: NewSheet, blocks: Sequence[Block], widths: dict[int, float],
                 first: int, repeat: tuple[int, int] | None, lang: Lang,
                 size: float) -> int:
    """The scale of a sheet whose columns from ``first`` go on pages after its key figures:
    the key figures fill a page's width, or its height when all rows fit one page at a
    readable scale; the detail columns widen to fill their pages. Sets the row heights."""
    from xlsales.io import printing as pr

    landscape = sheet.landscape
    page_w, page_h = pr.body_size(landscape)
    key_pt = pr.columns_pt(w for c, w in widths.items() if c < first)
    scale = min(1.0, page_w / key_pt)
    base = dict(widths)
    for _ in range(2):
        _fill_details(blocks[0], widths, base, first, repeat, page_w / scale)
        sheet.heights = {r: h for r, h in sheet.heights.items()
                         if r < blocks[0].header_row}  # titles stay
        total = _row_heights(sheet, blocks, widths, lang, size)
        fits = page_h / total
        if fits >= scale or fits * 100 < KEY_MIN_SCALE:
            break  # fits already, or never will: one page wide
        scale = fits
    return max(pr.MIN_SCALE, math.floor(scale * 100))


KEY_MIN_SCALE = 50  # the key figures are squeezed onto one page down to this scale


def _fill_details(block: Block, widths: dict[int, float], base: Mapping[int, float],
                  first: int, repeat: tuple[int, int] | None, room_pt: float) -> None:
    """Widen the long-text columns from ``first`` to fill a page ``room_pt`` wide (with
    the repeated columns), each as far as its longest text needs."""
    from xlsales.io import printing as pr

    columns = range(first, len(block.spec.columns))
    reserved = pr.columns_pt(base[c] for c in range(repeat[0], repeat[1] + 1)) \
        if repeat else 0.0
    _grow(block, widths, base, columns, room_pt - reserved, pr.DETAIL_MAX_WIDTH)


def _grow(block: Block, widths: dict[int, float], base: Mapping[int, float],
          columns: Sequence[int], room_pt: float, most: float) -> None:
    """Widen the long-text ones of ``columns`` so that they fill ``room_pt`` points with
    the others, each as far as its longest text needs on one line (at most ``most``)."""
    from xlsales.io import printing as pr

    spec = block.spec
    growing = [c for c in columns if spec.columns[c].kind is Kind.LONG_TEXT]
    if not growing:
        return
    room = room_pt - pr.columns_pt(base[c] for c in columns if c not in growing) \
        - pr.width_pt(0) * len(growing)
    needs = {}
    for c in growing:
        longest = pr.widest_units(block.values.get(spec.columns[c].key, ()))
        needs[c] = max(base[c], min(math.ceil(longest) + 2, most))
    want = sum(n * pr.MDW * 0.75 for n in needs.values())
    for c, n in needs.items():
        share = n if want <= room else max(base[c], n * room / want)
        widths[c] = float(math.floor(share))
