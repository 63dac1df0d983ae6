"""xlsales as an xlwings Lite plugin: every script and XS_ function run in CPython against
a fake of the Lite Book API (tests/fake_lite.py), end to end on the sample team written
with ``--lite``, with the CLI's results; the workbooks ``init --lite`` writes.

The CLI runs on the same ``--lite`` workspace (its extra sheets do not change what the
commands read), the scripts on the workbook as xlwings Lite would hand it over.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from tests.fake_lite import FakeLiteBook, LiteUnsupported
from xlsales.cli import app
from xlsales.lite import functions, scripts
from xlsales.lite.layout import (
    BOOK_BUTTONS,
    BUTTONS,
    MAIN_PY,
    PANEL_SHEET,
    REQUIREMENTS,
    SETTINGS_COPY_PREFIX,
)

DAY = dt.date(2024, 3, 29)  # the sample's last working day
runner = CliRunner()


@pytest.fixture(scope="module")
def lite_team(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """The sample team written with ``lite=True`` (once per language)."""
    from xlsales.sample import generate
    from xlsales.workspace import write_workspace

    made: dict[str, Path] = {}

    def make(lang: str) -> Path:
        if lang not in made:
            sample = generate(2024)
            root = tmp_path_factory.mktemp(f"lite-{lang}") / "team"
            write_workspace(root, sample.settings, sample.data, lang=lang,  # type: ignore[arg-type]
                            lite=True)
            made[lang] = root
        return made[lang]
    return make


@pytest.fixture
def ws(lite_team: Callable[[str], Path], tmp_path: Path) -> Path:
    return Path(shutil.copytree(lite_team("zh"), tmp_path / "team"))


def cli(*words: str) -> dict[str, Any]:
    result = runner.invoke(app, [*words, "--json"])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.output)


def message(book: FakeLiteBook) -> Any:
    """What the script said in the message cell of the first sheet."""
    return book.sheets[0].cells.get((2, 5))


# -- the scripts ------------------------------------------------------------------------------

def test_validate_finds_what_the_cli_finds(ws: Path) -> None:
    expected = cli("validate", str(ws / "daily_report.xlsx"), "--on", DAY.isoformat())
    book = FakeLiteBook.open(ws / "daily_report.xlsx")
    text = scripts.validate(book, DAY)
    assert not book.app.alerts, book.app.alerts
    assert text == message(book) == (f"校验完成:{expected['errors']} 个错误,"
                                      f"{expected['warnings']} 个警告")
    cells = {(f["sheet"], f["cell"]) for f in expected["findings"] if f["cell"]}
    coloured = {(s.name, c) for s in book.sheets for c in s.colors}
    assert coloured == cells and cells
    errors = {(f["sheet"], f["cell"]) for f in expected["findings"] if f["severity"] == "error"}
    assert {(s.name, c) for s in book.sheets for c, v in s.colors.items()
            if v == "#FFC7CE"} == errors
    found = book.sheets["校验结果"].grid()
    assert sorted((r[1], r[2], r[3]) for r in found[1:]) == sorted(
        (f["rule"], f["sheet"], f["cell"]) for f in expected["findings"])


def test_rollup_gives_the_cli_figures(ws: Path) -> None:
    week = "2024-W13"
    expected = cli("rollup", "-w", str(ws), "--week", week)
    # targets: the target tables copied into the daily report (a Lite script reads the
    # open workbook only)
    book = FakeLiteBook.open(ws / "daily_report.xlsx", ws / "targets.xlsx", prefix="t_")
    text = scripts.rollup_week(book, DAY)
    assert not book.app.alerts and "2024-W13" in text
    grid = book.sheets[f"周报 {week}"].grid()
    from xlsales.tables.weekly import WEEKLY

    keys = [c.key for c in WEEKLY.columns]
    rows = [dict(zip(keys, r, strict=False)) for r in grid[1:]]
    assert len(rows) == len(expected["rows"])
    for got, want in zip(rows, expected["rows"], strict=True):
        assert got["name"] == want["name"]
        for key in ("expected", "reported", "late", "missing", "visits", "effective",
                    "new_customers", "proposals"):
            assert got[key] == want[key], (want["name"], key)
        assert got["amount_signed"] == pytest.approx(want["amount_signed"])
        assert got["target"] == pytest.approx(want["target"])
        assert got["target"] is not None or want["target"] is None
    assert any(r["target"] for r in rows)  # the targets were read


def test_spot_check_picks_what_the_cli_picks(ws: Path) -> None:
    expected = cli("spotcheck", "-w", str(ws), "--on", DAY.isoformat())
    book = FakeLiteBook.open(ws / "daily_report.xlsx")
    scripts.spot_check(book, DAY)
    sheet = book.sheets[0]
    header = next(r for r in range(1, 10) if "抽查日期" in [sheet.start.get((r, c))
                                                        for c in range(1, 40)])
    cols = {sheet.start.get((header, c)): c for c in range(1, 40)}
    dated = {sheet.start.get((r, cols["销售代表"]))
             for (r, c), v in sheet.cells.items()
             if c == cols["抽查日期"] and v == DAY and sheet.start.get((r, c)) != v}
    assert dated == {p["rep"] for p in expected["picks"]} and len(dated) == expected["picked"]


def test_followups_give_the_cli_counts(ws: Path) -> None:
    expected = cli("followups", "-w", str(ws), "--on", DAY.isoformat())
    book = FakeLiteBook.open(ws / "customers.xlsx")
    text = scripts.refresh_followups(book, DAY)
    n = expected["counts"]
    assert not book.app.alerts
    assert text.startswith(f"跟进已刷新:逾期 {n['overdue']},今天 {n['today']},"
                           f"本周 {n['this_week']}")
    due = book.sheets["待跟进"].grid()[1:]
    assert len(due) == sum(n.values())
    want = {(d["owner"], d["customer"], d["date"]) for items in expected["due"].values()
            for d in items}
    assert {(r[0], r[1], r[3].isoformat()) for r in due} == want
    ledger = book.sheets["_followups"]
    assert ledger.visible is False and ledger.grid()


def test_review_gives_the_cli_metrics(ws: Path) -> None:
    expected = cli("review", "-w", str(ws), "--month", "2024-03", "--on", DAY.isoformat(),
                   "--out", str(ws / "cli_review.xlsx"))
    book = FakeLiteBook.open(ws / "monthly_review.xlsx", ws / "daily_report.xlsx",
                             ws / "customers.xlsx", ws / "targets.xlsx", prefix="copy_")
    text = scripts.monthly_review(book, DAY)
    assert not book.app.alerts, book.app.alerts
    assert text == f"已生成 2024-03 复盘({len(expected['metrics'])} 项指标)"
    grid = book.sheets["复盘 2024-03"].grid()[1:]
    assert len(grid) == len(expected["metrics"])
    for row, m in zip(grid, expected["metrics"], strict=True):
        assert row[:2] == [m["dimension"], m["metric"]]
        assert row[2] == pytest.approx(m["target"]) and row[3] == pytest.approx(m["actual"])
        assert row[5] == m["hint"]


def test_review_without_the_tables_says_which_one(ws: Path) -> None:
    book = FakeLiteBook.open(ws / "monthly_review.xlsx")
    text = scripts.monthly_review(book, DAY)
    assert len(book.app.alerts) == 1 and "日报" in text and "xlsales review" in text
    assert "Traceback" not in text


def test_the_meeting_pack_gives_the_cli_pack(ws: Path) -> None:
    """The agenda workbook with the daily report, customers and targets copied in (more in
    tests/test_lite_agenda.py)."""
    book = FakeLiteBook.open(ws / "meeting_agenda.xlsx", ws / "daily_report.xlsx",
                             ws / "customers.xlsx", ws / "targets.xlsx", prefix="c_")
    text = scripts.meeting_pack(book, DAY)
    expected = cli("agenda", "-w", str(ws), "--week", "2024-W13")
    assert not book.app.alerts, book.app.alerts
    assert text == f"已生成 2024-W13 周会议程(遗留行动项 {len(expected['carried'])} 项)"
    grid = book.sheets["议程 2024-W13"].grid()
    rows = grid[grid.index(["指标", "数值", "说明"] + [None] * (len(grid[0]) - 3)) + 1:]
    assert [tuple(r[:3]) for r in rows[:len(expected["data"])]] == [
        (d["metric"], d["value"], d["note"] or None) for d in expected["data"]]


def test_the_scripts_run_as_the_add_in_calls_them(ws: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The decorated functions take the book only (today from the clock)."""
    from xlsales.excel import buttons

    monkeypatch.setattr(buttons, "_today", lambda: DAY)
    book = FakeLiteBook.open(ws / "daily_report.xlsx")
    assert scripts.SCRIPTS["spotcheck"](book) is None
    assert str(message(book)).startswith("今日抽查 ")
    with pytest.raises(LiteUnsupported):  # what the plugin must never touch
        book.app.status_bar = "x"


