"""Print-ready sheets, looked at the way a manager looks at them: on paper.

The sample team's workspace goes through the usual week (``rollup --month``, ``validate
--annotate`` of every workbook, ``agenda``, ``compliance --write``, ``followups --write``,
``review``, ``forecast --write``), in Chinese and in English. Every sheet xlsales wrote is
then checked twice:

* in the file (no LibreOffice): a page setup a manager would choose — A4, margins, the
  team, the sheet and the period in the header, page n / N in the footer, one page wide or
  a scale with manual breaks (Excel ignores manual breaks under "fit to"), the header row
  repeated — row heights on every row whose wrapped text needs more than one line, and
  the worksheet's children in schema order;
* on paper: every workbook, its own sheets hidden so that only what xlsales wrote is
  printed, goes through one LibreOffice run to PDF, and poppler reads the pages back
  (``pdftotext -raw -bbox``: every word with its box, in the order it was drawn). Each
  page is given to its sheet by the sheet name the header prints. Then: page counts per
  sheet (the weekly sheet's key figures on one landscape page for the sample's 12 reps,
  its detail columns on the next), no text cut (every cell's text, whitespace removed, is
  found in its sheet's pages, also a wrapped text's last line, which LibreOffice drops
  when the row is too low), no text printed over other text, and every chart whole on
  one page.

Charts: LibreOffice draws a chart that straddles a page break on both pages, each time
with the texts of its axes, so a chart is whole when its title is on exactly one page and
its category labels — drawn one after the other, so their run is found only in a chart
and not in the table they come from, where other cells sit between them — appear as
often as the sheet has charts with those categories, all on the pages of their titles.
That needs no knowledge of where LibreOffice broke the pages, and no pixels.

The README's pictures are made by ``scripts/render_docs.py``, which records a fingerprint
of what each one shows (the pictured sheets as written, not pixels: fonts do not matter);
a test computes the fingerprints again and names the pictures to make anew.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import importlib.util
import json
import os
import re
import shutil
import struct
import subprocess
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.utils import get_column_letter
from typer.testing import CliRunner

from tests.strict import assert_strict
from tests.test_edit import check_package
from xlsales.cli import app
from xlsales.io import printing as pr
from xlsales.io.annotate import SHEET_NAME as FINDINGS
from xlsales.jobs.meeting import AGENDA_SHEET
from xlsales.jobs.rollup import WEEK_SHEET
from xlsales.tables.customers import DUE_LIST
from xlsales.tables.weekly import COMPLIANCE, WEEKLY

ROOT = Path(__file__).resolve().parents[1]
ON = "2024-03-29"
MONTH = "2024-03"
LANGS = ("zh", "en")
REPORTS = ("review_2024-03.xlsx", "pipeline_2024-03.xlsx")
TEAM = "华东华南华北销售部"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
runner = CliRunner()


# -- the workspaces ----------------------------------------------------------------------------

def run(*args: str) -> None:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code in (0, 1), (args, result.output, result.exception)


def write_week(root: Path) -> None:
    """The commands of a manager's week, on the sample workspace ``root``."""
    for book in sorted(root.glob("*.xlsx")):
        run("validate", str(book), "--annotate", "--on", ON)
    run("rollup", "-w", str(root), "--month", MONTH, "--on", ON)
    run("agenda", "--week", "2024-W13", "-w", str(root))
    run("compliance", "--period", "2024Q1", "-w", str(root), "--on", ON, "--write")
    run("followups", "-w", str(root), "--on", ON, "--write")
    run("review", "-w", str(root), "--month", MONTH, "--on", ON)
    run("forecast", "--period", MONTH, "-w", str(root), "--on", ON, "--write")


def sheet_names(path: Path) -> list[tuple[str, str]]:
    """(name, state) of every sheet of a workbook, in order."""
    xml = zipfile.ZipFile(path).read("xl/workbook.xml").decode()
    out = []
    for m in re.finditer(r'<sheet\b[^>]*\bname="([^"]*)"[^>]*/>', xml):
        state = re.search(r'state="(\w+)"', m.group())
        out.append((html.unescape(m.group(1)), state.group(1) if state else "visible"))
    return out


