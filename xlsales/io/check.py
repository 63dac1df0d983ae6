"""Excel-strict checks of a saved workbook: what Excel would repair when opening it, or
what would hurt the user (formulas without cached values, sheets opening grouped,
clashing VML shape ids, validations with a leading ``=``, links to the workbook itself
stored as external, tables whose headers, ranges or names clash).

Only the standard library reads the package. Small parts (workbook, relationships,
tables, content types) are parsed with defusedxml; worksheets, VML drawings and shared
strings are read in chunks and searched as bytes, row by row, so memory stays bounded
however long a sheet is.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import numbers
import posixpath
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import unquote
from xml.etree.ElementTree import Element, ParseError

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from xlsales.cells import col_letters, parse_ref, range_bounds
from xlsales.errors import OPEN, READ, WORKBOOK, WorkbookError, cannot
from xlsales.i18n import Label
from xlsales.io.read.package import unescape
from xlsales.io.safety import CheckedZip

CHUNK = 1 << 20
MAX_PER_PART = 50  # problems of one kind listed per part; the rest are counted
_AFTER_NAME = (b" ", b">", b"/", b"\t", b"\r", b"\n")
_ROOT = re.compile(rb"<(?:([\w.-]+):)?(?:worksheet|chartsheet|dialogsheet|macrosheet)\b")
_SST_ROOT = re.compile(rb"<(?:([\w.-]+):)?sst\b")
_ROW_NO = re.compile(rb'(?:^|\s)r\s*=\s*["\'](\d+)["\']')
_CELL_REF = re.compile(rb'(?:^|\s)r\s*=\s*["\']\$?([A-Za-z]{1,3})\$?(\d{1,7})["\']')
_CELL_TYPE = re.compile(rb'(?:^|\s)t\s*=\s*["\'](\w+)["\']')
_F = re.compile(rb"<(?:[\w.-]+:)?f\b[^>]*?(?:/>|>(.*?)</(?:[\w.-]+:)?f>)", re.DOTALL)
_V = re.compile(rb"<(?:[\w.-]+:)?v\b[^>]*?(?:/>|>(.*?)</(?:[\w.-]+:)?v>)", re.DOTALL)
_IS = re.compile(rb"<(?:[\w.-]+:)?is\b[^>]*?(?:/>|>(.*?)</(?:[\w.-]+:)?is>)", re.DOTALL)
_RPH = re.compile(rb"<(?:[\w.-]+:)?rPh\b.*?</(?:[\w.-]+:)?rPh>", re.DOTALL)
_T = re.compile(rb"<(?:[\w.-]+:)?t\b[^>]*?(?:/>|>(.*?)</(?:[\w.-]+:)?t>)", re.DOTALL)
_SI = re.compile(rb"<(?:[\w.-]+:)?si\b[^>]*?(?:/>|>(.*?)</(?:[\w.-]+:)?si>)", re.DOTALL)
_ATTR = re.compile(rb"([\w:.-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_SHEET_VIEW = re.compile(rb"<(?:[\w.-]+:)?sheetView\b([^>]*)>")
_HYPERLINK = re.compile(rb"<(?:[\w.-]+:)?hyperlink\b([^>]*)>")
_LEGACY = re.compile(rb"<(?:[\w.-]+:)?legacyDrawing\b([^>]*)>")
_TABLE_PART = re.compile(rb"<(?:[\w.-]+:)?tablePart\b([^>]*)>")
_VALIDATION = re.compile(
    rb"<(?:[\w.-]+:)?dataValidation\b([^>]*?)(?:/>|>(.*?)</(?:[\w.-]+:)?dataValidation>)",
    re.DOTALL)
_VALIDATION_EDGE = re.compile(rb"<(/?)(?:[\w.-]+:)?dataValidation[\s>/]")
_VALIDATION_FORMULA = re.compile(
    rb"<(?:[\w.-]+:)?formula([12])\b[^>]*>(.*?)</(?:[\w.-]+:)?formula\1>", re.DOTALL)
_SQREF = re.compile(rb"<(?:[\w.-]+:)?sqref\b[^>]*>(.*?)</", re.DOTALL)
_TAG = re.compile(rb"<[^>]*>")
_IDMAP = re.compile(rb"<(?:[\w.-]+:)?idmap\b([^>]*)>")
_SHAPE = re.compile(rb"<(?:[\w.-]+:)?shape\b([^>]*)>")
_SHAPE_ID = re.compile(r"_x0000_s\d+")
_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


@dataclass(frozen=True)
class Problem:
    """One thing Excel would repair on opening the workbook, or a user would be hurt by."""

    kind: str
    part: str
    sheet: str | None
    cell: str | None
    detail: str

    def __str__(self) -> str:
        where = self.part
        if self.sheet is not None:
            where += f" [{self.sheet}" + (f"!{self.cell}]" if self.cell else "]")
        elif self.cell:
            where += f" [{self.cell}]"
        return f"{self.kind}: {where}: {self.detail}"


@dataclass(frozen=True)
class FormulaCell:
    """A formula cell as saved: ``formula`` is the ``<f>`` text without ``=`` ('' for a
    shared-formula child), ``value`` the decoded cached value (None when there is none)."""

    sheet: str
    ref: str
    formula: str
    value: object
    cached: bool


def format_problems(problems: Iterable[Problem]) -> str:
    """The problems one per line, under a count ('no problems' when there are none)."""
    lines = [str(p) for p in problems]
    if not lines:
        return "no problems"
    head = "1 problem" if len(lines) == 1 else f"{len(lines)} problems"
    return head + ":\n" + "\n".join(f"  - {line}" for line in lines)


def check_workbook(path: str | Path, *,
                   expected: Mapping[tuple[str, str], object] | None = None,
                   ) -> list[Problem]:
    """What Excel would repair or a user would be hurt by in the workbook at ``path``;
    ``expected`` maps (sheet, "B7") to the value that cell's cached result should be."""
    path = Path(path)
    with _open(path) as zf:
        return _Checker(_Book(zf, path), expected or {}).run()


