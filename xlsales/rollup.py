"""Daily → weekly rollup (T2 → T2w): per rep and week, with region subtotals and a team total."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from xlsales.calendar import WorkCalendar, week_days, week_label
from xlsales.discipline import daily_frame, dedupe, late_mask, owed_frame
from xlsales.figures import UNASSIGNED, completion_rate, effective_rate
from xlsales.i18n import Lang
from xlsales.performance import Targets, TargetTable, month_shares, team_quota, team_table
from xlsales.ranking import IMPLAUSIBLE_MARK, implausible_message, month_span, rank_frame
from xlsales.settings import Settings
from xlsales.stagemoves import moves_frame
from xlsales.words import money_options

SUMS = ("visits", "effective", "new_customers", "proposals", "amount_signed")


@dataclass
class WeekRow:
    """One line of the weekly report: a rep, a region subtotal or the team total."""

    week: str
    level: str  # "rep", "region" or "team"
    name: str
    region: str = ""
    product_line: str = ""
    week_end: dt.date | None = None
    expected: int = 0
    reported: int = 0
    late: int = 0
    missing: int = 0
    visits: int = 0
    effective: int = 0
    new_customers: int = 0
    proposals: int = 0
    amount_signed: float = 0.0
    target: float | None = None
    progress: str = ""
    problems: str = ""
    errors: int = 0
    missing_days: list[dt.date] = field(default_factory=list)
    basis: float | None = None  # the target of the week's whole months (ranking.month_span)
    mark: str = ""  # TOP3 / ▼ / ⚠ (xlsales.ranking)
    quota_basis: str = "owners"  # the team row: "team", its own total (performance.Quota)

    @property
    def effective_rate(self) -> float | None:
        return effective_rate(self.effective, self.visits)

    @property
    def completion(self) -> float | None:
        return completion_rate(self.amount_signed, self.target)

    def as_dict(self) -> dict[str, Any]:
        d = {f: getattr(self, f) for f in FIELDS}
        d["effective_rate"] = self.effective_rate
        d["completion"] = self.completion
        d["missing_days"] = [x.isoformat() for x in self.missing_days]
        d["week_end"] = self.week_end.isoformat() if self.week_end else None
        return d


FIELDS = tuple(f.name for f in fields(WeekRow))
NUMBERS = ("expected", "reported", "late", "missing", "errors", *SUMS)


def weeks_between(first: dt.date, last: dt.date) -> list[str]:
    """ISO week labels touching ``first``..``last``."""
    out: list[str] = []
    day = first - dt.timedelta(days=first.weekday())
    while day <= last:
        out.append(week_label(day))
        day += dt.timedelta(days=7)
    return out


def progress_text(moves: list[tuple[dt.date, str, str, str]]) -> str:
    """Stage moves grouped by customer: ``客户C:需求分析→报价与谈判(2)``."""
    by_customer: dict[str, list[tuple[dt.date, str, str]]] = defaultdict(list)
    for day, customer, frm, to in sorted(moves):
        by_customer[customer].append((day, frm, to))
    parts = []
    for customer, items in by_customer.items():
        text = f"{customer}:{items[0][1]}→{items[-1][2]}"
        parts.append(text + (f"({len(items)})" if len(items) > 1 else ""))
    return "; ".join(parts)


def week_labels(dates: pd.Series) -> pd.Series:
    """The ISO week label (``2024-W10``) of every date of a datetime column (each distinct
    date labelled once: a year of dailies holds a few hundred)."""
    codes, days = pd.factorize(dates, use_na_sentinel=False)
    iso = pd.Series(days, dtype=dates.dtype).dt.isocalendar()
    labels = (iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2))
    return pd.Series(labels.to_numpy(dtype=object)[codes], index=dates.index).astype("str")


def _joined(df: pd.DataFrame, keys: list[str], column: str) -> pd.DataFrame:
    """``column`` joined with ``; `` per group of ``keys``, in the rows' order."""
    if not len(df):
        return pd.DataFrame({c: pd.Series(dtype="str") for c in (*keys, column)})
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:  # pure-Python pandas: one pass over the rows
        out: dict[tuple[Any, ...], list[str]] = defaultdict(list)
        for *key, text in zip(*(df[c].tolist() for c in (*keys, column)), strict=True):
            out[tuple(key)].append(text)
        return pd.DataFrame([(*k, "; ".join(v)) for k, v in out.items()],
                            columns=[*keys, column])
    table = pa.table({c: pa.array(df[c].astype("str")).cast(pa.string())
                      for c in (*keys, column)})
    grouped = table.group_by(keys, use_threads=False).aggregate([(column, "list")])
    return pd.DataFrame({**{k: grouped[k].to_pandas() for k in keys},
                         column: pc.binary_join(grouped[f"{column}_list"], "; ").to_pandas()})


