"""Rankings: the one definition of the TOP list, the reps under the completion threshold
and implausible completion, used by every output (``completion`` and its ``--json``, the
weekly sheets, the meeting pack, the review and its sheets).

* Ranked are the groups (reps, regions, product lines) with a completion rate that is
  not implausible, best first; a tie goes to the name.
* The TOP list holds those of the first three that reached the threshold
  (``completion_threshold``, 80 %) — never a group at 0 or under the threshold, which are
  listed as below it. Its label names its size, ``min(3, groups with a rate)``: ``TOP2``
  of two regions.
* Completion is implausible when the amount signed is more than ``completion_ceiling``
  (300 %) of the target of the whole months the period falls in (:func:`month_span`):
  a month or a quarter is held against its own target, a week against its month's, so
  one large deal in a week is not a slip, while 元 typed into a 万元 column is. An
  implausible group is marked, warned about and left out of the ranking.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from xlsales.calendar import month_range
from xlsales.figures import completion_rate
from xlsales.i18n import Label, Lang

TOP_N = 3
BELOW_MARK = "▼"
IMPLAUSIBLE_MARK = "⚠"
TOP_LABEL = Label("TOP{n}", "TOP{n}")
IMPLAUSIBLE = Label(
    "{name}:完成率 {rate}(成交 {actual} 万元,为所在月份目标 {basis} 万元的 {share}),"
    "超过 {ceiling} 的合理上限,请核对成交金额",
    "{name}: completion {rate} (signed {actual}, {share} of the target of its months, "
    "{basis}) is above the plausible {ceiling}; check the amounts signed")
NOT_RANKED = Label(";不参与排名", "; left out of the ranking")


def top_label(size: int, lang: Lang = "zh") -> str:
    """``TOP3``, or ``TOP2`` when only two groups are ranked."""
    return TOP_LABEL(lang).format(n=size or TOP_N)


def month_span(first: dt.date, last: dt.date) -> tuple[dt.date, dt.date]:
    """The whole months ``first``..``last`` touches: what the plausibility limit holds the
    amount signed against."""
    return dt.date(first.year, first.month, 1), month_range(last.year, last.month)[1]


def is_implausible(actual: float | None, basis: float | None, ceiling: float) -> bool:
    """The amount signed is above ``ceiling`` × the target of the period's months."""
    share = completion_rate(actual, basis)
    return share is not None and share > ceiling


def implausible_message(name: str, rate: float | None, actual: float, basis: float | None,
                        ceiling: float, lang: Lang, *, ranked: bool = True,
                        money: Mapping[str, Any] | None = None) -> str:
    """The warning of an implausible completion, in ``lang`` (``ranked``: the group would
    have been ranked, and is not), its amounts in the currency and unit of the settings'
    options ``money`` (万元 without them)."""
    from xlsales.words import is_whole, options_text, to_unit

    unit = money.get("amount_unit") if money else None
    if is_whole(unit):
        shown, target = f"{to_unit(actual, unit):,.0f}", f"{to_unit(basis or 0, unit):,.0f}"
    else:
        shown, target = f"{actual:,.6g}", f"{basis or 0:,.1f}"
    text = IMPLAUSIBLE(lang).format(
        name=name, rate=pct(rate), actual=shown, basis=target,
        share=pct(completion_rate(actual, basis)), ceiling=pct(ceiling))
    return options_text(text, money) + (NOT_RANKED(lang) if ranked else "")


def pct(x: float | None) -> str:
    """``755,556%``; ``—`` without a rate."""
    return "—" if x is None else f"{x:,.0%}"


