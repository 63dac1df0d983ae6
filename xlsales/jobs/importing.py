"""The import job: a CRM export or a spreadsheet brought into the team's workbooks.

One command reads the file once, proposes (or takes from ``import_map.toml``) its mapping,
plans every row (:mod:`xlsales.importing.plan`) and, unless it is a dry run, writes the
new and changed rows into the table's workbook in one atomic save: a failure leaves the
workbook as it was, and importing the same file again changes nothing.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xlsales.errors import InputError, WorkbookError, XlsalesError
from xlsales.i18n import Label, Lang
from xlsales.importing.mapping import MAP_FILE, Mapping, load_map, propose, save_map, table_fit
from xlsales.importing.plan import ImportPlan, build_plan
from xlsales.importing.profiles import IMPORTABLE, profiles
from xlsales.workspace import BOOK_OF_TABLE, book_path

_NO_TABLE = Label(
    "看不出这个文件该导入哪张表(表头:{headers});请用 --table 指定,或用 --profile 指定来源",
    "cannot tell which table this file goes into (headers: {headers}); name it with "
    "--table, or the source with --profile")
_CANCELLED = Label("已取消:没有写入任何内容", "cancelled: nothing was written")


@dataclass
class ImportResult:
    """An import planned, and what was written."""

    plan: ImportPlan
    dry_run: bool
    lang: Lang
    written: Path | None = None
    map_file: Path | None = None

    def as_dict(self) -> dict[str, Any]:
        p, m = self.plan, self.plan.mapping
        return {
            "file": str(p.source.path), "sheet": p.source.sheet,
            "encoding": p.source.encoding, "header_row": p.source.header_row,
            "rows": len(p.source.frame), "table": m.table, "mapping": m.key,
            "map_saved_before": m.saved, "dry_run": self.dry_run,
            "columns": m.mapped(), "left_out": m.left_out(),
            "amount_unit": m.amount_unit, "date_order": m.date_order,
            "counts": {k: t.counts() for k, t in p.tables.items()},
            "unknown": {k: dict(v.most_common()) for k, v in p.unknown.items()},
            "off_list": {k: dict(v.most_common()) for k, v in p.off_list.items()},
            "rejected": [r.as_dict() for r in p.main.rejected],
            "clashes": [c.as_dict() for c in p.main.clashes],
            "written": str(self.written) if self.written else None,
            "map_file": str(self.map_file) if self.map_file else None,
        }


def _fit(cells: list[str]) -> float:
    """How much a row looks like the header of something importable."""
    best = max((t.score(cells) * len(t.columns) for p in profiles().values()
                for t in p.tables), default=0.0)
    return max(best, max(table_fit(cells, t) for t in IMPORTABLE))


def run_import(source: str | os.PathLike[str], root: str | os.PathLike[str], *,
               table: str | None = None, profile: str | None = None, dry_run: bool = False,
               today: dt.date | None = None, progress: Callable[[int], None] | None = None,
               confirm: Callable[[Mapping], bool] | None = None) -> ImportResult:
    """Import ``source`` into the workspace ``root``; ``confirm`` is asked about a mapping
    the workspace has not kept yet (no ``confirm``: accepted)."""
    from xlsales.io.read import WorkbookReader
    from xlsales.io.read.source import read_source
    from xlsales.jobs.sources import workspace_settings
    from xlsales.tables import get as table_spec
    from xlsales.workspace import workspace_lang

    root = Path(root)
    if table is not None and table not in IMPORTABLE:
        raise InputError(Label(f"不能导入表 {table!r};可导入:{', '.join(IMPORTABLE)}",
                               f"cannot import into {table!r}; importable: "
                               f"{', '.join(IMPORTABLE)}"))
    settings = workspace_settings(root)
    lang: Lang = workspace_lang(root) or settings.general.language  # type: ignore[assignment]
    file = read_source(source, fit=_fit, progress=progress)
    mapping = propose(file.headers, table=table, profile=profile, saved=load_map(root))
    if mapping is None:
        raise WorkbookError(_NO_TABLE.format(headers=", ".join(file.headers[:12])),
                            file=str(file.path))
    path = book_path(root, BOOK_OF_TABLE[mapping.table].key)
    wanted = [mapping.table] + (["stage_history"] if mapping.table == "opportunities" else [])
    existing: dict[str, Any] = {}
    with WorkbookReader(path) as wb:
        for key in wanted:
            try:
                existing[key] = wb.table(table_spec(key), settings)
            except XlsalesError:
                if key == mapping.table:
                    raise
                existing[key] = None
    plan = build_plan(file, mapping, existing, settings, today=today or dt.date.today(),
                      lang=lang)
    result = ImportResult(plan, dry_run, lang)
    if dry_run:
        return result
    if not mapping.saved and confirm is not None and not confirm(mapping):
        raise InputError(_CANCELLED)
    for key, values in plan.unknown.items():  # entries for the user to fill in
        for value in values:
            mapping.values.setdefault(key, {}).setdefault(value, "")
    result.map_file = save_map(root, mapping)
    if plan.changes:
        result.written = _write(path, plan, existing, settings, lang)
    return result


def _write(path: Path, plan: ImportPlan, existing: dict[str, Any], settings: Any,
           lang: Lang) -> Path:
    from xlsales.io.edit.book import WorkbookEdit
    from xlsales.io.edit.lists import refresh_lists
    from xlsales.io.edit.rows import put_rows
    from xlsales.workbook import STAGE_PROB_NAME, team_lists

    options = settings.general.model_dump()
    _, stage_prob = team_lists(settings, lang)
    names = {STAGE_PROB_NAME: [[stage, prob] for stage, prob in stage_prob]}

    def display(name: str, value: str) -> str:
        return settings.display(name, value, lang)

    with WorkbookEdit(path) as wb:
        for key, t in plan.tables.items():
            if not t.changes or existing.get(key) is None:
                continue
            put_rows(wb, existing[key], updates=t.updates, appends=t.new, lang=lang,
                     options=options, display=display, names=names)
        refresh_lists(wb, settings, lang)  # the dropdowns and probabilities the rows use
        wb.save()
    return path


__all__ = ["MAP_FILE", "ImportResult", "run_import"]
