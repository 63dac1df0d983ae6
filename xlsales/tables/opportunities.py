"""T7 商机跟踪表: opportunities and their stage history."""

from __future__ import annotations

from typing import TYPE_CHECKING

from xlsales.findings import Finding, Rule, in_row_order
from xlsales.i18n import Label
from xlsales.tables.base import CondFormat, Kind, TableSpec, col, person_aliases, typed_scale

if TYPE_CHECKING:
    from xlsales.context import Context
    from xlsales.frames import Table


OPPORTUNITIES = TableSpec(
    key="opportunities",
    name="Opportunities",
    sheet=Label("商机", "Opportunities"),
    title=Label("商机/销售进度跟踪表", "Opportunity tracker"),
    blank_rows=20,
    columns=(
        col("opp_id", "商机编号", "Opportunity ID", width=11, required=True),
        col("name", "商机名称", "Opportunity", width=26, required=True),
        col("customer", "客户名称", "Customer", width=24, required=True),
        col("owner", "负责人", "Owner", Kind.CHOICE, 10, required=True, choices="reps",
            aliases=person_aliases("商机负责人")),
        col("product_line", "产品线", "Product line", Kind.CHOICE, 10, choices="product_lines"),
        col("stage", "商机阶段", "Stage", Kind.CHOICE, 12, required=True, choices="stages",
            aliases=("阶段",)),
        col("stage_entered", "进入阶段日期", "Stage entered", Kind.DATE, 12, required=True),
        col("amount", "金额(万元)", "Amount (10k CNY)", Kind.AMOUNT, 11, required=True,
            minimum=0, aliases=("预计金额", "商机金额")),
        col("probability", "赢单概率", "Win probability", Kind.PERCENT, 10,
            formula='IF({stage}="","",IFERROR(VLOOKUP({stage},xs_stage_prob,2,FALSE),""))'),
        col("weighted", "加权金额(万元)", "Weighted (10k CNY)", Kind.AMOUNT, 12,
            formula='IF({probability}="","",{amount}*{probability})'),
        col("expected_close", "预计成交日期", "Expected close", Kind.DATE, 12),
        col("urgency", "需求紧迫性", "Urgency", Kind.CHOICE, 9, choices="assessment"),
        col("budget_fit", "预算匹配度", "Budget fit", Kind.CHOICE, 9, choices="assessment"),
        col("decision_clarity", "决策链清晰度", "Decision clarity", Kind.CHOICE, 10,
            choices="assessment"),
        col("assessment", "综合评估", "Assessment", Kind.CHOICE, 9, choices="assessment"),
        col("created_on", "创建日期", "Created on", Kind.DATE, 12),
        col("closed_on", "结单日期", "Closed on", Kind.DATE, 12),
        col("lost_reason", "输单原因", "Lost reason", width=20),
    ),
    formats=(
        CondFormat("expected_close", 'AND(ISNUMBER({expected_close}),{expected_close}<TODAY(),'
                   'N({probability})>0,N({probability})<1)', "warn"),
    ),
)

STAGE_HISTORY = TableSpec(
    key="stage_history",
    name="StageHistory",
    sheet=Label("商机阶段记录", "Stage history"),
    title=Label("商机阶段变更记录", "Opportunity stage history"),
    blank_rows=20,
    columns=(
        col("opp_id", "商机编号", "Opportunity ID", width=11, required=True),
        col("customer", "客户名称", "Customer", width=24),
        col("from_stage", "原阶段", "From stage", Kind.CHOICE, 12, choices="stages"),
        col("to_stage", "新阶段", "To stage", Kind.CHOICE, 12, required=True, choices="stages"),
        col("date", "变更日期", "Date", Kind.DATE, 12, required=True),
        col("owner", "负责人", "Owner", Kind.CHOICE, 10, choices="reps",
            aliases=person_aliases()),
        col("note", "备注", "Note", width=24),
    ),
)

TABLES = (OPPORTUNITIES, STAGE_HISTORY)


# -- rules -------------------------------------------------------------------------

R_DUPLICATE_ID = Rule(id="T7.duplicate_id", severity="error",
                      zh="商机编号 {value} 与第 {other} 行重复",
                      en="opportunity ID {value} repeats row {other}")
