"""Flavoured copies of xlsales workbooks, as real users have them, for edit tests.

Writing commands edit users' workbooks in place; a test builds a flavoured copy of a
workbook, runs the command on it and checks with :func:`changed_parts` that every part
the command did not need to touch is still byte-identical. The flavours:

``plain``
    The file as xlsales wrote it (a copy).
``xlsm``
    The macro-enabled flavour: the ``.xlsx`` grafted at the zip level with what
    ``xlsales init --macros`` puts into a workbook: ``xl/vbaProject.bin`` (built from
    ``macros/`` and the xlwings module with :mod:`xlsales.vba`), a code name
    on the workbook and on every sheet, the form buttons of the book (VML shapes taken
    from an ``.xlsm`` xlsales builds; merged into the data sheet's legacy drawing when
    it already holds comments, else a new ``vmlDrawing`` part) and the hidden
    ``xlwings.conf`` sheet. Every other part keeps its bytes.
``rich``
    The ``.xlsx`` after a manager worked on it: a new sheet (the dashboard) with a second
    Excel table, a native chart over it, a PNG image, an internal and an external
    hyperlink, a pivot table and sheet protection; on the data sheet a chart, another
    image, a pivot table, an external hyperlink and a comment by "Manager" (its frozen
    header pane stays); document properties (title, creator, a custom property).
    LibreOffice (headless, the Basic macro of ``tests/lo_macros/`` run from a private
    profile) makes the two pivot tables on a scratch copy; openpyxl then loads the source,
    adds everything else, takes the pivot tables (and the cells they fill) over from
    LibreOffice's copy and saves. So the file is openpyxl-written like the workbooks
    xlsales edits, and keeps what a LibreOffice re-save loses (see :data:`LO_LOSSES`).
``rich_xlsm``
    ``rich`` grafted with the macros like ``xlsm``.

:class:`FlavourCache` builds each flavour of a source once (one LibreOffice run for all
the sources it is asked to :meth:`~FlavourCache.prepare`) and hands out copies.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

FLAVOURS = ("plain", "xlsm", "rich")
ALL_FLAVOURS = (*FLAVOURS, "rich_xlsm")
MACRO_FLAVOURS = frozenset({"xlsm", "rich_xlsm"})
LIBREOFFICE_FLAVOURS = frozenset({"rich", "rich_xlsm"})

LO_MACROS = Path(__file__).resolve().parent / "lo_macros"
# What LibreOffice 7.4 loses when it re-saves an xlsales workbook (headless), hence the
# rich flavour is not LibreOffice-written.
LO_LOSSES = (
    "frozen panes (sheetView/pane)",
    "comment authors (every <author> becomes ' ')",
    "internal hyperlinks (become external links to the source file's relative path)",
)
LO_LIBRARY, LO_MODULE, LO_MACRO = "XlsalesFlavours", "Flavours", "Run"
LO_TIMEOUT = 180.0

# What the rich flavour adds (tests check for these).
MANAGER = "Manager"
MANAGER_COMMENT = "请核对本行 / please double-check this row"
EXTERNAL_URL = "https://example.com"
DASHBOARD_SHEET = {"zh": "经理看板", "en": "Manager dashboard"}
SUMMARY_TABLE = "ManagerSummary"
PIVOT_DASHBOARD, PIVOT_DATA = "ManagerPivot", "DataSheetPivot"
PROTECT_PASSWORD = "manager"
DOC_TITLE_SUFFIX = " (manager copy)"
CUSTOM_PROPERTY = ("Department", "East region sales")

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_REL_TYPE = _REL_NS + "/"
_VBA_REL = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
_VBA_TYPE = "application/vnd.ms-office.vbaProject"
_XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
_XLSM_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
_WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_VML_TYPE = "application/vnd.openxmlformats-officedocument.vmlDrawing"
_VML_NS = {"v": "urn:schemas-microsoft-com:vml", "o": "urn:schemas-microsoft-com:office:office",
           "x": "urn:schemas-microsoft-com:office:excel"}
# Children of <worksheet> that come after <legacyDrawing> (ECMA-376 CT_Worksheet).
_AFTER_LEGACY = ("<legacyDrawingHF", "<drawingHF", "<picture", "<oleObjects", "<controls",
                 "<webPublishItems", "<tableParts", "<extLst")


# -- parts ---------------------------------------------------------------------------------

def parts(path: str | os.PathLike[str]) -> dict[str, bytes]:
    """Every part (zip member) of a workbook: name → uncompressed bytes."""
    with zipfile.ZipFile(path) as z:
        return {info.filename: z.read(info) for info in z.infolist() if not info.is_dir()}


def changed_parts(before: str | os.PathLike[str], after: str | os.PathLike[str]) -> set[str]:
    """The parts added, removed or changed (by bytes) from ``before`` to ``after``."""
    a, b = parts(before), parts(after)
    return {name for name in a.keys() | b.keys() if a.get(name) != b.get(name)}


def suffix(flavour: str) -> str:
    """The file suffix of a flavour: ``.xlsm`` for the macro flavours, else ``.xlsx``."""
    _check_flavour(flavour)
    return ".xlsm" if flavour in MACRO_FLAVOURS else ".xlsx"


def _check_flavour(flavour: str) -> None:
    if flavour not in ALL_FLAVOURS:
        raise ValueError(f"unknown flavour {flavour!r}; one of {', '.join(ALL_FLAVOURS)}")


class _Package:
    """The parts of a zip package, edited in memory and written in their original order."""

    def __init__(self, path: Path) -> None:
        with zipfile.ZipFile(path) as z:
            self.order = [i.filename for i in z.infolist() if not i.is_dir()]
            self.data = {name: z.read(name) for name in self.order}

    def text(self, name: str) -> str:
        return self.data[name].decode("utf-8")

    def put(self, name: str, value: str | bytes) -> None:
        if name not in self.data:
            self.order.append(name)
        self.data[name] = value.encode("utf-8") if isinstance(value, str) else value

    def fresh(self, pattern: str) -> str:
        """The first unused name ``pattern.format(n)``, n = 1, 2 …"""
        n = 1
        while pattern.format(n) in self.data:
            n += 1
        return pattern.format(n)

    def write(self, path: Path) -> None:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for name in self.order:
                z.writestr(name, self.data[name])

    # relationships ---------------------------------------------------------------------

    @staticmethod
    def rels_name(part: str) -> str:
        folder, name = posixpath.split(part)
        return posixpath.join(folder, "_rels", name + ".rels")

    def rels(self, part: str) -> list[tuple[str, str, str]]:
        """(Id, Type, target part or external URL) of ``part``'s relationships."""
        return [(r.id, r.type, r.target) for r in relationships(self.data, part)]

    def add_rel(self, part: str, rel_type: str, target_part: str) -> str:
        """Add a relationship from ``part`` to ``target_part``; returns its new Id."""
        name = self.rels_name(part)
        if name in self.data:
            xml = self.text(name)
        else:
            xml = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                   f'<Relationships xmlns="{_PKG_REL_NS}"></Relationships>')
        ids = set(re.findall(r'\bId="([^"]*)"', xml))
        n = 1 + max((int(m) for i in ids if (m := i[3:]).isdigit() and i.startswith("rId")),
                    default=0)
        rid = f"rId{n}"
        target = posixpath.relpath(target_part, posixpath.dirname(part))
        rel = f'<Relationship Id="{rid}" Type="{rel_type}" Target="{target}"/>'
        self.put(name, _insert_before_last(xml, "</Relationships>", rel))
        return rid

    # content types ---------------------------------------------------------------------

    def content_types(self, *, override: dict[str, str] | None = None,
                      default: dict[str, str] | None = None,
                      replace: dict[str, str] | None = None) -> None:
        name = "[Content_Types].xml"
        xml = self.text(name)
        for old, new in (replace or {}).items():
            xml = xml.replace(f'"{old}"', f'"{new}"')
        for ext, ctype in (default or {}).items():
            if not re.search(rf'Extension="{re.escape(ext)}"', xml, re.I):
                xml = _insert_before_last(
                    xml, "</Types>", f'<Default Extension="{ext}" ContentType="{ctype}"/>')
        for part, ctype in (override or {}).items():
            if f'PartName="/{part}"' not in xml:
                xml = _insert_before_last(
                    xml, "</Types>", f'<Override PartName="/{part}" ContentType="{ctype}"/>')
        self.put(name, xml)


