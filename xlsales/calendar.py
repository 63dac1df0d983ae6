"""The team's working-day calendar: Chinese statutory holidays and 调休 by default."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

import chinese_calendar

from xlsales.settings import CalendarOverride


class CalendarCoverageWarning(UserWarning):
    """The holiday data does not cover a year; weekends only are used for it."""


@dataclass(frozen=True)
class WorkCalendar:
    """Working days: the statutory calendar plus the team's own overrides."""

    country: str = "CN"
    overrides: tuple[CalendarOverride, ...] = field(default=())

    @cached_property
    def _override_map(self) -> dict[dt.date, bool]:
        return {o.date: o.working for o in self.overrides}

    @cached_property
    def covered_years(self) -> range:
        years = [d.year for d in chinese_calendar.holidays]
        return range(min(years), max(years) + 1)

    def covers(self, day: dt.date) -> bool:
        """Whether the statutory data knows ``day``'s year."""
        return self.country != "CN" or day.year in self.covered_years

    def is_working(self, day: dt.date) -> bool:
        """A working day for the team."""
        if day in self._override_map:
            return self._override_map[day]
        if self.country == "CN" and self.covers(day):
            return bool(chinese_calendar.is_workday(day))
        return day.weekday() < 5

    def holiday_name(self, day: dt.date) -> str | None:
        """The statutory holiday on ``day`` (English name), if any."""
        if self.country != "CN" or not self.covers(day):
            return None
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
        return name if on_holiday and name else None

    def days(self, start: dt.date, end: dt.date) -> Iterator[dt.date]:
        """Every working day from ``start`` to ``end`` inclusive."""
        day = start
        while day <= end:
            if self.is_working(day):
                yield day
            day += dt.timedelta(days=1)

    def count(self, start: dt.date, end: dt.date) -> int:
        """How many working days lie in ``start``..``end`` inclusive."""
        return sum(1 for _ in self.days(start, end))

    def add(self, day: dt.date, n: int) -> dt.date:
        """The working day ``n`` working days after ``day`` (before it when n < 0)."""
        step = dt.timedelta(days=1 if n >= 0 else -1)
        left = abs(n)
        while left:
            day += step
            if self.is_working(day):
                left -= 1
        return day

    def last_working_day(self, start: dt.date, end: dt.date) -> dt.date | None:
        """The last working day in ``start``..``end``."""
        day = end
        while day >= start:
            if self.is_working(day):
                return day
            day -= dt.timedelta(days=1)
        return None

    def uncovered_years(self, days: Iterable[dt.date]) -> list[int]:
        """Years among ``days`` the holiday data does not cover."""
        return sorted({d.year for d in days if not self.covers(d)})


def month_range(year: int, month: int) -> tuple[dt.date, dt.date]:
    """First and last day of a month."""
    first = dt.date(year, month, 1)
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return first, nxt - dt.timedelta(days=1)


def quarter_of(day: dt.date) -> str:
    """``2024Q1`` for a date."""
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def quarter_months(quarter: str) -> tuple[int, tuple[int, int, int]]:
    """The year and the three months of ``2024Q1``."""
    year, q = quarter.upper().split("Q")
    first = (int(q) - 1) * 3 + 1
    return int(year), (first, first + 1, first + 2)