R_FUTURE_STAGE = Rule(id="T7.stage_entered_future", severity="error",
                      zh="进入阶段日期 {date} 在今天之后",
                      en="stage entered on {date}, after today")
R_LOST_REASON = Rule(id="T7.lost_without_reason", severity="warning",
                     zh="输单商机请填写输单原因", en="a lost opportunity needs a reason")
R_CLOSE_PAST = Rule(id="T7.expected_close_past", severity="warning",
                    zh="预计成交日期 {date} 已过,商机仍在“{stage}”",
                    en="expected close {date} has passed and the opportunity is still in "
                       "'{stage}'")
R_NO_CLOSE = Rule(id="T7.no_expected_close", severity="warning",
                  zh="进行中的商机没有预计成交日期,不计入任何周期的加权预测",
                  en="an open opportunity without an expected close date counts in no "
                     "period's weighted forecast")
R_OUTLIER = Rule(id="T7.implausible_amount", severity="warning",
                 zh="{column}:{value} 远高于平时({usual}),请核对",
                 en="{column}: {value} is far above the usual ({usual}); please check")
R_YUAN = Rule(id="T7.amount_in_yuan", severity="warning",
              zh="{column}:{usual};{value} 像是把元填进了万元列(即 {converted} 万元)",
              en="{column}: {usual}; {value} looks like yuan typed into a 10k-yuan "
                 "column ({converted} × 10k)")
RULES = (R_DUPLICATE_ID, R_FUTURE_STAGE, R_LOST_REASON, R_CLOSE_PAST, R_NO_CLOSE,
         R_OUTLIER, R_YUAN)


def check_opportunities(table: Table, ctx: Context) -> list[Finding]:
    """IDs, dates, lost reasons, slipped close dates (spec §2 T7)."""
    import pandas as pd

    from xlsales.tables.customers import first_holder

    df = table.df
    out: list[tuple[int, int, Finding]] = []
    ids = df["opp_id"].astype(object).where(df["opp_id"].notna(), None)
    first = first_holder(ids)
    for row, holder in first[first != first.index.to_series()].items():
        out.append((row, 0, table.finding(R_DUPLICATE_ID, row, "opp_id", value=ids[row],
                                          other=int(holder))))
    today = pd.Timestamp(ctx.today)
    entered = df["stage_entered"]
    for row, d in entered[(entered > today).fillna(False)].items():
        out.append((row, 1, table.finding(R_FUTURE_STAGE, row, "stage_entered", date=d.date())))
    lookups = ctx.settings.lookups()
    stages = df["stage"].map(lambda v: lookups.stage(v) if isinstance(v, str) else None)
    kinds = stages.map(lambda st: st.kind if st is not None else None)
    for row in df.index[(kinds == "lost") & df["lost_reason"].isna()]:
        out.append((row, 2, table.finding(R_LOST_REASON, row, "lost_reason")))
    close = df["expected_close"]
    slipped = (kinds == "open") & (close < today).fillna(False)
    for row in df.index[slipped]:
        out.append((row, 3, table.finding(R_CLOSE_PAST, row, "expected_close",
                                          date=close[row].date(),
                                          stage=stages[row].label(table.lang))))
    for row in df.index[(kinds == "open") & close.isna()]:
        out.append((row, 3, table.finding(R_NO_CLOSE, row, "expected_close")))
    out += _amounts(table)
    return in_row_order(out)


def _amounts(table: Table) -> list[tuple[int, int, Finding]]:
    """An amount far above what the owner and the team usually enter, or one that looks
    like 元 typed into the 万元 column (:mod:`xlsales.plausible`)."""
    from xlsales.plausible import number, outliers, usual_text

    if "amount" not in table.headers:
        return []
    odd = outliers(table.df["amount"], table.df["owner"], yuan=True,
                   scale=typed_scale(table.headers["amount"], table.spec.column("amount")))
    out = []
    for row, o in zip(odd.index, odd.itertuples(), strict=True):
        out.append((row, 4, table.finding(
            R_YUAN if o.yuan else R_OUTLIER, row, "amount", column=table.headers["amount"],
            value=number(o.value), usual=usual_text(o.who, o.own, o.team, table.lang),
            converted=number(o.converted))))
    return out
