"""Error messages in the workspace's language: every message the library can raise has a
Chinese and an English form, the CLI picks the workspace's (or the command's ``--lang``,
or the system's), names the place in the same language, and a button does the same."""

from __future__ import annotations

import ast
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.fake_xlwings import FakeBook
from xlsales import errors
from xlsales import tables as T
from xlsales.cli import app
from xlsales.errors import InputError, UnknownTableError, WorkbookError, XlsalesError
from xlsales.i18n import Label, system_lang
from xlsales.sample import SAMPLE_TODAY

runner = CliRunner()
PACKAGE = Path(errors.__file__).parent
OUR_ERRORS = {n for n, v in vars(errors).items()
              if isinstance(v, type) and issubclass(v, XlsalesError)} | {
    "UnsafeWorkbookError", "WorkbookBusyError"}


def _han(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.fixture(scope="module")
def teams(sample_team: Callable[[str], Path]) -> dict[str, Path]:
    return {lang: sample_team(lang) for lang in ("zh", "en")}


def _copy(team: Path, tmp_path: Path) -> Path:
    root = tmp_path / "team"
    shutil.copytree(team, root)
    return root


# -- the library: one message, two languages ---------------------------------------------

def test_every_message_raised_has_both_languages() -> None:
    """No raise of an xlsales error passes a plain text: it would be English only."""
    plain = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else \
                getattr(node.func, "id", "")
            if name in OUR_ERRORS and isinstance(node.args[0], ast.Constant | ast.JoinedStr):
                plain.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {name}")
    assert not plain, plain


def test_the_place_is_named_in_the_message_language() -> None:
    err = WorkbookError(Label("日期不对", "a wrong date"), file="日报.xlsx", sheet="销售日报",
                        cell="B7", value="2024-13-01")
    assert err.text("zh") == ("日期不对（文件 日报.xlsx，工作表 销售日报，单元格 B7，"
                              "值 '2024-13-01'）")
    assert err.text("en") == ("a wrong date (file 日报.xlsx, sheet 销售日报, cell B7, "
                              "value '2024-13-01')")
    assert str(err) == err.text("en") and err.where()["cell"] == "B7"
    plain = XlsalesError("only English")
    assert plain.text("zh") == plain.text("en") == str(plain) == "only English"


def test_wrong_arguments_are_input_errors_in_both_languages() -> None:
    from xlsales import tables as T
    from xlsales.calendar import parse_period

    with pytest.raises(InputError) as exc:
        parse_period("2024-03-05")
    assert "2024-03-05" in exc.value.text("zh") and _han(exc.value.text("zh"))
    assert isinstance(exc.value, ValueError)  # still what a caller of the library expects
    with pytest.raises(UnknownTableError) as unknown:
        T.get("dailies")
    assert isinstance(unknown.value, KeyError) and str(unknown.value).startswith("unknown")
    for bad in ("2024Q5", "2024Q0", "Q1"):
        with pytest.raises(InputError):
            parse_period(bad)


def test_system_language(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "XLSALES_LANG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert system_lang() == "zh"
    monkeypatch.setenv("LC_ALL", "en_US.UTF-8")
    assert system_lang() == "en"
    monkeypatch.setenv("XLSALES_LANG", "zh")
    assert system_lang() == "zh"


# -- the CLI: the workspace's language ----------------------------------------------------

@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_refused_write_speaks_the_workspace_language(teams: dict[str, Path], tmp_path: Path,
                                                     lang: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XLSALES_LANG", "en" if lang == "zh" else "zh")  # the workspace wins
    root = _copy(teams[lang], tmp_path)
    daily = root / "daily_report.xlsx"
    (root / ("~$" + daily.name)).write_bytes(  # as Excel writes it: the user's name twice
        b"\x05zhang" + b" " * 48 + b"\x05\x00" + "zhang".encode("utf-16-le") + b"\x00" * 100)
    result = runner.invoke(app, ["rollup", str(root), "--week", "2024-W12", "--json"])
    assert result.exit_code == 2, result.output
    payload = json.loads(result.stdout)
    assert payload["ok"] is False and payload["where"] == {"file": str(daily)}
    assert _han(payload["error"]) == (lang == "zh")
    assert ("被 zhang 打开" if lang == "zh" else "open by zhang") in payload["error"]
    assert ("文件 " if lang == "zh" else "file ") + str(daily) in payload["error"]

    plain = runner.invoke(app, ["rollup", str(root), "--week", "2024-W12"])
    assert plain.exit_code == 2
    assert plain.stderr.startswith("错误:" if lang == "zh" else "error:")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_bad_setting_is_named_in_the_workspace_language_and_the_rest_used(
        teams: dict[str, Path], tmp_path: Path, lang: str) -> None:
    import openpyxl

    root = _copy(teams[lang], tmp_path)
    path = root / "settings.xlsx"
    wb = openpyxl.load_workbook(path)
    value_header = T.get("options").column("value").header(lang)  # type: ignore[arg-type]
    ws, key = next((ws, c) for ws in wb.worksheets for row in ws.iter_rows() for c in row
                   if c.value == "review_file")
    column = next(c.column for row in ws.iter_rows(max_row=key.row) for c in row
                  if c.value == value_header)
    cell = ws.cell(key.row, column)
    cell.value = "../../elsewhere.xlsx"
    wb.save(path)
    result = runner.invoke(app, ["review", "-w", str(root), "--month", "2024-03"])
    assert result.exit_code == 0, result.output  # went on with the default file name
    assert (root / "review_2024-03.xlsx").exists()
    assert not (root.parent.parent / "elsewhere.xlsx").exists()
    note = "".join(result.stderr.split())
    assert f"{ws.title}!{cell.coordinate}" in note and _han(note) == (lang == "zh")

    checked = runner.invoke(app, ["validate", str(path), "--json"])
    assert checked.exit_code == 1, checked.output
    [problem] = json.loads(checked.stdout)["findings"]
    assert (problem["sheet"], problem["cell"]) == (ws.title, cell.coordinate)
    assert problem["rule"] == "settings.option" and _han(problem["message"]) == (lang == "zh")
    assert "review_file" in problem["message"] and "elsewhere.xlsx" in problem["message"]


def test_without_a_workspace_the_system_language(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    lone = tmp_path / "lone.xlsx"
    lone.write_bytes(b"")
    monkeypatch.setenv("XLSALES_LANG", "zh")
    zh = json.loads(runner.invoke(app, ["validate", str(lone), "--json"]).stdout)
    assert zh["error"].startswith("文件是空的") and zh["where"] == {"file": str(lone)}
    monkeypatch.setenv("XLSALES_LANG", "en")
    en = json.loads(runner.invoke(app, ["validate", str(lone), "--json"]).stdout)
    assert en["error"].startswith("the file is empty")


def test_a_command_language_option_is_its_message_language(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(root), "--lang", "en"]).exit_code == 0
    again = runner.invoke(app, ["init", str(root), "--lang", "zh", "--json"])
    assert again.exit_code == 2
    assert _han(json.loads(again.stdout)["error"])


def test_a_bad_argument_is_exit_2_in_the_workspace_language(teams: dict[str, Path]) -> None:
    result = runner.invoke(app, ["completion", "--period", "2024-13", "-w", str(teams["zh"]),
                                 "--json"])
    assert result.exit_code == 2, result.output
    assert json.loads(result.stdout)["error"].startswith("不是周期")
    result = runner.invoke(app, ["validate", str(teams["en"] / "daily_report.xlsx"),
                                 "--table", "dailies", "--json"])
    assert result.exit_code == 2, result.output
    assert json.loads(result.stdout)["error"].startswith("unknown table 'dailies'")


def test_markup_in_a_message_is_printed_as_it_is(tmp_path: Path) -> None:
    odd = tmp_path / "[red]odd.xlsx"
    odd.write_bytes(b"")
    result = runner.invoke(app, ["validate", str(odd)], env={"XLSALES_LANG": "en"})
    assert result.exit_code == 2
    assert "[red]odd.xlsx" in "".join(result.stderr.split())


# -- a button: the same message in a box ---------------------------------------------------

def test_a_button_error_is_in_the_book_language(teams: dict[str, Path], tmp_path: Path) -> None:
    from xlsales.excel import buttons

    for lang in ("zh", "en"):
        root = _copy(teams[lang], tmp_path / lang)
        book = FakeBook(root / "customers.xlsx")  # no daily report in this book
        text = buttons.rollup_week(book, today=SAMPLE_TODAY)
        assert len(book.app.alerts) == 1 and "Traceback" not in text
        assert _han(text.split(":", 1)[1]) == (lang == "zh"), text
