"""The main job on the built-in sample team: write a filled workspace and read it back."""

from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xlsales import figures
from xlsales.i18n import Lang
from xlsales.sample import SAMPLE_TODAY, generate
from xlsales.settings import Settings
from xlsales.tables import get
from xlsales.workspace import BOOKS, read_settings, read_table, write_workspace


@dataclass
class DemoResult:
    """What the demo read, wrote and found."""

    workspace: Path
    on: dt.date
    written: list[Path]
    rows: dict[str, int]
    target_margins: dict[str, float | None] = field(default_factory=dict)
    split_mismatches: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "workspace": str(self.workspace), "on": self.on.isoformat(),
            "written": [str(p) for p in self.written], "rows": self.rows,
            "target_margins": self.target_margins, "split_mismatches": self.split_mismatches,
        }


def run_demo(out: str | os.PathLike[str], *, lang: Lang = "zh", seed: int = 2024,
             on: dt.date = SAMPLE_TODAY) -> DemoResult:
    """Write the sample workspace into ``out`` and run every capability on it."""
    sample = generate(seed)
    written = write_workspace(out, sample.settings, sample.data, lang=lang)
    settings = read_settings(out)
    rows = {spec.key: len(read_table(out, spec.key, settings))
            for book in BOOKS if book.key != "settings" for spec in book.specs}
    result = DemoResult(Path(out), on, written, rows)
    _target_checks(out, settings, result)
    return result


def _target_checks(out: str | os.PathLike[str], settings: Settings, result: DemoResult) -> None:
    targets = [get("targets").model(**r) for r in read_table(out, "targets", settings)]
    teams = read_table(out, "team_targets", settings)
    by_quarter: dict[str, list[float]] = defaultdict(list)
    for t in targets:
        by_quarter[t.quarter].append(t.quarterly_target)
        gap = figures.split_gap(t.quarterly_target, t.months())
        if gap is not None and abs(gap) > 0.005:
            result.split_mismatches.append({"owner": t.owner, "quarter": t.quarter, "gap": gap})
    for team in teams:
        q = str(team["quarter"])
        result.target_margins[q] = figures.target_margin(by_quarter[q], team["team_target"])
