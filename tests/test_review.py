"""The monthly (and quarterly) review, T4 月度业绩复盘分析表 (spec §2 T4, §4).

The expected figures are computed again here, independently, with pandas from the
sample's canonical records (``generate().data``); ``xlsales.review`` and
``xlsales.performance`` are never called on the expected side (only the working-day
calendar is shared). The actual figures are read back from the written workbook by
header. The workbook is then recalculated by LibreOffice and every formula cell is
compared with the Python figures; its charts are read from the xlsx XML.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import shutil
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.helpers import read_block
from xlsales.calendar import WorkCalendar, month_range, parse_period, quarter_months
from xlsales.cli import app
from xlsales.errors import WorkbookError
from xlsales.io import atomic
from xlsales.io.formulas import NA_LABEL
from xlsales.jobs import run_funnel, run_review
from xlsales.jobs.review import review_data
from xlsales.performance import Targets
from xlsales.review import (
    LABELS,
    TREND_KEYS,
    ReviewData,
    build_review,
    fell_three_in_a_row,
    months_before,
)
from xlsales.sample import SAMPLE_TODAY, generate
from xlsales.settings import RosterEntry, Settings
from xlsales.tables.pipeline import FUNNEL, FUNNEL_SUMMARY
from xlsales.tables.review import HORIZONTAL, REVIEW, TREND
from xlsales.workspace import BOOKS, write_workspace

D = dt.date.fromisoformat
SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "sample_team"
BOOK_FILES = sorted(b.filename for b in BOOKS)
TEAM = generate()
SETTINGS = TEAM.settings
CAL = WorkCalendar()
REPS = [r.rep for r in SETTINGS.roster]
PERIODS = ("2024-03", "2024Q1")


def close(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


# -- the independent computation ------------------------------------------------------------

def _frame(key: str) -> pd.DataFrame:
    df = pd.DataFrame(TEAM.data[key])
    for c in ("date", "closed_on", "expected_close"):
        if c in df:
            df[c] = pd.to_datetime(df[c])
    return df


DAILY = _frame("daily")
OPPS = _frame("opportunities")
HISTORY = _frame("stage_history")
TARGET_ROWS = pd.DataFrame(TEAM.data["targets"])
TEAM_TARGETS = {t["quarter"]: float(t["team_target"]) for t in TEAM.data["team_targets"]}
STAGES = pd.DataFrame([{"stage": s.zh, "kind": s.kind, "order": s.order,
                        "probability": s.probability} for s in SETTINGS.stages])
KIND = dict(zip(STAGES["stage"], STAGES["kind"], strict=True))
PROBABILITY = dict(zip(STAGES["stage"], STAGES["probability"], strict=True))
INTENT = set(STAGES.loc[(STAGES["kind"] == "open")
                        & (STAGES["order"] >= int(STAGES.loc[STAGES["stage"] == "需求分析",
                                                             "order"].iloc[0])), "stage"])


def ts(day: dt.date) -> pd.Timestamp:
    return pd.Timestamp(day)


def prior_months(day: dt.date, n: int) -> list[tuple[dt.date, dt.date]]:
    """The ``n`` calendar months before ``day``'s month, oldest first."""
    month = pd.Period(day, "M")
    return [((month - k).start_time.date(), (month - k).end_time.date())
            for k in range(n, 0, -1)]


def months_of(first: dt.date, last: dt.date) -> list[tuple[int, int]]:
    out, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def month_target(owner: str, year: int, month: int) -> float | None:
    """The owner's target for a month: the T1 rows' monthly split."""
    rows = TARGET_ROWS[TARGET_ROWS["owner"] == owner]
    total, found = 0.0, False
    for r in rows.itertuples():
        y, months = quarter_months(r.quarter)
        if y == year and month in months:
            found = True
            total += float(getattr(r, f"month{months.index(month) + 1}"))
    return total if found else None


def owner_target(owner: str, first: dt.date, last: dt.date) -> float | None:
    """A month's target spread evenly over the month's working days."""
    total, found = 0.0, False
    for y, m in months_of(first, last):
        target = month_target(owner, y, m)
        if target is None:
            continue
        found = True
        m_first, m_last = month_range(y, m)
        share = CAL.count(max(first, m_first), min(last, m_last))
        total += target * share / CAL.count(m_first, m_last)
    return total if found else None


def team_quota(first: dt.date, last: dt.date) -> float | None:
    """The team's quarterly total, pro-rated like the owners' working-day shares."""
    total, found = 0.0, False
    for quarter, team_total in TEAM_TARGETS.items():
        y, months = quarter_months(quarter)
        q_first, q_last = dt.date(y, months[0], 1), month_range(y, months[2])[1]
        lo, hi = max(first, q_first), min(last, q_last)
        if lo > hi:
            continue
        found = True
        in_period = sum(owner_target(o, lo, hi) or 0.0 for o in REPS)
        in_quarter = sum(owner_target(o, q_first, q_last) or 0.0 for o in REPS)
        total += team_total * in_period / in_quarter
    return total if found else None


