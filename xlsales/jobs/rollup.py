"""The weekly rollup job: dailies → one weekly sheet per week."""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xlsales.calendar import WorkCalendar, display_week, parse_period, week_label
from xlsales.findings import Finding
from xlsales.i18n import Label, Lang
from xlsales.jobs.batch import gc_paused
from xlsales.jobs.sources import (
    WEEKLY_FILE,
    Beside,
    DailySource,
    load_daily,
    load_targets,
)
from xlsales.jsonrecords import JsonRecords, json_columns
from xlsales.performance import QUOTA_BASIS
from xlsales.ranking import IMPLAUSIBLE_MARK
from xlsales.rollup import INPUTS as WEEKLY_INPUTS
from xlsales.rollup import (
    WeekRow,
    implausible_warnings,
    week_arrays,
    week_dicts,
    week_rows,
    weekly_frame,
    weeks_between,
)
from xlsales.settings import Settings

WEEK_SHEET = Label("周报 {week}", "Weekly {week}")
TEAM_ROW_TARGET = Label("团队合计行的目标:", "team row's target: ")


@dataclass
class RollupResult:
    """What the weekly rollup read and wrote (``frame``: one row per rep, region and team
    and week; ``rows``: the same as :class:`WeekRow` objects)."""

    weeks: list[str]
    frame: pd.DataFrame
    findings: list[Finding]
    dropped: int
    written: Path | None = None
    sheets: list[str] = field(default_factory=list)
    implausible: list[str] = field(default_factory=list)  # warnings: completion not plausible
    edited: int = 0  # dailies edited or deleted after submission (the ledger), counted too

    @cached_property
    def rows(self) -> list[WeekRow]:
        return week_rows(self.frame)

    def level_rows(self, level: str) -> list[WeekRow]:
        """The rows of one level (``rep``, ``region`` or ``team``), in the weeks' order:
        the team's line per week is all a summary of many weeks needs."""
        return week_rows(self.frame[self.frame["level"] == level])

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    def as_dict(self, *, encoded: bool = False) -> dict[str, Any]:
        """The result as plain data; with ``encoded``, its rows as their JSON text already
        (:class:`~xlsales.jsonrecords.JsonRecords`, what ``--json`` writes: fast)."""
        with gc_paused():
            return self._as_dict(encoded)

    def _as_dict(self, encoded: bool = False) -> dict[str, Any]:
        rows: Any = JsonRecords(len(self.frame), lambda a, b: json_columns(week_arrays(
            self.frame.iloc[a:b]))) if encoded else week_dicts(self.frame)
        return {"weeks": self.weeks, "rows": rows,
                "errors": self.errors,
                "warnings": sum(1 for f in self.findings if f.severity == "warning"),
                "duplicates_dropped": self.dropped,
                "edited_after_submission": self.edited,
                "findings": [f.model_dump(mode="json") for f in self.findings
                             if f.severity == "error"],
                "implausible": self.implausible,
                "written": str(self.written) if self.written else None, "sheets": self.sheets}


def select_weeks(daily: pd.DataFrame, *, week: str | None = None,
                 month: str | None = None, all_weeks: bool = False,
                 today: dt.date | None = None) -> list[str]:
    """The weeks a rollup covers (default: the week of ``today``)."""
    if week:
        parse_period(week)
        return [week.upper()]
    if month:  # up to the week of today: no empty sheets for weeks still to come
        first, last, _ = parse_period(month)
        last = min(last, today or dt.date.today())
        return weeks_between(first, last) if first <= last else []
    days = daily["date"].dropna()
    if all_weeks:
        return weeks_between(days.min().date(), days.max().date()) if len(days) else []
    return [week_label(today or dt.date.today())]


def run_rollup(source: str | os.PathLike[str], *, week: str | None = None,
               month: str | None = None, all_weeks: bool = False,
               out: str | os.PathLike[str] | None = None, today: dt.date | None = None,
               write: bool = True) -> RollupResult:
    """Roll the dailies up into weekly reports and write one sheet per week."""
    with gc_paused():
        return _run_rollup(source, week=week, month=month, all_weeks=all_weeks, out=out,
                           today=today, write=write)


