"""The hidden ``_lists`` sheet kept in step with the team's settings: the dropdowns of a
workbook show the current reps, regions, product lines and stages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xlsales.errors import WorkbookError
from xlsales.i18n import Lang
from xlsales.io.edit.book import WorkbookEdit
from xlsales.io.edit.cells import Cell
from xlsales.io.edit.newsheet import NewSheet
from xlsales.settings import Settings
from xlsales.workbook import LISTS_SHEET, lists_layout, team_lists

MAX_LIST_ROWS = 100_000  # how far the current lists are read to compare them


def refresh_lists(wb: WorkbookEdit, settings: Settings, lang: Lang, *,
                  current: list[list[Any]] | None = None) -> bool:
    """Rewrite the workbook's ``_lists`` sheet and its defined names from ``settings`` (read
    from a settings workbook) when they differ from what it holds (a list it has that the
    settings lack stays, as an empty list); False when there is nothing to change, no
    such sheet, or the settings are not a workbook's. ``current``: what
    :func:`lists_head` read of the workbook already, when it did."""
    if settings.source is None or LISTS_SHEET not in wb.sheet_names or not wb.path.is_file():
        return False  # only a team's own settings workbook speaks for its lists
    if current is None:
        current = lists_head(wb.path)
    names = [v for v in (current[0] if current else []) if isinstance(v, str) and v]
    present = names[:names.index("stage")] if "stage" in names else names
    lists, stage_prob = team_lists(settings, lang, present)
    columns, refs = lists_layout(lists, stage_prob)
    if _grid(columns) == _trimmed(current):
        return False
    sheet = NewSheet(landscape=False, fit_width=False, footer_text="")
    for c, column in enumerate(columns):
        for r, value in enumerate(column):
            sheet.set(r, c, Cell(value))
    wb.put_sheet(LISTS_SHEET, sheet)
    for name, ref in refs.items():
        wb.set_name(name, ref)
    return True


def lists_head(path: Path) -> list[list[Any]]:
    """The ``_lists`` sheet of the workbook at ``path`` as :func:`refresh_lists` compares
    it ([] when it has none, or a damaged one: xlsales's own, written anew)."""
    from xlsales.io.read.package import Package

    try:
        with Package(path) as pkg:
            return pkg.head(LISTS_SHEET, MAX_LIST_ROWS)
    except WorkbookError:
        return []


def _grid(columns: list[list[Any]]) -> list[list[Any]]:
    """Columns as rows, blanks as ''."""
    height = max((len(c) for c in columns), default=0)
    return _trimmed([[c[r] if r < len(c) else "" for c in columns] for r in range(height)])


def _trimmed(rows: list[list[Any]]) -> list[list[Any]]:
    """Rows without trailing blanks, and without trailing empty rows; numbers as floats."""
    out = [[float(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
            for v in row] for row in rows]
    out = [row[:max((i + 1 for i, v in enumerate(row) if v != ""), default=0)]
           for row in out]
    while out and not out[-1]:
        out.pop()
    return out
