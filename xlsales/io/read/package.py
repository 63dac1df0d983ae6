"""The workbook as a zip package: its sheets, the first rows of a sheet, and one streaming
scan of a sheet for what value readers hide.

Nothing here builds a tree of a whole part. The first rows (where headers are) are read
by pulling XML events from the start of the sheet until the rows asked for are done;
shared strings are parsed only as far as the highest index those rows use. The scan
reads the decompressed sheet in chunks and looks at bytes: it finds formulas without a
cached value, booleans (which the typed reader would silently turn into 1.0) and merged
ranges, parsing only the few cells it hits. XML that declares a DTD or entities is
refused before any parser sees it.
"""

from __future__ import annotations

import html
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from xml.etree.ElementTree import ParseError, XMLPullParser

from xlsales.cells import col_index, parse_ref
from xlsales.errors import WorkbookError

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
CHUNK = 1 << 22
HEAD_CHUNK = 1 << 16
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_ROOT = re.compile(rb"<[A-Za-z_]")
_CELL_REF = re.compile(rb'\br="([A-Z]{1,3})(\d{1,7})"')
_TYPE = re.compile(rb'\bt="([A-Za-z]+)"')
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z0-9:]+)"')
_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")
DTD_REFUSED = "its XML declares entities or a DTD, which xlsales refuses"


def unescape(text: str) -> str:
    """XML character references and OOXML ``_xHHHH_`` escapes decoded."""
    if "&" in text:
        text = html.unescape(text)
    if "_x" in text:
        text = _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)
    return text


@dataclass(frozen=True)
class SheetInfo:
    """A sheet of the workbook: its name, zip part and visibility."""

    name: str
    part: str
    state: str = "visible"


@dataclass
class SheetScan:
    """What one pass over a sheet's XML found, by 0-based (row, column)."""

    uncached: set[tuple[int, int]] = field(default_factory=set)
    booleans: dict[tuple[int, int], bool] = field(default_factory=dict)
    merged: list[str] = field(default_factory=list)


def _refuse_dtd(chunk: bytes, where: str, file: str, sheet: str | None = None) -> None:
    """Refuse a part whose prolog (before the root element) declares a DTD or entities."""
    root = _ROOT.search(chunk)
    prolog = chunk if root is None else chunk[:root.start()]
    if _DTD.search(prolog) or (root is None and chunk.strip()):
        raise WorkbookError(f"cannot read {where}: {DTD_REFUSED}", file=file, sheet=sheet)


def _pull(fh: IO[bytes], file: str, where: str, sheet: str | None = None,
          ) -> Iterator[tuple[str, Any]]:
    """XML (event, element) pairs of a part, fed in chunks; refuses DTDs first."""
    parser = XMLPullParser(events=("start", "end"))
    first = True
    while True:
        chunk = fh.read(HEAD_CHUNK)
        if first:
            _refuse_dtd(chunk, where, file, sheet)
            first = False
        if not chunk:
            break
        try:
            parser.feed(chunk)
            yield from parser.read_events()
        except ParseError as exc:
            raise WorkbookError(f"cannot read {where}: {exc}", file=file, sheet=sheet) from exc
    try:
        parser.close()
        yield from parser.read_events()
    except ParseError as exc:
        raise WorkbookError(f"cannot read {where}: {exc}", file=file, sheet=sheet) from exc


class SharedStrings:
    """The shared-string table, parsed only as far as needed."""

    def __init__(self, zf: zipfile.ZipFile, part: str | None, file: str) -> None:
        self._zf, self._part, self._file = zf, part, file
        self._items: list[str] = []
        self._events: Iterator[tuple[str, Any]] | None = None
        self._fh: IO[bytes] | None = None
        self._done = part is None or part not in zf.namelist()

    def get(self, index: int) -> str:
        while index >= len(self._items) and not self._done:
            self._advance()
        return self._items[index] if 0 <= index < len(self._items) else ""

    def _advance(self) -> None:
        if self._events is None:
            self._fh = self._zf.open(self._part or "")
            self._events = _pull(self._fh, self._file, "the shared strings")
        depth_rph = 0
        parts: list[str] = []
        for event, el in self._events:
            tag = el.tag.rsplit("}", 1)[-1]
            if tag == "rPh":
                depth_rph += 1 if event == "start" else -1
            elif event == "end" and tag == "t" and not depth_rph:
                parts.append(el.text or "")
            elif event == "end" and tag == "si":
                self._items.append(unescape("".join(parts)))
                el.clear()
                return
        self._done = True
        if self._fh is not None:
            self._fh.close()


