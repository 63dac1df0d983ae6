"""Forecast accuracy: what past pipelines forecast against what was won (issue 17).

A *snapshot* is the pipeline as it stood on a day: one row per snapshot date and
opportunity (:data:`SNAPSHOT_COLUMNS`). :func:`snapshot` takes one from today's
opportunities table (what the ledger stores each week); :func:`reconstruct_snapshots`
rebuilds past ones, approximately, from the stage history.

The figures are the forecast's own (:func:`xlsales.pipeline.forecast`, called on each
snapshot as if it were the opportunities table of that day), never derived again here:

* ``weighted`` — Σ amount × stage probability over the snapshot's open opportunities
  expected to close in the period;
* ``commit`` — the part of ``weighted`` from the commit band (probability ≥
  ``commit_min``);
* ``won_to_date`` — what the snapshot already shows won in the period (0 for a snapshot
  taken before the period starts);
* ``forecast`` = ``won_to_date + weighted`` (the forecast's ``expected``) and
  ``commit_forecast`` = ``won_to_date + commit``: what the snapshot said the period would
  bring;
* ``actual`` — won in the period as today's opportunities table says (the forecast's
  ``won`` of today's table);
* ``ratio`` = forecast ÷ actual and ``error`` = \\|forecast − actual\\| ÷ actual (absolute
  percentage error); likewise ``commit_ratio`` and ``commit_error``; blank (NaN in the
  frame) when nothing was won (never a division error).

The *accuracy of the last three months* (:func:`recent_accuracy`, what the monthly
review shows): for each of the three months ending with the review's month, the
snapshot taken at the start of that month (the last one in the
:data:`START_WINDOW_DAYS` days up to its first day, else the first one in the days
after; a weekly snapshot always qualifies) forecasts that month; the figure is
1 − Σ\\|forecast − actual\\| ÷ Σ actual over the months that have a snapshot
(weighted absolute percentage error, turned into an accuracy: 100 % is exact, 0 % or
less is an error as large as what was won); None when nothing was won.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from xlsales.calendar import month_range, parse_period
from xlsales.figures import completion_rate
from xlsales.performance import GroupBy, Targets
from xlsales.pipeline import category, forecast, stage_kinds
from xlsales.settings import Settings

SNAPSHOT_COLUMNS = ("snapshot_date", "opp_id", "customer", "owner", "stage", "amount",
                    "probability", "expected_close", "closed_on", "commit")
START_WINDOW_DAYS = 7
ACCURACY_COLUMNS = ("snapshot_date", "level", "key", "weighted", "commit", "won_to_date",
                    "forecast", "commit_forecast", "actual", "ratio", "error",
                    "commit_ratio", "commit_error")


def _ts(day: dt.date | pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(day).normalize()


def _empty_snapshots() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="datetime64[ms]" if c in (
        "snapshot_date", "expected_close", "closed_on") else "float64" if c in (
        "amount", "probability") else "bool" if c == "commit" else object)
        for c in SNAPSHOT_COLUMNS})


def _finish(rows: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Canonical stage, probability and commit flag from the settings' stages."""
    kinds, found = stage_kinds(rows["stage"], settings)
    known = kinds.notna()
    rows = rows[known].copy()
    rows["stage"] = rows["stage"].map(lambda v: found[v].canonical)
    rows["probability"] = rows["stage"].map(
        {st.canonical: st.probability for st in found.values()}).astype("float64")
    open_ = kinds[known] == "open"
    cats = rows["probability"].map(lambda p: category(float(p), settings))
    rows["commit"] = (open_ & (cats == "commit")).astype(bool)
    for c in ("snapshot_date", "expected_close", "closed_on"):
        rows[c] = rows[c].astype("datetime64[ms]")
    rows["amount"] = rows["amount"].astype("float64")
    return rows.loc[:, list(SNAPSHOT_COLUMNS)].reset_index(drop=True)


def snapshot(opportunities: pd.DataFrame, settings: Settings, on: dt.date) -> pd.DataFrame:
    """Today's opportunities table as a snapshot dated ``on`` (what the ledger stores each
    week): every opportunity whose stage the settings know, open or closed, so a later
    reading also knows what was already won."""
    opps = opportunities
    rows = pd.DataFrame({
        "snapshot_date": _ts(on),
        "opp_id": opps["opp_id"].astype(object),
        "customer": opps["customer"].astype(object),
        "owner": opps["owner"].astype(object),
        "stage": opps["stage"].astype(object),
        "amount": opps["amount"].astype("float64"),
        "expected_close": opps["expected_close"],
        "closed_on": opps["closed_on"],
    })
    rows = rows[rows["opp_id"].notna()]
    return _finish(rows, settings) if len(rows) else _empty_snapshots()


