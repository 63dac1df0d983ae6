"""The worksheet functions answer with the settings of the calling workbook's team.

The UDFs run as plain functions (xlwings's decorators do nothing on Linux); the calling
workbook is a :class:`tests.fake_xlwings.FakeBook` over a real workspace in tmp, handed to
the UDFs through ``udfs.caller_book``.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import openpyxl
import pytest

from tests.fake_xlwings import FakeBook
from xlsales.excel import team as T
from xlsales.excel import udfs
from xlsales.settings import CalendarOverride, RosterEntry, Settings, Stage, Tier
from xlsales.workspace import write_workspace

D = dt.date


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    T.clear_cache()
    yield
    T.clear_cache()


def custom_settings(engaging: float = 0.4) -> Settings:
    """A team with stages Prospecting/Engaging/Won/Lost, its own days off and make-up day,
    an extra tier S, weeks named after their Monday and one rep with leave."""
    base = Settings.default()
    return base.model_copy(update={
        "stages": [Stage(zh="Prospecting", en="Prospecting", order=1, probability=0.1),
                   Stage(zh="Engaging", en="Engaging", order=2, probability=engaging),
                   Stage(zh="Won", en="Won", order=3, probability=1.0, kind="won"),
                   Stage(zh="Lost", en="Lost", order=4, probability=0.0, kind="lost")],
        "calendar": [CalendarOverride(date=D(2024, 3, 8), working=False, note="offsite"),
                     CalendarOverride(date=D(2024, 3, 9), working=True, note="make-up")],
        "tiers": [*base.tiers, Tier(tier="S", zh="战略客户", en="Strategic", contact="拜访",
                                    interval_days=3)],
        "roster": [RosterEntry(rep="Ann Lee", region="North", product_line="Line A",
                               start_date=D(2024, 3, 1), leave="2024-03-05~2024-03-06")],
        "general": base.general.model_copy(update={"week_label": "monday"}),
    })


def write_custom(root: Path, settings: Settings | None = None) -> Path:
    write_workspace(root, settings or custom_settings(), lang="en",
                    books=["settings", "daily"])
    return root


@pytest.fixture
def custom(tmp_path: Path) -> Path:
    return write_custom(tmp_path / "custom")


def called_from(monkeypatch: pytest.MonkeyPatch, book: Any) -> Any:
    """Make ``book`` the workbook that calls the UDFs."""
    monkeypatch.setattr(udfs, "caller_book", lambda: book)
    return book


def count_reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every settings file the UDFs read from now on, in order."""
    reads: list[Path] = []
    real = T.read_settings_file

    def counting(path: Path) -> Settings:
        reads.append(path)
        return real(path)
    monkeypatch.setattr(T, "read_settings_file", counting)
    return reads


