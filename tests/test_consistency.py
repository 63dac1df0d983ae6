"""One number for one thing: the sample team's figures for a week, a month and a quarter,
through every command and every output workbook, are equal — the team's quota (its own
total, labelled "team target"), its completion and its signed amount, the weighted
pipeline and the amount won, each stage's conversion, and the late and missing dailies.
Workbook cells are found by their headers; where two figures differ by design (signed in
the dailies / won in the opportunities, stage conversion / intent → won conversion) they
carry different names."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

from tests.helpers import read_block
from xlsales import tables as T
from xlsales.cli import app
from xlsales.io.read import WorkbookReader, read_records
from xlsales.performance import QUOTA_BASIS
from xlsales.sample import generate
from xlsales.settings import Settings
from xlsales.tables.agenda import MEETING_DATA
from xlsales.tables.pipeline import FORECAST, FORECAST_LINES, FUNNEL, FUNNEL_SUMMARY, LEVELS
from xlsales.tables.review import REVIEW
from xlsales.workspace import write_workspace

runner = CliRunner()
AFTER = "2024-04-15"  # every period below is over: no to-date pro-rating anywhere
PERIODS = {"week": "2024-W12", "month": "2024-03", "quarter": "2024Q1"}


@pytest.fixture(scope="module")
def team(sample_team: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("consistency") / "team"  # the pipeline report is written
    shutil.copytree(sample_team("zh"), root)                # into it
    return root


def funnel_summary(path: Path) -> dict[str, Any]:
    """The one row of the funnel sheet's summary table (the stage table follows it)."""
    with WorkbookReader(path) as wb:
        [row] = wb.table(FUNNEL_SUMMARY, Settings.default(), stop_at_blank=True).records()
    return row


def run(*words: str) -> dict[str, Any]:
    result = runner.invoke(app, [*words, "--json"])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("kind", list(PERIODS))
def test_the_team_quota_is_the_same_everywhere(team: Path, kind: str, tmp_path: Path) -> None:
    period = PERIODS[kind]
    ws = str(team)
    completion = run("completion", "--period", period, "--by", "team", "-w", ws, "--on", AFTER)
    [row] = completion["rows"]
    quota, basis = row["target"], row["quota_basis"]
    assert quota and basis == "team"  # the sample team has its own quarterly total
    forecast = run("forecast", "--period", period, "--by", "team", "-w", ws)
    assert [(r["quota"], r["quota_basis"]) for r in forecast["rows"]] == [
        (pytest.approx(quota), basis)]
    funnel = run("funnel", "--period", period, "-w", ws)
    assert (funnel["quota"], funnel["quota_basis"]) == (pytest.approx(quota), basis)

    if kind == "week":  # the weekly sheet's team row and the next week's meeting pack
        rollup = run("rollup", ws, "--week", period, "--on", AFTER, "--out",
                     str(tmp_path / "weekly.xlsx"))
        [team_row] = [r for r in rollup["rows"] if r["level"] == "team"]
        assert team_row["target"] == pytest.approx(quota)
        assert team_row["completion"] == pytest.approx(row["rate"])
        assert team_row["amount_signed"] == pytest.approx(row["actual"])
        weekly = read_records(tmp_path / "weekly.xlsx", T.get("weekly"))
        [sheet_row] = [r for r in weekly if r["name"] == row["key"]]  # the team's row
        assert sheet_row["target"] == pytest.approx(quota)
        title = openpyxl.load_workbook(tmp_path / "weekly.xlsx")[f"周报 {period}"]["A1"].value
        assert title.endswith(f"团队合计行的目标:{QUOTA_BASIS[basis]('zh')}")
        agenda = run("agenda", "-w", ws, "--week", "2024-W13", "--out",
                     str(tmp_path / "agenda.xlsx"))
        [metric] = [m for m in agenda["data"] if m["metric"] == "上周团队完成率"]
        assert metric["value"] == f"{row['rate']:.0%}"
        assert f"成交 {row['actual']:g} 万元 / 目标 {quota:.1f} 万元" in metric["note"]
        return

    option = "--month" if kind == "month" else "--quarter"
    out = tmp_path / f"review_{period}.xlsx"
    review = run("review", "-w", ws, option, period, "--on", AFTER, "--out", str(out))
    sales = next(m for m in review["metrics"] if m["key"] == "sales")
    assert sales["target"] == pytest.approx(quota) and sales["actual"] == pytest.approx(
        row["actual"])
    completion_metric = next(m for m in review["metrics"] if m["key"] == "completion")
    assert completion_metric["actual"] == pytest.approx(row["rate"])
    title = openpyxl.load_workbook(out)[T.get("review").sheet("zh")]["A1"].value
    assert f" · 销售额目标:{QUOTA_BASIS[basis]('zh')} · " in title
    assert title.endswith(f"销售额取自:{review['reconciliation']['source_label']}")
    assert review["quota_basis"] == basis
    summary = funnel_summary(out)  # the review's own funnel sheet
    assert summary["quota"] == pytest.approx(quota)
    assert summary["quota_basis"] == QUOTA_BASIS[basis]("zh")

    pipeline = run("funnel", "--period", period, "-w", ws, "--write")
    assert funnel_summary(Path(pipeline["written"]))["quota"] == pytest.approx(quota)


