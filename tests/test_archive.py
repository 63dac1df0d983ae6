"""Archiving old daily rows: archive_<year>.xlsx and the rows removed from the daily
report (xlsales/jobs/archive.py, xlsales/io/archive_writer.py)."""

from __future__ import annotations

import datetime as dt
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from tests.strict import assert_strict
from xlsales import tables as T
from xlsales.errors import WorkbookError
from xlsales.io.archive_writer import is_read_only
from xlsales.io.read import read_table
from xlsales.jobs.archive import archive_dailies, archive_verifier, missing_rows
from xlsales.jobs.sources import load_daily, load_targets, workspace_settings
from xlsales.rollup import weekly_frame

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "sample_team"
DAILY = T.get("daily")
NEW_YEAR = dt.date(2024, 1, 1)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "team"
    shutil.copytree(SAMPLE, root)
    return root


def _rows(*paths: Path) -> pd.DataFrame:
    """The daily rows of workbooks, in one canonical order."""
    settings = workspace_settings(paths[0].parent)
    df = pd.concat([read_table(p, DAILY, settings).df for p in paths])
    return df.sort_values(["date", "rep", "submitted_at"], kind="stable").reset_index(drop=True)


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _weeks(source: Path, weeks: list[str]) -> pd.DataFrame:
    daily = load_daily(source)
    targets = load_targets(daily.root, daily.settings)
    return weekly_frame(daily.frame, targets, daily.settings, weeks,
                        errors_by_row=daily.errors_by_row, moves=daily.moves
                        ).reset_index(drop=True)


def test_round_trip_loses_nothing(ws: Path) -> None:
    book = ws / "daily_report.xlsx"
    before_rows = _rows(book)
    before_parts = _parts(book)
    old = before_rows[before_rows["date"] < pd.Timestamp(NEW_YEAR)]
    weeks = sorted(set(old["date"].dt.strftime("%G-W%V")))
    assert len(weeks) > 5 and all(w.startswith("2023") for w in weeks)
    rollup_before = _weeks(ws, weeks)

    result = archive_dailies(ws, NEW_YEAR)

    archive = ws / "archive_2023.xlsx"
    assert result.archives == [archive] and result.archived == len(old) == 708
    assert result.removed == {str(book): 708} and result.kept == len(before_rows) - 708
    # daily report + archive hold exactly the rows there were, value for value
    pd.testing.assert_frame_equal(_rows(book, archive), before_rows)
    pd.testing.assert_frame_equal(_rows(archive), old.reset_index(drop=True))
    assert _rows(book)["date"].min() >= pd.Timestamp(NEW_YEAR)
    # the weekly rollup of the archived weeks, computed from the archive, figure for figure
    pd.testing.assert_frame_equal(_weeks(archive, weeks), rollup_before)
    # only the sheet and its table changed in the daily report
    after_parts = _parts(book)
    assert {n for n in before_parts if before_parts[n] != after_parts[n]} == {
        "xl/worksheets/sheet1.xml", "xl/tables/table1.xml"}
    assert is_read_only(archive) == {"structure": True, "read_only_recommended": True,
                                     "sheet": True}
    assert not any(is_read_only(book).values())  # the daily report stays open to edits
    assert_strict(archive)
    assert_strict(book)
    # nothing left to archive: a second run changes nothing
    again = archive_dailies(ws, NEW_YEAR)
    assert again.archived == 0 and again.archives == [] and _parts(book) == after_parts


