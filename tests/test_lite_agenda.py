"""The xlwings Lite meeting pack, errors in Lite, and the README's Lite buttons.

The meeting pack script builds ``xlsales agenda``'s pack from the tables the open workbook
holds (the agenda workbook's action items, with the daily report, customers, opportunities
and targets copied in): the same data, agenda and carried items as the CLI on the same
workspace. Every script turns an :class:`xlsales.errors.XlsalesError` into a message in the
workbook's language (a dialog and cell E2 of the first sheet), never a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from tests.fake_lite import FakeLiteBook
from tests.helpers import read_block
from xlsales.cli import app
from xlsales.lite import scripts
from xlsales.lite.layout import BOOK_BUTTONS, BUTTONS, PANEL_SHEET
from xlsales.tables.agenda import ACTIONS, AGENDA, CARRIED, MEETING_DATA, MINUTES

REPO = Path(__file__).resolve().parents[1]
DAY = dt.date(2024, 3, 29)  # the sample's last working day: week 2024-W13
WEEK = "2024-W13"
BOOKS = ("daily_report.xlsx", "customers.xlsx", "targets.xlsx")
runner = CliRunner()


def cli_agenda(ws: Path) -> dict[str, Any]:
    result = runner.invoke(app, ["agenda", "-w", str(ws), "--week", WEEK, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def message(book: FakeLiteBook) -> Any:
    return book.sheets[0].cells.get((2, 5))


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """A copy of samples/sample_team (a workspace written without ``--lite``)."""
    return Path(shutil.copytree(REPO / "samples" / "sample_team", tmp_path / "team"))


@pytest.fixture
def lite_en(tmp_path: Path) -> Path:
    """The sample team in English, written with ``--lite`` (settings in hidden copies)."""
    from xlsales.sample import generate
    from xlsales.workspace import write_workspace

    sample = generate(2024)
    root = tmp_path / "team"
    write_workspace(root, sample.settings, sample.data, lang="en", lite=True)
    return root


def check_pack(book: FakeLiteBook, expected: dict[str, Any], lang: str) -> None:
    """The pack sheet the script wrote holds the CLI's figures, agenda and carried items."""
    sheet = "议程 " + WEEK if lang == "zh" else "Agenda " + WEEK
    grid = book.sheets[sheet].grid()
    assert grid[0][0].endswith(WEEK)
    assert expected["meeting_at"].replace("T", " ")[:16] in grid[1][0]
    assert f"{expected['total_minutes']}" in grid[1][0]
    _, _, data = read_block(grid, MEETING_DATA, lang)
    assert [(r["metric"], r["value"], r["note"] or "") for r in data] == [
        (d["metric"], d["value"], d["note"]) for d in expected["data"]]
    _, _, carried = read_block(grid, CARRIED, lang)
    assert [{**r, "due": r["due"].isoformat() if r["due"] else None,
             "actionable": r["actionable"] or ""} for r in carried] == [
        {k: c[k] for k in r} for c, r in zip(expected["carried"], carried, strict=True)]
    assert carried  # the sample has items carried over from W12
    _, _, agenda = read_block(grid, AGENDA, lang)
    assert sum(r["minutes"] for r in agenda) == expected["total_minutes"]
    _, _, minutes = read_block(grid, MINUTES, lang)
    assert minutes[0]["meeting_at"].isoformat() == expected["meeting_at"]


def test_the_pack_is_the_clis_on_the_sample_team(sample: Path) -> None:
    """samples/sample_team: the settings, dailies, customers and targets copied into the
    agenda workbook (its settings have no hidden copies: settings.xlsx copied in too)."""
    book = FakeLiteBook.open(sample / "meeting_agenda.xlsx", sample / "settings.xlsx",
                             *(sample / b for b in BOOKS), prefix="c_")
    text = scripts.meeting_pack(book, DAY)
    assert not book.app.alerts, book.app.alerts
    expected = cli_agenda(sample)
    assert text == message(book) == (f"已生成 {WEEK} 周会议程(遗留行动项 "
                                     f"{len(expected['carried'])} 项)")
    check_pack(book, expected, "zh")


