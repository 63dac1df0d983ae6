"""Time one library or baseline stage in this fresh process (``python -m benchmarks.child``).

Imports and inputs are loaded first (:func:`benchmarks.stages.prepare`), then the stage
runs once under ``time.perf_counter``; the peak RSS is this process's
``ru_maxrss`` right after it, so it is the stage's own (plus the interpreter and its
imports, reported apart as ``ready_rss_mb``). The result is written as JSON.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import pstats
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any

PROFILE_TOP = 10


def maxrss_mb() -> float:
    """This process's peak resident set size so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


_WRAPPERS = ("/typer/", "/click/", "/runpy.py", "/cProfile.py", "/profile.py", "/benchmarks/")


def _label(file: str, line: int, func: str) -> str:
    """``xlsales/io/read/__init__.py(read_table)``: the path from the package on."""
    if not line:
        return func
    parts = Path(file).parts
    for anchor in ("xlsales", "site-packages", "lib"):
        if anchor in parts:
            i = len(parts) - 1 - parts[::-1].index(anchor)
            rel = parts[i + 1:] if anchor != "xlsales" else parts[i:]
            return f"{'/'.join(rel)}:{line}({func})"
    return f"{Path(file).name}:{line}({func})"


def _wrapper(file: str, func: str) -> bool:
    """Frames every run has on its stack: they would fill the top 10 with 100 % entries."""
    file = file.replace("\\", "/")
    if file.startswith("<") or (file == "~" and "builtins.exec" in func):
        return True
    if any(w in file for w in _WRAPPERS) or file.endswith("xlsales/__main__.py"):
        return True
    return file.endswith("xlsales/cli/__init__.py") and func == "main"


def top_cumulative(stats: pstats.Stats, n: int = PROFILE_TOP) -> list[dict[str, Any]]:
    """The ``n`` entries with the largest cumulative time, start-up wrappers left out
    (runpy, exec, typer/click dispatch, the benchmark's own adapters)."""
    rows = []
    for (file, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if _wrapper(file, func):
            continue
        rows.append({"function": _label(file, line, func), "calls": nc,
                     "tottime": round(tt, 4), "cumtime": round(ct, 4)})
    rows.sort(key=lambda r: -r["cumtime"])
    return rows[:n]


def main(argv: list[str] | None = None) -> int:
    from benchmarks import stages
    from benchmarks.layout import BenchWorkspace

    ap = argparse.ArgumentParser(prog="python -m benchmarks.child")
    ap.add_argument("--stage", required=True)
    ap.add_argument("--workspace", required=True, type=Path)
    ap.add_argument("--scratch", required=True, type=Path)
    ap.add_argument("--result", required=True, type=Path)
    ap.add_argument("--output", type=Path, help="write the stage's output here (for checks)")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args(argv)
    record: dict[str, Any] = {"stage": args.stage}
    try:
        ws = BenchWorkspace.load(args.workspace)
        record["start_rss_mb"] = round(maxrss_mb(), 1)
        prepared = stages.prepare(args.stage, ws, args.scratch)
        gc.collect()
        record["ready_rss_mb"] = round(maxrss_mb(), 1)
        profiler = cProfile.Profile() if args.profile else None
        t0 = time.perf_counter()
        result = profiler.runcall(prepared.run) if profiler else prepared.run()
        record["seconds"] = time.perf_counter() - t0
        record["peak_rss_mb"] = round(maxrss_mb(), 1)
        if profiler is not None:
            record["profile"] = top_cumulative(pstats.Stats(profiler))
        if args.output and prepared.stage.output is not None:
            payload = prepared.stage.output(result, ws)
            args.output.write_text(json.dumps(payload, ensure_ascii=False, default=str),
                                   "utf-8")
    except Exception:
        record["error"] = traceback.format_exc(limit=8)
    args.result.write_text(json.dumps(record, ensure_ascii=False), "utf-8")
    return 1 if "error" in record else 0


if __name__ == "__main__":
    sys.exit(main())
