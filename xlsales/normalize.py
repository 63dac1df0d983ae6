"""The normalisation policy: how honest mess in a cell becomes a clean value.

One place, tested cell by cell (``tests/test_normalize.py``):

* **Text** — Unicode NFKC (full-width letters and digits become half-width), zero-width
  characters removed, non-breaking and ideographic spaces become spaces, runs of
  spaces fold to one, ends trimmed. So ``张三\\xa0`` matches ``张三``.
  Free text (plans, problems, notes) keeps its characters: only zero-width
  characters are removed and the ends trimmed.
* **Numbers** — real numbers pass (bool, NaN and ±inf are errors); text is NFKC'd,
  the Unicode minus ``−`` becomes ``-``, thousands separators (``1,000``, ``１，０００``)
  are dropped, a trailing unit is read: counts (``5家``, ``3个``, ``2次``), money
  (``100元``, ``1.5万``, ``2万元``, ``1亿``) converted to the column's unit
  (万元 by default), a percent sign divides by 100. Anything else is an error.
* **Dates** — dates and datetimes pass; Excel serial numbers are read in the
  workbook's date system (1900, or 1904 when the workbook says so); text as
  ``2024-03-05``, ``2024/3/5``, ``2024.3.5``, ``20240305``, ``2024年3月5日``, and
  ``3月5日`` or ``3/5`` with the year taken from context. A time part is allowed
  (``2024-03-05 17:30``).
* **Blank** — ``None``, empty text and text of spaces only are blank (None).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from xlsales.tables.base import Kind

EPOCH_1900 = dt.datetime(1899, 12, 30)
EPOCH_1904 = dt.datetime(1904, 1, 1)

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_SPACE_RUN = re.compile(r"[ \t\u00a0\u3000\u2000-\u200a\u202f\u205f]+")
_MINUS = str.maketrans({"−": "-", "–": "-", "—": "-", "－": "-"})
COUNT_UNITS = ("家", "个", "次", "人", "场", "份", "件", "单", "位", "条")
# Multiplier to yuan.
MONEY_UNITS: dict[str, float] = {"元": 1.0, "块": 1.0, "千元": 1e3, "万元": 1e4, "万": 1e4,
                                 "亿元": 1e8, "亿": 1e8, "k": 1e3, "w": 1e4}
_NUMBER = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)\s*(%|[^\d\s]*)$",
                     re.IGNORECASE)


class NormalizeError(ValueError):
    """A value that cannot be read as the column's kind; ``zh`` says it in Chinese."""

    def __init__(self, message: str, zh: str | None = None) -> None:
        super().__init__(message)
        self.zh = zh or message

    def text(self, lang: str) -> str:
        return self.zh if lang == "zh" else str(self)


def clean_text(value: Any) -> str | None:
    """Text per the policy; None when blank."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    # Zero-width characters go before NFKC, which could otherwise not compose around them
    # (``e\u200b\u0301`` would clean to ``e\u0301``, and clean again to ``é``).
    s = unicodedata.normalize("NFKC", str(value).translate(_ZERO_WIDTH))
    s = _SPACE_RUN.sub(" ", s).strip()
    return s or None


def clean_long_text(value: Any) -> str | None:
    """Free text (plans, notes): zero-width characters removed, ends trimmed, else kept."""
    if value is None:
        return None
    s = str(value).translate(_ZERO_WIDTH).strip()
    return s or None


_ZERO_WIDTH_CLASS = "[\u200b\u200c\u200d\u2060\ufeff\u00ad]"
_SPACE_CLASS = "[ \t\u00a0\u3000\u2000-\u200a\u202f\u205f]+"


def visible(value: str) -> str:
    """``value`` with its zero-width characters shown (``刘<U+200B>洋``), for a message
    about them."""
    return "".join(f"<U+{ord(c):04X}>" if ord(c) in _ZERO_WIDTH else c for c in value)


def clean_text_series(s: pd.Series) -> pd.Series:
    """:func:`clean_text` over a column of strings (NaN stays blank)."""
    import pandas as pd

    codes, values = s.factorize()
    if len(values) * 4 < len(s):  # few distinct values (names, list values): clean each once
        cleaned = pd.Index([clean_text(v) for v in values], dtype="str")
        out = pd.Series(cleaned.take(codes, allow_fill=True), index=s.index, dtype="str")
        return out
    if len(values) * 4 < len(s) * 3 and isinstance(s.dtype, pd.StringDtype):
        # a quarter or more repeated: the distinct values cleaned (over the column), taken
        cleaned = _clean_text_column(pd.Series(values, dtype=s.dtype))
        return pd.Series(cleaned.array.take(codes, allow_fill=True), index=s.index,
                         dtype=s.dtype)
    return _clean_text_column(s)


def _clean_text_column(s: pd.Series) -> pd.Series:
    """:func:`clean_text_series` string by string, in pandas' string methods."""
    strings = _arrow_strings(s)
    if strings is None or _zero_width_bytes(strings):
        s = s.str.replace(_ZERO_WIDTH_CLASS, "", regex=True)
    out = s.str.normalize("NFKC")
    out = out.str.replace(_SPACE_CLASS, " ", regex=True).str.strip()
    return out.where(out != "")


