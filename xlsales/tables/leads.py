"""T6 线索信息表: leads."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from xlsales.findings import Finding, Rule, in_row_order
from xlsales.i18n import Label
from xlsales.normalize import company_key
from xlsales.tables.base import CondFormat, Kind, TableSpec, col, person_aliases

if TYPE_CHECKING:
    from xlsales.context import Context
    from xlsales.frames import Table


LEADS = TableSpec(
    key="leads",
    name="Leads",
    sheet=Label("线索", "Leads"),
    title=Label("线索信息表", "Leads"),
    blank_rows=20,
    columns=(
        col("lead_id", "线索ID", "Lead ID", width=10, required=True, aliases=("线索编号",)),
        col("company", "客户名称", "Company", width=24, required=True),
        col("industry", "所属行业", "Industry", Kind.CHOICE, 10, choices="industries",
            strict_choices=False, aliases=("行业",)),
        col("contact", "联系人", "Contact", width=10),
        col("title", "职务", "Title", width=10),
        col("phone", "联系方式", "Phone", width=15, aliases=("联系电话",)),
        col("needs", "初步需求描述", "Needs", Kind.LONG_TEXT, 28),
        col("source", "线索来源", "Source", Kind.CHOICE, 10, choices="lead_sources",
            strict_choices=False),
        col("priority", "优先级", "Priority", Kind.CHOICE, 8, required=True,
            choices="priorities", hint=("高优先级线索24小时内分配跟进人",
                                        "Assign high-priority leads within 24 hours")),
        col("assignee", "跟进人", "Assignee", Kind.CHOICE, 10, choices="reps",
            aliases=person_aliases("分配给", "Assigned to")),
        col("created_at", "创建时间", "Created at", Kind.DATETIME, 17, required=True),
        col("assigned_at", "分配时间", "Assigned at", Kind.DATETIME, 17),
        col("status", "状态", "Status", width=10),
    ),
    formats=(
        CondFormat("assignee", 'AND({priority}="{v:priorities:高}",{assignee}="",'
                   'ISNUMBER({created_at}),NOW()-{created_at}>1)', "bad"),
    ),
)

TABLES = (LEADS,)


# -- rules -------------------------------------------------------------------------

R_UNASSIGNED = Rule(id="T6.high_priority_unassigned", severity="error",
                    zh="高优先级线索创建已超过24小时({hours:.0f}小时)仍未分配跟进人",
                    en="high-priority lead unassigned {hours:.0f} hours after creation "
                       "(24 allowed)")
R_LATE_ASSIGN = Rule(id="T6.high_priority_assigned_late", severity="warning",
                     zh="高优先级线索在创建 {hours:.0f} 小时后才分配(应在24小时内)",
                     en="high-priority lead assigned {hours:.0f} hours after creation "
                        "(24 allowed)")
R_DUPLICATE = Rule(id="T6.duplicate_lead", severity="warning",
                   zh="与第 {other} 行线索是同一公司“{name}”",
                   en="same company as the lead in row {other} ('{name}')")
RULES = (R_UNASSIGNED, R_LATE_ASSIGN, R_DUPLICATE)
HIGH = "高"
LIMIT = dt.timedelta(hours=24)


def check(table: Table, ctx: Context) -> list[Finding]:
    """High-priority leads get an assignee within 24 hours (spec §2 T6)."""
    import pandas as pd

    from xlsales.tables.customers import first_holder, keyed

    df = table.df
    out: list[tuple[int, int, Finding]] = []
    now = pd.Timestamp(dt.datetime.combine(ctx.today, dt.time(23, 59)))
    created, assigned = df["created_at"], df["assigned_at"]
    high = (df["priority"] == HIGH).fillna(False) & created.notna()
    waiting = high & df["assignee"].isna() & ((now - created) > LIMIT)
    late = high & ~waiting & assigned.notna() & ((assigned - created) > LIMIT)
    for row in df.index[waiting.fillna(False)]:
        hours = (now - created[row]).total_seconds() / 3600
        out.append((row, 0, table.finding(R_UNASSIGNED, row, "assignee", hours=hours)))
    for row in df.index[late.fillna(False)]:
        hours = (assigned[row] - created[row]).total_seconds() / 3600
        out.append((row, 0, table.finding(R_LATE_ASSIGN, row, "assigned_at", hours=hours)))
    keys = keyed(df["company"], company_key)
    first = first_holder(keys.where(keys != "", None))
    for row, holder in first[first != first.index.to_series()].items():
        out.append((row, 1, table.finding(R_DUPLICATE, row, "company", other=int(holder),
                                          name=df.at[row, "company"])))
    return in_row_order(out)
