"""People and settings a team really types: names padded with a space, names not on the
roster, blank or bad settings cells, and dropdowns kept in step with the roster."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.worksheet.worksheet import Worksheet
from typer.testing import CliRunner

from xlsales import tables as T
from xlsales.cli import app
from xlsales.figures import UNASSIGNED
from xlsales.jobs import run_completion, run_compliance, run_forecast, run_spotcheck
from xlsales.sample import SAMPLE_TODAY, generate
from xlsales.workspace import BOOK_BY_KEY, read_settings, write_workspace

runner = CliRunner()
ON = SAMPLE_TODAY.isoformat()


@pytest.fixture(scope="module")
def sample_zh(sample_team: Callable[[str], Path]) -> Path:
    return sample_team("zh")


@pytest.fixture
def team(sample_copy: Callable[[str], Path]) -> Path:
    return sample_copy("zh")


def header_cells(ws: Worksheet, spec_key: str) -> tuple[int, dict[str, int]]:
    """The header row of table ``spec_key`` on ``ws`` and its columns by key (1-based)."""
    spec = T.get(spec_key)
    headers = {c.header("zh"): c.key for c in spec.columns}
    for row in ws.iter_rows(max_row=10):
        found = {headers[c.value]: c.column for c in row if c.value in headers}
        if len(found) >= 2:
            return row[0].row, found
    raise AssertionError(f"no header of {spec_key} on {ws.title}")


def edit(path: Path, sheet: str, spec_key: str,
         change: Any) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    header, cols = header_cells(ws, spec_key)
    change(ws, header, cols)
    wb.save(path)


def rows_of(ws: Worksheet, header: int, cols: dict[str, int], key: str, value: Any
            ) -> list[int]:
    return [r for r in range(header + 1, ws.max_row + 1)
            if ws.cell(r, cols[key]).value == value]


# -- names ----------------------------------------------------------------------------------

@pytest.mark.parametrize("padded", ["刘 洋", "刘\u3000洋", "刘\u200b洋", "刘 \u3000洋"],
                         ids=["ascii", "full-width", "zero-width", "two"])
def test_a_name_padded_with_a_space_is_the_same_rep(team: Path, padded: str) -> None:
    daily = team / "daily_report.xlsx"
    march = dt.datetime(2024, 3, 1)
    changed: list[str] = []

    def pad(ws: Worksheet, header: int, cols: dict[str, int]) -> None:
        for r in rows_of(ws, header, cols, "rep", "刘洋"):
            if ws.cell(r, cols["date"]).value >= march:
                ws.cell(r, cols["rep"]).value = padded  # the usual two-character padding
                changed.append(ws.cell(r, cols["rep"]).coordinate)
    edit(daily, "销售日报", "daily", pad)
    assert len(changed) > 5

    result = runner.invoke(app, ["validate", str(daily), "--json", "--on", ON])
    found = json.loads(result.stdout)["findings"]
    spaced = [f for f in found if f["rule"] == "cell.name_spacing"]
    assert sorted(f["cell"] for f in spaced) == sorted(changed)
    assert all("刘洋" in f["message"] and f["severity"] == "warning" for f in spaced)
    if "\u200b" in padded:  # the invisible character is named, as typed
        assert {f["message"] for f in spaced} == {
            "销售代表:'刘<U+200B>洋' 按名单读作 刘洋(名字里的空格或不可见字符已忽略)"}
    assert not [f for f in found if f["rule"] == "cell.choice" and f["value"] == padded]

    reps = {r.rep: r for r in run_compliance(team, "2024-03", today=SAMPLE_TODAY)[0]}
    assert padded not in reps
    untouched = {r.rep: r for r in run_compliance(
        _pristine(team), "2024-03", today=SAMPLE_TODAY)[0]}
    assert reps["刘洋"].missing_days == untouched["刘洋"].missing_days
    completion = run_completion(team, "2024-03", today=SAMPLE_TODAY)
    assert padded not in {r.key for r in completion.rows}


def _pristine(team: Path) -> Path:
    """The untouched sample team beside ``team``."""
    fresh = team.parent / "pristine"
    if not fresh.exists():
        sample = generate(2024)
        write_workspace(fresh, sample.settings, sample.data, lang="zh")
    return fresh


def test_a_name_not_on_the_roster_is_a_finding_and_never_picked(team: Path) -> None:
    daily = team / "daily_report.xlsx"
    day = SAMPLE_TODAY
    cells: list[str] = []

    def stranger(ws: Worksheet, header: int, cols: dict[str, int]) -> None:
        for r in range(header + 1, ws.max_row + 1):
            when = ws.cell(r, cols["date"]).value
            if isinstance(when, dt.datetime) and when.date() == day:
                ws.cell(r, cols["rep"]).value = "小王"
                cells.append(ws.cell(r, cols["rep"]).coordinate)
                break
    edit(daily, "销售日报", "daily", stranger)
    assert cells
    found = json.loads(runner.invoke(
        app, ["validate", str(daily), "--json", "--on", ON]).stdout)["findings"]
    assert any(f["rule"] == "cell.choice" and f["cell"] == cells[0] and f["value"] == "小王"
               for f in found)
    for seed in range(12):
        result = run_spotcheck(team, day, share=1.0, seed=seed)
        assert "小王" not in {p.rep for p in result.picks}
        assert result.picks


# -- settings -------------------------------------------------------------------------------

def test_a_blank_region_counts_under_unassigned_and_regions_add_up(team: Path) -> None:
    settings_path = team / "settings.xlsx"
    blanked: list[str] = []

    def blank(ws: Worksheet, header: int, cols: dict[str, int]) -> None:
        ws.cell(header + 1, cols["region"]).value = None
        blanked.append(str(ws.cell(header + 1, cols["rep"]).value))
    edit(settings_path, "销售团队", "roster", blank)
    settings_ = read_settings(team)
    [problem] = settings_.problems
    assert problem.rule == "settings.unassigned" and blanked[0] in problem.message
    for command in (["completion", "--period", "2024-03", "--by", "region"],
                    ["forecast", "--period", "2024Q1", "--by", "region"]):
        assert runner.invoke(app, [*command, "-w", str(team), "--on", ON]).exit_code == 0

    unassigned = UNASSIGNED("zh")
    by_region = run_completion(team, "2024-03", by="region", today=SAMPLE_TODAY)
    by_team = run_completion(team, "2024-03", by="team", today=SAMPLE_TODAY)
    regions = {r.key: r for r in by_region.rows}
    assert blanked[0] in regions[unassigned].reps
    assert sum(r.actual for r in by_region.rows) == pytest.approx(by_team.rows[0].actual)

    forecast_regions = run_forecast(team, "2024Q1", by="region")
    forecast_team = run_forecast(team, "2024Q1", by="team")
    assert unassigned in {r.key for r in forecast_regions.rows}
    for figure in ("won", "weighted", "pipeline_amount"):
        assert sum(getattr(r, figure) for r in forecast_regions.rows) == pytest.approx(
            sum(getattr(r, figure) for r in forecast_team.rows)), figure


def test_an_owner_not_on_the_roster_stays_in_the_forecast(team: Path) -> None:
    path = team / "customers.xlsx"
    sheet = T.get("opportunities").sheet("zh")

    before = run_forecast(team, "2024Q2", by="team").rows[0]
    rep = generate(2024).settings.roster[0].rep

    def stranger(ws: Worksheet, header: int, cols: dict[str, int]) -> None:
        for r in rows_of(ws, header, cols, "owner", rep):  # the rep left; a contractor
            ws.cell(r, cols["owner"]).value = "外包小李"   # took the deals over
    edit(path, sheet, "opportunities", stranger)
    regions = {r.key: r for r in run_forecast(team, "2024Q2", by="region").rows}
    whole = run_forecast(team, "2024Q2", by="team").rows[0]
    assert regions[UNASSIGNED("zh")].weighted > 0
    for figure in ("won", "weighted", "pipeline_amount"):
        assert sum(getattr(r, figure) for r in regions.values()) == pytest.approx(
            getattr(whole, figure)), figure
        assert getattr(whole, figure) == pytest.approx(getattr(before, figure)), figure


def test_strangers_rows_stay_in_the_reviews_team_figures(team: Path, tmp_path: Path) -> None:
    """Deals won by an owner off the roster (or by no one) and a daily of someone off the
    roster count in the review's sales, won amount and reconciliation as they do in
    completion, forecast and funnel: no false "amounts do not match" warning."""
    owners: list[str] = []

    def hand_over(ws: Worksheet, header: int, cols: dict[str, int]) -> None:
        for r in range(header + 1, ws.max_row + 1):
            closed = ws.cell(r, cols["closed_on"]).value
            if (isinstance(closed, dt.datetime) and closed.strftime("%Y-%m") == "2024-03"
                    and ws.cell(r, cols["stage"]).value == "签约成交" and len(owners) < 2):
                owners.append(ws.cell(r, cols["owner"]).value)
                ws.cell(r, cols["owner"]).value = "外包小李" if len(owners) == 1 else None
    edit(team / "customers.xlsx", T.get("opportunities").sheet("zh"), "opportunities",
         hand_over)
    assert len(owners) == 2

    def stranger(ws: Worksheet, header: int, cols: dict[str, int]) -> None:
        for r in range(header + 1, ws.max_row + 1):
            when = ws.cell(r, cols["date"]).value
            if isinstance(when, dt.datetime) and when.date() == dt.date(2024, 3, 19):
                ws.cell(r, cols["rep"]).value = "小王"
                ws.cell(r, cols["amount_signed"]).value = 5
                return
    edit(team / "daily_report.xlsx", "销售日报", "daily", stranger)

    def cli(*words: str) -> dict[str, Any]:
        result = runner.invoke(app, [*words, "-w", str(team), "--json"])
        assert result.exit_code in (0, 1), result.output
        return json.loads(result.stdout)
    signed = cli("completion", "--period", "2024-03", "--by", "team", "--on", ON)["rows"][0]
    won = cli("forecast", "--period", "2024-03", "--by", "team")["rows"][0]["won"]
    assert cli("funnel", "--period", "2024-03")["won_amount"] == pytest.approx(won)
    review = cli("review", "--month", "2024-03", "--on", "2024-04-15", "--out",
                 str(tmp_path / "review.xlsx"))
    rec = review["reconciliation"]
    assert rec["opportunities_won"] == pytest.approx(won)
    assert rec["dailies"] == pytest.approx(signed["actual"])
    assert rec["difference"] == pytest.approx(won - signed["actual"])
    assert abs(rec["difference"]) == pytest.approx(5.0)  # 小王's daily, nothing else
    assert rec["warning"] is None and not review["warnings"]
    sales = next(m for m in review["metrics"] if m["key"] == "sales")
    assert sales["actual"] == pytest.approx(signed["actual"])
    assert sales["target"] == pytest.approx(signed["target"])
    # the comparison sheet: every level adds up to the team; strangers are rows of their
    # own ("unassigned" for the deal without an owner), with no target and no rank
    for level in ("rep", "region", "product"):
        rows = [h for h in review["horizontal"] if h["level_code"] == level]
        assert sum(h["sales"] for h in rows) == pytest.approx(sales["actual"]), level
    reps = {h["name"]: h for h in review["horizontal"] if h["level_code"] == "rep"}
    for name in ("小王", "外包小李", UNASSIGNED("zh")):
        assert reps[name]["quota"] is None and reps[name]["rank"] is None, name
        assert not reps[name]["top"] and not reps[name]["below"], name
    assert reps["小王"]["sales"] == 5.0
    regions = {h["name"]: h for h in review["horizontal"] if h["level_code"] == "region"}
    assert regions[UNASSIGNED("zh")]["sales"] == 5.0 and regions[UNASSIGNED("zh")]["rank"] is None


def test_bad_settings_cells_are_findings_and_the_rest_is_used(team: Path) -> None:
    path = team / "settings.xlsx"
    where: dict[str, str] = {}

    def spoil(ws: Worksheet, header: int, cols: dict[str, int]) -> None:
        for r in range(header + 1, ws.max_row + 1):
            key = ws.cell(r, cols["key"]).value
            if key == "completion_threshold":
                ws.cell(r, cols["value"]).value = "八成"
                where["threshold"] = ws.cell(r, cols["value"]).coordinate
            elif key == "calendar":
                ws.cell(r, cols["value"]).value = "XX"
                where["calendar"] = ws.cell(r, cols["value"]).coordinate
    edit(path, T.get("options").sheet("zh"), "options", spoil)

    def nameless(ws: Worksheet, header: int, cols: dict[str, int]) -> None:
        ws.cell(header + 2, cols["rep"]).value = None
        where["rep"] = ws.cell(header + 2, cols["rep"]).coordinate
    edit(path, T.get("roster").sheet("zh"), "roster", nameless)

    settings_ = read_settings(team)
    assert settings_.general.completion_threshold == 0.8  # the default
    assert settings_.general.calendar == "CN"
    assert len(settings_.roster) == len(generate(2024).settings.roster) - 1
    got = {(p.rule, p.cell) for p in settings_.problems}
    assert got == {("settings.option", where["threshold"]), ("settings.option",
                   where["calendar"]), ("settings.row_left_out", where["rep"])}
    assert all(p.sheet and p.file == str(path) for p in settings_.problems)

    result = runner.invoke(app, ["validate", str(path), "--json"])
    assert result.exit_code == 1
    assert {(f["rule"], f["cell"]) for f in json.loads(result.stdout)["findings"]} == got
    followups = runner.invoke(app, ["followups", "-w", str(team), "--on", ON])
    assert followups.exit_code == 0, followups.output
    assert "settings.xlsx" in "".join(followups.stderr.split())


def test_a_missing_settings_sheet_is_a_finding_not_a_failure(team: Path) -> None:
    path = team / "settings.xlsx"
    wb = openpyxl.load_workbook(path)
    del wb[T.get("tiers").sheet("zh")]
    wb.save(path)
    settings_ = read_settings(team)
    assert [p.rule for p in settings_.problems] == ["settings.no_table"]
    assert runner.invoke(app, ["followups", "-w", str(team), "--on", ON]).exit_code == 0


TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=12)
VALUES = st.one_of(st.none(), TEXT, st.integers(-10**6, 10**6),
                   st.floats(allow_nan=False, allow_infinity=False, width=32),
                   st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1)), st.booleans())


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_settings_reading_never_raises(sample_zh: Path, tmp_path_factory: pytest.TempPathFactory,
                                       data: st.DataObject) -> None:
    root = tmp_path_factory.mktemp("fuzzed")
    shutil.copy(sample_zh / "settings.xlsx", root / "settings.xlsx")
    path = root / "settings.xlsx"
    wb = openpyxl.load_workbook(path)
    cells = []
    for ws in wb.worksheets:
        if ws.title.startswith("_"):
            continue
        for row in ws.iter_rows(min_row=4, max_row=min(ws.max_row, 30)):
            cells += [c for c in row if not isinstance(c, openpyxl.cell.cell.MergedCell)]
    for cell in data.draw(st.lists(st.sampled_from(cells), min_size=1, max_size=8)):
        cell.value = data.draw(VALUES)
    wb.save(path)
    settings_ = read_settings(root)  # never raises for what is in the cells
    assert all(p.sheet and p.cell for p in settings_.problems if p.rule != "settings.no_table")


# -- dropdowns ------------------------------------------------------------------------------

def test_settings_sync_puts_a_new_rep_in_every_dropdown(team: Path) -> None:
    path = team / "settings.xlsx"

    def hire(ws: Worksheet, header: int, cols: dict[str, int]) -> None:
        last = max(r for r in range(header + 1, ws.max_row + 1)
                   if ws.cell(r, cols["rep"]).value)
        for c in cols.values():
            ws.cell(last + 1, c).value = ws.cell(last, c).value
        ws.cell(last + 1, cols["rep"]).value = "新人甲"
    edit(path, T.get("roster").sheet("zh"), "roster", hire)

    daily = team / "daily_report.xlsx"
    before = _parts(daily)
    result = runner.invoke(app, ["settings", "sync", "-w", str(team), "--json"])
    assert result.exit_code == 0, result.output
    written = {Path(p).name for p in json.loads(result.stdout)["written"]}
    assert {"daily_report.xlsx", "customers.xlsx", "targets.xlsx"} <= written
    after = _parts(daily)
    changed = {p for p in before if before[p] != after.get(p)}
    lists_part = _sheet_part(daily, "_lists")
    assert changed == {"xl/workbook.xml", lists_part}  # nothing else of the workbook
    wb = openpyxl.load_workbook(daily)
    reps_ref = wb.defined_names["xs_reps"].attr_text
    names = [c.value for row in wb["_lists"][reps_ref.split("!")[1].replace("$", "")]
             for c in row]
    assert names[-1] == "新人甲" and len(names) == len(generate(2024).settings.roster) + 1
    assert wb["_lists"].sheet_state == "hidden"

    again = runner.invoke(app, ["settings", "sync", "-w", str(team), "--json"])
    assert json.loads(again.stdout)["written"] == []


def _dropdown(path: Path, name: str) -> list[Any]:
    """The values a workbook's dropdown list ``name`` (defined name xs_<name>) offers."""
    wb = openpyxl.load_workbook(path)
    sheet, ref = wb.defined_names[f"xs_{name}"].attr_text.split("!")
    return [c.value for row in wb[sheet.strip("'")][ref.replace("$", "")] for c in row
            if c.value is not None]


