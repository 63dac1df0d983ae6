"""Read business tables from workbooks by their headers.

One reader for every table: the header row is found in any sheet, wherever it
starts, by zh or en headers and their aliases (see :func:`header_lookup`); title
rows above it, blank rows and a totals row are skipped. Values come from
python-calamine (fast); a sheet whose used range claims the whole grid is read with
openpyxl's streaming reader instead. Error values, formulas with no cached value
and merged cells over data are reported per cell (:mod:`xlsales.io.sheetscan`).
Values are normalised per :mod:`xlsales.normalize`.
"""

from __future__ import annotations

import datetime as dt
import os
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

from python_calamine import CalamineWorkbook

from xlsales import normalize as N
from xlsales.errors import TableNotFoundError, WorkbookError
from xlsales.findings import Finding, Rule
from xlsales.i18n import Lang
from xlsales.io.safety import check_workbook
from xlsales.io.sheetscan import scan_sheet, sheet_parts
from xlsales.rows import RowRead, TableRead
from xlsales.settings import Settings
from xlsales.tables.base import Kind, TableSpec, header_key, header_key_without_unit, header_lookup

HEADER_SCAN_ROWS = 30
TOTAL_LABELS = {"合计", "总计", "小计", "total", "totals", "sum"}

R_TYPE = Rule(id="cell.type", severity="error", zh="{column}:{detail}",
              en="{column}: {detail}")
R_ERROR = Rule(id="cell.error_value", severity="error",
               zh="{column}:单元格是错误值 {value},不能当作空白",
               en="{column}: the cell holds the error {value}, not a value")
R_UNCACHED = Rule(id="cell.no_cached_value", severity="error",
                  zh="{column}:公式没有计算结果,请在 Excel 中打开并保存后再试",
                  en="{column}: a formula with no computed value; open and save the file "
                     "in Excel first")
R_MERGED = Rule(id="cell.merged", severity="error",
                zh="合并单元格 {range} 覆盖了数据行,请取消合并",
                en="merged cells {range} cover data rows; unmerge them")
R_HUGE = Rule(id="sheet.huge_range", severity="warning",
              zh="工作表的已用区域声明为整张表({range}),已按实际数据读取",
              en="the sheet claims the whole grid ({range}) as used; read its real data only")


def require_defusedxml() -> None:
    """Refuse to parse workbooks unless openpyxl parses XML through defusedxml."""
    from openpyxl.xml import DEFUSEDXML

    if not DEFUSEDXML:
        raise WorkbookError("openpyxl is not using defusedxml; install defusedxml")


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


def a1(row: int, col: int) -> str:
    """A1 address of a 0-based row and column."""
    name = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        name = chr(65 + rem) + name
    return f"{name}{row + 1}"


def _sheet_values(path: Path, huge_parts: list[str]) -> dict[str, list[list[Any]]]:
    """Every visible sheet's values (row lists), surviving whole-grid used ranges."""
    wb = CalamineWorkbook.from_path(str(path))
    huge_names: set[str] = set()
    if huge_parts:
        with zipfile.ZipFile(path) as zf:
            parts = sheet_parts(zf)
        huge_names = {name for name, part in parts.items() if part in huge_parts}
    out: dict[str, list[list[Any]]] = {}
    for name in wb.sheet_names:
        if name.startswith("_"):
            continue
        if name in huge_names:
            out[name] = _openpyxl_values(path, name)
        else:
            out[name] = [list(r) for r in wb.get_sheet_by_name(name).to_python(
                skip_empty_area=False)]
    return out


def _openpyxl_values(path: Path, sheet: str) -> list[list[Any]]:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb[sheet]
        ws.reset_dimensions()  # type: ignore[union-attr]
        return [["" if v is None else v for v in row]
                for row in ws.iter_rows(values_only=True)]  # type: ignore[union-attr]
    finally:
        wb.close()


