"""Ratios, goals, linearity and the Markdown report of a benchmark run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchmarks.stages import STAGES

BASE = "fastexcel_read"
LINEAR_LIMIT = 1.2
LINEAR_FROM = 50_000  # linearity compares with the smallest size of at least this many rows


@dataclass(frozen=True)
class Goal:
    """A target from the project's issue: stage metric ÷ a baseline's ≤ limit."""

    id: str
    text: str
    limit: float
    stages: tuple[str, ...]
    base: str = BASE
    metric: str = "seconds"  # seconds (min vs min) or rss (peak vs peak)


XLSALES_STAGES = tuple(s.name for s in STAGES.values() if s.is_xlsales)
GOALS: tuple[Goal, ...] = (
    Goal("read", "read of the daily table ≤ 1.3× fastexcel_read", 1.3, ("read_daily",)),
    Goal("validate", "validate of the daily report (library call; the CLI process adds the "
         "interpreter's start and imports, shown as cli_validate_daily) ≤ 2× fastexcel_read",
         2.0, ("validate_daily",)),
    Goal("read_validate_rollup", "read + validate + weekly rollup computed ≤ 2.5× "
         "fastexcel_read", 2.5, ("rollup",)),
    Goal("review", "monthly review figures ≤ 2× the bare read of that month's dailies "
         "(fastexcel_read_month; the issue asks it of the 500-rep size)", 2.0,
         ("review_figures",), base="fastexcel_read_month"),
    Goal("rollup_write", "rollup --all end to end: read, validate, roll up, write (library "
         "call; the CLI process adds the interpreter's start and imports, shown as "
         "cli_rollup) ≤ 3× fastexcel_read", 3.0, ("rollup_write",)),
    Goal("rollup_cli", "rollup --all end to end (CLI, writing) ≤ 3× fastexcel_read", 3.0,
         ("cli_rollup",)),
    Goal("ledger", "recording into the team ledger adds ≤ 10 % to rollup --all (CLI, "
         "warm ledger)", 1.10, ("cli_rollup_ledger",), base="cli_rollup"),
    Goal("annotate", "validate --annotate ≤ 0.2× openpyxl load+save", 0.2,
         ("cli_validate_annotate",), base="openpyxl_load_save"),
    Goal("peak_rss", "peak RSS ≤ 2× the fastexcel read's peak", 2.0, XLSALES_STAGES,
         metric="rss"),
    Goal("edit_rss", "in-place edit peak RSS ≤ 1.5× the fastexcel read's peak", 1.5,
         ("cli_validate_annotate", "cli_rollup"), metric="rss"),
)
LINEAR_TEXT = (f"linear time: seconds per row at the largest size ÷ at the smallest "
               f"≥ {LINEAR_FROM // 1000}k size ≤ {LINEAR_LIMIT}")


def _ok(stage: dict[str, Any] | None) -> bool:
    return bool(stage) and stage.get("min") is not None  # type: ignore[union-attr]


def add_ratios(size: dict[str, Any]) -> None:
    """Each stage ÷ fastexcel_read (min vs min, peak vs peak) at the same size."""
    stages = size["stages"]
    base = stages.get(BASE)
    for st in stages.values():
        st["ratio_to_fastexcel"] = (round(st["min"] / base["min"], 3)
                                    if _ok(st) and _ok(base) and base["min"] else None)
        st["rss_ratio_to_fastexcel"] = (
            round(st["peak_rss_mb"] / base["peak_rss_mb"], 3)
            if _ok(st) and _ok(base) and base.get("peak_rss_mb") else None)
    month, review = stages.get("fastexcel_read_month"), stages.get("review_figures")
    ann, ols = stages.get("cli_validate_annotate"), stages.get("openpyxl_load_save")
    size["ratios"] = {
        "review_figures_to_fastexcel_read_month": (round(review["min"] / month["min"], 3)
                                           if _ok(review) and _ok(month) else None),
        "validate_annotate_to_openpyxl_load_save": (round(ann["min"] / ols["min"], 3)
                                                    if _ok(ann) and _ok(ols) else None),
    }


def _verdict(value: float, limit: float) -> str:
    if value <= limit:
        return f"met ({value:.2f} ≤ {limit:g}; {limit / value:.1f}× headroom)" if value else "met"
    return f"missed by {value / limit:.2f}× ({value:.2f} > {limit:g})"


def evaluate_goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Every goal at every size where its stages ran, and linearity across sizes."""
    out = []
    for goal in GOALS:
        for label, size in results["sizes"].items():
            stages = size["stages"]
            base = stages.get(goal.base)
            for name in goal.stages:
                st = stages.get(name)
                if not _ok(st) or not _ok(base):
                    continue
                if goal.metric == "rss":
                    value = st["peak_rss_mb"] / base["peak_rss_mb"]
                else:
                    value = st["min"] / base["min"]
                out.append({"goal": goal.id, "text": goal.text, "size": label,
                            "reps": size.get("reps"), "stage": name, "base": goal.base,
                            "metric": goal.metric, "value": round(value, 3),
                            "limit": goal.limit, "met": value <= goal.limit,
                            "verdict": _verdict(value, goal.limit)})
    for name, lin in results.get("linearity", {}).items():
        if lin.get("ratio") is None or not STAGES[name].is_xlsales:
            continue
        out.append({"goal": "linear", "text": LINEAR_TEXT,
                    "size": f"{lin['from']}→{lin['to']}", "reps": None, "stage": name,
                    "base": name, "metric": "seconds_per_row", "value": lin["ratio"],
                    "limit": LINEAR_LIMIT, "met": lin["ratio"] <= LINEAR_LIMIT,
                    "verdict": _verdict(lin["ratio"], LINEAR_LIMIT)})
    return out


