"""Pipeline figures (spec §4, seed 001): stage alerts, the weighted forecast, the funnel.

The expected figures of the sample are computed here again, independently, with
pandas from the sample's canonical records (``xlsales.pipeline`` is never called on
the expected side); the actual ones come from the jobs reading a written workspace.
The report workbook is then recalculated by LibreOffice and every formula cell is
compared with the Python figures; its charts are read from the xlsx XML.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.helpers import read_block
from xlsales.calendar import WorkCalendar, month_range, parse_period
from xlsales.cli import app
from xlsales.i18n import LANGS, Lang
from xlsales.io.formulas import NA_LABEL
from xlsales.jobs import run_alerts, run_forecast, run_funnel, write_pipeline
from xlsales.pipeline import funnel, stage_alerts
from xlsales.sample import SAMPLE_TODAY, generate
from xlsales.settings import ListItem, RosterEntry, Settings
from xlsales.tables.pipeline import FORECAST, FORECAST_LINES, FUNNEL, FUNNEL_SUMMARY, LEVELS
from xlsales.workspace import write_workspace

D = dt.date.fromisoformat
TEAM = generate()
SETTINGS = TEAM.settings
CAL = WorkCalendar()
PERIODS = ("2024-03", "2024Q1", "2024-W13")
LEVEL_LIST = {"region": "regions", "product": "product_lines"}
BOOKS = ("settings", "targets", "customers")


def close(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


# -- independent pandas computation ---------------------------------------------------------

def stage_frame(settings: Settings = SETTINGS) -> pd.DataFrame:
    return pd.DataFrame([{"stage": s.zh, "kind": s.kind, "probability": s.probability,
                          "order": s.order, "ideal": s.ideal_conversion,
                          "max_days": s.max_days}
                         for s in settings.stages])


def roster_frame(settings: Settings = SETTINGS) -> pd.DataFrame:
    df = pd.DataFrame([{"owner": r.rep, "region": r.region, "product": r.product_line}
                       for r in settings.roster])
    df["rep"] = df["owner"]
    df["team"] = settings.general.team_name
    return df


def month_targets(target_rows: list[dict[str, Any]]) -> pd.Series:
    """(owner, year, month) → the month's target, from the T1 rows."""
    t = pd.DataFrame(target_rows)
    t["year"] = t["quarter"].str[:4].astype(int)
    t["q"] = t["quarter"].str[-1].astype(int)
    months = t[["month1", "month2", "month3"]].astype(float)
    no_split = months.isna().all(axis=1)
    months.loc[no_split] = np.repeat((t.loc[no_split, "quarterly_target"] / 3).to_numpy()[
        :, None], 3, axis=1)
    months = months.fillna(0.0)
    long = pd.concat([pd.DataFrame({"owner": t["owner"], "year": t["year"],
                                    "month": (t["q"] - 1) * 3 + i + 1,
                                    "target": months[f"month{i + 1}"]})
                      for i in range(3)])
    return long.groupby(["owner", "year", "month"])["target"].sum()


def quotas(target_rows: list[dict[str, Any]], reps: list[str], first: dt.date,
           last: dt.date) -> dict[str, float | None]:
    """Each rep's quota: a month's target spread evenly over its working days."""
    targets = month_targets(target_rows)
    days = pd.DataFrame({"day": pd.date_range(first, last).date})
    days["year"] = [d.year for d in days["day"]]
    days["month"] = [d.month for d in days["day"]]
    days["working"] = [CAL.is_working(d) for d in days["day"]]
    per_month = days.groupby(["year", "month"])["working"].sum().rename("in_period")
    per_month = per_month.reset_index()
    per_month["in_month"] = [CAL.count(*month_range(y, m))
                             for y, m in zip(per_month["year"], per_month["month"],
                                             strict=True)]
    out: dict[str, float | None] = {}
    for rep in reps:
        if rep not in targets.index.get_level_values(0):
            out[rep] = None
            continue
        mine = targets.loc[rep]
        rows = per_month[[(y, m) in mine.index for y, m in zip(per_month["year"],
                                                               per_month["month"],
                                                               strict=True)]]
        if rows.empty:
            out[rep] = None
            continue
        out[rep] = float(sum(mine.loc[(y, m)] * n / total for y, m, n, total in
                             rows[["year", "month", "in_period", "in_month"]].itertuples(
                                 index=False)))
    return out


def team_total(target_rows: list[dict[str, Any]], reps: list[str], first: dt.date,
               last: dt.date) -> float | None:
    """The team's own quarterly total over a period, spread like the reps' split: each
    quarter's total × the share of the reps' quarter targets that falls in the period;
    the reps' sum when the team has no total of its own."""
    totals = {str(t["quarter"]).upper(): float(t["team_target"])
              for t in TEAM.data["team_targets"] if t.get("team_target") is not None}
    found = 0.0
    for quarter, total in totals.items():
        year, q = int(quarter[:4]), int(quarter[-1])
        q_first = dt.date(year, 3 * q - 2, 1)
        q_last = month_range(year, 3 * q)[1]
        lo, hi = max(first, q_first), min(last, q_last)
        if lo > hi:
            continue
        whole = sum(v or 0.0 for v in quotas(target_rows, reps, q_first, q_last).values())
        part = sum(v or 0.0 for v in quotas(target_rows, reps, lo, hi).values())
        found += total * part / whole if whole else 0.0
    if found:
        return found
    qs = [v for v in quotas(target_rows, reps, first, last).values() if v is not None]
    return sum(qs) if qs else None


