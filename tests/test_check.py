"""The Excel-strict checker on real workbooks: a clean one written by XlsxWriter, then
the same workbook with exactly one defect patched into its zip parts."""

from __future__ import annotations

import datetime as dt
import re
import time
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from tests.strict import assert_strict, formula_cells
from xlsales.io import check
from xlsales.io.check import Problem, check_workbook, format_problems

SHEET1 = "xl/worksheets/sheet1.xml"
SHEET2 = "xl/worksheets/sheet2.xml"
WORKBOOK = "xl/workbook.xml"
EXPECTED: dict[tuple[str, str], object] = {
    ("Sheet1", "C2"): 4,
    ("Sheet1", "C3"): 6.0,
    ("Sheet1", "D2"): "xAnn",
    ("Sheet1", "E2"): True,
    ("Sheet1", "F2"): dt.date(2024, 1, 31),
    ("Sheet1", "G2"): "#DIV/0!",
    ("Sheet1", "H2"): 20,
    ("Sheet1", "A1"): "Rep",
    ("Data", "A2"): "Bob",
    ("Sheet1", "Z99"): None,
}
Found = list[tuple[str, str | None, str | None]]


def build(path: Path, *, tables: int = 1, data_comment: bool = False,
          select_data: bool = False) -> Path:
    """The clean workbook: cached formula results, a note, a table, a list validation on
    a defined name, an internal and an external hyperlink."""
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Sheet1")
    data = wb.add_worksheet("Data")
    for i, rep in enumerate(["Ann", "Bob", "Cy"]):
        data.write(i, 0, rep)
    wb.define_name("xs_reps", "=Data!$A$1:$A$3")
    ws.write_row("A1", ["Rep", "Amount", "Double", "Label"])
    ws.write_row("A2", ["Ann", 2])
    ws.write_row("A3", ["Bob", 3])
    ws.write_formula("C2", "=B2*2", None, 4)
    ws.write_formula("C3", "=B3*2", None, 6)
    ws.write_formula("D2", '="x"&A2', None, "xAnn")
    ws.write_formula("E2", "=B2>1", None, True)
    ws.write_formula("F2", "=DATE(2024,1,31)", wb.add_format({"num_format": "yyyy-mm-dd"}),
                     45322)
    ws.write_formula("G2", "=1/0", None, "#DIV/0!")
    ws.write_array_formula("H2:H3", "{=B2:B3*10}", None, 20)
    ws.write_comment("A1", "Names come from the Data sheet")
    ws.data_validation("A2:A3", {"validate": "list", "source": "xs_reps"})
    ws.write_url("J1", "internal:'Sheet1'!A1", string="top")
    ws.write_url("J2", "https://example.com", string="site")
    ws.add_table("A5:C7", {"name": "Deals", "data": [["Ann", 1, "x"]], "columns": [
        {"header": "Rep"}, {"header": "Amt"}, {"header": "Line\nBreak"}]})
    if tables == 2:
        ws.write_row("A7", ["Rep2", "Amt2", "Note2"])  # a data row of the first table
        ws.add_table("A10:C12", {"name": "Deals2", "columns": [
            {"header": "Rep2"}, {"header": "Amt2"}, {"header": "Note2"}]})
    if data_comment:
        data.write_comment("B1", "A second note")
    if select_data:
        data.select()
    wb.close()
    return path


