"""The columnar paths of the rollup and the daily checks against row-by-row references:
stage progress and problems per (week, rep), owed days, dedupe, text cleaning, the raw
values of findings."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlsales.calendar import WorkCalendar, week_label
from xlsales.discipline import dedupe, discipline, owed_frame
from xlsales.frames import Table, _python, _raw_values
from xlsales.normalize import _zero_width_bytes, clean_text, clean_text_series
from xlsales.rollup import (
    _owed,
    _problems,
    _problems_plain,
    _progress,
    _progress_plain,
    progress_text,
    week_labels,
)
from xlsales.settings import RosterEntry, Settings
from xlsales.stagemoves import moves_frame
from xlsales.tables import get as table_spec
from xlsales.tables.base import Kind
from xlsales.tables.daily import R_LATE

S = Settings.default()
STAGES = [s.canonical for s in S.stages]
DAYS = [dt.date(2024, 3, 4) + dt.timedelta(days=i) for i in range(12)]

texts = st.lists(st.sampled_from([f"客户{c}:{a}→{b}" for c in "ABC" for a in STAGES[:3]
                                  for b in STAGES[1:4]] + ["乱写", "客户D:谁→知道"]),
                 max_size=3).map(lambda parts: ";".join(parts) or None)
rows_ = st.lists(st.tuples(st.sampled_from(["张三", "李四", "王五"]), st.sampled_from(DAYS),
                           texts, st.sampled_from([None, "缺样品", "客户出差", " "])),
                 min_size=1, max_size=25)


def daily(rows: list[tuple[str, dt.date, str | None, str | None]]) -> pd.DataFrame:
    """A rollup's rows: rep, date, stage moves, problems, week; labelled as Excel rows."""
    df = pd.DataFrame({"rep": pd.Series([r[0] for r in rows], dtype="str"),
                       "date": pd.Series([pd.Timestamp(r[1]) for r in rows],
                                         dtype="datetime64[ms]"),
                       "stage_moves": pd.Series([r[2] for r in rows], dtype="str"),
                       "problems": pd.Series([r[3] for r in rows], dtype="str"),
                       "submitted_at": pd.Series([None] * len(rows), dtype="datetime64[ms]")},
                      ).set_axis(pd.RangeIndex(3, 3 + len(rows), name="row"))
    return df.assign(week=week_labels(df["date"]))


def as_dict(frame: pd.DataFrame, column: str) -> dict[tuple[str, str], str]:
    return {(w, r): t for w, r, t in zip(frame["week"], frame["rep"], frame[column],
                                         strict=True)}


@settings(max_examples=60, deadline=None)
@given(rows_)
def test_progress_is_each_weeks_moves_by_customer(rows: list[Any]) -> None:
    whole = daily(rows)
    assert whole["rep"].notna().all()
    moves = moves_frame(whole["stage_moves"], S)  # the moves of every week
    for df in (whole, whole[whole["week"] == whole["week"].iloc[-1]]):
        expected: dict[tuple[str, str], list[tuple[dt.date, str, str, str]]] = defaultdict(
            list)
        for m in moves[moves["customer"].notna() & moves["row"].isin(df.index)].itertuples():
            r = df.loc[m.row]
            expected[(r["week"], r["rep"])].append((r["date"].date(), m.customer,
                                                    m.from_stage, m.to_stage))
        got = _progress(df, moves)
        assert as_dict(got, "progress") == {k: progress_text(v) for k, v in expected.items()}
        assert as_dict(_progress(df, moves, S), "progress") == as_dict(
            _progress_plain(df, moves, S), "progress")


@settings(max_examples=60, deadline=None)
@given(rows_)
def test_problems_are_distinct_in_date_order(rows: list[Any]) -> None:
    df = daily(rows)
    expected: dict[tuple[str, str], list[str]] = defaultdict(list)
    for _, r in df.sort_values("date", kind="stable").iterrows():
        found = expected[(r["week"], r["rep"])]
        if isinstance(r["problems"], str) and r["problems"] not in found:
            found.append(r["problems"])
    assert as_dict(_problems(df), "problems") == {k: "; ".join(v)
                                                 for k, v in expected.items() if v}
    assert as_dict(_problems(df), "problems") == as_dict(_problems_plain(df), "problems")


def test_owed_days_follow_the_roster_and_what_was_reported() -> None:
    roster = [RosterEntry(rep="张三", region="东区", product_line=""),
              RosterEntry(rep="李四", region="西区", product_line="",
                          start_date=dt.date(2024, 3, 6)),
              RosterEntry(rep="王五", region="西区", product_line="",
                          end_date=dt.date(2024, 3, 12))]
    team = S.model_copy(update={"roster": roster})
    cal = WorkCalendar.of(team)
    df = daily([("张三", DAYS[0], None, None), ("张三", DAYS[1], None, None),
                ("李四", DAYS[8], None, None), ("外人", DAYS[2], None, None)])
    weeks = ["2024-W10", "2024-W11"]
    out = _owed(team, weeks, df, DAYS[-1], cal)
    owed = owed_frame(team, DAYS[0], DAYS[-1], cal)
    assert (out["expected"].sum(), len(out)) == (len(owed), 6)
    for (week, rep), row in out.iterrows():
        mine = [d.date() for r, d in zip(owed["rep"], owed["date"], strict=True)
                if r == rep and week_label(d.date()) == week]
        seen = set(df.loc[df["rep"] == rep, "date"].dt.date)
        assert row["expected"] == len(mine)
        assert row["reported"] == sum(d in seen for d in mine)
        assert row["missing_days"] == [d for d in mine if d not in seen]
    # the same days as the discipline report counts them
    for rep in discipline(df, team, DAYS[0], DAYS[-1], today=DAYS[-1], cal=cal):
        mine = out.xs(rep.rep, level="rep")
        assert (mine["expected"].sum(), mine["reported"].sum()) == (rep.expected,
                                                                    rep.reported)
        assert [d for days in mine["missing_days"] for d in days] == rep.missing_days


