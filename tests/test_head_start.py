"""The head start on the daily report's read (``xlsales.io.read.early``): begun in a second
thread before pandas is imported, taken by the read that wants that table when the file is
as it was, and giving exactly what the read would give on its own; otherwise the read
happens as ever, its errors worded as ever."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from xlsales import tables as T
from xlsales.errors import XlsalesError
from xlsales.io.read import early, read_table
from xlsales.workspace import read_settings

DAILY = T.get("daily")


def _same_table(a: object, b: object) -> None:
    pd.testing.assert_frame_equal(a.df, b.df)  # type: ignore[attr-defined]
    assert [f.model_dump() for f in a.findings] == [  # type: ignore[attr-defined]
        f.model_dump() for f in b.findings]  # type: ignore[attr-defined]
    assert (a.sheet, a.lang, a.header_row) == (  # type: ignore[attr-defined]
        b.sheet, b.lang, b.header_row)  # type: ignore[attr-defined]


@pytest.fixture
def team(sample_copy: Callable[[str], Path]) -> Path:
    return sample_copy("zh")


def test_the_read_begun_early_is_the_read(team: Path) -> None:
    path = team / "daily_report.xlsx"
    settings = read_settings(team)
    alone = read_table(path, DAILY, settings)
    assert early.head_start(path)
    begun = early.take(path, DAILY)
    assert begun is not None and begun.found[0] == alone.sheet
    begun.load.result()
    begun.reader.close()
    assert early.head_start(path)
    _same_table(read_table(path, DAILY, settings), alone)
    assert early.take(path, DAILY) is None  # taken once, by the read above


def test_the_workbook_is_opened_once(team: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The read takes the head start's open workbook: its safety checks and first rows are
    not read a second time."""
    import xlsales.io.read as reading

    path = team / "daily_report.xlsx"
    settings = read_settings(team)
    opened: list[Path] = []
    check = reading.check_workbook

    def counted(p: Path) -> object:
        opened.append(Path(p))
        return check(p)

    monkeypatch.setattr(reading, "check_workbook", counted)
    assert early.head_start(path)
    read_table(path, DAILY, settings)
    assert opened == [path]


def test_a_load_begun_in_other_types_is_waited_for_and_not_used(team: Path) -> None:
    """Given a load begun for other column types, the read waits for it (one load of a
    reader at a time) and loads the sheet again: the same table as on its own."""
    path = team / "daily_report.xlsx"
    settings = read_settings(team)
    alone = read_table(path, DAILY, settings)
    assert early.head_start(path)
    begun = early.take(path, DAILY)
    assert begun is not None
    begun.load.wanted = {**begun.load.wanted, 0: "float"}
    with begun.reader as wb:
        table = wb.load(DAILY, settings, *begun.found, early=begun)
    assert not begun.load.thread.is_alive()
    _same_table(table, alone)


def test_a_file_saved_meanwhile_is_read_anew(team: Path) -> None:
    path = team / "daily_report.xlsx"
    settings = read_settings(team)
    assert early.head_start(path)
    wb = openpyxl.load_workbook(path)
    ws = wb[DAILY.sheet.zh]
    name = DAILY.column("visits").header("zh")
    header = next(r for r in ws.iter_rows(max_row=10) if any(c.value == name for c in r))
    col = next(c.column_letter for c in header if c.value == name)
    ws[f"{col}{header[0].row + 1}"] = 77
    wb.save(path)
    table = read_table(path, DAILY, settings)
    assert table.df["visits"].iloc[0] == 77  # the saved value, not the one begun on
    early.forget()


def test_another_table_or_file_does_not_take_it(team: Path) -> None:
    path = team / "daily_report.xlsx"
    assert early.head_start(path)
    assert early.take(team / "customers.xlsx", DAILY) is None
    assert early.take(path, T.get("customers")) is None
    early.forget()
    assert early.take(path, DAILY) is None  # forgotten


def test_errors_come_from_the_read_itself(team: Path, tmp_path: Path) -> None:
    settings = read_settings(team)
    not_a_book = tmp_path / "daily_report.xlsx"
    not_a_book.write_bytes(b"not a zip at all")
    no_table = tmp_path / "customers.xlsx"
    shutil.copy(team / "customers.xlsx", no_table)
    for path in (not_a_book, no_table):
        with pytest.raises(XlsalesError) as alone:
            read_table(path, DAILY, settings)
        assert early.head_start(path)
        with pytest.raises(XlsalesError) as begun:
            read_table(path, DAILY, settings)
        assert begun.value.text("en") == alone.value.text("en")
    assert early.head_start(tmp_path / "missing.xlsx") is False


