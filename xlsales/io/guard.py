"""Writing in place without losing anybody's work.

A command reads a workbook, computes, then replaces the file. Meanwhile a person may save
it from Excel, or another xlsales command may write it. Before a workbook is replaced:

* the workbook must not be open in Excel, WPS or LibreOffice (their owner files
  ``~$name.xlsx`` and ``.~lock.name.xlsx#`` say who has it open);
* xlsales's own writers of that workbook take turns (:func:`write_lock`, an operating-
  system lock on a file beside it naming the command and process; the second waits a
  bounded time);
* the file must be what the edit started from (:func:`remember` records size,
  modification time and a hash when the editor opens it; :func:`check_unchanged`
  compares them right before the replace), else nothing is written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from xlsales.errors import WorkbookError
from xlsales.i18n import Label

LOCK_WAIT = 10.0  # seconds a second writer waits for the first
_POLL = 0.1


class WorkbookBusyError(WorkbookError):
    """The workbook is open elsewhere or changed since it was read: nothing was written."""


CHANGED = Label("工作簿在 xlsales 读取之后被改动过（别人保存了？）；什么也没有写入，"
                "请重新运行命令",
                "the workbook changed since xlsales read it (saved by someone else?); "
                "nothing was written — run the command again")


@dataclass(frozen=True)
class Fingerprint:
    """What a file was when it was read."""

    size: int
    mtime_ns: int
    inode: int
    digest: str


_READ: dict[Path, Fingerprint] = {}
_SEEN: dict[Path, tuple[int, int, int]] = {}  # in a command: each file as first read
_in_command = 0


@contextlib.contextmanager
def command() -> Iterator[None]:
    """One command (of the CLI, or a button): the workbooks it reads are noted, so an
    edit it makes later refuses a file that changed since the command read it."""
    global _in_command
    if _in_command == 0:
        _SEEN.clear()
    _in_command += 1
    try:
        yield
    finally:
        _in_command -= 1
        if _in_command == 0:
            _SEEN.clear()


def seen(path: str | os.PathLike[str]) -> None:
    """Note, inside a :func:`command`, the workbook at ``path`` as the command first read
    it (size, modification time, inode: no extra read of the file)."""
    if not _in_command:
        return
    p = Path(path)
    with contextlib.suppress(OSError):
        st = p.stat()
        _SEEN.setdefault(_key(p), (st.st_size, st.st_mtime_ns, st.st_ino))


def check_as_seen(path: str | os.PathLike[str]) -> None:
    """Raise :class:`WorkbookBusyError` when the workbook at ``path`` changed since this
    command first read it (its figures would be written into a different file)."""
    p = Path(path)
    first = _SEEN.get(_key(p))
    if first is None:
        return
    with contextlib.suppress(OSError):
        st = p.stat()
        if (st.st_size, st.st_mtime_ns, st.st_ino) != first:
            raise WorkbookBusyError(CHANGED, file=str(p))


def fingerprint(path: str | os.PathLike[str]) -> Fingerprint:
    """Size, modification time, inode and content hash of the file at ``path``."""
    p = Path(path)
    st = p.stat()
    known = _READ.get(_key(p))
    if known is not None and (known.size, known.mtime_ns, known.inode) == (
            st.st_size, st.st_mtime_ns, st.st_ino):
        return known  # the same file as read: no need to hash it again
    # SHA-256 through OpenSSL: ~1 GB/s here (SHA extensions), twice BLAKE2b's speed; the
    # hash only tells a file's content from another's, within this process
    h = hashlib.sha256()
    with p.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return Fingerprint(st.st_size, st.st_mtime_ns, st.st_ino, h.hexdigest())


def remember(path: str | os.PathLike[str]) -> None:
    """Record the file at ``path`` as this process now knows it (read for an edit, or
    just written: a command's own write is the new starting point of its next edit)."""
    with contextlib.suppress(OSError):
        known = _READ[_key(Path(path))] = fingerprint(path)
        if _key(Path(path)) in _SEEN:
            _SEEN[_key(Path(path))] = (known.size, known.mtime_ns, known.inode)


def check_unchanged(path: str | os.PathLike[str]) -> None:
    """Raise :class:`WorkbookBusyError` when the file at ``path`` is no longer what this
    process read (saved by someone else in the meantime)."""
    p = Path(path)
    known = _READ.get(_key(p))
    if known is None or not p.exists():
        return
    now = fingerprint(p)
    if now.digest != known.digest or now.size != known.size:
        raise WorkbookBusyError(CHANGED, file=str(p))


def owner(path: str | os.PathLike[str]) -> str | None:
    """Who has the workbook open, from an Excel/WPS or LibreOffice owner file; "" when
    an owner file is there but names nobody; None when there is none."""
    p = Path(path)
    candidates = [p.with_name("~$" + p.name), p.with_name(".~lock." + p.name + "#")]
    for c in candidates:
        if c.is_file():
            return _owner_name(c)
    return None


def check_not_open(path: str | os.PathLike[str]) -> None:
    """Raise :class:`WorkbookBusyError` when the workbook is open in Excel, WPS or
    LibreOffice (writing it in place would fight their next save)."""
    who = owner(path)
    if who is not None:
        by, zh_by = (f" by {who}", f"被 {who} ") if who else ("", "")
        raise WorkbookBusyError(Label(
            f"工作簿正{zh_by}打开着（Excel、WPS 或 LibreOffice）；请关闭后重新运行命令，"
            "或用 --out 写一个副本",
            f"the workbook is open{by} (Excel, WPS or LibreOffice); close it and run the "
            "command again, or write a copy with --out"), file=str(path))


@contextlib.contextmanager
def write_lock(path: str | os.PathLike[str], *, wait: float | None = None) -> Iterator[None]:
    """Hold the xlsales lock of the workbook at ``path``: an operating-system lock on a
    hidden file beside it (``.~xlsales.name.lock``, naming the holder's command and
    process), removed again when the write is done. Another holder is waited for up to
    ``wait`` seconds (default :data:`LOCK_WAIT`); a process that dies releases its lock
    with it (the file it leaves is locked again by the next writer)."""
    p = Path(path)
    lock = p.with_name(f".~xlsales.{p.name}.lock")
    me = json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                     "command": " ".join(Path(a).name if i == 0 else a
                                         for i, a in enumerate(sys.argv[:4])),
                     "since": time.strftime("%Y-%m-%d %H:%M:%S")}, ensure_ascii=False)
    deadline = time.monotonic() + (LOCK_WAIT if wait is None else wait)
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise WorkbookError(Label(f"无法创建锁文件 {lock.name}：{exc.strerror}",
                                      f"cannot create the lock file {lock.name}: "
                                      f"{exc.strerror}"), file=str(p)) from exc
        if _try_lock(fd):
            if _same_file(fd, lock):
                hide(lock)
                break
            _unlock(fd)  # the holder removed this file while we waited: lock the new one
        os.close(fd)
        if time.monotonic() >= deadline:
            raise WorkbookBusyError(Label(
                f"另一个 xlsales 命令正在写这个工作簿（{_holder(lock)}）；什么也没有写入，"
                "等它完成后再运行一次",
                f"another xlsales command is writing the workbook ({_holder(lock)}); "
                "nothing was written — run the command again when it is done"),
                file=str(p))
        time.sleep(_POLL)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, me.encode("utf-8"))
        yield
    finally:
        with contextlib.suppress(OSError):  # removed while still locked: no one can
            lock.unlink()                   # lock this file after us
        _unlock(fd)
        os.close(fd)
        if os.name == "nt":  # Windows removes no open file: once closed (unless the next
            with contextlib.suppress(OSError):  # writer has it open already)
                lock.unlink()


