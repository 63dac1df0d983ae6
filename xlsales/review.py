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
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from xlsales.calendar import WorkCalendar, month_range, quarter_months
from xlsales.discipline import daily_frame, dedupe, discipline
from xlsales.figures import UNASSIGNED, average_deal, completion_rate, conversion_rate
from xlsales.frames import frame
from xlsales.i18n import Label, Lang
from xlsales.performance import (
    Targets,
    group_of,
    in_period,
    month_shares,
    owners_target,
    shared_target,
    team_quota,
    team_target,
)
from xlsales.pipeline import forecast
from xlsales.ranking import implausible_message, is_implausible, month_span, rank
from xlsales.settings import Settings
from xlsales.words import SEP, is_whole, money_options, money_text, options_text, to_unit

INTENT_FROM = "需求分析"
HIGH_VALUE = 30.0  # 万元: a deal this large is "high value" in hints


@dataclass
class ReviewData:
    """What the review reads from the workspace: the daily, opportunity and stage-history
    frames (records are turned into frames), the targets and the owners' target rows."""

    settings: Settings
    targets: Targets
    daily: Any
    opportunities: Any
    history: Any
    target_rows: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        from xlsales import tables as T

        self.daily = daily_frame(self.daily)
        self.opportunities = frame(self.opportunities, T.get("opportunities"))
        self.history = frame(self.history, T.get("stage_history"))
        self.deduped, _ = dedupe(self.daily)
        lookups = self.settings.lookups()
        kinds = {v: (st.kind if (st := lookups.stage(v)) else None)
                 for v in self.opportunities["stage"].dropna().unique()}
        self.kind = self.opportunities["stage"].map(kinds)
        self._bases: dict[tuple[dt.date, dt.date, dt.date], PeriodBase] = {}


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


def _activity_share(r: dict[str, Any], key: str, first: dt.date, last: dt.date,
                    cal: WorkCalendar) -> float | None:
    """One target row's activity target over the period (None: no value or no overlap)."""
    value, quarter = r.get(key), r.get("quarter")
    if value is None or not quarter:
        return None
    year, months = quarter_months(str(quarter))
    q_first, q_last = dt.date(year, months[0], 1), month_range(year, months[2])[1]
    lo, hi = max(first, q_first), min(last, q_last)
    if lo > hi:
        return None
    days = cal.count(lo, hi)
    if key == "visits_per_week":
        return float(value) * days / 5
    if key == "proposals_per_month":
        total = 0.0
        for month in months:
            m_first, m_last = month_range(year, month)
            m_days = cal.count(m_first, m_last)
            overlap = cal.count(max(lo, m_first), min(hi, m_last)) if max(
                lo, m_first) <= min(hi, m_last) else 0
            total += float(value) * overlap / m_days if m_days else 0.0
        return total
    q_days = cal.count(q_first, q_last)
    return float(value) * days / q_days if q_days else 0.0


@dataclass
class PeriodFigures:
    """Every metric of one period (one group of reps)."""

    values: dict[str, float | None]
    targets: dict[str, float | None]
    sales_source: str = "dailies"  # or "opportunities": a team that keeps no dailies
    dailies_signed: float = 0.0  # Σ 成交金额 of the dailies
    opportunities_won: float = 0.0  # Σ amount of the opportunities won in the period


ACTIVITY = {"new_customers": "new_customers", "visits": "visits_per_week",
            "proposals": "proposals_per_month"}
DAILY_SUMS = ("amount_signed", "new_customers", "visits", "effective", "proposals")


@dataclass
class PeriodBase:
    """One period's figures per rep, computed once; a group's figures are their sums."""

    first: dt.date
    last: dt.date
    sums: dict[str, tuple[float, ...]]  # rep → the DAILY_SUMS
    late: dict[str, int]
    missing: dict[str, int]
    won_count: dict[str, int]
    won_amount: dict[str, float]
    lost_count: dict[str, int]
    intent: dict[str, set[str]]
    won_customers: dict[str, set[str]]
    quota: dict[str, float | None]
    activity: dict[str, dict[str, float | None]]


def _closed_mask(data: ReviewData, first: dt.date, last: dt.date) -> pd.Series:
    closed = data.opportunities["closed_on"]
    return in_period(closed, first, last)


