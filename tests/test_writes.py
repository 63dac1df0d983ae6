"""Every command that writes into a user's workbook, on every flavour of workbook.

For each writing command × flavour (``.xlsx``; ``.xlsm`` with buttons; a workbook a
manager worked on, with a chart, an image, pivot tables, a second table, a comment, links,
a frozen pane, sheet protection and document properties; and that as ``.xlsm``):

* every part the command did not need to change is byte-identical before and after;
* the result passes the checker (it adds no problem to the ones the file already had);
* the sheet the workbook opens on stays the user's (the agenda opens on its new pack);
* LibreOffice opens the result, recalculates it with no error cells, and its values
  equal the cached ones xlsales wrote (one LibreOffice run for all results).
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.flavours import (
    ALL_FLAVOURS,
    LIBREOFFICE_FLAVOURS,
    FlavourCache,
    changed_parts,
    flavoured_workspace,
    suffix,
)
from tests.test_formula_values import agree, formula_cells
from xlsales.cells import parse_ref
from xlsales.cli import app
from xlsales.formula_values import ExcelError
from xlsales.io.check import check_workbook, scan_formulas
from xlsales.sample import SAMPLE_TODAY

TODAY = SAMPLE_TODAY.isoformat()
WEEK = "2024-W13"
# command → (the workbook it writes, its arguments; {ws} the workspace, {book} the file)
COMMANDS: dict[str, tuple[str, list[str]]] = {
    "annotate": ("daily_report", ["validate", "{book}", "--annotate", "--on", TODAY]),
    "rollup": ("daily_report", ["rollup", "-w", "{ws}", "--all", "--on", TODAY]),
    "compliance": ("daily_report", ["compliance", "-w", "{ws}", "--period", "2024-03",
                                    "--write", "--on", TODAY]),
    # the demo spot-checked its own day already
    "spotcheck": ("daily_report", ["spotcheck", "-w", "{ws}", "--date", "2024-03-28",
                                   "--mark"]),
    "followups": ("customers", ["followups", "-w", "{ws}", "--write", "--on", TODAY]),
    "agenda": ("meeting_agenda", ["agenda", "-w", "{ws}", "--week", WEEK]),
}
# Parts a writing command may rewrite; anything else must keep its bytes.
MAY_CHANGE = ("[[]Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
              "xl/styles.xml", "xl/calcChain.xml", "xl/tables/*", "xl/comments*",
              "xl/drawings/vmlDrawing*", "xl/worksheets/*")
# Parts of what a manager added, and the macros: never rewritten.
NEVER_CHANGE = ("xl/vbaProject.bin", "xl/drawings/drawing*", "xl/drawings/_rels/drawing*",
                "xl/charts/*", "xl/media/*", "xl/pivot*", "docProps/*", "xl/theme/*",
                "customXml/*", "xl/printerSettings/*", "xl/sharedStrings.xml")
CASES = [pytest.param(command, flavour, id=f"{command}-{flavour}",
                      marks=[pytest.mark.libreoffice] if flavour in LIBREOFFICE_FLAVOURS
                      else [])
         for command in COMMANDS for flavour in ALL_FLAVOURS]


@dataclass
class Outcome:
    before: Path
    after: Path
    exit_code: int
    output: str


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest, demo_workspace: Path,
             flavour_cache: FlavourCache, tmp_path_factory: pytest.TempPathFactory
             ) -> dict[tuple[str, str], Outcome]:
    """Each (command, flavour) run once in the module, on demand (see :func:`outcome`)."""
    return {}


def outcome(request: pytest.FixtureRequest, command: str, flavour: str) -> Outcome:
    done: dict[tuple[str, str], Outcome] = request.getfixturevalue("outcomes")
    if (command, flavour) in done:
        return done[command, flavour]
    if flavour in LIBREOFFICE_FLAVOURS:
        request.getfixturevalue("libreoffice_flavours")
    demo: Path = request.getfixturevalue("demo_workspace")
    cache: FlavourCache = request.getfixturevalue("flavour_cache")
    root = request.getfixturevalue("tmp_path_factory").mktemp(f"{command}-{flavour}")
    book, args = COMMANDS[command]
    ws = flavoured_workspace(demo, flavour, root / "ws", [f"{book}.xlsx"], cache=cache)
    path = ws / f"{book}{suffix(flavour)}"
    before = Path(shutil.copyfile(path, root / f"before{path.suffix}"))
    words = [a.format(ws=ws, book=path) for a in args]
    result = CliRunner().invoke(app, words)
    after = Path(shutil.copyfile(path, root / f"{command}-{flavour}{path.suffix}"))
    done[command, flavour] = Outcome(before, after, result.exit_code, result.output)
    return done[command, flavour]


def sheet_parts(path: Path) -> dict[str, str]:
    """Sheet name → its part."""
    with zipfile.ZipFile(path) as z:
        book = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
    targets = {m.group(1): m.group(2) for m in re.finditer(
        r'<Relationship\b[^>]*?Id="([^"]+)"[^>]*?Target="([^"]+)"', rels)}
    targets |= {m.group(2): m.group(1) for m in re.finditer(
        r'<Relationship\b[^>]*?Target="([^"]+)"[^>]*?Id="([^"]+)"', rels)}
    out = {}
    for m in re.finditer(r'<sheet\b[^>]*?name="([^"]+)"[^>]*?r:id="([^"]+)"', book):
        target = targets[m.group(2)].lstrip("/")
        out[m.group(1)] = target if target.startswith("xl/") else f"xl/{target}"
    return out


def active_sheet(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        book = z.read("xl/workbook.xml").decode()
    m = re.search(r'<workbookView\b[^>]*\bactiveTab="(\d+)"', book)
    return list(sheet_parts(path))[int(m.group(1)) if m else 0]


def matches(part: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(part, p) for p in patterns)


@pytest.mark.parametrize(("command", "flavour"), CASES)
def test_only_what_the_command_needs_changes(request: pytest.FixtureRequest, command: str,
                                             flavour: str) -> None:
    run = outcome(request, command, flavour)
    assert run.exit_code in (0, 1), run.output  # validate exits 1 when it finds errors
    changed = changed_parts(run.before, run.after)
    assert changed, "the command wrote nothing"
    assert not {p for p in changed if not matches(p, MAY_CHANGE)}
    with zipfile.ZipFile(run.before) as z:
        kept = [p for p in z.namelist() if matches(p, NEVER_CHANGE)]
    assert not changed & set(kept)
    if flavour in LIBREOFFICE_FLAVOURS:  # the manager's own sheet is not touched
        before = sheet_parts(run.before)
        dashboard = next(n for n in before if n in ("经理看板", "Manager dashboard"))
        assert before[dashboard] not in changed
        assert sheet_parts(run.after)[dashboard] == before[dashboard]
    if command in ("rollup", "compliance", "agenda"):  # they add sheets, the data stays
        before, after = sheet_parts(run.before), sheet_parts(run.after)
        data = next(iter(before))
        assert (data in after and before[data] not in changed) or command == "agenda"


@pytest.mark.parametrize(("command", "flavour"), CASES)
def test_the_result_passes_the_checker(request: pytest.FixtureRequest, command: str,
                                       flavour: str) -> None:
    run = outcome(request, command, flavour)

    def problems(path: Path) -> set[tuple[str, str | None, str | None]]:
        return {(p.kind, p.sheet, p.cell) for p in check_workbook(path)}

    had = problems(run.before)
    if flavour not in LIBREOFFICE_FLAVOURS:  # what xlsales wrote is clean to begin with
        assert not had
    added = problems(run.after) - had
    assert not added, sorted(added, key=str)[:20]


@pytest.mark.parametrize(("command", "flavour"), CASES)
def test_the_workbook_opens_where_it_did(request: pytest.FixtureRequest, command: str,
                                         flavour: str) -> None:
    run = outcome(request, command, flavour)
    after = active_sheet(run.after)
    if command == "agenda":
        assert after.endswith(WEEK)
    else:
        assert after == active_sheet(run.before)


@pytest.mark.libreoffice
def test_libreoffice_recalculates_the_cached_values(request: pytest.FixtureRequest,
                                                    soffice: str, tmp_path: Path) -> None:
    from xlsales.io.libreoffice import recalculate_many

    runs = [outcome(request, c, f) for c in COMMANDS for f in ALL_FLAVOURS]
    srcs = []
    for run in runs:  # LibreOffice writes .xlsx: give the .xlsm results their own names
        src = tmp_path / "in" / (run.after.stem + run.after.suffix.replace(".", "_") + ".xlsx")
        src.parent.mkdir(exist_ok=True)
        srcs.append(Path(shutil.copyfile(run.after, src)))
    recalculated = recalculate_many(srcs, tmp_path / "out", soffice=soffice)
    compared = 0
    for run, lo in zip(runs, recalculated, strict=True):
        theirs = formula_cells(lo)
        cached = {(c.sheet, parse_ref(c.ref)): c.cached for c in scan_formulas(run.after)}
        had = {(c.sheet, parse_ref(c.ref)): c.cached for c in scan_formulas(run.before)}
        wrong, errors = [], []
        for sheet, cells in formula_cells(run.after).items():
            for rc, (formula, _, value) in cells.items():
                lo_value = theirs.get(sheet, {}).get(rc, (None, False, None))[2]
                if isinstance(lo_value, ExcelError):
                    errors.append((sheet, rc, formula, lo_value))
                if not cached[sheet, rc]:  # a manager's formula openpyxl saved without value
                    assert had.get((sheet, rc)) is False, (run.after.name, sheet, rc, formula)
                    continue
                compared += 1
                if not agree(value, lo_value):
                    wrong.append((sheet, rc, formula, value, lo_value))
        assert not wrong, f"{run.after.name}: {len(wrong)} differ: {wrong[:10]}"
        assert not errors, f"{run.after.name}: error cells {errors[:10]}"
    assert compared > 1000


def test_every_workbook_of_the_demo_passes_the_checker(demo_workspace: Path) -> None:
    from tests.strict import assert_strict

    books = sorted(demo_workspace.glob("*.xls[xm]"))
    assert len(books) >= 7  # the six workbooks, the review and the pipeline report
    for path in books:
        assert_strict(path)