def _progress(rows: pd.DataFrame, moves: pd.DataFrame,
              settings: Settings | None = None) -> pd.DataFrame:
    """The week's stage moves of each (week, rep), grouped by customer: ``客户C:需求分析→
    报价与谈判(2)`` (``moves`` refers to ``rows`` by their labels), stages named in the
    settings' language."""
    moves = moves[moves["customer"].notna()]
    if moves.empty:
        return _joined(moves, ["week", "rep"], "progress")
    moves = moves.join(rows[["week", "rep", "date"]], on="row", how="inner")
    moves = moves.sort_values(["week", "rep", "date", "customer", "from_stage", "to_stage"],
                              kind="stable")
    per = moves.groupby(["week", "rep", "customer"], sort=False).agg(
        first=("from_stage", "first"), last=("to_stage", "last"),
        n=("to_stage", "size")).reset_index()
    count = per["n"].astype(str)
    if settings is not None:
        lang = settings.general.language
        stages = pd.concat([per["first"], per["last"]]).dropna().unique().tolist()
        label = {s: settings.display("stages", s, lang) for s in stages}
        per["first"], per["last"] = per["first"].map(label), per["last"].map(label)
    per["progress"] = (per["customer"].astype(str) + ":" + per["first"].astype(str) + "→"
                       + per["last"].astype(str)
                       + ("(" + count + ")").where(per["n"] > 1, ""))
    return _joined(per, ["week", "rep"], "progress")


def _problems(rows: pd.DataFrame) -> pd.DataFrame:
    """The distinct problems of each (week, rep), in date order."""
    p = rows[rows["problems"].notna()].sort_values(["week", "rep", "date"], kind="stable")
    return _joined(p.drop_duplicates(["week", "rep", "problems"]), ["week", "rep"], "problems")


def _owed(settings: Settings, weeks: list[str], rows: pd.DataFrame, today: dt.date | None,
          cal: WorkCalendar) -> pd.DataFrame:
    """Per (week, rep) of the roster: working days owed (``expected``), owed days reported
    and the owed days missing (up to today)."""
    index = pd.MultiIndex.from_tuples([], names=["week", "rep"])
    empty = pd.DataFrame({"expected": [], "reported": [], "missing_days": []}, index=index)
    if not weeks:
        return empty
    first = min(week_days(w)[0] for w in weeks)
    last = max(week_days(w)[1] for w in weeks)
    owed = owed_frame(settings, first, min(last, today) if today else last, cal)
    if not len(owed):
        return empty
    owed["week"] = week_labels(owed["date"])
    owed = owed[owed["week"].isin(weeks)]
    seen = rows[["rep", "date"]].drop_duplicates().assign(seen=True)
    owed = owed.merge(seen, on=["rep", "date"], how="left")
    owed["seen"] = owed["seen"].astype("boolean").fillna(False).astype(bool)
    g = owed.groupby(["week", "rep"], sort=False)["seen"]
    out = pd.DataFrame({"expected": g.size(), "reported": g.sum()})
    gaps = owed[~owed["seen"]]
    missing: dict[tuple[str, str], list[dt.date]] = defaultdict(list)
    for week, rep, day in zip(gaps["week"].tolist(), gaps["rep"].tolist(),
                              gaps["date"].dt.date.tolist(), strict=True):
        missing[(week, rep)].append(day)
    # the index's levels as columns: no tuple per (week, rep) of the whole index
    keys = zip(out.index.get_level_values(0).tolist(), out.index.get_level_values(1).tolist(),
               strict=True)
    out["missing_days"] = [missing.get(k, []) for k in keys] if missing else [
        [] for _ in range(len(out))]
    return out


