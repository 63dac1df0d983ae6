"""The follow-up engine (spec §3) on hand-worked examples, and ``xlsales followups``.

Every expected date below is worked out by hand in the comment next to it, with the
2023/2024 Chinese statutory calendar:

* New Year's Day: 2023-12-30 (Sat) .. 2024-01-01 (Mon) off.
* Spring Festival: 2024-02-10 (Sat) .. 02-17 (Sat) off; Sun 02-04 and Sun 02-18 are
  make-up working days (调休); Fri 02-09 is a working day.
* Tomb-sweeping Day: 2024-04-04 .. 04-06 off, Sun 04-07 working.
* Labour Day: 2024-05-01 .. 05-05 off; Sun 04-28 and Sat 05-11 working.
* Mid-Autumn: 2024-09-15 (Sun) .. 09-17 off; Sat 09-14 working.
* National Day: 2024-10-01 .. 10-07 off; Sun 09-29 and Sat 10-12 working.

Policy of the engine (module docstring): cadences count calendar days from the last
contact, and a cadence date on a non-working day moves back to the working day before
it; a "within N days" deadline on a day off moves to the next working day unless that
gives more than N working days counted from the event's day (then back); "working days"
deadlines count working days; no computed date is before the last contact; holiday
greetings land on the last working day before the holiday; lost customers sleep.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from xlsales.calendar import WorkCalendar
from xlsales.cli import app
from xlsales.followups import CustomerPlan, Engine, follow_up_report
from xlsales.jobs import run_followups
from xlsales.jobs.followups import LEDGER_SHEET, SLEEPING
from xlsales.normalize import company_key
from xlsales.sample import SAMPLE_TODAY, generate
from xlsales.settings import Settings
from xlsales.tables.customers import DUE_LIST
from xlsales.workspace import book_path, read_settings, read_table, write_workspace

D = dt.date.fromisoformat
NAME = "恒瑞精密机械有限公司"
OWNER = "张伟"
SETTINGS = Settings.default()
CAL = WorkCalendar()


# -- helpers ---------------------------------------------------------------------------------

def customer(name: str = NAME, **kw: Any) -> dict[str, Any]:
    """A canonical customer record (keys are the column keys of tables.customers.CUSTOMERS)."""
    base: dict[str, Any] = {"customer_id": "C0001", "name": name, "owner": OWNER,
                            "stage": "意向客户", "tier": None, "created_on": None,
                            "last_contact": None, "birthday": None}
    base.update(kw)
    return base


def contact(day: str, kind: str = "例行跟进", how: str = "电话", name: str = NAME,
            owner: str = OWNER) -> dict[str, Any]:
    """A canonical follow-up log record."""
    return {"date": D(day), "customer": name, "owner": owner, "contact_kind": how,
            "kind": kind, "content": f"{kind} {day}"}


def opportunity(stage: str, *, entered: str, created: str | None = None,
                closed: str | None = None, name: str = NAME, opp_id: str = "O0001",
                amount: float = 20.0) -> dict[str, Any]:
    """A canonical opportunity record."""
    return {"opp_id": opp_id, "name": f"{name[:4]}项目", "customer": name, "owner": OWNER,
            "stage": stage, "stage_entered": D(entered), "amount": amount,
            "created_on": D(created) if created else None,
            "closed_on": D(closed) if closed else None, "expected_close": None}


def plan_of(c: dict[str, Any], log: list[dict[str, Any]] | tuple[()] = (),
            opps: list[dict[str, Any]] | tuple[()] = (), *, today: str,
            settings: Settings = SETTINGS) -> CustomerPlan:
    report = follow_up_report([c], log, opps, settings, D(today))
    assert len(report.plans) == 1
    return report.plans[0]


def dues(c: dict[str, Any], log: list[dict[str, Any]] | tuple[()] = (),
         opps: list[dict[str, Any]] | tuple[()] = (), *, today: str,
         settings: Settings = SETTINGS) -> dict[str, dt.date]:
    """rule → due date of one customer (each rule at most once)."""
    plan = plan_of(c, log, opps, today=today, settings=settings)
    rules = [d.rule for d in plan.dues]
    assert len(rules) == len(set(rules)), rules
    return {d.rule: d.date for d in plan.dues}


def with_rule(rule: str, **changes: Any) -> Settings:
    """Default settings with one follow-up rule edited."""
    rules = [r.model_copy(update=changes) if r.rule == rule else r
             for r in SETTINGS.followup_rules]
    return SETTINGS.model_copy(update={"followup_rules": rules})


def with_tier(tier: str, **changes: Any) -> Settings:
    tiers = [t.model_copy(update=changes) if t.tier == tier else t for t in SETTINGS.tiers]
    return SETTINGS.model_copy(update={"tiers": tiers})


def test_calendar_facts_the_examples_rely_on() -> None:
    working = ["2024-02-04", "2024-02-09", "2024-02-18", "2024-04-07", "2024-04-28",
               "2024-04-30", "2024-09-14", "2024-09-29", "2024-09-30", "2024-10-12",
               "2023-12-29"]
    off = ["2024-02-10", "2024-02-11", "2024-02-15", "2024-02-17", "2024-05-01",
           "2024-09-15", "2024-10-01", "2024-10-06", "2023-12-30", "2024-01-01",
           "2024-01-14"]
    assert all(CAL.is_working(D(d)) for d in working)
    assert not any(CAL.is_working(D(d)) for d in off)


# -- tier cadences ---------------------------------------------------------------------------

def test_tier_a_weekly_deep_contact_and_monthly_visit_by_the_lead() -> None:
    c = customer(tier="A", created_on=D("2023-11-01"))
    log = [contact("2024-02-20", how="主管拜访"), contact("2024-03-04", how="拜访")]
    got = dues(c, log, today="2024-03-06")
    # weekly: last contact Mon 03-04 + 7 = Mon 03-11 (working)
    assert got["tier_A"] == D("2024-03-11")
    # monthly visit by the lead: lead's visit Tue 02-20 + 30 = Thu 03-21 (working)
    assert got["tier_A_extra"] == D("2024-03-21")


def test_tier_a_lead_visit_comes_due_even_when_the_rep_calls_every_week() -> None:
    """The rep's weekly calls do not postpone the lead's monthly visit forever."""
    c = customer(tier="A", created_on=D("2024-01-02"))
    calls = ["2024-01-03", "2024-01-10", "2024-01-17", "2024-01-24", "2024-01-31",
             "2024-02-07", "2024-02-21", "2024-02-28", "2024-03-06"]
    got = dues(c, [contact(d) for d in calls], today="2024-03-08")
    # weekly: last call Wed 03-06 + 7 = Wed 03-13
    assert got["tier_A"] == D("2024-03-13")
    # no lead visit ever: counted from the first contact Wed 01-03 (not the creation
    # day): + 30 = Fri 02-02, before the last call Wed 03-06, so still open then: 03-06
    assert got["tier_A_extra"] == D("2024-03-06")
    # once the lead visits (Fri 03-08), the next one is 03-08 + 30 = Sun 04-07, a
    # make-up working day (Tomb-sweeping 调休), so it stays on Sunday 04-07
    got = dues(c, [*[contact(d) for d in calls], contact("2024-03-08", how="主管拜访")],
               today="2024-03-08")
    assert got["tier_A_extra"] == D("2024-04-07")


def test_tier_b_every_two_weeks_and_monthly_mail() -> None:
    c = customer(tier="B", created_on=D("2023-10-09"))
    log = [contact("2024-02-20", how="邮件"), contact("2024-03-01", how="电话")]
    got = dues(c, log, today="2024-03-04")
    # every 14 days: Fri 03-01 + 14 = Fri 03-15
    assert got["tier_B"] == D("2024-03-15")
    # monthly mail: Tue 02-20 + 30 = Thu 03-21
    assert got["tier_B_extra"] == D("2024-03-21")


def test_tier_c_monthly_and_quarterly_screening_across_the_year_boundary() -> None:
    c = customer(tier="C", created_on=D("2023-06-01"))
    log = [contact("2023-11-01", how="人工筛选"), contact("2023-12-15", how="邮件")]
    got = dues(c, log, today="2023-12-20")
    # monthly: Fri 2023-12-15 + 30 = Sun 2024-01-14 → back to Fri 2024-01-12
    assert got["tier_C"] == D("2024-01-12")
    # quarterly screening: Wed 2023-11-01 + 90 = Tue 2024-01-30
    assert got["tier_C_extra"] == D("2024-01-30")


def test_last_contact_column_counts_when_the_log_is_empty() -> None:
    c = customer(tier="C", last_contact=D("2023-12-15"))
    # no log: the archive's 最近联系日期 Fri 2023-12-15 + 30 = Sun 01-14 → Fri 2024-01-12;
    # the screening counts from it too: 12-15 + 90 = Thu 2024-03-14
    assert dues(c, today="2023-12-20") == {"tier_C": D("2024-01-12"),
                                           "tier_C_extra": D("2024-03-14")}


def test_tier_cadence_across_the_spring_festival_tiaoxiu_week() -> None:
    c = customer(tier="A", created_on=D("2024-01-02"))
    log = [contact("2024-01-20", how="主管拜访"), contact("2024-02-04")]
    got = dues(c, log, today="2024-02-05")
    # contact on the make-up Sunday 02-04 + 7 = Sun 02-11 (festival, off)
    # → back over Sat 02-10 (off) to Fri 02-09 (working)
    assert got["tier_A"] == D("2024-02-09")
    # lead visit Sat 01-20 + 30 = Mon 02-19 (working)
    assert got["tier_A_extra"] == D("2024-02-19")

    b = customer(tier="B", created_on=D("2024-01-02"))
    got = dues(b, [contact("2024-01-30", how="邮件"), contact("2024-02-04")],
               today="2024-02-05")
    # Sun 02-04 + 14 = Sun 02-18, itself a make-up working day: due on that Sunday
    assert got["tier_B"] == D("2024-02-18")
    # mail Tue 01-30 + 30 = Thu 02-29
    assert got["tier_B_extra"] == D("2024-02-29")


def test_tier_cadence_across_the_national_day_tiaoxiu_week() -> None:
    a = customer(tier="A", created_on=D("2024-09-02"))
    got = dues(a, [contact("2024-09-20", how="主管拜访"), contact("2024-09-29")],
               today="2024-09-29")
    # make-up Sun 09-29 + 7 = Sun 10-06 (holiday) → back over 10-05..10-01 to Mon 09-30
    assert got["tier_A"] == D("2024-09-30")
    # lead visit Fri 09-20 + 30 = Sun 10-20 → back to Fri 10-18
    assert got["tier_A_extra"] == D("2024-10-18")

    b = customer(tier="B", created_on=D("2024-09-02"))
    got = dues(b, [contact("2024-09-27", how="邮件"), contact("2024-09-28")],
               today="2024-09-29")
    # Sat 09-28 + 14 = Sat 10-12, a make-up working Saturday: due on it
    assert got["tier_B"] == D("2024-10-12")
    # mail Fri 09-27 + 30 = Sun 10-27 → Fri 10-25
    assert got["tier_B_extra"] == D("2024-10-25")


def test_customer_without_tier_or_contact_has_no_cadence() -> None:
    assert dues(customer(tier=None, last_contact=D("2024-03-01")), today="2024-03-04") == {}
    assert dues(customer(tier="B"), today="2024-03-04") == {}


# -- first contact ---------------------------------------------------------------------------

def test_new_customer_first_contact_within_5_days() -> None:
    c = customer(tier="B", created_on=D("2024-03-21"))
    # created Thu 03-21 + 5 = Tue 03-26; no contact yet, so no cadence either
    assert dues(c, today="2024-03-21") == {"first_contact": D("2024-03-26")}
    # any contact on or after the creation day settles it (and starts the cadence:
    # Fri 03-22 + 14 = Fri 04-05, Tomb-sweeping holiday → back over 04-04 to Wed 04-03)
    got = dues(c, [contact("2024-03-22")], today="2024-03-22")
    assert "first_contact" not in got
    assert got["tier_B"] == D("2024-04-03")


def test_new_customer_first_contact_across_national_day() -> None:
    c = customer(created_on=D("2024-09-26"))
    # created Thu 09-26 + 5 = Tue 10-01 (holiday) → the next working day Tue 10-08 gives
    # Thu 09-26, Fri 09-27, Sun 09-29 (调休), Mon 09-30, Tue 10-08 = 5 working days: kept
    assert dues(c, today="2024-09-26") == {"first_contact": D("2024-10-08")}


def test_new_opportunity_first_contact_within_5_days() -> None:
    c = customer(created_on=D("2023-10-09"))
    log = [contact("2024-03-01")]
    o = opportunity("初步接触", entered="2024-03-20", created="2024-03-20")
    # opportunity created Wed 03-20 + 5 = Mon 03-25; contacts before 03-20 do not count
    assert dues(c, log, [o], today="2024-03-21") == {"first_contact": D("2024-03-25")}
    # a call on 03-21 settles it
    assert dues(c, [*log, contact("2024-03-21")], [o], today="2024-03-21") == {}
    # the earliest deadline counts when the archive row was created after the opportunity:
    # customer Wed 03-20 + 5 = Mon 03-25, opportunity Sun 03-10 + 5 = Fri 03-15
    late = customer(created_on=D("2024-03-20"))
    early = opportunity("初步接触", entered="2024-03-10", created="2024-03-10")
    assert dues(late, [], [early], today="2024-03-11") == {"first_contact": D("2024-03-15")}
    # a closed opportunity asks for nothing
    lost = {**o, "stage": "输单", "closed_on": D("2024-03-20")}
    assert dues(c, log, [lost], today="2024-03-21") == {}


# -- proposal, objection, complaint --------------------------------------------------------

def test_proposal_without_feedback_after_3_days() -> None:
    c = customer(created_on=D("2023-10-09"))
    o = opportunity("方案提交", entered="2024-03-18", created="2024-02-01")
    log = [contact("2024-03-18", kind="方案反馈")]  # the day it was sent: not feedback
    # proposal sent Mon 03-18 + 3 = Thu 03-21
    assert dues(c, log, [o], today="2024-03-19") == {"proposal_feedback": D("2024-03-21")}
    # a 方案反馈 entry after the proposal settles it
    assert dues(c, [*log, contact("2024-03-20", kind="方案反馈")], [o],
                today="2024-03-20") == {}
    # a routine contact does not
    got = dues(c, [*log, contact("2024-03-20")], [o], today="2024-03-20")
    assert got == {"proposal_feedback": D("2024-03-21")}


def test_proposal_feedback_over_a_weekend() -> None:
    c = customer()
    o = opportunity("方案提交", entered="2024-03-07")
    # sent Thu 03-07 + 3 = Sun 03-10 → Mon 03-11: Thu, Fri, Mon = 3 working days, kept
    assert dues(c, [], [o], today="2024-03-07") == {"proposal_feedback": D("2024-03-11")}
    # sent Wed 03-06 + 3 = Sat 03-09 → Mon 03-11 would give Wed, Thu, Fri, Mon = 4 > 3
    # → back to Fri 03-08
    o = opportunity("方案提交", entered="2024-03-06")
    assert dues(c, [], [o], today="2024-03-06") == {"proposal_feedback": D("2024-03-08")}


def test_objection_answered_within_24_hours() -> None:
    c = customer(created_on=D("2023-10-09"))
    log = [contact("2024-03-01", kind="异议答复"), contact("2024-03-12", kind="客户异议")]
    # raised Tue 03-12 + 1 day = Wed 03-13; the answer of 03-01 came before it: no use
    assert dues(c, log, today="2024-03-12") == {"objection": D("2024-03-13")}
    assert dues(c, [*log, contact("2024-03-13", kind="异议答复")], today="2024-03-13") == {}
    # raised Fri 03-08 + 1 = Sat 03-09 → back to Fri 03-08: answer the same day
    assert dues(c, [contact("2024-03-08", kind="客户异议")], today="2024-03-08") == {
        "objection": D("2024-03-08")}


def test_complaint_answered_in_24_hours_and_solved_in_3_working_days() -> None:
    c = customer(created_on=D("2023-10-09"))
    log = [contact("2024-03-14", kind="客户投诉")]
    # raised Thu 03-14: answer 03-14 + 1 = Fri 03-15;
    # solve: 3 working days after Thu 03-14 = Fri 03-15, (weekend), Mon 03-18, Tue 03-19
    assert dues(c, log, today="2024-03-14") == {"complaint_answer": D("2024-03-15"),
                                                 "complaint_solve": D("2024-03-19")}
    # 投诉响应 the same day settles the answer, not the solution
    log.append(contact("2024-03-14", kind="投诉响应"))
    assert dues(c, log, today="2024-03-14") == {"complaint_solve": D("2024-03-19")}
    # 投诉解决 settles both
    assert dues(c, [log[0], contact("2024-03-18", kind="投诉解决")], today="2024-03-18") == {}


def test_complaint_solve_deadline_skips_the_spring_festival() -> None:
    c = customer(created_on=D("2023-10-09"))
    log = [contact("2024-02-08", kind="客户投诉")]
    # raised Thu 02-08: answer Fri 02-09 (working);
    # solve: Fri 02-09 (1), Sat 02-10 .. Sat 02-17 off, make-up Sun 02-18 (2), Mon 02-19 (3)
    assert dues(c, log, today="2024-02-08") == {"complaint_answer": D("2024-02-09"),
                                                 "complaint_solve": D("2024-02-19")}


def test_complaint_across_national_day() -> None:
    c = customer(created_on=D("2023-10-09"))
    log = [contact("2024-09-30", kind="客户投诉")]
    # raised Mon 09-30: answer 10-01 (holiday) → back to Mon 09-30;
    # solve: 10-01..07 off → Tue 10-08 (1), Wed 10-09 (2), Thu 10-10 (3)
    assert dues(c, log, today="2024-09-30") == {"complaint_answer": D("2024-09-30"),
                                                 "complaint_solve": D("2024-10-10")}


def test_only_the_latest_complaint_counts() -> None:
    c = customer(created_on=D("2023-10-09"))
    log = [contact("2024-03-01", kind="客户投诉"), contact("2024-03-04", kind="投诉解决"),
           contact("2024-03-11", kind="客户投诉")]
    # the complaint of 03-01 was solved; Mon 03-11's: answer Tue 03-12, solve
    # Tue 03-12 (1), Wed 03-13 (2), Thu 03-14 (3)
    assert dues(c, log, today="2024-03-11") == {"complaint_answer": D("2024-03-12"),
                                                 "complaint_solve": D("2024-03-14")}


# -- after the deal --------------------------------------------------------------------------

def won(closed: str, **kw: Any) -> dict[str, Any]:
    return opportunity("签约成交", entered=closed, created="2023-12-01", closed=closed, **kw)


def test_deal_closed_48_hours_week_and_satisfaction() -> None:
    c = customer(stage="成交客户", birthday=D("1900-01-01"))
    o = won("2024-03-06")
    got = dues(c, [], [o], today="2024-03-07")
    # closed Wed 03-06: 48 hours → Fri 03-08; a week → Wed 03-13; satisfaction
    # within 15 days → Thu 03-21. Next greeted holiday is Labour Day (05-01), more than
    # 45 days ahead (Tomb-sweeping is not greeted); birthday unknown: nothing else.
    assert got == {"after_deal_48h": D("2024-03-08"), "after_deal_week": D("2024-03-13"),
                   "satisfaction": D("2024-03-21")}
    log = [contact("2024-03-08", kind="售后回访")]
    got = dues(c, log, [o], today="2024-03-08")
    assert set(got) == {"after_deal_week", "satisfaction"}
    log += [contact("2024-03-13", kind="售后回访", how="拜访")]
    assert set(dues(c, log, [o], today="2024-03-13")) == {"satisfaction"}
    log += [contact("2024-03-15", kind="满意度调查")]
    assert dues(c, log, [o], today="2024-03-15") == {}


def test_deal_closed_just_before_the_spring_festival() -> None:
    c = customer(stage="成交客户", birthday=D("1900-01-01"))
    got = dues(c, [], [won("2024-02-08")], today="2024-02-08")
    # closed Thu 02-08: 48 h → Sat 02-10 (festival); the next working day, the make-up
    # Sun 02-18, would give Thu 02-08, Fri 02-09, Sun 02-18 = 3 > 2 working days → Fri 02-09;
    # a week → Thu 02-15 (festival) → Sun 02-18 (3 working days ≤ 7);
    # satisfaction → Fri 02-23 (working);
    # Spring Festival starts Sat 02-10 → greeting on the last working day Fri 02-09
    assert got == {"after_deal_48h": D("2024-02-09"), "after_deal_week": D("2024-02-18"),
                   "satisfaction": D("2024-02-23"), "holiday": D("2024-02-09")}


def test_after_deal_touches_stop_after_the_deal_window() -> None:
    c = customer(stage="成交客户", birthday=D("1900-01-01"))
    # closed 2024-01-05, today 03-29 (84 days later): no 48h/week/satisfaction any more;
    # the next greeted holiday (Labour Day 05-01) is 33 days ahead: greet Tue 04-30
    assert dues(c, [], [won("2024-01-05")], today="2024-03-29") == {
        "holiday": D("2024-04-30")}


@pytest.mark.parametrize(("today", "holiday", "due"), [
    # seen from late December 2023: New Year's Day holiday starts Sat 2023-12-30
    # → greeting on the last working day before it, Fri 2023-12-29
    ("2023-12-20", "元旦", "2023-12-29"),
    # seen from Sat 2023-12-30, inside the New Year holiday: the next one to start is the
    # Spring Festival (Sat 02-10, 42 days ahead) → Fri 2024-02-09
    ("2023-12-30", "春节", "2024-02-09"),
    # seen from 2024-01-02: Spring Festival starts Sat 02-10 → Fri 02-09
    ("2024-01-02", "春节", "2024-02-09"),
    # Labour Day starts Wed 05-01 → Tue 04-30
    ("2024-04-08", "劳动节", "2024-04-30"),
    # Mid-Autumn starts Sun 09-15; the day before is the make-up working Sat 09-14
    ("2024-09-02", "中秋节", "2024-09-14"),
    # National Day starts Tue 10-01 → Mon 09-30
    ("2024-09-18", "国庆节", "2024-09-30"),
])
def test_holiday_greeting_on_the_last_working_day_before(today: str, holiday: str,
                                                          due: str) -> None:
    c = customer(stage="成交客户", birthday=D("1900-01-01"))
    plan = plan_of(c, [], [won("2023-03-01")], today=today)
    greetings = [d for d in plan.dues if d.rule == "holiday"]
    assert [d.date for d in greetings] == [D(due)]
    assert holiday in greetings[0].reason


def test_holiday_greeting_settled_and_only_for_won_customers() -> None:
    c = customer(stage="成交客户", birthday=D("1900-01-01"))
    o = won("2023-03-01")
    # greeted on Thu 02-08, within two weeks before the festival: settled
    assert dues(c, [contact("2024-02-08", kind="节日问候")], [o], today="2024-02-08") == {}
    # the New Year greeting of 2023-12-29 does not count for the Spring Festival
    assert dues(c, [contact("2023-12-29", kind="节日问候")], [o], today="2024-01-02") == {
        "holiday": D("2024-02-09")}
    # a customer who has not bought gets no greeting
    assert dues(customer(birthday=D("1985-02-01")), today="2024-01-02") == {}


def test_birthdays() -> None:
    o = won("2023-03-01")
    c = customer(stage="成交客户", birthday=D("1985-03-17"))
    # birthday Sun 2024-03-17 → greeting on Fri 03-15 (seen from 03-11, Labour Day is more
    # than 45 days ahead)
    assert dues(c, [], [o], today="2024-03-11") == {"birthday": D("2024-03-15")}
    assert dues(c, [contact("2024-03-15", kind="生日问候")], [o], today="2024-03-15") == {}
    # seen on the birthday itself (Sunday), Friday's greeting is overdue; and now
    # Labour Day is within 45 days (03-17 + 45 = 05-01): greet on Tue 04-30
    assert dues(c, [], [o], today="2024-03-17") == {"birthday": D("2024-03-15"),
                                                   "holiday": D("2024-04-30")}
    # across the year boundary: born 01-02, seen from 2023-12-28 → Tue 2024-01-02
    # (and New Year's Day, starting Sat 12-30, is greeted on Fri 12-29)
    c2 = customer(stage="成交客户", birthday=D("1980-01-02"))
    assert dues(c2, [], [o], today="2023-12-28") == {"birthday": D("2024-01-02"),
                                                     "holiday": D("2023-12-29")}
    # 1900-01-01 means unknown: no birthday greeting
    c3 = customer(stage="成交客户", birthday=D("1900-01-01"))
    assert dues(c3, [], [o], today="2023-12-28") == {"holiday": D("2023-12-29")}


def test_tier_a_value_added_service_every_quarter_after_delivery() -> None:
    c = customer(tier="A", stage="成交客户", birthday=D("1900-01-01"),
                 created_on=D("2023-10-09"))
    o = won("2024-01-10")
    log = [contact("2024-03-25", how="主管拜访")]
    got = dues(c, log, [o], today="2024-03-25")
    # no service yet: deal Wed 01-10 + 90 = Tue 04-09
    assert got["value_added"] == D("2024-04-09")
    # after a service on Thu 02-01: + 90 = Wed 05-01 (Labour Day) → back to Tue 04-30
    got = dues(c, [*log, contact("2024-02-01", kind="增值服务")], [o], today="2024-03-25")
    assert got["value_added"] == D("2024-04-30")
    # tier B after delivery: no value-added rule
    b = {**c, "tier": "B"}
    assert "value_added" not in dues(b, log, [o], today="2024-03-25")


def test_lost_customer_sleeps() -> None:
    c = customer(stage="流失客户", tier="A", birthday=D("1985-03-24"),
                 created_on=D("2024-03-01"), last_contact=D("2024-03-01"))
    log = [contact("2024-03-01", kind="客户投诉"), contact("2024-03-02", kind="客户异议")]
    opps = [won("2024-03-05"),
            opportunity("方案提交", entered="2024-03-04", created="2024-03-02", opp_id="O2")]
    plan = plan_of(c, log, opps, today="2024-03-20")
    assert plan.dues == [] and plan.next is None


def test_next_is_the_earliest_due() -> None:
    c = customer(tier="B", created_on=D("2023-10-09"))
    log = [contact("2024-03-01", how="邮件"), contact("2024-03-11", kind="客户投诉")]
    plan = plan_of(c, log, today="2024-03-11")
    assert [d.date for d in plan.dues] == sorted(d.date for d in plan.dues)
    # complaint raised Mon 03-11: answered by Tue 03-12, earlier than the cadence
    # (03-11 + 14 = Mon 03-25) and the solution (Thu 03-14)
    assert plan.next is not None
    assert (plan.next.rule, plan.next.date) == ("complaint_answer", D("2024-03-12"))
    assert plan.next.kind == "投诉响应" and plan.next.owner == OWNER


def test_log_after_today_is_ignored() -> None:
    c = customer(tier="B", created_on=D("2023-10-09"))
    log = [contact("2024-03-01"), contact("2024-03-20")]
    # as of 03-04 the 03-20 contact has not happened: 03-01 + 14 = Fri 03-15
    assert dues(c, log, today="2024-03-04")["tier_B"] == D("2024-03-15")


def test_log_matches_customers_by_normalised_name() -> None:
    c = customer(tier="B", created_on=D("2023-10-09"))
    log = [contact("2024-03-01", name=" 恒瑞精密机械 有限公司")]
    assert dues(c, log, today="2024-03-04")["tier_B"] == D("2024-03-15")


def test_english_labels() -> None:
    c = customer(created_on=D("2024-03-21"))
    report = follow_up_report([c], [], [], SETTINGS, D("2024-03-21"), lang="en")
    due = report.plans[0].dues[0]
    assert due.kind == "First contact" and "first contact within 5 days" in due.reason


# -- buckets ---------------------------------------------------------------------------------

def test_buckets_overdue_today_this_week() -> None:
    today = D("2024-03-13")  # a Wednesday
    lasts = {  # tier C, contact (with screening) on the day: due 30 days later
        "甲公司": "2024-02-11",  # + 30 = Tue 03-12: overdue by 1 day
        "乙公司": "2024-02-12",  # + 30 = Wed 03-13: today
        "丙公司": "2024-02-14",  # + 30 = Fri 03-15: this week
        "丁公司": "2024-02-16",  # + 30 = Sun 03-17 → Fri 03-15: this week
        "戊公司": "2024-02-17",  # + 30 = Mon 03-18: next week, in no bucket
    }
    customers = [customer(n, tier="C", customer_id=f"C{i}", owner="李娜" if i % 2 else OWNER)
                 for i, n in enumerate(lasts)]
    log = [contact(d, how="人工筛选", name=n) for n, d in lasts.items()]
    report = follow_up_report(customers, log, [], SETTINGS, today)
    buckets = report.buckets()
    assert [(d.customer, d.date) for d in buckets["overdue"]] == [("甲公司", D("2024-03-12"))]
    assert buckets["overdue"][0].overdue_days(today) == 1
    assert [(d.customer, d.date) for d in buckets["today"]] == [("乙公司", today)]
    assert sorted((d.customer, d.date) for d in buckets["this_week"]) == [
        ("丁公司", D("2024-03-15")), ("丙公司", D("2024-03-15"))]
    assert all(d.rule == "tier_C" for b in buckets.values() for d in b)
    # per rep: 甲(0) 丙(2) 戊(4) are 张伟's, 乙(1) 丁(3) 李娜's
    assert report.per_rep() == {OWNER: {"overdue": 1, "today": 0, "this_week": 1},
                                "李娜": {"overdue": 0, "today": 1, "this_week": 1}}
    assert [d.customer for d in report.buckets("李娜")["this_week"]] == ["丁公司"]


def test_buckets_on_a_sunday_hold_nothing_for_this_week() -> None:
    today = D("2024-03-17")  # Sunday: the week ends today
    c = customer(tier="C")
    report = follow_up_report([c], [contact("2024-02-18", how="人工筛选")], [], SETTINGS, today)
    # 02-18 + 30 = Tue 03-19: next week
    assert report.plans[0].next.date == D("2024-03-19")  # type: ignore[union-attr]
    assert report.buckets() == {"overdue": [], "today": [], "this_week": []}


# -- the settings change the result ---------------------------------------------------------

def test_tier_interval_setting() -> None:
    c = customer(tier="B", created_on=D("2023-10-09"))
    log = [contact("2024-02-20", how="邮件"), contact("2024-03-01")]
    # 14 days: Fri 03-15; 10 days: Mon 03-11
    assert dues(c, log, today="2024-03-04")["tier_B"] == D("2024-03-15")
    edited = with_tier("B", interval_days=10, extra_interval_days=60)
    got = dues(c, log, today="2024-03-04", settings=edited)
    assert got["tier_B"] == D("2024-03-11")
    # mail every 60 days: Tue 02-20 + 60 = Sat 04-20 → back to Fri 04-19
    assert got["tier_B_extra"] == D("2024-04-19")
    # a tier without an extra contact asks for none
    bare = with_tier("B", extra_contact=None, extra_interval_days=None)
    assert set(dues(c, log, today="2024-03-04", settings=bare)) == {"tier_B"}


def test_rule_days_setting() -> None:
    c = customer(created_on=D("2024-03-21"))
    # 2 days: Thu 03-21 + 2 = Sat 03-23 → Fri 03-22
    got = dues(c, today="2024-03-21", settings=with_rule("first_contact", days=2))
    assert got == {"first_contact": D("2024-03-22")}


def test_rule_working_days_setting() -> None:
    c = customer(created_on=D("2023-10-09"))
    log = [contact("2024-03-08", kind="客户异议")]
    assert dues(c, log, today="2024-03-08") == {"objection": D("2024-03-08")}
    # one WORKING day after Fri 03-08 is Mon 03-11
    got = dues(c, log, today="2024-03-08", settings=with_rule("objection", working_days=True))
    assert got == {"objection": D("2024-03-11")}
    # complaint solve in calendar days: Thu 03-14 + 3 = Sun 03-17 → Mon 03-18 (Thu, Fri,
    # Mon: 3 working days)
    log = [contact("2024-03-14", kind="客户投诉")]
    got = dues(c, log, today="2024-03-14",
               settings=with_rule("complaint_solve", working_days=False))
    assert got["complaint_solve"] == D("2024-03-18")


def test_rule_enabled_setting() -> None:
    c = customer(stage="成交客户", birthday=D("1985-03-24"))
    log = [contact("2024-03-14", kind="客户投诉")]
    o = won("2023-03-01")
    assert set(dues(c, log, [o], today="2024-03-14")) == {
        "complaint_answer", "complaint_solve", "birthday"}
    s = SETTINGS
    for rule in ("complaint_solve", "birthday"):
        s = s.model_copy(update={"followup_rules": [
            r.model_copy(update={"enabled": False}) if r.rule == rule else r
            for r in s.followup_rules]})
    assert set(dues(c, log, [o], today="2024-03-14", settings=s)) == {"complaint_answer"}
    # a rule missing from the settings is off too
    s2 = SETTINGS.model_copy(update={"followup_rules": [
        r for r in SETTINGS.followup_rules if r.rule != "complaint_answer"]})
    assert set(dues(c, log, [o], today="2024-03-14", settings=s2)) == {
        "complaint_solve", "birthday"}


def test_team_calendar_override_moves_a_due_date() -> None:
    from xlsales.settings import CalendarOverride

    c = customer(tier="B", created_on=D("2023-10-09"))
    log = [contact("2024-02-20", how="邮件"), contact("2024-03-01")]
    # Fri 03-15 declared a team day off → the due moves back to Thu 03-14
    s = SETTINGS.model_copy(update={"calendar": [CalendarOverride(date=D("2024-03-15"),
                                                                 working=False)]})
    assert dues(c, log, today="2024-03-04", settings=s)["tier_B"] == D("2024-03-14")


def test_engine_plan_directly() -> None:
    engine = Engine(SETTINGS)
    assert engine.deadline(D("2024-02-08"), "complaint_solve") == D("2024-02-19")
    assert engine.deadline(D("2024-02-08"), "no_such_rule") is None
    assert engine.next_holiday(D("2024-09-02")) == ("中秋节", D("2024-09-15"))
    c = customer(tier="C")
    plan = engine.plan(c, [contact("2023-12-15", how="人工筛选")], [], D("2023-12-20"))
    assert [(d.rule, d.date) for d in plan.dues] == [("tier_C", D("2024-01-12")),
                                                     ("tier_C_extra", D("2024-03-14"))]


# -- the followups job on a workspace -----------------------------------------------------------

@pytest.fixture(scope="module")
def sample_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample's customers and settings workbooks (zh), written once; copied per test."""
    root = tmp_path_factory.mktemp("sample_followups")
    team = generate()
    write_workspace(root, team.settings, team.data, books=("settings", "customers"))
    return root