def scan_formulas(path: str | Path) -> list[FormulaCell]:
    """Every formula cell of the workbook's sheets, with its decoded cached value."""
    path = Path(path)
    found: list[tuple[str, _Cell]] = []
    with _open(path) as zf:
        book = _Book(zf, path)
        for sheet in book.sheets:
            if sheet.part in book.names:
                _SheetScan(zf, sheet.part, on_formula=lambda c, s=sheet.name:
                           found.append((s, c))).run()
        strings = _shared_strings(zf, book.sst, {c.value.index for _, c in found
                                                 if isinstance(c.value, _Shared)})
    return [FormulaCell(s, c.ref, c.formula or "", _resolve(c.value, strings), c.cached)
            for s, c in found]


# -- the package ------------------------------------------------------------------------


def _open(path: Path) -> zipfile.ZipFile:
    try:
        return CheckedZip(path, str(path))
    except (zipfile.BadZipFile, OSError) as exc:
        raise WorkbookError(cannot(OPEN, WORKBOOK, exc), file=str(path)) from exc


def _rid(attrs: Mapping[str, str]) -> str | None:
    """The relationship id attribute (``r:id``, whatever the prefix or namespace)."""
    return next((v for k, v in attrs.items() if k.endswith(("}id", ":id"))), None)


def _decode_x(text: str) -> str:
    """``_xHHHH_`` escapes decoded (for text that a parser already unescaped)."""
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


@dataclass(frozen=True)
class _Rel:
    kind: str  # the last segment of the relationship type: worksheet, table, …
    target: str  # the part name, or the raw target when external
    external: bool


@dataclass(frozen=True)
class _SheetInfo:
    name: str
    index: int
    part: str
    kind: str


class _Book:
    """The package's parts list, content types, workbook and relationships."""

    def __init__(self, zf: zipfile.ZipFile, path: Path) -> None:
        self.zf, self.path = zf, path
        self.names = set(zf.namelist())
        self.problems: list[Problem] = []
        self._rels: dict[str, dict[str, _Rel]] = {}
        root_rels = self.rels("")
        self.workbook = next((r.target for r in root_rels.values()
                              if r.kind == "officeDocument" and not r.external),
                             "xl/workbook.xml")
        wb = self.tree(self.workbook)
        if wb is None:
            raise WorkbookError(cannot(READ, Label("工作簿部件", "the workbook part")),
                                file=str(path))
        pr = wb.find("{*}workbookPr")
        self.date1904 = pr is not None and pr.get("date1904", "") in ("1", "true")
        view = wb.find("{*}bookViews/{*}workbookView")
        tab = view.get("activeTab", "0") if view is not None else "0"
        self.active = int(tab) if tab.isdigit() else 0
        rels = self.rels(self.workbook)
        self.sst = next((r.target for r in rels.values() if r.kind == "sharedStrings"), None)
        self.sheets: list[_SheetInfo] = []
        for s in wb.iterfind("{*}sheets/{*}sheet"):
            rel = rels.get(_rid(s.attrib) or "")
            self.sheets.append(_SheetInfo(s.get("name", ""), len(self.sheets),
                                          rel.target if rel else "", rel.kind if rel else ""))
        self.defined = [(d.get("name", ""), d.get("localSheetId"))
                        for d in wb.iterfind("{*}definedNames/{*}definedName")]
        self.types = self._content_types()

    def tree(self, part: str) -> Element | None:
        """A small part parsed safely; None (and a problem) when unreadable or missing."""
        if part not in self.names:
            return None
        try:
            return SafeET.fromstring(self.zf.read(part))
        except (DefusedXmlException, ParseError, LookupError, ValueError) as exc:
            self.problems.append(Problem("unreadable-part", part, None, None,
                                         f"Excel cannot read this part: {exc}"))
            return None

    def rels(self, part: str) -> dict[str, _Rel]:
        """The relationships of ``part`` ('' for the package) by id, targets resolved."""
        if part in self._rels:
            return self._rels[part]
        folder, name = posixpath.split(part)
        tree = self.tree(posixpath.join(folder, "_rels", f"{name}.rels"))
        out: dict[str, _Rel] = {}
        for r in tree.iterfind("{*}Relationship") if tree is not None else ():
            target = r.get("Target", "")
            external = r.get("TargetMode", "") == "External"
            if not external:
                target = unquote(target)
                target = target.lstrip("/") if target.startswith("/") else \
                    posixpath.normpath(posixpath.join(folder, target))
            out[r.get("Id", "")] = _Rel(r.get("Type", "").rsplit("/", 1)[-1], target, external)
        self._rels[part] = out
        return out

    def _content_types(self) -> tuple[dict[str, str], dict[str, str]] | None:
        tree = self.tree("[Content_Types].xml")
        if tree is None:
            return None
        defaults = {d.get("Extension", "").lower(): d.get("ContentType", "")
                    for d in tree.iterfind("{*}Default")}
        overrides = {o.get("PartName", "").lstrip("/").lower(): o.get("ContentType", "")
                     for o in tree.iterfind("{*}Override")}
        return defaults, overrides

    def has_type(self, part: str) -> bool:
        """Whether the content types give ``part`` a type (by override or extension)."""
        if self.types is None:
            return True  # reported once, as a missing part
        defaults, overrides = self.types
        ext = posixpath.splitext(part)[1].lstrip(".").lower()
        return part.lower() in overrides or ext in defaults


