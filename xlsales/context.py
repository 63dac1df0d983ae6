"""What rules and figures need beyond a table: settings, today, the calendar, other tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from xlsales.calendar import WorkCalendar
from xlsales.findings import Finding
from xlsales.frames import Table
from xlsales.settings import Settings


@dataclass
class Context:
    """Settings, today, the team calendar and the other tables of the workspace."""

    settings: Settings
    today: dt.date
    calendar: WorkCalendar
    tables: dict[str, Table] = field(default_factory=dict)

    @classmethod
    def make(cls, settings: Settings, today: dt.date | None = None) -> Context:
        return cls(settings=settings, today=today or dt.date.today(),
                   calendar=WorkCalendar.of(settings))


RuleFn = Callable[[Table, Context], list[Finding]]
