"""Rows read from a workbook with their cell addresses, and the context rules need."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from xlsales.calendar import WorkCalendar
from xlsales.findings import Finding, Rule
from xlsales.i18n import Lang
from xlsales.settings import Settings

if TYPE_CHECKING:
    from xlsales.tables.base import TableSpec


@dataclass
class RowRead:
    """One data row: typed, canonical values and the A1 address of each column."""

    row: int
    values: dict[str, Any]
    cells: dict[str, str]
    raw: dict[str, Any] = field(default_factory=dict)
    bad: set[str] = field(default_factory=set)

    def get(self, key: str) -> Any:
        return self.values.get(key)


@dataclass
class TableRead:
    """A table found in a workbook, with what reading it found wrong."""

    spec: TableSpec
    file: str
    sheet: str
    header_row: int
    headers: dict[str, str]
    rows: list[RowRead] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    lang: Lang = "zh"

    def finding(self, rule: Rule, row: RowRead | None, key: str | None, **params: Any) -> Finding:
        """A finding of ``rule`` at ``row``'s cell of column ``key``."""
        return Finding(
            rule=rule.id, severity=rule.severity, message=rule.message(self.lang, **params),
            file=self.file, sheet=self.sheet,
            cell=row.cells.get(key) if row and key else None,
            column=self.headers.get(key) if key else None,
            value=row.raw.get(key) if row and key else None,
            row=row.row if row else None)

    def records(self) -> list[dict[str, Any]]:
        return [r.values for r in self.rows]


@dataclass
class Context:
    """What rules need beyond the table itself."""

    settings: Settings
    today: dt.date
    calendar: WorkCalendar
    tables: dict[str, TableRead] = field(default_factory=dict)

    @classmethod
    def make(cls, settings: Settings, today: dt.date | None = None) -> Context:
        return cls(settings=settings, today=today or dt.date.today(),
                   calendar=WorkCalendar(settings.general.calendar,
                                         tuple(settings.calendar)))


RuleFn = Callable[[TableRead, Context], list[Finding]]