def expected_forecast(opps: list[dict[str, Any]], target_rows: list[dict[str, Any]],
                      first: dt.date, last: dt.date, by: str,
                      settings: Settings = SETTINGS) -> dict[str, dict[str, Any]]:
    o = pd.DataFrame(opps).merge(stage_frame(settings), on="stage", how="inner")
    o = o[o["owner"].notna() & (o["owner"] != "")]
    roster = roster_frame(settings)
    group = dict(zip(roster["owner"], roster[by], strict=True))
    close_day = pd.to_datetime(o["expected_close"])
    closed = pd.to_datetime(o["closed_on"])
    lines = o[(o["kind"] == "open") & (close_day >= pd.Timestamp(first))
              & (close_day <= pd.Timestamp(last))].copy()
    lines["weighted"] = lines["amount"] * lines["probability"]
    g = settings.general
    lines["category"] = np.select([lines["probability"] >= g.commit_min,
                                   lines["probability"] >= g.best_case_min],
                                  ["commit", "best_case"], "pipeline")
    lines["group"] = lines["owner"].map(group)
    won = o[(o["kind"] == "won") & (closed >= pd.Timestamp(first))
            & (closed <= pd.Timestamp(last))].copy()
    won["group"] = won["owner"].map(group)
    rep_quota = quotas(target_rows, list(roster["owner"]), first, last)
    out = {}
    for key, members in roster.groupby(by)["owner"]:
        qs = [rep_quota[m] for m in members if rep_quota[m] is not None]
        quota = sum(qs) if qs else None
        if by == "team":  # the team's own total (the reps' split carries a margin)
            quota = team_total(target_rows, list(roster["owner"]), first, last)
        mine = lines[lines["group"] == key]
        cats = mine.groupby("category")["weighted"].sum()
        won_amount = float(won.loc[won["group"] == key, "amount"].sum())
        weighted = float(mine["weighted"].sum())
        expected = won_amount + weighted
        out[key] = {"quota": quota, "won": won_amount, "weighted": weighted,
                    "pipeline_amount": float(mine["amount"].sum()),
                    "commit": float(cats.get("commit", 0.0)),
                    "best_case": float(cats.get("best_case", 0.0)),
                    "pipeline": float(cats.get("pipeline", 0.0)), "expected": expected,
                    "coverage": expected / quota if quota else None,
                    "shortage": None if quota is None else max(0.0, quota - expected)}
    return out


def expected_funnel(opps: list[dict[str, Any]], history: list[dict[str, Any]],
                    target_rows: list[dict[str, Any]], first: dt.date, last: dt.date,
                    today: dt.date, settings: Settings = SETTINGS) -> dict[str, Any]:
    stages = stage_frame(settings)
    open_stages = stages[stages["kind"] == "open"].sort_values("order")
    won_level = open_stages["order"].max() + 1
    stages["level"] = np.where(stages["kind"] == "won", won_level,
                               np.where(stages["kind"] == "open", stages["order"], 0))
    o = pd.DataFrame(opps).merge(stages, on="stage", how="inner")
    now = o[o["kind"] == "open"].groupby("stage")["amount"].agg(["count", "sum"])
    h = pd.DataFrame(history)
    h = h[pd.to_datetime(h["date"]) <= pd.Timestamp(today)]
    h = h.merge(stages.rename(columns={"stage": "to_stage"}), on="to_stage", how="inner")
    best = h.groupby("opp_id")["level"].max()
    entry = h.groupby(["opp_id", "to_stage"])["date"].min().reset_index()
    entry = entry[(pd.to_datetime(entry["date"]) >= pd.Timestamp(first))
                  & (pd.to_datetime(entry["date"]) <= pd.Timestamp(last))]
    entry["best"] = entry["opp_id"].map(best)
    rows = []
    for s in open_stages.itertuples():
        came = entry[entry["to_stage"] == s.stage]
        entered, advanced = len(came), int((came["best"] > s.order).sum())
        rows.append({"stage": s.stage, "open_count": int(now["count"].get(s.stage, 0)),
                     "open_amount": float(now["sum"].get(s.stage, 0.0)),
                     "entered": entered, "advanced": advanced,
                     "conversion": advanced / entered if entered else None,
                     "ideal": None if pd.isna(s.ideal) else float(s.ideal)})
    quota = team_total(target_rows, [r.rep for r in settings.roster], first, last)
    won_all = o[o["kind"] == "won"]["amount"]
    average = float(won_all.mean()) if len(won_all) else None
    deals = quota / average if quota is not None and average else None
    needed = deals
    for row in reversed(rows):
        rate = row["conversion"] or row["ideal"]  # actual, else the ideal funnel
        needed = needed / rate if needed is not None and rate else None
        row["needed"] = needed
    won_period = o[(o["kind"] == "won") & (pd.to_datetime(o["closed_on"]) >= pd.Timestamp(
        first)) & (pd.to_datetime(o["closed_on"]) <= pd.Timestamp(last))]
    return {"stages": rows, "quota": quota, "average_deal": average, "deals_needed": deals,
            "won_count": len(won_period), "won_amount": float(won_period["amount"].sum())}


