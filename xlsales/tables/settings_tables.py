"""The settings workbook's tables: options, roster, lists, stages, tiers, calendar."""

from __future__ import annotations

from xlsales.findings import Rule
from xlsales.i18n import Label
from xlsales.tables.base import Kind, TableSpec, col

R_OPTION = Rule(id="settings.option", severity="error",
                zh="设置项 {key} 的值 {value!r} 无效({detail}),已改用默认值 {default}",
                en="setting {key}: {value!r} is not valid ({detail}); the default {default} "
                   "is used")
R_ROW_LEFT_OUT = Rule(id="settings.row_left_out", severity="error",
                      zh="{column}:这一行无效({detail}),已忽略",
                      en="{column}: this row is not valid ({detail}); it is left out")
R_UNASSIGNED = Rule(id="settings.unassigned", severity="warning",
                    zh="{column}:{rep} 没有填写,计入“未分配”",
                    en="{column}: blank for {rep}, who counts under \"unassigned\"")
R_NO_TABLE = Rule(id="settings.no_table", severity="warning",
                  zh="设置工作簿里没有「{table}」表,使用默认设置",
                  en="the settings workbook has no {table} table; the defaults are used")
RULES = (R_OPTION, R_ROW_LEFT_OUT, R_UNASSIGNED, R_NO_TABLE)

OPTIONS = TableSpec(
    key="options",
    name="Options",
    sheet=Label("常规设置", "Options"),
    title=Label("常规设置", "Options"),
    blank_rows=0,
    columns=(
        col("label", "设置项", "Option", width=22),
        col("value", "值", "Value", width=14, required=True),
        col("description", "说明", "Description", Kind.LONG_TEXT, 50),
        col("key", "代码", "Key", width=22, required=True),
    ),
    notes=Label("只修改“值”一列;代码列供程序识别,请勿改动。",
                "Edit the Value column only; the Key column is read by xlsales."),
)

ROSTER = TableSpec(
    key="roster",
    name="Roster",
    sheet=Label("销售团队", "Roster"),
    title=Label("销售团队花名册", "Team roster"),
    blank_rows=10,
    columns=(
        col("rep", "销售代表", "Rep", width=10, required=True,
            aliases=("姓名", "业务员", "销售人员", "销售员", "Name", "Sales rep", "Salesperson")),
        col("region", "区域", "Region", Kind.CHOICE, 10, required=True, choices="regions"),
        col("product_line", "产品线", "Product line", Kind.CHOICE, 10, required=True,
            choices="product_lines"),
        col("manager", "直属主管", "Manager", width=10),
        col("start_date", "入职日期", "Start date", Kind.DATE, 12),
        col("end_date", "离职日期", "End date", Kind.DATE, 12),
        col("email", "邮箱", "Email", width=24),
        col("leave", "休假日期", "Leave days", width=28,
            hint=("如 2024-03-04~2024-03-06; 2024-03-15(休假日不计缺报)",
                  "e.g. 2024-03-04~2024-03-06; 2024-03-15 (not counted as missing)")),
    ),
)

LISTS = TableSpec(
    key="lists",
    name="Lists",
    sheet=Label("下拉选项", "Dropdowns"),
    title=Label("下拉选项(区域、产品线、行业等)", "Dropdown lists (regions, product lines …)"),
    blank_rows=10,
    columns=(
        col("list", "列表", "List", width=16, required=True),
        col("zh", "中文", "Chinese", width=16),
        col("en", "English", "English", width=18, aliases=("英文",)),
        col("order", "顺序", "Order", Kind.INT, 8),
    ),
    notes=Label("列表代码:regions 区域, product_lines 产品线, industries 行业 …;"
                "可增删行,修改后运行 xlsales settings sync 更新各表下拉框。",
                "List codes: regions, product_lines, industries …; add or remove rows, then "
                "run xlsales settings sync to refresh the dropdowns."),
)

