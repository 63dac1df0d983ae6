"""Every xlsales call of the benchmarks, and the stages they time.

The xlsales core (reader, validation, jobs) is being refactored: all calls into it live
here, in small adapters, so that one file follows the API. Nothing heavy is imported at
module level; a stage imports its libraries in its ``setup``, before the timer starts.

A stage is one of

* ``baseline`` — a bare library doing the least comparable work (zip, expat, fastexcel,
  pandas, openpyxl), the denominators of the ratios;
* ``library`` — an xlsales function called in a fresh Python process, imports and the
  workspace settings loaded before the timer;
* ``cli`` — ``python -m xlsales … --json`` timed as a whole process.

Each library stage returns its result in the JSON shape the matching CLI command prints
(``result.as_dict()``), so one set of checks (:mod:`benchmarks.checks`) reads both.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.layout import BenchWorkspace

Timed = Callable[[], Any]

# -- adapters the generator uses ---------------------------------------------------------


def xlsales_version() -> str:
    """The installed xlsales version."""
    import xlsales

    return str(getattr(xlsales, "__version__", "?"))


def working_days(first: dt.date, last: dt.date) -> list[dt.date]:
    """Chinese working days (statutory holidays and 调休) from ``first`` to ``last``."""
    from xlsales.calendar import WorkCalendar

    return list(WorkCalendar().days(first, last))


def make_settings(team_name: str, regions: Sequence[tuple[str, str]],
                  product_lines: Sequence[tuple[str, str]],
                  roster: Sequence[dict[str, Any]]) -> Any:
    """Default settings with the team's name, roster, regions and product lines."""
    from xlsales.settings import ListItem, RosterEntry, Settings

    s = Settings.default()
    s.general.team_name = team_name
    s.lists = [
        *(ListItem(list="regions", zh=zh, en=en, order=i) for i, (zh, en) in enumerate(regions)),
        *(ListItem(list="product_lines", zh=zh, en=en, order=i)
          for i, (zh, en) in enumerate(product_lines)),
        *s.lists,
    ]
    s.roster = [RosterEntry(**r) for r in roster]
    return s


def settings_facts(settings: Any) -> dict[str, Any]:
    """What the checks need of the settings: stages, tiers, deadline, list values."""
    return {
        "stages": [{"zh": s.zh, "en": s.en, "order": s.order, "kind": s.kind,
                    "probability": s.probability} for s in settings.stages],
        "tiers": {t.tier: t.interval_days for t in settings.tiers},
        "report_deadline": settings.general.report_deadline.strftime("%H:%M"),
        "lists": {name: [i.canonical for i in settings.items(name)]
                  for name in ("industries", "lead_sources", "contact_kinds", "follow_up_kinds",
                               "customer_stages", "priorities", "assessment")},
    }


def write_workspace(root: Path, settings: Any, data: dict[str, list[dict[str, Any]]], *,
                    lang: str, books: Sequence[str] | None = None) -> dict[str, float]:
    """Write the workspace's workbooks (all, or ``books``); seconds per workbook."""
    import time

    from xlsales.workspace import BOOKS
    from xlsales.workspace import write_workspace as _write

    seconds: dict[str, float] = {}
    for book in BOOKS:
        if books is not None and book.key not in books:
            continue
        t0 = time.perf_counter()
        _write(root, settings, data, lang=lang, books=[book.key])  # type: ignore[arg-type]
        seconds[book.filename] = round(time.perf_counter() - t0, 3)
    return seconds


def daily_layout(lang: str) -> dict[str, Any]:
    """Sheet name, 0-based header row and column keys (in order) of the written daily table."""
    from xlsales import tables
    from xlsales.io.xlsx_writer import HEADER_ROW

    spec = tables.get("daily")
    return {"sheet": spec.sheet(lang), "header_row": HEADER_ROW,  # type: ignore[arg-type]
            "columns": [c.key for c in spec.columns]}


def column_letter(index: int) -> str:
    """Excel column letters of a 0-based column index."""
    from xlsales.cells import col_letters

    return col_letters(index)


# -- the stages ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    """One timed thing."""

    name: str
    group: str  # baseline | library | cli
    description: str
    setup: Callable[[BenchWorkspace, Path], Timed] | None = None
    output: Callable[[Any, BenchWorkspace], dict[str, Any]] | None = None
    cli: Callable[[BenchWorkspace, Path], list[str]] | None = None
    ok_codes: tuple[int, ...] = (0,)
    check: str | None = None
    slow: bool = False  # fewer runs at ≥100k rows
    needs: tuple[str, ...] = ()  # other stages its ratios need
    ledger: bool = False  # a CLI stage that records into the team ledger (others: off)

    @property
    def is_xlsales(self) -> bool:
        return self.group != "baseline"


