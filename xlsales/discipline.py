"""Submission discipline: late and missing daily reports per rep (spec §2 T2, §5).

The dailies arrive as the canonical daily frame (:mod:`xlsales.frames`); records are
accepted too and turned into one.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from xlsales.calendar import WorkCalendar
from xlsales.frames import frame
from xlsales.settings import Settings


def daily_frame(daily: Iterable[dict[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """The canonical daily frame of records (a frame is returned as it is)."""
    from xlsales import tables as T

    return frame(daily, T.get("daily"))


def dedupe(daily: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per rep and day: the latest submission wins (on a tie, the later row); the
    others are returned apart. Rows without a rep or a readable date are no one's
    duplicate and stay. Rows keep the order in which their rep and day first appear."""
    if daily.empty:
        return daily, daily.iloc[0:0]
    pos = np.arange(len(daily))
    keyed = (daily["rep"].notna() & daily["date"].notna()).to_numpy()
    codes = group_codes(daily, ["rep", "date"])
    if not (np.bincount(codes[keyed]) > 1).any():  # no rep and day twice (deduped before)
        return daily, daily.iloc[0:0]
    stamp = daily["submitted_at"].astype("datetime64[ms]").to_numpy().astype("int64")
    stamp = np.where(daily["submitted_at"].isna().to_numpy(), np.iinfo("int64").min, stamp)
    # the codes count in order of appearance: a row is its key's first when its code
    # is above every code before it
    firsts = np.flatnonzero(np.r_[True, codes[1:] > np.maximum.accumulate(codes)[:-1]])
    # each key's winner, without sorting: its latest submission, then its last such row
    k = len(firsts)
    latest = np.full(k, np.iinfo("int64").min)
    np.maximum.at(latest, codes[keyed], stamp[keyed])
    best = keyed & (stamp == latest[codes])
    last = np.full(k, -1)
    np.maximum.at(last, codes[best], pos[best])
    # each winner in the place of its key's first row (an unkeyed row: its own place)
    slot = np.where(keyed, -1, pos)
    has = last >= 0
    slot[firsts[has]] = last[has]
    winners = slot[slot >= 0]
    kept = np.zeros(len(daily), dtype=bool)
    kept[winners] = True
    return daily.iloc[winners], daily.iloc[np.flatnonzero(~kept)]


def group_codes(df: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """One integer per distinct combination of ``columns`` (blanks are a value too)."""
    codes = np.zeros(len(df), dtype="int64")
    for c in columns:
        part, uniques = pd.factorize(df[c], use_na_sentinel=False)
        codes = codes * (len(uniques) + 1) + part
    return pd.factorize(codes)[0]


def late_mask(daily: pd.DataFrame, deadline: dt.time) -> pd.Series:
    """Rows submitted after the deadline of their own day (or on a later day)."""
    cut = daily["date"] + pd.Timedelta(hours=deadline.hour, minutes=deadline.minute,
                                       seconds=deadline.second)
    return (daily["submitted_at"] > cut).fillna(False).astype(bool)


def owed_days(settings: Settings, first: dt.date, last: dt.date,
              cal: WorkCalendar) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    """The days :func:`owed_frame` owes, as codes: (the working days of ``first``..``last``
    as ``datetime64[D]``, the roster's reps in order, each owed row's entry in that list,
    each owed row's day in the days), rep by rep of the roster, each rep's days in order."""
    days = np.array(cal.working_days(first, last), dtype="datetime64[D]")
    entries: list[np.ndarray] = []
    owed: list[np.ndarray] = []
    at = np.arange(len(days))
    for i, entry in enumerate(settings.roster):
        mask = np.ones(len(days), dtype=bool)
        if entry.start_date:
            mask &= days >= np.datetime64(entry.start_date, "D")
        if entry.end_date:
            mask &= days <= np.datetime64(entry.end_date, "D")
        leave = entry.leave_days()
        if leave:
            mask &= ~np.isin(days, np.array(sorted(leave), dtype="datetime64[D]"))
        mine = at[mask]
        owed.append(mine)
        entries.append(np.full(len(mine), i, dtype=np.intp))
    names = [entry.rep for entry in settings.roster]
    if not owed:
        return days, names, np.zeros(0, np.intp), np.zeros(0, np.intp)
    return days, names, np.concatenate(entries), np.concatenate(owed)


def owed_frame(settings: Settings, first: dt.date, last: dt.date,
               cal: WorkCalendar) -> pd.DataFrame:
    """Every (rep, working day) a report is owed for in ``first``..``last``: the roster's
    reps from their start to their end date, leave days excluded."""
    if not settings.roster:
        return pd.DataFrame({"rep": pd.Series(dtype=object),
                             "date": pd.Series(dtype="datetime64[ms]")})
    days, names, entry, day = owed_days(settings, first, last, cal)
    # each name made a string once, then taken row by row (no Python object per row)
    reps = pd.array(np.array(names, dtype=object), dtype="str").take(entry)
    return pd.DataFrame({"rep": reps, "date": days[day].astype("datetime64[ms]")})


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


def discipline(daily: Iterable[dict[str, Any]] | pd.DataFrame, settings: Settings,
               first: dt.date, last: dt.date, *, today: dt.date | None = None,
               cal: WorkCalendar | None = None) -> list[RepDiscipline]:
    """Late and missing days per rep on the roster over ``first``..``last`` (up to today):
    the days owed (:func:`owed_frame`) merged with the days reported."""
    cal = cal or WorkCalendar.of(settings)
    through = min(last, today) if today else last
    df = daily_frame(daily)[["rep", "date", "submitted_at"]]
    dates = df["date"]
    inside = dates.notna() & (dates >= pd.Timestamp(first)) & (dates <= pd.Timestamp(through))
    rows, _ = dedupe(df[inside & df["rep"].notna()])
    rows = rows.assign(late=late_mask(rows, settings.general.report_deadline))
    owed = owed_frame(settings, first, through, cal).assign(owed=True)
    both = owed.merge(rows[["rep", "date", "late"]].assign(seen=True), on=["rep", "date"],
                      how="outer")
    owed_, seen = both["owed"].eq(True), both["seen"].eq(True)
    both = both.assign(owed=owed_, seen=seen, late=both["late"].eq(True),
                       day=both["date"].dt.date)
    per: dict[str, dict[str, list[dt.date]]] = defaultdict(
        lambda: {"missing": [], "late": [], "extra": [], "reported": []})
    both = both.sort_values(["rep", "date"], kind="stable")
    for rep, day, o, s_, late in zip(both["rep"].tolist(), both["day"].tolist(),
                                     both["owed"].tolist(), both["seen"].tolist(),
                                     both["late"].tolist(), strict=True):
        mine = per[rep]
        if o and not s_:
            mine["missing"].append(day)
        if s_ and late:
            mine["late"].append(day)
        if s_ and not o:
            mine["extra"].append(day)
        if s_ and o:
            mine["reported"].append(day)
    expected = owed.groupby("rep").size().to_dict()
    out = []
    for entry in settings.roster:
        mine = per.get(entry.rep, {"missing": [], "late": [], "extra": [], "reported": []})
        out.append(RepDiscipline(
            rep=entry.rep, expected=int(expected.get(entry.rep, 0)),
            reported=len(mine["reported"]), late_days=mine["late"],
            missing_days=mine["missing"], extra_days=mine["extra"]))
    return out
