"""Mutation fuzzing of xlsales: damaged copies of a real daily report through ``validate``,
``validate --annotate`` and ``rollup``.

``python -m tests.fuzz --mutants 5000 [--seed N]`` is the long run; it prints one JSON
object: mutants, runs, exit codes, refusals (exit 2), crashes (anything but 0/1/2, or an
exception), hangs (over 20 s) and bytes lost (an input changed by a command that only
reads it or writes elsewhere). ``tests/test_fuzz.py`` is the quick run in the suite.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

INSERTS = (b'<c r="B2" t="s"><v>99999</v></c>', b'<row r="0">', b"-1E+300", b"\x01",
           b"<v>NaN</v>", b'"', b"</row>", b't="d"', b"<f>1/0</f>", b'<c r="XFD9"><v>1</v></c>',
           b"&bogus;", b"<?xml version='1.0' encoding='UTF-9'?>", b"<v>1e308</v>",
           b'<!DOCTYPE x [<!ENTITY a "aaaaaaaa">]>', b"\xff\xfe", b'<c r="A1048576"><v>1</v>'
           b"</c>")
BYTES = b'<>/"=0123456789ABCXYZ &;-.eE\x00'
HANG = 20.0


def mutate(data: bytes, rng: random.Random) -> bytes:
    """``data`` (a workbook) with one of its XML parts damaged."""
    zin = zipfile.ZipFile(io.BytesIO(data))
    names = zin.namelist()
    target = rng.choice([n for n in names if n.endswith((".xml", ".rels"))])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name in names:
            part = zin.read(name)
            if name == target and part:
                b = bytearray(part)
                for _ in range(rng.randint(1, 8)):
                    op, i = rng.random(), rng.randrange(len(b))
                    if op < 0.4:
                        b[i] = rng.choice(BYTES)
                    elif op < 0.7:
                        del b[i:i + rng.randint(1, 40)]
                    else:
                        b[i:i] = rng.choice(INSERTS)
                part = bytes(b)
            z.writestr(name, part)
    return out.getvalue()


def workspace(root: Path) -> Path:
    """The sample team's workspace (English) in ``root``; its daily report is fuzzed."""
    from xlsales.sample import generate
    from xlsales.workspace import write_workspace

    sample = generate(2024)
    write_workspace(root, sample.settings, sample.data, lang="en")
    return root


def run(mutants: int, seed: int, root: Path, *, stop_at_crash: bool = False
        ) -> dict[str, Any]:
    """Fuzz ``mutants`` mutants; the figures, and the first crashes kept under ``root``."""
    from typer.testing import CliRunner

    from xlsales.cli import app
    from xlsales.sample import SAMPLE_TODAY

    team = workspace(root / "team")
    original = (team / "daily_report.xlsx").read_bytes()
    rng = random.Random(seed)
    runner = CliRunner()
    codes: Counter[str] = Counter()
    crashes: list[dict[str, Any]] = []
    hangs = lost = 0
    daily = team / "daily_report.xlsx"
    for n in range(mutants):
        mutant = mutate(original, rng)
        daily.write_bytes(mutant)
        for words in (["validate", str(daily), "--json", "--on", SAMPLE_TODAY.isoformat()],
                      ["validate", str(daily), "--annotate", "--out",
                       str(root / "annotated.xlsx"), "--json"],
                      ["rollup", str(team), "--week", "2024-W12", "--out",
                       str(root / "weekly.xlsx"), "--json"]):
            started = time.monotonic()
            result = runner.invoke(app, words)
            took = time.monotonic() - started
            crashed = result.exit_code not in (0, 1, 2) or (
                result.exception is not None and not isinstance(result.exception, SystemExit))
            codes[f"{words[0]}{' --annotate' if '--annotate' in words else ''}:"
                  f"{'crash' if crashed else result.exit_code}"] += 1
            hangs += took > HANG
            if daily.read_bytes() != mutant:
                lost += 1
                daily.write_bytes(mutant)
            if crashed:
                kept = root / f"crash-{n}.xlsx"
                kept.write_bytes(mutant)
                crashes.append({"mutant": n, "command": words[0], "file": str(kept),
                                "error": repr(result.exception)})
                if stop_at_crash:
                    break
        if crashes and stop_at_crash:
            break
    runs = sum(codes.values())
    return {"mutants": mutants, "seed": seed, "runs": runs, "codes": dict(sorted(codes.items())),
            "refusals": sum(v for k, v in codes.items() if k.endswith(":2")),
            "crashes": len(crashes), "hangs": hangs, "bytes_lost": lost,
            "crash_files": crashes[:20]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--keep", type=Path, help="keep the crashing mutants here")
    args = parser.parse_args(argv)
    root = args.keep or Path(tempfile.mkdtemp(prefix="xlsales-fuzz-"))
    root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    figures = run(args.mutants, args.seed, root)
    figures["seconds"] = round(time.monotonic() - started)
    print(json.dumps(figures, ensure_ascii=False, indent=1))
    return 1 if figures["crashes"] or figures["hangs"] or figures["bytes_lost"] else 0


if __name__ == "__main__":
    sys.exit(main())