def test_after_init_the_roster_fills_every_dropdown(tmp_path: Path) -> None:
    """A new team: init, type the roster (one rep without a product line), sync — the
    rep, region and product-line dropdowns of every workbook offer the roster's values;
    the blank cell is a finding naming it and commands go on."""
    root = tmp_path / "team"
    assert runner.invoke(app, ["init", str(root)]).exit_code == 0
    assert _dropdown(root / "targets.xlsx", "regions") == []  # init has no region yet

    def fill(ws: Worksheet, header: int, cols: dict[str, int]) -> None:
        for n, (rep, region, line) in enumerate([("王强", "华东", "产品线A"),
                                                 ("刘洋", "华东", None),
                                                 ("李娜", "华南", "产品线B")], header + 1):
            ws.cell(n, cols["rep"]).value = rep
            ws.cell(n, cols["region"]).value = region
            ws.cell(n, cols["product_line"]).value = line
    edit(root / "settings.xlsx", T.get("roster").sheet("zh"), "roster", fill)

    result = runner.invoke(app, ["validate", str(root / "settings.xlsx"), "--json"])
    assert result.exit_code == 0, result.output
    [finding] = json.loads(result.stdout)["findings"]
    assert (finding["rule"], finding["sheet"]) == ("settings.unassigned", "销售团队")
    assert "刘洋" in finding["message"] and finding["cell"].startswith("C")

    sync = runner.invoke(app, ["settings", "sync", "-w", str(root), "--json"])
    assert sync.exit_code == 0, sync.output
    written = {Path(p).name for p in json.loads(sync.stdout)["written"]}
    assert {"daily_report.xlsx", "customers.xlsx", "targets.xlsx"} <= written
    for book in ("targets.xlsx", "customers.xlsx", "daily_report.xlsx"):
        assert _dropdown(root / book, "reps") == ["王强", "刘洋", "李娜"], book
        assert _dropdown(root / book, "regions") == ["华东", "华南"], book
        assert _dropdown(root / book, "product_lines") == ["产品线A", "产品线B"], book
    done = runner.invoke(app, ["completion", "--period", "2026q4", "--by", "product", "-w",
                               str(root), "--on", "2026-12-01", "--json"])
    assert done.exit_code == 0, done.output
    assert {r["key"] for r in json.loads(done.stdout)["rows"]} == {
        "产品线A", "产品线B", UNASSIGNED("zh")}