# -- the sample workspaces ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def workspaces(tmp_path_factory: pytest.TempPathFactory) -> dict[Lang, Path]:
    root = tmp_path_factory.mktemp("pipeline")
    out: dict[Lang, Path] = {}
    for lang in LANGS:
        write_workspace(root / lang, TEAM.settings, TEAM.data, lang=lang, books=BOOKS)
        out[lang] = root / lang
    return out


@pytest.mark.parametrize("period", PERIODS)
@pytest.mark.parametrize("by", ["rep", "region", "product", "team"])
def test_forecast_matches_an_independent_computation(workspaces: dict[Lang, Path],
                                                     period: str, by: str) -> None:
    first, last, _ = parse_period(period)
    expected = expected_forecast(TEAM.data["opportunities"], TEAM.data["targets"], first,
                                 last, by)
    got = {r.key: r.as_dict() for r in run_forecast(workspaces["zh"], period, by=by).rows}
    assert got.keys() == expected.keys()
    problems = [f"{key}.{k}: xlsales {got[key][k]!r}, pandas {v!r}"
                for key, row in expected.items() for k, v in row.items()
                if not close(got[key][k], v)]
    assert not problems, "\n".join(problems)


def test_forecast_sanity_of_the_sample() -> None:
    """The sample exercises every part of the comparison above."""
    first, last, _ = parse_period("2024-03")
    reps = expected_forecast(TEAM.data["opportunities"], TEAM.data["targets"], first, last,
                             "rep")
    assert all(r["quota"] for r in reps.values())
    assert any(r["coverage"] < 1 for r in reps.values())
    assert any(r["coverage"] >= 1 for r in reps.values())
    assert all(sum(r[c] for r in reps.values()) > 0 for c in ("commit", "best_case", "pipeline"))
    team = expected_forecast(TEAM.data["opportunities"], TEAM.data["targets"], first, last,
                             "team")
    assert list(team) == [SETTINGS.general.team_name]
    week = quotas(TEAM.data["targets"], ["张伟"], *parse_period("2024-W13")[:2])["张伟"]
    march = sum(t["month3"] for t in TEAM.data["targets"]
                if t["owner"] == "张伟" and t["quarter"] == "2024Q1")
    # 2024-W13 = Mon 03-25 .. Sun 03-31: 5 of March's 21 working days of the month's target
    assert CAL.count(D("2024-03-01"), D("2024-03-31")) == 21
    assert close(week, march * 5 / 21)


def test_forecast_lines_and_categories(workspaces: dict[Lang, Path]) -> None:
    fc = run_forecast(workspaces["zh"], "2024-03")
    probability = {s.zh: s.probability for s in SETTINGS.stages}
    o = pd.DataFrame(TEAM.data["opportunities"])
    o = o[o["stage"].map(lambda s: next(x.kind for x in SETTINGS.stages if x.zh == s))
          == "open"]
    o = o[(pd.to_datetime(o["expected_close"]) >= "2024-03-01")
          & (pd.to_datetime(o["expected_close"]) <= "2024-03-31")]
    assert sorted(ln.opp_id for ln in fc.lines) == sorted(o["opp_id"])
    for ln in fc.lines:
        assert close(ln.weighted, ln.amount * probability[ln.stage])
        g = SETTINGS.general
        band = ("commit" if ln.probability >= g.commit_min else
                "best_case" if ln.probability >= g.best_case_min else "pipeline")
        assert ln.category == band


@pytest.mark.parametrize("period", PERIODS)
def test_funnel_matches_an_independent_computation(workspaces: dict[Lang, Path],
                                                   period: str) -> None:
    first, last, _ = parse_period(period)
    expected = expected_funnel(TEAM.data["opportunities"], TEAM.data["stage_history"],
                               TEAM.data["targets"], first, last, SAMPLE_TODAY)
    got = run_funnel(workspaces["zh"], period, today=SAMPLE_TODAY).as_dict()
    assert [s["stage"] for s in got["stages"]] == [s["stage"] for s in expected["stages"]]
    problems = [f"{e['stage']}.{k}: xlsales {g[k]!r}, pandas {v!r}"
                for g, e in zip(got["stages"], expected["stages"], strict=True)
                for k, v in e.items() if k != "stage" and not close(g[k], v)]
    problems += [f"{k}: xlsales {got[k]!r}, pandas {v!r}" for k, v in expected.items()
                 if k != "stages" and not close(got[k], v)]
    assert not problems, "\n".join(problems)
    assert sum(s["entered"] for s in got["stages"]) > 0


def test_funnel_reverse_calculation_by_hand() -> None:
    """deals = quota / average deal; each stage needs deals ÷ Π conversions below it."""
    got = run_funnel_records("2024-03")
    rates = [s.conversion or s.ideal for s in got.stages]
    assert got.deals_needed == pytest.approx(got.quota / got.average_deal)  # type: ignore[operator]
    for i, s in enumerate(got.stages):
        assert s.needed == pytest.approx(got.deals_needed / math.prod(rates[i:]))


def run_funnel_records(period: str, history: list[dict[str, Any]] | None = None) -> Any:
    from xlsales.performance import Targets

    first, last, _ = parse_period(period)
    return funnel(TEAM.data["opportunities"],
                  TEAM.data["stage_history"] if history is None else history,
                  Targets.from_records(TEAM.data["targets"], TEAM.data["team_targets"]),
                  SETTINGS, first, last, today=SAMPLE_TODAY)


