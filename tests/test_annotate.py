"""Annotating a workbook with its findings (xlsales/io/annotate.py, `validate --annotate`)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.comments import Comment
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Font, PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from typer.testing import CliRunner

from tests.quirks.make_quirks import (
    DAILY_KEYS,
    TODAY,
    Block,
    d,
    daily_row,
    english_headers,
    headers,
    new_book,
    targets_split_and_margin,
    team_settings,
)
from xlsales.cli import app
from xlsales.errors import WorkbookError
from xlsales.io import annotate as A
from xlsales.io.edit.zipwriter import ZipRewriter
from xlsales.io.snapshot import diff, snapshot
from xlsales.validate import validate_file
from xlsales.workspace import write_workspace

runner = CliRunner()
ON = ["--on", TODAY.isoformat()]
USER_NOTE = ("周经理", "请核实拜访数")


def hand_made(folder: Path) -> Path:
    """A daily report as a user keeps it: styles, a dropdown, their own conditional format,
    comments, a defined name, a notes sheet with a formula and merged cells, a hidden sheet,
    a hyperlink. Its slips: effective > visits, a missing plan, a late report."""
    wb, ws = new_book("销售日报")
    b = Block(ws, "A1", headers("daily", DAILY_KEYS))
    b.add(**daily_row(d(25), "张三"))
    bad = b.add(**daily_row(d(25), "李四", visits=2, effective=3))
    b.add(**daily_row(d(25), "王五", next_plan=None))
    b.add(**daily_row(d(26), "张三", submitted_at=dt.datetime(2024, 3, 26, 19, 0)))
    for c in ws[1]:
        c.font = Font(bold=True)
        c.fill = PatternFill("solid", start_color="FFDDEBF7")
    ws.column_dimensions["A"].width = 13.5
    ws.column_dimensions["H"].width = 40
    ws.freeze_panes = "C2"
    for r in range(2, 6):
        ws.cell(r, 1).number_format = "yyyy/m/d"
    dv = DataValidation(type="list", formula1='"张三,李四,王五"', allow_blank=True)
    dv.add("B2:B200")
    ws.add_data_validation(dv)
    ws.conditional_formatting.add("C2:C200", CellIsRule(
        operator="greaterThan", formula=["6"], fill=PatternFill("solid", start_color="FFC6EFCE")))
    ws[b.cell(bad, "effective")].comment = Comment(USER_NOTE[1], USER_NOTE[0])
    ws["A2"].comment = Comment("第一条", "张三")
    ws["M1"] = "说明"
    ws["M1"].hyperlink = "https://example.com/guide"
    wb.defined_names["reps"] = DefinedName("reps", attr_text="'销售日报'!$B$2:$B$200")
    notes = wb.create_sheet("备注")
    notes["A1"] = "本月重点"
    notes.merge_cells("A1:C1")
    notes["A2"] = "=COUNTA('销售日报'!A:A)-1"
    hidden = wb.create_sheet("_lists")
    hidden.append(["张三"])
    hidden.sheet_state = "hidden"
    path = folder / "daily_report.xlsx"
    wb.save(path)
    return path


def workspace_book(folder: Path) -> Path:
    """The daily report as xlsales writes it (Excel table, dropdowns, formats, names), with
    the same kind of slips, next to its settings."""
    rows = [daily_row(d(25), "张三"), daily_row(d(25), "李四", visits=2, effective=3),
            daily_row(d(25), "王五", next_plan=None),
            daily_row(d(26), "张三", submitted_at=dt.datetime(2024, 3, 26, 19, 0))]
    write_workspace(folder, team_settings(), {"daily": rows}, books=["settings", "daily"])
    return folder / "daily_report.xlsx"


SOURCES = {"hand_made": hand_made, "workspace": workspace_book}


@pytest.fixture(params=sorted(SOURCES))
def book(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    folder = tmp_path / request.param
    folder.mkdir()
    return SOURCES[request.param](folder)


def cli_annotate(path: Path, *extra: str) -> dict[str, Any]:
    result = runner.invoke(app, ["validate", str(path), "--annotate", "--json", *ON, *extra])
    assert result.exit_code in (0, 1), result.output
    payload = json.loads(result.stdout)
    assert (result.exit_code == 1) == (payload["errors"] > 0)
    return payload


def comments(path: Path) -> dict[tuple[str, str], tuple[str, str]]:
    wb = openpyxl.load_workbook(path)
    try:
        return {(ws.title, c.coordinate): (c.comment.text, c.comment.author)
                for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.comment}
    finally:
        wb.close()


def hyperlinks(path: Path) -> dict[tuple[str, str], str | None]:
    wb = openpyxl.load_workbook(path)
    try:
        return {(ws.title, c.coordinate): c.hyperlink.target or c.hyperlink.location
                for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.hyperlink}
    finally:
        wb.close()


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:  # every part but the save time
        return {n: zf.read(n) for n in zf.namelist() if n != "docProps/core.xml"}


def without_annotations(snap: dict[str, Any]) -> dict[str, Any]:
    """A snapshot without the validation sheet and xlsales's conditional formats."""
    sheets = []
    for sheet in snap["sheets"]:
        if sheet["name"] in A.SHEET_NAME.all():
            continue
        formats = sorted((key.rsplit(" #", 1)[0], json.dumps(rule, sort_keys=True))
                         for key, rule in sheet["conditional_formats"].items()
                         if rule["formula"] != [A.MARK_FORMULA])
        sheets.append({**sheet, "conditional_formats": formats})
    return {**snap, "sheets": sheets}


