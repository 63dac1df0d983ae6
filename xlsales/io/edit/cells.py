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

from xlsales.cells import col_letters
from xlsales.io.xmltext import escape

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
               formulas: Sequence[str] | None = None,
               rows: Sequence[int] | None = None) -> list[str]:
    """The ``<c>`` of a column's cells from the 0-based ``first_row`` down (or in the
    0-based ``rows``, one per value): ``values``, or ``formulas`` with ``values`` as their
    cached results."""
    cells = column_cells(col, first_row, values, style=style, formulas=formulas, rows=rows)
    return cells if isinstance(cells, list) else cells.to_pylist()


def column_cells(col: int, first_row: int, values: Sequence[Any], *, style: int | None,
                 formulas: Sequence[str] | None = None,
                 rows: Sequence[int] | None = None) -> Any:
    """:func:`column_xml` as a pyarrow string array for a big column (when pyarrow is
    there and the column's values allow it), else as a list: see :func:`join_rows`."""
    letter = col_letters(col)
    attrs = f' s="{style}"' if style else ""
    numbers = range(first_row + 1, first_row + 1 + len(values)) if rows is None \
        else _numbers(rows)
    if len(values) >= _ARROW_FROM:
        fast = _arrow_column(letter, numbers, attrs, values) if formulas is None \
            else _arrow_formulas(letter, numbers, attrs, formulas, values)
        if fast is not None:
            return fast
    if formulas is None:
        return [value_xml(f"{letter}{r}", attrs, v) for r, v in zip(numbers, values,
                                                                    strict=True)]
    return [formula_xml(f"{letter}{r}", attrs, f, v)
            for r, f, v in zip(numbers, formulas, values, strict=True)]


def join_rows(columns: Sequence[Any]) -> list[str] | list[bytes]:
    """Each row's ``<c>`` elements joined, from columns of :func:`column_cells` (UTF-8
    bytes when any column is a pyarrow array: compact, and as the sheet is written)."""
    if all(isinstance(c, list) for c in columns):
        return ["".join(cells) for cells in zip(*columns, strict=True)]
    import pyarrow as pa
    import pyarrow.compute as pc

    arrays = [pa.array(c, pa.string()) if isinstance(c, list) else c for c in columns]
    return pc.binary_join_element_wise(*arrays, "").cast(pa.binary()).to_pylist()


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


def _arrow_column(letter: str, rows: Sequence[int], attrs: str, values: Sequence[Any]
                  ) -> Any:
    """:func:`value_xml` of a whole column at once (``rows``: 1-based, one per value) as a
    pyarrow array, when the column holds one kind of value (numbers, text or dates, and
    blanks) and pyarrow is there; None otherwise."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:  # xlwings Lite without pyarrow: the plain loop
        return None
    arr = getattr(values, "arrow", None)  # a TextColumn (xlsales.io.printing): as it is
    if arr is None:
        try:
            arr = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
            return None  # mixed kinds
    refs = _refs(letter, rows, attrs)
    blank = pc.binary_join_element_wise(refs, "/>", "")
    kind = arr.type
    if pa.types.is_null(kind):
        return blank
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        if pa.types.is_floating(kind) and pc.any(pc.invert(pc.is_finite(arr))).as_py():
            return None  # NaN or infinity: value_xml refuses them
        numbers = _number_texts(arr) if pa.types.is_floating(kind) else arr.cast(pa.string())
        body = pc.binary_join_element_wise(refs, "><v>", numbers, "</v></c>", "")
    elif pa.types.is_date32(kind):
        serials = pc.add(arr.cast(pa.int32()).cast(pa.int64()), _EXCEL_EPOCH_DAYS)
        body = pc.binary_join_element_wise(refs, "><v>", serials.cast(pa.string()),
                                           "</v></c>", "")
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        if _plain_texts(arr):  # nearly every column: nothing to escape
            text = arr
        else:
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
    return pc.if_else(pc.is_null(arr), blank, body)


def _plain_texts(arr: Any) -> bool:
    """Whether none of the texts of a pyarrow string array holds a character XML text must
    escape (``&``, ``<``, ``>``, a carriage return) or cannot hold (see
    :data:`_ARROW_PLAIN_TEXT`): one pass over its texts' bytes (a slice's own only)."""
    import numpy as np
    import pyarrow as pa

    buffers = arr.buffers()
    data = buffers[2]
    if data is None or not len(arr):
        return True
    wide = pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type)
    offsets = np.frombuffer(buffers[1], dtype=np.int64 if wide else np.int32)
    start, end = int(offsets[arr.offset]), int(offsets[arr.offset + len(arr)])
    raw = data.slice(start, end - start).to_pybytes()  # this array's texts only
    return (len(raw.translate(None, _NOT_PLAIN)) == len(raw) and b"_x" not in raw
            and b"\xef\xbf\xbe" not in raw and b"\xef\xbf\xbf" not in raw)


_NOT_PLAIN = bytes([*range(0x20), *b"&<>"]).replace(b"\t", b"").replace(b"\n", b"")


def _numbers(rows: Sequence[int]) -> list[int]:
    """The 1-based row numbers of the 0-based ``rows`` — the same list again for the same
    ``rows`` (the columns of a block share them: see :func:`_refs`)."""
    if _LAST_ROWS[0] is not rows:
        _LAST_ROWS[:] = [rows, [r + 1 for r in rows], None]
    return _LAST_ROWS[1]


def _refs(letter: str, rows: Sequence[int], attrs: str) -> Any:
    """``<c r="A4" s="3"`` of every row, as a pyarrow array (the rows' numbers as text
    made once for all the columns of a block)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if _LAST_ROWS[1] is rows and _LAST_ROWS[2] is not None:
        numbers = _LAST_ROWS[2]
    else:
        numbers = pa.array(rows, pa.int64()).cast(pa.string())
        if _LAST_ROWS[1] is rows:
            _LAST_ROWS[2] = numbers
    return pc.binary_join_element_wise(f'<c r="{letter}', numbers, f'"{attrs}', "")


