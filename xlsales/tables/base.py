"""Column and table descriptions shared by every business table."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from xlsales.i18n import Label, Lang

if TYPE_CHECKING:
    import pandas as pd


class Kind(StrEnum):
    """What a column holds; drives number formats and data validation."""

    TEXT = "text"
    LONG_TEXT = "long_text"
    INT = "int"
    AMOUNT = "amount"
    NUMBER = "number"
    PERCENT = "percent"
    DATE = "date"
    DATETIME = "datetime"
    CHOICE = "choice"
    FORMULA = "formula"


DATE_KINDS = (Kind.DATE, Kind.DATETIME)
NUMBER_KINDS = (Kind.INT, Kind.AMOUNT, Kind.NUMBER, Kind.PERCENT)

NUMBER_FORMATS: dict[Kind, str] = {
    Kind.INT: "0",
    Kind.AMOUNT: "#,##0.00",
    Kind.NUMBER: "0.00",
    Kind.PERCENT: "0.0%",
    Kind.DATE: "yyyy-mm-dd",
    Kind.DATETIME: "yyyy-mm-dd hh:mm",
}
WHOLE_FORMAT = "#,##0"  # an amount in whole units (元, USD)


@dataclass(frozen=True)
class Column:
    """One column of a business table.

    ``key`` is the column's name in code and in the table's canonical frame.
    ``formula`` is an Excel formula template whose ``{key}`` placeholders become
    the A1 address of that column in the same row.
    ``choices`` names a dropdown list (see :mod:`xlsales.settings`).
    """

    key: str
    label: Label
    kind: Kind = Kind.TEXT
    width: float = 12.0
    required: bool = False
    choices: str | None = None
    strict_choices: bool = True
    aliases: tuple[str, ...] = ()
    formula: str | None = None
    number_format: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    hint: Label | None = None
    total: str | None = None
    # A columnar normaliser run on the column read, after its kind's: the one written form
    # of a value people spell several ways (quarters: ``2026q4`` → ``2026Q4``).
    canonical: Callable[[pd.Series], pd.Series] | None = None

    def header(self, lang: Lang, options: Mapping[str, Any] | None = None) -> str:
        """The header in ``lang``; with the settings' ``options``, an amount's unit in the
        team's currency and amount unit (``金额(万美元)``, ``金额(元)``)."""
        text = self.label(lang)
        if options and (options.get("currency") or options.get("amount_unit")):
            from xlsales.words import options_text

            return options_text(text, options)
        return text

    def hint_text(self, lang: Lang, options: Mapping[str, Any] | None = None) -> str | None:
        """The input hint in ``lang`` (None: none), its unit in the team's currency."""
        if self.hint is None:
            return None
        if options and (options.get("currency") or options.get("amount_unit")):
            from xlsales.words import options_text

            return options_text(self.hint(lang), options)
        return self.hint(lang)

    def scaled(self, options: Mapping[str, Any] | None) -> float:
        """What this column's values (in the library's unit) are multiplied by in a
        workbook of the settings' ``options``: 10,000 for an amount in 万 when the team
        keeps whole units, else 1."""
        if self.kind is not Kind.AMOUNT or not options or column_unit(self) != "万元":
            return 1.0
        from xlsales.words import amount_scale

        return amount_scale(options)

    def fmt_in(self, options: Mapping[str, Any] | None) -> str | None:
        """:attr:`fmt` in a workbook of the settings' ``options``: whole numbers
        (``#,##0``) for an amount kept in whole units."""
        if self.scaled(options) != 1.0 and self.fmt == NUMBER_FORMATS[Kind.AMOUNT]:
            return WHOLE_FORMAT
        return self.fmt

    def all_headers(self) -> tuple[str, ...]:
        return (self.label.zh, self.label.en, *self.aliases)

    @property
    def fmt(self) -> str | None:
        if self.number_format:
            return self.number_format
        return NUMBER_FORMATS.get(self.kind)

    @property
    def is_input(self) -> bool:
        return self.formula is None


@dataclass(frozen=True)
class CondFormat:
    """Conditional formatting over a column (or the whole row when ``key`` is None).

    ``formula`` uses the same placeholders as column formulas, written for the first
    data row; ``{v:list:value}`` becomes that list value's label in the sheet's language.
    ``style`` is ``bad``, ``warn`` or ``good``.
    """

    key: str | None
    formula: str
    style: str = "bad"


@dataclass(frozen=True)
class TableSpec:
    """A business table: its Excel Table name, sheet title, columns and formats."""

    key: str
    name: str
    sheet: Label
    title: Label
    columns: tuple[Column, ...]
    blank_rows: int = 20
    notes: Label | None = None
    formats: tuple[CondFormat, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def column(self, key: str) -> Column:
        for col in self.columns:
            if col.key == key:
                return col
        raise KeyError(f"{self.key} has no column {key!r}")

    def headers(self, lang: Lang, options: Mapping[str, Any] | None = None) -> list[str]:
        return [c.header(lang, options) for c in self.columns]

    @property
    def input_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.is_input)

    def index(self, key: str) -> int:
        return [c.key for c in self.columns].index(key)


# Headers real teams give a column naming a sales rep (one vocabulary for every table's
# person column; a table adds 姓名/Name only where no other column holds a person's name).
PERSON_ALIASES: tuple[str, ...] = (
    "销售代表", "负责人", "业务员", "销售人员", "销售员", "销售姓名", "客户经理", "跟进人",
    "Rep", "Sales rep", "Sales representative", "Salesperson", "Sales person", "Owner",
    "Account manager", "Assignee")