def copy_of(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def sheet_names(path: Path) -> list[str]:
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def sheet_rows(path: Path, sheet: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Rows of a sheet found by its header texts (key → header), never by coordinates."""
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        rows = [list(r) for r in wb[sheet].iter_rows(values_only=True)]
    finally:
        wb.close()
    i = next((n for n, row in enumerate(rows[:30]) if all(h in row for h in headers.values())),
             None)
    assert i is not None, f"headers {headers} not found on {sheet}"
    cols = {k: rows[i].index(h) for k, h in headers.items()}
    out = []
    for row in rows[i + 1:]:
        values = {k: row[c] if c < len(row) else None for k, c in cols.items()}
        if any(v not in (None, "") for v in values.values()):
            out.append(values)
    return out


def test_run_followups_writes_next_dates_and_the_due_list(sample_root: Path,
                                                         tmp_path: Path) -> None:
    root = copy_of(sample_root, tmp_path / "ws")
    settings = read_settings(root)
    keys = ("customers", "follow_ups", "leads", "opportunities", "stage_history")
    before = {k: read_table(root, k, settings) for k in keys}
    sheets_before = sheet_names(book_path(root, "customers"))

    result = run_followups(root, today=SAMPLE_TODAY, write=True)
    assert result.written == book_path(root, "customers")
    report = result.report
    after = {k: read_table(root, k, settings) for k in keys}

    # every non-lost customer has a next date: the one the rep typed (kept, with its
    # reason cell as it was), else the plan's next with its reason; lost ones sleep
    customers = after["customers"]
    assert len(customers) == len(before["customers"]) > 100
    plans = {p.customer["customer_id"]: p for p in report.plans}
    earlier = {c["customer_id"]: c for c in before["customers"]}
    lost = [c for c in customers if c["stage"] == "流失客户"]
    assert lost, "the sample has lost customers"
    kept = 0
    for c in customers:
        plan = plans[c["customer_id"]]
        if c["stage"] == "流失客户":
            assert c["next_follow_up"] is None, c["name"]
            assert c["next_reason"] == SLEEPING("zh")
        elif plan.keeps_cell:
            kept += 1
            was = earlier[c["customer_id"]]
            assert plan.typed is not None and plan.typed.source == "archive"
            assert (c["next_follow_up"], c["next_reason"]) == (
                was["next_follow_up"], was["next_reason"]), c["name"]
            assert any(d.rule == "agreed" and d.date == c["next_follow_up"]
                       for d in plan.dues) or any(d.catch_up for d in plan.dues)
        else:
            nxt = plan.next
            assert nxt is not None, c["name"]
            assert c["next_follow_up"] == nxt.date, c["name"]
            assert c["next_reason"] == f"{nxt.kind}:{nxt.reason}"
    # the sample's reps typed the next date of every customer they talked to
    assert kept == result.kept > 100

    # nothing else changed
    strip = ("next_follow_up", "next_reason")
    assert [{k: v for k, v in r.items() if k not in strip} for r in customers] == \
        [{k: v for k, v in r.items() if k not in strip} for r in before["customers"]]
    for k in keys[1:]:
        assert after[k] == before[k], k
    sheets_after = sheet_names(book_path(root, "customers"))
    assert [s for s in sheets_after if s not in (DUE_LIST.sheet("zh"), LEDGER_SHEET)] == \
        sheets_before
    assert DUE_LIST.sheet("zh") in sheets_after and sheets_after[-1] == LEDGER_SHEET

    # the due list lists exactly the overdue + today + this-week dues
    headers = {k: DUE_LIST.column(k).header("zh") for k in ("owner", "customer", "date",
                                                            "rule", "status", "overdue_days")}
    listed = sheet_rows(book_path(root, "customers"), DUE_LIST.sheet("zh"), headers)
    buckets = report.buckets()
    expected = sorted((d.owner, d.customer, d.date, d.rule) for b in buckets.values()
                      for d in b)
    assert expected, "the sample has dues this week"
    got = sorted((r["owner"], r["customer"], _day(r["date"]), r["rule"]) for r in listed)
    assert got == expected
    status = {"逾期": "overdue", "今天": "today", "本周": "this_week"}
    for r in listed:
        bucket = status[r["status"]]
        assert any((d.owner, d.customer, d.date, d.rule) ==
                   (r["owner"], r["customer"], _day(r["date"]), r["rule"])
                   for d in buckets[bucket])
        assert (r["overdue_days"] or 0) == max(0, (SAMPLE_TODAY - _day(r["date"])).days)

    # running again replaces the due list instead of adding a second one
    run_followups(root, today=SAMPLE_TODAY, write=True)
    again = sheet_names(book_path(root, "customers"))
    assert again == sheets_after


def _day(value: Any) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def test_editing_the_tier_interval_in_settings_xlsx(sample_root: Path, tmp_path: Path) -> None:
    from xlsales.tables import get

    root = copy_of(sample_root, tmp_path / "ws")
    first = run_followups(root, today=SAMPLE_TODAY).report
    spec = get("tiers")
    path = root / "settings.xlsx"
    wb = openpyxl.load_workbook(path)
    tier_h, interval_h = spec.column("tier").header("zh"), spec.column(
        "interval_days").header("zh")
    edited = False
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            texts = {c.value: c.column for c in row if isinstance(c.value, str)}
            if tier_h in texts and interval_h in texts:
                for r in range(row[0].row + 1, ws.max_row + 1):
                    if ws.cell(r, texts[tier_h]).value == "C":
                        ws.cell(r, texts[interval_h]).value = 20
                        edited = True
                break
    assert edited
    wb.save(path)
    second = run_followups(root, today=SAMPLE_TODAY).report

    settings = read_settings(root)
    engine = Engine(settings)
    log: dict[Any, list[dt.date]] = {}
    for r in read_table(root, "follow_ups", settings):
        if r["date"] <= SAMPLE_TODAY:
            log.setdefault(company_key(r["customer"]), []).append(r["date"])

    def tier_c(report: Any) -> dict[str, dt.date]:
        """The routine date of tier C customers: the due, as it was before a catch-up
        plan moved it, or the one a typed date replaced."""
        out = {p.customer["customer_id"]: d.was or d.date for p in report.plans
               for d in p.dues if d.rule == "tier_C"}
        out.update({p.customer["customer_id"]: p.cadence for p in report.plans
                    if p.cadence is not None and p.customer["tier"] == "C"})
        return out

    old, new = tier_c(first), tier_c(second)
    assert old.keys() == new.keys() and old
    for p in second.plans:
        cid = p.customer["customer_id"]
        if cid not in new:
            continue
        last = max(log.get(company_key(p.customer["name"]), []) +
                   ([p.customer["last_contact"]] if p.customer.get("last_contact") else []))
        assert new[cid] == engine.on_working_day(last + dt.timedelta(days=20))
        assert old[cid] == engine.on_working_day(last + dt.timedelta(days=30))


# -- CLI -----------------------------------------------------------------------------------

def test_cli_followups_json(sample_root: Path, tmp_path: Path) -> None:
    root = copy_of(sample_root, tmp_path / "ws")
    result = CliRunner().invoke(app, ["followups", "-w", str(root), "--on", "2024-03-29",
                                      "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["ok"] is True
    assert {"on", "rep", "due", "counts", "per_rep", "next", "written"} <= payload.keys()
    assert payload["on"] == "2024-03-29" and payload["written"] is None
    assert set(payload["due"]) == {"overdue", "today", "this_week"}
    assert payload["counts"] == {k: len(v) for k, v in payload["due"].items()}
    assert {"customer", "owner", "date", "rule", "kind", "reason", "overdue_days"} <= \
        payload["due"]["overdue"][0].keys()
    mine = CliRunner().invoke(app, ["followups", "-w", str(root), "--on", "2024-03-29",
                                    "--rep", OWNER, "--json"])
    assert mine.exit_code == 0
    assert {d["owner"] for b in json.loads(mine.stdout)["due"].values() for d in b} == {OWNER}


def test_cli_followups_bad_date_is_exit_2(sample_root: Path) -> None:
    result = CliRunner().invoke(app, ["followups", "-w", str(sample_root), "--on", "soon"])
    assert result.exit_code == 2


# == follow-ups that respect people (issue 14) ===============================================

def no_extra() -> Settings:
    """Default settings whose tiers have no extra contact (one routine date per tier)."""
    tiers = [t.model_copy(update={"extra_contact": None, "extra_interval_days": None})
             for t in SETTINGS.tiers]
    return SETTINGS.model_copy(update={"tiers": tiers})


def with_general(settings: Settings = SETTINGS, **changes: Any) -> Settings:
    return settings.model_copy(update={"general": settings.general.model_copy(update=changes)})


BARE = no_extra()


# -- typed dates win over the routine date ------------------------------------------------

def test_a_date_typed_in_the_archive_wins_over_the_cadence() -> None:
    log = [contact("2024-03-01")]
    # tier B: Fri 03-01 + 14 = Fri 03-15; the rep typed Tue 03-12 (agreed with the customer)
    c = customer(tier="B", next_follow_up=D("2024-03-12"))
    plan = plan_of(c, log, today="2024-03-04", settings=BARE)
    assert [(d.rule, d.date) for d in plan.dues] == [("agreed", D("2024-03-12"))]
    assert plan.archive == "typed" and plan.keeps_cell
    assert plan.typed is not None and plan.typed.source == "archive"
    assert plan.cadence == D("2024-03-15") and not plan.breaks_cadence
    assert plan.next is not None and plan.next.kind == "约定跟进"


def test_a_typed_date_later_than_the_cadence_is_flagged_not_overwritten() -> None:
    log = [contact("2024-03-01")]
    # typed Wed 03-20, later than 03-01 + 14 = 03-15: kept, and flagged
    c = customer(tier="B", next_follow_up=D("2024-03-20"))
    plan = plan_of(c, log, today="2024-03-04", settings=BARE)
    assert [(d.rule, d.date) for d in plan.dues] == [("agreed", D("2024-03-20"))]
    assert plan.breaks_cadence and plan.keeps_cell
    assert "晚于B类客户每14天电话的节奏(应不晚于2024-03-15)" in plan.dues[0].reason
    report = follow_up_report([c], log, [], BARE, D("2024-03-04"))
    [flag] = report.typed_summary()["breaks_cadence"]
    assert (flag["date"], flag["limit"], flag["source"]) == ("2024-03-20", "2024-03-15",
                                                             "archive")
    # tier C, contact Fri 02-16: + 30 = Sun 03-17, so the routine date is Fri 03-15; a
    # typed Sun 03-17 is still within the 30 days: not flagged
    c = customer(tier="C", next_follow_up=D("2024-03-17"))
    plan = plan_of(c, [contact("2024-02-16")], today="2024-02-20", settings=BARE)
    assert plan.cadence == D("2024-03-15") and plan.cadence_limit == D("2024-03-17")
    assert not plan.breaks_cadence


def test_a_typed_date_on_or_before_the_last_contact_is_used_up() -> None:
    # the rep typed 03-01 and called on 03-01 and 03-04: the date is spent; the cadence
    # counts from Mon 03-04: + 14 = Mon 03-18
    for typed in ("2024-02-28", "2024-03-04"):
        c = customer(tier="B", next_follow_up=D(typed))
        plan = plan_of(c, [contact("2024-03-01"), contact("2024-03-04")], today="2024-03-05",
                       settings=BARE)
        assert plan.archive == "past" and not plan.keeps_cell
        assert [(d.rule, d.date) for d in plan.dues] == [("tier_B", D("2024-03-18"))]


def test_a_date_xlsales_wrote_is_recomputed_and_an_edited_one_is_typed() -> None:
    from xlsales.followups import LedgerEntry

    c = customer(tier="B", next_follow_up=D("2024-03-15"), next_reason="例行跟进:whatever")
    log = [contact("2024-03-01"), contact("2024-03-08")]
    key = f"C0001|{company_key(NAME)}"
    # xlsales wrote 03-15 (its ledger says so); a contact on Fri 03-08 moves the cadence
    # to 03-08 + 14 = Fri 03-22
    ledger = {key: LedgerEntry(written=D("2024-03-15"), since=D("2024-03-01"))}
    report = follow_up_report([c], log, [], BARE, D("2024-03-08"), ledger=ledger)
    assert report.plans[0].archive == "ours"
    assert [(d.rule, d.date) for d in report.plans[0].dues] == [("tier_B", D("2024-03-22"))]
    # the rep changed the date to 03-14 (the reason still reads like xlsales's): typed
    edited = {**c, "next_follow_up": D("2024-03-14")}
    report = follow_up_report([edited], log, [], BARE, D("2024-03-08"), ledger=ledger)
    assert report.plans[0].archive == "typed"
    assert [(d.rule, d.date) for d in report.plans[0].dues] == [("agreed", D("2024-03-14"))]
    # no ledger yet (a workbook written by an earlier version): a reason in xlsales's form
    # marks the date as its own; any other reason, or none, as typed
    assert plan_of(c, log, today="2024-03-08", settings=BARE).archive == "ours"
    assert plan_of({**c, "next_reason": "客户说下周五再联系"}, log, today="2024-03-08",
                   settings=BARE).archive == "typed"
    # --force: planned as if xlsales had written it
    report = follow_up_report([edited], log, [], BARE, D("2024-03-08"), ledger=ledger,
                              force=True)
    assert report.plans[0].archive == "forced"
    assert [(d.rule, d.date) for d in report.plans[0].dues] == [("tier_B", D("2024-03-22"))]


def test_the_next_date_of_the_latest_log_entry_is_used() -> None:
    entry = {**contact("2024-03-01"), "next_date": D("2024-03-07")}
    c = customer(tier="B")
    plan = plan_of(c, [entry], today="2024-03-04", settings=BARE)
    # agreed on 03-01 for Thu 03-07 (the cadence would say 03-15)
    assert [(d.rule, d.date) for d in plan.dues] == [("agreed", D("2024-03-07"))]
    assert plan.typed is not None and (plan.typed.source, plan.typed.logged) == (
        "log", D("2024-03-01"))
    assert "2024-03-01跟进记录约定的下次跟进时间" in plan.dues[0].reason
    assert not plan.keeps_cell  # written into the empty archive cell
    # a later entry without a next date supersedes it: the cadence from Tue 03-05 + 14 =
    # Tue 03-19
    plan = plan_of(c, [entry, contact("2024-03-05")], today="2024-03-05", settings=BARE)
    assert [(d.rule, d.date) for d in plan.dues] == [("tier_B", D("2024-03-19"))]
    # an entry after today does not count yet
    later = {**contact("2024-03-06"), "next_date": D("2024-03-08")}
    plan = plan_of(c, [entry, later], today="2024-03-05", settings=BARE)
    assert [(d.rule, d.date) for d in plan.dues] == [("agreed", D("2024-03-07"))]
    # a date typed in the archive wins over the log's
    plan = plan_of({**c, "next_follow_up": D("2024-03-11")}, [entry], today="2024-03-04",
                   settings=BARE)
    assert [(d.rule, d.date) for d in plan.dues] == [("agreed", D("2024-03-11"))]
    assert plan.typed is not None and plan.typed.source == "archive"


# -- never before the last contact nor the event ----------------------------------------------

def test_no_computed_date_before_the_last_contact() -> None:
    c = customer(created_on=D("2023-10-09"))
    o = opportunity("方案提交", entered="2024-02-01", created="2024-01-10")
    # proposal sent Thu 02-01 + 3 = Sun 02-04, a make-up working day (调休): due 02-04;
    # no 方案反馈 since, and a routine call on Fri 03-01: still open then → due 03-01
    plan = plan_of(c, [contact("2024-01-10"), contact("2024-03-01")], [o], today="2024-03-04")
    [due] = plan.dues
    assert (due.rule, due.date) == ("proposal_feedback", D("2024-03-01"))
    assert due.reason.endswith(";最近联系(2024-03-01)时仍未完成")
    # the archive's 最近联系日期 (Sat 03-02) is later than the log: the first working day on
    # or after it, Mon 03-04
    plan = plan_of({**c, "last_contact": D("2024-03-02")}, [contact("2024-03-01")], [o],
                   today="2024-03-04")
    assert [(d.rule, d.date) for d in plan.dues] == [("proposal_feedback", D("2024-03-04"))]


def test_a_cadence_never_falls_before_a_contact_made_on_a_holiday() -> None:
    # a visit on Sat 02-10 (Spring Festival): + 7 = Sat 02-17 (off); the working day before
    # is Fri 02-09, before the visit → the first working day after it, the make-up Sun 02-18
    c = customer(tier="A")
    plan = plan_of(c, [contact("2024-02-10", how="主管拜访")], today="2024-02-10")
    assert {d.rule: d.date for d in plan.dues}["tier_A"] == D("2024-02-18")
    # a visit on Fri 02-09: + 7 = Fri 02-16 (off); the working day before the holiday is the
    # visit's own day, so the week's contact goes to Sun 02-18 too, not to 02-09 again
    plan = plan_of(c, [contact("2024-02-09", how="主管拜访")], today="2024-02-09")
    assert {d.rule: d.date for d in plan.dues}["tier_A"] == D("2024-02-18")


def test_a_deadline_never_falls_before_its_event() -> None:
    c = customer(created_on=D("2023-10-09"))
    log = [contact("2024-03-09", kind="客户异议")]  # raised on Saturday
    # + 1 = Sun 03-10 (off) → Mon 03-11, the only working day since the event: 1 ≤ 1
    assert dues(c, log, today="2024-03-09") == {"objection": D("2024-03-11")}
    # "previous" would go back to Fri 03-08, before the objection: forward, saying why
    back = with_general(deadline_off_day="previous")
    plan = plan_of(c, log, today="2024-03-09", settings=back)
    assert [(d.rule, d.date) for d in plan.dues] == [("objection", D("2024-03-11"))]
    assert "之前没有晚于2024-03-09的工作日,顺延到下一个工作日" in plan.dues[0].reason


def test_the_extra_contact_counts_from_contacts_not_the_creation_day() -> None:
    # created 2023-12-01, visited only on Mon 03-25; seen on 03-29: the monthly mail
    # counts from that visit, + 30 = Wed 04-24, not from the creation (63 days overdue)
    c = customer(tier="B", created_on=D("2023-12-01"))
    got = dues(c, [contact("2024-03-25", how="拜访")], today="2024-03-29")
    assert got == {"tier_B": D("2024-04-08"), "tier_B_extra": D("2024-04-24")}
    # with no log, the archive's 最近联系日期 (Mon 03-25) is the first contact on record
    got = dues({**c, "last_contact": D("2024-03-25")}, today="2024-03-29")
    assert got == {"tier_B": D("2024-04-08"), "tier_B_extra": D("2024-04-24")}


# -- a deadline on a day off ------------------------------------------------------------------

def team_day_off(day: str, settings: Settings = SETTINGS) -> Settings:
    from xlsales.settings import CalendarOverride

    return settings.model_copy(update={"calendar": [
        CalendarOverride(date=D(day), working=False, note="团建")]})


def test_a_deadline_on_a_team_day_off_moves_to_the_next_working_day() -> None:
    s = team_day_off("2024-03-25")  # Monday 03-25: the team's day off
    assert not WorkCalendar.of(s).is_working(D("2024-03-25"))
    c = customer(created_on=D("2024-03-20"))
    # created Wed 03-20 + 5 = Mon 03-25 (off) → Tue 03-26: Wed, Thu, Fri, Tue = 4 ≤ 5
    plan = plan_of(c, today="2024-03-20", settings=s)
    assert [(d.rule, d.date) for d in plan.dues] == [("first_contact", D("2024-03-26"))]
    assert plan.dues[0].reason == ("新客户(2024-03-20)需在5天内首次联系"
                                   "(2024-03-25为休息日,顺延到下一个工作日)")
    en = follow_up_report([c], [], [], s, D("2024-03-20"), lang="en").plans[0].dues[0]
    assert en.reason.endswith("(2024-03-25 is a day off: moved to the next working day)")


def test_a_deadline_moves_back_when_the_next_working_day_breaks_its_limit() -> None:
    s = team_day_off("2024-03-25")
    c = customer(created_on=D("2023-10-09"))
    # objection raised Fri 03-22, answer within 1 day: + 1 = Sat 03-23 → the next working
    # day is Tue 03-26 (Monday off), giving Fri 03-22 and Tue 03-26 = 2 > 1 working days
    # → back to Fri 03-22
    plan = plan_of(c, [contact("2024-03-22", kind="客户异议")], today="2024-03-22",
                   settings=s)
    assert [(d.rule, d.date) for d in plan.dues] == [("objection", D("2024-03-22"))]
    assert plan.dues[0].reason.endswith(
        "(2024-03-23为休息日,顺延到2024-03-26将超过1个工作日,提前到前一个工作日)")
    # closed Thu 03-21, call within 48 hours: + 2 = Sat 03-23 → Tue 03-26 would give Thu,
    # Fri, Tue = 3 > 2 → Fri 03-22; the week's visit: + 7 = Thu 03-28 (working)
    won_c = customer(stage="成交客户", birthday=D("1900-01-01"))
    got = dues(won_c, [], [won("2024-03-21")], today="2024-03-21", settings=s)
    assert got["after_deal_48h"] == D("2024-03-22")
    assert got["after_deal_week"] == D("2024-03-28")


def test_the_previous_setting_always_moves_back() -> None:
    s = with_general(team_day_off("2024-03-25"), deadline_off_day="previous")
    c = customer(created_on=D("2024-03-20"))
    # 03-25 off → back to Fri 03-22
    plan = plan_of(c, today="2024-03-20", settings=s)
    assert [(d.rule, d.date) for d in plan.dues] == [("first_contact", D("2024-03-22"))]
    assert plan.dues[0].reason.endswith("(2024-03-25为休息日,提前到前一个工作日)")


def test_the_deadline_setting_is_read_from_the_settings_workbook_rows() -> None:
    from xlsales.workspace import settings_from_records

    s = settings_from_records({"options": [
        {"key": "deadline_off_day", "value": "previous", "_row": 5},
        {"key": "catch_up_after_days", "value": 21.0, "_row": 6},
        {"key": "catch_up_per_day", "value": "3", "_row": 7}]})
    assert (s.general.deadline_off_day, s.general.catch_up_after_days,
            s.general.catch_up_per_day) == ("previous", 21, 3)
    assert not s.problems
    bad = settings_from_records({"options": [
        {"key": "deadline_off_day", "value": "sideways", "_row": 5},
        {"key": "catch_up_per_day", "value": 0, "_row": 6}]})
    assert (bad.general.deadline_off_day, bad.general.catch_up_per_day) == ("next", 5)
    assert len(bad.problems) == 2


# -- won and lost customers ---------------------------------------------------------------

def test_a_won_customer_gets_no_first_contact() -> None:
    # a customer created yesterday as won (an import), never contacted: nothing to
    # "first contact"; the same row as an intent customer would be
    won_c = customer(stage="成交客户", created_on=D("2024-03-20"), birthday=D("1900-01-01"))
    assert "first_contact" not in dues(won_c, today="2024-03-21")
    assert dues({**won_c, "stage": "意向客户"}, today="2024-03-21") == {
        "first_contact": D("2024-03-25")}
    # nor for a new opportunity of a customer who has bought before
    c = customer(created_on=D("2023-10-09"))
    opps = [won("2023-12-05"), opportunity("初步接触", entered="2024-03-20",
                                           created="2024-03-20", opp_id="O2")]
    assert "first_contact" not in dues(c, [contact("2024-03-01")], opps, today="2024-03-21")


def test_the_archives_last_contact_settles_the_first_contact() -> None:
    c = customer(created_on=D("2024-03-01"), last_contact=D("2024-03-04"))
    assert "first_contact" not in dues(c, today="2024-03-21")


# -- onboarding: the catch-up plan ----------------------------------------------------------

CATCH = with_general(BARE, catch_up_per_day=3)
TODAY = D("2024-03-20")  # Wednesday; catch-up days start on Thu 03-21


def onboarding_team() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """张伟's seven customers last contacted on 2024-01-02 (long overdue), one overdue by
    9 days and one not due; 李娜's two long-overdue customers."""
    rows = [("c1", "C", 50.0), ("c2", "A", 10.0), ("c3", "B", 80.0), ("c4", "A", 30.0),
            ("c5", "C", None), ("c6", "B", 5.0), ("c7", "A", None)]
    customers, log = [], []
    for i, (name, tier, budget) in enumerate(rows):
        customers.append(customer(f"{name}公司", customer_id=f"Z{i}", tier=tier,
                                  budget=budget))
        log.append(contact("2024-01-02", name=f"{name}公司"))
    customers.append(customer("近期公司", customer_id="Z8", tier="B"))
    log.append(contact("2024-02-26", name="近期公司"))  # + 14 = Mon 03-11: 9 days overdue
    customers.append(customer("新近公司", customer_id="Z9", tier="B"))
    log.append(contact("2024-03-18", name="新近公司"))  # + 14 = Mon 04-01
    for i, name in enumerate(("l1公司", "l2公司")):
        customers.append(customer(name, customer_id=f"L{i}", tier="C", owner="李娜"))
        log.append(contact("2024-01-02", name=name, owner="李娜"))
    return customers, log


def test_onboarding_spreads_long_overdue_follow_ups() -> None:
    customers, log = onboarding_team()
    report = follow_up_report(customers, log, [], CATCH, TODAY, onboard=True)
    day = {p.customer["name"]: p.next.date for p in report.plans if p.next}  # type: ignore[union-attr]
    # A first, then B, then C; within a tier the bigger budget first; 3 a day per rep
    assert {n: day[f"{n}公司"] for n in ("c4", "c2", "c7", "c3", "c6", "c1", "c5")} == {
        "c4": D("2024-03-21"), "c2": D("2024-03-21"), "c7": D("2024-03-21"),
        "c3": D("2024-03-22"), "c6": D("2024-03-22"), "c1": D("2024-03-22"),
        "c5": D("2024-03-25")}  # Mon 03-25: the weekend is skipped
    assert day["l1公司"] == day["l2公司"] == D("2024-03-21")
    plan = report.catch_up
    assert plan is not None and plan.first_run and plan.onboarded == len(customers)
    assert plan.per_day_counts() == {"2024-03-21": {"张伟": 3, "李娜": 2},
                                     "2024-03-22": {"张伟": 3}, "2024-03-25": {"张伟": 1}}
    assert all(n <= 3 for reps in plan.per_day_counts().values() for n in reps.values())
    # each moved due keeps its original date: c1's tier C, 01-02 + 30 = Thu 02-01
    c1 = next(d for d in plan.moved if d.customer == "c1公司")
    assert (c1.rule, c1.was, c1.catch_up) == ("tier_C", D("2024-02-01"), True)
    assert c1.reason.startswith("补跟进(原定2024-02-01,首次安排时已逾期48天):")
    # overdue by no more than 14 days: listed as overdue as it is
    assert [(d.customer, d.date) for d in report.buckets()["overdue"]] == [
        ("近期公司", D("2024-03-11"))]
    assert plan.message("zh") == (
        "首次安排跟进:9位客户的9项逾期超过14天的跟进未一次列出,已排入补跟进计划:"
        "2024-03-21至2024-03-25,每位代表每天最多3位客户,A类与预算大的客户优先")
    assert plan.as_dict("en")["message"].startswith(
        "First follow-up plan: 9 follow-ups of 9 customers overdue by more than 14 days")
    # without onboarding (the engine alone), everything is overdue at once
    bare = follow_up_report(customers, log, [], CATCH, TODAY)
    assert bare.catch_up is None and len(bare.buckets()["overdue"]) == 10


def test_the_catch_up_plan_is_kept_by_the_ledger_and_new_customers_join_it() -> None:
    from xlsales.followups import ledger_after, ledger_from_rows, ledger_rows

    customers, log = onboarding_team()
    first = follow_up_report(customers, log, [], CATCH, TODAY, onboard=True)
    written = {p.key: p.next.date if p.next else None for p in first.plans}
    ledger = ledger_from_rows(ledger_rows(ledger_after(first.plans, None, TODAY,
                                                       first.catch_up, written)))
    assert ledger is not None
    # the next day (Thu 03-21): c4 was called, the others were not; an import added two
    # long-overdue tier A customers of 张伟
    later = D("2024-03-21")
    extra = [customer(f"n{i}公司", customer_id=f"N{i}", tier="A") for i in range(2)]
    log2 = [*log, contact("2024-03-21", name="c4公司"),
            *(contact("2024-01-05", name=f"n{i}公司") for i in range(2))]
    second = follow_up_report([*customers, *extra], log2, [], CATCH, later, ledger=ledger,
                              onboard=True)
    day = {p.customer["name"]: p.next.date for p in second.plans if p.next}  # type: ignore[union-attr]
    # the plan stands: c2/c7 on 03-21, c3/c6/c1 on 03-22, c5 on 03-25; c4 is routine again
    # (03-21 + 7 = Thu 03-28)
    assert (day["c2公司"], day["c3公司"], day["c5公司"]) == (
        D("2024-03-21"), D("2024-03-22"), D("2024-03-25"))
    assert day["c4公司"] == D("2024-03-28")
    plan = second.catch_up
    assert plan is not None and not plan.first_run and plan.onboarded == 2
    # the new ones start on the next working day after 03-21: Fri 03-22 is full (3), so
    # Mon 03-25 (c5 holds one of its three places): both fit there
    assert day["n0公司"] == day["n1公司"] == D("2024-03-25")
    assert plan.per_day_counts()["2024-03-25"] == {"张伟": 3}
    assert not plan.message("zh").startswith("首次")


# -- the job and the command on a workspace ------------------------------------------------

def set_archive(root: Path, customer_id: str, **values: Any) -> int:
    """Type values into a customer's archive row (as a rep would in Excel); its row."""
    from xlsales.io.edit.book import WorkbookEdit
    from xlsales.io.edit.cells import Cell
    from xlsales.io.read import read_table as read_book_table
    from xlsales.tables.customers import CUSTOMERS

    path = book_path(root, "customers")
    table = read_book_table(path, CUSTOMERS, read_settings(root))
    [row] = [r["_row"] for r in table.records(with_row=True) if r["customer_id"] == customer_id]
    with WorkbookEdit(path) as wb:
        for key, value in values.items():
            wb.set_cell(table.sheet, table.cell(key, row), Cell(value))  # type: ignore[arg-type]
        wb.save()
    return row


def archive(root: Path) -> dict[str, dict[str, Any]]:
    return {c["customer_id"]: c for c in read_table(root, "customers", read_settings(root))}


def findings(path: Path, rule: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(app, ["validate", str(path), "--on", "2024-03-29", "--json"])
    assert result.exit_code in (0, 1), result.output
    return [f for f in json.loads(result.stdout)["findings"] if f["rule"] == rule]


def test_validate_finds_no_next_before_last_after_the_write(sample_root: Path,
                                                            tmp_path: Path) -> None:
    root = copy_of(sample_root, tmp_path / "ws")
    path = book_path(root, "customers")
    # a rep left a date from before the last contact (C0002: last contact 2024-03-27)
    c2 = archive(root)["C0002"]
    row = set_archive(root, "C0002", next_follow_up=c2["last_contact"] - dt.timedelta(days=3))
    assert [f["row"] for f in findings(path, "T5.next_before_last")] == [row]

    result = run_followups(root, today=SAMPLE_TODAY, write=True)
    assert findings(path, "T5.next_before_last") == []
    # the used-up date was replaced, and the output names it
    [refilled] = result.refilled
    assert refilled["customer"] == c2["name"] and refilled["row"] == row
    assert refilled["cell"] == f"客户档案!{refilled['cell'].split('!')[1]}"
    assert refilled["was"] == (c2["last_contact"] - dt.timedelta(days=3)).isoformat()
    after = archive(root)["C0002"]
    assert after["next_follow_up"] > c2["last_contact"]
    assert after["next_follow_up"].isoformat() == refilled["date"]


def test_typed_dates_survive_the_write_and_xlsales_knows_its_own(sample_root: Path,
                                                                 tmp_path: Path) -> None:
    root = copy_of(sample_root, tmp_path / "ws")
    before = archive(root)
    # C0003's typed date is cleared: xlsales fills that cell only
    set_archive(root, "C0003", next_follow_up=None)
    first = run_followups(root, today=SAMPLE_TODAY, write=True)
    after = archive(root)
    typed = [cid for cid, c in before.items() if c["next_follow_up"] and cid != "C0003"]
    assert typed and all(after[cid]["next_follow_up"] == before[cid]["next_follow_up"]
                         and after[cid]["next_reason"] == before[cid]["next_reason"]
                         for cid in typed)
    assert first.kept == len(typed)
    mine = after["C0003"]["next_follow_up"]
    plan = next(p for p in first.report.plans if p.customer["customer_id"] == "C0003")
    assert plan.next is not None and mine == plan.next.date
    assert after["C0003"]["next_reason"] == f"{plan.next.kind}:{plan.next.reason}"
    # the ledger is a hidden sheet
    import zipfile

    with zipfile.ZipFile(book_path(root, "customers")) as z:
        assert re.search(r'<sheet name="_followups" sheetId="\d+" state="hidden"',
                         z.read("xl/workbook.xml").decode())

    # the next run knows the date as its own …
    second = run_followups(root, today=SAMPLE_TODAY)
    assert {p.customer["customer_id"]: p.archive for p in second.report.plans}["C0003"] == \
        "ours"
    # … until the rep changes it: then it is typed and kept
    moved = mine + dt.timedelta(days=1)
    set_archive(root, "C0003", next_follow_up=moved)
    third = run_followups(root, today=SAMPLE_TODAY, write=True)
    assert {p.customer["customer_id"]: p.archive for p in third.report.plans}["C0003"] == \
        "typed"
    assert archive(root)["C0003"]["next_follow_up"] == moved


def test_force_overwrites_typed_dates_and_names_the_rows(sample_root: Path,
                                                         tmp_path: Path) -> None:
    root = copy_of(sample_root, tmp_path / "ws")
    before = archive(root)
    result = run_followups(root, today=SAMPLE_TODAY, write=True, force=True)
    after = archive(root)
    plans = {p.customer["customer_id"]: p for p in result.report.plans}
    typed = {cid for cid, c in before.items() if c["next_follow_up"]}
    assert sorted(r["row"] for r in result.overwritten) == sorted(
        p.customer["_row"] for cid, p in plans.items() if cid in typed)
    assert result.kept == 0
    for r in result.overwritten:
        cid = next(cid for cid, c in before.items() if c["name"] == r["customer"])
        nxt = plans[cid].next
        assert nxt is not None and nxt.rule != "agreed"
        assert r["was"] == before[cid]["next_follow_up"].isoformat()
        assert r["date"] == nxt.date.isoformat() == after[cid]["next_follow_up"].isoformat()
        assert r["cell"].startswith("客户档案!")
    # the command lists them; --force alone is refused
    runner = CliRunner()
    refused = runner.invoke(app, ["followups", "-w", str(root), "--on", "2024-03-29",
                                  "--force"])
    assert refused.exit_code == 2 and "--force" in refused.output
    root2 = copy_of(sample_root, tmp_path / "ws2")
    shown = runner.invoke(app, ["followups", "-w", str(root2), "--on", "2024-03-29",
                                "--write", "--force"])
    assert shown.exit_code == 0, shown.output
    assert sum("已覆盖 客户档案!" in line for line in shown.output.splitlines()) == len(typed)


def test_cli_followups_says_it_made_a_catch_up_plan(sample_root: Path, tmp_path: Path) -> None:
    root = copy_of(sample_root, tmp_path / "ws")
    runner = CliRunner()
    args = ["followups", "-w", str(root), "--on", "2024-03-29"]
    text = runner.invoke(app, args)
    assert text.exit_code == 0, text.output
    assert "首次安排跟进:" in text.output and "补跟进计划" in text.output
    plan = json.loads(runner.invoke(app, [*args, "--json"]).stdout)["catch_up"]
    assert plan["first_run"] is True and plan["customers"] > 0
    assert plan["threshold_days"] == 14 and plan["per_rep_per_day"] == 5
    assert all(n <= 5 for reps in plan["per_day"].values() for n in reps.values())
    assert plan["first"] >= "2024-04-01"  # the next working day after Fri 03-29
    # written once, the plan stands and is no longer a first run
    assert runner.invoke(app, [*args, "--write"]).exit_code == 0
    again = json.loads(runner.invoke(app, [*args, "--json"]).stdout)["catch_up"]
    assert again["first_run"] is False and again["onboarded"] == 0
    assert again["per_day"] == plan["per_day"]
    assert again["message"] == plan["message"].removeprefix("首次安排跟进:")
