"""Sheets laid out by two processes: a big batch of sheets of one table (the weekly
sheets of ``rollup --all``) is cut in two, and a forked copy of this process makes the
second half while this one makes the first, on a second core.

Making a sheet — its cells' XML, its print layout, its rows rendered — needs nothing but
the data it is given and the workbook's styles, which this process registers (it makes
its first sheet before forking) and the child only reads: the child checks that it added
none. The child hands each sheet back without its rows (:meth:`NewSheet.take_body`) and
with its ``<sheetData>`` rendered, through an unlinked temporary file, and says on a pipe
where each ends once it is written; this process, its own half made, takes them as they
come and puts them into the workbook in order, as if it had made them (it waits neither
for the whole half nor for the child's exit). Whenever the child cannot go on — it fails,
is killed, takes far longer than this process did, or would need a new style — this
process makes the sheets it did not hand over: the result is the same either way.

Only on Linux (fork without exec is not safe with macOS's system libraries, and Windows
has none), with two cores or more, and for batches big enough to pay for the fork.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pickle
import select
import signal
import struct
import sys
import tempfile
import time
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from typing import IO

from xlsales.io.edit.newsheet import NewSheet

FORK_ROWS = 10_000  # rows of sheets below which one process makes them all
PATIENCE = 10.0  # the child may take this many times as long as this process's half …
MIN_WAIT = 120.0  # … and at least this many seconds, before its half is made here


def sheets_in_two(make: Callable[[int, int], Iterable[NewSheet]], sizes: Sequence[int],
                  styles: Callable[[], Hashable], *, rows: int | None = None,
                  ) -> Iterator[tuple[NewSheet, bytes | None]]:
    """The sheets ``make(0, len(sizes))`` gives (``make(a, b)``: sheets ``a`` … ``b - 1``,
    ``sizes[i]`` rows in sheet ``i``), each with its rendered rows when another process
    made it (None: the sheet has them); ``styles()``: the state of the workbook's styles,
    which making a sheet must not change in the child. Made in two processes when
    :func:`can_fork` and there are at least ``rows`` (default :data:`FORK_ROWS`) rows."""
    count = len(sizes)
    if count < 2 or sum(sizes) < (FORK_ROWS if rows is None else rows) or not can_fork():
        yield from ((sheet, None) for sheet in make(0, count))
        return
    half = _half(sizes)
    started = time.monotonic()
    own = iter(make(0, half))
    first = next(own, None)  # the styles sheets of this table use are registered now
    if first is None:
        yield from ((sheet, None) for sheet in make(half, count))
        return
    with tempfile.TemporaryFile() as out:
        try:
            news, told = os.pipe()
        except OSError:  # no descriptors to be had: all made here
            news = told = -1
        pid, got = 0, 0
        try:
            if news >= 0:
                try:
                    pid = _fork(make, half, count, styles(), styles, out, news, told)
                except OSError:  # no process to be had (a limit reached): all made here
                    pid = 0
                finally:
                    os.close(told)  # (the child's copy stays open until it is done)
            yield first, None
            yield from ((sheet, None) for sheet in own)
            if pid:
                deadline = time.monotonic() + max(
                    MIN_WAIT, PATIENCE * (time.monotonic() - started))
                for sheet, body in _handed(news, out, count - half, deadline):
                    yield sheet, body
                    got += 1
                if got < count - half:  # it stopped, failed or takes too long: it stops
                    _end(pid)  # now, not after this process has made the rest
                    pid = 0
            yield from ((sheet, None) for sheet in make(half + got, count))
        finally:
            if news >= 0:
                os.close(news)
            if pid:  # done and exiting, or stopped early (the caller failed): reaped
                _end(pid)


def _handed(news: int, out: IO[bytes], count: int, deadline: float,
            ) -> Iterator[tuple[NewSheet, bytes]]:
    """The child's sheets, each as soon as it said the sheet is in ``out`` (a record on the
    pipe ``news``: where its sheet ends), until it says it is done, stops, ends or
    ``deadline`` passes; a record that cannot be read ends the handover too."""
    fd, start, pending = out.fileno(), 0, b""
    for _ in range(count):
        while len(pending) < _NEWS.size:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([news], [], [], max(0.0, left))
            if not ready:
                return  # it takes too long: the rest is made here
            more = os.read(news, 4096)
            if not more:
                return  # it ended (or failed) without handing the rest over
            pending += more
        (end,), pending = _NEWS.unpack(pending[:_NEWS.size]), pending[_NEWS.size:]
        try:
            sheet, body = pickle.loads(os.pread(fd, end - start, start))
        except (EOFError, pickle.UnpicklingError, OSError, ValueError):
            return  # a short file (a full disk noticed too late): the rest is made here
        start = end
        yield sheet, body


_NEWS = struct.Struct("<q")  # the child's record of a sheet handed over: where it ends


def can_fork() -> bool:
    """Whether sheets may be made in a forked process here."""
    return sys.platform.startswith("linux") and hasattr(os, "fork") and (
        (os.cpu_count() or 1) >= 2)


def _half(sizes: Sequence[int]) -> int:
    """Where to cut ``sizes`` so this process's part holds about :data:`OWN_SHARE` of the
    rows (each part at least one sheet)."""
    total = sum(sizes)
    for i, upto in enumerate(itertools.accumulate(sizes), start=1):
        if upto >= total * OWN_SHARE:
            return min(max(i, 1), len(sizes) - 1)
    return len(sizes) - 1


# of the rows, made by this process (the rest by the child): measured best at 100k rows
# against 0.33 … 0.6, though this process also puts every sheet into the workbook
OWN_SHARE = 0.5


def _fork(make: Callable[[int, int], Iterable[NewSheet]], first: int, end: int,
          before: Hashable, styles: Callable[[], Hashable], out: IO[bytes], news: int,
          told: int) -> int:
    """Start the child making sheets ``first`` … ``end - 1`` into ``out``, telling the pipe
    ``told`` where each ends once it is written; its pid."""
    pid = os.fork()
    if pid:
        return pid
    code = 1  # the child: it never returns, and leaves this process's state alone
    try:
        os.close(news)
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl+C stops the parent, which
        for sheet in make(first, end):  # stops this one
            if styles() != before:  # a style only this copy knows: this sheet and the
                break  # next are made by the parent
            body = sheet.take_body()
            pickle.dump((sheet, body), out, protocol=pickle.HIGHEST_PROTOCOL)
            out.flush()
            os.write(told, _NEWS.pack(out.tell()))
        code = 0
    except BaseException:  # the parent makes the rest itself
        code = 1
    finally:
        os._exit(code)


def _end(pid: int) -> None:
    """Reap the child, killing it first while it still runs (a child already reaped
    elsewhere — SIGCHLD ignored — is not signalled: its pid may be another's by now)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return
    if done:
        return
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.waitpid(pid, 0)