def intent_opportunities(data: ReviewData, first: dt.date, last: dt.date) -> set[Any]:
    """Opportunity ids that held an open stage from 需求分析 on at some time in the period:
    the last move before it, or any move during it."""
    order = {st.canonical: st.order for st in data.settings.stages}
    intent = {st.canonical for st in data.settings.stages
              if st.kind == "open" and st.order >= order.get(INTENT_FROM, 3)}
    h = data.history[data.history["date"].notna()]
    to = h["to_stage"].astype(object).where(h["to_stage"].notna(), "None").astype(str)
    h = h.assign(to=to).sort_values(["date", "to"], kind="stable")
    before = h[h["date"] < pd.Timestamp(first)].groupby("opp_id", sort=False)["to"].last()
    during = h[in_period(h["date"], first, last)]
    return set(before.index[before.isin(intent)]) | set(
        during.loc[during["to"].isin(intent), "opp_id"])


def period_base(data: ReviewData, first: dt.date, last: dt.date, through: dt.date,
                cal: WorkCalendar) -> PeriodBase:
    """The per-rep figures of ``first``..``last`` (dailies up to ``through``)."""
    key = (first, last, through)
    if key in data._bases:
        return data._bases[key]
    s = data.settings
    d = data.deduped
    mine = d[in_period(d["date"], first, through) & d["rep"].notna()]
    g = mine.groupby("rep")[list(DAILY_SUMS)].sum()
    sums = dict(zip(g.index.tolist(), zip(*(g[c].tolist() for c in DAILY_SUMS), strict=True),
                    strict=True)) if len(g) else {}
    disc = discipline(data.deduped, s, first, through, cal=cal)
    opps = data.opportunities  # a deal without an owner is "" 's (the unassigned group)
    opps = opps.assign(owner=opps["owner"].astype(object).where(opps["owner"].notna(), ""))
    closed = _closed_mask(data, first, last)
    won = opps[closed & (data.kind == "won")]
    lost = opps[closed & (data.kind == "lost")]
    ids = intent_opportunities(data, first, last)
    at_intent = opps[opps["opp_id"].isin(ids)]
    reps = s.reps()
    base = PeriodBase(
        first=first, last=last, sums=sums,
        late={x.rep: x.late for x in disc}, missing={x.rep: x.missing for x in disc},
        won_count=won.groupby("owner").size().to_dict(),
        won_amount=won["amount"].fillna(0.0).groupby(won["owner"]).sum().to_dict(),
        lost_count=lost.groupby("owner").size().to_dict(),
        intent=_customers_by_owner(at_intent), won_customers=_customers_by_owner(won),
        quota=_quotas(data.targets, reps, first, last, cal),
        activity={k: _activity_by_owner(data.target_rows, col, first, last, cal)
                  for k, col in ACTIVITY.items()})
    data._bases[key] = base
    return base


def _customers_by_owner(opps: pd.DataFrame) -> dict[str, set[str]]:
    names = opps["customer"].astype(object).where(opps["customer"].notna(), "None")
    out: dict[str, set[str]] = defaultdict(set)
    for owner, name in zip(opps["owner"].astype(object).tolist(), names.tolist(),
                           strict=True):
        out[str(owner)].add(str(name))
    return dict(out)


def _quotas(targets: Targets, reps: list[str], first: dt.date, last: dt.date,
            cal: WorkCalendar) -> dict[str, float | None]:
    months = month_shares(first, last, cal)
    return {r: shared_target(targets, r, months) for r in reps}


def _activity_by_owner(rows: list[dict[str, Any]], key: str, first: dt.date, last: dt.date,
                       cal: WorkCalendar) -> dict[str, float | None]:
    """Each owner's activity target over the period (the rows' shares, each quarter's
    share of the period worked out once)."""
    factors: dict[str, float | None] = {}
    out: dict[str, float | None] = {}
    for r in rows:
        value, quarter = r.get(key), r.get("quarter")
        if value is None or not quarter:
            continue
        if quarter not in factors:
            factors[quarter] = _activity_share({key: 1.0, "quarter": quarter}, key, first,
                                               last, cal)
        factor = factors[quarter]
        if factor is not None:
            owner = r.get("owner")
            out[owner] = (out.get(owner) or 0.0) + float(value) * factor  # type: ignore[index]
    return out


def _total(values: dict[str, float | None], reps: list[str]) -> float | None:
    found = [values[r] for r in reps if values.get(r) is not None]
    return sum(found) if found else None  # type: ignore[arg-type]


