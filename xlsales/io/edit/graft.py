"""Regenerate a report workbook in place: the sheets of a freshly written copy replace the
ones of the same name, and everything a person added is kept.

The review and the pipeline report are written fresh with XlsxWriter (charts and all).
When the report already exists, :func:`regenerate` grafts each fresh sheet into it: the
sheet XML with its cell formats brought into the workbook's styles, its shared strings
inlined, its tables, its drawing and charts copied as new parts. A sheet a manager added,
the notes and the pictures, shapes and charts a manager put on a generated sheet, the
workbook's properties and everything else are kept. xlsales's own charts are known by
their alternative text (:data:`CHART_MARK`, which Excel keeps) or, after a tool that drops
it, by their title: a regenerated sheet gets new charts and keeps the manager's.
"""

from __future__ import annotations

import re
from pathlib import Path

from xlsales.io.edit import package as P
from xlsales.io.edit.book import SheetRef, WorkbookEdit
from xlsales.io.edit.sheet import insert
from xlsales.io.xmltext import quoteattr

CHART_MARK = "(xlsales)"  # ends the alternative text of every chart xlsales draws
REL_DRAWING = P.DOC_REL + "/drawing"
REL_CHART = P.DOC_REL + "/chart"
CT_DRAWING = "application/vnd.openxmlformats-officedocument.drawing+xml"
CT_CHART = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"

_CELL = re.compile(rb"<c\b([^>]*?)(/>|>(.*?)</c>)", re.DOTALL)
_ANCHOR = re.compile(rb"<((?:\w+:)?)(twoCellAnchor|oneCellAnchor|absoluteAnchor)\b.*?"
                     rb"</\1\2>", re.DOTALL)
_RID = re.compile(rb'\br:(id|embed|link|pict)="([^"]*)"')


def regenerate(target: str | Path, fresh: str | Path) -> Path:
    """Graft every sheet of the workbook ``fresh`` into the workbook ``target`` (see the
    module docstring) and save ``target`` atomically."""
    with WorkbookEdit(target) as wb, WorkbookEdit(fresh) as src:
        _Graft(wb, src).run()
        return wb.save()