def test_a_date_the_reader_panics_on(team: Path) -> None:
    """A date cell far outside the calendar makes the typed load panic: the load begun
    early raises it, and the read reads the dates as numbers, as it does on its own."""
    path = team / "daily_report.xlsx"
    wb = openpyxl.load_workbook(path)
    ws = wb[DAILY.sheet.zh]
    name = DAILY.column("date").header("zh")
    header = next(r for r in ws.iter_rows(max_row=10) if any(c.value == name for c in r))
    col = next(c.column_letter for c in header if c.value == name)
    ws[f"{col}{header[0].row + 2}"] = -693595
    wb.save(path)
    settings = read_settings(team)
    alone = read_table(path, DAILY, settings)
    assert any(f.cell == f"{col}{header[0].row + 2}" for f in alone.findings)
    assert early.head_start(path)
    _same_table(read_table(path, DAILY, settings), alone)


def test_the_head_start_imports_no_pandas() -> None:
    """What the second thread runs loads no pandas or numpy: the imports of the command's
    main thread run beside the load, not before it."""
    code = ("import sys\n"
            "from xlsales.io.read import early\n"
            "import xlsales.io.read.arrow_load, xlsales.headers\n"
            "print(sorted(m for m in ('pandas', 'numpy') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert json.loads(out.replace("'", '"')) == []


def _cli(argv: list[str]) -> tuple[subprocess.CompletedProcess[str], list[bool]]:
    """The command line run in a process of its own; what each take of a head start got."""
    code = ("import sys\n"
            "import xlsales.io.read.early as early\n"
            "seen = []\n"
            "was = early.take\n"
            "def take(*args):\n"
            "    got = was(*args)\n"
            "    seen.append(got is not None)\n"
            "    return got\n"
            "early.take = take\n"
            "import atexit\n"
            "atexit.register(lambda: print('taken', seen, file=sys.stderr))\n"
            f"sys.argv = ['xlsales', *{argv!r}]\n"
            "from xlsales.cli import main\n"
            "main()\n")
    env = {**os.environ, "XLSALES_LEDGER": "off"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, env=env, check=False)
    taken = json.loads(proc.stderr.rsplit("taken ", 1)[1].split("\n")[0].lower())
    return proc, taken


def test_the_command_line_rollup_begins_early(team: Path, tmp_path: Path) -> None:
    """``xlsales rollup`` takes the read it began, and writes what the library writes."""
    proc, taken = _cli(["rollup", str(team), "--all", "--json",
                        "--out", str(tmp_path / "out.xlsx")])
    assert proc.returncode == 0, proc.stderr
    assert taken.count(True) == 1
    from xlsales.jobs import run_rollup

    lib = run_rollup(team, all_weeks=True, out=tmp_path / "lib.xlsx")
    cli = json.loads(proc.stdout)
    assert cli["weeks"] == lib.weeks and cli["errors"] == lib.errors
    assert len(cli["rows"]) == len(lib.frame)


@pytest.mark.parametrize("argv", [
    ["validate", "{team}/daily_report.xlsx"],
    ["validate", "{team}/customers.xlsx"],
    ["validate", "{team}/daily_report.xlsx", "--annotate", "--out", "{tmp}/annotated.xlsx"],
    ["completion", "--period", "2024-03"],
    ["compliance", "--period", "2024Q1"],
    ["spotcheck", "--on", "2024-03-15"],
    ["review", "--month", "2024-03", "--out", "{tmp}/review.xlsx"],
    ["agenda", "--week", "2024-W11", "--out", "{tmp}/agenda.xlsx"],
    ["summary", "--week", "--on", "2024-03-15"],
], ids=lambda a: a[0])
def test_commands_reading_the_daily_report_begin_early(team: Path, tmp_path: Path,
                                                       argv: list[str],
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       ) -> None:
    """Each command that reads the daily report takes the read it began (none is left
    over, none wasted), and says what it says without one."""
    args = [a.replace("{tmp}", str(tmp_path)).replace("{team}", str(team)) for a in argv]
    if args[0] != "validate":
        args += ["-w", str(team)]
    proc, taken = _cli([*args, "--json"])
    assert proc.returncode in (0, 1), proc.stderr  # validate: 1 when it finds errors
    # taken once (every table read asks; the customers workbook holds no daily report)
    assert taken.count(True) == (0 if "customers.xlsx" in args[1] else 1)
    from typer.testing import CliRunner

    from xlsales.cli import app

    monkeypatch.setattr(early, "head_start", lambda *_a, **_k: False)  # read as ever
    alone = CliRunner().invoke(app, [*args, "--json"], env={"XLSALES_LEDGER": "off"})
    assert alone.exit_code == proc.returncode, alone.output
    assert json.loads(proc.stdout) == json.loads(alone.stdout)