def patch(src: Path, dst: Path, edits: dict[str, list[tuple[bytes, bytes]]]) -> Path:
    """A copy of ``src`` with bytes of its parts replaced (each ``old`` must occur)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
        for info in zin.infolist():
            data = zin.read(info.filename)
            for old, new in edits.get(info.filename, []):
                assert old in data, f"{old!r} not in {info.filename}"
                data = data.replace(old, new)
            out.writestr(info, data)
    return dst


def found(problems: list[Problem]) -> Found:
    return [(p.kind, p.sheet, p.cell) for p in problems]


# name: (build options, patches, the problems expected)
CASES: dict[str, tuple[dict[str, object], dict[str, list[tuple[bytes, bytes]]], Found]] = {
    "value-removed": ({}, {SHEET1: [(b"<f>B2*2</f><v>4</v>", b"<f>B2*2</f>")]},
                      [("formula-no-cache", "Sheet1", "C2")]),
    "numeric-empty-value": ({}, {SHEET1: [(b"<f>B2*2</f><v>4</v>", b"<f>B2*2</f><v></v>")]},
                            [("formula-no-cache", "Sheet1", "C2")]),
    "numeric-value-tag-empty": ({}, {SHEET1: [(b"<v>4</v>", b"<v/>")]},
                                [("formula-no-cache", "Sheet1", "C2")]),
    "string-value-removed": ({}, {SHEET1: [(b"<v>xAnn</v>", b"")]},
                             [("formula-no-cache", "Sheet1", "D2")]),
    "shared-child-uncached": ({}, {SHEET1: [
        (b'<c r="C2"><f>B2*2</f>', b'<c r="C2"><f t="shared" ref="C2:C3" si="0">B2*2</f>'),
        (b"<f>B3*2</f><v>6</v>", b'<f t="shared" si="0"/>')]},
        [("formula-no-cache", "Sheet1", "C3")]),
    "array-uncached": ({}, {SHEET1: [(b"<v>20</v>", b"")]},
                       [("formula-no-cache", "Sheet1", "H2")]),
    "cell-without-ref": ({}, {SHEET1: [(b'<c r="C2"><f>B2*2</f><v>4</v></c>',
                                        b"<c><f>B2*2</f></c>")]},
                         [("formula-no-cache", "Sheet1", "C2")]),
    "data-selected": ({}, {SHEET2: [(b'<sheetView workbookViewId="0"/>',
                                     b'<sheetView tabSelected="1" workbookViewId="0"/>')]},
                      [("group-mode", "Data", None)]),
    "selected-not-active": ({}, {WORKBOOK: [(b'<workbookView ', b'<workbookView activeTab="1" ')]},
                            [("group-mode", "Sheet1", None)]),
    "duplicate-shape-id": ({"data_comment": True}, {
        "xl/drawings/vmlDrawing2.vml": [(b"_x0000_s2049", b"_x0000_s1025")]},
        [("duplicate-shape-id", "Data", None)]),
    "shared-idmap-block": ({"data_comment": True}, {
        "xl/drawings/vmlDrawing2.vml": [(b'data="2"', b'data="1"')]},
        [("shared-idmap-block", "Data", None)]),
    "shared-vml-part": ({"data_comment": True}, {
        "xl/worksheets/_rels/sheet2.xml.rels": [(b"vmlDrawing2.vml", b"vmlDrawing1.vml")]},
        [("shared-vml-part", "Data", None)]),
    "validation-leading-equals": ({}, {SHEET1: [(b"<formula1>xs_reps</formula1>",
                                                 b"<formula1>=xs_reps</formula1>")]},
                                  [("validation-leading-equals", "Sheet1", "A2:A3")]),
    "link-to-self-by-hash": ({}, {"xl/worksheets/_rels/sheet1.xml.rels": [
        (b'Target="https://example.com"', b"Target=\"#'Sheet1'!A1\"")]},
        [("external-link-to-self", "Sheet1", "J2")]),
    "link-to-self-by-name": ({}, {"xl/worksheets/_rels/sheet1.xml.rels": [
        (b'Target="https://example.com"', b'Target="file:///C:/Sales/case.xlsx#Data!A1"')]},
        [("external-link-to-self", "Sheet1", "J2")]),
    "table-column-renamed": ({}, {"xl/tables/table1.xml": [(b'name="Amt"', b'name="Amount"')]},
                             [("table-header-mismatch", "Sheet1", "B5")]),
    "overlapping-tables": ({"tables": 2}, {"xl/tables/table2.xml": [
        (b'ref="A10:C12"', b'ref="A7:C9"')]}, [("overlapping-tables", "Sheet1", "A7:C9")]),
    "duplicate-table-name": ({"tables": 2}, {"xl/tables/table2.xml": [
        (b'name="Deals2" displayName="Deals2"', b'name="DEALS" displayName="DEALS"')]},
        [("duplicate-table-name", "Sheet1", None)]),
    "duplicate-table-id": ({"tables": 2}, {"xl/tables/table2.xml": [
        (b'id="2" name="Deals2"', b'id="1" name="Deals2"')]},
        [("duplicate-table-name", "Sheet1", None)]),
    "comments-without-vml": ({}, {SHEET1: [(b'<legacyDrawing r:id="rId2"/>', b"")]},
                             [("comments-without-vml", "Sheet1", None)]),
    "defined-name-bad-sheet": ({}, {WORKBOOK: [(b'<definedName name="xs_reps">',
                                                b'<definedName name="xs_reps" localSheetId="2">')]},
                               [("defined-name-bad-sheet", None, None)]),
    "hyperlink-without-relationship": ({}, {SHEET1: [(b'ref="J2" r:id="rId1"',
                                                      b'ref="J2" r:id="rId9"')]},
                                       [("missing-relationship", "Sheet1", "J2")]),
}


def make_case(tmp_path: Path, name: str) -> Path:
    options, edits, _ = CASES[name]
    base = build(tmp_path / f"base-{name}.xlsx", **options)  # type: ignore[arg-type]
    return patch(base, tmp_path / "case.xlsx", edits)


# -- clean workbooks ------------------------------------------------------------------------


@pytest.mark.parametrize("options", [{}, {"tables": 2, "data_comment": True}])
def test_clean_workbook_has_no_problems(tmp_path: Path, options: dict[str, object]) -> None:
    path = build(tmp_path / "good.xlsx", **options)  # type: ignore[arg-type]
    assert check_workbook(path, expected=EXPECTED) == []
    assert_strict(path, EXPECTED)


def test_activated_sheet_is_not_group_mode(tmp_path: Path) -> None:
    wb = xlsxwriter.Workbook(str(tmp_path / "active.xlsx"))
    wb.add_worksheet("One")
    wb.add_worksheet("Two").activate()
    wb.close()
    assert check_workbook(tmp_path / "active.xlsx") == []


def test_selecting_a_second_sheet_groups_them(tmp_path: Path) -> None:
    path = build(tmp_path / "grouped.xlsx", select_data=True)
    assert found(check_workbook(path)) == [("group-mode", "Data", None)]


def test_cached_empty_string_and_excel_escaped_column_name_are_fine(tmp_path: Path) -> None:
    base = build(tmp_path / "base.xlsx")
    path = patch(base, tmp_path / "ok.xlsx", {
        SHEET1: [(b"<v>xAnn</v>", b"<v></v>")],
        "xl/tables/table1.xml": [(b"Line&#xA;Break", b"Line_x000a_Break")]})
    expected = dict(EXPECTED)
    expected["Sheet1", "D2"] = None
    assert check_workbook(path, expected=expected) == []
    assert formula_cells(path)["Sheet1", "D2"] == ('"x"&A2', "")


def test_formula_cells(tmp_path: Path) -> None:
    cells = formula_cells(build(tmp_path / "good.xlsx"))
    assert cells == {
        ("Sheet1", "C2"): ("B2*2", 4.0),
        ("Sheet1", "C3"): ("B3*2", 6.0),
        ("Sheet1", "D2"): ('"x"&A2', "xAnn"),
        ("Sheet1", "E2"): ("B2>1", True),
        ("Sheet1", "F2"): ("DATE(2024,1,31)", 45322.0),
        ("Sheet1", "G2"): ("1/0", "#DIV/0!"),
        ("Sheet1", "H2"): ("B2:B3*10", 20.0),
    }


# -- one defect at a time -----------------------------------------------------------------


@pytest.mark.parametrize("name", CASES)
def test_defect_is_reported(tmp_path: Path, name: str) -> None:
    path = make_case(tmp_path, name)
    problems = check_workbook(path)
    assert found(problems) == CASES[name][2], format_problems(problems)
    with pytest.raises(AssertionError, match=CASES[name][2][0][0]):
        assert_strict(path)


def test_defects_are_found_across_chunk_boundaries(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Every part read in 61-byte chunks finds the same problems."""
    paths = {}
    for name in CASES:
        (tmp_path / name).mkdir()
        paths[name] = make_case(tmp_path / name, name)
    monkeypatch.setattr(check, "CHUNK", 61)
    for name, path in paths.items():
        assert found(check_workbook(path)) == CASES[name][2], name
    good = build(tmp_path / "good.xlsx", tables=2, data_comment=True)
    assert check_workbook(good, expected=EXPECTED) == []


