"""T4 月度业绩复盘分析表: the monthly review."""

from __future__ import annotations

from xlsales.i18n import Label
from xlsales.tables.base import CondFormat, Kind, TableSpec, col

REVIEW = TableSpec(
    key="review",
    name="MonthlyReview",
    sheet=Label("月度复盘", "Monthly review"),
    title=Label("月度业绩复盘分析表", "Monthly performance review"),
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


HORIZONTAL = TableSpec(
    key="review_horizontal",
    name="Comparison",
    sheet=Label("横向对比", "Comparison"),
    title=Label("横向对比:代表、区域、产品线", "Side by side: reps, regions, product lines"),
    blank_rows=0,
    columns=(
        col("level", "层级", "Level", width=8),
        col("name", "名称", "Name", width=12),
        col("rank", "排名", "Rank", Kind.INT, 6),
        col("mark", "标记", "Mark", width=10),
        col("sales", "销售额(万元)", "Sales (10k CNY)", Kind.AMOUNT, 11),
        col("quota", "目标(万元)", "Quota (10k CNY)", Kind.AMOUNT, 11),
        col("completion", "完成率", "Completion", Kind.PERCENT, 9,
            formula='IF(N({quota})=0,"{na}",{sales}/{quota})'),
        col("new_customers", "新客户数", "New customers", Kind.INT, 9),
        col("visits", "拜访客户数", "Visits", Kind.INT, 9),
        col("proposals", "方案提交数", "Proposals", Kind.INT, 9),
        col("avg_deal", "客单价(万元)", "Average deal", Kind.AMOUNT, 10),
        col("conversion", "转化率", "Conversion", Kind.PERCENT, 9),
        col("win_rate", "赢单率", "Win rate", Kind.PERCENT, 9),
        col("target_line", "目标线", "Target line", Kind.PERCENT, 8),
    ),
    formats=(
        CondFormat("completion", 'AND(ISNUMBER({completion}),{completion}<'
                   '{opt:completion_threshold})', "bad"),
        CondFormat("mark", 'LEFT({mark},3)="TOP"', "good"),
        CondFormat("mark", '{mark}="⚠"', "bad"),
    ),
)


TREND = TableSpec(
    key="review_trend",
    name="Trend",
    sheet=Label("纵向趋势", "Trend"),
    title=Label("纵向对比:近6个月", "Over time: the last six months"),
    blank_rows=0,
    columns=(
        col("month", "月份", "Month", width=9),
        col("sales", "销售额(万元)", "Sales (10k CNY)", Kind.AMOUNT, 11),
        col("completion", "目标完成率", "Completion", Kind.PERCENT, 10),
        col("new_customers", "新客户数", "New customers", Kind.INT, 9),
        col("avg_deal", "客单价(万元)", "Average deal", Kind.AMOUNT, 10),
        col("conversion", "转化率", "Conversion", Kind.PERCENT, 9),
        col("visits", "拜访客户数", "Visits", Kind.INT, 9),
        col("proposals", "方案提交数", "Proposals", Kind.INT, 9),
        col("win_rate", "赢单率", "Win rate", Kind.PERCENT, 9),
    ),
)


CASES = TableSpec(
    key="review_cases",
    name="Cases",
    sheet=Label("案例复盘", "Cases"),
    title=Label("案例复盘:本期最大的成交与输单", "Case review: the largest deal won and lost"),
    blank_rows=0,
    columns=(
        col("kind", "类型", "Kind", width=8),
        col("opp_id", "商机编号", "Opportunity ID", width=11),
        col("customer", "客户名称", "Customer", width=24),
        col("owner", "负责人", "Owner", width=9),
        col("amount", "金额(万元)", "Amount (10k CNY)", Kind.AMOUNT, 10),
        col("closed_on", "结单日期", "Closed on", Kind.DATE, 11),
        col("days", "周期(天)", "Cycle (days)", Kind.INT, 9),
        col("history", "阶段历程", "Stage history", Kind.LONG_TEXT, 60),
        col("lost_reason", "输单原因", "Lost reason", width=14),
        col("lesson", "经验教训(主管填写)", "Lessons (manager)", Kind.LONG_TEXT, 30),
    ),
)

TABLES = (REVIEW, HORIZONTAL, TREND, CASES)
