"""A workbook edited part by part: the one API every in-place write of xlsales uses.

Open a workbook, set cells, add or drop conditional formats and notes on its sheets, add,
replace or remove whole sheets xlsales writes (each with its tables), replace a binary part
(the VBA project, :meth:`WorkbookEdit.replace_part`), then save: only the
parts that changed are written — the edited sheets (streamed), ``workbook.xml``, the
relationships, content types, styles, notes and tables involved — and every other part
(drawings, charts, images, pivot tables, slicers, the VBA project, custom XML, printer
settings …) is copied as stored. The active sheet stays the user's: sheets xlsales adds
are not selected and go after the sheets they describe.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from xlsales.cells import col_letters, parse_ref
from xlsales.errors import WorkbookError
from xlsales.i18n import Label
from xlsales.io.edit import package as P
from xlsales.io.edit.cells import Cell
from xlsales.io.edit.comments import Notes, block_ids, other_shapes, shape_ids
from xlsales.io.edit.newsheet import NewSheet
from xlsales.io.edit.sheet import SheetEdit
from xlsales.io.edit.styles import Style, StylesEdit
from xlsales.io.xmltext import escape, quoteattr

WORKBOOK = "xl/workbook.xml"
CT_STYLES = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
_SHEET = re.compile(rb"<sheet\b[^>]*/>")
_DEFINED = re.compile(rb"<definedName\b[^>]*>.*?</definedName>|<definedName\b[^>]*/>",
                      re.DOTALL)
_ATTR = re.compile(rb'([\w:]+)="([^"]*)"')


def _unescape(value: bytes) -> str:
    from xlsales.io.read.package import unescape

    return unescape(value.decode("utf-8"))


class SheetRef:
    """A sheet of the workbook: its entry in ``workbook.xml`` and its part."""

    def __init__(self, tag: bytes, part: str) -> None:
        self.tag = tag
        a = dict(_ATTR.findall(tag))
        self.name = _unescape(a.get(b"name", b""))
        self.sheet_id = int(a.get(b"sheetId", b"0") or 0)
        self.rid = a.get(b"r:id", b"").decode()
        self.state = a.get(b"state", b"visible").decode()
        self.part = part


class WorkbookEdit:
    """A workbook opened for part-level edits (see the module docstring)."""

    def __init__(self, path: str | Path, *, data: bytes | None = None) -> None:
        self.path = Path(path)
        self.pkg = P.PackageEdit(self.path, data)
        self.xml = self.pkg.read(WORKBOOK)
        self.rels = self.pkg.rels(WORKBOOK)
        self.sheets = [SheetRef(m.group(), self.rels.part(
            dict(_ATTR.findall(m.group())).get(b"r:id", b"").decode()) or "")
            for m in _SHEET.finditer(self.xml)]
        self._old_names = [s.name for s in self.sheets]
        self._active: str | None = None
        self._replaced: set[str] = set()
        self.macro = b"vbaProject" in b"".join(r.type.encode() for r in self.rels.items)
        self._edits: dict[str, SheetEdit] = {}
        self._notes: dict[str, Notes] = {}
        self._styles: StylesEdit | None = None
        self._names_changed = False
        self._order_changed = False
        self._added: set[str] = set()
        self._print_titles: dict[str, str] = {}
        self._names: dict[str, str] = {}  # workbook-level defined names set by this edit
        self._removed = False
        self._vml_blocks: set[int] | None = None  # idmap blocks taken, shared by all notes
        self._parts_replaced = False
        # table part → (what held its content, name, id): see _tables
        self._tables_seen: dict[str, tuple[object, str | None, int | None]] = {}

    @classmethod
    def new(cls, path: str | Path) -> WorkbookEdit:
        """A workbook made from nothing, to be saved to ``path`` once it has sheets."""
        return cls(path, data=blank_package())

    def close(self) -> None:
        self.pkg.close()

    def __enter__(self) -> WorkbookEdit:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sheets ----------------------------------------------------------------------------

    @property
    def sheet_names(self) -> list[str]:
        return [s.name for s in self.sheets]

    def ref(self, name: str) -> SheetRef:
        for s in self.sheets:
            if s.name == name:
                return s
        raise WorkbookError(Label(f"没有工作表 {name!r}", f"no sheet {name!r}"),
                            file=str(self.path))

    def sheet(self, name: str) -> SheetEdit:
        """The edits of an existing sheet (cells, conditional formats)."""
        ref = self.ref(name)
        if ref.part not in self._edits:
            self._edits[ref.part] = SheetEdit(ref.part)
        return self._edits[ref.part]

    @property
    def active(self) -> str | None:
        """The name of the sheet the workbook opens on."""
        view = re.search(rb"<workbookView\b[^>]*>", self.xml)
        m = re.search(rb'activeTab="(\d+)"', view.group()) if view else None
        index = int(m.group(1)) if m else 0
        return self._old_names[index] if index < len(self._old_names) else None

    def set_active(self, name: str) -> None:
        """Open the workbook on sheet ``name``."""
        self.ref(name)
        self._active = name
        self._order_changed = True

    def head(self, name: str) -> bytes:
        """The XML of sheet ``name`` in front of its rows (properties, views, columns)."""
        return self.pkg.head(self.ref(name).part, b"<sheetData")

    def tables(self, name: str) -> dict[str, tuple[int, int]]:
        """The Excel tables on sheet ``name``: display name → (first, last) 1-based rows."""
        ref = self.ref(name)
        out = {}
        for r in self.pkg.rels(ref.part).of_type(P.REL_TABLE):
            part = P.resolve(ref.part, r.target)
            if not self.pkg.exists(part):
                continue
            tag = re.search(rb"<table\b[^>]*>", self.pkg.read(part))
            a = P.attrs(tag.group()) if tag else {}
            rows = re.findall(r"\d+", a.get(b"ref", b"").decode())
            if b"displayName" in a and len(rows) == 2:
                out[_unescape(a[b"displayName"])] = (int(rows[0]), int(rows[1]))
        return out

    def set_cell(self, sheet: str, address: str, cell: Cell) -> None:
        row, col = parse_ref(address)
        self.sheet(sheet).set(row, col, cell)

    # -- styles ----------------------------------------------------------------------------

    @property
    def styles(self) -> StylesEdit:
        if self._styles is None:
            part = next((self.rels.part(r.id) for r in self.rels.items
                         if r.type.endswith("/styles")), None)
            if part is None or not self.pkg.exists(part):  # optional in a package: add one
                for r in [r for r in self.rels.items if r.type.endswith("/styles")]:
                    self.rels.remove(r.id)
                part = "xl/styles.xml" if not self.pkg.exists("xl/styles.xml") \
                    else self.pkg.unused("xl/styles{}.xml")
                self.pkg.put(part, P.XML_DECL + _BLANK["xl/styles.xml"].encode(), CT_STYLES)
                self.rels.add(P.DOC_REL + "/styles", part)
            self._styles_part = part
            self._styles = StylesEdit(self.pkg.read(part))
        return self._styles

    def xf(self, style: Style) -> int:
        return self.styles.xf(style)

    def dxf(self, style: Style) -> int:
        return self.styles.dxf(style)

    # -- notes -----------------------------------------------------------------------------

    def notes(self, name: str) -> Notes:
        """The notes (cell comments) of sheet ``name``, for reading and editing."""
        ref = self.ref(name)
        if ref.part not in self._notes:
            rels = self.pkg.rels(ref.part)
            comments = next((rels.part(r.id) for r in rels.of_type(P.REL_COMMENTS)), None)
            vml = self._sheet_vml(ref.part)
            drawings = [p for p in self.pkg.parts() if p.endswith(".vml")]
            if self._vml_blocks is None:  # one set: drawings made in this session differ
                self._vml_blocks = set()
                for p in drawings:
                    self._vml_blocks |= block_ids(self.pkg.read(p))
            ids: set[int] = set()
            for p in drawings:
                if p != vml:
                    ids |= set(shape_ids(self.pkg.read(p)))
            self._notes[ref.part] = Notes.parse(
                self.pkg.read(comments) if comments and self.pkg.exists(comments) else None,
                self.pkg.read(vml) if vml and self.pkg.exists(vml) else None,
                self._vml_blocks, ids)
        return self._notes[ref.part]

    def _sheet_vml(self, part: str) -> str | None:
        """The VML drawing of a sheet's ``<legacyDrawing>`` (notes and form buttons)."""
        rels = self.pkg.rels(part)
        m = re.search(rb'<legacyDrawing\b[^>]*\br:id="([^"]+)"', self.pkg.tail(part))
        if m:
            return rels.part(m.group(1).decode())
        return None

    def _write_notes(self, part: str, notes: Notes) -> None:
        rels = self.pkg.rels(part)
        comment_rel = next(iter(rels.of_type(P.REL_COMMENTS)), None)
        vml_part = self._sheet_vml(part)
        edit = self._edits.setdefault(part, SheetEdit(part))
        if not notes.notes:
            if comment_rel is not None:
                self.pkg.delete(P.resolve(part, comment_rel.target))
                rels.remove(comment_rel.id)
            if vml_part and self.pkg.exists(vml_part):
                vml = notes.vml_xml()
                if other_shapes(vml):  # buttons stay
                    self.pkg.put(vml_part, vml)
                else:
                    rid = next(r.id for r in rels.items if r.type == P.REL_VML
                               and P.resolve(part, r.target) == vml_part)
                    self.pkg.delete(vml_part)
                    rels.remove(rid)
                    edit.drop_legacy_drawing = True
            return
        if comment_rel is None:
            comments_part = self.pkg.unused("xl/comments{}.xml")
            rels.add(P.REL_COMMENTS, comments_part)
        else:
            comments_part = P.resolve(part, comment_rel.target)
        self.pkg.put(comments_part, notes.comments_xml(), P.CT_COMMENTS)
        if vml_part is None:
            vml_part = self.pkg.unused("xl/drawings/vmlDrawing{}.vml")
            edit.legacy_drawing = rels.add(P.REL_VML, vml_part)
            self.pkg.content_types.ensure_default("vml", P.CT_VML)
        self.pkg.put(vml_part, notes.vml_xml())

    # -- whole sheets --------------------------------------------------------------------------

    def put_sheet(self, name: str, sheet: NewSheet, *, after: str | None = None,
                  before: str | None = None, hidden: bool = False,
                  body: bytes | None = None) -> None:
        """Write ``sheet`` as sheet ``name``: in place of the sheet of that name (keeping its
        position, and the drawings and notes a person added to it), else as a new sheet
        after ``after`` or before ``before`` (default: after the last sheet), hidden when
        ``hidden`` (a sheet xlsales keeps for itself). ``body``: its rows, when
        :meth:`NewSheet.take_body` took them."""
        existing = next((s for s in self.sheets if s.name == name), None)
        if existing is not None:
            part = existing.part
            rels = self.pkg.rels(part)
            for r in list(rels.of_type(P.REL_TABLE)):  # our tables are written anew
                self.pkg.delete(P.resolve(part, r.target))
                rels.remove(r.id)
            for r in list(rels.of_type(P.REL_HYPERLINK)):
                rels.remove(r.id)
            old = self.pkg.head(part, b"<sheetData")
            sheet.carried = re.findall(rb"<drawing\b[^>]*/>|<legacyDrawing\b[^>]*/>",
                                       self.pkg.tail(part))
            self._replaced.add(name)
            self._names_changed = True
            code = re.search(rb'<sheetPr\b[^>]*\bcodeName="([^"]*)"', old[:4096])
            if code and sheet.code_name is None:
                sheet.code_name = code.group(1).decode()
            self._edits.pop(part, None)
        else:
            part = self.pkg.unused("xl/worksheets/sheet{}.xml")
            rid = self.rels.add(P.REL_WORKSHEET, part)
            sheet_id = max((s.sheet_id for s in self.sheets), default=0) + 1
            state = ' state="hidden"' if hidden else ""
            tag = (f'<sheet name={quoteattr(name)} sheetId="{sheet_id}"{state} '
                   f'r:id="{rid}"/>').encode()
            index = (self.sheet_names.index(after) + 1 if after in self.sheet_names
                     else self.sheet_names.index(before) if before in self.sheet_names
                     else len(self.sheets))
            self.sheets.insert(index, SheetRef(tag, part))
            self._order_changed = True
            self._added.add(name)
            if self.macro and sheet.code_name is None:
                sheet.code_name = self._code_name()
        rels = self.pkg.rels(part)
        table_rids = []
        taken = {n.casefold() for n in self._table_names()}
        for table in sheet.tables:  # table names are unique in a workbook
            base, n = table.name, 1
            while table.name.casefold() in taken:
                n += 1
                table.name = f"{base}_{n}"
            taken.add(table.name.casefold())
            table_part = self.pkg.unused("xl/tables/table{}.xml")
            self.pkg.put(table_part, table.xml(self._table_id()), P.CT_TABLE)
            table_rids.append(rels.add(P.REL_TABLE, table_part))
        self.pkg.put(part, sheet.render(table_rids, body), P.CT_WORKSHEET)
        titles = []
        if sheet.print_title_cols:  # columns first, as Excel writes them
            first, last = (col_letters(c) for c in sheet.print_title_cols)
            titles.append(f"{_quote_sheet(name)}!${first}:${last}")
        if sheet.print_title_rows:
            first, last = (str(r + 1) for r in sheet.print_title_rows)
            titles.append(f"{_quote_sheet(name)}!${first}:${last}")
        if titles:
            self._print_titles[name] = ",".join(titles)
            self._names_changed = True

    def set_name(self, name: str, ref: str) -> None:
        """Point the workbook-level defined name ``name`` at ``ref`` (a reference without
        ``=``, such as ``'_lists'!$A$2:$A$9``), replacing it when it is there."""
        self._names[name] = ref
        self._names_changed = True

    def remove_sheet(self, name: str) -> None:
        """Drop sheet ``name`` with its tables, notes and drawings of notes."""
        ref = self.ref(name)
        rels = self.pkg.rels(ref.part)
        for r in list(rels.items):
            if r.type in (P.REL_TABLE, P.REL_COMMENTS, P.REL_VML) and not r.external:
                target = P.resolve(ref.part, r.target)
                if self.pkg.exists(target):
                    self.pkg.delete(target)
        self.pkg.delete(ref.part)
        self.rels.remove(ref.rid)
        self.sheets.remove(ref)
        self._edits.pop(ref.part, None)
        self._order_changed = True
        self._print_titles.pop(name, None)
        self._names_changed = True
        self._removed = True

    def _tables(self) -> list[tuple[str | None, int | None]]:
        """The name and id of every table in the workbook, each table part read once
        until it changes (a batch of sheets with tables puts one after another)."""
        out = []
        for p in self.pkg.parts("xl/tables/"):
            now = self.pkg.version(p)
            seen = self._tables_seen.get(p)
            if seen is None or seen[0] is not now:
                head = self.pkg.read(p)[:4000]
                name = re.search(rb'<table\b[^>]*\bdisplayName="([^"]*)"', head)
                number = re.search(rb'<table\b[^>]*\bid="(\d+)"', head[:2000])
                seen = (now, _unescape(name.group(1)) if name else None,
                        int(number.group(1)) if number else None)
                self._tables_seen[p] = seen
            out.append(seen[1:])
        return out

    def _table_names(self) -> list[str]:
        return [name for name, _ in self._tables() if name is not None]

    def _table_id(self) -> int:
        return max((n for _, n in self._tables() if n is not None), default=0) + 1

    # -- other parts -------------------------------------------------------------------------

    @property
    def vba_part(self) -> str | None:
        """The part holding the workbook's VBA project (``xl/vbaProject.bin``), if any."""
        for r in self.rels.items:
            if r.type.endswith("/vbaProject") and not r.external:
                part = P.resolve(WORKBOOK, r.target)
                return part if self.pkg.exists(part) else None
        return None

    def replace_part(self, part: str, data: bytes) -> None:
        """Give the existing part ``part`` the bytes ``data`` as they are (a binary part such
        as the VBA project): its content type and relationships stay. A save after nothing
        but such replacements writes these parts and copies every other part as stored."""
        if not self.pkg.exists(part):
            raise WorkbookError(Label(f"工作簿没有部件 {part}", f"the workbook has no part {part}"),
                                file=str(self.path))
        self.pkg.put(part, data)
        self._parts_replaced = True

    def code_names(self) -> tuple[str | None, list[str | None]]:
        """The workbook's code name (``ThisWorkbook``) and each sheet's in sheet order (None
        for a sheet without one): the document modules its VBA project should hold."""
        book = re.search(rb'<workbookPr\b[^>]*\bcodeName="([^"]*)"', self.xml)
        sheets: list[str | None] = []
        for s in self.sheets:
            head = self.pkg.head(s.part, b"<sheetData", 1 << 16) if self.pkg.exists(s.part) \
                else b""
            m = re.search(rb'<sheetPr\b[^>]*\bcodeName="([^"]*)"', head)
            sheets.append(m.group(1).decode() if m else None)
        return (book.group(1).decode() if book else None), sheets

    def _only_parts_replaced(self) -> bool:
        """Whether this edit did nothing but :meth:`replace_part`."""
        return self._parts_replaced and not (
            any(e.changed for e in self._edits.values())
            or any(n.changed for n in self._notes.values())
            or (self._styles is not None and self._styles.changed)
            or self._order_changed or self._names_changed or self._added or self._replaced
            or self._removed)

    def _code_name(self) -> str:
        used = set()
        for s in self.sheets:
            if self.pkg.exists(s.part):
                head = self.pkg.head(s.part, b"<sheetData", 1 << 16)
                m = re.search(rb'codeName="([^"]+)"', head)
                if m:
                    used.add(m.group(1).decode())
        n = 1
        while f"Sheet{n}" in used:
            n += 1
        return f"Sheet{n}"

    # -- saving ------------------------------------------------------------------------------

    def save(self, out: str | Path | None = None) -> Path:
        """Write the workbook (in place, or to ``out``), atomically."""
        if not self.sheets:
            raise WorkbookError(Label("工作簿至少要有一个工作表",
                                      "a workbook needs at least one sheet"), file=str(self.path))
        if self._only_parts_replaced():  # e.g. the VBA project: the sheets stay as stored
            return self.pkg.save(out)
        for part, notes in self._notes.items():
            if notes.changed:
                self._write_notes(part, notes)
                notes.changed = False
        self._one_selected()
        cells = False
        for part, edit in self._edits.items():
            if edit.changed:
                cells = cells or bool(edit.cells)
                if self.pkg.is_changed(part):  # already rewritten in memory (small)
                    self.pkg.put(part, b"".join(edit.render(self.pkg.open(part))))
                else:
                    self.pkg.put(part, _streamed(edit, self.pkg, part))
        self._edits.clear()  # applied: a second save writes the same file
        if self._styles is not None and self._styles.changed:
            self.pkg.put(self._styles_part, self._styles.to_bytes())
        if self._order_changed or self._names_changed:
            self.pkg.put(WORKBOOK, self._workbook_xml())
        if cells or self._replaced or self._removed:
            self._drop_calc_chain()
        return self.pkg.save(out)

    def _drop_calc_chain(self) -> None:
        """Drop the calculation chain: it lists formula cells by position, and one naming a
        cell that is gone or no longer a formula makes Excel repair the file. Excel rebuilds
        it on the next save."""
        for r in list(self.rels.items):
            if r.type.endswith("/calcChain"):
                part = P.resolve(WORKBOOK, r.target)
                if self.pkg.exists(part):
                    self.pkg.delete(part)
                self.rels.remove(r.id)

    def _one_selected(self) -> None:
        """Only the active sheet is selected: a workbook with several selected sheets opens
        in Excel's [Group] mode, where typing into one sheet types into all of them."""
        active = self._active or self.active
        if active not in self.sheet_names:
            active = next((s.name for s in self.sheets if s.state == "visible"), None)
        for ref in self.sheets:
            if not self.pkg.exists(ref.part):
                continue
            head = self.pkg.head(ref.part, b"<sheetData")
            view = re.search(rb"<sheetView\b[^>]*>", head)
            selected = bool(view and re.search(rb'tabSelected="(1|true)"', view.group()))
            if selected != (ref.name == active):
                edit = self._edits.setdefault(ref.part, SheetEdit(ref.part))
                edit.selected = ref.name == active

    def _workbook_xml(self) -> bytes:
        xml = self.xml
        old_names = self._old_names
        new_names = self.sheet_names
        sheets = b"<sheets>" + b"".join(s.tag for s in self.sheets) + b"</sheets>"
        xml = re.sub(rb"<sheets>.*?</sheets>|<sheets/>", lambda m: sheets, xml, count=1,
                     flags=re.DOTALL)
        names = []
        for m in _DEFINED.finditer(xml):
            tag = m.group()
            local = re.search(rb'localSheetId="(\d+)"', tag)
            named = re.search(rb'\bname="([^"]*)"', tag)
            if local is None and named is not None and _unescape(named.group(1)) in self._names:
                continue  # set anew below
            if local is not None:
                idx = int(local.group(1))
                sheet = old_names[idx] if idx < len(old_names) else None
                if sheet not in new_names:
                    continue  # the sheet is gone
                if sheet in self._replaced and (b'"_xlnm.Print_Titles"' in tag
                                                or b'"_xlnm._FilterDatabase"' in tag):
                    continue  # belonged to the sheet's old content
                tag = tag.replace(local.group(), f'localSheetId="{new_names.index(sheet)}"'
                                  .encode())
            names.append(tag)
        for sheet, titles in self._print_titles.items():
            if sheet not in new_names:
                continue
            names.append(f'<definedName name="_xlnm.Print_Titles" '
                         f'localSheetId="{new_names.index(sheet)}">{escape(titles)}'
                         f"</definedName>".encode())
        for name, ref in self._names.items():
            names.append(f"<definedName name={quoteattr(name)}>{escape(ref)}</definedName>"
                         .encode())
        block = b"<definedNames>" + b"".join(names) + b"</definedNames>" if names else b""
        if re.search(rb"<definedNames\b", xml):
            xml = re.sub(rb"<definedNames\b[^>]*>.*?</definedNames>|<definedNames/>",
                         lambda m: block, xml, count=1, flags=re.DOTALL)
        elif block:
            xml = xml.replace(b"</sheets>", b"</sheets>" + block, 1)
        # the active sheet stays the same sheet
        view = re.search(rb"<workbookView\b[^>]*/?>", xml)
        if view is not None:
            tag = view.group()
            active = re.search(rb'activeTab="(\d+)"', tag)
            index = int(active.group(1)) if active else 0
            name = old_names[index] if index < len(old_names) else None
            name = self._active or name
            new_index = new_names.index(name) if name in new_names else 0
            tag = re.sub(rb'\s+activeTab="\d+"', b"", tag)
            tag = re.sub(rb'\s+firstSheet="\d+"', b"", tag)
            if new_index:
                tag = tag.replace(b"<workbookView", f'<workbookView activeTab="{new_index}"'
                                  .encode(), 1)
            xml = xml[:view.start()] + tag + xml[view.end():]
        return xml