# -- cells --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Shared:
    """A shared-string index, resolved once all sheets are read."""

    index: int


@dataclass(slots=True)
class _Cell:
    ref: str
    row: int
    col: int
    formula: str | None
    cached: bool
    value: object


def _text(raw: bytes | None) -> str:
    return unescape(raw.decode("utf-8", errors="replace")) if raw else ""


def _inline(body: bytes) -> str | None:
    m = _IS.search(body)
    if m is None:
        return None
    inner = _RPH.sub(b"", m.group(1) or b"")
    return _text(b"".join(t.group(1) or b"" for t in _T.finditer(inner)))


def _parse_cell(attrs: bytes, body: bytes, row: int, col: int) -> _Cell:
    """A cell from its start tag's attributes and its content."""
    m = _CELL_REF.search(attrs)
    if m:
        row, col = int(m.group(2)) - 1, _col(m.group(1))
    tm = _CELL_TYPE.search(attrs)
    t = tm.group(1).decode() if tm else "n"
    fm = _F.search(body) if body else None
    vm = _V.search(body) if body else None
    raw = vm.group(1) or b"" if vm else None
    inline = _inline(body) if t == "inlineStr" and body else None
    if t == "inlineStr":
        cached = inline is not None or bool(raw and raw.strip())
        value: object = inline if inline is not None else (_text(raw) if raw else None)
    elif raw is None:
        cached, value = False, None
    elif t == "str":
        cached, value = True, _text(raw)
    elif not raw.strip():
        cached, value = False, None
    else:
        cached, value = True, _typed(t, raw)
    formula = _text(fm.group(1)) if fm else None
    return _Cell(f"{col_letters(col)}{row + 1}", row, col, formula, cached, value)


