"""The pipeline: stage alerts, the weighted forecast and the funnel (seed 001).

* Stage age counts from the day an opportunity entered its current stage (the stage
  history's last move into it, else the table's 进入阶段日期), not its last activity.
* Weighted forecast = Σ amount × stage probability over open opportunities expected
  to close in the period; with what was already won in the period it is set against
  the period's quota (targets): coverage = (won + weighted) / quota, shortage =
  quota − won − weighted when positive. Forecast categories come from probability
  bands: commit ≥ ``commit_min``, best case ≥ ``best_case_min``, pipeline below.
* Funnel: open opportunities per stage (count, amount) now; stage-to-stage
  conversion over a period = of the opportunities that entered a stage in the
  period, the share that reached a later stage (won counts, lost does not); the
  ideal funnel from the settings; and the reverse calculation from the quota:
  deals needed = quota / average deal size, and each stage needs deals ÷ the
  product of the conversions from it to won (漏斗反推).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from xlsales.calendar import WorkCalendar
from xlsales.figures import average_deal, completion_rate
from xlsales.normalize import company_key
from xlsales.performance import GroupBy, Targets, group_of, period_target
from xlsales.settings import Settings, Stage

# -- stage alerts -------------------------------------------------------------------


@dataclass(frozen=True)
class StageAlert:
    """An opportunity that has waited too long."""

    opp_id: str
    customer: str
    owner: str
    stage: str
    entered: dt.date
    age: int
    rule: str
    limit: int
    amount: float

    def as_dict(self) -> dict[str, Any]:
        return {"opp_id": self.opp_id, "customer": self.customer, "owner": self.owner,
                "stage": self.stage, "entered": self.entered.isoformat(), "age": self.age,
                "rule": self.rule, "limit": self.limit, "amount": self.amount}


def entered_on(opp: dict[str, Any], history: list[dict[str, Any]]) -> dt.date | None:
    """When ``opp`` entered its current stage: the last history move into it."""
    moves = [h for h in history if h.get("to_stage") == opp.get("stage")
             and isinstance(h.get("date"), dt.date)]
    if moves:
        return max(h["date"] for h in moves)
    entered = opp.get("stage_entered")
    return entered if isinstance(entered, dt.date) else None


def stage_alerts(opportunities: Iterable[dict[str, Any]], history: Iterable[dict[str, Any]],
                 follow_ups: Iterable[dict[str, Any]], settings: Settings,
                 today: dt.date) -> list[StageAlert]:
    """Open opportunities past their stage's age limit, and proposals without feedback."""
    by_opp: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for h in history:
        if isinstance(h.get("date"), dt.date) and h["date"] <= today:
            by_opp[h.get("opp_id")].append(h)
    feedback: dict[str | None, list[dt.date]] = defaultdict(list)
    for f in follow_ups:
        if f.get("kind") == "方案反馈" and isinstance(f.get("date"), dt.date):
            feedback[company_key(f.get("customer"))].append(f["date"])
    proposal_rule = settings.followup_rule("proposal_feedback")
    out = []
    for o in opportunities:
        stage = settings.stage(o.get("stage") or "")
        if stage is None or stage.kind != "open":
            continue
        entered = entered_on(o, by_opp.get(o.get("opp_id"), []))
        if entered is None:
            continue
        age = (today - entered).days
        base = dict(opp_id=str(o.get("opp_id")), customer=str(o.get("customer")),
                    owner=str(o.get("owner")), stage=stage.canonical, entered=entered, age=age,
                    amount=float(o.get("amount") or 0.0))
        if stage.max_days and age > stage.max_days:
            out.append(StageAlert(**base, rule="stage_too_long", limit=stage.max_days))
        if (proposal_rule and stage.canonical == "方案提交" and age > proposal_rule.days
                and not any(d > entered
                            for d in feedback.get(company_key(o.get("customer")), []))):
            out.append(StageAlert(**base, rule="proposal_no_feedback", limit=proposal_rule.days))
    return sorted(out, key=lambda a: (-a.age, a.opp_id, a.rule))


# -- forecast -------------------------------------------------------------------------


def category(probability: float, settings: Settings) -> str:
    """commit / best_case / pipeline by the probability bands of the settings."""
    if probability >= settings.general.commit_min:
        return "commit"
    if probability >= settings.general.best_case_min:
        return "best_case"
    return "pipeline"


