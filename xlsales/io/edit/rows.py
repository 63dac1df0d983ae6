"""Rows of an existing table in a user's workbook, written in place.

:func:`put_rows` sets cells of rows a table already has and adds rows after the last row
holding data (reusing the blank rows a template pre-sized), through
:class:`~xlsales.io.edit.book.WorkbookEdit`: the sheet is streamed, only the rows written
are parsed, and every other part of the package keeps its bytes except the Excel table
(ListObject) that grows with the rows (its ``ref`` and ``autoFilter``).

The user's layout wins: values go into the columns where the sheet has the table's
headers, in its order; columns of the table the sheet lacks are skipped, columns the
sheet adds are left alone (new rows only continue their cell style). Text is written as
text, never as a formula. A formula column of the table gets the formula, expanded for
the row, with the value xlsales computes as its cached result — or only that value, when
the sheet holds plain values in that column. Conditional formats and data validations
that ended at the table's last row (or the sheet's) end at the new last row.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from xlsales.cells import col_index, col_letters
from xlsales.errors import WorkbookError
from xlsales.formula_values import (
    Columns,
    Compiled,
    Display,
    ExcelError,
    FormulaError,
    Names,
    column_values,
    prepare,
)
from xlsales.frames import Table, records
from xlsales.i18n import Label, Lang
from xlsales.io.edit import package as P
from xlsales.io.edit.book import WorkbookEdit
from xlsales.io.edit.cells import Cell
from xlsales.io.edit.sheet import (
    _CELL,
    _CELL_REF,
    _DIMENSION,
    _ROW_NUMBER,
    _ROW_TAG,
    _STYLE,
    _complete,
    _prepend,
)
from xlsales.io.edit.styles import Style
from xlsales.io.edit.tables import cell_value
from xlsales.io.formulas import expand, expand_rows
from xlsales.tables.base import NUMBER_KINDS, Column, Kind, unit_conversion

MAX_ROW = 1_048_576  # Excel's last row
TEXT_KINDS = (Kind.TEXT, Kind.LONG_TEXT, Kind.CHOICE)

_VALUE = re.compile(rb"<v>[^<]|<is>")
_SHARED_MASTER = re.compile(rb'<f\b[^>]*\bt="shared"[^>]*\bref="([^"]*)"')
_RANGE = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+))?$")
_SQREF = re.compile(rb'(<(?:conditionalFormatting|dataValidation)\b[^>]*?\bsqref=")([^"]*)(")')
_TABLE_REFS = re.compile(rb'(<(?:table|autoFilter|sortState)\b[^>]*?\bref=")([^"]*)(")')
_DEFINED = re.compile(rb"<definedName\b([^>]*)>(.*?)</definedName>", re.DOTALL)

# What a sheet holds in a cell: (style index or 0, holds a formula, holds a plain value).
CellInfo = tuple[int, bool, bool]
Bounds = tuple[int, int, int, int]  # first row, first column, last row, last column


def _same(_list: str, value: str) -> str:
    return value


def _remembered(display: Display) -> Display:
    """``display`` looking each (list, value) up once: imports repeat their values."""
    seen: dict[tuple[str, str], str] = {}

    def shown(name: str, value: str) -> str:
        key = (name, value)
        if key not in seen:
            seen[key] = display(name, value)
        return seen[key]

    return shown


def put_rows(wb: WorkbookEdit, table: Table, *,
             updates: Mapping[int, Mapping[str, Any]] | None = None,
             appends: Sequence[Mapping[str, Any]] = (), lang: Lang,
             options: Mapping[str, Any], display: Display | None = None,
             names: Names | None = None, tables: Columns | None = None) -> list[int]:
    """Set cells of existing rows and add rows after the table's last row holding data;
    the 1-based Excel rows added.

    ``table`` is the table as read from ``wb``'s file (:meth:`WorkbookReader.table`).
    ``updates`` maps a 1-based Excel row to {column key: canonical value} (only those
    cells change; None blanks one); ``appends`` are new rows as {column key: value}.
    Values are canonical, as :class:`~xlsales.frames.Table` records hold them: list
    values are shown with ``display`` (the sheet's language), amounts converted to the
    money unit the sheet's header names. Values given for formula columns are ignored:
    formula columns are computed. ``names`` holds the defined names formulas look up
    (``xs_stage_prob``; by default read from the workbook's file as it was opened: pass
    them when this edit also rewrites the lists), ``tables`` the columns of other tables
    formulas read (``TeamTargets`` sums ``Targets``).

    Refused (:class:`WorkbookError`, nothing written): rows at or above the header, keys
    the table does not have, new rows that would overwrite cells below the table, go
    below a row the reader did not take as data (a total row), overlap another Excel
    table or an Excel total row, and cells holding a formula that others share.
    """
    updates = updates or {}
    if not updates and not appends:
        return []
    spec = table.spec
    disp = _remembered(display) if display else _same
    where = {"file": str(wb.path), "sheet": table.sheet}
    part = wb.ref(table.sheet).part
    header = table.header_row
    cols = {k: c for k, c in table.cols.items() if _has(spec, k)}
    given = {k for row in (*updates.values(), *appends) for k in row}
    for key in sorted(given):
        if not _has(spec, key):
            raise WorkbookError(Label(f"「{spec.title('zh')}」没有列 {key!r}",
                                      f"the {spec.title('en')} table has no column {key!r}"),
                                **where)
    for row in updates:
        if not header < row <= MAX_ROW:
            raise WorkbookError(Label(f"第 {row} 行不是「{spec.title('zh')}」的数据行",
                                      f"row {row} is not a data row of the "
                                      f"{spec.title('en')} table"), **where)
    if not cols:
        return []

    objects = _list_objects(wb, part)
    own = _own_object(objects, header, cols)
    span = (own[1], own[3]) if own else (min(cols.values()), max(cols.values()))
    last_df = int(table.df.index.max()) if len(table.df) else header
    start = max(last_df, header + 1)
    # rows this edit already fills (an earlier call on the same sheet) count as data
    edits = {r + 1: cells for r, cells in wb.sheet(table.sheet).cells.items() if r + 1 >= start}
    pending = {r for r, cells in edits.items()
               if any(cell.value not in (None, "") and span[0] <= c <= span[1]
                      for c, cell in cells.items())}
    table_end = max(own[2] - own[5] if own else header, last_df, *pending)
    masters: set[tuple[int, int]] = set()
    scanned = _scan(wb.pkg.open(part), start=start, wanted=sorted(updates), masters=masters)
    for r, cells in edits.items():
        if r not in scanned:  # a row only this edit has: its cells as they will be written
            scanned[r] = {c: (cell.style or cell.fallback or 0, cell.formula is not None,
                              cell.formula is None and cell.value not in (None, ""))
                          for c, cell in cells.items()}
    occupied = sorted(pending | {r for r, cells in scanned.items()
                                 if r >= start and any(v and span[0] <= c <= span[1]
                                                       for c, (_, _, v) in cells.items())})
    last_data = max([r for r in occupied if r <= table_end] + [last_df])

    new_rows: list[int] = []
    if appends:
        _refuse_dropped_rows(table, scanned, [r for r in occupied if r not in pending],
                             last_df, last_data, cols, where)
        first_new = last_data + 1
        new_rows = list(range(first_new, first_new + len(appends)))
        _refuse_collisions(table, scanned, occupied, objects, own, new_rows, span, where)
    new_last = max(new_rows[-1] if new_rows else 0, table_end)

    style_row = last_data if last_data > header else max(
        (r for r in scanned if header < r <= table_end), default=None)
    writer = _Writer(wb, table, cols, scanned, lang=lang, options=options, display=disp,
                     names=names, tables=tables, where=where, style_row=style_row,
                     table_end=table_end, masters=masters)
    if appends:
        writer.append(new_rows, appends, span)
    if updates:
        writer.update(updates)

    if own is not None and new_last > own[2]:
        xml = wb.pkg.read(own[4])
        wb.pkg.put(own[4], _grown_refs(xml, own[2], new_last))
    dim_last = _dimension_last(wb.head(table.sheet))
    ends = {own[2] if own else last_data} | ({dim_last} if dim_last else set())
    if new_last > min(ends):
        wb.sheet(table.sheet).edit_tail.append(
            lambda tail: _grown_ranges(tail, ends, header, new_last, span))
    return new_rows


# -- what the sheet holds ---------------------------------------------------------------


def _has(spec: Any, key: str) -> bool:
    return any(c.key == key for c in spec.columns)


def _bounds(ref: str) -> Bounds | None:
    """(first row, first column, last row, last column) of ``A3:R451`` (rows 1-based,
    columns 0-based); None for anything else (whole columns, names)."""
    m = _RANGE.match(ref.strip())
    if m is None:
        return None
    r0, c0 = int(m.group(2)), col_index(m.group(1))
    if m.group(3) is None:
        return r0, c0, r0, c0
    r1, c1 = int(m.group(4)), col_index(m.group(3))
    return min(r0, r1), min(c0, c1), max(r0, r1), max(c0, c1)


def _list_objects(wb: WorkbookEdit, part: str) -> list[tuple[int, int, int, int, str, int]]:
    """The Excel tables of a sheet: (first row, first column, last row, last column, part,
    totals rows)."""
    out = []
    for rel in wb.pkg.rels(part).of_type(P.REL_TABLE):
        if rel.external:
            continue
        target = P.resolve(part, rel.target)
        if not wb.pkg.exists(target):
            continue
        tag = re.search(rb"<table\b[^>]*>", wb.pkg.read(target))
        a = P.attrs(tag.group()) if tag else {}
        bounds = _bounds(a.get(b"ref", b"").decode())
        if bounds is None:
            continue
        totals = int(a.get(b"totalsRowCount", b"0") or 0)
        out.append((*bounds, target, totals))
    return out


def _own_object(objects: list[tuple[int, int, int, int, str, int]], header: int,
                cols: Mapping[str, int]) -> tuple[int, int, int, int, str, int] | None:
    """The Excel table whose header row is the table's: the one holding most of its
    columns."""
    best, most = None, 0
    for obj in objects:
        inside = sum(obj[1] <= c <= obj[3] for c in cols.values())
        if obj[0] == header and inside > most:
            best, most = obj, inside
    return best


def _scan(chunks: Iterable[bytes], *, start: int, wanted: Sequence[int],
          masters: set[tuple[int, int]]) -> dict[int, dict[int, CellInfo]]:
    """The cells of every row from ``start`` on and of the rows ``wanted`` (sorted), by
    1-based row and 0-based column; stretches of rows before ``start`` are passed over.
    Cells among them that start a shared formula other cells use go into ``masters``."""
    it = iter(chunks)
    buf = b""
    for chunk in it:
        buf += chunk
        m = re.search(rb"<sheetData\b[^>]*?(/?)>", buf)
        if m:
            if m.group(1):
                return {}
            buf = buf[m.end():]
            break
    else:
        return {}
    out: dict[int, dict[int, CellInfo]] = {}
    last = 0
    rest, buf = buf, b""
    for chunk in _prepend(rest, it):
        buf += chunk
        end = buf.find(b"</sheetData>")
        cut = end if end >= 0 else _complete(buf)
        if cut:
            last = _scan_rows(buf[:cut], last, start, wanted, out, masters)
            buf = buf[cut:]
        if end >= 0:
            break
    return out


def _scan_rows(data: bytes, last: int, start: int, wanted: Sequence[int],
               out: dict[int, dict[int, CellInfo]], masters: set[tuple[int, int]]) -> int:
    """The rows of ``data`` (whole rows) into ``out``; the last row number seen."""
    tail = data.rfind(b"<row")
    if tail >= 0:
        m = _ROW_NUMBER.search(data, tail, data.find(b">", tail))
        if m and int(m.group(1)) < start:
            i = bisect.bisect_right(wanted, last)
            if i >= len(wanted) or wanted[i] > int(m.group(1)):
                return int(m.group(1))  # nothing wanted in this stretch
    for tag in _ROW_TAG.finditer(data):
        num = _ROW_NUMBER.search(tag.group())
        r = int(num.group(1)) if num else last + 1
        last = r
        if r < start:
            i = bisect.bisect_left(wanted, r)
            if i >= len(wanted) or wanted[i] != r:
                continue
        if tag.group().endswith(b"/>"):
            out[r] = {}
        else:
            out[r] = _row_cells(data[tag.end():data.find(b"</row>", tag.end())], r, masters)
    return last


def _row_cells(body: bytes, row: int, masters: set[tuple[int, int]]) -> dict[int, CellInfo]:
    cells: dict[int, CellInfo] = {}
    col = -1
    for m in _CELL.finditer(body):
        text = m.group()
        close = text.find(b">")
        tag = text[:close + 1]
        ref = _CELL_REF.search(tag)
        col = col_index(ref.group(1).decode()) if ref else col + 1
        style = _STYLE.search(tag)
        inner = b"" if tag.endswith(b"/>") else text[close + 1:]
        formula = b"<f" in inner
        if formula and b'"shared"' in inner:
            shared = _SHARED_MASTER.search(inner)
            if shared and _bounds(shared.group(1).decode()) != (row, col, row, col):
                masters.add((row, col))
        cells[col] = (int(style.group(1)) if style else 0, formula,
                      not formula and _VALUE.search(inner) is not None)
    return cells


def _dimension_last(head: bytes) -> int | None:
    m = _DIMENSION.search(head)
    bounds = _bounds(m.group(1).decode()) if m else None
    return bounds[2] if bounds else None


# -- checks ----------------------------------------------------------------------------


def _refuse_dropped_rows(table: Table, scanned: Mapping[int, dict[int, CellInfo]],
                         occupied: Sequence[int], last_df: int, last_data: int,
                         cols: Mapping[str, int], where: dict[str, Any]) -> None:
    """New rows would go below a row the table's columns fill but the reader did not take
    as data (a total row): the table would have it in its middle."""
    inputs = {c for k, c in cols.items() if table.spec.column(k).is_input}
    for r in occupied:
        if last_df < r <= last_data:
            hit = next((c for c, (_, _, v) in sorted(scanned.get(r, {}).items())
                        if v and c in inputs), None)
            if hit is not None:
                raise WorkbookError(Label(
                    f"第 {r} 行在数据之后(像是合计行),新行会排在它下面;请先删除或移走这一行",
                    f"row {r} follows the data (a total row?); new rows would go below it: "
                    f"delete or move that row first"), **where, cell=f"{col_letters(hit)}{r}")


def _refuse_collisions(table: Table, scanned: Mapping[int, dict[int, CellInfo]],
                       occupied: Sequence[int],
                       objects: list[tuple[int, int, int, int, str, int]],
                       own: tuple[int, int, int, int, str, int] | None, new_rows: list[int],
                       span: tuple[int, int], where: dict[str, Any]) -> None:
    """New rows would overwrite cells below the table, another Excel table, or go past
    Excel's last row or the table's totals row."""
    first, last = new_rows[0], new_rows[-1]
    if last > MAX_ROW:
        raise WorkbookError(Label(f"新增 {len(new_rows)} 行会超出 Excel 的最后一行 {MAX_ROW}",
                                  f"adding {len(new_rows)} rows would go past Excel's last "
                                  f"row {MAX_ROW}"), **where)
    if own is not None and own[5] and last > own[2] - own[5]:
        raise WorkbookError(Label(
            "这个 Excel 表格有汇总行,无法在它上方追加行;请先关闭汇总行(表设计 › 汇总行)",
            "the Excel table has a total row, so rows cannot be added above it; turn the "
            "total row off first (Table Design › Total Row)"), **where)
    i = bisect.bisect_left(occupied, first)
    if i < len(occupied) and occupied[i] <= last:
        r = occupied[i]
        c = next((c for c, (_, _, v) in sorted(scanned.get(r, {}).items())
                  if v and span[0] <= c <= span[1]), span[0])
        raise WorkbookError(Label(
            f"表格下方第 {r} 行已有内容,新增 {len(new_rows)} 行会覆盖它;请先移走",
            f"row {r} below the table holds data that {len(new_rows)} new rows would "
            f"overwrite; move it first"), **where, cell=f"{col_letters(c)}{r}")
    for obj in objects:
        if obj is own:
            continue
        if obj[0] <= last and obj[2] >= first and obj[1] <= span[1] and obj[3] >= span[0]:
            raise WorkbookError(Label(
                f"新增的行会与另一个 Excel 表格({_a1(obj)})重叠",
                f"the new rows would overlap another Excel table ({_a1(obj)})"), **where)


def _a1(b: Sequence[Any]) -> str:
    return f"{col_letters(b[1])}{b[0]}:{col_letters(b[3])}{b[2]}"


# -- writing ---------------------------------------------------------------------------


@dataclass
class _Writer:
    """The cells of one table's rows, put into the workbook's sheet edit."""

    wb: WorkbookEdit
    table: Table
    cols: dict[str, int]
    scanned: dict[int, dict[int, CellInfo]]
    lang: Lang
    options: Mapping[str, Any]
    display: Display
    names: Names | None
    tables: Columns | None
    where: dict[str, Any]
    style_row: int | None  # the row whose cells' look new rows continue
    table_end: int
    masters: set[tuple[int, int]]  # cells starting a shared formula other cells use

    def __post_init__(self) -> None:
        spec = self.table.spec
        self.edit = self.wb.sheet(self.table.sheet)
        self.inputs = [c for c in spec.input_columns if c.key in self.cols]
        self.convert = {c.key: _converter(c, self.table.headers.get(c.key), self.display)
                        for c in self.inputs}
        self.compiled: dict[str, Compiled] = {
            c.key: prepare(c.formula, lang=self.lang, options=self.options,
                           display=self.display) for c in spec.columns if c.formula}
        if any(c.next_cells for c in self.compiled.values()):
            raise WorkbookError(Label(
                f"「{spec.title('zh')}」的公式引用下一行,不能逐行写入",
                f"the formulas of the {spec.title('en')} table read the next row; its rows "
                f"cannot be written one by one"), **self.where)
        self.formulas = _writable(self.compiled, self.cols)
        self.reads = {key: self._reads(key) for key in self.formulas}
        self.styles = self.scanned.get(self.style_row, {}) if self.style_row else {}
        self._xfs: dict[str, int | None] = {}
        self._as_formulas: dict[str, bool] = {}
        self._names: dict[str, Any] | None = None

    # -- rows added ----------------------------------------------------------------

    def append(self, rows: list[int], values: Sequence[Mapping[str, Any]],
               span: tuple[int, int]) -> None:
        style_row = self.styles
        written = {self.cols[k] for k in (*self.convert, *self.formulas)}
        self._refuse_shared((r, c) for r, c in self.masters
                            if rows[0] <= r <= rows[-1] and c in written)
        cells = [{k: conv(rec.get(k)) for k, conv in self.convert.items()} for rec in values]
        computed = self._computed(cells)
        first = rows[0] - 1  # 0-based
        set_row = self.edit.cells.setdefault
        for key in self.convert:
            c = self.cols[key]
            fallback = self._fallback(key, style_row.get(c))
            for r, rec in zip(rows, cells, strict=True):
                set_row(r - 1, {})[c] = Cell(rec[key], fallback=fallback)
        for key in self.formulas:
            c = self.cols[key]
            fallback = self._fallback(key, style_row.get(c))
            column = [v[key] for v in computed]
            if self._as_formula(key):
                expanded = expand_rows(self.table.spec.column(key).formula or "",
                                       spec=self.table.spec, rows=range(first, first + len(rows)),
                                       first_col=0, lang=self.lang, options=self.options,
                                       display=self.display, cols=self.cols)
                for r, f, v in zip(rows, expanded, column, strict=True):
                    set_row(r - 1, {})[c] = Cell(v, formula=f[1:], fallback=fallback)
            else:
                for r, v in zip(rows, column, strict=True):
                    set_row(r - 1, {})[c] = Cell(_plain(v), fallback=fallback)
        styled = {c: s for c, (s, _, _) in style_row.items()
                  if s and span[0] <= c <= span[1] and c not in written}
        for r in rows:  # a row the sheet does not have yet continues the row above's look
            if styled and r not in self.scanned:
                row = set_row(r - 1, {})
                for c, s in styled.items():
                    row[c] = Cell(None, style=s)

    def _as_formula(self, key: str) -> bool:
        """Whether the column's cells hold formulas (the last data row's, else the nearest
        above it that holds anything); True when none does."""
        if key not in self._as_formulas:
            c = self.cols[key]
            self._as_formulas[key] = True
            rows = sorted((r for r in self.scanned if r <= self.table_end), reverse=True)
            for r in [self.style_row, *rows] if self.style_row else rows:
                cell = self.scanned.get(r, {}).get(c)
                if cell and (cell[1] or cell[2]):
                    self._as_formulas[key] = cell[1]
                    break
        return self._as_formulas[key]

    # -- rows changed ------------------------------------------------------------------

    def update(self, updates: Mapping[int, Mapping[str, Any]]) -> None:
        spec = self.table.spec
        changed = {r: {k: self.convert[k](v) for k, v in updates[r].items() if k in self.convert}
                   for r in sorted(updates)}
        affected = {r: hit for r, keys in changed.items()
                    if (hit := [f for f in self.formulas if self.reads[f] & keys.keys()])}
        self._refuse_shared((r, self.cols[k]) for r in changed
                            for k in (*changed[r], *affected.get(r, ()))
                            if (r, self.cols[k]) in self.masters)
        rows = sorted(affected)
        base = self._current(rows, set().union(*(self.reads[f] for f in self.formulas)))
        computed = self._computed([{**base.get(r, {}), **changed[r]} for r in rows])
        for r, values in changed.items():
            row = self.scanned.get(r, {})
            for key, value in values.items():
                c = self.cols[key]
                self.edit.set(r - 1, c, Cell(value, fallback=self._fallback(key, row.get(c))))
        for r, values in zip(rows, computed, strict=True):
            row = self.scanned.get(r, {})
            for key in affected[r]:
                c = self.cols[key]
                cell = row.get(c)
                formula = cell[1] if cell and (cell[1] or cell[2]) else self._as_formula(key)
                fallback = self._fallback(key, cell)
                if formula:
                    f = expand(spec.column(key).formula or "", spec=spec, row=r - 1,
                               first_col=0, lang=self.lang, options=self.options,
                               display=self.display, cols=self.cols)
                    self.edit.set(r - 1, c, Cell(values[key], formula=f[1:], fallback=fallback))
                else:
                    self.edit.set(r - 1, c, Cell(_plain(values[key]), fallback=fallback))

    def _refuse_shared(self, cells: Iterable[tuple[int, int]]) -> None:
        """Writing over a cell whose shared formula other cells use would leave them
        without a formula (Excel repairs the file)."""
        for r, c in sorted(cells):
            raise WorkbookError(Label(
                "这个单元格的公式与下方的单元格共用(Excel 向下填充所得),改写它会让那些单元格"
                "失去公式;请先把这些单元格复制并“粘贴为数值”,或清除其中的公式,再试",
                "the cell's formula is shared with the cells below it (filled down in "
                "Excel): writing over it would leave them without a formula; copy those "
                "cells and paste them as values, or clear their formulas, then try again"),
                **self.where, cell=f"{col_letters(c)}{r}")

    def _reads(self, key: str) -> set[str]:
        """The input columns a formula column depends on, through other formula columns."""
        out: set[str] = set()
        for ref in self.compiled[key].cells:
            out |= self._reads(ref) if ref in self.compiled else {ref}
        return out

    def _current(self, rows: list[int], wanted: set[str]) -> dict[int, dict[str, Any]]:
        """The input cells ``wanted`` of existing rows as the sheet holds them (from the
        table read)."""
        table = self.table
        present = [r for r in rows if r in table.df.index]
        out: dict[int, dict[str, Any]] = {}
        keys = [k for k in self.convert if k in wanted]
        if not present or not keys:
            return out
        for rec in records(table.df.loc[present], table.spec, with_row=True, keys=keys):
            r = rec.pop("_row")
            out[r] = {k: (table.raw(k, r) if r in table.bad.get(k, ()) else
                          self.convert[k](rec.get(k))) for k in keys}
        return out

    # -- shared ------------------------------------------------------------------------

    def _computed(self, cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The formula columns' values for rows of input cells."""
        if not self.formulas or not cells:
            return [{} for _ in cells]
        spec = self.table.spec
        kept = replace(spec, columns=tuple(c for c in spec.columns
                                           if c.is_input or c.key in self.formulas))
        if self._names is None:
            self._names = dict(self.names or {})
            for name, values in _workbook_names(self.wb, [spec.column(k).formula or ""
                                                          for k in self.formulas]).items():
                self._names.setdefault(name, values)
        names = self._names
        try:
            return column_values(kept, cells, lang=self.lang, options=self.options,
                                 display=self.display, tables=self.tables, names=names)
        except FormulaError as exc:
            raise WorkbookError(Label(f"无法计算「{spec.title('zh')}」的公式:{exc}",
                                      f"cannot compute the formulas of the "
                                      f"{spec.title('en')} table: {exc}"), **self.where) from exc

    def _fallback(self, key: str, cell: CellInfo | None) -> int | None:
        """The style of a cell written without one of its own: ``cell``'s, else the
        column's number format."""
        if cell and cell[0]:
            return cell[0]
        if key not in self._xfs:
            column = self.table.spec.column(key)
            wrap = column.kind is Kind.LONG_TEXT
            fmt = column.fmt_in(self.options)  # whole units: #,##0 (amount_unit)
            self._xfs[key] = self.wb.xf(Style(num_fmt=fmt, wrap=wrap,
                                              v_align="top" if wrap else None)) \
                if fmt or wrap else None
        return self._xfs[key]