def weekly_rollup(daily: Iterable[dict[str, Any]] | pd.DataFrame, targets: Targets,
                  settings: Settings, weeks: Iterable[str], *, today: dt.date | None = None,
                  cal: WorkCalendar | None = None,
                  errors_by_row: dict[tuple[Any, Any], int] | None = None,
                  moves: pd.DataFrame | None = None) -> list[WeekRow]:
    """Weekly rows for ``weeks`` (see :func:`weekly_frame`) as :class:`WeekRow` objects."""
    return week_rows(weekly_frame(daily, targets, settings, weeks, today=today, cal=cal,
                                  errors_by_row=errors_by_row, moves=moves))


def week_rows(frame: pd.DataFrame) -> list[WeekRow]:
    """The rows of a weekly frame as :class:`WeekRow` objects."""
    out = []
    for values in zip(*(frame[f].tolist() for f in FIELDS), strict=True):
        row = WeekRow(*values)
        row.target = None if row.target is None or row.target != row.target else row.target
        row.basis = None if row.basis is None or row.basis != row.basis else row.basis
        out.append(row)
    return out


def week_dicts(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``[r.as_dict() for r in week_rows(frame)]``, built column by column."""
    cols = week_columns(frame)
    return [dict(zip(cols, values, strict=True)) for values in zip(*cols.values(), strict=True)]


def week_columns(frame: pd.DataFrame) -> dict[str, list[Any]]:
    """The values of :func:`week_dicts`, by key (one list per key, in its order)."""
    cols = {f: frame[f].tolist() for f in FIELDS}
    for f in ("target", "basis"):
        cols[f] = [None if v is None or v != v else v for v in cols[f]]
    cols["missing_days"] = [[x.isoformat() for x in v] for v in cols["missing_days"]]
    cols["week_end"] = [d.isoformat() if d else None for d in cols["week_end"]]
    cols["effective_rate"] = [effective_rate(e, v) for e, v in zip(
        cols["effective"], cols["visits"], strict=True)]
    cols["completion"] = [completion_rate(a, t) for a, t in zip(
        cols["amount_signed"], cols["target"], strict=True)]
    return cols


INPUTS = ("date", "rep", *SUMS, "stage_moves", "problems", "submitted_at")
"""The daily frame's columns :func:`weekly_frame` reads."""


def weekly_frame(daily: Iterable[dict[str, Any]] | pd.DataFrame, targets: Targets,
                 settings: Settings, weeks: Iterable[str], *, today: dt.date | None = None,
                 cal: WorkCalendar | None = None,
                 errors_by_row: dict[tuple[Any, Any], int] | None = None,
                 moves: pd.DataFrame | None = None) -> pd.DataFrame:
    """The weekly report of ``weeks``, one row per rep and week, then the region subtotals,
    then the team total (the columns of :class:`WeekRow`).

    Sums, late counts, owed and missing days, stage moves, problems, targets and the
    subtotals all come from group-bys and merges over the daily frame. ``moves`` are the
    rows' stage moves when already parsed (:func:`xlsales.stagemoves.moves_frame`)."""
    cal = cal or WorkCalendar.of(settings)
    weeks = list(weeks)
    rows, _ = dedupe(daily_frame(daily)[list(INPUTS)])
    if not rows.index.is_unique:
        rows = rows.reset_index(drop=True)
        moves = None
    rows = rows[rows["date"].notna() & rows["rep"].notna()]
    rows = rows.assign(week=week_labels(rows["date"]) if len(rows) else pd.Series(dtype="str"))
    rows = rows[rows["week"].isin(weeks)]
    keys = ["week", "rep"]
    stats = rows.assign(late=late_mask(rows, settings.general.report_deadline)).groupby(
        keys, sort=False)[[*SUMS, "late"]].sum()
    owed = _owed(settings, weeks, rows, today, cal)
    # merged on columns: an outer join of two (week, rep) indexes checks their order
    # through Python tuples (a third of the weekly frame's time at 500k rows)
    reps = stats.reset_index().merge(owed.reset_index(), on=keys, how="outer")
    if not len(reps):
        return pd.DataFrame({f: pd.Series(dtype=object) for f in FIELDS})
    for c in (*SUMS, "late", "expected", "reported"):
        reps[c] = reps[c].fillna(0)
    if moves is None and len(rows):
        moves = moves_frame(rows["stage_moves"], settings)
    pairs = list(zip(reps["week"].tolist(), reps["rep"].tolist(), strict=True))
    for texts in (_progress(rows, moves, settings), _problems(rows)):
        reps = reps.merge(texts, on=["week", "rep"], how="left")
    errors = _errors_by_week(errors_by_row)
    lookups = settings.lookups()
    entry = [lookups.reps.get(r) for r in reps["rep"].tolist()]
    unassigned = UNASSIGNED(settings.general.language)
    week_end = {w: cal.week_end(w) for w in weeks}
    reps = reps.assign(
        level="rep", name=reps["rep"],
        region=[(e.region if e else "") or unassigned for e in entry],
        product_line=[(e.product_line if e else "") or unassigned for e in entry],
        week_end=reps["week"].map(week_end), missing=reps["expected"] - reps["reported"],
        progress=reps["progress"].fillna("").astype("str"),
        problems=reps["problems"].fillna("").astype("str"),
        errors=[errors.get(k, 0) for k in pairs],
        missing_days=reps["missing_days"].map(lambda v: v if isinstance(v, list) else []),
        target=_targets(reps, targets, weeks, cal),
        basis=_targets(reps, targets, weeks, cal, whole_months=True),
        amount_signed=reps["amount_signed"].round(6))
    reps["mark"] = _marks(reps, settings)
    position = {rep: i for i, rep in enumerate(settings.reps())}
    reps["_week"] = reps["week"].map({w: i for i, w in enumerate(weeks)})
    reps["_pos"] = reps["rep"].map(position).fillna(len(position))
    reps = reps.sort_values(["_week", "_pos", "rep"], kind="stable").reset_index(drop=True)
    reps["quota_basis"] = "owners"
    totals = [reps.assign(_level=0, _order=range(len(reps)))]
    for level, by in (("region", "region"), ("team", None)):
        group = ["week", by] if by else ["week"]
        g = reps.groupby(group, sort=False)
        t = g[list(NUMBERS)].sum()
        t["target"] = g["target"].sum(min_count=1)
        t["basis"] = g["basis"].sum(min_count=1)
        t["_week"] = g["_week"].first()
        t = t.reset_index()
        t["level"] = level
        t["name"] = t[by] if by else settings.general.team_name
        t["region"] = t[by] if by else ""
        t["product_line"] = ""
        t["week_end"] = t["week"].map(week_end)
        t["progress"] = t["problems"] = ""
        t["missing_days"] = [[] for _ in range(len(t))]
        t["amount_signed"] = t["amount_signed"].round(6)
        if not by:  # the team's quota, as every output defines it (performance.team_quota)
            weeks_ = t["week"].tolist()
            team = team_table(targets, settings)  # the members' targets, gathered once
            week_q = {w: team_quota(targets, settings, *week_days(w), cal, table=team)
                      for w in weeks_}
            month_q = {w: team_quota(targets, settings, *month_span(*week_days(w)), cal,
                                     table=team) for w in weeks_}
            t["target"] = [week_q[w].value for w in weeks_]
            t["basis"] = [month_q[w].value for w in weeks_]
            t["quota_basis"] = [week_q[w].basis for w in weeks_]
        else:
            t["quota_basis"] = "owners"
        t["mark"] = np.where(_implausible(t, settings), IMPLAUSIBLE_MARK, "")
        t["_level"] = 1 if by else 2
        t["_order"] = _appearance(reps, group) if by else 0
        totals.append(t)
    out = pd.concat(totals, ignore_index=True).sort_values(
        ["_week", "_level", "_order"], kind="stable")
    for c in NUMBERS[:-1]:
        out[c] = out[c].astype("int64")
    return out[list(FIELDS)].reset_index(drop=True)


def _appearance(reps: pd.DataFrame, group: list[str]) -> list[int]:
    """Where each group (of a group-by with ``sort=False``) first appears among the reps."""
    first = reps.reset_index().groupby(group, sort=False)["index"].min()
    return first.tolist()


def _errors_by_week(errors_by_row: dict[tuple[Any, Any], int] | None
                    ) -> dict[tuple[str, str], int]:
    errors: dict[tuple[str, str], int] = defaultdict(int)
    for (rep, day), n in (errors_by_row or {}).items():
        if rep is not None and isinstance(day, dt.date):
            errors[(week_label(day), rep)] += n
    return errors


def _implausible(rows: pd.DataFrame, settings: Settings) -> pd.Series:
    """Rows whose amount signed is implausible against their ``basis``
    (:func:`xlsales.ranking.is_implausible`, over whole columns)."""
    basis = rows["basis"].astype("float64")
    share = rows["amount_signed"].astype("float64") / basis.where(basis != 0)
    return (share > settings.general.completion_ceiling).fillna(False)


def _marks(reps: pd.DataFrame, settings: Settings) -> pd.Series:
    """Each rep's mark of the week: the week's TOP list, under the threshold, implausible
    (:func:`xlsales.ranking.rank_frame`, every week at once)."""
    target = reps["target"].astype("float64")
    rate = reps["amount_signed"].astype("float64") / target.where(target != 0)
    frame = pd.DataFrame({"key": reps["rep"], "rate": rate, "week": reps["week"],
                          "implausible": _implausible(reps, settings)})
    return rank_frame(frame, settings.general.completion_threshold, group="week")["mark"]


def implausible_warnings(rows: list[WeekRow], settings: Settings, lang: Lang) -> list[str]:
    """A warning per rep and week whose completion is implausible."""
    ceiling = settings.general.completion_ceiling
    money = money_options(settings)
    return [implausible_message(f"{r.name} {r.week}", r.completion, r.amount_signed, r.basis,
                                ceiling, lang, money=money)
            for r in rows if r.level == "rep" and r.mark == IMPLAUSIBLE_MARK]


def _targets(reps: pd.DataFrame, targets: Targets, weeks: list[str],
             cal: WorkCalendar, *, whole_months: bool = False) -> list[float | None]:
    """Each rep's target for each week (its months' targets spread over working days,
    :func:`xlsales.performance.shared_target`); with ``whole_months`` the targets of the
    months the week touches, whole. One :class:`~xlsales.performance.TargetTable` of the
    reps, each week's rows at once."""
    codes, uniques = pd.factorize(reps["rep"], use_na_sentinel=False)
    table = TargetTable(targets, uniques.tolist())
    week = pd.Index(weeks).get_indexer(reps["week"])
    order = np.argsort(week, kind="stable")
    sorted_weeks = week[order]
    total = np.zeros(len(reps), np.float64)
    found = np.zeros(len(reps), bool)
    for i, w in enumerate(weeks):
        rows = order[np.searchsorted(sorted_weeks, i):np.searchsorted(sorted_weeks, i, "right")]
        if not len(rows):
            continue
        span = month_span(*week_days(w)) if whole_months else week_days(w)
        t, f = table.shared(month_shares(*span, cal))
        total[rows], found[rows] = t[codes[rows]], f[codes[rows]]
    return [t if f else None for t, f in zip(total.tolist(), found.tolist(), strict=True)]
