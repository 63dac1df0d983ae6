"""Findings: what validation reports, one per problem, pointing at a cell."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel

from xlsales.i18n import Lang

Severity = Literal["error", "warning"]


class Finding(BaseModel):
    """One problem in a workbook."""

    rule: str
    severity: Severity
    message: str
    file: str | None = None
    sheet: str | None = None
    cell: str | None = None
    column: str | None = None
    value: Any = None
    row: int | None = None

    def where(self) -> str:
        parts = [p for p in (self.file, self.sheet, self.cell) if p]
        return " / ".join(parts)

    @classmethod
    def trusted(cls, rule: str, severity: Severity, message: str, file: str | None,
                sheet: str | None, cell: str | None, column: str | None, value: Any,
                row: int | None) -> Finding:
        """A finding from values made by xlsales itself: what ``model_construct`` with
        every field makes (nothing validated), without its work per field — validation
        makes one finding per late report, thousands of them."""
        f = _new(cls)
        _set(f, "__dict__", {"rule": rule, "severity": severity, "message": message,
                             "file": file, "sheet": sheet, "cell": cell, "column": column,
                             "value": value, "row": row})
        _set(f, "__pydantic_fields_set__", set(_FIELDS))
        _set(f, "__pydantic_extra__", None)
        _set(f, "__pydantic_private__", None)
        return f


_new = object.__new__
_set = object.__setattr__
_FIELDS = tuple(Finding.model_fields)


class Rule(BaseModel):
    """A validation rule: stable id, severity and a two-language message template."""

    id: str
    severity: Severity
    zh: str
    en: str

    def message(self, lang: Lang, **params: Any) -> str:
        return (self.zh if lang == "zh" else self.en).format(**params)


def count(findings: list[Finding], severity: Severity) -> int:
    """How many findings have ``severity``."""
    return sum(1 for f in findings if f.severity == severity)


def in_row_order(items: Iterable[tuple[int, int, Finding]]) -> list[Finding]:
    """Findings sorted by (row, rule order); ties keep the order they were made in."""
    return [f for _, _, f in sorted(items, key=lambda x: (x[0], x[1]))]
