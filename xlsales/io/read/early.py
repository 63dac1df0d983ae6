"""A head start on a command's one big read: the daily report's typed load, begun in a
second thread as the command starts.

A command line process spends its first half second importing pandas, pyarrow and the
rest, then reads the daily sheet, whose load (fastexcel, in Rust) leaves Python free. So
the command line begins the read first (:func:`head_start`): the second thread finds the
table, checks and surveys its sheet, and starts the load — nothing there needs pandas —
and the imports run while the sheet loads. The read that wants the table
(:meth:`xlsales.io.read.WorkbookReader.load`) takes what was begun (:func:`take`) when it
is the same table of the same file, unchanged since; otherwise it reads as it always
does, and any error (a file that is not a workbook, no table, a cell far out) comes from
that read, worded as ever. Nothing is begun in the library unless asked.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xlsales.io.read.arrow_load import ArrowLoad

if TYPE_CHECKING:
    from xlsales.io.read import WorkbookReader
    from xlsales.io.read.package import Extent, SheetScan

WAIT_READY = 5.0  # seconds head_start waits at most for the load to begin
_STARTED: dict[tuple[str, str], _HeadStart] = {}
_LOCK = threading.Lock()


@dataclass
class Begun:
    """A read begun by :func:`head_start`: the open workbook, where the table is (sheet,
    0-based header row, columns), its sheet's survey, and the typed load under way."""

    reader: WorkbookReader
    found: tuple[str, int, dict[str, int]]
    extent: Extent
    scan: SheetScan
    load: ArrowLoad


@dataclass
class _HeadStart:
    stamp: tuple[int, int, int]
    ready: threading.Event = field(default_factory=threading.Event)
    box: dict[str, Any] = field(default_factory=dict)
    thread: threading.Thread | None = None


def _key(path: str | os.PathLike[str], table: str) -> tuple[str, str]:
    return str(Path(path).resolve()), table


def _stamp(path: str | os.PathLike[str]) -> tuple[int, int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns, st.st_ino


def head_start(path: str | os.PathLike[str], table: str = "daily", *,
               wait: float = WAIT_READY) -> bool:
    """Begin reading the table ``table`` (a key of :mod:`xlsales.tables`) of the workbook
    at ``path`` in a second thread; True when begun. Returns once the typed load has
    begun (or the thread has given up, or after ``wait`` seconds), so that what the
    caller does next runs beside the load rather than slowing the steps before it."""
    try:
        stamp = _stamp(path)
    except OSError:
        return False
    started = _HeadStart(stamp)
    started.thread = threading.Thread(target=_read, args=(Path(path), table, started),
                                      name="xlsales-head-start", daemon=True)
    key = _key(path, table)
    with _LOCK:
        if key in _STARTED:
            return True
        _STARTED[key] = started
    started.thread.start()
    started.ready.wait(wait)
    return True


def _read(path: Path, table: str, started: _HeadStart) -> None:
    """The second thread: find, check and survey; then the typed load."""
    box = started.box
    reader = None
    try:
        from xlsales import tables as T
        from xlsales.io.read import WorkbookReader
        from xlsales.io.read.arrow_load import column_types, refuse_far

        spec = T.get(table)
        reader = WorkbookReader(path)
        found = reader.find(spec)
        if found is None:
            raise LookupError(table)
        sheet, header_row, cols = found
        inputs = {c for k, c in cols.items() if spec.column(k).is_input}
        extent, scan = reader.survey_while(sheet, inputs, reader.fast_reader)
        refuse_far(extent, cols, sheet)
        wanted = column_types(spec, cols)
        box.update(reader=reader, found=found, extent=extent, scan=scan, wanted=wanted)
    except BaseException:  # the read that wants the table does it again, and says why
        box["failed"] = True
        if reader is not None:
            reader.close()
        return
    finally:
        started.ready.set()
    from xlsales.io.read.arrow_load import load_arrow

    try:
        box["value"] = load_arrow(reader.fast_reader(), sheet, header_row, wanted)
    except BaseException as exc:  # raised where the load is taken
        box["error"] = exc


def take(path: str | os.PathLike[str], spec: Any,
         found: tuple[str, int, dict[str, int]] | None = None) -> Begun | None:
    """The read of ``spec``'s table begun for the workbook at ``path`` (taken once); None
    when none was begun, it gave up before its load, the file changed since, or (given
    ``found``: sheet, 0-based header row, columns) it found the table elsewhere."""
    if not _STARTED:  # (the library: nothing begun, no file looked at)
        return None
    with _LOCK:
        started = _STARTED.pop(_key(path, spec.key), None)
    if started is None or started.thread is None:
        return None
    started.ready.wait()
    box = started.box
    try:
        same = _stamp(path) == started.stamp
    except OSError:
        same = False
    if box.get("failed") or not same or (found is not None and box["found"] != found):
        if "reader" in box:
            started.thread.join()
            box["reader"].close()
        return None
    return Begun(box["reader"], box["found"], box["extent"], box["scan"],
                 ArrowLoad(box["wanted"], started.thread, box))


def forget() -> None:
    """Drop the reads begun and not taken, without waiting for them: a finished one's
    workbook is closed; one still loading ends on its own (a daemon thread) and is let
    go (a command that failed before its read does not wait for the load)."""
    with _LOCK:
        left = list(_STARTED.values())
        _STARTED.clear()
    for started in left:
        if started.thread is not None and not started.thread.is_alive() \
                and "reader" in started.box:
            started.box["reader"].close()
