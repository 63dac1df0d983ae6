"""The jobs behind the commands and buttons, one module per job: read the workspace
(each workbook once, :mod:`xlsales.jobs.sources`), compute with the domain modules,
write back. The CLI and the Excel buttons only parse arguments and show results."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xlsales.jobs.completion import run_completion, run_compliance
    from xlsales.jobs.followups import BUCKETS, FollowUpResult, run_followups
    from xlsales.jobs.meeting import (
        ActionItem,
        AgendaPack,
        AgendaResult,
        agenda_pack,
        read_actions,
        run_actions,
        run_agenda,
    )
    from xlsales.jobs.pipeline import (
        PIPELINE_FILE,
        run_alerts,
        run_duplicates,
        run_forecast,
        run_funnel,
        write_pipeline,
    )
    from xlsales.jobs.review import ReviewResult, run_review
    from xlsales.jobs.rollup import RollupResult, run_rollup, select_weeks
    from xlsales.jobs.sources import (
        WEEKLY_FILE,
        DailySource,
        Workspace,
        load_customers,
        load_daily,
        load_targets,
    )
    from xlsales.jobs.spotcheck import SpotCheckResult, run_spotcheck

# Each name and the module it comes from: a job's modules are imported when it is first
# asked for (``from xlsales.jobs import run_rollup`` imports the rollup's modules only,
# not every job's), which keeps a command's start-up to what it runs.
_MODULE_OF: dict[str, str] = {name: module for module, names in (
    ("completion", "run_completion run_compliance"),
    ("followups", "BUCKETS FollowUpResult run_followups"),
    ("meeting", "ActionItem AgendaPack AgendaResult agenda_pack read_actions run_actions "
                "run_agenda"),
    ("pipeline", "PIPELINE_FILE run_alerts run_duplicates run_forecast run_funnel "
                 "write_pipeline"),
    ("review", "ReviewResult run_review"),
    ("rollup", "RollupResult run_rollup select_weeks"),
    ("sources", "WEEKLY_FILE DailySource Workspace load_customers load_daily load_targets"),
    ("spotcheck", "SpotCheckResult run_spotcheck"),
) for name in names.split()}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_MODULE_OF})


__all__ = ["BUCKETS", "PIPELINE_FILE", "WEEKLY_FILE", "ActionItem", "AgendaPack",
           "AgendaResult", "DailySource", "FollowUpResult", "ReviewResult", "RollupResult",
           "SpotCheckResult", "Workspace", "agenda_pack", "load_customers", "load_daily",
           "load_targets", "read_actions", "run_actions", "run_agenda", "run_alerts",
           "run_completion", "run_compliance", "run_duplicates", "run_followups",
           "run_forecast", "run_funnel", "run_review", "run_rollup", "run_spotcheck",
           "select_weeks", "write_pipeline"]
