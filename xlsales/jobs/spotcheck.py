"""Today's spot-check of the dailies, and marking the picked rows."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from xlsales import tables as T
from xlsales.errors import WorkbookError
from xlsales.i18n import Label
from xlsales.jobs.sources import DailySource, load_daily
from xlsales.spotcheck import Pick, spot_check

SPOT_MARK = Label("待抽查", "to check")


@dataclass
class SpotCheckResult:
    """Today's picks and where they were marked."""

    date: dt.date
    reports: int
    picks: list[Pick]
    marked: Path | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"date": self.date.isoformat(), "reports": self.reports,
                "picked": len(self.picks), "picks": [p.as_dict() for p in self.picks],
                "marked": str(self.marked) if self.marked else None}


def run_spotcheck(source: str | os.PathLike[str], day: dt.date, *, share: float | None = None,
                  seed: int = 0, mark: bool = False) -> SpotCheckResult:
    """Pick ``share`` of ``day``'s dailies; with ``mark``, date them in the workbook."""
    daily = load_daily(source, today=day, validate=False)
    share = share if share is not None else daily.settings.general.spotcheck_share
    picks = spot_check(daily.frame, day, share=share, seed=seed, settings=daily.settings,
                       lang=daily.lang)
    if daily.audit:  # the ledger's dailies edited or deleted after submission
        from xlsales.ledger.audit import rep_hints

        for pick in picks:
            pick.hints += rep_hints(daily.audit, pick.rep, daily.lang)
    reports = int((daily.frame["date"] == pd.Timestamp(day)).sum())
    result = SpotCheckResult(day, reports, picks)
    if mark and picks:
        result.marked = _mark_picks(daily, picks, day)
    return result


def _mark_picks(daily: DailySource, picks: list[Pick], day: dt.date) -> Path:
    from xlsales.io.edit.book import WorkbookEdit
    from xlsales.io.edit.cells import Cell
    from xlsales.io.edit.lists import refresh_lists
    from xlsales.io.edit.styles import Style

    spec = T.get("daily")
    wanted = {p.rep: p for p in picks}  # every pick is of ``day``
    edits: dict[str, dict[tuple[str, str], Any]] = {}  # file → (sheet, cell) → value
    for table in daily.tables:
        df = table.df
        hit = df.index[(df["date"] == pd.Timestamp(day)) & df["rep"].isin(list(wanted))]
        cells: dict[tuple[str, str], Any] = {}
        for row in hit:
            pick = wanted[df.at[row, "rep"]]
            spot = table.cell("spot_check", row)
            if spot is None:
                continue
            if pd.isna(df.at[row, "spot_check"]):
                cells[(table.sheet, spot)] = day
            hint_cell = table.cell("check_result", row)
            if hint_cell and pick.hints and pd.isna(df.at[row, "check_result"]):
                cells[(table.sheet, hint_cell)] = (SPOT_MARK(table.lang) + ":"
                                                   + ";".join(pick.hints))
        if not cells:
            continue
        if "spot_check" not in table.headers:
            column = spec.column("spot_check").header(table.lang)
            raise WorkbookError(Label(f"销售日报没有「{column}」列",
                                      f"the daily report has no {column} column"),
                                file=str(table.file), sheet=table.sheet)
        edits.setdefault(str(table.file), {}).update(cells)
    for file, cells in edits.items():  # one edit per workbook
        with WorkbookEdit(file) as wb:
            date_xf = wb.xf(Style(num_fmt="yyyy-mm-dd"))
            for (sheet, ref), value in cells.items():
                wb.set_cell(sheet, ref, Cell(value, fallback=date_xf
                                             if isinstance(value, dt.date) else None))
            refresh_lists(wb, daily.settings, daily.lang)
            wb.save()
    marked = Path(next(reversed(edits))) if edits else None
    return marked or daily.files[0]