def _run_rollup(source: str | os.PathLike[str], *, week: str | None, month: str | None,
                all_weeks: bool, out: str | os.PathLike[str] | None, today: dt.date | None,
                write: bool) -> RollupResult:
    span = None  # --week, --month: their archived dailies too (archive_<year>.xlsx)
    if week or month:
        first, last, _ = parse_period(week or month or "")
        span = (first, last)
    from xlsales.io.edit.lists import lists_head
    from xlsales.jobs.sources import daily_files, read_targets

    targets_read = Beside(read_targets)  # read while the daily sheet loads
    besides: list[Beside[Any]] = [targets_read]
    files = daily_files(Path(source))[1]
    lists_read = None  # and the dropdown lists of the one daily workbook, when written to
    if write and len(files) == 1:
        lists_read = (files[0], Beside(lambda _root, _settings: lists_head(files[0])))
        besides.append(lists_read[1])
    daily = load_daily(source, today=today, since=span[0] if span else None,
                       until=span[1] if span else None, beside=besides)
    weeks = select_weeks(daily.frame, week=week, month=month, all_weeks=all_weeks,
                         today=today)
    targets = load_targets(daily.root, daily.settings, read=targets_read)
    cal = WorkCalendar.of(daily.settings)
    moves, errors = daily.moves, daily.problems_by_row
    daily.tables = []  # all the weekly frame needs: these and the frame's columns it reads
    daily.frame = daily.frame[list(WEEKLY_INPUTS)]
    frame = weekly_frame(daily.frame, targets, daily.settings, weeks, today=today, cal=cal,
                         errors_by_row=errors, moves=moves)
    del moves
    result = RollupResult(weeks, frame, daily.findings, daily.dropped,
                          edited=len(daily.audit))
    flagged = frame[(frame["level"] == "rep") & (frame["mark"] == IMPLAUSIBLE_MARK)]
    result.implausible = implausible_warnings(week_rows(flagged), daily.settings, daily.lang)
    del flagged
    daily.release()  # the weekly frame has what the sheets need
    if write and weeks:
        if out:
            target = Path(out)
        elif len(daily.files) == 1:
            target = daily.files[0]
        else:  # per-rep workbooks: the weekly sheets go into a workbook of their own
            target = daily.root / WEEKLY_FILE
        result.written, result.sheets = _write_weeks(daily, frame, weeks, target,
                                                     lists_read)
    return result


def _labels(settings: Settings, name: str, values: pd.Series, lang: Lang) -> dict[Any, Any]:
    """Each distinct value of ``values`` → its label in ``lang`` in the settings' list
    ``name`` (unknown values and blanks as they are)."""
    return {v: settings.display(name, v, lang) if isinstance(v, str) and v else v
            for v in values.unique().tolist()}


def _cells(values: pd.Series) -> Any:
    """A weekly frame's column as :func:`~xlsales.io.edit.tables.table_sheets` takes it:
    Arrow-backed text stays Arrow (it becomes Python strings a batch of sheets at a time),
    other columns as numpy arrays."""
    return values.array if isinstance(values.dtype, pd.StringDtype) else values.to_numpy()


