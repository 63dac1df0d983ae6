"""The typed load of a table's columns through fastexcel, Arrow out, before any pandas.

fastexcel (calamine in Rust) parses the sheet while Python is free; what it returns is an
Arrow record batch, the cells it could not take in their column's type, and the columns
it selected. :mod:`xlsales.io.read.fastexcel_engine` turns these into a table's raw
columns; :mod:`xlsales.io.read.early` begins the load before pandas is even imported.
Nothing here imports numpy or pandas.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from xlsales.errors import READ, SHEET, WorkbookError, cannot
from xlsales.i18n import Label
from xlsales.io.read.package import Extent
from xlsales.tables.base import DATE_KINDS, NUMBER_KINDS, Kind, TableSpec

LEAD_COLUMNS = (0, 1, 2)  # always read (as text): what a total row's label is looked for in


def column_type(kind: Kind | None) -> str:
    """The fastexcel type a column of ``kind`` is read in."""
    if kind in DATE_KINDS:
        return "datetime"
    if kind in NUMBER_KINDS:
        return "float"
    return "string"


def column_types(spec: TableSpec, cols: dict[str, int]) -> dict[int, str]:
    """The fastexcel types of the columns a load of ``spec``'s table reads, by 0-based
    column: its input columns in their kinds' types, and the first three as text."""
    wanted = {c: column_type(spec.column(k).kind) for k, c in cols.items()
              if spec.column(k).is_input}
    for c in LEAD_COLUMNS:
        wanted.setdefault(c, "string")
    return wanted


def refuse_far(extent: Extent, cols: dict[str, int], sheet: str) -> None:
    """Refuse a sheet with a cell far beyond its data: a dense read would allocate for the
    whole area (checked before any load)."""
    far = extent.far_cell(width=max(cols.values(), default=0) + 1)
    if far is not None:
        raise WorkbookError(Label(
            f"sheet.huge_range：工作表在 {far} 有一个远离数据的单元格；请删除它"
            "（或清除表格以外的所有内容）后再保存",
            f"sheet.huge_range: the sheet has a cell at {far}, far beyond its data; delete "
            "it (or clear everything past the table) and save again"), sheet=sheet, cell=far)


class DatePanic(Exception):
    """The reader panicked on a date cell (a serial number far outside the calendar)."""


def load_arrow(fx: Any, sheet: str, header_row: int, wanted: dict[int, str], *,
               serials: bool = False) -> tuple[Any, list[Any], list[Any]]:
    """(record batch, cell errors, selected columns) of the rows under ``header_row`` of
    ``sheet``, the columns ``wanted`` in their types; (None, [], []) when nothing is under
    the header. :class:`DatePanic` when a date cell makes the reader panic (unless
    ``serials``: the dates are read as numbers already)."""
    import fastexcel

    try:
        xs = fx.load_sheet(sheet, header_row=None, skip_rows=header_row + 1,
                           use_columns=lambda c: c.absolute_index in wanted, dtypes=wanted)
    except fastexcel.InvalidParametersError:
        return None, [], []  # nothing under the header
    except fastexcel.FastExcelError as exc:
        raise WorkbookError(cannot(READ, SHEET, exc), sheet=sheet) from exc
    try:
        with rust_panics_quiet():
            rb, errs = xs.to_arrow_with_errors()
    except BaseException as exc:  # pyo3's PanicException is a BaseException
        if type(exc).__name__ != "PanicException":
            raise
        if not serials and "datetime" in wanted.values():
            raise DatePanic from None
        raise WorkbookError(cannot(READ, SHEET, exc), sheet=sheet) from None
    return rb, (errs.errors if errs is not None else []), list(xs.selected_columns)


@dataclass
class ArrowLoad:
    """A :func:`load_arrow` under way in another thread: the types it asked for, and
    :meth:`result`, which waits for it."""

    wanted: dict[int, str]
    thread: threading.Thread
    box: dict[str, Any]

    def result(self) -> tuple[Any, list[Any], list[Any]]:
        """What the load returned (or raises what it raised)."""
        self.thread.join()
        if "error" in self.box:
            raise self.box["error"]
        return self.box["value"]


_QUIET_LOCK = threading.Lock()
_quiet: dict[str, Any] = {"depth": 0, "saved": None}  # loads under way; the real fd 2


@contextlib.contextmanager
def rust_panics_quiet() -> Iterator[None]:
    """Keep a Rust panic's message (written straight to file descriptor 2) off the screen:
    the panic itself arrives as an exception and is reported as a workbook error. Loads
    in several threads share one redirection: the first in saves descriptor 2, the last
    out puts it back (each on its own would put back another's /dev/null)."""
    with _QUIET_LOCK:
        if _quiet["depth"] == 0:
            _quiet["saved"] = _to_devnull()
        _quiet["depth"] += 1
    try:
        yield
    finally:
        with _QUIET_LOCK:
            _quiet["depth"] -= 1
            saved = _quiet["saved"]
            if _quiet["depth"] == 0 and saved is not None:
                _quiet["saved"] = None
                os.dup2(saved, 2)
                os.close(saved)


def _to_devnull() -> int | None:
    """Descriptor 2 pointed at /dev/null; a copy of what it was (None: left as it is)."""
    try:
        saved = os.dup(2)
    except OSError:
        return None
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
    except OSError:
        os.close(saved)
        return None
    return saved