@pytest.mark.parametrize(("cell", "value"), [
    ("C2", 5), ("C2", 4.0001), ("D2", "xann"), ("E2", False), ("E2", 1),
    ("F2", dt.date(2024, 1, 30)), ("G2", "#N/A"), ("A1", None), ("Z99", 0)])
def test_cache_mismatch(tmp_path: Path, cell: str, value: object) -> None:
    path = build(tmp_path / "good.xlsx")
    problems = check_workbook(path, expected={("Sheet1", cell): value})
    assert found(problems) == [("formula-cache-mismatch", "Sheet1", cell)]
    assert f"expected {value!r}" in str(problems[0])


def test_cache_matches_within_tolerance_and_by_datetime(tmp_path: Path) -> None:
    path = build(tmp_path / "good.xlsx")
    assert check_workbook(path, expected={
        ("Sheet1", "C2"): 4 * (1 + 1e-12),
        ("sheet1", "F2"): dt.datetime(2024, 1, 31),
        ("Sheet1", "$H$2"): 20}) == []


def test_unknown_sheet_in_expected(tmp_path: Path) -> None:
    path = build(tmp_path / "good.xlsx")
    assert found(check_workbook(path, expected={("Nope", "A1"): 1})) == [
        ("formula-cache-mismatch", "Nope", "A1")]


def test_other_workbook_link_is_not_self(tmp_path: Path) -> None:
    base = build(tmp_path / "base.xlsx")
    path = patch(base, tmp_path / "case.xlsx", {"xl/worksheets/_rels/sheet1.xml.rels": [
        (b'Target="https://example.com"', b'Target="other.xlsx#Data!A1"')]})
    assert check_workbook(path) == []


