"""The team's working-day calendar: Chinese statutory holidays and 调休 by default."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

import chinese_calendar

from xlsales.errors import InputError
from xlsales.i18n import Label
from xlsales.settings import CalendarOverride

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from xlsales.settings import Settings


class CalendarCoverageWarning(UserWarning):
    """The holiday data does not cover a year; weekends only are used for it."""


_CN_WORKDAYS, _CN_HOLIDAYS = chinese_calendar.workdays, chinese_calendar.holidays

# Working days and per-year running counts already looked up, by (country, overrides'
# dates and flags): each Context makes its own WorkCalendar, and the statutory data does not
# change while the process runs, so the lookups are kept for the next one. A few keys only.
_SHARED: dict[tuple[Any, ...], tuple[dict[dt.date, bool], dict[int, list[int]]]] = {}
_SHARED_MAX = 32


@dataclass(frozen=True)
class WorkCalendar:
    """Working days: the statutory calendar plus the team's own overrides."""

    country: str = "CN"
    overrides: tuple[CalendarOverride, ...] = field(default=())

    @classmethod
    def of(cls, settings: Settings) -> WorkCalendar:
        """The calendar a team's settings describe."""
        return cls(settings.general.calendar, tuple(settings.calendar))

    @cached_property
    def _override_map(self) -> dict[dt.date, bool]:
        return {o.date: o.working for o in self.overrides}

    @cached_property
    def covered_years(self) -> range:
        if self.country == "CN":
            years = [d.year for d in chinese_calendar.holidays]
            return range(min(years), max(years) + 1)
        return range(1, 10000)

    def covers(self, day: dt.date) -> bool:
        """Whether the statutory data knows ``day``'s year."""
        return day.year in self.covered_years

    @cached_property
    def _foreign(self) -> Any:
        import holidays

        return holidays.country_holidays(self.country)

    @cached_property
    def _memos(self) -> tuple[dict[dt.date, bool], dict[int, list[int]]]:
        """The days and years already looked up, shared by every calendar of the same
        country and overrides (:data:`_SHARED`)."""
        key = (self.country, tuple((o.date, bool(o.working)) for o in self.overrides))
        found = _SHARED.get(key)
        if found is None:
            if len(_SHARED) >= _SHARED_MAX:
                _SHARED.pop(next(iter(_SHARED)))
            found = _SHARED[key] = ({}, {})
        return found

    @property
    def _memo(self) -> dict[dt.date, bool]:
        return self._memos[0]

    def is_working(self, day: dt.date) -> bool:
        """A working day for the team."""
        memo = self._memo
        if day not in memo:
            memo[day] = self._is_working(day)
        return memo[day]

    def working(self, days: pd.Series) -> np.ndarray:
        """Whether each date of a datetime column is a working day (NaT: False); each
        distinct date is looked up once."""
        import numpy as np
        import pandas as pd

        if isinstance(days.dtype, np.dtype) and days.dtype.kind == "M":  # tz-naive
            # whole days at once: datetime64[D] floors like normalize, its uniques are dates
            codes, uniques = pd.factorize(days.to_numpy().astype("datetime64[D]"))
            dates = uniques.astype(object).tolist()
        else:
            codes, stamps = days.dt.normalize().factorize()
            dates = [d.date() for d in stamps]
        flags = np.array([self.is_working(d) for d in dates] + [False], dtype=bool)
        return flags[codes]

    def _is_working(self, day: dt.date) -> bool:
        if day in self._override_map:
            return self._override_map[day]
        if self.country == "CN":
            if self.covers(day):
                # chinese_calendar.is_workday without its range check per call (covers() is
                # that check): a 调休 working day, or a weekday that is no holiday
                return day in _CN_WORKDAYS or (day.weekday() < 5 and day not in _CN_HOLIDAYS)
            return day.weekday() < 5
        if self.country in ("", "NONE"):
            return day.weekday() < 5
        return day.weekday() < 5 and day not in self._foreign

    def holiday_name(self, day: dt.date) -> str | None:
        """The statutory holiday on ``day`` (English name), if any."""
        if self.country == "CN":
            if not self.covers(day):
                return None
            on_holiday, name = chinese_calendar.get_holiday_detail(day)
            return name if on_holiday and name else None
        if self.country in ("", "NONE"):
            return None
        return self._foreign.get(day)

    def days(self, start: dt.date, end: dt.date) -> Iterator[dt.date]:
        """Every working day from ``start`` to ``end`` inclusive."""
        day = start
        while day <= end:
            if self.is_working(day):
                yield day
            day += dt.timedelta(days=1)

    def count(self, start: dt.date, end: dt.date) -> int:
        """How many working days lie in ``start``..``end`` inclusive (a lookup in a
        per-year running count, built once per year)."""
        if start > end:
            return 0
        if start.year == end.year:
            cum = self._running(start.year)
            a, b = start.timetuple().tm_yday, end.timetuple().tm_yday
            return int(cum[b] - cum[a - 1])
        total = self.count(start, dt.date(start.year, 12, 31))
        for year in range(start.year + 1, end.year):
            total += int(self._running(year)[-1])
        return total + self.count(dt.date(end.year, 1, 1), end)

    def _running(self, year: int) -> list[int]:
        """cum[n] = working days from 1 January to the n-th day of ``year``."""
        cache = self._memo_running
        if year not in cache:
            day, cum, n = dt.date(year, 1, 1), [0], 0
            while day.year == year:
                n += self.is_working(day)
                cum.append(n)
                day += dt.timedelta(days=1)
            cache[year] = cum
        return cache[year]

    @property
    def _memo_running(self) -> dict[int, list[int]]:
        return self._memos[1]

    def working_days(self, start: dt.date, end: dt.date) -> list[dt.date]:
        """Every working day from ``start`` to ``end`` inclusive, as a list."""
        return list(self.days(start, end))

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

    def week_end(self, label: str) -> dt.date | None:
        """The team week's last working day (Friday, or a 调休 Saturday)."""
        return self.last_working_day(*week_days(label))

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