def _writable(compiled: Mapping[str, Compiled], cols: Mapping[str, int]) -> list[str]:
    """The formula columns the sheet has whose every reference it has too (and whose
    formula references are writable themselves)."""
    ok = {k for k, c in compiled.items() if k in cols and c.cells <= cols.keys()}
    changed = True
    while changed:
        bad = {k for k in ok if any(ref in compiled and ref not in ok for ref in compiled[k].cells)}
        ok -= bad
        changed = bool(bad)
    return [k for k in compiled if k in ok]


def _plain(value: Any) -> Any:
    """A computed value written as a plain cell (an error as a blank)."""
    return None if isinstance(value, ExcelError) else value


def _python(value: Any) -> Any:
    """numpy and pandas scalars as Python values (NaT and NA as None)."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else pd.Timestamp(value).to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _converter(column: Column, header: str | None, display: Display) -> Callable[[Any], Any]:
    """A canonical value of ``column`` as the sheet's cell holds it."""
    conversion = unit_conversion(header, column) if header else None
    kind = column.kind

    def convert(value: Any) -> Any:
        v = cell_value(_python(value))
        if v is None:
            return None
        if kind in TEXT_KINDS and not isinstance(v, str):
            v = _text(v)
        if column.choices and isinstance(v, str):
            return display(column.choices, v)
        if conversion and kind in NUMBER_KINDS and isinstance(v, int | float) \
                and not isinstance(v, bool):
            return float(f"{v * conversion[2] / conversion[1]:.15g}")
        return v

    return convert


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _workbook_names(wb: WorkbookEdit, formulas: Sequence[str]) -> dict[str, list[list[Any]]]:
    """The values of the workbook-level defined names ``formulas`` use (``xs_stage_prob``),
    read from the workbook's file."""
    wanted: dict[str, tuple[str, Bounds]] = {}
    for m in _DEFINED.finditer(wb.xml):
        a = P.attrs(b"<x " + m.group(1) + b">")
        if b"localSheetId" in a or b"name" not in a:
            continue
        name = a[b"name"].decode()
        if not any(re.search(r"(?<![\w.])" + re.escape(name) + r"(?![\w(])", f)
                   for f in formulas):
            continue
        ref = _unescape(m.group(2).decode())
        sheet, _, cells = ref.rpartition("!")
        bounds = _bounds(cells)
        if sheet and bounds:
            wanted[name] = (sheet.strip("'").replace("''", "'"), bounds)
    if not wanted or not wb.path.is_file():
        return {}
    from xlsales.io.read.package import Package

    out = {}
    with Package(wb.path) as pkg:
        for name, (sheet, (r0, c0, r1, c1)) in wanted.items():
            grid = pkg.head(sheet, r1)
            out[name] = [[None if v == "" else v
                          for v in (row[c0:c1 + 1] + [""] * (c1 + 1 - len(row[c0:c1 + 1])))]
                         for row in (grid[r - 1] if r - 1 < len(grid) else []
                                     for r in range(r0, r1 + 1))]
    return out


