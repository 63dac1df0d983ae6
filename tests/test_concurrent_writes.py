"""Writing in place without losing anybody's work: owner files, a save by someone else
between read and write, two xlsales writers at once, kills, a full disk, and targets
that must not be replaced (read-only, hard-linked, not a file; symlinks written through).

Faults are injected for real: second processes save by rename as Excel does, processes
are killed with SIGKILL/SIGTERM, the disk error is an OSError(ENOSPC) from the writer.
"""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.strict import assert_strict
from xlsales.cli import app
from xlsales.io import guard
from xlsales.io.atomic import TEMP_SUFFIX
from xlsales.sample import SAMPLE_TODAY
from xlsales.tables.weekly import COMPLIANCE

TODAY = SAMPLE_TODAY.isoformat()
runner = CliRunner()


@pytest.fixture
def team(sample_copy: Callable[[str], Path]) -> Path:
    return sample_copy("en")


def annotate(team: Path) -> object:
    return runner.invoke(app, ["validate", str(team / "daily_report.xlsx"), "--annotate",
                               "--on", TODAY, "--json"])


def sheets(path: Path) -> list[str]:
    import re

    with zipfile.ZipFile(path) as z:
        book = z.read("xl/workbook.xml").decode()
    return re.findall(r'<sheet\b[^>]*?name="([^"]+)"', book)


def excel_owner_file(path: Path, user: str) -> Path:
    """An owner file as Excel writes it: a length byte, the name, padding, then the name
    again in UTF-16 after a length byte at offset 54."""
    raw = user.encode("gbk")
    data = bytes([len(raw)]) + raw.ljust(53, b" ")
    data += bytes([len(user), 0]) + user.encode("utf-16-le")
    data = data.ljust(162, b"\x20")
    owner = path.with_name("~$" + path.name)
    owner.write_bytes(data)
    return owner


# -- the workbook is open elsewhere --------------------------------------------------------------

@pytest.mark.parametrize("app_name", ["excel", "libreoffice"])
def test_an_open_workbook_is_not_written_in_place(team: Path, app_name: str) -> None:
    daily = team / "daily_report.xlsx"
    before = daily.read_bytes()
    if app_name == "excel":
        owner = excel_owner_file(daily, "张伟")
        who = "张伟"
    else:
        owner = daily.with_name(f".~lock.{daily.name}#")
        owner.write_text(",Li Lei,laptop-7,01.12.2026 09:12,file:///home/li/.config;",
                         encoding="utf-8")
        who = "Li Lei"
    result = annotate(team)
    assert result.exit_code == 2, result.output
    error = json.loads(result.stdout)["error"]
    assert who in error and "--out" in error
    assert daily.read_bytes() == before
    assert owner.exists()  # never deleted
    copy = team / "copy.xlsx"  # a copy elsewhere is fine
    out = runner.invoke(app, ["validate", str(daily), "--annotate", "--out", str(copy),
                              "--on", TODAY, "--json"])
    assert out.exit_code in (0, 1), out.output
    assert copy.exists() and daily.read_bytes() == before


# -- changed between read and write --------------------------------------------------------------

SAVE_AS_EXCEL = """
import os, shutil, sys, zipfile
src, marker = sys.argv[1], sys.argv[2]
tmp = src + ".excel-save"
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
    for info in zin.infolist():
        zout.writestr(info, zin.read(info))
    zout.writestr("docProps/custom-marker.txt", marker)
os.replace(tmp, src)
"""


