"""The columnar rankings, column checks, outliers, working days and targets against
row-by-row references: rank_frame, column_checks, plausible.outliers,
WorkCalendar.working, the statutory days and the memo shared between calendars,
TargetTable against shared_target."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from xlsales.calendar import WorkCalendar
from xlsales.context import Context
from xlsales.frames import Table
from xlsales.performance import Targets, TargetTable, shared_target
from xlsales.plausible import FACTOR, MIN_HISTORY, YUAN_PER_WAN, outliers
from xlsales.ranking import BELOW_MARK, IMPLAUSIBLE_MARK, TOP_N, rank_frame, top_label
from xlsales.settings import CalendarOverride, RosterEntry, Settings
from xlsales.tables import get as table_spec
from xlsales.tables.checks import column_checks

S = Settings.default()
REPS = ["张三", "李四", "王五"]
TEAM = S.model_copy(update={"roster": [RosterEntry(rep=r, region="东区", product_line="")
                                       for r in REPS]})

# -- rank_frame ---------------------------------------------------------------------------


def rank_rows(rows: list[tuple[Any, float | None, bool, Any]], threshold: float
              ) -> list[tuple[int | None, bool, bool, bool, int, str]]:
    """(rank, top, below, implausible, size, mark) of each (key, rate, implausible, group)
    row, group by group in plain Python (a missing group is never ranked)."""
    groups = {g for _, _, _, g in rows if g is not None}
    rank: dict[int, int] = {}
    sizes: dict[Any, int] = {}
    for g in groups:
        mine = [i for i, r in enumerate(rows) if r[3] == g]
        with_rate = [i for i in mine if rows[i][1] is not None]
        n = min(TOP_N, len(with_rate))
        sizes[g] = n if n >= 2 else 0
        cand = [i for i in with_rate if not rows[i][2]]
        cand.sort(key=lambda i: (-rows[i][1], rows[i][0] is None, str(rows[i][0])))
        rank.update({i: k + 1 for k, i in enumerate(cand)})
    out = []
    for i, (_, rate, bad, g) in enumerate(rows):
        size = sizes.get(g, 0) if g is not None else 0
        r = rank.get(i)
        top = r is not None and r <= size and rate >= threshold and rate > 0
        below = rate is not None and not bad and rate < threshold
        mark = (top_label(size) if top else BELOW_MARK if below
                else IMPLAUSIBLE_MARK if bad else "")
        out.append((r, top, below, bad, size, mark))
    return out


rates = st.one_of(st.none(), st.sampled_from([0.0, -0.0, 0.5, 0.8, 0.8, 1.2, 3.0, -0.1]),
                  st.floats(-1, 5, allow_nan=False))
rank_rows_ = st.lists(st.tuples(st.sampled_from(["a", "b", "c", "张三", "ab", "B", None, 1, "1"]),
                                rates,
                                st.booleans(), st.sampled_from([0, 1, 2, None])),
                      max_size=30)


@settings(max_examples=150, deadline=None)
@given(rank_rows_, st.sampled_from([0.0, 0.8, 1.0]), st.booleans())
def test_rank_frame_is_the_ranking_row_by_row(rows: list[Any], threshold: float,
                                              grouped: bool) -> None:
    if not grouped:
        rows = [(k, r, b, 0) for k, r, b, _ in rows]
    index = pd.RangeIndex(5, 5 + len(rows))
    df = pd.DataFrame({"key": pd.Series([r[0] for r in rows], dtype=object),
                       "rate": pd.Series([r[1] for r in rows], dtype="float64"),
                       "implausible": [r[2] for r in rows],
                       "g": pd.Series([r[3] for r in rows], dtype="float64")}
                      ).set_axis(index)
    st_ = rank_frame(df, threshold, group="g" if grouped else None)
    got = [(None if pd.isna(r) else int(r), bool(t), bool(b), bool(i), int(n), str(m))
           for r, t, b, i, n, m in zip(st_["rank"], st_["top"], st_["below"],
                                       st_["implausible"], st_["size"], st_["mark"],
                                       strict=True)]
    assert got == rank_rows(rows, threshold)
    assert list(st_.index) == list(index)
    assert str(st_["rank"].dtype) == "Int64" and st_["size"].dtype == "int64"


# -- column_checks ------------------------------------------------------------------------

cells = st.tuples(st.sampled_from([*REPS, "赵六", None]), st.sampled_from([None, 0, 3, -2]),
                  st.sampled_from([None, 1.5, -0.5, 0.0]), st.sampled_from([None, "明天拜访"]),
                  st.booleans())


def daily_table(rows: list[tuple[Any, ...]]) -> Table:
    """A daily report of rep, visits, amount signed and next plan (Excel rows 3…), the
    visits of the rows flagged unreadable."""
    index = pd.Index(range(3, 3 + len(rows)), name="row")
    df = pd.DataFrame({"rep": pd.Series([r[0] for r in rows], dtype="str"),
                       "visits": pd.Series([r[1] for r in rows], dtype="Int64"),
                       "amount_signed": pd.Series([r[2] for r in rows], dtype="float64"),
                       "next_plan": pd.Series([r[3] for r in rows], dtype="str")},
                      ).set_axis(index)
    keys = ["rep", "visits", "amount_signed", "next_plan"]
    spec = table_spec("daily")
    return Table(spec=spec, file="f.xlsx", sheet="日报", header_row=2,
                 headers={k: spec.column(k).header for k in keys}, df=df,
                 cols={k: i for i, k in enumerate(keys, start=1)},
                 source={k: df[k] for k in keys},
                 bad={"visits": {3 + i for i, r in enumerate(rows) if r[4]} | {999}})


def checks_row_by_row(table: Table) -> list[tuple[str, int | None, str | None, Any]]:
    """(rule, row, cell, value) of each required, list and minimum finding, cell by cell."""
    spec, df = table.spec, table.df
    out = []
    for order, col in enumerate(spec.input_columns):
        if col.key not in table.headers:
            continue
        for row in df.index:
            value = df.at[row, col.key]
            if row in table.bad.get(col.key, set()):
                continue
            if pd.isna(value):
                if col.required:
                    out.append((row, order, "cell.required", table.raw(col.key, row)))
                continue
            if col.choices == "reps" and value not in REPS:
                rule = "cell.choice" if col.strict_choices else "cell.choice_unlisted"
                out.append((row, order, rule, table.raw(col.key, row)))
            if col.minimum is not None and value < col.minimum:
                out.append((row, order, "cell.minimum", table.raw(col.key, row)))
            if col.maximum is not None and value > col.maximum:
                out.append((row, order, "cell.maximum", table.raw(col.key, row)))
    out.sort(key=lambda x: (x[0], x[1]))
    return [(rule, row, table.cell(spec.input_columns[order].key, row), raw)
            for row, order, rule, raw in out]


@settings(max_examples=80, deadline=None)
@given(st.lists(cells, min_size=1, max_size=20))
def test_column_checks_are_the_rules_cell_by_cell(rows: list[Any]) -> None:
    table = daily_table(rows)
    found = column_checks(table, Context.make(TEAM, dt.date(2024, 3, 8)))
    assert [(f.rule, f.row, f.cell, f.value) for f in found] == checks_row_by_row(table)
    for f in found:
        assert f.column in table.headers.values() and f.sheet == "日报"
        if f.rule == "cell.minimum":
            assert f.message.endswith("小于 0")


# -- outliers -----------------------------------------------------------------------------


def outliers_row_by_row(values: list[float | None], who: list[str | None], yuan: bool
                        ) -> list[tuple[int, float, bool]]:
    """(position, value, looks like 元) of each flagged value, value by value."""
    def lower(xs: list[float], q: float) -> float:
        xs = sorted(xs)
        return xs[int(np.floor(q * (len(xs) - 1)))]

    kept = [(i, v, w) for i, (v, w) in enumerate(zip(values, who, strict=True))
            if v is not None and v > 0 and w is not None]
    if len(kept) < MIN_HISTORY:
        return []
    team = lower([v for _, v, _ in kept], 0.9)
    low = lower([v for _, v, _ in kept], 0.1)
    out = []
    for i, v, w in kept:
        if not v > FACTOR * team:
            continue
        mine = [x for _, x, p in kept if p == w]
        usual = max(lower(mine, 0.9), team) if len(mine) >= MIN_HISTORY else team
        looks = yuan and FACTOR * team >= v / YUAN_PER_WAN >= low / FACTOR
        if v > FACTOR * usual or looks:
            out.append((i, v, bool(looks)))
    return out


values_ = st.lists(st.tuples(st.one_of(st.none(), st.sampled_from([0.0, -1.0, 1.0, 2.0, 3.0,
                                                                   5.0, 80.0, 30000.0]),
                                       st.floats(0.5, 9.0)),
                             st.sampled_from(["张三", "李四", None])), max_size=40)


@settings(max_examples=150, deadline=None)
@given(values_, st.booleans())
def test_outliers_are_the_values_above_the_usual_one_by_one(rows: list[Any], yuan: bool
                                                            ) -> None:
    index = pd.RangeIndex(3, 3 + len(rows))
    values = pd.Series([v for v, _ in rows], dtype="float64", index=index)
    who = pd.Series([w for _, w in rows], dtype="str", index=index)
    odd = outliers(values, who, yuan=yuan)
    expected = outliers_row_by_row([v for v, _ in rows], [w for _, w in rows], yuan)
    assert [(int(i) - 3, float(v), bool(y)) for i, v, y in
            zip(odd.index, odd["value"], odd["yuan"], strict=True)] == expected
    assert list(odd.columns) == ["value", "who", "own", "team", "yuan", "converted"]


# -- working days -------------------------------------------------------------------------

stamps = st.lists(st.one_of(st.none(), st.datetimes(dt.datetime(1965, 1, 1),
                                                    dt.datetime(2027, 12, 31)).map(
    lambda d: d.replace(microsecond=0))), max_size=30)


@settings(max_examples=100, deadline=None)
@given(stamps)
def test_working_is_is_working_date_by_date(days: list[dt.datetime | None]) -> None:
    cal = WorkCalendar("CN", (CalendarOverride(date=dt.date(2024, 3, 4), working=False),
                              CalendarOverride(date=dt.date(2024, 3, 9), working=True)))
    column = pd.Series(days, dtype="datetime64[ms]")
    expected = [False if d is None else cal.is_working(d.date()) for d in days]
    assert cal.working(column).tolist() == expected


def test_calendars_share_their_lookups_only_with_the_same_overrides() -> None:
    off = (CalendarOverride(date=dt.date(2024, 3, 4), working=False),)
    first, second = WorkCalendar("CN", off), WorkCalendar("CN", off)
    plain = WorkCalendar("CN", ())
    moved = WorkCalendar("CN", (CalendarOverride(date=dt.date(2024, 3, 4), working=True,
                                                 note="补班"),))
    day = dt.date(2024, 3, 4)  # a Monday
    assert first.is_working(day) is False
    assert day in second._memo and second._memo is first._memo
    assert plain.is_working(day) is True and moved.is_working(day) is True
    assert plain._memo is not first._memo
    assert second.count(dt.date(2024, 3, 1), dt.date(2024, 3, 31)) == \
        plain.count(dt.date(2024, 3, 1), dt.date(2024, 3, 31)) - 1
    assert second._memo_running is first._memo_running


# -- targets of many owners -----------------------------------------------------------------

target_values = st.one_of(st.sampled_from([0.0, -0.0, 10.0, 1e-300]),
                          st.floats(-50, 500, allow_nan=False))
months_ = st.dictionaries(st.tuples(st.sampled_from(["张三", "李四", "王五", "赵六"]),
                                    st.just(2024), st.integers(1, 4)), target_values,
                          max_size=14)


@settings(max_examples=120, deadline=None)
@given(months_, st.lists(st.sampled_from(["张三", "李四", "王五", "无目标"]), max_size=6),
       st.lists(st.tuples(st.integers(1, 5), st.sampled_from([0.0, 0.25, 1 / 3, 1.0])),
                max_size=4))
def test_target_table_is_shared_target_owner_by_owner(
        months: dict[tuple[str, int, int], float], owners: list[str],
        shares: list[tuple[int, float]]) -> None:
    targets = Targets(months=dict(months))
    periods = [(2024, m, share) for m, share in shares]
    table = TargetTable(targets, owners)
    got = table.targets_of(periods)
    expected = [shared_target(targets, o, periods) for o in owners]
    assert [None if v is None else np.float64(v).tobytes() for v in got] == \
        [None if v is None else np.float64(v).tobytes() for v in expected]


def test_statutory_days_are_chinese_calendars_day_by_day() -> None:
    import chinese_calendar

    cal = WorkCalendar("CN", ())
    years = cal.covered_years
    day, last = dt.date(years.start, 1, 1), dt.date(years.stop - 1, 12, 31)
    while day <= last:
        assert cal._is_working(day) is chinese_calendar.is_workday(day), day
        day += dt.timedelta(days=1)
    assert cal.is_working(dt.date(2024, 2, 4)) is True  # a 调休 Sunday
    assert cal.is_working(dt.date(2024, 10, 1)) is False  # National Day, a Tuesday