def linearity(results: dict[str, Any]) -> dict[str, Any]:
    """Seconds per row at the largest size ÷ at the smallest ≥ 50k size, per stage."""
    out: dict[str, Any] = {}
    sizes = sorted(results["sizes"].items(), key=lambda kv: kv[1]["rows"])
    for name in STAGES:
        have = [(label, s["rows"], s["stages"][name]) for label, s in sizes
                if _ok(s["stages"].get(name))]
        big = [h for h in have if h[1] >= LINEAR_FROM]
        if len(have) < 2 or len(big) < 2:
            continue
        (lo_label, lo_rows, lo), (hi_label, hi_rows, hi) = big[0], have[-1]
        ratio = (hi["min"] / hi_rows) / (lo["min"] / lo_rows)
        out[name] = {"from": lo_label, "to": hi_label,
                     "seconds_per_row_from": lo["min"] / lo_rows,
                     "seconds_per_row_to": hi["min"] / hi_rows, "ratio": round(ratio, 3)}
    return out


PROFILE_UNDER = 30.0  # seconds: slower runs are profiled at a smaller size that missed too


def missed_stages(goals: list[dict[str, Any]], results: dict[str, Any]) -> dict[str, str]:
    """Stage → where to profile it: the largest size where one of its goals was missed and
    a run takes under PROFILE_UNDER seconds (cProfile slows pure-Python work several
    times), else the smallest size where it missed."""
    rows = {label: s["rows"] for label, s in results["sizes"].items()}
    missed: dict[str, set[str]] = {}
    for g in goals:
        if not g["met"]:
            missed.setdefault(g["stage"], set()).add(g["size"].split("→")[-1])
    out: dict[str, str] = {}
    for stage, labels in missed.items():
        def seconds(label: str, stage: str = stage) -> float:
            st = results["sizes"][label]["stages"].get(stage) or {}
            return st.get("min") or 0.0
        quick = [label for label in labels if seconds(label) < PROFILE_UNDER]
        out[stage] = (max(quick, key=rows.__getitem__) if quick
                      else min(labels, key=rows.__getitem__))
    return out


# -- Markdown ----------------------------------------------------------------------------


def _f(x: float | None, digits: int = 3) -> str:
    if x is None:
        return "—"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if 0 < abs(x) < 0.01 and digits >= 3:
        return f"{x:.4f}"
    return f"{x:.{digits}f}"


