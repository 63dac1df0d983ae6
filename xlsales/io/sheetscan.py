"""One streaming pass over a sheet's XML for what value readers hide.

python-calamine reads error values (``#N/A``) and formulas without a cached value as
empty strings; this scan finds them, and the merged ranges, so they can be reported
per cell instead of read as blanks. XML is parsed with defusedxml.
"""

from __future__ import annotations

import os
import posixpath
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from xml.etree.ElementTree import ParseError

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from xlsales.errors import WorkbookError

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


@dataclass
class SheetScan:
    """Cells of one sheet that hold an error, or a formula with no cached value."""

    errors: dict[str, str] = field(default_factory=dict)
    uncached: set[str] = field(default_factory=set)
    merged: list[str] = field(default_factory=list)


def sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → part name inside the zip."""
    try:
        wb = SafeET.fromstring(zf.read("xl/workbook.xml"))
        rels = SafeET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    except (DefusedXmlException, ParseError, KeyError) as exc:
        raise WorkbookError(f"cannot read the list of sheets: {_why(exc)}",
                            file=str(zf.filename)) from exc
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{PKG_REL_NS}Relationship")}
    out: dict[str, str] = {}
    for sheet in wb.iter(f"{NS}sheet"):
        target = targets.get(sheet.get(f"{REL_NS}id"), "")
        part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
            posixpath.join("xl", target))
        out[sheet.get("name", "")] = part
    return out


def scan_sheet(path: str | os.PathLike[str], sheet: str) -> SheetScan:
    """Scan ``sheet`` of the workbook at ``path``; unreadable XML is a WorkbookError."""
    scan = SheetScan()
    with zipfile.ZipFile(Path(path)) as zf:
        part = sheet_parts(zf).get(sheet)
        if part is None:
            return scan
        try:
            with zf.open(part) as fh:
                _scan(fh, scan)
        except (DefusedXmlException, ParseError, KeyError) as exc:
            raise WorkbookError(f"cannot read the sheet: {_why(exc)}", file=str(path),
                                sheet=sheet) from exc
    return scan


def _why(exc: Exception) -> str:
    if isinstance(exc, DefusedXmlException):
        return "its XML declares entities or a DTD, which xlsales refuses"
    return str(exc)


def _scan(fh: IO[bytes], scan: SheetScan) -> None:
    for _event, el in SafeET.iterparse(fh, events=("end",)):
        tag = el.tag
        if tag == f"{NS}c":
            ref = el.get("r", "")
            f = el.find(f"{NS}f")
            v = el.find(f"{NS}v")
            if el.get("t") == "e":
                scan.errors[ref] = (v.text or "#ERROR") if v is not None else "#ERROR"
            elif f is not None and (v is None or v.text is None) and el.get("t") != "str":
                scan.uncached.add(ref)
            el.clear()
        elif tag == f"{NS}mergeCell":
            scan.merged.append(el.get("ref", ""))
        elif tag == f"{NS}row":
            el.clear()
