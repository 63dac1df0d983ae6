"""Sheets made in two processes (:mod:`xlsales.io.edit.forked`): ``rollup --all`` writes
the same workbook, byte for byte, as one process does; a child that fails, hangs, or would
have needed a style the workbook lacks changes nothing but the time; and no child outlives
the command."""

from __future__ import annotations

import os
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from xlsales.io.edit import forked
from xlsales.io.edit.book import WorkbookEdit
from xlsales.io.edit.newsheet import NewSheet
from xlsales.jobs import run_rollup
from xlsales.sample.generator import SAMPLE_TODAY

pytestmark = pytest.mark.skipif(not forked.can_fork(),
                                reason="sheets are made in two processes on Linux only")


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def _rollup(workspace: Path, out: Path, monkeypatch: pytest.MonkeyPatch, *,
            rows: int) -> tuple[dict[str, bytes], int]:
    """``rollup --all`` into ``out`` with sheets made in two processes from ``rows`` rows;
    the parts written and how many sheets came from the child."""
    monkeypatch.setattr(forked, "FORK_ROWS", rows)
    from_child = []
    put = WorkbookEdit.put_sheet

    def counting(self: WorkbookEdit, name: str, sheet: NewSheet, **kw: Any) -> None:
        from_child.append(kw.get("body") is not None)
        put(self, name, sheet, **kw)

    monkeypatch.setattr(WorkbookEdit, "put_sheet", counting)
    result = run_rollup(workspace, all_weeks=True, today=SAMPLE_TODAY, out=out)
    assert len(result.sheets) >= 4
    return _parts(out), sum(from_child)


_FORKED: list[int] = []