NAME_ALIASES: tuple[str, ...] = ("姓名", "Name")


def person_aliases(*more: str) -> tuple[str, ...]:
    """:data:`PERSON_ALIASES` and ``more``, for a column naming a sales rep."""
    return (*PERSON_ALIASES, *more)


_BRACKETS = str.maketrans({"（": "(", "）": ")", "【": "(", "】": ")", "[": "(", "]": ")"})
_SPACES = re.compile(r"[\s\u200b\u200c\u200d\ufeff]+")


def header_key(text: object) -> str:
    """Normalise a header for matching: NFKC, brackets, spaces and case folded."""
    if text is None:
        return ""
    return _header_key(str(text))


@lru_cache(maxsize=8192)
def _header_key(text: str) -> str:
    s = unicodedata.normalize("NFKC", text).translate(_BRACKETS)
    s = _SPACES.sub("", s).casefold()
    return s


def header_key_without_unit(text: object) -> str:
    """Like :func:`header_key` with a trailing bracketed unit removed (``季度目标(万元)``)."""
    return _without_unit(header_key(text))


@lru_cache(maxsize=8192)
def _without_unit(key: str) -> str:
    return re.sub(r"\([^()]*\)$", "", key)


# Money units a header names in its trailing brackets (as header_key writes them), with the
# unit's name in the normalisation policy (:data:`xlsales.normalize.MONEY_UNITS`).
HEADER_MONEY_UNITS: dict[str, str] = {
    "元": "元", "人民币": "元", "人民币元": "元", "元人民币": "元", "rmb": "元", "cny": "元",
    "yuan": "元", "¥": "元", "块": "元",
    "千元": "千元", "kcny": "千元", "k": "千元", "krmb": "千元",
    "万元": "万元", "万": "万元", "万元人民币": "万元", "人民币万元": "万元", "10kcny": "万元",
    "cny10k": "万元", "10k": "万元", "10krmb": "万元", "rmb10k": "万元", "10,000cny": "万元",
    "w": "万元",
    "亿元": "亿元", "亿": "亿元",
}
_YUAN = {"元": 1.0, "千元": 1e3, "万元": 1e4, "亿元": 1e8}


def header_unit(text: object) -> str | None:
    """The money unit a header names in its trailing brackets (``成交金额(元)`` → 元,
    ``Amount (10k CNY)`` → 万元, ``金额(美元)`` → 元, ``Amount (10k USD)`` → 万元: the
    currency is the settings' business); None when it names none."""
    m = re.search(r"\(([^()]*)\)$", header_key(text))
    if not m:
        return None
    found = HEADER_MONEY_UNITS.get(m.group(1))
    return found if found is not None else HEADER_MONEY_UNITS.get(_in_cny(m.group(1)))


@lru_cache(maxsize=1024)
def _in_cny(unit: str) -> str:
    """A bracketed unit (as :func:`header_key` writes it) with another currency's name or
    code spelled as CNY's: ``万美元`` → ``万元``, ``10kusd`` → ``10kcny``."""
    from xlsales.words import CURRENCIES

    for code, name in sorted(CURRENCIES.items(), key=lambda x: -len(x[1].zh)):
        if name.zh in unit:
            return unit.replace(name.zh, "元")
        if code.casefold() in unit:
            return unit.replace(code.casefold(), "cny")
    return unit


def column_unit(column: Column) -> str | None:
    """The money unit an amount column holds: the one its Chinese header names, else 万元
    (spec §2: amounts are in 万元 unless a column says so); None for other kinds."""
    if column.kind is not Kind.AMOUNT:
        return None
    return header_unit(column.label.zh) or "万元"


def unit_conversion(header: object, column: Column) -> tuple[str, float, float] | None:
    """How the values under a sheet's ``header`` become ``column``'s unit when the header
    names another money unit (``成交金额(元)`` over a 万元 column): (the header's unit,
    its size in 元, the column's size in 元), so a value converts as ``v * src / dst``.
    None when there is nothing to convert."""
    own = column_unit(column)
    unit = header_unit(header) if own else None
    if unit is None or own is None or unit == own:
        return None
    return unit, _YUAN[unit], _YUAN[own]


def typed_scale(header: object, column: Column) -> float:
    """What a value of ``column`` (in its own unit) is multiplied by to be as typed under
    the sheet's ``header``: 10,000 under ``成交金额(元)``, else 1."""
    conversion = unit_conversion(header, column)
    return conversion[2] / conversion[1] if conversion else 1.0


def header_lookup(columns: Iterable[Column]) -> dict[str, str]:
    """Map every accepted header form to its column key.

    Exact forms win over forms with the bracketed unit removed, so ``Stage`` and
    ``Stage (Chinese)`` stay two columns.
    """
    columns = list(columns)
    out: dict[str, str] = {}
    for col in columns:
        for h in col.all_headers():
            out.setdefault(header_key(h), col.key)
    for col in columns:
        for h in col.all_headers():
            out.setdefault(header_key_without_unit(h), col.key)
    return out


def col(key: str, zh: str, en: str, kind: Kind = Kind.TEXT, width: float = 12.0,
        **kw: Any) -> Column:
    """Shorthand for :class:`Column` with a two-language label."""
    hint = kw.pop("hint", None)
    if isinstance(hint, tuple):
        hint = Label(*hint)
    return Column(key=key, label=Label(zh, en), kind=kind, width=width, hint=hint, **kw)
