"""Forecast accuracy: snapshots of the pipeline against what was won (xlsales/accuracy.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from xlsales import accuracy as A
from xlsales.performance import Targets
from xlsales.pipeline import forecast
from xlsales.settings import Settings

D = dt.date
T = pd.Timestamp


def _opps(rows: list[tuple]) -> pd.DataFrame:
    cols = ["opp_id", "customer", "owner", "stage", "amount", "expected_close", "closed_on",
            "created_on", "stage_entered"]
    df = pd.DataFrame(rows, columns=cols)
    for c in ("expected_close", "closed_on", "created_on", "stage_entered"):
        df[c] = pd.to_datetime(df[c]).astype("datetime64[ms]")
    return df


# The default stages: 需求分析 0.25, 方案提交 0.5, 报价与谈判 0.75 (commit: ≥ 0.75),
# 签约成交 won, 输单 lost. Two reps, 甲 and 乙, quarter 2024Q1.
#
# Snapshot of 2024-01-01 (before the quarter):
#   O1 甲 报价与谈判 100, expected 2024-02-10 → weighted 75, commit 75
#   O2 甲 方案提交    40, expected 2024-03-20 → weighted 20
#   O3 乙 需求分析    80, expected 2024-02-01 → weighted 20
#   O4 乙 方案提交    60, expected 2024-05-01 → outside the quarter
#   甲: forecast 95, commit 75;  乙: forecast 20, commit 0;  team: 115, 75
# Snapshot of 2024-02-15 (during the quarter):
#   O1 won 2024-02-12 (100)  → won to date 甲 100
#   O2 甲 报价与谈判 40, expected 2024-03-20 → weighted 30, commit 30
#   O3 乙 lost
#   O4 乙 报价与谈判 60, expected 2024-03-25 (pulled in) → weighted 45, commit 45
#   甲: forecast 100 + 30 = 130, commit 130;  乙: 45, 45;  team 175, 175
# Outcome (today's table): O1 won 100 (2024-02-12), O2 won 40 (2024-03-18), O3 lost,
#   O4 won 60 on 2024-04-02 (after the quarter).
#   actual 甲 140, 乙 0, team 140.
#   甲 on 01-01: ratio 95/140 = 0.678571…, error 45/140 = 0.321428…;
#      commit 75/140, error 65/140.   On 02-15: 130/140, error 10/140.
#   乙: actual 0 → ratio and error None.
#   team on 01-01: 115/140, error 25/140; on 02-15: 175/140 = 1.25, error 0.25.

SNAPSHOTS = pd.concat([
    A.snapshot(_opps([
        ("O1", "c1", "甲", "报价与谈判", 100, "2024-02-10", None, "2023-11-01", "2023-12-20"),
        ("O2", "c2", "甲", "方案提交", 40, "2024-03-20", None, "2023-12-01", "2023-12-15"),
        ("O3", "c3", "乙", "需求分析", 80, "2024-02-01", None, "2023-12-05", "2023-12-05"),
        ("O4", "c4", "乙", "方案提交", 60, "2024-05-01", None, "2023-12-10", "2023-12-10"),
    ]), Settings.default(), D(2024, 1, 1)),
    A.snapshot(_opps([
        ("O1", "c1", "甲", "签约成交", 100, "2024-02-10", "2024-02-12", "2023-11-01",
         "2024-02-12"),
        ("O2", "c2", "甲", "报价与谈判", 40, "2024-03-20", None, "2023-12-01", "2024-02-01"),
        ("O3", "c3", "乙", "输单", 80, "2024-02-01", "2024-02-05", "2023-12-05",
         "2024-02-05"),
        ("O4", "c4", "乙", "报价与谈判", 60, "2024-03-25", None, "2023-12-10", "2024-02-10"),
    ]), Settings.default(), D(2024, 2, 15)),
], ignore_index=True)

TODAY = _opps([
    ("O1", "c1", "甲", "签约成交", 100, "2024-02-10", "2024-02-12", "2023-11-01", "2024-02-12"),
    ("O2", "c2", "甲", "签约成交", 40, "2024-03-20", "2024-03-18", "2023-12-01", "2024-03-18"),
    ("O3", "c3", "乙", "输单", 80, "2024-02-01", "2024-02-05", "2023-12-05", "2024-02-05"),
    ("O4", "c4", "乙", "签约成交", 60, "2024-03-25", "2024-04-02", "2023-12-10", "2024-04-02"),
])


def _row(acc: pd.DataFrame, day: str, level: str, key: str) -> pd.Series:
    hit = acc[(acc["snapshot_date"] == T(day)) & (acc["level"] == level) & (acc["key"] == key)]
    assert len(hit) == 1, (day, level, key)
    return hit.iloc[0]


def test_snapshot_holds_stage_probability_and_commit() -> None:
    first = SNAPSHOTS[SNAPSHOTS["snapshot_date"] == T("2024-01-01")].set_index("opp_id")
    assert list(first.columns) == [c for c in A.SNAPSHOT_COLUMNS if c != "opp_id"]
    assert first.loc["O1", "probability"] == 0.75 and first.loc["O1", "commit"]
    assert first.loc["O2", "probability"] == 0.5 and not first.loc["O2", "commit"]
    second = SNAPSHOTS[SNAPSHOTS["snapshot_date"] == T("2024-02-15")].set_index("opp_id")
    assert not second.loc["O1", "commit"]  # won: no longer in any forecast band


def test_hand_computed_quarter() -> None:
    acc = A.period_accuracy(SNAPSHOTS, TODAY, Settings.default(), "2024Q1")
    team = Settings.default().general.team_name
    a = _row(acc, "2024-01-01", "rep", "甲")
    assert (a["weighted"], a["commit"], a["won_to_date"]) == (95.0, 75.0, 0.0)
    assert (a["forecast"], a["commit_forecast"], a["actual"]) == (95.0, 75.0, 140.0)
    assert a["ratio"] == pytest.approx(95 / 140) and a["error"] == pytest.approx(45 / 140)
    assert a["commit_ratio"] == pytest.approx(75 / 140)
    assert a["commit_error"] == pytest.approx(65 / 140)
    b = _row(acc, "2024-01-01", "rep", "乙")
    assert (b["forecast"], b["commit_forecast"], b["actual"]) == (20.0, 0.0, 0.0)
    assert pd.isna(b["ratio"]) and pd.isna(b["error"])  # nothing won: no ratio
    t = _row(acc, "2024-01-01", "team", team)
    assert (t["forecast"], t["commit_forecast"], t["actual"]) == (115.0, 75.0, 140.0)
    assert t["error"] == pytest.approx(25 / 140)
    a2 = _row(acc, "2024-02-15", "rep", "甲")
    assert (a2["won_to_date"], a2["weighted"], a2["forecast"]) == (100.0, 30.0, 130.0)
    assert a2["commit_forecast"] == 130.0 and a2["error"] == pytest.approx(10 / 140)
    b2 = _row(acc, "2024-02-15", "rep", "乙")
    assert (b2["forecast"], b2["commit_forecast"]) == (45.0, 45.0)
    t2 = _row(acc, "2024-02-15", "team", team)
    assert t2["forecast"] == 175.0 and t2["ratio"] == pytest.approx(1.25)
    assert t2["error"] == pytest.approx(0.25)
    # a snapshot after the quarter is not a forecast of it
    later = pd.concat([SNAPSHOTS, A.snapshot(TODAY, Settings.default(), D(2024, 4, 5))])
    assert set(A.period_accuracy(later, TODAY, Settings.default(), "2024Q1")
               ["snapshot_date"]) == {T("2024-01-01"), T("2024-02-15")}


def test_recent_accuracy_hand_computed() -> None:
    # With a 45-day window (the hand example has only two snapshots), months ending
    # 2024-03:
    # January: the start snapshot is 01-01 itself: nothing expected in January → 0;
    #   actual January 0.
    # February: the start snapshot is 01-01 (the last one in the 45 days up to 02-01):
    #   O1 (75) and O3 (20) expected in February → 95; won in February: O1 100 → error 5.
    # March: start snapshot 02-15 (the last in the 45 days up to 03-01): O2 30 + O4 45
    #   = 75 (commit 75); won in March: O2 40 → error 35.
    # accuracy = 1 − (0 + 5 + 35) / (0 + 100 + 40) = 1 − 40/140 = 0.714285…
    rec = A.recent_accuracy(SNAPSHOTS, TODAY, Settings.default(), "2024-03", window_days=45)
    assert [m.month for m in rec.months] == ["2024-01", "2024-02", "2024-03"]
    assert [m.snapshot_date for m in rec.months] == [D(2024, 1, 1), D(2024, 1, 1),
                                                     D(2024, 2, 15)]
    assert [m.forecast for m in rec.months] == [0.0, 95.0, 75.0]
    assert [m.actual for m in rec.months] == [0.0, 100.0, 40.0]
    assert rec.months[2].commit_forecast == 75.0
    assert rec.accuracy == pytest.approx(1 - 40 / 140)
    # with the default week, February and March have no snapshot at their start: no
    # forecast, left out; January alone won nothing, so there is no accuracy figure
    rec = A.recent_accuracy(SNAPSHOTS, TODAY, Settings.default(), "2024-03")
    assert [m.forecast for m in rec.months] == [0.0, None, None]
    assert [m.actual for m in rec.months] == [0.0, 100.0, 40.0] and rec.accuracy is None
    # a snapshot a few days into the month stands for its start
    later = SNAPSHOTS.assign(snapshot_date=SNAPSHOTS["snapshot_date"].replace(
        T("2024-02-15"), T("2024-03-04")))
    rec = A.recent_accuracy(later, TODAY, Settings.default(), "2024-03")
    assert rec.months[2].snapshot_date == D(2024, 3, 4) and rec.months[2].forecast == 75.0
    assert rec.accuracy == pytest.approx(1 - 35 / 40)  # January (0 of 0) and March
    # no snapshot near the start of any month: nothing to measure
    rec = A.recent_accuracy(SNAPSHOTS, TODAY, Settings.default(), "2023-12")
    assert all(m.forecast is None for m in rec.months) and rec.accuracy is None


def test_reconstruct_from_history_hand_example() -> None:
    # O1: created 11-01 in 需求分析, 报价与谈判 on 12-20, won 02-12.
    history = pd.DataFrame({
        "opp_id": ["O1", "O1", "O1"], "to_stage": ["需求分析", "报价与谈判", "签约成交"],
        "date": pd.to_datetime(["2023-11-01", "2023-12-20", "2024-02-12"])
        .astype("datetime64[ms]")})
    snaps = A.reconstruct_snapshots(TODAY.iloc[:1], history, Settings.default(),
                                    [D(2023, 10, 1), D(2023, 12, 1), D(2024, 1, 1),
                                     D(2024, 3, 1)])
    by_day = snaps.set_index("snapshot_date")
    assert T("2023-10-01") not in by_day.index  # not created yet
    assert by_day.loc[T("2023-12-01"), "stage"] == "需求分析"
    assert by_day.loc[T("2024-01-01"), "stage"] == "报价与谈判"
    assert pd.isna(by_day.loc[T("2024-01-01"), "closed_on"])
    assert by_day.loc[T("2024-03-01"), "closed_on"] == T("2024-02-12")


@pytest.fixture(scope="module")
def sample() -> tuple[pd.DataFrame, pd.DataFrame, Settings]:
    from xlsales.jobs.sources import load_customers

    root = Path(__file__).resolve().parents[1] / "samples" / "sample_team"
    ws = load_customers(root, ("opportunities", "stage_history"))
    return ws.frame("opportunities"), ws.frame("stage_history"), ws.settings


def test_sample_team_reconstructed_quarter(sample) -> None:  # type: ignore[no-untyped-def]
    opps, history, settings = sample
    mondays = [D(2023, 12, 4) + dt.timedelta(weeks=i) for i in range(18)] + [D(2024, 3, 31)]
    snaps = A.reconstruct_snapshots(opps, history, settings, mondays)
    acc = A.period_accuracy(snaps, opps, settings, "2024Q1")
    first, last = D(2024, 1, 1), D(2024, 3, 31)
    today = {r.key: r for r in forecast(opps, Targets(), settings, first, last).rows}
    team = settings.general.team_name
    reps = acc[acc["level"] == "rep"]
    # actual is the forecast's own "won" of today's table, for every rep and the team
    for rep, row in reps.groupby("key")["actual"].first().items():
        assert row == pytest.approx(today[rep].won if rep in today else 0.0)
    teams = acc[acc["level"] == "team"].set_index("snapshot_date")
    assert teams["actual"].iloc[0] == pytest.approx(sum(r.won for r in today.values()))
    assert teams["actual"].iloc[0] > 0
    # the reps add up to the team on every snapshot
    sums = reps.groupby("snapshot_date")[["forecast", "commit_forecast", "weighted"]].sum()
    for col in sums:
        assert list(sums[col].round(6)) == list(teams.loc[sums.index, col].round(6))
    # before the quarter nothing is won yet; at its end what was won is all of it
    assert (teams.loc[teams.index < T(first), "won_to_date"] == 0).all()
    assert teams.loc[T(last), "won_to_date"] == pytest.approx(teams.loc[T(last), "actual"])
    # the commit forecast never exceeds the weighted one
    assert (acc["commit_forecast"] <= acc["forecast"] + 1e-9).all()
    taken = {T(d) for d in mondays if d <= last}  # 2024-04-01 is after the quarter
    assert set(teams.index) == taken and len(taken) == len(mondays) - 1
    assert (acc["key"] == team).sum() == len(taken)


def test_sample_team_today_matches_reconstruction(sample) -> None:  # type: ignore[no-untyped-def]
    opps, history, settings = sample
    on = D(2024, 3, 29)
    now = A.snapshot(opps, settings, on).set_index("opp_id")
    rebuilt = A.reconstruct_snapshots(opps, history, settings, [on]).set_index("opp_id")
    assert len(now) == len(opps)
    both = now.index.intersection(rebuilt.index)
    assert len(both) == len(now)  # every opportunity has a stage by the last day
    # the table's stage is the history's last move for every opportunity of the sample
    assert (now.loc[both, "stage"] == rebuilt.loc[both, "stage"]).all()
    # and so the forecast of both is the same
    a = A.period_accuracy(now.reset_index(), opps, settings, "2024-04")
    b = A.period_accuracy(rebuilt.reset_index(), opps, settings, "2024-04")
    assert list(a["forecast"]) == list(b["forecast"])
    assert a["weighted"].sum() > 0


def test_sample_team_recent_accuracy(sample) -> None:  # type: ignore[no-untyped-def]
    opps, history, settings = sample
    firsts = [D(2024, m, 1) for m in (1, 2, 3)]
    snaps = A.reconstruct_snapshots(opps, history, settings, firsts)
    rec = A.recent_accuracy(snaps, opps, settings, "2024-03")
    month = {m.month: m for m in rec.months}
    for first in firsts:
        m = month[first.strftime("%Y-%m")]
        assert m.snapshot_date == first
        lo, hi = first, (pd.Timestamp(first) + pd.offsets.MonthEnd(0)).date()
        direct = A.accuracy(snaps[snaps["snapshot_date"] == T(first)], opps, settings, lo, hi,
                            levels=("team",))
        assert m.forecast == pytest.approx(float(direct["forecast"].iloc[0]))
        assert m.actual == pytest.approx(float(direct["actual"].iloc[0]))
    total = sum(m.actual for m in rec.months)
    assert rec.accuracy == pytest.approx(
        1 - sum(abs(m.forecast - m.actual) for m in rec.months) / total)
