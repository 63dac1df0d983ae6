"""T5 客户信息档案表: the customer archive and its follow-up log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from xlsales.findings import Finding, Rule, in_row_order
from xlsales.i18n import Label
from xlsales.normalize import company_key, phone_key
from xlsales.tables.base import CondFormat, Kind, TableSpec, col, person_aliases

if TYPE_CHECKING:
    import pandas as pd

    from xlsales.context import Context
    from xlsales.frames import Table

UNKNOWN_BIRTHDAY = dt.date(1900, 1, 1)


CUSTOMERS = TableSpec(
    key="customers",
    name="Customers",
    sheet=Label("客户档案", "Customers"),
    title=Label("客户信息档案表", "Customer archive"),
    blank_rows=30,
    columns=(
        col("customer_id", "客户编号", "Customer ID", width=10, required=True),
        col("name", "客户名称", "Customer", width=24, required=True, aliases=("公司名称",)),
        col("contact", "联系人", "Contact", width=10),
        col("phone", "联系电话", "Phone", width=15, aliases=("联系方式", "电话")),
        col("industry", "行业", "Industry", Kind.CHOICE, 10, choices="industries",
            strict_choices=False, aliases=("所属行业", "行业类型")),
        col("stage", "客户阶段", "Stage", Kind.CHOICE, 10, required=True,
            choices="customer_stages", aliases=("合作阶段",)),
        col("tier", "客户等级", "Tier", Kind.CHOICE, 8, choices="tiers",
            hint=("A高价值 / B中价值 / C低价值", "A high / B medium / C low value")),
        col("needs", "需求描述", "Needs", Kind.LONG_TEXT, 28),
        col("budget", "预算(万元)", "Budget (10k CNY)", Kind.AMOUNT, 11, minimum=0),
        col("purchase_cycle", "采购周期", "Purchase cycle", width=10),
        col("source", "客户来源", "Source", Kind.CHOICE, 10, choices="lead_sources",
            strict_choices=False),
        col("city", "城市", "City", width=8),
        col("credit_code", "统一社会信用代码", "Credit code", width=20),
        col("owner", "负责人", "Owner", Kind.CHOICE, 10, required=True, choices="reps",
            aliases=person_aliases("归属销售", "所属销售")),
        col("created_on", "建档日期", "Created on", Kind.DATE, 12),
        col("last_contact", "最近联系日期", "Last contact", Kind.DATE, 12),
        col("last_follow_up", "跟进记录", "Latest follow-up", Kind.LONG_TEXT, 34,
            aliases=("跟进记录(时间+内容)",)),
        col("next_follow_up", "下次跟进时间", "Next follow-up", Kind.DATE, 13),
        col("next_reason", "跟进原因", "Follow-up reason", width=26,
            hint=("xlsales followups --write 填写", "Filled by xlsales followups --write")),
        col("birthday", "联系人生日", "Contact birthday", Kind.DATE, 12,
            hint=("未知填 1900-01-01", "Enter 1900-01-01 when unknown")),
        col("lost_reason", "流失原因", "Lost reason", width=20),
    ),
    formats=(
        CondFormat("next_follow_up", 'AND(ISNUMBER({next_follow_up}),{next_follow_up}<TODAY(),'
                   '{stage}<>"{v:customer_stages:流失客户}")', "bad"),
        CondFormat("lost_reason", 'AND({stage}="{v:customer_stages:流失客户}",{lost_reason}="")',
                   "warn"),
    ),
    notes=Label("一个客户只归属一位负责人;流失客户需填写原因,不再安排跟进。",
                "One customer, one owner; a lost customer records why and gets no follow-ups."),
)

FOLLOW_UPS = TableSpec(
    key="follow_ups",
    name="FollowUps",
    sheet=Label("跟进记录", "Follow-ups"),
    title=Label("客户跟进记录", "Follow-up log"),
    blank_rows=30,
    columns=(
        col("date", "跟进日期", "Date", Kind.DATE, 12, required=True),
        col("customer", "客户名称", "Customer", width=24, required=True),
        col("owner", "负责人", "Owner", Kind.CHOICE, 10, required=True, choices="reps",
            aliases=person_aliases()),
        col("contact_kind", "跟进方式", "Contact", Kind.CHOICE, 10, choices="contact_kinds",
            strict_choices=False),
        col("kind", "跟进类型", "Kind", Kind.CHOICE, 12, choices="follow_up_kinds",
            strict_choices=False),
        col("content", "跟进内容", "Content", Kind.LONG_TEXT, 36, required=True),
        col("commitments", "承诺事项", "Commitments", Kind.LONG_TEXT, 24),
        col("next_date", "下次跟进时间", "Next follow-up", Kind.DATE, 13),
    ),
)

DUE_LIST = TableSpec(
    key="due_list",
    name="DueFollowUps",
    sheet=Label("待跟进", "Due follow-ups"),
    title=Label("待跟进清单", "Follow-ups due"),
    blank_rows=0,
    columns=(
        col("owner", "负责人", "Owner", width=10),
        col("customer", "客户名称", "Customer", width=26),
        col("status", "状态", "Status", width=10),
        col("date", "应跟进日期", "Due on", Kind.DATE, 12),
        col("overdue_days", "逾期天数", "Days overdue", Kind.INT, 9),
        col("kind", "跟进类型", "Kind", width=12),
        col("reason", "原因", "Reason", Kind.LONG_TEXT, 40),
        col("rule", "规则", "Rule", width=18),
    ),
    formats=(CondFormat("overdue_days", "N({overdue_days})>0", "bad"),),
    notes=Label("由 xlsales followups --write 生成;逾期、今天、本周到期的跟进。",
                "Written by xlsales followups --write: overdue, today and this week."),
)

TABLES = (CUSTOMERS, FOLLOW_UPS, DUE_LIST)


# -- rules -------------------------------------------------------------------------

R_NEXT_BEFORE_LAST = Rule(id="T5.next_before_last", severity="error",
                          zh="下次跟进时间 {next} 早于最近联系日期 {last}",
                          en="next follow-up {next} is before the last contact {last}")
R_LOST_REASON = Rule(id="T5.lost_without_reason", severity="error",
                     zh="流失客户需填写流失原因", en="a lost customer needs a reason")
R_DUPLICATE = Rule(id="T5.duplicate_customer", severity="error",
                   zh="客户与第 {other} 行“{name}”重复(同一负责人 {owner})",
                   en="same customer as row {other} ('{name}', both owned by {owner})")
R_CLAIMED = Rule(id="T5.claimed_by_two", severity="error",
                 zh="撞单:与第 {other} 行“{name}”是同一客户({how}),负责人 {owner} 与 {other_owner}",
                 en="claimed twice: same customer as row {other} ('{name}', {how}), owners "
                    "{owner} and {other_owner}")
R_FOLLOWUP_UNKNOWN = Rule(id="T5.followup_unknown_customer", severity="warning",
                          zh="跟进记录中的客户“{customer}”不在客户档案中",
                          en="customer '{customer}' of the follow-up log is not in the archive")
RULES = (R_NEXT_BEFORE_LAST, R_LOST_REASON, R_DUPLICATE, R_CLAIMED, R_FOLLOWUP_UNKNOWN)
LOST = "流失客户"
_HOW = {"name": Label("名称相同", "same name"), "phone": Label("电话相同", "same phone"),
        "credit_code": Label("信用代码相同", "same credit code")}


def keyed(values: pd.Series, fn: Callable[[Any], str | None]) -> pd.Series:
    """``fn`` applied once per distinct value of a column (blank stays blank)."""
    import pandas as pd

    codes, uniques = values.factorize()
    mapped = pd.Index([fn(v) for v in uniques] + [None], dtype=object)
    return pd.Series(mapped.take(codes), index=values.index, dtype=object)


def first_holder(keys: pd.Series) -> pd.Series:
    """For each row with a key, the first row (label) that has the same key."""
    present = keys.dropna()
    return present.index.to_series().groupby(present.to_numpy()).transform("first")


def check_customers(table: Table, ctx: Context) -> list[Finding]:
    """One customer, one owner; next after last; lost customers say why (spec §2 T5)."""
    import pandas as pd

    df = table.df
    lang = table.lang
    out: list[tuple[int, int, Finding]] = []
    nxt, last = df["next_follow_up"], df["last_contact"]
    early = (nxt < last).fillna(False)
    for row in df.index[early]:
        out.append((row, 0, table.finding(R_NEXT_BEFORE_LAST, row, "next_follow_up",
                                          next=nxt[row].date(), last=last[row].date())))
    lost = (df["stage"] == LOST).fillna(False) & df["lost_reason"].isna()
    for row in df.index[lost]:
        out.append((row, 1, table.finding(R_LOST_REASON, row, "lost_reason")))
    keys = {"name": keyed(df["name"], company_key), "phone": keyed(df["phone"], phone_key),
            "credit_code": df["credit_code"].str.upper().astype(object).where(
                df["credit_code"].notna(), None)}
    counts = keys["phone"].value_counts()
    common = set(counts[counts > 3].index)  # a switchboard shared by many stops counting
    keys["phone"] = keys["phone"].where(~keys["phone"].isin(common), None)
    found = pd.Series(None, index=df.index, dtype=object)
    other = pd.Series(pd.NA, index=df.index, dtype="Int64")
    for how, k in keys.items():
        k = k.where(k != "", None)
        first = first_holder(k)
        earlier = first[first != first.index.to_series()]
        new = earlier.index[found[earlier.index].isna()]
        found[new] = how
        other[new] = earlier[new]
    for row in df.index[found.notna()]:
        how, o = found[row], int(other[row])
        owner, o_owner = df.at[row, "owner"], df.at[o, "owner"]
        name = table.df.at[o, "name"]
        same = (owner == o_owner) if pd.notna(owner) and pd.notna(o_owner) else (
            pd.isna(owner) and pd.isna(o_owner))
        if same:
            out.append((row, 2, table.finding(R_DUPLICATE, row, "name", other=o, name=name,
                                              owner=_blank(owner))))
        else:
            out.append((row, 2, table.finding(R_CLAIMED, row, "owner", other=o, name=name,
                                              how=_HOW[how](lang), owner=_blank(owner),
                                              other_owner=_blank(o_owner))))
    return in_row_order(out)


def _blank(value: Any) -> Any:
    return None if value is None or value != value else value


def check_follow_ups(table: Table, ctx: Context) -> list[Finding]:
    """Follow-ups name customers of the archive."""
    customers = ctx.tables.get("customers")
    if customers is None:
        return []
    known = set(keyed(customers.df["name"], company_key))
    c = table.df["customer"]
    unknown = c.notna() & ~keyed(c, company_key).isin(known)
    return [table.finding(R_FOLLOWUP_UNKNOWN, row, "customer", customer=value)
            for row, value in c[unknown].items()]