def clean_long_text_series(s: pd.Series) -> pd.Series:
    """:func:`clean_long_text` over a column of strings (NaN stays blank). A column that
    is clean already comes back as it is (the same strings, not a copy)."""
    before = _arrow_strings(s)
    if (before is None or _zero_width_bytes(before)) \
            and s.str.contains(_ZERO_WIDTH_CLASS, regex=True, na=False).any():
        s = s.str.replace(_ZERO_WIDTH_CLASS, "", regex=True)
        before = None
    out = s.str.strip()
    if before is not None and _unchanged(before, _arrow_strings(out)):
        return s
    return out.where(out != "")


def _arrow_strings(s: pd.Series) -> Any:
    """The Arrow (chunked) array holding a column of strings; None when it is not
    Arrow-backed (pandas without pyarrow)."""
    import pandas as pd

    dtype = s.dtype
    if not isinstance(dtype, pd.StringDtype) or dtype.storage != "pyarrow":
        return None
    import pyarrow as pa

    arr = pa.array(s.array)
    return arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr])


# The UTF-8 forms of the zero-width characters: (lead byte, the bytes after it).
_ZERO_WIDTH_UTF8 = tuple((ch.encode()[0], ch.encode()[1:]) for ch in
                         "\u200b\u200c\u200d\u2060\ufeff\u00ad")


def _zero_width_bytes(strings: Any) -> bool:
    """Whether the string data of an Arrow array may hold a zero-width character: its
    bytes looked at with numpy (a regular expression looks at each string on its own)."""
    import numpy as np
    import pyarrow as pa

    for chunk in strings.chunks:
        if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
            return True  # not offsets and data: no bytes to look at
        data = chunk.buffers()[2]
        if data is None or not data.size:
            continue
        a = np.frombuffer(data, dtype=np.uint8)
        found: dict[int, Any] = {}  # each lead byte looked for once (three distinct)
        for lead, rest in _ZERO_WIDTH_UTF8:
            if lead not in found:
                found[lead] = np.flatnonzero(a == lead)
            at = found[lead]
            at = at[at < len(a) - len(rest)]
            for i, byte in enumerate(rest, start=1):
                if not len(at):
                    break
                at = at[a[at + i] == byte]
            if len(at):
                return True
    return False


def _unchanged(before: Any, after: Any) -> bool:
    """Whether stripping changed no string (same lengths; no empty string left, which
    would become blank)."""
    import pyarrow.compute as pc

    if after is None or len(before) != len(after):
        return False
    lengths = pc.binary_length(before)
    return (pc.all(pc.equal(lengths, pc.binary_length(after))).as_py() is not False
            and not pc.any(pc.equal(lengths, 0)).as_py())


def name_key(value: Any) -> str:
    """A person's or company's name for matching: cleaned text, inner spaces removed."""
    return (clean_text(value) or "").replace(" ", "").casefold()


