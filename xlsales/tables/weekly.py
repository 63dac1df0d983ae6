"""T2w 销售周报: the weekly report rolled up from the dailies (one sheet per week)."""

from __future__ import annotations

from xlsales.i18n import Label
from xlsales.tables.base import CondFormat, Kind, TableSpec, col

LEVELS = {"rep": Label("代表", "Rep"), "region": Label("区域小计", "Region"),
          "team": Label("团队合计", "Team")}


WEEKLY = TableSpec(
    key="weekly",
    name="Weekly",
    sheet=Label("周报", "Weekly"),
    title=Label("销售周报", "Weekly sales report"),
    blank_rows=0,
    columns=(
        col("week", "周", "Week", width=9),
        col("level", "层级", "Level", width=8),
        col("name", "销售代表/区域", "Rep / region", width=14),
        col("region", "区域", "Region", width=8),
        col("product_line", "产品线", "Product line", width=9),
        col("week_end", "周截止日", "Week ends", Kind.DATE, 11),
        col("expected", "应报天数", "Days expected", Kind.INT, 9),
        col("reported", "已报天数", "Days reported", Kind.INT, 9),
        col("late", "逾期天数", "Days late", Kind.INT, 9),
        col("missing", "缺报天数", "Days missing", Kind.INT, 9),
        col("visits", "拜访客户数", "Visits", Kind.INT, 10),
        col("effective", "有效沟通客户数", "Effective conversations", Kind.INT, 12),
        col("effective_rate", "有效沟通率", "Effective rate", Kind.PERCENT, 10,
            formula='IF(N({visits})=0,"",{effective}/{visits})'),
        col("new_customers", "新客户数", "New customers", Kind.INT, 9),
        col("proposals", "方案提交数", "Proposals", Kind.INT, 9),
        col("amount_signed", "成交金额(万元)", "Amount signed (10k CNY)", Kind.AMOUNT, 12),
        col("target", "周目标(万元)", "Week target (10k CNY)", Kind.AMOUNT, 12),
        col("completion", "目标完成率", "Completion", Kind.PERCENT, 10,
            formula='IF(N({target})=0,"{na}",{amount_signed}/{target})'),
        col("mark", "标记", "Mark", width=8,
            hint=("TOPn:本周前列(达到预警线);▼:低于预警线;⚠:完成率不可信,请核对金额",
                  "TOPn: the week's best (at or above the threshold); ▼: under it; "
                  "⚠: implausible completion, check the amounts")),
        col("progress", "重点客户进展", "Key customer progress", Kind.LONG_TEXT, 48),
        col("problems", "遇到问题", "Problems", Kind.LONG_TEXT, 30),
        col("errors", "数据问题数", "Data errors", Kind.INT, 9),
        col("comment", "主管点评", "Manager's comment", Kind.LONG_TEXT, 30),
    ),
    formats=(
        CondFormat("completion", 'AND(ISNUMBER({completion}),{completion}<1)', "bad"),
        CondFormat("completion", 'AND(ISNUMBER({completion}),{completion}>=1)', "good"),
        CondFormat("missing", "N({missing})>0", "warn"),
        CondFormat("late", "N({late})>0", "warn"),
        CondFormat("mark", 'LEFT({mark},3)="TOP"', "good"),
        CondFormat("mark", '{mark}="⚠"', "bad"),
    ),
    notes=Label("由日报自动汇总;“主管点评”列由主管填写,重新汇总时保留。",
                "Rolled up from the dailies; the comment column is yours and is kept when "
                "the week is rolled up again."),
)

TABLES = (WEEKLY,)


COMPLIANCE = TableSpec(
    key="compliance",
    name="Compliance",
    sheet=Label("日报提交情况", "Compliance"),
    title=Label("日报提交情况(逾期与缺报)", "Daily-report discipline (late and missing)"),
    blank_rows=0,
    columns=(
        col("period", "期间", "Period", width=10),
        col("rep", "销售代表", "Rep", width=10),
        col("expected", "应报天数", "Days expected", Kind.INT, 9),
        col("reported", "已报天数", "Days reported", Kind.INT, 9),
        col("late", "逾期天数", "Days late", Kind.INT, 9),
        col("late_rate", "逾期率", "Late rate", Kind.PERCENT, 9,
            formula='IF(N({reported})=0,"",{late}/{reported})'),
        col("missing", "缺报天数", "Days missing", Kind.INT, 9),
        col("missing_rate", "缺报率", "Missing rate", Kind.PERCENT, 9,
            formula='IF(N({expected})=0,"",{missing}/{expected})'),
        col("late_days", "逾期日期", "Late on", Kind.LONG_TEXT, 30),
        col("missing_days", "缺报日期", "Missing on", Kind.LONG_TEXT, 30),
    ),
    formats=(
        CondFormat("missing", "N({missing})>0", "bad"),
        CondFormat("late", "N({late})>0", "warn"),
    ),
    notes=Label("逾期:提交时间晚于截止时间;缺报:工作日无日报(入职前、离职后不计)。",
                "Late: submitted after the deadline; missing: a working day without a report "
                "(before the start date or after the end date does not count)."),
)

TABLES = (WEEKLY, COMPLIANCE)
