"""A workbook's document properties (``docProps/core.xml``): who saved it last, and when.

Read with :mod:`zipfile` and defusedxml; a workbook without the part, or one that is not a
zip package at all, has no properties (never an error: the properties are a footnote)."""

from __future__ import annotations

import datetime as dt
import os
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CORE = "docProps/core.xml"
_CP = "{http://schemas.openxmlformats.org/package/2006/metadata/core-properties}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_DCTERMS = "{http://purl.org/dc/terms/}"
MAX_PART = 1 << 20  # a core.xml bigger than 1 MB is not read


@dataclass(frozen=True)
class CoreProperties:
    """What docProps/core.xml says (None for what it does not)."""

    creator: str | None = None
    last_modified_by: str | None = None
    modified: dt.datetime | None = None


def core_properties(path: str | os.PathLike[str]) -> CoreProperties:
    """The document properties of the workbook at ``path`` (cached per file and mtime)."""
    p = Path(path)
    try:
        stat = p.stat()
    except OSError:
        return CoreProperties()
    return _read(str(p.resolve()), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=64)
def _read(path: str, _mtime: int, _size: int) -> CoreProperties:
    from defusedxml import ElementTree as SafeET
    from defusedxml.common import DefusedXmlException

    try:
        with zipfile.ZipFile(path) as z:
            info = z.getinfo(CORE)
            if info.file_size > MAX_PART:
                return CoreProperties()
            root = SafeET.fromstring(z.read(info))
    except (OSError, KeyError, zipfile.BadZipFile, SafeET.ParseError, DefusedXmlException):
        return CoreProperties()

    def text(tag: str) -> str | None:
        node = root.find(tag)
        value = (node.text or "").strip() if node is not None else ""
        return value or None

    modified = None
    if (stamp := text(f"{_DCTERMS}modified")) is not None:
        try:
            modified = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            modified = None
    return CoreProperties(text(f"{_DC}creator"), text(f"{_CP}lastModifiedBy"), modified)


def table_fingerprint(path: str | os.PathLike[str], sheet: str) -> str | None:
    """A fingerprint of what reading a table of ``sheet`` depends on in the workbook: the
    CRC-32 and size (from the zip directory, nothing decompressed) of the sheet's part, the
    shared strings and the styles. Equal fingerprints: the table reads the same (None when
    the workbook cannot tell)."""
    import hashlib

    from xlsales.errors import XlsalesError
    from xlsales.io.read.package import Package

    try:
        with Package(path) as pkg:
            info = pkg.sheet(sheet)
            if info is None or not info.part:
                return None
            names = set(pkg.zf.namelist())
            parts = [info.part, "xl/styles.xml",
                     *sorted(n for n in names if n.lower().endswith("sharedstrings.xml"))]
            crcs = [(p, pkg.zf.getinfo(p).CRC, pkg.zf.getinfo(p).file_size)
                    if p in names else (p, 0, -1) for p in parts]
    except (XlsalesError, OSError, zipfile.BadZipFile, KeyError):
        return None
    return hashlib.sha256(repr(crcs).encode()).hexdigest()