class Package:
    """A workbook's zip, opened once: the sheet list, shared strings and sheet heads."""

    def __init__(self, path: str | Path, *, date1904: bool = False) -> None:
        self.path = Path(path)
        self.file = str(path)
        self.date1904 = date1904
        try:
            self.zf = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise WorkbookError(f"cannot open the workbook: {exc}", file=self.file) from exc
        self.sheets, sst = self._sheet_list()
        self.strings = SharedStrings(self.zf, sst, self.file)
        self._heads: dict[str, list[list[Any]]] = {}

    def close(self) -> None:
        self.zf.close()

    def __enter__(self) -> Package:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def sheet(self, name: str) -> SheetInfo | None:
        return next((s for s in self.sheets if s.name == name), None)

    def _read_tree(self, part: str) -> Any:
        from defusedxml import ElementTree as SafeET
        from defusedxml.common import DefusedXmlException

        try:
            return SafeET.fromstring(self.zf.read(part))
        except (DefusedXmlException, ParseError, KeyError) as exc:
            why = DTD_REFUSED if isinstance(exc, DefusedXmlException) else str(exc)
            raise WorkbookError(f"cannot read the list of sheets: {why}",
                                file=self.file) from exc

    def _sheet_list(self) -> tuple[list[SheetInfo], str | None]:
        wb = self._read_tree("xl/workbook.xml")
        rels = self._read_tree("xl/_rels/workbook.xml.rels")
        targets: dict[str | None, str] = {}
        sst = None
        for r in rels.iter(f"{PKG_REL_NS}Relationship"):
            target = r.get("Target", "")
            part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                posixpath.join("xl", target))
            targets[r.get("Id")] = part
            if r.get("Type", "").endswith("/sharedStrings"):
                sst = part
        sheets = [SheetInfo(s.get("name", ""), targets.get(s.get(f"{REL_NS}id"), ""),
                            s.get("state", "visible")) for s in wb.iter(f"{NS}sheet")]
        return sheets, sst

    # -- the first rows --------------------------------------------------------------

    def head(self, name: str, rows: int = 30) -> list[list[Any]]:
        """The first ``rows`` rows of sheet ``name`` as a grid from A1 (strings, floats,
        booleans; '' for empty cells)."""
        cached = self._heads.get(name)
        if cached is not None and len(cached) >= rows:
            return cached[:rows]
        info = self.sheet(name)
        if info is None or info.part not in self.zf.namelist():
            return []
        grid: dict[int, dict[int, Any]] = {}
        shared: list[tuple[int, int, int]] = []
        row_no, col_no = -1, -1
        with self.zf.open(info.part) as fh:
            cell: dict[str, Any] = {}
            for event, el in _pull(fh, self.file, "the sheet", name):
                tag = el.tag.rsplit("}", 1)[-1]
                if event == "start":
                    if tag == "row":
                        r = el.get("r")
                        row_no = int(r) - 1 if r and r.isdigit() else row_no + 1
                        col_no = -1
                        if row_no >= rows:
                            break
                    elif tag == "c":
                        ref = el.get("r")
                        try:
                            row_no, col_no = parse_ref(ref) if ref else (row_no, col_no + 1)
                        except ValueError:
                            col_no += 1
                        cell = {"t": el.get("t"), "v": None, "is": []}
                    continue
                if tag == "v":
                    cell["v"] = el.text
                elif tag == "t" and cell is not None:
                    cell["is"].append(el.text or "")
                elif tag == "c":
                    value = self._cell_value(cell)
                    if value is not None and value != "":
                        if cell["t"] == "s":
                            shared.append((row_no, col_no, int(value)))
                        else:
                            grid.setdefault(row_no, {})[col_no] = value
                elif tag == "row":
                    el.clear()
                elif tag == "sheetData":
                    break
        for r, c, index in shared:
            grid.setdefault(r, {})[c] = self.strings.get(index)
        width = max((max(cols) + 1 for cols in grid.values()), default=0)
        out = [["" for _ in range(width)] for _ in range(min(rows, max(grid, default=-1) + 1))]
        for r, cols in grid.items():
            if r < len(out):
                for c, v in cols.items():
                    out[r][c] = v
        self._heads[name] = out
        return out

    @staticmethod
    def _cell_value(cell: dict[str, Any]) -> Any:
        t, v = cell["t"], cell["v"]
        if t == "inlineStr":
            return unescape("".join(cell["is"]))
        if v is None:
            return None
        if t == "s":
            return v.strip()
        if t in ("str", "e"):
            return unescape(v)
        if t == "b":
            return v.strip() == "1"
        try:
            return float(v)
        except ValueError:
            return unescape(v)

    # -- one pass over a whole sheet ---------------------------------------------------

    def scan(self, name: str, columns: set[int] | None = None) -> SheetScan:
        """Formulas without a cached value, booleans and merged ranges of sheet ``name``
        (cells of ``columns`` only, when given)."""
        scan = SheetScan()
        info = self.sheet(name)
        if info is None or info.part not in self.zf.namelist():
            return scan
        carry = b""
        first = True
        with self.zf.open(info.part) as fh:
            while True:
                chunk = fh.read(CHUNK)
                if first:
                    _refuse_dtd(chunk, "the sheet", self.file, name)
                    first = False
                buf = carry + chunk
                if not chunk:
                    self._scan_buffer(buf, len(buf), scan, columns)
                    break
                cut = max(buf.rfind(b"<c ", 0, len(buf)), buf.rfind(b"<row", 0, len(buf)))
                cut = cut if cut > 0 else len(buf)
                self._scan_buffer(buf, cut, scan, columns)
                carry = buf[cut:]
        return scan

    def _scan_buffer(self, buf: bytes, end: int, scan: SheetScan,
                     columns: set[int] | None) -> None:
        for needle in (b"<f>", b"<f ", b"<f/", b':f>', b":f ", b":f/"):
            pos = buf.find(needle, 0, end)
            while pos >= 0:
                self._formula_cell(buf, pos, scan, columns)
                pos = buf.find(needle, pos + 2, end)
        pos = buf.find(b't="b"', 0, end)
        while pos >= 0:
            start = buf.rfind(b"<", 0, pos)
            stop = buf.find(b"</", pos)
            if start >= 0 and buf[start + 1:start + 3] in (b"c ", b"c\t") and stop > 0:
                ref = self._ref(buf[start:buf.find(b">", start) + 1], columns)
                v = _VALUE.search(buf, pos, buf.find(b">", stop) + 1)
                if ref is not None and v is not None:
                    scan.booleans[ref] = v.group(1).strip() == b"1"
            pos = buf.find(b't="b"', pos + 5, end)
        if b"mergeCell" in buf[:end]:
            scan.merged += [m.group(1).decode() for m in _MERGE.finditer(buf, 0, end)]

    def _formula_cell(self, buf: bytes, pos: int, scan: SheetScan,
                      columns: set[int] | None) -> None:
        start = max(buf.rfind(b"<c ", 0, pos), buf.rfind(b":c ", 0, pos))
        close = buf.find(b"</c>", pos)
        close_ns = buf.find(b":c>", pos)
        stop = min(x for x in (close, close_ns, len(buf)) if x >= 0)
        if start < 0:
            return
        tag_end = buf.find(b">", start)
        ref = self._ref(buf[start:tag_end + 1], columns)
        if ref is None:
            return
        t = _TYPE.search(buf, start, tag_end)
        if t is not None and t.group(1) == b"str":
            return
        v = _VALUE.search(buf, pos, stop + 4)
        if v is None or not v.group(1):
            scan.uncached.add(ref)

    @staticmethod
    def _ref(tag: bytes, columns: set[int] | None) -> tuple[int, int] | None:
        m = _CELL_REF.search(tag)
        if m is None:
            return None
        col = col_index(m.group(1).decode())
        if columns is not None and col not in columns:
            return None
        return int(m.group(2)) - 1, col
