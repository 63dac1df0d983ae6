"""Render the README pictures: sample workbooks through LibreOffice to PNG under docs/.

Usage: python scripts/render_docs.py   (needs LibreOffice, pdftoppm and the fonts of
scripts/run-tests.sh)

It also writes docs/pictures.json: for each picture, a fingerprint of what it shows — the
pictured sheets of the workbook as xlsales writes them (cells, widths, heights, page
setup, charts), not the pixels. tests/test_print.py computes the fingerprints again and
fails when a picture is out of date: run this script then, and commit docs/.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from xlsales.io.libreoffice import convert_many
from xlsales.jobs import run_review
from xlsales.sample import SAMPLE_TODAY

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
MANIFEST = DOCS / "pictures.json"
SAMPLE = ROOT / "samples" / "sample_team"
# (workbook of samples/sample_team, picture name, crop width × height at 110 dpi)
PICTURES = (("daily_report.xlsx", "daily_report", 1280, 520),)
REVIEW_PAGES = 2  # the T4 table and the comparison with its chart


def picture_names() -> list[str]:
    """The pictures :func:`render` makes (without ``.png``)."""
    return [name for _, name, _, _ in PICTURES] + [
        f"review_page{page}" for page in range(1, REVIEW_PAGES + 1)]


def sources(folder: Path) -> dict[str, tuple[Path, list[int]]]:
    """Picture name → the workbook it shows and the sheets (1-based, in order) on it; the
    review is written into ``folder``."""
    ws = folder / "ws"
    shutil.copytree(SAMPLE, ws)
    review = run_review(ws, month=f"{SAMPLE_TODAY:%Y-%m}", today=SAMPLE_TODAY).written
    out = {name: (SAMPLE / book, [1]) for book, name, _, _ in PICTURES}
    out.update({f"review_page{page}": (review, [page]) for page in range(1, REVIEW_PAGES + 1)})
    return out


def fingerprint(book: Path, sheets: list[int]) -> str:
    """What a picture of ``sheets`` of ``book`` shows, as a hash: the workbook part, the
    styles and strings, and each sheet's part with its drawing and charts."""
    with zipfile.ZipFile(book) as zf:
        names = set(zf.namelist())

        def rels(part: str) -> list[str]:
            folder, name = posixpath.split(part)
            path = posixpath.join(folder, "_rels", name + ".rels")
            if path not in names:
                return []
            return [posixpath.normpath(posixpath.join(folder, t)) for t in
                    re.findall(r'Target="([^"]+)"', zf.read(path).decode())
                    if not t.startswith(("http", "mailto"))]

        workbook = "xl/workbook.xml"
        ids = re.findall(r'<sheet\b[^>]*r:id="([^"]+)"', zf.read(workbook).decode())
        book_rels = zf.read("xl/_rels/workbook.xml.rels").decode()
        parts = [workbook, "xl/styles.xml", "xl/sharedStrings.xml"]
        for index in sheets:
            target = re.search(rf'Id="{ids[index - 1]}"[^>]*Target="([^"]+)"', book_rels)
            sheet = posixpath.normpath(posixpath.join("xl", target.group(1).lstrip("/")
                                                      .removeprefix("xl/")))
            parts.append(sheet)
            for drawing in (p for p in rels(sheet) if "/drawings/" in p):
                parts += [drawing, *(p for p in rels(drawing) if "/charts/" in p)]
        digest = hashlib.sha256()
        for part in parts:
            if part in names:
                digest.update(part.encode() + b"\0" + zf.read(part))
        return digest.hexdigest()


def fingerprints() -> dict[str, str]:
    """The fingerprint of every picture as the code writes its workbook now."""
    with tempfile.TemporaryDirectory() as tmp:
        return {name: fingerprint(book, sheets)
                for name, (book, sheets) in sources(Path(tmp)).items()}


def render(out: Path, *, soffice: str | None = None) -> list[Path]:
    """Render every picture into the folder ``out`` (one LibreOffice run)."""
    out.mkdir(parents=True, exist_ok=True)
    made = []
    with tempfile.TemporaryDirectory() as tmp:
        found = sources(Path(tmp))
        review = found["review_page1"][0]
        books = [SAMPLE / book for book, _, _, _ in PICTURES]
        pdfs = convert_many([*books, review], "pdf", Path(tmp) / "pdf", soffice=soffice,
                            recalculate=False)
        for pdf, (_, name, width, height) in zip(pdfs, PICTURES, strict=False):
            subprocess.run(["pdftoppm", "-png", "-r", "110", "-f", "1", "-l", "1",
                            "-x", "0", "-y", "0", "-W", str(width), "-H", str(height),
                            "-singlefile", str(pdf), str(out / name)], check=True)
            made.append(out / f"{name}.png")
        for page in range(1, REVIEW_PAGES + 1):
            subprocess.run(["pdftoppm", "-png", "-r", "90", "-f", str(page), "-l", str(page),
                            "-singlefile", str(pdfs[-1]), str(out / f"review_page{page}")],
                           check=True)
            made.append(out / f"review_page{page}.png")
    return made


def main() -> int:
    for path in render(DOCS):
        print(path)
    MANIFEST.write_text(json.dumps(fingerprints(), indent=1, sort_keys=True) + "\n",
                        encoding="utf-8")
    print(MANIFEST)
    return 0


if __name__ == "__main__":
    sys.exit(main())