# -- the team and the XS_ functions -----------------------------------------------------------

def test_the_team_comes_from_the_hidden_settings_copies(ws: Path) -> None:
    from xlsales.workspace import read_settings

    book = FakeLiteBook.open(ws / "daily_report.xlsx")
    scripts.load_team(book)
    team = scripts.current_team().settings
    want = read_settings(ws)
    assert [r.rep for r in team.roster] == [r.rep for r in want.roster]
    assert [(s.zh, s.probability) for s in team.stages] == [
        (s.zh, s.probability) for s in want.stages]
    assert team.general.spotcheck_share == want.general.spotcheck_share
    assert "12 名销售" in str(message(book))


def test_the_functions_answer_as_the_desktop_ones(ws: Path) -> None:
    from xlsales.excel import udfs
    from xlsales.excel.team import team_of

    scripts.load_team(FakeLiteBook.open(ws / "customers.xlsx"))
    desktop = team_of(type("B", (), {"fullname": str(ws / "customers.xlsx"),
                                     "sheets": {}})())
    calls: dict[str, tuple[Any, ...]] = {
        "XS_COMPLETION": ([[85.0], [0.0]], [[100.0], [0.0]]),
        "XS_WORKDAYS": ("2024-09-30", "2024-10-12"),
        "XS_WORKDAY_ADD": ("2024-09-30", 1),
        "XS_NEXT_FOLLOWUP": ("A", "2024-02-02"),
        "XS_STAGE_PROB": ("方案提交",),
        "XS_WEIGHTED": ([[100.0], [50.0]], [["方案提交"], ["报价与谈判"]]),
        "XS_WEEK": ("2024-03-06",),
        "XS_DUPKEY": ("上海恒瑞精密机械股份有限公司",),
    }
    assert set(calls) == set(functions.FUNCTIONS) == set(udfs.UDFS)
    before = udfs.team_source
    for name, args in calls.items():
        got = functions.FUNCTIONS[name](*args)
        udfs.team_source = lambda: desktop
        try:
            want = getattr(udfs, name)(*args)
        finally:
            udfs.team_source = before
        assert got == want, name
        assert not (isinstance(got, str) and got.startswith("#XS!")), (name, got)
    assert udfs.team_source is before  # the Lite functions leave the desktop ones alone


