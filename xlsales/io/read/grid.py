"""Tables from value grids: what Excel hands the buttons (``xlwings`` ``range.value``).

A grid is a list of rows of Python values from A1. Values already of the column's type go
straight into the typed column; everything else is handed to the per-cell normaliser, the
same way a file's refused cells are."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from xlsales.frames import (
    DATE_KINDS,
    DATETIME,
    HEADER_SCAN_ROWS,
    NUMBER_KINDS,
    RawColumn,
    RawTable,
    Table,
    build_table,
    locate,
)
from xlsales.i18n import Lang
from xlsales.settings import Settings
from xlsales.tables.base import Kind, TableSpec


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _column(values: list[Any], kind: Kind) -> tuple[pd.Series, dict[int, Any]]:
    rejected: dict[int, Any] = {}
    typed: list[Any] = []
    for p, v in enumerate(values):
        ok = None
        if _blank(v):
            ok = None
        elif kind in NUMBER_KINDS:
            if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
                ok = float(v)
        elif kind in DATE_KINDS:
            if isinstance(v, dt.datetime | dt.date):
                ok = pd.Timestamp(v)
        elif isinstance(v, str):
            ok = v
        if ok is None and not _blank(v):
            rejected[p] = v
        typed.append(ok)
    if kind in NUMBER_KINDS:
        s = pd.Series([np.nan if v is None else v for v in typed], dtype="float64")
    elif kind in DATE_KINDS:
        s = pd.Series(pd.to_datetime(typed), dtype=DATETIME) if typed else pd.Series(
            dtype=DATETIME)
    else:
        s = pd.Series(typed, dtype="str")
    return s, rejected


def raw_from_grid(data: list[list[Any]], spec: TableSpec, *, file: str, sheet: str,
                  header_row: int, cols: dict[str, int]) -> RawTable:
    """The table whose header is at (0-based) ``header_row`` of a value grid."""
    headers = {k: str(data[header_row][i]) for k, i in cols.items()}
    body = data[header_row + 1:]
    columns = {}
    for key, c in cols.items():
        column = spec.column(key)
        if not column.is_input:
            continue
        values = [row[c] if c < len(row) else None for row in body]
        series, rejected = _column(values, column.kind)
        columns[key] = RawColumn(key=key, col=c, header=headers[key], values=series,
                                 rejected=rejected)
    lead = []
    for c in (0, 1, 2):
        if c not in cols.values():
            s = pd.Series([None if c >= len(row) or _blank(row[c]) else str(row[c])
                           for row in body], dtype="str", name=c)
            lead.append(s)
    return RawTable(file=file, sheet=sheet, header_row=header_row, n=len(body),
                    columns=columns, headers=headers, cols=dict(cols), lead=lead)


def table_from_grids(grids: dict[str, list[list[Any]]], spec: TableSpec, settings: Settings,
                     *, file: str, lang: Lang | None = None,
                     scan_rows: int = HEADER_SCAN_ROWS) -> Table | None:
    """``spec``'s table among the grids of a workbook's sheets (None when absent)."""
    found = locate(grids, spec, scan_rows=scan_rows)
    if found is None:
        return None
    name, header_row, cols = found
    raw = raw_from_grid(grids[name], spec, file=file, sheet=name, header_row=header_row,
                        cols=cols)
    return build_table(raw, spec, settings, lang=lang)