def read_table_rows(path: str | os.PathLike[str], spec: TableSpec, settings: Settings,
                    *, lang: Lang | None = None, sheet: str | None = None,
                    scan_rows: int = HEADER_SCAN_ROWS,
                    stop_at_blank: bool = False) -> TableRead:
    """Find ``spec`` in ``path`` (or in ``sheet``) and read every data row, normalised and
    located. ``stop_at_blank`` ends the table at its first blank row (sheets holding
    several blocks)."""
    path = Path(path)
    require_defusedxml()
    report = check_workbook(path)
    try:
        sheets = _sheet_values(path, report.huge_sheets)
    except Exception as exc:  # calamine raises its own error types
        raise WorkbookError(f"cannot read workbook: {exc}", file=str(path)) from exc
    found = locate(sheets, spec, sheet=sheet, scan_rows=scan_rows)
    if found is None:
        raise TableNotFoundError(
            f"no sheet has the headers of table {spec.key!r} "
            f"({', '.join(spec.headers('zh'))})", file=str(path))
    name = found[0]
    scan = scan_sheet(path, name)
    table = table_from_grid(sheets[name], spec, settings, file=str(path), sheet=name,
                            header_row=found[1], cols=found[2], lang=lang,
                            stop_at_blank=stop_at_blank, errors=scan.errors,
                            uncached=scan.uncached, date1904=report.date1904)
    if report.huge_sheets and len(sheets[name]) < 1_048_576:
        with zipfile.ZipFile(path) as zf:
            if sheet_parts(zf).get(name) in report.huge_sheets:
                table.findings.append(table.finding(R_HUGE, None, None, range="XFD1048576"))
    _merged_findings(table, scan.merged, found[1])
    return table


def read_tables_per_sheet(path: str | os.PathLike[str], spec: TableSpec, settings: Settings,
                          *, scan_rows: int = HEADER_SCAN_ROWS,
                          stop_at_blank: bool = False) -> list[TableRead]:
    """``spec``'s table in every sheet that has one, reading the workbook once."""
    path = Path(path)
    require_defusedxml()
    report = check_workbook(path)
    sheets = _sheet_values(path, report.huge_sheets)
    out = []
    for name in sheets:
        found = locate(sheets, spec, sheet=name, scan_rows=scan_rows)
        if found is None:
            continue
        scan = scan_sheet(path, name)
        out.append(table_from_grid(sheets[name], spec, settings, file=str(path), sheet=name,
                                   header_row=found[1], cols=found[2],
                                   stop_at_blank=stop_at_blank, errors=scan.errors,
                                   uncached=scan.uncached, date1904=report.date1904))
    return out


def hidden_sheet_rows(path: str | os.PathLike[str], name: str) -> list[list[Any]]:
    """The values of a sheet xlsales keeps for itself (``_hints`` …); [] when absent."""
    wb = CalamineWorkbook.from_path(str(path))
    if name not in wb.sheet_names:
        return []
    return [list(r) for r in wb.get_sheet_by_name(name).to_python()]


def locate(sheets: dict[str, list[list[Any]]], spec: TableSpec, *, sheet: str | None = None,
           scan_rows: int = HEADER_SCAN_ROWS) -> tuple[str, int, dict[str, int]] | None:
    """(sheet, 0-based header row, column of each key) of ``spec`` among value grids."""
    lookup = header_lookup(spec.columns)
    required = {c.key for c in spec.columns if c.required and c.is_input}
    best: tuple[tuple[int, int], str, int, dict[str, int]] | None = None
    own_names = set(spec.sheet.all())
    for name, data in sheets.items():
        if sheet is not None and name != sheet:
            continue
        for r, row in enumerate(data[:scan_rows]):
            cols = _match_header(list(row), lookup)
            score = (len(cols), name in own_names)  # ties go to the table's own sheet
            if required <= cols.keys() and (best is None or score > best[0]):
                best = (score, name, r, cols)
    return None if best is None else (best[1], best[2], best[3])


def table_from_grid(data: list[list[Any]], spec: TableSpec, settings: Settings, *, file: str,
                    sheet: str, header_row: int, cols: dict[str, int],
                    lang: Lang | None = None, stop_at_blank: bool = False,
                    errors: dict[str, str] | None = None,
                    uncached: set[str] | None = None, date1904: bool = False) -> TableRead:
    """Read the table whose header is at ``header_row`` of a value grid (A1 at [0][0])."""
    errors, uncached = errors or {}, uncached or set()
    data = [["" if v is None else v for v in row] for row in data]
    end = len(data)
    if stop_at_blank:
        end = next((r for r in range(header_row + 1, len(data))
                    if all(v in ("", None) for v in data[r])), len(data))
    header_texts = {k: str(data[header_row][i]) for k, i in cols.items()}
    zh_hits = sum(header_key(t) == header_key(spec.column(k).label.zh)
                  for k, t in header_texts.items())
    detected: Lang = lang or ("zh" if zh_hits * 2 >= len(cols) else "en")
    table = TableRead(spec=spec, file=file, sheet=sheet, header_row=header_row + 1,
                      headers=header_texts, lang=detected)
    raw_rows: list[tuple[int, dict[str, Any]]] = []
    for r in range(header_row + 1, end):
        row = data[r]
        values = {k: (row[i] if i < len(row) else "") for k, i in cols.items()}
        cells = {k: a1(r, i) for k, i in cols.items()}
        flagged = any(cells[k] in errors or cells[k] in uncached
                      for k in cells if spec.column(k).is_input)
        if not flagged and all(v in ("", None) or (isinstance(v, str) and not v.strip())
                               for k, v in values.items() if spec.column(k).is_input):
            continue
        first = next((v for v in row[:3] if v not in ("", None)), None)
        if isinstance(first, str) and first.strip().casefold() in TOTAL_LABELS:
            continue
        raw_rows.append((r, values))
    year = _context_year(spec, raw_rows)
    for r, values in raw_rows:
        table.rows.append(_convert_row(table, r, values, cols, errors, uncached, settings,
                                       year, date1904))
    return table