def test_the_pack_is_the_clis_in_english(lite_en: Path) -> None:
    book = FakeLiteBook.open(lite_en / "meeting_agenda.xlsx", *(lite_en / b for b in BOOKS),
                             prefix="c_")
    text = scripts.meeting_pack(book, DAY)
    assert not book.app.alerts, book.app.alerts
    expected = cli_agenda(lite_en)
    assert text == f"Agenda for {WEEK} written ({len(expected['carried'])} carried items)"
    check_pack(book, expected, "en")


def test_without_targets_it_says_completion_has_none(sample: Path) -> None:
    book = FakeLiteBook.open(sample / "meeting_agenda.xlsx", sample / "settings.xlsx",
                             sample / "daily_report.xlsx", sample / "customers.xlsx",
                             prefix="c_")
    text = scripts.meeting_pack(book, DAY)
    assert not book.app.alerts and "没有目标表" in text
    (sample / "targets.xlsx").unlink()  # the CLI on a workspace without targets
    check_pack(book, cli_agenda(sample), "zh")


def test_without_settings_it_says_the_defaults_were_used(sample: Path) -> None:
    book = FakeLiteBook.open(sample / "meeting_agenda.xlsx", *(sample / b for b in BOOKS),
                             prefix="c_")
    text = scripts.meeting_pack(book, DAY)
    assert not book.app.alerts and text.endswith(scripts.NO_SETTINGS("zh"))
    with_settings = FakeLiteBook.open(sample / "meeting_agenda.xlsx",
                                      sample / "settings.xlsx", *(sample / b for b in BOOKS),
                                      prefix="c_")
    assert "设置" not in scripts.meeting_pack(with_settings, DAY)


