"""Checks every table gets from its column descriptions: required, lists, minimums.

Each check runs over a whole column; findings are made for the failing rows only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from xlsales.findings import Finding, Rule, in_row_order
from xlsales.tables.base import Kind
from xlsales.words import SEP

if TYPE_CHECKING:
    import pandas as pd

    from xlsales.context import Context
    from xlsales.frames import Table

R_REQUIRED = Rule(id="cell.required", severity="error", zh="{column}:必填项为空",
                  en="{column}: required, but empty")
R_CHOICE = Rule(id="cell.choice", severity="error",
                zh="{column}:“{value}”不在下拉列表中({options})",
                en="{column}: '{value}' is not in the list ({options})")
R_CHOICE_SOFT = Rule(id="cell.choice_unlisted", severity="warning",
                     zh="{column}:“{value}”不在下拉列表中",
                     en="{column}: '{value}' is not in the list")
R_MINIMUM = Rule(id="cell.minimum", severity="error", zh="{column}:{value} 小于 {minimum}",
                 en="{column}: {value} is below {minimum}")
R_MAXIMUM = Rule(id="cell.maximum", severity="error", zh="{column}:{value} 大于 {maximum}",
                 en="{column}: {value} is above {maximum}")

RULES = (R_REQUIRED, R_CHOICE, R_CHOICE_SOFT, R_MINIMUM, R_MAXIMUM)


def column_checks(table: Table, ctx: Context) -> list[Finding]:
    """Required cells, dropdown values and numeric bounds, column by column (the failing
    rows of each rule made findings together, :meth:`~xlsales.frames.Table.findings_at`)."""
    out: list[tuple[int, int, Finding]] = []
    spec, df = table.spec, table.df
    lookups = ctx.settings.lookups()
    for order, col in enumerate(spec.input_columns):
        if col.key not in table.headers:
            continue
        header = table.headers[col.key]
        s = df[col.key]
        ok = _readable(table, col.key)
        blank = s.isna().to_numpy(dtype=bool)
        present = ~blank & ok
        if col.required:
            rows = df.index[blank & ok]
            out += _at(table, order, R_REQUIRED, rows, col.key,
                       [{"column": header}] * len(rows))
        if col.choices and lookups.items(col.choices) and s.dtype == "str":
            unknown = present & ~lookups.known(col.choices, s).to_numpy(dtype=bool)
            if unknown.any():
                labels = ctx.settings.labels(col.choices, table.lang)
                options = SEP(table.lang).join(labels[:8]) + ("…" if len(labels) > 8 else "")
                rule = R_CHOICE if col.strict_choices else R_CHOICE_SOFT
                out += _at(table, order, rule, df.index[unknown], col.key,
                           [{"column": header, "value": value, "options": options}
                            for value in s[unknown].tolist()])
        if col.kind in (Kind.INT, Kind.AMOUNT, Kind.NUMBER, Kind.PERCENT):
            for bound, rule, name in ((col.minimum, R_MINIMUM, "minimum"),
                                      (col.maximum, R_MAXIMUM, "maximum")):
                if bound is None:
                    continue
                beyond = present & ((s < bound) if name == "minimum" else (s > bound)
                                    ).to_numpy(dtype=bool, na_value=False)
                if not beyond.any():
                    continue
                cast = int if col.kind.value == "int" else float
                limit = f"{bound:g}"
                out += _at(table, order, rule, df.index[beyond], col.key,
                           [{"column": header, "value": cast(value), name: limit}
                            for value in s[beyond].tolist()])
    return in_row_order(out)


def _readable(table: Table, key: str) -> np.ndarray:
    """Whether each row's ``key`` cell could be read: ``~table.is_bad(key)`` as an array,
    the unreadable rows looked up in the index rather than the index in them."""
    rows = table.bad.get(key)
    index = table.df.index
    if not rows:
        return np.ones(len(index), dtype=bool)
    if not index.is_unique:
        return ~table.is_bad(key).to_numpy(dtype=bool)
    at = index.get_indexer(list(rows))
    ok = np.ones(len(index), dtype=bool)
    ok[at[at >= 0]] = False
    return ok


def _at(table: Table, order: int, rule: Rule, rows: pd.Index, key: str,
        params: list[dict[str, Any]]) -> list[tuple[int, int, Finding]]:
    """The findings of ``rule`` at ``rows``, keyed for :func:`in_row_order`."""
    return [(f.row, order, f) for f in table.findings_at(rule, rows, key, params)]