def generated(path: Path, lang: str) -> list[str]:
    """The visible sheets of ``path`` that xlsales wrote."""
    names = [n for n, state in sheet_names(path) if state == "visible"]
    if path.name in REPORTS:
        return names
    ours = {FINDINGS(lang), COMPLIANCE.sheet(lang), DUE_LIST.sheet(lang),
            AGENDA_SHEET(lang).format(week="2024-W13")}
    week = re.compile(re.escape(WEEK_SHEET(lang)).replace(r"\{week\}", ".+"))
    return [n for n in names if n in ours or week.fullmatch(n)]


@pytest.fixture(scope="module")
def books(sample_team: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
          ) -> dict[str, dict[Path, list[str]]]:
    """Per language, every workbook holding sheets xlsales wrote → those sheets. (A
    module-wide ``sample_copy``: the workspace is written once for all the tests here.)"""
    out: dict[str, dict[Path, list[str]]] = {}
    for lang in LANGS:
        root = tmp_path_factory.mktemp(f"print-{lang}") / "team"
        shutil.copytree(sample_team(lang), root)
        write_week(root)
        out[lang] = {p: s for p in sorted(root.glob("*.xlsx")) if (s := generated(p, lang))}
    return out


def test_the_week_writes_every_kind_of_sheet(books: dict[str, dict[Path, list[str]]]) -> None:
    for lang, found in books.items():
        names = {n for sheets in found.values() for n in sheets}
        weeks = [n for n in names if n.startswith(WEEK_SHEET(lang).split(" ")[0])]
        assert len(weeks) == 5, (lang, sorted(names))  # March 2024 touches five weeks
        for name in (FINDINGS(lang), COMPLIANCE.sheet(lang), DUE_LIST.sheet(lang),
                     AGENDA_SHEET(lang).format(week="2024-W13")):
            assert name in names, (lang, name)
        assert {p.name for p in found} >= set(REPORTS), lang


# -- the page setup, in the files ------------------------------------------------------------

def worksheet_xml(path: Path, sheet: str) -> bytes:
    with zipfile.ZipFile(path) as zf:
        book = zf.read("xl/workbook.xml").decode()
        rels = zf.read("xl/_rels/workbook.xml.rels").decode()
        tag = next(m.group() for m in re.finditer(r"<sheet\b[^>]*/>", book)
                   if html.unescape(re.search(r'name="([^"]*)"', m.group()).group(1)) == sheet)
        rid = re.search(r'r:id="([^"]*)"', tag).group(1)
        target = re.search(rf'Id="{rid}"[^>]*Target="([^"]*)"|Target="([^"]*)"[^>]*Id="{rid}"',
                           rels)
        part = (target.group(1) or target.group(2)).lstrip("/")
        return zf.read(part if part.startswith("xl/") else f"xl/{part}")


def print_titles(path: Path) -> dict[int, str]:
    xml = zipfile.ZipFile(path).read("xl/workbook.xml").decode()
    return {int(m.group(1)): html.unescape(m.group(2)) for m in re.finditer(
        r'<definedName name="_xlnm.Print_Titles" localSheetId="(\d+)">([^<]*)<', xml)}


def test_every_sheet_has_a_managers_page_setup(books: dict[str, dict[Path, list[str]]]
                                               ) -> None:
    for lang, found in books.items():
        for path, sheets in found.items():
            check_package(path)  # worksheet children in schema order, among others
            assert_strict(path)
            titles = print_titles(path)
            order = [n for n, _ in sheet_names(path)]
            for sheet in sheets:
                xml = worksheet_xml(path, sheet).decode()
                where = (lang, path.name, sheet)
                setup = re.search(r"<pageSetup\b[^>]*>", xml)
                assert setup and 'paperSize="9"' in setup.group(), where
                assert 'orientation="landscape"' in setup.group(), where
                margins = re.search(r"<pageMargins\b[^>]*>", xml)
                assert margins and 'header="0.3"' in margins.group(), where
                header = html.unescape(re.search(r"<oddHeader>([^<]*)<", xml).group(1))
                footer = html.unescape(re.search(r"<oddFooter>([^<]*)<", xml).group(1))
                assert "&A" in header and TEAM in header, (where, header)
                assert "&P" in footer and "&N" in footer, (where, footer)
                scale = re.search(r'scale="(\d+)"', setup.group())
                if scale:  # manual breaks count only with a scale
                    assert 40 <= int(scale.group(1)) <= 100, where
                    assert "fitToPage" not in xml, where
                    assert "<rowBreaks" in xml or "<colBreaks" in xml or int(
                        scale.group(1)) < 100, where
                else:  # fitToWidth defaults to 1 (XlsxWriter leaves it out)
                    assert 'fitToWidth="' not in setup.group() or \
                        'fitToWidth="1"' in setup.group(), where
                    assert 'fitToHeight="0"' in setup.group(), where
                    assert '<pageSetUpPr fitToPage="1"/>' in xml, where
                index = order.index(sheet)
                if sheet not in (AGENDA_SHEET(lang).format(week="2024-W13"),) and \
                        "漏斗" not in sheet and "Funnel" not in sheet:
                    assert index in titles, (where, "no print titles")


