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
contact; a due date on a non-working day moves back to the working day before it;
"working days" deadlines count working days; holiday greetings land on the last
working day before the holiday; lost customers sleep.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from xlsales.calendar import WorkCalendar
from xlsales.cli import app
from xlsales.followups import CustomerPlan, Engine, follow_up_report
from xlsales.jobs import run_followups
from xlsales.jobs.followups import SLEEPING
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
    # no lead visit ever since the customer was created Tue 01-02: 01-02 + 30 = Thu 02-01
    assert got["tier_A_extra"] == D("2024-02-01")
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
    # created Thu 09-26 + 5 = Tue 10-01 (holiday) → back to Mon 09-30
    assert dues(c, today="2024-09-26") == {"first_contact": D("2024-09-30")}


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


def test_proposal_feedback_over_a_weekend_moves_back() -> None:
    c = customer()
    o = opportunity("方案提交", entered="2024-03-07")
    # sent Thu 03-07 + 3 = Sun 03-10 → back to Fri 03-08
    assert dues(c, [], [o], today="2024-03-07") == {"proposal_feedback": D("2024-03-08")}


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
    # closed Thu 02-08: 48 h → Sat 02-10 (festival) → Fri 02-09;
    # a week → Thu 02-15 (festival) → back to Fri 02-09;
    # satisfaction → Fri 02-23 (working);
    # Spring Festival starts Sat 02-10 → greeting on the last working day Fri 02-09
    assert got == {"after_deal_48h": D("2024-02-09"), "after_deal_week": D("2024-02-09"),
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
    # complaint solve in calendar days: Thu 03-14 + 3 = Sun 03-17 → Fri 03-15
    log = [contact("2024-03-14", kind="客户投诉")]
    got = dues(c, log, today="2024-03-14",
               settings=with_rule("complaint_solve", working_days=False))
    assert got["complaint_solve"] == D("2024-03-15")


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

    # every non-lost customer has a next date and a reason; lost ones sleep
    customers = after["customers"]
    assert len(customers) == len(before["customers"]) > 100
    plans = {p.customer["customer_id"]: p for p in report.plans}
    lost = [c for c in customers if c["stage"] == "流失客户"]
    assert lost, "the sample has lost customers"
    for c in customers:
        if c["stage"] == "流失客户":
            assert c["next_follow_up"] is None, c["name"]
            assert c["next_reason"] == SLEEPING("zh")
        else:
            nxt = plans[c["customer_id"]].next
            assert nxt is not None, c["name"]
            assert c["next_follow_up"] == nxt.date, c["name"]
            assert c["next_reason"] == f"{nxt.kind}:{nxt.reason}"

    # nothing else changed
    strip = ("next_follow_up", "next_reason")
    assert [{k: v for k, v in r.items() if k not in strip} for r in customers] == \
        [{k: v for k, v in r.items() if k not in strip} for r in before["customers"]]
    for k in keys[1:]:
        assert after[k] == before[k], k
    sheets_after = sheet_names(book_path(root, "customers"))
    assert [s for s in sheets_after if s != DUE_LIST.sheet("zh")] == sheets_before
    assert DUE_LIST.sheet("zh") in sheets_after

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
        return {p.customer["customer_id"]: d.date for p in report.plans for d in p.dues
                if d.rule == "tier_C"}

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