def test_regions_use_the_reps_targets_and_say_so(team: Path) -> None:
    by_region = run("completion", "--period", "2024-03", "--by", "region", "-w", str(team),
                    "--on", AFTER)
    by_team = run("completion", "--period", "2024-03", "--by", "team", "-w", str(team),
                  "--on", AFTER)
    assert {r["quota_basis"] for r in by_region["rows"]} == {"owners"}
    assert sum(r["actual"] for r in by_region["rows"]) == pytest.approx(
        by_team["rows"][0]["actual"])
    owners_sum = sum(r["target"] for r in by_region["rows"])
    assert owners_sum > by_team["rows"][0]["target"]  # the reps' split carries the margin


def test_the_team_quota_without_a_team_total_is_the_reps_sum(team: Path,
                                                           tmp_path: Path) -> None:
    root = tmp_path / "team"
    shutil.copytree(team, root)
    sample = generate(2024)
    write_workspace(root, sample.settings, {**sample.data, "team_targets": []}, lang="zh",
                    books=["targets"])
    [row] = run("completion", "--period", "2024-03", "--by", "team", "-w", str(root),
                "--on", AFTER)["rows"]
    regions = run("completion", "--period", "2024-03", "--by", "region", "-w", str(root),
                  "--on", AFTER)["rows"]
    assert row["quota_basis"] == "owners"
    assert row["target"] == pytest.approx(sum(r["target"] for r in regions))
    funnel = run("funnel", "--period", "2024-03", "-w", str(root))
    assert (funnel["quota"], funnel["quota_basis"]) == (pytest.approx(row["target"]), "owners")


def test_signed_amounts_are_reconciled_in_the_review(team: Path, tmp_path: Path) -> None:
    """The dailies say one thing, the won opportunities another: both are in the review
    with their gap, and a warning names them."""
    root = tmp_path / "team"
    shutil.copytree(team, root)
    path = root / "customers.xlsx"
    wb = openpyxl.load_workbook(path)
    spec = T.get("opportunities")
    ws = wb[spec.sheet("zh")]
    amount_header = spec.column("amount").header("zh")
    header = next(r for r in ws.iter_rows(max_row=10)
                  if any(c.value == amount_header for c in r))
    cols = {c.value: c.column for c in header if c.value}
    amount, closed = cols[amount_header], cols[spec.column("closed_on").header("zh")]
    bumped = 0
    for r in range(header[0].row + 1, ws.max_row + 1):
        day = ws.cell(r, closed).value
        if day is not None and day.year == 2024 and day.month == 3 and bumped < 3:
            ws.cell(r, amount).value = (ws.cell(r, amount).value or 0) + 100
            bumped += 1
    wb.save(path)
    assert bumped == 3
    review = run("review", "-w", str(root), "--month", "2024-03", "--on", AFTER, "--out",
                 str(tmp_path / "review.xlsx"))
    rec = review["reconciliation"]
    assert rec["source"] == "dailies" and rec["difference"] == pytest.approx(300.0)
    assert rec["opportunities_won"] - rec["dailies"] == pytest.approx(300.0)
    assert rec["warning"] in review["warnings"] and "相差 +300.0 万元" in rec["warning"]
    sales = next(m for m in review["metrics"] if m["key"] == "sales")
    assert sales["actual"] == pytest.approx(rec["dailies"]) and rec["warning"] in sales["hint"]
    # under the review's table, always: where the sales come from, both sums, their gap
    assert rec["line"] == ("销售额取自日报成交金额:日报合计 "
                           f"{rec['dailies']:,.1f} 万元,赢单商机合计 "
                           f"{rec['opportunities_won']:,.1f} 万元,相差 +300.0 万元")
    sheet = openpyxl.load_workbook(tmp_path / "review.xlsx")[T.get("review").sheet("zh")]
    assert rec["line"] in [c.value for row in sheet.iter_rows() for c in row]