@dataclass(frozen=True)
class Rel:
    """A relationship: ``target`` is a part name, or the URL when ``external``."""

    id: str
    type: str  # the last segment of the relationship type: "table", "vmlDrawing" …
    target: str
    external: bool


def relationships(package: dict[str, bytes], part: str) -> list[Rel]:
    """The relationships of ``part`` in ``package`` (:func:`parts`)."""
    name = _Package.rels_name(part)
    if name not in package:
        return []
    out = []
    for rel in ET.fromstring(package[name]):
        target, external = rel.get("Target", ""), rel.get("TargetMode") == "External"
        out.append(Rel(rel.get("Id", ""), rel.get("Type", "").rsplit("/", 1)[-1],
                       target if external else _resolve(part, target), external))
    return out


def sheet_parts(package: dict[str, bytes]) -> dict[str, str]:
    """Sheet name → worksheet part, in workbook order."""
    targets = {r.id: r.target for r in relationships(package, "xl/workbook.xml")}
    sheets = ET.fromstring(package["xl/workbook.xml"]).find(f"{{{_MAIN_NS}}}sheets")
    assert sheets is not None, "workbook without sheets"
    return {s.get("name", ""): targets[s.get(f"{{{_REL_NS}}}id", "")] for s in sheets}


def _resolve(source_part: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source_part), target))


def _insert_before_last(xml: str, end_tag: str, text: str) -> str:
    i = xml.rindex(end_tag)
    return xml[:i] + text + xml[i:]


# -- which book, which data sheet --------------------------------------------------------