def test_appending_to_an_archive_dedupes_by_rep_and_day(ws: Path, tmp_path: Path) -> None:
    book = ws / "daily_report.xlsx"
    original = tmp_path / "original.xlsx"
    shutil.copy(book, original)
    everything = _rows(book)
    first = archive_dailies(ws, dt.date(2023, 12, 1))
    archive = ws / "archive_2023.xlsx"
    november = everything[everything["date"] < pd.Timestamp("2023-12-01")]
    assert first.archived == len(november) > 0
    pd.testing.assert_frame_equal(_rows(archive), november.reset_index(drop=True))
    # the daily report comes back whole (say, from a backup): its November rows are
    # archived again and replace the archived ones instead of doubling them
    shutil.copy(original, book)
    second = archive_dailies(ws, NEW_YEAR)
    year = everything[everything["date"] < pd.Timestamp(NEW_YEAR)]
    assert second.archived == len(year)
    pd.testing.assert_frame_equal(_rows(archive), year.reset_index(drop=True))
    pd.testing.assert_frame_equal(_rows(book, archive), everything)


def test_a_later_year_goes_to_its_own_archive(ws: Path) -> None:
    book = ws / "daily_report.xlsx"
    everything = _rows(book)
    result = archive_dailies(ws, dt.date(2024, 1, 15))
    assert [p.name for p in result.archives] == ["archive_2023.xlsx", "archive_2024.xlsx"]
    jan = _rows(ws / "archive_2024.xlsx")
    assert len(jan) == result.archived - 708 > 0
    assert jan["date"].max() < pd.Timestamp("2024-01-15")
    pd.testing.assert_frame_equal(
        _rows(book, ws / "archive_2023.xlsx", ws / "archive_2024.xlsx"), everything)


def test_verify_sees_the_rows_and_can_stop_the_removal(ws: Path) -> None:
    book = ws / "daily_report.xlsx"
    before = book.read_bytes()
    seen: list[pd.DataFrame] = []

    def refuse(rows: pd.DataFrame) -> bool:
        seen.append(rows)
        return False

    with pytest.raises(WorkbookError) as err:
        archive_dailies(ws, NEW_YEAR, verify=refuse)
    assert "no row was removed" in err.value.text("en")
    assert book.read_bytes() == before
    assert len(seen[0]) == 708 and (seen[0]["date"] < pd.Timestamp(NEW_YEAR)).all()

    def boom(rows: pd.DataFrame) -> None:
        raise WorkbookError("the ledger is not reachable")

    with pytest.raises(WorkbookError, match="ledger"):
        archive_dailies(ws, NEW_YEAR, verify=boom)
    assert book.read_bytes() == before


def test_the_default_check_finds_a_missing_row(ws: Path, tmp_path: Path) -> None:
    book = ws / "daily_report.xlsx"
    rows = read_table(book, DAILY, workspace_settings(ws)).df
    old = rows[rows["date"] < pd.Timestamp(NEW_YEAR)]
    assert missing_rows(old, old).empty
    lacking = missing_rows(old, old.iloc[1:])
    assert len(lacking) == 1 and lacking.index[0] == old.index[0]
    changed = old.copy()
    changed.iloc[5, changed.columns.get_loc("visits")] += 1
    assert list(missing_rows(old, changed).index) == [old.index[5]]
    # an archive missing a row stops the removal
    archive_dailies(ws, dt.date(2023, 12, 1))
    check = archive_verifier([ws / "archive_2023.xlsx"], workspace_settings(ws))
    with pytest.raises(WorkbookError, match="archive lacks"):
        check(old)


def test_a_cell_it_cannot_read_keeps_its_text(ws: Path) -> None:
    from xlsales.io.edit.book import WorkbookEdit
    from xlsales.io.edit.cells import Cell

    book = ws / "daily_report.xlsx"
    with WorkbookEdit(book) as wb:
        wb.set_cell("销售日报", "C5", Cell("lots"))  # text in the visits of a 2023 row
        wb.save()
    settings = workspace_settings(ws)
    before = read_table(book, DAILY, settings)
    assert before.raw("visits", 5) == "lots" and pd.isna(before.df.at[5, "visits"])
    everything = _rows(book)
    archive_dailies(ws, NEW_YEAR)
    archive = read_table(ws / "archive_2023.xlsx", DAILY, settings)
    (row,) = archive.bad["visits"]
    assert archive.raw("visits", row) == "lots"
    assert archive.df.loc[row, ["rep", "date"]].tolist() == before.df.loc[
        5, ["rep", "date"]].tolist()
    assert any(f.rule == "cell.type" and f.cell == f"C{row}" for f in archive.findings)
    pd.testing.assert_frame_equal(_rows(book, ws / "archive_2023.xlsx"), everything)
    # the default check compares that text too: an archive with the number instead lacks it
    old = before.df[before.df["date"] < pd.Timestamp(NEW_YEAR)].copy()
    old.attrs["raw_cells"] = {(5, "visits"): "lots"}
    held = old.copy()
    held.attrs["raw_cells"] = {}
    assert list(missing_rows(old, held).index) == [5]


