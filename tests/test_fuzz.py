"""Mutation fuzzing: damaged copies of a real daily report through ``validate``,
``validate --annotate`` and ``rollup``. Every mutant ends with exit 0, 1 or 2 — never a
traceback, never a hang.

The mutants are seeded (the same run every time): one XML part of the workbook gets a few
byte flips, cuts and insertions of what real files and attackers bring (a bad shared-string
index, row 0, ``-1E+300``, a control character, ``NaN``, a stray quote, a formula).
``XLSALES_FUZZ`` sets how many (default 300).
"""

from __future__ import annotations

import io
import os
import random
import shutil
import time
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xlsales.cli import app
from xlsales.sample import SAMPLE_TODAY, generate
from xlsales.workspace import write_workspace

MUTANTS = int(os.environ.get("XLSALES_FUZZ", "300"))
SEED = 20261201
INSERTS = (b'<c r="B2" t="s"><v>99999</v></c>', b'<row r="0">', b"-1E+300", b"\x01",
           b"<v>NaN</v>", b'"', b"</row>", b't="d"', b"<f>1/0</f>", b'<c r="XFD9"><v>1</v></c>',
           b"&bogus;", b"<?xml version='1.0' encoding='UTF-9'?>")
BYTES = b'<>/"=0123456789ABCXYZ &;-.eE\x00'


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


def test_mutants_end_in_exit_0_1_or_2(tmp_path: Path) -> None:
    sample = generate(2024)
    team = tmp_path / "team"
    write_workspace(team, sample.settings, sample.data, lang="en")
    original = (team / "daily_report.xlsx").read_bytes()
    rng = random.Random(SEED)
    runner = CliRunner()
    seen: dict[int, int] = {}
    for n in range(MUTANTS):
        mutant = mutate(original, rng)
        daily = team / "daily_report.xlsx"
        daily.write_bytes(mutant)
        for words in (["validate", str(daily), "--json", "--on", SAMPLE_TODAY.isoformat()],
                      ["validate", str(daily), "--annotate", "--out",
                       str(tmp_path / "annotated.xlsx"), "--json"],
                      ["rollup", str(team), "--week", "2024-W12", "--out",
                       str(tmp_path / "weekly.xlsx"), "--json"]):
            started = time.monotonic()
            result = runner.invoke(app, words)
            took = time.monotonic() - started
            if result.exit_code not in (0, 1, 2) or (
                    result.exception is not None
                    and not isinstance(result.exception, SystemExit)):
                kept = tmp_path.parent / f"mutant-{n}.xlsx"
                shutil.copyfile(daily, kept)
                pytest.fail(f"mutant {n} ({kept}) × {words[0]} {words[2]}: exit "
                            f"{result.exit_code}, {result.exception!r}")
            assert took < 20, f"mutant {n} × {words[0]}: {took:.1f} s"
            assert "Traceback" not in result.output
            seen[result.exit_code] = seen.get(result.exit_code, 0) + 1
    assert seen.get(2, 0) > 0 and seen.get(0, 0) + seen.get(1, 0) > 0  # both kinds happen