def test_a_team_that_keeps_only_opportunities_gets_its_sales_from_them(
        team: Path, tmp_path: Path) -> None:
    root = tmp_path / "team"
    shutil.copytree(team, root)
    sample = generate(2024)
    write_workspace(root, sample.settings, {**sample.data, "daily": []}, lang="zh",
                    books=["daily"])
    review = run("review", "-w", str(root), "--month", "2024-03", "--on", AFTER, "--out",
                 str(tmp_path / "review.xlsx"))
    rec = review["reconciliation"]
    assert rec["source"] == "opportunities" and rec["dailies"] == 0 and rec["warning"] is None
    title = openpyxl.load_workbook(tmp_path / "review.xlsx")[T.get("review").sheet("zh")]["A1"]
    assert title.value.endswith("销售额取自:赢单商机金额")  # the workbook says so too
    metrics = {m["key"]: m for m in review["metrics"]}
    assert rec["opportunities_won"] > 0
    assert metrics["sales"]["actual"] == pytest.approx(rec["opportunities_won"])
    assert metrics["completion"]["actual"] is not None and metrics["completion"]["actual"] > 0
    assert metrics["missing"]["actual"] is None and metrics["late"]["actual"] is None


def test_the_terminal_says_which_targets_it_shows(team: Path) -> None:
    for by, basis in (("team", "team"), ("region", "owners")):
        for command in ("completion", "forecast"):
            result = runner.invoke(app, [command, "--period", "2024-03", "--by", by, "-w",
                                         str(team), "--on", AFTER])
            assert result.exit_code == 0, result.output
            assert f"目标口径: {QUOTA_BASIS[basis]('zh')}" in result.stdout, (command, by)


# -- weighted pipeline, won amount, conversion, late/missing --------------------------------

NEXT_MONTH = "2024-04"  # the month after March and after the first quarter


def block(path: Path, spec: T.TableSpec, sheet: str | None = None) -> list[dict[str, Any]]:
    """``spec``'s rows on ``sheet`` (its own sheet by default) of ``path``, found by their
    header texts; a formula cell gives the value the writer cached, as Excel shows it."""
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(
        sheet or spec.sheet("zh")).to_python()
    return read_block(rows, spec, "zh")[2]


def review_of(root: Path, kind: str, out: Path) -> dict[str, Any]:
    option = "--month" if kind == "month" else "--quarter"
    return run("review", "-w", str(root), option, PERIODS[kind], "--on", AFTER, "--out",
               str(out))


