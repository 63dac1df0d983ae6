"""Typed column loads through fastexcel (calamine in Rust, Arrow out).

One load per table: the mapped columns only, each in the type of its kind (numbers as
float, dates as datetime, text as string). Cells the load cannot take in that type —
text in a number column, error values — come back from ``to_arrow_with_errors`` with
their raw value, and are handed to the per-cell normaliser. While fastexcel parses (it
releases the GIL), a second thread scans the sheet's XML for formulas without a
cached value, booleans and merged ranges (:meth:`Package.scan`).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from xlsales.frames import DATE_KINDS, DATETIME, NUMBER_KINDS, RawColumn, RawTable
from xlsales.io.read.arrow_load import (
    LEAD_COLUMNS,
    ArrowLoad,
    DatePanic,
    column_types,
    load_arrow,
    refuse_far,
)
from xlsales.io.read.package import Extent, Package, SheetScan
from xlsales.tables.base import TableSpec

ERROR_LITERALS = {"Div0": "#DIV/0!", "NA": "#N/A", "Name": "#NAME?", "Null": "#NULL!",
                  "Num": "#NUM!", "Ref": "#REF!", "Value": "#VALUE!",
                  "GettingData": "#GETTING_DATA"}
_GOT = re.compile(r"but got '(.*)'$", re.DOTALL)
_ESC = re.compile(r"\\(u\{[0-9a-fA-F]+\}|.)", re.DOTALL)
_SIMPLE_ESC = {"n": "\n", "r": "\r", "t": "\t", "0": "\0", "\\": "\\", '"': '"', "'": "'"}
_EXCEL_DT = re.compile(r"value: ([-0-9.eE+]+).*is_1904: (true|false)")
EPOCH_1900 = dt.datetime(1899, 12, 30)
EPOCH_1904 = dt.datetime(1904, 1, 1)


def _unescape_debug(text: str) -> str:
    """A Rust ``{:?}`` string literal's content as the string it stands for."""
    def one(m: re.Match[str]) -> str:
        esc = m.group(1)
        if esc.startswith("u{"):
            return chr(int(esc[2:-1], 16))
        return _SIMPLE_ESC.get(esc, esc)
    return _ESC.sub(one, text)


def parse_detail(detail: str) -> tuple[str, Any]:
    """("error", "#N/A") or ("value", raw) from a fastexcel cell-error detail."""
    m = _GOT.search(detail)
    got = m.group(1) if m else detail
    kind, _, rest = got.partition("(")
    rest = rest[:-1] if rest.endswith(")") else rest
    if kind == "Error":
        return "error", ERROR_LITERALS.get(rest, f"#{rest.upper()}")
    if kind in ("String", "DateTimeIso", "DurationIso"):
        return "value", _unescape_debug(rest[1:-1] if rest.startswith('"') else rest)
    if kind == "Bool":
        return "value", rest == "true"
    if kind in ("Int", "Float"):
        return "value", float(rest)
    if kind == "DateTime":
        dm = _EXCEL_DT.search(rest)
        if dm:
            serial = float(dm.group(1))
            base = EPOCH_1904 if dm.group(2) == "true" else EPOCH_1900
            try:
                value = base + dt.timedelta(days=serial)
            except (OverflowError, ValueError):  # outside the calendar: the number itself
                return "value", serial
            return "value", value.date() if value.time() == dt.time() else value
    return "value", got


