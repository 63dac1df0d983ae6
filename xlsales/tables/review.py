"""T4 月度业绩复盘分析表: the monthly review."""

from __future__ import annotations

from pydantic import BaseModel

from xlsales.i18n import Label
from xlsales.tables.base import CondFormat, Kind, TableSpec, col


class ReviewRow(BaseModel):
    """One metric of the monthly review; cause..due are the manager's words."""

    dimension: str
    metric: str
    target: float | None = None
    actual: float | None = None
    cause: str | None = None
    improvement: str | None = None
    owner: str | None = None
    due: str | None = None


REVIEW = TableSpec(
    key="review",
    name="MonthlyReview",
    sheet=Label("月度复盘", "Monthly review"),
    title=Label("月度业绩复盘分析表", "Monthly performance review"),
    model=ReviewRow,
    blank_rows=12,
    columns=(
        col("dimension", "分析维度", "Dimension", width=12, required=True),
        col("metric", "具体指标", "Metric", width=24, required=True),
        col("target", "目标值", "Target", Kind.NUMBER, 11),
        col("actual", "实际值", "Actual", Kind.NUMBER, 11),
        col("completion", "完成率", "Completion", Kind.PERCENT, 10,
            formula='IF(OR({target}="",{actual}=""),"",IF(N({target})=0,"{na}",'
                    '{actual}/{target}))'),
        col("cause", "差异原因分析", "Cause of the gap", Kind.LONG_TEXT, 28),
        col("improvement", "改进措施", "Improvement", Kind.LONG_TEXT, 28),
        col("owner", "责任人", "Owner", width=10),
        col("due", "完成时间", "Due", width=14),
    ),
    formats=(
        CondFormat("completion", 'AND(ISNUMBER({completion}),{completion}<1)', "bad"),
        CondFormat("completion", 'AND(ISNUMBER({completion}),{completion}>=1)', "good"),
    ),
    notes=Label("差异原因、改进措施、责任人、完成时间由主管填写,重新生成时保留。",
                "Cause, improvement, owner and due are the manager's; regenerating keeps them."),
)

TABLES = (REVIEW,)
