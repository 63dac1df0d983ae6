"""Worksheet functions for Excel via xlwings, each a thin wrapper over the library.

Names start with ``XS_`` so they never clash with Excel's. Arguments may be single
cells or ranges (results then have the same shape); blanks give blanks; bad input
gives an error string starting with ``#XS!`` instead of an exception. On Linux the
xlwings decorators do nothing, so these are plain functions there (and in tests).

The functions that need settings (stages, tiers, the calendar, the roster, the week
label) use the settings of the calling workbook's team (:mod:`xlsales.excel.team`): its
workspace's ``settings.xlsx``, or the file its ``xlwings.conf`` sheet names, read once
until the file changes; the built-in defaults outside any workspace; ``#XS! settings:
<reason>`` when the settings are there but cannot be read. :data:`caller_book` finds the
calling workbook; tests replace it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import xlwings as xw

from xlsales.calendar import display_week, week_label
from xlsales.duplicates import name_core
from xlsales.excel.team import SettingsUnavailable, Team, team_of
from xlsales.figures import completion_rate
from xlsales.normalize import NormalizeError, to_date, to_number

ERR = "#XS!"


def _xlwings_caller() -> Any | None:
    """The workbook whose cell calls the function (xlwings hands the UDF's workbook to
    ``Book.caller()``); None when not called from Excel."""
    try:
        return xw.Book.caller()
    except Exception:  # outside Excel: no caller (on Linux xlwings has no engine at all)
        return None


# Finds the calling workbook: anything with ``fullname`` and ``sheets``, or None.
caller_book: Callable[[], Any | None] = _xlwings_caller


# The team when no calling workbook can say it: xlsales.lite sets it (a custom function of
# xlwings Lite gets no workbook; its scripts read the team from the open workbook's sheets).
team_source: Callable[[], Team] | None = None


def _team() -> Team | str:
    """The calling workbook's team, or the ``#XS! settings: …`` text saying why not."""
    try:
        return team_source() if team_source is not None else team_of(caller_book())
    except SettingsUnavailable as exc:
        return f"{ERR} settings: {exc}"


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
def XS_WORKDAYS(start: Any, end: Any, rep: Any = None) -> Any:
    """Working days from start to end inclusive (the team calendar: Chinese holidays with
    调休 and the team's own days); with ``rep``, the days that rep works (within the
    roster's start and end dates, leave left out)."""
    team = _team()
    if isinstance(team, str):
        return team

    def one(s: Any, e: Any, r: Any) -> Any:
        if _blank(s) or _blank(e):
            return ""
        a, b = _date(s), _date(e)
        if a is None or b is None:
            return ""
        lo, hi = min(a, b), max(a, b)
        if _blank(r):
            n = team.calendar.count(lo, hi)
        else:
            entry = team.rep(str(r))
            if entry is None:
                raise ValueError(f"unknown rep {r!r}")
            leave = entry.leave_days()
            n = sum(1 for d in team.calendar.working_days(lo, hi)
                    if d not in leave and not (entry.start_date and d < entry.start_date)
                    and not (entry.end_date and d > entry.end_date))
        return n if a <= b else -n
    return _map(one, start, end, rep)


@xw.func
def XS_WORKDAY_ADD(start: Any, days: Any) -> Any:
    """The date ``days`` working days after ``start`` (the team calendar)."""
    team = _team()
    if isinstance(team, str):
        return team

    def one(s: Any, n: Any) -> Any:
        if _blank(s) or _blank(n):
            return ""
        day = _date(s)
        count = to_number(n)
        if day is None or count is None or not float(count).is_integer():
            raise ValueError(f"bad input: {s!r}, {n!r}")
        return team.calendar.add(day, int(count))
    return _map(one, start, days)


@xw.func
def XS_NEXT_FOLLOWUP(tier: Any, last_contact: Any, stage: Any = None,
                     kind: Any = None) -> Any:
    """Next routine follow-up date from the team's tier cadence, on a working day; "" for
    a lost customer."""
    team = _team()
    if isinstance(team, str):
        return team
    settings = team.settings

    def one(t: Any, last: Any, st: Any, k: Any) -> Any:
        if _blank(t) or _blank(last):
            return ""
        if isinstance(st, str) and settings.canonical("customer_stages", st) == "流失客户":
            return ""
        tier = team.tier(str(t))
        if tier is None:
            raise ValueError(f"unknown tier {t!r}")
        day = _date(last)
        if day is None:
            return ""
        interval = tier.interval_days
        if isinstance(k, str) and k.strip() and tier.extra_contact and k.strip() in (
                tier.extra_contact,):
            interval = tier.extra_interval_days or interval
        return team.engine.on_working_day(day + dt.timedelta(days=interval))
    return _map(one, tier, last_contact, stage, kind)


@xw.func
def XS_STAGE_PROB(stage: Any) -> Any:
    """The win probability of one of the team's stages (zh or en name)."""
    team = _team()
    if isinstance(team, str):
        return team

    def one(s: Any) -> Any:
        if _blank(s):
            return ""
        found = team.settings.stage(str(s))
        if found is None:
            raise ValueError(f"unknown stage {s!r}")
        return found.probability
    return _map(one, stage)


@xw.func
@xw.arg("amounts", ndim=2)
@xw.arg("stages", ndim=2)
def XS_WEIGHTED(amounts: Any, stages: Any) -> Any:
    """Σ amount × stage probability (the team's stages) over two ranges of the same shape."""
    team = _team()
    if isinstance(team, str):
        return team
    a, s = _unwrap(amounts), _unwrap(stages)
    a_rows = a if isinstance(a, list) else [[a]]
    s_rows = s if isinstance(s, list) else [[s]]
    total = 0.0
    for ra, rs in zip(a_rows, s_rows, strict=False):
        for x, st in zip(ra if isinstance(ra, list) else [ra],
                         rs if isinstance(rs, list) else [rs], strict=False):
            if _blank(x) or _blank(st):
                continue
            stage = team.settings.stage(str(st))
            if stage is None:
                return f"{ERR} unknown stage {st!r}"
            try:
                total += (to_number(x) or 0.0) * stage.probability
            except NormalizeError as exc:
                return f"{ERR} {exc}"
    return total


@xw.func
def XS_WEEK(day: Any) -> Any:
    """The team's label of a date's week: ``2024-W10``, or the Monday ``2024-03-04`` when
    the settings' week label is ``monday``."""
    team = _team()
    if isinstance(team, str):
        return team
    style = team.settings.general.week_label

    def one(d: Any) -> Any:
        if _blank(d):
            return ""
        value = _date(d)
        return "" if value is None else display_week(week_label(value), style)
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