def test_a_save_by_someone_else_between_read_and_write_wins(team: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    """Another process replaces the workbook by rename (as Excel saves) while xlsales
    writes its new copy: xlsales detects it, writes nothing, and the other save stays."""
    import xlsales.io.atomic as atomic

    script = tmp_path / "save.py"
    script.write_text(SAVE_AS_EXCEL, encoding="utf-8")
    daily = team / "daily_report.xlsx"
    real_fsync = atomic._fsync

    def fsync_after_a_user_save(path: Path) -> None:
        subprocess.run([sys.executable, str(script), str(daily), "user's row"], check=True,
                       timeout=60)
        real_fsync(path)

    monkeypatch.setattr(atomic, "_fsync", fsync_after_a_user_save)
    for words in (["validate", str(daily), "--annotate", "--on", TODAY],
                  ["rollup", str(team), "--week", "2024-W12", "--on", TODAY],
                  ["spotcheck", "-w", str(team), "--date", "2024-03-28", "--mark"]):
        result = runner.invoke(app, [*words, "--json"])
        assert result.exit_code == 2, (words, result.output)
        assert "changed since" in json.loads(result.stdout)["error"]
        with zipfile.ZipFile(daily) as z:  # the other save is what is there
            assert z.read("docProps/custom-marker.txt") == b"user's row"
        assert not list(team.glob(f"*{TEMP_SUFFIX}")) and not list(team.glob(".*" + TEMP_SUFFIX))


def test_two_xlsales_writers_at_once_keep_both_results_or_say_so(team: Path) -> None:
    """rollup and compliance --write on one daily report at the same moment: each either
    lands (and its sheet is in the file) or says it wrote nothing."""
    daily = team / "daily_report.xlsx"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    for round_ in range(3):
        cmds = [[sys.executable, "-m", "xlsales", "rollup", str(team), "--week",
                 f"2024-W1{round_ + 1}", "--on", TODAY, "--json"],
                [sys.executable, "-m", "xlsales", "compliance", "-w", str(team), "--period",
                 f"2024-0{round_ + 1}", "--write", "--on", TODAY, "--json"]]
        procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=env) for c in cmds]
        outs = [p.communicate(timeout=180) for p in procs]
        names = sheets(daily)
        landed = 0
        for (stdout, stderr), proc, kind in zip(outs, procs, ("rollup", "compliance"),
                                                strict=True):
            payload = json.loads(stdout)
            if proc.returncode == 0:
                landed += 1
                wanted = payload["sheets"] if kind == "rollup" else [COMPLIANCE.sheet("en")]
                assert set(wanted) <= set(names), (kind, wanted, names)
            else:
                assert proc.returncode == 2, stderr
                assert "nothing was written" in payload["error"], payload
        assert landed >= 1
        assert_strict(daily)


