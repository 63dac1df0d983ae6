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

import pandas as pd

from xlsales.calendar import WorkCalendar
from xlsales.figures import average_deal, completion_rate
from xlsales.frames import frame
from xlsales.i18n import Label
from xlsales.normalize import company_key
from xlsales.performance import (
    GroupBy,
    Targets,
    group_labels,
    group_of,
    group_quota,
    in_period,
    team_quota,
)
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


def stage_kinds(stages: pd.Series, settings: Settings) -> tuple[pd.Series, dict[str, Stage]]:
    """The kind (open/won/lost) of every stage of a column, and the stage of each name."""
    lookups = settings.lookups()
    found = {v: st for v in stages.dropna().unique() if (st := lookups.stage(v)) is not None}
    kinds = stages.map(lambda v: found[v].kind if v in found else None)
    return kinds, found


def stage_alerts(opportunities: Iterable[dict[str, Any]] | pd.DataFrame,
                 history: Iterable[dict[str, Any]] | pd.DataFrame,
                 follow_ups: Iterable[dict[str, Any]] | pd.DataFrame, settings: Settings,
                 today: dt.date) -> list[StageAlert]:
    """Open opportunities past their stage's age limit, and proposals without feedback."""
    from xlsales import tables as T
    from xlsales.tables.customers import keyed

    opps = frame(opportunities, T.get("opportunities"))
    h = frame(history, T.get("stage_history"))
    log = frame(follow_ups, T.get("follow_ups"))
    kinds, stages = stage_kinds(opps["stage"], settings)
    opps = opps[kinds == "open"]
    now = pd.Timestamp(today)
    h = h[h["date"].notna() & (h["date"] <= now)]
    last_in = h.groupby(["opp_id", "to_stage"])["date"].max()
    keys = list(zip(opps["opp_id"], opps["stage"], strict=True))
    moved = pd.Series([last_in.get(k, pd.NaT) for k in keys], index=opps.index,
                      dtype="datetime64[ms]")
    entered = moved.fillna(opps["stage_entered"])
    feedback = log[(log["kind"] == "方案反馈").fillna(False) & log["date"].notna()]
    latest_feedback = feedback["date"].groupby(keyed(feedback["customer"], company_key)).max()
    proposal_rule = settings.followup_rule("proposal_feedback")
    out = []
    for row in opps.index[entered.notna()]:
        stage = stages[opps.at[row, "stage"]]
        day = entered[row].date()
        age = (today - day).days
        customer = opps.at[row, "customer"]
        base = dict(opp_id=str(_text(opps.at[row, "opp_id"])), customer=str(_text(customer)),
                    owner=str(_text(opps.at[row, "owner"])), stage=stage.canonical,
                    entered=day, age=age, amount=float(_number(opps.at[row, "amount"])))
        if stage.max_days and age > stage.max_days:
            out.append(StageAlert(**base, rule="stage_too_long", limit=stage.max_days))
        if proposal_rule and stage.canonical == "方案提交" and age > proposal_rule.days:
            fed = latest_feedback.get(company_key(_text(customer)))
            if fed is None or pd.isna(fed) or fed <= entered[row]:
                out.append(StageAlert(**base, rule="proposal_no_feedback",
                                      limit=proposal_rule.days))
    return sorted(out, key=lambda a: (-a.age, a.opp_id, a.rule))


def _text(value: Any) -> Any:
    return None if value is None or value != value else value


def _number(value: Any) -> float:
    return 0.0 if value is None or value != value else float(value)


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
    quota_basis: str = "owners"  # "team": the team's own total (performance.Quota)

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
                "shortage": self.shortage, "quota_basis": self.quota_basis}


@dataclass
class Forecast:
    """The weighted forecast of a period; the open deals it cannot place (no expected
    close date, a stage the settings do not know) are named beside it, never dropped."""

    first: dt.date
    last: dt.date
    by: GroupBy
    lines: list[ForecastLine]
    rows: list[ForecastRow]
    left_out: dict[str, list[LeftOut]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"first": self.first.isoformat(), "last": self.last.isoformat(), "by": self.by,
                "rows": [r.as_dict() for r in self.rows],
                "lines": [{**ln.__dict__, "expected_close": ln.expected_close.isoformat(),
                           "weighted": ln.weighted} for ln in self.lines],
                "left_out": _left_out_dict(self.left_out)}


