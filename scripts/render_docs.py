"""Render the README pictures: sample workbooks through LibreOffice to PNG under docs/.

Usage: python scripts/render_docs.py   (needs LibreOffice and pdftoppm)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from xlsales.io.libreoffice import convert

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# (workbook of samples/sample_team, picture name, crop width × height at 110 dpi)
PICTURES = (("daily_report.xlsx", "daily_report", 1280, 520),)


def main() -> int:
    DOCS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for book, name, width, height in PICTURES:
            pdf = convert(ROOT / "samples" / "sample_team" / book, "pdf", Path(tmp) / "pdf")
            subprocess.run(["pdftoppm", "-png", "-r", "110", "-f", "1", "-l", "1",
                            "-x", "0", "-y", "0", "-W", str(width), "-H", str(height),
                            "-singlefile", str(pdf), str(DOCS / name)], check=True)
            print(DOCS / f"{name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
