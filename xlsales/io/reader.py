"""Read business tables from workbooks by their headers (python-calamine for values)."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_calamine import CalamineWorkbook

from xlsales.errors import TableNotFoundError, WorkbookError
from xlsales.tables.base import Kind, TableSpec, header_key, header_key_without_unit, header_lookup

EXCEL_EPOCH = dt.datetime(1899, 12, 30)
HEADER_SCAN_ROWS = 30


@dataclass
class RawTable:
    """A table found in a sheet: raw cell values by column key, with their addresses."""

    path: Path
    sheet: str
    header_row: int
    columns: dict[str, int]
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


def _match_header(row: list[Any], lookup: dict[str, str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for i, cell in enumerate(row):
        if not isinstance(cell, str) or not cell.strip():
            continue
        key = lookup.get(header_key(cell))
        if key is None:
            key = lookup.get(header_key_without_unit(cell))
        if key and key not in found:
            found[key] = i
    return found


def find_table(path: str | os.PathLike[str], spec: TableSpec) -> RawTable:
    """Locate ``spec``'s header row in any sheet of ``path`` and read its rows."""
    path = Path(path)
    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types
        raise WorkbookError(f"cannot open workbook: {exc}", file=str(path)) from exc
    lookup = header_lookup(spec.columns)
    required = {c.key for c in spec.columns if c.required and c.is_input}
    best: tuple[int, str, int, dict[str, int], list[list[Any]]] | None = None
    for name in wb.sheet_names:
        if name.startswith("_"):
            continue
        data = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        for r, row in enumerate(data[:HEADER_SCAN_ROWS]):
            cols = _match_header(list(row), lookup)
            if required <= cols.keys() and (best is None or len(cols) > best[0]):
                best = (len(cols), name, r, cols, data)
    if best is None:
        raise TableNotFoundError(
            f"no sheet has the headers of table {spec.key!r} "
            f"({', '.join(spec.headers('zh'))})", file=str(path))
    _, sheet, header_row, cols, data = best
    table = RawTable(path, sheet, header_row, cols)
    total_labels = {"合计", "总计", "total", "totals"}
    for r in range(header_row + 1, len(data)):
        row = data[r]
        values = {k: (row[i] if i < len(row) else None) for k, i in cols.items()}
        values = {k: (None if v == "" else v) for k, v in values.items()}
        if all(v is None for k, v in values.items() if spec.column(k).is_input):
            continue
        first = row[0] if row else None
        if isinstance(first, str) and first.strip().casefold() in total_labels:
            continue
        table.rows.append((r, values))
    return table


def to_date(value: Any) -> dt.date | None:
    """A cell value as a date (datetime, date, serial number or ISO-like text)."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float):
        return (EXCEL_EPOCH + dt.timedelta(days=float(value))).date()
    text = str(value).strip().replace("/", "-")
    return dt.date.fromisoformat("-".join(p.zfill(2) for p in text.split(" ")[0].split("-")))


def to_datetime(value: Any) -> dt.datetime | None:
    """A cell value as a datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    if isinstance(value, int | float):
        return EXCEL_EPOCH + dt.timedelta(days=float(value))
    return dt.datetime.fromisoformat(str(value).strip().replace("/", "-"))


def coerce(kind: Kind, value: Any) -> Any:
    """A raw cell value converted for a column of ``kind``; raises ValueError."""
    if value is None or value == "":
        return None
    if kind is Kind.DATE:
        return to_date(value)
    if kind is Kind.DATETIME:
        return to_datetime(value)
    if kind is Kind.INT:
        f = float(value)
        if not f.is_integer():
            raise ValueError(f"not a whole number: {value!r}")
        return int(f)
    if kind in (Kind.AMOUNT, Kind.NUMBER, Kind.PERCENT):
        if isinstance(value, bool):
            raise ValueError(f"not a number: {value!r}")
        return float(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value).strip()


def read_records(path: str | os.PathLike[str], spec: TableSpec) -> list[dict[str, Any]]:
    """Every input row of ``spec`` in ``path`` as a dict of typed values (display form)."""
    table = find_table(path, spec)
    out: list[dict[str, Any]] = []
    for r, values in table.rows:
        rec: dict[str, Any] = {}
        for key, raw in values.items():
            col = spec.column(key)
            if not col.is_input:
                continue
            try:
                rec[key] = coerce(col.kind, raw)
            except (ValueError, TypeError) as exc:
                c = table.columns[key]
                raise WorkbookError(
                    f"{col.label.zh}/{col.label.en}: {exc}", file=str(table.path),
                    sheet=table.sheet, cell=_a1(r, c), value=raw) from exc
        out.append(rec)
    return out


def _a1(row: int, col: int) -> str:
    name = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        name = chr(65 + rem) + name
    return f"{name}{row + 1}"