def _jsonable(payload: Any) -> dict[str, Any]:
    """The JSON a CLI command would print for ``payload``."""
    return json.loads(json.dumps(payload, ensure_ascii=False, default=str))


# baselines ---------------------------------------------------------------------------------

def sheet_member(path: Path, sheet: str) -> str:
    """The zip member holding ``sheet``'s XML (from workbook.xml and its relationships)."""
    with zipfile.ZipFile(path) as zf:
        book = zf.read("xl/workbook.xml").decode("utf-8")
        rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    rid = None
    for m in re.finditer(r"<sheet\b[^>]*>", book):
        tag = m.group(0)
        name = re.search(r'\bname="([^"]*)"', tag)
        if name and _xml_unescape(name.group(1)) == sheet:
            found = re.search(r'\br:id="([^"]*)"', tag)
            rid = found.group(1) if found else None
    if rid is None:
        raise KeyError(f"{path} has no sheet {sheet!r}")
    for m in re.finditer(r"<Relationship\b[^>]*>", rels):
        tag = m.group(0)
        if re.search(rf'\bId="{re.escape(rid)}"', tag):
            target = re.search(r'\bTarget="([^"]*)"', tag)
            if target:
                t = target.group(1)
                return t.lstrip("/") if t.startswith("/") else "xl/" + t
    raise KeyError(f"{path}: no relationship {rid}")


def _xml_unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))


def _unzip(ws: BenchWorkspace, scratch: Path) -> Timed:
    member = sheet_member(ws.daily, ws.sheet)

    def run() -> int:
        with zipfile.ZipFile(ws.daily) as zf:
            return len(zf.read(member))
    return run


def _expat(ws: BenchWorkspace, scratch: Path) -> Timed:
    import xml.parsers.expat

    member = sheet_member(ws.daily, ws.sheet)

    def run() -> int:
        with zipfile.ZipFile(ws.daily) as zf, zf.open(member) as f:
            parser = xml.parsers.expat.ParserCreate()
            parser.ParseFile(f)
            return parser.CurrentLineNumber
    return run


def _fastexcel(which: str) -> Callable[[BenchWorkspace, Path], Timed]:
    def setup(ws: BenchWorkspace, scratch: Path) -> Timed:
        import fastexcel
        import pandas  # noqa: F401  (imported before the timer: to_pandas needs it)
        import pyarrow  # noqa: F401

        path = ws.daily if which == "daily" else ws.month_daily
        return lambda: fastexcel.read_excel(str(path)).load_sheet(
            ws.sheet, header_row=ws.header_row).to_pandas()
    return setup


def _pandas_read(engine: str) -> Callable[[BenchWorkspace, Path], Timed]:
    def setup(ws: BenchWorkspace, scratch: Path) -> Timed:
        import pandas as pd

        if engine == "calamine":
            import python_calamine  # noqa: F401
        else:
            import openpyxl  # noqa: F401
        return lambda: pd.read_excel(ws.daily, sheet_name=ws.sheet, engine=engine,
                                     header=ws.header_row)
    return setup


def _openpyxl_load_save(ws: BenchWorkspace, scratch: Path) -> Timed:
    import openpyxl

    target = scratch / "openpyxl_copy.xlsx"

    def run() -> Path:
        wb = openpyxl.load_workbook(ws.daily)
        wb.save(target)
        return target
    return run


def _frame_rows(df: Any, ws: BenchWorkspace) -> dict[str, Any]:
    return {"rows": len(df)}


# library stages -------------------------------------------------------------------------

def _settings(ws: BenchWorkspace) -> Any:
    from xlsales.workspace import read_settings

    return read_settings(ws.root)


def _spec(key: str) -> Any:
    from xlsales import tables

    return tables.get(key)


def _read_daily(ws: BenchWorkspace, scratch: Path) -> Timed:
    from xlsales.io.read import read_table

    settings = _settings(ws)
    spec = _spec("daily")
    return lambda: read_table(ws.daily, spec, settings)


