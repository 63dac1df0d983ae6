"""T3 周度销售会议议程表: agenda, action items and minutes."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from xlsales.findings import Finding, Rule
from xlsales.i18n import Label
from xlsales.tables.base import CondFormat, Kind, TableSpec, col

if TYPE_CHECKING:
    from xlsales.context import Context
    from xlsales.frames import Table


AGENDA = TableSpec(
    key="agenda",
    name="Agenda",
    sheet=Label("会议议程", "Agenda"),
    title=Label("周度销售会议议程表", "Weekly sales meeting agenda"),
    blank_rows=6,
    columns=(
        col("topic", "会议主题", "Topic", width=16),
        col("time", "时间", "Time", width=16, aliases=("会议时间",)),
        col("no", "序号", "No.", Kind.INT, 6, minimum=1),
        col("item", "议程内容", "Agenda item", Kind.LONG_TEXT, 34, required=True),
        col("owner", "负责人", "Owner", width=10),
        col("minutes", "时长(分钟)", "Minutes", Kind.INT, 10, required=True, minimum=0,
            maximum=600, total="sum",
            hint=("周会合计不超过90分钟", "A weekly meeting lasts 90 minutes at most")),
        col("materials", "输出材料", "Output materials", Kind.LONG_TEXT, 28),
    ),
    extra={"total_limit": ("minutes", "meeting_max_minutes")},
    notes=Label("会前2天确定议程;先通报数据(上周团队完成率、个人TOP3);聚焦1-2个核心问题。",
                "Agenda fixed 2 days before; data first (last week's completion, TOP3); "
                "one or two core topics."),
)

ACTIONS = TableSpec(
    key="actions",
    name="ActionItems",
    sheet=Label("行动项", "Action items"),
    title=Label("会议行动项", "Action items"),
    blank_rows=15,
    columns=(
        col("week", "会议周", "Week", width=10, hint=("如 2024-W10", "e.g. 2024-W10")),
        col("item", "行动项", "Action item", Kind.LONG_TEXT, 36, required=True,
            hint=("要具体:如“3月10日前完成客户C方案”", "Be specific: “Send customer C the "
                  "proposal by 10 March”")),
        col("owner", "负责人", "Owner", Kind.CHOICE, 10, required=True, choices="reps",
            strict_choices=False),
        col("due", "完成时间", "Due", Kind.DATE, 12, required=True),
        col("status", "状态", "Status", Kind.CHOICE, 10, choices="action_status"),
        col("deliverable", "交付物", "Deliverable", width=22),
        col("note", "备注", "Note", width=24),
    ),
    formats=(
        CondFormat("due", 'AND({due}<>"",{due}<TODAY(),{status}<>"{v:action_status:已完成}",'
                   '{status}<>"{v:action_status:已取消}")', "bad"),
        CondFormat("owner", 'AND({item}<>"",{owner}="")', "warn"),
    ),
)

MINUTES = TableSpec(
    key="minutes",
    name="Minutes",
    sheet=Label("会议纪要", "Minutes"),
    title=Label("会议纪要", "Meeting minutes"),
    blank_rows=8,
    columns=(
        col("meeting_at", "会议时间", "Meeting at", Kind.DATETIME, 17, required=True),
        col("due_at", "纪要截止", "Minutes due", Kind.DATETIME, 17,
            formula='IF({meeting_at}="","",{meeting_at}+1)'),
        col("attendees", "参会人员", "Attendees", width=24),
        col("summary", "纪要要点", "Summary", Kind.LONG_TEXT, 40),
        col("sent_at", "发出时间", "Sent at", Kind.DATETIME, 17),
    ),
    formats=(
        CondFormat("sent_at", 'AND({meeting_at}<>"",OR({sent_at}="",{sent_at}>{due_at}))',
                   "warn"),
    ),
    notes=Label("会后24小时内发出会议纪要。", "Minutes go out within 24 hours."),
)



# -- rules -------------------------------------------------------------------------

R_TOO_LONG = Rule(id="T3.agenda_too_long", severity="error",
                  zh="会议议程合计 {total} 分钟,超过上限 {limit} 分钟",
                  en="the agenda adds up to {total} minutes, above the {limit}-minute limit")
R_VAGUE = Rule(id="T3.action_vague", severity="warning",
               zh="行动项“{item}”不够具体:请写明交付物和日期(如“3月10日前完成客户C方案”)",
               en="action item '{item}' is not specific: name a deliverable and a date")
RULES = (R_TOO_LONG, R_VAGUE)

# A date or deadline in the text: 3月10日, 3/10, 2024-03-10, 周五前, 本周, by Friday …
_DATE_WORDS = re.compile(r"\d{1,2}\s*月\s*\d{1,2}|\d{1,4}[-/.]\d{1,2}|周[一二三四五六日天]|"
                         r"(?:本|下)周|月底|月末|前完成|before|by\s+\w+day|\bby\s+\d", re.I)
_DELIVERABLE_WORDS = re.compile(r"完成|提交|发送|输出|交付|整理|制定|签约|约见|报价|方案|表|报告|"
                                r"send|deliver|submit|finish|prepare|draft|sign", re.I)


def is_specific(item: str, deliverable: str | None = None, due: object = None) -> bool:
    """An action item names a deliverable and a date (in its text or its columns)."""
    has_date = bool(_DATE_WORDS.search(item)) or due is not None
    has_deliverable = bool(deliverable) or bool(_DELIVERABLE_WORDS.search(item))
    return has_date and has_deliverable


def check_agenda(table: Table, ctx: Context) -> list[Finding]:
    """A weekly meeting lasts at most the configured minutes (default 90)."""
    limit = ctx.settings.general.meeting_max_minutes
    meetings: dict[tuple[object, object], list[object]] = {}
    topic = time = None
    for row in table.rows:
        topic = row.get("topic") or topic
        time = row.get("time") or time
        meetings.setdefault((topic, time), []).append(row)
    out: list[Finding] = []
    for rows in meetings.values():
        total = sum(r.get("minutes") or 0 for r in rows)  # type: ignore[attr-defined]
        if total > limit:
            out.append(table.finding(R_TOO_LONG, rows[-1], "minutes", total=total,  # type: ignore[arg-type]
                                     limit=limit))
    return out


def check_actions(table: Table, ctx: Context) -> list[Finding]:
    """Every action item is specific (owner and due date are required columns)."""
    out: list[Finding] = []
    for row in table.rows:
        item = row.get("item")
        if item and not is_specific(item, row.get("deliverable"), row.get("due")):
            out.append(table.finding(R_VAGUE, row, "item", item=item))
    return out


MEETING_DATA = TableSpec(
    key="meeting_data",
    name="MeetingData",
    sheet=Label("议程", "Agenda"),
    title=Label("一、数据通报(上周)", "1. Last week's figures"),
    blank_rows=0,
    columns=(
        col("metric", "指标", "Figure", width=22),
        col("value", "数值", "Value", width=16),
        col("note", "说明", "Detail", Kind.LONG_TEXT, 60),
    ),
)


CARRIED = TableSpec(
    key="carried_actions",
    name="CarriedActions",
    sheet=Label("议程", "Agenda"),
    title=Label("三、遗留行动项跟进", "3. Open action items carried over"),
    blank_rows=0,
    columns=(
        col("from_week", "提出周", "From week", width=10),
        col("item", "遗留事项", "Open item", Kind.LONG_TEXT, 36),
        col("owner", "责任人", "Responsible", width=10),
        col("due", "原定完成", "Was due", Kind.DATE, 12),
        col("status", "当前状态", "Current status", width=10),
        col("days_overdue", "逾期天数", "Days overdue", Kind.INT, 9),
        col("actionable", "可执行性", "Actionable", width=18),
    ),
    formats=(CondFormat("days_overdue", "N({days_overdue})>0", "bad"),),
)

TABLES = (AGENDA, ACTIONS, MINUTES, MEETING_DATA, CARRIED)
