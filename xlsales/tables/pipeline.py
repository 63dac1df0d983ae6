"""Forecast and funnel report tables (seed 001), written by ``xlsales forecast``/``funnel``."""

from __future__ import annotations

from xlsales.i18n import Label
from xlsales.tables.base import CondFormat, Kind, TableSpec, col

LEVELS = {"rep": Label("代表", "Rep"), "region": Label("区域", "Region"),
          "product": Label("产品线", "Product line"), "team": Label("团队", "Team")}
CATEGORIES = {"commit": Label("承诺", "Commit"), "best_case": Label("最佳情况", "Best case"),
              "pipeline": Label("储备", "Pipeline")}


def _by_level(column: str, extra: str = "") -> str:
    """SUMIFS over the forecast lines, matching the row's level and key."""
    lines = "{ForecastLines." + column + "}"
    cond = extra
    return (f'IF({{level}}="{{t:代表|Rep}}",'
            f'SUMIFS({lines},{{ForecastLines.owner}},{{key}}{cond}),'
            f'IF({{level}}="{{t:区域|Region}}",'
            f'SUMIFS({lines},{{ForecastLines.region}},{{key}}{cond}),'
            f'IF({{level}}="{{t:产品线|Product line}}",'
            f'SUMIFS({lines},{{ForecastLines.product_line}},{{key}}{cond}),'
            f'SUMIFS({lines},{{ForecastLines.owner}},"<>"{cond}))))')


def _category(zh: str, en: str) -> str:
    """The weighted sum of one forecast category."""
    return _by_level("weighted", f',{{ForecastLines.category}},"{{t:{zh}|{en}}}"')


FORECAST_LINES = TableSpec(
    key="forecast_lines",
    name="ForecastLines",
    sheet=Label("预测明细", "Forecast lines"),
    title=Label("预测明细:本期预计成交的在途商机", "Open opportunities expected to close"),
    blank_rows=0,
    columns=(
        col("opp_id", "商机编号", "Opportunity ID", width=11),
        col("customer", "客户名称", "Customer", width=26),
        col("owner", "负责人", "Owner", width=9),
        col("region", "区域", "Region", width=8),
        col("product_line", "产品线", "Product line", width=9),
        col("stage", "商机阶段", "Stage", width=12),
        col("expected_close", "预计成交日期", "Expected close", Kind.DATE, 12),
        col("amount", "金额(万元)", "Amount (10k CNY)", Kind.AMOUNT, 11),
        col("probability", "赢单概率", "Win probability", Kind.PERCENT, 9),
        col("weighted", "加权金额(万元)", "Weighted (10k CNY)", Kind.AMOUNT, 12,
            formula="{amount}*{probability}"),
        col("category", "预测类别", "Category", width=10),
    ),
)


FORECAST = TableSpec(
    key="forecast",
    name="Forecast",
    sheet=Label("销售预测", "Forecast"),
    title=Label("加权销售预测", "Weighted forecast"),
    blank_rows=0,
    columns=(
        col("level", "层级", "Level", width=8),
        col("key", "名称", "Name", width=14),
        col("quota", "本期目标(万元)", "Quota (10k CNY)", Kind.AMOUNT, 12),
        col("won", "已成交(万元)", "Won (10k CNY)", Kind.AMOUNT, 11),
        col("weighted", "加权预测(万元)", "Weighted (10k CNY)", Kind.AMOUNT, 12,
            formula=_by_level("weighted")),
        col("commit", "承诺", "Commit", Kind.AMOUNT, 10,
            formula=_category("承诺", "Commit")),
        col("best_case", "最佳情况", "Best case", Kind.AMOUNT, 10,
            formula=_category("最佳情况", "Best case")),
        col("pipeline", "储备", "Pipeline", Kind.AMOUNT, 10,
            formula=_category("储备", "Pipeline")),
        col("expected", "预计达成(万元)", "Expected (10k CNY)", Kind.AMOUNT, 12,
            formula="{won}+{weighted}"),
        col("coverage", "覆盖率", "Coverage", Kind.PERCENT, 9,
            formula='IF(N({quota})=0,"{na}",{expected}/{quota})'),
        col("shortage", "缺口(万元)", "Shortage (10k CNY)", Kind.AMOUNT, 11,
            formula='IF(ISNUMBER({quota}),MAX(0,{quota}-{expected}),"")'),
    ),
    formats=(
        CondFormat("coverage", "AND(ISNUMBER({coverage}),{coverage}<1)", "bad"),
        CondFormat("coverage", "AND(ISNUMBER({coverage}),{coverage}>=1)", "good"),
        CondFormat(None, '{level}="{t:团队|Team}"', "warn"),
    ),
    notes=Label("加权预测 = Σ 金额 × 赢单概率(本期预计成交的在途商机);"
                "覆盖率 = (已成交 + 加权预测) ÷ 目标。修改明细中的金额或概率,汇总随之更新。",
                "Weighted = Σ amount × probability over open opportunities expected to close "
                "in the period; coverage = (won + weighted) ÷ quota. Edit the lines and the "
                "summary follows."),
)


