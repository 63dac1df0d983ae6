"""Plausibility: values far outside what a person and the team usually report.

"Usual" is the 90th percentile of the positive values (the ``lower`` one, so a single
slip among a handful of values never sets it), of the person when they have at least
:data:`MIN_HISTORY` positive values, and of the whole table. A value is implausible when
it lies more than :data:`FACTOR` times above both; with fewer than :data:`MIN_HISTORY`
positive values in the table nothing is judged, and a person's first values are held
against the team only (a first sale is not an outlier). In a 万元 column, a value that
is implausible for the team but, divided by 10,000, lies between 1/:data:`FACTOR` of the
team's 10th percentile and :data:`FACTOR` times its usual looks like 元 typed in.

Runs (:class:`Runs`) find a person's consecutive reports that all meet a condition, e.g.
effective conversations equal to visits day after day.

Everything is group-bys over whole columns; only the flagged rows become findings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from xlsales.i18n import Label, Lang

FACTOR = 20.0
QUANTILE = 0.9
LOW_QUANTILE = 0.1
MIN_HISTORY = 5
YUAN_PER_WAN = 10_000


def outliers(values: pd.Series, who: pd.Series, *, yuan: bool = False,
             scale: float = 1.0) -> pd.DataFrame:
    """The rows of ``values`` far above what their person (``who``) and the team usually
    report: columns ``value``, ``who``, ``own`` (the person's usual, NaN with too little
    history), ``team`` (the team's usual), ``yuan`` (with ``yuan``: the value looks like
    元 typed into a 万元 column) and ``converted`` (the value in 万元 if so). Values
    are judged and given as typed: ``values`` × ``scale`` (10,000 for an amount read from
    a column in 元, where 元 typed into 万元 cannot happen).

    Only a value above :data:`FACTOR` × the team's usual can be flagged, so the persons'
    own percentiles are computed for the persons of such values alone."""
    columns = ["value", "who", "own", "team", "yuan", "converted"]
    v = pd.to_numeric(values, errors="coerce").astype("float64") * scale
    yuan = yuan and scale == 1.0
    every = v.to_numpy(dtype="float64", na_value=np.nan)
    keep = (every > 0) & who.notna().to_numpy(dtype=bool)  # NaN > 0 is False
    if keep.sum() < MIN_HISTORY:
        return pd.DataFrame(columns=columns)
    numbers = every[keep]
    team = float(np.quantile(numbers, QUANTILE, method="lower"))
    suspect = numbers > FACTOR * team
    if not suspect.any():  # the usual case: judged on arrays, no Series cut
        return pd.DataFrame(columns=columns)
    v, w = v[keep], who[keep]
    low = float(np.quantile(numbers, LOW_QUANTILE, method="lower"))
    mine = w.isin(pd.unique(w[suspect])).to_numpy()
    g = v[mine].groupby(w[mine], sort=False)
    own = g.quantile(QUANTILE, interpolation="lower").where(g.size() >= MIN_HISTORY)
    v, w = v[suspect], w[suspect]
    own_row = w.map(own).astype("float64")
    usual = np.fmax(own_row.to_numpy(), team)
    converted = v.to_numpy() / YUAN_PER_WAN
    looks_yuan = np.zeros(len(v), dtype=bool)
    if yuan:
        looks_yuan = (converted <= FACTOR * team) & (converted >= low / FACTOR)
    flagged = (v.to_numpy() > FACTOR * usual) | looks_yuan
    out = pd.DataFrame({"value": v[flagged], "who": w[flagged], "own": own_row[flagged],
                        "team": team, "yuan": looks_yuan[flagged],
                        "converted": converted[flagged]})
    return out[columns]


USUAL_OWN = Label("{who}通常 ≤ {own},团队通常 ≤ {team}",
                  "{who} usually reports ≤ {own}, the team ≤ {team}")
USUAL_TEAM = Label("团队通常 ≤ {team}", "the team usually reports ≤ {team}")


def usual_text(who: object, own: float, team: float, lang: Lang) -> str:
    """What is usual, in words: the person's and the team's (the team's alone when the
    person has too little history)."""
    if own != own:  # NaN
        return USUAL_TEAM(lang).format(team=number(team))
    return USUAL_OWN(lang).format(who=who, own=number(own), team=number(team))


def number(x: float) -> str:
    """A value as a person would write it: ``12000``, ``1.2``, ``35.5``."""
    text = f"{round(float(x), 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


class Runs:
    """Each person's rows in ``order`` (then row order), sorted once; :meth:`find` gives
    their runs of consecutive rows meeting a condition. Rows without a person or an
    ``order`` value are left out and do not break a run."""

    COLUMNS = ("who", "n", "first", "last", "row", "total")

    def __init__(self, who: pd.Series, order: pd.Series) -> None:
        self.ok = (who.notna() & order.notna()).to_numpy(dtype=bool)
        self.who, self.order = who[self.ok], order[self.ok]
        codes = pd.factorize(self.who)[0]
        keys = self.order.to_numpy()
        if np.issubdtype(keys.dtype, np.datetime64):
            keys = keys.astype("datetime64[ms]").astype("int64")
        self.idx = np.lexsort((keys, codes))  # stable: ties keep the row order
        self.codes = codes[self.idx]

    def find(self, condition: pd.Series, weight: pd.Series | None = None, *, min_n: int = 1,
             min_total: float = 0.0) -> pd.DataFrame:
        """The runs meeting ``condition``, at least ``min_n`` rows long and with ``weight``
        adding up to at least ``min_total``: columns ``who``, ``n`` (rows in the run),
        ``first`` and ``last`` (their ``order`` values), ``row`` (the index label of the
        run's last row) and ``total`` (the sum of ``weight`` over the run, 0 without)."""
        cond = condition.to_numpy(dtype=bool, na_value=False)[self.ok]
        if cond.sum() < min_n:
            return pd.DataFrame(columns=list(self.COLUMNS))
        idx, codes = self.idx, self.codes
        cond = cond[idx]
        wt = (np.zeros(len(idx)) if weight is None else pd.to_numeric(
            weight[self.ok], errors="coerce").fillna(0).to_numpy(dtype="float64")[idx])
        starts = np.flatnonzero(np.r_[True, (codes[1:] != codes[:-1])
                                      | (cond[1:] != cond[:-1])])
        ends = np.r_[starts[1:], len(idx)] - 1
        n = ends - starts + 1
        total = np.add.reduceat(wt, starts)
        hit = cond[starts] & (n >= min_n) & (total >= min_total)
        first_pos, last_pos = idx[starts[hit]], idx[ends[hit]]
        return pd.DataFrame({
            "who": self.who.iloc[last_pos].to_numpy(), "n": n[hit],
            "first": self.order.iloc[first_pos].to_numpy(),
            "last": self.order.iloc[last_pos].to_numpy(), "row": self.who.index[last_pos],
            "total": total[hit]}, columns=list(self.COLUMNS))


def runs(who: pd.Series, order: pd.Series, condition: pd.Series,
         weight: pd.Series | None = None, *, min_n: int = 1,
         min_total: float = 0.0) -> pd.DataFrame:
    """Each person's runs of consecutive rows meeting ``condition`` (see :class:`Runs`)."""
    return Runs(who, order).find(condition, weight, min_n=min_n, min_total=min_total)