def _col(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n - 1


def _typed(t: str, raw: bytes) -> object:
    """A non-empty ``<v>`` decoded by the cell's type."""
    text = _text(raw)
    if t == "s":
        return _Shared(int(text)) if text.strip().isdigit() else text
    if t == "b":
        return text.strip() in ("1", "true")
    if t in ("e", "d"):
        return text.strip()
    try:
        return float(text)
    except ValueError:
        return text


def _resolve(value: object, strings: Mapping[int, str]) -> object:
    return strings.get(value.index, "") if isinstance(value, _Shared) else value


def _shared_strings(zf: zipfile.ZipFile, part: str | None, wanted: set[int]) -> dict[int, str]:
    """The shared strings at the ``wanted`` indexes, read in one streaming pass."""
    out: dict[int, str] = {}
    if not wanted or part is None or part not in zf.namelist():
        return out
    top, index, buf, close = max(wanted), 0, b"", b""
    with zf.open(part) as fh:
        while index <= top:
            chunk = fh.read(CHUNK)
            buf += chunk
            if not close:
                root = _SST_ROOT.search(buf)
                if root is None and chunk:
                    continue
                close = b"</" + (root.group(1) + b":" if root and root.group(1) else b"") \
                    + b"si>"
            cut = len(buf) if not chunk else buf.rfind(close) + len(close)
            if cut >= len(close) or not chunk:
                for m in _SI.finditer(buf, 0, cut):
                    if index in wanted:
                        inner = _RPH.sub(b"", m.group(1) or b"")
                        out[index] = _text(b"".join(t.group(1) or b""
                                                    for t in _T.finditer(inner)))
                    index += 1
                buf = buf[cut:]
            if not chunk:
                break
    return out


# -- one streaming pass over a sheet ----------------------------------------------------


def _find_tag(buf: bytes, needle: bytes, start: int, end: int) -> int:
    """Where element ``needle`` (``b"<x:c"``) starts in ``buf[start:end]``, or -1."""
    i = buf.find(needle, start, end)
    while i >= 0 and buf[i + len(needle):i + len(needle) + 1] not in _AFTER_NAME:
        i = buf.find(needle, i + 1, end)
    return i


def _rfind_tag(buf: bytes, needle: bytes, start: int, end: int) -> int:
    """Where the last element ``needle`` starts in ``buf[start:end]``, or -1."""
    i = buf.rfind(needle, start, end)
    while i >= 0 and buf[i + len(needle):i + len(needle) + 1] not in _AFTER_NAME:
        i = buf.rfind(needle, start, i)
    return i


def _attrs(raw: bytes) -> dict[str, str]:
    """The attributes of a start tag, XML references decoded (``_xHHHH_`` kept)."""
    return {m.group(1).decode(): html.unescape(
        (m.group(2) if m.group(2) is not None else m.group(3)).decode("utf-8", "replace"))
        for m in _ATTR.finditer(raw)}


@dataclass
class _Facts:
    """What a sheet's XML outside its cells says."""

    selected: bool = False
    view_seen: bool = False
    legacy: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)  # (ref, r:id) to check
    validations: list[tuple[str, str, str]] = field(default_factory=list)  # sqref, n, text