def load_raw(pkg: Package, fx: Any, spec: TableSpec, sheet: str, header_row: int,
             cols: dict[str, int], headers: dict[str, str], *,
             huge: bool = False, extent: Extent | None = None,
             scan: SheetScan | None = None,
             loading: Callable[[], object] | None = None,
             loaded: ArrowLoad | None = None) -> RawTable:
    """The table of ``spec`` whose header is at (0-based) ``header_row`` of ``sheet``
    (``extent`` and ``scan``: the sheet's, when measured already — see
    :meth:`Package.survey`; without ``scan`` the sheet is scanned in a second thread
    during the load). ``loading`` is called when the load starts, past the far-cell
    guard. ``loaded``: the typed load begun already (:mod:`xlsales.io.read.early`), taken
    when it asked for the columns in the types this load would (else waited for, and the
    sheet loaded again)."""
    inputs = {k: c for k, c in cols.items() if spec.column(k).is_input}
    refuse_far(extent if extent is not None else pkg.extent(sheet), cols, sheet)
    wanted = column_types(spec, cols)
    scan_box: dict[str, Any] = {}

    def run_scan() -> None:
        try:
            scan_box["scan"] = pkg.scan(sheet, set(inputs.values()))
        except BaseException as exc:  # handed to the caller below
            scan_box["error"] = exc

    if scan is not None:
        scan_box["scan"] = scan
        worker = None
    else:
        worker = threading.Thread(target=run_scan, name="xlsales-sheet-scan")
        worker.start()
    serial_cols: set[int] = set()  # date columns read as serial numbers (see below)
    try:
        if loading is not None:
            loading()
        try:
            if loaded is not None and loaded.wanted == wanted:
                rb, errors, selected = loaded.result()
            else:
                if loaded is not None:  # another load of this reader: never two at once
                    loaded.thread.join()
                rb, errors, selected = load_arrow(fx, sheet, header_row, wanted)
        except DatePanic:  # a date cell far outside the calendar: read dates as numbers,
            serial_cols = {c for c, d in wanted.items() if d == "datetime"}  # each such
            rb, errors, selected = load_arrow(  # cell becomes a finding of its own
                fx, sheet, header_row, {c: "float" if c in serial_cols else d
                                        for c, d in wanted.items()}, serials=True)
    finally:
        if worker is not None:
            worker.join()
    if "error" in scan_box:
        raise scan_box["error"]
    scan = scan_box["scan"]
    n = rb.num_rows if rb is not None else 0
    by_col = {ci.absolute_index: ci for ci in selected}
    columns: dict[str, RawColumn] = {}
    index_to_key: dict[int, str] = {}
    for key, col in inputs.items():
        kind = spec.column(key).kind
        ci = by_col.get(col)
        if ci is None or rb is None:
            values = _empty(kind, n)
        else:
            arr = rb.column(ci.name)
            values = _series(arr, kind)
            index_to_key[ci.index] = key
        columns[key] = RawColumn(key=key, col=col, header=headers[key], values=values)
        if col in serial_cols:
            columns[key].values, far_out = _serial_dates(values, pkg.date1904)
            columns[key].rejected.update(far_out)
        if ci is not None and rb is not None and kind in NUMBER_KINDS and len(values):
            for p in _nonfinite_positions(rb.column(ci.name)):
                columns[key].rejected[p] = _nonfinite(float(values.iat[p]))
    for e in errors:
        key = index_to_key.get(e.offset_position[1])
        if key is None:
            continue
        what, value = parse_detail(e.detail)
        p = e.offset_position[0]
        if what == "error":
            columns[key].errors[p] = value
        else:
            columns[key].rejected[p] = value
    first = header_row + 1
    col_key = {c: k for k, c in inputs.items()}
    for (r, c), value in scan.booleans.items():
        if c in col_key and 0 <= r - first < n:
            columns[col_key[c]].rejected[r - first] = value
    for r, c in scan.uncached:
        if c in col_key and 0 <= r - first < n:
            columns[col_key[c]].uncached.add(r - first)
    if pkg.date1904 and n and not serial_cols:
        _fix_1904(fx, sheet, header_row, spec, inputs, columns)
    lead = []
    for c in LEAD_COLUMNS:
        ci = by_col.get(c)
        if ci is not None and c not in col_key and rb is not None:
            s = _series(rb.column(ci.name), None)
            s.name = c
            lead.append(s)
    return RawTable(file=pkg.file, sheet=sheet, header_row=header_row, n=n, columns=columns,
                    headers=dict(headers), cols=dict(cols), lead=lead,
                    date1904=pkg.date1904, merged=list(scan.merged),
                    huge=huge and header_row + 1 + n < 1_048_576)


def _serial_dates(serials: pd.Series, date1904: bool) -> tuple[pd.Series, dict[int, Any]]:
    """Serial numbers as datetimes; the positions (and values) of those outside Excel's
    calendar, which no date can be read from."""
    inside = serials.between(0, EXCEL_LAST_SERIAL) if len(serials) else serials.astype(bool)
    base = pd.Timestamp(EPOCH_1904 if date1904 else EPOCH_1900)
    days = pd.to_timedelta(serials.where(inside), unit="D")
    dates = (base + days).astype(DATETIME)
    far = serials.notna() & ~inside
    return dates, {int(p): float(serials.iat[p]) for p in np.flatnonzero(far.to_numpy())}


EXCEL_LAST_SERIAL = 2_958_465  # 9999-12-31


def _series(arr: Any, kind: Any) -> pd.Series:
    import pyarrow as pa

    if pa.types.is_timestamp(arr.type) or pa.types.is_date(arr.type):
        return pd.Series(arr.cast(pa.timestamp("ms")).to_pandas(), dtype=DATETIME)
    if pa.types.is_floating(arr.type) or pa.types.is_integer(arr.type):
        return pd.Series(arr.to_numpy(zero_copy_only=False), dtype="float64")
    if pa.types.is_null(arr.type):
        return _empty(kind, len(arr))
    return pd.Series(arr.cast(pa.large_string()), dtype="str") if len(arr) else _empty(None, 0)


def _empty(kind: Any, n: int) -> pd.Series:
    if kind in DATE_KINDS:
        return pd.Series(pd.NaT, index=range(n), dtype=DATETIME)
    if kind in NUMBER_KINDS:
        return pd.Series(np.nan, index=range(n), dtype="float64")
    return pd.Series(np.nan, index=range(n), dtype="str")


def _nonfinite_positions(arr: Any) -> list[int]:
    """Positions of NaN and ∞ values (not of empty cells) in a float column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pa.types.is_floating(arr.type):
        return []
    odd = pc.and_(arr.is_valid(), pc.invert(pc.is_finite(arr)))
    return np.flatnonzero(odd.to_numpy(zero_copy_only=False)).tolist()


def _nonfinite(value: float) -> str:
    """NaN and ∞ only come from text like ``NaN`` or ``inf`` that the load parsed."""
    if math.isnan(value):
        return "NaN"
    return "inf" if value > 0 else "-inf"


def _fix_1904(fx: Any, sheet: str, header_row: int, spec: TableSpec,
              inputs: dict[str, int], columns: dict[str, RawColumn]) -> None:
    """In a 1904 workbook, bare serial numbers in date columns count from 1904."""
    dates = {c: "float" for k, c in inputs.items() if spec.column(k).kind in DATE_KINDS}
    if not dates:
        return
    rb, _errs, selected = load_arrow(fx, sheet, header_row, dates)
    if rb is None:
        return
    for ci in selected:
        key = next(k for k, c in inputs.items() if c == ci.absolute_index)
        serials = pd.Series(rb.column(ci.name).to_numpy(zero_copy_only=False), dtype="float64")
        plain = serials.notna()
        if plain.any():
            fixed = EPOCH_1904 + pd.to_timedelta(serials[plain], unit="D")
            values = columns[key].values.copy()
            values[plain] = fixed.astype(DATETIME)
            columns[key].values = values
