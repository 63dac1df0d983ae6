"""Every case of the hostile corpus (``tests/hostile.py``) through ``validate --json``,
``validate --annotate --out`` and ``rollup --out``: exit 0, 1 or 2 and never a traceback;
one JSON object on stdout, a refusal (exit 2) naming the file; the hostile input left as it
was; an annotated copy that passes the checker; under 2 s of CPU per command and 500 MB of
memory, and no hang.

Each case runs in a forked child (xlsales is imported here, in the parent, first): the
child runs the three commands and writes what happened to a file; the parent reads the
child's peak memory from ``os.wait4`` and kills it after 20 s (a hang).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import resource
import shutil
import signal
import stat
import time
import traceback
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import xlsales.io.annotate
import xlsales.jobs
import xlsales.validate  # noqa: F401  (imported before the fork, not in every child)
from tests import hostile
from xlsales.cli import app
from xlsales.io.check import check_workbook
from xlsales.sample import SAMPLE_TODAY

TODAY = SAMPLE_TODAY.isoformat()
WEEK = "2024-W12"
HANG = 20.0  # seconds of wall-clock time for the three commands of a case
CPU_LIMIT = 2.0  # seconds of CPU per command
RSS_LIMIT_KB = 500_000  # peak resident memory of a case's process, in KiB
READ_NORMALLY = {"symlink_to_workbook"}  # read like the workbook it points to
# refused by every command (exit 2): unsafe, damaged or not a workbook at all
REFUSED = {name for name in hostile.CASES if name.startswith((
    "billion_laughs-", "quadratic-", "external_entity-", "far_", "encrypted",
    "flipped_", "missing_content_types", "missing_daily_sheet", "missing_shared_strings",
    "sheet_name_duplicated", "directory", "dangling_symlink", "symlink_to_dev_zero", "fifo",
    "zero_bytes", "csv_", "html_", "legacy_", "truncated"))} | {
    "zip_bomb_ratio", "zip_bomb_lying_size", "zip_bomb_lying_size_big_archive",
    "zip_bomb_total", "zip_over_1000_entries"}

# -- the fingerprint of the hostile input ----------------------------------------------------------

def fingerprint(path: Path) -> object:
    """What must not change: a file's bytes, a link's target (and the file it points to),
    a folder's listing; never reads a device."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        return ("link", os.readlink(path), fingerprint(path.resolve()))
    if stat.S_ISDIR(st.st_mode):
        return ("dir", sorted((p.name, fingerprint(p)) for p in path.iterdir()))
    if stat.S_ISREG(st.st_mode):
        return ("file", hashlib.sha256(path.read_bytes()).hexdigest())
    return ("special", stat.S_IFMT(st.st_mode), st.st_rdev)


# -- forked children -------------------------------------------------------------------------------

@dataclasses.dataclass
class Forked:
    result: Any  # what the child returned (JSON), None when it gave nothing back
    maxrss_kb: int
    hung: bool
    status: str  # how the child ended: "ok", "signal N", "exit N"


def in_child(fn: Callable[[], Any], result_file: Path, timeout: float | None = None
             ) -> Forked:
    """Run ``fn`` in a forked child; its (JSON) result, peak RSS, and whether it hung
    (still running after ``timeout``, default :data:`HANG` seconds: killed)."""
    timeout = HANG if timeout is None else timeout
    result_file.unlink(missing_ok=True)
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 0
        try:
            start = _reset_peak()
            try:
                out = fn()
            except BaseException as exc:
                out = {"child_error": "".join(traceback.format_exception(exc))}
            grown = _status_kb("VmHWM") - start if start is not None else None
            result_file.write_text(json.dumps({"out": out, "grown_kb": grown},
                                              ensure_ascii=False, default=str))
        except BaseException:
            code = 70
        finally:
            os._exit(code)
    deadline = time.monotonic() + timeout
    hung = False
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            _, status, usage = os.wait4(pid, 0)
            hung = True
            break
        time.sleep(0.01)
    if os.WIFSIGNALED(status):
        how = f"signal {os.WTERMSIG(status)}"
    else:
        how = "ok" if os.WEXITSTATUS(status) == 0 else f"exit {os.WEXITSTATUS(status)}"
    result, grown = None, None
    if not hung and result_file.exists():
        saved = json.loads(result_file.read_text())
        result, grown = saved["out"], saved["grown_kb"]
    # the child's own peak: what it added to the imported xlsales it was forked from (its
    # ru_maxrss would count the whole pytest process, which grows over a full run)
    peak = IMPORTED_KB + grown if grown is not None else usage.ru_maxrss
    return Forked(result, peak, hung, how)