def test_the_functions_use_the_workbooks_team_not_the_defaults(tmp_path: Path) -> None:
    """A team whose stage names differ: its probability, not an unknown stage."""
    from xlsales.settings import Settings
    from xlsales.workspace import write_workspace

    settings = Settings.default("en")
    stage = settings.stages[1].model_copy(update={"en": "Engaging", "probability": 0.35})
    settings = settings.model_copy(update={"stages": [settings.stages[0], stage,
                                                      *settings.stages[2:]]})
    write_workspace(tmp_path, settings, lang="en", books=["customers"], lite=True)
    scripts._TEAM.clear()
    assert str(functions.XS_STAGE_PROB("Engaging")).startswith("#XS!")  # the defaults
    scripts.load_team(FakeLiteBook.open(tmp_path / "customers.xlsx"))
    assert functions.XS_STAGE_PROB("Engaging") == 0.35


# -- init --lite ------------------------------------------------------------------------------

def shapes(path: Path) -> dict[str, str]:
    """The panel's named shapes and the cell each one's hyperlink selects."""
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        drawings = [n for n in names if re.fullmatch(r"xl/drawings/drawing\d+\.xml", n)]
        assert len(drawings) == 1
        xml = z.read(drawings[0]).decode()
        rels = z.read(drawings[0].replace("drawings/", "drawings/_rels/") + ".rels").decode()
    targets = dict(re.findall(r'Id="(rId\d+)"[^>]*Target="([^"]+)"', rels)
                   or [(a, b) for b, a in re.findall(r'Target="([^"]+)"[^>]*Id="(rId\d+)"',
                                                      rels)])
    out = {}
    for name, rid in re.findall(r'<xdr:cNvPr id="\d+" name="([^"]+)"><a:hlinkClick '
                                r'[^>]*r:id="(rId\d+)"', xml):
        out[name] = targets[rid]
    return out


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_init_lite_writes_the_panel_and_the_team(tmp_path: Path, lang: str) -> None:
    result = runner.invoke(app, ["init", str(tmp_path), "--lite", "--lang", lang, "--json"])
    assert result.exit_code == 0, result.output
    from xlsales.workspace import BOOKS

    for book in BOOKS:
        path = tmp_path / book.filename
        assert path.exists() and not path.with_suffix(".xlsm").exists()
        wb = openpyxl.load_workbook(path)
        panel = wb[PANEL_SHEET]
        column_f = [panel.cell(row=r, column=6).value for r in range(1, 30)]
        at = column_f.index("requirements.txt")
        assert tuple(column_f[at + 1: at + 1 + len(REQUIREMENTS)]) == REQUIREMENTS
        assert column_f[column_f.index("main.py") + 1] == MAIN_PY.rstrip("\n")
        wanted = {BUTTONS[k].shape: f"#{PANEL_SHEET}!{BUTTONS[k].cell}"
                  for k in BOOK_BUTTONS[book.key]}
        assert shapes(path) == wanted
        copies = [ws.title for ws in wb.worksheets if ws.title.startswith(SETTINGS_COPY_PREFIX)]
        if book.key == "settings":
            assert not copies
        else:
            assert len(copies) == 8
            assert all(wb[c].sheet_state == "hidden" for c in copies)
        for key in BOOK_BUTTONS[book.key]:  # each shape covers the cell it links to
            b = BUTTONS[key]
            assert b.reference == f"[{b.shape}]{PANEL_SHEET}!{b.cell}"


