"""Expand the formula templates of :mod:`xlsales.tables` into Excel formulas."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from xlsales.cells import a1
from xlsales.i18n import Label, Lang
from xlsales.tables import BY_KEY
from xlsales.tables.base import TableSpec

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
NA_LABEL = Label("无目标", "no target")


def structured_ref(table: TableSpec, key: str, lang: Lang,
                   options: Mapping[str, Any] | None = None) -> str:
    """``Table[Header]`` for a whole column, with Excel's escapes (the header as the
    settings' ``options`` write it)."""
    header = re.sub(r"([\[\]#'])", r"'\1", table.column(key).header(lang, options))
    return f"{table.name}[{header}]"


def expand(template: str, *, spec: TableSpec, row: int, first_col: int, lang: Lang,
           options: Mapping[str, Any], display: Callable[[str, str], str],
           cols: Mapping[str, int] | None = None) -> str:
    """The Excel formula (with leading ``=``) of ``template`` for data row ``row``; the
    columns are ``spec``'s from ``first_col`` on, or ``cols`` (key → 0-based column, a
    sheet's own layout) when given."""
    keys = [c.key for c in spec.columns]

    def at(key: str) -> int:
        return cols[key] if cols is not None else first_col + keys.index(key)

    def repl(m: re.Match[str]) -> str:
        token = m.group(1)
        if token == "na":
            return NA_LABEL(lang)
        if token.startswith("t:"):
            zh, en = token[2:].split("|", 1)
            return zh if lang == "zh" else en
        if token.startswith("next:"):
            return a1(row + 1, at(token[5:]))
        if token.startswith("opt:"):
            return str(options[token[4:]])
        if token.startswith("v:"):
            _, list_name, value = token.split(":", 2)
            return display(list_name, value).replace('"', '""')
        if "." in token:
            table_name, key = token.split(".", 1)
            other = next(t for t in BY_KEY.values() if t.name == table_name)
            return structured_ref(other, key, lang, options)
        return a1(row, at(token))

    return "=" + _PLACEHOLDER.sub(repl, template)


_MARK = 1_048_576  # a 0-based row past Excel's last: its numbers cannot occur otherwise


def expand_rows(template: str, *, spec: TableSpec, rows: Sequence[int], first_col: int,
                lang: Lang, options: Mapping[str, Any], display: Callable[[str, str], str],
                cols: Mapping[str, int] | None = None) -> list[str]:
    """:func:`expand` for each data row of ``rows``: expanded once with marker row numbers,
    which are then replaced by each row's (checked against :func:`expand` on the first)."""
    kw: dict[str, Any] = {"spec": spec, "first_col": first_col, "lang": lang,
                          "options": options, "display": display, "cols": cols}
    marked = expand(template, row=_MARK, **kw)
    this, nxt = str(_MARK + 1), str(_MARK + 2)
    out = [marked.replace(nxt, str(r + 2)).replace(this, str(r + 1)) for r in rows]
    if out and out[0] != expand(template, row=rows[0], **kw):
        return [expand(template, row=r, **kw) for r in rows]
    return out