def activity_targets(first: dt.date, last: dt.date) -> dict[str, float]:
    """New customers per quarter, visits per week, proposals per month, spread over the
    working days of the period."""
    out = {"new_customers": 0.0, "visits": 0.0, "proposals": 0.0}
    for r in TARGET_ROWS[TARGET_ROWS["owner"].isin(REPS)].itertuples():
        y, months = quarter_months(r.quarter)
        q_first, q_last = dt.date(y, months[0], 1), month_range(y, months[2])[1]
        lo, hi = max(first, q_first), min(last, q_last)
        if lo > hi:
            continue
        out["new_customers"] += r.new_customers * CAL.count(lo, hi) / CAL.count(q_first, q_last)
        out["visits"] += r.visits_per_week * CAL.count(lo, hi) / 5
        for m in months:
            m_first, m_last = month_range(y, m)
            a, b = max(lo, m_first), min(hi, m_last)
            if a <= b:
                out["proposals"] += r.proposals_per_month * CAL.count(a, b) / CAL.count(
                    m_first, m_last)
    return out


def deduped_dailies() -> pd.DataFrame:
    """One row per rep and day: the latest submission wins."""
    d = DAILY[DAILY["rep"].isin(REPS)].reset_index(drop=True)
    d["_n"] = range(len(d))
    d = d.sort_values(["submitted_at", "_n"], kind="stable")
    return d.drop_duplicates(["rep", "date"], keep="last")


DEDUPED = deduped_dailies()


def closed_in(first: dt.date, last: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    o = OPPS[OPPS["owner"].isin(REPS) & (OPPS["closed_on"] >= ts(first))
             & (OPPS["closed_on"] <= ts(last))]
    kind = o["stage"].map(KIND)
    return o[kind == "won"], o[kind == "lost"]


def intent_to_won(first: dt.date, last: dt.date) -> float | None:
    """Customers with an opportunity won in the period ÷ customers with an opportunity
    at 需求分析 or a later open stage at some time during it."""
    h = HISTORY.sort_values("date", kind="stable")
    before = h[h["date"] < ts(first)].groupby("opp_id")["to_stage"].last()
    during = h[(h["date"] >= ts(first)) & (h["date"] <= ts(last))]
    opp_ids = set(before[before.isin(INTENT)].index) | set(
        during.loc[during["to_stage"].isin(INTENT), "opp_id"])
    mine = OPPS[OPPS["owner"].isin(REPS)]
    intent = set(mine.loc[mine["opp_id"].isin(opp_ids), "customer"])
    won, _ = closed_in(first, last)
    return len(set(won["customer"])) / len(intent) if intent else None


def discipline_counts(first: dt.date, through: dt.date) -> tuple[int, int]:
    """(late, missing) dailies: after the deadline of their own day; working days owed
    (after the start date, outside leave) without a report."""
    deadline = SETTINGS.general.report_deadline
    d = DEDUPED[(DEDUPED["date"] >= ts(first)) & (DEDUPED["date"] <= ts(through))]
    due = pd.to_datetime([dt.datetime.combine(day.date(), deadline) for day in d["date"]])
    late = int((pd.to_datetime(d["submitted_at"]).to_numpy() > due.to_numpy()).sum())
    reported = set(zip(d["rep"], d["date"].dt.date, strict=True))
    missing = 0
    for entry in SETTINGS.roster:
        leave: set[dt.date] = set()
        for part in re.split(r"[;,、]", entry.leave or ""):
            if part.strip():
                a, _, b = part.strip().partition("~")
                day, end = D(a), D(b or a)
                while day <= end:
                    leave.add(day)
                    day += dt.timedelta(days=1)
        start = max(first, entry.start_date or first)
        missing += sum(1 for day in CAL.days(start, through)
                       if day not in leave and (entry.rep, day) not in reported)
    return late, missing


def next_month_coverage(last: dt.date) -> float | None:
    """(won + Σ amount × probability of open opportunities expected to close) ÷ the
    team quota, for the month after the period."""
    first, end = month_range(*(last + dt.timedelta(days=1)).timetuple()[:2])
    won, _ = closed_in(first, end)
    o = OPPS[OPPS["owner"].isin(REPS) & (OPPS["stage"].map(KIND) == "open")
             & (OPPS["expected_close"] >= ts(first)) & (OPPS["expected_close"] <= ts(end))]
    expected = float(won["amount"].sum()) + float(
        (o["amount"] * o["stage"].map(PROBABILITY)).sum())
    quota = team_quota(first, end)
    return expected / quota if quota else None


def month_values(first: dt.date, last: dt.date, today: dt.date | None) -> dict[str, Any]:
    """The actual figures of one period (dailies up to today)."""
    through = min(last, today) if today and first <= today else last
    d = DEDUPED[(DEDUPED["date"] >= ts(first)) & (DEDUPED["date"] <= ts(through))]
    won, lost = closed_in(first, last)
    quota = team_quota(first, last)
    sales = float(d["amount_signed"].sum())
    return {"sales": sales, "completion": sales / quota if quota else None,
            "new_customers": float(d["new_customers"].sum()),
            "visits": float(d["visits"].sum()), "effective": float(d["effective"].sum()),
            "proposals": float(d["proposals"].sum()),
            "avg_deal": float(won["amount"].mean()) if len(won) else None,
            "win_rate": len(won) / (len(won) + len(lost)) if len(won) + len(lost) else None,
            "conversion": intent_to_won(first, last), "quota": quota}


def expected_review(period: str, today: dt.date) -> dict[str, tuple[Any, Any]]:
    """Every T4 metric as (target, actual)."""
    first, last, _ = parse_period(period)
    now = month_values(first, last, today)
    history = [month_values(a, b, None) for a, b in prior_months(first, 6)]

    def past_average(key: str) -> float | None:
        values = [h[key] for h in history if h[key] is not None]
        return sum(values) / len(values) if values else None

    activity = activity_targets(first, last)
    late, missing = discipline_counts(first, min(last, today))
    return {
        "sales": (now["quota"], now["sales"]),
        "completion": (1.0, now["completion"]),
        "new_customers": (activity["new_customers"], now["new_customers"]),
        "avg_deal": (past_average("avg_deal"), now["avg_deal"]),
        "conversion": (SETTINGS.general.conversion_target, now["conversion"]),
        "visits": (activity["visits"], now["visits"]),
        "effective": (None, now["effective"]),
        "proposals": (activity["proposals"], now["proposals"]),
        "win_rate": (past_average("win_rate"), now["win_rate"]),
        "coverage_next": (1.0, next_month_coverage(last)),
        "late": (0.0, float(late)),
        "missing": (0.0, float(missing)),
    }


# -- reading the workbook by header ---------------------------------------------------------

def sheet_rows(path: Path, *, data_only: bool = False) -> dict[str, list[list[Any]]]:
    wb = openpyxl.load_workbook(path, data_only=data_only, read_only=True)
    try:
        return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)]
                for ws in wb.worksheets}
    finally:
        wb.close()


