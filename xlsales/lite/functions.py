"""The ``XS_*`` worksheet functions as xlwings Lite custom functions.

The same functions as the desktop ones (:mod:`xlsales.excel.udfs`, which do the work),
registered with Lite's ``@func``. A Lite custom function gets no workbook, so the team is
the one the last script read from the open workbook (:func:`xlsales.lite.scripts.current_team`;
the built-in defaults until a script ran: the panel's "Load team settings" button reads it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from xlwings import arg, func

from xlsales.excel import udfs
from xlsales.lite.scripts import current_team


@contextmanager
def _lite_team() -> Iterator[None]:
    before = udfs.team_source
    udfs.team_source = current_team
    try:
        yield
    finally:
        udfs.team_source = before


def _call(fn: Callable[..., Any], *args: Any) -> Any:
    with _lite_team():
        return fn(*args)


@func
@arg("actual", ndim=2)
@arg("target", ndim=2)
def XS_COMPLETION(actual: Any, target: Any) -> Any:
    """Completion rate actual / target; "" for blanks; "无目标" when the target is 0."""
    return _call(udfs.XS_COMPLETION, actual, target)


@func
def XS_WORKDAYS(start: Any, end: Any, rep: Any = None) -> Any:
    """Working days from start to end inclusive (the team calendar); with a rep, the days
    that rep works."""
    return _call(udfs.XS_WORKDAYS, start, end, rep)


@func
def XS_WORKDAY_ADD(start: Any, days: Any) -> Any:
    """The date ``days`` working days after ``start`` (the team calendar)."""
    return _call(udfs.XS_WORKDAY_ADD, start, days)


@func
def XS_NEXT_FOLLOWUP(tier: Any, last_contact: Any, stage: Any = None, kind: Any = None) -> Any:
    """Next routine follow-up from the team's tier cadence, on a working day."""
    return _call(udfs.XS_NEXT_FOLLOWUP, tier, last_contact, stage, kind)


@func
def XS_STAGE_PROB(stage: Any) -> Any:
    """The win probability of one of the team's stages."""
    return _call(udfs.XS_STAGE_PROB, stage)


@func
@arg("amounts", ndim=2)
@arg("stages", ndim=2)
def XS_WEIGHTED(amounts: Any, stages: Any) -> Any:
    """Σ amount × stage probability over two ranges of the same shape."""
    return _call(udfs.XS_WEIGHTED, amounts, stages)


@func
def XS_WEEK(day: Any) -> Any:
    """The team's label of a date's week."""
    return _call(udfs.XS_WEEK, day)


@func
def XS_DUPKEY(name: Any) -> Any:
    """The normalised duplicate key of a company name."""
    return _call(udfs.XS_DUPKEY, name)


FUNCTIONS = {f.__name__: f for f in (XS_COMPLETION, XS_WORKDAYS, XS_WORKDAY_ADD,
                                     XS_NEXT_FOLLOWUP, XS_STAGE_PROB, XS_WEIGHTED, XS_WEEK,
                                     XS_DUPKEY)}