def test_wrapped_text_gets_the_rows_it_needs(books: dict[str, dict[Path, list[str]]]) -> None:
    """Every cell that wraps and needs more than one line has a row tall enough, and the
    columns stay within sensible widths."""
    for lang, found in books.items():
        for path, sheets in found.items():
            wb = openpyxl.load_workbook(path)
            for sheet in sheets:
                ws = wb[sheet]
                widths = {get_column_letter(c): d.width for d in ws.column_dimensions.values()
                          if d.width for c in range(d.min, d.max + 1)}
                assert all(6 <= w <= pr.DETAIL_MAX_WIDTH for w in widths.values()), (
                    lang, sheet, widths)
                merged = {r.start_cell.coordinate: sum(
                    widths.get(get_column_letter(c), 8.43)
                    for c in range(r.min_col, r.max_col + 1)) for r in ws.merged_cells.ranges}
                for row in ws.iter_rows():
                    for cell in row:
                        if not (isinstance(cell.value, str) and cell.alignment.wrap_text):
                            continue
                        width = merged.get(cell.coordinate) or widths.get(
                            cell.column_letter, 8.43)
                        bold = bool(cell.font and cell.font.b)
                        lines = pr.text_lines(cell.value, width, bold=bold)
                        if lines > 1:
                            height = ws.row_dimensions[cell.row].height
                            assert height and height >= lines * pr.LINE_PT, (
                                lang, sheet, cell.coordinate, lines, height)
            wb.close()


def test_weekly_sheets_put_their_details_after_a_column_break(
        books: dict[str, dict[Path, list[str]]]) -> None:
    first_detail = next(i for i, c in enumerate(WEEKLY.columns) if c.kind.value == "long_text")
    for lang, found in books.items():
        for path, sheets in found.items():
            order = [n for n, _ in sheet_names(path)]
            for sheet in sheets:
                if not sheet.startswith(WEEK_SHEET(lang).split(" ")[0]):
                    continue
                xml = worksheet_xml(path, sheet).decode()
                assert f'<colBreaks count="1" manualBreakCount="1"><brk id="{first_detail}"' \
                    in xml, sheet
                titles = print_titles(path)[order.index(sheet)]
                assert titles.endswith("!$3:$3") and "!$A:$C," in titles, titles


# -- on paper ------------------------------------------------------------------------------------

@dataclasses.dataclass
class Page:
    number: int
    landscape: bool
    header: str
    words: list[tuple[float, float, float, float, str]]  # body words: box and text

    @property
    def text(self) -> str:
        """The body's text in drawing order, whitespace removed."""
        return "".join(w[4] for w in self.words)


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def read_pdf(pdf: Path) -> list[Page]:
    """The pages of ``pdf``: orientation, the header's text, the body's words (between
    the header and the footer bands) in drawing order."""
    out = subprocess.run(["pdftotext", "-raw", "-bbox", str(pdf), "-"], check=True,
                         capture_output=True, text=True).stdout
    pages = []
    for n, m in enumerate(re.finditer(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>',
                                      out, re.DOTALL), start=1):
        width, height = float(m.group(1)), float(m.group(2))
        band = pr.MARGINS["top"] * 72 - 4
        head, body = [], []
        for box in re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" '
                               r'yMax="([\d.]+)">(.*?)</word>', m.group(3)):
            x0, y0, x1, y1 = (float(box.group(i)) for i in range(1, 5))
            word = (x0, y0, x1, y1, html.unescape(box.group(5)))
            if y1 <= band:
                head.append(word)
            elif y0 < height - band:
                body.append(word)
        header = " ".join(w[4] for w in sorted(head, key=lambda w: w[0]))
        pages.append(Page(n, width > height, header, body))
    return pages