class _Graft:
    def __init__(self, wb: WorkbookEdit, src: WorkbookEdit) -> None:
        self.wb, self.src = wb, src
        self.xfs, self.dxfs = wb.styles.import_from(src.styles)
        sst = next((src.rels.part(r.id) for r in src.rels.items
                    if r.type.endswith("/sharedStrings")), None)
        data = src.pkg.read(sst) if sst and src.pkg.exists(sst) else b""
        self.strings = [m.group(1) for m in re.finditer(rb"<si>(.*?)</si>|<si/>", data,
                                                        re.DOTALL)]
        self.renamed: dict[str, str] = {}  # fresh table name → its name in the workbook

    def run(self) -> None:
        previous = None
        for ref in self.src.sheets:
            self.sheet(ref, after=previous)
            previous = ref.name
        if self.renamed:  # the fresh sheets' formulas follow their tables' new names
            for name in self.src.sheet_names:
                part = self.wb.ref(name).part
                self.wb.pkg.put(part, _rename_tables(self.wb.pkg.read(part), self.renamed))

    def sheet(self, ref: SheetRef, after: str | None) -> None:
        wb, src = self.wb, self.src
        xml = self.cells(src.pkg.read(ref.part))
        existing = next((s for s in wb.sheets if s.name == ref.name), None)
        if existing is None:
            part = wb.pkg.unused("xl/worksheets/sheet{}.xml")
            rid = wb.rels.add(P.REL_WORKSHEET, part)
            sheet_id = max((s.sheet_id for s in wb.sheets), default=0) + 1
            state = '' if ref.state == "visible" else f' state="{ref.state}"'
            tag = (f'<sheet name={quoteattr(ref.name)} sheetId="{sheet_id}"{state} '
                   f'r:id="{rid}"/>').encode()
            names = wb.sheet_names
            index = names.index(after) + 1 if after in names else len(names)
            wb.sheets.insert(index, SheetRef(tag, part))
            wb._order_changed = True
            old_drawing = None
            carried: list[bytes] = []
            code = wb._code_name() if wb.macro else None
        else:
            part = existing.part
            old = wb.pkg.tail(part)  # drawings are behind the rows
            rels = wb.pkg.rels(part)
            for r in list(rels.items):  # what xlsales writes anew; notes and drawings stay
                if r.type in (P.REL_TABLE, P.REL_HYPERLINK):
                    if r.type == P.REL_TABLE and not r.external:
                        wb.pkg.delete(P.resolve(part, r.target))
                    rels.remove(r.id)
            m = re.search(rb'<drawing\b[^>]*\br:id="([^"]+)"', old)
            old_drawing = rels.part(m.group(1).decode()) if m else None
            if old_drawing and not wb.pkg.exists(old_drawing):
                old_drawing = None
            carried = re.findall(rb"<legacyDrawing\b[^>]*/>", old)
            m = re.search(rb'<sheetPr\b[^>]*\bcodeName="([^"]*)"',
                          wb.pkg.head(part, b"<sheetData"))
            code = m.group(1).decode() if m else None
            wb._replaced.add(ref.name)
            wb._names_changed = True
            wb._edits.pop(part, None)
        xml = self.relationships(ref.part, part, xml, old_drawing)
        if code:
            xml = _code_name(xml, code)
        xml = re.sub(rb'\s+tabSelected="(1|true)"', b"", xml)
        for element in carried:
            xml = _put_tail(xml, "legacyDrawing", element)
        wb.pkg.put(part, xml, P.CT_WORKSHEET)
        titles = self.print_titles(ref.name)
        if titles:
            wb._print_titles[ref.name] = titles
            wb._names_changed = True

    def cells(self, xml: bytes) -> bytes:
        """Cell formats renumbered into the workbook's styles; shared strings inlined."""
        def cell(m: re.Match[bytes]) -> bytes:
            attrs, body = m.group(1), m.group(3)
            attrs = re.sub(rb'\bs="(\d+)"', lambda s: b's="%d"' % self.xfs[int(s.group(1))],
                           attrs)
            if body is not None and re.search(rb'\bt="s"', attrs):
                v = re.search(rb"<v>(\d+)</v>", body)
                if v:
                    attrs = re.sub(rb'\bt="s"', b't="inlineStr"', attrs)
                    return b"<c" + attrs + b"><is>" + self.strings[int(v.group(1))] \
                        + b"</is></c>"
            return b"<c" + attrs + (m.group(2) if body is None else b">" + body + b"</c>")

        start, end = xml.find(b"<sheetData"), xml.find(b"</sheetData>")
        head, data, tail = xml[:start], xml[start:end], xml[end:]
        data = _CELL.sub(cell, data)
        data = re.sub(rb'(<row\b[^>]*?\bs=")(\d+)"',
                      lambda m: m.group(1) + b'%d"' % self.xfs[int(m.group(2))], data)
        head = re.sub(rb'(<col\b[^>]*?\bstyle=")(\d+)"',
                      lambda m: m.group(1) + b'%d"' % self.xfs[int(m.group(2))], head)
        tail = re.sub(rb'(<cfRule\b[^>]*?\bdxfId=")(\d+)"',
                      lambda m: m.group(1) + b'%d"' % self.dxfs[int(m.group(2))], tail)
        return head + data + tail

    def relationships(self, src_part: str, part: str, xml: bytes,
                      old_drawing: str | None) -> bytes:
        """The fresh sheet's tables, drawing and links added to ``part``; r:ids renumbered.
        A drawing the sheet already had keeps what a person put there (see
        :meth:`merge_drawing`)."""
        rels = self.wb.pkg.rels(part)
        src_drawing, anchors, titles = self.fresh_drawing(src_part)
        ids: dict[bytes, bytes] = {}
        for r in self.src.pkg.rels(src_part).items:
            if r.external:
                ids[r.id.encode()] = rels.add(r.type, r.target, external=True).encode()
            elif r.type == P.REL_TABLE:
                ids[r.id.encode()] = self.table(P.resolve(src_part, r.target), rels).encode()
            elif r.type == REL_DRAWING and old_drawing is None:
                ids[r.id.encode()] = rels.add(REL_DRAWING,
                                              self.new_drawing(src_drawing or "")).encode()
        if old_drawing is not None:
            self.merge_drawing(old_drawing, src_drawing, anchors, titles)
            rid = next(r.id for r in rels.of_type(REL_DRAWING)
                       if P.resolve(part, r.target) == old_drawing)
            if src_drawing is not None:
                src_rid = next(r.id for r in self.src.pkg.rels(src_part).of_type(REL_DRAWING))
                ids[src_rid.encode()] = rid.encode()
            else:
                xml = _put_tail(xml, "drawing", f'<drawing r:id="{rid}"/>'.encode())
        return _renumber(xml, ids)

    def table(self, src_table: str, rels: P.Rels) -> str:
        wb = self.wb
        xml = self.src.pkg.read(src_table)
        name = re.search(rb'\bdisplayName="([^"]*)"', xml)
        base = name.group(1).decode() if name else "Table"
        taken = {n.casefold() for n in wb._table_names()}
        new, n = base, 1
        while new.casefold() in taken:
            n += 1
            new = f"{base}_{n}"
        if new != base:  # a table of that name stays on a sheet a person kept
            self.renamed[base] = new
        xml = re.sub(rb'(<table\b[^>]*?\bid=")\d+"', lambda m: m.group(1) + b'%d"'
                     % wb._table_id(), xml, count=1)
        xml = re.sub(rb'\b(name|displayName)="[^"]*"', lambda m: m.group(1) + b"="
                     + quoteattr(new).encode(), xml[:xml.find(b">", xml.find(b"<table"))]
                     ) + xml[xml.find(b">", xml.find(b"<table")):]
        part = wb.pkg.unused("xl/tables/table{}.xml")
        wb.pkg.put(part, xml, P.CT_TABLE)
        return rels.add(P.REL_TABLE, part)

    def fresh_drawing(self, src_part: str) -> tuple[str | None, list[bytes], set[str]]:
        """The fresh sheet's drawing: its part, its anchors (namespaces declared on each)
        and the titles of its charts."""
        src = self.src
        rel = next(iter(src.pkg.rels(src_part).of_type(REL_DRAWING)), None)
        if rel is None:
            return None, [], set()
        part = P.resolve(src_part, rel.target)
        xml = src.pkg.read(part)
        root = re.search(rb"<(?:\w+:)?wsDr\b[^>]*>", xml)
        decls = re.findall(rb'\sxmlns(?::\w+)?="[^"]*"', root.group()) if root else []
        anchors = []
        for m in _ANCHOR.finditer(xml):
            anchor = m.group()
            tag_end = anchor.find(b">")
            missing = b"".join(d for d in decls if d.split(b"=")[0] not in anchor[:tag_end])
            anchors.append(anchor[:tag_end].rstrip(b"/") + missing + anchor[tag_end:])
        rels = src.pkg.rels(part)
        titles = {_chart_title(src.pkg.read(P.resolve(part, r.target)))
                  for r in rels.of_type(REL_CHART)}
        return part, anchors, titles

    def merge_drawing(self, drawing: str, src_drawing: str | None, anchors: list[bytes],
                      titles: set[str]) -> None:
        """Replace xlsales's charts in the workbook's ``drawing`` with the fresh ones; the
        pictures, shapes and charts a person put there stay."""
        wb = self.wb
        xml = wb.pkg.read(drawing)
        rels = wb.pkg.rels(drawing)
        drop = []
        for m in _ANCHOR.finditer(xml):
            anchor = m.group()
            chart = re.search(rb"<(?:\w+:)?chart\b[^>]*?\b\w+:id=\"([^\"]*)\"", anchor)
            rel = rels.get(chart.group(1).decode()) if chart else None
            if rel is None or rel.external or rel.type != REL_CHART:
                continue
            target = P.resolve(drawing, rel.target)
            marked = re.search(rb"<(?:\w+:)?cNvPr\b[^>]*\bdescr=\"[^\"]*"
                               + re.escape(CHART_MARK.encode()) + rb'"', anchor)
            if marked or (wb.pkg.exists(target)
                          and _chart_title(wb.pkg.read(target)) in titles):
                drop.append(m.span())
                if wb.pkg.exists(target):
                    wb.pkg.delete(target)
                rels.remove(rel.id)
        for start, end in reversed(drop):
            xml = xml[:start] + xml[end:]
        added = [self.charts(src_drawing, anchor, rels) for anchor in anchors] \
            if src_drawing else []
        ids = [int(i) for i in re.findall(rb'<(?:\w+:)?cNvPr\b[^>]*?\bid="(\d+)"', xml)]
        first = max(ids, default=1) + 1  # drawing object ids stay unique
        added = [re.sub(rb'(<(?:\w+:)?cNvPr\b[^>]*?\bid=")\d+"',
                        lambda m, n=first + i: m.group(1) + b'%d"' % n, anchor, count=1)
                 for i, anchor in enumerate(added)]
        end = re.search(rb"</(?:\w+:)?wsDr>\s*$", xml)
        at = end.start() if end else len(xml)
        wb.pkg.put(drawing, xml[:at] + b"".join(added) + xml[at:])

    def charts(self, src_drawing: str, anchor: bytes, rels: P.Rels) -> bytes:
        """``anchor`` with its charts copied as new parts related from ``rels``."""
        wb, src = self.wb, self.src
        src_rels = src.pkg.rels(src_drawing)

        def copy(m: re.Match[bytes]) -> bytes:
            r = src_rels.get(m.group(2).decode())
            if r is None:
                return m.group()
            if r.external:
                rid = rels.add(r.type, r.target, external=True)
            else:
                chart = wb.pkg.unused("xl/charts/chart{}.xml")
                wb.pkg.put(chart, src.pkg.read(P.resolve(src_drawing, r.target)), CT_CHART)
                rid = rels.add(r.type, chart)
            return b'r:%s="%s"' % (m.group(1), rid.encode())

        return _RID.sub(copy, anchor)

    def new_drawing(self, src_drawing: str) -> str:
        """The fresh sheet's drawing copied as a new part, with its charts."""
        wb = self.wb
        part = wb.pkg.unused("xl/drawings/drawing{}.xml")
        xml = self.src.pkg.read(src_drawing)
        wb.pkg.put(part, self.charts(src_drawing, xml, wb.pkg.rels(part)), CT_DRAWING)
        return part

    def print_titles(self, name: str) -> str | None:
        index = self.src.sheet_names.index(name)
        m = re.search(rb'<definedName name="_xlnm.Print_Titles" localSheetId="%d">([^<]*)<'
                      % index, self.src.xml)
        if not m:
            return None
        import html

        return html.unescape(m.group(1).decode())


