"""Values of someone else's file in xlsales's types, a column at a time.

Each distinct text of a column is converted once (exports repeat their dates, stages and
owners thousands of times) and the results are spread back over the rows. A value that
cannot be converted leaves the row's cell as None and is reported with its reason.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from xlsales.i18n import Label
from xlsales.normalize import NormalizeError, clean_long_text, clean_text, to_datetime, to_number
from xlsales.tables.base import Kind

_CURRENCY = re.compile(r"^\s*(?:RMB|CNY|USD|EUR|GBP|HKD|JPY|US\$|HK\$|[¥￥$€£])\s*|"
                       r"\s*(?:RMB|CNY|USD|EUR|GBP|HKD|JPY)\s*$", re.I)
_NUMERIC_DATE = re.compile(r"^(\d{1,4})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{1,4})"
                           r"(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?$")
_MONTHS = {m: i + 1 for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
_NAMED_DATE = re.compile(r"^(?:(\d{1,2})[\s\-]+([A-Za-z]{3,9})\.?[\s\-,]+(\d{4})|"
                         r"([A-Za-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4}))"
                         r"(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?$")


@dataclass
class Converted:
    """A column converted: values (None where blank or bad), and the bad rows' reasons."""

    values: pd.Series
    bad: dict[int, Label]


def _mapped(s: pd.Series, one: Callable[[str], Any]) -> Converted:
    """``one`` over each distinct text of ``s``; a ValueError marks the rows bad."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    out: list[Any] = []
    errors: dict[int, Label] = {}
    for i, text in enumerate(uniques):
        try:
            out.append(one(str(text)))
        except ValueError as exc:
            out.append(None)
            errors[i] = _reason(exc, text)
    values = [None if c < 0 else out[c] for c in codes]
    bad = {pos: errors[c] for pos, c in enumerate(codes) if c in errors} if errors else {}
    return Converted(pd.Series(values, index=s.index, dtype=object), bad)


def _reason(exc: ValueError, text: Any) -> Label:
    if isinstance(exc, NormalizeError):
        return Label(exc.zh, str(exc))
    return Label(f"无法识别:{text!r}", f"not understood: {text!r}")


def date_order(s: pd.Series, default: str) -> str:
    """How the column's numeric dates read: a first part over 12 says DMY, a second part
    over 12 says MDY, four digits first say YMD; else the profile's ``default``."""
    firsts, seconds = [], []
    for text in pd.unique(s.dropna()):
        m = _NUMERIC_DATE.match(str(text).strip())
        if m and len(m[1]) <= 2 and len(m[3]) == 4:
            firsts.append(int(m[1]))
            seconds.append(int(m[2]))
    if any(f > 12 for f in firsts):
        return "DMY"
    if any(x > 12 for x in seconds):
        return "MDY"
    return default


def parse_datetime(text: str, order: str) -> dt.datetime | None:
    """A date or date-time in any common form; ``order`` reads ``03/04/2024``."""
    t = text.strip()
    if not t:
        return None
    m = _NUMERIC_DATE.match(t)
    if m and not (len(m[1]) == 4 or order == "YMD"):
        a, b, y = int(m[1]), int(m[2]), int(m[3])
        if y < 100:
            y += 2000
        month, day = (a, b) if order == "MDY" else (b, a)
        return dt.datetime(y, month, day, *_clock(m[4], m[5], m[6], m[7]))
    if m and len(m[1]) == 4:
        return dt.datetime(int(m[1]), int(m[2]), int(m[3]), *_clock(m[4], m[5], m[6], m[7]))
    m = _NAMED_DATE.match(t)
    if m:
        day, month, year = (m[1], m[2], m[3]) if m[1] else (m[5], m[4], m[6])
        number = _MONTHS.get(month[:3].casefold())
        if number is None:
            raise ValueError(f"not a date: {text!r}")
        return dt.datetime(int(year), number, int(day), *_clock(m[7], m[8], m[9], m[10]))
    if re.fullmatch(r"\d{5}(?:\.\d+)?", t):  # an Excel serial that lost its format
        return to_datetime(float(t))
    if t.endswith("Z") or re.search(r"[+-]\d{2}:?\d{2}$", t):  # an instant: its local date
        stamp = pd.Timestamp(t)
        return stamp.tz_convert(None).to_pydatetime() if stamp.tzinfo else \
            stamp.to_pydatetime()
    return to_datetime(t)


def _clock(hh: str | None, mm: str | None, ss: str | None,
           ampm: str | None) -> tuple[int, int, int]:
    if hh is None:
        return (0, 0, 0)
    h = int(hh)
    if ampm:
        h = h % 12 + (12 if ampm.casefold() == "pm" else 0)
    return (h, int(mm or 0), int(ss or 0))


def amount(text: str, unit: str, rate: float = 1.0) -> float | None:
    """An amount in 万元: currency marks dropped, ``(1,200)`` negative, a plain number
    read in ``unit``; ``rate`` converts another currency into the team's."""
    t = clean_text(text)
    if t is None:
        return None
    negative = t.startswith("(") and t.endswith(")")
    bare = _CURRENCY.sub("", t.strip("()")).strip()
    if bare != t.strip("()").strip():  # ¥500,000 is yuan, whatever the column's unit
        unit = "元"
    t = bare
    if not t:
        return None
    plain = re.fullmatch(r"[-+−]?[\d,]*\.?\d+(?:[eE][-+]?\d+)?", t.replace(" ", "")) is not None
    value = to_number(t + unit if plain else t, unit="万元")
    if value is None:
        return None
    value *= rate
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"not a number: {text!r}")
    return -abs(value) if negative else value


def convert(s: pd.Series, kind: Kind, *, unit: str = "万元", order: str = "YMD",
            rate: float = 1.0) -> Converted:
    """A text column as ``kind`` (dates per ``order``, amounts read in ``unit``)."""
    if kind in (Kind.DATE, Kind.DATETIME):
        order = date_order(s, order)

        def one_date(text: str) -> Any:
            value = parse_datetime(text, order)
            if value is None:
                return None
            return value.date() if kind is Kind.DATE else value
        return _mapped(s, one_date)
    if kind is Kind.AMOUNT:
        return _mapped(s, lambda text: amount(text, unit, rate))
    if kind is Kind.PERCENT:
        done = _mapped(s, lambda text: to_number(text))  # 35% and 0.35
        v = pd.to_numeric(done.values, errors="coerce")
        if (v.dropna() > 1).all() and v.notna().any():  # "Probability (%)": 35 means 35 %
            done.values = (v / 100).astype(object).where(v.notna(), None)
        return done
    if kind is Kind.INT:
        def one_int(text: str) -> int | None:
            value = to_number(text)
            if value is None:
                return None
            if not float(value).is_integer():
                raise ValueError(f"not a whole number: {text!r}")
            return int(value)
        return _mapped(s, one_int)
    if kind is Kind.NUMBER:
        return _mapped(s, lambda text: to_number(text))
    if kind is Kind.LONG_TEXT:
        return _mapped(s, clean_long_text)
    return _mapped(s, clean_text)
