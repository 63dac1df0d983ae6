"""T2 销售日报: one row per rep per working day."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from xlsales.i18n import Label
from xlsales.tables.base import CondFormat, Kind, TableSpec, col


class DailyRow(BaseModel):
    """A rep's report for one day."""

    date: dt.date
    rep: str
    visits: int = Field(ge=0)
    effective: int = Field(ge=0)
    new_customers: int = Field(default=0, ge=0)
    proposals: int = Field(default=0, ge=0)
    amount_signed: float = Field(default=0.0, ge=0)
    stage_moves: str | None = None
    problems: str | None = None
    next_plan: str | None = None
    submitted_at: dt.datetime | None = None


_COUNT_HINT = ("填写≥0的整数", "A whole number ≥ 0")

DAILY = TableSpec(
    key="daily",
    name="DailyReport",
    sheet=Label("销售日报", "Daily report"),
    title=Label("销售日报", "Daily sales report"),
    model=DailyRow,
    blank_rows=30,
    columns=(
        col("date", "日期", "Date", Kind.DATE, 12, required=True,
            hint=("报告日期(工作日)", "Report date (a working day)")),
        col("rep", "销售代表", "Rep", Kind.CHOICE, 10, required=True, choices="reps"),
        col("visits", "拜访客户数", "Visits", Kind.INT, 11, required=True, minimum=0,
            hint=_COUNT_HINT, aliases=("拜访数", "拜访客户", "客户拜访数")),
        col("effective", "有效沟通客户数", "Effective conversations", Kind.INT, 14,
            required=True, minimum=0, hint=("不超过拜访客户数", "No more than visits"),
            aliases=("有效沟通数", "有效沟通", "Effective")),
        col("new_customers", "新客户数", "New customers", Kind.INT, 10, minimum=0,
            hint=_COUNT_HINT),
        col("proposals", "方案提交数", "Proposals", Kind.INT, 10, minimum=0, hint=_COUNT_HINT),
        col("amount_signed", "成交金额(万元)", "Amount signed (10k CNY)", Kind.AMOUNT, 13,
            minimum=0, hint=("单位:万元", "In 10,000 CNY"), aliases=("成交金额", "签约金额")),
        col("stage_moves", "商机阶段", "Stage moves", Kind.LONG_TEXT, 34,
            hint=("例:客户C:需求分析→方案提交;多条用;分隔",
                  "e.g. Customer C:Needs analysis→Proposal; separate with ;"),
            aliases=("商机阶段(如:需求分析→方案提交)", "商机阶段变化", "推进中的商机阶段")),
        col("problems", "遇到问题", "Problems", Kind.LONG_TEXT, 26, aliases=("遇到的问题",)),
        col("next_plan", "次日计划", "Next-day plan", Kind.LONG_TEXT, 30, required=True),
        col("submitted_at", "提交时间", "Submitted at", Kind.DATETIME, 16,
            hint=("下班前提交,如 2024-03-01 17:30", "Before the end of the day")),
    ),
    formats=(
        CondFormat("effective", "N({effective})>N({visits})", "bad"),
        CondFormat("next_plan", 'AND({rep}<>"",{next_plan}="")', "warn"),
    ),
    notes=Label("每个工作日下班前每位销售代表填写一行;有效沟通客户数不超过拜访客户数。",
                "One row per rep per working day, before leaving; effective conversations "
                "never exceed visits."),
)

TABLES = (DAILY,)