def user_part(text: str) -> str:
    return text.split(A.COMMENT_TAG)[0].rstrip("\n")


# -- idempotence -----------------------------------------------------------------------------------

def test_annotating_twice_is_annotating_once(book: Path) -> None:
    first = cli_annotate(book)
    once = book.with_name("once.xlsx")
    shutil.copy(book, once)
    second = cli_annotate(book)
    assert first["findings"] == second["findings"]
    assert diff(snapshot(once), snapshot(book)) == []
    assert comments(once) == comments(book)
    assert hyperlinks(once) == hyperlinks(book)
    assert parts(once) == parts(book)


def test_annotating_with_no_findings_removes_old_annotations(book: Path) -> None:
    original = snapshot(book)
    before = comments(book)
    cli_annotate(book)
    A.annotate(book, [], lang="zh")
    assert diff(without_annotations(original), without_annotations(snapshot(book))) == []
    assert [s["name"] for s in snapshot(book)["sheets"]] == [
        s["name"] for s in original["sheets"]]
    assert comments(book) == before


# -- what is kept ----------------------------------------------------------------------------------

def test_the_users_workbook_is_kept(book: Path) -> None:
    original = snapshot(book)
    notes, links = comments(book), hyperlinks(book)
    cli_annotate(book)
    annotated = snapshot(book)
    assert diff(without_annotations(original), without_annotations(annotated)) == []
    names = [s["name"] for s in annotated["sheets"]]
    before = [s["name"] for s in original["sheets"]]
    assert names == [*before[:1], A.SHEET_NAME("zh"), *before[1:]]  # after its sheet
    after = comments(book)
    for where, (text, author) in notes.items():  # the user's comments, word for word
        assert user_part(after[where][0]) == text
        assert after[where][1] == author, where
    assert {k: v for k, v in hyperlinks(book).items() if k[0] != A.SHEET_NAME("zh")} == links


def test_hand_made_extras_survive(tmp_path: Path) -> None:
    path = hand_made(tmp_path)
    cli_annotate(path)
    wb = openpyxl.load_workbook(path)
    ws = wb["销售日报"]
    assert ws.freeze_panes == "C2"
    assert ws["A1"].font.b and ws["A1"].fill.start_color.rgb == "FFDDEBF7"
    assert [str(dv.sqref) for dv in ws.data_validations.dataValidation] == ["B2:B200"]
    assert wb["_lists"].sheet_state == "hidden"
    assert wb["备注"]["A2"].value == "=COUNTA('销售日报'!A:A)-1"
    assert str(wb.defined_names["reps"].attr_text) == "'销售日报'!$B$2:$B$200"


# -- the marks -------------------------------------------------------------------------------------

