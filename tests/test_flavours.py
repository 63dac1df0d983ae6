"""The flavoured workbook fixtures of ``tests/flavours.py``: each flavour of the demo
workspace's workbooks holds what it claims, and xlsales still reads the same data."""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from tests.flavours import (
    ALL_FLAVOURS,
    CUSTOM_PROPERTY,
    DASHBOARD_SHEET,
    DOC_TITLE_SUFFIX,
    EXTERNAL_URL,
    LIBREOFFICE_FLAVOURS,
    MANAGER,
    MANAGER_COMMENT,
    SUMMARY_TABLE,
    FlavourCache,
    book_info,
    changed_parts,
    flavoured,
    flavoured_workspace,
    parts,
    relationships,
    sheet_parts,
)
from xlsales.sample import SAMPLE_TODAY
from xlsales.settings import Settings
from xlsales.vba.macros import BOOK_BUTTONS, BUTTONS

BOOKS = ("daily_report.xlsx", "customers.xlsx", "meeting_agenda.xlsx")
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
CFB_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FLAVOUR_PARAMS = [pytest.param(f, marks=pytest.mark.libreoffice)
                  if f in LIBREOFFICE_FLAVOURS else f for f in ALL_FLAVOURS]


def cached(request: pytest.FixtureRequest, flavour: str, book: str) -> Path:
    """The cached ``flavour`` of the demo workbook ``book`` (read only)."""
    name = "libreoffice_flavours" if flavour in LIBREOFFICE_FLAVOURS else "flavour_cache"
    cache: FlavourCache = request.getfixturevalue(name)
    return cache.path(request.getfixturevalue("demo_workspace") / book, flavour)


# -- helpers ----------------------------------------------------------------------------------

def xml(package: dict[str, bytes], part: str) -> ET.Element:
    return ET.fromstring(package[part])


def rels_of(package: dict[str, bytes], part: str, kind: str) -> list[str]:
    return [r.target for r in relationships(package, part) if r.type == kind]


def validation(path: Path, settings: Settings) -> tuple[set[tuple[Any, ...]], str]:
    """What xlsales reads and finds in ``path``: (findings, the tables' records as JSON)."""
    from xlsales.validate import validate_file

    result = validate_file(path, settings=settings, today=SAMPLE_TODAY, context_tables={})
    findings = {(f.severity, f.rule, f.sheet, f.cell) for f in result.findings}
    records = {key: t.records() for key, t in result.tables.items()}
    assert records, f"xlsales found no table in {path.name}"
    return findings, json.dumps(records, default=str, sort_keys=True, ensure_ascii=False)


def assert_macros(path: Path, base: Path) -> None:
    """``path`` is ``base`` (.xlsx) with the VBA project, code names, buttons and the
    ``xlwings.conf`` sheet, and nothing else changed."""
    before, after = parts(base), parts(path)
    info = book_info(path)
    assert path.suffix == ".xlsm"
    assert after["xl/vbaProject.bin"].startswith(CFB_MAGIC)
    types = after["[Content_Types].xml"].decode()
    assert "application/vnd.ms-excel.sheet.macroEnabled.main+xml" in types
    assert "application/vnd.ms-office.vbaProject" in types
    assert rels_of(after, "xl/workbook.xml", "vbaProject") == ["xl/vbaProject.bin"]
    assert 'codeName="ThisWorkbook"' in after["xl/workbook.xml"].decode()

    sheets = sheet_parts(after)
    assert list(sheets)[:-1] == list(sheet_parts(before)) and list(sheets)[-1] == "xlwings.conf"
    conf = next(s for s in xml(after, "xl/workbook.xml").iter(f"{MAIN}sheet")
                if s.get("name") == "xlwings.conf")
    assert conf.get("state") == "hidden"

    # The buttons: in the data sheet's legacy drawing, next to the comments it had.
    (vml,) = rels_of(after, info.data_part, "vmlDrawing")
    drawing = after[vml].decode()
    ET.fromstring(drawing)  # well-formed
    macros = re.findall(r"<x:FmlaMacro>\[0\]!(\w+)</x:FmlaMacro>", drawing)
    assert sorted(macros) == sorted(BUTTONS[b].macro for b in BOOK_BUTTONS[info.key])
    assert drawing.count('ObjectType="Button"') == len(macros)
    shape_ids = re.findall(r'\bid="(_x0000_s\d+)"', drawing)
    assert len(shape_ids) == len(set(shape_ids))
    old_vml = rels_of(before, info.data_part, "vmlDrawing")
    notes = before[old_vml[0]].decode().count('ObjectType="Note"') if old_vml else 0
    assert drawing.count('ObjectType="Note"') == notes

    # Nothing else changed: sheets only gained their code name (and the data sheet its
    # legacy drawing when it had none).
    changed = changed_parts(base, path)
    new_sheet = sheets["xlwings.conf"]
    expected = {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                "xl/vbaProject.bin", vml, new_sheet, *sheets.values()}
    if not old_vml:
        expected.add(info.data_part.replace("worksheets/", "worksheets/_rels/") + ".rels")
    assert changed <= expected
    for part in sheet_parts(before).values():
        text = after[part].decode()
        text = re.sub(r'<sheetPr codeName="Sheet\d+"/>', "", text)
        text = re.sub(r' codeName="Sheet\d+"', "", text)
        if part == info.data_part and not old_vml:
            text = re.sub(r"<legacyDrawing [^>]*/>", "", text)
        assert text == before[part].decode(), part

    from oletools.olevba import VBA_Parser

    parser = VBA_Parser(str(path))
    try:
        modules = {Path(m[1]).name for m in parser.extract_macros()}
    finally:
        parser.close()
    assert {"XlsalesButtons", "xlwings", "ThisWorkbook"} <= {m.split(".")[0] for m in modules}


