"""T1 销售目标分解表: quarterly target breakdown, per owner, with the team total."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

from xlsales.calendar import canonical_quarters, quarter_months
from xlsales.findings import Finding, Rule, in_row_order
from xlsales.i18n import Label
from xlsales.tables.base import NAME_ALIASES, CondFormat, Kind, TableSpec, col, person_aliases
from xlsales.words import AND

if TYPE_CHECKING:
    import pandas as pd

    from xlsales.context import Context
    from xlsales.frames import Table


_AMOUNT_HINT = ("单位:万元,填写≥0的数字", "In 10,000 CNY; a number ≥ 0")

TEAM = TableSpec(
    key="team_targets",
    name="TeamTargets",
    sheet=Label("团队目标", "Team target"),
    title=Label("团队季度总目标", "Team quarterly target"),
    blank_rows=4,
    columns=(
        col("quarter", "季度", "Quarter", width=10, required=True,
            hint=("格式:2024Q1", "Format: 2024Q1"), canonical=canonical_quarters),
        col("team_target", "团队总目标(万元)", "Team target (10k CNY)", Kind.AMOUNT, 16,
            required=True, minimum=0, hint=_AMOUNT_HINT),
        col("owners_sum", "个人目标合计(万元)", "Sum of owners (10k CNY)", Kind.AMOUNT, 18,
            formula='IF({quarter}="","",SUMIFS({Targets.quarterly_target},'
                    '{Targets.quarter},{quarter}))'),
        col("margin", "弹性空间", "Margin over team", Kind.PERCENT, 12,
            formula='IF(N({team_target})=0,"",{owners_sum}/{team_target}-1)'),
        col("note", "说明", "Note", width=30),
    ),
    formats=(
        CondFormat("margin", 'AND({margin}<>"",OR({margin}<{opt:target_margin_low},'
                   '{margin}>{opt:target_margin_high}))', "warn"),
    ),
    notes=Label("个人目标之和应比团队总目标高10%-15%(弹性空间)。",
                "Owners' targets should add up to 10%-15% above the team total."),
)

TARGETS = TableSpec(
    key="targets",
    name="Targets",
    sheet=Label("目标分解", "Targets"),
    title=Label("销售目标分解表(季度)", "Quarterly target breakdown"),
    blank_rows=20,
    columns=(
        col("region", "区域", "Region", Kind.CHOICE, 10, required=True, choices="regions"),
        col("product_line", "产品线", "Product line", Kind.CHOICE, 10, required=True,
            choices="product_lines"),
        col("owner", "负责人", "Owner", Kind.CHOICE, 10, required=True, choices="reps",
            aliases=person_aliases(*NAME_ALIASES)),
        col("quarter", "季度", "Quarter", width=9, required=True,
            hint=("格式:2024Q1", "Format: 2024Q1"), canonical=canonical_quarters),
        col("quarterly_target", "季度目标(万元)", "Quarterly target (10k CNY)", Kind.AMOUNT, 14,
            required=True, minimum=0, hint=_AMOUNT_HINT, aliases=("季度目标", "目标")),
        col("month1", "第1月目标(万元)", "Month 1 (10k CNY)", Kind.AMOUNT, 12, minimum=0,
            hint=_AMOUNT_HINT),
        col("month2", "第2月目标(万元)", "Month 2 (10k CNY)", Kind.AMOUNT, 12, minimum=0,
            hint=_AMOUNT_HINT),
        col("month3", "第3月目标(万元)", "Month 3 (10k CNY)", Kind.AMOUNT, 12, minimum=0,
            hint=_AMOUNT_HINT),
        col("split_sum", "拆解合计(万元)", "Split total (10k CNY)", Kind.AMOUNT, 12,
            formula='IF(COUNT({month1},{month2},{month3})=0,"",'
                    'SUM({month1},{month2},{month3}))'),
        col("split_gap", "拆解差额(万元)", "Split gap (10k CNY)", Kind.AMOUNT, 12,
            formula='IF({split_sum}="","",{quarterly_target}-{split_sum})'),
        col("new_customers", "新客户目标(家)", "New customers target", Kind.INT, 12, minimum=0),
        col("visits_per_week", "每周拜访目标", "Visits per week", Kind.INT, 12, minimum=0),
        col("proposals_per_month", "每月方案/演示目标", "Proposals per month", Kind.INT, 14,
            minimum=0),
        col("strategy", "关键策略", "Key strategy", Kind.LONG_TEXT, 36,
            aliases=("关键策略(如重点客户、推广活动)",)),
        col("owner_signed", "负责人签字", "Owner sign-off", width=11),
        col("manager_signed", "主管签字", "Manager sign-off", width=11),
        col("signed_on", "签字日期", "Signed on", Kind.DATE, 12),
    ),
    formats=(
        CondFormat("split_gap", 'AND({split_gap}<>"",ABS(N({split_gap}))>0.005)', "bad"),
        CondFormat("signed_on", 'AND({owner}<>"",OR({owner_signed}="",{manager_signed}=""))',
                   "warn"),
    ),
    notes=Label("三个月的拆解目标之和应等于季度目标;季度开始前由负责人与主管签字确认。",
                "The three months add up to the quarterly target; owner and manager sign "
                "before the quarter starts."),
)

TABLES = (TEAM, TARGETS)


# -- rules -------------------------------------------------------------------------

R_SPLIT = Rule(id="T1.split_mismatch", severity="error",
               zh="月度拆解合计 {split:g} 不等于季度目标 {target:g}(差 {gap:+g})",
               en="the monthly split adds up to {split:g}, not the quarterly target "
                  "{target:g} (gap {gap:+g})")
R_MARGIN = Rule(id="T1.margin_out_of_band", severity="warning",
                zh="{quarter} 个人目标合计 {owners:g} 比团队总目标 {team:g} 高 {margin:.1%},"
                   "不在 {low:.0%}-{high:.0%} 之间",
                en="{quarter}: owners' targets {owners:g} are {margin:.1%} above the team "
                   "total {team:g}, outside {low:.0%}-{high:.0%}")
R_UNSIGNED = Rule(id="T1.unsigned", severity="warning",
                  zh="{quarter} 已开始,{owner} 的目标尚未由{who}签字确认",
                  en="{quarter} has started and {owner}'s target is not signed by {who}")
R_QUARTER = Rule(id="T1.quarter_format", severity="error",
                 zh="季度“{value}”格式不对,应为 2024Q1", en="quarter '{value}' is not like 2024Q1")
R_NO_TEAM = Rule(id="T1.no_team_target", severity="warning",
                 zh="{quarter} 没有团队总目标,无法检查弹性空间",
                 en="{quarter} has no team total, so the margin cannot be checked")
RULES = (R_SPLIT, R_MARGIN, R_UNSIGNED, R_QUARTER, R_NO_TEAM)
QUARTER_RE = re.compile(r"^\d{4}Q[1-4]$")


def quarter_ok(values: pd.Series) -> pd.Series:
    """Whether each value is a quarter (2024Q1, or a spelling the one quarter parser reads:
    2024q1, 2024年第一季度 …; blank: False)."""
    canon = canonical_quarters(values)
    return canon.str.fullmatch(QUARTER_RE.pattern).fillna(False).astype(bool)


def _bad_quarters(table: Table) -> list[tuple[int, int, Finding]]:
    q = table.df["quarter"]
    bad = q.notna() & ~quarter_ok(q)
    return [(row, 1, table.finding(R_QUARTER, row, "quarter", value=value))
            for row, value in q[bad].items()]


def check_targets(table: Table, ctx: Context) -> list[Finding]:
    """Monthly split, signatures (spec §2 T1)."""
    import pandas as pd

    df = table.df
    lang = table.lang
    out = _bad_quarters(table)
    months = df[["month1", "month2", "month3"]]
    target = df["quarterly_target"]
    split = months.sum(axis=1, min_count=1)
    off = (target.notna() & split.notna() & ((split - target).abs() > 0.005)).fillna(False)
    for row in df.index[off]:
        cell = next(k for k in ("month3", "month2", "month1") if pd.notna(df.at[row, k]))
        out.append((row, 0, table.finding(R_SPLIT, row, cell, split=float(split[row]),
                                          target=float(target[row]),
                                          gap=float(split[row] - target[row]))))
    quarter = df["quarter"]
    good = quarter_ok(quarter)
    starts = quarter[good].map(_quarter_start)
    started = pd.Series(False, index=df.index)
    started[good] = starts <= ctx.today
    who = {"owner_signed": Label("负责人", "the owner"),
           "manager_signed": Label("主管", "the manager")}
    unsigned = {k: df[k].isna() for k in who}
    missing_any = started & (unsigned["owner_signed"] | unsigned["manager_signed"])
    for row in df.index[missing_any]:
        missing = [k for k in who if unsigned[k][row]]
        out.append((row, 2, table.finding(
            R_UNSIGNED, row, missing[0], quarter=quarter[row],
            owner=df.at[row, "owner"] if pd.notna(df.at[row, "owner"]) else "?",
            who=AND(lang).join(who[k](lang) for k in missing))))
    return in_row_order(out)


def _quarter_start(quarter: str) -> dt.date:
    year, months = quarter_months(quarter)
    return dt.date(year, months[0], 1)


def check_team_targets(table: Table, ctx: Context) -> list[Finding]:
    """Owners' sum 10%-15% above the team total (spec §2 T1, seed §四)."""
    from xlsales.figures import margin_ok, target_margin

    owners = ctx.tables.get("targets")
    if owners is None:
        return []
    out = _bad_quarters(table)
    low, high = ctx.settings.general.target_margin_low, ctx.settings.general.target_margin_high
    df = table.df
    good = df[quarter_ok(df["quarter"])]
    teams = {}
    for row, quarter in canonical_quarters(good["quarter"]).items():
        teams[quarter] = row
    od = owners.df
    owner_q = canonical_quarters(od["quarter"])
    for quarter, row in teams.items():
        total = df.at[row, "team_target"]
        values = od.loc[owner_q == quarter, "quarterly_target"].fillna(0.0).tolist()
        margin = target_margin(values, 0.0 if total != total else float(total))
        if margin is not None and not margin_ok(margin, low, high):
            out.append((row, 0, table.finding(R_MARGIN, row, "team_target", quarter=quarter,
                                              owners=sum(values), team=float(total),
                                              margin=margin, low=low, high=high)))
    findings = in_row_order(out)
    quarters = set(owner_q.dropna())
    for quarter in sorted(quarters - teams.keys()):
        if QUARTER_RE.match(quarter):
            findings.append(table.finding(R_NO_TEAM, None, None, quarter=quarter))
    return findings