def test_every_finding_is_marked_in_its_cell(book: Path) -> None:
    findings = cli_annotate(book)["findings"]
    assert {f["rule"] for f in findings} >= {"T2.effective_gt_visits", "cell.required",
                                             "T2.late"}
    wb = openpyxl.load_workbook(book)
    ws = wb["销售日报"]
    marked: dict[str, str] = {}
    for cf in ws.conditional_formatting:
        for rule in cf.rules:
            if rule.formula == [A.MARK_FORMULA]:
                colour = rule.dxf.fill.fgColor.rgb if rule.dxf.fill.fgColor.rgb != "00000000" \
                    else rule.dxf.fill.bgColor.rgb
                for ref in str(cf.sqref).split():
                    marked[ref] = colour
    assert set(marked) == {f["cell"] for f in findings if f["cell"]}
    for f in findings:
        comment = ws[f["cell"]].comment
        assert comment is not None
        assert f"{A.COMMENT_TAG} {f['rule']}: {f['message']}" in comment.text
        want = A.FILLS["error" if any(g["severity"] == "error" for g in findings
                                      if g["cell"] == f["cell"]) else "warning"]
        assert marked[f["cell"]] == want


def column_of(ws: Any, header: str) -> int:
    return next(c.column for c in ws[1] if c.value == header)


def test_the_validation_sheet_lists_every_finding_with_a_link(book: Path) -> None:
    payload = cli_annotate(book)
    findings = payload["findings"]
    wb = openpyxl.load_workbook(book)
    ws = wb[A.SHEET_NAME("zh")]
    assert wb.sheetnames.index(A.SHEET_NAME("zh")) == wb.sheetnames.index("销售日报") + 1
    assert wb.active.title == "销售日报"  # the user's table stays the one it opens on
    heads = A.HEADERS("zh").split("|")
    assert [c.value for c in ws[1]] == heads
    rule_c, sheet_c, cell_c, msg_c = (column_of(ws, h)
                                      for h in ("规则", "工作表", "单元格", "说明"))
    rows = list(ws.iter_rows(min_row=2))
    assert len(rows) == len(findings) == payload["errors"] + payload["warnings"]
    for row, f in zip(rows, findings, strict=True):
        cells = {c.column: c for c in row}
        assert (cells[rule_c].value, cells[sheet_c].value, cells[cell_c].value,
                cells[msg_c].value) == (f["rule"], f["sheet"], f["cell"], f["message"])
        link = cells[cell_c].hyperlink
        assert link is not None
        assert (link.target or f"#{link.location}") == f"#'{f['sheet']}'!{f['cell']}"


def test_findings_without_a_cell_are_listed_without_a_link(tmp_path: Path) -> None:
    path = tmp_path / "targets_split_and_margin.xlsx"
    targets_split_and_margin(path)
    result = validate_file(path, today=TODAY, settings=team_settings())
    A.annotate(path, result.findings, lang="zh")
    ws = openpyxl.load_workbook(path)[A.SHEET_NAME("zh")]
    rule_c, cell_c = column_of(ws, "规则"), column_of(ws, "单元格")
    rows = {r[rule_c - 1].value: r for r in ws.iter_rows(min_row=2)}
    assert rows["T1.no_team_target"][cell_c - 1].value is None
    assert rows["T1.no_team_target"][cell_c - 1].hyperlink is None
    assert rows["T1.split_mismatch"][cell_c - 1].hyperlink is not None


def test_an_english_workbook_gets_an_english_sheet(tmp_path: Path) -> None:
    path = tmp_path / "english.xlsx"
    english_headers(path)
    result = validate_file(path, today=TODAY, settings=team_settings())
    A.annotate(path, result.findings, lang=result.tables["daily"].lang)
    wb = openpyxl.load_workbook(path)
    assert "Validation" in wb.sheetnames and wb.active.title != "Validation"
    ws = wb["Validation"]
    assert [c.value for c in ws[1]] == A.HEADERS("en").split("|")
    assert {r[0].value for r in ws.iter_rows(min_row=2)} == {"error", "warning"}