def book_with_conf(path: Path, rows: list[tuple[str, str]]) -> FakeBook:
    """A workbook at ``path`` whose hidden ``xlwings.conf`` sheet holds ``rows``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook()
    wb.active.title = "Report"
    conf = wb.create_sheet("xlwings.conf")
    for key, value in [("UDF Modules", "xlsales.excel.udfs"), *rows]:
        conf.append([key, value])
    conf.sheet_state = "hidden"
    wb.save(path)
    return FakeBook(path)


def saved_at(path: Path) -> SimpleNamespace:
    """A workbook saved at ``path`` without an ``xlwings.conf`` sheet (the sample team's
    workbooks are large: the fake would load them whole)."""
    return SimpleNamespace(fullname=str(path), sheets={})


def bump_mtime(path: Path, seconds: int = 10) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + seconds * 1_000_000_000))


# -- the team's settings -----------------------------------------------------------------------

def test_the_sample_team_answers_with_its_settings(
        monkeypatch: pytest.MonkeyPatch, sample_copy: Callable[[str], Path]) -> None:
    root = sample_copy("zh")
    called_from(monkeypatch, saved_at(root / "daily_report.xlsx"))
    assert T.team_of(udfs.caller_book()).source == root / "settings.xlsx"
    assert udfs.XS_STAGE_PROB("方案提交") == 0.5
    assert udfs.XS_STAGE_PROB([["Proposal"], ["报价与谈判"]]) == [[0.5], [0.75]]
    assert udfs.XS_NEXT_FOLLOWUP("A", D(2024, 2, 2)) == D(2024, 2, 9)
    # the roster is the team's: a rep on it works the team's days, a stranger is unknown
    assert udfs.XS_WORKDAYS(D(2024, 9, 30), D(2024, 10, 12), "张伟") == 6
    assert str(udfs.XS_WORKDAYS(D(2024, 9, 30), D(2024, 10, 12), "路人甲")).startswith(
        "#XS! unknown rep")


def test_a_custom_stage_is_answered(monkeypatch: pytest.MonkeyPatch, custom: Path) -> None:
    called_from(monkeypatch, FakeBook(custom / "daily_report.xlsx"))
    assert udfs.XS_STAGE_PROB("Engaging") == 0.4
    assert udfs.XS_STAGE_PROB(" engaging ") == 0.4  # as the dropdowns match: case, spaces
    assert str(udfs.XS_STAGE_PROB("方案提交")).startswith("#XS! unknown stage")
    assert udfs.XS_WEIGHTED([[100], [50], [None]], [["Engaging"], ["Won"], ["Lost"]]) == 90
    assert str(udfs.XS_WEIGHTED([[100]], [["报价与谈判"]])).startswith("#XS! unknown stage")


def test_the_teams_calendar_tiers_roster_and_week_label(
        monkeypatch: pytest.MonkeyPatch, custom: Path) -> None:
    # the defaults first: Friday 8 March is a working day, Saturday the 9th is not
    assert udfs.XS_WORKDAYS(D(2024, 3, 4), D(2024, 3, 8)) == 5
    assert udfs.XS_WORKDAY_ADD(D(2024, 3, 7), 1) == D(2024, 3, 8)
    assert udfs.XS_WEEK(D(2024, 3, 8)) == "2024-W10"
    called_from(monkeypatch, FakeBook(custom / "daily_report.xlsx"))
    assert udfs.XS_WORKDAYS(D(2024, 3, 4), D(2024, 3, 8)) == 4  # the offsite day off
    assert udfs.XS_WORKDAYS(D(2024, 3, 8), D(2024, 3, 4)) == -4
    assert udfs.XS_WORKDAY_ADD(D(2024, 3, 7), 1) == D(2024, 3, 9)  # the make-up Saturday
    assert udfs.XS_WORKDAY_ADD([[D(2024, 3, 7)], [None]], 2) == [[D(2024, 3, 11)], [""]]
    # from 1 March (her start date), leave on the 5th and 6th, the 8th off, the 9th worked
    assert udfs.XS_WORKDAYS(D(2024, 2, 26), D(2024, 3, 10), "Ann Lee") == 4
    assert udfs.XS_WORKDAYS(D(2024, 2, 26), D(2024, 3, 10), "ann  lee") == 4
    # tier S: 3 days after Tuesday 5 March is the offsite Friday: the last working day before
    assert udfs.XS_NEXT_FOLLOWUP("S", D(2024, 3, 5)) == D(2024, 3, 7)
    assert udfs.XS_NEXT_FOLLOWUP("战略客户", D(2024, 3, 5)) == D(2024, 3, 7)
    assert udfs.XS_WEEK(D(2024, 3, 8)) == "2024-03-04"  # week_label: monday


# -- reading once ------------------------------------------------------------------------------

def test_settings_are_read_once_and_again_when_the_file_changes(
        monkeypatch: pytest.MonkeyPatch, custom: Path) -> None:
    reads = count_reads(monkeypatch)
    called_from(monkeypatch, FakeBook(custom / "daily_report.xlsx"))
    for _ in range(3):
        assert udfs.XS_STAGE_PROB("Engaging") == 0.4
        assert udfs.XS_WORKDAYS(D(2024, 3, 4), D(2024, 3, 8)) == 4
    assert reads == [custom / "settings.xlsx"]
    bump_mtime(custom / "settings.xlsx")  # touched: read again, then kept again
    assert udfs.XS_STAGE_PROB("Engaging") == 0.4
    assert udfs.XS_STAGE_PROB("Won") == 1.0
    assert len(reads) == 2
    write_custom(custom, custom_settings(engaging=0.6))  # a new probability
    bump_mtime(custom / "settings.xlsx", 20)
    assert udfs.XS_STAGE_PROB("Engaging") == 0.6
    assert udfs.XS_WEIGHTED([[100]], [["Engaging"]]) == pytest.approx(60)
    assert len(reads) == 3


def test_two_workspaces_are_kept_apart(monkeypatch: pytest.MonkeyPatch, custom: Path,
                                      sample_copy: Callable[[str], Path]) -> None:
    reads = count_reads(monkeypatch)
    sample = saved_at(sample_copy("zh") / "customers.xlsx")
    mine = FakeBook(custom / "daily_report.xlsx")
    for _ in range(2):
        called_from(monkeypatch, sample)
        assert udfs.XS_STAGE_PROB("Proposal") == 0.5
        called_from(monkeypatch, mine)
        assert udfs.XS_STAGE_PROB("Engaging") == 0.4
    assert len(reads) == 2


# -- no workspace, a broken one ----------------------------------------------------------------

def test_a_workbook_outside_any_workspace_gets_the_defaults(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    reads = count_reads(monkeypatch)
    loose = tmp_path / "elsewhere" / "forecast.xlsx"
    loose.parent.mkdir()
    openpyxl.Workbook().save(loose)
    for book in (FakeBook(loose), SimpleNamespace(fullname="Book1", sheets={}),
                 SimpleNamespace(fullname="https://d.docs.live.net/abc/team/x.xlsx", sheets={}),
                 None):
        called_from(monkeypatch, book)
        assert udfs.XS_STAGE_PROB("方案提交") == 0.5
        assert str(udfs.XS_STAGE_PROB("Engaging")).startswith("#XS! unknown stage")
        assert udfs.XS_WORKDAYS(D(2024, 3, 4), D(2024, 3, 8)) == 5
    assert reads == []
    assert T.team_of(FakeBook(loose)) is T.default_team()


def test_outside_excel_there_is_no_caller() -> None:
    assert udfs._xlwings_caller() is None  # xlwings has no Excel here: the defaults
    assert udfs.XS_STAGE_PROB("方案提交") == 0.5


def test_an_unreadable_settings_file_says_so_in_the_cell(
        monkeypatch: pytest.MonkeyPatch, custom: Path) -> None:
    settings = custom / "settings.xlsx"
    good = settings.read_bytes()
    settings.write_bytes(b"not a workbook at all")
    reads = count_reads(monkeypatch)
    called_from(monkeypatch, FakeBook(custom / "daily_report.xlsx"))
    for answer in (udfs.XS_STAGE_PROB("Engaging"), udfs.XS_STAGE_PROB([["Won"], ["Lost"]]),
                   udfs.XS_WORKDAYS(D(2024, 3, 4), D(2024, 3, 8)),
                   udfs.XS_WORKDAY_ADD(D(2024, 3, 7), 1), udfs.XS_WEEK(D(2024, 3, 8)),
                   udfs.XS_NEXT_FOLLOWUP("A", D(2024, 3, 4)),
                   udfs.XS_WEIGHTED([[1]], [["Won"]])):
        assert isinstance(answer, str) and answer.startswith("#XS! settings: "), answer
        assert "not an Excel workbook" in answer and "settings.xlsx" in answer
    assert len(reads) == 1  # the broken file is not read again until it changes
    # the functions that need no settings still answer
    assert udfs.XS_COMPLETION(85, 100) == pytest.approx(0.85)
    assert udfs.XS_DUPKEY("上海恒瑞精密机械股份有限公司") == "恒瑞精密机械"
    settings.write_bytes(good)  # mended
    bump_mtime(settings)
    assert udfs.XS_STAGE_PROB("Engaging") == 0.4
    assert len(reads) == 2


def test_a_settings_file_that_cannot_be_opened_is_tried_again(
        monkeypatch: pytest.MonkeyPatch, custom: Path) -> None:
    calls: list[Path] = []

    def locked(path: Path) -> Settings:
        calls.append(path)
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(T, "read_settings_file", locked)
    called_from(monkeypatch, FakeBook(custom / "daily_report.xlsx"))
    assert udfs.XS_STAGE_PROB("Engaging") == \
        f"#XS! settings: Permission denied (file {custom / 'settings.xlsx'})"
    assert udfs.XS_STAGE_PROB("Engaging").startswith("#XS! settings: Permission denied")
    assert len(calls) == 2  # an OS error (a file being saved) is not kept


# -- the xlwings.conf override -----------------------------------------------------------------

def test_xlwings_conf_names_the_settings(monkeypatch: pytest.MonkeyPatch, custom: Path,
                                         tmp_path: Path) -> None:
    # a workbook outside the workspace, pointing at it with a path relative to itself
    book = called_from(monkeypatch, book_with_conf(
        tmp_path / "reports" / "q1.xlsx", [("XLSALES_SETTINGS", "../custom")]))
    assert T.conf(book) == {"UDF Modules": "xlsales.excel.udfs", "XLSALES_SETTINGS": "../custom"}
    assert udfs.XS_STAGE_PROB("Engaging") == 0.4
    assert T.settings_file(book) == (custom / "settings.xlsx", True)
    # "Settings File", any case, naming a settings workbook under another name
    renamed = tmp_path / "shared" / "team settings.xlsx"
    renamed.parent.mkdir()
    shutil.copy(custom / "settings.xlsx", renamed)
    called_from(monkeypatch, book_with_conf(tmp_path / "reports" / "q2.xlsx",
                                            [("settings file", str(renamed))]))
    assert udfs.XS_STAGE_PROB("Engaging") == 0.4
    assert udfs.XS_WORKDAY_ADD(D(2024, 3, 7), 1) == D(2024, 3, 9)


def test_xlwings_conf_wins_over_the_workbooks_own_folder(
        monkeypatch: pytest.MonkeyPatch, custom: Path,
        sample_copy: Callable[[str], Path]) -> None:
    sample = sample_copy("zh")
    book = called_from(monkeypatch, book_with_conf(sample / "forecast.xlsx", []))
    assert udfs.XS_STAGE_PROB("方案提交") == 0.5  # the sample team's own settings
    book.sheets["xlwings.conf"].range("A2").value = ["XLSALES_SETTINGS",
                                                     str(custom / "settings.xlsx")]
    assert udfs.XS_STAGE_PROB("Engaging") == 0.4
    assert str(udfs.XS_STAGE_PROB("方案提交")).startswith("#XS! unknown stage")


def test_the_conf_sheet_of_an_xlsm_workspace(monkeypatch: pytest.MonkeyPatch, custom: Path,
                                            tmp_path: Path) -> None:
    """The hidden sheet as ``xlsales init --macros`` writes it: the team's own settings
    without a row; another team's with one added."""
    root = tmp_path / "xlsm"
    write_workspace(root, Settings.default(), books=["settings", "daily"], macros=True)
    book = called_from(monkeypatch, FakeBook(root / "daily_report.xlsm"))
    assert T.conf(book)["UDF Modules"] == "xlsales.excel.udfs"
    assert T.settings_file(book) == (root / "settings.xlsx", False)
    assert udfs.XS_STAGE_PROB("方案提交") == 0.5
    rows = book.sheets["xlwings.conf"].used_range.options(ndim=2).value
    book.sheets["xlwings.conf"].range(f"A{len(rows) + 1}").value = ["XLSALES_SETTINGS",
                                                                     str(custom)]
    assert udfs.XS_STAGE_PROB("Engaging") == 0.4