def hide(path: Path) -> None:
    """Give ``path`` the hidden attribute on Windows (elsewhere its leading dot hides it).
    Only for a file opened without truncating (the lock): Windows refuses to create over
    a hidden file, which is how a temporary workbook is opened."""
    if os.name == "nt":
        import ctypes

        ctypes.windll.kernel32.SetFileAttributesW(str(path), 0x02)  # type: ignore[attr-defined]


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd``."""
    try:
        a, b = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _try_lock(fd: int) -> bool:
    """Take the operating system's exclusive lock on ``fd`` without waiting."""
    try:
        if os.name == "nt":
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # BlockingIOError, or Windows' "permission denied"
        return False
    return True


def _unlock(fd: int) -> None:
    with contextlib.suppress(OSError):
        if os.name == "nt":
            import msvcrt

            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_UN)


def _holder(lock: Path) -> str:
    """Who holds ``lock``, as its file says."""
    try:
        info, _ = json.JSONDecoder().raw_decode(lock.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "xlsales"
    if not isinstance(info, dict):
        return "xlsales"
    return f"{info.get('command', 'xlsales')} · pid {info.get('pid')} · {info.get('host')}"


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine."""
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would send CTRL_C_EVENT there
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:  # Windows: no signal 0
        return True
    return True


def _windows_pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs, asked of Windows (a process that cannot be opened for lack of
    rights exists; one that has exited keeps no STILL_ACTIVE exit code)."""
    import ctypes
    from ctypes import wintypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return ctypes.get_last_error() == 5  # type: ignore[attr-defined]  # access denied
    try:
        code = wintypes.DWORD()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def _owner_name(owner_file: Path) -> str:
    """The user name in an owner file: Excel/WPS ``~$`` files hold it after a length
    byte (and again in UTF-16); LibreOffice lock files start ``,user name,host,…``."""
    try:
        data = owner_file.read_bytes()[:512]
    except OSError:
        return ""
    if owner_file.name.startswith(".~lock."):
        fields = data.decode("utf-8", "replace").split(",")
        return fields[1].strip() if len(fields) > 1 else ""
    if len(data) >= 56 and 0 < data[54] <= 54 and data[55] == 0 \
            and len(data) >= 56 + 2 * data[54]:
        n = data[54]  # the UTF-16 copy of the name
        with contextlib.suppress(UnicodeDecodeError):
            name = data[56:56 + 2 * n].decode("utf-16-le").strip("\x00 ")
            if name:
                return name
    if data and 0 < data[0] < len(data):
        for codec in ("utf-8", "gbk", "cp1252"):
            with contextlib.suppress(UnicodeDecodeError):
                return data[1:1 + data[0]].decode(codec).strip("\x00 ")
    return ""


def _key(path: Path) -> Path:
    with contextlib.suppress(OSError):
        return path.resolve()
    return path.absolute()