def _read_output(table: Any, ws: BenchWorkspace) -> dict[str, Any]:
    """Every row as [excel row, date, rep, visits, effective, amount] plus the findings."""
    rows = []
    for r in table.records(with_row=True):
        day = r.get("date")
        rows.append([r["_row"], day.isoformat() if isinstance(day, dt.date) else None,
                     r.get("rep"), r.get("visits"), r.get("effective"), r.get("amount_signed")])
    return {"rows": rows, "findings": [f.model_dump(mode="json") for f in table.findings]}


def _validate(book: str) -> Callable[[BenchWorkspace, Path], Timed]:
    def setup(ws: BenchWorkspace, scratch: Path) -> Timed:
        from xlsales.validate import validate_file

        settings = _settings(ws)
        path = ws.root / book
        return lambda: validate_file(path, settings=settings, today=ws.today)
    return setup


def _as_dict(result: Any, ws: BenchWorkspace) -> dict[str, Any]:
    return _jsonable(result.as_dict())


def _rollup(ws: BenchWorkspace, scratch: Path) -> Timed:
    from xlsales.jobs import run_rollup

    return lambda: run_rollup(ws.root, all_weeks=True, today=ws.today, write=False)


def _rollup_write(ws: BenchWorkspace, scratch: Path) -> Timed:
    """The whole rollup job writing every week's sheet, into a fresh copy per run."""
    from xlsales.jobs import run_rollup

    out = scratch / "weekly_library_copy.xlsx"

    def run() -> Any:
        out.unlink(missing_ok=True)
        return run_rollup(ws.root, all_weeks=True, today=ws.today, out=out)
    return run


def _completion(ws: BenchWorkspace, scratch: Path) -> Timed:
    from xlsales.jobs import run_completion

    return lambda: run_completion(ws.root, ws.month, by="rep", today=ws.today)


def _compliance(ws: BenchWorkspace, scratch: Path) -> Timed:
    from xlsales.jobs import run_compliance

    return lambda: run_compliance(ws.root, ws.quarter, today=ws.today)


def _compliance_output(result: Any, ws: BenchWorkspace) -> dict[str, Any]:
    reps, written = result
    return _jsonable({"period": ws.quarter, "reps": [r.as_dict() for r in reps],
                      "written": str(written) if written else None})


def _followups(ws: BenchWorkspace, scratch: Path) -> Timed:
    from xlsales.jobs import run_followups

    return lambda: run_followups(ws.root, today=ws.today)


def _forecast(ws: BenchWorkspace, scratch: Path) -> Timed:
    from xlsales.jobs import run_forecast

    return lambda: run_forecast(ws.root, ws.month, by="rep")


def _funnel(ws: BenchWorkspace, scratch: Path) -> Timed:
    from xlsales.jobs import run_funnel

    return lambda: run_funnel(ws.root, ws.quarter, today=ws.today)


def _review(ws: BenchWorkspace, scratch: Path) -> Timed:
    from xlsales.jobs import run_review

    out = scratch / f"review_{ws.month}.xlsx"
    return lambda: run_review(ws.root, month=ws.month, today=ws.today, out=out)


def _review_figures(ws: BenchWorkspace, scratch: Path) -> Timed:
    """The review's figures alone: the workspace is read before the timer starts."""
    from xlsales.calendar import parse_period
    from xlsales.jobs.review import review_data
    from xlsales.review import build_review

    data, lang = review_data(ws.root)
    first, last, _ = parse_period(ws.month)
    return lambda: build_review(data, first, last, ws.month, lang=lang, today=ws.today)


# CLI stages -----------------------------------------------------------------------------------

def _on(ws: BenchWorkspace) -> list[str]:
    return ["--on", ws.today.isoformat(), "--json"]


def _cli_validate(book: str) -> Callable[[BenchWorkspace, Path], list[str]]:
    return lambda ws, scratch: ["validate", str(ws.root / book), *_on(ws)]