def test_a_writing_command_brings_its_workbook_dropdowns_up_to_date(team: Path) -> None:
    path = team / "settings.xlsx"

    def rename_region(ws: Worksheet, header: int, cols: dict[str, int]) -> None:
        for r in range(header + 1, ws.max_row + 1):
            if ws.cell(r, cols["zh"]).value == "华东":
                ws.cell(r, cols["zh"]).value = "华东大区"
    edit(path, T.get("lists").sheet("zh"), "lists", rename_region)
    result = runner.invoke(app, ["rollup", str(team), "--week", "2024-W12", "--on", ON])
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(team / "daily_report.xlsx")
    values = {c.value for row in wb["_lists"].iter_rows() for c in row}
    assert "华东大区" in values and "华东" not in values


def test_outside_a_workspace_the_dropdowns_are_never_touched(team: Path, tmp_path: Path) -> None:
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(team / "daily_report.xlsx", alone / "daily_report.xlsx")
    lists_part = _sheet_part(alone / "daily_report.xlsx", "_lists")
    before = _parts(alone / "daily_report.xlsx")[lists_part]
    result = runner.invoke(app, ["rollup", str(alone), "--week", "2024-W12", "--on", ON])
    assert result.exit_code == 0, result.output
    assert _parts(alone / "daily_report.xlsx")[lists_part] == before


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _sheet_part(path: Path, sheet: str) -> str:
    from xlsales.io.read.package import Package

    with Package(path) as pkg:
        info = pkg.sheet(sheet)
        assert info is not None
        return info.part