def test_the_panel_buttons_cover_their_cells(tmp_path: Path) -> None:
    runner.invoke(app, ["init", str(tmp_path), "--lite"])
    with zipfile.ZipFile(tmp_path / "daily_report.xlsx") as z:
        xml = next(z.read(n).decode() for n in z.namelist() if n.startswith("xl/drawings/d"))
    from openpyxl.utils import range_boundaries

    for anchor, name in re.findall(r'(<xdr:from>.*?</xdr:to>).*?name="([^"]+)"', xml):
        (c0, r0), (c1, r1) = [tuple(map(int, m)) for m in re.findall(
            r"<xdr:col>(\d+)</xdr:col>.*?<xdr:row>(\d+)</xdr:row>", anchor)]
        key = name.removeprefix("xlsales_")
        col, row, _, _ = range_boundaries(BUTTONS[key].cell)
        assert c0 + 1 <= col <= c1 + 1 and r0 + 1 <= row <= r1 + 1, name


def test_init_refuses_macros_and_lite_together(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path), "--lite", "--macros"])
    assert result.exit_code == 2 and "--lite" in result.output
    assert not list(tmp_path.iterdir())


def test_a_fresh_lite_workbook_validates_with_the_default_team(tmp_path: Path) -> None:
    runner.invoke(app, ["init", str(tmp_path), "--lite", "--lang", "en"])
    book = FakeLiteBook.open(tmp_path / "daily_report.xlsx")
    text = scripts.validate(book, DAY)
    expected = cli("validate", str(tmp_path / "daily_report.xlsx"), "--on", DAY.isoformat())
    assert text == f"Validated: {expected['errors']} errors, {expected['warnings']} warnings"