@pytest.mark.parametrize("kind", list(PERIODS))
def test_weighted_pipeline_and_won_amount_are_the_same_everywhere(
        team: Path, kind: str, tmp_path: Path) -> None:
    """The weighted forecast (Σ amount × probability of the open deals expected to close)
    and the amount won: forecast --json, its lines, every level of the pipeline report,
    the funnel, the review's funnel sheet and its reconciliation."""
    period, ws = PERIODS[kind], str(team)
    [head] = run("forecast", "--period", period, "--by", "team", "-w", ws)["rows"]
    weighted, won = head["weighted"], head["won"]
    assert weighted > 0 and won > 0  # the sample has both in every period here
    forecast = run("forecast", "--period", period, "--by", "rep", "-w", ws)
    assert sum(line["weighted"] for line in forecast["lines"]) == pytest.approx(weighted)
    assert sum(r["weighted"] for r in forecast["rows"]) == pytest.approx(weighted)
    assert sum(r["won"] for r in forecast["rows"]) == pytest.approx(won)
    assert head["expected"] == pytest.approx(won + weighted)
    assert head["coverage"] == pytest.approx((won + weighted) / head["quota"])

    funnel = run("funnel", "--period", period, "-w", ws, "--write")
    assert funnel["won_amount"] == pytest.approx(won)
    path = Path(funnel["written"])  # the pipeline report: every level adds up to the team
    rows = block(path, FORECAST)
    [sheet_head] = [r for r in rows if r["level"] == LEVELS["team"]("zh")]
    assert (sheet_head["weighted"], sheet_head["won"], sheet_head["expected"]) == (
        pytest.approx(weighted), pytest.approx(won), pytest.approx(head["expected"]))
    assert sheet_head["coverage"] == pytest.approx(head["coverage"])
    for level in ("rep", "region", "product"):
        mine = [r for r in rows if r["level"] == LEVELS[level]("zh")]
        assert mine and sum(r["weighted"] for r in mine) == pytest.approx(weighted), level
        assert sum(r["won"] for r in mine) == pytest.approx(won), level
    lines = block(path, FORECAST_LINES)
    assert sorted(r["opp_id"] for r in lines) == sorted(x["opp_id"] for x in forecast["lines"])
    assert sum(r["weighted"] for r in lines) == pytest.approx(weighted)
    [summary] = block(path, FUNNEL_SUMMARY)
    assert summary["won_amount"] == pytest.approx(won)
    assert summary["won_count"] == funnel["won_count"]

    completion = run("completion", "--period", period, "--by", "team", "-w", ws, "--on", AFTER)
    signed = completion["rows"][0]["actual"]  # the dailies' figure: a second, named figure
    if kind == "week":
        rollup = run("rollup", ws, "--week", period, "--on", AFTER, "--out",
                     str(tmp_path / "weekly.xlsx"))
        [team_row] = [r for r in rollup["rows"] if r["level"] == "team"]
        assert team_row["amount_signed"] == pytest.approx(signed)
        # the dailies' amount and the deals won carry different names wherever shown
        assert (T.get("weekly").column("amount_signed").header("zh")
                != FORECAST.column("won").header("zh"))
        return

    review = review_of(team, kind, tmp_path / "review.xlsx")
    rec = review["reconciliation"]
    assert rec["opportunities_won"] == pytest.approx(won)
    assert rec["dailies"] == pytest.approx(signed)
    assert rec["difference"] == pytest.approx(won - signed, abs=1e-9)
    [review_summary] = block(tmp_path / "review.xlsx", FUNNEL_SUMMARY)
    assert review_summary["won_amount"] == pytest.approx(won)
    # the review's weighted figure is next month's forecast coverage: the forecast's own
    [nxt] = run("forecast", "--period", NEXT_MONTH, "--by", "team", "-w", ws)["rows"]
    metrics = {m["key"]: m for m in review["metrics"]}
    assert metrics["coverage_next"]["actual"] == pytest.approx(nxt["coverage"])
    assert nxt["coverage"] == pytest.approx((nxt["won"] + nxt["weighted"]) / nxt["quota"])
    sheet = {r["metric"]: r for r in read_records(tmp_path / "review.xlsx", REVIEW)}
    assert sheet[metrics["coverage_next"]["metric"]]["actual"] == pytest.approx(nxt["coverage"])
    assert sheet[metrics["sales"]["metric"]]["actual"] == pytest.approx(signed)


@pytest.mark.parametrize("kind", list(PERIODS))
def test_stage_conversion_is_the_same_everywhere(team: Path, kind: str,
                                                 tmp_path: Path) -> None:
    """Each stage's conversion (advanced ÷ entered in the period): funnel --json, the
    pipeline report and the review's funnel sheet; the review's intent → won conversion
    is another figure under another name."""
    period, ws = PERIODS[kind], str(team)
    funnel = run("funnel", "--period", period, "-w", ws, "--write")
    want = [(s["stage"], s["entered"], s["advanced"], s["conversion"])
            for s in funnel["stages"]]
    assert any(c for *_, c in want)  # some stage converts in every period here
    for s in funnel["stages"]:
        rate = s["advanced"] / s["entered"] if s["entered"] else None
        assert s["conversion"] == (pytest.approx(rate) if rate is not None else None)

    def shown(path: Path) -> list[tuple[Any, ...]]:
        return [(r["stage"], r["entered"], r["advanced"],
                 r["conversion"] if r["conversion"] != "" else None)
                for r in block(path, FUNNEL)]

    def same(got: list[tuple[Any, ...]]) -> bool:
        return [(s, e, a) for s, e, a, _ in got] == [(s, e, a) for s, e, a, _ in want] and all(
            (g is None) == (w is None) and (g is None or g == pytest.approx(w))
            for (*_, g), (*_, w) in zip(got, want, strict=True))

    assert same(shown(Path(funnel["written"]))), (shown(Path(funnel["written"])), want)
    if kind == "week":
        return
    review = review_of(team, kind, tmp_path / "review.xlsx")
    assert same(shown(tmp_path / "review.xlsx")), (shown(tmp_path / "review.xlsx"), want)
    [conversion] = [m for m in review["metrics"] if m["key"] == "conversion"]
    assert conversion["metric"] != FUNNEL.column("conversion").header("zh")
    sheet = {r["metric"]: r for r in read_records(tmp_path / "review.xlsx", REVIEW)}
    assert sheet[conversion["metric"]]["actual"] == pytest.approx(conversion["actual"])