# How people write a quarter (after NFKC, spaces removed, case folded): 2024Q1, 2024q1,
# 2024 Q1, 2024-Q1, 2024年Q1, 2024年第一季度, 2024年1季度, 2024年度第1季, 2024-1Q, Q1 2024.
_QUARTER_NUMBERS = {"1": 1, "2": 2, "3": 3, "4": 4, "一": 1, "二": 2, "三": 3, "四": 4}
_QUARTER = re.compile(r"^(?:(\d{4})(?:年度?)?[-/._]?(?:q([1-4])|第?([1-4一二三四])季度?|([1-4])q)"
                      r"|q([1-4])[-/._]?(\d{4})年?)$")


@lru_cache(maxsize=4096)
def parse_quarter(text: str) -> tuple[int, int] | None:
    """(year, quarter) of a quarter however it is written (``2026Q4``, ``2026q4``,
    ``2026 Q4``, ``2026-Q4``, ``2026年Q4``, ``2026年第四季度``, ``Q4 2026``); None when the
    text is no quarter. The one parser of quarters: arguments, cells and checks use it."""
    key = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()
    m = _QUARTER.match(key)
    if m is None:
        return None
    year = int(m[1] or m[6])
    q = _QUARTER_NUMBERS[next(g for g in (m[2], m[3], m[4], m[5]) if g)]
    return (year, q) if 1 <= year <= 9999 else None


def canonical_quarter(value: object) -> str | None:
    """A quarter in its one written form, ``2026Q4``; None when ``value`` is no quarter."""
    if not isinstance(value, str):
        return None
    found = parse_quarter(value)
    return None if found is None else f"{found[0]}Q{found[1]}"


def canonical_quarters(values: pd.Series) -> pd.Series:
    """A column of quarters in their one written form (``2026q4`` and ``2026年第四季度``
    read as ``2026Q4``); what is no quarter stays as it was, for a check to name."""
    uniques = values.dropna().unique()
    mapping = {v: q for v in uniques if (q := canonical_quarter(v)) is not None and q != v}
    return values.replace(mapping) if mapping else values


def quarter_months(quarter: str) -> tuple[int, tuple[int, int, int]]:
    """The year and the three months of a quarter (``2024Q1``, or any spelling
    :func:`parse_quarter` reads)."""
    found = parse_quarter(quarter) if isinstance(quarter, str) else None
    if found is None:
        raise InputError(Label(f"不是季度（如 2024Q1）：{quarter!r}",
                               f"not a quarter like 2024Q1: {quarter!r}"))
    year, q = found
    first = (q - 1) * 3 + 1
    return year, (first, first + 1, first + 2)


def week_label(day: dt.date) -> str:
    """The ISO week of ``day``: ``2024-W10``."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def display_week(label: str, style: str = "iso") -> str:
    """A week as the team names it: ``2024-W10`` (iso) or ``2024-03-04`` (monday)."""
    return label if style == "iso" else week_days(label)[0].isoformat()


def week_days(label: str) -> tuple[dt.date, dt.date]:
    """Monday and Sunday of ISO week ``2024-W10``."""
    try:
        year, week = label.upper().split("-W")
        monday = dt.date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        raise InputError(Label(f"不是 ISO 周（如 2024-W10）：{label!r}",
                               f"not an ISO week like 2024-W10: {label!r}")) from None
    return monday, monday + dt.timedelta(days=6)


def parse_period(text: str) -> tuple[dt.date, dt.date, str]:
    """``2024-W10``, ``2024-03``, ``2024Q1`` (any spelling :func:`parse_quarter` reads) or
    ``2024`` as (first day, last day, kind)."""
    if parse_quarter(text) is not None:
        year, months = quarter_months(text)
        return dt.date(year, months[0], 1), month_range(year, months[2])[1], "quarter"
    try:
        return _parse_period(text.strip().upper())
    except InputError:
        raise
    except ValueError:
        raise InputError(Label(f"不是周期（2024-W10、2024-03、2024Q1、2024）：{text!r}",
                               "not a period (2024-W10, 2024-03, 2024Q1, 2024): "
                               f"{text!r}")) from None


def period_label(text: str) -> str:
    """A period as xlsales writes it in names and titles: ``2026Q4`` for any spelling of a
    quarter, else the text trimmed and upper-cased (``2024-W10``, ``2024-03``)."""
    return canonical_quarter(text) or text.strip().upper()


def _parse_period(t: str) -> tuple[dt.date, dt.date, str]:
    if "-W" in t:
        first, last = week_days(t)
        return first, last, "week"
    if "-" in t:
        y, m = t.split("-")
        first, last = month_range(int(y), int(m))
        return first, last, "month"
    if t.isdigit() and len(t) == 4:
        return dt.date(int(t), 1, 1), dt.date(int(t), 12, 31), "year"
    raise ValueError(t)
