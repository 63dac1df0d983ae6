"""Regenerating a report keeps what a manager added to it.

The review and the pipeline report are regenerated into the existing file
(:mod:`xlsales.io.edit.graft`); the weekly sheets and the agenda pack are replaced sheet by
sheet. In each case a manager's own sheet, notes and pictures survive, xlsales's figures
and charts are new (not doubled), and the result passes the checker.
"""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.comments import Comment
from openpyxl.drawing.image import Image

from tests.flavours import png
from tests.strict import assert_strict
from tests.test_formula_values import agree
from tests.test_formula_values import formula_cells as typed_formula_cells
from xlsales.jobs import run_agenda, run_review, run_rollup, write_pipeline
from xlsales.sample import SAMPLE_TODAY, generate
from xlsales.workspace import write_workspace

MONTH = "2024-03"
NOTE = "经理批注:请核实 / manager: please check"
KEEP = "经理自己的表 / the manager's own sheet"


class _Png(Image):
    """A PNG picture openpyxl can place without Pillow."""

    def __init__(self) -> None:  # no super().__init__(): it opens the image with Pillow
        self.ref = io.BytesIO(png())
        self.width, self.height, self.format, self.anchor = 96, 48, "png", "A1"

    def _data(self) -> bytes:
        return png()


def managers_touch(path: Path, note_sheet: str, picture_sheet: str) -> None:
    """What a manager does to a report: a sheet of their own, a note, a picture."""
    wb = openpyxl.load_workbook(path)
    own = wb.create_sheet("Manager")
    own["A1"] = KEEP
    wb[note_sheet]["A1"].comment = Comment(NOTE, "Manager")
    wb[picture_sheet].add_image(_Png(), "P2")
    wb.save(path)