def hide_others(src: Path, dst: Path, keep: list[str]) -> None:
    """A copy of ``src`` whose sheets other than ``keep`` are hidden (LibreOffice prints
    visible sheets only), opening on the first of ``keep``."""
    names = [n for n, _ in sheet_names(src)]
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "xl/workbook.xml":
                xml = data.decode()

                def hide(m: re.Match[str]) -> str:
                    tag = m.group()
                    name = html.unescape(re.search(r'name="([^"]*)"', tag).group(1))
                    if name in keep or 'state="' in tag:
                        return tag
                    return tag.replace("<sheet ", '<sheet state="hidden" ', 1)

                xml = re.sub(r"<sheet\b[^>]*/>", hide, xml)
                xml = re.sub(r'activeTab="\d+"', f'activeTab="{names.index(keep[0])}"', xml)
                if "activeTab" not in xml:
                    xml = xml.replace("<workbookView", f'<workbookView activeTab='
                                      f'"{names.index(keep[0])}"', 1)
                data = xml.encode()
            elif info.filename.startswith("xl/worksheets/sheet"):
                data = data.replace(b' tabSelected="1"', b"")
            zout.writestr(info, data)


@dataclasses.dataclass
class Printed:
    """A sheet as printed: the workbook it is in and its pages."""

    book: Path
    sheet: str
    pages: list[Page]

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.pages)


FONTS = {"Carlito": "fonts-crosextra-carlito (Calibri's metrics)",
         "WenQuanYi": "fonts-wqy-microhei (CJK)"}


@pytest.fixture(scope="module")
def print_fonts() -> None:
    """The fonts the pages are laid out for: Carlito, which LibreOffice puts in place of
    Calibri (a wider fallback such as DejaVu Sans wraps text that fits in Excel), and a
    CJK font. Skips without them, fails instead when CI=true."""
    listed = subprocess.run(["fc-list"], capture_output=True, text=True).stdout \
        if shutil.which("fc-list") else ""
    missing = [package for font, package in FONTS.items() if font.lower() not in
               listed.lower()]
    if missing:
        message = f"fonts missing: install {', '.join(missing)} (bash scripts/run-tests.sh does)"
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="module")
def printed(books: dict[str, dict[Path, list[str]]], soffice: str, print_fonts: None,
            tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Printed]]:
    """Per language, every sheet xlsales wrote (``book.xlsx:sheet``) → its printed pages
    (one LibreOffice run)."""
    from xlsales.io.libreoffice import convert_many

    tmp = tmp_path_factory.mktemp("printed")
    copies = {}
    for lang, found in books.items():
        for path, sheets in found.items():
            copy = tmp / f"{path.stem}_{lang}.xlsx"
            hide_others(path, copy, sheets)
            copies[copy] = (lang, path, sheets)
    pdfs = convert_many(list(copies), "pdf", tmp / "pdf", soffice=soffice, recalculate=False)
    out: dict[str, dict[str, Printed]] = {lang: {} for lang in LANGS}
    for pdf, (lang, path, sheets) in zip(pdfs, copies.values(), strict=True):
        for page in read_pdf(pdf):
            header = squeeze(page.header)
            name = max((s for s in sheets if squeeze(s) in header), key=len, default=None)
            assert name is not None, (pdf.name, page.number, page.header)
            out[lang].setdefault(f"{path.name}:{name}", Printed(path, name, [])
                                 ).pages.append(page)
        for sheet in sheets:
            assert f"{path.name}:{sheet}" in out[lang], (lang, path.name, sheet, "not printed")
    return out


def cell_texts(path: Path, sheet: str, columns: range | None = None) -> list[tuple[str, str]]:
    """(cell, text it shows) of every cell of ``sheet`` holding something (in ``columns``,
    0-based)."""
    return [(ref, text) for ref, col, text in _cell_texts(path, sheet)
            if columns is None or col in columns]


@functools.cache
def _cell_texts(path: Path, sheet: str) -> list[tuple[str, int, str]]:
    wb = openpyxl.load_workbook(path, data_only=True, read_only=True)
    try:
        out = []
        for row in wb[sheet].iter_rows():
            for cell in row:
                text = pr.shown(getattr(cell, "value", None), getattr(cell, "number_format",
                                                                       None))
                if text.strip():
                    out.append((cell.coordinate, cell.column - 1, text))
        return out
    finally:
        wb.close()