# The stage's rate for the reverse calculation: the actual conversion, else (none, or 0 %)
# the ideal one; and what the stage below needs (the deals needed under the last stage).
_RATE = "IF(N({conversion})=0,{ideal},{conversion})"
_BELOW = 'IF({next:stage}="",INDEX({FunnelSummary.deals_needed},1),{next:needed})'

FUNNEL = TableSpec(
    key="funnel",
    name="Funnel",
    sheet=Label("销售漏斗", "Funnel"),
    title=Label("销售漏斗与漏斗反推", "Sales funnel and the reverse calculation"),
    blank_rows=0,
    columns=(
        col("stage", "商机阶段", "Stage", width=14),
        col("open_count", "在途商机数", "Open", Kind.INT, 10),
        col("open_amount", "在途金额(万元)", "Open amount (10k CNY)", Kind.AMOUNT, 12),
        col("entered", "本期进入", "Entered in period", Kind.INT, 10),
        col("advanced", "其中推进", "Of which advanced", Kind.INT, 10),
        col("conversion", "实际转化率", "Actual conversion", Kind.PERCENT, 10,
            formula='IF(N({entered})=0,"",{advanced}/{entered})'),
        col("ideal", "理想转化率", "Ideal conversion", Kind.PERCENT, 10),
        col("needed", "反推所需商机数", "Needed (reverse)", Kind.NUMBER, 12,
            formula=f'IF(N({_RATE})=0,"",IF(ISNUMBER({_BELOW}),{_BELOW}/{_RATE},""))'),
    ),
    formats=(
        CondFormat("conversion", 'AND(ISNUMBER({conversion}),ISNUMBER({ideal}),'
                   '{conversion}<{ideal})', "bad"),
    ),
    notes=Label("实际转化率 = 本期进入该阶段的商机中推进到后续阶段(含成交)的比例;"
                "反推所需商机数 = 目标成交单数 ÷ 该阶段到成交的各级转化率之积。",
                "Actual conversion = share of the opportunities entering a stage in the "
                "period that moved further (won included); needed = deals needed ÷ the "
                "product of the conversions from that stage to won."),
)


FUNNEL_SUMMARY = TableSpec(
    key="funnel_summary",
    name="FunnelSummary",
    sheet=Label("销售漏斗", "Funnel"),
    title=Label("漏斗反推依据", "Basis of the reverse calculation"),
    blank_rows=0,
    columns=(
        col("quota", "本期目标(万元)", "Quota (10k CNY)", Kind.AMOUNT, 14),
        col("quota_basis", "目标口径", "Quota basis", Kind.TEXT, 14,
            hint=("团队目标:团队自己的总目标;个人目标合计:各代表目标相加",
                  "Team target: the team's own total; sum of the reps' targets otherwise")),
        col("won_count", "本期成交单数", "Deals won", Kind.INT, 12),
        col("won_amount", "本期成交金额(万元)", "Won (10k CNY)", Kind.AMOUNT, 14),
        col("average_deal", "平均客单价(万元)", "Average deal (10k CNY)", Kind.AMOUNT, 14),
        col("deals_needed", "目标成交单数", "Deals needed", Kind.NUMBER, 12,
            formula='IF(OR(N({average_deal})=0,NOT(ISNUMBER({quota}))),"",'
                    '{quota}/{average_deal})'),
    ),
)

TABLES = (FORECAST_LINES, FORECAST, FUNNEL, FUNNEL_SUMMARY)
