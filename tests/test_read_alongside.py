"""A large daily sheet's survey (its extent for the far-cell guard, and what a value
reader hides) is done before the load, over a part decompressed ahead in a thread of its
own; or, split, only its extent before the load and the scan during it. The targets are
read in a second thread while the daily sheet loads (``load_daily(beside=…)``)."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlsales import tables as T
from xlsales.errors import WorkbookError
from xlsales.io.read import SMALL_PART, read_table
from xlsales.jobs.sources import Beside, load_daily, load_targets, read_targets
from xlsales.settings import Settings

SHEET = "xl/worksheets/sheet1.xml"


def _workspace(root: Path, copies: int) -> Path:
    """The sample team's workspace, its dailies repeated ``copies`` times (a year apart)."""
    from xlsales.sample import generate
    from xlsales.workspace import write_workspace

    sample = generate(2024)
    data = dict(sample.data)
    data["daily"] = [{**r, "date": r["date"] - dt.timedelta(days=364 * i),
                      "submitted_at": r["submitted_at"] - dt.timedelta(days=364 * i)}
                     for i in range(copies) for r in sample.data["daily"]]
    write_workspace(root, sample.settings, data, lang="en")
    return root


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace whose daily sheet is surveyed in a second thread (see ``MODES`` for the
    sizes from which it is decompressed ahead, or split)."""
    root = _workspace(tmp_path_factory.mktemp("big") / "team", copies=2)
    with zipfile.ZipFile(root / "daily_report.xlsx") as z:
        assert z.getinfo(SHEET).file_size >= SMALL_PART
    return root


# how a large sheet is surveyed: the sizes from which each way is taken, set as low as
# the test workbook (a real team's daily report is far larger)
MODES = {"one_pass": {}, "ahead": {"AHEAD_PART": SMALL_PART},
         "split": {"AHEAD_PART": SMALL_PART, "SPLIT_PART": SMALL_PART}}


def _mode(monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    import xlsales.io.read as rd

    for name, value in MODES[mode].items():
        monkeypatch.setattr(rd, name, value)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample workspace: its daily sheet is surveyed in one pass, no thread."""
    root = _workspace(tmp_path_factory.mktemp("small") / "team", copies=1)
    with zipfile.ZipFile(root / "daily_report.xlsx") as z:
        assert z.getinfo(SHEET).file_size < SMALL_PART
    return root


def _patched(src: Path, out: Path, fn: Callable[[bytes], bytes]) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, fn(data) if info.filename == SHEET else data)
    return out


def _last_row(xml: bytes) -> int:
    return max(int(m) for m in re.findall(rb'<row r="(\d+)"', xml))


def _hidden_cells(xml: bytes) -> bytes:
    """A boolean in the visits column (C) of the first data row and of the last; a formula
    without a cached value in the effective-visits column (D) of the first and the last."""
    last = _last_row(xml)
    for row in (5, last):
        xml, n = re.subn(rb'<c r="C%d"( s="\d+")?><v>[^<]*</v></c>' % row,
                         rb'<c r="C%d"\1 t="b"><v>1</v></c>' % row, xml)
        assert n == 1
        xml, n = re.subn(rb'<c r="D%d"( s="\d+")?><v>[^<]*</v></c>' % row,
                         rb'<c r="D%d"\1><f>C%d+1</f></c>' % (row, row), xml)
        assert n == 1
    return xml


@pytest.mark.parametrize(("where", "mode"), [("small", "one_pass"), *(
    ("big", mode) for mode in MODES)])
