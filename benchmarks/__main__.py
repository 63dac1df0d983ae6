"""``python -m benchmarks run|ab|generate``: see benchmarks/README.md."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from benchmarks.layout import DEFAULT_CACHE, DEFAULT_RESULTS, SMOKE_ROWS, parse_sizes, size_label


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sizes", default="10k",
                   help="daily-report rows, comma-separated: 10k,50k,100k,500k (any <n>k)")
    p.add_argument("--seed", type=int, default=1, help="random seed of the generator (1)")
    p.add_argument("--lang", choices=("zh", "en"), default="zh",
                   help="language of the workbooks (zh)")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                   help=f"where workspaces are kept (default {DEFAULT_CACHE})")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m benchmarks",
                                 description="xlsales benchmark suite")
    sub = ap.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="generate what is missing, time the stages, write "
                         "latest.md and latest.json")
    _common(run)
    run.add_argument("--runs", type=int, default=5, help="runs per stage and size (5)")
    run.add_argument("--slow-runs", type=int, default=2,
                     help="runs of the slow openpyxl baselines at ≥100k rows (2)")
    run.add_argument("--out", type=Path, default=None,
                     help=f"results folder (default {DEFAULT_RESULTS}; "
                     f"{DEFAULT_RESULTS / 'smoke'} with --smoke)")
    run.add_argument("--stages", default="all",
                     help="stages or groups, comma-separated: baselines, library, cli, "
                     "xlsales, all, or stage names (fastexcel_read is always added)")
    run.add_argument("--smoke", action="store_true",
                     help=f"{SMOKE_ROWS} rows, one run, all stages, correctness checks on")
    run.add_argument("--check", action="store_true",
                     help="check every stage's output against the ground truth (first run)")
    run.add_argument("--no-profile", dest="profile", action="store_false", default=None,
                     help="do not profile the stages that miss a goal (default: profile, "
                     "except with --smoke)")
    run.add_argument("--timeout", type=float, default=3600.0,
                     help="seconds before one process is killed (3600)")
    ab = sub.add_parser("ab", help="this xlsales against its code at a commit, run in "
                        "turn on the same workspace; writes ab.md and ab.json")
    _common(ab)
    ab.add_argument("--base", required=True, help="the commit (or branch, tag) to compare with")
    ab.add_argument("--stages", default="rollup_write,cli_rollup",
                    help="stage names, comma-separated (rollup_write,cli_rollup)")
    ab.add_argument("--rounds", type=int, default=5, help="rounds (5)")
    ab.add_argument("--out", type=Path, default=DEFAULT_RESULTS / "ab",
                    help=f"results folder (default {DEFAULT_RESULTS / 'ab'})")
    ab.add_argument("--timeout", type=float, default=3600.0,
                    help="seconds before one process is killed (3600)")
    gen = sub.add_parser("generate", help="only build the workspaces")
    _common(gen)
    gen.add_argument("--smoke", action="store_true", help=f"the {SMOKE_ROWS}-row workspace")
    gen.add_argument("--force", action="store_true", help="rebuild even when cached")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    sizes = [SMOKE_ROWS] if getattr(args, "smoke", False) else parse_sizes(args.sizes)
    if args.command == "generate":
        from benchmarks import generate

        for rows in sizes:
            t0 = time.perf_counter()
            ws = generate.ensure(rows, seed=args.seed, lang=args.lang, cache=args.cache,
                                 force=args.force)
            print(f"{size_label(rows)}: {ws.dir} ({ws.reps} reps; "
                  f"{time.perf_counter() - t0:.1f}s, timings {ws.manifest['timings']})")
        return 0
    if args.command == "ab":
        from benchmarks import ab, stages

        return ab.run(ab.Options(
            base=args.base, sizes=sizes, stages=stages.select(args.stages),
            rounds=max(1, args.rounds), out=args.out, cache=args.cache, seed=args.seed,
            lang=args.lang, timeout=args.timeout,
            command="python -m benchmarks " + shlex.join(argv if argv is not None
                                                         else sys.argv[1:])))
    from benchmarks import run, stages

    opts = run.Options(
        sizes=sizes, stages=stages.select("all" if args.smoke else args.stages),
        runs=1 if args.smoke else max(1, args.runs), slow_runs=max(1, args.slow_runs),
        out=args.out or (DEFAULT_RESULTS / "smoke" if args.smoke else DEFAULT_RESULTS),
        cache=args.cache, seed=args.seed, lang=args.lang, check=args.smoke or args.check,
        profile=(not args.smoke) if args.profile is None else args.profile,
        smoke=args.smoke, timeout=args.timeout,
        command="python -m benchmarks " + shlex.join(argv if argv is not None
                                                     else sys.argv[1:]))
    return run.run(opts)


if __name__ == "__main__":
    sys.exit(main())
