"""Findings: what validation reports, one per problem, pointing at a cell."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel

from xlsales.i18n import Label, Lang

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


class Rule(BaseModel):
    """A validation rule: stable id, severity and a two-language message template."""

    id: str
    severity: Severity
    zh: str
    en: str

    def message(self, lang: Lang, **params: Any) -> str:
        return Label(self.zh, self.en)(lang).format(**params)


def count(findings: list[Finding], severity: Severity) -> int:
    """How many findings have ``severity``."""
    return sum(1 for f in findings if f.severity == severity)


def in_row_order(items: Iterable[tuple[int, int, Finding]]) -> list[Finding]:
    """Findings sorted by (row, rule order); ties keep the order they were made in."""
    return [f for _, _, f in sorted(items, key=lambda x: (x[0], x[1]))]