def _x(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}×"


def render(results: dict[str, Any]) -> str:
    """The readable report (``latest.md``)."""
    m, v, g = results["machine"], results["versions"], results.get("git", {})
    lines = [
        "# xlsales benchmarks", "",
        f"Run {results['started']} – {results.get('finished', '…')}: "
        f"`{results['command']}`", "",
        f"- **Machine**: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), "
        f"{m['ram_gb']} GiB RAM, {m['os']}, {m['python']}; load average at start "
        f"{m.get('load_average_at_start')}, at the end {results.get('load_average_at_end')}",
        "- **Versions**: " + ", ".join(f"{k} {val or 'missing'}" for k, val in v.items()),
        f"- **Code**: xlsales from {g.get('xlsales_path')}"
        + (f" (commit {g['commit']}" + (", with uncommitted changes under xlsales/)"
                                        if g.get("xlsales_modified") else ")")
           if g.get("commit") else ""),
        f"- **Settings**: runs {results['settings']['runs']} (slow baselines "
        f"{results['settings']['slow_runs']} at ≥100k rows), seed {results['settings']['seed']},"
        f" language {results['settings']['lang']}"
        + (", smoke" if results["settings"]["smoke"] else "")
        + (", checks on" if results["settings"]["check"] else ""),
        "",
        "Seconds are wall time: min and median of the runs, each run a fresh process. "
        "`× fastexcel` is min ÷ min of `fastexcel_read` at the same size; RSS is the "
        "process's peak (`ru_maxrss`). Library stages load imports and settings before the "
        "timer; CLI stages are whole `python -m xlsales` processes (≈0.5 s of start-up and "
        "imports included). See benchmarks/README.md.",
        "",
    ]
    goals = results.get("goals", [])
    if goals:
        lines += ["## Goals", "",
                  "Per size; a goal over several stages (peak RSS, linearity) shows its worst "
                  "stage and how many stages meet it (every stage is in latest.json).", "",
                  "| goal | size | stage | measured | limit | result |",
                  "|---|---|---|---:|---:|---|"]
        for rows in _grouped(goals):
            worst = max(rows, key=lambda i: i["value"] / i["limit"])
            size = worst["size"] + (f" ({worst['reps']} reps)" if worst.get("reps") else "")
            stage = worst["stage"]
            if len(rows) > 1:
                met = sum(1 for i in rows if i["met"])
                stage = f"worst: {stage} ({met} of {len(rows)} stages met)"
            lines.append(f"| {worst['text']} | {size} | {stage} | {worst['value']:.2f} "
                         f"| {worst['limit']:g} | {'✅' if worst['met'] else '❌'} "
                         f"{worst['verdict']} |")
        met = sum(1 for i in goals if i["met"])
        lines += ["", f"{met} of {len(goals)} goal checks (goal × stage × size) met.", ""]
    for label, size in results["sizes"].items():
        lines += _size_section(label, size)
    lin = results.get("linearity", {})
    if lin:
        lines += ["## Linearity", "", "| stage | s/row at | s/row | s/row at | s/row | ratio |",
                  "|---|---|---:|---|---:|---:|"]
        for name, item in lin.items():
            lines.append(f"| {name} | {item['from']} | {item['seconds_per_row_from']:.3g} | "
                         f"{item['to']} | {item['seconds_per_row_to']:.3g} | "
                         f"{item['ratio']:.2f} |")
        lines.append("")
    elif len(results["sizes"]) < 2:
        lines += ["## Linearity", "",
                  f"Not measured: needs two sizes of at least {LINEAR_FROM // 1000}k rows.", ""]
    profiles = results.get("profiles", {})
    if profiles:
        lines += ["## Profiles of stages that missed a goal", "",
                  "One profiled run each (cProfile, the 10 largest cumulative times).", ""]
        for name, prof in profiles.items():
            lines += [f"### {name} at {prof['size']} ({prof.get('seconds', 0):.2f} s profiled)",
                      ""]
            if prof.get("error"):
                lines += [f"Profiling failed: {prof['error']}", ""]
                continue
            lines += ["| cumulative s | own s | calls | function |", "|---:|---:|---:|---|"]
            for row in prof["top"]:
                lines.append(f"| {row['cumtime']:.3f} | {row['tottime']:.3f} | {row['calls']} "
                             f"| `{row['function']}` |")
            lines.append("")
    lines += ["## Stages", ""]
    for s in STAGES.values():
        lines.append(f"- `{s.name}` ({s.group}): {s.description}")
    lines.append("")
    return "\n".join(lines)


