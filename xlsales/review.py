"""The monthly (or quarterly) review, T4 月度业绩复盘分析表, as plain figures.

One row per dimension and metric with target and actual (completion = actual /
target is kept live in the workbook), hints for the cause column where the data
points at one, the horizontal comparison (reps, regions, product lines, ranked),
the vertical one (the last six months; a metric that fell three months in a row is
flagged) and the case review (largest won and lost opportunities with their stage
histories).

Definitions:
* sales amount: Σ 成交金额 of the dailies; quota: the team total pro-rated over
  working days (the owners' sum where no team total is set);
* new customers / visits / proposals: Σ of the dailies against the owners' activity
  targets (new customers per quarter, visits per week, proposals per month) spread
  over the period's working days;
* average deal (客单价) and win rate: opportunities closed in the period
  (win rate = won ÷ (won + lost)); their target is the average of the six months
  before;
* conversion (意向→成交) = customers with an opportunity won in the period ÷
  customers with an opportunity at an intent stage (需求分析 or later) during it;
* next month's forecast coverage: (won + weighted open pipeline) ÷ quota of the
  month after the period;
* late / missing dailies: counted per the submission rules, target 0.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from xlsales.calendar import WorkCalendar, month_range
from xlsales.discipline import dedupe, discipline
from xlsales.figures import average_deal, completion_rate, conversion_rate
from xlsales.i18n import Label, Lang
from xlsales.performance import Targets, completion, group_of, period_target
from xlsales.pipeline import forecast
from xlsales.settings import Settings

INTENT_FROM = "需求分析"
HIGH_VALUE = 30.0  # 万元: a deal this large is "high value" in hints


@dataclass
class ReviewData:
    """What the review reads from the workspace (canonical records)."""

    settings: Settings
    targets: Targets
    daily: list[dict[str, Any]]
    opportunities: list[dict[str, Any]]
    history: list[dict[str, Any]]
    target_rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Metric:
    """One row of the T4 table."""

    key: str
    dimension: str
    metric: str
    target: float | None
    actual: float | None
    kind: str = "number"  # amount, count, percent
    hint: str | None = None

    @property
    def completion(self) -> float | None:
        return completion_rate(self.actual, self.target)


LABELS: dict[str, tuple[Label, Label, str]] = {
    "sales": (Label("销售额", "Sales"), Label("销售额(万元)", "Sales amount (10k CNY)"),
              "amount"),
    "completion": (Label("目标完成", "Target"), Label("目标完成率", "Target completion"),
                   "percent"),
    "new_customers": (Label("新客户", "New customers"), Label("新客户数", "New customers"),
                      "count"),
    "avg_deal": (Label("客单价", "Deal size"), Label("平均客单价(万元)",
                                                    "Average deal (10k CNY)"), "amount"),
    "conversion": (Label("客户转化率", "Conversion"),
                   Label("意向客户→成交客户转化率", "Intent → won conversion"), "percent"),
    "visits": (Label("拜访量", "Visits"), Label("拜访客户数", "Visits"), "count"),
    "effective": (Label("有效沟通", "Conversations"), Label("有效沟通客户数",
                                                          "Effective conversations"), "count"),
    "proposals": (Label("方案提交", "Proposals"), Label("方案提交数", "Proposals"), "count"),
    "win_rate": (Label("赢单率", "Win rate"), Label("赢单率(成交÷结单)",
                                                 "Win rate (won ÷ closed)"), "percent"),
    "coverage_next": (Label("下月预测", "Next month"),
                      Label("下月预测覆盖率", "Next month's forecast coverage"), "percent"),
    "late": (Label("日报纪律", "Daily reports"), Label("逾期日报数", "Late dailies"), "count"),
    "missing": (Label("日报纪律", "Daily reports"), Label("缺报日报数", "Missing dailies"),
                "count"),
}
TREND_KEYS = ("sales", "completion", "new_customers", "avg_deal", "conversion", "visits",
              "proposals", "win_rate")


def _sum(rows: list[dict[str, Any]], key: str) -> float:
    return float(sum(r.get(key) or 0 for r in rows))


def _in(rows: list[dict[str, Any]], first: dt.date, last: dt.date,
        key: str = "date") -> list[dict[str, Any]]:
    return [r for r in rows if isinstance(r.get(key), dt.date) and first <= r[key] <= last]


def activity_target(target_rows: list[dict[str, Any]], owners: list[str], key: str,
                    first: dt.date, last: dt.date, cal: WorkCalendar) -> float | None:
    """Activity targets (new customers per quarter, visits per week, proposals per month)
    spread over the working days of ``first``..``last``."""
    total, found = 0.0, False
    for r in target_rows:
        value, quarter = r.get(key), r.get("quarter")
        if value is None or r.get("owner") not in owners or not quarter:
            continue
        from xlsales.calendar import quarter_months

        year, months = quarter_months(str(quarter))
        q_first, q_last = dt.date(year, months[0], 1), month_range(year, months[2])[1]
        lo, hi = max(first, q_first), min(last, q_last)
        if lo > hi:
            continue
        found = True
        days = cal.count(lo, hi)
        if key == "visits_per_week":
            total += float(value) * days / 5
        elif key == "proposals_per_month":
            for month in months:
                m_first, m_last = month_range(year, month)
                m_days = cal.count(m_first, m_last)
                overlap = cal.count(max(lo, m_first), min(hi, m_last)) if max(
                    lo, m_first) <= min(hi, m_last) else 0
                total += float(value) * overlap / m_days if m_days else 0.0
        else:
            q_days = cal.count(q_first, q_last)
            total += float(value) * days / q_days if q_days else 0.0
    return total if found else None


@dataclass
class PeriodFigures:
    """Every metric of one period (one group of reps)."""

    values: dict[str, float | None]
    targets: dict[str, float | None]


def _closed(data: ReviewData, first: dt.date, last: dt.date,
            owners: set[str] | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    won, lost = [], []
    for o in data.opportunities:
        stage = data.settings.stage(o.get("stage") or "")
        closed = o.get("closed_on")
        if stage is None or not isinstance(closed, dt.date) or not first <= closed <= last:
            continue
        if owners is not None and o.get("owner") not in owners:
            continue
        (won if stage.kind == "won" else lost if stage.kind == "lost" else []).append(o)
    return won, lost


def conversion(data: ReviewData, first: dt.date, last: dt.date,
               owners: set[str] | None = None) -> tuple[int, int]:
    """(won customers, intent customers) of the period.

    A customer is an intent customer of the period when one of its opportunities held
    an open stage from 需求分析 on at some time during it.
    """
    order = {st.canonical: st.order for st in data.settings.stages}
    intent = {st.canonical for st in data.settings.stages
              if st.kind == "open" and st.order >= order.get(INTENT_FROM, 3)}
    moves: dict[Any, list[tuple[dt.date, str]]] = defaultdict(list)
    for h in data.history:
        if isinstance(h.get("date"), dt.date):
            moves[h.get("opp_id")].append((h["date"], str(h.get("to_stage"))))
    at_intent: set[str] = set()
    for o in data.opportunities:
        if owners is not None and o.get("owner") not in owners:
            continue
        timeline = sorted(moves.get(o.get("opp_id"), []))
        before = [to for day, to in timeline if day < first]
        during = [to for day, to in timeline if first <= day <= last]
        if (before and before[-1] in intent) or any(to in intent for to in during):
            at_intent.add(str(o.get("customer")))
    won, _ = _closed(data, first, last, owners)
    won_customers = {str(o.get("customer")) for o in won} & at_intent
    return len(won_customers), len(at_intent)


def _quota(data: ReviewData, reps: list[str], first: dt.date, last: dt.date,
           cal: WorkCalendar) -> float | None:
    """The owners' pro-rated targets; for the whole team its own total where one is set."""
    s = data.settings
    quota_parts = [period_target(data.targets, rep, first, last, cal) for rep in reps]
    quota = sum(q for q in quota_parts if q is not None) if any(
        q is not None for q in quota_parts) else None
    if reps == s.reps():  # the whole team: its own total where one is set
        team = completion(data.daily, data.targets, s, first, last, by="team", cal=cal)
        if team.rows and team.rows[0].target is not None:
            quota = team.rows[0].target
    return quota


