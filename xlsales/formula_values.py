"""The values Excel would cache for the formulas xlsales writes, computed in Python.

XlsxWriter stores 0 as a formula's result unless it is given the value, and LibreOffice
(default settings), phone previews and pandas show that cached result. This module
evaluates the formula templates of :mod:`xlsales.tables` (and the totals the writers add)
for given cell values, with Excel's semantics:

* a blank cell is 0 in arithmetic, ``""`` in comparisons with text and FALSE with
  booleans; text in arithmetic is converted when it is a plain number (``"1,000"``,
  ``"5%"``, ``"1e3"``), an ISO date (``"2024-03-05"``, ``"2024-03-05 17:30"``) or a time
  (``"17:30"``), else it is ``#VALUE!`` (``""`` too);
* comparisons order numbers < text < booleans, compare text case-insensitively and numbers
  with Excel's tolerance; ``+``/``-`` of two nearly equal numbers give exactly 0;
* errors propagate through operators and functions, except in IFERROR, ISNUMBER and COUNT;
* dates are numbers: a date, datetime or time in a cell is its serial (1900 system), so a
  date result (``{meeting_at}+1``) is returned as a serial number, which is what Excel
  caches (the cell's number format shows it as a date).

Supported: numbers, ``"text"``, TRUE/FALSE, ``= <> < > <= >= & + - * /``, unary minus and
plus, parentheses, and the functions IF, IFERROR, AND, OR, NOT, ISNUMBER, N, ABS, TODAY,
NOW, MAX, MIN, SUM, COUNT, COUNTA, AVERAGE, SUBTOTAL, INDEX, VLOOKUP (exact match) and
SUMIFS, with wildcards (``* ? ~``) in VLOOKUP and SUMIFS text. Anything else raises
:class:`FormulaError`. Template tokens are those of :func:`xlsales.io.formulas.expand`;
``{next:key}`` on the last row reads the blank row under the table.

Results are Excel's cached types: int/float, str (``""`` for an empty text), bool, or an
:class:`ExcelError` (a ``str`` such as ``"#DIV/0!"``). Nothing here imports an Excel library.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from numbers import Real
from typing import TYPE_CHECKING, Any

from xlsales.i18n import Label

if TYPE_CHECKING:
    from xlsales.tables.base import TableSpec

NA_LABEL = Label("无目标", "no target")  # the same text as xlsales.io.formulas.NA_LABEL

Display = Callable[[str, str], str]
Columns = Mapping[str, Mapping[str, Sequence[Any]]]
Names = Mapping[str, Sequence[Sequence[Any]]]


class FormulaError(ValueError):
    """A formula or template the evaluator does not understand, or data it lacks."""


class ExcelError(str):
    """An Excel error value; equal to its text (``ExcelError("#N/A") == "#N/A"``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"ExcelError({str(self)!r})"


DIV0, VALUE, NA, REF, NUM = (ExcelError(e) for e in ("#DIV/0!", "#VALUE!", "#N/A", "#REF!",
                                                     "#NUM!"))
ERRORS = frozenset({DIV0, VALUE, NA, REF, NUM, ExcelError("#NAME?"), ExcelError("#NULL!")})


def _same(_list: str, value: str) -> str:
    return value


# -- cell values -----------------------------------------------------------------------------

_EPOCH = dt.datetime(1899, 12, 31)


def serial(value: dt.date | dt.datetime | dt.time) -> float:
    """The Excel serial number (1900 system, as XlsxWriter writes it) of a date or time."""
    if isinstance(value, dt.time):
        return (value.hour * 3600 + value.minute * 60 + value.second
                + value.microsecond / 1e6) / 86400
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    delta = value.replace(tzinfo=None) - _EPOCH
    days = delta.days + (float(delta.seconds) + float(delta.microseconds) / 1e6) / 86400
    return days + 1 if days > 59 else days  # Excel's 29 Feb 1900


def _cell(value: Any) -> Any:
    """A cell's value as the evaluator handles it: None, bool, int/float, str, ExcelError."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return value if math.isfinite(value) else NUM
    if isinstance(value, dt.date | dt.time):
        number = serial(value)
        return int(number) if number.is_integer() else number
    if isinstance(value, Real):
        return float(value)
    raise FormulaError(f"a cell cannot hold {type(value).__name__} ({value!r})")


def _finish(value: Any) -> Any:
    """The value a formula cell caches (a blank reached by reference is 0)."""
    if value is None:
        return 0
    if isinstance(value, float) and value == 0:
        return 0.0
    return value


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


_NUMBER_TEXT = re.compile(r"\s*([+-]?)((?:\d{1,3}(?:,\d{3})+|\d*)(?:\.\d*)?)"
                          r"((?:[eE][+-]?\d+)?)\s*(%?)\s*")
_DATE_TEXT = re.compile(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})"
                        r"(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?)?\s*")
_TIME_TEXT = re.compile(r"\s*(\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?\s*")


def parse_number(text: str) -> float | None:
    """The number Excel reads in ``text`` used in arithmetic, or None (``#VALUE!``)."""
    m = _NUMBER_TEXT.fullmatch(text)
    if m and any(ch.isdigit() for ch in m.group(2)):
        number = float(m.group(1) + m.group(2).replace(",", "") + m.group(3))
        return number / 100 if m.group(4) else number
    m = _DATE_TEXT.fullmatch(text)
    if m:
        try:
            day = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
        time = _clock(m.group(4), m.group(5), m.group(6)) if m.group(4) else 0.0
        return None if time is None else serial(day) + time
    m = _TIME_TEXT.fullmatch(text)
    if m:
        return _clock(m.group(1), m.group(2), m.group(3))
    return None


def _clock(hours: str, minutes: str, seconds: str | None) -> float | None:
    h, m, s = int(hours), int(minutes), float(seconds or 0)
    if h > 23 or m > 59 or s >= 60:
        return None
    return (h * 3600 + m * 60 + s) / 86400


def _number(v: Any) -> Any:
    """``v`` as a number for arithmetic, or an error."""
    if v is None:
        return 0
    if isinstance(v, ExcelError):
        return v
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, str):
        n = parse_number(v)
        return VALUE if n is None else n
    return v


def _logical(v: Any) -> Any:
    """``v`` as a condition (IF, AND, NOT), or an error."""
    if v is None:
        return False
    if isinstance(v, ExcelError | bool):
        return v
    if isinstance(v, str):
        upper = v.strip().upper()
        return {"TRUE": True, "FALSE": False}.get(upper, VALUE)
    return v != 0


def _text(v: Any) -> Any:
    """``v`` as text (``&``): numbers with up to 15 significant digits."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.15g}".upper()


# -- Excel arithmetic and comparison --------------------------------------------------------------

_E48 = 2.0 ** -48


def approx_equal(a: float, b: float) -> bool:
    """Equal within Excel's (and LibreOffice's) tolerance of about 15 significant digits."""
    if a == b:
        return True
    if a == 0 or b == 0:
        return False
    d = abs(a - b)
    return d < abs(a) * _E48 and d < abs(b) * _E48


def _arith(op: str, a: Any, b: Any) -> Any:
    x, y = _number(a), _number(b)
    if isinstance(x, ExcelError):
        return x
    if isinstance(y, ExcelError):
        return y
    if op == "+":
        result = 0.0 if (x < 0 < y or y < 0 < x) and approx_equal(x, -y) else x + y
    elif op == "-":
        result = 0.0 if ((x < 0 and y < 0) or (x > 0 and y > 0)) and approx_equal(x, y) else x - y
    elif op == "*":
        result = x * y
    else:
        if y == 0:
            return DIV0
        result = x / y
    return result if math.isfinite(result) else NUM


def _rank(v: Any) -> int:
    return 2 if isinstance(v, bool) else 1 if isinstance(v, str) else 0


def _empty_like(v: Any) -> Any:
    return False if isinstance(v, bool) else "" if isinstance(v, str) else 0


def compare(a: Any, b: Any) -> Any:
    """-1, 0 or 1 as Excel orders ``a`` and ``b``, or the first error."""
    if isinstance(a, ExcelError):
        return a
    if isinstance(b, ExcelError):
        return b
    if a is None and b is None:
        return 0
    if a is None:
        a = _empty_like(b)
    elif b is None:
        b = _empty_like(a)
    ra, rb = _rank(a), _rank(b)
    if ra != rb:
        return -1 if ra < rb else 1
    if ra == 0:
        return 0 if approx_equal(a, b) else -1 if a < b else 1
    if ra == 1:
        a, b = a.casefold(), b.casefold()
    return 0 if a == b else -1 if a < b else 1


_COMPARE: dict[str, Callable[[int], bool]] = {
    "=": lambda c: c == 0, "<>": lambda c: c != 0, "<": lambda c: c < 0,
    ">": lambda c: c > 0, "<=": lambda c: c <= 0, ">=": lambda c: c >= 0,
}


@lru_cache(maxsize=1024)
def _pattern(text: str) -> re.Pattern[str] | None:
    """The regex of an Excel wildcard text (``* ? ~``), or None without wildcards."""
    if not re.search(r"[*?]", text):
        return None
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "~" and i + 1 < len(text) and text[i + 1] in "*?~":
            out.append(re.escape(text[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def _text_matches(pattern: str, value: str) -> bool:
    """Whether ``value`` equals ``pattern`` (case-insensitive, with wildcards)."""
    rx = _pattern(pattern)
    if rx is None:
        return value.casefold() == pattern.replace("~~", "~").casefold()
    return rx.fullmatch(value) is not None


def _criterion(c: Any) -> Callable[[Any], bool]:
    """The test of one SUMIFS criterion (a blank criterion is 0, as in Excel)."""
    if c is None:
        c = 0
    if isinstance(c, bool):
        return lambda x: isinstance(x, bool) and x == c
    if _is_number(c):
        return lambda x: _is_number(x) and approx_equal(x, c)
    m = re.match(r"(<>|<=|>=|<|>|=)?(.*)", c, re.DOTALL)
    assert m is not None
    op, operand = m.group(1) or "=", m.group(2)
    if operand == "" and op in ("=", "<>"):
        if op == "=":
            return lambda x: x is None or (isinstance(x, str) and x == ""
                                           and not isinstance(x, ExcelError))
        return lambda x: x is not None and not isinstance(x, ExcelError)
    number = parse_number(operand)
    test = _COMPARE[op]
    if number is not None:
        def equal(x: Any) -> bool:
            if _is_number(x):
                return approx_equal(x, number)
            return (isinstance(x, str) and not isinstance(x, ExcelError)
                    and parse_number(x) == number)
        if op == "=":
            return equal
        if op == "<>":
            return lambda x: not isinstance(x, ExcelError) and not equal(x)
        return lambda x: _is_number(x) and test(compare(x, number))
    if operand.strip().upper() in ("TRUE", "FALSE"):
        flag = operand.strip().upper() == "TRUE"
        return lambda x: isinstance(x, bool) and test(compare(x, flag))

    def is_text(x: Any) -> bool:
        return isinstance(x, str) and not isinstance(x, ExcelError)
    if op == "=":
        return lambda x: is_text(x) and _text_matches(operand, x)
    if op == "<>":
        return lambda x: not isinstance(x, ExcelError) and not (is_text(x)
                                                                 and _text_matches(operand, x))
    return lambda x: is_text(x) and test(compare(x, operand))


# -- the compiled form ------------------------------------------------------------------------

class _Env:
    """What one evaluation reads: this row, the next one, other tables, defined names."""

    __slots__ = ("_names", "_ranges", "_tables", "cell", "next")

    def __init__(self, cell: Callable[[str], Any], next_cell: Callable[[str], Any],
                 tables: Columns, names: Names,
                 ranges: dict[tuple[str, str], list[Any]] | None = None) -> None:
        self.cell, self.next = cell, next_cell
        self._tables, self._names = tables, names
        self._ranges = {} if ranges is None else ranges

    def range(self, table: str, key: str) -> list[Any]:
        """A whole column of another table."""
        found = self._ranges.get((table, key))
        if found is None:
            if table not in self._tables:
                raise FormulaError(f"the formula refers to table {table!r}, which was not given")
            columns = self._tables[table]
            if key not in columns:
                raise FormulaError(f"table {table!r} has no column {key!r} in the data given")
            found = self._ranges[(table, key)] = [_cell(v) for v in columns[key]]
        return found

    def area(self, name: str) -> list[list[Any]]:
        """The rows of a defined name."""
        found = self._ranges.get(("", name))
        if found is None:
            if name not in self._names:
                raise FormulaError(f"the formula uses the name {name!r}, which was not given")
            found = self._ranges[("", name)] = [[_cell(v) for v in row]
                                                for row in self._names[name]]
        return found


@dataclass(frozen=True)
class _Node:
    """A compiled part of a formula: ``kind`` is value, ref (one cell), range or area;
    ``shape`` says what it is for the columnar evaluator (:func:`_vector_node`): ``("num",
    value)``, ``("ref", key)``, ``("arith", op, left, right)``, ``("call", NAME, args)`` …
    (empty: not known to it)."""

    kind: str
    fn: Callable[[_Env], Any]
    shape: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Compiled:
    """A formula compiled once: its evaluator and what it refers to."""

    formula: str
    node: _Node
    cells: frozenset[str]
    next_cells: frozenset[str]
    tables: frozenset[tuple[str, str]]


_TOKEN = re.compile(r"""\s*(?:
    (?P<num>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
   |(?P<str>"(?:[^"]|"")*")
   |\x00(?P<ref>[^\x00]*)\x00
   |(?P<op><>|<=|>=|[-+*/&=<>(),])
   |(?P<name>[A-Za-z_][A-Za-z0-9_.]*)
   )""", re.VERBOSE)


def _tokens(formula: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(formula):
        if formula[pos:].strip() == "":
            break
        m = _TOKEN.match(formula, pos)
        if m is None or m.end() == pos:
            shown = formula[pos:].replace("\x00", "")
            raise FormulaError(f"cannot read {shown!r} in {_shown(formula)!r}")
        kind = m.lastgroup
        assert kind is not None
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _shown(formula: str) -> str:
    return re.sub("\x00([^\x00]*)\x00", r"{\1}", formula)


class _Parser:
    """Recursive descent over Excel's precedence: comparison, &, + -, * /, unary."""

    def __init__(self, formula: str) -> None:
        self.formula = formula
        self.tokens = _tokens(formula)
        self.i = 0
        self.cells: set[str] = set()
        self.next_cells: set[str] = set()
        self.tables: set[tuple[str, str]] = set()

    def error(self, message: str) -> FormulaError:
        return FormulaError(f"{message} in {_shown(self.formula)!r}")

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise self.error("unexpected end")
        self.i += 1
        return token

    def at_op(self, *ops: str) -> str | None:
        token = self.peek()
        if token and token[0] == "op" and token[1] in ops:
            self.i += 1
            return token[1]
        return None

    def expect(self, op: str) -> None:
        if not self.at_op(op):
            token = self.peek()
            raise self.error(f"expected {op!r}, found {token[1] if token else 'the end'!r}")

    def parse(self) -> _Node:
        node = self.comparison()
        if self.peek() is not None:
            raise self.error(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return node

    def scalar(self, node: _Node) -> _Node:
        if node.kind in ("range", "area"):
            raise self.error("a whole column or a name can only be a function argument")
        return node

    def comparison(self) -> _Node:
        left = self.concat()
        while op := self.at_op("=", "<>", "<", ">", "<=", ">="):
            right = self.scalar(self.concat())
            left = _compare_node(op, self.scalar(left), right)
        return left

    def concat(self) -> _Node:
        left = self.additive()
        while self.at_op("&"):
            right = self.scalar(self.additive())
            left = _concat_node(self.scalar(left), right)
        return left

    def additive(self) -> _Node:
        left = self.multiplicative()
        while op := self.at_op("+", "-"):
            right = self.scalar(self.multiplicative())
            left = _arith_node(op, self.scalar(left), right)
        return left

    def multiplicative(self) -> _Node:
        left = self.unary()
        while op := self.at_op("*", "/"):
            right = self.scalar(self.unary())
            left = _arith_node(op, self.scalar(left), right)
        return left

    def unary(self) -> _Node:
        if self.at_op("-"):
            inner = self.scalar(self.unary())
            return _Node("value", lambda env: _arith("-", 0, inner.fn(env)),
                         ("arith", "-", _literal(0), inner))
        if self.at_op("+"):
            return self.scalar(self.unary())
        return self.primary()

    def primary(self) -> _Node:
        kind, text = self.take()
        if kind == "num":
            value: Any = int(text) if text.isdigit() else float(text)
            return _literal(value)
        if kind == "str":
            literal = text[1:-1].replace('""', '"')
            if "\x00" in literal:
                raise self.error("a cell reference inside a text literal")
            return _literal(literal)
        if kind == "ref":
            return self.reference(text)
        if kind == "op" and text == "(":
            node = self.comparison()
            self.expect(")")
            return node
        if kind == "name":
            if self.at_op("("):
                return self.call(text.upper())
            if text.upper() in ("TRUE", "FALSE"):
                flag = text.upper() == "TRUE"
                return _literal(flag)
            name = text
            return _Node("area", lambda env: env.area(name))
        raise self.error(f"unexpected {text!r}")

    def reference(self, token: str) -> _Node:
        if token.startswith("next:"):
            key = token[5:]
            self.next_cells.add(key)
            return _Node("ref", lambda env: env.next(key))
        if ":" in token or not token:
            raise self.error(f"unknown token {{{token}}}")
        if "." in token:
            table, key = token.split(".", 1)
            self.tables.add((table, key))
            return _Node("range", lambda env: env.range(table, key))
        self.cells.add(token)
        return _Node("ref", lambda env: env.cell(token), ("ref", token))

    def call(self, name: str) -> _Node:
        spec = _FUNCTIONS.get(name)
        if spec is None:
            raise self.error(f"unsupported function {name}")
        args: list[_Node] = []
        if not self.at_op(")"):
            while True:
                args.append(self.comparison())
                if self.at_op(")"):
                    break
                self.expect(",")
        impl, low, high, ranges = spec
        if len(args) < low or (high is not None and len(args) > high):
            most = "or more" if high is None else "" if high == low else f"to {high}"
            raise self.error(f"{name} takes {low} {most} arguments, not {len(args)}")
        for i, arg in enumerate(args):
            wants = ranges(i)
            if wants is True and arg.kind not in ("range", "area"):
                raise self.error(f"argument {i + 1} of {name} must be a table column or a name")
            if wants is False:
                self.scalar(arg)
        return _Node("value", lambda env: impl(args, env), ("call", name, tuple(args)))


def _compare_node(op: str, left: _Node, right: _Node) -> _Node:
    test = _COMPARE[op]

    def fn(env: _Env) -> Any:
        c = compare(left.fn(env), right.fn(env))
        return c if isinstance(c, ExcelError) else test(c)
    return _Node("value", fn, ("compare", op, left, right))


def _concat_node(left: _Node, right: _Node) -> _Node:
    def fn(env: _Env) -> Any:
        a, b = left.fn(env), right.fn(env)
        for v in (a, b):
            if isinstance(v, ExcelError):
                return v
        return _text(a) + _text(b)
    return _Node("value", fn)


def _arith_node(op: str, left: _Node, right: _Node) -> _Node:
    return _Node("value", lambda env: _arith(op, left.fn(env), right.fn(env)),
                 ("arith", op, left, right))


def _literal(value: Any) -> _Node:
    """A number, text or TRUE/FALSE written in the formula."""
    return _Node("value", lambda _env: value, ("literal", value))


# -- functions ------------------------------------------------------------------------------------

Args = list[_Node]


def _fn_if(args: Args, env: _Env) -> Any:
    cond = _logical(args[0].fn(env))
    if isinstance(cond, ExcelError):
        return cond
    if cond:
        return args[1].fn(env)
    return args[2].fn(env) if len(args) > 2 else False


def _fn_iferror(args: Args, env: _Env) -> Any:
    value = args[0].fn(env)
    return args[1].fn(env) if isinstance(value, ExcelError) else value


def _logicals(args: Args, env: _Env) -> Any:
    """The logical values of AND/OR arguments (text and blanks in references are skipped)."""
    out = []
    for arg in args:
        value = arg.fn(env)
        if arg.kind != "value":
            for x in _cells(arg, value):
                if isinstance(x, ExcelError):
                    return x
                if isinstance(x, bool) or _is_number(x):
                    out.append(bool(x))
            continue
        flag = _logical(value)
        if isinstance(flag, ExcelError):
            return flag
        out.append(flag)
    return out if out else VALUE


def _fn_and(args: Args, env: _Env) -> Any:
    values = _logicals(args, env)
    return values if isinstance(values, ExcelError) else all(values)


def _fn_or(args: Args, env: _Env) -> Any:
    values = _logicals(args, env)
    return values if isinstance(values, ExcelError) else any(values)


def _fn_not(args: Args, env: _Env) -> Any:
    flag = _logical(args[0].fn(env))
    return flag if isinstance(flag, ExcelError) else not flag


def _fn_isnumber(args: Args, env: _Env) -> Any:
    return _is_number(args[0].fn(env))


def _fn_n(args: Args, env: _Env) -> Any:
    value = args[0].fn(env)
    if isinstance(value, ExcelError):
        return value
    if isinstance(value, bool):
        return int(value)
    return value if _is_number(value) else 0


def _fn_abs(args: Args, env: _Env) -> Any:
    value = _number(args[0].fn(env))
    return value if isinstance(value, ExcelError) else abs(value)


def _fn_today(args: Args, env: _Env) -> Any:
    return int(serial(dt.date.today()))


def _fn_now(args: Args, env: _Env) -> Any:
    return serial(dt.datetime.now())


def _cells(arg: _Node, value: Any) -> list[Any]:
    if arg.kind == "range":
        return list(value)
    if arg.kind == "area":
        return [x for row in value for x in row]
    return [value]


def _numbers(args: Args, env: _Env) -> Any:
    """The numbers of MAX/MIN/SUM-like arguments: numbers only from references, text and
    booleans converted when given directly; the first error found."""
    out: list[float] = []
    for arg in args:
        value = arg.fn(env)
        if arg.kind == "value":
            if value is None:
                continue
            n = _number(value)
            if isinstance(n, ExcelError):
                return n
            out.append(n)
            continue
        for x in _cells(arg, value):
            if isinstance(x, ExcelError):
                return x
            if _is_number(x):
                out.append(x)
    return out


def _total(values: list[float]) -> float:
    if all(isinstance(v, int) for v in values):
        return sum(values)
    return math.fsum(values)


def _aggregate(fn: Callable[[list[float]], Any]) -> Callable[[Args, _Env], Any]:
    def impl(args: Args, env: _Env) -> Any:
        values = _numbers(args, env)
        return values if isinstance(values, ExcelError) else fn(values)
    return impl


def _average(values: list[float]) -> Any:
    return _total(values) / len(values) if values else DIV0


def _spread(fn: Callable[[list[float]], float], least: int) -> Callable[[list[float]], Any]:
    return lambda values: fn(values) if len(values) >= least else DIV0


def _fn_count(args: Args, env: _Env) -> Any:
    count = 0
    for arg in args:
        value = arg.fn(env)
        if arg.kind == "value":
            if isinstance(value, bool) or _is_number(value) or (
                    isinstance(value, str) and not isinstance(value, ExcelError)
                    and parse_number(value) is not None):
                count += 1
            continue
        count += sum(1 for x in _cells(arg, value) if _is_number(x))
    return count


def _fn_counta(args: Args, env: _Env) -> Any:
    count = 0
    for arg in args:
        value = arg.fn(env)
        if arg.kind == "value":
            count += 1
            continue
        count += sum(1 for x in _cells(arg, value) if x is not None)
    return count


_SUBTOTAL: dict[int, Callable[[list[float]], Any]] = {
    1: _average, 4: lambda v: max(v, default=0), 5: lambda v: min(v, default=0),
    6: lambda v: math.prod(v), 7: _spread(statistics.stdev, 2), 8: _spread(statistics.pstdev, 1),
    9: _total, 10: _spread(statistics.variance, 2), 11: _spread(statistics.pvariance, 1),
}


def _fn_subtotal(args: Args, env: _Env) -> Any:
    code = _number(args[0].fn(env))
    if isinstance(code, ExcelError):
        return code
    code = int(code) % 100
    rest = args[1:]
    if code == 3:
        return _fn_counta(rest, env)
    if code == 2:
        return sum(1 for arg in rest for x in _cells(arg, arg.fn(env)) if _is_number(x))
    if code not in _SUBTOTAL:
        return VALUE
    return _aggregate(_SUBTOTAL[code])(rest, env)


def _index_number(value: Any) -> Any:
    n = _number(value)
    return n if isinstance(n, ExcelError) else int(n)


def _fn_index(args: Args, env: _Env) -> Any:
    table = args[0].fn(env)
    rows = [[x] for x in table] if args[0].kind == "range" else table
    r = _index_number(args[1].fn(env))
    c = _index_number(args[2].fn(env)) if len(args) > 2 else 1
    for n in (r, c):
        if isinstance(n, ExcelError):
            return n
    if not (1 <= r <= len(rows)) or not (1 <= c <= len(rows[r - 1])):
        return REF
    return rows[r - 1][c - 1]


def _fn_vlookup(args: Args, env: _Env) -> Any:
    wanted = args[0].fn(env)
    table = args[1].fn(env)
    rows = [[x] for x in table] if args[1].kind == "range" else table
    col = _index_number(args[2].fn(env))
    exact = _logical(args[3].fn(env)) if len(args) > 3 else True
    for v in (wanted, col, exact):
        if isinstance(v, ExcelError):
            return v
    if exact:
        raise FormulaError("only exact-match VLOOKUP (4th argument FALSE) is supported")
    if col < 1:
        return VALUE
    if wanted is None:
        return NA
    for row in rows:
        key = row[0] if row else None
        if isinstance(key, ExcelError) or key is None or _rank(key) != _rank(wanted):
            continue
        if (_text_matches(wanted, key) if isinstance(wanted, str)
                else compare(key, wanted) == 0):
            return row[col - 1] if col <= len(row) else REF
    return NA


def _fn_sumifs(args: Args, env: _Env) -> Any:
    total = args[0].fn(env)
    tests: list[tuple[list[Any], Callable[[Any], bool]]] = []
    for i in range(1, len(args), 2):
        cells = args[i].fn(env)
        crit = args[i + 1].fn(env)
        if isinstance(crit, ExcelError):
            return crit
        if len(cells) != len(total):
            return VALUE
        tests.append((cells, _criterion(crit)))
    out = []
    for r, x in enumerate(total):
        if all(test(cells[r]) for cells, test in tests):
            if isinstance(x, ExcelError):
                return x
            if _is_number(x):
                out.append(x)
    return _total(out)


def _any(_i: int) -> bool | None:
    return None


def _none(_i: int) -> bool | None:
    return False


_FUNCTIONS: dict[str, tuple[Callable[[Args, _Env], Any], int, int | None,
                            Callable[[int], bool | None]]] = {
    "IF": (_fn_if, 2, 3, _none),
    "IFERROR": (_fn_iferror, 2, 2, _none),
    "AND": (_fn_and, 1, None, _any),
    "OR": (_fn_or, 1, None, _any),
    "NOT": (_fn_not, 1, 1, _none),
    "ISNUMBER": (_fn_isnumber, 1, 1, _none),
    "N": (_fn_n, 1, 1, _none),
    "ABS": (_fn_abs, 1, 1, _none),
    "TODAY": (_fn_today, 0, 0, _none),
    "NOW": (_fn_now, 0, 0, _none),
    "MAX": (_aggregate(lambda v: max(v, default=0)), 1, None, _any),
    "MIN": (_aggregate(lambda v: min(v, default=0)), 1, None, _any),
    "SUM": (_aggregate(_total), 1, None, _any),
    "AVERAGE": (_aggregate(_average), 1, None, _any),
    "COUNT": (_fn_count, 1, None, _any),
    "COUNTA": (_fn_counta, 1, None, _any),
    "SUBTOTAL": (_fn_subtotal, 2, None, lambda i: None if i else False),
    "INDEX": (_fn_index, 2, 3, lambda i: i == 0 or False),
    "VLOOKUP": (_fn_vlookup, 3, 4, lambda i: i == 1 or False),
    "SUMIFS": (_fn_sumifs, 3, None, lambda i: i == 0 or i % 2 == 1),
}


@lru_cache(maxsize=4096)
def compile_formula(formula: str) -> Compiled:
    """Compile a formula whose references are still ``\\x00key\\x00`` markers (cached)."""
    parser = _Parser(formula)
    node = parser.parse()
    return Compiled(formula, node, frozenset(parser.cells), frozenset(parser.next_cells),
                    frozenset(parser.tables))


_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def prepare(template: str, *, lang: str, options: Mapping[str, Any],
            display: Display = _same) -> Compiled:
    """Substitute the text tokens of ``template`` (``{na}``, ``{t:…}``, ``{opt:…}``,
    ``{v:…}``) as :func:`~xlsales.io.formulas.expand` does, and compile the rest."""

    def repl(m: re.Match[str]) -> str:
        token = m.group(1)
        if token == "na":
            return NA_LABEL(lang)  # type: ignore[arg-type]
        if token.startswith("t:"):
            zh, sep, en = token[2:].partition("|")
            if not sep:
                raise FormulaError(f"{{{token}}} needs the form {{t:中文|English}}")
            return zh if lang == "zh" else en
        if token.startswith("opt:"):
            if token[4:] not in options:
                raise FormulaError(f"unknown option {token[4:]!r} in {template!r}")
            return str(options[token[4:]])
        if token.startswith("v:"):
            parts = token.split(":", 2)
            if len(parts) != 3:
                raise FormulaError(f"{{{token}}} needs the form {{v:list:value}}")
            return display(parts[1], parts[2]).replace('"', '""')
        if ":" in token and not token.startswith("next:"):
            raise FormulaError(f"unknown token {{{token}}} in {template!r}")
        return f"\x00{token}\x00"

    return compile_formula(_PLACEHOLDER.sub(repl, template))


# -- the API --------------------------------------------------------------------------------------

def _row_reader(row: Mapping[str, Any] | None) -> Callable[[str], Any]:
    if row is None:
        return lambda _key: None
    return lambda key: _cell(row.get(key))


def evaluate(template: str, row: Mapping[str, Any], *, lang: str, options: Mapping[str, Any],
             display: Display = _same, tables: Columns | None = None,
             names: Names | None = None, next_row: Mapping[str, Any] | None = None) -> Any:
    """The value Excel caches for ``template`` on a row holding ``row``.

    ``row`` and ``next_row`` hold cell values by column key (a missing key is a blank
    cell; None is blank; no ``next_row`` means a blank row); ``tables[Name][key]`` is a
    whole column of another table and ``names[name]`` the rows of a defined name.
    """
    compiled = prepare(template, lang=lang, options=options, display=display)
    env = _Env(_row_reader(row), _row_reader(next_row), tables or {}, names or {})
    return _finish(compiled.node.fn(env))


def column_values(spec: TableSpec, rows: Sequence[Mapping[str, Any]], *, lang: str,
                  options: Mapping[str, Any], display: Display = _same,
                  tables: Columns | None = None, names: Names | None = None,
                  vectorise: bool | None = None) -> list[dict[str, Any]]:
    """The cached value of every formula column of ``spec``, per row of ``rows``.

    ``rows`` hold the input cells as written (an input ``""`` is a blank cell; values given
    for formula columns are ignored). Formula columns that use other formula columns, or
    the next row's (``{next:key}``), see those computed values. See :func:`formula_columns`
    for ``vectorise``.
    """
    n = len(rows)
    columns = _evaluate(spec, n, lambda key: [r.get(key) for r in rows],
                        lambda i, key: rows[i].get(key), lang=lang, options=options,
                        display=display, tables=tables, names=names, vectorise=vectorise)
    keys = list(columns)
    if not keys:
        return [{} for _ in range(n)]
    return [dict(zip(keys, values, strict=True))
            for values in zip(*columns.values(), strict=True)]


def formula_columns(spec: TableSpec, columns: Mapping[str, Sequence[Any]], n: int, *,
                    lang: str, options: Mapping[str, Any], display: Display = _same,
                    tables: Columns | None = None, names: Names | None = None,
                    vectorise: bool | None = None) -> dict[str, list[Any]]:
    """:func:`column_values` of a table given as columns: ``columns[key]`` the ``n`` input
    cells of a column (a key not given is a blank column); the values of each formula
    column, by key.

    Formulas of the simple shapes tables use are evaluated over whole columns
    (:mod:`xlsales.formula_vector`, with the same results, types included), the others —
    and the rows holding cells that module leaves alone — row by row. ``vectorise``: True
    or False to choose (tests); None, by the table's size.
    """
    blank: list[Any] = [None] * n
    return _evaluate(spec, n, lambda key: columns.get(key, blank),
                     lambda i, key: columns[key][i] if key in columns else None, lang=lang,
                     options=options, display=display, tables=tables, names=names,
                     vectorise=vectorise)


_UNSET = object()
VECTOR_FROM = 32  # rows from which formula columns are evaluated over whole columns


def _evaluate(spec: TableSpec, n: int, column: Callable[[str], Sequence[Any]],
              value: Callable[[int, str], Any], *, lang: str, options: Mapping[str, Any],
              display: Display, tables: Columns | None, names: Names | None,
              vectorise: bool | None) -> dict[str, list[Any]]:
    """The formula columns of ``spec`` over ``n`` rows whose input cells are
    ``column(key)`` (a whole column) or ``value(i, key)`` (one cell)."""
    formulas = {c.key: prepare(c.formula, lang=lang, options=options, display=display)
                for c in spec.columns if c.formula}
    keys = {c.key for c in spec.columns}
    tables = tables or {}
    for key, compiled in formulas.items():
        unknown = (compiled.cells | compiled.next_cells) - keys
        if unknown:
            raise FormulaError(f"{spec.key}.{key} refers to unknown columns {sorted(unknown)}")
        missing = {t for t, _ in compiled.tables} - set(tables)
        if missing:
            raise FormulaError(f"{spec.key}.{key} needs the columns of {sorted(missing)}")
    results: dict[str, list[Any]] = {}
    left: Sequence[int] = range(n)
    if vectorise or (vectorise is None and n >= VECTOR_FROM):
        results, bad = _vectorised(formulas, column, n)
        if len(results) == len(formulas):  # only the rows it left, row by row
            left = sorted(bad)
    for key in formulas:
        results.setdefault(key, [_UNSET] * n)
    busy: set[tuple[int, str]] = set()
    ranges: dict[tuple[str, str], list[Any]] = {}

    def cell(i: int, key: str) -> Any:
        if i >= n:
            return None
        if key not in formulas:
            v = value(i, key)
            return None if isinstance(v, str) and v == "" else _cell(v)
        done = results[key]
        if done[i] is _UNSET:
            if (i, key) in busy:
                raise FormulaError(f"{spec.key}.{key} depends on itself")
            busy.add((i, key))
            env = _Env(lambda k: cell(i, k), lambda k: cell(i + 1, k), tables,
                       names or {}, ranges)
            done[i] = _finish(formulas[key].node.fn(env))
            busy.discard((i, key))
        return done[i]

    backwards = any(c.next_cells for c in formulas.values())
    for i in (reversed(left) if backwards else left):
        for key in formulas:
            cell(i, key)
    return {key: results[key] for key in formulas}


def _vectorised(formulas: Mapping[str, Compiled], column: Callable[[str], Sequence[Any]],
                n: int) -> tuple[dict[str, list[Any]], set[int]]:
    """The formula columns :mod:`xlsales.formula_vector` evaluates, each over all rows, in
    an order where a formula column another one reads comes first; and the rows it left
    (:data:`_UNSET` in those columns) to the row-by-row evaluator."""
    try:
        from xlsales import formula_vector as fv
    except ImportError:  # no numpy: row by row
        return {}, set()
    order: list[str] = []
    while True:
        ready = [key for key, compiled in formulas.items() if key not in order
                 and not compiled.next_cells and not compiled.tables
                 and fv.supported(compiled.node,
                                  lambda k: k not in formulas or k in order)]
        if not ready:
            break
        order.append(ready[0])
    if not order:
        return {}, set()
    vecs: dict[str, Any] = {}

    def read(key: str) -> Any:
        if key not in vecs:
            vecs[key] = fv.from_cells(column(key))
        return vecs[key]

    out: dict[str, list[Any]] = {}
    left: set[int] = set()
    for key in order:
        result = fv.finish(fv.evaluate(formulas[key].node, read, n))
        vecs[key] = result
        values = fv.to_list(result)
        for i in fv.bad_rows(result):
            values[i] = _UNSET
            left.add(i)
        out[key] = values
    return out, left


def table_columns(spec: TableSpec, rows: Sequence[Mapping[str, Any]],
                  values: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """The columns of ``spec``'s table as its cells hold them: the input values of
    ``rows`` and the formula values of ``values`` (from :func:`column_values`)."""
    out: dict[str, list[Any]] = {}
    for c in spec.columns:
        if c.formula:
            out[c.key] = [v[c.key] for v in values]
        else:
            out[c.key] = [None if isinstance(r.get(c.key), str) and r.get(c.key) == ""
                          else r.get(c.key) for r in rows]
    return out


def table_refs(spec: TableSpec, *, lang: str, options: Mapping[str, Any],
               display: Display = _same) -> set[str]:
    """The other tables whose columns ``spec``'s formulas read."""
    return {t for c in spec.columns if c.formula
            for t, _ in prepare(c.formula, lang=lang, options=options,
                                display=display).tables} - {spec.name}


def evaluate_tables(items: Sequence[tuple[TableSpec, Sequence[Mapping[str, Any]]]], *,
                    lang: str, options: Mapping[str, Any], display: Display = _same,
                    tables: Columns | None = None,
                    names: Names | None = None) -> dict[str, dict[str, list[Any]]]:
    """The columns (inputs and evaluated formulas) of several tables that may read each
    other (TeamTargets sums Targets), each evaluated after the tables it reads.

    Returns ``{table name: {key: column}}``, the form ``tables=`` takes.
    """
    known: dict[str, Mapping[str, Sequence[Any]]] = dict(tables or {})
    out: dict[str, dict[str, list[Any]]] = {}
    pending = list(items)
    while pending:
        waiting = {spec.name for spec, _ in pending}
        ready = [(spec, rows) for spec, rows in pending
                 if not table_refs(spec, lang=lang, options=options, display=display) & waiting]
        if not ready:
            raise FormulaError(f"tables read each other in a cycle: {sorted(waiting)}")
        for spec, rows in ready:
            values = column_values(spec, rows, lang=lang, options=options, display=display,
                                   tables=known, names=names)
            out[spec.name] = known[spec.name] = table_columns(spec, rows, values)
        pending = [item for item in pending if item[0].name not in out]
    return out


__all__ = ["ERRORS", "NA_LABEL", "Compiled", "ExcelError", "FormulaError", "approx_equal",
           "column_values", "compare", "compile_formula", "evaluate", "evaluate_tables",
           "formula_columns", "parse_number", "prepare", "serial", "table_columns", "table_refs"]
