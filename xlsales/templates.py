"""Build the empty template workbooks shipped in ``workbook_templates/``."""

from __future__ import annotations

import os
from pathlib import Path

from xlsales.i18n import LANGS
from xlsales.settings import Settings
from xlsales.workspace import write_workspace


def build_templates(out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write ``out_dir/zh/*.xlsx`` and ``out_dir/en/*.xlsx`` from the default settings."""
    written: list[Path] = []
    for lang in LANGS:
        written += write_workspace(Path(out_dir) / lang, Settings.default(), lang=lang)
    return written