def figures(data: ReviewData, first: dt.date, last: dt.date, *, reps: list[str] | None = None,
            today: dt.date | None = None, cal: WorkCalendar | None = None) -> PeriodFigures:
    """The metrics of ``first``..``last`` for ``reps`` (default: the whole roster)."""
    s = data.settings
    cal = cal or WorkCalendar(s.general.calendar, tuple(s.calendar))
    reps = reps if reps is not None else s.reps()
    owners = set(reps)
    through = min(last, today) if today and first <= today else last
    rows, _ = dedupe(r for r in data.daily if r.get("rep") in owners)
    mine = _in(rows, first, through)
    quota = _quota(data, reps, first, last, cal)
    won, lost = _closed(data, first, last, owners)
    won_amount = _sum(won, "amount")
    won_c, intent_c = conversion(data, first, last, owners)
    disc = [d for d in discipline(data.daily, s, first, through, cal=cal) if d.rep in owners]
    values: dict[str, float | None] = {
        "sales": _sum(mine, "amount_signed"),
        "new_customers": _sum(mine, "new_customers"),
        "avg_deal": average_deal(won_amount, len(won)),
        "conversion": conversion_rate(won_c, intent_c),
        "visits": _sum(mine, "visits"),
        "effective": _sum(mine, "effective"),
        "proposals": _sum(mine, "proposals"),
        "win_rate": None if not (won or lost) else len(won) / (len(won) + len(lost)),
        "late": float(sum(d.late for d in disc)),
        "missing": float(sum(d.missing for d in disc)),
    }
    values["completion"] = completion_rate(values["sales"], quota)
    targets: dict[str, float | None] = {
        "sales": quota, "completion": 1.0,
        "new_customers": activity_target(data.target_rows, reps, "new_customers", first, last,
                                         cal),
        "visits": activity_target(data.target_rows, reps, "visits_per_week", first, last, cal),
        "proposals": activity_target(data.target_rows, reps, "proposals_per_month", first,
                                     last, cal),
        "conversion": s.general.conversion_target, "late": 0.0, "missing": 0.0,
    }
    return PeriodFigures(values, targets)