def package(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def charts(path: Path) -> int:
    return sum(1 for n in package(path) if re.fullmatch(r"xl/charts/chart\d+\.xml", n))


def assert_kept(path: Path, note_sheet: str) -> None:
    wb = openpyxl.load_workbook(path)
    assert wb["Manager"]["A1"].value == KEEP
    assert wb[note_sheet]["A1"].comment is not None
    assert wb[note_sheet]["A1"].comment.text == NOTE
    parts = package(path)
    pictures = [n for n in parts if n.startswith("xl/media/")]
    assert pictures and parts[pictures[0]] == png()
    assert any(pictures[0].split("/")[-1].encode() in v for n, v in parts.items()
               if n.startswith("xl/drawings/_rels/"))


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    sample = generate(2024)
    root = tmp_path / "team"
    write_workspace(root, sample.settings, sample.data, lang="en")
    return root


def test_the_review_keeps_a_managers_sheet_note_and_picture(workspace: Path) -> None:
    first = run_review(workspace, month=MONTH, today=SAMPLE_TODAY).written
    fresh_charts = charts(first)
    fresh_values = typed_formula_cells(first)
    managers_touch(first, "Monthly review", "Comparison")
    again = run_review(workspace, month=MONTH, today=SAMPLE_TODAY).written
    assert again == first
    assert_kept(again, "Monthly review")
    assert charts(again) == fresh_charts  # xlsales's charts replaced, not doubled
    assert_strict(again)
    values = typed_formula_cells(again)
    for sheet, cells in fresh_values.items():  # the figures are xlsales's, with values
        assert cells.keys() == values[sheet].keys()
        for rc, (formula, _, value) in cells.items():
            assert values[sheet][rc][0] == formula and agree(values[sheet][rc][2], value)
    wb = openpyxl.load_workbook(again)
    assert wb.sheetnames[-1] == "Manager" and wb.active.title == "Monthly review"


def test_the_pipeline_report_keeps_a_managers_additions(workspace: Path) -> None:
    first = write_pipeline(workspace, MONTH, today=SAMPLE_TODAY)
    names = openpyxl.load_workbook(first).sheetnames
    fresh_charts = charts(first)
    managers_touch(first, names[0], names[0])
    again = write_pipeline(workspace, MONTH, today=SAMPLE_TODAY)
    assert_kept(again, names[0])
    assert charts(again) == fresh_charts
    assert_strict(again)


@pytest.mark.libreoffice
def test_libreoffice_agrees_with_a_regenerated_review(workspace: Path, soffice: str,
                                                      tmp_path: Path) -> None:
    from xlsales.io.libreoffice import recalculate

    first = run_review(workspace, month=MONTH, today=SAMPLE_TODAY).written
    managers_touch(first, "Monthly review", "Comparison")
    again = run_review(workspace, month=MONTH, today=SAMPLE_TODAY).written
    lo = typed_formula_cells(recalculate(again, tmp_path / "lo", soffice=soffice))
    mine = typed_formula_cells(again)
    compared = 0
    for sheet, cells in mine.items():
        for rc, (_, _, value) in cells.items():
            assert agree(value, lo[sheet][rc][2]), (sheet, rc, value, lo[sheet][rc][2])
            compared += 1
    assert compared > 30


def note_on(path: Path, sheet: str) -> Any:
    return openpyxl.load_workbook(path)[sheet]["A1"].comment


def test_weekly_sheets_and_agenda_keep_a_managers_note(workspace: Path) -> None:
    daily = workspace / "daily_report.xlsx"
    run_rollup(workspace, week="2024-W12", today=SAMPLE_TODAY)
    weekly = next(n for n in openpyxl.load_workbook(daily).sheetnames if "2024-W12" in n)
    agenda_book = workspace / "meeting_agenda.xlsx"
    run_agenda(workspace, "2024-W13")
    pack = next(n for n in openpyxl.load_workbook(agenda_book).sheetnames if "2024-W13" in n)
    from xlsales.io.edit.book import WorkbookEdit

    for book, sheet in ((daily, weekly), (agenda_book, pack)):
        with WorkbookEdit(book) as wb:  # a note as Excel keeps it (no openpyxl round trip)
            wb.notes(sheet).add("A1", NOTE, "Manager")
            wb.save()
    before = package(daily)
    run_rollup(workspace, week="2024-W12", today=SAMPLE_TODAY)
    run_agenda(workspace, "2024-W13")
    for book, sheet in ((daily, weekly), (agenda_book, pack)):
        comment = note_on(book, sheet)
        assert comment is not None and comment.text == NOTE
        assert_strict(book)
    after = package(daily)
    assert {n for n in before if n.startswith("xl/comments")} <= set(after)
    shutil.rmtree(workspace)


def test_formulas_follow_a_fresh_table_renamed_beside_a_kept_copy(tmp_path: Path) -> None:
    """The manager kept last week's generated sheet under another name; its table keeps
    the name, the fresh table gets another, and the fresh formulas sum the fresh one."""
    import xlsxwriter

    from xlsales.io.edit.graft import regenerate

    def book(path: Path, lines_sheet: str, amounts: list[int]) -> Path:
        wb = xlsxwriter.Workbook(str(path))
        total = wb.add_worksheet("Sum")
        lines = wb.add_worksheet(lines_sheet)
        total.write_formula(1, 0, "=SUM(Lines[amount])", None, sum(amounts))
        lines.add_table(0, 0, len(amounts), 0, {"name": "Lines", "columns": [
            {"header": "amount"}], "data": [[a] for a in amounts]})
        wb.close()
        return path

    target = book(tmp_path / "report.xlsx", "Lines (last week)", [1, 2, 3])
    regenerate(target, book(tmp_path / "fresh.xlsx", "Lines", [10, 20]))
    with zipfile.ZipFile(target) as z:
        formulas = [f for n in z.namelist() if n.startswith("xl/worksheets/sheet")
                    for f in re.findall(rb"<f>([^<]*)</f>", z.read(n))]
        names = sorted(re.search(rb'displayName="([^"]*)"', z.read(n)).group(1)
                       for n in z.namelist() if n.startswith("xl/tables/"))
    assert names == [b"Lines", b"Lines_2"] and formulas == [b"SUM(Lines_2[amount])"]
    assert_strict(target)