def test_values_that_look_like_formulas_stay_text(tmp_path: Path) -> None:
    path = tmp_path / "f.xlsx"
    wb, ws = new_book("销售日报")
    b = Block(ws, "A1", headers("daily", DAILY_KEYS))
    r = b.add(**daily_row(d(25), "张三", visits="=1+1x"))
    ws[b.cell(r, "visits")].data_type = "s"  # text that starts with "=", not a formula
    wb.save(path)
    result = validate_file(path, today=TODAY, settings=team_settings())
    A.annotate(path, result.findings, lang="zh")
    ws = openpyxl.load_workbook(path)[A.SHEET_NAME("zh")]
    value_c = column_of(ws, "值")
    assert ws.cell(2, value_c).value == "=1+1x"
    assert ws.cell(2, value_c).data_type == "s"


# -- safe writing ----------------------------------------------------------------------------------

def _partial_save(self: ZipRewriter) -> None:
    self.fp.write(b"PK\x03\x04 half a workbook")
    raise OSError("disk full")


def _failing_replace(src: object, dst: object) -> None:
    raise OSError("the file is open in Excel")


@pytest.mark.parametrize(("target", "fake"), [
    ("xlsales.io.edit.zipwriter.ZipRewriter.close", _partial_save),
    ("xlsales.io.atomic.os.replace", _failing_replace),
], ids=["save_fails_half_way", "replace_fails"])
@pytest.mark.parametrize("out", [False, True], ids=["in_place", "out"])
def test_a_failed_write_leaves_the_original_and_no_temp_file(
        book: Path, monkeypatch: pytest.MonkeyPatch, target: str, fake: Any,
        out: bool) -> None:
    before = book.read_bytes()
    listing = sorted(p.name for p in book.parent.iterdir())
    findings = validate_file(book, today=TODAY).findings
    assert findings
    monkeypatch.setattr(target, fake)
    copy = book.with_name("copy.xlsx")
    with pytest.raises(WorkbookError, match="unchanged"):
        A.annotate(book, findings, lang="zh", out=copy if out else None)
    result = runner.invoke(app, ["validate", str(book), "--annotate", "--json", *ON,
                                 *(["--out", str(copy)] if out else [])])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["ok"] is False
    assert book.read_bytes() == before
    assert sorted(p.name for p in book.parent.iterdir()) == listing


def test_out_writes_a_copy_and_leaves_the_original(book: Path, tmp_path: Path) -> None:
    before = book.read_bytes()
    out = tmp_path / "annotated" / "copy.xlsx"
    payload = cli_annotate(book, "--out", str(out))
    assert payload["annotated"] == str(out)
    assert book.read_bytes() == before
    wb = openpyxl.load_workbook(out)
    assert A.SHEET_NAME("zh") in wb.sheetnames and wb.active.title == "销售日报"
    assert diff(without_annotations(snapshot(book)), without_annotations(snapshot(out))) == []
    only_out = runner.invoke(app, ["validate", str(book), "--json", *ON, "--out",
                                   str(tmp_path / "second.xlsx")])
    assert only_out.exit_code == 1
    assert (tmp_path / "second.xlsx").exists() and book.read_bytes() == before


# -- the command line ------------------------------------------------------------------------------

def test_cli_annotate_json_exits_1_on_errors(book: Path) -> None:
    result = runner.invoke(app, ["validate", str(book), "--annotate", "--json", *ON])
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["ok"] is False and payload["errors"] >= 2
    assert payload["annotated"] == str(book)
    assert A.SHEET_NAME("zh") in openpyxl.load_workbook(book).sheetnames


def test_cli_annotate_with_warnings_only_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "late.xlsx"
    wb, ws = new_book("销售日报")
    b = Block(ws, "A1", headers("daily", DAILY_KEYS))
    b.add(**daily_row(d(25), "张三", submitted_at=dt.datetime(2024, 3, 25, 20, 0)))
    wb.save(path)
    result = runner.invoke(app, ["validate", str(path), "--annotate", *ON])
    assert result.exit_code == 0, result.output
    assert "Annotated" in result.stdout
    ws = openpyxl.load_workbook(path)[A.SHEET_NAME("zh")]
    assert [r[1].value for r in ws.iter_rows(min_row=2)] == ["T2.late"]