def months_before(first: dt.date, n: int) -> list[tuple[dt.date, dt.date]]:
    """The ``n`` calendar months before the month of ``first``, oldest first."""
    out = []
    year, month = first.year, first.month
    for _ in range(n):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        out.append(month_range(year, month))
    return list(reversed(out))


def fell_three_in_a_row(values: list[float | None]) -> bool:
    """The last three month-on-month changes were all decreases."""
    tail = values[-4:]
    if len(tail) < 4 or any(v is None for v in tail):
        return False
    return all(a > b for a, b in itertools.pairwise(tail))  # type: ignore[operator]


@dataclass
class Review:
    """Everything the review workbook shows."""

    label: str
    first: dt.date
    last: dt.date
    metrics: list[Metric]
    horizontal: list[dict[str, Any]]
    trend_months: list[str]
    trend: dict[str, list[float | None]]
    falling: list[str]
    cases: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {"period": self.label, "first": self.first.isoformat(),
                "last": self.last.isoformat(),
                "metrics": [{"key": m.key, "dimension": m.dimension, "metric": m.metric,
                             "target": m.target, "actual": m.actual,
                             "completion": m.completion, "hint": m.hint}
                            for m in self.metrics],
                "horizontal": self.horizontal, "trend_months": self.trend_months,
                "trend": self.trend, "falling": self.falling, "cases": self.cases}


def build_review(data: ReviewData, first: dt.date, last: dt.date, label: str, *,
                 lang: Lang = "zh", today: dt.date | None = None) -> Review:
    """The review of ``first``..``last``."""
    s = data.settings
    cal = WorkCalendar(s.general.calendar, tuple(s.calendar))
    now = figures(data, first, last, today=today, cal=cal)
    history = [figures(data, a, b, cal=cal) for a, b in months_before(first, 6)]
    for key in ("avg_deal", "win_rate"):
        past = [h.values[key] for h in history if h.values[key] is not None]
        now.targets[key] = sum(past) / len(past) if past else None  # type: ignore[arg-type]
    nxt_first = last + dt.timedelta(days=1)
    nxt_last = month_range(nxt_first.year, nxt_first.month)[1]
    team = forecast(data.opportunities, data.targets, s, nxt_first, nxt_last, by="team",
                    cal=cal)
    # against the team's quota of that month (its own total where one is set), like sales
    now.values["coverage_next"] = completion_rate(
        team.rows[0].expected, _quota(data, s.reps(), nxt_first, nxt_last, cal)
    ) if team.rows else None
    now.targets["coverage_next"] = 1.0
    # The vertical comparison: six months ending with the period's last month.
    last_month = month_range(last.year, last.month)
    trend_ranges = [*months_before(last_month[0], 5), last_month]
    trend_figs = [figures(data, a, b, today=today, cal=cal) for a, b in trend_ranges]
    trend_months = [a.strftime("%Y-%m") for a, _ in trend_ranges]
    trend = {k: [f.values.get(k) for f in trend_figs] for k in TREND_KEYS}
    falling = [k for k, v in trend.items() if fell_three_in_a_row(v)]
    hints = _hints(data, now, first, last, falling, lang, today or last)
    metrics = []
    for key, (dim, met, kind) in LABELS.items():
        metrics.append(Metric(key, dim(lang), met(lang), now.targets.get(key),
                              now.values.get(key), kind, hints.get(key)))
    horizontal = _horizontal(data, first, last, today, cal, lang)
    return Review(label, first, last, metrics, horizontal, trend_months, trend, falling,
                  _cases(data, first, last, lang))


