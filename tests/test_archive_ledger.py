"""The archive wired into the team ledger (xlsales/jobs/archive.py ``LedgerCheck``): the
ledger must hold every row before any leaves the workbook, archived rows are no deletion,
reviews still see archived months, and the weekly sheet counts dailies edited after
submission — against SQLite and a real PostgreSQL server (tests/pg_server.py)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from tests.test_ledger import a_daily, cli, edit_cells, ledger_of, validate_json
from xlsales import tables as T
from xlsales.errors import WorkbookError
from xlsales.io.read import read_table
from xlsales.jobs.archive import LedgerCheck, archive_dailies
from xlsales.jobs.sources import daily_files, load_daily, with_archives, workspace_settings
from xlsales.ledger import hook
from xlsales.ledger import keys as K
from xlsales.ledger.schema import rows as ledger_rows
from xlsales.ledger.schema import versions as ledger_versions
from xlsales.ledger.store import Ledger

pytestmark = pytest.mark.usefixtures("ledger_on")  # these tests record

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "sample_team"
NEW_YEAR = dt.date(2024, 1, 1)




@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "team"
    shutil.copytree(SAMPLE, root)
    return root


def old_keys(root: Path, before: dt.date) -> list[str]:
    """The ledger keys of the daily rows (one per rep and day) dated before ``before``."""
    from xlsales.discipline import dedupe

    settings = workspace_settings(root)
    df = read_table(root / "daily_report.xlsx", T.get("daily"), settings).df
    df = dedupe(df[(df["date"] < pd.Timestamp(before)).to_numpy()])[0]
    return sorted(K.row_keys("daily", K.content("daily", df)).tolist())


def team(root: Path) -> str:
    return hook.team_of(workspace_settings(root))


def archive_json(root: Path, url: str, *extra: str) -> dict[str, Any]:
    result = cli(*extra, "archive", "--before", "2024-01-01", "-w", str(root), "--json",
                 url=url)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def audit_findings(root: Path, url: str) -> list[dict[str, Any]]:
    return [f for f in validate_json(root, url)["findings"]
            if f["rule"].endswith("_after_submission")]


# -- archive → ledger ----------------------------------------------------------------------


def test_archived_rows_are_marked_archived_not_deleted(url: str, ws: Path) -> None:
    wanted = old_keys(ws, NEW_YEAR)
    assert len(wanted) > 600
    assert audit_findings(ws, url) == []  # recorded: every row is in the ledger now
    # a rep changes an old daily after submission: reported while it is in the workbook
    target = a_daily(ws, 3)
    assert target["day"] < NEW_YEAR
    edit_cells(ws / "daily_report.xlsx", target["sheet"], {target["cell"]: target["visits"] + 2})
    assert [f["rule"] for f in audit_findings(ws, url)] == ["T2.edited_after_submission"]

    out = archive_json(ws, url)

    assert out["archived"] == 708
    assert out["ledger"]["archived"] == len(wanted) and out["ledger"]["recorded"] is False
    ledger = Ledger.open(ledger_of(ws, url))
    try:
        assert ledger.archived(team(ws), "daily") == wanted
        with ledger.engine.connect() as conn:
            deletions = conn.execute(sa.select(sa.func.count()).select_from(
                ledger_versions).where(ledger_versions.c.deleted)).scalar()
    finally:
        ledger.close()
    assert deletions == 0
    # reading the daily report again: the rows are gone from it, yet nothing is reported
    assert audit_findings(ws, url) == []
    ledger = Ledger.open(ledger_of(ws, url))
    try:
        assert ledger.archived(team(ws), "daily") == wanted  # still archived, not deleted
        with ledger.engine.connect() as conn:
            gone = conn.execute(sa.select(sa.func.count()).select_from(ledger_rows).where(
                ledger_rows.c.deleted)).scalar()
    finally:
        ledger.close()
    assert gone == 0


def test_the_ledger_is_recorded_first_when_it_lacks_the_rows(url: str, ws: Path) -> None:
    wanted = old_keys(ws, NEW_YEAR)
    out = archive_json(ws, url)  # the first command ever run in this workspace
    assert out["ledger"] == {"url": out["ledger"]["url"], "archived": len(wanted),
                             "recorded": True}
    ledger = Ledger.open(ledger_of(ws, url))
    try:
        assert ledger.archived(team(ws), "daily") == wanted
    finally:
        ledger.close()
    assert audit_findings(ws, url) == []


def test_a_restored_row_is_no_longer_archived(url: str, ws: Path, tmp_path: Path) -> None:
    book = ws / "daily_report.xlsx"
    backup = tmp_path / "backup.xlsx"
    shutil.copy(book, backup)
    archive_json(ws, url)
    shutil.copy(backup, book)  # the daily report comes back from a backup
    assert audit_findings(ws, url) == []
    ledger = Ledger.open(ledger_of(ws, url))
    try:
        assert ledger.archived(team(ws), "daily") == []
    finally:
        ledger.close()
    # deleting one of those rows by hand now is a deletion again
    target = a_daily(ws, 1)
    from tests.test_ledger import row_cells

    sheet, cells = row_cells(ws, target["row"])
    edit_cells(book, sheet, dict.fromkeys(cells))
    assert [f["rule"] for f in audit_findings(ws, url)] == ["T2.deleted_after_submission"]


def test_verify_refuses_when_the_ledger_lacks_a_row(url: str, ws: Path) -> None:
    book = ws / "daily_report.xlsx"
    hook.activate(url)
    load_daily(ws, validate=False)  # recorded …
    hook.deactivate()
    lost = old_keys(ws, NEW_YEAR)[5]
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # … then the ledger loses one row (an old backup, say)
        conn.execute(sa.delete(ledger_rows).where(ledger_rows.c.key == lost))
    engine.dispose()
    before = book.read_bytes()
    root, files = daily_files(ws)
    check = LedgerCheck(root, files, workspace_settings(root), url)  # recording is off
    with pytest.raises(WorkbookError) as err:
        archive_dailies(ws, NEW_YEAR, verify=check)
    assert lost in str(err.value) and "lacks 1 of the daily rows" in str(err.value)
    assert lost in err.value.text("zh") and err.value.file == str(book)
    assert book.read_bytes() == before  # nothing removed
    ledger = Ledger.open(url)
    try:
        assert ledger.archived(team(ws), "daily") == []  # nothing marked: all or nothing
    finally:
        ledger.close()


def test_the_ledger_marks_nothing_until_every_workbook_is_saved(url: str, ws: Path) -> None:
    hook.activate(url)
    root, files = daily_files(ws)
    check = LedgerCheck(root, files, workspace_settings(root), url)
    ledger = hook.open_ledger(url)

    def fails_after_the_ledger(rows: pd.DataFrame) -> bool:
        check(rows)  # the ledger holds them: checked, not marked …
        assert ledger.archived(team(ws), "daily") == []
        return False  # … then something stops the removal

    with pytest.raises(WorkbookError, match="check failed"):
        archive_dailies(ws, NEW_YEAR, verify=fails_after_the_ledger)
    assert ledger.archived(team(ws), "daily") == [] and check.archived == 0
    # a refusal while removing (a manual page break below the rows) marks nothing either
    book = ws / "daily_report.xlsx"
    parts = _zip_parts(book)
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = parts[sheet].replace(
        b"</worksheet>", b'<rowBreaks count="1" manualBreakCount="1"><brk id="1000" '
        b'max="16383" man="1"/></rowBreaks></worksheet>')
    _zip_write(book, parts)
    before = book.read_bytes()
    check = LedgerCheck(root, files, workspace_settings(root), url)
    with pytest.raises(WorkbookError, match="page break"):
        archive_dailies(ws, NEW_YEAR, verify=check)
    assert book.read_bytes() == before
    assert ledger.archived(team(ws), "daily") == [] and check.archived == 0
    daily = load_daily(ws, validate=False)  # the rows are still in the workbook
    assert daily.audit == []


def _zip_parts(path: Path) -> dict[str, bytes]:
    import zipfile

    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _zip_write(path: Path, parts: dict[str, bytes]) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


def test_no_ledger_checks_the_archive_only(url: str, ws: Path) -> None:
    out = archive_json(ws, url, "--no-ledger")
    assert out["archived"] == 708 and out["ledger"] is None
    assert (ws / "archive_2023.xlsx").exists()
    assert not hook.default_path(ws).exists()  # nothing recorded anywhere
    if url.startswith("postgresql"):
        ledger = Ledger.open(url)
        try:
            assert ledger.counts()["ledger_rows"] == 0
        finally:
            ledger.close()


def test_a_folder_of_per_rep_dailies_is_archived_file_by_file(url: str,
                                                              tmp_path: Path) -> None:
    from xlsales.sample import generate
    from xlsales.workspace import write_workspace

    sample = generate()
    folder = tmp_path / "per_rep"
    write_workspace(folder, sample.settings, books=["settings"])
    for rep in sample.settings.reps()[:3]:
        mine = [r for r in sample.data["daily"] if r["rep"] == rep]
        write_workspace(tmp_path / "tmp", sample.settings, {"daily": mine}, books=["daily"])
        (tmp_path / "tmp" / "daily_report.xlsx").rename(folder / f"daily_{rep}.xlsx")
    where = ledger_of(folder, url)  # the ledger the CLI records into
    hook.activate(where)
    whole = load_daily(folder, validate=False).frame
    hook.deactivate()
    cut = whole["date"].sort_values().iloc[len(whole) // 2]
    moved = int((whole["date"] < cut).sum())
    result = cli("archive", "--before", f"{cut:%Y-%m-%d}", "-w", str(folder), "--json",
                 url=url)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert len(out["removed"]) == 3 and out["ledger"]["archived"] == moved > 0
    hook.activate(where)
    daily = load_daily(folder, validate=False)
    assert daily.audit == [] and len(daily.frame) == len(whole) - moved
    ledger = hook.open_ledger(where)
    assert len(ledger.archived(hook.team_of(sample.settings), "daily")) == moved


# -- reviews see archived months -----------------------------------------------------------


def figures(root: Path, out: Path) -> dict[str, Any]:
    from xlsales.jobs.review import run_review

    return run_review(root, month="2024-03", out=out, today=dt.date(2024, 3, 31)
                      ).review.as_dict()


def test_archive_then_review_equals_review_before_archive(url: str, ws: Path,
                                                          tmp_path: Path) -> None:
    before = figures(ws, tmp_path / "before.xlsx")
    archive_json(ws, url)
    after = figures(ws, tmp_path / "after.xlsx")
    assert set(after) == set(before)
    for key in before:
        assert after[key] == before[key], key
    assert before["trend_months"][0] == "2023-10"
    assert before["trend"]["visits"][0]  # the archived months count in the trend
    # the control: without its archives the review loses those months
    for p in ws.glob("archive_*.xlsx"):
        p.rename(tmp_path / p.name)
    lost = figures(ws, tmp_path / "lost.xlsx")
    assert lost["trend"] != before["trend"]


def test_archives_are_read_only_when_the_period_reaches_before_the_report(ws: Path) -> None:
    archive_dailies(ws, NEW_YEAR)
    daily = load_daily(ws, validate=False)
    assert with_archives(daily, dt.date(2024, 1, 2)) is daily.frame  # no archive read
    both = with_archives(daily, dt.date(2023, 10, 1))
    assert len(both) == len(daily.frame) + len(load_archive_rows(ws))
    assert both["date"].min() < pd.Timestamp(NEW_YEAR) <= daily.frame["date"].min()


def load_archive_rows(root: Path) -> pd.DataFrame:
    from xlsales.discipline import dedupe

    df = read_table(root / "archive_2023.xlsx", T.get("daily"), workspace_settings(root)).df
    return dedupe(df)[0]


# -- the weekly sheet counts dailies edited after submission -------------------------------


def rollup_json(root: Path, url: str, week: str) -> dict[str, Any]:
    result = cli("rollup", "-w", str(root), "--week", week, "--json", url=url)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def rep_errors(out: dict[str, Any], rep: str) -> int:
    return next(r["errors"] for r in out["rows"] if r["level"] == "rep" and r["name"] == rep)


def test_the_weekly_sheet_counts_dailies_edited_after_submission(
        url: str, sample_copy: Callable[[str], Path]) -> None:
    root = sample_copy("zh")
    target = a_daily(root, 4)
    week = target["day"].strftime("%G-W%V")
    first = rollup_json(root, url, week)
    assert first["edited_after_submission"] == 0
    edit_cells(root / "daily_report.xlsx", target["sheet"], {target["cell"]: target["visits"] + 3})
    second = rollup_json(root, url, week)
    assert second["edited_after_submission"] == 1
    assert rep_errors(second, target["rep"]) == rep_errors(first, target["rep"]) + 1
    others = [(r["name"], r["errors"]) for r in second["rows"]
              if r["level"] == "rep" and r["name"] != target["rep"]]
    assert others == [(r["name"], r["errors"]) for r in first["rows"]
                      if r["level"] == "rep" and r["name"] != target["rep"]]
    text = cli("rollup", "-w", str(root), "--week", week, url=url)
    assert "台账发现 1 份日报在提交后被修改或删除" in text.output


# -- the schema ----------------------------------------------------------------------------


def test_r0004_to_r0005_keeps_the_rows_and_down_again(url: str) -> None:
    from xlsales.ledger.store import HEAD, migrate, revision

    assert HEAD == "0005"
    engine = sa.create_engine(url)
    now = dt.datetime(2024, 3, 5, 9, 0)
    with engine.begin() as conn:
        migrate(conn, "0004")
        conn.execute(sa.text(
            "INSERT INTO ledger_rows (team, tbl, key, hash, version, first_seen, changed_at, "
            "source, deleted) VALUES ('t', 'daily', '张三 2023-03-04', 7, 1, :n, :n, "
            "'daily_report.xlsx', false)"), {"n": now})
    engine.dispose()
    ledger = Ledger.open(url)  # opening upgrades
    try:
        assert ledger.archived("t", "daily") == []
        assert list(ledger.archive("t", "daily", ["张三 2023-03-04"], [8], [])) == [
            "张三 2023-03-04"]  # another content: refused
        assert list(ledger.archive("t", "daily", ["张三 2023-03-04"], [7], [])) == []
        assert ledger.archived("t", "daily") == ["张三 2023-03-04"]
    finally:
        ledger.close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        migrate(conn, "0004")
        assert revision(conn) == "0004"
    assert "archived_at" not in {c["name"] for c in sa.inspect(engine).get_columns(
        "ledger_rows")}
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT key FROM ledger_rows")).scalars().all() == [
            "张三 2023-03-04"]
        migrate(conn)
        assert revision(conn) == HEAD
    engine.dispose()
