"""JSON text of many records at once, built column by column: each record's text is what
``json.dumps(record, ensure_ascii=False, default=str)`` gives, but a column of numbers or
texts is encoded by C-level maps instead of record by record (the ``--json`` of a big
rollup: 100k rows)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from json.encoder import encode_basestring as _text  # what json.dumps uses for a str
from typing import Any

SLICE = 2000  # records encoded at a time


class JsonRecords:
    """``count`` records to be written as JSON text, encoded a slice at a time when
    written (``encode(start, stop)``: the texts of records ``start`` … ``stop - 1``), so
    neither the records nor their text are ever all held at once."""

    def __init__(self, count: int, encode: Callable[[int, int], list[str]]) -> None:
        self.count, self.encode = count, encode

    def __len__(self) -> int:
        return self.count

    def slices(self, size: int = SLICE) -> Iterator[list[str]]:
        """The records' texts, ``size`` records at a time."""
        for start in range(0, self.count, size):
            yield self.encode(start, min(start + size, self.count))

    def chunks(self, size: int = SLICE) -> Iterator[str]:
        """The records' texts, ``size`` records at a time, joined as in a JSON list."""
        return map(", ".join, self.slices(size))

    def __iter__(self) -> Iterator[str]:
        return (text for texts in self.slices() for text in texts)



def json_records(columns: Mapping[str, Sequence[Any]]) -> list[str]:
    """The JSON text of each record of ``columns`` (key → that key's values, one per
    record, in the keys' order), as :func:`json.dumps` with ``ensure_ascii=False`` and
    ``default=str`` writes a dict of them."""
    if not columns:
        return []
    record = "{" + ", ".join(_text(key).replace("%", "%%") + ": %s" for key in columns) + "}"
    texts = [_column(values) for values in columns.values()]
    return list(map(record.__mod__, zip(*texts, strict=True)))


def _column(values: Sequence[Any]) -> list[str]:
    """The JSON text of each value."""
    kinds = set(map(type, values))
    if kinds <= {str}:
        return list(map(_text, values))
    if kinds <= {int}:
        return list(map(int.__repr__, values))
    if kinds <= {float, type(None)} and all(
            v is None or math.isfinite(v) for v in values):  # numbers, blanks among them
        return [NULL if v is None else float.__repr__(v) for v in values]
    if kinds <= {str, type(None)}:
        return [NULL if v is None else _text(v) for v in values]
    if kinds <= {list} and all(type(x) is str for v in values for x in v):
        return ["[" + ", ".join(map(_text, v)) + "]" for v in values]  # lists of texts
    memo: dict[Any, str] = {}
    out = []
    for v in values:
        t = type(v)
        if t is str or v is None or t is int or t is float:
            key = (t, v)  # 1 and 1.0 are equal keys, not equal texts
            text = memo.get(key) if v == v else None  # NaN: never found (nor kept)
            if text is None:
                text = json.dumps(v, ensure_ascii=False)
                if v == v:
                    memo[key] = text
        else:
            text = json.dumps(v, ensure_ascii=False, default=str)
        out.append(text)
    return out


NULL = "null"


def json_columns(columns: Mapping[str, Any]) -> list[str]:
    """:func:`json_records` of columns given as arrays, the text of each record built in
    Arrow's C++ string kernels where the column allows: numpy integers, Arrow-backed text
    (pandas' ``str``; escaped as ``json.dumps`` escapes it, unless it holds a control
    character), numpy floats (``repr`` of each, in Python; NaN is a blank: ``null``, as
    pandas has it), anything else value by value as :func:`json_records` does. Without
    pyarrow (Pyodide), :func:`json_records` of the same values."""
    import numpy as np

    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:
        return json_records({k: column_values(v) for k, v in columns.items()})
    if not columns:
        return []
    text = pa.large_string()
    pieces: list[Any] = []
    close = ""  # the quote that ends the last column's text, when its values are bare
    for i, (key, values) in enumerate(columns.items()):
        texts, bare = _arrow_texts(values, pa, pc, np)
        if texts is None:
            texts = pa.array(_column(column_values(values)), text)
        quote = '"' if bare else ""
        pieces += [pa.scalar(close + ("{" if i == 0 else ", ") + _text(key) + ": " + quote,
                             text), texts]
        close = quote
    pieces.append(pa.scalar(close + "}", text))
    return pc.binary_join_element_wise(*pieces, pa.scalar("", text)).to_pylist()


def column_values(values: Any) -> list[Any]:
    """A column as a list of Python values, what :func:`json_records` takes: a float
    array's NaN, and missing text, as None."""
    import numpy as np

    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        return [None if v != v else v for v in values.tolist()]
    if hasattr(values, "__arrow_array__"):  # pandas' text: its missing values as None
        import pandas as pd

        return [None if v is None or v is pd.NA or v != v else v for v in values.tolist()]
    return values.tolist() if hasattr(values, "tolist") else list(values)


def _arrow_texts(values: Any, pa: Any, pc: Any, np: Any) -> tuple[Any, bool]:
    """The JSON text of each value of a column as an Arrow array, and whether those are
    bare (texts to be put in quotes: no blanks among them); (None, False) when the column
    is not one of the kinds done this way."""
    text = pa.large_string()
    if isinstance(values, np.ndarray):
        if values.dtype.kind in "iu":
            return pc.cast(pa.array(values), text), False
        if values.dtype.kind != "f":
            return None, False
        out = list(map(float.__repr__, values.tolist()))
        for i in np.flatnonzero(~np.isfinite(values)).tolist():
            out[i] = NULL if values[i] != values[i] else json.dumps(float(values[i]))
        return pa.array(out, text), False
    if not hasattr(values, "__arrow_array__"):
        return None, False
    arr = pa.array(values)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return None, False
    arr = arr.cast(text)
    if pc.any(pc.match_substring_regex(arr, '["\\\\\\x00-\\x1f]')).as_py():
        if pc.any(pc.match_substring_regex(arr, "[\\x00-\\x1f]")).as_py():
            return None, False  # control characters: escaped value by value
        arr = pc.replace_substring(pc.replace_substring(arr, "\\", "\\\\"), '"', '\\"')
    if not arr.null_count:
        return arr, True
    quote = pa.scalar('"', text)
    return pc.fill_null(pc.binary_join_element_wise(quote, arr, quote, pa.scalar("", text)),
                        NULL), False
