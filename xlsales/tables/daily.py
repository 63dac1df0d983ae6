"""T2 销售日报: one row per rep per working day."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from xlsales.findings import Finding, Rule, in_row_order
from xlsales.i18n import Label
from xlsales.stagemoves import table_moves
from xlsales.tables.base import (
    NAME_ALIASES,
    CondFormat,
    Kind,
    TableSpec,
    col,
    person_aliases,
    typed_scale,
)

if TYPE_CHECKING:
    from xlsales.context import Context
    from xlsales.frames import Table


DAILY_FILE = "daily_report.xlsx"  # the team's shared daily-report workbook in a workspace
_COUNT_HINT = ("填写≥0的整数", "A whole number ≥ 0")

DAILY = TableSpec(
    key="daily",
    name="DailyReport",
    sheet=Label("销售日报", "Daily report"),
    title=Label("销售日报", "Daily sales report"),
    blank_rows=30,
    columns=(
        col("date", "日期", "Date", Kind.DATE, 12, required=True,
            hint=("报告日期(工作日)", "Report date (a working day)"),
            aliases=("日报日期", "填报日期", "汇报日期", "Report date")),
        col("rep", "销售代表", "Rep", Kind.CHOICE, 10, required=True, choices="reps",
            aliases=person_aliases(*NAME_ALIASES, "填报人", "汇报人")),
        col("visits", "拜访客户数", "Visits", Kind.INT, 11, required=True, minimum=0,
            hint=_COUNT_HINT, aliases=("拜访数", "拜访客户", "客户拜访数", "拜访次数", "拜访量")),
        col("effective", "有效沟通客户数", "Effective conversations", Kind.INT, 14,
            required=True, minimum=0, hint=("不超过拜访客户数", "No more than visits"),
            aliases=("有效沟通数", "有效沟通", "Effective")),
        col("new_customers", "新客户数", "New customers", Kind.INT, 10, minimum=0,
            hint=_COUNT_HINT),
        col("proposals", "方案提交数", "Proposals", Kind.INT, 10, minimum=0, hint=_COUNT_HINT),
        col("amount_signed", "成交金额(万元)", "Amount signed (10k CNY)", Kind.AMOUNT, 13,
            minimum=0, hint=("单位:万元", "In 10,000 CNY"),
            aliases=("成交金额", "签约金额", "签单金额", "成交额", "Signed amount")),
        col("stage_moves", "商机阶段", "Stage moves", Kind.LONG_TEXT, 34,
            hint=("例:客户C:需求分析→方案提交;多条用;分隔",
                  "e.g. Customer C:Needs analysis→Proposal; separate with ;"),
            aliases=("商机阶段(如:需求分析→方案提交)", "商机阶段变化", "推进中的商机阶段")),
        col("problems", "遇到问题", "Problems", Kind.LONG_TEXT, 26,
            aliases=("遇到的问题", "问题与困难", "问题及困难", "困难与问题", "存在问题",
                     "存在的问题", "Issues", "Problems encountered")),
        col("next_plan", "次日计划", "Next-day plan", Kind.LONG_TEXT, 30, required=True,
            aliases=("明日计划", "明天计划", "明日工作计划", "次日工作计划", "明天工作计划",
                     "Next day plan", "Plan for tomorrow", "Tomorrow's plan")),
        col("submitted_at", "提交时间", "Submitted at", Kind.DATETIME, 17,
            hint=("下班前提交,如 2024-03-01 17:30", "Before the end of the day")),
        col("spot_check", "抽查日期", "Spot-checked on", Kind.DATE, 11,
            hint=("主管抽查时由 xlsales 填写", "Filled in by xlsales when picked")),
        col("check_result", "抽查结果", "Check result", Kind.LONG_TEXT, 22,
            hint=("主管填写抽查结论", "The manager's finding")),
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


# -- rules -------------------------------------------------------------------------

R_EFFECTIVE = Rule(id="T2.effective_gt_visits", severity="error",
                   zh="有效沟通客户数({effective})大于拜访客户数({visits})",
                   en="effective conversations ({effective}) exceed visits ({visits})")
R_FUTURE = Rule(id="T2.future_date", severity="error", zh="日期 {date} 在今天({today})之后",
                en="date {date} is after today ({today})")
R_NON_WORKING = Rule(id="T2.non_working_day", severity="warning",
                     zh="{date} 不是工作日", en="{date} is not a working day")
R_DUPLICATE = Rule(id="T2.duplicate_row", severity="error",
                   zh="{rep} 在 {date} 有重复日报(第 {first} 行与第 {second} 行)",
                   en="{rep} reported twice on {date} (rows {first} and {second})")
R_LATE = Rule(id="T2.late", severity="warning",
              zh="提交时间 {submitted} 晚于截止时间 {deadline}",
              en="submitted at {submitted}, after the deadline {deadline}")
R_STAGE_UNKNOWN = Rule(id="T2.stage_unknown", severity="error",
                       zh="商机阶段“{text}”中的阶段不存在:{detail}",
                       en="stage move '{text}' names unknown stages: {detail}")
R_STAGE_UNPARSED = Rule(id="T2.stage_unparsed", severity="error",
                        zh="无法识别商机阶段“{text}”,格式应为 客户:原阶段→新阶段",
                        en="cannot read stage move '{text}'; write customer:from→to")
R_STAGE_BACKWARD = Rule(id="T2.stage_backward", severity="warning",
                        zh="商机阶段倒退:{text}", en="stage moved backwards: {text}")
R_STAGE_SKIPPED = Rule(id="T2.stage_skipped", severity="warning",
                       zh="商机阶段跳过了中间阶段:{text}", en="stage move skips stages: {text}")

R_UNCOVERED = Rule(id="T2.calendar_uncovered", severity="warning",
                   zh="{year} 年的法定节假日数据尚未收录,暂按周一至周五计算工作日;"
                      "请在“日历调整”中补充或升级 chinesecalendar",
                   en="the statutory calendar does not cover {year} yet: working days are "
                      "taken as Monday-Friday; add the year's days in the calendar sheet or "
                      "upgrade chinesecalendar")

R_OUTLIER = Rule(id="T2.implausible_value", severity="warning",
                 zh="{column}:{value} 远高于平时({usual}),请核对",
                 en="{column}: {value} is far above the usual ({usual}); please check")
R_YUAN = Rule(id="T2.amount_in_yuan", severity="warning",
              zh="{column}:{usual};{value} 像是把元填进了万元列(即 {converted} 万元)",
              en="{column}: {usual}; {value} looks like yuan typed into a 10k-yuan "
                 "column ({converted} × 10k)")
R_ALWAYS_EQUAL = Rule(id="T2.effective_always_equal", severity="warning",
                      zh="{rep} 连续 {n} 份日报({first} 至 {last})有效沟通客户数都等于"
                         "拜访客户数,请核实",
                      en="{rep}: effective conversations equal visits in {n} reports running "
                         "({first} – {last}); worth a check")
R_NO_EFFECTIVE = Rule(id="T2.effective_none", severity="warning",
                      zh="{rep} 连续 {n} 份日报({first} 至 {last})共拜访 {visits} 家客户,"
                         "有效沟通都是 0",
                      en="{rep}: {visits} visits over {n} reports running ({first} – {last}) "
                         "and not one effective conversation")

RULES = (R_UNCOVERED, R_EFFECTIVE, R_FUTURE, R_NON_WORKING, R_DUPLICATE, R_LATE, R_STAGE_UNKNOWN,
         R_STAGE_UNPARSED, R_STAGE_BACKWARD, R_STAGE_SKIPPED, R_OUTLIER, R_YUAN, R_ALWAYS_EQUAL,
         R_NO_EFFECTIVE)
# Columns judged against the rep's and the team's usual values (plausible.outliers).
PLAUSIBLE = ("visits", "new_customers", "proposals", "amount_signed")
EQUAL_RUN = 15  # reports in a row with effective = visits: three working weeks
ZERO_RUN, ZERO_VISITS = 5, 20  # reports in a row, visits in them, without an effective one
_MOVE_RULES = {"unknown_stage": R_STAGE_UNKNOWN, "unparsed": R_STAGE_UNPARSED,
               "backward": R_STAGE_BACKWARD, "skipped": R_STAGE_SKIPPED}


def check(table: Table, ctx: Context) -> list[Finding]:
    """The daily report's rules (spec §2 T2), each over whole columns."""
    import numpy as np
    import pandas as pd

    from xlsales.discipline import group_codes

    df = table.df
    out: list[tuple[int, int, Finding]] = []
    day, rep = df["date"], df["rep"]
    has_day = day.notna()
    years = day.dt.year
    for year in sorted(years.dropna().unique().astype(int)):
        if not ctx.calendar.covers(dt.date(year, 1, 1)):
            row = years.index[years == year][0]
            out.append((row, 0, table.finding(R_UNCOVERED, row, "date", year=year)))
    visits, effective = df["visits"], df["effective"]
    over = (effective > visits).fillna(False)
    for row, e, v in zip(df.index[over], effective[over], visits[over], strict=True):
        out.append((row, 1, table.finding(R_EFFECTIVE, row, "effective", effective=int(e),
                                          visits=int(v))))
    today = pd.Timestamp(ctx.today)
    future = has_day & (day > today)
    for row, d in day[future].items():
        out.append((row, 2, table.finding(R_FUTURE, row, "date", date=d.date(),
                                          today=ctx.today)))
    off = has_day & ~future & ~ctx.calendar.working(day)
    for row, d in day[off].items():
        out.append((row, 2, table.finding(R_NON_WORKING, row, "date", date=d.date())))
    keyed = df.loc[has_day & rep.notna(), ["date", "rep"]]  # not the other columns
    dup = keyed.duplicated(["date", "rep"], keep="first")
    if dup.any():
        # each (date, rep)'s first row: codes count in order of appearance, so a row is
        # its key's first when its code is above every code before it
        codes = group_codes(keyed, ["date", "rep"])
        firsts = np.flatnonzero(np.r_[True, codes[1:] > np.maximum.accumulate(codes)[:-1]])
        first = pd.Series(keyed.index.to_numpy()[firsts[codes]], index=keyed.index)
        for row in keyed.index[dup]:
            out.append((row, 3, table.finding(R_DUPLICATE, row, "rep", rep=rep[row],
                                              date=day[row].date(), first=int(first[row]),
                                              second=row)))
    deadline = pd.Timedelta(hours=ctx.settings.general.report_deadline.hour,
                            minutes=ctx.settings.general.report_deadline.minute,
                            seconds=ctx.settings.general.report_deadline.second)
    submitted = df["submitted_at"]
    late = (has_day & submitted.notna() & (submitted > day + deadline)).fillna(False)
    cut = f"{ctx.settings.general.report_deadline:%H:%M}"
    rows = df.index[late]
    texts = submitted[late].dt.strftime("%Y-%m-%d %H:%M").tolist()
    days = day[late].dt.strftime("%Y-%m-%d").tolist()
    out += [(f.row, 4, f) for f in table.findings_at(
        R_LATE, rows, "submitted_at",
        ({"submitted": t, "deadline": f"{d} {cut}"} for t, d in zip(texts, days, strict=True)))]
    moves = table_moves(table, ctx.settings)
    for m in moves[moves["problem"].notna()].itertuples():
        out.append((m.row, 5, table.finding(_MOVE_RULES[m.problem], m.row, "stage_moves",
                                            text=m.text, detail=m.detail)))
    out += plausibility(table)
    return in_row_order(out)


