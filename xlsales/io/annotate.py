"""Write validation findings into the workbook, where the user works.

Bad cells get a conditional-format highlight and a cell comment; a validation sheet
lists every finding with a hyperlink to its cell. Everything xlsales adds carries a
marker, so annotating again first removes the previous annotations instead of
stacking them. The user's data, formats, validations, other sheets and VBA are kept.
The file is written through a temporary file.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import openpyxl
from openpyxl.comments import Comment
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from xlsales.findings import Finding
from xlsales.i18n import Label, Lang
from xlsales.io.atomic import atomic_path

MARK_FORMULA = '"xlsales"<>""'
COMMENT_TAG = "[xlsales]"
AUTHOR = "xlsales"
SHEET_NAME = Label("校验结果", "Validation")
HEADERS = Label("严重程度|规则|工作表|单元格|列|值|说明",
                "Severity|Rule|Sheet|Cell|Column|Value|Message")
SEVERITY = {"error": Label("错误", "error"), "warning": Label("警告", "warning")}
FILLS = {"error": PatternFill(start_color="FFFF9999", end_color="FFFF9999", fill_type="solid"),
         "warning": PatternFill(start_color="FFFFE699", end_color="FFFFE699",
                                fill_type="solid")}


def annotate(path: str | os.PathLike[str], findings: list[Finding], *, lang: Lang,
             out: str | os.PathLike[str] | None = None) -> Path:
    """Annotate ``path`` with ``findings`` (in place, or into ``out``)."""
    src = Path(path)
    target = Path(out) if out else src
    keep_vba = src.suffix.lower() == ".xlsm"
    wb = openpyxl.load_workbook(src, keep_vba=keep_vba)
    try:
        for ws in wb.worksheets:
            _clear(ws)
        for name in SHEET_NAME.all():
            if name in wb.sheetnames:
                del wb[name]
        by_sheet: dict[str, list[Finding]] = defaultdict(list)
        for f in findings:
            if f.sheet in wb.sheetnames and f.cell:
                by_sheet[f.sheet].append(f)
        for sheet, items in by_sheet.items():
            _mark(wb[sheet], items)
        if findings:
            _summary(wb, findings, lang)
        with atomic_path(target) as tmp:
            wb.save(tmp)
    finally:
        wb.close()
    return target


def _clear(ws: Worksheet) -> None:
    """Remove what an earlier run added to ``ws``."""
    cf = ws.conditional_formatting
    kept = []
    for rng in cf:
        rules = [r for r in rng.rules if MARK_FORMULA not in (r.formula or [])]
        if rules:
            kept.append((rng.sqref, rules))
    cf._cf_rules.clear()  # openpyxl keeps rules in this mapping; rebuilt below
    for sqref, rules in kept:
        for rule in rules:
            cf.add(str(sqref), rule)
    # Loading and re-adding count up max_priority; restart it after the kept rules so the
    # rules added now get the same priorities on every run.
    cf.max_priority = max((r.priority or 0 for _, rules in kept for r in rules), default=0)
    for row in ws.iter_rows():
        for cell in row:
            comment = cell.comment
            if comment is None or COMMENT_TAG not in comment.text:
                continue
            text = comment.text.split(COMMENT_TAG)[0].rstrip("\n")
            cell.comment = Comment(text, comment.author) if text else None


def _mark(ws: Worksheet, findings: list[Finding]) -> None:
    cells: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        cells[f.cell or ""].append(f)
    for severity in ("error", "warning"):
        refs = [c for c, fs in cells.items()
                if (any(f.severity == "error" for f in fs)) == (severity == "error")]
        if refs:
            ws.conditional_formatting.add(" ".join(refs), FormulaRule(
                formula=[MARK_FORMULA], fill=FILLS[severity], stopIfTrue=False))
    for ref, fs in cells.items():
        cell = ws[ref]
        note = "\n".join(f"{COMMENT_TAG} {f.rule}: {f.message}" for f in fs)
        old = cell.comment.text.rstrip("\n") + "\n" if cell.comment else ""
        # A comment the user wrote keeps its author; xlsales only appends its lines.
        comment = Comment(old + note, cell.comment.author if cell.comment else AUTHOR)
        comment.width, comment.height = 320, 40 + 18 * len(fs)
        cell.comment = comment


def _summary(wb: openpyxl.Workbook, findings: list[Finding], lang: Lang) -> None:
    ws = wb.create_sheet(SHEET_NAME(lang), 0)
    headers = HEADERS(lang).split("|")
    ws.append(headers)
    for c in ws[1]:
        c.font = Font(bold=True)
    link_font = Font(color="FF0563C1", underline="single")
    for f in findings:
        ws.append([SEVERITY[f.severity](lang), f.rule, f.sheet, f.cell, f.column,
                   _text(f.value), f.message])
        row = ws.max_row
        for c in ws[row]:
            c.data_type = "s" if isinstance(c.value, str) else c.data_type
        if f.sheet and f.cell:
            link = ws.cell(row=row, column=4)
            link.hyperlink = f"#'{f.sheet}'!{f.cell}"
            link.font = link_font
    for letter, width in zip("ABCDEFG", (8, 26, 14, 8, 16, 18, 70), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:G{ws.max_row}"


def _text(value: object) -> str | None:
    """Finding values are shown as text, never as formulas."""
    return None if value is None else str(value)
