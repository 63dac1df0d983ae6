"""Cells as worksheet XML: values, formulas with their cached results, styles.

Text is written as an inline string (``t="inlineStr"``), so editing a workbook never
rewrites its shared-string table, and is never a formula. A formula carries the value
xlsales computed as its cached result, in its type (number, text, boolean, error).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from xlsales.cells import col_letters

EPOCH = dt.datetime(1899, 12, 30)
ERRORS = {"#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!"}
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ESCAPE_LIKE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")


@dataclass(frozen=True)
class Cell:
    """What to put in a cell: a value, or a formula (without ``=``) and its cached value;
    ``style`` is a cell format index (None: keep the cell's own, when it has one, else
    ``fallback`` — a date written into a cell the user never formatted still shows as a
    date, while a cell they formatted keeps their font, fill and borders)."""

    value: Any = None
    formula: str | None = None
    style: int | None = None
    fallback: int | None = None


def serial(value: dt.date | dt.datetime) -> float:
    """The Excel serial number (1900 system) of a date or datetime."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    delta = value - EPOCH
    return delta.days + delta.seconds / 86400 + delta.microseconds / 86_400_000_000


def xml_text(value: str) -> str:
    """Text safe in XML: characters XML cannot hold are written as ``_xHHHH_``."""
    if "_x" in value:  # a literal _xHHHH_ would read as an escape: escape its underscore
        value = _ESCAPE_LIKE.sub("_x005F_", value)
    if _CONTROL.search(value):
        value = _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", value)
    return escape(value, {"\r": "&#13;"})  # a raw CR would be read as a line feed


def _number(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"not a number Excel can hold: {value!r}")
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def cell_xml(row: int, col: int, cell: Cell, *, style: int | None = None) -> bytes:
    """``<c>`` of a 0-based row and column (``style`` when the cell has none of its own)."""
    s = cell.style if cell.style is not None else style if style is not None else cell.fallback
    ref = f"{col_letters(col)}{row + 1}"
    attrs = f' s="{s}"' if s else ""
    if cell.formula is not None:
        return formula_xml(ref, attrs, cell.formula, cell.value).encode()
    return value_xml(ref, attrs, cell.value).encode()


def column_xml(col: int, first_row: int, values: Sequence[Any], *, style: int | None,
               formulas: Sequence[str] | None = None) -> list[str]:
    """The ``<c>`` of a column's cells from the 0-based ``first_row`` down: ``values``, or
    ``formulas`` with ``values`` as their cached results."""
    letter = col_letters(col)
    attrs = f' s="{style}"' if style else ""
    first = first_row + 1
    if formulas is None:
        fast = _arrow_column(letter, first, attrs, values) if len(values) >= _ARROW_FROM \
            else None
        if fast is not None:
            return fast
        return [value_xml(f"{letter}{first + i}", attrs, v) for i, v in enumerate(values)]
    return [formula_xml(f"{letter}{first + i}", attrs, f, v)
            for i, (f, v) in enumerate(zip(formulas, values, strict=True))]


def _scalar(v: Any) -> tuple[str, str] | None:
    """The ``t`` attribute and ``<v>`` text of a bool, number or date; None otherwise."""
    if isinstance(v, bool):
        return ' t="b"', str(int(v))
    if isinstance(v, int | float):
        return "", _number(v)
    if isinstance(v, dt.date):
        return "", _number(serial(v))
    return None


def value_xml(ref: str, attrs: str, v: Any) -> str:
    """``<c>`` holding the value ``v`` (text inline, never a formula)."""
    if v is None or v == "":
        return f'<c r="{ref}"{attrs}/>'
    scalar = _scalar(v)
    if scalar is not None:
        return f'<c r="{ref}"{attrs}{scalar[0]}><v>{scalar[1]}</v></c>'
    text = xml_text(str(v))
    space = ' xml:space="preserve"' if text != text.strip() or "\n" in text else ""
    return f'<c r="{ref}"{attrs} t="inlineStr"><is><t{space}>{text}</t></is></c>'


def formula_xml(ref: str, attrs: str, formula: str, v: Any) -> str:
    """``<c>`` holding ``formula`` (without ``=``) and ``v`` as its cached result."""
    f = f"<f>{escape(formula)}</f>"
    if v is None or v == "":
        return f'<c r="{ref}"{attrs} t="str">{f}<v></v></c>'
    scalar = _scalar(v)
    if scalar is not None:
        return f'<c r="{ref}"{attrs}{scalar[0]}>{f}<v>{scalar[1]}</v></c>'
    if isinstance(v, str) and v in ERRORS:
        return f'<c r="{ref}"{attrs} t="e">{f}<v>{v}</v></c>'
    return f'<c r="{ref}"{attrs} t="str">{f}<v>{xml_text(str(v))}</v></c>'


_ARROW_FROM = 64  # below this many cells the plain loop is as fast
_EXCEL_EPOCH_DAYS = 25569  # 1970-01-01 as an Excel serial
# Text the vectorised path leaves to value_xml: characters XML cannot hold, and literal
# _xHHHH_ sequences (see xml_text).
_ARROW_PLAIN_TEXT = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x{fffe}\\x{ffff}]|_x[0-9A-Fa-f]{4}_"


def _arrow_column(letter: str, first: int, attrs: str, values: Sequence[Any]
                  ) -> list[str] | None:
    """:func:`value_xml` of a whole column at once, when the column holds one kind of value
    (numbers, text or dates, and blanks) and pyarrow is there; None otherwise."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:  # xlwings Lite without pyarrow: the plain loop
        return None
    try:
        arr = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        return None  # mixed kinds
    rows = pa.array(range(first, first + len(values)), pa.int64()).cast(pa.string())
    refs = pc.binary_join_element_wise(f'<c r="{letter}', rows, f'"{attrs}', "")
    blank = pc.binary_join_element_wise(refs, "/>", "")
    kind = arr.type
    if pa.types.is_null(kind):
        return blank.to_pylist()
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        if pa.types.is_floating(kind) and pc.any(pc.invert(pc.is_finite(arr))).as_py():
            return None  # NaN or infinity: value_xml refuses them
        numbers = pc.add(arr, 0.0) if pa.types.is_floating(kind) else arr  # -0 is 0
        body = pc.binary_join_element_wise(refs, "><v>", numbers.cast(pa.string()),
                                           "</v></c>", "")
    elif pa.types.is_date32(kind):
        serials = pc.add(arr.cast(pa.int32()).cast(pa.int64()), _EXCEL_EPOCH_DAYS)
        body = pc.binary_join_element_wise(refs, "><v>", serials.cast(pa.string()),
                                           "</v></c>", "")
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        if pc.any(pc.match_substring_regex(arr, _ARROW_PLAIN_TEXT)).as_py():
            return None
        text = pc.replace_substring(arr, "&", "&amp;")
        text = pc.replace_substring(text, "<", "&lt;")
        text = pc.replace_substring(text, ">", "&gt;")
        text = pc.replace_substring(text, "\r", "&#13;")
        spaced = pc.or_(pc.not_equal(pc.utf8_trim_whitespace(arr), arr),
                        pc.match_substring(arr, "\n"))
        open_t = pc.if_else(spaced, '<t xml:space="preserve">', "<t>")
        body = pc.binary_join_element_wise(refs, ' t="inlineStr"><is>', open_t, text,
                                           "</t></is></c>", "")
        body = pc.if_else(pc.equal(arr, ""), blank, body)
    else:
        return None
    return pc.if_else(pc.is_null(arr), blank, body).to_pylist()
