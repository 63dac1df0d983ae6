"""Numbers, blanks and long lists as people read them on the command line.

Every CLI table and summary formats its cells here: amounts with thousands separators
(never scientific notation), percentages, counts, and a blank (None, NaN, "") as an
em dash or an empty cell."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, TypeVar

from xlsales.i18n import Label, Lang

BLANK = "—"
SHOWN_ROWS = 30  # a table longer than this shows its first rows and "… N more"

T = TypeVar("T")

UNIT = Label("万元", "10k CNY")
# The workspace's amount unit for the command being run (the CLI sets it from the settings'
# ``amount_unit``: amounts are shown × 10,000 in whole units); 1 shows them in 万.
_UNIT: dict[str, object] = {"amount": None}
MORE = Label("… 还有 {n} 行(加 --all 显示全部)", "… {n} more (--all shows everything)")


def is_blank(value: Any) -> bool:
    """None, NaN (also pandas' NA/NaT) and an empty or blank text."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str) and not value.strip():
        return True
    try:
        import pandas as pd

        return bool(pd.isna(value)) if not isinstance(value, (list, tuple, dict)) else False
    except (ImportError, TypeError, ValueError):
        return False


def text(value: Any, blank: str = BLANK) -> str:
    """A cell: its text, or ``blank`` for None/NaN/empty (never "None" or "nan")."""
    if is_blank(value):
        return blank
    if isinstance(value, float):
        return number(value)
    return str(value)


def use_unit(unit: object) -> None:
    """Show amounts in ``unit`` (an ``amount_unit`` setting: 10000, or 1 for whole units)
    from now on; None goes back to 万."""
    _UNIT["amount"] = unit


def scaled(value: float) -> float:
    """An amount in 万 in the unit set by :func:`use_unit`."""
    from xlsales.words import to_unit

    return to_unit(float(value), _UNIT["amount"])


def amount(value: Any, decimals: int = 1, unit: str | None = None, blank: str = BLANK,
           money: bool = True) -> str:
    """3346290.5 → "3,346,290.5" (with ``unit``: "3,346,290.5 万元"); never 3.34629e+06.
    Money in whole units (:func:`use_unit`) × 10,000 without decimals: "12.5" → "125,000";
    ``money=False`` for a figure that is no amount (a count of deals)."""
    if is_blank(value):
        return blank
    if money and _whole():
        value, decimals = scaled(value), 0
    shown = f"{float(value):,.{decimals}f}"
    if shown.startswith("-") and float(shown.replace(",", "")) == 0:
        shown = shown[1:]
    return f"{shown} {unit}" if unit else shown


def number(value: Any, blank: str = BLANK) -> str:
    """A figure as short as exact: 12 → "12", 3346290.5 → "3,346,290.5", 0.125 → "0.125"."""
    if is_blank(value):
        return blank
    x = float(value)
    if x == int(x) and abs(x) < 1e18:
        return f"{int(x):,}"
    shown = f"{x:,.6f}".rstrip("0").rstrip(".")
    return shown


def _whole() -> bool:
    from xlsales.words import is_whole

    return is_whole(_UNIT["amount"])


def money(value: Any, blank: str = BLANK) -> str:
    """An amount as :func:`number` shows it, in the unit of :func:`use_unit`."""
    if is_blank(value):
        return blank
    return number(scaled(value))


def count(value: Any, blank: str = BLANK) -> str:
    """A count: 1532 → "1,532"."""
    if is_blank(value):
        return blank
    return f"{int(value):,}"


def pct(value: Any, decimals: int = 0, blank: str = BLANK) -> str:
    """0.8512 → "85%" (``decimals`` digits after the point)."""
    if is_blank(value):
        return blank
    return f"{float(value) * 100:,.{decimals}f}%"


def first_rows(rows: Sequence[T], show_all: bool,
               limit: int | None = None) -> tuple[list[T], int]:
    """The rows to show (the first :data:`SHOWN_ROWS` of a long list) and how many are
    left out (0 with ``show_all``)."""
    limit = SHOWN_ROWS if limit is None else limit
    if show_all or len(rows) <= limit:
        return list(rows), 0
    return list(rows[:limit]), len(rows) - limit


def more(left_out: int, lang: Lang) -> str:
    """The line under a shortened table."""
    return MORE(lang).format(n=count(left_out))