def test_a_lock_held_by_a_live_writer_is_waited_for_and_freed_when_it_dies(
        team: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    daily = team / "daily_report.xlsx"
    lock = daily.with_name(f".~xlsales.{daily.name}.lock")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, json, os, sys, time\n"
        f"fd = os.open({str(lock)!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "os.ftruncate(fd, 0)\n"
        "os.write(fd, json.dumps({'pid': os.getpid(), 'host': 'h',"
        " 'command': 'xlsales rollup'}).encode())\n"
        "print('locked', flush=True)\n"
        "time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        monkeypatch.setattr(guard, "LOCK_WAIT", 0.3)
        before = daily.read_bytes()
        result = annotate(team)
        assert result.exit_code == 2
        error = json.loads(result.stdout)["error"]
        assert "another xlsales command" in error and "xlsales rollup" in error
        assert daily.read_bytes() == before
    finally:
        holder.kill()  # SIGKILL: the operating system frees its lock
        holder.wait()
    result = annotate(team)
    assert result.exit_code in (0, 1), result.output
    assert daily.read_bytes() != before


def test_a_half_written_lock_file_does_not_block(team: Path) -> None:
    daily = team / "daily_report.xlsx"
    daily.with_name(f".~xlsales.{daily.name}.lock").write_bytes(b"")  # a crash mid-write
    assert annotate(team).exit_code in (0, 1)


# -- kills, signals, a full disk -------------------------------------------------------------------

@pytest.mark.parametrize("command", ["annotate", "rollup"])
def test_a_kill_at_any_moment_leaves_the_workbook_whole(team: Path, command: str) -> None:
    daily = team / "daily_report.xlsx"
    original = daily.read_bytes()
    words = (["validate", str(daily), "--annotate", "--on", TODAY] if command == "annotate"
             else ["rollup", str(team), "--all", "--on", TODAY])
    rng = random.Random(7)
    for _ in range(8):
        proc = subprocess.Popen([sys.executable, "-m", "xlsales", *words],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.4, 3.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        data = daily.read_bytes()
        if data != original:  # the new file landed whole
            assert_strict(daily)
        assert sorted(p.name for p in team.glob("*.xlsx")) == sorted(
            ["settings.xlsx", "targets.xlsx", "daily_report.xlsx", "meeting_agenda.xlsx",
             "monthly_review.xlsx", "customers.xlsx"])
    result = annotate(team)  # the next write sweeps what killed runs left
    assert result.exit_code in (0, 1)
    assert not [p for p in team.iterdir() if p.name.endswith(TEMP_SUFFIX)]


def test_only_this_machines_stale_temporary_files_are_swept(team: Path) -> None:
    """A folder shared by several machines: a temporary file of a process that is gone
    here is removed by the next write; another machine's (whose process this one cannot
    see) is left alone."""
    from xlsales.io.atomic import _host

    dead = 2 ** 22 + 12345  # above Linux's pid limit: no such process
    mine = team / f".daily_report.xlsx.{_host()}.{dead}.abcd1234{TEMP_SUFFIX}"
    theirs = team / f".daily_report.xlsx.other-pc.{dead}.abcd1234{TEMP_SUFFIX}"
    for path in (mine, theirs):
        path.write_bytes(b"half a workbook")
    assert annotate(team).exit_code in (0, 1)
    assert not mine.exists() and theirs.read_bytes() == b"half a workbook"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
def test_a_forked_process_deflates_parts_with_threads_of_its_own() -> None:
    """A process forked after the deflating threads started (a pre-forking server, fork
    multiprocessing) saves large parts: it does not wait on threads it does not have."""
    from xlsales.io.edit import package

    assert package._DeflatedAhead(b"x" * package.DEFLATE_AHEAD).result()[0]  # pool started
    pid = os.fork()
    if pid == 0:  # the child: a large part deflated, or killed by the alarm after 20 s
        signal.alarm(20)
        data = os.urandom(1 << 10) * (package.DEFLATE_AHEAD >> 9)
        part = package._DeflatedAhead(data)
        os._exit(0 if b"".join(part()) == data else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_sigterm_removes_the_temporary_file(team: Path) -> None:
    daily = team / "daily_report.xlsx"
    original = daily.read_bytes()
    proc = subprocess.Popen([sys.executable, "-m", "xlsales", "rollup", str(team), "--all",
                             "--on", TODAY], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:  # until the write starts
        if any(p.name.endswith(TEMP_SUFFIX) for p in team.iterdir()):
            proc.send_signal(signal.SIGTERM)
            break
        time.sleep(0.01)
    proc.wait(timeout=60)
    if proc.returncode == 128 + signal.SIGTERM and daily.read_bytes() != original:
        assert_strict(daily)  # the stop came after the new file landed: it is whole
    assert not [p for p in team.iterdir() if p.name.endswith(TEMP_SUFFIX)]


def test_a_full_disk_leaves_the_original_and_says_so(team: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from xlsales.io.edit import zipwriter

    daily = team / "daily_report.xlsx"
    before = daily.read_bytes()

    def full(*_a: object, **_k: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(zipwriter.ZipRewriter, "close", full)
    result = annotate(team)
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert "No space left" in error and "original is unchanged" in error
    assert daily.read_bytes() == before
    assert not [p for p in team.iterdir() if p.name.endswith(TEMP_SUFFIX)]


# -- targets that must not be replaced -------------------------------------------------------------

def test_a_read_only_workbook_is_refused(team: Path) -> None:
    daily = team / "daily_report.xlsx"
    daily.chmod(0o444)
    before = daily.read_bytes()
    result = annotate(team)
    assert result.exit_code == 2 and "read-only" in json.loads(result.stdout)["error"]
    assert daily.read_bytes() == before


def test_a_hard_linked_workbook_is_refused(team: Path, tmp_path: Path) -> None:
    daily = team / "daily_report.xlsx"
    os.link(daily, tmp_path / "other-name.xlsx")
    result = annotate(team)
    assert result.exit_code == 2 and "hard links" in json.loads(result.stdout)["error"]
    assert (tmp_path / "other-name.xlsx").read_bytes() == daily.read_bytes()


def test_a_symlinked_workbook_is_written_through(team: Path, tmp_path: Path) -> None:
    shared = tmp_path / "shared" / "daily.xlsx"
    shared.parent.mkdir()
    daily = team / "daily_report.xlsx"
    shutil.move(daily, shared)
    daily.symlink_to(shared)
    before = shared.read_bytes()
    result = annotate(team)
    assert result.exit_code in (0, 1), result.output
    assert daily.is_symlink() and daily.resolve() == shared.resolve()
    assert shared.read_bytes() != before
    assert_strict(shared)


# -- settings name files, never paths ------------------------------------------------------------

def set_option(team: Path, key: str, value: str) -> str:
    """Type ``value`` into option ``key`` of the workspace's settings; its cell."""
    from xlsales.io.edit.book import WorkbookEdit
    from xlsales.io.edit.cells import Cell
    from xlsales.io.read import WorkbookReader
    from xlsales.settings import Settings
    from xlsales.workspace import BOOK_BY_KEY

    settings = team / "settings.xlsx"
    spec = next(s for s in BOOK_BY_KEY["settings"].specs if s.key == "options")
    with WorkbookReader(settings) as reader:
        table = reader.table(spec, Settings.default())
    row = next(r["_row"] for r in table.records(with_row=True) if r["key"] == key)
    cell = table.cell("value", row)
    with WorkbookEdit(settings) as wb:
        wb.set_cell(table.sheet, cell, Cell(value))
        wb.save()
    return cell


@pytest.mark.parametrize("value", ["../evil_{period}.xlsx", "/tmp/evil_{period}.xlsx",
                                   "{0}.xlsx", "review_{period}.txt", "..\\x_{period}.xlsx"])
def test_a_review_file_setting_cannot_point_outside_the_workspace(team: Path, tmp_path: Path,
                                                                    value: str) -> None:
    cell = set_option(team, "review_file", value)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    result = runner.invoke(app, ["review", "-w", str(team), "--month", "2024-03", "--on",
                                 TODAY, "--json"])
    assert result.exit_code == 0, result.output  # with the default name, in the workspace
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert sorted(set(after) - set(before)) == [
        (team / "review_2024-03.xlsx").relative_to(tmp_path)]
    checked = runner.invoke(app, ["validate", str(team / "settings.xlsx"), "--json"])
    [problem] = json.loads(checked.stdout)["findings"]
    assert problem["cell"] == cell and "review_file" in problem["message"]
    assert "pydantic" not in problem["message"] and "Value error" not in problem["message"]


def test_an_unknown_calendar_is_named_with_its_cell(team: Path) -> None:
    cell = set_option(team, "calendar", "XX")
    result = runner.invoke(app, ["rollup", str(team), "--week", "2024-W12", "--on", TODAY])
    assert result.exit_code == 0, result.output  # with the default calendar (CN)
    assert f"!{cell}" in "".join(result.stderr.split())  # the note names the cell
    checked = runner.invoke(app, ["validate", str(team / "settings.xlsx"), "--json"])
    [problem] = json.loads(checked.stdout)["findings"]
    assert problem["cell"] == cell and problem["message"].startswith("setting calendar")


def test_a_date_past_the_calendar_is_a_bad_argument(team: Path) -> None:
    result = runner.invoke(app, ["followups", "-w", str(team), "--on", "9999-12-31"])
    assert result.exit_code == 2 and "between 1900 and 9000" in result.output


def test_a_save_between_the_commands_read_and_its_edit_is_caught(
        team: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """validate read the workbook, someone saved it, then the editor opens it: the findings
    belong to the old file, so nothing is written."""
    from xlsales.io.edit import package

    script = tmp_path / "save.py"
    script.write_text(SAVE_AS_EXCEL, encoding="utf-8")
    daily = team / "daily_report.xlsx"
    real_init = package.PackageEdit.__init__

    def open_after_a_user_save(self: package.PackageEdit, path: Path,
                               data: bytes | None = None) -> None:
        if data is None and Path(path) == daily:
            subprocess.run([sys.executable, str(script), str(daily), "user's row"],
                           check=True, timeout=60)
        real_init(self, path, data)

    monkeypatch.setattr(package.PackageEdit, "__init__", open_after_a_user_save)
    with guard.command():
        result = annotate(team)
    assert result.exit_code == 2, result.output
    assert "changed since" in json.loads(result.stdout)["error"]
    with zipfile.ZipFile(daily) as z:
        assert z.read("docProps/custom-marker.txt") == b"user's row"
