"""Forecast accuracy jobs (issue 17): ``xlsales forecast --accuracy 2024Q1`` and the
review's block of the last three months.

The snapshots come from the team ledger (one per ISO week, recorded when a command reads
the opportunities table on the real current date: :func:`xlsales.ledger.hook.seen_tables`;
one a command ``--on`` another day would read is not taken). When the ledger holds none
for the period (no ledger, ``--no-ledger``, or it was set up later) — the one the command
itself just took does not count: it shows today's pipeline, not a forecast made before —
past pipelines are rebuilt from the stage history
(:func:`xlsales.accuracy.reconstruct_snapshots`) and the result says so: ``source`` is
``"reconstructed"`` and a note warns that such forecasts look more accurate than they
were.

Which snapshots stand for a period ``first``..``last`` (seen ``today``): those taken from
:data:`xlsales.accuracy.START_WINDOW_DAYS` days before ``first`` to the earlier of
``last`` and ``today``; reconstructed ones on the Mondays of that span (the first one on
or before ``first``).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from xlsales.accuracy import (
    START_WINDOW_DAYS,
    RecentAccuracy,
    month_starts,
    period_accuracy,
    recent_accuracy,
    reconstruct_snapshots,
    start_snapshot,
)
from xlsales.calendar import parse_period, period_label
from xlsales.i18n import Label, Lang
from xlsales.settings import Settings

Source = Literal["ledger", "reconstructed"]

RECONSTRUCTED = Label(
    "台账里没有这段时间的管道快照,以下预测是按阶段历史重建的(金额、负责人和预计成交日期用的是"
    "现在的值),看起来会比当时的预测更准",
    "the ledger holds no pipeline snapshots of this period: the forecasts below were "
    "rebuilt from the stage history (with today's amounts, owners and expected close "
    "dates), so they look more accurate than the forecasts made at the time")
RECONSTRUCTED_SHORT = Label("按阶段历史重建(台账无快照),显得比当时准",
                            "rebuilt from stage history, no snapshots: looks too good")
FROM_LEDGER = Label("取自台账的每周管道快照", "from the ledger's weekly snapshots")
NOT_OVER = Label("这段时间还没结束:赢单金额只算到今天",
                 "the period is not over: won counts up to today")


def ledger_snapshots(root: Path, settings: Settings, first: dt.date | None = None,
                     last: dt.date | None = None) -> pd.DataFrame | None:
    """The team's snapshots stored in the workspace's ledger (taken in ``first``..``last``),
    or None when no ledger is in use (recording off, ``--no-ledger``, none set up yet)."""
    from xlsales.ledger import hook

    if not hook.active():
        return None
    url = hook.ledger_url(root, settings)
    if url is None:
        return None
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        return None
    ledger = hook.open_ledger(url)
    return ledger.snapshots(hook.team_of(settings), first, last)


def _earlier(snaps: pd.DataFrame | None, settings: Settings) -> pd.DataFrame | None:
    """``snaps`` without the ones this very command stored (today's pipeline as read now
    says nothing of a forecast made before: it does not make the ledger's snapshots
    count as the period's)."""
    from xlsales.ledger import hook

    if snaps is None:
        return None
    now = hook.taken_now(hook.team_of(settings))
    if not now:
        return snaps
    return snaps[~pd.to_datetime(snaps["snapshot_date"]).dt.date.isin(sorted(now))]


def _mondays(first: dt.date, last: dt.date) -> list[dt.date]:
    """The Mondays from the one on or before ``first`` up to ``last``."""
    start = first - dt.timedelta(days=first.weekday())
    return [d.date() for d in pd.date_range(start, max(last, start), freq="7D")]


def span(first: dt.date, last: dt.date, today: dt.date) -> tuple[dt.date, dt.date]:
    """The days whose snapshots stand for ``first``..``last`` (module docstring)."""
    return first - dt.timedelta(days=START_WINDOW_DAYS), min(last, today)


@dataclass
class AccuracyResult:
    """Each snapshot's forecast of a period against what was won, per rep and team."""

    period: str
    first: dt.date
    last: dt.date
    today: dt.date
    source: Source
    rows: pd.DataFrame  # xlsales.accuracy.ACCURACY_COLUMNS, plus the level's display name
    lang: Lang
    snapshot_dates: list[dt.date] = field(default_factory=list)

    @property
    def reconstructed(self) -> bool:
        return self.source == "reconstructed"

    @property
    def over(self) -> bool:
        """Whether the period has ended (what was won is final)."""
        return self.today > self.last

    def note(self, lang: Lang | None = None) -> str | None:
        return RECONSTRUCTED(lang or self.lang) if self.reconstructed else None

    def as_dict(self) -> dict[str, Any]:
        rows = []
        for r in self.rows.to_dict("records"):
            rows.append({k: (None if _blank(v) else v.date().isoformat()
                             if isinstance(v, pd.Timestamp) else v) for k, v in r.items()})
        return {"period": self.period, "first": self.first.isoformat(),
                "last": self.last.isoformat(), "source": self.source,
                "reconstructed": self.reconstructed, "note": self.note(),
                "period_over": self.over,
                "snapshots": [d.isoformat() for d in self.snapshot_dates], "rows": rows}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def run_forecast_accuracy(source: str | os.PathLike[str], period: str, *,
                          today: dt.date | None = None) -> AccuracyResult:
    """``xlsales forecast --accuracy PERIOD``: every snapshot of the period's span
    (module docstring) against what today's opportunities table shows won in it, per rep
    and for the team."""
    from xlsales.jobs.pipeline import LEVEL_LIST
    from xlsales.jobs.sources import load_customers, load_targets
    from xlsales.tables.pipeline import LEVELS

    today = today or dt.date.today()
    ws = load_customers(source, ("opportunities", "stage_history"))
    settings = ws.settings
    first, last, _ = parse_period(period)
    lo, hi = span(first, last, today)
    snaps = ledger_snapshots(ws.root, settings, lo, hi)
    src: Source = "ledger"
    earlier = _earlier(snaps, settings)
    if snaps is None or earlier is None or not len(earlier):
        src = "reconstructed"
        snaps = reconstruct_snapshots(ws.frame("opportunities"), ws.frame("stage_history"),
                                      settings, _mondays(first, hi) if hi >= lo else [hi])
    targets = load_targets(ws.root, settings)
    acc = period_accuracy(snaps, ws.frame("opportunities"), settings, period,
                          targets=targets)
    if len(acc):
        order = acc["level"].map({"team": 0, "rep": 1})
        acc = (acc.assign(_o=order).sort_values(["_o", "key", "snapshot_date"], kind="stable")
               .drop(columns="_o").reset_index(drop=True))
        acc.insert(2, "level_label", acc["level"].map(lambda v: LEVELS[v](ws.lang)))
        acc.insert(4, "name", [settings.display(LEVEL_LIST.get(lv, ""), k, ws.lang)
                               for lv, k in zip(acc["level"], acc["key"], strict=True)])
    dates = sorted({d.date() for d in pd.to_datetime(snaps["snapshot_date"])})
    return AccuracyResult(period_label(period), first, last, today, src, acc, ws.lang, dates)


# -- the review's block ------------------------------------------------------------------


def recent_forecast_accuracy(root: Path, settings: Settings, opportunities: pd.DataFrame,
                             history: pd.DataFrame, month: str, *, lang: Lang,
                             months: int = 3) -> dict[str, Any]:
    """The review's forecast accuracy of the ``months`` months ending with ``month``
    (:func:`xlsales.accuracy.recent_accuracy`, for the team): from the ledger's snapshots
    when one of them stands for the start of one of the months, else reconstructed from
    the stage history (labelled so)."""
    starts = month_starts(month, months)
    lo = starts[0] - dt.timedelta(days=START_WINDOW_DAYS)
    hi = starts[-1] + dt.timedelta(days=START_WINDOW_DAYS)
    snaps = ledger_snapshots(root, settings, lo, hi)
    src: Source = "ledger"
    earlier = _earlier(snaps, settings)
    if snaps is None or earlier is None or not _any_start(earlier, starts):
        src = "reconstructed"
        snaps = reconstruct_snapshots(opportunities, history, settings, starts)
    found: RecentAccuracy = recent_accuracy(snaps, opportunities, settings, month,
                                            months=months)
    return {**found.as_dict(), "source": src, "reconstructed": src == "reconstructed",
            "note": (RECONSTRUCTED_SHORT if src == "reconstructed" else FROM_LEDGER)(lang)}


def _any_start(snaps: pd.DataFrame, starts: list[dt.date]) -> bool:
    dates = pd.Series(snaps["snapshot_date"].unique())
    return any(start_snapshot(dates, s) is not None for s in starts)