def figures(data: ReviewData, first: dt.date, last: dt.date, *, reps: list[str] | None = None,
            today: dt.date | None = None, cal: WorkCalendar | None = None) -> PeriodFigures:
    """The metrics of ``first``..``last`` for ``reps`` (default: the whole team, rows of
    owners not on the roster or blank included, as completion, forecast and funnel count
    them under "unassigned")."""
    s = data.settings
    cal = cal or WorkCalendar.of(s)
    team = reps is None
    reps = reps if reps is not None else s.reps()
    through = min(last, today) if today and first <= today else last
    base = period_base(data, first, last, through, cal)
    zero = (0,) * len(DAILY_SUMS)

    def each(values: dict[Any, Any], none: Any) -> list[Any]:
        return list(values.values()) if team else [values.get(r, none) for r in reps]

    sums = each(base.sums, zero)
    totals = dict(zip(DAILY_SUMS, map(sum, zip(*sums, strict=True)), strict=True)) \
        if sums else dict.fromkeys(DAILY_SUMS, 0)
    won_n = sum(each(base.won_count, 0))
    lost_n = sum(each(base.lost_count, 0))
    won_amount = float(sum(each(base.won_amount, 0.0)))
    intent = set().union(*each(base.intent, set()))
    won_c = set().union(*each(base.won_customers, set())) & intent
    quota = (team_target(data.targets, s, first, last, cal) if reps == s.reps()
             else _total(base.quota, reps))
    keeps_dailies = len(data.deduped) > 0  # else the sales live in the opportunities
    dailies_signed = float(totals["amount_signed"])
    values: dict[str, float | None] = {
        "sales": dailies_signed if keeps_dailies else won_amount,
        "new_customers": float(totals["new_customers"]),
        "avg_deal": average_deal(won_amount, won_n),
        "conversion": conversion_rate(len(won_c), len(intent)),
        "visits": float(totals["visits"]),
        "effective": float(totals["effective"]),
        "proposals": float(totals["proposals"]),
        "win_rate": None if not (won_n or lost_n) else won_n / (won_n + lost_n),
        "late": float(sum(base.late.get(r, 0) for r in reps)) if keeps_dailies else None,
        "missing": float(sum(base.missing.get(r, 0) for r in reps)) if keeps_dailies
        else None,
    }
    values["completion"] = completion_rate(values["sales"], quota)
    targets: dict[str, float | None] = {
        "sales": quota, "completion": 1.0,
        **{k: _total(base.activity[k], reps) for k in ACTIVITY},
        "conversion": s.general.conversion_target, "late": 0.0, "missing": 0.0,
    }
    return PeriodFigures(values, targets, "dailies" if keeps_dailies else "opportunities",
                         dailies_signed, won_amount)


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
    warnings: list[str] = field(default_factory=list)  # implausible completion (ranking)
    reconciliation: dict[str, Any] = field(default_factory=dict)
    quota_basis: str = "team"  # what the sales target is (performance.Quota)
    # the forecast accuracy of the last three months (xlsales.jobs.accuracy, set by the job)
    forecast_accuracy: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"period": self.label, "first": self.first.isoformat(),
                "last": self.last.isoformat(),
                "metrics": [{"key": m.key, "dimension": m.dimension, "metric": m.metric,
                             "target": m.target, "actual": m.actual,
                             "completion": m.completion, "hint": m.hint}
                            for m in self.metrics],
                "horizontal": self.horizontal, "trend_months": self.trend_months,
                "trend": self.trend, "falling": self.falling, "cases": self.cases,
                "warnings": self.warnings, "reconciliation": self.reconciliation,
                "quota_basis": self.quota_basis, "forecast_accuracy": self.forecast_accuracy}


