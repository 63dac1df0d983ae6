"""``Package.column_filled``: the byte search that lets a regeneration skip reading the
sheets whose kept column (the manager's comments) nobody typed into. It must never say
"empty" about a column that holds something, whatever wrote the XML."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from xlsales.io.read.package import Package

SHEET = "xl/worksheets/sheet1.xml"


def _book(tmp_path: Path, typed: str | None) -> Path:
    """A sheet with a header row 1 (A:C), 200 data rows in A:B, and column C typed into
    at row 150 when ``typed`` is given (a formula when it starts with '=')."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["name", "visits", "comment"])
    for i in range(200):
        ws.append([f"rep {i}", i, None])
        ws.cell(row=i + 2, column=3).style = "Note"  # styled, empty: <c r="C.." s=".."/>
    if typed is not None:
        ws["C150"] = typed
    path = tmp_path / "book.xlsx"
    wb.save(path)
    return path


def _rewrite(path: Path, change: Callable[[bytes], bytes]) -> Path:
    out = path.with_name("changed.xlsx")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, change(data) if info.filename == SHEET else data)
    return out


def _filled(path: Path, col: int = 2, below: int = 0) -> bool:
    with Package(path) as pkg:
        return pkg.column_filled(pkg.sheets[0].name, col, below)


@pytest.mark.parametrize("typed", ["跟进报价", "=1+1", "3"])
def test_a_typed_cell_is_seen(tmp_path: Path, typed: str) -> None:
    assert _filled(_book(tmp_path, typed))


def test_styled_empty_cells_and_the_header_are_not_content(tmp_path: Path) -> None:
    path = _book(tmp_path, None)
    assert not _filled(path)
    assert _filled(path, col=1)  # the visits column has values
    assert not _filled(_book(tmp_path, "x"), below=150)  # only rows under row 151 count


def test_a_column_sharing_a_prefix_with_another_is_not_confused(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active["CA5"] = "elsewhere"
    wb.active["C1"] = "comment"
    path = tmp_path / "wide.xlsx"
    wb.save(path)
    assert not _filled(path)


def test_xml_it_cannot_be_sure_of_counts_as_filled(tmp_path: Path) -> None:
    path = _book(tmp_path, None)
    # another writer: a cell's reference after its type attribute
    assert _filled(_rewrite(path, lambda x: x.replace(b'<c r="A2"', b'<c t="s" r="A2"', 1)))
    # a prefixed SpreadsheetML element
    assert _filled(_rewrite(path, lambda x: x.replace(b"<c r=", b"<x:c r=", 1)))
    # a cell without a reference
    assert _filled(_rewrite(path, lambda x: x.replace(b'<c r="B3"', b"<c", 1)))


def test_a_missing_sheet_holds_nothing(tmp_path: Path) -> None:
    with Package(_book(tmp_path, "x")) as pkg:
        assert not pkg.column_filled("no such sheet", 2, 0)


@pytest.mark.parametrize("where", [-5, 0, 1, 3])
def test_a_cell_split_between_two_reads_is_still_seen(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      where: int) -> None:
    """The part is searched in chunks: wherever a chunk ends — inside the typed cell's
    tag, right after it (before the value it holds), inside the value — it is found."""
    from xlsales.io.read import package

    path = _book(tmp_path, "跟进报价")
    with zipfile.ZipFile(path) as z:
        xml = z.read(SHEET)
    end_of_tag = xml.index(b">", xml.index(b'<c r="C150"')) + 1
    monkeypatch.setattr(package, "CHUNK", end_of_tag + where)
    assert _filled(path)