@dataclass
class ForecastLine:
    """One open opportunity counted in the forecast."""

    opp_id: str
    customer: str
    owner: str
    stage: str
    amount: float
    probability: float
    expected_close: dt.date
    category: str

    @property
    def weighted(self) -> float:
        return self.amount * self.probability


@dataclass
class ForecastRow:
    """Forecast figures of a rep, region, product line or the team."""

    key: str
    quota: float | None
    won: float
    weighted: float
    pipeline_amount: float
    commit: float = 0.0
    best_case: float = 0.0
    pipeline: float = 0.0

    @property
    def expected(self) -> float:
        return self.won + self.weighted

    @property
    def coverage(self) -> float | None:
        return completion_rate(self.expected, self.quota)

    @property
    def shortage(self) -> float | None:
        return None if self.quota is None else max(0.0, self.quota - self.expected)

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "quota": self.quota, "won": self.won,
                "weighted": self.weighted, "pipeline_amount": self.pipeline_amount,
                "commit": self.commit, "best_case": self.best_case, "pipeline": self.pipeline,
                "expected": self.expected, "coverage": self.coverage,
                "shortage": self.shortage}


@dataclass
class Forecast:
    """The weighted forecast of a period."""

    first: dt.date
    last: dt.date
    by: GroupBy
    lines: list[ForecastLine]
    rows: list[ForecastRow]

    def as_dict(self) -> dict[str, Any]:
        return {"first": self.first.isoformat(), "last": self.last.isoformat(), "by": self.by,
                "rows": [r.as_dict() for r in self.rows],
                "lines": [{**ln.__dict__, "expected_close": ln.expected_close.isoformat(),
                           "weighted": ln.weighted} for ln in self.lines]}


def forecast(opportunities: Iterable[dict[str, Any]], targets: Targets, settings: Settings,
             first: dt.date, last: dt.date, *, by: GroupBy = "rep",
             cal: WorkCalendar | None = None) -> Forecast:
    """Weighted forecast over ``first``..``last`` against the quota, grouped ``by``."""
    cal = cal or WorkCalendar(settings.general.calendar, tuple(settings.calendar))
    lines: list[ForecastLine] = []
    won: dict[str, float] = defaultdict(float)
    for o in opportunities:
        stage = settings.stage(o.get("stage") or "")
        owner = str(o.get("owner") or "")
        if stage is None or not owner:
            continue
        amount = float(o.get("amount") or 0.0)
        closed, close = o.get("closed_on"), o.get("expected_close")
        if stage.kind == "won" and isinstance(closed, dt.date) and first <= closed <= last:
            won[group_of(settings, owner, by)] += amount
        elif stage.kind == "open" and isinstance(close, dt.date) and first <= close <= last:
            lines.append(ForecastLine(str(o.get("opp_id")), str(o.get("customer")), owner,
                                      stage.canonical, amount, stage.probability, close,
                                      category(stage.probability, settings)))
    groups: dict[str, list[str]] = defaultdict(list)
    for rep in settings.reps() or sorted(targets.owners()):
        groups[group_of(settings, rep, by)].append(rep)
    rows = []
    for key, members in groups.items():
        quotas = [period_target(targets, rep, first, last, cal) for rep in members]
        quota = sum(q for q in quotas if q is not None) if any(
            q is not None for q in quotas) else None
        mine = [ln for ln in lines if group_of(settings, ln.owner, by) == key]
        row = ForecastRow(key, quota, round(won.get(key, 0.0), 6),
                          sum(ln.weighted for ln in mine), sum(ln.amount for ln in mine))
        for ln in mine:
            setattr(row, ln.category, getattr(row, ln.category) + ln.weighted)
        rows.append(row)
    rows.sort(key=lambda r: (-(r.coverage or 0), r.key))
    return Forecast(first, last, by, sorted(lines, key=lambda ln: (ln.expected_close, ln.opp_id)),
                    rows)


# -- funnel -----------------------------------------------------------------------------


