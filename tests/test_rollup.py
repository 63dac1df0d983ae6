"""Weekly rollup, completion rates, discipline and the spot-check."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlsales.calendar import WorkCalendar, week_days, week_label
from xlsales.discipline import discipline
from xlsales.jobs import run_rollup, run_spotcheck
from xlsales.performance import Targets, completion, period_target
from xlsales.rollup import weekly_rollup
from xlsales.sample import SAMPLE_TODAY, generate
from xlsales.settings import RosterEntry, Settings
from xlsales.spotcheck import spot_check
from xlsales.tables.weekly import WEEKLY
from xlsales.workspace import write_workspace

D = dt.date
REPS = ["甲", "乙", "丙", "丁"]


def team() -> Settings:
    s = Settings.default()
    s.roster = [RosterEntry(rep=r, region="东" if i < 2 else "西", product_line="A")
                for i, r in enumerate(REPS)]
    return s


day_in_2024 = st.dates(D(2024, 1, 1), D(2024, 12, 31))
daily_row = st.fixed_dictionaries({
    "date": day_in_2024, "rep": st.sampled_from(REPS),
    "visits": st.integers(0, 20), "effective": st.integers(0, 20),
    "new_customers": st.integers(0, 5), "proposals": st.integers(0, 5),
    "amount_signed": st.floats(0, 500, allow_nan=False).map(lambda x: round(x, 2)),
})


def unique_days(rows: list[dict]) -> list[dict]:
    seen: dict[tuple, dict] = {}
    for r in rows:
        seen.setdefault((r["rep"], r["date"]), r)
    return list(seen.values())


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(daily_row, max_size=40).map(unique_days))
def test_weekly_totals_equal_the_daily_rows(rows: list[dict]) -> None:
    weeks = sorted({week_label(r["date"]) for r in rows})
    out = weekly_rollup(rows, Targets(), team(), weeks)
    df = pd.DataFrame(rows, columns=["date", "rep", "visits", "effective", "new_customers",
                                     "proposals", "amount_signed"])
    for r in out:
        mine = df[df["date"].map(week_label) == r.week] if len(df) else df
        if r.level == "rep":
            mine = mine[mine["rep"] == r.name]
        elif r.level == "region":
            mine = mine[mine["rep"].isin(REPS[:2] if r.name == "东" else REPS[2:])]
        for key in ("visits", "effective", "new_customers", "proposals"):
            assert getattr(r, key) == int(mine[key].sum()), (r.week, r.name, key)
        assert r.amount_signed == pytest.approx(float(mine["amount_signed"].sum()))
    team_rows = [r for r in out if r.level == "team"]
    assert sum(r.visits for r in team_rows) == sum(r["visits"] for r in rows)


@settings(max_examples=60, deadline=None)
@given(actual=st.floats(0, 1e6, allow_nan=False),
       target=st.one_of(st.none(), st.just(0.0), st.floats(0.01, 1e6)))
def test_completion_is_actual_over_target(actual: float, target: float | None) -> None:
    s = team()
    rows = [{"date": D(2024, 3, 5), "rep": "甲", "amount_signed": actual}]
    targets = Targets()
    if target is not None:
        targets.months[("甲", 2024, 3)] = target
    result = completion(rows, targets, s, D(2024, 3, 1), D(2024, 3, 31))
    row = next(r for r in result.rows if r.key == "甲")
    if not target:
        assert row.rate is None and row.rank is None
    else:
        assert row.rate == pytest.approx(actual / target)


def test_month_target_spreads_over_working_days() -> None:
    cal = WorkCalendar()
    targets = Targets(months={("甲", 2024, 2): 30.0})
    # February 2024: 18 working days (Spring Festival week off, 4 and 18 Feb worked).
    assert cal.count(D(2024, 2, 1), D(2024, 2, 29)) == 18
    assert period_target(targets, "甲", D(2024, 2, 1), D(2024, 2, 29), cal) == pytest.approx(30)
    week = period_target(targets, "甲", *week_days("2024-W05"), cal)  # 29 Jan - 4 Feb
    assert week == pytest.approx(30 / 18 * 3)  # Thu 1, Fri 2 and make-up Sun 4 Feb
    assert period_target(targets, "甲", D(2024, 2, 10), D(2024, 2, 17), cal) == 0.0
    assert period_target(targets, "乙", D(2024, 2, 1), D(2024, 2, 29), cal) is None


def test_top3_and_threshold() -> None:
    s = team()
    targets = Targets(months={(r, 2024, 3): 10.0 for r in REPS})
    rows = [{"date": D(2024, 3, 5), "rep": r, "amount_signed": a}
            for r, a in zip(REPS, (12, 9, 7.9, 0), strict=True)]
    result = completion(rows, targets, s, D(2024, 3, 1), D(2024, 3, 31))
    # 丙 (79 %) is third but under the 80 % line: listed below it, not in the TOP list
    assert [r.key for r in result.top] == ["甲", "乙"] and result.top_label == "TOP3"
    assert [r.key for r in result.below] == ["丙", "丁"]
    assert [r.rank for r in result.rows] == [1, 2, 3, 4]
    region = completion(rows, targets, s, D(2024, 3, 1), D(2024, 3, 31), by="region")
    assert {r.key: r.rate for r in region.rows} == pytest.approx({"东": 21 / 20, "西": 7.9 / 20})
    assert region.top_label == "TOP2" and [r.key for r in region.top] == ["东"]
    assert region.as_dict()["top_label"] == "TOP2"


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 30), share=st.floats(0.05, 1.0), seed=st.integers(0, 10_000))
def test_spot_check_draws_ceil_share_n_distinct_rows(n: int, share: float, seed: int) -> None:
    s = Settings.default()
    names = [f"R{i:02d}" for i in range(n)]
    s.roster = [RosterEntry(rep=r, region="x", product_line="y") for r in names]
    day = D(2024, 3, 6)
    rows = [{"date": day, "rep": r, "visits": 1, "effective": 1} for r in names]
    picks = spot_check(rows, day, share=share, seed=seed, settings=s)
    assert len(picks) == math.ceil(share * n - 1e-9)
    assert len({p.rep for p in picks}) == len(picks)
    assert [p.rep for p in picks] == [p.rep for p in spot_check(rows, day, share=share,
                                                                 seed=seed, settings=s)]


def test_spot_check_covers_every_rep_before_anyone_twice() -> None:
    sample = generate()
    checked: Counter[str] = Counter()
    for day in WorkCalendar().days(*week_days("2024-W12")):
        picks = spot_check(sample.data["daily"], day, share=0.3, seed=7,
                           settings=sample.settings)
        for p in picks:
            if checked[p.rep]:
                assert all(checked[r] for r in sample.settings.reps()), (day, p.rep)
            checked[p.rep] += 1
    assert set(checked) == set(sample.settings.reps())


def test_calendar_drives_week_ends_and_missing_days() -> None:
    s = team()
    cal = WorkCalendar()
    # National Day 2024: week 40 ends Mon 30 Sep… the holiday runs 1-7 Oct; the make-up
    # Saturday 12 Oct ends week 41.
    assert cal.week_end("2024-W41") == D(2024, 10, 12)
    assert cal.week_end("2024-W40") == D(2024, 9, 30)
    assert cal.week_end("2024-W39") == D(2024, 9, 29)  # make-up Sunday
    rows = [{"date": D(2024, 10, d), "rep": "甲", "visits": 1, "effective": 1}
            for d in (8, 9, 10, 11)]
    out = weekly_rollup(rows, Targets(), s, ["2024-W41"])
    mine = next(r for r in out if r.name == "甲")
    assert (mine.expected, mine.reported, mine.missing_days) == (5, 4, [D(2024, 10, 12)])
    other = next(r for r in out if r.name == "乙")
    assert other.expected == 5 and other.missing == 5
    # Spring Festival 2024: Sunday 4 Feb and Sunday 18 Feb are owed.
    rep = discipline([], s, D(2024, 2, 1), D(2024, 2, 29))[0]
    assert D(2024, 2, 4) in rep.missing_days and D(2024, 2, 18) in rep.missing_days
    assert rep.expected == 18


def test_discipline_respects_start_date_and_late() -> None:
    s = team()
    s.roster[0].start_date = D(2024, 3, 6)
    rows = [{"date": D(2024, 3, 6), "rep": "甲",
             "submitted_at": dt.datetime(2024, 3, 6, 18, 1)},
            {"date": D(2024, 3, 7), "rep": "甲",
             "submitted_at": dt.datetime(2024, 3, 7, 17, 59)}]
    rep = discipline(rows, s, D(2024, 3, 4), D(2024, 3, 8))[0]
    assert (rep.expected, rep.reported, rep.late, rep.missing) == (3, 2, 1, 1)
    assert rep.late_days == [D(2024, 3, 6)] and rep.missing_days == [D(2024, 3, 8)]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    sample = generate()
    write_workspace(tmp_path, sample.settings, sample.data)
    return tmp_path


def _week_sheet(path: Path, name: str) -> list[dict]:
    wb = openpyxl.load_workbook(path)
    ws = wb[name]
    rows = list(ws.iter_rows(values_only=True))
    header = next(i for i, r in enumerate(rows) if r and r[0] == WEEKLY.columns[0].header("zh"))
    keys = {h: WEEKLY.columns[[c.header("zh") for c in WEEKLY.columns].index(h)].key
            for h in rows[header] if h}
    return [{keys[h]: v for h, v in zip(rows[header], r, strict=False) if h}
            for r in rows[header + 1:] if any(v is not None for v in r)]


def test_rerunning_a_week_replaces_it_and_keeps_comments(workspace: Path) -> None:
    first = run_rollup(workspace, week="2024-W12", today=SAMPLE_TODAY)
    sheet = first.sheets[0]
    path = workspace / "daily_report.xlsx"
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    rows = _week_sheet(path, sheet)
    target = next(i for i, r in enumerate(rows) if r["name"] == "李娜")
    comment_col = [c.key for c in WEEKLY.columns].index("comment") + 1
    header_row = next(r[0].row for r in ws.iter_rows() if r[0].value == "周")
    ws.cell(row=header_row + 1 + target, column=comment_col, value="=不是公式,跟进报价")
    ws.cell(row=header_row + 1 + target, column=comment_col).data_type = "s"
    wb.save(path)
    again = run_rollup(workspace, week="2024-W12", today=SAMPLE_TODAY)
    assert again.sheets == first.sheets
    after = _week_sheet(path, sheet)
    assert len(after) == len(rows)
    assert next(r for r in after if r["name"] == "李娜")["comment"] == "=不是公式,跟进报价"
    assert all(r["comment"] is None for r in after if r["name"] != "李娜")
    assert openpyxl.load_workbook(path).sheetnames.count(sheet) == 1


def test_rollup_of_the_sample_matches_an_independent_pandas_sum(workspace: Path) -> None:
    result = run_rollup(workspace, month="2024-03", today=SAMPLE_TODAY, write=False)
    sample = generate()
    df = pd.DataFrame(sample.data["daily"]).drop_duplicates(["rep", "date"], keep="last")
    df["week"] = df["date"].map(week_label)
    sums = df.groupby(["week", "rep"])[["visits", "effective", "amount_signed"]].sum()
    for r in result.rows:
        if r.level != "rep":
            continue
        expected = sums.loc[(r.week, r.name)] if (r.week, r.name) in sums.index else None
        assert expected is not None
        assert r.visits == expected["visits"] and r.effective == expected["effective"]
        assert r.amount_signed == pytest.approx(expected["amount_signed"])
    assert result.dropped == 1
    assert result.errors >= 5


def test_spotcheck_mark_keeps_earlier_marks(workspace: Path) -> None:
    a = run_spotcheck(workspace, D(2024, 3, 28), mark=True)
    b = run_spotcheck(workspace, D(2024, 3, 29), mark=True)
    assert a.marked and b.marked
    from xlsales.workspace import read_table

    rows = read_table(workspace, "daily")
    marked = {(r["rep"], r["date"]): r["spot_check"] for r in rows if r.get("spot_check")}
    assert marked == {**{(p.rep, p.date): D(2024, 3, 28) for p in a.picks},
                      **{(p.rep, p.date): D(2024, 3, 29) for p in b.picks}}
    yang = next(r for r in rows if r["rep"] == "杨帆" and r["date"] == D(2024, 3, 29))
    if any(p.rep == "杨帆" for p in b.picks):
        assert "次日计划" in (yang.get("check_result") or "")


@pytest.mark.libreoffice
def test_weekly_and_compliance_formulas_recalculate_like_python(
        workspace: Path, soffice: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    from xlsales.io.libreoffice import recalculate
    from xlsales.jobs import run_compliance
    from xlsales.tables.weekly import COMPLIANCE

    result = run_rollup(workspace, month="2024-03", today=SAMPLE_TODAY)
    reps, _ = run_compliance(workspace, "2024Q1", today=SAMPLE_TODAY, write=True)
    out = recalculate(workspace / "daily_report.xlsx", tmp_path_factory.mktemp("recalc"),
                      soffice=soffice)
    wb = openpyxl.load_workbook(out, data_only=True)
    checked = 0
    for sheet in result.sheets:
        ws = wb[sheet]
        rows = list(ws.iter_rows(values_only=True))
        header = next(i for i, r in enumerate(rows) if r and r[0] == "周")
        col = {c.key: rows[header].index(c.header("zh")) for c in WEEKLY.columns}
        python = {(r.level, r.name): r for r in result.rows if r.week == sheet[-8:]}
        levels = {"代表": "rep", "区域小计": "region", "团队合计": "team"}
        for values in rows[header + 1:]:
            py = python[(levels[values[col["level"]]], values[col["name"]])]
            rate, comp = values[col["effective_rate"]], values[col["completion"]]
            assert (rate if rate != "" else None) == pytest.approx(py.effective_rate)
            if py.completion is None:
                assert comp == "无目标"
            else:
                assert comp == pytest.approx(py.completion)
            checked += 1
    assert checked >= 5 * 16
    ws = wb[COMPLIANCE.sheet("zh")]
    rows = list(ws.iter_rows(values_only=True))
    header = next(i for i, r in enumerate(rows) if r and r[0] == "期间")
    col = {c.key: rows[header].index(c.header("zh")) for c in COMPLIANCE.columns}
    by_rep = {r.rep: r for r in reps}
    for values in rows[header + 1:]:
        rep = by_rep[values[col["rep"]]]
        assert values[col["late_rate"]] == pytest.approx(rep.late_rate)
        assert values[col["missing_rate"]] == pytest.approx(rep.missing_rate)
    for sheet in wb.worksheets:
        for row in sheet.iter_rows(values_only=True):
            assert not any(isinstance(v, str) and v.startswith(("#", "Err:")) for v in row)


def test_folder_of_per_rep_workbooks_rolls_up_like_the_shared_one(tmp_path: Path) -> None:
    sample = generate()
    shared = tmp_path / "shared"
    write_workspace(shared, sample.settings, sample.data, books=["settings", "targets", "daily"])
    folder = tmp_path / "per_rep"
    write_workspace(folder, sample.settings, books=["settings", "targets"])
    write_workspace(folder, sample.settings, sample.data, books=["targets"])
    for rep in sample.settings.reps()[:12]:
        mine = [r for r in sample.data["daily"] if r["rep"] == rep]
        write_workspace(tmp_path / "tmp", sample.settings, {"daily": mine}, books=["daily"])
        (tmp_path / "tmp" / "daily_report.xlsx").rename(folder / f"daily_{rep}.xlsx")
    a = run_rollup(shared, week="2024-W12", today=SAMPLE_TODAY)
    b = run_rollup(folder, week="2024-W12", today=SAMPLE_TODAY)
    assert [r.as_dict() for r in a.rows] == [r.as_dict() for r in b.rows]
    assert b.written == folder / "weekly_report.xlsx"
    assert openpyxl.load_workbook(b.written).sheetnames == b.sheets


def test_leave_days_are_not_missing() -> None:
    sample = generate()
    liu = sample.settings.rep("刘洋")
    assert liu is not None and liu.leave
    rep = next(r for r in discipline(sample.data["daily"], sample.settings, D(2024, 1, 15),
                                     D(2024, 1, 19)) if r.rep == "刘洋")
    assert (rep.expected, rep.missing) == (2, 0)


def test_week_label_style(workspace: Path) -> None:
    from xlsales.workspace import read_settings

    s = read_settings(workspace)
    s.general.week_label = "monday"
    write_workspace(workspace, s, books=["settings"])
    result = run_rollup(workspace, week="2024-W12", today=SAMPLE_TODAY)
    assert result.sheets == ["周报 2024-03-18"]


def test_uncovered_calendar_year_is_a_warning(tmp_path: Path) -> None:
    from xlsales.validate import validate_file

    s = team()
    rows = [{"date": D(2099, 3, 2), "rep": "甲", "visits": 1, "effective": 1,
             "next_plan": "x"}]
    write_workspace(tmp_path, s, {"daily": rows}, books=["settings", "daily"])
    result = validate_file(tmp_path / "daily_report.xlsx", today=D(2099, 3, 3))
    assert [(f.rule, f.severity) for f in result.findings] == [
        ("T2.calendar_uncovered", "warning")]


def test_joined_texts_are_the_same_without_pyarrow(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.helpers import without_pyarrow
    from xlsales.rollup import _joined

    df = pd.DataFrame({"week": ["W1", "W1", "W2", "W1"], "rep": ["甲", "乙", "甲", "甲"],
                       "text": ["a", "b", "c", "d"]}, dtype="str")
    with_arrow = _joined(df, ["week", "rep"], "text")
    without_pyarrow(monkeypatch)
    without = _joined(df, ["week", "rep"], "text")
    as_rows = [tuple(r) for r in with_arrow.astype(object).itertuples(index=False)]
    assert as_rows == [tuple(r) for r in without.astype(object).itertuples(index=False)]
    assert as_rows == [("W1", "甲", "a; d"), ("W1", "乙", "b"), ("W2", "甲", "c")]


def test_the_command_line_sums_up_many_weeks_and_big_weeks(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    """Every rep of every week is in the sheets; the terminal gets one line per week for
    several weeks, and the regions of one week too big to list rep by rep."""
    from typer.testing import CliRunner

    import xlsales.cli as cli

    sample = generate(2024)
    root = tmp_path / "team"
    write_workspace(root, sample.settings, sample.data, lang="en")
    runner = CliRunner()
    args = ["rollup", str(root), "--on", SAMPLE_TODAY.isoformat()]
    many = runner.invoke(cli.app, [*args, "--month", "2024-03"], env={"COLUMNS": "200"})
    assert many.exit_code == 0, many.output
    assert "week by week" in many.output
    assert sum(line.count("2024-W1") for line in many.output.splitlines()
               if line.startswith("│")) == 4  # W10–W13: one line each
    rep = sample.settings.roster[0].rep
    assert rep not in many.output
    one = runner.invoke(cli.app, [*args, "--week", "2024-W12"], env={"COLUMNS": "200"})
    assert rep in one.output  # 12 reps: listed
    monkeypatch.setattr(cli, "ROLLUP_ROWS_SHOWN", 5)
    big = runner.invoke(cli.app, [*args, "--week", "2024-W12"], env={"COLUMNS": "200"})
    assert rep not in big.output and "12 reps" in big.output
    before = (root / "daily_report.xlsx").read_bytes()
    ahead = runner.invoke(cli.app, [*args, "--month", "2024-05"], env={"COLUMNS": "200"})
    assert ahead.exit_code == 0, ahead.output
    assert "nothing was written" in ahead.output
    assert (root / "daily_report.xlsx").read_bytes() == before


def test_a_month_under_way_rolls_up_the_weeks_so_far() -> None:
    """``--month`` of the current month covers its weeks up to today's: no empty sheets
    for weeks still to come; a month still to come has no weeks."""
    from xlsales.jobs.rollup import select_weeks

    empty = pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]")})
    assert select_weeks(empty, month="2024-03", today=dt.date(2024, 3, 13)) == [
        "2024-W09", "2024-W10", "2024-W11"]
    assert select_weeks(empty, month="2024-03", today=dt.date(2024, 5, 1)) == [
        "2024-W09", "2024-W10", "2024-W11", "2024-W12", "2024-W13"]
    assert select_weeks(empty, month="2024-04", today=dt.date(2024, 3, 29)) == []
