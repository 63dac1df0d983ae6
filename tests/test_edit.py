"""The part-level workbook editor (:mod:`xlsales.io.edit`), on real files.

Inputs are written with XlsxWriter and openpyxl (some patched at the XML level, as other
tools write them); outputs are checked at the byte level (raw zip entries, untouched rows),
for package consistency (content types, relationships, schema order, counts) and by
reading them back with openpyxl and python-calamine (LibreOffice in one test).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import struct
import tracemalloc
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from unittest import mock
from xml.etree import ElementTree as ET

import openpyxl
import pytest
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.comments import Comment
from python_calamine import CalamineWorkbook

from xlsales.formula_values import ExcelError
from xlsales.io.edit.book import WorkbookEdit
from xlsales.io.edit.cells import Cell
from xlsales.io.edit.comments import block_ids, shape_ids
from xlsales.io.edit.newsheet import NewSheet, TablePart
from xlsales.io.edit.package import CT_PART, PackageEdit, resolve
from xlsales.io.edit.sheet import SheetEdit
from xlsales.io.edit.styles import Style, StylesEdit
from xlsales.io.edit.zipwriter import ZipRewriter
from xlsales.io.read.package import unescape

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
CT_MACRO_BOOK = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
SHEET_ORDER = ("sheetPr", "dimension", "sheetViews", "sheetFormatPr", "cols", "sheetData",
               "sheetCalcPr", "sheetProtection", "protectedRanges", "scenarios", "autoFilter",
               "sortState", "dataConsolidate", "customSheetViews", "mergeCells", "phoneticPr",
               "conditionalFormatting", "dataValidations", "hyperlinks", "printOptions",
               "pageMargins", "pageSetup", "headerFooter", "rowBreaks", "colBreaks",
               "customProperties", "cellWatches", "ignoredErrors", "smartTags", "drawing",
               "legacyDrawing", "legacyDrawingHF", "drawingHF", "picture", "oleObjects",
               "controls", "webPublishItems", "tableParts", "extLst")
STYLE_ORDER = ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs",
               "cellStyles", "dxfs", "tableStyles", "colors", "extLst")
TAG = "[xlsales]"


# -- reading outputs ---------------------------------------------------------------------------


def raw_entries(path: Path) -> list[tuple[str, int, int, bytes]]:
    """Each entry as stored: name, CRC, compressed size and the compressed bytes found
    after its local header."""
    out = []
    with zipfile.ZipFile(path) as zf, path.open("rb") as fh:
        for info in zf.infolist():
            fh.seek(info.header_offset)
            header = fh.read(30)
            assert header[:4] == b"PK\x03\x04", info.filename
            name_len, extra_len = struct.unpack("<2H", header[26:30])
            fh.seek(name_len + extra_len, 1)
            out.append((info.filename, info.CRC, info.compress_size,
                        fh.read(info.compress_size)))
    return out


def changed_entries(src: Path, out: Path) -> set[str]:
    """Entries of ``out`` not stored exactly as in ``src`` (new ones included); asserts the
    entries ``out`` shares with ``src`` keep their order."""
    before = {e[0]: e for e in raw_entries(src)}
    after = raw_entries(out)
    shared = [e[0] for e in after if e[0] in before]
    assert shared == [n for n in before if n in set(shared)], "entries were reordered"
    return {e[0] for e in after if before.get(e[0]) != e}


def read(path: Path, part: str) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read(part)


def names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        return zf.namelist()


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def rels_of(path: Path, part: str) -> list[dict[str, str]]:
    folder, name = part.rsplit("/", 1) if "/" in part else ("", part)
    rels = f"{folder}/_rels/{name}.rels" if folder else f"_rels/{name}.rels"
    if rels not in names(path):
        return []
    return [dict(el.attrib) for el in ET.fromstring(read(path, rels))]


def sheet_parts(path: Path) -> dict[str, str]:
    """Sheet name → worksheet part, in workbook order."""
    book = ET.fromstring(read(path, "xl/workbook.xml"))
    targets = {r["Id"]: resolve("xl/workbook.xml", r["Target"])
               for r in rels_of(path, "xl/workbook.xml")}
    return {s.get("name", ""): targets[s.get(f"{{{DOC_REL}}}id", "")]
            for s in book.iter(f"{{{MAIN}}}sheet")}


def check_package(path: Path) -> None:
    """What Excel checks before it offers to repair a file: a sound zip, well-formed parts,
    a content type for every part, existing targets for every relationship and every
    r:id a sheet uses, worksheet children in schema order, style counts that match."""
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        parts = zf.namelist()
        assert len(parts) == len(set(parts)), "duplicate entries"
        types = ET.fromstring(zf.read(CT_PART))
        defaults = {el.get("Extension", "").lower() for el in types
                    if local(el.tag) == "Default"}
        overrides = [el.get("PartName", "") for el in types if local(el.tag) == "Override"]
        assert len(overrides) == len(set(overrides))
        for o in overrides:
            assert o.lstrip("/") in parts, f"content type of a missing part {o}"
        for p in parts:
            if p != CT_PART:
                assert "/" + p in overrides or p.rsplit(".", 1)[-1].lower() in defaults, p
            if p.endswith((".xml", ".rels", ".vml")):
                ET.fromstring(zf.read(p))  # well formed
        for p in parts:
            if not p.endswith(".rels"):
                continue
            owner = p.replace("_rels/", "")[: -len(".rels")]
            ids = []
            for r in ET.fromstring(zf.read(p)):
                ids.append(r.get("Id"))
                if r.get("TargetMode") != "External":
                    assert resolve(owner, r.get("Target", "")) in parts, (p, r.attrib)
            assert len(ids) == len(set(ids)), p
        for name, part in sheet_parts(path).items():
            xml = zf.read(part)
            root = ET.fromstring(xml)
            order = [SHEET_ORDER.index(local(el.tag)) for el in root
                     if local(el.tag) in SHEET_ORDER]
            assert order == sorted(order), (name, [local(el.tag) for el in root])
            rids = {r["Id"] for r in rels_of(path, part)}
            for el in root.iter():
                rid = el.get(f"{{{DOC_REL}}}id")
                assert rid is None or rid in rids, (name, local(el.tag), rid)
        styles = ET.fromstring(zf.read("xl/styles.xml"))
        order = [STYLE_ORDER.index(local(el.tag)) for el in styles]
        assert order == sorted(order)
        for el in styles:
            if el.get("count") is not None and local(el.tag) != "tableStyles":
                assert int(el.get("count", "")) == len(el), local(el.tag)


def check_opens(path: Path) -> openpyxl.Workbook:
    """The file is sound, opens in openpyxl without a warning and in python-calamine."""
    check_package(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wb = openpyxl.load_workbook(path)
    assert [str(w.message) for w in caught] == []
    cal = CalamineWorkbook.from_path(str(path))
    for name in cal.sheet_names:
        cal.get_sheet_by_name(name).to_python()
    return wb


def calamine_rows(path: Path, sheet: str) -> list[list[object]]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()


def rows_xml(xml: bytes) -> dict[int, bytes]:
    """Row number → the row's bytes (rows with an ``r`` attribute)."""
    out = {}
    for m in re.finditer(rb"<row\b[^>]*?(?:/>|>.*?</row>)", xml, re.DOTALL):
        r = re.search(rb'\br="(\d+)"', m.group()[:m.group().find(b">")])
        if r:
            out[int(r.group(1))] = m.group()
    return out


def row_numbers(xml: bytes) -> list[int]:
    return [int(n) for n in re.findall(rb'<row\b[^>]*?\br="(\d+)"', xml)]


def vml_parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist() if n.endswith(".vml")}