def _grouped(goals: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Goal items grouped by (goal, size), in order of first appearance."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for item in goals:
        groups.setdefault((item["goal"], item["size"]), []).append(item)
    return list(groups.values())


def _timings(t: dict[str, Any]) -> str:
    write = t.get("write", {})
    return (f"simulate {_f(t.get('simulate'), 1)} s, workbooks "
            f"{_f(sum(write.values()), 1)} s (daily_report.xlsx "
            f"{_f(write.get('daily_report.xlsx'), 1)} s, customers.xlsx "
            f"{_f(write.get('customers.xlsx'), 1)} s), month workbook "
            f"{_f(t.get('month_workbook'), 1)} s, truth {_f(t.get('truth'), 1)} s")


def _size_section(label: str, size: dict[str, Any]) -> list[str]:
    gen = size.get("generation", {})
    made = (f"generated in {_f(gen.get('total'), 1)} s" if gen.get("generated")
            else "from the cache")
    lines = [f"## {label}: {size['rows']:,} daily rows, {size['reps']} reps", "",
             f"Workspace {size['workspace']} ({made}; generation took "
             f"{_timings(gen.get('timings', {}))}). Review month {size['month']} "
             f"({size['month_rows']:,} rows), quarter {size['quarter']}, today {size['today']}.",
             "",
             "| stage | group | runs | min s | median s | × fastexcel | peak RSS MB | "
             "RSS × fastexcel | checks |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for name, st in size["stages"].items():
        runs = f"{st['runs']}" + (f"/{st['planned_runs']}" if st["runs"] != st["planned_runs"]
                                  else "")
        if st.get("slow_runs"):
            runs += " (slow: fewer runs)"
        checks = st.get("checks")
        check = ("—" if checks is None else
                 f"{sum(c['ok'] for c in checks)}/{len(checks)} ✅" if all(c["ok"] for c in checks)
                 else f"{sum(c['ok'] for c in checks)}/{len(checks)} ❌")
        status = "" if not st.get("failures") else f" ❌ {len(st['failures'])} failed"
        lines.append(f"| {name}{status} | {st['group']} | {runs} | {_f(st.get('min'))} | "
                     f"{_f(st.get('median'))} | {_x(st.get('ratio_to_fastexcel'))} | "
                     f"{_f(st.get('peak_rss_mb'), 0)} | {_x(st.get('rss_ratio_to_fastexcel'))} "
                     f"| {check} |")
    ratios = size.get("ratios", {})
    review = _x(ratios.get("review_figures_to_fastexcel_read_month"))
    annotate = _x(ratios.get("validate_annotate_to_openpyxl_load_save"))
    lines += ["", f"Other ratios: review_figures ÷ fastexcel_read_month {review}; "
              f"cli_validate_annotate ÷ openpyxl_load_save {annotate}.",
              ""]
    failed = [(n, c) for n, st in size["stages"].items() for c in st.get("checks") or []
              if not c["ok"]]
    errors = [(n, f) for n, st in size["stages"].items() for f in st.get("failures", [])]
    if failed:
        lines += ["Failed checks:", ""]
        lines += [f"- {n}: {c['check']} — {c['detail']}" for n, c in failed]
        lines.append("")
    if errors:
        lines += ["Failed runs:", ""]
        lines += [f"- {n}: {f.splitlines()[-1] if f else f}" for n, f in errors]
        lines.append("")
    return lines
