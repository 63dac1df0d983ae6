"""``python -m benchmarks ab --base REV``: this xlsales against the one committed at REV,
run in turn on the same workspace, so both see the same machine.

On shared machines speed drifts by a third within minutes; two ``run`` reports made an
hour apart cannot show a change of a few per cent. Here every round runs each stage
once with each version (which goes first alternates) plus the bare fastexcel read, and
the report gives each version's min and median and the median of the rounds' ratios
(this ÷ base): the drift cancels out of the paired ratio.
"""

from __future__ import annotations

import io
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import generate
from benchmarks.layout import REPO_ROOT, size_label
from benchmarks.run import log, measure
from benchmarks.stages import ALWAYS, STAGES


@dataclass
class Options:
    base: str
    sizes: list[int]
    stages: list[str]
    rounds: int
    out: Path
    cache: Path
    seed: int
    lang: str
    timeout: float
    command: str


def export(rev: str, into: Path) -> Path:
    """The ``xlsales`` package as committed at ``rev``, written under ``into`` (compiled
    to bytecode, as ``run`` compiles the work tree's); the folder to put on the path."""
    tar = subprocess.run(["git", "-C", str(REPO_ROOT), "archive", "--format=tar", rev,
                          "xlsales"], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        if hasattr(tarfile, "data_filter"):  # (Python 3.11.4 on)
            t.extractall(into, filter="data")
        else:
            t.extractall(into)  # (git's own archive of this repository)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(into / "xlsales")],
                   check=False, capture_output=True)
    return into


def run(opts: Options) -> int:
    """Both versions, round after round; 1 when a run failed."""
    names = [s for s in opts.stages if s not in ALWAYS and STAGES[s].group != "baseline"]
    results: dict[str, Any] = {"command": opts.command, "base": opts.base,
                               "rounds": opts.rounds, "sizes": {}}
    failed = False
    with tempfile.TemporaryDirectory(prefix="xlsales-base-") as tmp:
        tree = export(opts.base, Path(tmp))
        for rows in opts.sizes:
            label = size_label(rows)
            ws = generate.ensure(rows, seed=opts.seed, lang=opts.lang, cache=opts.cache,
                                 log=log)
            runs: dict[str, dict[str, list[float]]] = {
                n: {"base": [], "new": []} for n in names}
            bare: list[float] = []
            for r in range(opts.rounds):
                rec = measure(STAGES["fastexcel_read"], ws, f"ab{r}", output=False,
                              profile=False, timeout=opts.timeout)
                if rec.get("seconds"):
                    bare.append(rec["seconds"])
                for name in names:
                    order = ("base", "new") if r % 2 == 0 else ("new", "base")
                    for which in order:
                        rec = measure(STAGES[name], ws, f"ab{r}-{which}", output=False,
                                      profile=False, timeout=opts.timeout,
                                      tree=tree if which == "base" else None)
                        if rec.get("error"):
                            failed = True
                            log(f"[{label}] {name} ({which}) ERROR {rec['error'].strip()}")
                            continue
                        runs[name][which].append(rec["seconds"])
                    got = runs[name]
                    log(f"[{label}] round {r + 1}/{opts.rounds} {name}: "
                        + " ".join(f"{w} {got[w][-1]:.3f}s" for w in ("base", "new")
                                   if got[w]))
            results["sizes"][label] = {"bare_read": bare,
                                       "stages": {n: summary(v) for n, v in runs.items()}}
    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.out / "ab.json").write_text(json.dumps(results, indent=1), "utf-8")
    (opts.out / "ab.md").write_text(render(results), "utf-8")
    log(f"wrote {opts.out / 'ab.md'} and {opts.out / 'ab.json'}")
    return 1 if failed else 0


def summary(runs: dict[str, list[float]]) -> dict[str, Any]:
    """Each version's seconds, min and median, and the rounds' ratios this ÷ base."""
    out: dict[str, Any] = {}
    for which in ("base", "new"):
        secs = runs[which]
        out[which] = {"seconds": [round(s, 4) for s in secs],
                      "min": round(min(secs), 4) if secs else None,
                      "median": round(statistics.median(secs), 4) if secs else None}
    ratios = [n / b for b, n in zip(runs["base"], runs["new"], strict=False) if b]
    out["ratios"] = [round(x, 4) for x in ratios]
    out["median_ratio"] = round(statistics.median(ratios), 4) if ratios else None
    out["faster_rounds"] = sum(x < 1 for x in ratios)
    return out


def render(results: dict[str, Any]) -> str:
    """The report as Markdown."""
    lines = ["# xlsales against its code at " + f"`{results['base']}`", "",
             f"`{results['command']}`: {results['rounds']} rounds; in each, every stage ran "
             "once with each version (alternating which went first). Ratio: this ÷ base, "
             "the median of the rounds' ratios.", ""]
    for label, size in results["sizes"].items():
        bare = size["bare_read"]
        lines += [f"## {label}", "",
                  "Bare fastexcel read over the rounds: "
                  + (f"{min(bare):.3f}–{max(bare):.3f} s" if bare else "—"), "",
                  "| stage | base min s | base median s | this min s | this median s "
                  "| ratio (median) | rounds faster |", "|---|---:|---:|---:|---:|---:|---:|"]
        for name, st in size["stages"].items():
            def cell(v: float | None) -> str:
                return "—" if v is None else f"{v:.3f}"
            lines.append(f"| {name} | {cell(st['base']['min'])} | {cell(st['base']['median'])}"
                         f" | {cell(st['new']['min'])} | {cell(st['new']['median'])} | "
                         f"{cell(st['median_ratio'])} | {st['faster_rounds']}/"
                         f"{len(st['ratios'])} |")
        lines.append("")
    return "\n".join(lines)
