"""Edits of an existing worksheet, written as a stream: only the rows that change are
parsed; every other byte of the sheet is copied as it is.

The sheet's XML is read in chunks. The part before ``<sheetData>`` (sheet properties,
views, columns) and the part after it (merged cells, conditional formats, validations,
hyperlinks, page setup, drawings, tables) are small and edited as bytes; the rows in
between are passed through untouched unless a cell of theirs is set, and missing rows
are inserted in order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from xlsales.cells import col_index, col_letters, range_bounds
from xlsales.errors import WorkbookError
from xlsales.i18n import Label
from xlsales.io.edit.cells import Cell, cell_xml

_ROW_TAG = re.compile(rb"<row\b[^>]*?>")
_ROW_NUMBER = re.compile(rb'\br="(\d+)"')
_CELL = re.compile(rb"<c\b[^>]*?(?:/>|>.*?</c>)", re.DOTALL)
_CELL_REF = re.compile(rb'\br="([A-Z]{1,3})\d+"')
_STYLE = re.compile(rb'\bs="(\d+)"')
_SPANS = re.compile(rb'\s+spans="[^"]*"')
_BLOCK = re.compile(rb"<conditionalFormatting\b[^>]*>.*?</conditionalFormatting>", re.DOTALL)
_PRIORITY = re.compile(rb'\bpriority="(\d+)"')
_DIMENSION = re.compile(rb'<dimension\b[^>]*?\bref="([^"]*)"')
DOC_REL_NS = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"

# Children of <worksheet> after <sheetData>, in schema order.
TAIL_ORDER = ("sheetCalcPr", "sheetProtection", "protectedRanges", "scenarios", "autoFilter",
              "sortState", "dataConsolidate", "customSheetViews", "mergeCells", "phoneticPr",
              "conditionalFormatting", "dataValidations", "hyperlinks", "printOptions",
              "pageMargins", "pageSetup", "headerFooter", "rowBreaks", "colBreaks",
              "customProperties", "cellWatches", "ignoredErrors", "smartTags", "drawing",
              "legacyDrawing", "legacyDrawingHF", "drawingHF", "picture", "oleObjects",
              "controls", "webPublishItems", "tableParts", "extLst")


@dataclass
class SheetEdit:
    """What to change in one sheet; :meth:`render` streams the new sheet XML."""

    part: str
    cells: dict[int, dict[int, Cell]] = field(default_factory=dict)
    edit_formats: Callable[[bytes], bytes] | None = None  # each CF block → kept bytes
    add_formats: list[bytes] = field(default_factory=list)
    edit_tail: list[Callable[[bytes], bytes]] = field(default_factory=list)  # after the rows
    legacy_drawing: str | None = None  # relationship id of the comments' VML
    drop_legacy_drawing: bool = False
    selected: bool | None = None
    code_name: str | None = None

    def set(self, row: int, col: int, cell: Cell) -> None:
        """Put ``cell`` at the 0-based ``row`` and ``col``."""
        self.cells.setdefault(row, {})[col] = cell

    @property
    def changed(self) -> bool:
        return bool(self.cells or self.edit_formats or self.add_formats or self.edit_tail
                    or self.legacy_drawing or self.drop_legacy_drawing
                    or self.selected is not None or self.code_name)

    def render(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """The edited sheet, from the chunks of the current one."""
        it = iter(chunks)
        buf = b""
        for chunk in it:  # the head: up to and including <sheetData>
            buf += chunk
            m = re.search(rb"<sheetData\b[^>]*?(/?)>", buf)
            if m:
                head, buf = buf[:m.end()], buf[m.end():]
                if m.group(1):  # <sheetData/>: an empty sheet
                    head = head[:m.start()] + b"<sheetData>"
                    buf = b"</sheetData>" + buf
                yield self._head(head)
                break
        else:
            raise WorkbookError(Label(f"工作表 {self.part} 没有单元格数据",
                                      f"the sheet {self.part} has no cell data"))
        yield from self._body(_prepend(buf, it), sorted(self.cells))

    def _body(self, it: Iterator[bytes], pending: list[int]) -> Iterator[bytes]:
        """The rows (edited where asked), then the tail of the sheet."""
        buf = b""
        last_row = 0
        for chunk in it:
            buf += chunk
            end = buf.find(b"</sheetData>")
            if end >= 0:
                out, last_row = self._rows(buf[:end], pending, last_row)
                yield out
                yield b"".join(self._new_row(r) for r in pending)
                pending.clear()
                rest = buf[end:] + b"".join(it)
                yield self._tail(rest)
                return
            cut = _complete(buf)
            if cut:
                out, last_row = self._rows(buf[:cut], pending, last_row)
                yield out
                buf = buf[cut:]
        raise WorkbookError(Label(f"工作表 {self.part} 在单元格数据中途结束",
                                  f"the sheet {self.part} ends inside its cell data"))

    # -- rows --------------------------------------------------------------------------

    def _rows(self, data: bytes, pending: list[int], last_row: int) -> tuple[bytes, int]:
        """``data`` (whole rows) with the pending rows edited or inserted."""
        if not pending:
            return data, last_row
        tail_tag = data.rfind(b"<row")
        if tail_tag >= 0:
            m = _ROW_NUMBER.search(data, tail_tag, data.find(b">", tail_tag))
            if m and pending[0] > int(m.group(1)) - 1:  # nothing to do in this stretch
                return data, int(m.group(1))
        out: list[bytes] = []
        pos = 0
        for tag in _ROW_TAG.finditer(data):
            num = _ROW_NUMBER.search(tag.group())
            r = int(num.group(1)) if num else last_row + 1
            while pending and pending[0] < r - 1:  # a row the sheet does not have yet
                out.append(data[pos:tag.start()])
                pos = tag.start()
                out.append(self._new_row(pending.pop(0)))
            if pending and pending[0] == r - 1:
                end = tag.end() if tag.group().endswith(b"/>") else \
                    data.find(b"</row>", tag.end()) + len(b"</row>")
                out.append(data[pos:tag.start()])
                out.append(self._edit_row(tag.group(), data[tag.end():end], r - 1))
                pending.pop(0)
                pos = end
            last_row = r
            if not pending:
                break
        out.append(data[pos:])
        return b"".join(out), last_row

    def _new_row(self, row: int) -> bytes:
        cells = self.cells[row]
        return (f'<row r="{row + 1}">'.encode()
                + b"".join(cell_xml(row, c, cells[c]) for c in sorted(cells)) + b"</row>")

    def _edit_row(self, tag: bytes, body: bytes, row: int) -> bytes:
        edits = self.cells[row]
        if tag.endswith(b"/>"):
            tag, body = tag[:-2] + b">", b"</row>"
        tag = _SPANS.sub(b"", tag)
        cells: list[tuple[int, bytes]] = []
        col = -1
        for m in _CELL.finditer(body):
            ref = _CELL_REF.search(m.group())
            col = col_index(ref.group(1).decode()) if ref else col + 1
            cells.append((col, m.group()))
        mine = dict(cells)
        out = []
        for c in sorted(set(mine) | set(edits)):
            if c in edits:
                old = _STYLE.search(mine.get(c, b"")[:mine.get(c, b">").find(b">") + 1])
                out.append(cell_xml(row, c, edits[c],
                                    style=int(old.group(1)) if old else None))
            else:
                out.append(mine[c])
        close = body.rfind(b"</row>")
        return tag + b"".join(out) + body[close:]

    # -- head and tail ----------------------------------------------------------------------

    def _head(self, head: bytes) -> bytes:
        if self.cells:
            head = _dimension(head, self.cells)
        if self.selected is not None:
            head = _select(head, self.selected)
        if self.code_name:
            head = _code_name(head, self.code_name)
        if self.legacy_drawing and b'xmlns:r="' + DOC_REL_NS not in head:
            head = re.sub(rb"(<worksheet\b)", rb'\1 xmlns:r="' + DOC_REL_NS + b'"', head,
                          count=1)
        return head

    def _tail(self, tail: bytes) -> bytes:
        for edit in self.edit_tail:
            tail = edit(tail)
        if self.edit_formats:
            tail = _BLOCK.sub(lambda m: self.edit_formats(m.group()),  # type: ignore[misc]
                              tail)
        if self.add_formats:
            top = max((int(p) for p in _PRIORITY.findall(tail)), default=0)
            blocks = []
            for i, block in enumerate(self.add_formats, start=1):
                blocks.append(block.replace(b'priority="0"', f'priority="{top + i}"'.encode()))
            tail = insert(tail, "conditionalFormatting", b"".join(blocks))
        if self.drop_legacy_drawing or self.legacy_drawing:
            tail = re.sub(rb"<legacyDrawing\b[^>]*/>", b"", tail)
        if self.legacy_drawing:
            tail = insert(tail, "legacyDrawing",
                          f'<legacyDrawing r:id="{self.legacy_drawing}"/>'.encode())
        return tail


def insert(tail: bytes, element: str, xml: bytes) -> bytes:
    """``xml`` (elements named ``element``) put into the tail of a sheet where the schema
    wants them: after the last of their kind, else before the first later element."""
    rank = TAIL_ORDER.index(element)
    existing = list(re.finditer(rb"</" + element.encode() + rb">|<" + element.encode()
                                + rb"\b[^>]*/>", tail))
    if existing:
        at = existing[-1].end()
        return tail[:at] + xml + tail[at:]
    for later in TAIL_ORDER[rank + 1:]:
        m = re.search(rb"<" + later.encode() + rb"\b", tail)
        if m:
            return tail[:m.start()] + xml + tail[m.start():]
    at = tail.rfind(b"</worksheet>")
    return tail[:at] + xml + tail[at:]


def _dimension(head: bytes, cells: dict[int, dict[int, Cell]]) -> bytes:
    """``<dimension>`` grown to hold the cells set: readers that trust it (openpyxl's
    read-only mode) skip every cell outside it."""
    m = _DIMENSION.search(head)
    rows = [r for r, row in cells.items() if row]
    if m is None or not rows:
        return head
    try:
        (r0, c0), (r1, c1) = range_bounds(m.group(1).decode())
    except ValueError:
        return head
    cols = [c for row in cells.values() for c in row]
    r0, c0 = min(r0, *rows), min(c0, *cols)
    r1, c1 = max(r1, *rows), max(c1, *cols)
    ref = f"{col_letters(c0)}{r0 + 1}" + (f":{col_letters(c1)}{r1 + 1}"
                                          if (r0, c0) != (r1, c1) else "")
    return head[:m.start(1)] + ref.encode() + head[m.end(1):]


def _select(head: bytes, selected: bool) -> bytes:
    """The first sheet view's ``tabSelected`` set or cleared."""
    m = re.search(rb"<sheetView\b[^>]*?(/?)>", head)
    if m is None:
        if not selected:
            return head
        view = b'<sheetViews><sheetView tabSelected="1" workbookViewId="0"/></sheetViews>'
        at = re.search(rb"<sheetFormatPr\b|<cols\b|<sheetData\b", head)
        pos = at.start() if at else len(head)
        return head[:pos] + view + head[pos:]
    tag = re.sub(rb'\s+tabSelected="[^"]*"', b"", m.group())
    if selected:
        tag = tag.replace(b"<sheetView", b'<sheetView tabSelected="1"', 1)
    return head[:m.start()] + tag + head[m.end():]


def _code_name(head: bytes, name: str) -> bytes:
    m = re.search(rb"<sheetPr\b[^>]*?(/?)>", head)
    if m is None:
        at = re.search(rb"<worksheet\b[^>]*>", head)
        pos = at.end() if at else 0
        return head[:pos] + f'<sheetPr codeName="{name}"/>'.encode() + head[pos:]
    if b"codeName=" in m.group():
        return head
    tag = m.group().replace(b"<sheetPr", f'<sheetPr codeName="{name}"'.encode(), 1)
    return head[:m.start()] + tag + head[m.end():]


def _complete(buf: bytes) -> int:
    """Where the last complete row of ``buf`` ends (0 when none is complete)."""
    close = buf.rfind(b"</row>")
    end = close + len(b"</row>") if close >= 0 else 0
    last = buf.rfind(b"<row", end)
    if last >= 0:
        tag_end = buf.find(b">", last)
        if tag_end > 0 and buf[tag_end - 1:tag_end] == b"/":
            return tag_end + 1
    return end


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest
