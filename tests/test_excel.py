"""Inside Excel: UDFs as plain functions, the VBA project, the buttons on a fake book."""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oletools.olevba import VBA_Parser, decompress_stream

from tests.fake_xlwings import FakeBook
from xlsales.excel import buttons, udfs
from xlsales.sample import SAMPLE_TODAY, generate
from xlsales.vba.compression import CHUNK, compress, decompress
from xlsales.vba.macros import (
    BOOK_BUTTONS,
    BUTTONS,
    XLWINGS_CONF,
    macro_names,
    module_sources,
    run_python_targets,
    vba_sources,
    xlwings_module,
)
from xlsales.vba.project import Module
from xlsales.workspace import BOOK_BY_KEY, write_workspace

D = dt.date


# -- UDFs -----------------------------------------------------------------------------

def test_udf_completion() -> None:
    assert udfs.XS_COMPLETION(85, 100) == pytest.approx(0.85)
    assert udfs.XS_COMPLETION(5, 0) == "无目标"
    assert udfs.XS_COMPLETION(None, 5) == "" and udfs.XS_COMPLETION(3, "") == ""
    assert udfs.XS_COMPLETION("8.5万", "1,000,000元") == pytest.approx(0.085)
    assert str(udfs.XS_COMPLETION("abc", 3)).startswith("#XS!")
    assert udfs.XS_COMPLETION([[1, 2], [3, None]], [[2, 4], [0, 1]]) == [
        [0.5, 0.5], ["无目标", ""]]


def test_udf_calendar_functions() -> None:
    assert udfs.XS_WORKDAYS(D(2024, 9, 30), D(2024, 10, 12)) == 6
    assert udfs.XS_WORKDAYS(D(2024, 10, 12), D(2024, 9, 30)) == -6
    assert udfs.XS_WORKDAY_ADD(D(2024, 9, 30), 1) == D(2024, 10, 8)
    assert udfs.XS_WORKDAY_ADD("2024/2/9", 1) == D(2024, 2, 18)  # make-up Sunday
    assert str(udfs.XS_WORKDAY_ADD(D(2024, 1, 1), 1.5)).startswith("#XS!")
    assert udfs.XS_WORKDAYS(None, D(2024, 1, 1)) == ""
    assert udfs.XS_WEEK(D(2024, 3, 8)) == "2024-W10"
    assert udfs.XS_WEEK(45359.0) == "2024-W10"  # an Excel serial
    assert udfs.XS_WEEK([[D(2024, 12, 30)], [None]]) == [["2025-W01"], [""]]


def test_udf_follow_up_probability_weighted_and_keys() -> None:
    # Tier A every 7 days: 2024-02-02 + 7 = 2024-02-09 (a working Friday).
    assert udfs.XS_NEXT_FOLLOWUP("A", D(2024, 2, 2)) == D(2024, 2, 9)
    # Tier B every 14 days: 2024-09-20 + 14 = Fri 2024-10-04 is a holiday → 2024-09-30.
    assert udfs.XS_NEXT_FOLLOWUP("b", D(2024, 9, 20)) == D(2024, 9, 30)
    assert udfs.XS_NEXT_FOLLOWUP("A", D(2024, 2, 2), "流失客户") == ""
    assert str(udfs.XS_NEXT_FOLLOWUP("Z", D(2024, 2, 2))).startswith("#XS!")
    assert udfs.XS_STAGE_PROB("方案提交") == 0.5 and udfs.XS_STAGE_PROB("Negotiation") == 0.75
    assert str(udfs.XS_STAGE_PROB("火星")).startswith("#XS!")
    assert udfs.XS_WEIGHTED([[10], [20], [None]], [["方案提交"], ["报价与谈判"], ["输单"]]) == 20
    assert str(udfs.XS_WEIGHTED([[10]], [["?"]])).startswith("#XS!")
    same = udfs.XS_DUPKEY("恒瑞精密机械(上海)有限公司")
    assert udfs.XS_DUPKEY("上海恒瑞精密机械股份有限公司") == same
    assert udfs.XS_DUPKEY("华东科技") != udfs.XS_DUPKEY("华南科技")


# -- compression -----------------------------------------------------------------------

@settings(max_examples=80, deadline=None)
@given(st.binary(max_size=3 * CHUNK + 100))
def test_compression_round_trips_random_data(data: bytes) -> None:
    packed = compress(data)
    expected = data
    last = len(data) % CHUNK
    if last and decompress_stream(bytearray(packed)) != data:
        # MS-OVBA 2.4.1.3.10: an incompressible final chunk is stored raw, padded to 4096.
        expected = data + b"\x00" * (CHUNK - last)
    assert bytes(decompress_stream(bytearray(packed))) == expected
    assert decompress(packed) == expected


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(["Sub A()", "    x = 1", "End Sub", "' comment", "Dim s",
                                 "RunPython \"import x\""]), max_size=3000))
def test_compression_round_trips_large_modules(lines: list[str]) -> None:
    text = ("\r\n".join(lines)).encode()
    assert bytes(decompress_stream(bytearray(compress(text)))) == text


def test_xlwings_module_round_trips() -> None:
    source = xlwings_module().encode("cp1252")
    assert len(source) > 40_000
    assert bytes(decompress_stream(bytearray(compress(source)))) == source


# -- the VBA project ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def xlsm_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("xlsm")
    sample = generate()
    write_workspace(root, sample.settings, sample.data, macros=True)
    return root


def _modules(path: Path) -> dict[str, str]:
    parser = VBA_Parser(str(path))
    try:
        return {stream.split("/")[-1]: code for _, stream, _, code in parser.extract_macros()}
    finally:
        parser.close()


def _norm(text: str) -> str:
    return text.replace("\r\n", "\n").rstrip("\n")


def _button_macros(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        vml = "".join(zf.read(n).decode() for n in zf.namelist() if n.endswith(".vml"))
    return re.findall(r"<x:FmlaMacro>\[?0?\]?!?([^<]+)</x:FmlaMacro>", vml)


def test_every_xlsm_carries_the_exact_sources(xlsm_workspace: Path) -> None:
    books = sorted(xlsm_workspace.glob("*.xlsm"))
    assert {p.stem for p in books} == {"targets", "daily_report", "meeting_agenda",
                                       "monthly_review", "customers"}
    sources = vba_sources()
    assert set(sources) == {*module_sources(), "xlwings"}
    # A class module is stored without the .cls header, with Excel's attributes.
    stored = {name: Module.from_source(name, source).code().decode("cp1252")
              for name, source in sources.items()}
    assert stored["Dictionary"].startswith('Attribute VB_Name = "Dictionary"\r\n'
                                           'Attribute VB_Base = "0{FCFB3D2A-')
    standard = {name for name, source in sources.items()
                if Module.from_source(name, source).kind == "standard"}
    assert standard == {"XlsalesButtons", "xlwings"}
    for path in books:
        found = _modules(path)
        for name, source in sources.items():
            assert _norm(found[name]) == _norm(stored[name]), (path.name, name)
            if name in standard:  # a standard module is stored as its file says
                assert _norm(found[name]) == _norm(source), (path.name, name)
        wb = openpyxl.load_workbook(path)
        sheets = len(wb.sheetnames)
        assert {f"Sheet{i}" for i in range(1, sheets + 1)} | {"ThisWorkbook"} <= found.keys()


def test_every_button_names_an_existing_macro(xlsm_workspace: Path) -> None:
    macros = set(macro_names(module_sources()["XlsalesButtons"]))
    for key, names in BOOK_BUTTONS.items():
        path = (xlsm_workspace / BOOK_BY_KEY[key].filename).with_suffix(".xlsm")
        assigned = _button_macros(path)
        assert sorted(assigned) == sorted(BUTTONS[n].macro for n in names), path.name
        assert set(assigned) <= macros


def test_every_macro_calls_an_existing_python_function() -> None:
    source = module_sources()["XlsalesButtons"]
    targets = run_python_targets(source)
    assert len(targets) == len(buttons.BUTTONS)
    for statement in targets:
        m = re.fullmatch(r"import ([\w.]+) as (\w+); \2\.(\w+)\(\)", statement)
        assert m, statement
        fn = getattr(importlib.import_module(m.group(1)), m.group(3))
        assert callable(fn)
        params = inspect.signature(fn).parameters.values()
        assert all(p.default is not inspect.Parameter.empty for p in params)
    assert "ImportFunctions" in macro_names(source)
    assert "Sub ImportPythonUDFs" in xlwings_module() or "ImportPythonUDFs" in xlwings_module()


def test_every_udf_the_conf_names_exists(xlsm_workspace: Path) -> None:
    conf = dict(XLWINGS_CONF)
    module = importlib.import_module(conf["UDF Modules"])
    assert all(callable(getattr(module, name)) for name in module.UDFS)
    wb = openpyxl.load_workbook(xlsm_workspace / "daily_report.xlsm")
    sheet = wb["xlwings.conf"]
    assert {r[0]: r[1] for r in sheet.iter_rows(values_only=True)} == conf


@pytest.mark.libreoffice
def test_libreoffice_lists_the_same_modules_and_buttons(xlsm_workspace: Path, soffice: str,
                                                        tmp_path: Path) -> None:
    books = sorted(xlsm_workspace.glob("*.xlsm"))
    subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path}/profile", "--headless",
                    "--convert-to", "xlsm", "--outdir", str(tmp_path / "out"),
                    *map(str, books)], check=True, capture_output=True, timeout=300)
    for path in books:
        again = tmp_path / "out" / path.name
        assert set(_modules(again)) == set(_modules(path)), path.name
        assert sorted(m.split(".")[-1] for m in _button_macros(again)) == sorted(
            _button_macros(path)), path.name
        assert all(m.startswith("XlsalesButtons.") for m in _button_macros(again))


# LibreOffice Basic in VBA mode runs the Dictionary class the way xlwings uses it on macOS
# (default members aside: LibreOffice ignores VB_UserMemId).
_DICTIONARY_DRIVER = """Option VBASupport 1
Option Explicit
Public gStep As String

Sub Run
    Dim sStatus As String
    On Error GoTo Failed
    sStatus = CheckDictionary()
    GoTo Finish
Failed:
    sStatus = "error at " & gStep & ": " & Error$
Finish:
    On Error Resume Next
    Dim oAccess As Object, oStream As Object, sPath As String
    sPath = ConvertToURL(Environ("XLSALES_FLAVOUR_STATUS"))
    Set oAccess = createUnoService("com.sun.star.ucb.SimpleFileAccess")
    If oAccess.exists(sPath) Then oAccess.kill(sPath)
    Set oStream = createUnoService("com.sun.star.io.TextOutputStream")
    oStream.setOutputStream(oAccess.openFileWrite(sPath))
    oStream.writeString(sStatus)
    oStream.closeOutput()
    StarDesktop.terminate()
End Sub

Function Config() As Variant
    Dim d As Dictionary
    Set d = New Dictionary
    Dim i As Long
    gStep = "Add"
    d.Add UCase("Interpreter_Mac"), "/usr/bin/python3"
    d.Add "USE UDF SERVER", False
    For i = 1 To 20
        d.Add "K" & i, i * 2
    Next i
    Set Config = d
End Function

Function CheckDictionary() As String
    Dim r As String
    r = "ok"
    gStep = "Count"
    If Config().Count <> 22 Then r = "Count " & Config().Count
    gStep = "Exists"
    If Not Config().Exists("INTERPRETER_MAC") Then r = "Exists"
    If Config().Exists("interpreter_mac") Then r = "Exists compares binary"
    gStep = "Item"
    If Config().Item("INTERPRETER_MAC") <> "/usr/bin/python3" Then r = "Item"
    If Config().Item("USE UDF SERVER") <> False Then r = "Item of a Boolean"
    If Config().Item("K17") <> 34 Then r = "Item after growing"
    If Not IsEmpty(Config().Item("missing")) Then r = "Item of a missing key"
    gStep = "Add twice"
    Dim d As Variant
    Set d = Config()
    On Error Resume Next
    d.Add "K3", 1
    If Err.Number <> 457 Then r = "Add twice: error " & Err.Number
    On Error GoTo 0
    CheckDictionary = r
End Function
"""


@pytest.mark.libreoffice
def test_dictionary_class_runs_in_libreoffice(soffice: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from tests import flavours

    stored = Module.from_source("Dictionary", module_sources()["Dictionary"]).code()
    code = [line for line in stored.decode("cp1252").split("\r\n")
            if not line.startswith("Attribute ")]
    (tmp_path / "Dictionary.bas").write_text(
        "Option VBASupport 1\nOption ClassModule\n" + "\n".join(code), encoding="utf-8")
    (tmp_path / "Main.bas").write_text(_DICTIONARY_DRIVER, encoding="utf-8")
    monkeypatch.setattr(flavours, "LO_MACROS", tmp_path)
    monkeypatch.setattr(flavours, "LO_LIBRARY", "XlsalesDictionary")
    monkeypatch.setattr(flavours, "LO_MODULE", "Main")
    flavours.run_libreoffice_job([], soffice=soffice)  # raises unless the status is "ok"


def test_editing_an_xlsm_keeps_its_vba_project(xlsm_workspace: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from xlsales.cli import app

    root = tmp_path / "ws"
    shutil.copytree(xlsm_workspace, root)

    def vba(path: Path) -> bytes:
        with zipfile.ZipFile(path) as zf:
            return zf.read("xl/vbaProject.bin")

    before = {p.name: vba(p) for p in root.glob("*.xlsm")}
    runner = CliRunner()
    for args in (["validate", str(root / "daily_report.xlsm"), "--annotate"],
                 ["rollup", "-w", str(root), "--week", "2024-W12"],
                 ["spotcheck", "-w", str(root), "--date", "2024-03-29", "--mark"],
                 ["followups", "-w", str(root), "--on", "2024-03-29", "--write"],
                 ["agenda", "-w", str(root), "--week", "2024-W13"]):
        result = runner.invoke(app, args)
        assert result.exit_code in (0, 1), (args, result.output)
    assert {p.name: vba(p) for p in root.glob("*.xlsm")} == before


# -- buttons -----------------------------------------------------------------------------

@pytest.fixture
def ws(xlsm_workspace: Path, tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(xlsm_workspace, root)
    return root


def test_validate_button(ws: Path) -> None:
    book = FakeBook(ws / "daily_report.xlsm")
    text = buttons.validate(book, today=SAMPLE_TODAY)
    assert "错误" in text and not book.app.alerts
    sheet = book.sheets["校验结果"]
    rows = sheet.used_range.options(ndim=2).value
    assert rows[0][:2] == ["严重程度", "规则"]
    rules = [r[1] for r in rows[1:]]
    assert rules.count("T2.effective_gt_visits") == 2 and "T2.duplicate_row" in rules
    bad = [r[3] for r in rows[1:] if r[1] == "T2.effective_gt_visits"]
    daily = book.sheets["销售日报"]
    assert all(daily.colors[c] == buttons.BAD for c in bad)
    assert book.app.status_history[0].startswith("xlsales") and book.app.status_bar is False
    assert book.sheets[0].range(buttons.MESSAGE_CELL).value == text


def test_rollup_and_spotcheck_buttons(ws: Path) -> None:
    from xlsales.jobs import run_rollup

    book = FakeBook(ws / "daily_report.xlsm")
    text = buttons.rollup_week(book, today=SAMPLE_TODAY)
    assert "2024-W13" in text, book.app.alerts
    grid = book.sheets["周报 2024-W13"].used_range.options(ndim=2).value
    header = grid[0]
    team = next(r for r in grid[1:] if r[header.index("层级")] == "团队合计")
    expected = next(r for r in run_rollup(ws, week="2024-W13", today=SAMPLE_TODAY,
                                          write=False).rows if r.level == "team")
    assert team[header.index("拜访客户数")] == expected.visits
    text = buttons.spot_check(book, today=SAMPLE_TODAY)
    assert text.startswith("今日抽查 4 份"), text
    book.save()
    from xlsales.workspace import read_table

    marked = [r for r in read_table(ws, "daily") if r.get("spot_check") == SAMPLE_TODAY]
    assert len(marked) == 4


def test_followups_review_and_agenda_buttons(ws: Path) -> None:
    book = FakeBook(ws / "customers.xlsm")
    text = buttons.refresh_followups(book, today=SAMPLE_TODAY)
    assert "逾期" in text, book.app.alerts
    assert book.sheets["待跟进"].range("A1").value == "负责人"
    review = FakeBook(ws / "monthly_review.xlsm")
    text = buttons.monthly_review(review, today=SAMPLE_TODAY)
    assert (ws / "review_2024-03.xlsx").exists(), review.app.alerts
    agenda = FakeBook(ws / "meeting_agenda.xlsm")
    text = buttons.weekly_agenda(agenda, today=SAMPLE_TODAY)
    assert "2024-W13" in text, agenda.app.alerts
    assert agenda.sheets["议程 2024-W13"].range("A1").value.endswith("2024-W13")


def test_errors_become_a_message_box_text(ws: Path) -> None:
    book = FakeBook(ws / "customers.xlsm")
    text = buttons.rollup_week(book, today=SAMPLE_TODAY)
    assert book.app.alerts and "Traceback" not in book.app.alerts[0]
    assert text == book.sheets[0].range(buttons.MESSAGE_CELL).value


def test_texts_people_typed_are_written_as_text_never_as_formulas(ws: Path) -> None:
    """A problem typed as ``=…`` (or ``+…``, ``-…``, a leading digit) reaches the weekly
    sheet as the text it is: Excel would take it for a formula."""
    book = FakeBook(ws / "daily_report.xlsm")
    daily = book.sheets["销售日报"]
    grid = daily.used_range.options(ndim=2).value
    header_row = next(i for i, r in enumerate(grid) if "遇到问题" in r)
    header = grid[header_row]
    days, rep = header.index("日期"), header.index("销售代表")
    first = next(r for r in grid[header_row + 1:] if isinstance(r[days], dt.datetime)
                 and r[days].date() == SAMPLE_TODAY)[rep]
    letter = openpyxl.utils.get_column_letter(header.index("遇到问题") + 1)
    for i, r in enumerate(grid):  # the rep's week: one problem, typed as a formula
        if i > header_row and r[rep] == first and isinstance(r[days], dt.datetime) \
                and r[days].date().isocalendar()[:2] == SAMPLE_TODAY.isocalendar()[:2]:
            daily.range(f"{letter}{i + 1}").value = "'=HYPERLINK(\"http://x\",\"点我\")"
    text = buttons.rollup_week(book, today=SAMPLE_TODAY)
    assert "2024-W13" in text, book.app.alerts
    week = book.sheets["周报 2024-W13"].ws
    typed = [c for r in week.iter_rows() for c in r
             if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert typed and all(c.data_type == "s" and c.value.startswith("=HYPERLINK")
                         for c in typed)
    assert not any(c.data_type == "f" for r in week.iter_rows() for c in r)


def test_as_text_marks_what_excel_would_not_keep_as_text() -> None:
    assert buttons.as_text_grid([["=1+1", "+86 138", "-5 天", "@x", "'a", "3 次", "客户", 3,
                                  None]]) == [["'=1+1", "'+86 138", "'-5 天", "'@x", "''a",
                                               "'3 次", "客户", 3, None]]