def test_what_the_xml_hides_is_found_in_every_way(tmp_path: Path, where: str, mode: str,
                                                  request: pytest.FixtureRequest,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A boolean in a number column and a formula without a cached value are findings of
    the cells they are in, whether the sheet is scanned during the load (split), in the
    pass that measures it over a part decompressed ahead, or in one plain pass."""
    _mode(monkeypatch, mode)
    root: Path = request.getfixturevalue(where)
    src = root / "daily_report.xlsx"
    with zipfile.ZipFile(src) as z:
        last = _last_row(z.read(SHEET))
    path = _patched(src, tmp_path / "hidden.xlsx", _hidden_cells)
    settings = Settings.default()
    table = read_table(path, T.get("daily"), settings)
    by_cell = {(f.rule, f.cell) for f in table.findings}
    for row in (5, last):
        assert ("cell.no_cached_value", f"D{row}") in by_cell
        boolean = [f for f in table.findings if f.cell == f"C{row}"]
        assert [f.rule for f in boolean] == ["cell.type"], table.findings
        assert boolean[0].value in (True, "TRUE", "True")
    clean = read_table(src, T.get("daily"), settings)
    assert not {f.cell for f in clean.findings} & {"C5", "D5", f"C{last}", f"D{last}"}


_RUN = (
    "import atexit, re, sys\n"
    "import xlsales.io.read as rd\n"
    "for name, value in {mode}.items(): setattr(rd, name, value)\n"
    "atexit.register(lambda: print('RSS', re.search(r'VmHWM:\\s*(\\d+)', open("
    "'/proc/self/status').read()).group(1), file=sys.stderr))\n"
    "sys.argv = ['xlsales', *sys.argv[1:]]\n"
    "from xlsales.cli import main\n"
    "main()\n")


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("far", ["XFD1048576", "A1048576"])
def test_a_large_sheet_with_a_far_cell_is_refused_before_the_load(tmp_path: Path, big: Path,
                                                                   far: str, mode: str) -> None:
    """The far-cell guard still needs only the extent, measured before the load: a large
    daily sheet with one cell far away is refused naming it, quickly and in little memory
    (a load would allocate for the whole area: an abort at XFD1048576), by the rollup that
    reads the targets meanwhile too."""
    import shutil

    team = tmp_path / "team"
    shutil.copytree(big, team)
    row = int(re.sub(r"[A-Z]", "", far))
    _patched(big / "daily_report.xlsx", team / "daily_report.xlsx", lambda x: x.replace(
        b"</sheetData>", b'<row r="%d"><c r="%s"><v>1</v></c></row></sheetData>'
        % (row, far.encode())))
    started = time.monotonic()
    run = _RUN.replace("{mode}", repr(MODES[mode]))
    proc = subprocess.run([sys.executable, "-c", run, "--no-ledger", "rollup",
                           "--workspace", str(team), "--all", "--json"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert time.monotonic() - started < 60
    assert proc.returncode == 2, proc.stderr[-2000:]
    error = json.loads(proc.stdout)["error"]
    assert "sheet.huge_range" in error and f"cell {far}" in error
    assert int(re.search(r"RSS (\d+)", proc.stderr).group(1)) < 600_000


def _targets_noting(threads: list[str]) -> Callable[[Path, Settings], Any]:
    """read_targets, noting in ``threads`` the name of the thread it runs in."""
    def work(root: Path, settings: Settings) -> Any:
        threads.append(threading.current_thread().name)
        return read_targets(root, settings)
    return work


def test_the_targets_read_beside_the_daily_load_are_the_targets(small: Path) -> None:
    """The work given to load_daily runs in a second thread while the daily sheet loads,
    and gives what the plain read gives."""
    threads: list[str] = []
    beside = Beside(_targets_noting(threads))
    daily = load_daily(small, beside=beside)
    assert threads == ["xlsales-beside-daily"]  # over when load_daily returned
    got = load_targets(daily.root, daily.settings, read=beside)
    assert threads == ["xlsales-beside-daily"]
    assert got.months and got == load_targets(daily.root, daily.settings)
    plain = load_daily(small)
    assert plain.frame.equals(daily.frame)
    assert [f.model_dump() for f in plain.findings] == [f.model_dump()
                                                        for f in daily.findings]


def test_a_targets_error_surfaces_as_before(tmp_path: Path, small: Path) -> None:
    """An error reading the targets beside the daily load is raised where the targets are
    asked for: the same exception, the same message as a plain read."""
    import shutil

    team = tmp_path / "team"
    shutil.copytree(small, team)
    wb = openpyxl.load_workbook(team / "targets.xlsx")
    ws = wb.worksheets[0]
    hit = next(c for row in ws.iter_rows() for c in row if isinstance(c.value, (int, float))
               and c.row > 3)
    hit.value = "#DIV/0!"
    hit.data_type = "e"
    wb.save(team / "targets.xlsx")
    with pytest.raises(WorkbookError) as plain:
        daily = load_daily(team)
        load_targets(daily.root, daily.settings)
    beside = Beside(read_targets)
    daily = load_daily(team, beside=beside)
    with pytest.raises(WorkbookError) as got:
        load_targets(daily.root, daily.settings, read=beside)
    assert type(got.value) is type(plain.value)
    assert str(got.value) == str(plain.value) and got.value.cell == plain.value.cell
    assert got.value.cell == hit.coordinate


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize(("case", "started"), [("far_cell", False), ("cut_short", True)])
def test_the_daily_error_comes_first_and_the_work_is_over(
        tmp_path: Path, big: Path, case: str, started: bool, mode: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """When the daily report cannot be read, its error is raised (not the work's), and the
    work is over by then: not begun when the sheet is refused before the load (a far
    cell), begun and finished when the load itself fails (a sheet cut short)."""
    import shutil

    _mode(monkeypatch, mode)
    team = tmp_path / "team"
    shutil.copytree(big, team)
    change = (lambda x: x.replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576">'
                                  b"<v>1</v></c></row></sheetData>")) if case == "far_cell" \
        else (lambda x: x[:len(x) // 2])
    _patched(big / "daily_report.xlsx", team / "daily_report.xlsx", change)
    seen: list[bool] = []

    def work(root: Path, settings: Settings) -> None:
        time.sleep(0.2)  # still running when the load fails
        seen.append(True)
        raise ValueError("never shown")

    beside = Beside(work)
    with pytest.raises(WorkbookError) as raised:
        load_daily(team, beside=beside)
    assert ("sheet.huge_range" in str(raised.value)) == (case == "far_cell")
    assert raised.value.sheet
    assert seen == ([True] if started else [])
    assert not [t for t in threading.enumerate() if t.name == "xlsales-beside-daily"]


def test_without_a_roster_the_work_runs_when_asked(tmp_path: Path, small: Path) -> None:
    """Settings without a roster are replaced by a stand-in (other settings than the work
    would be given): the work then runs where its result is asked for, in that thread."""
    threads: list[str] = []
    beside = Beside(_targets_noting(threads))
    settings = Settings.default().model_copy(update={"roster": []})
    daily = load_daily(small / "daily_report.xlsx", settings=settings, beside=beside)
    assert threads == []
    load_targets(daily.root, daily.settings, read=beside)
    assert threads == [threading.current_thread().name]


def test_loads_in_two_threads_give_back_the_error_stream() -> None:
    """A load keeps Rust's panic messages off descriptor 2; two loads overlapping in two
    threads (the daily sheet, the targets beside it) leave it as it was, whichever ends
    first."""
    import os

    from xlsales.io.read.arrow_load import rust_panics_quiet

    before = os.fstat(2)
    inside, leave = threading.Event(), threading.Event()
    quiet_in_thread: list[bool] = []

    def second() -> None:
        with rust_panics_quiet():
            inside.set()
            leave.wait(10)
            quiet_in_thread.append(not os.path.samestat(os.fstat(2), before))

    with rust_panics_quiet():
        worker = threading.Thread(target=second)
        worker.start()
        assert inside.wait(10)
    # the first out, the second still in: still quiet
    assert not os.path.samestat(os.fstat(2), before)
    leave.set()
    worker.join(10)
    assert quiet_in_thread == [True]
    assert os.path.samestat(os.fstat(2), before)


@pytest.mark.parametrize("chunk", [1 << 16, 1 << 22])
def test_the_survey_ahead_finds_what_the_plain_survey_finds(tmp_path: Path, big: Path,
                                                            chunk: int,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            ) -> None:
    """Decompressed ahead in a second thread (many chunks or one), the sheet's extent and
    its scan are those of the plain pass; a part refused on its first chunk (a DTD) is
    refused the same, and no thread is left behind either way."""
    from xlsales.io.read import package as P

    monkeypatch.setattr(P, "CHUNK", chunk)
    path = _patched(big / "daily_report.xlsx", tmp_path / "hidden.xlsx", _hidden_cells)
    with P.Package(path) as pkg:
        name = pkg.sheets[0].name
        plain = pkg.survey(name, set(range(13)))
        ahead = pkg.survey(name, set(range(13)), ahead=True)
        assert ahead == plain
        assert plain[0].max_row == _last_row(zipfile.ZipFile(path).read(SHEET))
        assert len(plain[1].uncached) == 2 and len(plain[1].booleans) == 2
    dtd = _patched(big / "daily_report.xlsx", tmp_path / "dtd.xlsx", lambda x: x.replace(
        b"?>", b'?><!DOCTYPE worksheet [<!ENTITY a "b">]>', 1))
    with P.Package(dtd) as pkg:
        name = pkg.sheets[0].name
        errors = []
        for how in (False, True):
            with pytest.raises(WorkbookError) as raised:
                pkg.survey(name, set(range(13)), scan=False, ahead=how)
            errors.append(str(raised.value))
        assert errors[0] == errors[1] and "DTD" in errors[0]
    assert not [t for t in threading.enumerate() if t.name == "xlsales-sheet-inflate"]


def _hidden_sheet(rows: int) -> bytes:
    """Sheet XML whose rows hold a formula without a cached value, a boolean and a long
    inline text (so that some stretches hold no cell start at all)."""
    body = b"".join(
        b'<row r="%d"><c r="A%d"><f>B%d*2</f></c><c r="B%d" t="b"><v>%d</v></c>'
        b'<c r="C%d" t="inlineStr"><is><t>%s</t></is></c></row>'
        % (r, r, r, r, r % 2, r, b"x" * (300 if r % 7 else 3000)) for r in range(1, rows + 1))
    return (b'<?xml version="1.0"?><worksheet><sheetData>' + body
            + b'</sheetData><mergeCells><mergeCell ref="D1:E2"/></mergeCells></worksheet>')


@given(st.lists(st.one_of(st.integers(1, 30), st.integers(30, 3000)), min_size=1,
                max_size=80))
@settings(max_examples=150, deadline=None)
def test_the_scan_finds_the_same_however_the_part_comes_in_chunks(cuts: list[int]) -> None:
    """The survey's passes are fed chunks as the reader has them (the read-ahead takes
    them as they are inflated: any size, a few bytes right after a cell cut in two
    included): the extent and the scan are those of the whole part in one piece."""
    from xlsales.io.read import package as P

    xml = _hidden_sheet(200)

    def fed(pieces: list[bytes]) -> tuple[Any, Any]:
        ext, found = P.Extent(), P.SheetScan()
        passes = [P._ExtentPass(ext), P._ScanPass(found, {0, 1, 2}, b"")]
        for piece in [*pieces, b""]:
            for one in passes:
                one.feed(piece)
        # (the columns are noted only where a chunk took the exact path: not compared)
        return (ext.max_row, ext.farthest_row, ext.far_cell(3)), found

    whole = fed([xml])
    pieces, at = [], 0
    for n in cuts:
        pieces.append(xml[at:at + n])
        at += n
    pieces = [p for p in pieces if p] + ([xml[at:]] if at < len(xml) else [])
    assert fed(pieces) == whole
    assert len(whole[1].uncached) == 200 and len(whole[1].booleans) == 200
    assert whole[0][0] == 200 and whole[1].merged == ["D1:E2"]


def test_the_lists_read_beside_the_load_keep_the_dropdowns_current(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``rollup`` reads the daily report's ``_lists`` sheet beside the daily load and
    compares it with the settings as before: a rep added to the roster reaches the
    dropdowns; unchanged settings leave the list sheet's bytes alone."""
    from xlsales.io.edit import lists as lists_mod
    from xlsales.jobs import run_rollup
    from xlsales.sample import generate
    from xlsales.sample.generator import SAMPLE_TODAY
    from xlsales.workbook import LISTS_SHEET
    from xlsales.workspace import write_workspace

    sample = generate()
    write_workspace(tmp_path, sample.settings, sample.data)
    settings = sample.settings.model_copy(deep=True)
    newcomer = settings.roster[0].model_copy(update={"rep": "新来的"})
    settings.roster.append(newcomer)
    write_workspace(tmp_path, settings, sample.data, books=["settings"])
    threads: list[str] = []
    head = lists_mod.lists_head

    def noting(path: Path) -> list[list[Any]]:
        threads.append(threading.current_thread().name)
        return head(path)

    monkeypatch.setattr(lists_mod, "lists_head", noting)
    daily = tmp_path / "daily_report.xlsx"
    run_rollup(tmp_path, week="2024-W12", today=SAMPLE_TODAY)
    assert threads == ["xlsales-beside-daily"]  # read beside the load, not again
    assert any("新来的" in row for row in head(daily))

    def lists_part() -> bytes:
        with zipfile.ZipFile(daily) as z:
            rid = re.search(rf'<sheet name="{LISTS_SHEET}"[^>]*r:id="(rId\d+)"',
                            z.read("xl/workbook.xml").decode()).group(1)
            rels = z.read("xl/_rels/workbook.xml.rels").decode()
            target = re.search(rf'Id="{rid}"[^>]*Target="([^"]+)"', rels) or re.search(
                rf'Target="([^"]+)"[^>]*Id="{rid}"', rels)
            return z.read("xl/" + target.group(1).removeprefix("/xl/"))

    before = lists_part()
    run_rollup(tmp_path, week="2024-W12", today=SAMPLE_TODAY)
    assert lists_part() == before


def _settings_threads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The threads the workspace's settings are read in, from now on."""
    import xlsales.jobs.sources as src

    threads: list[str] = []
    plain = src.workspace_settings

    def spy(root: Path) -> Settings:
        threads.append(threading.current_thread().name)
        return plain(root)

    monkeypatch.setattr(src, "workspace_settings", spy)
    return threads


def test_the_settings_are_read_while_the_daily_sheet_loads(
        small: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without settings given, load_daily reads them in a second thread once the daily
    sheet's load has begun, and starts the work beside with them: the result is what a
    read given the settings first gives."""
    from xlsales.workspace import read_settings

    threads = _settings_threads(monkeypatch)
    work: list[str] = []
    beside = Beside(_targets_noting(work))
    daily = load_daily(small, beside=beside)
    assert threads == ["xlsales-beside-settings"]
    assert work == ["xlsales-beside-daily"]
    given = load_daily(small, settings=read_settings(small))
    assert daily.settings == given.settings and daily.settings.roster
    assert daily.frame.equals(given.frame)
    assert [f.model_dump() for f in daily.findings] == [f.model_dump()
                                                        for f in given.findings]
    assert load_targets(daily.root, daily.settings, read=beside) == load_targets(
        given.root, given.settings)
    assert not [t for t in threading.enumerate() if t.name == "xlsales-beside-settings"]


def test_a_settings_error_surfaces_as_before(tmp_path: Path, small: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A settings workbook that cannot be read gives the error a plain read of the
    settings gives, though it was read in a second thread."""
    import shutil

    from xlsales.jobs.sources import workspace_settings

    team = tmp_path / "team"
    shutil.copytree(small, team)
    (team / "settings.xlsx").write_bytes(b"PK\x03\x04 not a workbook at all")
    with pytest.raises(WorkbookError) as plain:
        workspace_settings(team)
    threads = _settings_threads(monkeypatch)
    with pytest.raises(WorkbookError) as got:
        load_daily(team)
    assert threads == ["xlsales-beside-settings"]
    assert type(got.value) is type(plain.value) and str(got.value) == str(plain.value)
    assert "settings.xlsx" in (got.value.file or "")


def test_a_daily_sheet_refused_before_its_load_reads_no_settings_beside(
        tmp_path: Path, small: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A daily sheet refused before its load (a far cell) is the error; the settings were
    never read in a second thread."""
    import shutil

    team = tmp_path / "team"
    shutil.copytree(small, team)
    _patched(small / "daily_report.xlsx", team / "daily_report.xlsx",
             lambda x: x.replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576">'
                                 b"<v>1</v></c></row></sheetData>"))
    threads = _settings_threads(monkeypatch)
    with pytest.raises(WorkbookError) as raised:
        load_daily(team)
    assert "sheet.huge_range" in str(raised.value)
    assert threads == []


def test_a_folder_without_dailies_says_so(tmp_path: Path) -> None:
    """A folder with no daily workbook (settings not given, so read beside the first
    one's load, were there one): the error says so."""
    with pytest.raises(WorkbookError) as raised:
        load_daily(tmp_path)
    assert "no daily report found here" in str(raised.value)
