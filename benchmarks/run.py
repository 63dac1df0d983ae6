"""Run the suite: generate (or reuse) workspaces, time every stage in fresh processes,
check outputs against the ground truth, evaluate the goals, write latest.json/latest.md."""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import generate, machine, report
from benchmarks.checks import Truth, run_check
from benchmarks.child import top_cumulative
from benchmarks.layout import REPO_ROOT, BenchWorkspace, size_label
from benchmarks.stages import STAGES, Stage

SLOW_FROM = 100_000  # slow baselines get fewer runs from this size on


def log(msg: str) -> None:
    """A progress line on stderr."""
    print(msg, file=sys.stderr, flush=True)


@dataclass
class Options:
    """What ``python -m benchmarks run`` was asked."""

    sizes: list[int]
    stages: list[str]
    runs: int = 5
    slow_runs: int = 2
    out: Path = Path("benchmarks/results")
    cache: Path = Path("benchmarks/.cache")
    seed: int = 1
    lang: str = "zh"
    check: bool = False
    profile: bool = True
    smoke: bool = False
    timeout: float = 3600.0
    command: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# -- one measurement -----------------------------------------------------------------------

LAUNCHER = Path(__file__).resolve().with_name("launch.py")


@functools.cache
def _compiled() -> None:
    """xlsales compiled to bytecode once (its ``__pycache__`` folders, ignored by git):
    every measured process imports it as an installed package is imported (pip compiles
    a wheel's modules when it installs it), not compiled from source anew — which a
    machine that sets PYTHONDONTWRITEBYTECODE would otherwise charge every process, the
    more the larger the code it imports."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO_ROOT / "xlsales")],
                   check=False, capture_output=True)


def _spawn(cmd: list[str], cwd: Path, stdout: Path, stderr: Path,
           timeout: float, ledger: bool = False,
           tree: Path | None = None) -> tuple[int, float, float, bool]:
    """Run ``cmd`` through the launcher; (exit code, seconds, peak RSS MB, timed out).
    The team ledger records nothing unless ``ledger`` (the stage gives its own); xlsales
    is imported from its bytecode (:func:`_compiled`), or from ``tree`` (a folder holding
    another copy of the ``xlsales`` package, compiled by the caller) when given."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(  # the caller's path wins
        p for p in (str(tree or ""), os.environ.get("PYTHONPATH", ""), str(REPO_ROOT)) if p)}
    _compiled()
    env.pop("XLSALES_LEDGER", None)
    if not ledger:
        env["XLSALES_LEDGER"] = "off"
    result = stdout.with_name(stdout.stem + "_launch.json")
    with open(stdout, "wb") as so, open(stderr, "wb") as se:
        subprocess.run([sys.executable, str(LAUNCHER), str(result), str(timeout), *cmd],
                       cwd=cwd, stdout=so, stderr=se, env=env, check=False)
    try:
        r = json.loads(result.read_text("utf-8"))
    except (OSError, ValueError):
        return -1, 0.0, 0.0, False
    return r["exit_code"], r["seconds"], r["peak_rss_mb"], r["timed_out"]