def test_an_override_that_names_nothing_says_so(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    called_from(monkeypatch, book_with_conf(tmp_path / "q1.xlsx",
                                            [("XLSALES_SETTINGS", "nowhere/settings.xlsx")]))
    answer = udfs.XS_STAGE_PROB("方案提交")
    missing = tmp_path / "nowhere" / "settings.xlsx"
    assert answer == (f"#XS! settings: no settings file at {missing}"
                      " (XLSALES_SETTINGS in xlwings.conf)")
    called_from(monkeypatch, SimpleNamespace(fullname="Book1", sheets={"xlwings.conf": None}))
    assert udfs.XS_STAGE_PROB("方案提交") == 0.5  # an unreadable conf sheet: no override
    called_from(monkeypatch, book_with_conf(tmp_path / "q2.xlsx", [("XLSALES_SETTINGS", "")]))
    assert udfs.XS_STAGE_PROB("方案提交") == 0.5  # a blank override: none


# -- the buttons find the team as the functions do ---------------------------------------------

def ann_lees_report(folder: Path) -> FakeBook:
    """A daily report ``.xlsm`` in ``folder`` with one day of Ann Lee's (a rep of the custom
    team only), beside a ``settings.xlsx`` of the built-in defaults."""
    row = {"date": D(2024, 3, 7), "rep": "Ann Lee", "visits": 3, "effective": 1,
           "new_customers": 0, "proposals": 0, "amount_signed": 0.0,
           "next_plan": "call back", "submitted_at": dt.datetime(2024, 3, 7, 17)}
    write_workspace(folder, Settings.default(), lang="en", books=["settings"])
    (path,) = write_workspace(folder, custom_settings(), {"daily": [row]}, lang="en",
                              books=["daily"], macros=True)
    return FakeBook(path)


def ann_lees_week(book: FakeBook) -> list[Any]:
    """Ann Lee's row of the weekly sheet the rollup button wrote for 8 March 2024."""
    from xlsales.excel import buttons

    text = buttons.rollup_week(book, today=D(2024, 3, 8))
    assert not book.app.alerts and "2024-W10" in text, book.app.alerts
    grid = book.sheets["Weekly 2024-W10"].used_range.options(ndim=2).value
    header = grid[0]
    row = next(r for r in grid[1:] if r[header.index("Rep / region")] == "Ann Lee")
    return [row[header.index(h)] for h in ("Region", "Product line", "Week ends")]


def test_the_buttons_use_the_settings_xlwings_conf_names(
        monkeypatch: pytest.MonkeyPatch, custom: Path, tmp_path: Path) -> None:
    from xlsales.excel import buttons

    book = ann_lees_report(tmp_path / "reports")
    # no XLSALES_SETTINGS row: the settings beside the workbook (Ann Lee is nobody's)
    assert ann_lees_week(book)[0] != "North"
    conf = book.sheets["xlwings.conf"]
    rows = conf.used_range.options(ndim=2).value
    conf.range(f"A{len(rows) + 1}").value = ["XLSALES_SETTINGS", "../custom"]
    reads = count_reads(monkeypatch)
    called_from(monkeypatch, book)
    assert udfs.XS_STAGE_PROB("Engaging") == 0.4  # the functions read the team once …
    # … and the buttons answer with the same team: her region and product line, the
    # week ending on the team's make-up Saturday
    assert ann_lees_week(book) == ["North", "Line A", dt.datetime(2024, 3, 9)]
    text = buttons.validate(book, today=D(2024, 3, 8))
    assert text == "Validated: 0 errors, 0 warnings", (text, book.app.alerts)
    assert reads == [custom / "settings.xlsx"]


def test_a_button_says_why_the_named_settings_cannot_be_read(tmp_path: Path) -> None:
    from xlsales.excel import buttons

    book = ann_lees_report(tmp_path / "reports")
    conf = book.sheets["xlwings.conf"]
    rows = conf.used_range.options(ndim=2).value
    conf.range(f"A{len(rows) + 1}").value = ["XLSALES_SETTINGS", "../nowhere"]
    text = buttons.rollup_week(book, today=D(2024, 3, 8))
    missing = tmp_path / "nowhere"
    assert book.app.alerts == [text] and "Weekly 2024-W10" not in [s.name for s in book.sheets]
    assert text == ("Weekly rollup: cannot read the team's settings: no settings file at "
                    f"{missing} (XLSALES_SETTINGS in xlwings.conf)")
    # a settings file that is not a workbook: said too (in the workbook's language)
    bad = tmp_path / "bad" / "settings.xlsx"
    bad.parent.mkdir()
    bad.write_bytes(b"not a workbook at all")
    conf.range(f"B{len(rows) + 1}").value = str(bad)
    text = buttons.validate(book, today=D(2024, 3, 8))
    assert text.startswith("Validate: cannot read the team's settings: ") and str(bad) in text
    assert "not an Excel workbook" in text and "Traceback" not in text
