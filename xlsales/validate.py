"""Validate workbooks: every rule of every table found, all findings at once."""

from __future__ import annotations

import datetime as dt
import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xlsales import tables as T
from xlsales.context import Context, RuleFn
from xlsales.errors import TableNotFoundError
from xlsales.findings import Finding, Rule, count
from xlsales.frames import Table
from xlsales.settings import Settings
from xlsales.tables.base import TableSpec
from xlsales.tables.checks import column_checks

# Table key -> module holding its ``check`` function.
_RULE_MODULES = {
    "targets": "xlsales.tables.targets", "team_targets": "xlsales.tables.targets",
    "daily": "xlsales.tables.daily", "agenda": "xlsales.tables.agenda",
    "actions": "xlsales.tables.agenda", "customers": "xlsales.tables.customers",
    "follow_ups": "xlsales.tables.customers", "leads": "xlsales.tables.leads",
    "opportunities": "xlsales.tables.opportunities",
}
VALIDATED = ("targets", "team_targets", "daily", "agenda", "actions", "minutes", "review",
             "customers", "follow_ups", "leads", "opportunities", "stage_history")


@dataclass
class ValidationResult:
    """Findings of one file, and the tables they came from."""

    file: str
    tables: dict[str, Table] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    settings: Settings | None = None  # the team's, when read from the workspace

    @property
    def errors(self) -> int:
        return count(self.findings, "error")

    @property
    def warnings(self) -> int:
        return count(self.findings, "warning")

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "tables": {k: {"sheet": t.sheet, "rows": len(t)}
                                              for k, t in self.tables.items()},
                "errors": self.errors, "warnings": self.warnings,
                "findings": [f.model_dump(mode="json") for f in self.findings]}


def table_checker(key: str) -> RuleFn | None:
    """The table-specific rule function of ``key`` (None when it has none)."""
    module = _RULE_MODULES.get(key)
    if module is None:
        return None
    fn = getattr(importlib.import_module(module), f"check_{key}", None)
    return fn or getattr(importlib.import_module(module), "check", None)


def all_rules() -> list[Rule]:
    """Every rule with its id, for documentation and tests."""
    from xlsales import frames
    from xlsales.tables import checks

    rules: list[Rule] = [*frames.RULES, *checks.RULES]
    for module in dict.fromkeys(_RULE_MODULES.values()):
        rules += getattr(importlib.import_module(module), "RULES", ())
    from xlsales import crosscheck

    rules += crosscheck.RULES
    return list({r.id: r for r in rules}.values())


def check_table(table: Table, ctx: Context) -> list[Finding]:
    """Column checks plus the table's own rules."""
    out = list(table.findings) + column_checks(table, ctx)
    fn = table_checker(table.spec.key)
    if fn:
        out += fn(table, ctx)
    return out


def validate_file(path: str | os.PathLike[str], *, table: str | None = None,
                  settings: Settings | None = None, today: dt.date | None = None,
                  context_tables: dict[str, Table] | None = None) -> ValidationResult:
    """Validate every known table in ``path`` (or just ``table``); the workbook is opened
    and checked once. The other workbooks the cross-table rules need are read in a second
    thread while this one is. Python's cyclic collector is paused meanwhile
    (:func:`xlsales.jobs.batch.gc_paused`: validation makes a finding object per problem,
    thousands of them)."""
    from xlsales.jobs.batch import gc_paused

    with gc_paused():
        return _validate_file(path, table=table, settings=settings, today=today,
                              context_tables=context_tables)


def _validate_file(path: str | os.PathLike[str], *, table: str | None,
                   settings: Settings | None, today: dt.date | None,
                   context_tables: dict[str, Table] | None) -> ValidationResult:
    from concurrent.futures import ThreadPoolExecutor

    from xlsales.io.read import WorkbookReader
    from xlsales.ledger.hook import prepare

    prepare()
    path = Path(path)
    specs: list[TableSpec] = [T.get(table)] if table else [T.get(k) for k in VALIDATED]
    with WorkbookReader(path) as wb, ThreadPoolExecutor(max_workers=1) as pool:
        settings = settings or _settings_near(path)
        ctx = Context.make(settings, today)
        result = ValidationResult(str(path), settings=settings)
        found = one_table_per_header_row({spec.key: wb.find(spec) for spec in specs})
        have = {k for k, f in found.items() if f is not None}
        if not have and (table or not _is_settings(path)):
            raise wb.not_found(specs)
        context: list[Any] = []

        def read_context() -> None:  # started once the first typed load is under way
            if not context and context_tables is None:
                context.append(pool.submit(_workspace_context, path, settings, have))

        for spec in specs:
            if (where := found[spec.key]) is not None:
                result.tables[spec.key] = wb.load(spec, settings, *where, loading=read_context)
        read_context()
        if context:
            context_tables = context[0].result()
    if _is_settings(path):  # the settings workbook: what reading it found
        from xlsales.workspace import read_settings

        result.findings += read_settings(path.parent).problems
    ctx.tables = {**(context_tables or {}), **result.tables}
    for t in result.tables.values():
        result.findings += check_table(t, ctx)
    from xlsales import crosscheck

    result.findings += crosscheck.check(ctx, only=set(result.tables))
    from xlsales.ledger.hook import seen_tables

    result.findings += seen_tables(path.parent, settings, result.tables.values())
    result.findings.sort(key=_order)
    return result


Found = tuple[str, int, dict[str, int]]  # sheet, 0-based header row, column of each key


def one_table_per_header_row(found: dict[str, Found | None]) -> dict[str, Found | None]:
    """Each header row read as one table: when two tables are found on the same row of a
    sheet (an agenda whose 会议时间 column is all the minutes table requires), the one
    naming more of its columns keeps it (a tie keeps both)."""
    best: dict[tuple[str, int], int] = {}
    for where in found.values():
        if where is not None:
            at = (where[0], where[1])
            best[at] = max(best.get(at, 0), len(where[2]))
    return {k: None if w is not None and len(w[2]) < best[(w[0], w[1])] else w
            for k, w in found.items()}


def _is_settings(path: Path) -> bool:
    from xlsales.workspace import BOOK_BY_KEY

    return path.stem == Path(BOOK_BY_KEY["settings"].filename).stem


def _order(f: Finding) -> tuple[str, int, int, str]:
    letters = "".join(ch for ch in (f.cell or "") if ch.isalpha())
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    return (f.sheet or "", f.row or 0, col, f.rule)


def _settings_near(path: Path) -> Settings:
    """The settings of the workspace holding ``path``, else the defaults."""
    from xlsales.workspace import BOOK_BY_KEY, read_settings

    if (path.parent / BOOK_BY_KEY["settings"].filename).exists():
        return read_settings(path.parent)
    return Settings.default()


# Tables (and their columns) another table's cross-checks need.
_CROSS_NEEDS = {"daily": {"targets": ("owner", "quarter"), "opportunities": ("customer",)}}


def _workspace_context(path: Path, settings: Settings,
                       have: set[str]) -> dict[str, Table]:
    """The other workspace tables the cross-table rules of ``have`` need."""
    from xlsales.io.read import read_table
    from xlsales.workspace import BOOK_OF_TABLE, book_path

    out: dict[str, Table] = {}
    for key in have:
        for need, columns in _CROSS_NEEDS.get(key, {}).items():
            other = book_path(path.parent, BOOK_OF_TABLE[need].key)
            if need in have or need in out or not other.exists() or other == path:
                continue
            try:
                out[need] = read_table(other, T.get(need), settings, keys=columns)
            except TableNotFoundError:
                continue
    return out