stamps = st.one_of(st.none(), st.sampled_from([dt.datetime(2024, 3, 4, h) for h in
                                               (9, 17, 20)]))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", None]),
                          st.sampled_from([DAYS[0], DAYS[1], None]), stamps), max_size=30))
def test_dedupe_keeps_the_latest_submission(rows: list[Any]) -> None:
    df = pd.DataFrame({"rep": pd.Series([r[0] for r in rows], dtype="str"),
                       "date": pd.Series([r[1] and pd.Timestamp(r[1]) for r in rows],
                                         dtype="datetime64[ms]"),
                       "submitted_at": pd.Series([r[2] for r in rows],
                                                 dtype="datetime64[ms]")},
                      ).set_axis(pd.Index(np.arange(len(rows)) * 2 + 5, name="row"))
    best: dict[Any, int] = {}  # key -> position of the winner
    order: list[Any] = []
    for i, (rep, day, stamp) in enumerate(rows):
        key = (rep, day) if rep is not None and day is not None else ("row", i)
        if key not in best:
            order.append(key)
            best[key] = i
        elif (stamp or dt.datetime.min) >= (rows[best[key]][2] or dt.datetime.min):
            best[key] = i
    assert df["rep"].notna().sum() == sum(r[0] is not None for r in rows)
    kept, dropped = dedupe(df)
    assert kept.index.tolist() == [df.index[best[k]] for k in order]
    assert sorted(kept.index.tolist() + dropped.index.tolist()) == df.index.tolist()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["客户 A", "ＡＢＣ", " x  y ", "\u200b张三", "", "  ", "q",
                                 "中\u3000文", None]), min_size=1, max_size=40))
def test_clean_text_series_is_clean_text_cell_by_cell(values: list[str | None]) -> None:
    s = pd.Series(values * 2, dtype="str", index=np.arange(len(values) * 2) + 7)
    got = clean_text_series(s)
    assert got.dtype == s.dtype and got.index.equals(s.index)
    assert [None if pd.isna(v) else v for v in got] == [
        None if pd.isna(v) else clean_text(v) for v in s]


@pytest.mark.parametrize("ch", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"])
def test_zero_width_bytes_finds_each_character(ch: str) -> None:
    for text in (ch, f"a{ch}", f"{ch}b", f"中{ch}文", f"→{ch}"):
        arr = pa.chunked_array([pa.array(["x", None]), pa.array(["→", text])])
        assert _zero_width_bytes(arr)
    clean = pa.chunked_array([pa.array(["→ 中文", "\u200a", "\u2061", "¬", "\ufefe"])])
    assert not _zero_width_bytes(clean)


@pytest.mark.parametrize("kind", [Kind.DATETIME, Kind.DATE, Kind.INT, Kind.TEXT])
def test_raw_values_are_python_cell_by_cell(kind: Kind) -> None:
    stamps = pd.Series([pd.Timestamp("2024-03-04 18:30"), pd.NaT, pd.Timestamp("2024-03-05")],
                       dtype="datetime64[ms]")
    for values in (stamps, pd.Series([1.0, np.nan, 3.5]), pd.Series(["a", None], dtype="str"),
                   pd.Series([pd.Timestamp("2024-03-05"), "3月5日", None], dtype=object)):
        assert _raw_values(values, kind) == [_python(v, kind, raw=True)
                                             for v in values.tolist()]


def test_findings_at_give_the_cells_raw_values() -> None:
    src = pd.Series([pd.Timestamp("2024-03-04 18:30"), pd.NaT, pd.Timestamp("2024-03-05")],
                    index=pd.Index([3, 4, 5], name="row"), dtype="datetime64[ms]")
    table = Table(spec=table_spec("daily"), file="f.xlsx", sheet="s", header_row=2,
                  headers={"submitted_at": "提交时间"}, df=pd.DataFrame(index=src.index),
                  cols={"submitted_at": 10}, source={"submitted_at": src},
                  raw_cells={("submitted_at", 5): "typed"})
    found = table.findings_at(R_LATE, [3, 4, 5, 9], "submitted_at",
                              [{"submitted": "x", "deadline": "y"}] * 4)
    assert [f.value for f in found] == [dt.datetime(2024, 3, 4, 18, 30), "", "typed", ""]
    assert [f.value for f in found] == [table.raw("submitted_at", r) for r in (3, 4, 5, 9)]
    assert [f.cell for f in found] == ["K3", "K4", "K5", "K9"]
