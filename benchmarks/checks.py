"""Correctness checks: each xlsales stage's output against pandas on the generator's truth.

The truth is what the generator wrote and what each cell means (``truth/*.pkl``), never
what xlsales read. The figures are recomputed here with pandas following the spec
(docs in ``xlsales/discipline.py``, ``rollup.py``, ``pipeline.py``, ``review.py``):
one report per rep and day, the latest submission winning; a report is late after the
deadline of its own day; working days come from ``chinese_calendar`` directly.

Every check returns ``{"check", "ok", "detail"}`` items; a stage passes when all are ok.
Checks read the JSON each stage printed (CLI) or returned (library, ``as_dict()``).
"""

from __future__ import annotations

import datetime as dt
import json
import pickle
from collections import Counter
from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path
from typing import Any

from benchmarks.layout import BenchWorkspace

Result = dict[str, Any]
TOL = 1e-6


class Truth:
    """The generator's ground truth of one workspace, loaded lazily."""

    def __init__(self, ws: BenchWorkspace) -> None:
        self.ws = ws

    def frame(self, name: str) -> Any:
        with open(self.ws.truth_dir / f"{name}.pkl", "rb") as f:
            return pickle.load(f)

    @cached_property
    def facts(self) -> dict[str, Any]:
        return json.loads((self.ws.truth_dir / "facts.json").read_text("utf-8"))

    @cached_property
    def daily(self) -> Any:
        return self.frame("daily")

    @cached_property
    def roster(self) -> Any:
        return self.frame("roster")

    @cached_property
    def deadline(self) -> dt.time:
        return dt.time.fromisoformat(self.facts["report_deadline"])

    @cached_property
    def dated(self) -> Any:
        """Rows with a readable date, one per rep and day: the latest submission wins."""
        df = self.daily[self.daily["date"].notna()].copy()
        df = df.sort_values(["submitted_at", "excel_row"], na_position="first", kind="stable")
        df = df.drop_duplicates(["rep", "date"], keep="last").sort_values("excel_row")
        df["day"] = df["date"].dt.date
        df["late"] = df["submitted_at"] > df["date"] + _offset(self.deadline)
        return df

    def stage_facts(self) -> dict[str, dict[str, Any]]:
        return {s["zh"]: s for s in self.facts["stages"]}


def _offset(t: dt.time) -> Any:
    import pandas as pd

    return pd.Timedelta(hours=t.hour, minutes=t.minute)


def _working(day: dt.date) -> bool:
    import chinese_calendar

    return bool(chinese_calendar.is_workday(day))


def _days(first: dt.date, last: dt.date) -> Iterable[dt.date]:
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def _owed(rep: Any, first: dt.date, last: dt.date) -> list[dt.date]:
    """Working days a roster rep owes a report in ``first``..``last``."""
    start = rep["start_date"]
    lo = max(first, start.date()) if _present(start) else first
    leave = {dt.date.fromisoformat(d) for d in rep["leave_days"]}
    return [d for d in _days(lo, last) if _working(d) and d not in leave]


def _present(value: Any) -> bool:
    import pandas as pd

    return value is not None and not pd.isna(value)


def _month(text: str) -> tuple[dt.date, dt.date]:
    y, m = map(int, text.split("-"))
    nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
    return dt.date(y, m, 1), nxt - dt.timedelta(days=1)


def _quarter(text: str) -> tuple[dt.date, dt.date]:
    y, q = map(int, text.upper().split("Q"))
    first = dt.date(y, 3 * q - 2, 1)
    return first, _month(f"{y}-{3 * q:02d}")[1]


def _week(day: dt.date) -> str:
    y, w, _ = day.isocalendar()
    return f"{y}-W{w:02d}"


def _item(name: str, ok: bool, detail: str = "") -> Result:
    return {"check": name, "ok": bool(ok), "detail": detail if not ok else (detail or "ok")}


def _same(name: str, expected: Any, actual: Any) -> Result:
    return _item(name, expected == actual, f"expected {_short(expected)}, got {_short(actual)}")