IMPORTED_KB = 160_000  # a fresh process that has imported xlsales, pandas and fastexcel


def _status_kb(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        return int(next(line.split()[1] for line in fh if line.startswith(field + ":")))


def _reset_peak() -> int | None:
    """Reset this process's peak RSS to its current RSS (Linux: ``clear_refs`` 5); the
    RSS it starts from, or None where that cannot be done."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return _status_kb("VmRSS")
    except (OSError, StopIteration, ValueError):
        return None


def commands(path: Path, team: Path, work: Path) -> list[tuple[str, list[str]]]:
    return [("validate", ["validate", str(path), "--json", "--on", TODAY]),
            ("annotate", ["validate", str(path), "--annotate", "--out",
                          str(work / "annotated.xlsx"), "--json"]),
            ("rollup", ["rollup", str(team), "--week", WEEK, "--out",
                        str(work / "weekly.xlsx"), "--json"])]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_commands(path: Path, team: Path, work: Path, progress: Path | None = None
                 ) -> list[dict[str, Any]]:
    """(In the child.) The three commands, one after the other, on the hostile file; the
    runs so far are written to ``progress`` after each (to tell which one hung)."""
    runner = CliRunner()
    runs = []
    for label, words in commands(path, team, work):
        before = fingerprint(path)
        cpu, wall = _cpu(), time.monotonic()
        result = runner.invoke(app, words)
        cpu, wall = _cpu() - cpu, time.monotonic() - wall
        exc = result.exception
        runs.append({
            "command": label, "words": words, "exit_code": result.exit_code,
            "exception": None if exc is None or isinstance(exc, SystemExit) else
            "".join(traceback.format_exception(exc))[-3000:],
            "stdout": result.stdout, "stderr": result.stderr[-2000:],
            "cpu": cpu, "wall": wall, "input_changed": fingerprint(path) != before,
        })
        if progress is not None:
            progress.write_text(json.dumps(runs, ensure_ascii=False))
    return runs


# -- checks ----------------------------------------------------------------------------------------

def _problems(path: Path) -> set[tuple[str, str | None, str | None]]:
    return {(p.kind, p.sheet, p.cell) for p in check_workbook(path)}


def check_written(path: Path, out: Path) -> str | None:
    """Why the annotated copy ``out`` of ``path`` fails the checker (None: it passes): it
    may keep the problems the input had, it may add none."""
    try:
        had = _problems(path) if path.is_file() else set()
    except Exception:  # an unreadable input has no problems to keep
        had = set()
    try:
        added = _problems(out) - had
    except Exception as exc:
        return f"the checker cannot read it: {exc!r}"
    return f"adds problems {sorted(added, key=str)[:10]}" if added else None


def _json_object(stdout: str) -> tuple[dict[str, Any] | None, str | None]:
    try:
        value = json.loads(stdout)
    except ValueError as exc:
        return None, f"stdout is not one JSON object ({exc}): {stdout[:300]!r}"
    if not isinstance(value, dict):
        return None, f"stdout is JSON but not an object: {stdout[:300]!r}"
    return value, None


def judge(case: str, path: Path, team: Path, run: dict[str, Any]) -> list[str]:
    """What is wrong with one command's run."""
    label, code = run["command"], run["exit_code"]
    wrong = []
    if run["exception"]:
        wrong.append(f"{label}: an exception escaped (exit {code}):\n{run['exception']}")
    if code not in (0, 1, 2):
        wrong.append(f"{label}: exit {code}; stderr: {run['stderr'][-500:]}")
    if run["cpu"] > CPU_LIMIT:
        wrong.append(f"{label}: {run['cpu']:.2f} s of CPU (limit {CPU_LIMIT} s)")
    if run["input_changed"]:
        wrong.append(f"{label}: the input {path.name} changed")
    payload, bad = _json_object(run["stdout"])
    if bad:
        wrong.append(f"{label} (exit {code}): {bad}")
    elif payload is not None and code == 2:
        names = {path.name, path.resolve().name}
        if label == "rollup":  # it was given the team's folder: naming that is fine too
            names.add(str(team))
        error = payload.get("error")
        if payload.get("ok") is not False or not isinstance(error, str):
            wrong.append(f"{label}: exit 2 without ok: false and an error: {payload}")
        elif not any(n in error for n in names):
            wrong.append(f"{label}: the error does not name {path.name}: {error!r}")
    if case in REFUSED and code != 2:
        wrong.append(f"{label}: exit {code}, but this file must be refused (exit 2)")
    if case in READ_NORMALLY and label != "rollup" and (
            code not in (0, 1) or not (payload or {}).get("tables")):
        wrong.append(f"{label}: not read like the workbook it links to: exit {code}, "
                     f"{run['stdout'][:300]!r}")
    leaked = [m for m in hostile.LEAKS if m.decode() in run["stdout"]]
    if leaked:
        wrong.append(f"{label}: entity content in the output: {leaked[0][:20]!r}…")
    return wrong


# -- the test --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sample_team() -> Path:
    """The sample team's workspace, built once (by ``tests.hostile``); cases copy it."""
    return hostile.sample_team()


PARAMS = [pytest.param(name, id=name) for name in hostile.CASES]


@pytest.mark.parametrize("case", PARAMS)
def test_hostile_file(case: str, sample_team: Path, tmp_path: Path) -> None:
    team = tmp_path / "team"
    shutil.copytree(sample_team, team, symlinks=True)
    path = hostile.CASES[case](team)
    before = fingerprint(path)
    work = tmp_path / "out"
    work.mkdir()
    progress = tmp_path / "progress.json"
    forked = in_child(lambda: run_commands(path, team, work, progress),
                      tmp_path / "result.json")

    wrong: list[str] = []
    if forked.hung:
        done = json.loads(progress.read_text()) if progress.exists() else []
        label = commands(path, team, work)[len(done)][0]
        wrong.append(f"hang: {label} still running after {HANG:.0f} s (killed); before it: "
                     + (", ".join(f"{r['command']} exit {r['exit_code']}" for r in done)
                        or "nothing"))
        for run in done:
            wrong += judge(case, path, team, run)
    elif forked.status != "ok" or not isinstance(forked.result, list):
        wrong.append(f"the child died ({forked.status}): {forked.result}")
    else:
        for run in forked.result:
            wrong += judge(case, path, team, run)
    if forked.maxrss_kb > RSS_LIMIT_KB:
        wrong.append(f"peak RSS {forked.maxrss_kb / 1024:.0f} MiB "
                     f"(limit {RSS_LIMIT_KB / 1024:.0f} MiB)")
    if fingerprint(path) != before:
        wrong.append(f"the input {path.name} changed")
    annotated = work / "annotated.xlsx"
    if annotated.exists():
        why = check_written(path, annotated)
        if why:
            wrong.append(f"annotate: the annotated copy {why}")
        with contextlib.suppress(OSError, zipfile.BadZipFile), \
                zipfile.ZipFile(annotated) as zf:
            for name in zf.namelist():
                if any(m in zf.read(name) for m in hostile.LEAKS):
                    wrong.append(f"annotate: entity content in {name} of the copy")
    assert not wrong, f"{case}:\n" + "\n".join(wrong)


def test_the_corpus_covers_every_xml_part(sample_team: Path, tmp_path: Path) -> None:
    """Every XML part of the sample daily report has a case of each kind of entity
    attack, and the case really puts the entities in that part."""
    parts = hostile.xml_parts(sample_team / hostile.DAILY)
    assert {"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml",
            "xl/_rels/workbook.xml.rels", "xl/styles.xml", "xl/sharedStrings.xml",
            "xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml", "docProps/core.xml",
            "docProps/app.xml"} <= set(parts)
    for kind, (_, refs, _) in hostile.ENTITIES.items():
        for part in parts:
            name = hostile.entity_case_name(kind, part)
            assert name in hostile.CASES, f"no case {name} for {part}"
            path = hostile.build(name, tmp_path / name)
            with zipfile.ZipFile(path) as zf:
                changed = [n for n in zf.namelist() if b"<!DOCTYPE" in zf.read(n)]
                assert changed == [part], (name, changed)
                assert refs[:16] in zf.read(part)