def assert_rich(path: Path, plain: Path) -> None:
    """Everything the rich flavour claims is in ``path``."""
    pkg = parts(path)
    info = book_info(path)
    sheets = sheet_parts(pkg)
    dashboard = DASHBOARD_SHEET[info.lang]
    assert list(sheets)[: len(sheet_parts(parts(plain)))] == list(sheet_parts(parts(plain)))
    for name in (info.data_sheet, dashboard):
        sheet = sheets[name]
        (drawing,) = rels_of(pkg, sheet, "drawing")
        charts = rels_of(pkg, drawing, "chart")
        images = rels_of(pkg, drawing, "image")
        assert len(charts) == 1 and len(images) == 1, name
        assert xml(pkg, charts[0]).tag.endswith("chartSpace")
        assert pkg[images[0]].startswith(PNG_MAGIC)
        (pivot,) = rels_of(pkg, sheet, "pivotTable")
        (cache,) = rels_of(pkg, pivot, "pivotCacheDefinition")
        assert rels_of(pkg, cache, "pivotCacheRecords")
        source = xml(pkg, cache).find(f"{MAIN}cacheSource/{MAIN}worksheetSource")
        assert source is not None and source.get("sheet") == info.data_sheet
        links = xml(pkg, sheet).findall(f"{MAIN}hyperlinks/{MAIN}hyperlink")
        assert any(r.external and r.target.rstrip("/") == EXTERNAL_URL
                   for r in relationships(pkg, sheet) if r.type == "hyperlink"), name
        protection = xml(pkg, sheet).find(f"{MAIN}sheetProtection")
        if name == dashboard:
            assert protection is not None and protection.get("sheet") in ("1", "true")
            assert any(link.get("location") == f"'{info.data_sheet}'!A1" for link in links)
        else:
            assert protection is None
    assert xml(pkg, "xl/workbook.xml").find(f"{MAIN}pivotCaches") is not None

    tables = [xml(pkg, t).get("name") for t in rels_of(pkg, sheets[dashboard], "table")]
    assert tables == [SUMMARY_TABLE]
    data = xml(pkg, info.data_part)
    pane = data.find(f"{MAIN}sheetViews/{MAIN}sheetView/{MAIN}pane")
    assert pane is not None and pane.get("state") == "frozen"
    (comments,) = rels_of(pkg, info.data_part, "comments")
    note = xml(pkg, comments)
    authors = [a.text for a in note.iter(f"{MAIN}author")]
    mine = [c for c in note.iter(f"{MAIN}comment")
            if MANAGER_COMMENT in "".join(t.text or "" for t in c.iter(f"{MAIN}t"))]
    assert len(mine) == 1 and authors[int(mine[0].get("authorId", "-1"))] == MANAGER

    core = pkg["docProps/core.xml"].decode()
    assert DOC_TITLE_SUFFIX in core and f"<dc:creator>{MANAGER}</dc:creator>" in core
    custom = pkg["docProps/custom.xml"].decode()
    assert f'name="{CUSTOM_PROPERTY[0]}"' in custom and CUSTOM_PROPERTY[1] in custom
    assert "docProps/custom.xml" in pkg["_rels/.rels"].decode()