class _SheetScan:
    """Reads a sheet part in chunks: rows are cut at complete ``</row>`` runs, formula
    cells found by byte search; the XML around ``sheetData`` is searched with regexes."""

    def __init__(self, zf: zipfile.ZipFile, part: str, *,
                 on_formula: Callable[[_Cell], None] | None = None,
                 on_cell: Callable[[_Cell], None] | None = None,
                 wanted: Mapping[int, set[int]] | None = None,
                 link_filter: Callable[[str], bool] | None = None) -> None:
        self.zf, self.part = zf, part
        self.on_formula, self.on_cell = on_formula, on_cell
        self.wanted = wanted or {}
        self.link_filter = link_filter
        self.facts = _Facts()
        self.row = -1
        self.inside = False

    def run(self) -> _Facts:
        with self.zf.open(self.part) as fh:
            buf = self._start(fh)
            while True:
                chunk = fh.read(CHUNK)
                buf = self._consume(buf + chunk, eof=not chunk)
                if not chunk:
                    return self.facts

    def _start(self, fh: IO[bytes]) -> bytes:
        """Reads up to the root element and sets the element needles for its prefix;
        returns what was read."""
        head = b""
        while True:
            chunk = fh.read(CHUNK)
            head += chunk
            m = _ROOT.search(head)
            if m is not None or not chunk:
                break
        p = m.group(1) + b":" if m and m.group(1) else b""
        self.sheet_data, self.sheet_data_end = b"<" + p + b"sheetData", \
            b"</" + p + b"sheetData>"
        self.row_open, self.row_close = b"<" + p + b"row", b"</" + p + b"row>"
        self.c_open, self.c_close = b"<" + p + b"c", b"</" + p + b"c>"
        self.f_open = b"<" + p + b"f"
        return head

    def _consume(self, buf: bytes, eof: bool) -> bytes:
        """Handles what is complete in ``buf``; returns the rest, to be continued."""
        while True:
            if self.inside:
                end = buf.find(self.sheet_data_end)
                if end >= 0:
                    self._rows(buf, end)
                    self.inside = False
                    buf = buf[end + len(self.sheet_data_end):]
                    continue
                if eof:
                    self._rows(buf, len(buf))
                    return b""
                cut = buf.rfind(self.row_close)
                if cut < 0:
                    return buf
                cut += len(self.row_close)
                self._rows(buf, cut)
                return buf[cut:]
            start = _find_tag(buf, self.sheet_data, 0, len(buf))
            if start >= 0:
                tag_end = buf.find(b">", start)
                if tag_end < 0 and not eof:
                    self._outside(buf[:start])
                    return buf[start:]
                self._outside(buf[:start])
                self.inside = buf[tag_end - 1:tag_end] != b"/"
                buf = buf[tag_end + 1:] if tag_end >= 0 else b""
                continue
            cut = len(buf) if eof else self._outside_cut(buf)
            self._outside(buf[:cut])
            return buf[cut:]

    @staticmethod
    def _outside_cut(buf: bytes) -> int:
        """Where the XML outside the cells can be cut: after the last tag, and before an
        unfinished data validation."""
        cut = buf.rfind(b">") + 1
        if b"dataValidation" in buf:
            last = None
            for last in _VALIDATION_EDGE.finditer(buf):  # noqa: B007
                pass
            if last is not None and not last.group(1):
                tag_end = buf.find(b">", last.start())
                if tag_end < 0 or buf[tag_end - 1:tag_end] != b"/":
                    cut = min(cut, last.start())
        return cut

    def _outside(self, xml: bytes) -> None:
        """sheetView selection, legacy drawing, tables, hyperlinks and validations."""
        facts = self.facts
        if not facts.view_seen and b"sheetView" in xml:
            for m in _SHEET_VIEW.finditer(xml):
                a = _attrs(m.group(1))
                if a.get("workbookViewId", "0") == "0":
                    facts.selected = a.get("tabSelected", "0") in ("1", "true")
                    facts.view_seen = True
                    break
        if b"legacyDrawing" in xml:
            facts.legacy += [r for m in _LEGACY.finditer(xml)
                             if (r := _rid(_attrs(m.group(1)))) is not None]
        if b"tablePart" in xml:
            facts.tables += [r for m in _TABLE_PART.finditer(xml)
                             if (r := _rid(_attrs(m.group(1)))) is not None]
        if b"hyperlink" in xml:
            for m in _HYPERLINK.finditer(xml):
                a = _attrs(m.group(1))
                rid = _rid(a)
                if rid is not None and (self.link_filter is None or self.link_filter(rid)):
                    facts.links.append((a.get("ref", ""), rid))
        if b"dataValidation" in xml:
            for m in _VALIDATION.finditer(xml):
                body = m.group(2) or b""
                sqref = _attrs(m.group(1)).get("sqref")
                if sqref is None:
                    sm = _SQREF.search(body)
                    sqref = _text(sm.group(1)) if sm else ""
                for f in _VALIDATION_FORMULA.finditer(body):
                    text = _text(_TAG.sub(b"", f.group(2)))
                    if text.startswith("="):
                        facts.validations.append((sqref, f.group(1).decode(), text))

    def _rows(self, buf: bytes, end: int) -> None:
        """The complete rows in ``buf[:end]``."""
        pos, ro, rc = 0, self.row_open, self.row_close
        while True:
            start = _find_tag(buf, ro, pos, end)
            if start < 0:
                return
            tag_end = buf.find(b">", start, end)
            if tag_end < 0:
                return
            m = _ROW_NO.search(buf, start + len(ro), tag_end)
            self.row = int(m.group(1)) - 1 if m else self.row + 1
            if buf[tag_end - 1] == 47:  # "/": an empty row
                pos = tag_end + 1
                continue
            stop = buf.find(rc, tag_end, end)
            stop = end if stop < 0 else stop
            self._row(buf[tag_end + 1:stop])
            pos = stop + len(rc)

    def _row(self, content: bytes) -> None:
        wanted = self.wanted.get(self.row)
        if wanted is not None:
            self._all_cells(content, wanted)
        elif self.on_formula is not None and self.f_open in content:
            done = 0  # where the last cell handled ends
            pos = _find_tag(content, self.f_open, 0, len(content))
            while pos >= 0:
                start = _rfind_tag(content, self.c_open, 0, pos)
                if start >= done:
                    cell, done = self._cell(content, start)
                    if cell is not None and cell.formula is not None:
                        self.on_formula(cell)
                pos = _find_tag(content, self.f_open, pos + 1, len(content))

    def _all_cells(self, content: bytes, wanted: set[int]) -> None:
        pos, col = 0, -1
        while True:
            start = _find_tag(content, self.c_open, pos, len(content))
            if start < 0:
                return
            cell, pos = self._cell(content, start, col + 1)
            if cell is None:
                return
            col = cell.col
            if cell.col in wanted and self.on_cell is not None:
                self.on_cell(cell)
            if cell.formula is not None and self.on_formula is not None:
                self.on_formula(cell)

    def _cell(self, content: bytes, start: int, col: int | None = None,
              ) -> tuple[_Cell | None, int]:
        """The cell starting at ``start`` and where it ends."""
        tag_end = content.find(b">", start)
        if tag_end < 0:
            return None, len(content)
        attrs = content[start + len(self.c_open):tag_end]
        if content[tag_end - 1] == 47:
            body, stop = b"", tag_end + 1
        else:
            close = content.find(self.c_close, tag_end)
            close = len(content) if close < 0 else close
            body, stop = content[tag_end + 1:close], close + len(self.c_close)
        if col is None and _CELL_REF.search(attrs) is None:  # columns by position
            col = sum(1 for _ in re.finditer(re.escape(self.c_open) + rb"[\s>/]",
                                              content[:start]))
        return _parse_cell(attrs, body, self.row, col if col is not None else 0), stop


# -- the checks ---------------------------------------------------------------------------


@dataclass
class _Table:
    part: str
    sheet: _SheetInfo
    id: str
    name: str
    display: str
    ref: str
    bounds: tuple[tuple[int, int], tuple[int, int]] | None
    header: bool
    columns: list[str]