@dataclass(frozen=True)
class BookInfo:
    """An xlsales workbook's book, language and data sheet (the first table of its book)."""

    key: str
    lang: str
    sheets: tuple[str, ...]  # every sheet, in workbook order
    sheet_parts: tuple[str, ...]  # their parts
    data_sheet: str
    table_ref: str  # the data table's ref (header and totals rows included)
    totals_rows: int

    @property
    def data_index(self) -> int:
        return self.sheets.index(self.data_sheet)

    @property
    def data_part(self) -> str:
        return self.sheet_parts[self.data_index]


def book_info(path: str | os.PathLike[str]) -> BookInfo:
    """Find the xlsales book of the workbook at ``path`` by its tables."""
    return _book_info(_Package(Path(path)))


def _book_info(pkg: _Package) -> BookInfo:
    from xlsales.workspace import BOOKS

    by_name = sheet_parts(pkg.data)
    names, part_names = list(by_name), list(by_name.values())
    tables: dict[str, tuple[str, str, int]] = {}  # table name → (sheet, ref, totals rows)
    for name, part in zip(names, part_names, strict=True):
        for _, rel_type, target in pkg.rels(part):
            if rel_type == "table":
                t = ET.fromstring(pkg.data[target])
                tables[t.get("name", "")] = (name, t.get("ref", ""),
                                             int(t.get("totalsRowCount", "0")))
    for book in BOOKS:
        spec = book.specs[0]
        if spec.name in tables:
            sheet, ref, totals = tables[spec.name]
            lang = "en" if sheet == spec.sheet("en") and sheet != spec.sheet("zh") else "zh"
            return BookInfo(book.key, lang, tuple(names), tuple(part_names), sheet, ref,
                            totals)
    raise ValueError(f"no xlsales book table among {sorted(tables)}")


# -- the xlsm flavour: graft the macro parts onto the package ---------------------------------

def add_macros(src: str | os.PathLike[str], out: str | os.PathLike[str]) -> Path:
    """Write ``out`` (.xlsm): ``src`` (.xlsx) with the VBA project, code names, buttons
    and ``xlwings.conf`` sheet xlsales gives its macro-enabled workbooks."""
    from xlsales.vba import vba_project, workbook_modules
    from xlsales.vba.macros import BOOK_BUTTONS, XLWINGS_CONF, vba_sources

    pkg = _Package(Path(src))
    if "xl/vbaProject.bin" in pkg.data:
        raise ValueError(f"{src} already has a VBA project")
    info = _book_info(pkg)
    if info.key not in BOOK_BUTTONS:
        raise ValueError(f"xlsales gives the {info.key} book no buttons, so no .xlsm")
    workbook = "xl/workbook.xml"

    # The hidden xlwings.conf sheet, last (sheet-local defined names keep their indexes).
    conf_part = pkg.fresh("xl/worksheets/sheet{}.xml")
    conf_rid = pkg.add_rel(workbook, _REL_TYPE + "worksheet", conf_part)
    pkg.put(conf_part, _conf_sheet(XLWINGS_CONF))
    xml = pkg.text(workbook)
    sheet_id = 1 + max(int(i) for i in re.findall(r'<sheet\b[^>]*\bsheetId="(\d+)"', xml))
    r = "r:" if f'xmlns:r="{_REL_NS}"' in xml else f'xmlns:r="{_REL_NS}" r:'
    xml = _insert_before_last(xml, "</sheets>", f'<sheet name="xlwings.conf" '
                              f'sheetId="{sheet_id}" state="hidden" {r}id="{conf_rid}"/>')
    pkg.put(workbook, _with_code_name(xml, "workbookPr", "ThisWorkbook", _add_workbook_pr))
    sheet_parts = [*info.sheet_parts, conf_part]
    for n, part in enumerate(sheet_parts, start=1):
        pkg.put(part, _with_code_name(pkg.text(part), "sheetPr", f"Sheet{n}", _add_sheet_pr))

    # The VBA project, as xlsales builds it (document modules match the code names).
    pkg.put("xl/vbaProject.bin", vba_project(workbook_modules(len(sheet_parts), vba_sources())))
    pkg.add_rel(workbook, _VBA_REL, "xl/vbaProject.bin")

    # The buttons on the data sheet, in its legacy drawing.
    shapetype, buttons = _button_shapes(info.key, info.lang)
    _add_vml_shapes(pkg, info.data_part, shapetype, buttons)

    pkg.content_types(replace={_XLSX_MAIN: _XLSM_MAIN}, default={"vml": _VML_TYPE},
                      override={"xl/vbaProject.bin": _VBA_TYPE, conf_part: _WORKSHEET_TYPE})
    out = Path(out)
    pkg.write(out)
    return out


def _conf_sheet(rows: Sequence[tuple[str, str]]) -> str:
    cells = "".join(
        f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>{escape(k)}</t></is></c>'
        f'<c r="B{r}" t="inlineStr"><is><t>{escape(v)}</t></is></c></row>'
        for r, (k, v) in enumerate(rows, start=1))
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<worksheet xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}"><sheetPr/>'
            f'<dimension ref="A1:B{len(rows)}"/><sheetViews><sheetView workbookViewId="0"/>'
            f'</sheetViews><sheetFormatPr defaultRowHeight="15"/><sheetData>{cells}'
            '</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" '
            'header="0.3" footer="0.3"/></worksheet>')