@pytest.mark.parametrize("kind", list(PERIODS))
def test_late_and_missing_dailies_are_the_same_everywhere(team: Path, kind: str,
                                                          tmp_path: Path) -> None:
    """Late and missing dailies, per rep and for the team: compliance --json, the weekly
    sheet and its rollup, the next week's meeting pack, the review and its first sheet."""
    period, ws = PERIODS[kind], str(team)
    compliance = run("compliance", "--period", period, "-w", ws, "--on", AFTER)
    per_rep = {r["rep"]: (r["late"], r["missing"]) for r in compliance["reps"]}
    late = sum(x for x, _ in per_rep.values())
    missing = sum(y for _, y in per_rep.values())
    assert late and missing  # the sample has both in every period here
    if kind == "week":
        out = tmp_path / "weekly.xlsx"
        rollup = run("rollup", ws, "--week", period, "--on", AFTER, "--out", str(out))
        reps = {r["name"]: (r["late"], r["missing"]) for r in rollup["rows"]
                if r["level"] == "rep"}
        assert reps == per_rep
        [team_row] = [r for r in rollup["rows"] if r["level"] == "team"]
        assert (team_row["late"], team_row["missing"]) == (late, missing)
        sheet = read_records(out, T.get("weekly"))
        assert {r["name"]: (r["late"], r["missing"]) for r in sheet
                if r["name"] in per_rep} == per_rep
        [sheet_team] = [r for r in sheet if r["name"] == team_row["name"]]
        assert (sheet_team["late"], sheet_team["missing"]) == (late, missing)

        pack = tmp_path / "agenda.xlsx"
        agenda = run("agenda", "-w", ws, "--week", "2024-W13", "--out", str(pack))
        [metric] = [m for m in agenda["data"] if m["metric"] == "上周日报逾期/缺报"]
        assert metric["value"] == f"{late} / {missing}"
        named = dict(part.rsplit(" ", 1) for part in metric["note"].split("; "))
        assert named == {rep: f"{a}/{b}" for rep, (a, b) in per_rep.items() if a or b}
        with WorkbookReader(pack) as wb:
            rows = wb.table(MEETING_DATA, Settings.default(), sheet=agenda["sheet"],
                            stop_at_blank=True).records()
        [row] = [r for r in rows if r["metric"] == metric["metric"]]
        assert (row["value"], row["note"]) == (metric["value"], metric["note"])
        return

    out = tmp_path / "review.xlsx"
    review = review_of(team, kind, out)
    metrics = {m["key"]: m for m in review["metrics"]}
    assert (metrics["late"]["actual"], metrics["missing"]["actual"]) == (late, missing)
    sheet = {r["metric"]: r for r in read_records(out, REVIEW)}
    assert sheet[metrics["late"]["metric"]]["actual"] == late
    assert sheet[metrics["missing"]["metric"]]["actual"] == missing
    # the hint names the reps with the most, with the compliance figures
    worst = sorted(((a, r) for r, (a, _) in per_rep.items() if a), reverse=True)[:2]
    assert metrics["late"]["hint"] == "最多:" + "、".join(f"{r}({n})" for n, r in worst)


@pytest.mark.parametrize(("kind", "last"), [("week", "2024-03-24"), ("month", "2024-03-31")])
def test_the_chat_digest_shows_the_same_figures(team: Path, kind: str, last: str) -> None:
    """xlsales summary --week/--month on the period's last day: the dailies late and
    missing, the team's completion and the TOP list are those of compliance and
    completion."""
    period, ws = PERIODS[kind], str(team)
    digest = run("summary", f"--{kind}", "-w", ws, "--on", last)
    assert digest["period"] == period
    compliance = run("compliance", "--period", period, "-w", ws, "--on", last)
    reports = digest["reports"]
    assert (reports["late"], reports["missing"]) == (
        sum(r["late"] for r in compliance["reps"]), sum(r["missing"] for r in compliance["reps"]))
    assert reports["expected"] == sum(r["expected"] for r in compliance["reps"])
    [head] = run("completion", "--period", period, "--by", "team", "-w", ws, "--on",
                 last)["rows"]
    shown = digest["completion"]
    assert (shown["actual"], shown["target"], shown["rate"], shown["quota_basis"]) == (
        pytest.approx(head["actual"]), pytest.approx(head["target"]),
        pytest.approx(head["rate"]), head["quota_basis"])
    reps = run("completion", "--period", period, "--by", "rep", "-w", ws, "--on", last)
    assert [t["rep"] for t in shown["top"]] == [r["key"] for r in reps["rows"]
                                                if r["mark"] == shown["top_label"]]
    assert len(shown["top"]) == 3  # something to compare
    assert sorted(b["rep"] for b in shown["below"]) == sorted(
        r["key"] for r in reps["rows"] if r["below_threshold"])