class _Checker:
    """Runs every check over one opened workbook."""

    def __init__(self, book: _Book, expected: Mapping[tuple[str, str], object]) -> None:
        self.book = book
        self.expected = expected
        self.problems: list[Problem] = []
        self.counts: Counter[tuple[str, str]] = Counter()
        self.overflow: dict[tuple[str, str], Problem] = {}
        self.cells: dict[tuple[str, int, int], object] = {}  # values of wanted cells
        self.tables: list[_Table] = []
        self.selected: list[_SheetInfo] = []
        self.vml_users: dict[str, list[_SheetInfo]] = {}

    def add(self, kind: str, part: str, sheet: str | None, cell: str | None,
            detail: str) -> None:
        key = (kind, part)
        self.counts[key] += 1
        if self.counts[key] <= MAX_PER_PART:
            self.problems.append(Problem(kind, part, sheet, cell, detail))
        else:
            self.overflow[key] = Problem(kind, part, sheet, None, "")

    def run(self) -> list[Problem]:
        book = self.book
        self.problems += book.problems
        book.problems.clear()
        if book.types is None:
            self.add("missing-part", "[Content_Types].xml", None, None,
                     "the package has no content types")
        self._defined_names()
        by_name = {s.name.casefold(): s for s in book.sheets}
        wanted: dict[str, dict[tuple[int, int], object]] = {}
        for (sheet, ref), value in self.expected.items():
            info = by_name.get(sheet.casefold())
            if info is None:
                self.add("formula-cache-mismatch", book.workbook, sheet, ref,
                         "the workbook has no sheet of this name")
                continue
            wanted.setdefault(info.name, {})[parse_ref(ref)] = value
        for sheet in book.sheets:
            self._sheet(sheet, wanted.get(sheet.name, {}))
        self._group_mode()
        self._vml()
        self._table_names()
        strings = _shared_strings(book.zf, book.sst, {
            v.index for v in self.cells.values() if isinstance(v, _Shared)})
        self._compare(wanted, strings)
        self._headers(strings)
        self.problems += book.problems
        for (kind, part), p in self.overflow.items():
            more = self.counts[(kind, part)] - MAX_PER_PART
            self.problems.append(Problem(kind, part, p.sheet, None,
                                         f"and {more} more like the above, not listed"))
        return self.problems

    def _defined_names(self) -> None:
        count = len(self.book.sheets)
        for name, local in self.book.defined:
            if local is not None and (not local.isdigit() or int(local) >= count):
                self.add("defined-name-bad-sheet", self.book.workbook, None, None,
                         f"defined name {name!r} has localSheetId={local} but the "
                         f"workbook has {count} sheet(s)")

    def _sheet(self, sheet: _SheetInfo, wanted: dict[tuple[int, int], object]) -> None:
        book, part = self.book, sheet.part
        if part not in book.names:
            self.add("missing-part", part or book.workbook, sheet.name, None,
                     "the sheet's part is missing from the package")
            return
        if not book.has_type(part):
            self.add("missing-content-type", part, sheet.name, None,
                     "the part has no content type")
        rels = book.rels(part)
        tables = [self._table(rel.target, sheet) for rel in rels.values()
                  if rel.kind == "table" and not rel.external]
        want: dict[int, set[int]] = {}
        for row, col in wanted:
            want.setdefault(row, set()).add(col)
        for t in tables:
            if t is not None and t.header and t.bounds is not None:
                (r0, c0), (_, c1) = t.bounds
                want.setdefault(r0, set()).update(range(c0, c1 + 1))

        def on_formula(cell: _Cell) -> None:
            if not cell.cached:
                shown = f"={cell.formula}" if cell.formula else "(a shared formula)"
                self.add("formula-no-cache", part, sheet.name, cell.ref,
                         f"formula {shown} has no cached value: readers that do not "
                         "calculate see an empty cell")

        def on_cell(cell: _Cell) -> None:
            self.cells[(sheet.name, cell.row, cell.col)] = cell.value if cell.cached \
                or cell.formula is None else _Uncached()

        def self_link(rid: str) -> bool:
            rel = rels.get(rid)
            return rel is None or (rel.external and self._is_self(rel.target))

        facts = _SheetScan(book.zf, part, on_formula=on_formula, on_cell=on_cell,
                           wanted=want, link_filter=self_link).run()
        if facts.selected:
            self.selected.append(sheet)
        for ref, rid in facts.links:
            rel = rels.get(rid)
            if rel is None:
                self.add("missing-relationship", part, sheet.name, ref,
                         f"hyperlink names relationship {rid!r}, which does not exist")
            else:
                self.add("external-link-to-self", part, sheet.name, ref,
                         f"hyperlink to {rel.target!r} is stored as an external link to "
                         "this workbook: a link to a place in it must use 'location'")
        for sqref, n, text in facts.validations:
            self.add("validation-leading-equals", part, sheet.name, sqref.split(" ")[0],
                     f"data validation formula{n} {text!r} starts with '=': Excel "
                     "reads it as text or repairs it; store it without '='")
        for kind, rids in (("legacyDrawing", facts.legacy), ("tablePart", facts.tables)):
            for rid in rids:
                if rid not in rels:
                    self.add("missing-relationship", part, sheet.name, None,
                             f"{kind} names relationship {rid!r}, which does not exist")
        for rid in facts.legacy:
            rel = rels.get(rid)
            if rel is not None and not rel.external:
                self.vml_users.setdefault(rel.target, []).append(sheet)
        for rel in rels.values():
            if rel.external:
                continue
            if rel.kind == "vmlDrawing":
                self.vml_users.setdefault(rel.target, [])
            if rel.kind in ("comments", "vmlDrawing", "table"):
                if rel.target not in book.names:
                    self.add("missing-part", rel.target, sheet.name, None,
                             f"the sheet's {rel.kind} part is missing from the package")
                elif not book.has_type(rel.target):
                    self.add("missing-content-type", rel.target, sheet.name, None,
                             "the part has no content type")
            if rel.kind == "comments" and not facts.legacy:
                self.add("comments-without-vml", rel.target, sheet.name, None,
                         "the sheet has comments but no legacyDrawing: Excel repairs it "
                         "and the notes are lost")
        self._overlaps([t for t in tables if t is not None])

    def _is_self(self, target: str) -> bool:
        """Whether an external link target points into this workbook."""
        if target.startswith("#"):
            return True
        file = unquote(target.split("#", 1)[0]).replace("\\", "/")
        if file.lower().startswith("file:"):
            file = file[5:]
        return bool(file) and posixpath.basename(file).casefold() == \
            self.book.path.name.casefold()

    def _group_mode(self) -> None:
        sheets = self.book.sheets
        active = sheets[self.book.active].name if self.book.active < len(sheets) else None
        for sheet in self.selected:
            if sheet.index != self.book.active:
                others = ", ".join(repr(s.name) for s in self.selected if s is not sheet)
                self.add("group-mode", sheet.part, sheet.name, None,
                         f"sheet is tab-selected but the active sheet is {active!r} "
                         f"(activeTab={self.book.active})"
                         + (f"; also selected: {others}" if others else "")
                         + ": Excel opens the workbook with sheets grouped")

    def _vml(self) -> None:
        seen_ids: dict[str, str] = {}
        blocks: dict[int, str] = {}
        for vml, users in self.vml_users.items():
            if len(users) > 1:
                names = ", ".join(repr(s.name) for s in users)
                self.add("shared-vml-part", vml, users[1].name, None,
                         f"the legacyDrawing of sheets {names} is this one VML part")
            if vml not in self.book.names:
                continue
            ids, claimed = _vml_ids(self.book.zf, vml)
            sheet = users[0].name if users else None
            for block in claimed:
                if block in blocks and blocks[block] != vml:
                    self.add("shared-idmap-block", vml, sheet, None,
                             f"idmap block {block} is also claimed by {blocks[block]}")
                blocks.setdefault(block, vml)
            for shape in ids:
                if shape in seen_ids:
                    where = "this part" if seen_ids[shape] == vml else seen_ids[shape]
                    self.add("duplicate-shape-id", vml, sheet, None,
                             f"shape id {shape} is also used in {where}")
                seen_ids.setdefault(shape, vml)

    def _table(self, part: str, sheet: _SheetInfo) -> _Table | None:
        tree = self.book.tree(part)
        if tree is None:
            return None
        ref = tree.get("ref", "")
        try:
            bounds = range_bounds(ref)
        except ValueError:
            bounds = None
            self.add("table-header-mismatch", part, sheet.name, None,
                     f"table range {ref!r} is not a range")
        columns = [c.get("name", "") for c in tree.iterfind("{*}tableColumns/{*}tableColumn")]
        table = _Table(part, sheet, tree.get("id", ""), tree.get("name", ""),
                       tree.get("displayName", ""), ref, bounds,
                       tree.get("headerRowCount", "1") != "0", columns)
        self.tables.append(table)
        return table

    def _overlaps(self, tables: list[_Table]) -> None:
        for i, a in enumerate(tables):
            for b in tables[:i]:
                if a.bounds and b.bounds and _intersect(a.bounds, b.bounds):
                    self.add("overlapping-tables", a.part, a.sheet.name, a.ref,
                             f"table {a.display or a.name!r} ({a.ref}) overlaps table "
                             f"{b.display or b.name!r} ({b.ref}, {b.part})")

    def _table_names(self) -> None:
        names: dict[str, _Table] = {}
        ids: dict[str, _Table] = {}
        for t in self.tables:
            for name in dict.fromkeys(n for n in (t.name, t.display) if n):
                other = names.setdefault(name.casefold(), t)
                if other is not t:
                    self.add("duplicate-table-name", t.part, t.sheet.name, None,
                             f"table name {name!r} is also used by {other.part} "
                             f"(sheet {other.sheet.name!r}; names ignore case)")
            other = ids.setdefault(t.id, t)
            if other is not t:
                self.add("duplicate-table-name", t.part, t.sheet.name, None,
                         f"table id {t.id} is also used by {other.part} "
                         f"(sheet {other.sheet.name!r})")

    def _headers(self, strings: Mapping[int, str]) -> None:
        for t in self.tables:
            if not t.header or t.bounds is None:
                continue
            (r0, c0), (_, c1) = t.bounds
            if len(t.columns) != c1 - c0 + 1:
                self.add("table-header-mismatch", t.part, t.sheet.name, t.ref,
                         f"table {t.display!r} spans {c1 - c0 + 1} columns but lists "
                         f"{len(t.columns)}")
            for col, name in zip(range(c0, c1 + 1), t.columns, strict=False):
                value = _resolve(self.cells.get((t.sheet.name, r0, col)), strings)
                shown = _display(value)
                if shown != _decode_x(name):
                    self.add("table-header-mismatch", t.part, t.sheet.name,
                             f"{col_letters(col)}{r0 + 1}",
                             f"header cell shows {shown!r} but table {t.display!r} names "
                             f"the column {_decode_x(name)!r}")

    def _compare(self, wanted: Mapping[str, Mapping[tuple[int, int], object]],
                 strings: Mapping[int, str]) -> None:
        for sheet in self.book.sheets:
            for (row, col), want in wanted.get(sheet.name, {}).items():
                got = self.cells.get((sheet.name, row, col))
                if isinstance(got, _Uncached):
                    continue  # reported as formula-no-cache
                got = _resolve(got, strings)
                if not _same(want, got, self.book.date1904):
                    self.add("formula-cache-mismatch", sheet.part, sheet.name,
                             f"{col_letters(col)}{row + 1}",
                             f"cached value {got!r}, expected {want!r}")


