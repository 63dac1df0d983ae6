"""The styles part of a workbook, edited in place: the small palette xlsales writes with.

Cell formats (``cellXfs``) and the formats of conditional formatting (``dxfs``) that
xlsales needs are looked up among those the workbook already has — byte for byte as
xlsales writes them, so a second run finds the first run's — and appended only when
missing. Everything else in the part keeps its bytes.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from xlsales.errors import WorkbookError
from xlsales.i18n import Label
from xlsales.io.xmltext import quoteattr

# The collections of CT_Stylesheet, in schema order, and their item tag.
COLLECTIONS = (("numFmts", "numFmt"), ("fonts", "font"), ("fills", "fill"),
               ("borders", "border"), ("cellStyleXfs", "xf"), ("cellXfs", "xf"),
               ("cellStyles", "cellStyle"), ("dxfs", "dxf"), ("tableStyles", None),
               ("colors", None), ("extLst", None))
BUILTIN_FORMATS = {"General": 0, "0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4, "0%": 9,
                   "0.00%": 10, "@": 49}
FIRST_CUSTOM = 164


@dataclass(frozen=True)
class Style:
    """A cell look: font, fill, number format, alignment (None: the workbook default)."""

    bold: bool = False
    italic: bool = False
    size: float | None = None
    color: str | None = None  # ARGB, FF1F4E78
    underline: bool = False
    fill: str | None = None
    num_fmt: str | None = None
    wrap: bool = False
    h_align: str | None = None
    v_align: str | None = None
    border: bool = False


class StylesEdit:
    """Find-or-append of fonts, fills, borders, number formats, cell and CF formats."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.items: dict[str, list[bytes]] = {}
        self.spans: dict[str, tuple[int, int] | None] = {}
        for name, item in COLLECTIONS:
            if item is None:
                continue
            m = re.search(rb"<" + name.encode() + rb"\b[^>]*?(/>|>(.*?)</" + name.encode()
                          + rb">)", data, re.DOTALL)
            self.spans[name] = m.span() if m else None
            body = (m.group(2) or b"") if m else b""
            self.items[name] = _split(body, item.encode())
        self.changed = False
        font0 = self.items["fonts"][0] if self.items["fonts"] else b""
        name = re.search(rb'<name val="([^"]*)"', font0)
        size = re.search(rb'<sz val="([^"]*)"', font0)
        self.font_name = name.group(1).decode() if name else "Calibri"
        self.font_size = float(size.group(1)) if size else 11.0
        self._xfs: dict[Style, int] = {}
        self._dxfs: dict[Style, int] = {}

    def _find_or_add(self, collection: str, item: bytes) -> int:
        items = self.items[collection]
        try:
            return items.index(item)
        except ValueError:
            items.append(item)
            self.changed = True
            return len(items) - 1

    def num_fmt(self, code: str | None) -> int:
        """The id of a number format (built in, existing, or added)."""
        if not code:
            return 0
        if code in BUILTIN_FORMATS:
            return BUILTIN_FORMATS[code]
        quoted = quoteattr(code)
        used = []
        for item in self.items["numFmts"]:
            m = re.search(rb'numFmtId="(\d+)"', item)
            if m:
                used.append(int(m.group(1)))
                if f"formatCode={quoted}".encode() in item:
                    return int(m.group(1))
        new_id = max([FIRST_CUSTOM - 1, *used]) + 1
        self.items["numFmts"].append(f'<numFmt numFmtId="{new_id}" formatCode={quoted}/>'
                                     .encode())
        self.changed = True
        return new_id

    def _font(self, s: Style) -> bytes:
        parts = ["<b/>" if s.bold else "", "<i/>" if s.italic else "",
                 "<u/>" if s.underline else "",
                 f'<sz val="{s.size or self.font_size:g}"/>',
                 f'<color rgb="{s.color}"/>' if s.color else "",
                 f"<name val={quoteattr(self.font_name)}/>"]
        return f"<font>{''.join(parts)}</font>".encode()

    def xf(self, s: Style) -> int:
        """The index of the cell format ``s`` (the ``s`` attribute of a cell)."""
        if s in self._xfs:
            return self._xfs[s]
        font = self._find_or_add("fonts", self._font(s))
        fill = self._find_or_add("fills", (
            f'<fill><patternFill patternType="solid"><fgColor rgb="{s.fill}"/>'
            f'<bgColor indexed="64"/></patternFill></fill>').encode()) if s.fill else 0
        border = self._find_or_add("borders", (
            b'<border><left style="thin"><color rgb="FFBFBFBF"/></left><right style="thin">'
            b'<color rgb="FFBFBFBF"/></right><top style="thin"><color rgb="FFBFBFBF"/></top>'
            b'<bottom style="thin"><color rgb="FFBFBFBF"/></bottom><diagonal/></border>'
        )) if s.border else 0
        fmt = self.num_fmt(s.num_fmt)
        align = "".join([f' horizontal="{s.h_align}"' if s.h_align else "",
                         f' vertical="{s.v_align}"' if s.v_align else "",
                         ' wrapText="1"' if s.wrap else ""])
        applied = "".join([' applyNumberFormat="1"' if fmt else "",
                           ' applyFont="1"' if font else "", ' applyFill="1"' if fill else "",
                           ' applyBorder="1"' if border else "",
                           ' applyAlignment="1"' if align else ""])
        body = f"<alignment{align}/>" if align else ""
        xf = (f'<xf numFmtId="{fmt}" fontId="{font}" fillId="{fill}" borderId="{border}" '
              f'xfId="0"{applied}' + (f">{body}</xf>" if body else "/>")).encode()
        self._xfs[s] = self._find_or_add("cellXfs", xf)
        return self._xfs[s]

    def state(self) -> tuple[int, ...]:
        """How many of each kind of format the part holds (a format added changes it)."""
        return tuple(len(items) for items in self.items.values())

    def style_of(self, index: int) -> Style | None:
        """The :class:`Style` this edit gave the cell format ``index``, if it did."""
        return next((s for s, i in self._xfs.items() if i == index), None)

    def dxf(self, s: Style) -> int:
        """The index of the differential format ``s`` (conditional formatting)."""
        if s in self._dxfs:
            return self._dxfs[s]
        font = (f'<font>{"<b/>" if s.bold else ""}<color rgb="{s.color}"/></font>'
                if s.color else "")
        fill = (f'<fill><patternFill patternType="solid"><fgColor rgb="{s.fill}"/>'
                f'<bgColor rgb="{s.fill}"/></patternFill></fill>' if s.fill else "")
        self._dxfs[s] = self._find_or_add("dxfs", f"<dxf>{font}{fill}</dxf>".encode())
        return self._dxfs[s]

    def import_from(self, other: StylesEdit) -> tuple[list[int], list[int]]:
        """Bring ``other``'s cell formats and CF formats into this part (fonts, fills,
        borders and number formats with them, found or appended); returns the new index
        of each of ``other``'s cell formats and of each of its CF formats."""
        codes = {}
        for item in other.items["numFmts"]:
            fid = re.search(rb'numFmtId="(\d+)"', item)
            code = re.search(rb'formatCode="([^"]*)"', item)
            if fid and code:
                codes[int(fid.group(1))] = html.unescape(code.group(1).decode())

        def index(attr: bytes, xf: bytes) -> int:
            m = re.search(attr + rb'="(\d+)"', xf)
            return int(m.group(1)) if m else 0

        xfs = []
        for xf in other.items["cellXfs"]:
            fmt = index(rb"numFmtId", xf)
            new = {b"numFmtId": self.num_fmt(codes[fmt]) if fmt in codes else fmt,
                   b"xfId": 0}
            for attr, collection in ((b"fontId", "fonts"), (b"fillId", "fills"),
                                     (b"borderId", "borders")):
                i = index(attr, xf)
                items = other.items[collection]
                new[attr] = self._find_or_add(collection, items[i]) if i < len(items) else 0
            for attr, value in new.items():
                xf = re.sub(rb"\b" + attr + rb'="\d+"', attr + b'="%d"' % value, xf, count=1)
            xfs.append(self._find_or_add("cellXfs", xf))
        dxfs = [self._find_or_add("dxfs", dxf) for dxf in other.items["dxfs"]]
        return xfs, dxfs

    def to_bytes(self) -> bytes:
        """The part with the collections that grew written back (the rest untouched)."""
        if not self.changed:
            return self.data
        data = self.data
        # Replace from the end so earlier spans stay valid; insert missing collections
        # before the first later collection that exists. At one offset the later
        # collection goes first, so what is inserted there lands in front of it.
        edits: list[tuple[int, int, int, bytes]] = []
        for i, (name, item) in enumerate(COLLECTIONS):
            if item is None:
                continue
            items = self.items[name]
            block = (f'<{name} count="{len(items)}">'.encode() + b"".join(items)
                     + f"</{name}>".encode()) if items else None
            span = self.spans[name]
            if span is not None:
                if block is not None:
                    edits.append((span[0], span[1], i, block))
            elif block is not None:
                at = self._insert_at(i)
                edits.append((at, at, i, block))
        for start, end, _, block in sorted(edits, key=lambda e: e[:3], reverse=True):
            data = data[:start] + block + data[end:]
        return data

    def _insert_at(self, index: int) -> int:
        """Where a missing collection goes: before the next collection present, else
        before the end of the style sheet."""
        for name, _ in COLLECTIONS[index + 1:]:
            m = re.search(rb"<" + name.encode() + rb"\b", self.data)
            if m:
                return m.start()
        end = self.data.rfind(b"</styleSheet>")
        if end < 0:
            raise WorkbookError(Label("样式部件没有结尾", "the styles part has no end"))
        return end


def _split(body: bytes, tag: bytes) -> list[bytes]:
    """The items ``<tag …/>`` or ``<tag …>…</tag>`` of a collection's content."""
    out = []
    pos = 0
    opener = b"<" + tag
    closer = b"</" + tag + b">"
    while True:
        start = body.find(opener, pos)
        if start < 0:
            return out
        nxt = body[start + len(opener):start + len(opener) + 1]
        if nxt not in (b" ", b">", b"/", b"\t", b"\n", b"\r"):
            pos = start + 1
            continue
        tag_end = body.find(b">", start)
        if body[tag_end - 1:tag_end] == b"/":
            end = tag_end + 1
        else:  # items of a collection never nest an element of their own name
            close = body.find(closer, tag_end)
            if close < 0:
                raise WorkbookError(Label("样式元素没有结尾", "a style element has no end"))
            end = close + len(closer)
        out.append(body[start:end])
        pos = end
