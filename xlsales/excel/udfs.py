"""Worksheet functions for Excel via xlwings, each a thin wrapper over the library.

Names start with ``XS_`` so they never clash with Excel's. Arguments may be single
cells or ranges (results then have the same shape); blanks give blanks; bad input
gives an error string starting with ``#XS!`` instead of an exception. On Linux the
xlwings decorators do nothing, so these are plain functions there (and in tests).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import xlwings as xw

from xlsales.calendar import WorkCalendar, week_label
from xlsales.duplicates import name_core
from xlsales.figures import completion_rate
from xlsales.followups import Engine
from xlsales.normalize import NormalizeError, to_date, to_number
from xlsales.settings import Settings

ERR = "#XS!"


@lru_cache(maxsize=1)
def _settings() -> Settings:
    return Settings.default()


@lru_cache(maxsize=1)
def _calendar() -> WorkCalendar:
    return WorkCalendar()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _map(fn: Callable[..., Any], *args: Any) -> Any:
    """Apply ``fn`` cell by cell when the first argument is a range (list of rows)."""
    first = args[0]
    if isinstance(first, list):
        rows = first if first and isinstance(first[0], list) else [first]
        out = []
        for i, row in enumerate(rows):
            out_row = []
            for j, value in enumerate(row):
                rest = [_pick(a, i, j) for a in args[1:]]
                out_row.append(_safe(fn, value, *rest))
            out.append(out_row)
        return out if first and isinstance(first[0], list) else out[0]
    return _safe(fn, *args)


def _pick(arg: Any, i: int, j: int) -> Any:
    if isinstance(arg, list):
        row = arg[i] if arg and isinstance(arg[0], list) else arg
        return row[j] if j < len(row) else None
    return arg


def _safe(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except (NormalizeError, ValueError, TypeError, KeyError) as exc:
        return f"{ERR} {exc}"


def _date(value: Any) -> dt.date | None:
    return to_date(value)


@xw.func
@xw.arg("actual", ndim=2)
@xw.arg("target", ndim=2)
def XS_COMPLETION(actual: Any, target: Any) -> Any:
    """Completion rate actual / target; "" for blanks; "无目标" when the target is 0."""
    def one(a: Any, t: Any) -> Any:
        if _blank(a) or _blank(t):
            return ""
        rate = completion_rate(to_number(a), to_number(t))
        return "无目标" if rate is None else rate
    return _map(one, _unwrap(actual), _unwrap(target))


@xw.func
def XS_WORKDAYS(start: Any, end: Any) -> Any:
    """Working days from start to end inclusive (Chinese calendar with 调休)."""
    def one(s: Any, e: Any) -> Any:
        if _blank(s) or _blank(e):
            return ""
        a, b = _date(s), _date(e)
        if a is None or b is None:
            return ""
        return _calendar().count(a, b) if a <= b else -_calendar().count(b, a)
    return _map(one, start, end)


@xw.func
def XS_WORKDAY_ADD(start: Any, days: Any) -> Any:
    """The date ``days`` working days after ``start``."""
    def one(s: Any, n: Any) -> Any:
        if _blank(s) or _blank(n):
            return ""
        day = _date(s)
        count = to_number(n)
        if day is None or count is None or not float(count).is_integer():
            raise ValueError(f"bad input: {s!r}, {n!r}")
        return _calendar().add(day, int(count))
    return _map(one, start, days)


@xw.func
def XS_NEXT_FOLLOWUP(tier: Any, last_contact: Any, stage: Any = None,
                     kind: Any = None) -> Any:
    """Next routine follow-up date from the tier cadence; "" for a lost customer."""
    def one(t: Any, last: Any, st: Any, k: Any) -> Any:
        if _blank(t) or _blank(last):
            return ""
        if isinstance(st, str) and _settings().canonical("customer_stages", st) == "流失客户":
            return ""
        tier = next((x for x in _settings().tiers if x.tier == str(t).strip().upper()), None)
        if tier is None:
            raise ValueError(f"unknown tier {t!r}")
        day = _date(last)
        if day is None:
            return ""
        interval = tier.interval_days
        if isinstance(k, str) and k.strip() and tier.extra_contact and k.strip() in (
                tier.extra_contact,):
            interval = tier.extra_interval_days or interval
        return Engine(_settings(), _calendar()).on_working_day(day + dt.timedelta(days=interval))
    return _map(one, tier, last_contact, stage, kind)


@xw.func
def XS_STAGE_PROB(stage: Any) -> Any:
    """The win probability of a stage (zh or en name)."""
    def one(s: Any) -> Any:
        if _blank(s):
            return ""
        found = _settings().stage(str(s))
        if found is None:
            raise ValueError(f"unknown stage {s!r}")
        return found.probability
    return _map(one, stage)


@xw.func
@xw.arg("amounts", ndim=2)
@xw.arg("stages", ndim=2)
def XS_WEIGHTED(amounts: Any, stages: Any) -> Any:
    """Σ amount × stage probability over two ranges of the same shape."""
    a, s = _unwrap(amounts), _unwrap(stages)
    a_rows = a if isinstance(a, list) else [[a]]
    s_rows = s if isinstance(s, list) else [[s]]
    total = 0.0
    for ra, rs in zip(a_rows, s_rows, strict=False):
        for x, st in zip(ra if isinstance(ra, list) else [ra],
                         rs if isinstance(rs, list) else [rs], strict=False):
            if _blank(x) or _blank(st):
                continue
            stage = _settings().stage(str(st))
            if stage is None:
                return f"{ERR} unknown stage {st!r}"
            try:
                total += (to_number(x) or 0.0) * stage.probability
            except NormalizeError as exc:
                return f"{ERR} {exc}"
    return total


@xw.func
def XS_WEEK(day: Any) -> Any:
    """The team week label of a date: ``2024-W10``."""
    def one(d: Any) -> Any:
        if _blank(d):
            return ""
        value = _date(d)
        return "" if value is None else week_label(value)
    return _map(one, day)


@xw.func
def XS_DUPKEY(name: Any) -> Any:
    """The normalised duplicate key of a company name."""
    def one(n: Any) -> Any:
        if _blank(n):
            return ""
        return name_core(n) or ""
    return _map(one, name)


def _unwrap(value: Any) -> Any:
    """A 1×1 range as its value."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], list) \
            and len(value[0]) == 1:
        return value[0][0]
    return value


UDFS = ("XS_COMPLETION", "XS_WORKDAYS", "XS_WORKDAY_ADD", "XS_NEXT_FOLLOWUP", "XS_STAGE_PROB",
        "XS_WEIGHTED", "XS_WEEK", "XS_DUPKEY")