def test_the_settings_workbook_is_where_read_settings_reads(team: Path) -> None:
    assert (team / BOOK_BY_KEY["settings"].filename).exists()
    assert read_settings(team).source == team / "settings.xlsx"


def test_open_deals_without_a_close_date_are_named_not_dropped(team: Path) -> None:
    path = team / "customers.xlsx"
    sheet = T.get("opportunities").sheet("zh")
    cleared: dict[str, str] = {}

    def undate(ws: Worksheet, header: int, cols: dict[str, int]) -> None:
        for r in range(header + 1, ws.max_row + 1):
            close = ws.cell(r, cols["expected_close"])
            if close.value and ws.cell(r, cols["stage"]).value in ("需求分析", "方案提交"):
                close.value = None
                cleared[str(ws.cell(r, cols["opp_id"]).value)] = close.coordinate
                if len(cleared) == 7:
                    return
    edit(path, sheet, "opportunities", undate)
    result = runner.invoke(app, ["forecast", "--period", "2024Q2", "-w", str(team), "--json"])
    left = json.loads(result.stdout)["left_out"]["no_close_date"]
    assert left["count"] == 7 and {d["opp_id"] for d in left["deals"]} == set(cleared)
    assert left["amount"] > 0
    plain = runner.invoke(app, ["forecast", "--period", "2024Q2", "-w", str(team)])
    assert "有7个商机未计入预测" in "".join(plain.stderr.split())
    found = json.loads(runner.invoke(app, ["validate", str(path), "--json", "--on", ON]
                                     ).stdout)["findings"]
    assert {f["cell"] for f in found if f["rule"] == "T7.no_expected_close"} == set(
        cleared.values())


