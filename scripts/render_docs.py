"""Render the README pictures: sample workbooks through LibreOffice to PNG under docs/.

Usage: python scripts/render_docs.py   (needs LibreOffice and pdftoppm)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from xlsales.io.libreoffice import convert
from xlsales.jobs import run_review
from xlsales.sample import SAMPLE_TODAY

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# (workbook of samples/sample_team, picture name, crop width × height at 110 dpi)
PICTURES = (("daily_report.xlsx", "daily_report", 1280, 520),)
REVIEW_PAGES = 2  # the T4 table and the comparison with its chart


def main() -> int:
    DOCS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for book, name, width, height in PICTURES:
            pdf = convert(ROOT / "samples" / "sample_team" / book, "pdf", Path(tmp) / "pdf")
            subprocess.run(["pdftoppm", "-png", "-r", "110", "-f", "1", "-l", "1",
                            "-x", "0", "-y", "0", "-W", str(width), "-H", str(height),
                            "-singlefile", str(pdf), str(DOCS / name)], check=True)
            print(DOCS / f"{name}.png")
        ws = Path(tmp) / "ws"
        shutil.copytree(ROOT / "samples" / "sample_team", ws)
        review = run_review(ws, month=f"{SAMPLE_TODAY:%Y-%m}", today=SAMPLE_TODAY).written
        pdf = convert(review, "pdf", Path(tmp) / "pdf")
        for page in range(1, REVIEW_PAGES + 1):
            subprocess.run(["pdftoppm", "-png", "-r", "90", "-f", str(page), "-l", str(page),
                            "-singlefile", str(pdf), str(DOCS / f"review_page{page}")],
                           check=True)
            print(DOCS / f"review_page{page}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
