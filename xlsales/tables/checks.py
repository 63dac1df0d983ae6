"""Checks every table gets from its column descriptions: required, lists, minimums."""

from __future__ import annotations

from xlsales.findings import Finding, Rule
from xlsales.rows import Context, TableRead

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


def column_checks(table: TableRead, ctx: Context) -> list[Finding]:
    """Required cells, dropdown values and numeric bounds."""
    out: list[Finding] = []
    spec = table.spec
    for row in table.rows:
        for col in spec.input_columns:
            if col.key not in table.headers or col.key in row.bad:
                continue
            header = table.headers[col.key]
            value = row.get(col.key)
            if value is None:
                if col.required:
                    out.append(table.finding(R_REQUIRED, row, col.key, column=header))
                continue
            if col.choices and isinstance(value, str) and ctx.settings.items(col.choices):
                known = ctx.settings.canonical(col.choices, value)
                if known is None:
                    labels = ctx.settings.labels(col.choices, table.lang)
                    options = "、".join(labels[:8]) + ("…" if len(labels) > 8 else "")
                    rule = R_CHOICE if col.strict_choices else R_CHOICE_SOFT
                    out.append(table.finding(rule, row, col.key, column=header, value=value,
                                             options=options))
            if isinstance(value, int | float):
                if col.minimum is not None and value < col.minimum:
                    out.append(table.finding(R_MINIMUM, row, col.key, column=header,
                                             value=value, minimum=f"{col.minimum:g}"))
                if col.maximum is not None and value > col.maximum:
                    out.append(table.finding(R_MAXIMUM, row, col.key, column=header,
                                             value=value, maximum=f"{col.maximum:g}"))
    return out