def _with_code_name(xml: str, tag: str, code_name: str, add: Any) -> str:
    """``xml`` with ``codeName`` on its first ``<tag>`` (added by ``add`` when missing)."""
    m = re.search(rf"<{tag}(?=[\s/>])([^>]*?)(/?)>", xml)
    if m is None:
        return str(add(xml, f'<{tag} codeName="{code_name}"/>'))
    if "codeName=" in m.group(1):
        return xml
    return (xml[:m.start()] + f'<{tag} codeName="{code_name}"{m.group(1)}{m.group(2)}>'
            + xml[m.end():])


def _add_sheet_pr(xml: str, element: str) -> str:
    start = re.search(r"<worksheet\b[^>]*>", xml)
    assert start is not None, "no <worksheet> element"
    return xml[:start.end()] + element + xml[start.end():]


def _add_workbook_pr(xml: str, element: str) -> str:
    for prev in (r"<fileSharing\b[^>]*/>", r"<fileVersion\b[^>]*/>", r"<workbook\b[^>]*>"):
        m = re.search(prev, xml)
        if m:
            return xml[:m.end()] + element + xml[m.end():]
    raise AssertionError("no <workbook> element")


@cache
def _donor_vml(key: str, lang: str) -> str:
    """The buttons' VML drawing of the ``.xlsm`` xlsales writes for book ``key``."""
    from xlsales.settings import Settings
    from xlsales.workspace import write_workspace

    with tempfile.TemporaryDirectory(prefix="xlsales-donor-") as tmp:
        (path,) = write_workspace(tmp, Settings.default(), lang=lang,  # type: ignore[arg-type]
                                  books=[key], macros=True)
        pkg = _Package(path)
        sheet = _book_info(pkg).data_part
        (vml,) = [t for _, rel_type, t in pkg.rels(sheet) if rel_type == "vmlDrawing"]
        return pkg.text(vml)


def _button_shapes(key: str, lang: str) -> tuple[str, list[str]]:
    """The button shapetype and shapes (``v:``/``o:``/``x:`` prefixes) of book ``key``."""
    vml = _donor_vml(key, lang)
    shapetype = re.search(r'<v:shapetype id="_x0000_t201".*?</v:shapetype>', vml, re.S)
    shapes = re.findall(r'<v:shape id="[^"]*" type="#_x0000_t201".*?</v:shape>', vml, re.S)
    assert shapetype is not None and shapes, "xlsales wrote no button shapes"
    return shapetype.group(0), shapes


def _add_vml_shapes(pkg: _Package, sheet: str, shapetype: str, shapes: list[str]) -> None:
    """Add the shapes to ``sheet``'s legacy drawing (a new one when it has none)."""
    xml = pkg.text(sheet)
    m = re.search(r'<legacyDrawing\b[^>]*\br:id="([^"]*)"', xml)
    if m is None:
        vml_part = pkg.fresh("xl/drawings/vmlDrawing{}.vml")
        rid = pkg.add_rel(sheet, _REL_TYPE + "vmlDrawing", vml_part)
        r = "r:" if f'xmlns:r="{_REL_NS}"' in xml[:xml.index(">", xml.index("<worksheet"))] \
            else f'xmlns:r="{_REL_NS}" r:'
        pkg.put(sheet, _insert_child(xml, f"<legacyDrawing {r}id=\"{rid}\"/>"))
        ns = " ".join(f'xmlns:{p}="{uri}"' for p, uri in _VML_NS.items())
        taken = [int(b) for name in pkg.data if name.endswith(".vml")
                 for m in re.finditer(r'idmap\b[^>]*\bdata="([^"]*)"', pkg.text(name))
                 for b in re.findall(r"\d+", m.group(1))]
        block = max(taken, default=0) + 1  # a shape-id block no other drawing uses
        vml = (f'<xml {ns}><o:shapelayout v:ext="edit"><o:idmap v:ext="edit" '
               f'data="{block}"/></o:shapelayout></xml>')
    else:
        (vml_part,) = [t for i, _, t in pkg.rels(sheet) if i == m.group(1)]
        vml = pkg.text(vml_part)
    # Declare the v/o/x prefixes on the root (an existing drawing may use others).
    root = re.search(r"<xml\b[^>]*>", vml)
    assert root is not None, f"{vml_part} is no VML drawing"
    missing = "".join(f' xmlns:{p}="{uri}"' for p, uri in _VML_NS.items()
                      if f"xmlns:{p}=" not in root.group(0))
    vml = vml[:root.end() - 1].rstrip("/") + missing + vml[root.end() - 1:]
    used = [int(n) for n in re.findall(r'"_x0000_s(\d+)"', vml)]
    first = re.search(r'idmap\b[^>]*\bdata="(\d+)', vml)
    next_id = max([1024 * int(first.group(1)) if first else 1024, *used]) + 1
    new = [] if "_x0000_t201" in vml else [shapetype]
    for shape in shapes:
        new.append(re.sub(r'id="_x0000_s\d+"', f'id="_x0000_s{next_id}"', shape, count=1))
        next_id += 1
    pkg.put(vml_part, _insert_before_last(vml, "</xml>", "".join(new)))


