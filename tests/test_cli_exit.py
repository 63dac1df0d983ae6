"""The command line's quick exit (``xlsales.cli._leave``): the process ends without the
interpreter's teardown, yet with its exit code, its output flushed, its exit handlers run,
and a thread still at work waited for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def _run(tmp_path: Path, body: str, *argv: str) -> subprocess.CompletedProcess[str]:
    script = (
        "import atexit, sys, threading, time\n"
        f"mark = {str(tmp_path / 'mark.txt')!r}\n"
        f"{body}\n"
        f"sys.argv = ['xlsales', *{list(argv)!r}]\n"
        "from xlsales.cli import main\n"
        "main()\n")
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=False)


def test_exit_handlers_run_and_output_is_flushed(tmp_path: Path) -> None:
    body = ("atexit.register(lambda: open(mark, 'w').write('ran'))\n"
            "sys.stdout.write('x' * 100_000)  # buffered: must reach the pipe\n")
    proc = _run(tmp_path, body, "--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("x" * 100_000)
    assert proc.stdout[100_000:].strip()  # the version line after it
    assert (tmp_path / "mark.txt").read_text() == "ran"


def test_the_exit_code_is_the_commands(tmp_path: Path) -> None:
    proc = _run(tmp_path, "", "rollup", str(tmp_path / "missing.xlsx"), "--json")
    assert proc.returncode == 2, proc.stderr
    assert '"ok": false' in proc.stdout


THREAD_AT_WORK = ("def late():\n"
                  "    time.sleep(1.0)\n"
                  "    open(mark, 'w').write('done')\n"
                  "threading.Thread(target=late).start()\n")
TEXT_EXIT = ("import xlsales.cli as cli\n"
             "@cli.app.command('bye')\n"
             "def bye() -> None:\n"
             "    raise SystemExit('so long')\n")


@pytest.mark.parametrize(("body", "argv", "code", "mark", "said"), [
    (THREAD_AT_WORK, ["--version"], 0, "done", ""),  # a thread still at work: waited for
    (TEXT_EXIT, ["bye"], 1, None, "so long"),  # a text exit: printed, exit code 1
], ids=["thread-at-work", "text-exit"])
def test_as_pythons_own_exit(tmp_path: Path, body: str, argv: list[str], code: int,
                             mark: str | None, said: str) -> None:
    proc = _run(tmp_path, body, *argv)
    assert proc.returncode == code, proc.stderr
    assert said in proc.stderr
    written = tmp_path / "mark.txt"
    assert (written.read_text() if written.exists() else None) == mark


def test_the_interpreter_is_not_torn_down(tmp_path: Path) -> None:
    """The quick exit is taken: a module global's finaliser, which a full teardown runs,
    never does."""
    body = ("import os\n"
            "fd = os.open(mark, os.O_WRONLY | os.O_CREAT)\n"
            "class Kept:\n"
            "    def __del__(self, write=os.write, fd=fd) -> None:\n"
            "        write(fd, b'torn down')\n"
            "kept = Kept()\n")
    proc = _run(tmp_path, body, "--version")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "mark.txt").read_bytes() == b""


def _arenas(tmp_path: Path, one: bool, env: dict[str, str] | None = None) -> int:
    """How many malloc arenas glibc reports after a second thread allocated."""
    import os

    script = (
        "import ctypes, threading\n"
        "from xlsales.cli import one_malloc_arena\n"
        f"print(one_malloc_arena() if {one} else None)\n"
        "libc = ctypes.CDLL(None)\n"
        "libc.malloc.restype = ctypes.c_void_p\n"
        "t = threading.Thread(target=lambda: [libc.malloc(1 << 16) for _ in range(64)])\n"
        "t.start()\n"
        "t.join()\n"
        "libc.malloc_stats()\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=True, env={**os.environ, **(env or {})})
    return proc.stderr.count("Arena ")


def test_one_malloc_arena_for_the_command(tmp_path: Path) -> None:
    """The command line runs with one malloc arena (glibc): what the head start's thread
    frees serves the main thread's allocations."""
    import platform

    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc only")
    assert _arenas(tmp_path, one=False) >= 2
    assert _arenas(tmp_path, one=True) == 1
    assert _arenas(tmp_path, one=True, env={"MALLOC_ARENA_MAX": "4"}) >= 2  # the user's