def _hints(data: ReviewData, now: PeriodFigures, first: dt.date, last: dt.date,
           falling: list[str], lang: Lang, today: dt.date) -> dict[str, str]:
    s = data.settings
    out: dict[str, str] = {}
    slipped = [o for o in data.opportunities
               if isinstance(o.get("expected_close"), dt.date)
               and first <= o["expected_close"] <= min(last, today)
               and (st := s.stage(o.get("stage") or "")) is not None and st.kind == "open"
               and float(o.get("amount") or 0) >= HIGH_VALUE]
    sales_done = now.values["completion"]
    if slipped and (sales_done is None or sales_done < 1):
        out["sales"] = (f"{len(slipped)}个高价值商机(≥{HIGH_VALUE:g}万)超过预计成交日期仍未签约"
                        if lang == "zh" else
                        f"{len(slipped)} high-value deals (≥{HIGH_VALUE:g}) slipped past their "
                        "expected close date")
    for key in falling:
        name = LABELS[key][1](lang)
        out[key] = (f"{name}连续3个月下降" if lang == "zh"
                    else f"{name} fell three months in a row")
    for key in ("visits", "proposals", "new_customers"):
        rate = completion_rate(now.values[key], now.targets.get(key))
        if rate is not None and rate < s.general.completion_threshold and key not in out:
            out[key] = (f"完成{rate:.0%},低于{s.general.completion_threshold:.0%}"
                        if lang == "zh" else
                        f"{rate:.0%} of target, under {s.general.completion_threshold:.0%}")
    _, lost = _closed(data, first, last, None)
    reasons = Counter(str(o.get("lost_reason")) for o in lost if o.get("lost_reason"))
    if reasons and "win_rate" not in out:
        top = "、".join(f"{r}({n})" for r, n in reasons.most_common(2))
        out["win_rate"] = f"输单主要原因:{top}" if lang == "zh" else f"main loss reasons: {top}"
    disc = discipline(data.daily, s, first, min(last, today))
    for key in ("late", "missing"):
        worst = sorted(((getattr(d, key), d.rep) for d in disc if getattr(d, key)),
                       reverse=True)[:2]
        if worst:
            names = "、".join(f"{rep}({n})" for n, rep in worst)
            out[key] = f"最多:{names}" if lang == "zh" else f"most: {names}"
    return out


def _horizontal(data: ReviewData, first: dt.date, last: dt.date, today: dt.date | None,
                cal: WorkCalendar, lang: Lang) -> list[dict[str, Any]]:
    s = data.settings
    rows = []
    for level in ("rep", "region", "product"):
        groups: dict[str, list[str]] = defaultdict(list)
        for rep in s.reps():
            groups[group_of(s, rep, level)].append(rep)  # type: ignore[arg-type]
        block = []
        for key, reps in groups.items():
            f = figures(data, first, last, reps=reps, today=today, cal=cal)
            quota_parts = [period_target(data.targets, r, first, last, cal) for r in reps]
            quota = sum(q for q in quota_parts if q is not None) if any(
                q is not None for q in quota_parts) else None
            block.append({"level_code": level, "name": key, "quota": quota,
                          "sales": f.values["sales"], "completion": completion_rate(
                              f.values["sales"], quota),
                          "new_customers": f.values["new_customers"],
                          "visits": f.values["visits"], "proposals": f.values["proposals"],
                          "avg_deal": f.values["avg_deal"], "win_rate": f.values["win_rate"],
                          "conversion": f.values["conversion"]})
        ranked = sorted((b for b in block if b["completion"] is not None),
                        key=lambda b: (-b["completion"], b["name"]))
        for i, b in enumerate(ranked, start=1):
            b["rank"] = i
        for b in block:
            b.setdefault("rank", None)
            b["top3"] = b["rank"] is not None and b["rank"] <= 3
            b["below"] = (b["completion"] is not None
                          and b["completion"] < s.general.completion_threshold)
        rows += sorted(block, key=lambda b: (b["rank"] is None, b["rank"] or 0, b["name"]))
    return rows


def _cases(data: ReviewData, first: dt.date, last: dt.date, lang: Lang) -> list[dict[str, Any]]:
    won, lost = _closed(data, first, last, None)
    out = []
    for kind, items in (("won", won), ("lost", lost)):
        if not items:
            continue
        o = max(items, key=lambda x: float(x.get("amount") or 0))
        moves = sorted((h for h in data.history if h.get("opp_id") == o.get("opp_id")),
                       key=lambda h: h["date"])
        path = " → ".join(
            f"{h['date']:%m-%d} {data.settings.display('stages', str(h['to_stage']), lang)}"
            for h in moves)
        days = (o["closed_on"] - o["created_on"]).days if isinstance(
            o.get("created_on"), dt.date) else None
        out.append({"kind": kind, "opp_id": o.get("opp_id"), "customer": o.get("customer"),
                    "owner": o.get("owner"), "amount": o.get("amount"),
                    "closed_on": o.get("closed_on"), "days": days, "history": path,
                    "lost_reason": o.get("lost_reason")})
    return out
