"""Mutation fuzzing in the suite: seeded mutants of a daily report (``tests/fuzz.py``)
through ``validate``, ``validate --annotate`` and ``rollup`` end with exit 0, 1 or 2 —
never a traceback, never a hang, never a changed input. ``XLSALES_FUZZ`` sets how many
(default 300); ``python -m tests.fuzz --mutants 5000`` is the long run."""

from __future__ import annotations

import os
from pathlib import Path

from tests.fuzz import run

MUTANTS = int(os.environ.get("XLSALES_FUZZ", "300"))
SEED = 20261201


def test_mutants_end_in_exit_0_1_or_2(tmp_path: Path) -> None:
    figures = run(MUTANTS, SEED, tmp_path, stop_at_crash=True)
    assert figures["crashes"] == 0, figures["crash_files"]
    assert figures["hangs"] == 0 and figures["bytes_lost"] == 0, figures
    assert figures["runs"] == 3 * MUTANTS
    assert figures["refusals"] > 0 and figures["refusals"] < figures["runs"]