def _unescape(text: str) -> str:
    from xlsales.io.read.package import unescape

    return unescape(text)


# -- the table and the sheet's ranges -------------------------------------------------------


def _grown_refs(xml: bytes, old_last: int, new_last: int) -> bytes:
    """A table part whose ``ref``, ``autoFilter`` and ``sortState`` ranges ending at row
    ``old_last`` end at ``new_last``."""

    def fix(m: re.Match[bytes]) -> bytes:
        b = _bounds(m.group(2).decode())
        if b is None or b[2] != old_last:
            return m.group()
        return m.group(1) + _ref(b, new_last).encode() + m.group(3)

    return _TABLE_REFS.sub(fix, xml)


def _grown_ranges(tail: bytes, ends: set[int], first_row: int, new_last: int,
                  span: tuple[int, int]) -> bytes:
    """Conditional formats and validations over the table's columns, from ``first_row`` on,
    whose range ends at one of the rows ``ends`` end at ``new_last``."""

    def fix(m: re.Match[bytes]) -> bytes:
        out = []
        for ref in m.group(2).decode().split():
            b = _bounds(ref)
            if (b is not None and b[2] in ends and b[0] >= first_row and b[2] < new_last
                    and b[1] <= span[1] and b[3] >= span[0]):
                ref = _ref(b, new_last)
            out.append(ref)
        return m.group(1) + " ".join(out).encode() + m.group(3)

    return _SQREF.sub(fix, tail)


def _ref(b: Bounds, last: int) -> str:
    return f"{col_letters(b[1])}{b[0]}:{col_letters(b[3])}{last}"