def plausibility(table: Table) -> list[tuple[int, int, Finding]]:
    """Warnings with the rep's own history: a count or amount far above what the rep and
    the team usually report (an amount that looks like 元 typed into the 万元 column), and
    effective conversations that equal visits, or stay at 0, report after report."""
    from xlsales.plausible import Runs, number, outliers, usual_text

    df = table.df
    out: list[tuple[int, int, Finding]] = []
    for key in PLAUSIBLE:
        if key not in table.headers:
            continue
        column = table.headers[key]
        odd = outliers(df[key], df["rep"], yuan=key == "amount_signed",
                       scale=typed_scale(column, table.spec.column(key)))
        for row, o in zip(odd.index, odd.itertuples(), strict=True):
            usual = usual_text(o.who, o.own, o.team, table.lang)
            rule = R_YUAN if o.yuan else R_OUTLIER
            out.append((row, 6, table.finding(rule, row, key, column=column,
                                              value=number(o.value), usual=usual,
                                              converted=number(o.converted))))
    if "visits" not in table.headers or "effective" not in table.headers:
        return out
    visits, effective = df["visits"], df["effective"]
    some = (visits > 0).fillna(False)
    reports = Runs(df["rep"], df["date"])
    found = [(R_ALWAYS_EQUAL, reports.find(some & (effective == visits).fillna(False),
                                           min_n=EQUAL_RUN)),
             (R_NO_EFFECTIVE, reports.find(some & (effective == 0).fillna(False), visits,
                                           min_n=ZERO_RUN, min_total=ZERO_VISITS))]
    for rule, hits in found:
        for r in hits.itertuples():
            out.append((r.row, 7, table.finding(
                rule, r.row, "effective", rep=r.who, n=r.n, visits=int(r.total),
                first=f"{r.first:%Y-%m-%d}", last=f"{r.last:%Y-%m-%d}")))
    return out
