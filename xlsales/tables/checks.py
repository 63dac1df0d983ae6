"""Checks every table gets from its column descriptions: required, lists, minimums.

Each check runs over a whole column; findings are made for the failing rows only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xlsales.findings import Finding, Rule, in_row_order
from xlsales.tables.base import Kind
from xlsales.words import SEP

if TYPE_CHECKING:
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
    """Required cells, dropdown values and numeric bounds, column by column."""
    out: list[tuple[int, int, Finding]] = []
    spec, df = table.spec, table.df
    lookups = ctx.settings.lookups()
    for order, col in enumerate(spec.input_columns):
        if col.key not in table.headers:
            continue
        header = table.headers[col.key]
        s = df[col.key]
        ok = ~table.is_bad(col.key)
        present = s.notna() & ok
        if col.required:
            for row in df.index[s.isna() & ok]:
                out.append((row, order, table.finding(R_REQUIRED, row, col.key, column=header)))
        if col.choices and lookups.items(col.choices) and s.dtype == "str":
            unknown = present & ~lookups.known(col.choices, s)
            if unknown.any():
                labels = ctx.settings.labels(col.choices, table.lang)
                options = SEP(table.lang).join(labels[:8]) + ("…" if len(labels) > 8 else "")
                rule = R_CHOICE if col.strict_choices else R_CHOICE_SOFT
                for row, value in s[unknown].items():
                    out.append((row, order, table.finding(rule, row, col.key, column=header,
                                                          value=value, options=options)))
        if col.kind in (Kind.INT, Kind.AMOUNT, Kind.NUMBER, Kind.PERCENT):
            for bound, rule, name in ((col.minimum, R_MINIMUM, "minimum"),
                                      (col.maximum, R_MAXIMUM, "maximum")):
                if bound is None:
                    continue
                beyond = present & ((s < bound) if name == "minimum" else (s > bound))
                for row, value in s[beyond.fillna(False)].items():
                    value = int(value) if col.kind.value == "int" else float(value)
                    out.append((row, order, table.finding(
                        rule, row, col.key, column=header, value=value,
                        **{name: f"{bound:g}"})))
    return in_row_order(out)
