"""Checks a file before any parser touches it: is it a workbook, and a safe one?

Refuses, with a message that says which: a missing or empty file, an Excel owner
(lock) file ``~$name.xlsx``, CSV or HTML saved under an Excel name, a legacy or
encrypted (password-protected) workbook, a truncated or corrupt zip, a zip with
too many entries or one that expands far beyond its size (thresholds like Apache
POI's). Also reports sheets whose used range claims the whole grid (XFD1048576),
which makes some readers allocate the full sheet.
"""

from __future__ import annotations

import os
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from xlsales.errors import WorkbookError

MAX_ENTRIES = 1000
MAX_RATIO = 100.0
RATIO_ALLOWANCE = 1 << 20  # entries up to 1 MiB may compress as well as they like
MAX_TOTAL = 2 << 30
ARCHIVE_ALLOWANCE = 16 << 20  # below 16 MiB in all, a workbook may compress as it likes
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
HUGE_ROWS = 1_000_000
CHECKSUM_ALL_BELOW = 4 << 20
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]+)?(\d+)?(?::([A-Z]+)(\d+))?"')
_SHEET_PART = re.compile(r"^xl/worksheets/sheet\d+\.xml$")


class UnsafeWorkbookError(WorkbookError):
    """The file is not a workbook xlsales will open."""


@dataclass
class SafetyReport:
    """What the checks found that does not stop reading."""

    date1904: bool = False
    huge_sheets: list[str] = field(default_factory=list)


def _refuse(path: Path, why: str) -> UnsafeWorkbookError:
    return UnsafeWorkbookError(why, file=str(path))


_CHECKED: dict[tuple[str, int, int, int], SafetyReport] = {}


def check_workbook(path: str | os.PathLike[str]) -> SafetyReport:
    """Raise :class:`UnsafeWorkbookError` unless ``path`` is a workbook safe to parse.
    A file checked before and unchanged since (same inode, size, modification time) is
    not checked again in this process."""
    path = Path(path)
    try:
        st = path.stat()
        stamp = (str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns)
    except OSError:
        stamp = None
    if stamp is not None and stamp in _CHECKED:
        return _CHECKED[stamp]
    report = _check(path)
    if stamp is not None:
        if len(_CHECKED) > 64:
            _CHECKED.clear()
        _CHECKED[stamp] = report
    return report


def _check(path: Path) -> SafetyReport:
    if path.name.startswith("~$"):
        raise _refuse(path, "this is an Excel owner (lock) file, not a workbook; open the "
                            "file without '~$'")
    if not path.is_file():
        raise _refuse(path, "no such file")
    size = path.stat().st_size
    if size == 0:
        raise _refuse(path, "the file is empty")
    with path.open("rb") as fh:
        head = fh.read(4096)
    if head.startswith(OLE_MAGIC):
        if "EncryptedPackage".encode("utf-16-le") in path.read_bytes()[:1 << 20]:
            raise _refuse(path, "the workbook is encrypted (password-protected); save it "
                                "without a password first")
        raise _refuse(path, "this is a legacy .xls (or other OLE) file; save it as .xlsx")
    if not head.startswith(ZIP_MAGIC):
        text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
        if text.startswith((b"<!doctype html", b"<html", b"<table", b"<?xml")):
            raise _refuse(path, "this is an HTML/XML file saved with an Excel name, not a "
                                "workbook")
        if b"," in head or b"\t" in head:
            raise _refuse(path, "this looks like CSV/text saved with an Excel name, not a "
                                "workbook")
        raise _refuse(path, "not an Excel workbook (no zip signature)")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_ENTRIES:
                raise _refuse(path, f"the zip has {len(infos)} entries (more than "
                                    f"{MAX_ENTRIES}); refusing a possible zip bomb")
            total = 0
            for info in infos:
                total += info.file_size
                if (info.file_size > RATIO_ALLOWANCE
                        and info.file_size > MAX_RATIO * max(info.compress_size, 1)):
                    raise _refuse(path, f"entry {info.filename} expands "
                                        f"{info.file_size / max(info.compress_size, 1):.0f}× "
                                        "its size; refusing a possible zip bomb")
            if total > MAX_TOTAL:
                raise _refuse(path, "the zip expands to more than 2 GiB; refusing it")
            if total > ARCHIVE_ALLOWANCE and total > MAX_RATIO * size:
                raise _refuse(path, f"the zip expands {total / size:.0f}× its size in all "
                                    "(many parts that each compress very well); refusing a "
                                    "possible zip bomb")
            names = {i.filename for i in infos}
            if "xl/workbook.xml" not in names and "xl/workbook.bin" not in names:
                raise _refuse(path, "a zip file, but not an Excel workbook (no xl/workbook.xml)")
            if "xl/workbook.bin" in names:
                raise _refuse(path, "binary workbooks (.xlsb) are not supported; save as .xlsx")
            report = SafetyReport()
            with zf.open("xl/workbook.xml") as fh:
                wb_xml = fh.read(1 << 16)
            report.date1904 = bool(re.search(rb'date1904="(1|true)"', wb_xml))
            for name in sorted(n for n in names if _SHEET_PART.match(n)):
                with zf.open(name) as fh:
                    start = fh.read(4096)
                m = _DIMENSION.search(start)
                if m and m.group(4) and int(m.group(4)) >= HUGE_ROWS:
                    report.huge_sheets.append(name)
            # Small files are checked entry by entry here; in larger ones every part read is
            # checked against its CRC as it is read (zipfile raises BadZipFile).
            if size < CHECKSUM_ALL_BELOW:
                for info in infos:  # zipfile checks each entry's CRC as it reaches its end
                    try:
                        with zf.open(info) as fh:
                            while fh.read(1 << 16):
                                pass
                    except (zipfile.BadZipFile, zlib.error) as exc:
                        raise _refuse(path, f"the zip is corrupt (entry {info.filename} "
                                            f"fails its checksum: {exc})") from exc
    except zipfile.BadZipFile as exc:
        raise _refuse(path, f"the file is truncated or corrupt: {exc}") from exc
    except (zipfile.LargeZipFile, EOFError) as exc:
        raise _refuse(path, f"the file is truncated or corrupt: {exc}") from exc
    return report