@dataclass
class LeftOut:
    """An opportunity no period's forecast can count, and where it is."""

    opp_id: str
    customer: str
    owner: str
    stage: str
    amount: float


LEFT_OUT = {"no_close_date": Label("没有预计成交日期", "no expected close date"),
            "unknown_stage": Label("阶段不在设置中", "a stage not in the settings")}


def forecast(opportunities: Iterable[dict[str, Any]] | pd.DataFrame, targets: Targets,
             settings: Settings, first: dt.date, last: dt.date, *, by: GroupBy = "rep",
             cal: WorkCalendar | None = None) -> Forecast:
    """Weighted forecast over ``first``..``last`` against the quota, grouped ``by``."""
    from xlsales import tables as T

    cal = cal or WorkCalendar.of(settings)
    opps = frame(opportunities, T.get("opportunities"))
    kinds, stages = stage_kinds(opps["stage"], settings)
    owner = opps["owner"].astype(object).where(opps["owner"].notna(), "").astype(str)
    counted = kinds.notna()  # a deal without an owner counts under "unassigned"
    amount = opps["amount"].fillna(0.0)
    won_rows = counted & (kinds == "won") & in_period(opps["closed_on"], first, last)
    won = amount[won_rows].groupby(group_labels(owner[won_rows], settings, by),
                                   sort=False).sum()
    open_rows = counted & (kinds == "open") & in_period(opps["expected_close"], first, last)
    lines = []
    for row in opps.index[open_rows]:
        stage = stages[opps.at[row, "stage"]]
        lines.append(ForecastLine(str(_text(opps.at[row, "opp_id"])),
                                  str(_text(opps.at[row, "customer"])), owner[row],
                                  stage.canonical, float(amount[row]), stage.probability,
                                  opps.at[row, "expected_close"].date(),
                                  category(stage.probability, settings)))
    groups: dict[str, list[str]] = defaultdict(list)
    for rep in settings.reps() or sorted(targets.owners()):
        groups[group_of(settings, rep, by)].append(rep)
    by_group: dict[str, list[ForecastLine]] = defaultdict(list)
    for ln in lines:
        by_group[group_of(settings, ln.owner, by)].append(ln)
    for key in [*by_group, *won.index]:  # owners not on the roster: "unassigned", kept
        groups.setdefault(key, [])
    rows = []
    for key, members in groups.items():
        mine = by_group.get(key, [])
        quota = group_quota(targets, settings, members, first, last, cal, team=by == "team")
        row = ForecastRow(key, quota.value, round(float(won.get(key, 0.0)), 6),
                          sum(ln.weighted for ln in mine), sum(ln.amount for ln in mine),
                          quota_basis=quota.basis)
        for ln in mine:
            setattr(row, ln.category, getattr(row, ln.category) + ln.weighted)
        rows.append(row)
    rows.sort(key=lambda r: (-(r.coverage or 0), r.key))
    left_out = {why: [LeftOut(str(_text(opps.at[r, "opp_id"])),
                              str(_text(opps.at[r, "customer"])), owner[r],
                              str(_text(opps.at[r, "stage"])), float(amount[r]))
                      for r in opps.index[mask]]
                for why, mask in (("no_close_date", counted & (kinds == "open")
                                   & opps["expected_close"].isna()),
                                  ("unknown_stage", kinds.isna() & opps["stage"].notna()))}
    return Forecast(first, last, by, sorted(lines, key=lambda ln: (ln.expected_close, ln.opp_id)),
                    rows, {why: deals for why, deals in left_out.items() if deals})


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
    quota_basis: str = "owners"  # "team": the team's own total (performance.Quota)
    # deals in a stage the settings do not know: in no stage and not won, named here
    left_out: dict[str, list[LeftOut]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = {"first": self.first.isoformat(), "last": self.last.isoformat(),
               "stages": [s.as_dict() for s in self.stages], "quota": self.quota,
               "quota_basis": self.quota_basis,
               "average_deal": self.average_deal, "deals_needed": self.deals_needed,
               "won_count": self.won_count, "won_amount": self.won_amount}
        if self.left_out:
            out["left_out"] = _left_out_dict(self.left_out)
        return out


def _left_out_dict(left_out: dict[str, list[LeftOut]]) -> dict[str, Any]:
    """The deals left out, by why: count, amount and the deals (``--json``)."""
    return {why: {"count": len(deals), "amount": round(sum(d.amount for d in deals), 6),
                  "deals": [d.__dict__ for d in deals]} for why, deals in left_out.items()}


def funnel(opportunities: Iterable[dict[str, Any]] | pd.DataFrame,
           history: Iterable[dict[str, Any]] | pd.DataFrame, targets: Targets,
           settings: Settings, first: dt.date, last: dt.date, *,
           today: dt.date | None = None, cal: WorkCalendar | None = None) -> Funnel:
    """Counts, conversions, the ideal funnel and the reverse calculation for a period."""
    from xlsales import tables as T

    cal = cal or WorkCalendar.of(settings)
    today = today or last
    opps = frame(opportunities, T.get("opportunities"))
    h = frame(history, T.get("stage_history"))
    open_stages = sorted((s for s in settings.stages if s.kind == "open"),
                         key=lambda s: s.order)
    won_order = max((s.order for s in open_stages), default=0) + 1
    lookups = settings.lookups()
    names = {v: lookups.canonical("stages", str(v)) for v in h["to_stage"].dropna().unique()}
    to = h["to_stage"].map(lambda v: names.get(v) if isinstance(v, str) else None)
    stage_of = {c: lookups.stage(c) for c in set(names.values()) if c}
    level = {c: (won_order if st.kind == "won" else st.order if st.kind == "open" else 0)
             for c, st in stage_of.items() if st is not None}
    ok = h["date"].notna() & (h["date"] <= pd.Timestamp(today)) & to.isin(list(level))
    moves = pd.DataFrame({"opp_id": h["opp_id"].astype(object), "to": to,
                          "date": h["date"]})[ok]
    reached = moves.groupby(["opp_id", "to"], dropna=False)["date"].min().reset_index()
    best = moves.assign(level=moves["to"].map(level)).groupby(
        "opp_id", dropna=False)["level"].max()
    reached = reached[in_period(reached["date"], first, last)]
    reached = reached.assign(best=reached["opp_id"].map(best))
    stages = [FunnelStage(s, ideal=s.ideal_conversion) for s in open_stages]
    kinds, found = stage_kinds(opps["stage"], settings)
    amount = opps["amount"].fillna(0.0)
    current = opps["stage"].map(lambda v: found[v].canonical if v in found else None)
    for fs in stages:
        here = (kinds == "open") & (current == fs.stage.canonical)
        fs.open_count = int(here.sum())
        fs.open_amount = float(amount[here].sum())
        mine = reached[reached["to"] == fs.stage.canonical]
        fs.entered = len(mine)
        fs.advanced = int((mine["best"] > fs.stage.order).sum())
    won = (kinds == "won") & in_period(opps["closed_on"], first, last)
    won_amount = float(amount[won].sum())
    team = team_quota(targets, settings, first, last, cal)
    quota = team.value
    all_won = amount[kinds == "won"]
    avg = average_deal(float(all_won.sum()), len(all_won))
    deals = None if quota is None or not avg else quota / avg
    if deals is not None:
        needed: float | None = deals
        for fs in reversed(stages):
            rate = fs.conversion if fs.conversion else fs.ideal
            # without any rate (no actual, no ideal) the stage and those above are unknown
            needed = needed / rate if needed is not None and rate else None
            fs.needed = needed
    unknown = kinds.isna() & opps["stage"].notna()
    owner = opps["owner"].astype(object).where(opps["owner"].notna(), "").astype(str)
    left_out = [LeftOut(str(_text(opps.at[r, "opp_id"])), str(_text(opps.at[r, "customer"])),
                        owner[r], str(_text(opps.at[r, "stage"])), float(amount[r]))
                for r in opps.index[unknown]]
    return Funnel(first, last, stages, quota, avg, deals, int(won.sum()), won_amount,
                  quota_basis=team.basis,
                  left_out={"unknown_stage": left_out} if left_out else {})