def _same_map(name: str, expected: dict[Any, Any], actual: dict[Any, Any],
              tol: float = TOL) -> Result:
    """Two mappings with the same keys and (numerically) equal values."""
    bad = []
    for key in sorted(set(expected) | set(actual), key=str):
        e, a = expected.get(key), actual.get(key)
        if not _close(e, a, tol):
            bad.append(f"{key}: expected {e}, got {a}")
    detail = (f"{len(bad)} of {len(set(expected) | set(actual))} differ: " + "; ".join(bad[:5])
              if bad else f"{len(expected)} keys equal")
    return _item(name, not bad, detail)


def _close(e: Any, a: Any, tol: float) -> bool:
    if isinstance(e, tuple | list) and isinstance(a, tuple | list):
        return len(e) == len(a) and all(_close(x, y, tol) for x, y in zip(e, a, strict=True))
    if isinstance(e, int | float) and isinstance(a, int | float):
        return abs(float(e) - float(a)) <= tol
    return bool(e == a)


def _short(value: Any, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


# -- the checks -------------------------------------------------------------------------------

def check_baseline_rows(out: dict[str, Any], truth: Truth) -> list[Result]:
    """A baseline read every daily row."""
    return [_same("rows read", truth.ws.rows, out.get("rows"))]


def check_read_daily(out: dict[str, Any], truth: Truth) -> list[Result]:
    """Row count, per-row values, per-rep sums of clean rows, and the cells it could not read."""
    df = truth.daily
    rows = out["rows"]  # [excel row, date, rep, visits, effective, amount]
    results = [_same("rows read", len(df), len(rows)),
               _same("row numbers", df["excel_row"].tolist(), [r[0] for r in rows])]
    clean = df[df["kind"].isin(["", "duplicate", "duplicate_original"])]
    got = {r[0]: r for r in rows}
    sums: dict[str, list[float]] = {}
    for excel_row in clean["excel_row"]:
        r = got.get(excel_row)
        if r is not None:
            acc = sums.setdefault(r[2], [0, 0.0])
            acc[0] += r[3] or 0
            acc[1] += r[5] or 0.0
    expected = clean.groupby("rep").agg(visits=("visits", "sum"),
                                        amount=("amount_signed", "sum"))
    results.append(_same_map(
        "per-rep visits and amount of the rows without slips",
        {rep: (int(v), float(a)) for rep, v, a in zip(expected.index, expected["visits"],
                                                      expected["amount"], strict=True)},
        {rep: (int(v), float(a)) for rep, (v, a) in sums.items()}))
    wrong = []
    for t in df.itertuples():
        r = got.get(t.excel_row)
        if r is None:
            continue
        want = (t.date.date().isoformat() if _present(t.date) else None, t.rep,
                None if t.visits is None or _isna(t.visits) else int(t.visits),
                None if _isna(t.amount_signed) else float(t.amount_signed))
        have = (r[1], r[2], r[3], r[5])
        if not _close(list(want), list(have), TOL):
            wrong.append(f"row {t.excel_row} ({t.kind or 'clean'}): {want} vs {have}")
    results.append(_item("date, rep, visits and amount of every row (messy text normalised, "
                         "invalid cells empty)", not wrong,
                         f"{len(wrong)} rows differ: " + "; ".join(wrong[:5])))
    bad_cells = {(c, "cell.type") for c, rule in zip(df["cell"], df["rule"], strict=True)
                 if rule == "cell.type"}
    found = {(f["cell"], f["rule"]) for f in out["findings"] if f["severity"] == "error"}
    results.append(_same("unreadable cells reported (cell.type)", sorted(bad_cells),
                         sorted(found)))
    return results


def _isna(value: Any) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def check_validate_daily(out: dict[str, Any], truth: Truth) -> list[Result]:
    """Every slip flagged at its cell by its rule, nothing else; warnings counted exactly."""
    df = truth.daily
    expected_errors = sorted((rule, cell) for rule, cell in zip(df["rule"], df["cell"],
                                                                strict=True) if rule)
    errors = sorted((f["rule"], f["cell"]) for f in out["findings"] if f["severity"] == "error")
    missed = sorted(set(expected_errors) - set(errors))
    extra = sorted(set(errors) - set(expected_errors))
    results = [
        _same("daily rows", len(df), out["tables"].get("daily", {}).get("rows")),
        _item("every injected invalid row flagged by its rule at its cell, no other error",
              not missed and not extra and len(errors) == len(expected_errors),
              f"missed {missed[:5]} (of {len(missed)}), unexpected {extra[:5]} "
              f"(of {len(extra)}); {len(errors)} errors vs {len(expected_errors)} injected"),
        _same("error count", len(expected_errors), out["errors"]),
    ]
    dated = df[df["date"].notna()]
    late = int((dated["submitted_at"] > dated["date"] + _offset(truth.deadline)).sum())
    targets = truth.frame("targets")
    have = set(zip(targets["owner"], targets["quarter"], strict=True))
    need = {(rep, f"{d.year}Q{(d.month - 1) // 3 + 1}")
            for rep, d in zip(dated["rep"], dated["date"], strict=True)}
    expected_warnings = Counter({"T2.late": late, "X.rep_without_target": len(need - have)})
    warnings = Counter(f["rule"] for f in out["findings"] if f["severity"] == "warning")
    results.append(_same("warnings by rule", dict(+expected_warnings), dict(warnings)))
    return results


def _tables_rows(out: dict[str, Any]) -> dict[str, int]:
    return {k: v["rows"] for k, v in out["tables"].items()}


def check_validate_customers(out: dict[str, Any], truth: Truth) -> list[Result]:
    """Rows of the five tables; no error; the slipped close dates of open opportunities."""
    names = ("customers", "follow_ups", "leads", "opportunities", "stage_history")
    opps = truth.frame("opportunities")
    open_stages = {s["zh"] for s in truth.facts["stages"] if s["kind"] == "open"}
    today = truth.ws.today
    slipped = int(sum(1 for s, c in zip(opps["stage"], opps["expected_close"], strict=True)
                      if s in open_stages and c.date() < today))
    warnings = Counter(f["rule"] for f in out["findings"] if f["severity"] == "warning")
    return [
        _same("rows per table", {n: len(truth.frame(n)) for n in names}, _tables_rows(out)),
        _same("errors", 0, out["errors"]),
        _same("warnings by rule", {"T7.expected_close_past": slipped} if slipped else {},
              dict(warnings)),
    ]


def check_validate_targets(out: dict[str, Any], truth: Truth) -> list[Result]:
    """Rows of both tables; splits add up, margins in band, all signed: no finding."""
    return [
        _same("rows per table", {"targets": len(truth.frame("targets")),
                                 "team_targets": len(truth.frame("team_targets"))},
              _tables_rows(out)),
        _same("findings", [], [f["rule"] for f in out["findings"]]),
    ]


def _rollup_expected(truth: Truth) -> tuple[list[str], dict[tuple[str, str], tuple[Any, ...]]]:
    rows = truth.dated
    today = truth.ws.today
    first, last = min(rows["day"]), max(rows["day"])
    monday = first - dt.timedelta(days=first.weekday())
    weeks = []
    while monday <= last:
        weeks.append(_week(monday))
        monday += dt.timedelta(days=7)
    rows = rows.assign(week=[_week(d) for d in rows["day"]])
    agg = rows.groupby(["week", "rep"]).agg(visits=("visits", "sum"),
                                            amount=("amount_signed", "sum"),
                                            late=("late", "sum"))
    days_of = rows.groupby(["week", "rep"])["day"].agg(set).to_dict()
    expected: dict[tuple[str, str], tuple[Any, ...]] = {}
    roster = {r["rep"]: r for r in truth.roster.to_dict("records")}
    for week in weeks:
        y, w = week.split("-W")
        mon = dt.date.fromisocalendar(int(y), int(w), 1)
        through = min(mon + dt.timedelta(days=6), today)
        for rep in [*roster, *sorted({r for (wk, r) in days_of if wk == week} - set(roster))]:
            owed = _owed(roster[rep], mon, through) if rep in roster else []
            have = days_of.get((week, rep), set())
            if not owed and not have:
                continue
            key = (week, rep)
            v, a, lt = ((int(agg.loc[key, "visits"]), float(agg.loc[key, "amount"]),
                         int(agg.loc[key, "late"])) if key in agg.index else (0, 0.0, 0))
            reported = sum(1 for d in owed if d in have)
            expected[key] = (v, round(a, 6), len(owed), reported, lt, len(owed) - reported)
    return weeks, expected


def check_rollup(out: dict[str, Any], truth: Truth) -> list[Result]:
    """Weeks; per rep and week: visits, amount, days owed/reported, late, missing; team sums."""
    weeks, expected = _rollup_expected(truth)
    got = {(r["week"], r["name"]): (r["visits"], r["amount_signed"], r["expected"],
                                    r["reported"], r["late"], r["missing"])
           for r in out["rows"] if r["level"] == "rep"}
    team_expected: dict[str, list[float]] = {}
    for (week, _rep), vals in expected.items():
        acc = team_expected.setdefault(week, [0, 0.0])
        acc[0] += vals[0]
        acc[1] += vals[1]
    team = {r["week"]: [r["visits"], r["amount_signed"]] for r in out["rows"]
            if r["level"] == "team"}
    return [
        _same("weeks", weeks, out["weeks"]),
        _same_map("per rep and week: visits, amount signed, days owed, reported, late, "
                  "missing", expected, got),
        _same_map("team total per week: visits, amount signed", team_expected, team, 1e-4),
        _same("duplicate rows dropped", int((truth.daily["kind"] == "duplicate").sum()),
              out["duplicates_dropped"]),
    ]


def check_rollup_written(out: dict[str, Any], truth: Truth) -> list[Result]:
    """The rollup's figures, and one written sheet per week in the copy."""
    results = check_rollup(out, truth)
    written = out.get("written")
    sheets = _sheet_names(Path(written)) if written and Path(written).exists() else []
    results.append(_item("a weekly sheet per week written into the copy",
                         bool(written) and len(out["sheets"]) == len(out["weeks"])
                         and set(out["sheets"]) <= set(sheets),
                         f"written {written}; {len(out['sheets'])} sheets listed for "
                         f"{len(out['weeks'])} weeks; in the file: {len(sheets)}"))
    return results


def _sheet_names(path: Path) -> list[str]:
    from python_calamine import CalamineWorkbook

    return list(CalamineWorkbook.from_path(str(path)).sheet_names)


def check_completion(out: dict[str, Any], truth: Truth) -> list[Result]:
    """Signed amounts per rep over the month up to today (latest submission per day)."""
    first, last = _month(truth.ws.month)
    through = min(last, truth.ws.today)
    rows = truth.dated[(truth.dated["day"] >= first) & (truth.dated["day"] <= through)]
    expected = {rep: 0.0 for rep in truth.roster["rep"]}
    for rep, amount in rows.groupby("rep")["amount_signed"].sum().items():
        expected[rep] = round(float(amount), 6)
    got = {r["key"]: r["actual"] for r in out["rows"]}
    return [_same("through", through.isoformat(), out["through"]),
            _same_map("actual signed per rep", expected, got)]


def check_compliance(out: dict[str, Any], truth: Truth) -> list[Result]:
    """Per roster rep over the quarter up to today: owed, reported, late, missing days."""
    first, last = _quarter(truth.ws.quarter)
    through = min(last, truth.ws.today)
    rows = truth.dated[(truth.dated["day"] >= first) & (truth.dated["day"] <= through)]
    by_rep = {rep: dict(zip(g["day"], g["late"], strict=True))
              for rep, g in rows.groupby("rep")}
    expected = {}
    for rep in truth.roster.to_dict("records"):
        owed = _owed(rep, first, through)
        mine = by_rep.get(rep["rep"], {})
        reported = sum(1 for d in owed if d in mine)
        expected[rep["rep"]] = (len(owed), reported, sum(1 for x in mine.values() if x),
                                len(owed) - reported)
    got = {r["rep"]: (r["expected"], r["reported"], r["late"], r["missing"])
           for r in out["reps"]}
    return [_same_map("expected, reported, late, missing per rep", expected, got)]


def check_followups(out: dict[str, Any], truth: Truth) -> list[Result]:
    """Lost customers sleep; every other customer's routine date — the 下次跟进时间 the rep
    typed when it is after the last contact, else the tier cadence (last contact + the
    tier's interval, moved back to a working day) — appears in the due lists up to the end
    of this week, unless it was overdue by more than the catch-up threshold (then it is in
    the catch-up plan, at most the per-rep cap a day)."""
    today = truth.ws.today
    week_end = today + dt.timedelta(days=6 - today.weekday())
    customers = truth.frame("customers")
    log = truth.frame("follow_ups")
    last_log = log[log["date"].dt.date <= today].groupby("customer")["date"].max()
    intervals = truth.facts["tiers"]
    lost = set(customers.loc[customers["stage"] == "流失客户", "name"])
    plan = out["catch_up"]
    stale = today - dt.timedelta(days=plan["threshold_days"])
    expected = set()
    for c in customers.to_dict("records"):
        if c["name"] in lost:
            continue
        dates = [d.date() for d in (last_log.get(c["name"]), c["last_contact"])
                 if _present(d) and d.date() <= today]
        if not dates:
            continue
        last = max(dates)
        typed = c["next_follow_up"]
        if _present(typed) and typed.date() > last:
            rule, due = "agreed", typed.date()
        else:
            rule, due = f"tier_{c['tier']}", last + dt.timedelta(days=intervals[c["tier"]])
            while not _working(due):
                due -= dt.timedelta(days=1)
        if stale <= due <= week_end:
            expected.add((c["name"], rule, due.isoformat()))
    dues = [d for bucket in out["due"].values() for d in bucket]
    routine = {f"tier_{t}" for t in intervals} | {"agreed"}
    got = {(d["customer"], d["rule"], d["date"]) for d in dues
           if d["rule"] in routine and not d.get("catch_up")}
    per_day = [n for reps in plan["per_day"].values() for n in reps.values()]
    return [
        _same("customers with a next follow-up (all but the lost)", len(customers) - len(lost),
              len(out["next"])),
        _same("lost customers in the due lists", [],
              sorted({d["customer"] for d in dues} & lost)[:5]),
        _same("routine dues up to the end of this week", sorted(expected), sorted(got)),
        _same("catch-up days over the per-rep cap", [],
              [n for n in per_day if n > plan["per_rep_per_day"]]),
    ]


def check_forecast(out: dict[str, Any], truth: Truth) -> list[Result]:
    """Σ amount × stage probability of open opportunities expected to close in the month,
    and the amounts won in it, per rep."""
    first, last = _month(truth.ws.month)
    opps = truth.frame("opportunities")
    stage = truth.stage_facts()
    weighted = {rep: 0.0 for rep in truth.roster["rep"]}
    won = dict(weighted)
    lines = 0
    for o in opps.to_dict("records"):
        s = stage[o["stage"]]
        close = o["expected_close"].date() if _present(o["expected_close"]) else None
        closed = o["closed_on"].date() if _present(o["closed_on"]) else None
        if s["kind"] == "open" and close and first <= close <= last:
            weighted[o["owner"]] += o["amount"] * s["probability"]
            lines += 1
        elif s["kind"] == "won" and closed and first <= closed <= last:
            won[o["owner"]] += o["amount"]
    got_w = {r["key"]: r["weighted"] for r in out["rows"]}
    got_won = {r["key"]: r["won"] for r in out["rows"]}
    return [_same_map("weighted forecast per rep", weighted, got_w),
            _same_map("won in the period per rep", won, got_won),
            _same("open opportunities closing in the period", lines, len(out["lines"])),
            _item("weighted total", abs(sum(weighted.values()) - sum(got_w.values())) < 1e-4,
                  f"expected {sum(weighted.values()):.4f}, got {sum(got_w.values()):.4f}")]


def check_funnel(out: dict[str, Any], truth: Truth) -> list[Result]:
    """Open opportunities per stage (count and amount), deals won in the quarter."""
    first, last = _quarter(truth.ws.quarter)
    opps = truth.frame("opportunities")
    stage = truth.stage_facts()
    open_stages = [s["zh"] for s in sorted(truth.facts["stages"], key=lambda s: s["order"])
                   if s["kind"] == "open"]
    counts = opps[opps["stage"].isin(open_stages)].groupby("stage").agg(
        n=("opp_id", "count"), amount=("amount", "sum"))
    expected = {s: (int(counts.loc[s, "n"]), float(counts.loc[s, "amount"]))
                if s in counts.index else (0, 0.0) for s in open_stages}
    got = {s["stage"]: (s["open_count"], s["open_amount"]) for s in out["stages"]}
    won = [o for o in opps.to_dict("records") if stage[o["stage"]]["kind"] == "won"
           and _present(o["closed_on"]) and first <= o["closed_on"].date() <= last]
    return [_same_map("open count and amount per stage", expected, got, 1e-4),
            _same("deals won in the quarter", len(won), out["won_count"]),
            _item("amount won in the quarter",
                  abs(sum(o["amount"] for o in won) - out["won_amount"]) < 1e-4,
                  f"expected {sum(o['amount'] for o in won)}, got {out['won_amount']}")]


def check_review(out: dict[str, Any], truth: Truth) -> list[Result]:
    """The review's sales amount and visits: the team's dailies of the month to today,
    reps off the roster included (the team's figures count every row, issue 13)."""
    first, last = _month(truth.ws.month)
    through = min(last, truth.ws.today)
    rows = truth.dated[(truth.dated["day"] >= first) & (truth.dated["day"] <= through)
                       & truth.dated["rep"].notna()]
    metrics = {m["key"]: m["actual"] for m in out["metrics"]}
    written = out.get("written")
    return [
        _item("sales amount", abs(float(rows["amount_signed"].sum()) - metrics["sales"]) < 1e-4,
              f"expected {float(rows['amount_signed'].sum()):.4f}, got {metrics['sales']}"),
        _same("visits", float(rows["visits"].sum()), metrics["visits"]),
        _item("review workbook written", bool(written) and Path(written).exists(),
              f"written {written}"),
    ]


def check_review_figures(out: dict[str, Any], truth: Truth) -> list[Result]:
    """The review's figures (no workbook): sales amount and visits as in the review."""
    return [r for r in check_review({**out, "written": __file__}, truth)
            if r["check"] != "review workbook written"]


def check_validate_annotate(out: dict[str, Any], truth: Truth) -> list[Result]:
    """The daily report's findings, and an annotated copy with the findings sheet."""
    results = check_validate_daily(out, truth)
    path = out.get("annotated")
    sheets = _sheet_names(Path(path)) if path and Path(path).exists() else []
    results.append(_item("annotated copy with a findings sheet",
                         any(s in ("校验结果", "Validation") for s in sheets),
                         f"annotated {path}; sheets {sheets}"))
    return results


CHECKS: dict[str, Callable[[dict[str, Any], Truth], list[Result]]] = {
    "baseline_rows": check_baseline_rows,
    "read_daily": check_read_daily,
    "validate_daily": check_validate_daily,
    "validate_customers": check_validate_customers,
    "validate_targets": check_validate_targets,
    "rollup": check_rollup,
    "rollup_written": check_rollup_written,
    "completion": check_completion,
    "compliance": check_compliance,
    "followups": check_followups,
    "forecast": check_forecast,
    "funnel": check_funnel,
    "review": check_review,
    "review_figures": check_review_figures,
    "validate_annotate": check_validate_annotate,
}


def run_check(name: str, output: dict[str, Any], truth: Truth) -> list[Result]:
    """Run check ``name``; an exception in the check is a failed item, not a crash."""
    try:
        return CHECKS[name](output, truth)
    except Exception as exc:  # a malformed output must fail the check, not the suite
        return [_item(f"{name} (check raised)", False, f"{type(exc).__name__}: {exc}")]