def to_number(value: Any, *, unit: str | None = None) -> float | None:
    """A number per the policy; ``unit`` is the column's money unit (``万元``/``元``) or None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise NormalizeError(f"not a number: {value!r}", f"不是数字:{value!r}")
    if isinstance(value, int | float):
        f = float(value)
        if math.isnan(f) or math.isinf(f):
            raise NormalizeError(f"not a finite number: {value!r}", f"不是有效数字:{value!r}")
        return f
    text = clean_text(value)
    if text is None:
        return None
    text = text.translate(_MINUS).replace(",", "").replace(" ", "")
    m = _NUMBER.match(text)
    if not m:
        raise NormalizeError(f"not a number: {value!r}", f"不是数字:{value!r}")
    number, suffix = float(m.group(1)), m.group(2)
    if suffix == "%":
        return number / 100
    if not suffix or suffix in COUNT_UNITS:
        return number
    factor = MONEY_UNITS.get(suffix.lower())
    if factor is None:
        raise NormalizeError(f"unknown unit {suffix!r} in {value!r}",
                             f"无法识别的单位 {suffix!r}:{value!r}")
    target = MONEY_UNITS.get(unit or "万元", 1e4)
    return number * factor / target


def to_int(value: Any) -> int | None:
    """A whole number per the policy (``1.5万`` is 15000: a count has no money unit)."""
    f = to_number(value, unit="元")
    if f is None:
        return None
    if not f.is_integer():
        raise NormalizeError(f"not a whole number: {value!r}", f"不是整数:{value!r}")
    if abs(f) > 2 ** 53:  # a count this large is a typo (or 1e308), not a count
        raise NormalizeError(f"too large for a count: {value!r}", f"数值过大:{value!r}")
    return int(f)


def convert(kind: Kind, value: Any, *, year: int | None = None,
            date1904: bool = False, unit: str | None = None) -> Any:
    """A raw cell value normalised for a column of ``kind``; raises ValueError. ``unit``
    is the money unit a number without one is in (the column's, 万元, by default)."""
    from xlsales.tables.base import Kind

    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if kind is Kind.DATE:
        return to_date(value, year=year, date1904=date1904)
    if kind is Kind.DATETIME:
        return to_datetime(value, year=year, date1904=date1904)
    if kind is Kind.INT:
        return to_int(value)
    if kind in (Kind.AMOUNT, Kind.NUMBER, Kind.PERCENT):
        return to_number(value, unit=unit)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if kind is Kind.LONG_TEXT:
        return clean_long_text(value)
    return clean_text(value)


def serial_to_datetime(serial: float, *, date1904: bool = False) -> dt.datetime:
    """An Excel serial number as a datetime in the workbook's date system."""
    if math.isnan(serial) or math.isinf(serial) or serial < 0 or serial > 2958465:
        raise NormalizeError(f"not a date serial: {serial!r}", f"不是日期序号:{serial!r}")
    base = EPOCH_1904 if date1904 else EPOCH_1900
    return base + dt.timedelta(days=serial)


_FULL_DATE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]+(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?)?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SHORT_DATE = re.compile(r"^(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                         r"(?:[ T]+(\d{1,2})[:：](\d{2}))?$")


def to_datetime(value: Any, *, year: int | None = None,
                date1904: bool = False) -> dt.datetime | None:
    """A datetime per the policy; ``year`` completes ``3月5日``."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    if isinstance(value, bool):
        raise NormalizeError(f"not a date: {value!r}", f"不是日期:{value!r}")
    if isinstance(value, int | float):
        return serial_to_datetime(float(value), date1904=date1904)
    text = clean_text(value)
    if text is None:
        return None
    try:
        if m := _FULL_DATE.match(text):
            y, mo, d, hh, mm, ss = m.groups()
            return dt.datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
        if m := _COMPACT_DATE.match(text):
            return dt.datetime(int(m[1]), int(m[2]), int(m[3]))
        if m := _SHORT_DATE.match(text):
            if year is None:
                raise NormalizeError(f"a date without a year: {value!r}",
                                     f"日期缺少年份:{value!r}")
            return dt.datetime(year, int(m[1]), int(m[2]), int(m[3] or 0), int(m[4] or 0))
        return dt.datetime.fromisoformat(text)
    except ValueError as exc:
        if isinstance(exc, NormalizeError):
            raise
        raise NormalizeError(f"not a date: {value!r}", f"不是日期:{value!r}") from None


def to_date(value: Any, *, year: int | None = None, date1904: bool = False) -> dt.date | None:
    """A date per the policy (a time part is dropped)."""
    d = to_datetime(value, year=year, date1904=date1904)
    return None if d is None else d.date()


# Legal-form suffixes removed from company names before matching (longest first).
COMPANY_SUFFIXES = tuple(sorted((
    "股份有限公司", "有限责任公司", "集团有限公司", "集团股份有限公司", "有限公司", "集团公司",
    "集团", "公司", "分公司", "co., ltd.", "co.,ltd.", "co. ltd.", "co ltd", "co.", "ltd.",
    "ltd", "limited", "inc.", "inc", "corp.", "corporation", "group", "llc"), key=len,
    reverse=True))
_SUFFIX_KEYS = tuple(re.sub(r"[\s.,]+", "", suffix) for suffix in COMPANY_SUFFIXES)
_BRACKETED = re.compile(r"\([^()]*\)")


def company_key(value: Any) -> str | None:
    """A company name for duplicate matching: NFKC, case, spaces, brackets, legal forms."""
    text = clean_text(value)
    if not text:
        return None
    s = text.casefold()
    inner = "".join(_BRACKETED.findall(s))
    s = _BRACKETED.sub("", s)
    if not s.strip() and inner:
        s = inner.strip("()")
    s = re.sub(r"[\s·.,'\"“”‘’、]+", "", s)
    changed = True
    while changed and s:
        changed = False
        for key in _SUFFIX_KEYS:
            if s.endswith(key) and len(s) > len(key):
                s = s[: -len(key)]
                changed = True
    return s or None


def phone_key(value: Any) -> str | None:
    """A phone number for matching: digits only, without +86/0086 and extensions."""
    text = clean_text(value)
    if not text:
        return None
    text = re.split(r"(?:转|ext\.?|x|#)", text, maxsplit=1, flags=re.I)[0]
    digits = re.sub(r"\D", "", text)
    international = re.match(r"^\s*(?:\+|00)\s*86", text) is not None
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and (international or len(digits) == 13):
        digits = digits[2:]
    else:
        international = False
    if international and digits and not digits.startswith(("1", "0")):
        digits = "0" + digits  # a landline: the trunk 0 before the area code comes back
    return digits if len(digits) >= 7 else None
