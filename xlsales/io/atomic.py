"""Write files through a temporary file so a failed write never harms the original.

The temporary file is hidden beside the target (``.name.<host>.<pid>.<random>.xlsales-tmp``:
no ``*.xlsx`` glob picks it up) and removed when the write fails or the process is stopped;
one left by a killed process is removed by the next write in that folder on the same
machine (a folder shared by several machines keeps the others' files). A target that
exists must be a regular, writable file without other hard links; a symbolic link is
written through to the file it points to. Before the replace, :mod:`xlsales.io.guard`
checks that no one has the workbook open and that it is still what this process read,
under a lock that makes xlsales's own writers take turns.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from xlsales.errors import WorkbookError
from xlsales.i18n import Label
from xlsales.io import guard

TEMP_SUFFIX = ".xlsales-tmp"
_TEMP = re.compile(r"^\..*\.([A-Za-z0-9-]+)\.(\d+)\.[^.]+" + re.escape(TEMP_SUFFIX) + "$")


def _host() -> str:
    """This machine's name as a temporary file's name holds it (letters, digits, -)."""
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:32] or "host"


def writable_target(target: str | os.PathLike[str]) -> Path:
    """The file a write to ``target`` replaces: ``target``, or the file a symbolic link
    points to; raises :class:`WorkbookError` for targets that must not be replaced."""
    path = Path(target)
    if path.is_symlink():
        path = path.resolve()
    if not path.exists():
        return path
    st = path.stat()
    if not stat.S_ISREG(st.st_mode):
        raise WorkbookError(Label("不是普通文件；什么也没有写入",
                                  "not a regular file; nothing was written"), file=str(path))
    if not st.st_mode & 0o222:
        raise WorkbookError(Label("文件是只读的；什么也没有写入"
                                  "（请改为可写，或用 --out 写一个副本）",
                                  "the file is read-only; nothing was written (make it "
                                  "writable or write a copy with --out)"), file=str(path))
    if st.st_nlink > 1:
        raise WorkbookError(Label(
            f"文件有 {st.st_nlink} 个硬链接，写成新文件会把它们拆开；什么也没有写入"
            "（请用 --out 写一个副本）",
            f"the file has {st.st_nlink} hard links, which a new file would split; nothing "
            "was written (write a copy with --out)"), file=str(path))
    return path


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success, flush it to disk and
    replace ``target`` with it (the folder's entry is flushed too)."""
    target = writable_target(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(target.parent)
    if target.exists():
        guard.check_not_open(target)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.{_host()}.{os.getpid()}.",
                                    suffix=TEMP_SUFFIX, dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            yield tmp
        except OSError as exc:  # a full disk, a quota, a vanished folder …
            why = exc.strerror or exc
            raise WorkbookError(Label(f"无法写出新文件（{why}）；原文件没有改动",
                                      f"could not write the new file ({why}); the original "
                                      "is unchanged"), file=str(target)) from exc
        if target.exists():
            mode = target.stat().st_mode & 0o7777
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        _fsync(tmp)
        with guard.write_lock(target):
            if target.exists():
                guard.check_not_open(target)
                guard.check_unchanged(target)
            try:
                os.replace(tmp, target)
            except PermissionError as exc:  # Windows: the file is open elsewhere
                raise guard.WorkbookBusyError(Label(
                    "无法替换工作簿（被别的程序打开着？）；什么也没有写入",
                    "the workbook could not be replaced (open in another program?); nothing "
                    "was written"), file=str(target)) from exc
            except OSError as exc:
                why = exc.strerror or exc
                raise WorkbookError(Label(f"无法替换文件（{why}）；原文件没有改动",
                                          f"could not replace the file ({why}); the original "
                                          "is unchanged"), file=str(target)) from exc
            _fsync_dir(target.parent)
            guard.remember(target)  # what this process wrote is what it now knows
    finally:
        if tmp.exists():
            tmp.unlink()


def clean_stale_temps(folder: Path) -> None:
    """Remove the temporary files of this machine's xlsales processes that are gone."""
    host = _host()
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            m = _TEMP.match(entry.name)
            if m and m.group(1) == host and not guard.pid_alive(int(m.group(2))):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not every platform opens folders (Windows)
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
