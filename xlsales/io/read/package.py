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

import contextlib
import functools
import html
import posixpath
import queue
import re
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from xml.etree.ElementTree import ParseError, XMLPullParser

from xlsales.cells import col_index, col_letters, parse_ref
from xlsales.errors import OPEN, READ, SHEET, WORKBOOK, WorkbookError, cannot
from xlsales.i18n import Label
from xlsales.io.safety import CheckedZip

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
CHUNK = 1 << 22
HEAD_CHUNK = 1 << 16
FEED = 1 << 13  # the first rows are parsed in small bites: we stop after them
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_ROOT = re.compile(rb"<[A-Za-z_]")
_CELL_REF = re.compile(rb'\br="([A-Z]{1,3})(\d{1,7})"')
_TYPE = re.compile(rb'\bt="([A-Za-z]+)"')
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z0-9:]+)"')
_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")
_PREFIXED_CELL = re.compile(rb"<\w+:c[\s>/]")
DTD_REFUSED = Label("其 XML 声明了实体或 DTD，xlsales 拒绝读取",
                    "its XML declares entities or a DTD, which xlsales refuses")


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


def _refuse_dtd(chunk: bytes, where: Label, file: str, sheet: str | None = None) -> None:
    """Refuse a part whose prolog (before the root element) declares a DTD or entities."""
    root = _ROOT.search(chunk)
    prolog = chunk if root is None else chunk[:root.start()]
    if _DTD.search(prolog) or (root is None and chunk.strip()):
        raise WorkbookError(cannot(READ, where, DTD_REFUSED), file=file, sheet=sheet)


def _pull(fh: IO[bytes], file: str, where: Label, sheet: str | None = None,
          ) -> Iterator[tuple[str, Any]]:
    """XML (event, element) pairs of a part, fed in small bites (a reader that stops early
    parses little); DTDs are refused first."""
    parser = XMLPullParser(events=("start", "end"))
    chunk = fh.read(HEAD_CHUNK)
    _refuse_dtd(chunk, where, file, sheet)
    while chunk:
        for at in range(0, len(chunk), FEED):
            try:
                parser.feed(chunk[at:at + FEED])
                yield from parser.read_events()
            except (ParseError, LookupError, ValueError) as exc:  # LookupError: encoding
                raise WorkbookError(cannot(READ, where, exc), file=file,
                                    sheet=sheet) from exc
        chunk = fh.read(HEAD_CHUNK)
    try:
        parser.close()
        yield from parser.read_events()
    except (ParseError, LookupError, ValueError) as exc:
        raise WorkbookError(cannot(READ, where, exc), file=file, sheet=sheet) from exc


_SI = re.compile(rb"<(?:\w+:)?si\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?si>)", re.DOTALL)
_SI_START = re.compile(rb"<(?:\w+:)?si[\s>/]")
_RPH = re.compile(rb"<(?:\w+:)?rPh\b.*?</(?:\w+:)?rPh>", re.DOTALL)
_T = re.compile(rb"<(?:\w+:)?t\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?t>)", re.DOTALL)


class SharedStrings:
    """The shared-string table, read only as far as needed: items are located with byte
    searches and decoded one by one when asked for (no tree)."""

    def __init__(self, zf: zipfile.ZipFile, part: str | None, file: str) -> None:
        self._zf, self._part, self._file = zf, part, file
        self._spans: list[int] = []
        self._decoded: dict[int, str] = {}
        self._fh: IO[bytes] | None = None
        self._buf = bytearray()  # grown in place, chunk by chunk
        self._pos = 0
        self._done = part is None or part not in zf.namelist()

    def get(self, index: int) -> str:
        # the last start found may belong to an item not yet read to its end
        while index >= len(self._spans) - (0 if self._done else 1) and not self._done:
            self._scan()
        if not 0 <= index < len(self._spans):
            return ""
        if index not in self._decoded:
            m = _SI.match(self._buf, self._spans[index])
            body = _RPH.sub(b"", (m.group(1) or b"") if m else b"")
            text = b"".join(t.group(1) or b"" for t in _T.finditer(body))
            self._decoded[index] = unescape(text.decode("utf-8", errors="replace"))
        return self._decoded[index]

    def _scan(self) -> None:
        """Read one more chunk and note where each complete item starts in it."""
        if self._fh is None:
            self._fh = self._zf.open(self._part or "")
            chunk = self._fh.read(HEAD_CHUNK)
            _refuse_dtd(chunk, Label("共享字符串", "the shared strings"), self._file)
        else:
            chunk = self._fh.read(CHUNK)
        if not chunk:
            self._done = True
            self._fh.close()
            return
        self._buf += chunk
        starts = _si_starts(self._buf, self._pos)
        self._spans += starts
        if starts:
            self._pos = starts[-1] + 1