def rank_frame(df: pd.DataFrame, threshold: float, *, group: str | None = None
               ) -> pd.DataFrame:
    """The standings of the rows of ``df`` (columns ``key``, ``rate``, ``implausible``;
    ranked within each value of the column ``group`` when given): per row ``rank``
    (None when not ranked), ``top``, ``below``, ``implausible``, ``size`` (the TOP list's
    size: 3, or fewer groups with a rate; 0 for one alone) and ``mark`` (``TOP3``, ``▼``,
    ``⚠`` or empty)."""
    rate = pd.to_numeric(df["rate"], errors="coerce").astype("float64")
    bad = df["implausible"].astype(bool)
    rates = rate.to_numpy(dtype="float64", na_value=np.nan)
    has_rate = ~np.isnan(rates)
    ok = has_rate & ~bad.to_numpy(dtype=bool)
    # the groups as codes (-1: no group, never ranked); one group without ``group``
    codes = (pd.factorize(df[group])[0] if group else np.zeros(len(df), dtype=np.intp))
    ranked = np.flatnonzero(ok & (codes >= 0))
    # best first within each group, a tie to the name (keys in str order, a missing one
    # last); the sorts are stable, so equal rows keep their order
    name_codes, uniques = pd.factorize(df["key"])
    texts = pd.Series(uniques, dtype=object).astype(str).tolist()
    by_name = np.empty(len(texts) + 1, dtype=np.intp)  # each name's place in str order
    places: dict[str, int] = {}  # equal texts (1 and "1") tie
    for i in sorted(range(len(texts)), key=texts.__getitem__):
        by_name[i] = places.setdefault(texts[i], len(places))
    by_name[-1] = len(texts)  # a missing name (code -1) sorts last
    name_rank = by_name[name_codes[ranked]]
    best = ranked[_order(name_rank, -rates[ranked], codes[ranked])]
    g = codes[best]
    first = np.r_[True, g[1:] != g[:-1]] if len(g) else np.zeros(0, dtype=bool)
    at = np.arange(len(best))
    rank = np.full(len(df), np.nan)
    rank[best] = at - np.maximum.accumulate(np.where(first, at, 0)) + 1
    counted = codes >= 0
    sizes = np.bincount(codes[counted], weights=has_rate[counted],
                        minlength=int(codes.max(initial=-1)) + 1)
    sizes = np.minimum(sizes, TOP_N).astype("int64")
    sizes[sizes < 2] = 0  # one group alone is no ranking ("TOP1" of one)
    size = np.where(counted, sizes[np.maximum(codes, 0)] if len(sizes) else 0, 0
                    ).astype("int64")
    with np.errstate(invalid="ignore"):
        top = (rank <= size) & (rates >= threshold) & (rates > 0)
        below = ok & (rates < threshold)
    marks = np.array([top_label(n) for n in range(TOP_N + 1)]
                     + [BELOW_MARK, IMPLAUSIBLE_MARK, ""], dtype=object)
    mark = marks[np.where(top, size, np.where(below, TOP_N + 1, np.where(
        bad.to_numpy(dtype=bool), TOP_N + 2, TOP_N + 3)))]
    index = df.index
    return pd.DataFrame({"rank": pd.Series(rank, index=index).astype("Int64"),
                         "top": pd.Series(top, index=index),
                         "below": pd.Series(below, index=index), "implausible": bad,
                         "size": pd.Series(size, index=index), "mark": mark}, index=index)


def _order(*keys: np.ndarray) -> np.ndarray:
    """``np.lexsort(keys)`` (the last key major; stable): one stable argsort per key, the
    integer keys of a small range as int16, which numpy sorts by radix."""
    order = np.arange(len(keys[0]))
    for key in keys:
        key = key[order]
        if key.dtype.kind in "iu" and len(key) and key.min() >= -2**15 and key.max() < 2**15:
            key = key.astype(np.int16)
        order = order[np.argsort(key, kind="stable")]
    return order


@dataclass(frozen=True)
class Standing:
    """One group's place: its rank (None when not ranked) and marks."""

    key: str
    rate: float | None
    rank: int | None
    top: bool
    below: bool
    implausible: bool
    mark: str


@dataclass
class Ranking:
    """The standings of a set of groups, best first (then the unranked, in the order
    given)."""

    standings: list[Standing]
    size: int
    threshold: float
    _by_key: dict[str, Standing] = field(default_factory=dict, repr=False)

    @property
    def label(self) -> str:
        return top_label(self.size)

    @property
    def top(self) -> list[Standing]:
        return [s for s in self.standings if s.top]

    @property
    def below(self) -> list[Standing]:
        return [s for s in self.standings if s.below]

    @property
    def implausible(self) -> list[Standing]:
        return [s for s in self.standings if s.implausible]

    def of(self, key: str) -> Standing:
        """The standing of ``key``."""
        if len(self._by_key) != len(self.standings):
            self._by_key = {s.key: s for s in self.standings}
        return self._by_key[key]

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "top": [s.key for s in self.top],
                "below": [s.key for s in self.below],
                "implausible": [s.key for s in self.implausible]}


def rank(items: Iterable[tuple[str, float | None, bool]], threshold: float) -> Ranking:
    """Rank ``(key, rate, implausible)`` items (see the module docstring)."""
    items = list(items)
    df = pd.DataFrame({"key": [k for k, _, _ in items],
                       "rate": pd.Series([r for _, r, _ in items], dtype="float64"),
                       "implausible": [bool(b) for _, _, b in items]})
    st = rank_frame(df, threshold)
    standings = [Standing(key, rate, None if pd.isna(r) else int(r), bool(t), bool(b),
                          bool(i), str(m))
                 for (key, rate, _), r, t, b, i, m in zip(
                     items, st["rank"], st["top"], st["below"], st["implausible"], st["mark"],
                     strict=True)]
    standings.sort(key=lambda s: (s.rank is None, s.rank or 0))
    size = int(st["size"].iloc[0]) if len(st) else 0
    return Ranking(standings, size, threshold)