def _code_name(xml: bytes, code: str) -> bytes:
    m = re.search(rb"<sheetPr\b[^>]*?/?>", xml)
    if m is None:
        at = xml.find(b">", xml.find(b"<worksheet")) + 1
        return xml[:at] + f'<sheetPr codeName="{code}"/>'.encode() + xml[at:]
    tag = re.sub(rb'\s+codeName="[^"]*"', b"", m.group())
    tag = tag.replace(b"<sheetPr", f'<sheetPr codeName="{code}"'.encode(), 1)
    return xml[:m.start()] + tag + xml[m.end():]


def _put_tail(xml: bytes, element: str, content: bytes) -> bytes:
    at = xml.find(b"</sheetData>") + len(b"</sheetData>")
    end = xml.rfind(b"</worksheet>")
    return xml[:at] + insert(xml[at:end], element, content) + xml[end:]


def _chart_title(chart: bytes) -> str:
    """The text of a chart part's title ("" when none)."""
    m = re.search(rb"<((?:\w+:)?)title\b.*?</\1title>", chart, re.DOTALL)
    if not m:
        return ""
    return "".join(t.decode() for t in re.findall(rb"<(?:\w+:)?t\b[^>]*>([^<]*)<", m.group()))


def _renumber(xml: bytes, ids: dict[bytes, bytes]) -> bytes:
    """Relationship ids in ``xml`` replaced by their new ones (others kept)."""
    return _RID.sub(lambda m: b'r:%s="%s"' % (m.group(1), ids.get(m.group(2), m.group(2))),
                    xml)


def _rename_tables(xml: bytes, renamed: dict[str, str]) -> bytes:
    """Structured references ``Name[…]`` in the formulas of ``xml`` to the tables' new
    names."""
    pattern = re.compile(rb"(?<![\w.])(" + b"|".join(re.escape(k.encode()) for k in renamed)
                         + rb")\[")

    def formula(m: re.Match[bytes]) -> bytes:
        return pattern.sub(lambda t: renamed[t.group(1).decode()].encode() + b"[", m.group())

    return re.sub(rb"<f\b[^>]*>[^<]*</f>", formula, xml)