def test_funnel_does_not_depend_on_the_order_of_the_history() -> None:
    """Newest-first history (a common sort in Excel) gives the same funnel."""
    history = [
        {"opp_id": "X1", "to_stage": "初步接触", "date": D("2024-02-01")},
        {"opp_id": "X1", "to_stage": "需求分析", "date": D("2024-02-20")},
        {"opp_id": "X1", "to_stage": "初步接触", "date": D("2024-03-02")},  # moved back
        {"opp_id": "X1", "to_stage": "需求分析", "date": D("2024-03-10")},  # and again
    ]
    opps = [{"opp_id": "X1", "customer": "某公司", "owner": "张伟", "stage": "需求分析",
             "amount": 10.0}]
    s = Settings.default()
    from xlsales.performance import Targets

    a = funnel(opps, history, Targets(), s, D("2024-03-01"), D("2024-03-31"))
    b = funnel(opps, history[::-1], Targets(), s, D("2024-03-01"), D("2024-03-31"))
    assert [f.as_dict() for f in a.stages] == [f.as_dict() for f in b.stages]
    # entered 需求分析 first on 02-20: not a March entry (first entry counts)
    assert {f.stage.zh: f.entered for f in a.stages}["需求分析"] == 0
    shuffled = TEAM.data["stage_history"][::-1]
    assert run_funnel_records("2024-03", shuffled).as_dict() == \
        run_funnel_records("2024-03").as_dict()


# -- stage alerts --------------------------------------------------------------------------------

TODAY = D("2024-03-29")


def opp(opp_id: str, stage: str, entered: str, customer: str = "恒瑞精密机械有限公司",
        amount: float = 10.0) -> dict[str, Any]:
    return {"opp_id": opp_id, "customer": customer, "owner": "张伟", "stage": stage,
            "stage_entered": D(entered), "amount": amount}


def move(opp_id: str, to: str, day: str, frm: str | None = None) -> dict[str, Any]:
    return {"opp_id": opp_id, "from_stage": frm, "to_stage": to, "date": D(day)}


def activity(day: str, customer: str = "恒瑞精密机械有限公司",
             kind: str = "例行跟进") -> dict[str, Any]:
    return {"date": D(day), "customer": customer, "owner": "张伟", "kind": kind,
            "content": "x"}


def alerts(opps: list[dict[str, Any]], history: list[dict[str, Any]] = (),  # type: ignore[assignment]
           log: list[dict[str, Any]] = (), settings: Settings | None = None,  # type: ignore[assignment]
           today: dt.date = TODAY) -> list[tuple[str, str, int]]:
    return [(a.opp_id, a.rule, a.age) for a in stage_alerts(
        opps, history, log, settings or Settings.default(), today)]


def test_stage_age_counts_from_the_stage_entry_not_the_last_activity() -> None:
    # entered 需求分析 (21 days at most) on 02-01, but called yesterday: still 57 days old
    o = opp("A", "需求分析", "2024-02-01")
    got = alerts([o], [move("A", "初步接触", "2024-01-10"), move("A", "需求分析", "2024-02-01")],
                 [activity("2024-03-28")])
    assert got == [("A", "stage_too_long", 57)]  # 03-29 - 02-01 = 29 + 28 = 57 days
    # entered on 03-20 after no activity since January: 9 days, fine
    o2 = opp("B", "需求分析", "2024-03-20")
    assert alerts([o2], [move("B", "需求分析", "2024-03-20")], [activity("2024-01-05")]) == []


def test_stage_entry_comes_from_the_history_before_the_table() -> None:
    # the table says 01-02, the history's last move into the stage says 03-20: 9 days
    o = opp("A", "需求分析", "2024-01-02")
    history = [move("A", "需求分析", "2024-01-02"), move("A", "初步接触", "2024-02-01"),
               move("A", "需求分析", "2024-03-20")]
    assert alerts([o], history) == []
    # without history the table's date counts: 03-29 - 01-02 = 87 days
    assert alerts([o]) == [("A", "stage_too_long", 87)]
    # a move recorded after today does not count yet
    late = [move("A", "需求分析", "2024-01-02"), move("A", "需求分析", "2024-04-02")]
    assert alerts([o], late) == [("A", "stage_too_long", 87)]


def test_stage_max_days_boundary_and_settings() -> None:
    # 需求分析 allows 21 days: entered 03-08 is 21 days old (fine), 03-07 is 22 (alert)
    assert alerts([opp("A", "需求分析", "2024-03-08")]) == []
    assert alerts([opp("A", "需求分析", "2024-03-07")]) == [("A", "stage_too_long", 22)]
    s = Settings.default()
    s.stages = [st.model_copy(update={"max_days": 30}) if st.zh == "需求分析" else st
                for st in s.stages]
    assert alerts([opp("A", "需求分析", "2024-03-07")], settings=s) == []
    assert alerts([opp("A", "需求分析", "2024-02-27")], settings=s) == [
        ("A", "stage_too_long", 31)]
    s.stages = [st.model_copy(update={"max_days": None}) if st.zh == "需求分析" else st
                for st in s.stages]
    assert alerts([opp("A", "需求分析", "2023-01-01")], settings=s) == []


def test_won_and_lost_opportunities_never_alert() -> None:
    assert alerts([opp("A", "签约成交", "2023-01-01"), opp("B", "输单", "2023-01-01"),
                   opp("C", "售后服务", "2023-01-01")]) == []