def _insert_child(sheet_xml: str, element: str) -> str:
    """Insert ``element`` (a ``<legacyDrawing>``) at its place among <worksheet>'s children."""
    floor = max(0, *(sheet_xml.rfind(t) for t in ("</sheetData>", "</conditionalFormatting>",
                                                  "</dataValidations>", "</hyperlinks>")))
    places = [i for t in _AFTER_LEGACY if (i := sheet_xml.find(t, floor)) > floor]
    at = min(places) if places else sheet_xml.rindex("</worksheet>")
    return sheet_xml[:at] + element + sheet_xml[at:]


# -- the rich flavour -------------------------------------------------------------------------

def png(width: int = 96, height: int = 48) -> bytes:
    """A small RGB gradient as PNG bytes (no Pillow needed)."""
    raw = b"".join(b"\x00" + bytes(c for x in range(width)
                                   for c in (255 * x // width, 255 * y // height, 160))
                   for y in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(
            ">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def _png_image(width: int = 96, height: int = 48) -> Any:
    """An openpyxl image of :func:`png` (openpyxl's own Image class needs Pillow)."""
    from openpyxl.drawing.image import Image

    class PngImage(Image):
        def __init__(self) -> None:  # no super().__init__(): it opens the image with Pillow
            self._png = png(width, height)
            self.ref = self._png
            self.width, self.height, self.format = width, height, "png"

        def _data(self) -> bytes:
            return self._png

    return PngImage()


def _pivot_fields(key: str) -> tuple[int, int]:
    """0-based columns of the data table: a pivot's row field and its (summed) data field."""
    from xlsales.tables.base import Kind
    from xlsales.workspace import BOOK_BY_KEY

    cols = BOOK_BY_KEY[key].specs[0].columns
    kinds = [c.kind for c in cols]
    row = next((i for i, k in enumerate(kinds) if k is Kind.CHOICE),
               next((i for i, c in enumerate(cols) if c.key in ("owner", "rep")), 0))
    amounts = [i for i, k in enumerate(kinds) if k is Kind.AMOUNT]
    ints = [i for i, k in enumerate(kinds) if k is Kind.INT]
    data = amounts[0] if amounts else ints[-1] if ints else row
    return row, data


@dataclass(frozen=True)
class _RichLayout:
    """Where the rich flavour puts things (1-based rows and columns)."""

    info: BookInfo
    first_col: int
    header_row: int
    last_col: int
    last_row: int  # the last data row (a totals row excluded)
    row_field: int  # 0-based within the table
    data_field: int

    @classmethod
    def of(cls, info: BookInfo) -> _RichLayout:
        from openpyxl.utils.cell import range_boundaries

        c0, r0, c1, r1 = range_boundaries(info.table_ref)
        assert c0 is not None and r0 is not None and c1 is not None and r1 is not None
        return cls(info, c0, r0, c1, r1 - info.totals_rows, *_pivot_fields(info.key))

    @property
    def side(self) -> int:
        """The data sheet's first column right of the table (two columns apart)."""
        return self.last_col + 3

    @property
    def dashboard(self) -> str:
        return DASHBOARD_SHEET[self.info.lang]

    def check_data(self, src: Path) -> None:
        """Pivot tables need data: fail clearly when the data table has no data row."""
        import openpyxl

        wb = openpyxl.load_workbook(src, read_only=True)
        try:
            column = self.first_col + self.row_field
            cells = wb[self.info.data_sheet].iter_rows(
                min_row=self.header_row + 1, max_row=self.last_row, min_col=column,
                max_col=column, values_only=True)
            if all(value in (None, "") for (value,) in cells):
                raise ValueError(f"{src.name}: the rich flavour needs data rows, and the "
                                 f"{self.info.data_sheet} table has none")
        finally:
            wb.close()

    # The data sheet: link in row 1, pivot from two rows below the header row (LibreOffice
    # starts the table itself two rows lower), chart and image right of the pivot. The
    # dashboard: links in row 2, the summary table A4:B10 (6 rows at most), its chart at
    # E4, an image at E20, the pivot from A14.
    def data_pivot_cell(self) -> tuple[int, int]:
        return self.header_row + 2, self.side

    DASHBOARD_PIVOT_CELL = (14, 1)
    DASHBOARD_ROWS = 6

    def libreoffice_job(self, src: Path, out: Path) -> list[str]:
        """Open ``src``, add the dashboard sheet and both pivot tables, save ``out``."""
        self.check_data(src)
        source = [self.info.data_index, self.first_col - 1, self.header_row - 1,
                  self.last_col - 1, self.last_row - 1, self.row_field, self.data_field]
        dash_index = len(self.info.sheets)
        (dr, dc), (pr, pc) = self.DASHBOARD_PIVOT_CELL, self.data_pivot_cell()
        return [_job("open", src), _job("sheet", self.dashboard),
                _job("pivot", PIVOT_DASHBOARD, *source, dash_index, dc - 1, dr - 1),
                _job("pivot", PIVOT_DATA, *source, self.info.data_index, pc - 1, pr - 1),
                _job("save", out)]


def _enrich(src: Path, pivots: Path, out: Path) -> None:
    """Write ``out``: ``src`` with everything the rich flavour adds, the pivot tables (and
    their cells) taken from ``pivots``, which LibreOffice wrote by :meth:`libreoffice_job`."""
    import openpyxl
    from openpyxl.chart import BarChart, LineChart, Reference
    from openpyxl.comments import Comment
    from openpyxl.packaging.custom import StringProperty
    from openpyxl.utils.cell import get_column_letter
    from openpyxl.worksheet.hyperlink import Hyperlink
    from openpyxl.worksheet.table import Table, TableStyleInfo

    lay = _RichLayout.of(book_info(src))
    info, zh = lay.info, lay.info.lang == "zh"
    c0, r0 = lay.first_col, lay.header_row
    wb = openpyxl.load_workbook(src)
    ws = wb[info.data_sheet]

    # The manager's summary: the data field summed per row-field value, the top rows.
    sums: Counter[str] = Counter()
    for values in ws.iter_rows(min_row=r0 + 1, max_row=lay.last_row, min_col=c0,
                               max_col=lay.last_col, values_only=True):
        label, value = values[lay.row_field], values[lay.data_field]
        if label not in (None, ""):
            sums[str(label)] += value if isinstance(value, int | float) else 0
    top = [(label, round(total, 2)) for label, total in sums.most_common(lay.DASHBOARD_ROWS)]
    top = top or [("-", 0)]
    row_header = str(ws.cell(r0, c0 + lay.row_field).value)
    data_header = str(ws.cell(r0, c0 + lay.data_field).value)

    # The data sheet, right of its table: a link, a chart, an image (and the pivot).
    link = ws.cell(1, lay.side, "客户门户" if zh else "Customer portal")
    link.hyperlink = EXTERNAL_URL
    chart = LineChart()
    chart.title = data_header
    rows = min(lay.last_row, r0 + 20)
    chart.add_data(Reference(ws, min_col=c0 + lay.data_field, min_row=r0, max_row=rows),
                   titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=c0, min_row=r0 + 1, max_row=rows))
    ws.add_chart(chart, f"{get_column_letter(lay.side + 4)}{r0}")
    ws.add_image(_png_image(120, 40), f"{get_column_letter(lay.side + 4)}{r0 + 17}")
    for row in range(r0 + 1, lay.last_row + 1):  # the manager's note, on a cell without one
        cell = ws.cell(row, c0 + lay.row_field)
        if cell.comment is None:
            cell.comment = Comment(MANAGER_COMMENT, MANAGER)
            break

    # The dashboard: a second table, its chart, an image, links, protection (the pivot).
    dash = wb.create_sheet(lay.dashboard)
    dash["A1"] = "经理看板" if zh else "Manager dashboard"
    dash["A2"] = "→ " + info.data_sheet
    dash["A2"].hyperlink = Hyperlink(ref="A2", location=f"'{info.data_sheet}'!A1")
    dash["B2"] = EXTERNAL_URL
    dash["B2"].hyperlink = EXTERNAL_URL
    dash["A4"], dash["B4"] = row_header, data_header
    for i, (label, value) in enumerate(top, start=5):
        dash.cell(i, 1, label)
        dash.cell(i, 2, value)
    end = 4 + len(top)
    table = Table(displayName=SUMMARY_TABLE, ref=f"A4:B{end}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium9", showRowStripes=True)
    dash.add_table(table)
    dash.column_dimensions["A"].width = 18
    dash.column_dimensions["B"].width = 16
    bars = BarChart()
    bars.title = data_header
    bars.add_data(Reference(dash, min_col=2, min_row=4, max_row=end), titles_from_data=True)
    bars.set_categories(Reference(dash, min_col=1, min_row=5, max_row=end))
    dash.add_chart(bars, "E4")
    dash.add_image(_png_image(96, 48), "E20")
    dash.protection.sheet = True
    dash.protection.password = PROTECT_PASSWORD

    # The pivot tables LibreOffice made, with the cells they fill.
    lo = openpyxl.load_workbook(pivots)
    for name in (info.data_sheet, lay.dashboard):
        _take_pivots(lo[name], wb[name])
    lo.close()

    wb.properties.title = (wb.properties.title or info.data_sheet) + DOC_TITLE_SUFFIX
    wb.properties.creator = MANAGER
    wb.custom_doc_props.append(StringProperty(name=CUSTOM_PROPERTY[0], value=CUSTOM_PROPERTY[1]))
    wb.save(out)
    wb.close()


def _take_pivots(source: Any, target: Any) -> None:
    """Move ``source``'s pivot tables to ``target``, with the cells of their locations."""
    from openpyxl.utils.cell import range_boundaries

    assert source._pivots, f"LibreOffice made no pivot table on {source.title}"
    for pivot in source._pivots:
        c0, r0, c1, r1 = range_boundaries(pivot.location.ref)
        for row in source.iter_rows(min_row=r0, max_row=r1, min_col=c0, max_col=c1):
            for cell in row:
                if cell.value is not None:
                    copy = target.cell(cell.row, cell.column, cell.value)
                    copy.number_format = cell.number_format
        target.add_pivot(pivot)


def _job(*fields: object) -> str:
    text = "\t".join(str(f) for f in fields)
    assert "\n" not in text and "\r" not in text
    return text


def _libreoffice_profile(root: Path, soffice: str, timeout: float) -> Path:
    """A private user profile with the Basic library of ``tests/lo_macros`` installed.

    LibreOffice replaces the Basic library lists of a profile it has never started, so
    the profile is initialised by a first start before the library is added."""
    profile = root / "profile"
    _execute([soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless",
              "--norestore", "--nolockcheck", "--terminate_after_init"], timeout, {})
    basic = profile / "user" / "basic"
    if not (basic / "script.xlc").is_file():
        raise RuntimeError(f"LibreOffice did not initialise the profile {profile}")
    header = ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE library:{} PUBLIC '
              '"-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "{}.dtd">\n')
    lib_ns = 'xmlns:library="http://openoffice.org/2000/library"'
    for kind in ("script", "dialog"):
        xlc = basic / f"{kind}.xlc"
        xml = xlc.read_text(encoding="utf-8")
        if f'library:name="{LO_LIBRARY}"' not in xml:
            entry = (f' <library:library library:name="{LO_LIBRARY}" xlink:href="$(USER)/'
                     f'basic/{LO_LIBRARY}/{kind}.xlb/" xlink:type="simple" '
                     'library:link="false"/>\n')
            xlc.write_text(_insert_before_last(xml, "</library:libraries>", entry),
                           encoding="utf-8")
    lib = basic / LO_LIBRARY
    lib.mkdir(exist_ok=True)
    modules = sorted(LO_MACROS.glob("*.bas"))
    elements = "".join(f' <library:element library:name="{m.stem}"/>\n' for m in modules)
    (lib / "script.xlb").write_text(
        header.format("library", "library") + f'<library:library {lib_ns} library:name='
        f'"{LO_LIBRARY}" library:readonly="false" library:passwordprotected="false">\n'
        f"{elements}</library:library>\n", encoding="utf-8")
    (lib / "dialog.xlb").write_text(
        header.format("library", "library") + f'<library:library {lib_ns} library:name='
        f'"{LO_LIBRARY}" library:readonly="false" library:passwordprotected="false"/>\n',
        encoding="utf-8")
    for m in modules:
        code = m.read_text(encoding="utf-8")
        (lib / f"{m.stem}.xba").write_text(
            header.format("module", "module").replace("library:module", "script:module")
            + '<script:module xmlns:script="http://openoffice.org/2000/script" '
            f'script:name={quoteattr(m.stem)} script:language="StarBasic">{escape(code)}'
            "</script:module>\n", encoding="utf-8")
    return profile


def run_libreoffice_job(lines: Sequence[str], *, soffice: str | None = None,
                        timeout: float = LO_TIMEOUT) -> None:
    """Run the job ``lines`` (see ``tests/lo_macros/Flavours.bas``) in one headless
    LibreOffice with a fresh private profile."""
    from xlsales.io.libreoffice import find_soffice

    exe = soffice or find_soffice()
    if exe is None:
        raise RuntimeError("LibreOffice (soffice) was not found")
    with tempfile.TemporaryDirectory(prefix="xlsales-flavours-lo-") as tmp:
        root = Path(tmp)
        profile = _libreoffice_profile(root, exe, timeout)
        job, status = root / "job.txt", root / "status.txt"
        job.write_text("\n".join(lines) + "\n", encoding="utf-8")
        url = (f"vnd.sun.star.script:{LO_LIBRARY}.{LO_MODULE}.{LO_MACRO}"
               "?language=Basic&location=application")
        code, err = _execute([exe, f"-env:UserInstallation={profile.as_uri()}", "--headless",
                              "--norestore", "--nolockcheck", url], timeout,
                             {"XLSALES_FLAVOUR_JOB": str(job),
                              "XLSALES_FLAVOUR_STATUS": str(status)})
        result = status.read_text(encoding="utf-8") if status.is_file() else "no status"
        if result != "ok":
            raise RuntimeError(f"LibreOffice macro failed ({result}, exit code {code}): "
                               f"{err.strip()[:2000]}")


def _execute(cmd: list[str], timeout: float, env: dict[str, str]) -> tuple[int, str]:
    """Run ``cmd`` in its own process group (killed whole on timeout): (exit code, stderr)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, **env})
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise RuntimeError(f"LibreOffice did not finish within {timeout:g} s") from None
    return proc.returncode, err.decode(errors="replace")


# -- building ---------------------------------------------------------------------------------

def build(srcs: Iterable[str | os.PathLike[str]], flavour: str, out_dir: str | os.PathLike[str],
          *, soffice: str | None = None) -> list[Path]:
    """The ``flavour`` of each source, written as ``out_dir/<stem><suffix>`` (the sources
    need distinct stems); the LibreOffice flavours take one LibreOffice run in all."""
    _check_flavour(flavour)
    sources = [Path(s) for s in srcs]
    stems = [s.stem for s in sources]
    if len(set(stems)) != len(stems):
        raise ValueError(f"sources with the same name: {stems}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    targets = [out / (s.stem + suffix(flavour)) for s in sources]
    if flavour == "plain":
        for s, t in zip(sources, targets, strict=True):
            shutil.copyfile(s, t)
    elif flavour == "xlsm":
        for s, t in zip(sources, targets, strict=True):
            add_macros(s, t)
    else:
        with tempfile.TemporaryDirectory(prefix="xlsales-flavours-") as tmp:
            lo_dir = Path(tmp) / "pivots"
            lo_dir.mkdir()
            pivots = [lo_dir / (s.stem + ".xlsx") for s in sources]
            lines = [line for s, p in zip(sources, pivots, strict=True)
                     for line in _RichLayout.of(book_info(s)).libreoffice_job(s, p)]
            run_libreoffice_job(lines, soffice=soffice)
            for s, p, t in zip(sources, pivots, targets, strict=True):
                if flavour == "rich":
                    _enrich(s, p, t)
                else:
                    rich = Path(tmp) / (s.stem + ".xlsx")
                    _enrich(s, p, rich)
                    add_macros(rich, t)
    return targets


def flavoured(src: str | os.PathLike[str], flavour: str, out_dir: str | os.PathLike[str], *,
              cache: FlavourCache | None = None, soffice: str | None = None) -> Path:
    """The ``flavour`` of the workbook ``src``, as ``out_dir/<stem>.xlsx`` (``.xlsm`` for
    the macro flavours): a fresh copy, free to edit. With ``cache`` the flavour is built
    once per source and then copied."""
    if cache is not None:
        return cache.copy(src, flavour, out_dir)
    (path,) = build([src], flavour, out_dir, soffice=soffice)
    return path


class FlavourCache:
    """Flavours built once per source (by content) under ``root``; hand out copies.

    Call :meth:`prepare` with every source a session needs first: it builds each
    LibreOffice flavour of all of them in one LibreOffice run."""

    def __init__(self, root: str | os.PathLike[str], *, soffice: str | None = None) -> None:
        self.root = Path(root)
        self.soffice = soffice

    def _slot(self, src: Path, flavour: str) -> Path:
        digest = hashlib.sha1(src.read_bytes()).hexdigest()[:16]
        return self.root / flavour / digest / (src.stem + suffix(flavour))

    def prepare(self, srcs: Iterable[str | os.PathLike[str]],
                flavours: Iterable[str] = FLAVOURS) -> None:
        """Build the missing flavours of ``srcs`` (rich_xlsm reuses rich)."""
        sources = [Path(s) for s in srcs]
        wanted = list(flavours)
        for f in wanted:
            _check_flavour(f)
        if "rich_xlsm" in wanted and "rich" not in wanted:
            wanted.insert(0, "rich")
        for flavour in ("plain", "xlsm", "rich", "rich_xlsm"):
            if flavour not in wanted:
                continue
            missing = [s for s in sources if not self._slot(s, flavour).is_file()]
            if not missing:
                continue
            if flavour == "rich_xlsm":
                for s in missing:
                    slot = self._slot(s, flavour)
                    slot.parent.mkdir(parents=True, exist_ok=True)
                    add_macros(self.path(s, "rich"), slot)
                continue
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix="build-", dir=self.root) as tmp:
                built = build(missing, flavour, tmp, soffice=self.soffice)
                for s, b in zip(missing, built, strict=True):
                    slot = self._slot(s, flavour)
                    slot.parent.mkdir(parents=True, exist_ok=True)
                    shutil.move(b, slot)

    def path(self, src: str | os.PathLike[str], flavour: str) -> Path:
        """The cached flavour of ``src`` (built when missing). Read it, never edit it."""
        src = Path(src)
        slot = self._slot(src, flavour)
        if not slot.is_file():
            self.prepare([src], [flavour])
        return slot

    def copy(self, src: str | os.PathLike[str], flavour: str,
             out_dir: str | os.PathLike[str]) -> Path:
        """A fresh copy of the cached flavour: ``out_dir/<stem><suffix>``."""
        cached = self.path(src, flavour)
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copyfile(cached, out / cached.name))


def flavoured_workspace(root: str | os.PathLike[str], flavour: str,
                        out_dir: str | os.PathLike[str], books: Iterable[str], *,
                        cache: FlavourCache | None = None) -> Path:
    """A copy of the workspace ``root`` in ``out_dir`` whose workbooks ``books`` (file
    names such as ``daily_report.xlsx``) are replaced by their ``flavour`` (the ``.xlsx``
    removed for the macro flavours, so xlsales finds the ``.xlsm``)."""
    out = Path(out_dir)
    shutil.copytree(root, out, dirs_exist_ok=True)
    for name in books:
        src = Path(root) / name
        tmp = Path(tempfile.mkdtemp(prefix="xlsales-flavour-", dir=out.parent))
        try:
            made = flavoured(src, flavour, tmp, cache=cache)
            (out / name).unlink()
            shutil.move(made, out / made.name)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return out