STAGES = TableSpec(
    key="stages",
    name="Stages",
    sheet=Label("商机阶段", "Stages"),
    title=Label("商机阶段与赢单概率", "Stages and win probabilities"),
    blank_rows=2,
    columns=(
        col("order", "顺序", "Order", Kind.INT, 8, required=True),
        col("zh", "阶段", "Stage (Chinese)", width=16, required=True),
        col("en", "英文名", "Stage", width=18),
        col("probability", "赢单概率", "Win probability", Kind.PERCENT, 11, required=True,
            minimum=0, maximum=1),
        col("kind", "类型", "Kind", width=10, hint=("open 进行中 / won 赢单 / lost 输单",
                                                   "open / won / lost")),
        col("max_days", "停留预警(天)", "Alert after (days)", Kind.INT, 13, minimum=1),
        col("ideal_conversion", "理想转化率", "Ideal conversion", Kind.PERCENT, 11,
            minimum=0, maximum=1, hint=("进入下一阶段的理想比例(漏斗)",
                                        "Ideal share reaching the next stage (funnel)")),
    ),
)

FOLLOWUP_RULES = TableSpec(
    key="followup_rules",
    name="FollowUpRules",
    sheet=Label("跟进规则", "Follow-up rules"),
    title=Label("跟进时限规则(客户等级节奏见“客户等级”)",
                "Follow-up deadlines (tier cadences are on the Tiers sheet)"),
    blank_rows=0,
    columns=(
        col("zh", "规则", "Rule (Chinese)", width=30),
        col("en", "英文名", "Rule", width=36),
        col("days", "天数", "Days", Kind.INT, 8, required=True, minimum=0),
        col("working_days", "按工作日", "Working days", Kind.CHOICE, 10, choices="yes_no"),
        col("enabled", "启用", "Enabled", Kind.CHOICE, 8, choices="yes_no"),
        col("rule", "代码", "Key", width=20, required=True),
    ),
    notes=Label("只修改天数、按工作日、启用;代码列供程序识别。",
                "Edit days, working days and enabled; the Key column is read by xlsales."),
)

TIERS = TableSpec(
    key="tiers",
    name="Tiers",
    sheet=Label("客户等级", "Tiers"),
    title=Label("客户分级与跟进节奏", "Customer tiers and follow-up cadence"),
    blank_rows=0,
    columns=(
        col("tier", "等级", "Tier", width=8, required=True),
        col("zh", "说明", "Description (Chinese)", width=14),
        col("en", "英文说明", "Description", width=16),
        col("contact", "跟进方式", "Contact", Kind.CHOICE, 10, required=True,
            choices="contact_kinds"),
        col("interval_days", "间隔(天)", "Every (days)", Kind.INT, 10, required=True,
            minimum=1),
        col("extra_contact", "附加跟进", "Extra contact", Kind.CHOICE, 12,
            choices="contact_kinds"),
        col("extra_interval_days", "附加间隔(天)", "Extra every (days)", Kind.INT, 13,
            minimum=1),
    ),
)

CALENDAR = TableSpec(
    key="calendar",
    name="CalendarOverrides",
    sheet=Label("日历调整", "Calendar"),
    title=Label("团队日历调整(在法定节假日与调休之外)",
                "Team calendar overrides (on top of the statutory calendar)"),
    blank_rows=10,
    columns=(
        col("date", "日期", "Date", Kind.DATE, 12, required=True),
        col("kind", "类型", "Kind", width=10, required=True,
            hint=("休息日 或 工作日", "Day off or Working day")),
        col("note", "说明", "Note", width=30),
    ),
)

AGENDA_TEMPLATE = TableSpec(
    key="agenda_template",
    name="AgendaTemplate",
    sheet=Label("周会议程模板", "Meeting agenda"),
    title=Label("周会固定议程(xlsales agenda 使用;合计不超过周会时长上限)",
                "Standing agenda of the weekly meeting (used by xlsales agenda)"),
    blank_rows=2,
    columns=(
        col("no", "序号", "No.", Kind.INT, 6, required=True, minimum=1),
        col("item", "议程内容", "Agenda item", Kind.LONG_TEXT, 34, required=True),
        col("owner", "负责人", "Owner", width=12),
        col("minutes", "时长(分钟)", "Minutes", Kind.INT, 10, required=True, minimum=0,
            total="sum"),
        col("materials", "输出材料", "Output materials", width=24),
    ),
    extra={"total_limit": ("minutes", "meeting_max_minutes")},
)

TABLES = (OPTIONS, ROSTER, LISTS, STAGES, TIERS, FOLLOWUP_RULES, AGENDA_TEMPLATE, CALENDAR)
