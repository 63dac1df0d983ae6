"""The figures of the spec (§4), as plain Python: no workbook needed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from xlsales.words import UNASSIGNED as UNASSIGNED

# The group of whatever cannot be attributed (an owner not on the roster, a rep without
# a region or product line), so that every breakdown adds up to the team's total.
# (UNASSIGNED: from the message catalogue, xlsales.words)


def completion_rate(actual: float | None, target: float | None) -> float | None:
    """actual / target; None ("no target") when the target is 0 or missing."""
    if target is None or target == 0 or actual is None:
        return None
    return actual / target


def completion_rates(actual: Any, target: Any) -> Any:
    """:func:`completion_rate` of whole columns: a numpy float array, NaN where it is None
    (a target of 0 or none, no actual)."""
    import numpy as np

    actual, target = np.asarray(actual, dtype=float), np.asarray(target, dtype=float)
    out = np.full(target.shape, np.nan)
    np.divide(actual, target, out=out, where=(target != 0) & ~np.isnan(target)
              & ~np.isnan(actual))
    return out


def split_sum(months: Sequence[float | None]) -> float | None:
    """The sum of a monthly split; None when no month is filled."""
    filled = [m for m in months if m is not None]
    return sum(filled) if filled else None


def split_gap(quarterly: float, months: Sequence[float | None]) -> float | None:
    """Quarterly target minus the monthly split (0 when they agree)."""
    total = split_sum(months)
    return None if total is None else quarterly - total


def target_margin(owner_targets: Iterable[float], team_target: float) -> float | None:
    """How far the owners' sum lies above the team total (0.12 = 12%)."""
    if not team_target:
        return None
    return sum(owner_targets) / team_target - 1


def margin_ok(margin: float | None, low: float = 0.10, high: float = 0.15) -> bool:
    """The seed's rule: owners' targets 10%-15% above the team total."""
    return margin is not None and low - 1e-9 <= margin <= high + 1e-9


def weighted_amount(amount: float, probability: float | None) -> float | None:
    """Amount × stage probability."""
    return None if probability is None else amount * probability


def conversion_rate(won: int, intent: int) -> float | None:
    """Intent → won conversion; None when there were no intent customers."""
    return None if intent == 0 else won / intent


def average_deal(amount: float, deals: int) -> float | None:
    """客单价: amount per deal; None without deals."""
    return None if deals == 0 else amount / deals


def effective_rate(effective: int, visits: int) -> float | None:
    """Effective conversations per visit."""
    return None if visits == 0 else effective / visits


def effective_rates(effective: Any, visits: Any) -> Any:
    """:func:`effective_rate` of whole columns: a numpy float array, NaN where there were
    no visits."""
    import numpy as np

    effective, visits = np.asarray(effective, dtype=float), np.asarray(visits, dtype=float)
    out = np.full(visits.shape, np.nan)
    np.divide(effective, visits, out=out, where=visits != 0)
    return out
