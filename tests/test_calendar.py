"""The working-day calendar: statutory holidays, 调休 make-up days, team overrides."""

from __future__ import annotations

import datetime as dt

import pytest

from xlsales.calendar import WorkCalendar, month_range, quarter_months, quarter_of
from xlsales.settings import CalendarOverride

D = dt.date


@pytest.mark.parametrize(("day", "working"), [
    (D(2024, 2, 4), True),    # make-up Sunday before Spring Festival
    (D(2024, 2, 18), True),   # make-up Sunday after it
    (D(2024, 2, 12), False),  # Spring Festival
    (D(2024, 10, 1), False), (D(2024, 10, 7), False),
    (D(2024, 9, 29), True), (D(2024, 10, 12), True),  # make-up days around National Day
    (D(2024, 3, 17), False),  # a plain Sunday
    (D(2025, 1, 26), True),   # 2025 Spring Festival make-up Sunday
    (D(2025, 1, 29), False),
])
def test_statutory_days(day: dt.date, working: bool) -> None:
    assert WorkCalendar().is_working(day) is working


def test_overrides_win() -> None:
    cal = WorkCalendar(overrides=(CalendarOverride(date=D(2024, 3, 8), working=False),
                                  CalendarOverride(date=D(2024, 3, 9), working=True)))
    assert not cal.is_working(D(2024, 3, 8))
    assert cal.is_working(D(2024, 3, 9))


def test_counting_and_adding() -> None:
    cal = WorkCalendar()
    # 2024-09-30 .. 2024-10-12: Mon 30 Sep, then holiday to 7 Oct, 8-11 Oct, Sat 12 Oct.
    assert cal.count(D(2024, 9, 30), D(2024, 10, 12)) == 6
    assert cal.add(D(2024, 9, 30), 1) == D(2024, 10, 8)
    assert cal.add(D(2024, 10, 8), -1) == D(2024, 9, 30)
    assert cal.last_working_day(D(2024, 10, 7), D(2024, 10, 13)) == D(2024, 10, 12)


def test_uncovered_year_falls_back_to_weekdays() -> None:
    cal = WorkCalendar()
    far = D(2099, 1, 1)
    assert not cal.covers(far)
    assert cal.uncovered_years([far, D(2024, 1, 2)]) == [2099]
    assert cal.is_working(D(2099, 1, 2))  # a Friday


def test_periods() -> None:
    assert month_range(2024, 2) == (D(2024, 2, 1), D(2024, 2, 29))
    assert month_range(2023, 12) == (D(2023, 12, 1), D(2023, 12, 31))
    assert quarter_of(D(2024, 3, 31)) == "2024Q1"
    assert quarter_months("2024Q4") == (2024, (10, 11, 12))
