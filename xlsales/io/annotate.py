"""Write validation findings into the workbook, where the user works.

Bad cells get a conditional-format highlight and a note; a findings sheet, placed after
the sheets it describes, lists every finding with a link to its cell. Everything xlsales
adds carries a marker (the highlight's formula, the notes' ``[xlsales]`` lines, the
sheet's name), so annotating again replaces the previous annotations instead of stacking
them, and annotating twice gives the same bytes as annotating once.

The workbook is edited part by part (:mod:`xlsales.io.edit`): the annotated sheets are
rewritten as a stream with only their conditional formats and note drawing touched, and
every other part — the user's data, formats, validations, other sheets, charts, pivot
tables, buttons and VBA — is copied as it is. The file is written through a temporary
file and replaced in one step.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from pathlib import Path

from xlsales.findings import Finding
from xlsales.i18n import Label, Lang
from xlsales.io.edit.book import WorkbookEdit
from xlsales.io.edit.cells import Cell
from xlsales.io.edit.lists import refresh_lists
from xlsales.io.edit.newsheet import NewSheet
from xlsales.io.edit.styles import Style
from xlsales.settings import Settings

MARK_FORMULA = '"xlsales"<>""'
COMMENT_TAG = "[xlsales]"
AUTHOR = "xlsales"
SHEET_NAME = Label("校验结果", "Validation")
HEADERS = Label("严重程度|规则|工作表|单元格|列|值|说明",
                "Severity|Rule|Sheet|Cell|Column|Value|Message")
SEVERITY = {"error": Label("错误", "error"), "warning": Label("警告", "warning")}
FILLS = {"error": "FFFF9999", "warning": "FFFFE699"}
WIDTHS = ((6, 12), (10, 26), (8, 20), (6, 10), (8, 20), (10, 30), (30, 60))  # low, high
WRAPPED = (5, 6)  # the value and the message wrap
HEADER_STYLE = Style(bold=True)
LINK_STYLE = Style(color="FF0563C1", underline=True, v_align="top")

# The highlight rule as any writer may have stored it (quotes escaped or not).
_MARK = re.compile(rb"<formula>(?:&quot;|\")xlsales(?:&quot;|\")&lt;&gt;(?:&quot;|\")"
                   rb"(?:&quot;|\")</formula>")
_RULE = re.compile(rb"<cfRule\b[^>]*?(?:/>|>.*?</cfRule>)", re.DOTALL)


def annotate(path: str | os.PathLike[str], findings: list[Finding], *, lang: Lang,
             out: str | os.PathLike[str] | None = None,
             settings: Settings | None = None) -> Path:
    """Annotate ``path`` with ``findings`` (in place, or into ``out``); with the team's
    ``settings``, its dropdown lists are brought up to date too."""
    with WorkbookEdit(path) as wb:
        by_sheet: dict[str, list[Finding]] = defaultdict(list)
        for f in findings:
            if f.sheet in wb.sheet_names and f.cell and f.sheet not in SHEET_NAME.all():
                by_sheet[f.sheet].append(f)
        for name in wb.sheet_names:
            if name in SHEET_NAME.all():
                continue
            _clear(wb, name, marked=name in by_sheet)
        for sheet, items in by_sheet.items():
            _mark(wb, sheet, items)
        _findings_sheet(wb, findings, lang, by_sheet,
                        team=settings.general.team_name if settings is not None else None)
        if settings is not None:
            refresh_lists(wb, settings, lang)
        return wb.save(out)


def _clear(wb: WorkbookEdit, name: str, *, marked: bool) -> None:
    """Remove what an earlier run added to sheet ``name`` (its rows are only read when
    it may hold an earlier highlight)."""
    notes = wb.notes(name)
    notes.drop_tagged(COMMENT_TAG, AUTHOR)
    if marked or _has_mark(wb, name):
        wb.sheet(name).edit_formats = _without_marks


def _has_mark(wb: WorkbookEdit, name: str) -> bool:
    return _MARK.search(wb.pkg.tail(wb.ref(name).part)) is not None


def _without_marks(block: bytes) -> bytes:
    """A conditional-format block without xlsales's highlight rules (gone when empty)."""
    rules = _RULE.findall(block)
    mine = [r for r in rules if _MARK.search(r)]
    if not mine:
        return block
    if len(mine) == len(rules):
        return b""
    for rule in mine:
        block = block.replace(rule, b"", 1)
    return block


