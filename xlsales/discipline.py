"""Submission discipline: late and missing daily reports per rep (spec §2 T2, §5)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from xlsales.calendar import WorkCalendar
from xlsales.settings import RosterEntry, Settings


def dedupe(daily: Iterable[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One row per rep and day: the latest submission wins; the others are returned apart."""
    best: dict[tuple[Any, Any], dict[str, Any]] = {}
    dropped: list[dict[str, Any]] = []
    for row in daily:
        key = (row.get("rep"), row.get("date"))
        old = best.get(key)
        if old is None:
            best[key] = row
            continue
        new_t = row.get("submitted_at") or dt.datetime.min
        old_t = old.get("submitted_at") or dt.datetime.min
        if new_t >= old_t:
            best[key], row = row, old
        dropped.append(row)
    return list(best.values()), dropped


def is_late(row: dict[str, Any], deadline: dt.time) -> bool:
    """Submitted after the deadline of its own day (or on a later day)."""
    day, submitted = row.get("date"), row.get("submitted_at")
    if not isinstance(day, dt.date) or not isinstance(submitted, dt.datetime):
        return False
    return submitted > dt.datetime.combine(day, deadline)


def expected_days(entry: RosterEntry, first: dt.date, last: dt.date,
                  cal: WorkCalendar) -> list[dt.date]:
    """The working days a rep owes a report in ``first``..``last``."""
    lo = max(first, entry.start_date) if entry.start_date else first
    hi = min(last, entry.end_date) if entry.end_date else last
    leave = entry.leave_days()
    return [d for d in cal.days(lo, hi) if d not in leave] if lo <= hi else []


@dataclass
class RepDiscipline:
    """A rep's reporting over a period."""

    rep: str
    expected: int
    reported: int
    late_days: list[dt.date] = field(default_factory=list)
    missing_days: list[dt.date] = field(default_factory=list)
    extra_days: list[dt.date] = field(default_factory=list)

    @property
    def late(self) -> int:
        return len(self.late_days)

    @property
    def missing(self) -> int:
        return len(self.missing_days)

    @property
    def late_rate(self) -> float | None:
        return self.late / self.reported if self.reported else None

    @property
    def missing_rate(self) -> float | None:
        return self.missing / self.expected if self.expected else None

    def as_dict(self) -> dict[str, Any]:
        return {"rep": self.rep, "expected": self.expected, "reported": self.reported,
                "late": self.late, "missing": self.missing, "late_rate": self.late_rate,
                "missing_rate": self.missing_rate,
                "late_days": [d.isoformat() for d in self.late_days],
                "missing_days": [d.isoformat() for d in self.missing_days]}


def discipline(daily: Iterable[dict[str, Any]], settings: Settings, first: dt.date,
               last: dt.date, *, today: dt.date | None = None,
               cal: WorkCalendar | None = None) -> list[RepDiscipline]:
    """Late and missing days per rep on the roster over ``first``..``last`` (up to today)."""
    cal = cal or WorkCalendar(settings.general.calendar, tuple(settings.calendar))
    through = min(last, today) if today else last
    deadline = settings.general.report_deadline
    rows, _ = dedupe(r for r in daily if r.get("date") and first <= r["date"] <= through)
    by_rep: dict[str, dict[dt.date, dict[str, Any]]] = {}
    for r in rows:
        by_rep.setdefault(r["rep"], {})[r["date"]] = r
    out = []
    for entry in settings.roster:
        owed = expected_days(entry, first, through, cal)
        mine = by_rep.get(entry.rep, {})
        out.append(RepDiscipline(
            rep=entry.rep, expected=len(owed),
            reported=sum(1 for d in owed if d in mine),
            late_days=sorted(d for d, r in mine.items() if is_late(r, deadline)),
            missing_days=[d for d in owed if d not in mine],
            extra_days=sorted(d for d in mine if d not in owed)))
    return out
