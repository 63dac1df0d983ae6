"""Rules across tables: dailies against targets and opportunities."""

from __future__ import annotations

import bisect

import pandas as pd

from xlsales.calendar import canonical_quarters
from xlsales.context import Context
from xlsales.findings import Finding, Rule
from xlsales.normalize import name_key
from xlsales.stagemoves import table_moves

R_NO_TARGET = Rule(id="X.rep_without_target", severity="warning",
                   zh="{rep} 在 {quarter} 没有销售目标(目标分解表中无此人)",
                   en="{rep} has no target for {quarter} in the target breakdown")
R_UNKNOWN_OPP = Rule(id="X.move_without_opportunity", severity="warning",
                     zh="日报中推进的客户“{customer}”在商机表中没有对应商机",
                     en="customer '{customer}' moved in the daily report has no opportunity "
                        "in the opportunities table")
RULES = (R_NO_TARGET, R_UNKNOWN_OPP)


def check(ctx: Context, only: set[str]) -> list[Finding]:
    """Cross-table findings for the tables in ``only``."""
    out: list[Finding] = []
    daily = ctx.tables.get("daily")
    if daily is None or "daily" not in only:
        return out
    df = daily.df
    targets = ctx.tables.get("targets")
    if targets is not None:
        t = targets.df
        quarters = canonical_quarters(t["quarter"])  # 2026q4 is 2026Q4
        have = set(zip(t["owner"].tolist(), quarters.tolist(), strict=True))
        rows = df.loc[df["rep"].notna() & df["date"].notna(), ["rep", "date"]]
        pairs = pd.DataFrame({"rep": rows["rep"], "q": rows["date"].dt.year * 10
                              + (rows["date"].dt.month - 1) // 3 + 1}, index=rows.index)
        first = pairs[~pairs.duplicated()]  # each rep's first row of each quarter
        for row, rep, q in zip(first.index.tolist(), first["rep"].tolist(),
                               first["q"].tolist(), strict=True):
            quarter = f"{q // 10}Q{q % 10}"
            if (rep, quarter) not in have:
                out.append(daily.finding(R_NO_TARGET, row, "rep", rep=rep, quarter=quarter))
    opps = ctx.tables.get("opportunities")
    if opps is not None:
        names = sorted({name_key(c) for c in opps.df["customer"].dropna()})
        known = set(names)
        moves = table_moves(daily, ctx.settings)
        moves = moves[moves["customer"].notna()]
        found = {}
        for customer in moves["customer"].unique():
            key = name_key(customer)  # known, or the start of a known name (sorted: bisect)
            at = bisect.bisect_left(names, key)
            found[customer] = key in known or (len(key) >= 2 and at < len(names)
                                               and names[at].startswith(key))
        unknown = moves[~moves["customer"].map(found).astype(bool)]
        for row, customer in zip(unknown["row"], unknown["customer"], strict=True):
            out.append(daily.finding(R_UNKNOWN_OPP, row, "stage_moves", customer=customer))
    return out