def _tail(path: Path, n: int = 12) -> str:
    try:
        return "\n".join(path.read_text("utf-8", errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def _json_object(path: Path) -> bool:
    """Whether the file holds one JSON object (checked at both ends: it can be large)."""
    try:
        with open(path, "rb") as f:
            head = f.read(1)
            f.seek(max(0, path.stat().st_size - 2))
            tail = f.read().strip()
    except OSError:
        return False
    return head == b"{" and tail.endswith(b"}")


def measure(stage: Stage, ws: BenchWorkspace, tag: str, *, output: bool, profile: bool,
            timeout: float, truth: Truth | None = None,
            tree: Path | None = None) -> dict[str, Any]:
    """One run of ``stage`` in a fresh process: seconds, peak RSS, checks, profile
    (``tree``: the folder of another copy of xlsales to import, see :func:`_spawn`)."""
    scratch = ws.scratch / f"{stage.name}-{tag}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    rec: dict[str, Any] = {}
    try:
        out_path, err_path = scratch / "_stdout.txt", scratch / "_stderr.txt"
        result_path, output_path = scratch / "_result.json", scratch / "_output.json"
        prof_path = scratch / "_profile.prof"
        if stage.cli is not None:
            args = stage.cli(ws, scratch)
            head = ([sys.executable, "-m", "cProfile", "-o", str(prof_path)] if profile
                    else [sys.executable])
            code, seconds, rss, timed_out = _spawn([*head, "-m", "xlsales", *args], scratch,
                                                   out_path, err_path, timeout,
                                                   ledger=stage.ledger, tree=tree)
            rec = {"seconds": seconds, "peak_rss_mb": round(rss, 1), "exit_code": code}
            if timed_out:
                rec["error"] = f"timed out after {timeout:g}s"
            elif code not in stage.ok_codes:
                rec["error"] = f"exit code {code}: {_tail(err_path) or _tail(out_path)}"
            if "error" not in rec and not _json_object(out_path):
                rec["error"] = (f"exit code {code} without a JSON object on stdout: "
                                f"{_tail(err_path) or _tail(out_path)}")
            payload = None
            if "error" not in rec and output:
                payload = json.loads(out_path.read_text("utf-8").strip().splitlines()[-1])
            if profile and "error" not in rec and prof_path.exists():
                rec["profile"] = top_cumulative(pstats.Stats(str(prof_path)))
        else:
            cmd = [sys.executable, "-m", "benchmarks.child", "--stage", stage.name,
                   "--workspace", str(ws.dir), "--scratch", str(scratch),
                   "--result", str(result_path)]
            if output and stage.output is not None:
                cmd += ["--output", str(output_path)]
            if profile:
                cmd.append("--profile")
            code, wall, rss, timed_out = _spawn(cmd, scratch, out_path, err_path, timeout,
                                                tree=tree)
            child = (json.loads(result_path.read_text("utf-8")) if result_path.exists()
                     else {})
            rec = {"seconds": child.get("seconds"), "peak_rss_mb": child.get("peak_rss_mb"),
                   "ready_rss_mb": child.get("ready_rss_mb"), "process_seconds": wall,
                   "process_rss_mb": round(rss, 1), "exit_code": code}
            if "profile" in child:
                rec["profile"] = child["profile"]
            if timed_out:
                rec["error"] = f"timed out after {timeout:g}s"
            elif child.get("error") or code != 0 or child.get("seconds") is None:
                rec["error"] = child.get("error") or f"exit code {code}: {_tail(err_path)}"
            payload = None
            if "error" not in rec and output and output_path.exists():
                payload = json.loads(output_path.read_text("utf-8"))
        if truth is not None and stage.check and "error" not in rec:
            rec["checks"] = (run_check(stage.check, payload, truth) if payload is not None
                             else [{"check": "output", "ok": False, "detail": "no output"}])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return rec


# -- a size ------------------------------------------------------------------------------------

def planned_runs(stage: Stage, rows: int, opts: Options) -> int:
    """Runs of ``stage`` at ``rows``: slow baselines run fewer times on large sizes."""
    if stage.slow and rows >= SLOW_FROM:
        return max(1, min(opts.runs, opts.slow_runs))
    return opts.runs


def measure_size(ws: BenchWorkspace, opts: Options, generated: bool) -> dict[str, Any]:
    """Every selected stage ``runs`` times, interleaved (run 1 of all, run 2 of all, …)."""
    label = size_label(ws.rows)
    truth = Truth(ws) if opts.check else None
    plan = {name: planned_runs(STAGES[name], ws.rows, opts) for name in opts.stages}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in opts.stages}
    total = sum(plan.values())
    done = 0
    for i in range(max(plan.values(), default=0)):
        for name in opts.stages:
            if i >= plan[name]:
                continue
            stage = STAGES[name]
            rec = measure(stage, ws, f"run{i + 1}", output=truth is not None and i == 0,
                          profile=False, timeout=opts.timeout, truth=truth)
            runs[name].append(rec)
            done += 1
            checks = rec.get("checks")
            note = (" ERROR " + rec["error"].strip().splitlines()[-1] if rec.get("error")
                    else f" {rec['seconds']:.3f}s {rec['peak_rss_mb']:.0f}MB")
            if checks is not None:
                bad = [c for c in checks if not c["ok"]]
                note += (f" checks {len(checks) - len(bad)}/{len(checks)} ok" if not bad else
                         f" CHECKS FAILED: {'; '.join(c['check'] for c in bad)}")
            log(f"[{label}] {done}/{total} run {i + 1}/{plan[name]} {name}:{note}")
    stages: dict[str, Any] = {}
    for name in opts.stages:
        ok = [r for r in runs[name] if "error" not in r]
        secs = [r["seconds"] for r in ok]
        stage = STAGES[name]
        entry: dict[str, Any] = {
            "group": stage.group, "description": stage.description, "runs": len(ok),
            "planned_runs": plan[name], "slow_runs": plan[name] < opts.runs,
            "seconds": [round(s, 4) for s in secs],
            "min": round(min(secs), 4) if secs else None,
            "median": round(statistics.median(secs), 4) if secs else None,
            "peak_rss_mb": max((r["peak_rss_mb"] for r in ok), default=None),
            "failures": [r["error"] for r in runs[name] if "error" in r],
        }
        if any("ready_rss_mb" in r for r in ok):
            entry["ready_rss_mb"] = max(r.get("ready_rss_mb") or 0 for r in ok)
        checks = next((r["checks"] for r in runs[name] if "checks" in r), None)
        if checks is not None:
            entry["checks"] = checks
        elif truth is not None and stage.check:
            entry["checks"] = [{"check": "ran", "ok": False, "detail": "no successful run"}]
        stages[name] = entry
    m = ws.manifest
    return {"rows": ws.rows, "reps": ws.reps, "workspace": str(ws.dir), "seed": m["seed"],
            "lang": m["lang"], "today": m["today"], "month": m["month"],
            "quarter": m["quarter"], "month_rows": m["month_rows"], "counts": m["counts"],
            "slips": m["slips"],
            "generation": {"generated": generated, "total": m["timings"]["total"],
                           "timings": m["timings"]},
            "stages": stages}


# -- the whole run ------------------------------------------------------------------------------

def _write(results: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    results["linearity"] = report.linearity(results)
    for size in results["sizes"].values():
        report.add_ratios(size)
    results["goals"] = report.evaluate_goals(results)
    (out / "latest.json").write_text(json.dumps(results, ensure_ascii=False, indent=1,
                                                default=str), "utf-8")
    (out / "latest.md").write_text(report.render(results), "utf-8")


def _profile_misses(results: dict[str, Any], opts: Options,
                    workspaces: dict[str, BenchWorkspace]) -> None:
    """One profiled run of every xlsales stage that missed a goal, at its largest such size."""
    for name, label in report.missed_stages(results["goals"], results).items():
        stage = STAGES[name]
        if not stage.is_xlsales:
            continue
        log(f"[{label}] profiling {name} (missed a goal)")
        rec = measure(stage, workspaces[label], "profile", output=False, profile=True,
                      timeout=opts.timeout)
        results["profiles"][name] = {"size": label, "seconds": rec.get("seconds"),
                                     "top": rec.get("profile", []), "error": rec.get("error")}


def run(opts: Options) -> int:
    """Run the suite; 1 when a stage failed or a check did not pass, else 0."""
    results: dict[str, Any] = {
        "started": dt.datetime.now().isoformat(timespec="seconds"), "command": opts.command,
        "machine": machine.describe(), "versions": machine.versions(),
        "git": machine.git_state(),
        "settings": {"runs": opts.runs, "slow_runs": opts.slow_runs, "seed": opts.seed,
                     "lang": opts.lang, "smoke": opts.smoke, "check": opts.check,
                     "profile": opts.profile, "stages": opts.stages,
                     "sizes": [size_label(s) for s in opts.sizes], "timeout": opts.timeout},
        "sizes": {}, "profiles": {},
    }
    workspaces: dict[str, BenchWorkspace] = {}
    for rows in opts.sizes:
        label = size_label(rows)
        generated = not generate.is_cached(rows, seed=opts.seed, lang=opts.lang,
                                           cache=opts.cache)
        ws = generate.ensure(rows, seed=opts.seed, lang=opts.lang, cache=opts.cache, log=log)
        workspaces[label] = ws
        results["sizes"][label] = measure_size(ws, opts, generated)
        _write(results, opts.out)
    if opts.profile:
        _profile_misses(results, opts, workspaces)
    results["finished"] = dt.datetime.now().isoformat(timespec="seconds")
    results["load_average_at_end"] = machine.load_average()
    _write(results, opts.out)
    log(f"wrote {opts.out / 'latest.md'} and {opts.out / 'latest.json'}")
    failed = [(label, name) for label, size in results["sizes"].items()
              for name, st in size["stages"].items()
              if st["failures"] or not all(c["ok"] for c in st.get("checks") or [])]
    if failed:
        log("FAILED: " + ", ".join(f"{name} at {label}" for label, name in failed))
        return 1
    return 0
