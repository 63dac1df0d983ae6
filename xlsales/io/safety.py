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
from typing import IO, Any

from xlsales.errors import WorkbookError
from xlsales.i18n import Label
from xlsales.io import codec

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


CORRUPT = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError)


def damaged_part(file: str, part: str, exc: BaseException) -> WorkbookError:
    """The error for a zip part that cannot be read back (its data, its checksum)."""
    return WorkbookError(Label(f"压缩包已损坏（部件 {part}：{exc}）",
                               f"the zip is corrupt (part {part}: {exc})"), file=file)


class _Part:
    """A zip entry being read (by zipfile's reader or :func:`xlsales.io.codec.open_member`'s:
    both have ``read1``); a corrupt entry (its checksum, its compressed data) is a
    :class:`WorkbookError` naming the file and the part."""

    def __init__(self, fh: Any, file: str, part: str) -> None:
        self._fh, self._file, self._part = fh, file, part

    def read(self, n: int = -1) -> bytes:
        try:
            return self._fh.read(n)
        except CORRUPT as exc:
            raise damaged_part(self._file, self._part, exc) from exc

    def read1(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes as the reader has them (b"" only at the end)."""
        try:
            return self._fh.read1(n)
        except CORRUPT as exc:
            raise damaged_part(self._file, self._part, exc) from exc

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> _Part:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class CheckedZip(zipfile.ZipFile):
    """A workbook's zip whose entries are read as :class:`_Part`: damage found while
    reading (past what :func:`check_workbook` looked at) is a workbook error, never a
    zipfile or zlib exception."""

    def __init__(self, file: str | os.PathLike[str] | IO[bytes], name: str) -> None:
        self.file_name = name
        try:
            super().__init__(file)
        except CORRUPT as exc:
            raise WorkbookError(Label(f"文件不完整或已损坏：{exc}",
                                      f"the file is truncated or corrupt: {exc}"),
                                file=name) from exc

    def open(self, name: Any, mode: Any = "r", pwd: Any = None, *,  # type: ignore[override]
             force_zip64: bool = False) -> Any:
        if mode != "r":
            return super().open(name, mode, pwd, force_zip64=force_zip64)
        part = name.filename if isinstance(name, zipfile.ZipInfo) else str(name)
        try:
            info = name if isinstance(name, zipfile.ZipInfo) else self.getinfo(part)
            fast = codec.open_member(self, info) if pwd is None else None
            return _Part(fast or super().open(name, mode, pwd), self.file_name, part)
        except CORRUPT as exc:
            raise damaged_part(self.file_name, part, exc) from exc


def _refuse(path: Path, why: Label) -> UnsafeWorkbookError:
    return UnsafeWorkbookError(why, file=str(path))


def _corrupt_entry(path: Path, entry: str, exc: BaseException) -> UnsafeWorkbookError:
    return _refuse(path, Label(f"压缩包已损坏（条目 {entry} 校验和不符：{exc}）",
                               f"the zip is corrupt (entry {entry} fails its checksum: {exc})"))


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
        raise _refuse(path, Label("这是 Excel 的占用（锁定）文件，不是工作簿；"
                                  "请打开不带 '~$' 的那个文件",
                                  "this is an Excel owner (lock) file, not a workbook; open the "
                                  "file without '~$'"))
    if not path.is_file():
        if path.is_dir():
            raise _refuse(path, Label("这是一个文件夹，不是工作簿",
                                      "this is a folder, not a workbook"))
        if path.exists():
            raise _refuse(path, Label("这不是普通文件（是设备或管道），不是工作簿",
                                      "not a regular file (a device or a pipe), not a "
                                      "workbook"))
        raise _refuse(path, Label("没有这个文件", "no such file"))
    size = path.stat().st_size
    if size == 0:
        raise _refuse(path, Label("文件是空的", "the file is empty"))
    with path.open("rb") as fh:
        head = fh.read(4096)
    if head.startswith(OLE_MAGIC):
        if "EncryptedPackage".encode("utf-16-le") in path.read_bytes()[:1 << 20]:
            raise _refuse(path, Label("工作簿已加密（设有密码）；请先去掉密码另存",
                                      "the workbook is encrypted (password-protected); save it "
                                      "without a password first"))
        raise _refuse(path, Label("这是旧版 .xls（或其他 OLE）文件；请另存为 .xlsx",
                                  "this is a legacy .xls (or other OLE) file; save it as .xlsx"))
    if not head.startswith(ZIP_MAGIC):
        text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
        if text.startswith((b"<!doctype html", b"<html", b"<table", b"<?xml")):
            raise _refuse(path, Label("这是用 Excel 文件名保存的 HTML/XML 文件，不是工作簿",
                                      "this is an HTML/XML file saved with an Excel name, not a "
                                      "workbook"))
        if b"," in head or b"\t" in head:
            raise _refuse(path, Label("这像是用 Excel 文件名保存的 CSV/文本文件，不是工作簿",
                                      "this looks like CSV/text saved with an Excel name, not a "
                                      "workbook"))
        raise _refuse(path, Label("不是 Excel 工作簿（没有 zip 签名）",
                                  "not an Excel workbook (no zip signature)"))
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_ENTRIES:
                raise _refuse(path, Label(
                    f"压缩包有 {len(infos)} 个条目（超过 {MAX_ENTRIES} 个）；"
                    "疑似 zip 炸弹，拒绝打开",
                    f"the zip has {len(infos)} entries (more than {MAX_ENTRIES}); refusing a "
                    "possible zip bomb"))
            total = 0
            for info in infos:
                total += info.file_size
                if (info.file_size > RATIO_ALLOWANCE
                        and info.file_size > MAX_RATIO * max(info.compress_size, 1)):
                    ratio = info.file_size / max(info.compress_size, 1)
                    raise _refuse(path, Label(
                        f"条目 {info.filename} 解压后是原来的 {ratio:.0f} 倍；"
                        "疑似 zip 炸弹，拒绝打开",
                        f"entry {info.filename} expands {ratio:.0f}× its size; refusing a "
                        "possible zip bomb"))
            if total > MAX_TOTAL:
                raise _refuse(path, Label("压缩包解压后超过 2 GiB；拒绝打开",
                                          "the zip expands to more than 2 GiB; refusing it"))
            if total > ARCHIVE_ALLOWANCE and total > MAX_RATIO * size:
                raise _refuse(path, Label(
                    f"压缩包整体解压后是原来的 {total / size:.0f} 倍（许多压缩率极高的部件）；"
                    "疑似 zip 炸弹，拒绝打开",
                    f"the zip expands {total / size:.0f}× its size in all (many parts that "
                    "each compress very well); refusing a possible zip bomb"))
            names = {i.filename for i in infos}
            if "xl/workbook.xml" not in names and "xl/workbook.bin" not in names:
                raise _refuse(path, Label("是 zip 文件，但不是 Excel 工作簿"
                                          "（没有 xl/workbook.xml）",
                                          "a zip file, but not an Excel workbook (no "
                                          "xl/workbook.xml)"))
            if "xl/workbook.bin" in names:
                raise _refuse(path, Label("不支持二进制工作簿（.xlsb）；请另存为 .xlsx",
                                          "binary workbooks (.xlsb) are not supported; save "
                                          "as .xlsx"))
            if "[Content_Types].xml" not in names:
                raise _refuse(path, Label("工作簿缺少 [Content_Types].xml 部件（文件已损坏）",
                                          "the workbook has no [Content_Types].xml part (the "
                                          "file is damaged)"))
            for info in infos:  # Excel never writes a DTD: refused in every part, up front
                if info.filename.endswith((".xml", ".rels", ".vml")) and info.file_size:
                    try:
                        with zf.open(info) as fh:
                            head = fh.read(DTD_HEAD)
                    except CORRUPT as exc:
                        raise _corrupt_entry(path, info.filename, exc) from exc
                    if _declares_dtd(head):
                        raise _refuse(path, Label(
                            f"部件 {info.filename} 的 XML 声明了实体或 DTD，xlsales 拒绝读取",
                            f"the part {info.filename} declares entities or a DTD in its "
                            "XML, which xlsales refuses"))
            report = SafetyReport()
            with zf.open("xl/workbook.xml") as fh:
                wb_xml = fh.read(1 << 16)
            _check_sheet_list(path, zf, wb_xml, names)
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
                    except CORRUPT as exc:
                        raise _corrupt_entry(path, info.filename, exc) from exc
    except CORRUPT as exc:
        raise _refuse(path, Label(f"文件不完整或已损坏：{exc}",
                                  f"the file is truncated or corrupt: {exc}")) from exc
    return report


DTD_HEAD = 4096
_ROOT_START = re.compile(rb"<[A-Za-z_]")
_DTD_MARK = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_SHEET_TAG = re.compile(rb"<(?:\w+:)?sheet\b([^>]*)>")
_ATTR = re.compile(rb'([\w:]+)\s*=\s*"([^"]*)"')
_REL_TAG = re.compile(rb"<(?:\w+:)?Relationship\b([^>]*)>")


def _declares_dtd(head: bytes) -> bool:
    """Whether the prolog of an XML part (before its root element) declares a DTD or
    entities; any encoding that keeps ASCII as ASCII, and UTF-16."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or head[1:2] == b"\x00":
        head = head.replace(b"\x00", b"")
    root = _ROOT_START.search(head)
    prolog = head if root is None else head[:root.start()]
    return bool(_DTD_MARK.search(prolog))


def _check_sheet_list(path: Path, zf: zipfile.ZipFile, wb_xml: bytes,
                      names: set[str]) -> None:
    """Every sheet the workbook lists has a unique name and its part is in the file (Excel
    refuses such a file, or repairs it by dropping sheets)."""
    seen: set[str] = set()
    rids: dict[str, str] = {}
    for m in _SHEET_TAG.finditer(wb_xml):
        attrs = dict(_ATTR.findall(m.group(1)))
        name = attrs.get(b"name", b"").decode("utf-8", "replace")
        key = name.casefold()
        if key in seen:
            raise _refuse(path, Label(f"有两个工作表都叫 {name!r}（Excel 打不开这样的文件）",
                                      f"two sheets are named {name!r} (Excel cannot open "
                                      "such a file)"))
        seen.add(key)
        rid = next((v for k, v in attrs.items() if k.endswith(b":id")), None)
        if rid is not None:
            rids[rid.decode("utf-8", "replace")] = name
    if not rids or "xl/_rels/workbook.xml.rels" not in names:
        return
    with zf.open("xl/_rels/workbook.xml.rels") as fh:
        rels = fh.read(1 << 20)
    targets = {}
    for m in _REL_TAG.finditer(rels):
        attrs = dict(_ATTR.findall(m.group(1)))
        if attrs.get(b"TargetMode") == b"External":
            continue
        target = attrs.get(b"Target", b"").decode("utf-8", "replace")
        part = target.lstrip("/") if target.startswith("/") else "xl/" + target
        targets[attrs.get(b"Id", b"").decode("utf-8", "replace")] = os.path.normpath(
            part).replace(os.sep, "/")
    for rid, name in rids.items():
        part = targets.get(rid)
        if part is not None and part not in names:
            raise _refuse(path, Label(f"工作表 {name!r} 的部件 {part} 不在文件里（文件已损坏）",
                                      f"the sheet {name!r} has no part {part} in the file "
                                      "(the file is damaged)"))