def build_review(data: ReviewData, first: dt.date, last: dt.date, label: str, *,
                 lang: Lang = "zh", today: dt.date | None = None) -> Review:
    """The review of ``first``..``last``."""
    s = data.settings
    cal = WorkCalendar.of(s)
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
        team.rows[0].expected, team_target(data.targets, s, nxt_first, nxt_last, cal)
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
    horizontal = _horizontal(data, first, last, today, cal, lang)
    money = money_options(s)
    warnings = [implausible_message(h["name"], h["completion"], h["sales"], h["basis"],
                                    s.general.completion_ceiling, lang, money=money)
                for h in horizontal if h["level_code"] == "rep" and h["implausible"]]
    basis = team_target(data.targets, s, *month_span(first, last), cal)
    if is_implausible(now.values["sales"], basis, s.general.completion_ceiling):
        team = implausible_message(s.general.team_name, now.values["completion"],
                                   now.values["sales"] or 0.0, basis,
                                   s.general.completion_ceiling, lang, ranked=False,
                                   money=money)
        warnings.insert(0, team)
        hints["completion"] = team
    reconciliation = reconcile(now, s.general.reconcile_tolerance, lang, money)
    if reconciliation["warning"]:
        warnings.append(reconciliation["warning"])
        hints["sales"] = "; ".join(h for h in (hints.get("sales"), reconciliation["warning"])
                                   if h)
    metrics = []
    for key, (dim, met, kind) in LABELS.items():
        metrics.append(Metric(key, dim(lang), money_text(met(lang), s.general.currency,
                                                         s.general.amount_unit),
                              now.targets.get(key),
                              now.values.get(key), kind, hints.get(key)))
    return Review(label, first, last, metrics, horizontal, trend_months, trend, falling,
                  _cases(data, first, last, lang), warnings, reconciliation,
                  team_quota(data.targets, s, first, last, cal).basis)


SALES_SOURCE = {"dailies": Label("日报成交金额", "the dailies' signed amounts"),
                "opportunities": Label("赢单商机金额", "won opportunities")}


