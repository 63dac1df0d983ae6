"""Data rows removed from a daily report in place (xlsales/io/edit/remove.py)."""

from __future__ import annotations

import csv
import io
import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from tests.strict import assert_strict
from xlsales import tables as T
from xlsales.errors import WorkbookError
from xlsales.io.check import check_workbook
from xlsales.io.edit.book import WorkbookEdit
from xlsales.io.edit.remove import remove_rows
from xlsales.io.read import read_table
from xlsales.jobs.sources import workspace_settings
from xlsales.settings import Settings

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "sample_team"
DAILY = T.get("daily")


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _remove(path: Path, settings: Settings, pick: Callable[[pd.DataFrame], pd.Series]
            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Remove the rows ``pick`` selects; (the rows that should remain, the rows read)."""
    table = read_table(path, DAILY, settings)
    gone = table.df.index[pick(table.df).to_numpy()]
    with WorkbookEdit(path) as wb:
        assert remove_rows(wb, table, [int(r) for r in gone]) == len(gone)
        wb.save()
    kept = table.df.drop(index=gone)
    return kept, read_table(path, DAILY, settings).df


def _same_rows(kept: pd.DataFrame, now: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(kept.reset_index(drop=True), now.reset_index(drop=True))


@pytest.fixture
def settings() -> Settings:
    return workspace_settings(SAMPLE)


@pytest.fixture
def daily(tmp_path: Path) -> Path:
    out = tmp_path / "daily_report.xlsx"
    shutil.copy(SAMPLE / "daily_report.xlsx", out)
    return out


def test_rows_before_a_day_go_and_the_rest_move_up(daily: Path, settings: Settings) -> None:
    before = _parts(daily)
    kept, now = _remove(daily, settings, lambda df: df["date"] < pd.Timestamp("2024-01-01"))
    _same_rows(kept, now)
    assert len(now) == 722 and list(now.index) == list(range(4, 4 + 722))
    after = _parts(daily)
    changed = {n for n in before if before[n] != after.get(n)}
    assert changed == {"xl/worksheets/sheet1.xml", "xl/tables/table1.xml"}
    assert set(after) == set(before)
    table = after["xl/tables/table1.xml"].decode()
    assert 'ref="A3:M725"' in table and '<autoFilter ref="A3:M725"/>' in table
    sheet = after["xl/worksheets/sheet1.xml"].decode()
    assert '<dimension ref="A1:M725"/>' in sheet
    tail = sheet[sheet.index("</sheetData>"):]
    # every conditional format and validation now ends at the table's new last row, and
    # the conditional formats still read their own row (the first row kept moved to 4)
    assert re.findall(r'sqref="[A-Z]4:[A-Z](\d+)"', tail) == ["725"] * 13
    assert "<formula>N(D4)&gt;N(C4)</formula>" in tail
    assert '<c r="A4" ' in sheet and 'r="A726"' not in sheet
    assert_strict(daily)


def test_scattered_rows(daily: Path, settings: Settings) -> None:
    kept, now = _remove(daily, settings, lambda df: pd.Series(df.index % 3 == 0, df.index))
    _same_rows(kept, now)
    assert len(now) == 1430 - len([r for r in range(4, 1434) if r % 3 == 0])
    assert_strict(daily)


def test_every_row_leaves_one_empty_table_row(daily: Path, settings: Settings) -> None:
    kept, now = _remove(daily, settings, lambda df: df["date"].notna())
    assert kept.empty and now.empty
    assert 'ref="A3:M4"' in _parts(daily)["xl/tables/table1.xml"].decode()
    assert_strict(daily)


def test_refuses_rows_outside_the_data(daily: Path, settings: Settings) -> None:
    table = read_table(daily, DAILY, settings)
    before = daily.read_bytes()
    for rows in ([3], [1434], [2, 5]):
        with WorkbookEdit(daily) as wb, pytest.raises(WorkbookError) as err:
            remove_rows(wb, table, rows)
        assert err.value.sheet == "销售日报" and "data row" in err.value.text("en")
    assert daily.read_bytes() == before


def test_macro_workbook_keeps_its_vba_and_buttons(tmp_path: Path) -> None:
    from xlsales.sample import generate
    from xlsales.workspace import write_workspace

    sample = generate(2024)
    root = tmp_path / "team"
    write_workspace(root, sample.settings, sample.data, books=["settings", "daily"],
                    macros=True)
    book = root / "daily_report.xlsm"
    settings = workspace_settings(root)
    before = _parts(book)
    kept, now = _remove(book, settings, lambda df: df["date"] < pd.Timestamp("2024-02-01"))
    _same_rows(kept, now)
    assert len(now) < len(kept) + 1 and len(now) > 0
    after = _parts(book)
    assert {n for n in before if before[n] != after.get(n)} == {
        "xl/worksheets/sheet1.xml", "xl/tables/table1.xml"}
    assert after["xl/vbaProject.bin"] == before["xl/vbaProject.bin"]
    assert b"<legacyDrawing" in after["xl/worksheets/sheet1.xml"]  # the buttons stay
    assert_strict(book)


# -- formulas ---------------------------------------------------------------------------------


@pytest.fixture
def with_formulas(daily: Path, tmp_path: Path) -> Path:
    """The sample daily report with formulas beside the table (column O, P) and above
    it (O1), written by openpyxl."""
    wb = openpyxl.load_workbook(daily)
    ws = wb["销售日报"]
    ws["O1"] = "=SUM(C4:C20)"
    for r in range(4, 21):
        ws[f"O{r}"] = f"=C{r}*2"
    ws["P10"] = "=C9+C11"
    ws["P30"] = "=$C$25+SUM(C22:C27)"
    out = tmp_path / "formulas.xlsx"
    wb.save(out)
    return out


def test_formulas_follow_their_rows(with_formulas: Path, settings: Settings) -> None:
    _remove(with_formulas, settings, lambda df: pd.Series(df.index.isin([6, 7, 8]), df.index))
    ws = openpyxl.load_workbook(with_formulas)["销售日报"]
    assert ws["O1"].value == "=SUM(C4:C17)"
    assert [ws[f"O{r}"].value for r in (4, 5, 6, 17)] == ["=C4*2", "=C5*2", "=C6*2",
                                                          "=C17*2"]
    assert ws["P7"].value == "=C6+C8"  # was P10: =C9+C11
    assert ws["P27"].value == "=$C$22+SUM(C19:C24)"
    assert ws["O18"].value is None
    # openpyxl wrote the formulas without results; otherwise Excel-strict
    assert [p for p in check_workbook(with_formulas) if p.kind != "formula-no-cache"] == []
    assert b'fullCalcOnLoad="1"' in _parts(with_formulas)["xl/workbook.xml"]


@pytest.mark.libreoffice
def test_libreoffice_opens_and_computes_the_result(with_formulas: Path, settings: Settings,
                                                  soffice: str, tmp_path: Path) -> None:
    from xlsales.io.libreoffice import convert

    table = read_table(with_formulas, DAILY, settings)
    visits = table.df["visits"]
    kept, now = _remove(with_formulas, settings,
                        lambda df: pd.Series(df.index.isin([6, 7, 8]), df.index))
    _same_rows(kept, now)
    out = convert(with_formulas, "csv:Text - txt - csv (StarCalc):44,34,76", tmp_path / "lo",
                  soffice=soffice)  # UTF-8
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len([r for r in rows[3:] if r[0]]) == len(now)
    expected = sum(visits[r] for r in range(4, 21) if r not in (6, 7, 8))
    assert float(rows[0][14]) == expected  # O1: =SUM(C4:C17)
    assert float(rows[6][15]) == visits[9] + visits[11]  # P7
    assert [r[1] for r in rows[3:3 + len(now)]] == list(now["rep"])


def _shared(path: Path) -> None:
    """Turn O4:O20 into one shared formula, as Excel writes a filled-down column."""
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    xml = xml.replace("<f>C4*2</f>", '<f t="shared" ref="O4:O20" si="0">C4*2</f>')
    for r in range(5, 21):
        xml = xml.replace(f"<f>C{r}*2</f>", '<f t="shared" si="0"/>')
    parts["xl/worksheets/sheet1.xml"] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in parts.items():
            z.writestr(n, data)


def test_refuses_a_shared_formula_across_the_rows(with_formulas: Path,
                                                  settings: Settings) -> None:
    _shared(with_formulas)
    before = with_formulas.read_bytes()
    table = read_table(with_formulas, DAILY, settings)
    with WorkbookEdit(with_formulas) as wb, pytest.raises(WorkbookError) as err:
        remove_rows(wb, table, [6, 7, 8])
    assert "shared" in err.value.text("en") and err.value.cell == "O4"
    assert with_formulas.read_bytes() == before
    # a shared formula wholly above the rows removed stays as it is
    kept, now = _remove(with_formulas, settings,
                        lambda df: pd.Series(df.index.isin([40, 41]), df.index))
    _same_rows(kept, now)
    sheet = _parts(with_formulas)["xl/worksheets/sheet1.xml"].decode()
    assert '<f t="shared" ref="O4:O20" si="0">C4*2</f>' in sheet
    assert [p for p in check_workbook(with_formulas) if p.kind != "formula-no-cache"] == []


def test_refuses_a_formula_that_would_show_ref(with_formulas: Path,
                                               settings: Settings) -> None:
    before = with_formulas.read_bytes()
    table = read_table(with_formulas, DAILY, settings)
    with WorkbookEdit(with_formulas) as wb, pytest.raises(WorkbookError) as err:
        remove_rows(wb, table, [9])  # P10 reads C9
    assert "#REF!" in err.value.text("en") and err.value.cell == "P10"
    assert with_formulas.read_bytes() == before


def test_refuses_a_note_below_the_rows(daily: Path, settings: Settings,
                                       tmp_path: Path) -> None:
    from openpyxl.comments import Comment

    wb = openpyxl.load_workbook(daily)
    wb["销售日报"]["B100"].comment = Comment("look", "boss")
    out = tmp_path / "noted.xlsx"
    wb.save(out)
    table = read_table(out, DAILY, settings)
    before = out.read_bytes()
    with WorkbookEdit(out) as edit, pytest.raises(WorkbookError) as err:
        remove_rows(edit, table, [6])
    assert "note" in err.value.text("en") and err.value.cell == "A100"
    assert out.read_bytes() == before
    # rows below the note can go
    kept, now = _remove(out, settings, lambda df: pd.Series(df.index.isin([200, 201]),
                                                            df.index))
    _same_rows(kept, now)


def test_what_lies_below_moves_up_with_its_merges_and_names(daily: Path, settings: Settings,
                                                          tmp_path: Path) -> None:
    from openpyxl.workbook.defined_name import DefinedName

    wb = openpyxl.load_workbook(daily)
    ws = wb["销售日报"]
    ws["A1440"] = "备注"
    ws.merge_cells("A1440:C1441")
    ws.print_area = "A1:M1441"
    wb.defined_names["note"] = DefinedName("note", attr_text="'销售日报'!$A$1440")
    out = tmp_path / "below.xlsx"
    wb.save(out)
    kept, now = _remove(out, settings, lambda df: df["date"] < pd.Timestamp("2024-01-01"))
    _same_rows(kept, now)
    ws = openpyxl.load_workbook(out)["销售日报"]
    assert ws["A732"].value == "备注" and ws["A1440"].value is None
    assert [str(r) for r in ws.merged_cells.ranges] == ["A732:C733"]
    book = _parts(out)["xl/workbook.xml"].decode()
    assert "'销售日报'!$A$732</definedName>" in book
    assert "$A$1:$M$733" in book  # the print area
    assert [p for p in check_workbook(out) if p.kind != "formula-no-cache"] == []


def test_refuses_merged_cells_in_the_rows(daily: Path, settings: Settings,
                                          tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(daily)
    wb["销售日报"].merge_cells("I10:J11")
    out = tmp_path / "merged.xlsx"
    wb.save(out)
    table = read_table(out, DAILY, settings)
    before = out.read_bytes()
    with WorkbookEdit(out) as edit, pytest.raises(WorkbookError) as err:
        remove_rows(edit, table, [11])
    assert err.value.cell == "I10:J11" and "merged" in err.value.text("en")
    assert out.read_bytes() == before


_X14 = ('<extLst><ext uri="{{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}}" '
        'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
        '<x14:dataValidations count="{n}" '
        'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">{dvs}'
        '</x14:dataValidations></ext>'
        '<ext uri="{{78C0D931-6437-407d-A8EE-F0AAD7539E65}}" '
        'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
        '<x14:conditionalFormattings><x14:conditionalFormatting '
        'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
        '<x14:cfRule type="expression" priority="9" id="{{00000000-0000-0000-0000-000000000001}}">'
        '<xm:f>AND(C1000&gt;$C$1001,D1000&lt;&gt;"")</xm:f></x14:cfRule>'
        '<xm:sqref>C1000:C1001</xm:sqref></x14:conditionalFormatting>'
        '</x14:conditionalFormattings></ext></extLst>')
_X14_DV = ('<x14:dataValidation type="list" allowBlank="1"><x14:formula1>'
           "<xm:f>'设置'!$A$1:$A$3</xm:f></x14:formula1><xm:sqref>{ref}</xm:sqref>"
           '</x14:dataValidation>')


def _with_x14(daily: Path, out: Path, refs: list[str]) -> Path:
    """``daily`` with Excel 2010 validations (a list from another sheet: ``x14``, in the
    sheet's extLst) on ``refs`` and an Excel 2010 conditional format on C1000:C1001."""
    parts = _parts(daily)
    part = "xl/worksheets/sheet1.xml"
    ext = _X14.format(n=len(refs), dvs="".join(_X14_DV.format(ref=r) for r in refs))
    assert b"<extLst>" not in parts[part]
    parts[part] = parts[part].replace(b"</worksheet>", ext.encode() + b"</worksheet>")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return out


def test_excel_2010_validations_and_formats_move_with_their_rows(
        daily: Path, settings: Settings, tmp_path: Path) -> None:
    out = _with_x14(daily, tmp_path / "x14.xlsx", ["I4:I1433"])
    kept, now = _remove(out, settings, lambda df: df["date"] < pd.Timestamp("2024-01-01"))
    _same_rows(kept, now)
    gone = 1433 - 3 - len(now)
    assert gone == 708
    sheet = _parts(out)["xl/worksheets/sheet1.xml"].decode()
    assert f"<xm:sqref>I4:I{1433 - gone}</xm:sqref>" in sheet
    assert "<xm:f>'设置'!$A$1:$A$3</xm:f>" in sheet  # another sheet's list: unchanged
    assert f"<xm:sqref>C{1000 - gone}:C{1001 - gone}</xm:sqref>" in sheet
    assert (f"<xm:f>AND(C{1000 - gone}&gt;$C${1001 - gone},D{1000 - gone}&lt;&gt;\"\")"
            "</xm:f>") in sheet
    assert [p for p in check_workbook(out) if p.kind != "formula-no-cache"] == []


def test_refuses_an_excel_2010_validation_on_the_removed_rows_only(
        daily: Path, settings: Settings, tmp_path: Path) -> None:
    out = _with_x14(daily, tmp_path / "x14.xlsx", ["I4:I1433", "J5:J6"])
    table = read_table(out, DAILY, settings)
    before = out.read_bytes()
    with WorkbookEdit(out) as edit, pytest.raises(WorkbookError) as err:
        remove_rows(edit, table, list(range(4, 100)))
    assert "J5:J6" in err.value.text("en") and err.value.sheet == "销售日报"
    assert err.value.cell == "J5:J6"
    assert out.read_bytes() == before