def test_the_cli_reads_a_lite_workspace_as_a_plain_one(ws: Path,
                                                       sample_team: Callable[[str], Path]
                                                       ) -> None:
    """The panel and the hidden settings copies change nothing the commands read."""
    for book in ("daily_report.xlsx", "customers.xlsx", "targets.xlsx"):
        lite = cli("validate", str(ws / book), "--on", DAY.isoformat())
        plain = cli("validate", str(sample_team("zh") / book), "--on", DAY.isoformat())
        assert (lite["errors"], lite["warnings"]) == (plain["errors"], plain["warnings"])
        assert lite["tables"] == plain["tables"]


def test_settings_sync_keeps_the_lite_buttons(tmp_path: Path) -> None:
    from xlsales.sample import generate
    from xlsales.settings import Settings
    from xlsales.workspace import write_workspace

    write_workspace(tmp_path, Settings.default(), lang="zh", lite=True)
    before = shapes(tmp_path / "daily_report.xlsx")
    write_workspace(tmp_path, generate(2024).settings, lang="zh", books=["settings"],
                    lite=True)  # a roster the other workbooks' dropdowns do not have yet
    result = runner.invoke(app, ["settings", "sync", "-w", str(tmp_path)])
    assert result.exit_code == 0 and "daily_report.xlsx" in result.output
    assert shapes(tmp_path / "daily_report.xlsx") == before and before
    # the hidden copies the Lite scripts read the team from follow settings.xlsx
    rep = generate(2024).settings.roster[0].rep
    book = openpyxl.load_workbook(tmp_path / "daily_report.xlsx")
    copies = [ws for ws in book.worksheets if ws.title.startswith("_xs_")]
    assert copies and all(ws.sheet_state == "hidden" for ws in copies)
    assert any(c.value == rep for ws in copies for row in ws.iter_rows() for c in row)
    again = (tmp_path / "daily_report.xlsx").read_bytes()
    result = runner.invoke(app, ["settings", "sync", "-w", str(tmp_path)])
    assert result.exit_code == 0 and "daily_report.xlsx" not in result.output
    assert (tmp_path / "daily_report.xlsx").read_bytes() == again


def test_an_english_team_gets_the_cli_results(lite_team: Callable[[str], Path],
                                              tmp_path: Path) -> None:
    ws = Path(shutil.copytree(lite_team("en"), tmp_path / "team"))
    expected = cli("validate", str(ws / "customers.xlsx"), "--on", DAY.isoformat())
    book = FakeLiteBook.open(ws / "customers.xlsx")
    assert scripts.validate(book, DAY) == (f"Validated: {expected['errors']} errors, "
                                           f"{expected['warnings']} warnings")
    assert {(s.name, c) for s in book.sheets for c in s.colors} == {
        (f["sheet"], f["cell"]) for f in expected["findings"] if f["cell"]}
    counts = cli("followups", "-w", str(ws), "--on", DAY.isoformat())["counts"]
    text = scripts.refresh_followups(book := FakeLiteBook.open(ws / "customers.xlsx"), DAY)
    assert text.startswith(f"Follow-ups: {counts['overdue']} overdue, {counts['today']} "
                           f"today, {counts['this_week']} this week")
    assert len(book.sheets["Due follow-ups"].grid()) == 1 + sum(counts.values())