# -- tests ------------------------------------------------------------------------------------

def test_parts_and_changed_parts(demo_workspace: Path, tmp_path: Path) -> None:
    src = demo_workspace / "meeting_agenda.xlsx"
    copy = Path(shutil.copyfile(src, tmp_path / src.name))
    assert parts(copy) == parts(src) and changed_parts(src, copy) == set()
    edited = {**parts(src), "docProps/app.xml": b"<x/>", "new.xml": b"<y/>"}
    edited.pop("xl/theme/theme1.xml")
    with zipfile.ZipFile(tmp_path / "edited.xlsx", "w") as z:
        for name, data in edited.items():
            z.writestr(name, data)
    assert changed_parts(src, tmp_path / "edited.xlsx") == {
        "docProps/app.xml", "new.xml", "xl/theme/theme1.xml"}


@pytest.mark.parametrize("book", BOOKS)
def test_plain_is_the_file(request: pytest.FixtureRequest, demo_workspace: Path,
                           book: str) -> None:
    assert parts(cached(request, "plain", book)) == parts(demo_workspace / book)


@pytest.mark.parametrize("book", BOOKS)
def test_xlsm(request: pytest.FixtureRequest, demo_workspace: Path, book: str) -> None:
    assert_macros(cached(request, "xlsm", book), demo_workspace / book)


@pytest.mark.libreoffice
@pytest.mark.parametrize("book", BOOKS)
def test_rich(request: pytest.FixtureRequest, demo_workspace: Path, book: str) -> None:
    assert_rich(cached(request, "rich", book), demo_workspace / book)


@pytest.mark.libreoffice
@pytest.mark.parametrize("book", BOOKS)
def test_rich_xlsm(request: pytest.FixtureRequest, demo_workspace: Path, book: str) -> None:
    path = cached(request, "rich_xlsm", book)
    assert_rich(path, demo_workspace / book)
    assert_macros(path, cached(request, "rich", book))


@pytest.mark.parametrize("flavour", FLAVOUR_PARAMS)
@pytest.mark.parametrize("book", BOOKS)
def test_xlsales_reads_the_same_data(request: pytest.FixtureRequest, demo_workspace: Path,
                                     demo_settings: Settings, flavour: str,
                                     book: str) -> None:
    path = cached(request, flavour, book)
    assert validation(path, demo_settings) == validation(demo_workspace / book, demo_settings)


@pytest.mark.parametrize("flavour", ["xlsm", pytest.param("rich", marks=pytest.mark.libreoffice)])
def test_copies_are_fresh(request: pytest.FixtureRequest, demo_workspace: Path,
                          tmp_path: Path, flavour: str) -> None:
    """flavoured() hands out copies: editing one leaves the cache alone."""
    cache_name = "libreoffice_flavours" if flavour in LIBREOFFICE_FLAVOURS else "flavour_cache"
    cache: FlavourCache = request.getfixturevalue(cache_name)
    src = demo_workspace / "meeting_agenda.xlsx"
    copy = flavoured(src, flavour, tmp_path, cache=cache)
    assert copy.name == "meeting_agenda" + (".xlsm" if flavour == "xlsm" else ".xlsx")
    before = parts(cache.path(src, flavour))
    copy.write_bytes(b"edited")
    assert parts(cache.path(src, flavour)) == before


def test_xlsm_workspace(flavour_cache: FlavourCache, demo_workspace: Path,
                        demo_settings: Settings, tmp_path: Path) -> None:
    """A workspace whose daily report is the .xlsm: xlsales finds and reads it."""
    from xlsales.jobs import load_daily
    from xlsales.workspace import book_path

    root = flavoured_workspace(demo_workspace, "xlsm", tmp_path / "ws", ["daily_report.xlsx"],
                               cache=flavour_cache)
    assert book_path(root, "daily").name == "daily_report.xlsm"
    assert not (root / "daily_report.xlsx").exists()
    daily = load_daily(root, today=SAMPLE_TODAY, settings=demo_settings)
    plain = load_daily(demo_workspace, today=SAMPLE_TODAY, settings=demo_settings)
    assert len(daily.frame) == len(plain.frame) > 0
