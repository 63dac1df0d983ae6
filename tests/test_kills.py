"""SIGKILL at random points while a command writes a workbook in place, 50 times for each
writing command of the CLI: every workbook is then either its original, byte for byte, or
a complete new workbook (it opens, its zip members check, it is Excel-strict); no file an
``*.xlsx`` (or ``*.xlsm``) glob picks up is left beside it; the next run of the command
succeeds and sweeps the temporary files and locks the killed runs left.

A warm worker (the command run once in it, so every module is imported) forks a child per
run that runs the CLI in process, and watches the folder with inotify. Most kills are
timed from the moment the child creates its temporary file of the target: a random delay
within the span a calibration run measured from that moment to the replace, the span
narrowed after a kill that came after the replace and widened after one that came before.
The others fall at a random moment of the whole run. A kill counts by what it left: a
temporary file of the child (killed while writing; empty, partly written or all there),
a new workbook (killed after a replace), or neither (killed before the write). The
commands run in a pool of two workers; each test asserts on its command's record (run
with ``-s`` to see the counts).
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import fnmatch
import os
import random
import select
import shutil
import signal
import struct
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from xlsales.io.atomic import TEMP_SUFFIX
from xlsales.sample import SAMPLE_TODAY

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="fork, inotify and pidfd are Linux's")

TODAY = SAMPLE_TODAY.isoformat()
KILLS = 50
TRIGGERED = 0.8  # share of kills timed from the temporary file's creation
WORKERS = 2
OPP_HEADERS = ["商机名称", "客户名称", "负责人", "商机阶段", "金额(元)", "预计成交日期",
               "创建日期", "备注"]


@dataclass(frozen=True)
class Command:
    """A CLI command that writes ``target`` (a workbook of the workspace) in place."""

    name: str
    target: str
    words: Callable[[Path], list[str]]
    macros: bool = False  # on .xlsm workbooks with an older VBA project, not the sample


COMMANDS = [
    Command("validate --annotate", "daily_report.xlsx",
            lambda ws: ["validate", str(ws / "daily_report.xlsx"), "--annotate", "--on", TODAY]),
    Command("rollup --all", "daily_report.xlsx",
            lambda ws: ["rollup", str(ws), "--all", "--on", TODAY]),
    Command("compliance --write", "daily_report.xlsx",
            lambda ws: ["compliance", "-w", str(ws), "--period", "2024-03", "--write",
                        "--on", TODAY]),
    Command("spotcheck --mark", "daily_report.xlsx",
            lambda ws: ["spotcheck", "-w", str(ws), "--on", "2024-03-28", "--mark"]),
    Command("followups --write", "customers.xlsx",
            lambda ws: ["followups", "-w", str(ws), "--on", TODAY, "--write"]),
    Command("agenda --week", "meeting_agenda.xlsx",
            lambda ws: ["agenda", "-w", str(ws), "--week", "2024-W13"]),
    Command("import --yes", "customers.xlsx",
            lambda ws: ["import", str(ws.parent / "opps.csv"), "-w", str(ws), "--yes",
                        "--on", TODAY]),
    Command("excel upgrade", "customers.xlsm",  # the first of its five writes
            lambda ws: ["excel", "upgrade", str(ws)], macros=True),
]


@dataclass
class Record:
    """What the kills of one command found."""

    command: str
    kills: int = 0
    before: int = 0  # nothing of the write yet
    during: int = 0  # the child's temporary file was there
    after: int = 0  # the workbook was replaced
    finished: int = 0  # runs that ended before their kill (not counted as kills)
    temps: list[int] = field(default_factory=lambda: [0, 0, 0])  # empty, partial, whole
    landed: int = 0  # new workbooks found after a kill (or a run that ended first)
    window_ms: float = 0.0  # calibration: temporary file created → workbook replaced
    run_ms: float = 0.0  # calibration: fork → exit
    writes: int = 0  # calibration: how often one run replaces the target
    final_rc: int | None = None
    swept: list[str] = field(default_factory=list)  # left by the kills for the next run
    failures: list[str] = field(default_factory=list)
    log: list[tuple[bool, float, str]] = field(default_factory=list)  # (triggered, ms, what)


# -- inotify and the forked child --------------------------------------------------------

IN_MOVED_FROM, IN_CREATE = 0x40, 0x100
_EVENT = struct.Struct("iIII")


class Watch:
    """The names created in, or renamed out of, one folder (inotify)."""

    def __init__(self, folder: Path) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if libc.inotify_add_watch(self.fd, os.fsencode(folder), IN_CREATE | IN_MOVED_FROM) < 0:
            raise OSError(ctypes.get_errno(), "inotify_add_watch")

    def events(self) -> list[tuple[int, str]]:
        """(mask, name) of the events so far."""
        out = []
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return out
            at = 0
            while at < len(data):
                _wd, mask, _cookie, size = _EVENT.unpack_from(data, at)
                name = data[at + _EVENT.size:at + _EVENT.size + size].rstrip(b"\0")
                out.append((mask, os.fsdecode(name)))
                at += _EVENT.size + size

    def close(self) -> None:
        os.close(self.fd)


def spawn(words: list[str], log: Path) -> tuple[int, int]:
    """Fork a child that runs the CLI with ``words`` (its stderr appended to ``log``);
    (pid, pidfd)."""
    pid = os.fork()
    if pid == 0:  # the child: run the command, never return into the test
        code = 70
        try:
            import traceback

            import typer

            from xlsales.cli import app
            from xlsales.io.edit import package

            package._deflater.cache_clear()  # its threads stayed behind in the parent
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
            os.dup2(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644), 2)
            sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
            rc = typer.main.get_command(app).main(words, prog_name="xlsales",
                                                  standalone_mode=False)
            code = rc if isinstance(rc, int) else 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
            code = 70
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os._exit(code)
    return pid, os.pidfd_open(pid)


def reap(pid: int, pidfd: int) -> int:
    """Wait for the child; its wait status."""
    _, status = os.waitpid(pid, 0)
    os.close(pidfd)
    return status


def temp_of(target: str, name: str) -> bool:
    return name.startswith(f".{target}.") and name.endswith(TEMP_SUFFIX)


@dataclass
class Timing:
    """A run to its end: seconds from the fork to the first temporary file of the target,
    to the first replace, to the exit; how many times the target was replaced."""

    status: int
    created: float | None = None
    replaced: float | None = None
    end: float = 0.0
    writes: int = 0


def run_timed(words: list[str], watch: Watch, target: str, log: Path) -> Timing:
    """Run the command to its end, timing its writes of ``target``."""
    watch.events()
    t0 = time.monotonic()
    pid, pidfd = spawn(words, log)
    timing = Timing(0)
    while True:
        ready, _, _ = select.select([watch.fd, pidfd], [], [], 120)
        now = time.monotonic() - t0
        for mask, name in watch.events():
            if temp_of(target, name):
                if mask & IN_CREATE and timing.created is None:
                    timing.created = now
                elif mask & IN_MOVED_FROM:
                    timing.writes += 1
                    if timing.replaced is None:
                        timing.replaced = now
        if pidfd in ready or not ready:
            break
    if not ready:
        os.kill(pid, signal.SIGKILL)
    timing.status = reap(pid, pidfd)
    timing.end = time.monotonic() - t0
    return timing


def warm_up(words: list[str]) -> None:
    """Run the command once in this process (on a copy of the workspace), so its children
    start with every module it imports lazily already imported."""
    import io

    import typer

    from xlsales.cli import app
    from xlsales.io import guard

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
            contextlib.suppress(SystemExit):
        typer.main.get_command(app).main(words, prog_name="xlsales", standalone_mode=False)
    guard._READ.clear()  # what this process read is no one's business in the children
    guard._SEEN.clear()


def kill_run(words: list[str], watch: Watch, target: str, log: Path,
             delay: float, triggered: bool) -> tuple[int, int]:
    """Run the command and SIGKILL it ``delay`` seconds after its first temporary file of
    ``target`` appears (``triggered``), else after the fork; (pid, wait status)."""
    watch.events()
    t0 = time.monotonic()
    pid, pidfd = spawn(words, log)
    if triggered:
        while True:
            ready, _, _ = select.select([watch.fd, pidfd], [], [], 120)
            if any(mask & IN_CREATE and temp_of(target, name)
                   for mask, name in watch.events()):
                t0 = time.monotonic()
                break
            if pidfd in ready or not ready:
                break
    rest = delay - (time.monotonic() - t0)
    if rest > 0:
        select.select([pidfd], [], [], rest)
    os.kill(pid, signal.SIGKILL)
    return pid, reap(pid, pidfd)


# -- what a folder may hold ----------------------------------------------------------------

def globbed(folder: Path) -> list[str]:
    """Every name in ``folder`` an ``*.xlsx`` or ``*.xlsm`` glob picks up, hidden ones too."""
    return sorted(n for n in os.listdir(folder)
                  if fnmatch.fnmatch(n, "*.xlsx") or fnmatch.fnmatch(n, "*.xlsm"))


def changed(folder: Path, originals: dict[str, bytes]) -> list[str]:
    """The workbooks of ``folder`` that are no longer their ``originals``."""
    return [name for name, data in originals.items()
            if (folder / name).read_bytes() != data]


def leftovers(folder: Path) -> list[str]:
    """The temporary files and xlsales locks in ``folder``."""
    return sorted(n for n in os.listdir(folder)
                  if n.endswith(TEMP_SUFFIX) or n.startswith(".~xlsales."))


def stale(folder: Path) -> bool:
    """Whether a killed write left a temporary file in ``folder``."""
    return any(n.endswith(TEMP_SUFFIX) for n in os.listdir(folder))


def landed_whole(path: Path) -> str | None:
    """Why the workbook at ``path`` is not a complete, Excel-strict workbook, or None."""
    try:
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()
            if bad is not None:
                return f"member {bad} is corrupt"
            if "xl/workbook.xml" not in z.namelist():
                return "no xl/workbook.xml"
    except (OSError, zipfile.BadZipFile) as exc:
        return f"not a zip: {exc}"
    from tests.strict import assert_strict

    try:
        assert_strict(path)
    except AssertionError as exc:
        return str(exc)
    return None


def tail(log: Path) -> str:
    with contextlib.suppress(OSError):
        return log.read_text(encoding="utf-8", errors="replace")[-1500:]
    return ""


# -- one command's 50 kills ----------------------------------------------------------------

def write_import_file(ws: Path) -> None:
    """A small export of opportunities: one open deal moved on, one new deal."""
    from xlsales.jobs.sources import load_customers

    opps = load_customers(ws, ("opportunities",)).frame("opportunities")
    opps = opps[~opps.duplicated(["customer", "name"], keep=False)]
    open_ = opps[~opps["stage"].isin(["签约成交", "输单", "售后服务"])].iloc[0]
    moved = [open_["name"], open_["customer"], open_["owner"], "报价与谈判",
             f"{open_['amount'] * 10000:.0f}", open_["expected_close"].strftime("%Y/%m/%d"),
             open_["created_on"].strftime("%Y/%m/%d"), ""]
    new = ["新项目", "某某科技有限公司", "张伟", "需求分析", "50000", "2024/5/1", "2024/1/2", ""]
    with (ws.parent / "opps.csv").open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([OPP_HEADERS, moved, new])


def kill_command(args: tuple[int, str, str]) -> Record:
    """Calibrate, kill 50 times, run once more; what was found (in a pool worker)."""
    index, base, folder = args
    cmd = COMMANDS[index]
    rec = Record(cmd.name)
    root = Path(folder)
    ws = root / "team"
    shutil.copytree(base, ws)
    if cmd.name.startswith("import"):
        write_import_file(ws)
    words = cmd.words(ws)
    originals = {name: (ws / name).read_bytes() for name in globbed(ws)}
    rng = random.Random(f"kills {cmd.name}")
    watch = Watch(ws)
    log = root / "stderr.txt"
    try:
        warm = root / "warm"
        shutil.copytree(ws, warm)
        warm_up(cmd.words(warm))
        windows, runs = [], []
        for _ in range(3):  # calibration: where the first write is in a run
            timing = run_timed(words, watch, cmd.target, log)
            code = os.waitstatus_to_exitcode(timing.status)
            if code not in (0, 1) or timing.created is None or timing.replaced is None:
                rec.failures.append(f"calibration run: exit {code}, {timing}: {tail(log)}")
                return rec
            windows.append(timing.replaced - timing.created)
            runs.append(timing.end)
            rec.writes = timing.writes
            new_size = (ws / cmd.target).stat().st_size
            for name in changed(ws, originals):
                (ws / name).write_bytes(originals[name])
        window = max(sorted(windows)[1] * 1.1, 0.002)
        run = sorted(runs)[1]
        rec.window_ms, rec.run_ms = window * 1000, run * 1000
        attempts = 0
        while attempts < 3 * KILLS and (rec.kills < KILLS or not stale(ws)):
            attempts += 1  # (past 50: until a killed write leaves a file to sweep)
            triggered = rec.kills >= KILLS or rng.random() < TRIGGERED
            delay = rng.uniform(0, window if triggered else run)
            pid, status = kill_run(words, watch, cmd.target, log, delay, triggered)
            new = changed(ws, originals)
            if not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
                rec.finished += 1  # it ended first: kill sooner
                code = os.waitstatus_to_exitcode(status)
                if code not in (0, 1):
                    rec.failures.append(f"run {attempts} ended with exit {code}: {tail(log)}")
                if triggered:
                    window *= 0.8
                else:
                    run *= 0.85
            else:
                rec.kills += 1
                mine = [n for n in os.listdir(ws) if n.endswith(TEMP_SUFFIX) and f".{pid}." in n]
                what = "during" if mine else "after" if new else "before"
                setattr(rec, what, getattr(rec, what) + 1)
                if mine:  # how far the write had come: empty, partly written, all there
                    size = os.stat(ws / mine[0]).st_size
                    rec.temps[0 if size == 0 else 1 if size < new_size else 2] += 1
                rec.log.append((triggered, round(delay * 1000, 2), what))
                if triggered:  # aim the delays at the span the temporary file lives
                    window *= 0.8 if cmd.target in new else 1.05
            for name in new:  # each workbook: the original, or a whole new one
                rec.landed += 1
                if why := landed_whole(ws / name):
                    keep = root / f"broken-{attempts}-{name}"
                    shutil.copyfile(ws / name, keep)
                    rec.failures.append(f"run {attempts}: a half-written {name} ({why}); "
                                        f"kept as {keep}")
                (ws / name).write_bytes(originals[name])  # the next kill hits a real write
            if globbed(ws) != sorted(originals):
                rec.failures.append(f"run {attempts}: the *.xlsx glob finds "
                                    f"{sorted(set(globbed(ws)) - set(originals))}")
        if rec.kills < KILLS:
            rec.failures.append(f"only {rec.kills} kills in {attempts} runs")
        rec.swept = leftovers(ws)
        timing = run_timed(words, watch, cmd.target, log)  # the next run cleans up
        rec.final_rc = os.waitstatus_to_exitcode(timing.status)
        if rec.final_rc not in (0, 1):
            rec.failures.append(f"the run after the kills: exit {rec.final_rc}: {tail(log)}")
        new = changed(ws, originals)
        if cmd.target not in new:
            rec.failures.append("the run after the kills wrote nothing")
        for name in new:
            if why := landed_whole(ws / name):
                rec.failures.append(f"the run after the kills: {name}: {why}")
        if leftovers(ws):
            rec.failures.append(f"left after the next run: {leftovers(ws)}")
        if globbed(ws) != sorted(originals):
            rec.failures.append(f"after the next run the glob finds {globbed(ws)}")
    except Exception as exc:
        rec.failures.append(f"{type(exc).__name__}: {exc}")
    finally:
        watch.close()
    return rec


def old_macro_workbooks(root: Path) -> Path:
    """``xlsales init --macros`` with the VBA project of an older xlsales in every .xlsm
    (what ``excel upgrade`` rewrites)."""
    from typer.testing import CliRunner

    from tests.test_upgrade import MACRO_BOOKS, fake_old
    from xlsales.cli import app

    result = CliRunner().invoke(app, ["init", str(root), "--macros", "--lang", "zh"])
    assert result.exit_code == 0, result.output
    for name in MACRO_BOOKS:
        fake_old(root / name)
    return root


@pytest.fixture(scope="module")
def records(request: pytest.FixtureRequest, sample_team: Callable[[str], Path],
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Record]]:
    """The kills of every command the session runs a test of, two commands at a time, each
    on its own copy of the sample team (the same copy ``sample_copy("zh")`` makes)."""
    import multiprocessing

    wanted = {item.callspec.params.get("command") for item in request.session.items
              if getattr(item, "module", None) is request.module and hasattr(item, "callspec")}
    todo = [(i, c) for i, c in enumerate(COMMANDS) if c.name in wanted]
    sample = sample_team("zh")
    macros = old_macro_workbooks(tmp_path_factory.mktemp("macros") / "team") \
        if any(c.macros for _, c in todo) else None
    jobs = [(i, str(macros if c.macros else sample), str(tmp_path_factory.mktemp(f"kills-{i}")))
            for i, c in todo]
    os.environ.setdefault("XLSALES_LEDGER", "off")
    with multiprocessing.get_context("spawn").Pool(WORKERS) as pool:  # fresh workers
        found = {r.command: r for r in pool.imap_unordered(kill_command, jobs)}
    yield found


@pytest.mark.parametrize("command", [c.name for c in COMMANDS])
def test_a_kill_while_writing_leaves_the_original_or_the_new_workbook(
        records: dict[str, Record], command: str) -> None:
    rec = records[command]
    print(f"\n{command}: {rec.kills} kills — before the write {rec.before}, while the "
          f"temporary file existed {rec.during} (it was empty {rec.temps[0]}, partly "
          f"written {rec.temps[1]}, all there {rec.temps[2]}), after the replace "
          f"{rec.after}; "
          f"{rec.finished} runs ended first; calibrated: the temporary file lives "
          f"{rec.window_ms:.0f} ms of a {rec.run_ms:.0f} ms run with {rec.writes} write(s); "
          f"{rec.landed} new workbooks checked Excel-strict; the next run swept {rec.swept}")
    assert not rec.failures, rec.failures
    assert rec.kills >= KILLS
    assert any(n.endswith(TEMP_SUFFIX) for n in rec.swept), rec.swept  # the next run swept it
    assert rec.before + rec.during + rec.after == rec.kills
    during = sum(what == "during" for _, _, what in rec.log[:KILLS])
    assert during >= 0.4 * KILLS, rec.log  # the first 50 kills really fall inside the write
    assert rec.final_rc in (0, 1)


def test_the_watch_sees_a_temporary_file(tmp_path: Path) -> None:
    """The inotify watch the kills are timed by reports creations and renames."""
    watch = Watch(tmp_path)
    try:
        name = f".book.xlsx.{os.getpid()}.x{TEMP_SUFFIX}"
        (tmp_path / name).write_bytes(b"")
        os.replace(tmp_path / name, tmp_path / "book.xlsx")
        events = watch.events()
    finally:
        watch.close()
    assert (IN_CREATE, name) in [(m & IN_CREATE, n) for m, n in events]
    assert any(m & IN_MOVED_FROM and n == name for m, n in events)
    assert temp_of("book.xlsx", name) and not temp_of("other.xlsx", name)
