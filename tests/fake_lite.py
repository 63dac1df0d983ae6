"""A fake of the xlwings Lite Book API, the part xlsales's plugin uses, as documented.

What xlwings Lite does, and the fake with it (xlwings 0.37.8, its remote engine
``xlwings/pro/_xlremote.py``, and lite.xlwings.org):

* a script gets the active workbook with every sheet's values loaded up front (dates as
  datetimes, numbers as floats); writes are queued as actions and applied by Excel after
  the script returns, so reads in the same script see the values it started with;
* ``book.name`` is the file name and ``book.fullname`` the same (no folder: an add-in has
  no access to paths); ``book.save()`` takes no path;
* ``sheet.used_range`` starts at the sheet's first used cell; ``sheets.add(name, after=)``;
  ``sheet.clear()``; ``sheet.visible``;
* ``range.color`` can be set (an RGB tuple or ``#RRGGBB``) but not read synchronously;
* ``app.alert(prompt, title=…)`` shows a dialog; ``app.status_bar`` is unsupported and
  raises.

Built from real workbook files (their cached values, as Excel would hand them).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

# No openpyxl at import: tests unpickle fake books where the file-format libraries are
# blocked (the plugin's import closure); only reading a file into a fake book needs it.


def get_column_letter(n: int) -> str:
    out = ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def _column(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def range_boundaries(address: str) -> tuple[int, int, int, int]:
    """(min_col, min_row, max_col, max_row) of ``A1:B2``."""
    (c0, r0), (c1, r1) = [(_column(m[0]), int(m[1]))
                          for m in re.findall(r"\$?([A-Z]+)\$?(\d+)", address)]
    return c0, r0, c1, r1


class LiteUnsupported(NotImplementedError):
    pass


def _out(v: Any) -> Any:
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return dt.datetime.combine(v, dt.time())
    if isinstance(v, int) and not isinstance(v, bool):
        return float(v)
    return v


def _hex(color: Any) -> str:
    if isinstance(color, str):
        return color if color.startswith("#") else f"#{color}"
    return "#{:02X}{:02X}{:02X}".format(*color)


class FakeLiteRange:
    def __init__(self, sheet: FakeLiteSheet, address: str, ndim: int | None = None) -> None:
        self.sheet, self.address, self.ndim = sheet, address, ndim
        min_col, min_row, max_col, max_row = range_boundaries(
            address if ":" in address else f"{address}:{address}")
        self.row, self.column = min_row, min_col
        self._last = (max_row, max_col)

    def options(self, **kw: Any) -> FakeLiteRange:
        return FakeLiteRange(self.sheet, self.address, kw.get("ndim"))

    @property
    def value(self) -> Any:
        start = self.sheet.start  # what the script was handed
        rows = [[_out(start.get((r, c)))
                 for c in range(self.column, self._last[1] + 1)]
                for r in range(self.row, self._last[0] + 1)]
        if self.ndim == 2:
            return rows
        if len(rows) == 1 and len(rows[0]) == 1:
            return rows[0][0]
        return rows[0] if len(rows) == 1 else rows

    @value.setter
    def value(self, data: Any) -> None:
        grid = data if isinstance(data, list) and data and isinstance(data[0], list) else [
            data if isinstance(data, list) else [data]]
        for i, row in enumerate(grid):
            for j, v in enumerate(row):
                at = (self.row + i, self.column + j)
                # as Excel takes values set through Office.js: a leading apostrophe keeps
                # the rest as text, "=…" is a formula
                if isinstance(v, str) and v.startswith("'"):
                    v = v[1:]
                elif isinstance(v, str) and v.startswith("="):
                    self.sheet.formulas.add(at)
                self.sheet.cells[at] = v
        self.sheet.book.actions.append(("setValues", self.sheet.name, self.address))

    @property
    def color(self) -> Any:
        raise LiteUnsupported("Reading the fill color synchronously isn't supported")

    @color.setter
    def color(self, value: Any) -> None:
        self.sheet.colors[self.address] = _hex(value)
        self.sheet.book.actions.append(("setRangeColor", self.sheet.name, self.address))


class FakeLiteSheet:
    def __init__(self, book: FakeLiteBook, name: str, cells: dict[tuple[int, int], Any],
                 visible: bool = True) -> None:
        self.book, self.name, self.visible = book, name, visible
        self.formulas: set[tuple[int, int]] = set()  # cells a script turned into formulas
        self.start = dict(cells)   # the values handed to the script
        self.cells = dict(cells)   # the values after the script's actions
        self.colors: dict[str, str] = {}

    def range(self, address: str) -> FakeLiteRange:
        return FakeLiteRange(self, address)

    def __getitem__(self, address: str) -> FakeLiteRange:
        return FakeLiteRange(self, address)

    @property
    def used_range(self) -> FakeLiteRange:
        used = [k for k, v in self.start.items() if v is not None]
        if not used:
            return FakeLiteRange(self, "A1")
        r0, c0 = min(r for r, _ in used), min(c for _, c in used)
        r1, c1 = max(r for r, _ in used), max(c for _, c in used)
        return FakeLiteRange(self, f"{get_column_letter(c0)}{r0}:{get_column_letter(c1)}{r1}")

    def clear(self) -> None:
        self.cells.clear()
        self.colors.clear()
        self.book.actions.append(("clear", self.name, ""))

    def grid(self) -> list[list[Any]]:
        """The sheet as Excel shows it after the script (for assertions)."""
        if not self.cells:
            return []
        rows = max(r for r, _ in self.cells)
        cols = max(c for _, c in self.cells)
        return [[self.cells.get((r, c)) for c in range(1, cols + 1)]
                for r in range(1, rows + 1)]


class FakeLiteSheets:
    def __init__(self, book: FakeLiteBook) -> None:
        self.book = book

    def __iter__(self) -> Any:
        return iter(list(self.book._sheets))

    def __len__(self) -> int:
        return len(self.book._sheets)

    def __getitem__(self, key: str | int) -> FakeLiteSheet:
        if isinstance(key, int):
            return self.book._sheets[key]
        for s in self.book._sheets:
            if s.name == key:
                return s
        raise KeyError(key)

    def add(self, name: str | None = None, before: Any = None,
            after: Any = None) -> FakeLiteSheet:
        sheet = FakeLiteSheet(self.book, name or f"Sheet{len(self.book._sheets) + 1}", {})
        index = len(self.book._sheets)
        if after is not None:
            index = self.book._sheets.index(after) + 1
        elif before is not None:
            index = self.book._sheets.index(before)
        self.book._sheets.insert(index, sheet)
        self.book.actions.append(("addSheet", sheet.name, ""))
        return sheet


class FakeLiteApp:
    def __init__(self) -> None:
        self.alerts: list[tuple[str, str]] = []

    @property
    def status_bar(self) -> Any:
        raise LiteUnsupported("status_bar: it has no equivalent setting.")

    @status_bar.setter
    def status_bar(self, value: Any) -> None:
        raise LiteUnsupported("status_bar: it has no equivalent setting.")

    def alert(self, prompt: str, title: str | None = None, buttons: str = "ok",
              mode: str | None = None, callback: str | None = None) -> None:
        self.alerts.append((prompt, title or ""))


class FakeLiteBook:
    """The active workbook as xlwings Lite hands it to a script."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._sheets: list[FakeLiteSheet] = []
        self.sheets = FakeLiteSheets(self)
        self.app = FakeLiteApp()
        self.actions: list[tuple[str, str, str]] = []
        self.saved = 0

    @property
    def fullname(self) -> str:
        return self.name

    def save(self, path: str | None = None) -> None:
        if path is not None:
            raise LiteUnsupported("Book.save() can't take a path on this engine")
        self.saved += 1

    @classmethod
    def open(cls, *paths: Path, name: str | None = None, prefix: str = "") -> FakeLiteBook:
        """The sheets of one workbook file (or of several, as if copied into one: the
        sheets of the second and later files get ``prefix`` in front of their names)."""
        book = cls(name or Path(paths[0]).name)
        for i, path in enumerate(paths):
            book.add_file(Path(path), prefix if i else "")
        return book

    def add_file(self, path: Path, prefix: str = "") -> None:
        import openpyxl

        wb = openpyxl.load_workbook(path, data_only=True)
        for ws in wb.worksheets:
            cells = {(c.row, c.column): c.value for row in ws.iter_rows() for c in row
                     if c.value is not None}
            self._sheets.append(FakeLiteSheet(self, f"{prefix}{ws.title}", cells,
                                              ws.sheet_state == "visible"))
