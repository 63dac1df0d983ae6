"""Deterministic synthetic team workspaces of a given daily-report size.

``rows`` is the number of daily-report rows. The team has ``max(12, rows // 250)`` reps
(about one year of working days each, Chinese working days ending on
:data:`TODAY`), a few of them starting mid-way and a few on leave; ~1 % of the owed
reports are missing. Everything comes from ``random.Random(seed)``.

About 1 % of the rows carry a deliberate slip (:data:`KINDS`): invalid text in a number
cell, messy but valid text (``3次``, ``1.5万``, ``2023年3月5日`` — valid per
``xlsales/normalize.py``), effective > visits, a missing next-day plan, a date typed as
impossible text, an unknown stage in a move, a duplicate rep+date row and a rep who is
not on the roster. The generator saves what it wrote *and what each row means* (the
canonical value of every cell, the rule a slip must trigger) as pandas DataFrames in
``truth/``, so the checks can compare xlsales with an independent pandas computation.

All workbooks are written by ``xlsales.workspace.write_workspace`` (through
:mod:`benchmarks.stages`), so the layout is the template's.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import math
import os
import pickle
import random
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import stages
from benchmarks.layout import DEFAULT_CACHE, BenchWorkspace, cache_dir, size_label

GENERATOR_VERSION = 1
TODAY = dt.date(2023, 12, 29)  # the last working day of 2023; every "today" of the suite
MONTH = "2023-12"  # completion, forecast, review
QUARTER = "2023Q4"  # compliance, funnel
CALENDAR_FROM = dt.date(2021, 1, 4)  # the window never starts before this
MISSING_SHARE = 0.012  # at least this share of owed reports is missing
BAD_SHARE = 0.01
TEAM_NAME = "基准测试销售部"

KINDS = ("invalid_number", "valid_text_number", "effective_gt_visits", "missing_plan",
         "text_date_valid", "text_date_invalid", "unknown_stage", "duplicate", "unknown_rep")
# kind -> (rule id the validator must report, column key); None: valid, no finding
KIND_RULES: dict[str, tuple[str, str] | None] = {
    "invalid_number": ("cell.type", ""),  # column chosen per row
    "valid_text_number": None,
    "effective_gt_visits": ("T2.effective_gt_visits", "effective"),
    "missing_plan": ("cell.required", "next_plan"),
    "text_date_valid": None,
    "text_date_invalid": ("cell.type", "date"),
    "unknown_stage": ("T2.stage_unknown", "stage_moves"),
    "duplicate": ("T2.duplicate_row", "rep"),
    "unknown_rep": ("cell.choice", "rep"),
}

REGIONS = (("华东", "East China"), ("华南", "South China"), ("华北", "North China"),
           ("西南", "Southwest China"), ("华中", "Central China"), ("西北", "Northwest China"),
           ("东北", "Northeast China"))
PRODUCT_LINES = (("产品线A", "Product line A"), ("产品线B", "Product line B"),
                 ("产品线C", "Product line C"))
CITIES = {"华东": ("上海", "杭州", "苏州", "南京", "宁波", "合肥"),
          "华南": ("广州", "深圳", "东莞", "佛山", "厦门", "南宁"),
          "华北": ("北京", "天津", "石家庄", "济南", "太原", "青岛"),
          "西南": ("成都", "重庆", "昆明", "贵阳", "绵阳", "宜宾"),
          "华中": ("武汉", "长沙", "郑州", "南昌", "洛阳", "宜昌"),
          "西北": ("西安", "兰州", "银川", "西宁", "宝鸡", "咸阳"),
          "东北": ("沈阳", "大连", "长春", "哈尔滨", "鞍山", "吉林")}
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜"
            "叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶"
            "黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = ("伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华玉萍红娟建文辉宁鹏斌宇浩凯健俊帆琳雪晨"
         "欣怡佳悦思雨婷倩颖琪博然泽轩涵梓诗嘉瑞天晓东海波峰亮志国庆春兰凤云飞龙鑫磊晶蕾薇岚")
NAME_CORES = (
    "恒瑞", "华信", "博远", "中科", "金桥", "鼎盛", "天合", "宏达", "新锐", "联创", "嘉禾", "远航",
    "瑞丰", "星辰", "汇通", "正泰", "明德", "康达", "盛世", "永安", "卓越", "海纳", "万邦", "晨光",
    "安泰", "东方", "华美", "宇通", "长青", "和信", "智达", "云帆", "启明", "众诚", "德润", "信诚",
    "博通", "华锐", "金鼎", "恒通", "宏图", "创新", "聚源", "隆盛", "泰和", "通达", "兴业", "鸿运",
    "中联", "同创", "新华", "天成", "腾飞", "精诚", "伟业", "富达", "安信", "科达", "宝丰", "合众",
    "凯旋", "益民", "丰源", "华泰", "世纪", "华夏", "锦程", "万达", "大成", "新天", "国泰", "永兴",
)
NAME_TRADES = ("精密机械", "电子科技", "自动化设备", "物流", "医疗器械", "新材料", "信息技术",
               "食品", "贸易", "能源科技", "教育科技", "零售连锁", "金融服务", "包装材料",
               "环保科技", "汽车零部件", "建材", "化工", "纺织", "光电")
TRADE_INDUSTRY = {"精密机械": "制造业", "电子科技": "制造业", "自动化设备": "制造业",
                  "物流": "物流", "医疗器械": "医疗", "新材料": "制造业", "信息技术": "互联网",
                  "食品": "零售", "贸易": "零售", "能源科技": "能源", "教育科技": "教育",
                  "零售连锁": "零售", "金融服务": "金融", "包装材料": "制造业",
                  "环保科技": "能源", "汽车零部件": "制造业", "建材": "制造业", "化工": "制造业",
                  "纺织": "制造业", "光电": "制造业"}
SUFFIXES = ("有限公司", "有限公司", "有限公司", "股份有限公司", "有限责任公司", "集团有限公司")
CONTACT_TITLES = ("经理", "总监", "总", "主任", "工程师")
NEEDS = ("需采购自动化设备,预算{b}万", "产线升级改造,关注交付周期", "替换现有供应商,价格敏感",
         "新建厂区配套,需整体方案", "关注售后响应速度", "需要行业案例和试用", "年度集中采购",
         "数字化管理系统选型", "扩产需求,预算{b}万")
PROBLEMS = ("客户预算低于预期", "竞品报价更低", "决策人出差,会议延期", "客户需要更多行业案例",
            "技术参数需要再确认", "付款条件待协商", "客户内部采购流程变化", "交付周期客户有顾虑",
            "样品测试结果未出", "客户对售后响应有疑问", "招标文件要求资质证明", "对接人岗位调整")
PLANS = ("跟进{c}方案反馈", "拜访2家新客户", "准备{c}报价单", "电话回访老客户", "拜访{c}决策人",
         "整理客户需求清单", "约见{c}技术负责人", "参加行业展会收集线索", "完成{c}方案修改并提交",
         "电话跟进3家意向客户", "陪同主管拜访{c}", "提交{c}合同初稿", "安排{c}产品演示")
FOLLOW_CONTENT = ("介绍产品A功能,客户反馈需看案例", "电话沟通需求细节", "发送产品资料和报价",
                  "现场演示,客户较满意", "讨论合同条款", "回访使用情况", "了解预算和采购时间",
                  "答复客户技术疑问", "邀请参加新品发布会")
LOST_REASONS = ("竞品降价", "预算取消", "需求变更", "选择了现有供应商", "决策延期无限期")
STRATEGIES = {"产品线A": "重点攻关3家行业龙头企业,参加2场行业展会",
              "产品线B": "推广新品试用套餐,拓展中小客户渠道",
              "产品线C": "深耕存量客户,提升复购与增购"}
OPEN = ("潜在客户识别", "初步接触", "需求分析", "方案提交", "报价与谈判")
WON, LOST = "签约成交", "输单"
UNKNOWN_STAGES = ("需求调研", "方案评审", "商务洽谈")
INDUSTRIES = ("制造业", "零售", "金融", "医疗", "教育", "物流", "互联网", "能源")
SOURCES = ("线上官网", "展会推广", "老客户推荐", "电话营销", "社交媒体")


Log = Callable[[str], None]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class _Generator:
    """Simulates the team; :meth:`run` returns settings, records and ground truth."""

    def __init__(self, rows: int, seed: int) -> None:
        self.rows = rows
        self.rng = random.Random(seed)
        self.all_days = stages.working_days(CALENDAR_FROM, TODAY + dt.timedelta(days=200))
        self.past_days = [d for d in self.all_days if d <= TODAY]
        self.used_companies: set[str] = set()
        self.used_phones: set[str] = set()

    # -- small helpers ------------------------------------------------------------------

    def workday_on_or_after(self, day: dt.date) -> dt.date:
        i = bisect.bisect_left(self.all_days, day)
        return self.all_days[min(i, len(self.all_days) - 1)]

    def between(self, lo: int, before_end: int) -> list[dt.date]:
        """Past working days from index ``lo`` to ``before_end`` days before TODAY (or TODAY)."""
        hi = max(lo + 1, len(self.past_days) - before_end)
        return self.past_days[min(lo, len(self.past_days) - 1):hi]

    def text(self, pool: tuple[str, ...], lo: int = 10, hi: int = 60, c: str = "") -> str:
        """Realistic free text of ``lo``..``hi`` characters from phrase pools."""
        parts = [self.rng.choice(pool).format(c=c)]
        while len("，".join(parts)) < lo or (self.rng.random() < 0.35 and len(parts) < 4):
            parts.append(self.rng.choice(pool).format(c=c))
        return "，".join(parts)[:hi]

    def phone(self) -> str:
        while True:
            p = "1" + self.rng.choice("3589") + "".join(self.rng.choice("0123456789")
                                                       for _ in range(9))
            if p not in self.used_phones:
                self.used_phones.add(p)
                return p

    def company(self, region: str) -> tuple[str, str, str]:
        """(full name, city, trade) of a company no other record uses."""
        rng = self.rng
        for attempt in range(200):
            city = rng.choice(CITIES[region])
            core, trade = rng.choice(NAME_CORES), rng.choice(NAME_TRADES)
            key = city + core + trade + (str(attempt // 50) if attempt >= 100 else "")
            if key not in self.used_companies:
                self.used_companies.add(key)
                return key + rng.choice(SUFFIXES), city, trade
        raise RuntimeError("company names exhausted")

    def people(self, n: int, taken: set[str]) -> list[str]:
        out: list[str] = []
        while len(out) < n:
            given = self.rng.choice(GIVEN) + (self.rng.choice(GIVEN)
                                              if self.rng.random() < 0.7 else "")
            name = self.rng.choice(SURNAMES) + given
            if name not in taken:
                taken.add(name)
                out.append(name)
        return out

    # -- the team ----------------------------------------------------------------------

    def team(self) -> None:
        rng = self.rng
        n = max(12, self.rows // 250)
        n_regions = min(len(REGIONS), max(3, n // 4))
        taken: set[str] = set()
        self.managers = dict(zip((r[0] for r in REGIONS[:n_regions]),
                                 self.people(n_regions, taken), strict=True))
        names = self.people(n, taken)
        self.taken_names = taken
        self.reps: list[dict[str, Any]] = []
        for i, name in enumerate(names):
            region = REGIONS[i % n_regions][0]
            line = PRODUCT_LINES[(i // n_regions) % len(PRODUCT_LINES)][0]
            self.reps.append({
                "rep": name, "region": region, "product_line": line,
                "manager": self.managers[region], "email": f"rep{i + 1:05d}@example.com",
                "start_frac": rng.uniform(0.25, 0.75) if i >= 3 and rng.random() < 0.1 else 0.0,
                "leave_frac": rng.uniform(0.05, 0.95) if rng.random() < 0.05 else None,
                "leave_len": rng.randint(1, 3)})

    def window(self, base: int) -> None:
        """The last D working days up to TODAY, D just large enough for ``base`` rows."""
        n = len(self.reps)
        days = math.ceil(base / n)
        while True:
            window = self.past_days[-days:]
            slots = 0
            for r in self.reps:
                r["start_idx"] = int(r["start_frac"] * days)
                leave: set[dt.date] = set()
                if r["leave_frac"] is not None:
                    at = max(r["start_idx"], int(r["leave_frac"] * days) - r["leave_len"])
                    leave = set(window[at:at + r["leave_len"]])
                r["leave_days"] = leave
                slots += days - r["start_idx"] - len(leave)
            if slots >= base * (1 + MISSING_SHARE) and slots > base:
                break
            if days >= len(self.past_days):
                raise ValueError(f"{self.rows} rows do not fit the calendar from "
                                 f"{CALENDAR_FROM}")
            days += max(1, int((base * (1 + MISSING_SHARE) - slots) / n))
        self.window_days = window
        for r in self.reps:
            r["start_date"] = window[r["start_idx"]] if r["start_idx"] else None

    # -- customers, opportunities, follow-ups --------------------------------------------

    def customers(self) -> None:
        rng = self.rng
        self.customer_rows: list[dict[str, Any]] = []
        self.by_owner: dict[str, list[dict[str, Any]]] = {}
        first = self.window_days[0]
        for r in self.reps:
            mine = []
            for _ in range(rng.randint(10, 13)):
                name, city, trade = self.company(r["region"])
                lo = bisect.bisect_left(self.past_days, r["start_date"] or first)
                if r["start_date"] is None:
                    lo = max(0, lo - 120)  # customers of a long-standing rep are older
                created = rng.choice(self.between(lo, 10))
                c = {
                    "customer_id": f"C{len(self.customer_rows) + 1:06d}", "name": name,
                    "contact": rng.choice(SURNAMES) + rng.choice(CONTACT_TITLES),
                    "phone": self.phone(), "industry": TRADE_INDUSTRY[trade],
                    "stage": "潜在客户", "tier": rng.choices("ABC", weights=(2, 3.5, 4.5))[0],
                    "needs": rng.choice(NEEDS).format(b=rng.choice((20, 30, 50, 80))),
                    "budget": float(rng.choice((10, 20, 30, 50, 80, 120))),
                    "purchase_cycle": rng.choice(("一次性", "年度", "季度", "按项目")),
                    "source": rng.choice(SOURCES), "city": city,
                    "credit_code": None, "owner": r["rep"], "created_on": created,
                    "birthday": (dt.date(rng.randint(1965, 1995), rng.randint(1, 12),
                                         rng.randint(1, 28))
                                 if rng.random() < 0.6 else dt.date(1900, 1, 1)),
                }
                if rng.random() < 0.4:
                    c["credit_code"] = ("91" + "".join(rng.choice("0123456789") for _ in range(6))
                                        + f"{len(self.customer_rows):010d}")
                self.customer_rows.append(c)
                mine.append(c)
            self.by_owner[r["rep"]] = mine

    def opportunities(self) -> None:
        rng = self.rng
        self.opps: list[dict[str, Any]] = []
        self.history: list[dict[str, Any]] = []
        self.opp_customers: dict[str, list[str]] = {}
        for r in self.reps:
            mine = self.by_owner[r["rep"]]
            lo = bisect.bisect_left(self.past_days, r["start_date"] or self.window_days[0])
            if r["start_date"] is None:
                lo = max(0, lo - 40)
            names: list[str] = []
            for _ in range(rng.randint(5, 8)):
                cust = rng.choice(mine)
                created = rng.choice(self.between(lo, 5))
                cust["created_on"] = min(cust["created_on"], created)
                idx = rng.choice((0, 1))
                moves: list[tuple[dt.date, str | None, str]] = [(created, None, OPEN[idx])]
                roll = rng.random()
                outcome = "won" if roll < 0.35 else "lost" if roll < 0.6 else "open"
                target = len(OPEN) - 1 if outcome == "won" else rng.randint(idx, len(OPEN) - 1)
                day = created
                while idx < target:
                    day = self.workday_on_or_after(day + dt.timedelta(days=rng.randint(5, 25)))
                    if day > TODAY:
                        break
                    moves.append((day, OPEN[idx], OPEN[idx + 1]))
                    idx += 1
                closed = None
                if idx == target and outcome != "open":
                    end = self.workday_on_or_after(day + dt.timedelta(days=rng.randint(5, 25)))
                    if end <= TODAY:
                        moves.append((end, OPEN[idx], WON if outcome == "won" else LOST))
                        closed = end
                stage = moves[-1][2]
                amount = round(max(3.0, rng.lognormvariate(math.log(22), 0.55)), 1)
                grade = [rng.choice(("强", "中", "弱")) for _ in range(3)]
                opp_id = f"O{len(self.opps) + 1:06d}"
                self.opps.append({
                    "opp_id": opp_id, "name": f"{cust['name'][:8]}-{r['product_line']}项目",
                    "customer": cust["name"], "owner": r["rep"],
                    "product_line": r["product_line"], "stage": stage,
                    "stage_entered": moves[-1][0], "amount": amount,
                    "expected_close": closed or TODAY + dt.timedelta(days=rng.randint(-40, 90)),
                    "urgency": grade[0], "budget_fit": grade[1], "decision_clarity": grade[2],
                    "assessment": max(set(grade), key=grade.count), "created_on": created,
                    "closed_on": closed,
                    "lost_reason": rng.choice(LOST_REASONS) if stage == LOST else None})
                self.history += [{"opp_id": opp_id, "customer": cust["name"], "from_stage": f,
                                  "to_stage": t, "date": d, "owner": r["rep"]}
                                 for d, f, t in moves]
                names.append(cust["name"])
            self.opp_customers[r["rep"]] = names

    def follow_ups(self) -> None:
        rng = self.rng
        interval = {"A": 7, "B": 14, "C": 30}
        by_customer: dict[str, list[dict[str, Any]]] = {}
        for o in self.opps:
            by_customer.setdefault(o["customer"], []).append(o)
        self.log: list[dict[str, Any]] = []
        for c in self.customer_rows:
            lo = bisect.bisect_left(self.past_days, c["created_on"])
            pool = self.past_days[lo:]
            days = sorted(rng.sample(pool, min(len(pool), rng.randint(2, 5))))
            for d in days:
                self.log.append({"date": d, "customer": c["name"], "owner": c["owner"],
                                 "contact_kind": rng.choice(("电话", "拜访", "微信", "邮件")),
                                 "kind": "例行跟进", "content": rng.choice(FOLLOW_CONTENT),
                                 "commitments": "下周发送案例资料" if rng.random() < 0.3 else None})
            last = days[-1]
            c["last_contact"] = last
            c["last_follow_up"] = f"{last:%Y-%m-%d}:{self.log[-1]['content']}"
            stages_ = {o["stage"] for o in by_customer.get(c["name"], [])}
            if WON in stages_:
                c["stage"] = "成交客户"
            elif stages_ and stages_ == {LOST}:
                c["stage"] = "流失客户"
                c["lost_reason"] = rng.choice(LOST_REASONS)
            elif stages_ & set(OPEN[2:]):
                c["stage"] = "意向客户"
            if c["stage"] != "流失客户":
                c["next_follow_up"] = last + dt.timedelta(
                    days=interval[c["tier"]] + rng.choice((0, 0, 0, -3, 4)))
        self.log.sort(key=lambda r: (r["date"], r["customer"]))

    def leads(self) -> None:
        rng = self.rng
        self.lead_rows = []
        reps = [r["rep"] for r in self.reps]
        for i in range(max(20, len(reps) // 2)):
            region = rng.choice(sorted(self.managers))
            name, _city, trade = self.company(region)
            created = dt.datetime.combine(rng.choice(self.window_days[-120:]),
                                          dt.time(rng.randint(9, 17), rng.choice((0, 30))))
            self.lead_rows.append({
                "lead_id": f"L{i + 1:06d}", "company": name, "industry": TRADE_INDUSTRY[trade],
                "contact": rng.choice(SURNAMES) + "先生",
                "title": rng.choice(("采购经理", "总经理", "技术总监")), "phone": self.phone(),
                "needs": rng.choice(NEEDS).format(b=30), "source": rng.choice(SOURCES),
                "priority": rng.choices(("高", "中", "低"), weights=(2, 5, 3))[0],
                "assignee": rng.choice(reps), "created_at": created,
                "assigned_at": created + dt.timedelta(hours=rng.randint(1, 20)),
                "status": rng.choice(("跟进中", "已转商机", "无效"))})

    def targets(self) -> None:
        rng = self.rng
        first = self.window_days[0]
        quarters = []
        y, q = first.year, (first.month - 1) // 3 + 1
        while (y, q) <= (TODAY.year, (TODAY.month - 1) // 3 + 1):
            quarters.append((y, q))
            y, q = (y + 1, 1) if q == 4 else (y, q + 1)
        self.target_rows: list[dict[str, Any]] = []
        self.team_rows: list[dict[str, Any]] = []
        for y, q in quarters:
            q_first = dt.date(y, 3 * q - 2, 1)
            q_last = dt.date(y + (q == 4), 1 if q == 4 else 3 * q + 1, 1) - dt.timedelta(days=1)
            total = 0.0
            for r in self.reps:
                if r["start_date"] and r["start_date"] > q_last:
                    continue
                target = float(5 * rng.randint(6, 24))
                split = [float(round(target / 3))] * 2
                split.append(target - sum(split))
                self.target_rows.append({
                    "region": r["region"], "product_line": r["product_line"], "owner": r["rep"],
                    "quarter": f"{y}Q{q}", "quarterly_target": target, "month1": split[0],
                    "month2": split[1], "month3": split[2],
                    "new_customers": rng.randint(15, 30),
                    "visits_per_week": rng.choice((15, 20, 25)),
                    "proposals_per_month": rng.choice((2, 3, 4)),
                    "strategy": STRATEGIES[r["product_line"]], "owner_signed": r["rep"],
                    "manager_signed": r["manager"],
                    "signed_on": q_first - dt.timedelta(days=rng.randint(3, 10))})
                total += target
            self.team_rows.append({"quarter": f"{y}Q{q}",
                                   "team_target": round(total / rng.uniform(1.11, 1.14), 1),
                                   "note": "个人目标合计高出团队目标约11%-14%"})

    # -- the daily report ---------------------------------------------------------------------

    def dailies(self) -> None:
        rng = self.rng
        n_bad = max(len(KINDS), round(self.rows * BAD_SHARE))
        kinds = [KINDS[i % len(KINDS)] for i in range(n_bad)]
        base = self.rows - kinds.count("duplicate")
        self.window(base)
        self.customers()
        self.opportunities()
        slots = []
        for day_idx, day in enumerate(self.window_days):
            for ri, r in enumerate(self.reps):
                if day_idx >= r["start_idx"] and day not in r["leave_days"]:
                    slots.append((day, ri))
        missing = set(rng.sample(range(len(slots)), len(slots) - base))
        records = []
        for i, (day, ri) in enumerate(slots):
            if i in missing:
                continue
            records.append(self.daily_row(day, self.reps[ri]))
        # Slips: distinct rows, one kind each; duplicates go right after their original.
        picks = rng.sample(range(len(records)), n_bad)
        self.truth_over: dict[int, dict[str, Any]] = {}
        dups: dict[int, dict[str, Any]] = {}
        for kind, i in zip(kinds, picks, strict=True):
            dup = self.slip(kind, records[i], i)
            if dup is not None:
                dups[i] = dup
        self.daily_records: list[dict[str, Any]] = []
        self.daily_truth: list[dict[str, Any]] = []  # per written row: overrides + meta
        for i, rec in enumerate(records):
            meta = self.truth_over.get(i, {})
            self.daily_records.append(rec)
            self.daily_truth.append({"slot_day": rec["_day"], "slot_rep": rec["_rep"], **meta})
            if i in dups:
                dup = dups[i]
                self.daily_records.append(dup)
                self.daily_truth.append({"slot_day": dup["_day"], "slot_rep": dup["_rep"],
                                         "kind": "duplicate",
                                         "rule": KIND_RULES["duplicate"]})
        assert len(self.daily_records) == self.rows

    def daily_row(self, day: dt.date, r: dict[str, Any]) -> dict[str, Any]:
        rng = self.rng
        visits = rng.choices(range(9), weights=(3, 4, 8, 12, 14, 13, 10, 6, 3))[0]
        customers = self.opp_customers[r["rep"]]
        short = rng.choice(customers)[:6]
        moves = None
        if rng.random() < 0.2:
            parts = []
            for _ in range(2 if rng.random() < 0.25 else 1):
                cust = rng.choice(customers)
                if rng.random() < 0.1:
                    cust = cust[:4]  # an abbreviation of the customer's name
                i = rng.randint(0, len(OPEN) - 1)
                to = OPEN[i + 1] if i + 1 < len(OPEN) else WON
                parts.append(f"{cust}:{OPEN[i]}→{to}")
            moves = ";".join(parts)
        minute = rng.randint(0, 119)
        submitted = dt.datetime.combine(day, dt.time(16, 0)) + dt.timedelta(minutes=minute)
        if rng.random() < 0.04:
            submitted = dt.datetime.combine(day, dt.time(18, 0)) + dt.timedelta(
                minutes=rng.randint(1, 240))
        return {
            "date": day, "rep": r["rep"], "visits": visits,
            "effective": rng.randint(max(0, visits - 3), visits),
            "new_customers": rng.choices((0, 1, 2), weights=(12, 3, 1))[0],
            "proposals": rng.choices((0, 1, 2), weights=(14, 3, 1))[0],
            "amount_signed": round(rng.uniform(1, 50), 2) if rng.random() < 0.08 else 0.0,
            "stage_moves": moves,
            "problems": self.text(PROBLEMS) if rng.random() < 0.35 else None,
            "next_plan": self.text(PLANS, c=short), "submitted_at": submitted,
            "_day": day, "_rep": r["rep"]}

    def slip(self, kind: str, rec: dict[str, Any], i: int) -> dict[str, Any] | None:
        """Apply one slip to ``rec``; record what it means. A duplicate row is returned."""
        rng = self.rng
        meta: dict[str, Any] = {"kind": kind, "rule": KIND_RULES[kind]}
        truth: dict[str, Any] = {}
        if kind == "invalid_number":
            key, text = rng.choice((("visits", "五"), ("visits", "三次"), ("effective", "3.5"),
                                    ("new_customers", "两家"), ("amount_signed", "约2万"),
                                    ("proposals", "1份多")))
            rec[key] = text
            truth[key] = None
            meta["rule"] = ("cell.type", key)
        elif kind == "valid_text_number":
            key = rng.choice(("visits", "visits_fw", "effective", "amount_signed",
                              "amount_yuan", "new_customers"))
            if key == "visits":
                rec["visits"] = f"{rec['visits']}次"
            elif key == "visits_fw":  # full-width digits
                rec["visits"] = str(rec["visits"]).translate(
                    str.maketrans("0123456789", "０１２３４５６７８９"))
            elif key == "effective":
                rec["effective"] = f"{rec['effective']}个"
            elif key == "new_customers":
                rec["new_customers"] = f"{rec['new_customers']}家"
            elif key == "amount_signed":
                value = round(rng.uniform(1, 50), 1)
                rec["amount_signed"] = f"{value}万"
                truth["amount_signed"] = value
            else:
                yuan = rng.randint(10, 500) * 1000
                rec["amount_signed"] = f"{yuan:,}元"
                truth["amount_signed"] = yuan / 10000
        elif kind == "effective_gt_visits":
            rec["effective"] = rec["visits"] + 1
        elif kind == "missing_plan":
            rec["next_plan"] = None
        elif kind == "text_date_valid":
            d = rec["date"]
            rec["date"] = rng.choice((f"{d.year}/{d.month}/{d.day}",
                                      f"{d.year}年{d.month}月{d.day}日",
                                      f"{d.year}.{d.month}.{d.day}"))
        elif kind == "text_date_invalid":
            d = rec["date"]
            rec["date"] = rng.choice((f"{d.year}/{d.month}/32", f"{d.year}年13月{d.day}日",
                                      f"{d.year}-02-30"))
            truth["date"] = None
        elif kind == "unknown_stage":
            cust = rng.choice(self.opp_customers[rec["rep"]])
            to = OPEN[rng.randint(1, len(OPEN) - 1)]
            rec["stage_moves"] = f"{cust}:{rng.choice(UNKNOWN_STAGES)}→{to}"
        elif kind == "unknown_rep":
            name = rec["rep"]
            while name in self.taken_names:
                name = rec["rep"][:-1] + rng.choice(GIVEN)
            self.taken_names.add(name)
            rec["rep"] = name
        elif kind == "duplicate":
            dup = dict(rec)
            dup["submitted_at"] = rec["submitted_at"] + dt.timedelta(minutes=rng.randint(5, 90))
            dup["visits"] = min(8, rec["visits"] + rng.choice((0, 1)))
            dup["effective"] = min(dup["visits"], rec["effective"])
            self.truth_over[i] = {"kind": "duplicate_original", "rule": None}
            return dup
        meta["truth"] = truth
        self.truth_over[i] = meta
        return None

    def run(self) -> dict[str, Any]:
        self.team()
        self.dailies()
        self.follow_ups()
        self.leads()
        self.targets()
        roster = [{"rep": r["rep"], "region": r["region"], "product_line": r["product_line"],
                   "manager": r["manager"], "start_date": r["start_date"], "email": r["email"],
                   "leave": "; ".join(d.isoformat() for d in sorted(r["leave_days"])) or None}
                  for r in self.reps]
        settings = stages.make_settings(TEAM_NAME, REGIONS[:len(self.managers)], PRODUCT_LINES,
                                        roster)
        data = {
            "daily": [{k: v for k, v in r.items() if not k.startswith("_")}
                      for r in self.daily_records],
            "customers": self.customer_rows, "follow_ups": self.log, "leads": self.lead_rows,
            "opportunities": self.opps, "stage_history": self.history,
            "targets": self.target_rows, "team_targets": self.team_rows,
        }
        return {"settings": settings, "data": data, "roster": roster}


# -- ground truth ----------------------------------------------------------------------------

_DAILY_KEYS = ("date", "rep", "visits", "effective", "new_customers", "proposals",
               "amount_signed", "stage_moves", "next_plan", "submitted_at")


def _daily_truth(gen: _Generator, header_row: int, columns: list[str]) -> Any:
    """One row per written row: canonical values, the slip and the finding it must cause."""
    import pandas as pd

    cols: dict[str, list[Any]] = {k: [] for k in ("excel_row", *_DAILY_KEYS, "slot_day",
                                                  "slot_rep", "kind", "rule", "cell")}
    first_row = header_row + 2  # 1-based Excel row of the first data row
    for i, (rec, meta) in enumerate(zip(gen.daily_records, gen.daily_truth, strict=True)):
        over = meta.get("truth", {})
        excel_row = first_row + i
        cols["excel_row"].append(excel_row)
        for key in _DAILY_KEYS:
            if key in over:
                cols[key].append(over[key])
            elif key in ("date",):
                cols[key].append(rec["_day"])
            elif key in ("visits", "effective", "new_customers", "proposals"):
                v = rec[key]
                cols[key].append(int(str(v).translate(str.maketrans(
                    "０１２３４５６７８９", "0123456789")).rstrip("次个家")) if isinstance(v, str)
                    else v)
            else:
                cols[key].append(rec[key])
        cols["slot_day"].append(meta["slot_day"])
        cols["slot_rep"].append(meta["slot_rep"])
        cols["kind"].append(meta.get("kind") or "")
        rule = meta.get("rule")
        cols["rule"].append(rule[0] if rule else "")
        cols["cell"].append(f"{stages.column_letter(columns.index(rule[1]))}{excel_row}"
                            if rule else "")
    df = pd.DataFrame(cols)
    for key in ("date", "slot_day", "submitted_at"):
        df[key] = pd.to_datetime(df[key])
    for key in ("visits", "effective", "new_customers", "proposals"):
        df[key] = df[key].astype("Int64")
    df["amount_signed"] = df["amount_signed"].astype("float64")
    return df


def _frame(records: list[dict[str, Any]], dates: tuple[str, ...] = ()) -> Any:
    import pandas as pd

    df = pd.DataFrame(records)
    for key in dates:
        if key in df:
            df[key] = pd.to_datetime(df[key])
    return df


def _save_truth(folder: Path, gen: _Generator, out: dict[str, Any], layout: dict[str, Any],
                settings: Any) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    frames = {
        "daily": _daily_truth(gen, layout["header_row"], layout["columns"]),
        "customers": _frame(gen.customer_rows, ("created_on", "last_contact", "next_follow_up",
                                                "birthday")),
        "follow_ups": _frame(gen.log, ("date",)),
        "leads": _frame(gen.lead_rows, ("created_at", "assigned_at")),
        "opportunities": _frame(gen.opps, ("stage_entered", "expected_close", "created_on",
                                           "closed_on")),
        "stage_history": _frame(gen.history, ("date",)),
        "targets": _frame(gen.target_rows, ("signed_on",)),
        "team_targets": _frame(gen.team_rows),
        "roster": _frame([{**r, "leave_days": sorted(x.isoformat() for x in g["leave_days"])}
                          for r, g in zip(out["roster"], gen.reps, strict=True)],
                         ("start_date",)),
    }
    for name, df in frames.items():
        with open(folder / f"{name}.pkl", "wb") as f:
            pickle.dump(df, f, protocol=pickle.HIGHEST_PROTOCOL)
    facts = {**stages.settings_facts(settings),
             "working_days": [d.isoformat() for d in gen.window_days],
             "today": TODAY.isoformat(), "month": MONTH, "quarter": QUARTER}
    (folder / "facts.json").write_text(json.dumps(facts, ensure_ascii=False, indent=1), "utf-8")


# -- building and caching ------------------------------------------------------------------------

def _fresh(folder: Path, rows: int, seed: int, lang: str) -> bool:
    manifest = folder / "manifest.json"
    if not manifest.exists():
        return False
    try:
        m = json.loads(manifest.read_text("utf-8"))
    except ValueError:
        return False
    return (m.get("generator_version") == GENERATOR_VERSION and m.get("rows") == rows
            and m.get("seed") == seed and m.get("lang") == lang)


def build(rows: int, seed: int, lang: str, folder: Path, log: Log = _stderr) -> BenchWorkspace:
    """Generate the workspace of ``rows`` daily rows into ``folder`` (replaced atomically)."""
    t_all = time.perf_counter()
    tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    label = size_label(rows)
    t0 = time.perf_counter()
    gen = _Generator(rows, seed)
    out = gen.run()
    simulate = time.perf_counter() - t0
    log(f"[generate {label}] simulated {rows} daily rows, {len(gen.reps)} reps, "
        f"{len(gen.customer_rows)} customers, {len(gen.opps)} opportunities "
        f"in {simulate:.1f}s")
    settings, data = out["settings"], out["data"]
    write = stages.write_workspace(tmp / "workspace", settings, data, lang=lang)
    log(f"[generate {label}] wrote the workspace: "
        + ", ".join(f"{k} {v:.1f}s" for k, v in write.items()))
    t0 = time.perf_counter()
    month_first = dt.date.fromisoformat(MONTH + "-01")
    month_rows = [{k: v for k, v in r.items() if not k.startswith("_")}
                  for r in gen.daily_records
                  if (r["_day"].year, r["_day"].month) == (month_first.year, month_first.month)]
    stages.write_workspace(tmp / "month", settings, {"daily": month_rows}, lang=lang,
                           books=["daily"])
    month_seconds = time.perf_counter() - t0
    layout = stages.daily_layout(lang)
    t0 = time.perf_counter()
    _save_truth(tmp / "truth", gen, out, layout, settings)
    truth_seconds = time.perf_counter() - t0
    manifest = {
        "generator_version": GENERATOR_VERSION, "rows": rows, "size": label, "seed": seed,
        "lang": lang, "reps": len(gen.reps), "today": TODAY.isoformat(), "month": MONTH,
        "quarter": QUARTER, "first_day": gen.window_days[0].isoformat(),
        "last_day": gen.window_days[-1].isoformat(), "daily_sheet": layout["sheet"],
        "daily_header_row": layout["header_row"], "daily_columns": layout["columns"],
        "counts": {k: len(v) for k, v in data.items()}, "month_rows": len(month_rows),
        "slips": {k: sum(1 for t in gen.daily_truth if t.get("kind") == k) for k in KINDS},
        "xlsales_version": stages.xlsales_version(),
        "created": dt.datetime.now().isoformat(timespec="seconds"),
        "timings": {"simulate": round(simulate, 3), "write": write,
                    "month_workbook": round(month_seconds, 3),
                    "truth": round(truth_seconds, 3)},
    }
    manifest["timings"]["total"] = round(time.perf_counter() - t_all, 3)
    (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1),
                                       "utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp.rename(folder)
    log(f"[generate {label}] done in {manifest['timings']['total']:.1f}s → {folder}")
    return BenchWorkspace.load(folder)


def is_cached(rows: int, *, seed: int = 1, lang: str = "zh", cache: Path = DEFAULT_CACHE) -> bool:
    """Whether the workspace of ``rows`` is in the cache and current."""
    return _fresh(cache_dir(cache, rows, seed, lang), rows, seed, lang)


def ensure(rows: int, *, seed: int = 1, lang: str = "zh", cache: Path = DEFAULT_CACHE,
           log: Log = _stderr, force: bool = False) -> BenchWorkspace:
    """The cached workspace of ``rows``, generated when missing or outdated."""
    folder = cache_dir(cache, rows, seed, lang)
    if not force and _fresh(folder, rows, seed, lang):
        log(f"[generate {size_label(rows)}] cached: {folder}")
        return BenchWorkspace.load(folder)
    return build(rows, seed, lang, folder, log)
