"""T3 周度销售会议议程表: agenda, action items and minutes."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from xlsales.i18n import Label
from xlsales.tables.base import CondFormat, Kind, TableSpec, col


class AgendaRow(BaseModel):
    """One agenda item of a weekly meeting."""

    topic: str | None = None
    time: str | None = None
    no: int | None = None
    item: str
    owner: str | None = None
    minutes: int = Field(ge=0)
    materials: str | None = None


class ActionItemRow(BaseModel):
    """An action item agreed in a meeting."""

    week: str | None = None
    item: str
    owner: str | None = None
    due: dt.date | None = None
    status: str | None = None
    deliverable: str | None = None
    note: str | None = None


class MinutesRow(BaseModel):
    """The minutes of one meeting."""

    meeting_at: dt.datetime
    attendees: str | None = None
    summary: str | None = None
    sent_at: dt.datetime | None = None


AGENDA = TableSpec(
    key="agenda",
    name="Agenda",
    sheet=Label("会议议程", "Agenda"),
    title=Label("周度销售会议议程表", "Weekly sales meeting agenda"),
    model=AgendaRow,
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
    model=ActionItemRow,
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
    model=MinutesRow,
    blank_rows=8,
    columns=(
        col("meeting_at", "会议时间", "Meeting at", Kind.DATETIME, 16, required=True),
        col("due_at", "纪要截止", "Minutes due", Kind.DATETIME, 16,
            formula='IF({meeting_at}="","",{meeting_at}+1)'),
        col("attendees", "参会人员", "Attendees", width=24),
        col("summary", "纪要要点", "Summary", Kind.LONG_TEXT, 40),
        col("sent_at", "发出时间", "Sent at", Kind.DATETIME, 16),
    ),
    formats=(
        CondFormat("sent_at", 'AND({meeting_at}<>"",OR({sent_at}="",{sent_at}>{due_at}))',
                   "warn"),
    ),
    notes=Label("会后24小时内发出会议纪要。", "Minutes go out within 24 hours."),
)

TABLES = (AGENDA, ACTIONS, MINUTES)