def reconstruct_snapshots(opportunities: pd.DataFrame, history: pd.DataFrame,
                          settings: Settings, dates: list[dt.date]) -> pd.DataFrame:
    """Past pipelines rebuilt from the stage history, one snapshot per date of ``dates``.

    On a day *d* an opportunity is in the pipeline when it was created by then (创建日期,
    else its first stage move); its stage is the ``to_stage`` of its last move on or
    before *d* (without any move by then: the table's stage when it entered that stage
    by *d*, else it is left out); ``closed_on`` counts only when it lies on or before *d*.

    Limits (an approximation — a weekly :func:`snapshot` stored by the ledger is the
    real thing): the amount, owner and expected close date are today's, as the workbook
    keeps no history of them. A deal that slipped looks as if it had always been
    expected on its latest date, and a closed deal's expected close is whatever the
    table holds now (often its close date), so reconstructed forecasts tend to look
    more accurate than the ones made at the time. Deleted opportunities are gone.
    """
    opps = opportunities[opportunities["opp_id"].notna()]
    if not len(opps) or not dates:
        return _empty_snapshots()
    h = history[history["opp_id"].notna() & history["date"].notna()
                & history["to_stage"].notna()]
    first_move = h.groupby("opp_id")["date"].min()
    created = opps["created_on"].fillna(opps["opp_id"].map(first_move))
    created = created.fillna(opps["stage_entered"])
    base = pd.DataFrame({
        "opp_id": opps["opp_id"].astype(object).to_numpy(),
        "customer": opps["customer"].astype(object).to_numpy(),
        "owner": opps["owner"].astype(object).to_numpy(),
        "table_stage": opps["stage"].astype(object).to_numpy(),
        "stage_entered": opps["stage_entered"].astype("datetime64[ms]").to_numpy(),
        "created": created.astype("datetime64[ms]").to_numpy(),
        "amount": opps["amount"].astype("float64").to_numpy(),
        "expected_close": opps["expected_close"].astype("datetime64[ms]").to_numpy(),
        "closed": opps["closed_on"].astype("datetime64[ms]").to_numpy(),
    })
    days = pd.DataFrame({"snapshot_date": pd.to_datetime(sorted(set(dates)))
                         .astype("datetime64[ms]")})
    grid = days.merge(base, how="cross")
    grid = grid[grid["created"].notna() & (grid["created"] <= grid["snapshot_date"])]
    moves = pd.DataFrame({"opp_id": h["opp_id"].astype(object).to_numpy(),
                          "moved": h["date"].astype("datetime64[ms]").to_numpy(),
                          "to_stage": h["to_stage"].astype(object).to_numpy()})
    moves = moves.sort_values("moved", kind="stable")
    grid = grid.sort_values("snapshot_date", kind="stable")
    grid = pd.merge_asof(grid, moves, left_on="snapshot_date", right_on="moved",
                         by="opp_id", direction="backward")
    fallback = grid["table_stage"].where(grid["stage_entered"] <= grid["snapshot_date"])
    grid["stage"] = grid["to_stage"].where(grid["to_stage"].notna(), fallback)
    grid = grid[grid["stage"].notna()]
    grid["closed_on"] = grid["closed"].where(grid["closed"] <= grid["snapshot_date"])
    grid = grid.sort_values(["snapshot_date", "opp_id"], kind="stable")
    return _finish(grid, settings) if len(grid) else _empty_snapshots()


# -- accuracy ---------------------------------------------------------------------------


def _as_opportunities(snap: pd.DataFrame) -> pd.DataFrame:
    """One snapshot in the shape :func:`forecast` reads (the opportunities table's)."""
    return snap.loc[:, ["opp_id", "customer", "owner", "stage", "amount", "expected_close",
                        "closed_on"]]


def _figures(opps: pd.DataFrame, settings: Settings, targets: Targets, first: dt.date,
             last: dt.date, levels: tuple[GroupBy, ...]) -> dict[tuple[str, str], Any]:
    out: dict[tuple[str, str], Any] = {}
    for level in levels:
        for row in forecast(opps, targets, settings, first, last, by=level).rows:
            out[(level, row.key)] = row
    return out


def accuracy(snapshots: pd.DataFrame, opportunities: pd.DataFrame, settings: Settings,
             first: dt.date, last: dt.date, *, levels: tuple[GroupBy, ...] = ("rep", "team"),
             targets: Targets | None = None) -> pd.DataFrame:
    """Each snapshot taken on or before ``last`` against what today's ``opportunities``
    show won in ``first``..``last``, per group of each of ``levels`` (rows of
    :data:`ACCURACY_COLUMNS`, by snapshot date, level and key)."""
    targets = targets or Targets()
    actual = _figures(opportunities, settings, targets, first, last, levels)
    taken = snapshots[snapshots["snapshot_date"] <= _ts(last)]
    rows: list[dict[str, Any]] = []
    for day, snap in taken.groupby("snapshot_date", sort=True):
        seen = _figures(_as_opportunities(snap), settings, targets, first, last, levels)
        for level, key in sorted(set(seen) | set(actual)):
            f, a = seen.get((level, key)), actual.get((level, key))
            won_to_date = f.won if f else 0.0
            weighted = f.weighted if f else 0.0
            commit = f.commit if f else 0.0
            real = a.won if a else 0.0
            fc, cfc = won_to_date + weighted, won_to_date + commit
            rows.append({"snapshot_date": pd.Timestamp(day), "level": level, "key": key,
                         "weighted": weighted, "commit": commit, "won_to_date": won_to_date,
                         "forecast": fc, "commit_forecast": cfc, "actual": real,
                         "ratio": completion_rate(fc, real), "error": _error(fc, real),
                         "commit_ratio": completion_rate(cfc, real),
                         "commit_error": _error(cfc, real)})
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in ACCURACY_COLUMNS})
    return pd.DataFrame(rows, columns=list(ACCURACY_COLUMNS))


