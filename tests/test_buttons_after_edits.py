"""The buttons of a macro-enabled workspace still work after every command that writes it.

After each writing command on ``.xlsm`` workbooks (``validate --annotate``, ``rollup``,
``spotcheck --mark``, ``followups --write``, ``agenda``, ``compliance --write``,
``import``, and the Excel buttons themselves, run through the fake xlwings), in every
workbook of the workspace:

* every button (a form control: a VML shape of its sheet's legacy drawing) is still there,
  on the same sheet, bound to the same macro, and that macro is a public procedure of a
  standard module of the VBA project;
* VML shape ids are unique across the workbook's drawings (a command adds no clash: the
  ``rich_xlsm`` flavour is openpyxl-written, whose note drawings all claim block 1);
* the code names match the VBA project: the workbook's is its workbook module, every sheet
  has one of its own, every document module of the project is a sheet's, sheets keep
  theirs, and a sheet the command added has a name no module has (Excel adds the module
  when it opens the workbook);
* ``xl/vbaProject.bin`` is unchanged, byte for byte.

The workspaces: the sample team written as ``xlsales init --macros`` writes (``init``),
and the demo's workbooks in the ``xlsm`` and ``rich_xlsm`` flavours of ``tests/flavours``
(the buttons run on ``init`` and ``xlsm``: the fake saves through openpyxl, which would
rewrite the rich flavour's charts and pivot tables, where Excel keeps them).
"""

from __future__ import annotations

import re
import shutil
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.fake_xlwings import FakeBook
from tests.flavours import LIBREOFFICE_FLAVOURS, FlavourCache, flavoured_workspace, relationships
from tests.flavours import sheet_parts as package_sheets
from tests.ovba_grammar import module_text, read_vba_project
from tests.test_import import OPP_HEADERS, _line, _sample_rows, write_csv
from xlsales.cli import app
from xlsales.excel import buttons
from xlsales.io.annotate import SHEET_NAME
from xlsales.sample import SAMPLE_TODAY, generate
from xlsales.settings import Settings
from xlsales.vba import Module, vba_project
from xlsales.vba.macros import macro_names, vba_sources
from xlsales.workspace import write_workspace

TODAY = SAMPLE_TODAY.isoformat()
DEMO_BOOKS = ("daily_report.xlsx", "customers.xlsx", "meeting_agenda.xlsx")
# command → (the workbook it writes, its arguments: {ws} the workspace, {book} the
# workbook, {csv} a CRM export of opportunities, {day} a day to spot-check)
COMMANDS: dict[str, tuple[str, list[str]]] = {
    "annotate-daily": ("daily_report", ["validate", "{book}", "--annotate", "--on", TODAY]),
    "annotate-customers": ("customers", ["validate", "{book}", "--annotate", "--on", TODAY]),
    "rollup": ("daily_report", ["rollup", "-w", "{ws}", "--all", "--on", TODAY]),
    "spotcheck": ("daily_report", ["spotcheck", "-w", "{ws}", "--date", "{day}", "--mark"]),
    "followups": ("customers", ["followups", "-w", "{ws}", "--write", "--on", TODAY]),
    "agenda": ("meeting_agenda", ["agenda", "-w", "{ws}", "--week", "2024-W13"]),
    "compliance": ("daily_report", ["compliance", "-w", "{ws}", "--period", "2024-03",
                                    "--write", "--on", TODAY]),
    "import": ("customers", ["import", "{csv}", "-w", "{ws}", "--yes", "--on", TODAY]),
}
# button → (the workbook it runs in, the button)
BUTTONS: dict[str, tuple[str, Callable[..., str]]] = {
    "validate-daily": ("daily_report", buttons.validate),
    "validate-customers": ("customers", buttons.validate),
    "validate-agenda": ("meeting_agenda", buttons.validate),
    "rollup": ("daily_report", buttons.rollup_week),
    "spotcheck": ("daily_report", buttons.spot_check),
    "followups": ("customers", buttons.refresh_followups),
    "agenda": ("meeting_agenda", buttons.weekly_agenda),
    "review": ("monthly_review", buttons.monthly_review),
}
# The demo flavours hold these books only (and the demo has no monthly review workbook).
FLAVOUR_BOOKS = {"daily_report", "customers", "meeting_agenda"}


def _cases(kinds: dict[str, tuple[str, object]], flavours: tuple[str, ...]) -> list[object]:
    return [pytest.param(name, flavour, id=f"{name}-{flavour}",
                         marks=[pytest.mark.libreoffice] if flavour in LIBREOFFICE_FLAVOURS
                         else [])
            for name, (book, _) in kinds.items() for flavour in flavours
            if flavour == "init" or book in FLAVOUR_BOOKS]


# -- what binds the buttons ------------------------------------------------------------------

_SHAPE = re.compile(r"<((?:[\w.-]+:)?)shape\b([^>]*)>(.*?)</\1shape>", re.S)
_ATTR = re.compile(r'([\w:.-]+)="([^"]*)"')
_MACRO = re.compile(r"<(?:[\w.-]+:)?FmlaMacro>\s*([^<]*?)\s*</(?:[\w.-]+:)?FmlaMacro>")
_OBJECT = re.compile(r"<(?:[\w.-]+:)?ClientData\b[^>]*\bObjectType=\"(\w+)\"")
_CODE = r'<(?:\w+:)?{tag}\b[^>]*\bcodeName="([^"]*)"'


@dataclass(frozen=True)
class Bindings:
    """What ties a workbook's buttons to its macros."""

    vba: bytes  # xl/vbaProject.bin
    documents: tuple[str, ...]  # the project's document modules (ThisWorkbook, Sheet1 …)
    modules: frozenset[str]  # every module of the project
    procedures: dict[str, frozenset[str]]  # standard module → its public Subs/Functions
    workbook: str | None  # the workbook's code name
    code_names: dict[str, str | None]  # sheet → its code name
    buttons: dict[str, list[str]]  # sheet → the macros of its buttons, in drawing order
    shape_ids: list[tuple[str, str]]  # (VML part, shape id) of every shape of every drawing

    def macro_exists(self, ref: str) -> bool:
        """Whether the ``<x:FmlaMacro>`` reference (``[0]!Name``, ``Module.Name``, a book
        prefix) names a public procedure of a standard module."""
        module, _, name = ref.rsplit("!", 1)[-1].strip("'").rpartition(".")
        found = [m for m, procs in self.procedures.items()
                 if name.casefold() in {p.casefold() for p in procs}]
        return bool(found) and (not module or module.casefold()
                                in {m.casefold() for m in found})

    def clashes(self) -> set[str]:
        return {shape for shape, n in Counter(s for _, s in self.shape_ids).items() if n > 1}


def bindings(path: Path) -> Bindings:
    with zipfile.ZipFile(path) as z:
        package = {n: z.read(n) for n in z.namelist()}
    vba = package["xl/vbaProject.bin"]
    project = read_vba_project(vba)
    procedures = {m.name: frozenset(macro_names(module_text(
        project.module_streams[m.stream_name], m.offset, project.dir.codepage)))
        for m in project.dir.modules if m.type_id == 0x21}
    found = re.search(_CODE.format(tag="workbookPr"), package["xl/workbook.xml"].decode())
    code_names: dict[str, str | None] = {}
    button_macros: dict[str, list[str]] = {}
    for sheet, part in package_sheets(package).items():
        xml = package[part].decode()
        code = re.search(_CODE.format(tag="sheetPr"), xml)
        code_names[sheet] = code.group(1) if code else None
        legacy = re.search(r'<(?:\w+:)?legacyDrawing\b[^>]*\br:id="([^"]*)"', xml)
        if legacy is None:
            continue
        (vml,) = [r.target for r in relationships(package, part) if r.id == legacy.group(1)]
        macros = []
        for m in _SHAPE.finditer(package[vml].decode("utf-8", "replace")):
            kind = _OBJECT.search(m.group(3))
            if kind and kind.group(1) == "Button":
                macro = _MACRO.search(m.group(3))
                macros.append(macro.group(1) if macro else "")
        if macros:
            button_macros[sheet] = macros
    shape_ids = []
    for name in sorted(n for n in package if n.endswith(".vml")):
        for m in _SHAPE.finditer(package[name].decode("utf-8", "replace")):
            attrs = {k.rsplit(":", 1)[-1]: v for k, v in _ATTR.findall(m.group(2))}
            shape = attrs.get("spid") or attrs.get("id", "")
            if re.fullmatch(r"_x0000_s\d+", shape):
                shape_ids.append((name, shape))
    return Bindings(vba, tuple(n for kind, n in project.project.items if kind == "Document"),
                    frozenset(m.name for m in project.dir.modules), procedures,
                    found.group(1) if found else None, code_names, button_macros, shape_ids)


def binding_problems(before: Bindings, after: Bindings) -> list[str]:
    """What broke between ``before`` and ``after`` (see the module docstring)."""
    out = []
    if after.vba != before.vba:
        out.append("xl/vbaProject.bin changed")
    if after.buttons != before.buttons:
        out.append(f"buttons {before.buttons} became {after.buttons}")
    out += [f"button on {sheet!r} runs {ref!r}, which is no macro of the VBA project"
            for sheet, refs in after.buttons.items() for ref in refs
            if not after.macro_exists(ref)]
    new_clashes = after.clashes() - before.clashes()
    if new_clashes:
        out.append(f"VML shape ids used twice: {sorted(new_clashes)}")
    documents = {d.casefold() for d in after.documents}
    if after.workbook is None or after.workbook.casefold() not in documents:
        out.append(f"the workbook's code name {after.workbook!r} is no document module "
                   f"({', '.join(after.documents)})")
    names = [after.workbook, *after.code_names.values()]
    out += [f"sheet {sheet!r} has no code name"
            for sheet, code in after.code_names.items() if not code]
    twice = [n for n, k in Counter(n.casefold() for n in names if n).items() if k > 1]
    if twice:
        out.append(f"code names used twice: {twice}")
    used = {n.casefold() for n in names if n}
    orphans = [d for d in after.documents if d.casefold() not in used]
    if orphans:
        out.append(f"document modules without a sheet: {orphans}")
    modules = {m.casefold() for m in after.modules}
    out += [f"new sheet {sheet!r} has code name {code!r}, the name of a module"
            for sheet, code in after.code_names.items()
            if code and sheet not in before.code_names and code.casefold() in modules]
    out += [f"sheet {sheet!r} changed its code name from {code!r} to "
            f"{after.code_names[sheet]!r}"
            for sheet, code in before.code_names.items()
            if sheet in after.code_names and after.code_names[sheet] != code]
    return out


# -- the workspaces ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def init_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample team's workspace as ``xlsales init --macros`` writes the workbooks."""
    root = tmp_path_factory.mktemp("init") / "ws"
    sample = generate()
    write_workspace(root, sample.settings, sample.data, macros=True)
    return root


def workspace(request: pytest.FixtureRequest, flavour: str, root: Path) -> Path:
    """A fresh copy of the ``flavour`` workspace under ``root``."""
    if flavour == "init":
        return Path(shutil.copytree(request.getfixturevalue("init_workspace"), root / "ws"))
    if flavour in LIBREOFFICE_FLAVOURS:
        request.getfixturevalue("libreoffice_flavours")
    cache: FlavourCache = request.getfixturevalue("flavour_cache")
    demo: Path = request.getfixturevalue("demo_workspace")
    return flavoured_workspace(demo, flavour, root / "ws", DEMO_BOOKS, cache=cache)


def assert_buttons_still_work(ws: Path, run: Callable[[], None], written: str) -> None:
    """Run ``run`` on the workspace ``ws``; every .xlsm keeps its buttons' bindings."""
    books = sorted(ws.glob("*.xlsm"))
    assert books and (ws / f"{written}.xlsm") in books
    before = {p.name: (p.read_bytes(), bindings(p)) for p in books}
    for b in before.values():  # what xlsales writes binds every button to start with
        assert b[1].buttons and not binding_problems(b[1], b[1]), binding_problems(b[1], b[1])
    run()
    assert (ws / f"{written}.xlsm").read_bytes() != before[f"{written}.xlsm"][0], \
        "the command did not write the workbook"
    problems = {p.name: binding_problems(before[p.name][1], bindings(p)) for p in books}
    assert not any(problems.values()), {k: v for k, v in problems.items() if v}


# -- the commands ------------------------------------------------------------------------------

@pytest.mark.parametrize(("command", "flavour"),
                         _cases(COMMANDS, ("init", "xlsm", "rich_xlsm")))
def test_buttons_still_work_after_the_command(request: pytest.FixtureRequest, tmp_path: Path,
                                              command: str, flavour: str) -> None:
    ws = workspace(request, flavour, tmp_path)
    book, args = COMMANDS[command]
    csv = None
    if command == "import":  # one opportunity moved on, one new
        opp = _sample_rows(ws)[0]
        csv = write_csv(tmp_path / "opps.csv", [
            OPP_HEADERS, _line(opp, 商机阶段="报价与谈判"),
            ["新项目", "某某科技有限公司", opp["owner"], "需求分析", "50,000", "2024/5/1",
             "2024/1/2", ""]], "utf-8-sig")
    # the demo spot-checked its own day already
    day = TODAY if flavour == "init" else "2024-03-28"
    words = [a.format(ws=ws, book=ws / f"{book}.xlsm", csv=csv, day=day) for a in args]

    def run() -> None:
        result = CliRunner().invoke(app, words)
        assert result.exit_code in (0, 1), result.output  # validate exits 1 on errors

    assert_buttons_still_work(ws, run, book)


# -- the buttons, through the fake xlwings ---------------------------------------------------

@pytest.mark.parametrize(("button", "flavour"), _cases(BUTTONS, ("init", "xlsm")))
def test_buttons_still_work_after_a_button(request: pytest.FixtureRequest, tmp_path: Path,
                                           button: str, flavour: str) -> None:
    """What the buttons do through the xlwings API (values, colours, sheets added) leaves
    the bindings alone; Excel saves the workbook (the fake saves like it, see
    ``tests/fake_xlwings.py``)."""
    ws = workspace(request, flavour, tmp_path)
    book, fn = BUTTONS[button]

    def run() -> None:
        fake = FakeBook(ws / f"{book}.xlsm")
        fn(fake, today=SAMPLE_TODAY)
        assert not fake.app.alerts, fake.app.alerts
        fake.save()

    assert_buttons_still_work(ws, run, book)


def excel_saves(path: Path) -> None:
    """Save ``path`` as Excel does after a button added sheets: the VBA project gets a
    module for every sheet that has none (the fake gave the sheets their code names)."""
    with zipfile.ZipFile(path) as z:
        package = {i.filename: z.read(i) for i in z.infolist()}
    project = read_vba_project(package["xl/vbaProject.bin"])
    documents = [n for kind, n in project.project.items if kind == "Document"]
    codes = [c for c in bindings(path).code_names.values() if c and c not in documents]
    if not codes:
        return
    package["xl/vbaProject.bin"] = vba_project([
        Module(documents[0], "", "workbook"),
        *(Module(name, "", "worksheet") for name in [*documents[1:], *codes]),
        *(Module.from_source(name, text) for name, text in vba_sources().items())])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in package.items():
            z.writestr(name, data)