def assert_unique_shapes(path: Path) -> None:
    """No shape id is used twice in the workbook and no idmap block by two drawings."""
    ids: list[int] = []
    owner: dict[int, str] = {}
    for part, vml in vml_parts(path).items():
        ids += shape_ids(vml)
        for block in block_ids(vml):
            assert block not in owner, f"idmap block {block} of {owner.get(block)} and {part}"
            owner[block] = part
        for i in shape_ids(vml):
            assert i // 1024 in block_ids(vml), f"{part}: shape {i} outside its blocks"
    assert len(ids) == len(set(ids)), sorted(ids)


# -- writing inputs ----------------------------------------------------------------------------


def patch_zip(path: Path, part: str, fn: Callable[[bytes], bytes]) -> None:
    """Rewrite one part of a zip the way another tool would have written it."""
    tmp = path.with_name(path.name + ".patch")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, fn(data) if info.filename == part else data)
    tmp.replace(path)


def sales_book(path: Path) -> Path:
    """Sales (sparse rows, first row 3, styles, shared strings, CF, autofilter), Summary
    (print titles, the active sheet), Notes (a user's note, a local name), Tab (a table),
    Empty (``<sheetData/>``); Sales and Summary both tabSelected."""
    wb = xlsxwriter.Workbook(str(path))
    bold = wb.add_format({"bold": True, "bg_color": "#FFFF00"})
    money = wb.add_format({"num_format": "#,##0.00"})
    sales = wb.add_worksheet("Sales")
    sales.write_row(2, 0, ["Rep", "Amount", "Region"], bold)
    sales.write_row(3, 0, ["Ann", 10.5, "North"])
    sales.write_number(3, 1, 10.5, money)
    sales.write_row(6, 0, ["Bob", 20, "South"])
    sales.write_row(10, 0, ["Cy", 30, "East"])
    sales.autofilter("A3:C11")
    sales.conditional_format("B4:B11", {"type": "cell", "criteria": ">", "value": 15,
                                        "format": bold})
    summary = wb.add_worksheet("Summary")
    summary.write("A1", "Total")
    summary.write_formula("B1", "=SUM(Sales!B:B)", None, 60.5)
    summary.repeat_rows(0)
    notes = wb.add_worksheet("Notes")
    notes.write("A1", "x")
    notes.write_comment("A1", "user words", {"author": "Alice"})
    tab = wb.add_worksheet("Tab")
    tab.add_table("A1:B3", {"name": "Existing", "columns": [{"header": "H1"},
                                                             {"header": "H2"}]})
    wb.add_worksheet("Empty")
    wb.define_name("Rate", "=Sales!$B$4")
    wb.define_name("Notes!Local", "=Notes!$A$1")
    wb.define_name("Empty!Spot", "=Empty!$A$1")
    summary.activate()
    sales.select()
    wb.close()
    return path


def simple_book(path: Path, sheets: tuple[str, ...] = ("A", "B")) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    for name in sheets:
        ws = wb.add_worksheet(name)
        ws.write_row(0, 0, [name, 1, 2])
        ws.write_row(1, 0, ["row2", 3, 4])
    wb.close()
    return path


def macro_book(path: Path) -> Path:
    """An .xlsm: a form button in Main's VML drawing (idmap 1, _x0000_s1025), a user's note
    on Notes, code names Sheet1…, a vbaProject part."""
    vba = path.with_name("vbaProject.bin")
    vba.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1not a real project")
    wb = xlsxwriter.Workbook(str(path))
    main = wb.add_worksheet("Main")
    main.write("A1", "go")
    main.insert_button("B3", {"macro": "say_hello", "caption": "Press"})
    notes = wb.add_worksheet("Notes")
    notes.write("A1", "y")
    notes.write_comment("A1", "user note", {"author": "Alice"})
    report = wb.add_worksheet("Report")
    report.write_column("B1", [1, 2, 3])
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"values": "=Report!$B$1:$B$3"})
    report.insert_chart("D2", chart)
    report.write_comment("A1", "keep me", {"author": "Bob"})
    report.write_url("A5", "https://example.com", string="site")
    report.add_table("F1:G3", {"name": "OldTable", "columns": [{"header": "P"},
                                                                {"header": "Q"}]})
    wb.add_vba_project(str(vba))
    wb.close()
    return path


# -- 1. the package -----------------------------------------------------------------------------


def test_package_edit_copies_other_entries_raw_and_updates_indexes(tmp_path: Path) -> None:
    src = simple_book(tmp_path / "in.xlsx")
    out = tmp_path / "out.xlsx"
    with PackageEdit(src) as pkg:
        assert pkg.exists("xl/worksheets/sheet2.xml") and not pkg.exists("xl/extra.xml")
        pkg.put("xl/extra.xml", b"<extra/>", "application/vnd.test+xml")
        pkg.put("docProps/core.xml", pkg.read("docProps/core.xml").replace(
            b"</cp:coreProperties>", b"<dc:title>T</dc:title></cp:coreProperties>"))
        pkg.delete("docProps/app.xml")
        rels = pkg.rels("")
        app = next(r for r in rels.items if r.target.endswith("app.xml"))
        rels.remove(app.id)
        rid = rels.add("http://example.com/rel/extra", "xl/extra.xml")
        assert not pkg.exists("docProps/app.xml") and pkg.read("xl/extra.xml") == b"<extra/>"
        pkg.save(out)
    assert changed_entries(src, out) == {"docProps/core.xml", "_rels/.rels", CT_PART,
                                         "xl/extra.xml"}
    before = [n for n in names(src) if n != "docProps/app.xml"]
    assert names(out) == [*before, "xl/extra.xml"]  # order kept, new parts last
    types = read(out, CT_PART)
    assert b'PartName="/xl/extra.xml" ContentType="application/vnd.test+xml"' in types
    assert b"/docProps/app.xml" not in types
    assert {r["Id"]: r["Target"] for r in rels_of(out, "")}[rid] == "xl/extra.xml"
    assert b"<dc:title>T</dc:title>" in read(out, "docProps/core.xml")
    wb = check_opens(out)
    assert wb.properties.title == "T" and wb.sheetnames == ["A", "B"]