def test_what_was_typed_into_this_weeks_sheet_stays(sample: Path) -> None:
    cli_agenda(sample)  # this week's sheet exists; someone types an action and attendees
    wb = openpyxl.load_workbook(sample / "meeting_agenda.xlsx")
    ws = wb[f"议程 {WEEK}"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    head, cols, _ = read_block(rows, ACTIONS)
    for key, value in (("item", "3月29日前把方案发给客户D"), ("owner", "李娜"),
                       ("due", dt.datetime(2024, 3, 29))):
        ws.cell(head + 2, cols[key] + 1, value)
    head, cols, _ = read_block(rows, MINUTES)
    ws.cell(head + 2, cols["attendees"] + 1, "全体销售")
    wb.save(sample / "meeting_agenda.xlsx")
    book = FakeLiteBook.open(sample / "meeting_agenda.xlsx", sample / "settings.xlsx",
                             *(sample / b for b in BOOKS), prefix="c_")
    scripts.meeting_pack(book, DAY)
    assert not book.app.alerts, book.app.alerts
    grid = book.sheets[f"议程 {WEEK}"].grid()
    _, _, actions = read_block(grid, ACTIONS)
    assert [(a["item"], a["owner"]) for a in actions] == [("3月29日前把方案发给客户D", "李娜")]
    _, _, minutes = read_block(grid, MINUTES)
    assert minutes[0]["attendees"] == "全体销售"
    assert minutes[0]["meeting_at"] == dt.datetime(2024, 3, 25, 9, 0)


def test_the_agenda_workbook_alone_says_which_tables_are_missing(sample: Path) -> None:
    book = FakeLiteBook.open(sample / "meeting_agenda.xlsx")
    text = scripts.meeting_pack(book, DAY)
    assert book.app.alerts == [(text, "xlsales")] and text == message(book)
    from xlsales import tables as T

    for key in ("daily", "customers", "opportunities"):
        assert T.get(key).title("zh") in text and T.get(key).sheet("zh") in text, key
    assert "xlsales agenda" in text and "表表" not in text
    assert "Traceback" not in text and "Error" not in text
    assert f"议程 {WEEK}" not in [s.name for s in book.sheets]  # nothing written


# -- errors in Lite ---------------------------------------------------------------------------

def bad_book(path: Path, lang: str) -> Path:
    """A workbook with a sheet that holds no xlsales table (a daily report typed freely)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "日报" if lang == "zh" else "Daily"
    head = ["姓名", "日子", "备注"] if lang == "zh" else ["Name", "Day", "Notes"]
    for row in (head, ["张伟", dt.datetime(2024, 3, 29), "拜访两家"]):
        ws.append(row)
    wb.save(path)
    return path


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("key", [k for k in BUTTONS if k != "team"])
def test_a_workbook_without_the_tables_gets_a_clear_message(tmp_path: Path, key: str,
                                                            lang: str) -> None:
    """Every script on a workbook with no daily (or other) table: one dialog and the E2
    message, in the workbook's language, naming what is missing; no traceback, no bug."""
    from xlsales.lite.__init__ import __all__ as exported

    job = {"validate": scripts.validate, "rollup": scripts.rollup_week,
           "spotcheck": scripts.spot_check, "followups": scripts.refresh_followups,
           "review": scripts.monthly_review, "agenda": scripts.meeting_pack}[key]
    assert BUTTONS[key].script in exported
    book = FakeLiteBook.open(bad_book(tmp_path / "bad.xlsx", lang))
    text = job(book, DAY)
    assert book.app.alerts == [(text, "xlsales")] and message(book) == text
    assert "Traceback" not in text and "bug" not in text and "程序错误" not in text
    cjk = re.search(r"[\u4e00-\u9fff]", text.split(":", 1)[1].replace("张伟", ""))
    assert bool(cjk) == (lang == "zh"), text
    from xlsales import tables as T

    first = {"followups": "customers", "validate": None}.get(key, "daily")  # read first
    if first is not None:
        assert T.get(first).title(lang) in text, text  # type: ignore[arg-type]


def test_the_scripts_all_go_through_the_error_handler() -> None:
    """Each decorated script calls a job that runs inside ``buttons._run`` (which turns
    XlsalesError into the message): the source of every job says so."""
    import inspect

    for key, b in BUTTONS.items():
        decorated = inspect.getsource(scripts.SCRIPTS[key])
        job = re.search(r"^    (\w+)\(book\)$", decorated, re.M)
        assert job is not None, key
        source = inspect.getsource(getattr(scripts, job.group(1)))
        assert "_job(book, " in source, key
        assert "buttons._run(" in source or re.search(r"_job\(book, buttons\.\w+, today\)",
                                                      source), key
        assert b.script == scripts.SCRIPTS[key].__name__


# -- the README -------------------------------------------------------------------------------

def readme_buttons() -> dict[str, tuple[str, str, str]]:
    """The README's Lite button table: caption (zh / en) → (zh, en, workbooks)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## In Excel without Python", 1)[1].split("\n## ", 1)[0]
    table = section.split("| button | workbook |", 1)[1].split("\n\n", 1)[0]
    out = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        zh, en = (s.strip() for s in cells[0].split(" / "))
        out[en] = (zh, en, cells[1])
    return out


BOOK_WORDS = {"settings": "settings", "targets": "targets", "daily": "daily report",
              "agenda": "(meeting )?agenda", "review": "monthly review", "customers": "customers"}


def test_the_readme_lists_every_lite_button_and_no_other() -> None:
    listed = readme_buttons()
    captions = {b.caption.en: b for b in BUTTONS.values()}
    assert set(listed) == set(captions), (set(listed) ^ set(captions))
    for en, (zh, _, books) in listed.items():
        button = captions[en]
        assert zh == button.caption.zh, en
        where = {book for book, keys in BOOK_BUTTONS.items() if button.key in keys}
        if books == "all":
            assert where == set(BOOK_BUTTONS), en
        else:
            named = {b for b, word in BOOK_WORDS.items() if re.search(
                rf"(^|, ){word}(,|$)", books)}
            assert named == where, (en, named, where)


def test_each_button_is_a_script_on_the_panel() -> None:
    for key, b in BUTTONS.items():
        assert b.reference == f"[xlsales_{key}]{PANEL_SHEET}!{b.cell}"
        assert scripts.SCRIPTS[key].__name__ == b.script
