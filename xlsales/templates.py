"""Build the empty template workbooks shipped in ``workbook_templates/``."""

from __future__ import annotations

import os
from pathlib import Path

from xlsales.i18n import LANGS
from xlsales.settings import Settings
from xlsales.workspace import write_workspace


def build_templates(out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write ``out_dir/{zh,en}/`` from the default settings: every workbook as ``.xlsx``
    and the ones with buttons also as macro-enabled ``.xlsm``."""
    written: list[Path] = []
    for lang in LANGS:
        folder = Path(out_dir) / lang
        written += write_workspace(folder, Settings.default(lang), lang=lang)
        written += [p for p in write_workspace(folder, Settings.default(lang), lang=lang,
                                               macros=True) if p.suffix == ".xlsm"]
    return written