_SI_AFTER = b" \t\n\r\x0b\x0c/>"  # what may follow "<si": white space, / or >


def _si_starts(buf: bytes | bytearray, pos: int) -> list[int]:
    """Where each shared-string item starts in ``buf`` from ``pos`` (what
    :data:`_SI_START` finds): a numpy search for ``<si`` over the bytes, not a Python step
    per item; the regex where a namespace prefix may be in use (``:si`` anywhere)."""
    if buf.find(b":si", pos) >= 0:
        return [m.start() for m in _SI_START.finditer(buf, pos)]
    import numpy as np

    a = np.frombuffer(buf[pos:], dtype=np.uint8)  # a copy: ``buf`` may grow later
    p = np.flatnonzero(a[:-3] == 0x3C)  # "<", with "si" and the byte after it in ``buf``
    p = p[(a[p + 1] == 0x73) & (a[p + 2] == 0x69)]  # "si"
    p = p[np.isin(a[p + 3], np.frombuffer(_SI_AFTER, dtype=np.uint8))]
    return (p + pos).tolist()


class Package:
    """A workbook's zip, opened once: the sheet list, shared strings and sheet heads."""

    def __init__(self, path: str | Path, *, date1904: bool = False) -> None:
        self.path = Path(path)
        self.file = str(path)
        self.date1904 = date1904
        try:
            self.zf = CheckedZip(self.path, self.file)
        except (zipfile.BadZipFile, OSError) as exc:
            raise WorkbookError(cannot(OPEN, WORKBOOK, exc), file=self.file) from exc
        self.sheets, sst = self._sheet_list()
        self.strings = SharedStrings(self.zf, sst, self.file)
        self._heads: dict[str, tuple[int, list[list[Any]]]] = {}  # rows asked, grid

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
        except (DefusedXmlException, ParseError, KeyError, LookupError, ValueError) as exc:
            why: Label | str = DTD_REFUSED if isinstance(exc, DefusedXmlException) else str(exc)
            raise WorkbookError(cannot(READ, Label("工作表列表", "the list of sheets"), why),
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
        if cached is not None and cached[0] >= rows:
            return cached[1][:rows]
        info = self.sheet(name)
        if info is None or info.part not in self.zf.namelist():
            return []
        grid: dict[int, dict[int, Any]] = {}
        shared: list[tuple[int, int, int]] = []
        row_no, col_no = -1, -1
        with self.zf.open(info.part) as fh:
            cell: dict[str, Any] = {}
            for event, el in _pull(fh, self.file, SHEET, name):
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
                            if value.isdigit():  # else a damaged index: no text to show
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
        self._heads[name] = (rows, out)
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
        return self.survey(name, columns, extent=False)[1]

    def column_filled(self, name: str, col: int, below: int) -> bool:
        """Whether a cell of 0-based column ``col`` under 0-based row ``below`` of sheet
        ``name`` holds anything (a value, an inline string or a formula): byte searches
        over the part, no parse. True whenever the XML is not plain enough to be sure
        (prefixed elements, a cell whose reference is not its first attribute), so a
        caller that skips reading on False never misses a typed cell."""
        info = self.sheet(name)
        if info is None or info.part not in self.zf.namelist():
            return False
        cell = re.compile(rb'<c r="' + col_letters(col).encode() + rb'(\d+)"([^>]*)>')
        keep = b""
        with self.zf.open(info.part) as fh:
            while True:
                chunk = fh.read(CHUNK)
                buf = keep + chunk
                # the last cell goes whole into the next round: no cell is split from
                # what it holds
                cut = max(buf.rfind(b"<c "), buf.rfind(b"<c>"), buf.rfind(b"<c/")) \
                    if chunk else len(buf)
                if cut <= 0:
                    cut = buf.rfind(b"<") if chunk else len(buf)  # no cell: no tag split
                buf, keep = buf[:cut], buf[cut:]
                cells = buf.count(b"<c ") + buf.count(b"<c>") + buf.count(b"<c/")
                if cells != buf.count(b'<c r="') or _PREFIXED_CELL.search(buf):
                    return True
                for m in cell.finditer(buf):
                    if m.group(2).endswith(b"/") or int(m.group(1)) <= below + 1:
                        continue
                    if buf[m.end():m.end() + 64].lstrip()[:3] in (b"<v>", b"<v ", b"<is",
                                                                  b"<f>", b"<f "):
                        return True
                if not chunk:
                    return False

    # -- how far a sheet's cells reach ------------------------------------------------

    def extent(self, name: str) -> Extent:
        """How far the cells of sheet ``name`` really reach, measured from its rows and
        cells while streaming (never from ``<dimension>``), with byte searches: the last
        row, the widest column, how many cells, and the farthest cell when the sheet's
        area is far beyond its cells."""
        return self.survey(name, scan=False)[0]

    def survey(self, name: str, columns: set[int] | None = None, *, extent: bool = True,
               scan: bool = True, ahead: bool = False) -> tuple[Extent, SheetScan]:
        """:meth:`extent` and :meth:`scan` of sheet ``name`` in one pass over its XML (the
        part is decompressed once; either alone with ``scan=False`` or ``extent=False``).
        A part whose XML declares a DTD is refused either way. With ``ahead``, the part is
        decompressed in a second thread a few chunks ahead of the pass (zlib leaves Python
        free: the two overlap)."""
        ext, found = Extent(), SheetScan()
        info = self.sheet(name)
        if info is None or info.part not in self.zf.namelist():
            return ext, found
        passes: list[_ExtentPass | _ScanPass] = []
        if extent:
            # every cell takes at least 16 bytes (<c r="A1"><v>1</v></c> takes 22): a bound
            # on the cells without counting them (padding can inflate it: far_cell caps the
            # area)
            ext.cells = self.zf.getinfo(info.part).file_size // 16
            passes.append(_ExtentPass(ext))
        first = True
        with self.zf.open(info.part) as fh, _chunks(fh, ahead) as read:
            while True:
                chunk = read()
                if first:
                    first = False
                    _refuse_dtd(chunk, SHEET, self.file, name)  # before any use of the part
                    if scan:
                        root = _ROOT_TAG.search(chunk)
                        prefix = root.group(1) + b":" if root and root.group(1) else b""
                        passes.append(_ScanPass(found, columns, prefix))
                for one in passes:
                    one.feed(chunk)
                if not chunk:
                    break
        return ext, found


READ_AHEAD = 3  # chunks decompressed ahead of a survey that asks for it
CARRY_MOST = 1 << 20  # a scan's buffer without a cell start carried on whole up to this


@contextlib.contextmanager
def _chunks(fh: IO[bytes], ahead: bool) -> Iterator[Callable[[], bytes]]:
    """A reader of ``fh``'s next chunk (b"" at its end); with ``ahead``, the chunks are
    read (decompressed) in a second thread, at most :data:`READ_AHEAD` ahead, and its
    errors raised in order. The thread is over when the block is left, however."""
    if not ahead:
        yield lambda: fh.read(CHUNK)
        return
    ready: queue.Queue[tuple[bytes, BaseException | None]] = queue.Queue(READ_AHEAD)
    stop = threading.Event()

    # after a whole first chunk (what the prolog check reads), the chunks as the reader
    # has them: nothing joined or copied, so that inflating overlaps the scan
    later = getattr(fh, "read1", fh.read)

    def produce() -> None:
        chunk, take = b"-", fh.read
        while chunk and not stop.is_set():
            try:
                chunk, error, take = take(CHUNK), None, later
            except BaseException as exc:  # raised by the reader below, in its turn
                chunk, error = b"", exc
            while not stop.is_set():
                try:
                    ready.put((chunk, error), timeout=0.05)
                    break
                except queue.Full:
                    continue

    def read() -> bytes:
        chunk, error = ready.get()
        if error is not None:
            raise error
        return chunk

    worker = threading.Thread(target=produce, name="xlsales-sheet-inflate", daemon=True)
    worker.start()
    try:
        yield read
    finally:
        stop.set()
        worker.join()


class _ScanPass:
    """:meth:`Package.scan` fed chunk by chunk."""

    def __init__(self, scan: SheetScan, columns: set[int] | None, prefix: bytes) -> None:
        self.scan, self.columns, self.prefix = scan, columns, prefix
        self.carry = b""

    def feed(self, chunk: bytes) -> None:
        """The next chunk of the part (b"" at its end)."""
        buf = self.carry + chunk
        if not chunk:
            _scan_buffer(buf, len(buf), self.scan, self.columns, self.prefix)
            return
        tail = max(0, len(buf) - (1 << 16))
        cut = max(buf.rfind(b"<" + self.prefix + b"c ", tail),
                  buf.rfind(b"<" + self.prefix + b"row", tail))
        if cut <= 0 and len(buf) <= CARRY_MOST:  # no start but its own in a short buffer
            self.carry = buf  # (a chunk as the reader had it): all of it goes on
            return
        cut = cut if cut > 0 else len(buf)
        _scan_buffer(buf, cut, self.scan, self.columns, self.prefix)
        self.carry = buf[cut:]


class _ExtentPass:
    """:meth:`Package.extent` fed chunk by chunk."""

    def __init__(self, ext: Extent) -> None:
        self.ext = ext
        self.carry = b""

    def feed(self, chunk: bytes) -> None:
        """The next chunk of the part (b"" at its end)."""
        ext = self.ext
        last_row = ext.max_row
        buf = self.carry + chunk
        end = len(buf) if not chunk else max(buf.rfind(b"<", len(buf) - 256), 0)
        tail = _last_ref(buf, end)
        if tail is not None and int(tail.group(2)) > last_row:
            last_row = int(tail.group(2))
            ext.farthest_row = (tail.group(1) + tail.group(2)).decode()
        # a cell beyond column AZ, or a reference with more digits than the rows so far:
        # the exact (slow) path for this chunk
        if _has_odd_refs(buf, end, len(str(last_row))):
            for m in _CELL_REF_ANY.finditer(buf, 0, end):
                col, row = col_index(m.group(1).decode()), int(m.group(2))
                ref = (m.group(1) + m.group(2)).decode()
                if col > ext.max_col:
                    ext.max_col, ext.widest = col, ref
                if row > last_row:
                    last_row, ext.farthest_row = row, ref
        self.carry = buf[end:]
        ext.max_row = last_row


@dataclass
class Extent:
    """How far a sheet's cells reach (see :meth:`Package.extent`)."""

    max_row: int = 0  # 1-based
    max_col: int = 0  # 0-based, when a column beyond AZ is used (else 0)
    cells: int = 0  # at most this many cells
    widest: str = ""
    farthest_row: str = ""

    def far_cell(self, width: int, limit: int = 20, allowance: int = 2_000_000,
                 most: int = 60_000_000) -> str | None:
        """The cell that makes the sheet's area far larger than its cells (more than
        ``limit`` × the cells past ``allowance``, or more than ``most`` cells in all): what
        a dense reader would allocate for; None when the area is in proportion.
        ``width``: the columns the data uses."""
        area = self.max_row * max(width, self.max_col + 1)
        if area <= allowance or (area <= limit * max(self.cells, 1) and area <= most):
            return None
        if self.max_col + 1 > max(width, 1) * 4 and self.widest:
            return self.widest
        return self.farthest_row or f"row {self.max_row}"


# Cell references (only they hold letters and digits in an attribute ending in r: ref= and
# sqref= end in f); whitespace before r= may be any.
_CELL_REF_ANY = re.compile(rb'r="([A-Z]{1,3})([0-9]+)"')


def _last_ref(buf: bytes, end: int) -> re.Match[bytes] | None:
    """The last cell reference before ``end`` (row tags' r="7" are passed over)."""
    pos, stop = end, max(0, end - (1 << 16))
    while pos > stop:
        pos = buf.rfind(b'r="', stop, pos)
        if pos < 0:
            return None
        m = _CELL_REF_ANY.match(buf, pos)
        if m is not None and m.end() <= end:
            return m
    return None


@functools.cache
def _odd_refs(digits: int) -> re.Pattern[bytes]:
    """References beyond column AZ, or with more than ``digits`` digits (cells or rows)."""
    return re.compile(rb'r="(?:(?:[A-Z]{3}|[B-Z][A-Z])[0-9]|[A-Z]{0,3}[0-9]{%d,}")'
                      % (digits + 1))


def _has_odd_refs(buf: bytes, end: int, digits: int) -> bool:
    """Whether ``buf[:end]`` may hold a reference :func:`_odd_refs` matches: the same test
    over the chunk with numpy, a window at a time (a chunk holds some 100,000
    references, too many to match one by one; small windows keep the arrays small). It
    may say yes where the pattern would not (a run of digits not closed by a quote, bytes
    past the end); the caller then takes the exact path, so that costs time only."""
    import numpy as np

    if end < 8:
        return _odd_refs(digits).search(buf, 0, end) is not None
    a = np.frombuffer(buf, dtype=np.uint8, count=end)
    last = end - 1
    for start in range(0, end - 2, WINDOW):
        stop = min(start + WINDOW, end - 2)
        p = np.flatnonzero(a[start:stop] == 0x72) + start  # r=" (r is rare, then = and ")
        p = p[(a[p + 1] == 0x3D) & (a[p + 2] == 0x22)] + 3
        if not len(p):
            continue
        # reads past the end land on the last byte: that can only add matches
        c0 = a[np.minimum(p, last)]
        u0 = (c0 - 65) < 26  # A-Z (uint8 wraps)
        two = u0 & ((a[np.minimum(p + 1, last)] - 65) < 26)
        k = p + u0 + two  # the first character after the letters (up to two)
        if two.any():  # columns of two or three letters: beyond AZ?
            q = p[two]
            c2, c3 = a[np.minimum(q + 2, last)], a[np.minimum(q + 3, last)]
            three = (c2 - 65) < 26
            if ((three & ((c3 - 48) < 10)) | ((c0[two] != 65) & ((c2 - 48) < 10))).any():
                return True
            k[two] += three
        k = k[(a[np.minimum(k + digits, last)] - 48) < 10]  # a digit where none should be
        for j in range(digits):
            if not len(k):
                break
            k = k[(a[np.minimum(k + j, last)] - 48) < 10]
        if len(k):
            return True
    return False


WINDOW = 1 << 18  # bytes of a chunk looked at at once by the numpy searches


_ROOT_TAG = re.compile(rb"<(?:(\w+):)?worksheet\b")
_WINDOW = 512  # a cell's start tag lies this close before its formula


def _scan_buffer(buf: bytes, end: int, scan: SheetScan, columns: set[int] | None,
                 prefix: bytes) -> None:
    """The cells (starting before ``end``) holding a formula or a boolean: found with
    byte searches, each parsed on its own."""
    ctag, close = b"<" + prefix + b"c ", b"</" + prefix + b"c>"
    formula = b"<" + prefix + b"f"
    for pos in _occurrences(buf, end, formula, (b">", b" ", b"/")):
        start = buf.rfind(ctag, max(0, pos - _WINDOW), pos)
        stop = buf.find(close, pos)
        if start >= 0 and stop > 0:
            tag_end = buf.find(b">", start, pos)
            at = _cell_at(buf[start:tag_end], columns)
            if at is not None and b't="str"' not in buf[start:tag_end]:
                v = _VALUE.search(buf, pos, stop)
                if v is None or not v.group(1):
                    scan.uncached.add(at)
    for pos in _occurrences(buf, end, b't="b', (b'"',)):
        start = buf.rfind(ctag, max(0, pos - _WINDOW), pos)
        if start >= 0 and buf.find(b">", start, pos) < 0:  # inside a cell's start tag
            tag_end = buf.find(b">", pos)
            stop = buf.find(close, tag_end)
            at = _cell_at(buf[start:tag_end], columns)
            v = _VALUE.search(buf, tag_end, stop if stop > 0 else len(buf))
            if at is not None and v is not None:
                scan.booleans[at] = v.group(1).strip() == b"1"
    if buf.find(b"mergeCell", 0, end) >= 0:
        scan.merged += [m.group(1).decode() for m in _MERGE.finditer(buf, 0, end)]


def _occurrences(buf: bytes, end: int, needle: bytes, then: tuple[bytes, ...]) -> list[int]:
    """Where ``needle`` followed by one of the bytes ``then`` lies wholly before ``end``,
    in order. The needles end in a letter that is rare in sheet XML (``<f``, ``t="b``):
    its positions are found with numpy (a window at a time), the rest of the needle
    checked at those only (a byte search would stop at every ``<`` or ``"``)."""
    import numpy as np

    size = len(needle) + 1
    last = len(needle) - 1
    if end < size:
        return []
    a = np.frombuffer(buf, dtype=np.uint8, count=end)
    found: list[int] = []
    starts = end - size + 1  # a needle starting before this fits
    for start in range(0, starts, WINDOW):
        stop = min(start + WINDOW, starts)
        at = np.flatnonzero(a[start + last:stop + last] == needle[last]) + start
        for i, byte in enumerate(needle[:last]):
            if not len(at):
                break
            at = at[a[at + i] == byte]
        if len(at):
            after = a[at + size - 1]
            ok = np.zeros(len(at), dtype=bool)
            for b in then:
                ok |= after == b[0]
            found += at[ok].tolist()
    return found


def _cell_at(tag: bytes, columns: set[int] | None) -> tuple[int, int] | None:
    """(row, column) of a cell's start tag, when it is in ``columns``."""
    m = _CELL_REF.search(tag)
    if m is None:
        return None
    col = col_index(m.group(1).decode())
    if columns is not None and col not in columns:
        return None
    return int(m.group(2)) - 1, col