def test_deals_in_a_stage_the_settings_do_not_know_are_named_not_dropped(team: Path) -> None:
    """A stage typed outside the list (方案评审) puts a deal in no stage: the forecast and
    the funnel name it in their "unknown stage" bucket and warn, the rest is unchanged."""
    path = team / "customers.xlsx"
    before = json.loads(runner.invoke(app, ["funnel", "--period", "2024Q2", "-w", str(team),
                                            "--json"]).stdout)
    assert "left_out" not in before
    renamed: dict[str, float] = {}

    def retype(ws: Worksheet, header: int, cols: dict[str, int]) -> None:
        for r in range(header + 1, ws.max_row + 1):
            if ws.cell(r, cols["stage"]).value == "方案提交" and len(renamed) < 2:
                ws.cell(r, cols["stage"]).value = "方案评审"
                renamed[str(ws.cell(r, cols["opp_id"]).value)] = ws.cell(r, cols["amount"]).value
    edit(path, T.get("opportunities").sheet("zh"), "opportunities", retype)
    assert len(renamed) == 2
    for command in ("forecast", "funnel"):
        result = runner.invoke(app, [command, "--period", "2024Q2", "-w", str(team), "--json"])
        left = json.loads(result.stdout)["left_out"]["unknown_stage"]
        assert left["count"] == 2 and {d["opp_id"] for d in left["deals"]} == set(renamed)
        assert {d["stage"] for d in left["deals"]} == {"方案评审"}
        assert left["amount"] == pytest.approx(sum(renamed.values()))
        plain = runner.invoke(app, [command, "--period", "2024Q2", "-w", str(team)])
        into = "预测" if command == "forecast" else "漏斗"
        assert f"有2个商机未计入{into}(阶段不在设置中)" in "".join(plain.stderr.split())
        assert all(i in plain.stderr for i in renamed)
    after = json.loads(runner.invoke(app, ["funnel", "--period", "2024Q2", "-w", str(team),
                                           "--json"]).stdout)
    was = {s["stage"]: s for s in before["stages"]}
    now = {s["stage"]: s for s in after["stages"]}
    assert now["方案提交"]["open_count"] + 2 == was["方案提交"]["open_count"]  # the two open
    assert now["方案提交"]["open_amount"] + sum(renamed.values()) == pytest.approx(  # deals
        was["方案提交"]["open_amount"])                            # are the bucket's
    found = json.loads(runner.invoke(app, ["validate", str(path), "--json", "--on", ON]
                                     ).stdout)["findings"]
    assert len([f for f in found if f["rule"] == "cell.choice" and f["value"] == "方案评审"]) == 2


def test_a_negative_serial_in_a_date_column_is_a_finding(sample_zh: Path,
                                                          tmp_path: Path) -> None:
    """A date cell holding a number before Excel's calendar (a negative serial, as a
    typed formula result can give) is reported where it is; reading never raises."""
    shutil.copy(sample_zh / "settings.xlsx", tmp_path / "settings.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "settings.xlsx")
    ws = wb["销售团队"]
    header = next(r for r in ws.iter_rows(max_row=10) if any(c.value == "入职日期" for c in r))
    column = next(c.column_letter for c in header if c.value == "入职日期")
    ws[f"{column}{header[0].row + 2}"] = -693595
    wb.save(tmp_path / "settings.xlsx")
    settings_ = read_settings(tmp_path)
    assert any(p.sheet == "销售团队" and p.cell == f"{column}{header[0].row + 2}"
               for p in settings_.problems), settings_.problems