@dataclass
class FunnelStage:
    """One stage of the funnel."""

    stage: Stage
    open_count: int = 0
    open_amount: float = 0.0
    entered: int = 0
    advanced: int = 0
    ideal: float | None = None
    needed: float | None = None

    @property
    def conversion(self) -> float | None:
        return None if self.entered == 0 else self.advanced / self.entered

    def as_dict(self) -> dict[str, Any]:
        return {"stage": self.stage.canonical, "open_count": self.open_count,
                "open_amount": self.open_amount, "entered": self.entered,
                "advanced": self.advanced, "conversion": self.conversion,
                "ideal": self.ideal, "needed": self.needed}


@dataclass
class Funnel:
    """The funnel of a period."""

    first: dt.date
    last: dt.date
    stages: list[FunnelStage]
    quota: float | None
    average_deal: float | None
    deals_needed: float | None
    won_count: int = 0
    won_amount: float = 0.0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"first": self.first.isoformat(), "last": self.last.isoformat(),
                "stages": [s.as_dict() for s in self.stages], "quota": self.quota,
                "average_deal": self.average_deal, "deals_needed": self.deals_needed,
                "won_count": self.won_count, "won_amount": self.won_amount}


def funnel(opportunities: Iterable[dict[str, Any]], history: Iterable[dict[str, Any]],
           targets: Targets, settings: Settings, first: dt.date, last: dt.date, *,
           today: dt.date | None = None, cal: WorkCalendar | None = None) -> Funnel:
    """Counts, conversions, the ideal funnel and the reverse calculation for a period."""
    cal = cal or WorkCalendar(settings.general.calendar, tuple(settings.calendar))
    today = today or last
    opps = list(opportunities)
    open_stages = sorted((s for s in settings.stages if s.kind == "open"),
                         key=lambda s: s.order)
    order = {s.canonical: s.order for s in settings.stages}
    won_order = max((s.order for s in open_stages), default=0) + 1
    reached: dict[Any, dict[str, dt.date]] = defaultdict(dict)
    best: dict[Any, int] = defaultdict(int)
    for h in history:
        day, to = h.get("date"), settings.canonical("stages", str(h.get("to_stage") or ""))
        if not isinstance(day, dt.date) or day > today or to is None:
            continue
        stage = settings.stage(to)
        if stage is None:
            continue
        first_in = reached[h.get("opp_id")].get(to)
        if first_in is None or day < first_in:  # the first entry, whatever the row order
            reached[h.get("opp_id")][to] = day
        level = won_order if stage.kind == "won" else (order[to] if stage.kind == "open" else 0)
        best[h.get("opp_id")] = max(best[h.get("opp_id")], level)
    stages = [FunnelStage(s, ideal=s.ideal_conversion) for s in open_stages]
    for o in opps:
        stage = settings.stage(o.get("stage") or "")
        if stage is not None and stage.kind == "open":
            fs = next(f for f in stages if f.stage.canonical == stage.canonical)
            fs.open_count += 1
            fs.open_amount += float(o.get("amount") or 0.0)
    for opp_id, entered in reached.items():
        for fs in stages:
            day = entered.get(fs.stage.canonical)
            if day is not None and first <= day <= last:
                fs.entered += 1
                if best[opp_id] > fs.stage.order:
                    fs.advanced += 1
    won = [o for o in opps if (s := settings.stage(o.get("stage") or "")) is not None
           and s.kind == "won" and isinstance(o.get("closed_on"), dt.date)
           and first <= o["closed_on"] <= last]
    won_amount = sum(float(o.get("amount") or 0.0) for o in won)
    quotas = [period_target(targets, rep, first, last, cal) for rep in settings.reps()]
    quota = sum(q for q in quotas if q is not None) if any(q is not None for q in quotas) \
        else None
    all_won = [float(o.get("amount") or 0.0) for o in opps
               if (s := settings.stage(o.get("stage") or "")) is not None and s.kind == "won"]
    avg = average_deal(sum(all_won), len(all_won))
    deals = None if quota is None or not avg else quota / avg
    if deals is not None:
        needed: float | None = deals
        for fs in reversed(stages):
            rate = fs.conversion if fs.conversion else fs.ideal
            # without any rate (no actual, no ideal) the stage and those above are unknown
            needed = needed / rate if needed is not None and rate else None
            fs.needed = needed
    return Funnel(first, last, stages, quota, avg, deals, len(won), won_amount)