class _Uncached:
    """Marks a wanted formula cell that has no cached value."""


def _intersect(a: tuple[tuple[int, int], tuple[int, int]],
               b: tuple[tuple[int, int], tuple[int, int]]) -> bool:
    (ar0, ac0), (ar1, ac1) = a
    (br0, bc0), (br1, bc1) = b
    return ar0 <= br1 and br0 <= ar1 and ac0 <= bc1 and bc0 <= ac1


def _display(value: object) -> str:
    """A cell value as Excel shows it in a table header."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.15g}"
    return str(value)


def excel_serial(value: dt.date, date1904: bool = False) -> float:
    """The Excel serial number of a date or datetime (1900 system unless ``date1904``)."""
    day = value.date() if isinstance(value, dt.datetime) else value
    if date1904:
        serial = float((day - dt.date(1904, 1, 1)).days)
    else:
        serial = float((day - dt.date(1899, 12, 30)).days)
        if day < dt.date(1900, 3, 1):  # Excel counts a 29 February 1900
            serial -= 1
    if isinstance(value, dt.datetime):
        t = value.time()
        serial += (t.hour * 3600 + t.minute * 60 + t.second + t.microsecond / 1e6) / 86400
    return serial


def _same(want: object, got: object, date1904: bool) -> bool:
    """Whether a cached value is the expected Python value."""
    if want is None:
        return got is None or got == ""
    if isinstance(want, bool) or isinstance(got, bool):
        return isinstance(want, bool) and isinstance(got, bool) and want == got
    if isinstance(want, dt.date):
        want = excel_serial(want, date1904)
    if isinstance(want, numbers.Real):
        return isinstance(got, float) and math.isclose(float(want), got, rel_tol=1e-9,
                                                        abs_tol=1e-12)
    if isinstance(want, str):
        return isinstance(got, str) and got == want
    return want == got


def _vml_ids(zf: zipfile.ZipFile, part: str) -> tuple[list[str], set[int]]:
    """The ``_x0000_sNNNN`` shape ids (in order) and idmap blocks of a VML part, read in
    chunks cut after a complete tag."""
    ids: list[str] = []
    blocks: set[int] = set()
    buf = b""
    with zf.open(part) as fh:
        while True:
            chunk = fh.read(CHUNK)
            buf += chunk
            cut = len(buf) if not chunk else buf.rfind(b">") + 1
            for m in _IDMAP.finditer(buf, 0, cut):
                data = _attrs(m.group(1)).get("data", "")
                blocks |= {int(x) for x in re.findall(r"\d+", data)}
            for m in _SHAPE.finditer(buf, 0, cut):
                a = {k.rsplit(":", 1)[-1]: v for k, v in _attrs(m.group(1)).items()}
                shape = a.get("spid") or a.get("id", "")
                if _SHAPE_ID.fullmatch(shape):
                    ids.append(shape)
            buf = buf[cut:]
            if not chunk:
                return ids, blocks