CLI_ARGS: dict[str, Callable[[BenchWorkspace, Path], list[str]]] = {
    "validate_daily": _cli_validate("daily_report.xlsx"),
    "validate_customers": _cli_validate("customers.xlsx"),
    "validate_targets": _cli_validate("targets.xlsx"),
    "rollup": lambda ws, scratch: ["rollup", str(ws.root), "--all", "--out",
                                   str(scratch / "weekly_copy.xlsx"), *_on(ws)],
    "completion": lambda ws, scratch: ["completion", "--period", ws.month, "-w", str(ws.root),
                                       "--by", "rep", *_on(ws)],
    "compliance": lambda ws, scratch: ["compliance", "--period", ws.quarter, "-w",
                                       str(ws.root), *_on(ws)],
    "followups": lambda ws, scratch: ["followups", "-w", str(ws.root), *_on(ws)],
    "forecast": lambda ws, scratch: ["forecast", "--period", ws.month, "-w", str(ws.root),
                                     "--by", "rep", *_on(ws)],
    "funnel": lambda ws, scratch: ["funnel", "--period", ws.quarter, "-w", str(ws.root),
                                   *_on(ws)],
    "review": lambda ws, scratch: ["review", "-w", str(ws.root), "--month", ws.month, "--out",
                                   str(scratch / f"review_{ws.month}.xlsx"), *_on(ws)],
    "validate_annotate": lambda ws, scratch: ["validate", str(ws.daily), "--annotate", "--out",
                                              str(scratch / "annotated_copy.xlsx"), *_on(ws)],
}

_VALIDATE_CODES = (0, 1)  # 1: the data has errors, which the daily report has on purpose


def _stages() -> list[Stage]:
    out = [
        Stage("unzip", "baseline", "zipfile: decompress the daily sheet's XML (no parsing)",
              _unzip),
        Stage("expat", "baseline", "zipfile + xml.parsers.expat with no handlers over the daily "
              "sheet's XML, streamed (the floor)", _expat),
        Stage("fastexcel_read", "baseline", "fastexcel.read_excel(daily).load_sheet(sheet, "
              "header_row).to_pandas() — the main denominator", _fastexcel("daily"), _frame_rows,
              check="baseline_rows"),
        Stage("fastexcel_read_month", "baseline", "the same fastexcel read of a workbook holding "
              "only the review month's daily rows (the review goal's denominator)",
              _fastexcel("month"), _frame_rows),
        Stage("pandas_calamine", "baseline", "pandas.read_excel(daily, engine='calamine')",
              _pandas_read("calamine"), _frame_rows, check="baseline_rows"),
        Stage("pandas_openpyxl", "baseline", "pandas.read_excel(daily, engine='openpyxl')",
              _pandas_read("openpyxl"), _frame_rows, check="baseline_rows", slow=True),
        Stage("openpyxl_load_save", "baseline", "openpyxl.load_workbook(daily) + save(copy)",
              _openpyxl_load_save, slow=True),
        Stage("read_daily", "library", "xlsales.io.read.read_table(daily, 'daily', "
              "settings): find the table, read and normalise every row", _read_daily,
              _read_output, check="read_daily"),
        Stage("validate_daily", "library", "xlsales.validate.validate_file(daily_report.xlsx)",
              _validate("daily_report.xlsx"), _as_dict, check="validate_daily"),
        Stage("validate_customers", "library", "validate_file(customers.xlsx): customers, "
              "follow-ups, leads, opportunities, stage history", _validate("customers.xlsx"),
              _as_dict, check="validate_customers"),
        Stage("validate_targets", "library", "validate_file(targets.xlsx)",
              _validate("targets.xlsx"), _as_dict, check="validate_targets"),
        Stage("rollup", "library", "jobs.run_rollup(all weeks, write=False): read + validate + "
              "weekly rollup computed, nothing written", _rollup, _as_dict, check="rollup"),
        Stage("rollup_write", "library", "jobs.run_rollup(all weeks, out=copy): read + "
              "validate + roll up + write every week's sheet into a copy of the daily "
              "workbook (cli_rollup without the interpreter's start)", _rollup_write,
              _as_dict, check="rollup_written"),
        Stage("completion", "library", "jobs.run_completion(month, by rep)", _completion,
              _as_dict, check="completion"),
        Stage("compliance", "library", "jobs.run_compliance(quarter)", _compliance,
              _compliance_output, check="compliance"),
        Stage("followups", "library", "jobs.run_followups(today)", _followups, _as_dict,
              check="followups"),
        Stage("forecast", "library", "jobs.run_forecast(month, by rep)", _forecast, _as_dict,
              check="forecast"),
        Stage("funnel", "library", "jobs.run_funnel(quarter)", _funnel, _as_dict,
              check="funnel"),
        Stage("review", "library", "jobs.run_review(month, out=copy): figures + review workbook",
              _review, _as_dict, check="review", needs=("fastexcel_read_month",)),
        Stage("review_figures", "library", "review.build_review(month) on the workspace read "
              "beforehand: the figures alone (T4, six-month trend, reps/regions/products)",
              _review_figures, _as_dict, check="review_figures",
              needs=("fastexcel_read_month",)),
    ]
    for name, args in CLI_ARGS.items():
        lib = next((s for s in out if s.name == name), None)
        codes = _VALIDATE_CODES if name.startswith("validate") else (0,)
        if name == "validate_annotate":
            desc = ("python -m xlsales validate daily --annotate --out copy: validate, then "
                    "mark every finding in a copy of the workbook (part-level edit)")
            out.append(Stage("cli_validate_annotate", "cli", desc, cli=args, ok_codes=codes,
                             check="validate_annotate", needs=("openpyxl_load_save",)))
            continue
        assert lib is not None
        if name == "rollup":
            desc = ("python -m xlsales rollup DIR --all --out copy: read, validate, roll up "
                    "and write every week's sheet into a copy of the daily workbook")
        else:
            desc = f"python -m xlsales {' '.join(_example(name))} --json, as a whole process"
        out.append(Stage(f"cli_{name}", "cli", desc, cli=args, ok_codes=codes,
                         check=("rollup_written" if name == "rollup" else lib.check),
                         needs=lib.needs))
        if name == "rollup":
            out.append(Stage("cli_rollup_ledger", "cli", desc + ", recording what it reads "
                             "into the team ledger (a warm SQLite ledger: the daily use)",
                             cli=_rollup_with_ledger, check="rollup_written",
                             needs=("cli_rollup",), ledger=True))
    return out


