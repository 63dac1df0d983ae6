"""Drive LibreOffice headless: recalculate workbooks, convert them, render pages.

LibreOffice shows the cached results of a workbook's formulas by default. To check those
against its own arithmetic, each call runs with a fresh, private user profile whose
``registrymodifications.xcu`` sets ``OOXMLRecalcMode`` and ``ODFRecalcMode`` to 0
("always recalculate"); ``recalculate=False`` keeps LibreOffice's defaults, to see a file
as a user's LibreOffice first shows it. A private profile also lets several calls run side
by side.
Each start of LibreOffice costs a second or two: convert many files in one call
(:func:`recalculate_many`) when you can.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from xlsales.errors import XlsalesError
from xlsales.i18n import Label

SOFFICE_ENV = "XLSALES_SOFFICE"
DEFAULT_TIMEOUT = 180.0

_RECALC_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" \
xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def find_soffice() -> str | None:
    """The LibreOffice executable: ``$XLSALES_SOFFICE`` if set, else ``soffice`` on PATH.

    Returns None when none is found (also when ``$XLSALES_SOFFICE`` names no program).
    """
    override = os.environ.get(SOFFICE_ENV)
    if override:
        return shutil.which(override)
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    return None


def recalculate(src: str | os.PathLike[str], out_dir: str | os.PathLike[str], *,
                timeout: float = DEFAULT_TIMEOUT, soffice: str | None = None) -> Path:
    """Open ``src`` in LibreOffice, recalculate every formula, save it as ``out_dir/<name>``."""
    return recalculate_many([src], out_dir, timeout=timeout, soffice=soffice)[0]


def recalculate_many(srcs: Sequence[str | os.PathLike[str]], out_dir: str | os.PathLike[str],
                     *, timeout: float = DEFAULT_TIMEOUT,
                     soffice: str | None = None) -> list[Path]:
    """Recalculate several workbooks in one LibreOffice run; outputs in ``srcs`` order.

    The outputs keep their file names (``.xlsx``), so the sources need distinct names.
    """
    return _run(srcs, "xlsx", out_dir, timeout=timeout, soffice=soffice)


def convert(src: str | os.PathLike[str], fmt: str, out_dir: str | os.PathLike[str], *,
            timeout: float = DEFAULT_TIMEOUT, soffice: str | None = None,
            recalculate: bool = True) -> Path:
    """Convert ``src`` to ``fmt`` (``pdf``, ``ods``, ``pdf:calc_pdf_Export`` …), recalculated
    unless ``recalculate`` is False (then with LibreOffice's default settings)."""
    return _run([src], fmt, out_dir, timeout=timeout, soffice=soffice,
                recalculate=recalculate)[0]


def convert_many(srcs: Sequence[str | os.PathLike[str]], fmt: str,
                 out_dir: str | os.PathLike[str], *, timeout: float = DEFAULT_TIMEOUT,
                 soffice: str | None = None, recalculate: bool = True) -> list[Path]:
    """:func:`convert` of several files in one LibreOffice run (distinct names); outputs
    in ``srcs`` order."""
    return _run(srcs, fmt, out_dir, timeout=timeout, soffice=soffice,
                recalculate=recalculate)


def render_png(pdf: str | os.PathLike[str], out_prefix: str | os.PathLike[str],
               first_page: int = 1, last_page: int = 1, dpi: int = 80, *,
               timeout: float = DEFAULT_TIMEOUT) -> list[Path]:
    """Render pages of ``pdf`` to ``<out_prefix>-<page>.png`` with pdftoppm."""
    if first_page < 1 or last_page < first_page:
        raise ValueError(f"bad page range {first_page}-{last_page}")
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        raise XlsalesError(Label("找不到 pdftoppm；请安装 poppler-utils",
                                 "pdftoppm was not found; install poppler-utils"))
    pdf, out_prefix = Path(pdf), Path(out_prefix)
    if not pdf.is_file():
        raise XlsalesError(Label(f"没有这个文件：{pdf}", f"no such file: {pdf}"))
    out_prefix.parent.mkdir(parents=True, exist_ok=True)
    cmd = [pdftoppm, "-png", "-r", str(dpi), "-f", str(first_page), "-l", str(last_page),
           str(pdf), str(out_prefix)]
    code, _, err = _execute(cmd, timeout, "pdftoppm")
    if code != 0:
        raise XlsalesError(Label(f"pdftoppm 处理 {pdf} 失败（退出码 {code}）：{err.strip()}",
                                 f"pdftoppm failed on {pdf} (exit code {code}): "
                                 f"{err.strip()}"))
    pattern = re.compile(rf"^{re.escape(out_prefix.name)}-(\d+)\.png$")
    pages: list[tuple[int, Path]] = []
    for path in out_prefix.parent.iterdir():
        m = pattern.match(path.name)
        if m and first_page <= int(m.group(1)) <= last_page:
            pages.append((int(m.group(1)), path))
    if not pages:
        raise XlsalesError(Label(f"pdftoppm 没有输出 {pdf} 的任何一页：{err.strip()}",
                                 f"pdftoppm wrote no page of {pdf}: {err.strip()}"))
    return [p for _, p in sorted(pages)]


def _run(srcs: Sequence[str | os.PathLike[str]], fmt: str, out_dir: str | os.PathLike[str],
         *, timeout: float, soffice: str | None, recalculate: bool = True) -> list[Path]:
    """Convert ``srcs`` to ``fmt`` in one LibreOffice run with a private profile
    (recalculating every formula unless ``recalculate`` is False)."""
    sources = [Path(s).resolve() for s in srcs]
    if not sources:
        return []
    exe = soffice or find_soffice()
    if exe is None:
        raise XlsalesError(Label(f"找不到 LibreOffice（soffice）；请安装它，或把 {SOFFICE_ENV} "
                                 "设为它的路径",
                                 "LibreOffice (soffice) was not found; install it or set "
                                 f"{SOFFICE_ENV} to its path"))
    ext = fmt.split(":", 1)[0]
    names = [f"{s.stem}.{ext}" for s in sources]
    for src in sources:
        if not src.is_file():
            raise XlsalesError(Label(f"没有这个文件：{src}", f"no such file: {src}"))
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise XlsalesError(Label(f"一次转换里这些文件会互相覆盖：{'、'.join(dupes)}",
                                 "files would overwrite each other in one conversion: "
                                 f"{', '.join(dupes)}"))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="xlsales-lo-") as tmp:
        profile = Path(tmp) / "profile"
        (profile / "user").mkdir(parents=True)
        if recalculate:
            (profile / "user" / "registrymodifications.xcu").write_text(_RECALC_XCU,
                                                                       encoding="utf-8")
        staging = Path(tmp) / "out"
        staging.mkdir()
        cmd = [exe, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
               "--nolockcheck", "--convert-to", fmt, "--outdir", str(staging),
               *map(str, sources)]
        code, std, err = _execute(cmd, timeout, "LibreOffice")
        missing = [s.name for s, n in zip(sources, names, strict=True)
                   if not (staging / n).is_file()]
        if code != 0 or missing:
            what = f"could not convert {', '.join(missing)}" if missing else "failed"
            detail = (err.strip() or std.strip() or "no output")
            raise XlsalesError(Label(f"LibreOffice 转换失败（退出码 {code}）：{detail}",
                                     f"LibreOffice {what} (exit code {code}): {detail}"))
        results = []
        for n in names:
            target = out / n
            shutil.move(staging / n, target)
            results.append(target)
    return results


def _execute(cmd: list[str], timeout: float, what: str) -> tuple[int, str, str]:
    """Run ``cmd`` in its own process group; kill the whole group on timeout."""
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    except OSError as exc:
        raise XlsalesError(Label(f"无法启动 {what}（{cmd[0]}）：{exc}",
                                 f"could not start {what} ({cmd[0]}): {exc}")) from exc
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        detail = err.decode(errors="replace").strip()
        raise XlsalesError(Label(f"{what} 在 {timeout:g} 秒内没有完成：{detail}",
                                 f"{what} did not finish within {timeout:g} s: {detail}"
                                 )) from exc
    return (proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"))
