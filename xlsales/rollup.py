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
from xlsales.discipline import daily_frame, dedupe, late_mask, owed_days
from xlsales.figures import (
    UNASSIGNED,
    completion_rate,
    completion_rates,
    effective_rate,
    effective_rates,
)
from xlsales.i18n import Lang
from xlsales.jsonrecords import column_values
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
    # the few labels as Arrow strings, taken row by row in Arrow (no Python string per row)
    small = pd.array(labels.to_numpy(dtype=object), dtype="str")
    return pd.Series(small.take(codes), index=dates.index)


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


def _codes(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """Codes of ``values`` (text, no blanks) that sort as the values do (code point
    order), and the distinct values sorted; the distinct values are sorted, not the
    column."""
    codes, uniques = pd.factorize(values)
    uniques = np.asarray(uniques, dtype=object)
    order = np.argsort(uniques, kind="stable")
    rank = np.empty(len(order), dtype=np.intp)
    rank[order] = np.arange(len(order))
    return rank[codes], uniques[order]


def _runs_joined(week: np.ndarray, rep: np.ndarray, weeks: np.ndarray, reps: np.ndarray,
                 texts: Any, column: str) -> pd.DataFrame:
    """``texts`` (an Arrow string array whose rows are sorted so that each (week, rep),
    given as codes into ``weeks`` and ``reps``, is one run) joined with ``; `` per run."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(week)
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    texts = texts.cast(pa.string())
    starts = np.flatnonzero(np.r_[True, (week[1:] != week[:-1]) | (rep[1:] != rep[:-1])])
    offsets = pa.array(np.r_[starts, n].astype(np.int32))
    joined = pc.binary_join(pa.ListArray.from_arrays(offsets, texts), "; ")
    return pd.DataFrame({"week": pd.array(weeks, dtype="str").take(week[starts]),
                         "rep": pd.array(reps, dtype="str").take(rep[starts]),
                         column: joined.to_pandas()})


def _places(index: pd.Index, values: pd.Series) -> np.ndarray:
    """Where each of ``values`` is in ``index`` (-1 when not), each distinct value looked
    up once."""
    codes, uniques = pd.factorize(values)
    return np.append(index.get_indexer(uniques), -1)[codes]


def _aligned(reps: pd.DataFrame, texts: pd.DataFrame, column: str) -> pd.Series:
    """``texts[column]`` of each (week, rep) of ``reps`` (blank when it has none): what a
    left merge on the week and rep gives, matched as integer keys."""
    week, weeks = pd.factorize(reps["week"])
    rep, names = pd.factorize(reps["rep"])
    at_week, at_rep = _places(weeks, texts["week"]), _places(names, texts["rep"])
    known = np.flatnonzero((at_week >= 0) & (at_rep >= 0))
    n = max(len(names), 1)
    found = pd.Index(at_week[known].astype(np.int64) * n + at_rep[known]).get_indexer(
        week.astype(np.int64) * n + rep)
    found[(week < 0) | (rep < 0)] = -1  # a blank week or rep matches nothing
    values = texts[column].reset_index(drop=True).array
    return pd.Series(values.take(np.where(found >= 0, known[found.clip(0)], -1) if len(known)
                                 else np.full(len(reps), -1), allow_fill=True),
                     index=reps.index)


def _progress(rows: pd.DataFrame, moves: pd.DataFrame,
              settings: Settings | None = None, *,
              codes: tuple[Any, Any] | None = None) -> pd.DataFrame:
    """The week's stage moves of each (week, rep), grouped by customer: ``客户C:需求分析→
    报价与谈判(2)`` (``moves`` refers to ``rows`` by their labels), stages named in the
    settings' language. The moves are sorted by (week, rep, date, customer, stages) as
    integer codes; each customer's first and last move, and each (week, rep)'s texts,
    are runs of that order. ``codes``: :func:`_codes` of the rows' weeks and reps, when
    made already."""
    moves = moves[moves["customer"].notna()]
    if moves.empty:
        return _joined(moves, ["week", "rep"], "progress")
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:  # pure-Python pandas
        return _progress_plain(rows, moves, settings)
    at = rows.index.get_indexer(moves["row"])
    hit = at >= 0
    if not hit.any():  # none of these rows' moves (moves of other weeks)
        return _joined(moves.iloc[0:0], ["week", "rep"], "progress")
    at = at[hit]
    (week, weeks), (rep, reps) = codes or (_codes(rows["week"]), _codes(rows["rep"]))
    week, rep = week[at], rep[at]
    day = rows["date"].to_numpy()[at]
    customer, customers = _codes(moves["customer"].to_numpy()[hit])
    frm, frms = _codes(moves["from_stage"].to_numpy()[hit])
    to, tos = _codes(moves["to_stage"].to_numpy()[hit])
    order = np.lexsort((to, frm, customer, day, rep, week))
    week, rep, customer, frm, to = (a[order] for a in (week, rep, customer, frm, to))
    key = (week.astype(np.int64) * len(reps) + rep) * len(customers) + customer
    group, _ = pd.factorize(key)  # (week, rep, customer) in order of appearance
    first = np.unique(group, return_index=True)[1]
    last = len(group) - 1 - np.unique(group[::-1], return_index=True)[1]
    n = np.bincount(group)
    if settings is not None:
        lang = settings.general.language
        label = {s: settings.display("stages", s, lang) for s in {*frms, *tos}}
        frms = np.array([label[s] for s in frms], dtype=object)
        tos = np.array([label[s] for s in tos], dtype=object)

    def strings(values: np.ndarray, codes: np.ndarray) -> Any:
        return pa.array([str(v) for v in values], pa.string()).take(pa.array(codes))

    count = pc.cast(pa.array(n), pa.string())
    suffix = pc.if_else(pa.array(n > 1), pc.binary_join_element_wise("(", count, ")", ""), "")
    texts = pc.binary_join_element_wise(
        strings(customers, customer[first]), ":", strings(frms, frm[first]), "→",
        strings(tos, to[last]), suffix, "")
    return _runs_joined(week[first], rep[first], weeks, reps, texts, "progress")


def _problems(rows: pd.DataFrame, *, codes: tuple[Any, Any] | None = None) -> pd.DataFrame:
    """The distinct problems of each (week, rep), in date order (sorted as integer codes;
    each (week, rep)'s problems are a run of that order; ``codes`` as :func:`_progress`
    takes them)."""
    has = rows["problems"].notna().to_numpy()
    if not has.any():
        return _joined(rows.iloc[0:0], ["week", "rep"], "problems")
    try:
        import pyarrow as pa
    except ImportError:  # pure-Python pandas
        return _problems_plain(rows)
    (week, weeks), (rep, reps) = codes or (_codes(rows["week"]), _codes(rows["rep"]))
    week, rep = week[has], rep[has]
    day = rows["date"].to_numpy()[has]
    problems = rows["problems"]
    at = np.flatnonzero(has)
    text = pd.factorize(problems)[0][at]
    order = np.lexsort((day, rep, week))
    week, rep, text = week[order], rep[order], text[order]
    key = (week.astype(np.int64) * len(reps) + rep) * (int(text.max()) + 1) + text
    first = ~pd.Series(key).duplicated().to_numpy()  # a problem once per (week, rep)
    keep = at[order[first]]
    texts = pa.array(problems.array).take(pa.array(keep)) if isinstance(
        problems.dtype, pd.StringDtype) else pa.array(problems.to_numpy()[keep], pa.string())
    return _runs_joined(week[first], rep[first], weeks, reps, texts, "problems")


def _progress_plain(rows: pd.DataFrame, moves: pd.DataFrame,
              settings: Settings | None = None) -> pd.DataFrame:
    """:func:`_progress` without pyarrow (pandas group-bys)."""
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


def _problems_plain(rows: pd.DataFrame) -> pd.DataFrame:
    """:func:`_problems` without pyarrow (pandas group-bys)."""
    p = rows[rows["problems"].notna()].sort_values(["week", "rep", "date"], kind="stable")
    return _joined(p.drop_duplicates(["week", "rep", "problems"]), ["week", "rep"], "problems")


def _owed(settings: Settings, weeks: list[str], rows: pd.DataFrame, today: dt.date | None,
          cal: WorkCalendar) -> pd.DataFrame:
    """Per (week, rep) of the roster: working days owed (``expected``), owed days reported
    and the owed days missing (up to today). The owed days are codes (roster entry, day);
    the reported ones are looked up in a table of reps by days."""
    index = pd.MultiIndex.from_tuples([], names=["week", "rep"])
    empty = pd.DataFrame({"expected": [], "reported": [], "missing_days": []}, index=index)
    if not weeks:
        return empty
    first = min(week_days(w)[0] for w in weeks)
    last = max(week_days(w)[1] for w in weeks)
    days, names, entry, day = owed_days(settings, first, min(last, today) if today else last,
                                        cal)
    if not len(entry):
        return empty
    dates = days.astype(object)  # datetime.date, each working day once
    week_code, week_names = pd.factorize(pd.Series([week_label(x) for x in dates], dtype="str"))
    wanted = np.isin(week_names.to_numpy(dtype=object), weeks)[week_code]
    keep = wanted[day]
    entry, day = entry[keep], day[keep]
    rep_code, rep_names = pd.factorize(pd.Series(names, dtype="str"))  # a rep listed twice
    rep = rep_code[entry]
    # the (rep, day) pairs reported: reps by roster code, days by their place in ``days``
    seen_at = np.zeros((len(rep_names), len(days)), dtype=bool)
    codes, uniques = pd.factorize(rows["rep"])  # each distinct rep looked up once
    r = np.append(rep_names.get_indexer(uniques), -1)[codes]
    stamp = rows["date"].to_numpy()
    d = stamp.astype("datetime64[D]")
    at = np.searchsorted(days, d).clip(0, max(len(days) - 1, 0))
    # the same day at midnight: what a merge on the day's timestamp matches
    hit = (r >= 0) & (len(days) > 0) & (days[at] == d) & ~np.isnat(d) & (stamp == d)
    seen_at[r[hit], at[hit]] = True
    seen = seen_at[rep, day]
    # (week, rep) groups in the order they first appear, as a group-by without sorting
    group, first_row = pd.factorize(week_code[day].astype(np.int64) * len(rep_names) + rep)
    n = len(first_row)
    expected = np.bincount(group, minlength=n).astype(np.int64)
    reported = np.bincount(group, weights=seen, minlength=n).astype(np.int64)
    keys = pd.MultiIndex.from_arrays([week_names.take(first_row // len(rep_names)),
                                      rep_names.take(first_row % len(rep_names))],
                                     names=["week", "rep"])
    out = pd.DataFrame({"expected": expected, "reported": reported}, index=keys)
    missing: list[list[dt.date]] = [[] for _ in range(n)]
    gaps = np.flatnonzero(~seen)
    for g, x in zip(group[gaps].tolist(), day[gaps].tolist(), strict=True):
        missing[g].append(dates[x])
    out["missing_days"] = missing
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
    return {k: column_values(v) for k, v in week_arrays(frame).items()}


def week_arrays(frame: pd.DataFrame) -> dict[str, Any]:
    """The values of :func:`week_dicts`, by key, as whole columns (what ``--json`` encodes
    column by column: :func:`xlsales.jsonrecords.json_columns`): numbers as numpy arrays
    (NaN: none, a target not set, a rate without a base), text as the frame holds it,
    dates as ISO texts."""
    cols: dict[str, Any] = {}
    for f in FIELDS:
        values = frame[f]
        if f == "missing_days":
            cols[f] = [[x.isoformat() for x in v] for v in values.tolist()]
        elif f == "week_end":
            cols[f] = [d.isoformat() if d else None for d in values.tolist()]
        elif isinstance(values.dtype, pd.StringDtype):
            cols[f] = values.array
        else:
            cols[f] = values.to_numpy()
    cols["effective_rate"] = effective_rates(frame["effective"], frame["visits"])
    cols["completion"] = completion_rates(frame["amount_signed"], frame["target"])
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
    owed = _owed(settings, weeks, rows, today, cal)
    # (week, rep) as one integer: the week's place in ``weeks`` and the rep's in ``names``
    # (the reps reported, then the roster's); grouped and merged on it, not on two texts
    codes = (_codes(rows["week"]), _codes(rows["rep"]))  # sorted codes, made once
    (week_code, week_names), (rep_code, names) = codes
    names = pd.Index(names, dtype=rows["rep"].dtype)
    if len(owed):
        names = names.append(pd.Index(owed.index.get_level_values("rep"))).unique()
    week_index = pd.Index(weeks)
    n = max(len(names), 1)
    key = week_index.get_indexer(week_names)[week_code].astype(np.int64) * n + rep_code
    stats = rows.assign(late=late_mask(rows, settings.general.report_deadline))[
        [*SUMS, "late"]].groupby(key, sort=False).sum().rename_axis("key").reset_index()
    owed = owed.reset_index(drop=True).assign(key=_places(
        week_index, owed.index.get_level_values("week")).astype(np.int64) * n + _places(
        names, owed.index.get_level_values("rep")))
    reps = stats.merge(owed, on="key", how="outer")
    if not len(reps):
        return pd.DataFrame({f: pd.Series(dtype=object) for f in FIELDS})
    key = reps.pop("key").to_numpy()
    reps.insert(0, "week", pd.array(weeks, dtype="str").take(key // n))
    reps.insert(1, "rep", names.array.take(key % n))
    for c in (*SUMS, "late", "expected", "reported"):
        reps[c] = reps[c].fillna(0)
    if moves is None and len(rows):
        moves = moves_frame(rows["stage_moves"], settings)
    for column, texts in (("progress", _progress(rows, moves, settings, codes=codes)),
                          ("problems", _problems(rows, codes=codes))):
        reps[column] = _aligned(reps, texts, column)
    lookups = settings.lookups()
    # each distinct rep looked up once, then taken row by row
    rep_code, rep_names = pd.factorize(reps["rep"], use_na_sentinel=False)
    entry = [lookups.reps.get(r) for r in rep_names.tolist()]
    unassigned = UNASSIGNED(settings.general.language)
    week_end = {w: cal.week_end(w) for w in weeks}
    reps = reps.assign(
        level="rep", name=reps["rep"],
        region=pd.array([(e.region if e else "") or unassigned for e in entry],
                        dtype="str").take(rep_code),
        product_line=pd.array([(e.product_line if e else "") or unassigned for e in entry],
                              dtype="str").take(rep_code),
        week_end=reps["week"].map(week_end), missing=reps["expected"] - reps["reported"],
        progress=reps["progress"].fillna("").astype("str"),
        problems=reps["problems"].fillna("").astype("str"),
        errors=_errors_of(reps, rep_code, rep_names, _errors_by_week(errors_by_row)),
        missing_days=[v if isinstance(v, list) else [] for v in reps["missing_days"].tolist()],
        target=_targets(reps, targets, weeks, cal),
        basis=_targets(reps, targets, weeks, cal, whole_months=True),
        amount_signed=reps["amount_signed"].round(6))
    reps["mark"] = _marks(reps, settings)
    position = {rep: i for i, rep in enumerate(settings.reps())}
    reps["_week"] = pd.Index(weeks).get_indexer(reps["week"])  # each a week of ``weeks``
    reps["_pos"] = np.array([position.get(r, len(position)) for r in rep_names.tolist()],
                            dtype=np.int64)[rep_code]
    # by week, the roster's order, then name: a stable sort of integer codes
    order = np.lexsort((_codes(reps["rep"])[0], reps["_pos"].to_numpy(),
                        reps["_week"].to_numpy()))
    reps = reps.take(order).reset_index(drop=True)
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


def _errors_of(reps: pd.DataFrame, rep_code: np.ndarray, rep_names: pd.Index,
               errors: dict[tuple[str, str], int]) -> np.ndarray:
    """The errors of each (week, rep) row of ``reps`` (``rep_code``: its reps factorized):
    the pairs as integer keys, looked up all at once."""
    if not errors:
        return np.zeros(len(reps), dtype=np.int64)
    week_code, week_names = pd.factorize(reps["week"], use_na_sentinel=False)
    n = len(rep_names)
    weeks = week_names.get_indexer([w for w, _ in errors])
    who = rep_names.get_indexer([r for _, r in errors])
    known = (weeks >= 0) & (who >= 0)
    counts = np.array(list(errors.values()), dtype=np.int64)[known]
    at = pd.Index(weeks[known].astype(np.int64) * n + who[known]).get_indexer(
        week_code.astype(np.int64) * n + rep_code)
    return np.where(at >= 0, counts[at.clip(0)] if len(counts) else 0, 0)


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
    # the weeks as codes: the ranks are within a week, whatever the weeks' order
    week = pd.factorize(reps["week"], use_na_sentinel=False)[0]
    frame = pd.DataFrame({"key": reps["rep"], "rate": rate, "week": week,
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
             cal: WorkCalendar, *, whole_months: bool = False) -> np.ndarray:
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
    return np.where(found, total, np.nan)  # no target: blank
