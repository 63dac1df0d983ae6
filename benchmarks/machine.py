"""What the benchmarks ran on: CPU, cores, memory, OS, Python, package versions, git state."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.layout import REPO_ROOT

PACKAGES = ("xlsales", "pandas", "numpy", "pyarrow", "fastexcel", "python-calamine", "openpyxl",
            "XlsxWriter", "pydantic")


def _read(path: str) -> str:
    try:
        return Path(path).read_text("utf-8", errors="replace")
    except OSError:
        return ""


def cpu_model() -> str:
    """The ``model name`` of /proc/cpuinfo (else what platform says)."""
    for line in _read("/proc/cpuinfo").splitlines():
        if line.lower().startswith("model name") and ":" in line:
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def memory_gb() -> float | None:
    """Total RAM in GiB from /proc/meminfo."""
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024 / 1024, 1)
    return None


def os_name() -> str:
    """The distribution's PRETTY_NAME and the kernel release."""
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return f"{line.split('=', 1)[1].strip().strip(chr(34))} (kernel {platform.release()})"
    return f"{platform.system()} {platform.release()}"


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def describe() -> dict[str, Any]:
    """The machine, as recorded with every result."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "usable_cores": usable,
            "ram_gb": memory_gb(), "os": os_name(),
            "python": f"{platform.python_implementation()} {platform.python_version()}",
            "load_average_at_start": load_average()}


def versions() -> dict[str, str | None]:
    """Installed versions of the packages the results depend on."""
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_state() -> dict[str, Any]:
    """Where xlsales was imported from; the repository's commit and whether xlsales/ differs
    from it (when xlsales comes from this repository)."""
    import importlib.util

    spec = importlib.util.find_spec("xlsales")
    location = Path(spec.origin).parent if spec and spec.origin else None
    state: dict[str, Any] = {"xlsales_path": str(location) if location else None,
                             "commit": None, "xlsales_modified": None}
    if location is None or location != REPO_ROOT / "xlsales":
        return state

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=20).stdout.strip()
    try:
        state["commit"] = git("rev-parse", "--short", "HEAD") or None
        state["xlsales_modified"] = bool(git("status", "--porcelain", "--", "xlsales"))
    except (OSError, subprocess.SubprocessError):
        pass
    return state
