"""The main job on the built-in sample team: every capability, end to end."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xlsales.calendar import quarter_of, week_label
from xlsales.i18n import Lang
from xlsales.sample import SAMPLE_TODAY, generate
from xlsales.workspace import BOOKS, read_settings, read_table, write_workspace


@dataclass
class DemoResult:
    """What the demo read, wrote and found."""

    workspace: Path
    on: dt.date
    written: list[Path]
    rows: dict[str, int]
    validation: dict[str, dict[str, int]] = field(default_factory=dict)
    weeks: list[str] = field(default_factory=list)
    completion: dict[str, Any] = field(default_factory=dict)
    compliance: list[dict[str, Any]] = field(default_factory=list)
    spotcheck: dict[str, Any] = field(default_factory=dict)
    followups: dict[str, int] = field(default_factory=dict)
    alerts: int = 0
    duplicates: dict[str, int] = field(default_factory=dict)
    forecast: dict[str, Any] = field(default_factory=dict)
    pipeline: Path | None = None
    review: Path | None = None
    agenda: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "workspace": str(self.workspace), "on": self.on.isoformat(),
            "written": [str(p) for p in self.written], "rows": self.rows,
            "validation": self.validation, "weeks": self.weeks,
            "completion": self.completion, "compliance": self.compliance,
            "spotcheck": self.spotcheck, "followups": self.followups, "alerts": self.alerts,
            "duplicates": self.duplicates, "forecast": self.forecast,
            "pipeline": str(self.pipeline) if self.pipeline else None,
            "review": str(self.review) if self.review else None, "agenda": self.agenda,
        }


def run_demo(out: str | os.PathLike[str], *, lang: Lang = "zh", seed: int = 2024,
             on: dt.date = SAMPLE_TODAY,
             step: Callable[..., None] | None = None) -> DemoResult:
    """Write the sample workspace into ``out`` and run every capability on it;
    ``step(key, **fields)`` is told each step as it starts (the CLI's progress line)."""
    from xlsales.io.annotate import annotate
    from xlsales.jobs import (
        run_agenda,
        run_alerts,
        run_completion,
        run_compliance,
        run_duplicates,
        run_followups,
        run_forecast,
        run_review,
        run_rollup,
        run_spotcheck,
        write_pipeline,
    )
    from xlsales.validate import validate_file

    tell = step or (lambda _key, **_fields: None)
    tell("write")
    root = Path(out)
    sample = generate(seed, lang)
    written = write_workspace(root, sample.settings, sample.data, lang=lang)
    settings = read_settings(root)
    rows = {spec.key: len(read_table(root, spec.key, settings))
            for book in BOOKS if book.key != "settings" for spec in book.specs}
    result = DemoResult(root, on, written, rows)

    for path in written:  # validate every workbook; mark the findings in place
        tell("validate", name=path.name)
        checked = validate_file(path, settings=settings, today=on)
        result.validation[path.name] = {"errors": checked.errors, "warnings": checked.warnings}
        if checked.findings:
            annotate(path, checked.findings, lang=lang)

    tell("rollup")
    rollup = run_rollup(root, month=f"{on:%Y-%m}", today=on)
    result.weeks = rollup.sheets
    tell("completion")
    result.completion = run_completion(root, f"{on:%Y-%m}", by="rep", today=on).as_dict()
    tell("compliance")
    reps, _ = run_compliance(root, quarter_of(on), today=on, write=True)
    result.compliance = [r.as_dict() for r in reps]
    tell("spotcheck")
    result.spotcheck = run_spotcheck(root, on, mark=True).as_dict()
    tell("followups")
    result.followups = run_followups(root, today=on, write=True).as_dict()["counts"]
    tell("alerts")
    result.alerts = len(run_alerts(root, today=on))
    dups = run_duplicates(root)
    result.duplicates = {"groups": len(dups.groups),
                         "conflicts": sum(g.conflict for g in dups.groups)}
    month = f"{on:%Y-%m}"
    tell("forecast")
    team = run_forecast(root, month, by="team").rows
    result.forecast = team[0].as_dict() if team else {}
    result.pipeline = write_pipeline(root, month, today=on)
    result.written.append(result.pipeline)
    tell("review")
    result.review = run_review(root, month=month, today=on).written
    result.written.append(result.review)
    tell("agenda")
    result.agenda = run_agenda(root, week_label(on)).sheet
    return result
