"""Generate the sample team's six months of data, reproducibly from a seed.

The generator simulates the world first (customers, opportunities moving through
stages, contacts) and then writes every table from that one story, so the daily
stage moves, the opportunities, the signed amounts and the targets agree with
each other, except for a few deliberate slips real teams make (see ``QUIRKS``).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from typing import Any

from xlsales.calendar import WorkCalendar, quarter_months
from xlsales.i18n import Label, Lang
from xlsales.sample import team
from xlsales.settings import DEFAULT_STAGES, ListItem, RosterEntry, Settings, parse_day_list

SAMPLE_START = dt.date(2023, 10, 1)
SAMPLE_END = dt.date(2024, 3, 31)
SAMPLE_TODAY = dt.date(2024, 3, 29)
PIPELINE_START = dt.date(2023, 6, 1)
QUARTERS = ("2023Q4", "2024Q1")
NEXT_QUARTER = "2024Q2"

OPEN_STAGES = [s.zh for s in DEFAULT_STAGES if s.kind == "open"]
WON, LOST = "签约成交", "输单"

QUIRKS = Label(
    "样例中故意包含的问题:个别日报逾期或缺交、有效沟通数大于拜访数、缺少次日计划、"
    "同一天重复填报、周末非调休日填报、跳过阶段的推进、两位代表认领同一客户(撞单)、"
    "流失客户未填原因、高优先级线索未分配、月度拆解与季度目标不符、目标未签字。",
    "Deliberate slips in the sample: a few late or missing dailies, effective > visits, "
    "missing next-day plans, a duplicate daily row, a report on a non-working Sunday, "
    "a skipped stage, one customer claimed by two reps, a lost customer without a reason, "
    "an unassigned high-priority lead, a monthly split that does not add up, an unsigned "
    "target row.",
)


@dataclass
class _Opp:
    opp_id: str
    customer: str
    owner: str
    product_line: str
    amount: float
    created: dt.date
    moves: list[tuple[dt.date, str | None, str]] = field(default_factory=list)
    lost_reason: str | None = None

    @property
    def stage(self) -> str:
        return self.moves[-1][2]


@dataclass
class SampleTeam:
    """The sample: settings plus canonical records per table key."""

    settings: Settings
    data: dict[str, list[dict[str, Any]]]
    today: dt.date = SAMPLE_TODAY


def generate(seed: int = 2024, lang: Lang = "zh") -> SampleTeam:
    """The sample team; the same seed always gives the same data. In ``en`` the same
    story (the same figures) with English names and texts."""
    sample = _Generator(seed).run()
    if lang == "en":
        from xlsales.sample.english import to_english

        return to_english(sample)
    return sample


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.cal = WorkCalendar()
        self.workdays = list(self.cal.days(SAMPLE_START, SAMPLE_END))

    # -- helpers -------------------------------------------------------------

    def next_workday(self, day: dt.date) -> dt.date:
        while not self.cal.is_working(day):
            day += dt.timedelta(days=1)
        return day

    def phone(self) -> str:
        return "1" + self.rng.choice("3589") + "".join(self.rng.choice("0123456789")
                                                       for _ in range(9))

    # -- the story -------------------------------------------------------------

    def run(self) -> SampleTeam:
        settings = self.settings()
        customers = self.customers()
        opps = self.opportunities(customers)
        follow_ups = self.follow_ups(customers, opps)
        self.finish_customers(customers, opps, follow_ups)
        data = {
            "customers": customers,
            "follow_ups": follow_ups,
            "opportunities": self.opportunity_rows(opps),
            "stage_history": [
                {"opp_id": o.opp_id, "customer": o.customer, "from_stage": f, "to_stage": t,
                 "date": d, "owner": o.owner}
                for o in opps for d, f, t in o.moves],
            "daily": self.dailies(opps),
            "leads": self.leads(),
        }
        data["targets"], data["team_targets"] = self.targets(opps)
        data["agenda"], data["actions"], data["minutes"] = self.meetings()
        return SampleTeam(settings, data)

    def settings(self) -> Settings:
        s = Settings.default()
        s.general.team_name = "华东华南华北销售部"
        s.lists = [
            *(ListItem(list="regions", zh=r.zh, en=r.en, order=i)
              for i, r in enumerate(team.REGIONS)),
            *(ListItem(list="product_lines", zh=p.zh, en=p.en, order=i)
              for i, p in enumerate(team.PRODUCT_LINES)),
            *s.lists,
        ]
        s.roster = [RosterEntry(rep=name, region=region, product_line=line,
                                manager=team.MANAGERS[region], start_date=start,
                                email=f"rep{i + 1:02d}@example.com",
                                leave=team.LEAVE.get(name))
                    for i, (name, region, line, start, _) in enumerate(team.REPS)]
        return s

    def customers(self) -> list[dict[str, Any]]:
        rng = self.rng
        out: list[dict[str, Any]] = []
        used: set[str] = set()
        n = 0
        for rep, region, _line, start, _skill in team.REPS:
            for _ in range(rng.randint(11, 14)):
                while True:
                    city = rng.choice(team.CITIES[region])
                    core, trade = rng.choice(team.NAME_CORES), rng.choice(team.NAME_TRADES)
                    base = f"{city}{core}{trade}"
                    if core + trade not in used:
                        used.add(core + trade)
                        break
                n += 1
                created = self.next_workday(
                    max(start or dt.date.min, PIPELINE_START + dt.timedelta(
                        days=rng.randint(-300, 240))))
                out.append({
                    "customer_id": f"C{n:04d}", "name": base + rng.choice(team.SUFFIXES),
                    "contact": rng.choice(team.SURNAMES) + rng.choice(team.CONTACT_TITLES),
                    "phone": self.phone(), "industry": team.TRADE_INDUSTRY[trade],
                    "tier": rng.choices("ABC", weights=(2, 3.5, 4.5))[0],
                    "needs": rng.choice(team.NEEDS).format(b=rng.choice((20, 30, 50, 80))),
                    "budget": float(rng.choice((10, 20, 30, 50, 80, 120))),
                    "purchase_cycle": rng.choice(("一次性", "年度", "季度", "按项目")),
                    "source": rng.choice(("线上官网", "展会推广", "老客户推荐", "电话营销")),
                    "city": city, "owner": rep, "created_on": created,
                    "birthday": (team_birthday(rng) if rng.random() < 0.6
                                 else dt.date(1900, 1, 1)),
                    "stage": "潜在客户",
                })
        # 撞单: one company entered again by a rep of another region, written differently.
        twin = dict(out[5])
        twin.update(customer_id=f"C{n + 1:04d}",
                    name=twin["name"].replace("有限公司", "(有限公司)").replace("股份", ""),
                    owner=team.REPS[9][0], phone=twin["phone"][:3] + "-" + twin["phone"][3:7]
                    + "-" + twin["phone"][7:], created_on=dt.date(2024, 2, 20))
        out.append(twin)
        return out

    def opportunities(self, customers: list[dict[str, Any]]) -> list[_Opp]:
        rng = self.rng
        skills = {r[0]: r[4] for r in team.REPS}
        lines = {r[0]: r[2] for r in team.REPS}
        starts = {r[0]: r[3] for r in team.REPS}
        opps: list[_Opp] = []
        for rep, *_ in team.REPS:
            mine = [c for c in customers if c["owner"] == rep]
            count = rng.randint(34, 42) if starts[rep] is None else 16
            for _ in range(count):
                first = max(PIPELINE_START, starts[rep] or PIPELINE_START)
                created = self.next_workday(first + dt.timedelta(
                    days=rng.randint(0, (dt.date(2024, 3, 15) - first).days)))
                cust = rng.choice(mine)
                cust["created_on"] = min(cust["created_on"], created)
                amount = round(max(3.0, rng.lognormvariate(math.log(22), 0.55)), 1)
                opp = _Opp(f"O{len(opps) + 1:04d}", cust["name"], rep, lines[rep], amount,
                           created)
                self.walk(opp, skills[rep])
                opps.append(opp)
        opps.sort(key=lambda o: (o.created, o.opp_id))
        for i, o in enumerate(opps, start=1):
            o.opp_id = f"O{i:04d}"
        return opps

    def walk(self, opp: _Opp, skill: float) -> None:
        rng = self.rng
        idx = rng.choice((0, 1, 1))
        day = opp.created
        opp.moves.append((day, None, OPEN_STAGES[idx]))
        wins = rng.random() < skill
        lose_at = rng.randint(idx, len(OPEN_STAGES) - 1)
        while True:
            day = self.next_workday(day + dt.timedelta(days=rng.randint(4, 22)))
            if day > SAMPLE_TODAY:
                return
            here = OPEN_STAGES[idx]
            if not wins and idx >= lose_at:
                opp.moves.append((day, here, LOST))
                opp.lost_reason = rng.choice(team.LOST_REASONS)
                return
            if idx == len(OPEN_STAGES) - 1:
                opp.moves.append((day, here, WON))
                return
            step = 2 if (idx < 2 and rng.random() < 0.04) else 1
            idx = min(idx + step, len(OPEN_STAGES) - 1)
            opp.moves.append((day, here, OPEN_STAGES[idx]))

    def opportunity_rows(self, opps: list[_Opp]) -> list[dict[str, Any]]:
        rng = self.rng
        rows = []
        for o in opps:
            last_day = o.moves[-1][0]
            closed = last_day if o.stage in (WON, LOST) else None
            expected = closed or self.next_workday(
                max(last_day, SAMPLE_TODAY - dt.timedelta(days=20))
                + dt.timedelta(days=rng.randint(5, 70)))
            grade = [rng.choice(("强", "中", "弱")) for _ in range(3)]
            overall = "强" if grade.count("强") >= 2 else "弱" if grade.count("弱") >= 2 else "中"
            rows.append({
                "opp_id": o.opp_id, "name": f"{o.customer[:6]}-{o.product_line}项目",
                "customer": o.customer, "owner": o.owner, "product_line": o.product_line,
                "stage": o.stage, "stage_entered": last_day, "amount": o.amount,
                "expected_close": expected, "urgency": grade[0], "budget_fit": grade[1],
                "decision_clarity": grade[2], "assessment": overall, "created_on": o.created,
                "closed_on": closed, "lost_reason": o.lost_reason,
            })
        return rows

    def follow_ups(self, customers: list[dict[str, Any]],
                   opps: list[_Opp]) -> list[dict[str, Any]]:
        rng = self.rng
        interval = {"A": 7, "B": 14, "C": 30}
        log: list[dict[str, Any]] = []
        for c in customers:
            day = max(c["created_on"], SAMPLE_START)
            while True:
                day = self.next_workday(day + dt.timedelta(
                    days=max(1, int(interval[c["tier"]] * rng.uniform(0.6, 1.8)))))
                if day > SAMPLE_TODAY:
                    break
                log.append({"date": day, "customer": c["name"], "owner": c["owner"],
                            "contact_kind": rng.choice(("电话", "拜访", "微信", "邮件")),
                            "kind": "例行跟进", "content": rng.choice(team.FOLLOW_CONTENT)})
            # The tier's second cadence: a lead's visit (A), a mail (B), a screening (C).
            extra = {"A": ("主管拜访", 30, "主管陪同拜访,了解高层需求"),
                     "B": ("邮件", 30, "发送产品动态邮件"),
                     "C": ("人工筛选", 90, "季度人工筛选潜在转化机会")}[c["tier"]]
            day = max(c["created_on"], SAMPLE_START)
            while True:
                day = self.next_workday(day + dt.timedelta(
                    days=max(1, int(extra[1] * rng.uniform(0.7, 1.4)))))
                if day > SAMPLE_TODAY:
                    break
                log.append({"date": day, "customer": c["name"], "owner": c["owner"],
                            "contact_kind": extra[0], "kind": "例行跟进", "content": extra[2]})
        for o in opps:
            for day, _frm, to in o.moves:
                if to == "方案提交":
                    log.append({"date": day, "customer": o.customer, "owner": o.owner,
                                "contact_kind": "邮件", "kind": "方案反馈",
                                "content": "提交方案,等待客户反馈"})
                if to == WON:
                    for days, kind, content, odds in (
                            (2, "售后回访", "成交后48小时回访,确认交付安排", 1.0),
                            (7, "售后回访", "首次售后拜访,检查使用情况", 0.8),
                            (12, "满意度调查", "满意度调查:8分,希望加快响应", 0.7)):
                        after = self.cal.add(day, days)
                        if after <= SAMPLE_TODAY and self.rng.random() < odds:
                            log.append({"date": after, "customer": o.customer,
                                        "owner": o.owner, "contact_kind": "电话", "kind": kind,
                                        "content": content})
        log.sort(key=lambda r: (r["date"], r["customer"]))
        for r in log:
            if r["kind"] == "例行跟进" and rng.random() < 0.3:
                r["commitments"] = "下周发送案例资料"
        return log

    def finish_customers(self, customers: list[dict[str, Any]], opps: list[_Opp],
                         log: list[dict[str, Any]]) -> None:
        rng = self.rng
        by_customer: dict[str, list[_Opp]] = {}
        for o in opps:
            by_customer.setdefault(o.customer, []).append(o)
        last: dict[str, dict[str, Any]] = {}
        for r in log:
            last[r["customer"]] = r
        interval = {"A": 7, "B": 14, "C": 30}
        lost_without_reason = False
        for c in customers:
            mine = by_customer.get(c["name"], [])
            stages = {o.stage for o in mine}
            if WON in stages:
                c["stage"] = "成交客户"
            elif mine and stages == {LOST}:
                c["stage"] = "流失客户"
                reasons = [o.lost_reason for o in mine if o.lost_reason]
                if lost_without_reason:
                    c["lost_reason"] = reasons[0] if reasons else "竞品降价"
                else:
                    lost_without_reason = True
            elif any(OPEN_STAGES.index(s) >= 2 for s in stages if s in OPEN_STAGES):
                c["stage"] = "意向客户"
            entry = last.get(c["name"])
            if entry:
                c["last_contact"] = entry["date"]
                c["last_follow_up"] = f"{entry['date']:%Y-%m-%d}:{entry['content']}"
                if c["stage"] != "流失客户":
                    c["next_follow_up"] = entry["date"] + dt.timedelta(
                        days=interval[c["tier"]] + rng.choice((0, 0, 0, -3, 4)))
            c["credit_code"] = ("91" + "".join(rng.choice("0123456789") for _ in range(6))
                                + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY")
                                          for _ in range(10))) if rng.random() < 0.4 else None

    def dailies(self, opps: list[_Opp]) -> list[dict[str, Any]]:
        rng = self.rng
        moves: dict[tuple[dt.date, str], list[str]] = {}
        signed: dict[tuple[dt.date, str], float] = {}
        proposals: dict[tuple[dt.date, str], int] = {}
        customers_of: dict[str, list[str]] = {}
        for o in opps:
            customers_of.setdefault(o.owner, []).append(o.customer)
            for day, frm, to in o.moves:
                if frm is None or day < SAMPLE_START:
                    continue
                moves.setdefault((day, o.owner), []).append(f"{o.customer}:{frm}→{to}")
                if to == WON:
                    signed[(day, o.owner)] = signed.get((day, o.owner), 0.0) + o.amount
                if to == "方案提交":
                    proposals[(day, o.owner)] = proposals.get((day, o.owner), 0) + 1
        rows: list[dict[str, Any]] = []
        leave = {rep: parse_day_list(text) for rep, text in team.LEAVE.items()}
        for rep, _region, _line, start, _skill in team.REPS:
            for day in self.workdays:
                if day > SAMPLE_TODAY or (start and day < start) or day in leave.get(rep, ()):
                    continue
                key = (day, rep)
                if key not in moves and key not in signed and rng.random() < 0.015:
                    continue  # missing
                visits = rng.choice((2, 3, 3, 4, 4, 5, 5, 6, 7))
                effective = rng.randint(max(1, visits - 3), visits)
                minute = rng.randint(0, 100)
                submitted = dt.datetime.combine(day, dt.time(16, 20)) + dt.timedelta(
                    minutes=minute)
                if rng.random() < 0.04:
                    submitted = dt.datetime.combine(day, dt.time(18, 0)) + dt.timedelta(
                        minutes=rng.randint(5, 240))
                cust = rng.choice(customers_of.get(rep, ["新客户"]))[:6]
                rows.append({
                    "date": day, "rep": rep, "visits": visits, "effective": effective,
                    "new_customers": rng.choices((0, 1, 2), weights=(12, 3, 1))[0],
                    "proposals": proposals.get(key, 0),
                    "amount_signed": round(signed.get(key, 0.0), 1),
                    "stage_moves": ";".join(moves.get(key, [])) or None,
                    "problems": rng.choice(team.PROBLEMS) if rng.random() < 0.35 else None,
                    "next_plan": rng.choice(team.PLANS).format(c=cust),
                    "submitted_at": submitted,
                })
        rows.sort(key=lambda r: (r["date"], [x[0] for x in team.REPS].index(r["rep"])))
        # Deliberate slips real teams make.
        picks = rng.sample(range(len(rows)), 6)
        for i in picks[:2]:
            rows[i]["effective"] = rows[i]["visits"] + 1
        for i in picks[2:5]:
            rows[i]["next_plan"] = None
        dup = dict(rows[picks[5]])
        dup["submitted_at"] = dup["submitted_at"] + dt.timedelta(minutes=12)
        rows.insert(picks[5] + 1, dup)
        # Patterns the spot-check hints point at.
        for r in [r for r in rows if r["rep"] == "杨帆"][-4:]:
            r["next_plan"] = "电话跟进3家意向客户"
        for r in [r for r in rows if r["rep"] == "赵磊"][-6:]:
            r["effective"] = r["visits"]
        moved = next(r for r in reversed(rows) if r["rep"] == "王强" and r["stage_moves"])
        moved.update(visits=0, effective=0)
        sunday = dt.date(2024, 3, 17)
        rows.append({"date": sunday, "rep": "张伟", "visits": 1, "effective": 1,
                     "new_customers": 0, "proposals": 0, "amount_signed": 0.0,
                     "stage_moves": None, "problems": None, "next_plan": "周一拜访客户",
                     "submitted_at": dt.datetime.combine(sunday, dt.time(20, 5))})
        rows.sort(key=lambda r: (r["date"], [x[0] for x in team.REPS].index(r["rep"])))
        return rows

    def targets(self, opps: list[_Opp]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        rng = self.rng
        rows: list[dict[str, Any]] = []
        teams: list[dict[str, Any]] = []
        for q in QUARTERS:
            year, months = quarter_months(q)
            total = 0.0
            for rep, region, line, start, _skill in team.REPS:
                won = sum(o.amount for o in opps if o.owner == rep and o.stage == WON
                          and o.moves[-1][0].year == year and o.moves[-1][0].month in months)
                target = float(max(30, round((won * rng.uniform(0.85, 1.25)) / 5) * 5))
                if start and q == "2023Q4":
                    target = 30.0
                split = [round(target / 3)] * 2
                split.append(target - sum(split))
                signed_on = dt.date(year, months[0], 1) - dt.timedelta(days=rng.randint(3, 10))
                rows.append({
                    "region": region, "product_line": line, "owner": rep, "quarter": q,
                    "quarterly_target": target, "month1": float(split[0]),
                    "month2": float(split[1]), "month3": float(split[2]),
                    "new_customers": rng.choice((18, 20, 24)), "visits_per_week": 20,
                    "proposals_per_month": 3, "strategy": team.STRATEGIES[line],
                    "owner_signed": rep, "manager_signed": team.MANAGERS[region],
                    "signed_on": signed_on,
                })
                total += target
            teams.append({"quarter": q, "team_target": float(round(total / 1.12 / 5) * 5),
                          "note": "个人目标合计高出团队目标约12%"})
        rows[-1]["month3"] = (rows[-1]["month3"] or 0) + 5  # split does not add up
        rows[-2]["manager_signed"] = None  # unsigned row
        # Next quarter's targets, agreed in late March: 5% above this quarter's.
        total = 0.0
        for row in [r for r in rows if r["quarter"] == QUARTERS[-1]]:
            target = float(round(row["quarterly_target"] * 1.05 / 5) * 5)
            split = [round(target / 3)] * 2
            split.append(target - sum(split))
            rows.append({**row, "quarter": NEXT_QUARTER, "quarterly_target": target,
                         "month1": float(split[0]), "month2": float(split[1]),
                         "month3": float(split[2]), "manager_signed": row["manager_signed"]
                         or team.MANAGERS[row["region"]],
                         "signed_on": dt.date(2024, 3, rng.randint(20, 27))})
            total += target
        teams.append({"quarter": NEXT_QUARTER, "team_target": float(round(total / 1.12 / 5) * 5),
                      "note": "个人目标合计高出团队目标约12%"})
        return rows, teams

    def leads(self) -> list[dict[str, Any]]:
        rng = self.rng
        out = []
        reps = [r[0] for r in team.REPS]
        for i in range(60):
            day = rng.choice(self.workdays)
            created = dt.datetime.combine(day, dt.time(rng.randint(9, 17), rng.choice((0, 30))))
            region = rng.choice(list(team.CITIES))
            priority = rng.choices(("高", "中", "低"), weights=(2, 5, 3))[0]
            assignee = rng.choice(reps)
            assigned = created + dt.timedelta(hours=rng.choice((1, 2, 4, 20)))
            out.append({
                "lead_id": f"L{i + 1:04d}",
                "company": (rng.choice(team.CITIES[region]) + rng.choice(team.NAME_CORES)
                            + rng.choice(team.NAME_TRADES) + "有限公司"),
                "industry": rng.choice(("制造业", "零售", "物流", "医疗", "能源")),
                "contact": rng.choice(team.SURNAMES) + "先生",
                "title": rng.choice(("采购经理", "总经理", "技术总监")),
                "phone": self.phone(), "needs": rng.choice(team.NEEDS).format(b=30),
                "source": rng.choice(("线上官网", "展会推广", "老客户推荐", "社交媒体")),
                "priority": priority, "assignee": assignee, "created_at": created,
                "assigned_at": assigned, "status": rng.choice(("跟进中", "已转商机", "无效")),
            })
        out.sort(key=lambda r: r["created_at"])
        for i, r in enumerate(out, start=1):
            r["lead_id"] = f"L{i:04d}"
        late = next(r for r in reversed(out) if r["priority"] == "高"
                    and r["created_at"].date() < SAMPLE_TODAY - dt.timedelta(days=2))
        late.update(assignee=None, assigned_at=None, status="待分配")
        return out

    def meetings(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                list[dict[str, Any]]]:
        items = (("上周业绩通报(数据对比)", "销售主管", 20, "《上周业绩数据表》"),
                 ("销售代表发言(未达标原因分析)", "销售代表", 30, None),
                 ("客户共性问题讨论", "销售主管", 25, None),
                 ("本周行动项明确", "销售主管", 15, "《会议纪要》"))
        agenda = [{"topic": "季度目标冲刺周会", "time": "周一 9:00-10:30", "no": i + 1,
                   "item": item, "owner": owner, "minutes": minutes, "materials": mat}
                  for i, (item, owner, minutes, mat) in enumerate(items)]
        actions = [
            {"week": "2024-W11", "item": "3月15日前完成客户C方案并提交", "owner": "张伟",
             "due": dt.date(2024, 3, 15), "status": "已完成", "deliverable": "方案文档"},
            {"week": "2024-W12", "item": "3月22日前整理华南区竞品报价对比", "owner": "陈静",
             "due": dt.date(2024, 3, 22), "status": "进行中", "deliverable": "竞品对比表"},
            {"week": "2024-W12", "item": "跟进客户C", "owner": "李娜", "due": None,
             "status": "未开始"},
            {"week": "2024-W13", "item": "3月29日前约见3家A类客户决策人", "owner": "吴婷",
             "due": dt.date(2024, 3, 29), "status": "进行中", "deliverable": "拜访记录"},
        ]
        minutes = [{"meeting_at": dt.datetime(2024, 3, d, 9, 0),
                    "attendees": "周建国、郑晓梅、冯志远及全体销售代表",
                    "summary": "通报上周业绩,明确本周行动项",
                    "sent_at": dt.datetime(2024, 3, d, 17, 30) + dt.timedelta(
                        days=1 if d == 18 else 0)}
                   for d in (11, 18, 25)]
        return agenda, actions, minutes


def team_birthday(rng: random.Random) -> dt.date:
    """A contact's birthday."""
    return dt.date(rng.randint(1965, 1995), rng.randint(1, 12), rng.randint(1, 28))
