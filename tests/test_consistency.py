"""One number for one thing: the sample team's figures for a week, a month and a quarter,
through every command and every output workbook, are equal — the team's quota (its own
total, labelled "team target"), its completion and its signed amount."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from xlsales import tables as T
from xlsales.cli import app
from xlsales.io.read import WorkbookReader, read_records
from xlsales.performance import QUOTA_BASIS
from xlsales.sample import generate
from xlsales.settings import Settings
from xlsales.tables.pipeline import FUNNEL_SUMMARY
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
    assert title.endswith(f"销售额目标:{QUOTA_BASIS[basis]('zh')}")
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
