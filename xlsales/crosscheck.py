"""Rules across tables: dailies against targets and opportunities."""

from __future__ import annotations

from xlsales.context import Context
from xlsales.findings import Finding, Rule
from xlsales.normalize import name_key
from xlsales.stagemoves import moves_frame

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
        have = set(zip(t["owner"], t["quarter"], strict=True))
        rows = df[df["rep"].notna() & df["date"].notna()]
        quarter = (rows["date"].dt.year.astype(str) + "Q"
                   + ((rows["date"].dt.month - 1) // 3 + 1).astype(str))
        pairs = list(zip(rows["rep"], quarter, strict=True))
        first = ~rows.assign(q=quarter).duplicated(["rep", "q"])
        for row, pair, is_first in zip(rows.index, pairs, first, strict=True):
            if is_first and pair not in have:
                out.append(daily.finding(R_NO_TARGET, row, "rep", rep=pair[0], quarter=pair[1]))
    opps = ctx.tables.get("opportunities")
    if opps is not None:
        names = [name_key(c) for c in opps.df["customer"].dropna()]
        known = set(names)
        moves = moves_frame(df["stage_moves"], ctx.settings)
        moves = moves[moves["customer"].notna()]
        verdict: dict[str, bool] = {}
        for m in moves.itertuples():
            key = name_key(m.customer)
            if key not in verdict:
                verdict[key] = key in known or (len(key) >= 2 and any(
                    n.startswith(key) for n in names))
            if not verdict[key]:
                out.append(daily.finding(R_UNKNOWN_OPP, m.row, "stage_moves",
                                         customer=m.customer))
    return out