def _streamed(edit: SheetEdit, pkg: P.PackageEdit, part: str) -> Callable[[], object]:
    return lambda: edit.render(pkg.stored(part))


def _quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_BLANK = {
    P.CT_PART: (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>'),
    "_rels/.rels": (
        f'<Relationships xmlns="{P.PKG_REL}"><Relationship Id="rId1" '
        f'Type="{P.DOC_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
    WORKBOOK: (
        f'<workbook xmlns="{_MAIN}" xmlns:r="{P.DOC_REL}"><bookViews>'
        '<workbookView activeTab="0"/></bookViews><sheets/>'
        '<calcPr calcId="191029" fullCalcOnLoad="1"/></workbook>'),
    "xl/_rels/workbook.xml.rels": (
        f'<Relationships xmlns="{P.PKG_REL}"><Relationship Id="rId1" '
        f'Type="{P.DOC_REL}/styles" Target="styles.xml"/></Relationships>'),
    "xl/styles.xml": (
        f'<styleSheet xmlns="{_MAIN}"><fonts count="1"><font><sz val="11"/>'
        '<name val="Calibri"/><family val="2"/></font></fonts><fills count="2"><fill>'
        '<patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/>'
        '</fill></fills><borders count="1"><border><left/><right/><top/><bottom/>'
        '<diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" '
        'fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="1"><xf '
        'numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
        '</cellStyles><dxfs count="0"/></styleSheet>'),
}


def blank_package() -> bytes:
    """The bytes of a workbook package without sheets."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, xml in _BLANK.items():
            zf.writestr(name, P.XML_DECL + xml.encode())
    return buf.getvalue()