def test_the_head_of_a_part_deflated_ahead_needs_no_inflating(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A large part put into the package is deflated in a worker thread; its head (a
    sheet's properties and views, read for every sheet when saving) comes from the bytes
    kept aside, without waiting for the deflate or inflating it again."""
    from xlsales.io.edit import package

    src = simple_book(tmp_path / "in.xlsx")
    body = b"<r/>" * (package.DEFLATE_AHEAD // 2)
    part = b"<worksheet><sheetViews/><sheetData>" + body + b"</sheetData></worksheet>"
    with PackageEdit(src) as pkg:
        pkg.put("xl/worksheets/sheet9.xml", part)
        inflated: list[int] = []
        real = package.inflate
        monkeypatch.setattr(package, "inflate", lambda *a: inflated.append(1) or real(*a))
        assert pkg.head("xl/worksheets/sheet9.xml", b"<sheetData") == \
            b"<worksheet><sheetViews/>"
        assert inflated == []
        assert pkg.head("xl/worksheets/sheet9.xml", b"</worksheet>") == part[:-12]
        assert inflated == [1]  # past what was kept aside: inflated
        pkg.save(tmp_path / "out.xlsx")
    assert read(tmp_path / "out.xlsx", "xl/worksheets/sheet9.xml") == part


def test_zip_rewriter_copies_raw_and_streams_new_entries(tmp_path: Path) -> None:
    src = simple_book(tmp_path / "in.xlsx")
    out = tmp_path / "out.zip"
    chunks = [b"<big>", *(b"<r>%d</r>" % i for i in range(5000)), b"</big>"]
    with zipfile.ZipFile(src) as zf, out.open("wb") as fh:
        zw = ZipRewriter(fh)
        for info in zf.infolist():
            zw.copy(zf, info)
        zw.write_chunks("stream.xml", iter(chunks))
        zw.write("small.xml", b"<s/>")
        zw.close()
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None
        assert zf.read("stream.xml") == b"".join(chunks) and zf.read("small.xml") == b"<s/>"
        assert zf.getinfo("stream.xml").compress_size < len(b"".join(chunks)) // 4
    old = raw_entries(src)
    assert raw_entries(out)[:len(old)] == old


def test_workbook_edit_rewrites_only_the_edited_sheet(tmp_path: Path) -> None:
    src = simple_book(tmp_path / "in.xlsx", ("A", "B", "C"))
    out = tmp_path / "out.xlsx"
    with WorkbookEdit(src) as we:
        we.set_cell("B", "B2", Cell(99))
        we.save(out)
    assert changed_entries(src, out) == {"xl/worksheets/sheet2.xml"}
    old, new = read(src, "xl/worksheets/sheet2.xml"), read(out, "xl/worksheets/sheet2.xml")
    assert rows_xml(old)[1] == rows_xml(new)[1]
    assert new.split(b"</sheetData>")[1] == old.split(b"</sheetData>")[1]
    assert check_opens(out)["B"]["B2"].value == 99
    noop = tmp_path / "noop.xlsx"
    with WorkbookEdit(out) as we:
        we.head("A")
        we.notes("B")  # read, not changed
        we.save(noop)
    assert changed_entries(out, noop) == set()


def test_failed_save_leaves_the_original_and_no_temporary_file(tmp_path: Path) -> None:
    path = simple_book(tmp_path / "book.xlsx")
    before = path.read_bytes()
    listing = sorted(p.name for p in tmp_path.iterdir())
    with WorkbookEdit(path) as we:
        we.set_cell("A", "C2", Cell("fine"))
        we.set_cell("B", "A9", Cell(float("nan")))  # fails while the sheet is streamed
        with pytest.raises(ValueError, match="not a number"):
            we.save()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == listing


# -- 2. styles ------------------------------------------------------------------------------------


def test_styles_are_found_not_appended_again(tmp_path: Path) -> None:
    src = sales_book(tmp_path / "in.xlsx")
    first, second = tmp_path / "first.xlsx", tmp_path / "second.xlsx"
    look = Style(bold=True, fill="FFDDEBF7", num_fmt="0.0%", h_align="center", border=True)
    warn = Style(color="FF9C0006", fill="FFFFC7CE")
    with WorkbookEdit(src) as we:
        xf, dxf = we.xf(look), we.dxf(warn)
        assert (we.xf(look), we.dxf(warn)) == (xf, dxf)
        assert we.xf(Style(italic=True)) not in (xf, 0)
        we.set_cell("Summary", "C1", Cell(0.25, style=xf))
        we.save(first)
    styles = read(first, "xl/styles.xml")
    with WorkbookEdit(first) as we:
        assert (we.xf(look), we.dxf(warn)) == (xf, dxf)
        we.set_cell("Summary", "C2", Cell(0.5, style=we.xf(look)))
        we.save(second)
    assert "xl/styles.xml" not in changed_entries(first, second)
    assert StylesEdit(styles).to_bytes() == styles  # nothing asked: nothing written
    wb = check_opens(second)
    for ref in ("C1", "C2"):
        cell = wb["Summary"][ref]
        assert cell.font.b and cell.number_format == "0.0%"
        assert cell.fill.fgColor.rgb == "FFDDEBF7" and cell.alignment.horizontal == "center"
        assert cell.border.left.style == "thin"
    assert wb["Sales"]["B4"].number_format == "#,##0.00"  # the workbook's own formats kept


def test_styles_collections_are_added_in_schema_order(tmp_path: Path) -> None:
    src = simple_book(tmp_path / "in.xlsx")
    out = tmp_path / "out.xlsx"
    styles = read(src, "xl/styles.xml")
    assert b"<numFmts" not in styles
    with WorkbookEdit(src) as we:
        xf = we.xf(Style(num_fmt="yyyy-mm-dd"))
        we.dxf(Style(fill="FFFFEB9C"))
        we.set_cell("A", "D1", Cell(dt.date(2024, 3, 1), style=xf))
        we.save(out)
    assert b'<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>' \
        in read(out, "xl/styles.xml")
    assert check_opens(out)["A"]["D1"].value == dt.datetime(2024, 3, 1)


# -- 3. sheets ---------------------------------------------------------------------------------


def test_cells_set_in_existing_missing_first_and_last_rows(tmp_path: Path) -> None:
    src = sales_book(tmp_path / "in.xlsx")
    out = tmp_path / "out.xlsx"
    old = read(src, "xl/worksheets/sheet1.xml")
    assert row_numbers(old) == [3, 4, 7, 11]
    with WorkbookEdit(src) as we:
        we.set_cell("Sales", "B4", Cell(12.25))  # keeps the cell's money format
        we.set_cell("Sales", "D4", Cell("new col"))
        we.set_cell("Sales", "A1", Cell("before the first row"))
        we.set_cell("Sales", "A6", Cell("between"))
        we.set_cell("Sales", "E9", Cell(9))
        we.set_cell("Sales", "C20", Cell("after the last row"))
        we.set_cell("Sales", "A7", Cell("Bea", style=0))
        we.save(out)
    new = read(out, "xl/worksheets/sheet1.xml")
    assert row_numbers(new) == [1, 3, 4, 6, 7, 9, 11, 20]
    before, after = rows_xml(old), rows_xml(new)
    for r in (3, 11):
        assert after[r] == before[r]
    assert re.search(rb'<c r="B4" s="(\d+)"><v>12.25</v></c>', after[4]).group(1) == \
        re.search(rb'<c r="B4" s="(\d+)"', before[4]).group(1)
    assert b'<c r="A7" t="inlineStr">' in after[7]  # style 0 asked: no s attribute
    assert b"spans=" not in after[4]
    assert new.split(b"<sheetData")[0].replace(b'ref="A1:E20"', b'ref="A3:C11"') == \
        old.split(b"<sheetData")[0].replace(b'tabSelected="1" ', b"")
    assert new.split(b"</sheetData>")[1] == old.split(b"</sheetData>")[1]
    wb = check_opens(out)
    ws = wb["Sales"]
    assert ws["B4"].value == 12.25 and ws["B4"].number_format == "#,##0.00"
    assert [ws[a].value for a in ("A1", "A3", "A6", "A7", "B7", "E9", "C20", "A11")] == [
        "before the first row", "Rep", "between", "Bea", 20, 9, "after the last row", "Cy"]
    assert ws["A3"].font.b  # the header row is untouched
    # readers that trust <dimension> (openpyxl read-only) see the new cells
    ro = openpyxl.load_workbook(out, read_only=True)
    values = [v for row in ro["Sales"].iter_rows(values_only=True) for v in row]
    ro.close()
    assert "after the last row" in values and "new col" in values
    assert calamine_rows(out, "Sales")[0][0] == "before the first row"


def test_cells_set_in_rows_without_numbers_and_in_an_empty_sheet(tmp_path: Path) -> None:
    src = tmp_path / "in.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Plain"
    for r in range(1, 6):
        ws.append([f"a{r}", r, f"c{r}"])
    wb.create_sheet("Void")
    wb.save(src)
    patch_zip(src, "xl/worksheets/sheet1.xml",
              lambda x: re.sub(rb'(<(?:row|c)\b[^>]*?) r="[A-Z]*\d+"', rb"\1", x))
    patch_zip(src, "xl/worksheets/sheet2.xml",
              lambda x: re.sub(rb"<sheetData>\s*</sheetData>|<sheetData\s*/>",
                               b"<sheetData/>", x))
    assert b' r="' not in read(src, "xl/worksheets/sheet1.xml").split(b"<sheetData>")[1]
    assert b"<sheetData/>" in read(src, "xl/worksheets/sheet2.xml")
    out = tmp_path / "out.xlsx"
    with WorkbookEdit(src) as we:
        we.set_cell("Plain", "B3", Cell("edited"))
        we.set_cell("Plain", "E2", Cell("far right"))
        we.set_cell("Plain", "A8", Cell("appended"))
        we.set_cell("Void", "B2", Cell(2))
        we.set_cell("Void", "A1", Cell("first"))
        we.save(out)
    ws = check_opens(out)["Plain"]
    assert [[c.value for c in row] for row in ws.iter_rows(max_row=5, max_col=5)] == [
        ["a1", 1, "c1", None, None], ["a2", 2, "c2", None, "far right"],
        ["a3", "edited", "c3", None, None], ["a4", 4, "c4", None, None],
        ["a5", 5, "c5", None, None]]
    assert ws["A8"].value == "appended" and ws.max_row == 8
    assert calamine_rows(out, "Plain")[7][0] == "appended"
    void = read(out, "xl/worksheets/sheet2.xml")
    assert row_numbers(void) == [1, 2]
    assert calamine_rows(out, "Void") == [["first", ""], ["", 2]]


def test_values_keep_their_type_and_text_is_never_a_formula(tmp_path: Path) -> None:
    src = simple_book(tmp_path / "in.xlsx")
    out = tmp_path / "out.xlsx"
    texts = {"A5": "=SUM(A1:A3)", "B5": "_x0041_", "C5": "tab\there\x01bell\x1f",
             "D5": "a\r\nb", "E5": "  padded ", "F5": "<&>\"'", "G5": "中文 ünï"}
    with WorkbookEdit(src) as we:
        date_xf = we.xf(Style(num_fmt="yyyy-mm-dd hh:mm"))
        for ref, text in texts.items():
            we.set_cell("A", ref, Cell(text))
        cells = {"A6": Cell(42), "B6": Cell(-1.5e-7), "C6": Cell(True), "D6": Cell(False),
                 "E6": Cell(dt.datetime(2024, 2, 29, 13, 30), style=date_xf),
                 "F6": Cell(dt.date(1999, 12, 31), style=date_xf),
                 "A7": Cell(7.5, formula="B1*2.5"), "B7": Cell("ok", formula='IF(1,"ok")'),
                 "C7": Cell(True, formula="B1>0"), "D7": Cell("#DIV/0!", formula="1/0"),
                 "E7": Cell(None, formula='""'), "F7": Cell(3, formula="B1+C1")}
        for ref, cell in cells.items():
            we.set_cell("A", ref, cell)
        we.save(out)
    sheet = read(out, "xl/worksheets/sheet1.xml")
    assert sheet.count(b"<f>") == 6  # only the formulas asked for
    ws = check_opens(out)["A"]
    assert ws["A5"].data_type == "s" and ws["A5"].value == "=SUM(A1:A3)"
    assert ws["A7"].value == "=B1*2.5" and ws["F7"].value == "=B1+C1"
    values = openpyxl.load_workbook(out, data_only=True)["A"]
    assert [values[r].value for r in ("A6", "B6", "C6", "D6", "E6", "F6")] == [
        42, -1.5e-7, True, False, dt.datetime(2024, 2, 29, 13, 30), dt.datetime(1999, 12, 31)]
    assert [values[r].value for r in ("A7", "B7", "C7", "D7", "F7")] == [
        7.5, "ok", True, "#DIV/0!", 3]
    assert values["E7"].value in (None, "")
    # openpyxl hands inline strings back as stored (it decodes no _xHHHH_ in them);
    # decoded, they are the text that was set
    for ref, text in texts.items():
        assert unescape(values[ref].value) == text, ref
    row5 = calamine_rows(out, "A")[4]
    assert row5[:7] == list(texts.values())
    row7 = calamine_rows(out, "A")[6]
    assert row7[:3] == [7.5, "ok", True] and row7[5] == 3
    row6 = calamine_rows(out, "A")[5]
    assert row6[4] == dt.datetime(2024, 2, 29, 13, 30)


def test_sheet_edit_output_does_not_depend_on_chunking() -> None:
    xml = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
           b'<worksheet xmlns="' + MAIN.encode() + b'"><dimension ref="A3:C9"/>'
           b'<sheetFormatPr defaultRowHeight="15"/><sheetData>'
           b'<row r="3" spans="1:3"><c r="A3" t="s"><v>0</v></c></row>'
           b'<row r="5"><c r="A5"><v>5</v></c><c r="C5" s="2"><v>55</v></c></row>'
           b'<row r="7"/><row r="9"><c r="B9"><v>9</v></c></row></sheetData>'
           b'<conditionalFormatting sqref="A1:A9"><cfRule type="expression" dxfId="0" '
           b'priority="4"><formula>TRUE</formula></cfRule></conditionalFormatting>'
           b'<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
           b'footer="0.3"/><tableParts count="0"/></worksheet>')
    edit = SheetEdit("xl/worksheets/sheet1.xml", selected=True, code_name="Sheet9",
                     legacy_drawing="rId3")
    for r, c in ((0, 0), (3, 1), (4, 1), (4, 2), (6, 0), (7, 0), (12, 3)):
        edit.set(r, c, Cell(f"v{r}.{c}"))
    edit.add_formats.append(b'<conditionalFormatting sqref="B1"><cfRule type="expression" '
                            b'dxfId="0" priority="0"><formula>FALSE</formula></cfRule>'
                            b"</conditionalFormatting>")
    whole = b"".join(edit.render([xml]))
    for size in (1, 2, 7, 13, 64, 500):
        pieces = (xml[i:i + size] for i in range(0, len(xml), size))
        assert b"".join(edit.render(pieces)) == whole, size
    root = ET.fromstring(whole)
    assert [local(el.tag) for el in root] == [
        "sheetPr", "dimension", "sheetViews", "sheetFormatPr", "sheetData",
        "conditionalFormatting", "conditionalFormatting", "pageMargins", "legacyDrawing",
        "tableParts"]
    assert row_numbers(whole) == [1, 3, 4, 5, 7, 8, 9, 13]
    assert b'<dimension ref="A1:D13"/>' in whole
    assert b'<sheetView tabSelected="1" workbookViewId="0"/>' in whole
    assert b'<sheetPr codeName="Sheet9"/>' in whole
    assert b'<legacyDrawing r:id="rId3"/>' in whole and root.find(
        f"{{{MAIN}}}legacyDrawing").get(f"{{{DOC_REL}}}id") == "rId3"
    assert b'<c r="C5" s="2" t="inlineStr"><is><t>v4.2</t></is></c>' in whole
    assert b'<row r="7"><c r="A7" t="inlineStr">' in whole  # was <row r="7"/>
    assert re.findall(rb'priority="(\d+)"', whole) == [b"4", b"5"]


def test_conditional_formats_added_above_the_existing_and_removed(tmp_path: Path) -> None:
    src = sales_book(tmp_path / "in.xlsx")
    first, second = tmp_path / "first.xlsx", tmp_path / "second.xlsx"
    with WorkbookEdit(src) as we:
        red = we.dxf(Style(fill="FFFFC7CE", color="FF9C0006"))
        for sqref, formula in (("A4:A11", 'ISBLANK($B4)'), ("C4:C11", '$C4="North"')):
            we.sheet("Sales").add_formats.append(
                f'<conditionalFormatting sqref="{sqref}"><cfRule type="expression" '
                f'dxfId="{red}" priority="0"><formula>{formula.replace(chr(34), "&quot;")}'
                f"</formula></cfRule></conditionalFormatting>".encode())
        we.save(first)
    sheet = read(first, "xl/worksheets/sheet1.xml")
    assert re.findall(rb'sqref="([^"]+)"><cfRule[^>]*priority="(\d+)"', sheet) == [
        (b"B4:B11", b"1"), (b"A4:A11", b"2"), (b"C4:C11", b"3")]
    cf = check_opens(first)["Sales"].conditional_formatting
    rules = {str(r.sqref): [(x.priority, x.dxfId) for x in r.rules] for r in cf}
    assert rules["A4:A11"] == [(2, red)] and rules["C4:C11"] == [(3, red)]
    with WorkbookEdit(first) as we:
        we.sheet("Sales").edit_formats = lambda block: b"" if b'"A4:A11"' in block else block
        we.save(second)
    sheet = read(second, "xl/worksheets/sheet1.xml")
    assert b"A4:A11" not in sheet and sheet.count(b"<conditionalFormatting") == 2
    check_opens(second)


def test_a_large_sheet_is_edited_as_a_stream(tmp_path: Path) -> None:
    src = tmp_path / "big.xlsx"
    wb = xlsxwriter.Workbook(str(src), {"constant_memory": True})
    ws = wb.add_worksheet("Big")
    for r in range(20_000):
        ws.write_row(r, 0, [r, r * 1.5, r % 7, r * 3, r * 4, r * 5, r * 6, r * 7, r * 8, r])
    wb.close()
    with zipfile.ZipFile(src) as zf:
        size = zf.getinfo("xl/worksheets/sheet1.xml").file_size
    assert size > 5_000_000
    out = tmp_path / "out.xlsx"
    tracemalloc.start()
    try:
        with WorkbookEdit(src) as we:
            we.set_cell("Big", "B10", Cell("ten"))
            we.set_cell("Big", "K15000", Cell(15_000))
            we.set_cell("Big", "A20005", Cell("end"))
            we.save(out)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < size // 2, f"peak {peak:,} bytes for a {size:,}-byte sheet"
    sheet = read(out, "xl/worksheets/sheet1.xml")
    assert b'<c r="B10" t="inlineStr"><is><t>ten</t></is></c>' in sheet
    assert b'<c r="K15000"><v>15000</v></c></row>' in sheet
    assert sheet.split(b"</sheetData>")[0].endswith(
        b'<row r="20005"><c r="A20005" t="inlineStr"><is><t>end</t></is></c></row>')
    assert b'<dimension ref="A1:K20005"/>' in sheet
    assert changed_entries(src, out) == {"xl/worksheets/sheet1.xml"}
    check_package(out)


# -- 4. notes ----------------------------------------------------------------------------------


def test_notes_append_to_a_users_note_and_drop_only_tagged_runs(tmp_path: Path) -> None:
    src = sales_book(tmp_path / "in.xlsx")
    first, second = tmp_path / "first.xlsx", tmp_path / "second.xlsx"
    with WorkbookEdit(src) as we:
        notes = we.notes("Notes")
        assert notes.text("A1") == "user words"
        notes.add("A1", f"{TAG} check the amount", "xlsales")
        notes.add("C3", f"{TAG} new note", "xlsales")
        we.save(first)
    wb = check_opens(first)
    a1, c3 = wb["Notes"]["A1"].comment, wb["Notes"]["C3"].comment
    assert a1.author == "Alice" and a1.text == f"user words\n{TAG} check the amount"
    assert c3.author == "xlsales" and c3.text == f"{TAG} new note"
    vml = vml_parts(first)
    assert len(vml) == 1 and len(shape_ids(next(iter(vml.values())))) == 2
    assert_unique_shapes(first)
    with WorkbookEdit(first) as we:
        notes = we.notes("Notes")
        notes.drop_tagged(TAG, "xlsales")
        we.save(second)
    wb = check_opens(second)
    assert wb["Notes"]["A1"].comment.text == "user words"
    assert wb["Notes"]["A1"].comment.author == "Alice"
    assert wb["Notes"]["C3"].comment is None
    assert len(shape_ids(next(iter(vml_parts(second).values())))) == 1


def test_notes_next_to_a_form_button_get_ids_of_their_own(tmp_path: Path) -> None:
    src = macro_book(tmp_path / "in.xlsm")
    out, dropped = tmp_path / "out.xlsm", tmp_path / "dropped.xlsm"
    button_vml = "xl/drawings/vmlDrawing1.vml"
    old = read(src, button_vml)
    assert b'ObjectType="Button"' in old and b'data="1"' in old and b"_x0000_s1025" in old
    button = re.search(rb"<v:shape\b.*?</v:shape>", old, re.DOTALL).group()
    with WorkbookEdit(src) as we:
        we.notes("Main").add("C5", f"{TAG} beside the button", "xlsales")
        notes = we.notes("Notes")
        for r in range(3):
            notes.add(f"B{r + 2}", f"{TAG} {r}", "xlsales")
        we.save(out)
    new = read(out, button_vml)
    assert button in new and b'ObjectType="Button"' in new
    assert_unique_shapes(out)
    assert all(i % 1024 for vml in vml_parts(out).values() for i in shape_ids(vml))
    wb = check_opens(out)
    assert wb["Main"]["C5"].comment.text == f"{TAG} beside the button"
    assert wb["Notes"]["A1"].comment.text == "user note"
    # the drawing stays while it holds the button; only the note goes
    with WorkbookEdit(out) as we:
        we.notes("Main").drop_tagged(TAG, "xlsales")
        we.save(dropped)
    vml = read(dropped, button_vml)
    assert button in vml and b'ObjectType="Note"' not in vml
    main = sheet_parts(dropped)["Main"]
    assert b"<legacyDrawing" in read(dropped, main)
    assert not [r for r in rels_of(dropped, main) if r["Type"].endswith("/comments")]
    check_opens(dropped)


def test_notes_in_an_openpyxl_drawing_use_its_prefixes_and_more_blocks(tmp_path: Path) -> None:
    src = tmp_path / "in.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = "x"
    ws["A1"].comment = Comment("mine", "Dana")
    wb.save(src)
    [(part, old)] = vml_parts(src).items()
    assert b"xmlns:ns0=" in old and b"<ns1:shape " in old  # ElementTree's prefixes
    out = tmp_path / "out.xlsx"
    with WorkbookEdit(src) as we:
        notes = we.notes("Sheet")
        for r in range(1100):
            notes.add(f"C{r + 1}", f"{TAG} {r}", "xlsales")
        we.save(out)
    vml = read(out, part)
    assert b"<v:" not in vml and b"<x:" not in vml
    assert vml.count(b"<ns1:shape ") == 1101 and vml.count(b"<ns2:ClientData ") == 1101
    assert block_ids(vml) == {1, 2}
    assert_unique_shapes(out)
    ws = check_opens(out)["Sheet"]
    assert ws["A1"].comment.text == "mine" and ws["C1100"].comment.text == f"{TAG} 1099"


def test_new_drawings_on_two_sheets_get_distinct_blocks(tmp_path: Path) -> None:
    src = simple_book(tmp_path / "in.xlsx", ("A", "B", "C"))
    out = tmp_path / "out.xlsx"
    with WorkbookEdit(src) as we:
        we.notes("A").add("B2", f"{TAG} a", "xlsales")
        we.notes("C").add("B2", f"{TAG} c", "xlsales")
        we.save(out)
    assert len(vml_parts(out)) == 2
    assert_unique_shapes(out)


# -- 5. whole sheets and the workbook -----------------------------------------------------------


def report_sheet(table: str = "Report") -> NewSheet:
    sheet = NewSheet(freeze=(1, 1), print_title_rows=(0, 0))
    for c, h in enumerate(["Rep", "Amount"]):
        sheet.set(0, c, Cell(h))
    sheet.set(1, 0, Cell("Ann"))
    sheet.set(1, 1, Cell(10.5, formula="Sales!B4"))
    sheet.set(2, 0, Cell("Bob"))
    sheet.set(2, 1, Cell(20))
    sheet.tables.append(TablePart(table, 0, 0, 2, ["Rep", "Amount"]))
    sheet.links.append(("A2", "'Sales'!A4", "Ann"))
    return sheet


def test_put_sheet_adds_a_sheet_after_another(tmp_path: Path) -> None:
    src = sales_book(tmp_path / "in.xlsx")
    out = tmp_path / "out.xlsx"
    with WorkbookEdit(src) as we:
        assert we.active == "Summary"
        we.put_sheet("Report 1", report_sheet(), after="Sales")
        we.save(out)
    book = ET.fromstring(read(out, "xl/workbook.xml"))
    sheets = [(s.get("name"), s.get("sheetId")) for s in book.iter(f"{{{MAIN}}}sheet")]
    assert [n for n, _ in sheets] == ["Sales", "Report 1", "Summary", "Notes", "Tab", "Empty"]
    assert len({i for _, i in sheets}) == len(sheets)
    assert next(book.iter(f"{{{MAIN}}}workbookView")).get("activeTab") == "2"
    defined = {(d.get("name"), d.get("localSheetId")): d.text
               for d in book.iter(f"{{{MAIN}}}definedName")}
    assert defined[("_xlnm.Print_Titles", "1")] == "'Report 1'!$1:$1"
    assert defined[("_xlnm.Print_Titles", "2")] == "Summary!$1:$1"  # was localSheetId 1
    assert defined[("Local", "3")] == "Notes!$A$1" and defined[("Spot", "5")] == "Empty!$A$1"
    assert defined[("_xlnm._FilterDatabase", "0")] == "Sales!$A$3:$C$11"
    assert defined[("Rate", None)] == "Sales!$B$4"
    parts = sheet_parts(out)
    selected = [n for n, p in parts.items()
                if re.search(rb'<sheetView\b[^>]*tabSelected="1"', read(out, p))]
    assert selected == ["Summary"]
    part = parts["Report 1"]
    rels = rels_of(out, part)
    assert [r["Type"].rsplit("/", 1)[1] for r in rels] == ["table"]
    xml = read(out, part)
    assert b'<hyperlink ref="A2" location="\'Sales\'!A4" display="Ann"/>' in xml
    tables = {p: ET.fromstring(read(out, p)) for p in names(out) if p.startswith("xl/tables/")}
    assert len({t.get("id") for t in tables.values()}) == len(tables) == 2
    assert sorted(t.get("name") for t in tables.values()) == ["Existing", "Report"]
    wb = check_opens(out)
    ws = wb["Report 1"]
    assert wb.active.title == "Summary"
    assert ws.freeze_panes == "B2" and ws.print_title_rows == "$1:$1"
    assert ws["A2"].hyperlink.location == "'Sales'!A4" and ws["A2"].hyperlink.target is None
    assert ws.tables["Report"].ref == "A1:B3"
    assert openpyxl.load_workbook(out, data_only=True)["Report 1"]["B2"].value == 10.5


def test_put_sheet_replaces_a_sheet_in_place_keeping_what_the_user_added(
        tmp_path: Path) -> None:
    src = macro_book(tmp_path / "in.xlsm")
    out = tmp_path / "out.xlsm"
    old_part = sheet_parts(src)["Report"]
    old = read(src, old_part)
    assert b'codeName="Sheet3"' in old and b"<drawing " in old and b"<legacyDrawing " in old
    with WorkbookEdit(src) as we:
        we.put_sheet("Report", report_sheet("Fresh"))
        we.save(out)
    assert list(sheet_parts(out)) == ["Main", "Notes", "Report"]
    assert sheet_parts(out)["Report"] == old_part
    xml = read(out, old_part)
    assert b'<sheetPr codeName="Sheet3">' in xml
    assert re.search(rb'<drawing r:id="rId\d+"/><legacyDrawing r:id="rId\d+"/>'
                     rb"<tableParts", xml)
    types = [r["Type"].rsplit("/", 1)[1] for r in rels_of(out, old_part)]
    assert sorted(types) == ["comments", "drawing", "table", "vmlDrawing"]  # no hyperlink
    comments = next(resolve(old_part, r["Target"]) for r in rels_of(src, old_part)
                    if r["Type"].endswith("/comments"))
    unchanged = set(names(src)) - changed_entries(src, out)
    assert {"xl/charts/chart1.xml", "xl/drawings/drawing1.xml", "xl/vbaProject.bin",
            comments} <= unchanged
    tables = [ET.fromstring(read(out, p)) for p in names(out) if p.startswith("xl/tables/")]
    assert [t.get("name") for t in tables] == ["Fresh"]
    wb = check_opens(out)
    ws = wb["Report"]
    assert ws["A1"].comment.text == "keep me" and ws["A1"].value == "Rep"
    assert ws.sheet_properties.codeName == "Sheet3" and len(ws._charts) == 1
    assert list(ws.tables) == ["Fresh"]


def test_remove_sheet_drops_its_parts_and_remaps_local_names(tmp_path: Path) -> None:
    src = sales_book(tmp_path / "in.xlsx")
    out = tmp_path / "out.xlsx"
    notes_part, tab_part = sheet_parts(src)["Notes"], sheet_parts(src)["Tab"]
    gone = {notes_part, tab_part, "xl/comments1.xml", "xl/drawings/vmlDrawing1.vml",
            "xl/tables/table1.xml"} | {p for p in names(src) if p.startswith(
                (notes_part.replace("sheets/", "sheets/_rels/"),
                 tab_part.replace("sheets/", "sheets/_rels/")))}
    assert gone <= set(names(src))
    with WorkbookEdit(src) as we:
        we.remove_sheet("Notes")
        we.remove_sheet("Tab")
        we.save(out)
    assert not gone & set(names(out))
    assert b"comments" not in read(out, CT_PART) and b"table1" not in read(out, CT_PART)
    book = ET.fromstring(read(out, "xl/workbook.xml"))
    defined = {(d.get("name"), d.get("localSheetId")): d.text
               for d in book.iter(f"{{{MAIN}}}definedName")}
    assert defined == {("_xlnm._FilterDatabase", "0"): "Sales!$A$3:$C$11",
                       ("_xlnm.Print_Titles", "1"): "Summary!$1:$1",
                       ("Spot", "2"): "Empty!$A$1", ("Rate", None): "Sales!$B$4"}
    assert next(book.iter(f"{{{MAIN}}}workbookView")).get("activeTab") == "1"
    wb = check_opens(out)
    assert wb.sheetnames == ["Sales", "Summary", "Empty"] and wb.active.title == "Summary"


def test_active_sheet_and_selection_follow_the_sheet(tmp_path: Path) -> None:
    src = sales_book(tmp_path / "in.xlsx")
    first, second = tmp_path / "first.xlsx", tmp_path / "second.xlsx"
    with WorkbookEdit(src) as we:
        we.put_sheet("Front", NewSheet(), after=None)
        we.remove_sheet("Sales")
        we.save(first)
    wb = check_opens(first)
    assert wb.sheetnames[-1] == "Front" and wb.active.title == "Summary"
    with WorkbookEdit(first) as we:
        we.set_active("Front")
        we.save(second)
    wb = check_opens(second)
    assert wb.active.title == "Front"
    assert [ws.title for ws in wb if ws.sheet_view.tabSelected] == ["Front"]


def test_new_sheets_of_a_macro_workbook_get_code_names(tmp_path: Path) -> None:
    src = macro_book(tmp_path / "in.xlsm")
    out = tmp_path / "out.xlsm"
    assert b"vbaProject" in read(src, "xl/_rels/workbook.xml.rels")
    assert CT_MACRO_BOOK.encode() in read(src, CT_PART)
    with WorkbookEdit(src) as we:
        assert we.macro
        we.put_sheet("Extra", NewSheet())
        we.put_sheet("Early", NewSheet(fit_width=False), after="Main")
        we.save(out)
    assert CT_MACRO_BOOK.encode() in read(out, CT_PART)
    wb = openpyxl.load_workbook(out, keep_vba=True)
    assert wb.sheetnames == ["Main", "Early", "Notes", "Report", "Extra"]
    codes = [ws.sheet_properties.codeName for ws in wb]
    assert codes[0] == "Sheet1" and len(set(codes)) == 5 and None not in codes
    assert "xl/vbaProject.bin" not in changed_entries(src, out)
    check_opens(out)


def test_the_same_edits_give_the_same_bytes(tmp_path: Path) -> None:
    src = sales_book(tmp_path / "in.xlsx")
    outs = [tmp_path / "one.xlsx", tmp_path / "two.xlsx"]
    for out in outs:
        with WorkbookEdit(src) as we:
            we.set_cell("Sales", "D4", Cell("x", style=we.xf(Style(bold=True))))
            we.notes("Notes").add("B2", f"{TAG} n", "xlsales")
            we.put_sheet("Report", report_sheet(), after="Summary")
            we.save(out)
    assert outs[0].read_bytes() == outs[1].read_bytes()
    check_opens(outs[0])


def test_saving_one_session_twice_writes_the_same_file(tmp_path: Path) -> None:
    src = simple_book(tmp_path / "in.xlsx")
    outs = [tmp_path / "one.xlsx", tmp_path / "two.xlsx"]
    with WorkbookEdit(src) as we:
        dxf = we.dxf(Style(fill="FFFFC7CE"))
        we.sheet("A").add_formats.append(
            f'<conditionalFormatting sqref="A1:A9"><cfRule type="expression" dxfId="{dxf}" '
            f'priority="0"><formula>A1&gt;1</formula></cfRule></conditionalFormatting>'.encode())
        we.set_cell("A", "D1", Cell(1))
        for out in outs:
            we.save(out)
    assert outs[0].read_bytes() == outs[1].read_bytes()


def test_remove_sheet_leaves_no_calc_chain_entries_behind(tmp_path: Path) -> None:
    src = simple_book(tmp_path / "in.xlsx")
    chain = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<calcChain '
             f'xmlns="{MAIN}"><c r="D1" i="1"/><c r="D1" i="2"/></calcChain>').encode()
    patch_zip(src, "xl/worksheets/sheet1.xml",
              lambda x: x.replace(b"</row>", b'<c r="D1"><f>B1+C1</f><v>3</v></c></row>', 1))
    patch_zip(src, "xl/worksheets/sheet2.xml",
              lambda x: x.replace(b"</row>", b'<c r="D1"><f>B1+C1</f><v>3</v></c></row>', 1))
    patch_zip(src, "xl/_rels/workbook.xml.rels", lambda x: x.replace(
        b"</Relationships>", f'<Relationship Id="rId99" Type="{DOC_REL}/calcChain" '
        f'Target="calcChain.xml"/></Relationships>'.encode()))
    patch_zip(src, CT_PART, lambda x: x.replace(b"</Types>", b'<Override PartName="/xl/'
              b'calcChain.xml" ContentType="application/vnd.openxmlformats-officedocument.'
              b'spreadsheetml.calcChain+xml"/></Types>'))
    with zipfile.ZipFile(src, "a") as zf:
        zf.writestr("xl/calcChain.xml", chain)
    check_package(src)
    out = tmp_path / "out.xlsx"
    with WorkbookEdit(src) as we:
        we.remove_sheet("B")
        we.save(out)
    check_package(out)
    if "xl/calcChain.xml" in names(out):
        assert b'i="2"' not in read(out, "xl/calcChain.xml")


# -- LibreOffice ---------------------------------------------------------------------------------


@pytest.mark.libreoffice
def test_libreoffice_loads_an_edited_workbook(soffice: str, tmp_path: Path) -> None:
    from xlsales.io.libreoffice import convert

    src = sales_book(tmp_path / "in.xlsx")
    out = tmp_path / "edited.xlsx"
    with WorkbookEdit(src) as we:
        we.set_active("Sales")
        we.set_cell("Sales", "A1", Cell("_x0041_ literal"))
        we.set_cell("Sales", "B1", Cell(2.5, formula="1+1.5"))
        we.set_cell("Sales", "C1", Cell("=not a formula"))
        we.set_cell("Sales", "D20", Cell("bottom"))
        we.notes("Sales").add("B4", f"{TAG} look", "xlsales")
        we.put_sheet("Report", report_sheet(), after="Sales")
        we.save(out)
    check_opens(out)
    csv_path = convert(out, "csv", tmp_path / "lo", soffice=soffice)
    rows = list(csv.reader(io.StringIO(csv_path.read_text(encoding="utf-8"))))
    assert rows[0][:3] == ["_x0041_ literal", "2.5", "=not a formula"]
    assert rows[3][0] == "Ann" and rows[19][3] == "bottom"


# -- whole columns ------------------------------------------------------------------------------


@pytest.mark.parametrize("values", [
    [1, 2, None, 30, -4] * 20,
    [0.1, 1e-7, 1 / 3, None, 123456789012.5, 2.5e20, -0.0, 100.0, 1e16, 3.0] * 10,
    ["Ann", "", None, "a & b <c>", "line\nbreak", " lead", "trail ", "刘 洋", "x\ry",
     "\u3000全角空格"] * 10,
    [dt.date(2024, 3, 5), None, dt.date(1900, 3, 1), dt.date(2099, 12, 31)] * 20,
    ["bad\x01control", "ok"] * 40,  # left to the plain path
    ["_x0041_ literal", "ok"] * 40,
    [1, "mixed", None] * 30,
    [True, False, None] * 30,
    [dt.datetime(2024, 3, 5, 17, 30), None] * 40,
    [None] * 70,
])
def test_a_column_at_once_writes_what_cell_by_cell_does(values: list[object]) -> None:
    from xlsales.io.edit.cells import column_xml, value_xml

    fast = column_xml(2, 4, values, style=7)
    slow = [value_xml(f"C{5 + i}", ' s="7"', v) for i, v in enumerate(values)]
    assert fast == slow  # byte for byte: numbers in the same spelling too


_CACHED = st.one_of(
    st.none(), st.just(""), st.booleans(), st.integers(), st.integers(-10**6, 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(-1e6, 1e6).map(lambda x: round(x, 2)),
    st.sampled_from([0.0, -0.0, 1e-4, 9.999e-5, 1e10, 9999999999.5, 1e15, 1e16, 1e21, 0.1]),
    st.sampled_from(["无目标", "a & b <c>", " lead", "x\ry", "_x0041_", "bad\x01", "#DIV/0!"]),
    st.sampled_from([ExcelError("#DIV/0!"), ExcelError("#N/A"), ExcelError("#VALUE!")]),
    st.sampled_from([dt.date(2024, 3, 5), dt.datetime(2024, 3, 5, 17, 30)]),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_CACHED, min_size=1, max_size=150), st.lists(st.integers(0, 10**6),
                                                             min_size=150, max_size=150))
def test_formula_cells_at_once_write_what_cell_by_cell_does(values: list[object],
                                                            rows: list[int]) -> None:
    """A formula column with its cached values (every kind: numbers near the spelling
    limits of the columnar path, text to escape, errors, booleans, blanks, dates), in any
    rows: the same bytes as :func:`formula_xml` cell by cell."""
    from xlsales.io.edit.cells import column_xml, formula_xml

    rows = rows[:len(values)]
    formulas = [f'IF(N(K{r})=0,"<>&",L{r}/K{r})' for r in rows]
    fast = column_xml(3, 0, values, style=5, formulas=formulas, rows=rows)
    slow = [formula_xml(f"D{r + 1}", ' s="5"', f, v)
            for r, f, v in zip(rows, formulas, values, strict=True)]
    assert fast == slow


def test_the_editor_refuses_what_the_reader_refuses(tmp_path: Path) -> None:
    """One safety check for reading and editing: a file the reader refuses is not edited."""
    from xlsales.io.safety import UnsafeWorkbookError

    csv = tmp_path / "export.xlsx"
    csv.write_text("date,rep,visits\n2024-03-01,Ann,3\n", encoding="utf-8")
    owner = tmp_path / "~$daily.xlsx"
    owner.write_bytes(b"\x05Ann  " + b" " * 160)
    for path in (csv, owner, tmp_path / "missing.xlsx"):
        with pytest.raises(UnsafeWorkbookError):
            WorkbookEdit(path)


def test_a_workbook_without_a_styles_part_gets_one(tmp_path: Path) -> None:
    """The styles part is optional in a package; the reader takes such a file, so the
    editor must too."""
    src = simple_book(tmp_path / "in.xlsx")
    bare = tmp_path / "bare.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(bare, "w", zipfile.ZIP_DEFLATED) as z:
        for info in zin.infolist():
            if info.filename == "xl/styles.xml":
                continue
            data = zin.read(info)
            if info.filename == "xl/_rels/workbook.xml.rels":
                data = re.sub(rb'<Relationship [^>]*styles"[^>]*/>', b"", data)
            z.writestr(info, data)
    out = tmp_path / "out.xlsx"
    with WorkbookEdit(bare) as we:
        we.set_cell("A", "B2", Cell(3.5, style=we.xf(Style(bold=True, num_fmt="0.0"))))
        we.save(out)
    assert "xl/styles.xml" in names(out)
    check_package(out)
    from tests.strict import assert_strict

    assert_strict(out)


def test_sheets_of_one_table_at_once_are_the_sheets_one_by_one(tmp_path: Path) -> None:
    """table_sheets (the weekly sheets, every week's cells computed together) writes what
    table_sheet writes sheet by sheet: an empty week, a small one and a big one."""
    from xlsales.io.edit.tables import table_sheet, table_sheets
    from xlsales.settings import Settings
    from xlsales.tables.weekly import WEEKLY

    options = Settings.default().general.model_dump()
    keys = [c.key for c in WEEKLY.columns if c.is_input]
    rng = __import__("random").Random(5)

    def row(i: int) -> dict[str, object]:
        return {"week": "2024-W10", "level": "代表", "name": f"代表{i}",
                "region": rng.choice(["华东", "", None]), "week_end": dt.date(2024, 3, 8),
                "expected": 5, "reported": rng.randint(0, 5), "visits": rng.randint(0, 9),
                "effective": rng.randint(0, 9), "amount_signed": rng.choice([0.0, 12.5]),
                "target": rng.choice([None, 0.0, 3.25, float("nan")]),
                "progress": rng.choice(["客户A:初步接触→需求分析", "", "a & b"]),
                "comment": rng.choice([None, "好"])}

    blocks = [[], [row(i) for i in range(3)], [row(i) for i in range(150)],
              [row(i) for i in range(70)]]  # two batches of 100 rows or more
    titles = ["周报 W1", "周报 W2", "周报 W3", "周报 W4"]
    tables = ["Weekly_1", "Weekly_2", "Weekly_3", "Weekly_4"]
    src = sales_book(tmp_path / "in.xlsx")
    with WorkbookEdit(src) as one:
        alone = [table_sheet(one, WEEKLY, rows, lang="zh", name=name, title=title,
                             options=options).render([])
                 for rows, name, title in zip(blocks, tables, titles, strict=True)]
    columns = {k: [r.get(k) for rows in blocks for r in rows] for k in keys}
    with WorkbookEdit(src) as many, mock.patch("xlsales.io.edit.tables.BATCH_ROWS", 100):
        together = [s.render([]) for s in table_sheets(
            many, WEEKLY, columns, [len(b) for b in blocks], lang="zh", names=tables,
            titles=titles, options=options)]
    assert together == alone


def test_tables_put_one_after_another_keep_unique_names_and_ids(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sheets whose tables share a name, put one after another (the first replacing a
    sheet and its table): every table name and id in the saved workbook is unique, and
    each table part was read once, not once per sheet put after it."""
    from xlsales.io.edit.tables import table_sheet
    from xlsales.settings import Settings
    from xlsales.tables.weekly import WEEKLY

    options = Settings.default().general.model_dump()
    rows = [{"week": "2024-W10", "level": "代表", "name": "张三", "visits": 3}]
    src = sales_book(tmp_path / "in.xlsx")
    out = tmp_path / "out.xlsx"
    with WorkbookEdit(src) as wb:
        wb.put_sheet("周报 W1", table_sheet(wb, WEEKLY, rows, lang="zh", name="Weekly",
                                            title="周报", options=options))
        wb.save(out)
    reads: list[str] = []
    with WorkbookEdit(out) as wb:
        real = wb.pkg.read
        monkeypatch.setattr(wb.pkg, "read", lambda part: reads.append(part) or real(part))
        for i in range(1, 6):  # the first one replaces 周报 W1 and its table
            wb.put_sheet(f"周报 W{i}", table_sheet(wb, WEEKLY, rows, lang="zh",
                                                   name="Weekly", title="周报",
                                                   options=options))
        wb.save(tmp_path / "again.xlsx")
    tables = [p for p in names(tmp_path / "again.xlsx") if p.startswith("xl/tables/")]
    heads = [read(tmp_path / "again.xlsx", p) for p in tables]
    found = [re.search(rb'displayName="([^"]*)"', h).group(1) for h in heads]
    ids = [re.search(rb'<table\b[^>]*\bid="(\d+)"', h).group(1) for h in heads]
    assert len(tables) >= 5 and len(set(found)) == len(found) and len(set(ids)) == len(ids)
    assert b"Weekly" in found
    read_tables = [p for p in reads if p.startswith("xl/tables/")]
    assert len(read_tables) == len(set(read_tables))


def test_xml_text_is_escaped_as_saxutils_escapes_it() -> None:
    """xlsales.io.xmltext (which spares the edits importing xml.sax.saxutils and with it
    urllib and http) escapes and quotes every text as saxutils does."""
    import random
    from xml.sax import saxutils

    from xlsales.io.xmltext import escape, quoteattr

    rng = random.Random(3)
    alphabet = ["a", "&", "<", ">", '"', "'", "\n", "\r", "\t", "中", " ", "&amp;", "]]>"]
    for _ in range(5000):
        s = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        assert escape(s) == saxutils.escape(s)
        assert escape(s, {"\r": "&#13;"}) == saxutils.escape(s, {"\r": "&#13;"})
        assert quoteattr(s) == saxutils.quoteattr(s)