def period_accuracy(snapshots: pd.DataFrame, opportunities: pd.DataFrame,
                    settings: Settings, period: str, **kw: Any) -> pd.DataFrame:
    """:func:`accuracy` of a period written as ``2024Q1`` or ``2024-03``."""
    first, last, _ = parse_period(period)
    return accuracy(snapshots, opportunities, settings, first, last, **kw)


def _error(forecast_: float, actual: float) -> float | None:
    return None if not actual else abs(forecast_ - actual) / actual


@dataclass
class MonthAccuracy:
    """One month's forecast (from the snapshot at its start) against what it won."""

    month: str
    snapshot_date: dt.date | None
    forecast: float | None
    commit_forecast: float | None
    actual: float

    @property
    def ratio(self) -> float | None:
        return completion_rate(self.forecast, self.actual)

    @property
    def error(self) -> float | None:
        return None if self.forecast is None else _error(self.forecast, self.actual)

    def as_dict(self) -> dict[str, Any]:
        return {"month": self.month, "snapshot_date": self.snapshot_date and
                self.snapshot_date.isoformat(), "forecast": self.forecast,
                "commit_forecast": self.commit_forecast, "actual": self.actual,
                "ratio": self.ratio, "error": self.error}


@dataclass
class RecentAccuracy:
    """The forecast accuracy of the last months of a group (the team by default)."""

    key: str
    months: list[MonthAccuracy] = field(default_factory=list)

    @property
    def accuracy(self) -> float | None:
        """1 − Σ|forecast − actual| ÷ Σ actual over the months with a snapshot."""
        known = [m for m in self.months if m.forecast is not None]
        won = sum(m.actual for m in known)
        if not known or not won:
            return None
        return 1 - sum(abs((m.forecast or 0.0) - m.actual) for m in known) / won

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "accuracy": self.accuracy,
                "months": [m.as_dict() for m in self.months]}


def start_snapshot(dates: pd.Series, first: dt.date, window_days: int = START_WINDOW_DAYS
                   ) -> pd.Timestamp | None:
    """The snapshot date that stands for the start of a month beginning ``first``: the
    last one in the ``window_days`` days up to ``first``, else the first one in the
    ``window_days`` days after it; None when there is none (an older snapshot is not the
    month's forecast)."""
    day = _ts(first)
    span = pd.Timedelta(days=window_days)
    before = dates[(dates <= day) & (dates > day - span)]
    if len(before):
        return pd.Timestamp(before.max())
    early = dates[(dates > day) & (dates < day + span)]
    return pd.Timestamp(early.min()) if len(early) else None


def month_starts(month: str, months: int = 3) -> list[dt.date]:
    """The first days of the ``months`` months ending with ``month`` (``2024-03``), oldest
    first."""
    first, _, _ = parse_period(month)
    y, m, out = first.year, first.month, []
    for _ in range(months):
        out.append(month_range(y, m)[0])
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


def recent_accuracy(snapshots: pd.DataFrame, opportunities: pd.DataFrame,
                    settings: Settings, month: str, *, months: int = 3,
                    level: GroupBy = "team", key: str | None = None,
                    targets: Targets | None = None,
                    window_days: int = START_WINDOW_DAYS) -> RecentAccuracy:
    """The forecast accuracy of the ``months`` months ending with ``month``
    (``2024-03``), for one group (the team by default), as the monthly review shows it."""
    key = key if key is not None else (settings.general.team_name if level == "team" else "")
    dates = pd.Series(snapshots["snapshot_date"].unique())
    out = RecentAccuracy(key)
    for start in month_starts(month, months):
        y, m = start.year, start.month
        lo, hi = month_range(y, m)
        when = start_snapshot(dates, lo, window_days)
        taken = snapshots[snapshots["snapshot_date"] == when] if when is not None else None
        acc = accuracy(taken if taken is not None else snapshots.iloc[0:0], opportunities,
                       settings, lo, hi, levels=(level,), targets=targets)
        mine = acc[(acc["key"] == key)]
        actual_rows = _figures(opportunities, settings, targets or Targets(), lo, hi,
                               (level,))
        real = actual_rows[(level, key)].won if (level, key) in actual_rows else 0.0
        label = f"{y:04d}-{m:02d}"
        if when is None or not len(mine):
            out.months.append(MonthAccuracy(label, None if when is None else when.date(),
                                            None if when is None else 0.0,
                                            None if when is None else 0.0, real))
            continue
        row = mine.iloc[0]
        out.months.append(MonthAccuracy(label, when.date(), float(row["forecast"]),
                                        float(row["commit_forecast"]), real))
    return out