EXPECTED_PAGES: dict[str, tuple[int, int]] = {  # sheet (zh name) → at least, at most
    "周报": (2, 2), "日报提交情况": (1, 1), "议程 2024-W13": (1, 3), "待跟进": (1, 6),
    "月度复盘": (1, 1), "横向对比": (1, 1), "纵向趋势": (1, 1), "案例复盘": (1, 1),
    "销售漏斗": (1, 1), "销售预测": (1, 1), "预测明细": (1, 2),
}
EXPECTED_EN = {"Weekly": "周报", "Compliance": "日报提交情况", "Agenda 2024-W13": "议程 2024-W13",
               "Due follow-ups": "待跟进", "Monthly review": "月度复盘", "Comparison": "横向对比",
               "Trend": "纵向趋势", "Cases": "案例复盘", "Funnel": "销售漏斗",
               "Forecast": "销售预测", "Forecast lines": "预测明细"}


@pytest.mark.libreoffice
def test_page_counts(printed: dict[str, dict[str, Printed]]) -> None:
    for lang, sheets in printed.items():
        for key, sheet in sheets.items():
            assert all(p.landscape for p in sheet.pages), (lang, key)
            name = sheet.sheet
            if name == FINDINGS(lang):
                rows = len(cell_texts(sheet.book, name, range(0, 1))) - 1
                assert len(sheet.pages) <= rows // 15 + 1, (lang, key, len(sheet.pages), rows)
                continue
            base = EXPECTED_EN.get(name, name) if lang == "en" else name
            base = "周报" if base.startswith(("周报", "Weekly ")) else base
            low, high = EXPECTED_PAGES[base]
            assert low <= len(sheet.pages) <= high, (lang, key, len(sheet.pages))


@pytest.mark.libreoffice
def test_the_weekly_key_figures_are_on_one_page(printed: dict[str, dict[str, Printed]]
                                                ) -> None:
    """For the 12 reps of the sample: the first page holds every key figure (the columns
    before the long texts, header and rows), the second the details."""
    first_detail = next(i for i, c in enumerate(WEEKLY.columns) if c.kind.value == "long_text")
    for lang, sheets in printed.items():
        weeks = [s for s in sheets.values() if s.sheet.startswith(WEEK_SHEET(lang)[:2])]
        assert len(weeks) == 5, lang
        for week in weeks:
            key, detail = week.pages[0].text, week.pages[1].text
            for ref, text in cell_texts(week.book, week.sheet, range(first_detail)):
                if ref in ("A1", "A2"):  # title and note: page one, running on
                    continue
                assert squeeze(text) in key, (lang, week.sheet, ref, text)
            for ref, text in cell_texts(week.book, week.sheet,
                                        range(first_detail, len(WEEKLY.columns))):
                assert squeeze(text) in detail, (lang, week.sheet, ref, text)


@pytest.mark.libreoffice
def test_no_text_is_cut(printed: dict[str, dict[str, Printed]]) -> None:
    """Every cell's text is on its sheet's pages, whole — also the last line of a wrapped
    text, which LibreOffice drops when the row is too low for it."""
    missing = []
    for lang, sheets in printed.items():
        for key, sheet in sheets.items():
            text = sheet.text
            for ref, shown in cell_texts(sheet.book, sheet.sheet):
                if squeeze(shown) not in text:
                    missing.append((lang, key, ref, shown[:60]))
    assert missing == [], missing[:20]


def overlaps(words: list[tuple[float, float, float, float, str]]) -> list[tuple[str, str]]:
    """Pairs of words drawn over each other (boxes sharing more than a third of the
    smaller one)."""
    found = []
    ordered = sorted(words, key=lambda w: w[1])
    for i, a in enumerate(ordered):
        for b in ordered[i + 1:]:
            if b[1] >= a[3]:
                break
            dx = min(a[2], b[2]) - max(a[0], b[0])
            dy = min(a[3], b[3]) - max(a[1], b[1])
            if dx <= 0 or dy <= 0:
                continue
            smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
            if dx * dy > smaller / 3:
                found.append((a[4], b[4]))
    return found


@pytest.mark.libreoffice
def test_no_text_is_printed_over_other_text(printed: dict[str, dict[str, Printed]]) -> None:
    """Wrapped text in a row too low runs over the rows around it; a column too narrow
    for its text runs into the next one."""
    bad = []
    for lang, sheets in printed.items():
        for key, sheet in sheets.items():
            for page in sheet.pages:
                found = overlaps(page.words)
                if found:
                    bad.append((lang, key, page.number, found[:3]))
    assert bad == [], bad[:10]