def test_proposal_without_feedback() -> None:
    # sent 03-25: 4 days > 3 without feedback; the stage itself allows 14 days
    o = opp("P", "方案提交", "2024-03-25")
    h = [move("P", "方案提交", "2024-03-25")]
    assert alerts([o], h) == [("P", "proposal_no_feedback", 4)]
    # the 方案反馈 entry of the sending day is no feedback; a later one is
    assert alerts([o], h, [activity("2024-03-25", kind="方案反馈")]) == [
        ("P", "proposal_no_feedback", 4)]
    assert alerts([o], h, [activity("2024-03-27", kind="方案反馈")]) == []
    # feedback from another customer does not count
    assert alerts([o], h, [activity("2024-03-27", "别的公司", kind="方案反馈")]) == [
        ("P", "proposal_no_feedback", 4)]
    # the customer written differently in the log is the same customer (as for the
    # follow-up engine, which matches on the normalised company name)
    assert alerts([o], h, [activity("2024-03-27", " 恒瑞精密机械 有限公司", kind="方案反馈")]) == []
    # 3 days old: not yet
    assert alerts([opp("P", "方案提交", "2024-03-26")]) == []
    # 20 days old: both alerts
    assert alerts([opp("P", "方案提交", "2024-03-09")]) == [
        ("P", "proposal_no_feedback", 20), ("P", "stage_too_long", 20)]
    # the rule's days come from the settings; disabled, no alert
    s = Settings.default()
    s.followup_rules = [r.model_copy(update={"days": 7}) if r.rule == "proposal_feedback"
                        else r for r in s.followup_rules]
    assert alerts([o], h, settings=s) == []
    s.followup_rules = [r.model_copy(update={"enabled": False})
                        if r.rule == "proposal_feedback" else r for r in s.followup_rules]
    assert alerts([opp("P", "方案提交", "2024-03-09")], settings=s) == [
        ("P", "stage_too_long", 20)]


def test_alerts_on_the_sample_match_an_independent_computation(
        workspaces: dict[Lang, Path]) -> None:
    got = {(a.opp_id, a.rule): a for a in run_alerts(workspaces["zh"], today=SAMPLE_TODAY)}
    stages = stage_frame().set_index("stage")
    o = pd.DataFrame(TEAM.data["opportunities"])
    o = o[o["stage"].map(stages["kind"]) == "open"].copy()
    h = pd.DataFrame(TEAM.data["stage_history"])
    h = h[pd.to_datetime(h["date"]) <= pd.Timestamp(SAMPLE_TODAY)]
    last_in = h.groupby(["opp_id", "to_stage"])["date"].max()
    o["entered"] = [last_in.get((i, s), e) for i, s, e in
                    zip(o["opp_id"], o["stage"], o["stage_entered"], strict=True)]
    o["age"] = [(SAMPLE_TODAY - d).days for d in o["entered"]]
    o["max_days"] = o["stage"].map(stages["max_days"])
    fb = pd.DataFrame(TEAM.data["follow_ups"])
    fb = fb[fb["kind"] == "方案反馈"]
    expected = set()
    for r in o.itertuples():
        if r.age > r.max_days:
            expected.add((r.opp_id, "stage_too_long"))
        if r.stage == "方案提交" and r.age > 3 and not (
                (fb["customer"] == r.customer) & (fb["date"] > r.entered)).any():
            expected.add((r.opp_id, "proposal_no_feedback"))
    assert set(got) == expected
    assert expected, "the sample has stalled opportunities"
    for (opp_id, _), a in got.items():
        assert a.age == int(o.loc[o["opp_id"] == opp_id, "age"].iloc[0])


# -- the report workbook, recalculated by LibreOffice ---------------------------------------------

EDGE_REPS = (("赵一", "华东", "产品线A"), ("钱二", "华南", "产品线B"), ("孙三", "华东", "产品线B"))


