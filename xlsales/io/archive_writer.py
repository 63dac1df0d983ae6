"""The archive of old daily reports: ``archive_<year>.xlsx`` (``xlsales archive``).

The archive holds the daily rows moved out of the daily-report workbook as the same
daily table (same columns, headers, formats and dropdowns, written by the workspace's
own writer, :func:`xlsales.io.xlsx_writer.write_book`), so every reader of the daily
table reads it as it reads ``daily_report.xlsx``. It is marked read-only three ways:
the workbook's structure is protected, the daily sheet is protected (no password: it
guards against an accidental edit, not against a determined user), and the file asks
to be opened read-only (the "read-only recommended" flag of ``fileSharing``).
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any

from xlsales.i18n import Label, Lang
from xlsales.io.atomic import TEMP_SUFFIX, atomic_path
from xlsales.io.edit.book import WORKBOOK, WorkbookEdit
from xlsales.io.edit.sheet import insert
from xlsales.settings import Settings
from xlsales.tables.daily import DAILY

ARCHIVE_FILE = "archive_{year}.xlsx"
ARCHIVE_TITLE = Label("销售日报归档 {year}", "Daily report archive {year}")
SHEET_PROTECTION = (b'<sheetProtection sheet="1" objects="1" scenarios="1" formatCells="0" '
                    b'formatColumns="0" formatRows="0" sort="0" autoFilter="0"/>')
_WORKBOOK_CHILDREN = ("fileVersion", "fileSharing", "workbookPr", "workbookProtection",
                      "bookViews", "sheets")


def archive_path(root: str | os.PathLike[str], year: int) -> Path:
    """Where a workspace keeps the archive of ``year``."""
    return Path(root) / ARCHIVE_FILE.format(year=year)


def write_archive(path: str | os.PathLike[str], rows: list[dict[str, Any]],
                  settings: Settings, *, lang: Lang, year: int) -> Path:
    """Write the daily ``rows`` (canonical records; a cell the reader could not take may
    hold its text) as the read-only archive ``path``, replacing it whole, atomically.

    The table is written as ``init`` and ``sample`` write the daily report
    (:func:`xlsales.io.xlsx_writer.write_book`: rows as tall as their wrapped text, ready
    to print), then protected."""
    from xlsales.io.xlsx_writer import write_book
    from xlsales.workbook import book_plan

    spec = dataclasses.replace(DAILY, blank_rows=1 if not rows else 0, title=Label(
        ARCHIVE_TITLE.zh.format(year=year), ARCHIVE_TITLE.en.format(year=year)))
    plan = book_plan([spec], {"daily": rows}, settings, lang)
    plan.title = spec.title(lang)
    target = Path(path)
    with atomic_path(target) as tmp:
        # the unprotected first draft: a hidden temporary name the next write in the
        # folder cleans up if this process dies
        plain = tmp.with_name(tmp.name[:-len(TEMP_SUFFIX)] + "p" + TEMP_SUFFIX)
        try:
            write_book(plan, plain)
            with WorkbookEdit(plain) as wb:
                _protect(wb, spec.sheet(lang))
                wb.save(tmp)
        finally:
            plain.unlink(missing_ok=True)
    return target


def _protect(wb: WorkbookEdit, sheet: str) -> None:
    """Workbook structure, the sheet, and "read-only recommended"."""
    xml = wb.xml
    xml = _put_child(xml, b"fileSharing", b'<fileSharing readOnlyRecommended="1"/>')
    xml = _put_child(xml, b"workbookProtection", b'<workbookProtection lockStructure="1"/>')
    wb.xml = xml
    wb.pkg.put(WORKBOOK, xml)
    wb.sheet(sheet).edit_tail.append(
        lambda tail: tail if b"<sheetProtection" in tail
        else insert(tail, "sheetProtection", SHEET_PROTECTION))


def _put_child(xml: bytes, name: bytes, element: bytes) -> bytes:
    """``element`` into ``<workbook>`` in schema order, replacing one already there."""
    xml = re.sub(rb"<" + name + rb"\b[^>]*?(?:/>|>.*?</" + name + rb">)", b"", xml,
                 flags=re.DOTALL)
    rank = _WORKBOOK_CHILDREN.index(name.decode())
    for later in _WORKBOOK_CHILDREN[rank + 1:]:
        m = re.search(rb"<" + later.encode() + rb"\b", xml)
        if m:
            return xml[:m.start()] + element + xml[m.start():]
    m = re.search(rb"<workbook\b[^>]*>", xml)
    assert m is not None
    return xml[:m.end()] + element + xml[m.end():]


def is_read_only(path: str | os.PathLike[str]) -> dict[str, bool]:
    """Which of the three read-only marks the workbook at ``path`` carries (its visible
    sheets all protected for ``sheet``)."""
    from xlsales.io.edit import package as P
    from xlsales.io.safety import CheckedZip, check_workbook

    check_workbook(Path(path))
    with CheckedZip(path, str(path)) as z:
        xml = z.read(WORKBOOK)
        rels = P.Rels.parse(WORKBOOK, z.read(P.rels_part(WORKBOOK)))
        sheets = []
        for tag in re.findall(rb"<sheet\b[^>]*/>", xml):
            if b'state="hidden"' in tag or b'state="veryHidden"' in tag:
                continue
            rid = re.search(rb'r:id="([^"]*)"', tag)
            part = rels.part(rid.group(1).decode()) if rid else None
            if part:
                sheets.append(z.read(part))
    return {"structure": re.search(rb'<workbookProtection\b[^>]*lockStructure="1"', xml)
            is not None,
            "read_only_recommended": re.search(rb'<fileSharing\b[^>]*readOnlyRecommended="1"',
                                               xml) is not None,
            "sheet": bool(sheets) and all(b"<sheetProtection" in s for s in sheets)}