# the rows last asked for by column_cells, their 1-based numbers, and those as text
_LAST_ROWS: list[Any] = [None, None, None]


# pyarrow writes a float as Python's repr does (shortest round trip) from 1e-4 up to 1e10,
# an integral one without ".0" as _number does; outside, _number writes the others.
_ARROW_NUMBERS = (1e-4, 1e10)


def _number_texts(arr: Any) -> Any:
    """:func:`_number` of every (finite) float of a pyarrow array."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pc.add(arr, 0.0)  # -0 is 0
    texts = arr.cast(pa.string())
    size = pc.abs(arr)
    odd = pc.and_(pc.not_equal(arr, 0.0), pc.or_(pc.less(size, _ARROW_NUMBERS[0]),
                                                pc.greater_equal(size, _ARROW_NUMBERS[1])))
    if not pc.any(odd).as_py():
        return texts
    out = texts.to_pylist()
    where = odd.to_numpy(zero_copy_only=False).nonzero()[0].tolist()
    floats = arr.to_numpy(zero_copy_only=False)
    for i in where:
        if out[i] is not None:
            out[i] = _number(float(floats[i]))
    return pa.array(out, pa.string())


_CACHED_KIND = {type(None): 0, str: 1, float: 2, int: 4, bool: 3}


def _arrow_formulas(letter: str, rows: Sequence[int], attrs: str, formulas: Sequence[str],
                    values: Sequence[Any]) -> Any:
    """:func:`formula_xml` of a whole column at once as a pyarrow array, when its cached
    values are blanks, text, errors, numbers and booleans (and pyarrow and numpy are
    there); None otherwise."""
    try:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:
        return None
    n = len(values)
    kinds = np.array([_CACHED_KIND.get(type(v), 1 if isinstance(v, str) else 9)
                      for v in values], np.int8)
    if (kinds == 9).any():
        return None  # dates …: cell by cell
    cells = np.empty(n, object)
    cells[:] = values
    shown = np.full(n, "", object)  # what <v> holds
    kind = np.full(n, ' t="str"', object)
    number = kinds == 2
    if number.any():
        floats = pa.array(cells[number].astype(np.float64), pa.float64())
        if not pc.all(pc.is_finite(floats)).as_py():
            return None  # value_xml refuses them: the plain loop raises
        shown[number] = np.array(_number_texts(floats).to_pylist(), object)
        kind[number] = ""
    integer = kinds == 4
    if integer.any():
        try:
            ints = pa.array(cells[integer].tolist(), pa.int64())
        except (OverflowError, pa.ArrowInvalid):  # beyond int64: the plain loop
            return None
        shown[integer] = np.array(ints.cast(pa.string()).to_pylist(), object)
        kind[integer] = ""
    flag = kinds == 3
    if flag.any():
        shown[flag] = np.where(cells[flag].astype(bool), "1", "0")
        kind[flag] = ' t="b"'
    text = np.flatnonzero(kinds == 1)
    if len(text):
        memo: dict[str, tuple[str, str]] = {}
        for i in text.tolist():
            v = cells[i]
            if v not in memo:
                memo[v] = (("", ' t="str"') if v == "" else (str(v), ' t="e"') if v in ERRORS
                           else (xml_text(str(v)), ' t="str"'))
            shown[i], kind[i] = memo[v]
    f = pa.array(formulas, pa.string())
    f = pc.replace_substring(f, "&", "&amp;")
    f = pc.replace_substring(f, "<", "&lt;")
    f = pc.replace_substring(f, ">", "&gt;")
    return pc.binary_join_element_wise(
        _refs(letter, rows, attrs), pa.array(kind, pa.string()), "><f>", f, "</f><v>",
        pa.array(shown, pa.string()), "</v></c>", "")
