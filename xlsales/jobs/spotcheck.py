"""Today's spot-check of the dailies, and marking the picked rows."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from xlsales import tables as T
from xlsales.errors import XlsalesError
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
    reports = int((daily.frame["date"] == pd.Timestamp(day)).sum())
    result = SpotCheckResult(day, reports, picks)
    if mark and picks:
        result.marked = _mark_picks(daily, picks, day)
    return result


def _mark_picks(daily: DailySource, picks: list[Pick], day: dt.date) -> Path:
    from xlsales.io.xlsx_editor import edit_workbook

    spec = T.get("daily")
    wanted = {p.rep: p for p in picks}  # every pick is of ``day``
    marked = None
    for table in daily.tables:
        df = table.df
        hit = df.index[(df["date"] == pd.Timestamp(day)) & df["rep"].isin(list(wanted))]
        cells: dict[str, Any] = {}
        for row in hit:
            pick = wanted[df.at[row, "rep"]]
            spot = table.cell("spot_check", row)
            if spot is None:
                continue
            if pd.isna(df.at[row, "spot_check"]):
                cells[spot] = day
            hint_cell = table.cell("check_result", row)
            if hint_cell and pick.hints and pd.isna(df.at[row, "check_result"]):
                cells[hint_cell] = SPOT_MARK(table.lang) + ":" + ";".join(pick.hints)
        if not cells:
            continue
        if "spot_check" not in table.headers:
            raise XlsalesError(f"{table.file}: the daily report has no "
                               f"{spec.column('spot_check').header(table.lang)} column")
        with edit_workbook(table.file) as wb:
            ws = wb[table.sheet]
            for ref, value in cells.items():
                ws[ref].value = value
                if isinstance(value, dt.date):
                    ws[ref].number_format = "yyyy-mm-dd"
                else:
                    ws[ref].data_type = "s"
        marked = Path(table.file)
    return marked or daily.files[0]