def reconcile(now: PeriodFigures, tolerance: float, lang: Lang,
              money: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The signed amount by the dailies beside the amount of the opportunities won in the
    same period: which one the review's sales are, their difference, and a warning when
    they differ by more than ``tolerance`` of the larger (a team keeping both should see
    the same business twice), its amounts in the currency and unit of the settings'
    options ``money``."""
    dailies, won = now.dailies_signed, now.opportunities_won
    gap = won - dailies + 0.0  # never -0.0
    unit = money.get("amount_unit") if money else None
    places = 0 if is_whole(unit) else 1
    a, b, d = (to_unit(x, unit) for x in (dailies, won, gap))
    source = SALES_SOURCE[now.sales_source](lang)
    line = options_text(  # the review always shows both, under its table
        f"销售额取自{source}:日报合计 {a:,.{places}f} 万元,赢单商机合计 {b:,.{places}f} 万元,"
        f"相差 {d:+,.{places}f} 万元" if lang == "zh" else
        f"Sales from {source}: the dailies add up to {a:,.{places}f} (10k CNY), the won "
        f"opportunities to {b:,.{places}f}, a gap of {d:+,.{places}f}", money)
    warning = None
    if now.sales_source == "dailies" and abs(gap) > tolerance * max(abs(dailies), abs(won)):
        warning = options_text(
            f"成交金额对不上:日报合计 {a:,.{places}f} 万元,赢单商机合计 {b:,.{places}f} 万元,"
            f"相差 {d:+,.{places}f} 万元(超过 {tolerance:.0%})" if lang == "zh" else
            f"signed amounts disagree: the dailies add up to {a:,.{places}f}, the won "
            f"opportunities to {b:,.{places}f}, a gap of {d:+,.{places}f} "
            f"(over {tolerance:.0%})", money)
    return {"source": now.sales_source, "source_label": source, "line": line,
            "dailies": round(dailies, 6), "opportunities_won": round(won, 6),
            "difference": round(gap, 6) + 0.0,
            "tolerance": tolerance, "warning": warning}


def _hints(data: ReviewData, now: PeriodFigures, first: dt.date, last: dt.date,
           falling: list[str], lang: Lang, today: dt.date) -> dict[str, str]:
    s = data.settings
    out: dict[str, str] = {}
    o = data.opportunities
    slipped = o[in_period(o["expected_close"], first, min(last, today)) & (data.kind == "open")
                & (o["amount"].fillna(0.0) >= HIGH_VALUE)]
    sales_done = now.values["completion"]
    if len(slipped) and (sales_done is None or sales_done < 1):
        out["sales"] = (f"{len(slipped)}个高价值商机(≥{HIGH_VALUE:g}万)超过预计成交日期仍未签约"
                        if lang == "zh" else
                        f"{len(slipped)} high-value deals (≥{HIGH_VALUE:g}) slipped past their "
                        "expected close date")
    for key in falling:
        name = money_text(LABELS[key][1](lang), data.settings.general.currency,
                          data.settings.general.amount_unit)
        out[key] = (f"{name}连续3个月下降" if lang == "zh"
                    else f"{name} fell three months in a row")
    for key in ("visits", "proposals", "new_customers"):
        rate = completion_rate(now.values[key], now.targets.get(key))
        if rate is not None and rate < s.general.completion_threshold and key not in out:
            out[key] = (f"完成{rate:.0%},低于{s.general.completion_threshold:.0%}"
                        if lang == "zh" else
                        f"{rate:.0%} of target, under {s.general.completion_threshold:.0%}")
    lost = o[_closed_mask(data, first, last) & (data.kind == "lost")]
    reasons = Counter(str(r) for r in lost["lost_reason"].dropna() if r)
    if reasons and "win_rate" not in out:
        top = SEP(lang).join(f"{r}({n})" for r, n in reasons.most_common(2))
        out["win_rate"] = f"输单主要原因:{top}" if lang == "zh" else f"main loss reasons: {top}"
    disc = discipline(data.deduped, s, first, min(last, today))
    for key in ("late", "missing"):
        worst = sorted(((getattr(d, key), d.rep) for d in disc if getattr(d, key)),
                       reverse=True)[:2]
        if worst:
            names = SEP(lang).join(f"{rep}({n})" for n, rep in worst)
            out[key] = f"最多:{names}" if lang == "zh" else f"most: {names}"
    return out


def _horizontal(data: ReviewData, first: dt.date, last: dt.date, today: dt.date | None,
                cal: WorkCalendar, lang: Lang) -> list[dict[str, Any]]:
    s = data.settings
    span = month_span(first, last)
    rows = []
    # people off the roster (and deals without an owner, ""): counted under "unassigned"
    # (each their own row among the reps), never with a target, so never ranked
    through = min(last, today) if today and first <= today else last
    base = period_base(data, first, last, through, cal)
    roster = set(s.reps())
    strangers = sorted({str(k) for part in (base.sums, base.won_count, base.lost_count,
                                            base.intent) for k in part} - roster)
    for level in ("rep", "region", "product"):
        groups: dict[str, list[str]] = defaultdict(list)
        for rep in [*s.reps(), *strangers]:
            name = group_of(s, rep, level) or UNASSIGNED(lang)  # type: ignore[arg-type]
            groups[name].append(rep)
        block = []
        for key, who in groups.items():
            reps = [r for r in who if r in roster]  # whose targets count
            f = figures(data, first, last, reps=who, today=today, cal=cal)
            quota = owners_target(data.targets, reps, first, last, cal)
            basis = owners_target(data.targets, reps, *span, cal)
            block.append({"level_code": level, "name": key, "quota": quota, "basis": basis,
                          "implausible": is_implausible(f.values["sales"], basis,
                                                        s.general.completion_ceiling),
                          "sales": f.values["sales"], "completion": completion_rate(
                              f.values["sales"], quota),
                          "new_customers": f.values["new_customers"],
                          "visits": f.values["visits"], "proposals": f.values["proposals"],
                          "avg_deal": f.values["avg_deal"], "win_rate": f.values["win_rate"],
                          "conversion": f.values["conversion"]})
        ranking = rank(((b["name"], b["completion"], b["implausible"]) for b in block),
                       s.general.completion_threshold)
        for b in block:
            st = ranking.of(b["name"])
            b.update(rank=st.rank, top=st.top, below=st.below, mark=st.mark)
        rows += sorted(block, key=lambda b: (b["rank"] is None, b["rank"] or 0, b["name"]))
    return rows


def _cases(data: ReviewData, first: dt.date, last: dt.date, lang: Lang) -> list[dict[str, Any]]:
    from xlsales import tables as T
    from xlsales.frames import records

    o = data.opportunities
    closed = _closed_mask(data, first, last)
    out = []
    for kind in ("won", "lost"):
        items = o[closed & (data.kind == kind)]
        if items.empty:
            continue
        best = items.loc[[items["amount"].fillna(0.0).idxmax()]]
        case = records(best, T.get("opportunities"))[0]
        h = data.history[data.history["opp_id"] == case["opp_id"]].sort_values(
            "date", kind="stable")
        path = " → ".join(
            f"{d:%m-%d} {data.settings.display('stages', str(to), lang)}"
            for d, to in zip(h["date"], h["to_stage"].astype(object), strict=True))
        created = case.get("created_on")
        days = (case["closed_on"] - created).days if isinstance(created, dt.date) else None
        out.append({"kind": kind, "opp_id": case.get("opp_id"),
                    "customer": case.get("customer"), "owner": case.get("owner"),
                    "amount": case.get("amount"), "closed_on": case.get("closed_on"),
                    "days": days, "history": path, "lost_reason": case.get("lost_reason")})
    return out