@pytest.mark.libreoffice
def test_libreoffice_opens_the_archive_and_the_report(ws: Path, soffice: str,
                                                      tmp_path: Path) -> None:
    import csv
    import io

    from xlsales.io.libreoffice import convert_many

    archive_dailies(ws, NEW_YEAR)
    outs = convert_many([ws / "archive_2023.xlsx", ws / "daily_report.xlsx"],
                        "csv:Text - txt - csv (StarCalc):44,34,76", tmp_path / "lo",
                        soffice=soffice)
    for out, n in zip(outs, (708, 722), strict=True):
        rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
        assert len([r for r in rows[3:] if r and r[0]]) == n


def test_the_command(ws: Path, tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from xlsales.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["archive", "--before", "2024-01-01", "-w", str(ws),
                                 "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["ok"] and out["archived"] == 708 and out["kept"] == 722
    assert out["archives"] == [str(ws / "archive_2023.xlsx")]
    again = runner.invoke(app, ["archive", "--before", "2024-01-01", "-w", str(ws)])
    assert again.exit_code == 0 and "2024-01-01 之前没有要归档的日报行" in again.output
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = runner.invoke(app, ["archive", "--before", "2024-01-01", "-w", str(empty),
                                  "--json"])
    assert missing.exit_code == 2
    assert json.loads(missing.output)["error"].startswith("no daily report found here")
    bad = runner.invoke(app, ["archive", "--before", "2024-13-01", "-w", str(ws)])
    assert bad.exit_code == 2


def test_a_folder_of_rep_workbooks_does_not_take_an_archive_for_a_rep(tmp_path: Path) -> None:
    from xlsales.jobs.sources import daily_files

    for name in ("张三.xlsx", "李四.xlsm", "archive_2023.xlsx", "~$张三.xlsx"):
        (tmp_path / name).write_bytes(b"")
    root, files = daily_files(tmp_path)
    assert root == tmp_path
    assert [f.name for f in files] == sorted(["张三.xlsx", "李四.xlsm"])


def _per_rep(tmp_path: Path, names: tuple[str, ...] = ("a", "b")) -> Path:
    """A folder of per-rep daily workbooks ``<name>.xlsx`` (sample reps), with settings."""
    from xlsales.sample import generate
    from xlsales.workspace import write_workspace

    sample = generate()
    folder = tmp_path / "per_rep"
    write_workspace(folder, sample.settings, books=["settings"])
    for name, rep in zip(names, sample.settings.reps(), strict=False):
        mine = [r for r in sample.data["daily"] if r["rep"] == rep]
        write_workspace(tmp_path / "tmp", sample.settings, {"daily": mine}, books=["daily"])
        (tmp_path / "tmp" / "daily_report.xlsx").rename(folder / f"{name}.xlsx")
    return folder


def test_a_refusal_in_a_later_workbook_leaves_every_workbook_as_it_was(
        tmp_path: Path) -> None:
    import openpyxl
    from openpyxl.worksheet.pagebreak import Break

    folder = _per_rep(tmp_path)
    b = folder / "b.xlsx"
    wb = openpyxl.load_workbook(b)
    sheet = wb.worksheets[0]
    sheet.row_breaks.append(Break(id=sheet.max_row - 2))  # a manual page break near the end
    wb.save(b)
    before = {p.name: p.read_bytes() for p in sorted(folder.glob("*.xlsx"))}
    with pytest.raises(WorkbookError) as err:
        archive_dailies(folder, NEW_YEAR)
    assert "page break" in err.value.text("en") and err.value.file == str(b)
    assert {p.name: p.read_bytes() for p in sorted(folder.glob("*.xlsx"))
            if not p.name.startswith("archive_")} == before  # a.xlsx kept its rows too


def test_a_column_break_does_not_stop_the_archive(tmp_path: Path) -> None:
    import openpyxl
    from openpyxl.worksheet.pagebreak import Break

    folder = _per_rep(tmp_path, ("a",))
    a = folder / "a.xlsx"
    wb = openpyxl.load_workbook(a)
    wb.worksheets[0].col_breaks.append(Break(id=5))  # a page break between columns E and F
    wb.save(a)
    rows = _rows(a)
    old = int((rows["date"] < pd.Timestamp(NEW_YEAR)).sum())
    assert old > 0
    result = archive_dailies(folder, NEW_YEAR)
    assert result.removed == {str(a): old}
    assert b'<colBreaks' in _parts(a)["xl/worksheets/sheet1.xml"]


def _period_figures(ws: Path, today: dt.date) -> dict[str, object]:
    """Compliance, completion, the month's rollup and summary of February 2024."""
    from xlsales.jobs.completion import run_completion, run_compliance
    from xlsales.jobs.rollup import run_rollup
    from xlsales.jobs.summary import build_summary

    reps, _ = run_compliance(ws, "2024-02", today=today)
    rollup = run_rollup(ws, month="2024-02", today=today, write=False)
    summary = build_summary(ws, "month", on=dt.date(2024, 2, 29))
    return {"compliance": [r.as_dict() for r in reps],
            "completion": run_completion(ws, "2024-02", today=today).as_dict(),
            "completion_team": run_completion(ws, "2024Q1", by="team", today=today).as_dict(),
            "rollup": rollup.as_dict()["rows"],
            "summary": summary.markdown()}


def test_commands_of_an_archived_month_see_the_archive(ws: Path) -> None:
    today = dt.date(2024, 3, 29)
    before = _period_figures(ws, today)
    assert len(before["compliance"]) >= 5 and len(before["rollup"]) > 20
    assert sum(len(r["missing_days"]) for r in before["compliance"]) < 10
    archive_dailies(ws, dt.date(2024, 3, 1))
    assert (ws / "archive_2023.xlsx").exists() and (ws / "archive_2024.xlsx").exists()
    assert load_daily(ws, validate=False).frame["date"].min() >= pd.Timestamp("2024-03-01")
    after = _period_figures(ws, today)
    for key in before:
        assert after[key] == before[key], key


def test_an_old_date_typed_by_mistake_hides_no_archive(ws: Path) -> None:
    import openpyxl

    from xlsales.jobs.completion import run_compliance
    from xlsales.jobs.sources import with_archives

    today = dt.date(2024, 3, 29)
    before, _ = run_compliance(ws, "2023-11", today=today)
    archive_dailies(ws, dt.date(2024, 3, 1))
    book = ws / "daily_report.xlsx"
    wb = openpyxl.load_workbook(book)
    sheet = wb.worksheets[0]
    sheet["A4"] = dt.datetime(2023, 1, 5)  # a March row now dated January 2023
    wb.save(book)
    daily = load_daily(ws, validate=False)
    assert daily.frame["date"].min() == pd.Timestamp("2023-01-05")
    november = with_archives(daily, dt.date(2023, 11, 1))  # the review's read
    assert (november["date"].dt.strftime("%Y-%m") == "2023-11").sum() > 100
    after, _ = run_compliance(ws, "2023-11", today=today)
    assert [r.as_dict() for r in after] == [r.as_dict() for r in before]