def _rollup_with_ledger(ws: BenchWorkspace, scratch: Path) -> list[str]:
    """``rollup --all`` recording into a team ledger beside the workspace, warmed by one
    untimed run when new: the steady state of a team that runs commands every day (the
    first recording of 100k rows is a one-off)."""
    ledger = ws.dir / "ledger_warm.sqlite"
    args = ["--ledger", f"sqlite:///{ledger}", *CLI_ARGS["rollup"](ws, scratch)]
    if not ledger.exists():
        env = {k: v for k, v in os.environ.items() if k != "XLSALES_LEDGER"}
        subprocess.run([sys.executable, "-m", "xlsales", *args], capture_output=True,
                       env=env, check=False)
    return args


def _example(name: str) -> list[str]:
    return {"validate_daily": ["validate", "daily_report.xlsx"],
            "validate_customers": ["validate", "customers.xlsx"],
            "validate_targets": ["validate", "targets.xlsx"],
            "completion": ["completion", "--period", "MONTH"],
            "compliance": ["compliance", "--period", "QUARTER"],
            "followups": ["followups"], "forecast": ["forecast", "--period", "MONTH"],
            "funnel": ["funnel", "--period", "QUARTER"],
            "review": ["review", "--month", "MONTH", "--out", "copy"]}.get(name, [name])


STAGES: dict[str, Stage] = {s.name: s for s in _stages()}
GROUPS: dict[str, list[str]] = {
    "baselines": [s.name for s in STAGES.values() if s.group == "baseline"],
    "library": [s.name for s in STAGES.values() if s.group == "library"],
    "cli": [s.name for s in STAGES.values() if s.group == "cli"],
    "xlsales": [s.name for s in STAGES.values() if s.is_xlsales],
    "all": list(STAGES),
}
ALWAYS = ("fastexcel_read",)  # the denominator of every ratio


def select(spec: str | None) -> list[str]:
    """Stage names from ``a,b,group``, with the baselines their ratios need, in suite order."""
    wanted: set[str] = set()
    for part in (spec or "all").split(","):
        part = part.strip()
        if not part:
            continue
        if part in GROUPS:
            wanted.update(GROUPS[part])
        elif part in STAGES:
            wanted.add(part)
        else:
            known = ", ".join([*GROUPS, *STAGES])
            raise ValueError(f"unknown stage or group {part!r}; known: {known}")
    wanted.update(ALWAYS)
    for name in list(wanted):
        wanted.update(STAGES[name].needs)
    return [name for name in STAGES if name in wanted]


@dataclass
class Prepared:
    """A stage ready to time in this process."""

    stage: Stage
    run: Timed


def prepare(name: str, ws: BenchWorkspace, scratch: Path) -> Prepared:
    """Import what ``name`` needs and load its inputs; the timer starts after this."""
    stage = STAGES[name]
    if stage.setup is None:
        raise ValueError(f"{name} is a CLI stage: it runs as its own process")
    return Prepared(stage, stage.setup(ws, scratch))