def t4_rows(path: Path, *, data_only: bool = False) -> dict[str, dict[str, Any]]:
    """The T4 rows of a review workbook by metric key (matched on dimension + metric)."""
    rows = sheet_rows(path, data_only=data_only)[REVIEW.sheet("zh")]
    _, _, block = read_block(rows, REVIEW)
    by_label = {(r["dimension"], r["metric"]): r for r in block}
    assert len(by_label) == len(block) == len(LABELS)
    return {key: by_label[(dim.zh, met.zh)] for key, (dim, met, _) in LABELS.items()}


# -- the sample's review --------------------------------------------------------------------

def copy_sample(root: Path) -> Path:
    """A copy of the sample workspace's books (nothing else that may lie beside them)."""
    root.mkdir(parents=True)
    for name in BOOK_FILES:
        shutil.copyfile(SAMPLE / name, root / name)
    return root


@pytest.fixture(scope="module")
def reviews(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The sample's review of March (run_review) and of 2024Q1 (the CLI, --quarter)."""
    root = copy_sample(tmp_path_factory.mktemp("review") / "team")
    march = run_review(root, month="2024-03", today=SAMPLE_TODAY)
    cli = CliRunner().invoke(app, ["review", "--quarter", "2024Q1", "-w", str(root),
                                   "--on", SAMPLE_TODAY.isoformat(), "--json"])
    assert cli.exit_code == 0, cli.output
    payload = json.loads(cli.stdout)
    return {"root": root,
            "2024-03": {"written": march.written, "review": march.review,
                        "horizontal": march.review.horizontal},
            "2024Q1": {"written": Path(payload["written"]), "payload": payload,
                       "horizontal": payload["horizontal"]}}


@pytest.mark.parametrize("period", PERIODS)
def test_review_figures_match_an_independent_computation(reviews: dict[str, Any],
                                                         period: str) -> None:
    written = reviews[period]["written"]
    assert written == reviews["root"] / f"review_{period}.xlsx"
    sheet = t4_rows(written)
    expected = expected_review(period, SAMPLE_TODAY)
    assert list(sheet) == list(expected)
    problems = [f"{key} {what}: workbook {sheet[key][what]!r}, pandas {value!r}"
                for key, (target, actual) in expected.items()
                for what, value in (("target", target), ("actual", actual))
                if not close(None if sheet[key][what] in (None, "") else sheet[key][what],
                             value)]
    assert not problems, "\n".join(problems)


def test_quarter_review_covers_the_quarter(reviews: dict[str, Any]) -> None:
    payload = reviews["2024Q1"]["payload"]
    assert (payload["period"], payload["first"], payload["last"]) == (
        "2024Q1", "2024-01-01", "2024-03-31")
    rows = sheet_rows(reviews["2024Q1"]["written"])[REVIEW.sheet("zh")]
    assert rows[0][0].startswith("月度业绩复盘分析表 2024Q1")
    metrics = {m["key"]: m for m in payload["metrics"]}
    march = {m.key: m for m in reviews["2024-03"]["review"].metrics}
    # a quarter is more than its last month, and its quota is the team's quarterly total
    for key in ("sales", "visits", "proposals", "new_customers"):
        assert metrics[key]["actual"] > march[key].actual, key
    assert close(metrics["sales"]["target"], TEAM_TARGETS["2024Q1"])
    assert close(metrics["proposals"]["target"], 3 * 3 * len(REPS))


def test_sample_exercises_every_figure() -> None:
    """The sample makes the comparison above meaningful: nothing is trivially 0 or None."""
    march = expected_review("2024-03", SAMPLE_TODAY)
    for key, (_, actual) in march.items():
        assert actual, key
    won, lost = closed_in(D("2024-03-01"), D("2024-03-31"))
    assert len(won) and len(lost)
    assert 0 < march["coverage_next"][1] < 1
    # the team total sits 10-15 % under the owners' sum, so the quotas really differ
    owners = sum(owner_target(o, D("2024-03-01"), D("2024-03-31")) or 0 for o in REPS)
    assert march["sales"][0] < owners / 1.05


def test_trend_matches_an_independent_computation(reviews: dict[str, Any]) -> None:
    rows = sheet_rows(reviews["2024-03"]["written"])[TREND.sheet("zh")]
    _, _, trend = read_block(rows, TREND)
    months = prior_months(D("2024-04-01"), 6)
    assert [r["month"] for r in trend] == [f"{a:%Y-%m}" for a, _ in months] == [
        "2023-10", "2023-11", "2023-12", "2024-01", "2024-02", "2024-03"]
    problems = []
    for r, (a, b) in zip(trend, months, strict=True):
        want = month_values(a, b, SAMPLE_TODAY)
        for key in TREND_KEYS:
            got = None if r[key] in (None, "") else r[key]
            if not close(got, want[key]):
                problems.append(f"{r['month']} {key}: workbook {got!r}, pandas {want[key]!r}")
    assert not problems, "\n".join(problems)


def test_comparison_matches_an_independent_computation(reviews: dict[str, Any]) -> None:
    rows = sheet_rows(reviews["2024-03"]["written"])[HORIZONTAL.sheet("zh")]
    _, _, block = read_block(rows, HORIZONTAL)
    reps = [r for r in block if r["level"] == "代表"]
    assert sorted(r["name"] for r in reps) == sorted(REPS)
    first, last = D("2024-03-01"), D("2024-03-31")
    d = DEDUPED[(DEDUPED["date"] >= ts(first)) & (DEDUPED["date"] <= ts(SAMPLE_TODAY))]
    sales = d.groupby("rep")["amount_signed"].sum()
    rates = {}
    for r in reps:
        quota = owner_target(r["name"], first, last)
        assert close(r["quota"], quota) and close(r["sales"], sales.get(r["name"], 0.0))
        rates[r["name"]] = sales.get(r["name"], 0.0) / quota  # type: ignore[operator]
    ranked = sorted(rates, key=lambda n: (-rates[n], n))
    assert [r["name"] for r in reps] == ranked
    assert [r["rank"] for r in reps] == list(range(1, len(reps) + 1))
    threshold = SETTINGS.general.completion_threshold
    assert [r["mark"] or "" for r in reps] == [
        "TOP3" if i < 3 and rates[n] >= threshold else ("▼" if rates[n] < threshold else "")
        for i, n in enumerate(ranked)]
    regions = {r["name"]: r for r in block if r["level"] == "区域"}
    for region in {e.region for e in SETTINGS.roster}:
        members = [e.rep for e in SETTINGS.roster if e.region == region]
        assert close(regions[region]["sales"], sum(sales.get(m, 0.0) for m in members))
        assert close(regions[region]["quota"],
                     sum(owner_target(m, first, last) or 0.0 for m in members))


# -- the trend flag ---------------------------------------------------------------------------

@pytest.mark.parametrize(("values", "flag"), [
    ([4, 3, 2, 1], True),
    ([9, 1, 4, 3, 2, 1], True),  # only the last three changes count
    ([0.3, 0.2, 0.1, 0.0], True),  # 0 is a value, not a gap
    ([1, 2, 3, 4], False),
    ([4, 3, 2, 1, 2], False),  # rose last month
    ([4, 3, 3, 2], False),  # a plateau breaks the run
    ([4, 3, 2, 2], False),
    ([4, 4, 3, 2], False),
    ([3, 2, 1], False),  # two changes only
    ([], False),
    ([None, 3, 2, 1], False),  # a month without a value
    ([5, 4, None, 2, 1], False),
    ([4, 3, 2, None], False),
    ([None, 5, 4, 3, 2], True),  # an early gap does not matter
])
def test_fell_three_in_a_row(values: list[float | None], flag: bool) -> None:
    assert fell_three_in_a_row(values) is flag


def test_months_before() -> None:
    assert months_before(D("2024-03-15"), 2) == [(D("2024-01-01"), D("2024-01-31")),
                                                (D("2024-02-01"), D("2024-02-29"))]
    assert [a.month for a, _ in months_before(D("2024-03-01"), 6)] == [9, 10, 11, 12, 1, 2]
    assert months_before(D("2024-01-01"), 1) == [(D("2023-12-01"), D("2023-12-31"))]
    assert months_before(D("2024-01-01"), 0) == []
    for day in ("2024-03-31", "2024-01-01", "2023-12-15"):
        assert months_before(D(day), 13) == prior_months(D(day), 13)


MONTHS = ("2023-10", "2023-11", "2023-12", "2024-01", "2024-02", "2024-03")


def decline(won_per_month: tuple[int | None, ...]) -> tuple[Settings, dict[str, list[Any]]]:
    """One rep; each month five customers reach 需求分析 on the 2nd and close on the 20th,
    ``won`` of them won (None: no opportunity that month)."""
    s = Settings.default()
    s.roster = [RosterEntry(rep="赵一", region="华东", product_line="产品线A")]
    opps: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for month, won in zip(MONTHS, won_per_month, strict=True):
        for i in range(0 if won is None else 5):
            n = len(opps) + 1
            stage = "签约成交" if i < won else "输单"  # type: ignore[operator]
            start, closed = D(f"{month}-02"), D(f"{month}-20")
            customer = f"客户{n:03d}有限公司"
            opps.append({"opp_id": f"T{n:03d}", "customer": customer, "owner": "赵一",
                         "stage": stage, "amount": 10.0, "created_on": start,
                         "stage_entered": closed, "expected_close": closed,
                         "closed_on": closed, "lost_reason": None if i < won else "竞品降价"})  # type: ignore[operator]
            history += [{"opp_id": f"T{n:03d}", "customer": customer, "owner": "赵一",
                         "from_stage": None, "to_stage": "需求分析", "date": start},
                        {"opp_id": f"T{n:03d}", "customer": customer, "owner": "赵一",
                         "from_stage": "需求分析", "to_stage": stage, "date": closed}]
    return s, {"opportunities": opps, "stage_history": history}


CONVERSION = LABELS["conversion"][1].zh


@pytest.mark.parametrize(("won", "falling"), [
    ((2, 3, 4, 3, 2, 1), True),  # 40 60 80 60 40 20 %
    ((1, 1, 4, 3, 2, 1), True),
    ((2, 3, 4, 3, 3, 1), False),  # 80 60 60 20: a plateau
    ((2, 3, 4, None, 2, 1), False),  # January has no intent customer: no value
    ((4, 3, 2, 1, 2, 3), False),  # recovering
])
def test_trend_flag_on_a_constructed_decline(won: tuple[int | None, ...], falling: bool) -> None:
    s, data = decline(won)
    review = build_review(ReviewData(s, Targets(), [], data["opportunities"],
                                     data["stage_history"]),
                          D("2024-03-01"), D("2024-03-31"), "2024-03", today=D("2024-03-29"))
    assert review.trend["conversion"] == [None if w is None else w / 5 for w in won]
    assert ("conversion" in review.falling) is falling
    hint = next(m.hint for m in review.metrics if m.key == "conversion")
    assert (hint == f"{CONVERSION}连续3个月下降") is falling


@pytest.fixture(scope="module")
def declining(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The review of a one-rep team whose conversion fell three months in a row; it has
    no targets and no dailies at all."""
    root = tmp_path_factory.mktemp("declining")
    s, data = decline((2, 3, 4, 3, 2, 1))
    data["customers"] = [{"customer_id": f"C{i:03d}", "name": o["customer"], "owner": "赵一",
                          "stage": "成交客户" if o["stage"] == "签约成交" else "流失客户"}
                         for i, o in enumerate(data["opportunities"])]
    write_workspace(root, s, data, books=("settings", "daily", "customers"))
    result = run_review(root, month="2024-03", today=D("2024-03-29"))
    return {"root": root, "written": result.written, "review": result.review,
            "horizontal": result.review.horizontal, "period": "2024-03",
            "today": D("2024-03-29")}


def test_trend_flag_shows_in_the_workbook(declining: dict[str, Any]) -> None:
    result = declining["review"]
    assert "conversion" in result.falling
    written = declining["written"]
    t4 = t4_rows(written)
    assert t4["conversion"]["cause"] == f"{CONVERSION}连续3个月下降"
    assert close(t4["conversion"]["actual"], 0.2)
    rows = sheet_rows(written)[TREND.sheet("zh")]
    _, _, trend = read_block(rows, TREND)
    assert [r["conversion"] for r in trend] == pytest.approx([0.4, 0.6, 0.8, 0.6, 0.4, 0.2])
    flags = [v for row in rows for v in row if isinstance(v, str) and v.startswith("连续3个月下降")]
    assert len(flags) == 1 and CONVERSION in flags[0].split(":", 1)[1].split("、")


# -- the manager's notes survive regeneration ---------------------------------------------------

NOTES = {  # metric key → what the manager typed into cause, improvement, owner, due
    "sales": {"cause": "高价值客户签约延迟2周", "improvement": "加强高层拜访,缩短决策周期",
              "owner": "周建国", "due": "下月15日前"},
    "conversion": {"cause": "=竞品降价导致客户流失3家",
                   "improvement": "+突出差异化优势,提供增值服务", "owner": "郑晓梅",
                   "due": "持续优化"},
    "visits": {"improvement": "=SUM(A1:A3) 不是公式", "due": "2024-04-15"},
}


def type_notes(path: Path, notes: dict[str, dict[str, str]]) -> None:
    """Type into the T4 rows like a manager (text, even when it starts with '=')."""
    wb = openpyxl.load_workbook(path)
    ws = wb[REVIEW.sheet("zh")]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    head, cols, block = read_block(rows, REVIEW)
    labels = {key: (dim.zh, met.zh) for key, (dim, met, _) in LABELS.items()}
    for key, values in notes.items():
        i = next(n for n, r in enumerate(block) if (r["dimension"], r["metric"]) == labels[key])
        for col, text in values.items():
            cell = ws.cell(row=head + 2 + i, column=cols[col] + 1)
            cell.value = text
            cell.data_type = "s"
    wb.save(path)


def test_notes_are_kept_across_regeneration(tmp_path: Path) -> None:
    root = copy_sample(tmp_path / "team")
    first = run_review(root, month="2024-03", today=SAMPLE_TODAY)
    hints = {m.key: m.hint for m in first.review.metrics}
    assert first.kept == 0 and sum(h is not None for h in hints.values()) >= 3
    type_notes(first.written, NOTES)

    again = run_review(root, month="2024-03", today=SAMPLE_TODAY)
    assert again.written == first.written
    t4 = t4_rows(again.written)
    for key, row in t4.items():
        typed = NOTES.get(key, {})
        for col in ("cause", "improvement", "owner", "due"):
            want = typed.get(col, hints[key] if col == "cause" else None)
            assert row[col] == want, (key, col, row[col], want)
    # text starting with '=' stays text: no formula cell anywhere in the notes columns
    wb = openpyxl.load_workbook(again.written)
    ws = wb[REVIEW.sheet("zh")]
    formulas = [c.coordinate for row in ws.iter_rows() for c in row
                if c.data_type == "f" and c.value and not str(c.value).startswith("=IF(")]
    assert formulas == []
    # the figures themselves were regenerated
    for m in again.review.metrics:
        assert close(t4[m.key]["actual"], m.actual) and close(t4[m.key]["target"], m.target)


def test_regenerating_refreshes_generated_hints(tmp_path: Path) -> None:
    root = copy_sample(tmp_path / "team")
    early = run_review(root, month="2024-03", today=D("2024-03-22"))
    later = run_review(root, month="2024-03", today=SAMPLE_TODAY)
    fresh = build_review(review_data(root)[0], D("2024-03-01"), D("2024-03-31"), "2024-03",
                         today=SAMPLE_TODAY)
    assert {m.key: m.hint for m in early.review.metrics} != {
        m.key: m.hint for m in fresh.metrics}
    t4 = t4_rows(later.written)
    assert {k: r["cause"] for k, r in t4.items()} == {m.key: m.hint for m in fresh.metrics}
    assert later.kept == 0


def test_a_failed_write_keeps_the_original(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    root = copy_sample(tmp_path / "team")
    written = run_review(root, month="2024-03", today=SAMPLE_TODAY).written
    type_notes(written, {"sales": NOTES["sales"]})
    before = written.read_bytes()
    calls: list[tuple[Any, Any]] = []

    def broken(src: Any, dst: Any) -> None:
        calls.append((src, dst))
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", broken)
    with pytest.raises(WorkbookError, match="disk full"):
        run_review(root, month="2024-03", today=SAMPLE_TODAY)
    monkeypatch.undo()
    assert len(calls) == 1
    tmp, dst = map(Path, calls[0])
    assert Path(dst) == written and tmp.parent == written.parent and tmp != written
    assert written.read_bytes() == before  # the original, with the manager's notes
    assert sorted(p.name for p in root.iterdir()) == sorted(
        [*BOOK_FILES, written.name])  # no temporary file left
    assert t4_rows(written)["sales"]["cause"] == NOTES["sales"]["cause"]


# -- charts --------------------------------------------------------------------------------------

def _rels(z: zipfile.ZipFile, part: str) -> dict[str, str]:
    """Relationship id → target part of ``part``."""
    p = PurePosixPath(part)
    name = str(p.parent / "_rels" / f"{p.name}.rels")
    if name not in z.namelist():
        return {}
    xml = z.read(name).decode("utf-8")
    out = {}
    for rid, target in re.findall(r'<Relationship [^>]*Id="([^"]+)"[^>]*Target="([^"]+)"', xml):
        parts: list[str] = []
        for seg in (p.parent / target).parts:
            if seg == "..":
                parts.pop()
            else:
                parts.append(seg)
        out[rid] = "/".join(parts)
    return out


def charts_by_sheet(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Per sheet name: its charts, each with the chart types and every series'
    name, category and value formulas."""
    out: dict[str, list[dict[str, Any]]] = {}
    with zipfile.ZipFile(path) as z:
        book = z.read("xl/workbook.xml").decode("utf-8")
        book_rels = _rels(z, "xl/workbook.xml")
        for name, rid in re.findall(r'<sheet name="([^"]+)" sheetId="\d+" r:id="([^"]+)"', book):
            sheet_part = book_rels[rid]
            charts = []
            for drawing in _rels(z, sheet_part).values():
                if "/drawings/" not in drawing:
                    continue
                for chart in sorted(_rels(z, drawing).values()):
                    xml = z.read(chart).decode("utf-8")
                    series = []
                    for kind, body in re.findall(r"<c:(\w+Chart)>(.*?)</c:\1>", xml, re.S):
                        for s in re.findall(r"<c:ser>(.*?)</c:ser>", body, re.S):
                            series.append({
                                "type": kind,
                                "name": re.search(r"<c:tx>.*?<c:v>(.*?)</c:v>", s, re.S).group(1),  # type: ignore[union-attr]
                                "cat": re.search(r"<c:cat>.*?<c:f>(.*?)</c:f>", s, re.S).group(1),  # type: ignore[union-attr]
                                "val": re.search(r"<c:val>.*?<c:f>(.*?)</c:f>", s, re.S).group(1)})  # type: ignore[union-attr]
                    bar_dir = re.search(r'<c:barDir val="(\w+)"/>', xml)
                    charts.append({"part": chart, "series": series,
                                   "bar_dir": bar_dir.group(1) if bar_dir else None})
            out[name] = charts
    return out


def ref(sheet: str, col: int, first: int, last: int) -> str:
    """An absolute A1 range on ``sheet`` from 0-based column and rows."""
    from openpyxl.utils import get_column_letter

    c = get_column_letter(col + 1)
    return f"'{sheet}'!${c}${first + 1}:${c}${last + 1}"


def norm(formula: str) -> str:
    sheet, cells = formula.rsplit("!", 1)
    return f"'{sheet.strip(chr(39))}'!{cells}"


def test_charts_point_at_the_right_ranges(reviews: dict[str, Any]) -> None:
    path = reviews["2024-03"]["written"]
    sheets = sheet_rows(path)
    charts = charts_by_sheet(path)
    assert sum(len(c) for c in charts.values()) == 6

    # completion by rep: columns over the rep rows of the comparison, plus the 100 % line
    cmp_sheet = HORIZONTAL.sheet("zh")
    head, cols, block = read_block(sheets[cmp_sheet], HORIZONTAL)
    rep_rows = [head + 1 + i for i, r in enumerate(block) if r["level"] == "代表"]
    assert len(rep_rows) == len(REPS) and rep_rows == list(range(rep_rows[0],
                                                                 rep_rows[-1] + 1))
    assert rep_rows[-1] + 1 < head + 1 + len(block)  # regions and product lines follow
    r0, r1 = rep_rows[0], rep_rows[-1]
    [chart] = charts[cmp_sheet]
    assert chart["bar_dir"] == "col"
    assert [s["type"] for s in chart["series"]] == ["barChart", "lineChart"]
    bar, line = chart["series"]
    assert norm(bar["cat"]) == norm(line["cat"]) == ref(cmp_sheet, cols["name"], r0, r1)
    assert norm(bar["val"]) == ref(cmp_sheet, cols["completion"], r0, r1)
    assert norm(line["val"]) == ref(cmp_sheet, cols["target_line"], r0, r1)
    assert [block[i]["target_line"] for i in range(len(rep_rows))] == [1] * len(REPS)

    # the trend: one line chart per metric over the six months
    tr_sheet = TREND.sheet("zh")
    head, cols, trend = read_block(sheets[tr_sheet], TREND)
    t0, t1 = head + 1, head + len(trend)
    assert len(trend) == 6
    seen = []
    for c in charts[tr_sheet]:
        [s] = c["series"]
        assert s["type"] == "lineChart"
        assert norm(s["cat"]) == ref(tr_sheet, cols["month"], t0, t1)
        key = next(k for k in cols if norm(s["val"]) == ref(tr_sheet, cols[k], t0, t1))
        assert s["name"] == TREND.column(key).header("zh")
        seen.append(key)
    assert seen == ["sales", "conversion", "visits", "win_rate"]

    # the funnel: entered and needed per stage
    fu_sheet = FUNNEL.sheet("zh")
    head, cols, stages = read_block(sheets[fu_sheet], FUNNEL)
    f0, f1 = head + 1, head + len(stages)
    assert [r["stage"] for r in stages] == [s.zh for s in SETTINGS.stages if s.kind == "open"]
    [chart] = charts[fu_sheet]
    assert chart["bar_dir"] == "bar"
    assert [norm(s["cat"]) for s in chart["series"]] == [ref(fu_sheet, cols["stage"], f0, f1)] * 2
    assert [norm(s["val"]) for s in chart["series"]] == [
        ref(fu_sheet, cols[k], f0, f1) for k in ("entered", "needed")]
    assert charts[REVIEW.sheet("zh")] == []


# -- LibreOffice --------------------------------------------------------------------------------

ERROR = re.compile(r"^(#(NULL!|DIV/0!|VALUE!|REF!|NAME\?|NUM!|N/A)|Err:\d+)")


@pytest.fixture(scope="module")
def recalculated(reviews: dict[str, Any], declining: dict[str, Any], soffice: str,
                 tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sample's reviews and the declining team's, recalculated in one LibreOffice run."""
    from xlsales.io.libreoffice import recalculate_many

    edge = tmp_path_factory.mktemp("edge") / "declining-review_2024-03.xlsx"
    shutil.copyfile(declining["written"], edge)
    out = recalculate_many([*(reviews[p]["written"] for p in PERIODS), edge],
                           tmp_path_factory.mktemp("recalculated"), soffice=soffice)
    return dict(zip((*PERIODS, "declining"), out, strict=True))


def blank(v: Any) -> bool:
    return v is None or v == ""


def same(cell: Any, value: Any) -> bool:
    if value is None:
        return blank(cell)
    return isinstance(cell, int | float) and math.isclose(cell, value, rel_tol=1e-9,
                                                          abs_tol=1e-9)


CASES = (*PERIODS, "declining")


@pytest.mark.libreoffice
@pytest.mark.parametrize("period", CASES)
def test_review_has_no_error_values(recalculated: dict[str, Path], period: str) -> None:
    sheets = sheet_rows(recalculated[period], data_only=True)
    assert len([name for name in sheets if not name.startswith("_")]) == 5
    errors = [f"{name}: {v}" for name, rows in sheets.items() for row in rows for v in row
              if isinstance(v, str) and ERROR.match(v)]
    assert not errors, errors[:20]


@pytest.mark.libreoffice
@pytest.mark.parametrize("case", CASES)
def test_review_formulas_agree_with_python(reviews: dict[str, Any], declining: dict[str, Any],
                                           recalculated: dict[str, Path], case: str) -> None:
    info = declining if case == "declining" else {
        **reviews[case], "root": reviews["root"], "period": case, "today": SAMPLE_TODAY}
    path = recalculated[case]
    na = NA_LABEL("zh")
    problems = []

    # T4: completion = actual / target; target 0 → 无目标; no target → blank
    t4 = t4_rows(path, data_only=True)
    for key, r in t4.items():
        target, actual = r["target"], r["actual"]
        if blank(target) or blank(actual):
            want: Any = ""
        elif target == 0:
            want = na
        else:
            want = actual / target
        if want == "":
            ok = blank(r["completion"])
        elif isinstance(want, str):
            ok = r["completion"] == want
        else:
            ok = same(r["completion"], want)
        if not ok:
            problems.append(f"T4 {key}: completion {r['completion']!r}, expected {want!r}")
    if case == "declining":  # a team keeping no dailies owes none: nothing to count
        assert blank(t4["late"]["actual"]) and blank(t4["missing"]["actual"])
    else:
        assert t4["late"]["completion"] == na and t4["missing"]["completion"] == na
    assert blank(t4["effective"]["completion"])

    # the comparison: completion = sales / quota (no quota → 无目标), as Python ranked it
    horizontal = info["horizontal"]
    sheets = sheet_rows(path, data_only=True)
    _, _, block = read_block(sheets[HORIZONTAL.sheet("zh")], HORIZONTAL)
    assert [r["name"] for r in block] == [
        SETTINGS.display({"region": "regions", "product": "product_lines"}.get(
            h["level_code"], ""), h["name"], "zh") for h in horizontal]
    for r, h in zip(block, horizontal, strict=True):
        if h["completion"] is None:
            ok = r["completion"] == na
        else:
            ok = same(r["completion"], h["completion"]) and same(
                r["completion"], r["sales"] / r["quota"])
        if not ok:
            problems.append(f"comparison {r['name']}: {r['completion']!r}, "
                            f"Python {h['completion']!r}")

    # the funnel: conversion per stage, needed (reverse calculation), deals needed
    fu = run_funnel(info["root"], info["period"], today=info["today"])
    rows = sheets[FUNNEL.sheet("zh")]
    _, _, basis = read_block(rows, FUNNEL_SUMMARY)
    assert len(basis) == 1
    for key in ("quota", "won_count", "won_amount", "average_deal", "deals_needed"):
        if not same(basis[0][key], getattr(fu, key)):
            problems.append(f"funnel {key}: {basis[0][key]!r}, Python {getattr(fu, key)!r}")
    _, _, stages = read_block(rows, FUNNEL)
    assert [r["stage"] for r in stages] == [f.stage.zh for f in fu.stages]
    for r, f in zip(stages, fu.stages, strict=True):
        for key in ("entered", "advanced", "conversion", "ideal", "needed"):
            if not same(r[key], getattr(f, key)):
                problems.append(f"funnel {r['stage']} {key}: {r[key]!r}, "
                                f"Python {getattr(f, key)!r}")
    assert not problems, "\n".join(problems)
    if case == "declining":  # no targets at all: no quota, nothing to reverse-calculate
        assert blank(t4["sales"]["completion"]) and blank(basis[0]["deals_needed"])
        assert [r["completion"] for r in block] == [na] * 3
    else:
        assert fu.deals_needed and all(f.needed for f in fu.stages)


@pytest.mark.libreoffice
def test_review_renders_to_pdf_and_png(reviews: dict[str, Any], soffice: str,
                                       tmp_path: Path) -> None:
    from xlsales.io.libreoffice import convert, render_png

    pdf = convert(reviews["2024-03"]["written"], "pdf", tmp_path, soffice=soffice)
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 10_000
    pages = render_png(pdf, tmp_path / "review", 1, 2)
    assert len(pages) == 2
    for page in pages:
        data = page.read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 1000