def _context_year(spec: TableSpec, rows: list[tuple[int, dict[str, Any]]]) -> int:
    years: Counter[int] = Counter()
    for _, values in rows:
        for col in spec.columns:
            if col.kind in (Kind.DATE, Kind.DATETIME):
                v = values.get(col.key)
                if isinstance(v, dt.date):
                    years[v.year] += 1
                elif isinstance(v, str):
                    try:
                        d = N.to_date(v)
                    except ValueError:
                        continue
                    if d:
                        years[d.year] += 1
    return years.most_common(1)[0][0] if years else dt.date.today().year


def _convert_row(table: TableRead, r: int, values: dict[str, Any], cols: dict[str, int],
                 errors: dict[str, str], uncached: set[str], settings: Settings,
                 year: int, date1904: bool = False) -> RowRead:
    spec = table.spec
    row = RowRead(row=r + 1, values={}, cells={k: a1(r, i) for k, i in cols.items()},
                  raw=dict(values))
    for key, raw in values.items():
        col = spec.column(key)
        if not col.is_input:
            continue
        cell = row.cells[key]
        if cell in errors:
            row.raw[key] = errors[cell]
            table.findings.append(table.finding(R_ERROR, row, key, column=table.headers[key],
                                                value=errors[cell]))
            row.bad.add(key)
            row.values[key] = None
            continue
        if cell in uncached:
            table.findings.append(table.finding(R_UNCACHED, row, key,
                                                column=table.headers[key]))
            row.bad.add(key)
            row.values[key] = None
            continue
        try:
            row.values[key] = convert(col.kind, raw, year=year, date1904=date1904)
        except ValueError as exc:
            table.findings.append(table.finding(R_TYPE, row, key, column=table.headers[key],
                                                detail=exc.text(table.lang)
                                                if isinstance(exc, N.NormalizeError)
                                                else str(exc)))
            row.bad.add(key)
            row.values[key] = None
            continue
        if col.choices and isinstance(row.values[key], str):
            row.values[key] = settings.canonical(col.choices, row.values[key]) or row.values[key]
    return row


def convert(kind: Kind, value: Any, *, year: int | None = None,
            date1904: bool = False) -> Any:
    """A raw cell value normalised for a column of ``kind``; raises ValueError."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if kind is Kind.DATE:
        return N.to_date(value, year=year, date1904=date1904)
    if kind is Kind.DATETIME:
        return N.to_datetime(value, year=year, date1904=date1904)
    if kind is Kind.INT:
        return N.to_int(value)
    if kind in (Kind.AMOUNT, Kind.NUMBER, Kind.PERCENT):
        return N.to_number(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if kind is Kind.LONG_TEXT:
        return N.clean_long_text(value)
    return N.clean_text(value)


def _merged_findings(table: TableRead, merged: list[str], header_row: int) -> None:
    from xlsxwriter.utility import xl_cell_to_rowcol

    cols = set()
    for row in table.rows:
        cols.update(row.cells.values())
    col_idx = {xl_cell_to_rowcol(c)[1] for c in cols}
    for ref in merged:
        if ":" not in ref:
            continue
        start, end = ref.split(":")
        (r0, c0), (r1, c1) = xl_cell_to_rowcol(start), xl_cell_to_rowcol(end)
        if r1 > header_row and any(c0 <= c <= c1 for c in col_idx):
            table.findings.append(Finding(
                rule=R_MERGED.id, severity=R_MERGED.severity,
                message=R_MERGED.message(table.lang, range=ref), file=table.file,
                sheet=table.sheet, cell=start, row=r0 + 1))


def read_records(path: str | os.PathLike[str], spec: TableSpec,
                 settings: Settings | None = None) -> list[dict[str, Any]]:
    """Every row of ``spec`` in ``path`` as canonical values; the first problem raises."""
    from xlsales.settings import Settings as _S

    table = read_table_rows(path, spec, settings or _S.default())
    for f in table.findings:
        if f.severity == "error":
            raise WorkbookError(f.message, file=f.file, sheet=f.sheet, cell=f.cell,
                                value=f.value)
    return [{k: v for k, v in r.values.items()} for r in table.rows]
