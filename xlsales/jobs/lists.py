"""The settings job: the team's lists copied into every workbook's dropdowns."""

from __future__ import annotations

import os
from pathlib import Path


def run_sync(root: str | os.PathLike[str]) -> list[Path]:
    """Bring the hidden ``_lists`` sheet of every workbook in the workspace ``root`` up to
    date with its ``settings.xlsx`` (reps, regions, product lines, stages, tiers …), and
    the hidden copies of the settings an xlwings Lite workbook carries; the workbooks
    that changed. A workbook without such sheets is left alone."""
    from xlsales.io.edit.book import WorkbookEdit
    from xlsales.io.edit.lists import refresh_lists
    from xlsales.io.lite import refresh_settings_copies
    from xlsales.workspace import read_settings

    root = Path(root)
    settings = read_settings(root)
    lang = settings.general.language
    written = []
    for path in sorted(root.iterdir()):
        if path.suffix.lower() not in (".xlsx", ".xlsm") or path.name.startswith(("~$", ".")) \
                or not path.is_file():
            continue
        with WorkbookEdit(path) as wb:
            lists = refresh_lists(wb, settings, lang)
            if refresh_settings_copies(wb, settings, lang) or lists:
                wb.save()
                written.append(path)
    return written