def _mark(wb: WorkbookEdit, sheet: str, findings: list[Finding]) -> None:
    cells: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        cells[f.cell or ""].append(f)
    edit = wb.sheet(sheet)
    for severity in ("error", "warning"):
        refs = [c for c, fs in cells.items()
                if any(f.severity == "error" for f in fs) == (severity == "error")]
        if refs:
            dxf = wb.dxf(Style(fill=FILLS[severity]))
            edit.add_formats.append(
                f'<conditionalFormatting sqref="{" ".join(refs)}"><cfRule type="expression" '
                f'dxfId="{dxf}" priority="0"><formula>"xlsales"&lt;&gt;""</formula>'
                f"</cfRule></conditionalFormatting>".encode())
    notes = wb.notes(sheet)
    for ref, fs in cells.items():
        # A note the user wrote keeps its author and words; xlsales appends its lines.
        notes.add(ref, "\n".join(f"{COMMENT_TAG} {f.rule}: {f.message}" for f in fs), AUTHOR)


def _findings_sheet(wb: WorkbookEdit, findings: list[Finding], lang: Lang,
                    by_sheet: dict[str, list[Finding]], *, team: str | None = None) -> None:
    """The list of findings: replaced where it is, or added after the sheets it
    describes; never made the active sheet. Without findings the list goes, except in a
    macro-enabled workbook: there Excel gave the sheet a module of the VBA project (the
    validate button writes the list too), which would stay behind as a sheet the VBA
    editor shows and cannot remove; the list stays, emptied to its header row."""
    name = SHEET_NAME(lang)
    there = [old for old in SHEET_NAME.all() if old in wb.sheet_names]
    if wb.macro and there:
        if name not in there:  # written in the other language before: keep that sheet
            name = there[0]
        for old in there:
            if old != name:
                _write_list(wb, old, [], lang, by_sheet, team=team)
    else:
        for old in there:
            if old != name or not findings:
                wb.remove_sheet(old)
    if wb.active in SHEET_NAME.all():  # an earlier version of xlsales made it active
        described = [s for s in wb.sheet_names if s in by_sheet or s not in SHEET_NAME.all()]
        if described:
            wb.set_active(described[0])
    if findings or name in wb.sheet_names:
        _write_list(wb, name, findings, lang, by_sheet, team=team)


def _write_list(wb: WorkbookEdit, name: str, findings: list[Finding], lang: Lang,
                by_sheet: dict[str, list[Finding]], *, team: str | None = None) -> None:
    """Write the findings sheet ``name`` (in place of the one there, else after the
    sheets it describes), laid out for print (:func:`_print_layout`)."""
    sheet = NewSheet(freeze=(1, 0), landscape=True)
    bold, link = wb.xf(HEADER_STYLE), wb.xf(LINK_STYLE)
    top, wrap = wb.xf(Style(v_align="top")), wb.xf(Style(wrap=True, v_align="top"))
    headers = HEADERS(lang).split("|")
    for c, text in enumerate(headers):
        sheet.set(0, c, Cell(text, style=bold))
    rows = []
    for r, f in enumerate(findings, start=1):
        values = (SEVERITY[f.severity](lang), f.rule, f.sheet, f.cell, f.column,
                  None if f.value is None else str(f.value), f.message)
        rows.append(values)
        for c, value in enumerate(values):
            linked = c == 3 and f.sheet in by_sheet and bool(f.cell)
            sheet.set(r, c, Cell(value, style=link if linked else wrap if c in WRAPPED
                                 else top))
        if f.sheet in by_sheet and f.cell:
            sheet.links.append((f"D{r + 1}", f"{_quote(f.sheet)}!{f.cell}", f.cell))
    _print_layout(sheet, headers, rows, team)
    if findings:  # the values as they were found, numbers as text
        sheet.text_numbers.append(f"F2:F{len(findings) + 1}")
    sheet.autofilter = f"A1:G{len(findings) + 1}"
    sheet.print_title_rows = (0, 0)
    described = [s for s in wb.sheet_names if s in by_sheet]
    after = described[-1] if described else wb.active
    wb.put_sheet(name, sheet, after=after)


def _print_layout(sheet: NewSheet, headers: list[str], rows: list[tuple[object, ...]],
                  team: str | None) -> None:
    """Widths that fit the findings (the value and the message wrap, rows as tall as they
    need), one landscape page wide, the team and the file in the header."""
    from xlsales.io import printing as pr

    for c, header in enumerate(headers):
        texts = [str(row[c]) for row in rows if row[c] is not None]
        low, high = WIDTHS[c]
        sheet.widths[c] = pr.content_width(texts, header=header, header_lines=1, lo=low,
                                           hi=high)
    for r, row in enumerate(rows, start=1):
        lines = max(pr.text_lines(row[c], sheet.widths[c]) for c in WRAPPED)
        if lines > 1:
            sheet.heights[r] = pr.row_height(lines)
    header, sheet.footer_text = pr.header_footer(team, None)
    sheet.header_text = header + "&R&F"


def _quote(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"
