"""A small fake of exactly the xlwings API the buttons use, backed by a real workbook file.

Values go through openpyxl, so a test can save the fake book and open the file with any
reader afterwards. Where openpyxl would save what Excel does not, the fake does as Excel
does: a sheet added to a macro-enabled book gets a code name, and saving keeps the VML
drawings (form buttons, notes) as they were, since the API the buttons use cannot touch
them.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.styles import PatternFill
from openpyxl.utils import get_column_letter, range_boundaries


class FakeRange:
    def __init__(self, sheet: FakeSheet, address: str, ndim: int | None = None) -> None:
        self.sheet, self.address, self.ndim = sheet, address, ndim
        min_col, min_row, max_col, max_row = range_boundaries(
            address if ":" in address else f"{address}:{address}")
        self.row, self.column = min_row, min_col
        self._last = (max_row, max_col)

    def options(self, **kw: Any) -> FakeRange:
        return FakeRange(self.sheet, self.address, kw.get("ndim"))

    @property
    def value(self) -> Any:
        ws = self.sheet.ws
        rows = [[_out(ws.cell(row=r, column=c).value)
                 for c in range(self.column, self._last[1] + 1)]
                for r in range(self.row, self._last[0] + 1)]
        if self.ndim == 2:
            return rows
        if len(rows) == 1 and len(rows[0]) == 1:
            return rows[0][0]
        return rows[0] if len(rows) == 1 else rows

    @value.setter
    def value(self, data: Any) -> None:
        ws = self.sheet.ws
        grid = data if isinstance(data, list) and data and isinstance(data[0], list) else [
            data if isinstance(data, list) else [data]]
        for i, row in enumerate(grid):
            for j, v in enumerate(row):
                cell = ws.cell(row=self.row + i, column=self.column + j)
                # as Excel takes a value set through its object model: a leading
                # apostrophe keeps the rest as text, "=…" is a formula
                if isinstance(v, str) and v.startswith("'"):
                    v = v[1:]
                elif isinstance(v, str) and v.startswith("="):
                    cell.value = v
                    cell.data_type = "f"
                    continue
                cell.value = v
                if isinstance(v, str):
                    cell.data_type = "s"
        self.sheet.book.writes.append((self.sheet.name, self.address))

    @property
    def color(self) -> Any:
        return self.sheet.colors.get(self.address)

    @color.setter
    def color(self, rgb: tuple[int, int, int]) -> None:
        hexcode = "FF{:02X}{:02X}{:02X}".format(*rgb)
        self.sheet.ws[self.address].fill = PatternFill(start_color=hexcode, end_color=hexcode,
                                                       fill_type="solid")
        self.sheet.colors[self.address] = rgb


def _out(v: Any) -> Any:
    """xlwings hands dates to Python as datetimes, numbers as floats."""
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return dt.datetime.combine(v, dt.time())
    if isinstance(v, int) and not isinstance(v, bool):
        return float(v)
    return v


class FakeSheet:
    def __init__(self, book: FakeBook, ws: Any) -> None:
        self.book, self.ws = book, ws
        self.colors: dict[str, Any] = {}

    @property
    def name(self) -> str:
        return str(self.ws.title)

    def range(self, address: str) -> FakeRange:
        return FakeRange(self, address)

    @property
    def used_range(self) -> FakeRange:
        ws = self.ws
        last = f"{get_column_letter(max(ws.max_column, 1))}{max(ws.max_row, 1)}"
        return FakeRange(self, f"A1:{last}")

    def clear(self) -> None:
        for row in self.ws.iter_rows():
            for cell in row:
                cell.value = None


class FakeSheets:
    def __init__(self, book: FakeBook) -> None:
        self.book = book

    def __iter__(self) -> Any:
        return iter([self.book._sheet(ws) for ws in self.book.wb.worksheets])

    def __getitem__(self, key: str | int) -> FakeSheet:
        ws = self.book.wb.worksheets[key] if isinstance(key, int) else self.book.wb[key]
        return self.book._sheet(ws)

    def add(self, name: str | None = None, before: Any = None, after: Any = None) -> FakeSheet:
        index = None
        if after is not None:
            index = self.book.wb.sheetnames.index(after.name) + 1
        ws = self.book.wb.create_sheet(name, index)
        if self.book.wb.vba_archive is not None:  # Excel names the sheet's new VBA module
            taken = {w.sheet_properties.codeName for w in self.book.wb.worksheets}
            n = 1
            while f"Sheet{n}" in taken:
                n += 1
            ws.sheet_properties.codeName = f"Sheet{n}"
        return self.book._sheet(ws)


class FakeApp:
    def __init__(self) -> None:
        self.status_bar: Any = False
        self.status_history: list[Any] = []
        self.alerts: list[str] = []

    def __setattr__(self, key: str, value: Any) -> None:
        if key == "status_bar" and hasattr(self, "status_history"):
            self.status_history.append(value)
        object.__setattr__(self, key, value)

    def alert(self, prompt: str, title: str = "", **kw: Any) -> None:
        self.alerts.append(prompt)


class FakeBook:
    """Just enough of ``xlwings.Book``: fullname, sheets, app, save."""

    def __init__(self, path: Path) -> None:
        self.fullname = str(path)
        self.wb = openpyxl.load_workbook(path, keep_vba=path.suffix == ".xlsm")
        with zipfile.ZipFile(path) as z:
            self._drawings = {n: z.read(n) for n in z.namelist() if n.endswith(".vml")}
        self.app = FakeApp()
        self.sheets = FakeSheets(self)
        self.writes: list[tuple[str, str]] = []
        self._sheets: dict[int, FakeSheet] = {}

    def _sheet(self, ws: Any) -> FakeSheet:
        return self._sheets.setdefault(id(ws), FakeSheet(self, ws))

    def save(self, path: str | None = None) -> None:
        """Save through openpyxl, then put the VML drawings back as they were: openpyxl
        rewrites a drawing that holds notes (its own shape ids, which may clash with the
        buttons', and namespace prefixes); Excel keeps what the macros did not change."""
        out = Path(path or self.fullname)
        self.wb.save(out)
        with zipfile.ZipFile(out) as z:
            items = [(info, z.read(info)) for info in z.infolist()]
        if not any(info.filename in self._drawings for info, _ in items):
            return
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for info, data in items:
                z.writestr(info, self._drawings.get(info.filename, data))