def charts_of(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Sheet → its charts: title, axis titles and category labels, read from the xlsx."""
    out: dict[str, list[dict[str, Any]]] = {}
    names = [n for n, _ in sheet_names(path)]
    with zipfile.ZipFile(path) as zf:
        book_rels = zf.read("xl/_rels/workbook.xml.rels").decode()
        book = zf.read("xl/workbook.xml").decode()
        for name, rid in zip(names, re.findall(r'<sheet\b[^>]*r:id="([^"]*)"', book),
                             strict=True):
            target = re.search(rf'Id="{rid}"[^>]*Target="([^"]*)"', book_rels).group(1)
            part = "xl/" + target.removeprefix("/xl/").removeprefix("xl/")
            rels = part.replace("worksheets/", "worksheets/_rels/") + ".rels"
            if rels not in zf.namelist():
                continue
            for drawing in re.findall(r'Target="\.\./drawings/([^"]*)"', zf.read(rels).decode()):
                drels = f"xl/drawings/_rels/{drawing}.rels"
                for chart in re.findall(r'Target="\.\./charts/([^"]*)"',
                                        zf.read(drels).decode()):
                    xml = zf.read(f"xl/charts/{chart}").decode()
                    titles = [squeeze("".join(re.findall(r"<a:t>([^<]*)</a:t>", t)))
                              for t in re.findall(r"<c:title>(.*?)</c:title>", xml, re.DOTALL)]
                    cat = re.search(r"<c:cat>(.*?)</c:cat>", xml, re.DOTALL)
                    labels = re.findall(r"<c:v>([^<]*)</c:v>", cat.group(1)) if cat else []
                    out.setdefault(name, []).append(
                        {"title": titles[0], "axes": titles[1:],
                         "categories": squeeze("".join(html.unescape(v) for v in labels))})
    return out


@pytest.mark.libreoffice
def test_charts_are_whole_on_one_page(printed: dict[str, dict[str, Printed]]) -> None:
    seen = 0
    for lang, sheets in printed.items():
        for book in {s.book for s in sheets.values() if s.book.name in REPORTS}:
            for sheet, charts in charts_of(book).items():
                pages = sheets[f"{book.name}:{sheet}"].pages
                runs = Counter(c["categories"] for c in charts)
                for chart in charts:
                    seen += 1
                    where = (lang, book.name, sheet, chart["title"])
                    assert len(chart["axes"]) == 2, (where, "axis titles")
                    on = [p for p in pages if chart["title"] in p.text]
                    assert len(on) == 1, (where, [p.number for p in on])
                    for axis_title in chart["axes"]:
                        assert axis_title in on[0].text, (where, axis_title)
                    assert chart["categories"] in on[0].text, where
                for labels, count in runs.items():
                    found = sum(p.text.count(labels) for p in pages)
                    assert found == count, (lang, book.name, sheet, labels, found, count)
    assert seen == 2 * 8  # review: completion, four trends, funnel; pipeline: forecast, funnel


def test_every_chart_has_axis_titles_and_number_formats(
        books: dict[str, dict[Path, list[str]]]) -> None:
    for found in books.values():
        for path in found:
            if path.name not in REPORTS:
                continue
            with zipfile.ZipFile(path) as zf:
                for part in (n for n in zf.namelist() if n.startswith("xl/charts/chart")):
                    xml = zf.read(part).decode()
                    axes = re.findall(r"<c:(?:valAx|catAx|dateAx)>(.*?)</c:(?:valAx|catAx|"
                                      r"dateAx)>", xml, re.DOTALL)
                    titled = [a for a in axes if "<c:title>" in a]
                    assert len(titled) >= 2, (path.name, part)
                    values = [a for a in re.findall(r"<c:valAx>(.*?)</c:valAx>", xml,
                                                    re.DOTALL) if "<c:delete val=\"1\"/>"
                              not in a]
                    assert all('<c:numFmt formatCode="' in a and 'sourceLinked="0"' in a
                               for a in values if "<c:title>" in a), (path.name, part)


# -- the README's pictures ---------------------------------------------------------------------

def load_render_docs() -> Any:
    spec = importlib.util.spec_from_file_location("render_docs",
                                                  ROOT / "scripts" / "render_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def readme_pictures() -> list[str]:
    return re.findall(r"\]\((docs/[^)\s]+\.png)\)", (ROOT / "README.md").read_text("utf-8"))


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_readme_pictures_are_there_and_up_to_date() -> None:
    """Every picture the README shows is made by ``scripts/render_docs.py``, is a PNG, and
    shows what the code writes now: the fingerprints of the pictured sheets (cells,
    widths, heights, page setup, charts — not pixels, so fonts do not matter) are the ones
    the script recorded when it made them."""
    render_docs = load_render_docs()
    pictures = readme_pictures()
    assert pictures, "README shows no picture"
    made = {f"docs/{name}.png" for name in render_docs.picture_names()}
    assert set(pictures) <= made, sorted(set(pictures) - made)
    for picture in pictures:
        width, height = png_size((ROOT / picture).read_bytes())
        assert width >= 400 and height >= 200, (picture, width, height)
    recorded = json.loads(render_docs.MANIFEST.read_text("utf-8"))
    stale = sorted(name for name, fp in render_docs.fingerprints().items()
                   if recorded.get(name) != fp)
    assert stale == [], f"{stale}: run python scripts/render_docs.py and commit docs/"


@pytest.mark.libreoffice
def test_the_script_renders_the_readme_pictures(soffice: str, print_fonts: None,
                                               tmp_path: Path) -> None:
    """The script runs (one LibreOffice run) and makes pictures of the committed sizes."""
    fresh = load_render_docs().render(tmp_path, soffice=soffice)
    assert sorted(p.name for p in fresh) == sorted(
        f"{n}.png" for n in load_render_docs().picture_names())
    for path in fresh:
        assert png_size(path.read_bytes()) == png_size((ROOT / "docs" / path.name)
                                                       .read_bytes()), path.name


_PIECES = ["客户", "报价与谈判→签约成交", "; ", " ", "\n", "Acme", "Shanghai Morning Light Auto",
           "ijl", "WWW", "2024-03-05", "é", "\xa0", "😀", "，", "(A)", "x" * 70, "长" * 40]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.lists(st.sampled_from(_PIECES), max_size=12).map(
    "".join)), max_size=40), st.sampled_from([8.0, 12.0, 24.0, 45.0, 60.0]),
    st.sampled_from([9.0, 11.0]))
def test_a_column_of_texts_wraps_as_each_text_does(texts: list[str | None], width: float,
                                                   size: float) -> None:
    """The column-at-once line count (Arrow) gives every text the lines the one-text
    count gives it (0 for a blank)."""
    from xlsales.io.printing import text_lines, texts_lines

    got = texts_lines(texts, width, size=size).tolist()
    assert got == [text_lines(t, width, size=size) if t else 0 for t in texts]


def test_the_filled_team_workbooks_print_no_hashes(soffice: str, print_fonts: None,
                                                   tmp_path: Path) -> None:
    """The sample team's own tables (its daily report, customer archive, agenda) print
    every date and time: a column too narrow for its number prints ### instead."""
    from xlsales.io.libreoffice import convert_many

    books = [ROOT / "samples" / "sample_team" / name
             for name in ("daily_report.xlsx", "customers.xlsx", "meeting_agenda.xlsx")]
    for pdf in convert_many(books, "pdf", tmp_path, soffice=soffice, recalculate=False):
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                              text=True, check=True).stdout
        assert text.strip() and "###" not in text, pdf.name


def test_a_long_text_column_is_as_wide_as_measured_text_by_text() -> None:
    """A long column of texts is measured from its longest texts (found with Arrow): the
    width is the one measuring every text gives."""
    import random

    from xlsales.io.printing import column_texts, content_width
    from xlsales.tables.weekly import WEEKLY

    rng = random.Random(7)
    pieces = ["客户", "报价与谈判→签约成交", "; ", "Acme Ltd", "WWW", "(2)", "长" * 9, "ijl"]
    column = WEEKLY.column("problems")
    for _ in range(5):
        values = [None if rng.random() < 0.2 else "".join(
            rng.choice(pieces) for _ in range(rng.randint(1, 12))) for _ in range(6000)]
        every = [v for v in values if isinstance(v, str)]
        assert content_width(column_texts(column, values), header="遇到问题") == \
            content_width(every, header="遇到问题")