def edge_team(targets: bool = True) -> tuple[Settings, dict[str, list[dict[str, Any]]]]:
    """A tiny team whose funnel has a 0 % conversion, a stage without any conversion,
    a rep with a quota of 0 and one without a quota (or no targets at all)."""
    s = Settings.default()
    s.lists = [*(ListItem(list="regions", zh=z, en=e) for z, e in (("华东", "East"),
                                                                 ("华南", "South"))),
               *(ListItem(list="product_lines", zh=z, en=e) for z, e in (
                   ("产品线A", "Line A"), ("产品线B", "Line B"))), *s.lists]
    s.roster = [RosterEntry(rep=r, region=g, product_line=p) for r, g, p in EDGE_REPS]
    s.stages = [st.model_copy(update={"ideal_conversion": None}) if st.zh == "潜在客户识别"
                else st for st in s.stages]

    def target(owner: str, region: str, line: str, month: float) -> dict[str, Any]:
        return {"region": region, "product_line": line, "owner": owner, "quarter": "2024Q1",
                "quarterly_target": 3 * month, "month1": month, "month2": month,
                "month3": month}

    def o(opp_id: str, owner: str, stage: str, amount: float, moves: list[tuple[str, str]],
          close: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        row = {"opp_id": opp_id, "name": f"{opp_id}项目", "customer": f"{opp_id}公司",
               "owner": owner, "stage": stage, "stage_entered": D(moves[-1][1]),
               "amount": amount, "expected_close": D(close), "created_on": D(moves[0][1]),
               "closed_on": D(close) if stage in ("签约成交", "输单") else None}
        hist = [{"opp_id": opp_id, "customer": row["customer"], "to_stage": to,
                 "date": D(day), "owner": owner} for to, day in moves]
        return row, hist

    parts = [
        o("O1", "赵一", "需求分析", 10.0, [("初步接触", "2024-03-01"), ("需求分析", "2024-03-05")],
          "2024-03-28"),
        o("O2", "钱二", "签约成交", 40.0,
          [("报价与谈判", "2024-03-04"), ("签约成交", "2024-03-10")], "2024-03-10"),
        o("O3", "孙三", "报价与谈判", 20.0, [("方案提交", "2024-03-06"),
                                        ("报价与谈判", "2024-03-12")], "2024-03-30"),
        o("O4", "赵一", "输单", 5.0, [("初步接触", "2024-02-01"), ("输单", "2024-02-20")],
          "2024-02-20"),
    ]
    data = {"opportunities": [p[0] for p in parts],
            "stage_history": [h for p in parts for h in p[1]],
            "customers": [{"customer_id": f"C{i}", "name": p[0]["customer"],
                           "owner": p[0]["owner"], "stage": "意向客户"}
                          for i, p in enumerate(parts)],
            "targets": [target("赵一", "华东", "产品线A", 30.0),
                        target("钱二", "华南", "产品线B", 0.0)] if targets else []}
    return s, data


def test_edge_team_figures_by_hand(tmp_path: Path) -> None:
    s, data = edge_team()
    write_workspace(tmp_path, s, data, books=BOOKS)
    fu = run_funnel(tmp_path, "2024-03", today=D("2024-03-29"))
    by_stage = {f.stage.zh: f for f in fu.stages}
    # 报价与谈判: O2 and O3 entered, O2 won → 1/2; 方案提交: O3 → 1/1; 需求分析: O1 stays → 0/1;
    # 初步接触: O1 → 1/1; 潜在客户识别: nobody, and no ideal conversion either
    assert [(f.entered, f.advanced) for f in fu.stages] == [(0, 0), (1, 1), (1, 0), (1, 1),
                                                            (2, 1)]
    # quota 30 (赵一) + 0 (钱二) + none (孙三) = 30; average deal 40 (O2) → 0.75 deals
    assert (fu.quota, fu.average_deal, fu.deals_needed) == (30.0, 40.0, 0.75)
    # 报价与谈判 0.75 / 0.5 = 1.5; 方案提交 1.5 / 1 = 1.5; 需求分析: actual 0 % → the ideal
    # 60 %: 2.5; 初步接触 2.5 / 1 = 2.5; 潜在客户识别: no rate at all → unknown
    assert by_stage["报价与谈判"].needed == pytest.approx(1.5)
    assert by_stage["方案提交"].needed == pytest.approx(1.5)
    assert by_stage["需求分析"].needed == pytest.approx(2.5)
    assert by_stage["初步接触"].needed == pytest.approx(2.5)
    assert by_stage["潜在客户识别"].needed is None
    json.dumps(fu.as_dict(), allow_nan=False)  # valid JSON: no Infinity
    rows = {r.key: r for r in run_forecast(tmp_path, "2024-03").rows}
    # 赵一: O1 10 × 25 % = 2.5 against 30; 钱二: won 40 against 0 → no coverage;
    # 孙三: O3 20 × 75 % = 15 (commit), no quota at all
    assert (rows["赵一"].weighted, rows["赵一"].coverage) == (2.5, pytest.approx(2.5 / 30))
    assert (rows["钱二"].won, rows["钱二"].coverage) == (40.0, None)
    assert (rows["孙三"].commit, rows["孙三"].quota, rows["孙三"].shortage) == (15.0, None, None)


def test_edge_team_without_targets(tmp_path: Path) -> None:
    s, data = edge_team(targets=False)
    write_workspace(tmp_path, s, data, books=BOOKS)
    fu = run_funnel(tmp_path, "2024-03", today=D("2024-03-29"))
    assert (fu.quota, fu.average_deal, fu.deals_needed) == (None, 40.0, None)
    assert [f.needed for f in fu.stages] == [None] * 5
    rows = run_forecast(tmp_path, "2024-03", by="team").rows
    assert [(r.quota, r.coverage, r.shortage, r.expected) for r in rows] == [
        (None, None, None, 57.5)]  # won 40 + 2.5 + 15


@pytest.fixture(scope="module")
def reports(workspaces: dict[Lang, Path], soffice: str,
            tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The pipeline report of the sample (zh, en) and of the edge team, recalculated by
    LibreOffice in one run, with the Python figures to compare against."""
    from xlsales.io.libreoffice import recalculate_many

    root = tmp_path_factory.mktemp("reports")
    cases: dict[str, tuple[Path, Lang, dt.date]] = {
        "zh": (workspaces["zh"], "zh", SAMPLE_TODAY), "en": (workspaces["en"], "en", SAMPLE_TODAY)}
    s, data = edge_team()
    write_workspace(root / "edge", s, data, books=BOOKS)
    cases["edge"] = (root / "edge", "zh", D("2024-03-29"))
    s, data = edge_team(targets=False)
    write_workspace(root / "blank", s, data, books=BOOKS, lang="en")
    cases["blank"] = (root / "blank", "en", D("2024-03-29"))
    staged: dict[str, Path] = {}
    out: dict[str, dict[str, Any]] = {}
    for name, (ws, lang, today) in cases.items():
        written = write_pipeline(ws, "2024-03", today=today)
        assert written == ws / "pipeline_2024-03.xlsx"
        staged[name] = root / f"{name}-{written.name}"
        shutil.copyfile(written, staged[name])
        out[name] = {"written": written, "lang": lang, "root": ws, "today": today}
    recalced = recalculate_many(list(staged.values()), root / "out", soffice=soffice)
    for name, path in zip(staged, recalced, strict=True):
        out[name]["recalculated"] = path
    return out


def sheet_values(path: Path) -> dict[str, list[list[Any]]]:
    wb = openpyxl.load_workbook(path, data_only=True, read_only=True)
    try:
        return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)]
                for ws in wb.worksheets}
    finally:
        wb.close()


def blank(v: Any) -> bool:
    return v is None or v == ""


def same(cell: Any, value: Any) -> bool:
    if value is None:
        return blank(cell)
    return isinstance(cell, int | float) and math.isclose(cell, value, rel_tol=1e-9,
                                                          abs_tol=1e-9)


ERROR = re.compile(r"^(#(NULL!|DIV/0!|VALUE!|REF!|NAME\?|NUM!|N/A)|Err:\d+)")


@pytest.mark.libreoffice
@pytest.mark.parametrize("case", ["zh", "en", "edge", "blank"])
def test_report_has_no_error_values(reports: dict[str, dict[str, Any]], case: str) -> None:
    sheets = sheet_values(reports[case]["recalculated"])
    errors = [f"{name}: {v}" for name, rows in sheets.items() for row in rows for v in row
              if isinstance(v, str) and ERROR.match(v)]
    assert not errors, errors[:20]


def python_figures(info: dict[str, Any]) -> dict[str, Any]:
    root, lang = info["root"], info["lang"]
    from xlsales.workspace import read_settings

    settings = read_settings(root)
    rows = {}
    for level in ("rep", "region", "product", "team"):
        for r in run_forecast(root, "2024-03", by=level).rows:
            key = settings.display(LEVEL_LIST.get(level, ""), r.key, lang)
            rows[(LEVELS[level](lang), key)] = r
    return {"forecast": rows, "lines": run_forecast(root, "2024-03").lines,
            "funnel": run_funnel(root, "2024-03", today=info["today"]), "settings": settings}


@pytest.mark.libreoffice
@pytest.mark.parametrize("case", ["zh", "en", "edge", "blank"])
def test_report_formulas_agree_with_python(reports: dict[str, dict[str, Any]],
                                           case: str) -> None:
    info = reports[case]
    lang: Lang = info["lang"]
    py = python_figures(info)
    sheets = sheet_values(info["recalculated"])
    problems: list[str] = []

    # forecast lines: weighted = amount × probability, per line
    _, _, lines = read_block(sheets[FORECAST_LINES.sheet(lang)], FORECAST_LINES, lang)
    by_id = {ln.opp_id: ln for ln in py["lines"]}
    assert sorted(r["opp_id"] for r in lines) == sorted(by_id)
    for r in lines:
        ln = by_id[r["opp_id"]]
        for key, value in (("weighted", ln.weighted), ("amount", ln.amount),
                           ("probability", ln.probability)):
            if not same(r[key], value):
                problems.append(f"line {ln.opp_id} {key}: sheet {r[key]!r}, Python {value!r}")

    # the summary, per row
    _, _, summary = read_block(sheets[FORECAST.sheet(lang)], FORECAST, lang)
    assert sorted((r["level"], r["key"]) for r in summary) == sorted(py["forecast"])
    for r in summary:
        row = py["forecast"][(r["level"], r["key"])]
        for key in ("quota", "won", "weighted", "commit", "best_case", "pipeline", "expected",
                    "shortage"):
            if not same(r[key], getattr(row, key)):
                problems.append(f"{r['level']} {r['key']} {key}: sheet {r[key]!r}, "
                                f"Python {getattr(row, key)!r}")
        coverage = NA_LABEL(lang) if row.coverage is None else row.coverage
        if not (r["coverage"] == coverage if row.coverage is None
                else same(r["coverage"], coverage)):
            problems.append(f"{r['level']} {r['key']} coverage: sheet {r['coverage']!r}, "
                            f"Python {row.coverage!r}")

    # the funnel: conversion and needed per stage, deals needed
    fu = py["funnel"]
    _, _, basis = read_block(sheets[FUNNEL.sheet(lang)], FUNNEL_SUMMARY, lang)
    assert len(basis) == 1
    for key in ("quota", "won_count", "won_amount", "average_deal", "deals_needed"):
        if not same(basis[0][key], getattr(fu, key)):
            problems.append(f"funnel basis {key}: sheet {basis[0][key]!r}, "
                            f"Python {getattr(fu, key)!r}")
    _, _, stages = read_block(sheets[FUNNEL.sheet(lang)], FUNNEL, lang)
    assert [r["stage"] for r in stages] == [f.stage.label(lang) for f in fu.stages]
    for r, f in zip(stages, fu.stages, strict=True):
        for key in ("open_count", "open_amount", "entered", "advanced", "conversion", "ideal",
                    "needed"):
            value = getattr(f, key)
            if not same(r[key], value):
                problems.append(f"funnel {r['stage']} {key}: sheet {r[key]!r}, "
                                f"Python {value!r}")
    assert not problems, "\n".join(problems)


def col_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def chart_series(path: Path) -> list[dict[str, list[str]]]:
    """Per chart (in file order): the <c:cat> and <c:val> formulas of every series."""
    out = []
    with zipfile.ZipFile(path) as z:
        names = sorted((n for n in z.namelist() if re.match(r"xl/charts/chart\d+\.xml$", n)),
                       key=lambda n: int(re.findall(r"\d+", n)[0]))
        for name in names:
            xml = z.read(name).decode("utf-8")
            sers = re.findall(r"<c:ser>(.*?)</c:ser>", xml, re.S)
            out.append({
                "cat": [re.search(r"<c:cat>.*?<c:f>(.*?)</c:f>", s, re.S).group(1)  # type: ignore[union-attr]
                        for s in sers],
                "val": [re.search(r"<c:val>.*?<c:f>(.*?)</c:f>", s, re.S).group(1)  # type: ignore[union-attr]
                        for s in sers]})
    return out


def ref(sheet: str, col: int, first: int, last: int) -> str:
    """An absolute A1 range on ``sheet`` from 0-based column and rows."""
    c = col_letter(col)
    return f"'{sheet}'!${c}${first + 1}:${c}${last + 1}"


def norm_ref(formula: str) -> str:
    """``'Sheet'!$A$1:$A$2`` whether the sheet name was quoted or not."""
    sheet, cells = formula.rsplit("!", 1)
    return f"'{sheet.strip(chr(39))}'!{cells}"


@pytest.mark.libreoffice
@pytest.mark.parametrize("case", ["zh", "en"])
def test_report_charts_point_at_the_rep_rows_and_the_funnel(
        reports: dict[str, dict[str, Any]], case: str) -> None:
    info = reports[case]
    lang: Lang = info["lang"]
    sheets = sheet_values(info["written"])
    charts = chart_series(info["written"])
    assert len(charts) == 2

    fc_sheet = FORECAST.sheet(lang)
    head, cols, rows = read_block(sheets[fc_sheet], FORECAST, lang)
    rep_rows = [head + 1 + i for i, r in enumerate(rows) if r["level"] == LEVELS["rep"](lang)]
    assert rep_rows == list(range(rep_rows[0], rep_rows[0] + len(SETTINGS.roster)))
    r0, r1 = rep_rows[0], rep_rows[-1]
    forecast_chart = next(c for c in charts if fc_sheet in c["cat"][0])
    assert [norm_ref(f) for f in forecast_chart["cat"]] == [ref(fc_sheet, cols["key"], r0, r1)] * 3
    assert [norm_ref(f) for f in forecast_chart["val"]] == [
        ref(fc_sheet, cols[k], r0, r1) for k in ("won", "weighted", "quota")]

    fu_sheet = FUNNEL.sheet(lang)
    head, cols, stages = read_block(sheets[fu_sheet], FUNNEL, lang)
    f0, f1 = head + 1, head + len(stages)
    assert len(stages) == sum(s.kind == "open" for s in SETTINGS.stages)
    funnel_chart = next(c for c in charts if c is not forecast_chart)
    assert [norm_ref(f) for f in funnel_chart["cat"]] == [ref(fu_sheet, cols["stage"], f0, f1)] * 2
    assert [norm_ref(f) for f in funnel_chart["val"]] == [
        ref(fu_sheet, cols[k], f0, f1) for k in ("entered", "needed")]


# -- CLI ----------------------------------------------------------------------------------------

def strict_json(text: str) -> dict[str, Any]:
    def no_constant(name: str) -> Any:
        raise AssertionError(f"not JSON: {name}")

    return json.loads(text, parse_constant=no_constant)


@pytest.mark.parametrize(("words", "keys"), [
    (["alerts", "--on", "2024-03-29"], {"alerts"}),
    (["forecast", "--period", "2024-03"], {"first", "last", "by", "rows", "lines", "written"}),
    (["forecast", "--period", "2024Q1", "--by", "region"], {"rows", "lines"}),
    (["funnel", "--period", "2024-03", "--on", "2024-03-29"],
     {"first", "last", "stages", "quota", "average_deal", "deals_needed", "won_count",
      "won_amount", "written"}),
])
def test_cli_json(workspaces: dict[Lang, Path], words: list[str], keys: set[str]) -> None:
    result = CliRunner().invoke(app, [*words, "-w", str(workspaces["zh"]), "--json"])
    assert result.exit_code == 0, result.output
    payload = strict_json(result.stdout)
    assert payload["ok"] is True
    assert keys <= payload.keys()
    if words[0] == "alerts":
        assert payload["alerts"] and {"opp_id", "stage", "age", "limit", "rule"} <= \
            payload["alerts"][0].keys()
    if words[0] == "forecast":
        assert payload["rows"] and {"key", "quota", "weighted", "coverage", "shortage"} <= \
            payload["rows"][0].keys()


@pytest.mark.parametrize("command", ["forecast", "funnel"])
@pytest.mark.parametrize("period", ["2024-13", "March", "2024Q5"])
def test_cli_bad_period_is_exit_2(workspaces: dict[Lang, Path], command: str,
                                  period: str) -> None:
    result = CliRunner().invoke(app, [command, "--period", period, "-w",
                                      str(workspaces["zh"]), "--json"])
    assert result.exit_code == 2, result.output
    payload = strict_json(result.stdout)
    assert payload["ok"] is False and payload["error"]


def test_cli_forecast_bad_by_is_exit_2(workspaces: dict[Lang, Path]) -> None:
    result = CliRunner().invoke(app, ["forecast", "--period", "2024-03", "--by", "city",
                                      "-w", str(workspaces["zh"]), "--json"])
    assert result.exit_code == 2