def _write_weeks(daily: DailySource, frame: pd.DataFrame, weeks: list[str],
                 target: Path, lists_read: tuple[Path, Beside[list[list[Any]]]] | None = None,
                 ) -> tuple[Path, list[str]]:
    """One sheet per week in ``target`` (the daily report, or a workbook of its own):
    replaced where it is when the week was rolled up before, keeping the manager's
    comments, notes and drawings. The cells of every week's sheet come straight from the
    weekly frame's columns (:func:`xlsales.io.edit.tables.table_sheets`)."""
    from xlsales.io.edit.book import WorkbookEdit
    from xlsales.io.edit.forked import sheets_in_two
    from xlsales.io.edit.lists import refresh_lists
    from xlsales.io.edit.newsheet import NewSheet
    from xlsales.io.edit.tables import Printed, table_sheets
    from xlsales.io.read import sheets_records
    from xlsales.tables.weekly import LEVELS, WEEKLY

    lang = daily.lang
    if target.exists():
        src: Path | None = target
    elif len(daily.files) == 1:
        src = daily.files[0]
    else:
        src = None
    names = {week: WEEK_SHEET(lang).format(
        week=display_week(week, daily.settings.general.week_label)) for week in weeks}
    position = frame["week"].map({w: i for i, w in enumerate(weeks)})
    rows = frame[position.notna()]
    position = position[position.notna()].astype("int64").to_numpy()
    if (np.diff(position) < 0).any():  # weekly_frame gives them in the weeks' order
        rows = rows.iloc[np.argsort(position, kind="stable")]
    sizes = np.bincount(position, minlength=len(weeks)).tolist()
    levels = rows["level"].map({k: label(lang) for k, label in LEVELS.items()})
    columns: dict[str, Any] = {c.key: _cells(rows[c.key]) for c in WEEKLY.columns
                               if c.is_input and c.key in rows.columns}
    columns["level"] = _cells(levels)
    # regions and product lines as the sheet's language shows them (a region's subtotal
    # row is named after its region)
    shown = {key: _labels(daily.settings, key, rows[column], lang)
             for key, column in (("regions", "region"), ("product_lines", "product_line"))}
    columns["region"] = _cells(rows["region"].map(shown["regions"]))
    columns["product_line"] = _cells(rows["product_line"].map(shown["product_lines"]))
    is_region = (rows["level"] == "region").to_numpy()
    if is_region.any():
        columns["name"] = _cells(rows["name"].mask(is_region,
                                                   rows["name"].map(shown["regions"])))
    teams = rows[rows["level"] == "team"].drop_duplicates("week")
    basis = dict(zip(teams["week"].tolist(), teams["quota_basis"].tolist(), strict=True))
    options = daily.settings.general.model_dump()
    with WorkbookEdit(src) if src else WorkbookEdit.new(target) as wb:
        again = [names[w] for w in weeks if names[w] in wb.sheet_names]
        typed = sheets_records(src, again, WEEKLY, daily.settings,
                               keys=("level", "name", "comment"), needed="comment",
                               ) if src and again else {}
        kept = {(name, str(old.get("level")), str(old.get("name"))): old["comment"]
                for name, olds in typed.items() for old in olds if old.get("comment")}
        if kept:
            columns["comment"] = [kept.get((names[w], lv, n)) for w, lv, n in zip(
                rows["week"].tolist(), levels.tolist(), columns["name"].tolist(),
                strict=True)]
        titles = []
        for week in weeks:
            said = (f" · {TEAM_ROW_TARGET(lang)}{QUOTA_BASIS[basis[week]](lang)}"
                    if basis.get(week) else "")
            titles.append(f"{WEEKLY.title(lang)} {week}{said}")
        tables = [f"Weekly_{w.replace('-', '_')}" for w in weeks]
        periods = [display_week(w, daily.settings.general.week_label) for w in weeks]
        starts = [0, *itertools.accumulate(sizes)]

        def make(a: int, b: int) -> Iterator[NewSheet]:
            """The sheets of weeks ``a`` … ``b - 1``."""
            return table_sheets(wb, WEEKLY, {k: v[starts[a]:starts[b]]
                                             for k, v in columns.items()},
                                sizes[a:b], lang=lang, titles=titles[a:b],
                                names=tables[a:b], options=options, periods=periods[a:b],
                                printed=Printed(details=True, repeat=("week", "name")))

        made = sheets_in_two(make, sizes, wb.styles.state)
        for week, (sheet, body) in zip(weeks, made, strict=True):
            wb.put_sheet(names[week], sheet, body=body)
        columns.clear()  # the cells are in the sheets' XML now
        del rows, levels, made
        lists = lists_read[1].result(daily.root, daily.settings) \
            if lists_read is not None and src == lists_read[0] else None
        refresh_lists(wb, daily.settings, lang, current=lists)  # (read beside the load)
        wb.save(target)
    return target, [names[w] for w in weeks]
