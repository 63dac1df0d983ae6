"""Rules across tables: dailies against targets and opportunities."""

from __future__ import annotations

from xlsales.calendar import quarter_of
from xlsales.findings import Finding, Rule
from xlsales.normalize import name_key
from xlsales.rows import Context
from xlsales.stagemoves import parse_stage_moves

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
    targets = ctx.tables.get("targets")
    if targets is not None:
        have = {(t.get("owner"), t.get("quarter")) for t in targets.rows}
        reported: set[tuple[str, str]] = set()
        for row in daily.rows:
            rep, day = row.get("rep"), row.get("date")
            if not rep or day is None:
                continue
            q = quarter_of(day)
            if (rep, q) not in have and (rep, q) not in reported:
                reported.add((rep, q))
                out.append(daily.finding(R_NO_TARGET, row, "rep", rep=rep, quarter=q))
    opps = ctx.tables.get("opportunities")
    if opps is not None:
        names = [name_key(o.get("customer")) for o in opps.rows if o.get("customer")]
        known = set(names)
        for row in daily.rows:
            moves, _ = parse_stage_moves(row.get("stage_moves"), ctx.settings)
            for move in moves:
                key = name_key(move.customer)
                if key in known or any(n.startswith(key) for n in names if len(key) >= 2):
                    continue
                out.append(daily.finding(R_UNKNOWN_OPP, row, "stage_moves",
                                         customer=move.customer))
    return out
