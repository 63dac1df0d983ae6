"""Formula columns evaluated over whole columns at once (numpy), with the semantics of the
per-row evaluator of :mod:`xlsales.formula_values`.

A table's formula column is usually one simple shape repeated on every row
(``IF(N({visits})=0,"",{effective}/{visits})``); evaluating it cell by cell costs a few
microseconds a row. Here the compiled formula's node tree is walked once, each node over
whole columns: a column of values is a :class:`Vec` (a type tag per cell — number, blank,
text, boolean, error — with the numbers in a float64 array and the texts and errors in an
object array). Only the nodes and cases whose semantics are cheap to state over arrays are
handled: number, text and boolean literals, references to the row's cells, ``= <> < > <=
>=``, ``+ - * /``, unary minus, IF, IFERROR, N, ISNUMBER, NOT and ABS. A formula with any
other node is not taken (:func:`supported`); a cell this module cannot be exact for (text
in arithmetic, an integer too large for a float64, a date, a value the evaluator would
refuse) is marked ``bad`` and the caller evaluates that row cell by cell. The results are
the per-row evaluator's exactly, types included (an int stays an int), which
``tests/test_formula_values.py`` checks over random rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from xlsales.formula_values import (
    _E48,
    DIV0,
    NUM,
    VALUE,
    ExcelError,
    FormulaError,
    _cell,
    _Node,
)

NUMBER, BLANK, TEXT, BOOL, ERROR = 0, 1, 2, 3, 4
_RANK = np.array([0, 0, 1, 2, 0], dtype=np.int8)  # numbers < text < booleans (blank: n/a)
# Integers are exact in a float64 below 2**53; staying under 2**52 keeps sums and
# differences of two of them exact too (approx_equal subtracts them).
_EXACT = 2.0 ** 52
FUNCTIONS = frozenset({"IF", "IFERROR", "N", "ISNUMBER", "NOT", "ABS"})


class Vec:
    """A column of cell values: ``tag`` (NUMBER, BLANK, TEXT, BOOL, ERROR) per cell,
    ``num`` the number (booleans 0/1), ``isint`` whether the number is a Python int,
    ``obj`` the text or the :class:`ExcelError` (None when no cell needs it), ``bad`` the
    cells this module cannot compute exactly."""

    __slots__ = ("bad", "isint", "num", "obj", "tag")

    def __init__(self, tag: np.ndarray, num: np.ndarray, isint: np.ndarray,
                 obj: np.ndarray | None, bad: np.ndarray) -> None:
        self.tag, self.num, self.isint, self.obj, self.bad = tag, num, isint, obj, bad

    def objects(self) -> np.ndarray:
        return self.obj if self.obj is not None else np.full(len(self.tag), None, object)

    def with_errors(self, mask: np.ndarray, errors: np.ndarray | ExcelError) -> Vec:
        """This column with the cells of ``mask`` replaced by ``errors``."""
        if not mask.any():
            return self
        obj = self.objects().copy()
        obj[mask] = errors[mask] if isinstance(errors, np.ndarray) else errors
        tag = np.where(mask, np.int8(ERROR), self.tag)
        return Vec(tag, np.where(mask, 0.0, self.num), self.isint & ~mask, obj, self.bad)


def _vec(n: int, tag: int, num: float = 0.0, isint: bool = False,
         obj: Any = None) -> Vec:
    """A column holding one value."""
    return Vec(np.full(n, tag, np.int8), np.full(n, num, np.float64), np.full(n, isint),
               None if obj is None else np.full(n, obj, object), np.zeros(n, bool))


def literal(value: Any, n: int) -> Vec:
    """A number, text or TRUE/FALSE written in the formula, on every row."""
    if isinstance(value, bool):
        return _vec(n, BOOL, float(value))
    if isinstance(value, str):
        return _vec(n, TEXT, obj=value)
    if isinstance(value, int) and abs(value) >= _EXACT:
        v = _vec(n, NUMBER, 0.0, True)
        v.bad[:] = True
        return v
    v = _vec(n, NUMBER, float(value), isinstance(value, int))
    if not np.isfinite(v.num).all():
        v.bad[:] = True
    return v


def from_cells(values: Sequence[Any]) -> Vec:
    """The cells of a column as the evaluator reads them (``""`` is a blank cell)."""
    n = len(values)
    kinds = list(map(type, values))
    if set(kinds) <= {int, float, type(None)}:
        try:
            num = np.array([0.0 if v is None else v for v in values], np.float64)
        except OverflowError:  # an int beyond a float: cell by cell below
            pass
        else:
            blank = np.array([k is type(None) for k in kinds], bool) if n else \
                np.zeros(0, bool)
            isint = np.array([k is int for k in kinds], bool) if n else np.zeros(0, bool)
            tag = np.where(blank, np.int8(BLANK), np.int8(NUMBER))
            bad = isint & (np.abs(num) >= _EXACT)
            v = Vec(tag, num, isint, None, bad)
            odd = ~np.isfinite(num)  # NaN and ±inf in a cell read as #NUM!
            return v.with_errors(odd, NUM) if odd.any() else v
    tag = np.full(n, BLANK, np.int8)
    num = np.zeros(n, np.float64)
    isint = np.zeros(n, bool)
    obj = np.full(n, None, object)
    bad = np.zeros(n, bool)
    for i, value in enumerate(values):
        if isinstance(value, str) and value == "":
            continue
        try:
            v = _cell(value)
        except FormulaError:
            bad[i] = True
            continue
        kind = type(v)
        if v is None:
            continue
        if isinstance(v, ExcelError):
            tag[i], obj[i] = ERROR, v
        elif kind is str:
            tag[i], obj[i] = TEXT, v
        elif kind is bool:
            tag[i], num[i] = BOOL, float(v)
        elif kind is int and abs(v) < _EXACT:
            tag[i], num[i], isint[i] = NUMBER, float(v), True
        elif kind is float:
            tag[i], num[i] = NUMBER, v
        else:  # a big integer, a subclass (numpy's float64 …): left to the evaluator
            bad[i] = True
    return Vec(tag, num, isint, obj, bad)


def finish(v: Vec) -> Vec:
    """What a formula cell caches (:func:`xlsales.formula_values._finish`): a blank is 0,
    a float zero is 0.0."""
    blank = v.tag == BLANK
    tag = np.where(blank, np.int8(NUMBER), v.tag)
    num = np.where(blank, 0.0, v.num + 0.0)  # -0.0 + 0.0 is 0.0
    return Vec(tag, num, v.isint | blank, v.obj, v.bad)


def to_list(v: Vec) -> list[Any]:
    """The cells as Python values (int, float, str, bool, ExcelError; blanks as None)."""
    out = v.objects().copy()
    number = v.tag == NUMBER
    floats = number & ~v.isint
    if floats.any():
        out[floats] = v.num[floats]
    ints = number & v.isint & ~v.bad  # a bad cell is evaluated again, row by row
    if ints.any():
        out[ints] = v.num[ints].astype(np.int64).astype(object)
    flags = v.tag == BOOL
    if flags.any():
        out[flags] = (v.num[flags] != 0).astype(object)
    return out.tolist()


def bad_rows(v: Vec) -> list[int]:
    """The rows left to the row-by-row evaluator."""
    return np.flatnonzero(v.bad).tolist() if v.bad.any() else []


# -- nodes -----------------------------------------------------------------------------------

def supported(node: _Node, refs: Callable[[str], bool]) -> bool:
    """Whether :func:`evaluate` takes ``node`` (``refs(key)``: a reference it can read)."""
    shape = node.shape
    if not shape:
        return False
    kind = shape[0]
    if kind == "literal":
        value = shape[1]
        return not (isinstance(value, float) and not np.isfinite(value))
    if kind == "ref":
        return refs(shape[1])
    if kind in ("compare", "arith"):
        return supported(shape[2], refs) and supported(shape[3], refs)
    if kind == "call":
        return shape[1] in FUNCTIONS and all(supported(a, refs) for a in shape[2])
    return False


def evaluate(node: _Node, column: Callable[[str], Vec], n: int) -> Vec:
    """``node`` over ``n`` rows (``column(key)``: the cells of a referenced column)."""
    shape = node.shape
    kind = shape[0]
    if kind == "literal":
        return literal(shape[1], n)
    if kind == "ref":
        return column(shape[1])
    if kind == "compare":
        return _compare(shape[1], evaluate(shape[2], column, n), evaluate(shape[3], column, n))
    if kind == "arith":
        return _arith(shape[1], evaluate(shape[2], column, n), evaluate(shape[3], column, n))
    name, args = shape[1], [evaluate(a, column, n) for a in shape[2]]
    return _CALLS[name](args, n)


def _select(mask: np.ndarray, a: Vec, b: Vec) -> Vec:
    """``a`` where ``mask``, else ``b``."""
    obj = None if a.obj is None and b.obj is None else np.where(mask, a.objects(),
                                                                 b.objects())
    return Vec(np.where(mask, a.tag, b.tag), np.where(mask, a.num, b.num),
               np.where(mask, a.isint, b.isint), obj, np.where(mask, a.bad, b.bad))


def _number(v: Vec) -> Vec:
    """Cells as numbers for arithmetic: a blank is 0, a boolean 0 or 1, errors stay; text
    (converted when it reads as a number) is left to the evaluator."""
    blank, flag, text = v.tag == BLANK, v.tag == BOOL, v.tag == TEXT
    if not (blank.any() or flag.any() or text.any()):
        return v
    tag = np.where(blank | flag | text, np.int8(NUMBER), v.tag)
    return Vec(tag, np.where(blank | text, 0.0, v.num), v.isint | blank | flag, v.obj,
               v.bad | text)


def _approx_equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """:func:`xlsales.formula_values.approx_equal` over arrays."""
    d = np.abs(a - b)
    near = (a != 0) & (b != 0) & (d < np.abs(a) * _E48) & (d < np.abs(b) * _E48)
    return (a == b) | near


def _first_error(*vs: Vec) -> tuple[np.ndarray, np.ndarray | None]:
    """Where any of ``vs`` is an error, and that error (the first operand's first)."""
    mask = np.zeros(len(vs[0].tag), bool)
    errors: np.ndarray | None = None
    for v in vs:
        here = (v.tag == ERROR) & ~mask
        if here.any():
            errors = v.objects().copy() if errors is None else errors
            errors[here] = v.obj[here]  # type: ignore[index]
            mask |= here
    return mask, errors


def _arith(op: str, a: Vec, b: Vec) -> Vec:
    x, y = _number(a), _number(b)
    err, errors = _first_error(x, y)
    xn, yn = x.num, y.num
    isint = x.isint & y.isint
    div0 = np.zeros(len(xn), bool)
    with np.errstate(all="ignore"):
        if op == "+":
            result = xn + yn
            zero = (((xn < 0) & (yn > 0)) | ((yn < 0) & (xn > 0))) & _approx_equal(xn, -yn)
        elif op == "-":
            result = xn - yn
            zero = (((xn < 0) & (yn < 0)) | ((xn > 0) & (yn > 0))) & _approx_equal(xn, yn)
        elif op == "*":
            result, zero = xn * yn, None
        else:
            div0 = (yn == 0) & ~err
            result, zero = xn / np.where(div0, 1.0, yn), None
            isint = np.zeros(len(xn), bool)
    if zero is not None and zero.any():
        result = np.where(zero, 0.0, result)
        isint = isint & ~zero
    nonfinite = ~np.isfinite(result) & ~err & ~div0
    bad = x.bad | y.bad | (isint & (np.abs(result) >= _EXACT))
    out = Vec(np.full(len(xn), NUMBER, np.int8), result, isint, None, bad)
    if errors is not None:
        out = out.with_errors(err, errors)
    return out.with_errors(div0, DIV0).with_errors(nonfinite, NUM)


def _compare(op: str, a: Vec, b: Vec) -> Vec:
    """``a op b`` as TRUE/FALSE (:func:`xlsales.formula_values.compare`)."""
    n = len(a.tag)
    err, errors = _first_error(a, b)
    both = (a.tag == BLANK) & (b.tag == BLANK)
    a, b = _blank_as(a, b, both), _blank_as(b, a, both)
    ra, rb = _RANK[a.tag], _RANK[b.tag]
    c = np.sign(ra.astype(np.int64) - rb).astype(np.int64)
    same = (ra == rb) & ~both & ~err
    numbers = same & (a.tag == NUMBER)
    if numbers.any():
        nc = np.where(_approx_equal(a.num, b.num), 0, np.where(a.num < b.num, -1, 1))
        c = np.where(numbers, nc, c)
    flags = same & (a.tag == BOOL)
    if flags.any():
        c = np.where(flags, np.sign(a.num - b.num).astype(np.int64), c)
    texts = np.flatnonzero(same & (a.tag == TEXT))
    for i in texts.tolist():
        x, y = a.obj[i].casefold(), b.obj[i].casefold()  # type: ignore[index]
        c[i] = 0 if x == y else -1 if x < y else 1
    c = np.where(both, 0, c)
    test = {"=": c == 0, "<>": c != 0, "<": c < 0, ">": c > 0, "<=": c <= 0,
            ">=": c >= 0}[op]
    out = Vec(np.full(n, BOOL, np.int8), test.astype(np.float64), np.zeros(n, bool), None,
              a.bad | b.bad)
    return out.with_errors(err, errors) if errors is not None else out


def _blank_as(v: Vec, other: Vec, both: np.ndarray) -> Vec:
    """``v`` with its blanks (where ``other`` is not blank) as ``other``'s kind of empty:
    FALSE, ``""`` or 0."""
    blank = (v.tag == BLANK) & ~both
    if not blank.any():
        return v
    tag = np.where(blank, np.where(other.tag == BOOL, np.int8(BOOL),
                                   np.where(other.tag == TEXT, np.int8(TEXT),
                                            np.int8(NUMBER))), v.tag)
    obj = v.obj
    text = blank & (other.tag == TEXT)
    if text.any():
        obj = v.objects().copy()
        obj[text] = ""
    return Vec(tag, np.where(blank, 0.0, v.num), v.isint & ~blank, obj, v.bad)


def _logical(v: Vec) -> Vec:
    """Cells as conditions: TRUE/FALSE, or an error (text other than TRUE or FALSE is
    #VALUE!)."""
    n = len(v.tag)
    flag = np.where(v.tag == BLANK, 0.0, (v.num != 0).astype(np.float64))
    out = Vec(np.where(v.tag == ERROR, np.int8(ERROR), np.int8(BOOL)), flag,
              np.zeros(n, bool), v.obj, v.bad.copy())
    texts = np.flatnonzero(v.tag == TEXT)
    if len(texts):
        obj = out.objects().copy()
        for i in texts.tolist():
            word = v.obj[i].strip().upper()  # type: ignore[index]
            if word in ("TRUE", "FALSE"):
                out.num[i] = float(word == "TRUE")
            else:
                out.tag[i], obj[i] = ERROR, VALUE
        out.obj = obj
    return out


def _fn_if(args: list[Vec], n: int) -> Vec:
    cond = _logical(args[0])
    other = args[2] if len(args) > 2 else literal(False, n)
    out = _select(cond.num != 0, args[1], other)
    err = cond.tag == ERROR
    out = out.with_errors(err, cond.objects())
    out.bad = np.where(err, cond.bad, out.bad | cond.bad)
    return out


def _fn_iferror(args: list[Vec], n: int) -> Vec:
    value, fallback = args
    err = value.tag == ERROR
    out = _select(err, fallback, value)
    out.bad = value.bad | (err & fallback.bad)
    return out


def _fn_n(args: list[Vec], n: int) -> Vec:
    v = args[0]
    keep = (v.tag == NUMBER) | (v.tag == ERROR)
    flag = v.tag == BOOL
    return Vec(np.where(keep, v.tag, np.int8(NUMBER)), np.where(keep | flag, v.num, 0.0),
               np.where(keep, v.isint, True), v.obj, v.bad)


def _fn_isnumber(args: list[Vec], n: int) -> Vec:
    v = args[0]
    return Vec(np.full(n, BOOL, np.int8), (v.tag == NUMBER).astype(np.float64),
               np.zeros(n, bool), None, v.bad)


def _fn_not(args: list[Vec], n: int) -> Vec:
    flag = _logical(args[0])
    return Vec(flag.tag, np.where(flag.tag == BOOL, (flag.num == 0).astype(np.float64), 0.0),
               flag.isint, flag.obj, flag.bad)


def _fn_abs(args: list[Vec], n: int) -> Vec:
    x = _number(args[0])
    return Vec(x.tag, np.abs(x.num), x.isint, x.obj, x.bad)


_CALLS: Mapping[str, Callable[[list[Vec], int], Vec]] = {
    "IF": _fn_if, "IFERROR": _fn_iferror, "N": _fn_n, "ISNUMBER": _fn_isnumber,
    "NOT": _fn_not, "ABS": _fn_abs,
}
