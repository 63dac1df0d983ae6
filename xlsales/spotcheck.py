"""The manager's daily spot-check of 30% of the dailies (每日抽查30%的日报, spec §5).

The pick is reproducible (same date, seed and data → same rows) and spread out: within
an ISO week, reps checked less often so far come first, so every rep is checked once
before anyone is checked twice. Earlier days' picks are recomputed from the data,
so no state is stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from xlsales import tables as T
from xlsales.discipline import daily_frame, dedupe
from xlsales.frames import records
from xlsales.i18n import Label, Lang
from xlsales.settings import Settings
from xlsales.stagemoves import parse_stage_moves

HINTS = {
    "moved_without_visit": Label("当天推进了商机阶段但拜访客户数为0",
                                 "stage moved on a day with zero visits"),
    "effective_always_equal": Label("连续{n}个工作日有效沟通数都等于拜访数",
                                    "effective conversations equal visits {n} days running"),
    "same_plan": Label("次日计划连续{n}天完全相同", "identical next-day plan {n} days running"),
}
EQUAL_RUN = 5
PLAN_RUN = 3


@dataclass
class Pick:
    """A daily row picked for checking, with what looks worth a question."""

    date: dt.date
    rep: str
    row: dict[str, Any]
    hints: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"date": self.date.isoformat(), "rep": self.rep, "hints": self.hints}


def _rng(day: dt.date, seed: int) -> random.Random:
    digest = hashlib.sha256(f"{seed}:{day.isoformat()}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _pick_day(day: dt.date, rows: list[dict[str, Any]], share: float, seed: int,
              checked: Counter[str]) -> list[dict[str, Any]]:
    n = math.ceil(share * len(rows) - 1e-9)
    rng = _rng(day, seed)
    order = sorted(rows, key=lambda r: str(r.get("rep")))
    keys = {id(r): (checked[str(r.get("rep"))], rng.random()) for r in order}
    return sorted(order, key=lambda r: keys[id(r)])[:n]


def spot_check(daily: Iterable[dict[str, Any]] | pd.DataFrame, day: dt.date, *,
               share: float = 0.3, seed: int = 0, settings: Settings,
               lang: Lang = "zh") -> list[Pick]:
    """Pick ``ceil(share × n)`` of ``day``'s reports, spread over the week's reps."""
    if not 0 < share <= 1:
        from xlsales.errors import InputError

        raise InputError(Label(f"抽查比例必须在 (0, 1] 之内，而不是 {share}",
                               f"share must be in (0, 1], not {share}"))
    df = daily_frame(daily)
    known = df["rep"].notna()
    if settings.roster:  # a name not on the roster is a finding of its own, never picked
        known &= df["rep"].isin(settings.reps())
    rows, _ = dedupe(df[df["date"].notna() & known])
    monday = day - dt.timedelta(days=day.weekday())
    dates = rows["date"]
    week = rows[(dates >= pd.Timestamp(monday)) & (dates <= pd.Timestamp(day))]
    by_day: dict[dt.date, list[dict[str, Any]]] = defaultdict(list)
    for r in records(week, T.get("daily")):
        by_day[r["date"]].append(r)
    checked: Counter[str] = Counter()
    picked: list[dict[str, Any]] = []
    d = monday
    while d <= day:
        todays = by_day.get(d, [])
        picked = _pick_day(d, todays, share, seed, checked) if todays else []
        checked.update(str(r["rep"]) for r in picked)
        d += dt.timedelta(days=1)
    out = []
    for r in picked:
        mine = rows[(rows["rep"] == r["rep"]) & (dates <= pd.Timestamp(r["date"]))]
        history = records(mine.sort_values("date", kind="stable"), T.get("daily"))
        out.append(Pick(day, str(r["rep"]), r, hints(r, history, settings, lang)))
    return out


def hints(row: dict[str, Any], history: list[dict[str, Any]], settings: Settings,
          lang: Lang = "zh") -> list[str]:
    """Consistency hints for one daily row, from the rep's earlier rows."""
    out = []
    moves, _ = parse_stage_moves(row.get("stage_moves"), settings)
    if moves and not row.get("visits"):
        out.append(HINTS["moved_without_visit"](lang))
    mine = [r for r in history if r.get("rep") == row.get("rep") and r["date"] <= row["date"]]
    last = mine[-EQUAL_RUN:]
    if len(last) == EQUAL_RUN and all(
            r.get("visits") and r.get("effective") == r.get("visits") for r in last):
        out.append(HINTS["effective_always_equal"](lang).format(n=EQUAL_RUN))
    run = 0
    plan = row.get("next_plan")
    for r in reversed(mine):
        if plan and r.get("next_plan") == plan:
            run += 1
        else:
            break
    if run >= PLAN_RUN:
        out.append(HINTS["same_plan"](lang).format(n=run))
    return out
