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