@pytest.fixture(autouse=True)
def _children(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The children forked during the test (their pids in ``_FORKED``)."""
    _FORKED.clear()
    fork = os.fork

    def noting() -> int:
        pid = fork()
        if pid:
            _FORKED.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", noting)
    yield


def _no_children() -> bool:
    """Whether every child forked in this test is gone and reaped (no zombie left)."""
    for pid in _FORKED:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue
        return False
    return True


def test_two_processes_write_what_one_does(sample_team: Callable[[str], Path],
                                           tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = sample_team("zh")
    one, none = _rollup(workspace, tmp_path / "one.xlsx", monkeypatch, rows=10**9)
    two, made = _rollup(workspace, tmp_path / "two.xlsx", monkeypatch, rows=0)
    assert none == 0
    assert made >= 2  # the second half came from the child
    assert len(_FORKED) == 1
    assert two.keys() == one.keys()
    assert [p for p in one if one[p] != two[p]] == []
    assert _no_children()


def test_a_failing_child_changes_nothing(sample_team: Callable[[str], Path],
                                         tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = sample_team("en")
    one, _ = _rollup(workspace, tmp_path / "one.xlsx", monkeypatch, rows=10**9)

    def broken(self: NewSheet) -> bytes:  # only the child takes the rows apart
        raise RuntimeError("the child fails")

    monkeypatch.setattr(NewSheet, "take_body", broken)
    two, made = _rollup(workspace, tmp_path / "two.xlsx", monkeypatch, rows=0)
    assert made == 0  # every sheet made here after all
    assert [p for p in one if one.get(p) != two.get(p)] == []
    assert _no_children()


def _rows(a: int, b: int) -> Iterator[NewSheet]:
    for i in range(a, b):
        sheet = NewSheet()
        sheet.put_rows(1, [f'<c r="A{r + 2}"><v>{i * 100 + r}</v></c>' for r in range(i + 1)],
                       1)
        sheet.heights[1] = 20.0
        yield sheet


def _rendered(pairs: Iterator[tuple[NewSheet, bytes | None]]) -> list[bytes]:
    return [sheet.render(["rId1"], body) for sheet, body in pairs]


def test_sheets_come_back_in_order_with_their_rows() -> None:
    serial = [sheet.render(["rId1"]) for sheet in _rows(0, 7)]
    pairs = list(forked.sheets_in_two(_rows, [i + 1 for i in range(7)], lambda: 0, rows=0))
    assert [body is not None for _, body in pairs] == [False] * 5 + [True] * 2
    assert [sheet.render(["rId1"], body) for sheet, body in pairs] == serial
    assert _no_children()


def test_a_style_the_child_would_add_makes_the_parent_make_its_half() -> None:
    parent = os.getpid()
    styles = {"count": 3}

    def make(a: int, b: int) -> Iterator[NewSheet]:
        for sheet in _rows(a, b):
            if os.getpid() != parent:
                styles["count"] += 1  # a format only the child's copy would know
            yield sheet

    pairs = list(forked.sheets_in_two(make, [5] * 6, lambda: styles["count"], rows=0))
    assert all(body is None for _, body in pairs)
    assert _rendered(iter(pairs)) == [s.render(["rId1"]) for s in _rows(0, 6)]
    assert styles["count"] == 3
    assert _no_children()


def _hanging_child() -> Callable[[int, int], Iterator[NewSheet]]:
    """``_rows``, except that in a forked child it hangs for a minute first."""
    parent = os.getpid()

    def make(a: int, b: int) -> Iterator[NewSheet]:
        if os.getpid() != parent:
            time.sleep(60)
        yield from _rows(a, b)
    return make


def test_a_hung_child_is_stopped_before_its_half_is_made_here(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forked, "MIN_WAIT", 0.5)
    monkeypatch.setattr(forked, "PATIENCE", 1.0)
    hung = _hanging_child()
    gone_when_made_here = []

    def make(a: int, b: int) -> Iterator[NewSheet]:
        if a > 0:  # this process makes the child's half: the child is gone already
            gone_when_made_here.append(_no_children())
        yield from hung(a, b)

    started = time.monotonic()
    pairs = list(forked.sheets_in_two(make, [5] * 4, lambda: 0, rows=0))
    assert time.monotonic() - started < 20
    assert gone_when_made_here == [True]
    assert all(body is None for _, body in pairs)
    assert _rendered(iter(pairs)) == [s.render(["rId1"]) for s in _rows(0, 4)]
    assert _no_children()


def test_styles_that_fail_before_the_fork_leave_nothing_open() -> None:
    fds = set(os.listdir("/proc/self/fd"))

    def styles() -> int:
        raise RuntimeError("the styles cannot be read")

    with pytest.raises(RuntimeError):
        list(forked.sheets_in_two(_rows, [5] * 6, styles, rows=0))
    assert set(os.listdir("/proc/self/fd")) == fds
    assert _FORKED == []


def test_stopping_early_stops_the_child() -> None:
    started = time.monotonic()
    made = forked.sheets_in_two(_hanging_child(), [5] * 4, lambda: 0, rows=0)
    next(made)
    made.close()  # the caller failed half-way: the child is killed and reaped
    assert time.monotonic() - started < 20
    assert _no_children()


def test_small_batches_stay_in_one_process() -> None:
    pairs = list(forked.sheets_in_two(_rows, [3] * 4, lambda: 0))
    assert all(body is None for _, body in pairs)
    assert forked._half([1, 1, 1, 10]) == 3
    assert forked._half([10, 1, 1, 1]) == 1
    assert forked._half([5, 5]) == 1


def test_a_short_handover_is_made_up_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child ended well but its file holds fewer sheets than it should (a full disk
    noticed too late): the sheets missing from it are made here."""
    dump = forked.pickle.dump
    parent = os.getpid()

    def first_only(obj: Any, out: Any, protocol: int) -> None:
        if os.getpid() != parent and out.tell() == 0:
            dump(obj, out, protocol=protocol)

    monkeypatch.setattr(forked.pickle, "dump", first_only)
    pairs = list(forked.sheets_in_two(_rows, [5] * 6, lambda: 0, rows=0))
    assert [body is not None for _, body in pairs] == [False] * 3 + [True] + [False] * 2
    assert _rendered(iter(pairs)) == [s.render(["rId1"]) for s in _rows(0, 6)]
    assert _no_children()


def test_the_child_is_reaped_and_nothing_left_open() -> None:
    fds = set(os.listdir("/proc/self/fd"))
    pairs = list(forked.sheets_in_two(_rows, [5] * 6, lambda: 0, rows=0))
    assert [body is not None for _, body in pairs] == [False] * 3 + [True] * 3
    assert _rendered(iter(pairs)) == [s.render(["rId1"]) for s in _rows(0, 6)]
    assert _no_children()
    assert set(os.listdir("/proc/self/fd")) == fds  # the pipe and the file are closed


def test_each_sheet_is_taken_as_soon_as_the_child_says_it_is_written() -> None:
    """The child's first sheet is put while the child is still making its second (which
    takes a minute here): this process does not wait for the whole half, nor for the
    child's exit, and makes the rest itself once the child is stopped."""
    parent = os.getpid()

    def make(a: int, b: int) -> Iterator[NewSheet]:
        for i, sheet in zip(range(a, b), _rows(a, b), strict=True):
            if os.getpid() != parent and i > a:
                time.sleep(60)
            yield sheet

    made = forked.sheets_in_two(make, [5] * 6, lambda: 0, rows=0)
    pairs = [next(made) for _ in range(4)]  # three made here, the child's first
    assert [body is not None for _, body in pairs] == [False, False, False, True]
    made.close()
    assert _no_children()


def test_a_child_that_dies_part_way_hands_over_what_it_wrote() -> None:
    parent = os.getpid()

    def make(a: int, b: int) -> Iterator[NewSheet]:
        for i, sheet in zip(range(a, b), _rows(a, b), strict=True):
            if os.getpid() != parent and i == a + 2:
                os.kill(os.getpid(), 9)
            yield sheet

    started = time.monotonic()
    pairs = list(forked.sheets_in_two(make, [5] * 8, lambda: 0, rows=0))
    assert time.monotonic() - started < 20
    assert [body is not None for _, body in pairs] == [False] * 4 + [True] * 2 + [False] * 2
    assert _rendered(iter(pairs)) == [s.render(["rId1"]) for s in _rows(0, 8)]
    assert _no_children()


def test_no_fork_to_be_had_makes_every_sheet_here(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", refused)
    pairs = list(forked.sheets_in_two(_rows, [5] * 6, lambda: 0, rows=0))
    assert all(body is None for _, body in pairs)
    assert _rendered(iter(pairs)) == [s.render(["rId1"]) for s in _rows(0, 6)]