def test_prefixed_sheet_xml(tmp_path: Path) -> None:
    """Sheet XML whose elements carry a namespace prefix (``<x:c>``) is read the same."""
    base = build(tmp_path / "base.xlsx")
    with zipfile.ZipFile(base) as zf:
        xml = zf.read(SHEET1)
    main = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    prefixed = re.sub(rb"<(/?)(?=[A-Za-z])", rb"<\1x:", xml).replace(main, main.replace(
        b"xmlns=", b"xmlns:x="))
    prefixed = prefixed.replace(b"<x:f>B2*2</x:f><x:v>4</x:v>", b"<x:f>B2*2</x:f>")
    path = patch(base, tmp_path / "prefixed.xlsx", {SHEET1: [(xml, prefixed)]})
    problems = check_workbook(path, expected={("Sheet1", "A1"): "Rep", ("Sheet1", "D2"): "xAnn"})
    assert found(problems) == [("formula-no-cache", "Sheet1", "C2")], format_problems(problems)


# -- what other writers produce -------------------------------------------------------------


def test_openpyxl_round_trip_loses_cached_values(tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(build(tmp_path / "good.xlsx"))
    wb.save(tmp_path / "saved.xlsx")
    problems = check_workbook(tmp_path / "saved.xlsx")
    assert {p.kind for p in problems} == {"formula-no-cache"}, format_problems(problems)
    assert sorted(p.cell or "" for p in problems) == ["C2", "C3", "D2", "E2", "F2", "G2",
                                                      "H2"]
    assert all(value is None for _, value in formula_cells(tmp_path / "saved.xlsx").values())


def test_openpyxl_notes_on_two_sheets_clash(tmp_path: Path) -> None:
    """openpyxl writes each sheet's note drawing with idmap block 1 and the same shape
    ids (prefixes ns0/ns1): both clashes are found."""
    wb = openpyxl.Workbook()
    first = wb.active
    first.title = "One"
    first["A1"] = "a"
    first["A1"].comment = openpyxl.comments.Comment("first", "me")
    second = wb.create_sheet("Two")
    second["B2"] = "b"
    second["B2"].comment = openpyxl.comments.Comment("second", "me")
    wb.save(tmp_path / "notes.xlsx")
    with zipfile.ZipFile(tmp_path / "notes.xlsx") as zf:
        assert any(b"ns0:idmap" in zf.read(n) for n in zf.namelist() if n.endswith(".vml"))
    kinds = {(p.kind, p.sheet) for p in check_workbook(tmp_path / "notes.xlsx")}
    assert kinds == {("shared-idmap-block", "Two"), ("duplicate-shape-id", "Two")}


def test_problem_text() -> None:
    p = Problem("formula-no-cache", SHEET1, "Sheet1", "C2", "formula =B2*2 has no value")
    assert str(p) == ("formula-no-cache: xl/worksheets/sheet1.xml [Sheet1!C2]: "
                      "formula =B2*2 has no value")
    assert format_problems([]) == "no problems"
    assert format_problems([p, p]).splitlines() == ["2 problems:", f"  - {p}", f"  - {p}"]


def test_many_problems_are_capped(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in range(1, 201):
        ws.cell(row, 1, f"=ROW()*{row}")
    wb.save(tmp_path / "many.xlsx")
    problems = check_workbook(tmp_path / "many.xlsx")
    assert len(problems) == check.MAX_PER_PART + 1
    assert "150 more" in problems[-1].detail


# -- a long sheet ---------------------------------------------------------------------------


def test_large_sheet_streams_in_bounded_memory(tmp_path: Path) -> None:
    rows = 50_000
    path = tmp_path / "large.xlsx"
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("Big")
    for r in range(rows):
        ws.write_row(r, 0, [r, r * 2, r * 3, r / 7, f"rep {r % 40}", "North"])
        ws.write_formula(r, 6, f"=A{r + 1}+B{r + 1}", None, r * 3)
    wb.close()
    with zipfile.ZipFile(path) as zf:
        assert zf.getinfo("xl/worksheets/sheet1.xml").file_size > 5_000_000
    tracemalloc.start()
    started = time.perf_counter()
    try:
        problems = check_workbook(path, expected={
            ("Big", "G50000"): 3 * (rows - 1), ("Big", "E49999"): "rep 38",
            ("Big", "G2"): 4})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - started
    assert found(problems) == [("formula-cache-mismatch", "Big", "G2")]
    assert peak < 60_000_000, f"peak {peak / 1e6:.1f} MB"
    assert elapsed < 30, f"{elapsed:.1f} s"
    assert len(formula_cells(path)) == rows