def test_a_findings_sheet_excel_gave_a_module_stays(tmp_path: Path) -> None:
    """The validate button writes its list as a sheet, and Excel gives that sheet a module
    of the VBA project when it saves. When ``validate --annotate`` then finds nothing, it
    empties the list rather than dropping the sheet: the module would stay behind, a
    sheet the VBA editor shows and cannot remove."""
    root = tmp_path / "ws"
    write_workspace(root, Settings.default(), books=["settings", "targets"], macros=True)
    path = root / "targets.xlsm"
    fake = FakeBook(path)
    assert buttons.validate(fake, today=SAMPLE_TODAY).startswith("校验完成:0 个错误")
    fake.save()
    excel_saves(path)
    before = bindings(path)
    name = SHEET_NAME("zh")
    assert before.code_names[name] in before.documents and not binding_problems(before, before)
    for _ in range(2):
        result = CliRunner().invoke(app, ["validate", str(path), "--annotate", "--on", TODAY])
        assert result.exit_code == 0, result.output
        after = bindings(path)
        assert not binding_problems(before, after), binding_problems(before, after)
        assert after.code_names[name] == before.code_names[name]
    import openpyxl

    from xlsales.io.annotate import HEADERS

    rows = list(openpyxl.load_workbook(path)[name].values)
    assert rows == [tuple(HEADERS("zh").split("|"))]  # the list, emptied


def test_buttons_and_commands_one_after_another(init_workspace: Path, tmp_path: Path) -> None:
    """A week of work on one workspace: the buttons in Excel (which saves, giving the
    sheets they add their modules), then every command, then the buttons again; the
    buttons stay bound and no module is left without its sheet."""
    ws = Path(shutil.copytree(init_workspace, tmp_path / "ws"))

    def press() -> None:
        for book, fn in BUTTONS.values():
            fake = FakeBook(ws / f"{book}.xlsm")
            fn(fake, today=SAMPLE_TODAY)
            assert not fake.app.alerts, fake.app.alerts
            fake.save()
            excel_saves(ws / f"{book}.xlsm")

    press()
    before = {p.name: bindings(p) for p in ws.glob("*.xlsm")}
    for book, args in COMMANDS.values():
        if "{csv}" in args:
            continue
        words = [a.format(ws=ws, book=ws / f"{book}.xlsm", day=TODAY) for a in args]
        result = CliRunner().invoke(app, words)
        assert result.exit_code in (0, 1), (words, result.output)
    problems = {p.name: binding_problems(before[p.name], bindings(p)) for p in ws.glob("*.xlsm")}
    assert not any(problems.values()), {k: v for k, v in problems.items() if v}
    press()
    for p in ws.glob("*.xlsm"):  # Excel's saves changed the projects: check against itself
        after = bindings(p)
        assert after.buttons == before[p.name].buttons
        assert not binding_problems(after, after), (p.name, binding_problems(after, after))


def test_the_checks_see_a_broken_binding(init_workspace: Path, tmp_path: Path) -> None:
    """The checks fail on a button whose macro is gone, a clashing shape id, a sheet that
    lost its code name and a changed VBA project."""
    path = Path(shutil.copy(init_workspace / "daily_report.xlsm", tmp_path / "d.xlsm"))
    good = bindings(path)
    with zipfile.ZipFile(path) as z:
        package = {i.filename: z.read(i) for i in z.infolist()}
    vml = next(n for n in package if n.endswith(".vml"))
    ids = re.findall(rb'\bid="(_x0000_s\d+)"', package[vml])
    package[vml] = package[vml].replace(b"[0]!RollupThisWeek", b"[0]!NoSuchMacro", 1) \
        .replace(ids[1], ids[0])
    package["xl/worksheets/sheet2.xml"] = re.sub(rb' codeName="[^"]*"', b"",
                                                 package["xl/worksheets/sheet2.xml"])
    broken = tmp_path / "broken.xlsm"
    with zipfile.ZipFile(broken, "w") as z:
        for name, data in package.items():
            z.writestr(name, data)
    after = replace(bindings(broken), vba=good.vba + b"\0")
    text = "\n".join(binding_problems(good, after))
    assert "NoSuchMacro" in text and "shape ids used twice" in text, text
    assert "has no code name" in text and "document modules without a sheet" in text, text
    assert "vbaProject.bin changed" in text, text
