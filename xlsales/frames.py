"""Business tables as pandas DataFrames: what a reader hands over, and the table read.

A reader engine (:mod:`xlsales.io.read`) turns a sheet into a :class:`RawTable`: for each
column it found by header, the values its typed load could take (numbers as float64,
dates as datetime64, text as strings), the cells it refused with their raw values (text
in a number column, ``#N/A``), and the cells holding a formula without a result.
:func:`build_table` applies the normalisation policy (:mod:`xlsales.normalize`) column by
column — a vectorised path for clean cells, the per-cell normaliser only for the refused
ones — and gives a :class:`Table`: one canonical DataFrame indexed by the Excel row
number, the findings reading produced, and what a finding needs to name its cell.

Nothing here imports an Excel library.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from xlsales import normalize as N
from xlsales.cells import col_letters, range_bounds
from xlsales.findings import Finding, Rule
from xlsales.headers import (  # noqa: F401  (where tables are found, for this module's users)
    HEADER_SCAN_ROWS,
    NearMiss,
    locate,
    match_header,
    nearest_header,
    no_table_found,
)
from xlsales.i18n import Lang
from xlsales.tables.base import (
    DATE_KINDS,
    NUMBER_KINDS,
    Kind,
    TableSpec,
    header_key,
    unit_conversion,
)

if TYPE_CHECKING:
    from xlsales.settings import Lookups, Settings

TOTAL_LABELS = {"合计", "总计", "小计", "total", "totals", "sum"}
DATETIME = "datetime64[ms]"
FIRST_DAY = pd.Timestamp("1900-01-01")
LAST_DAY = pd.Timestamp("9999-12-31 23:59:59")  # Excel's last day
EXCEL_EPOCH = pd.Timestamp("1899-12-30")

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
R_RESPELLED = Rule(id="cell.name_spacing", severity="warning",
                   zh="{column}:'{shown}' 按名单读作 {name}(名字里的空格或不可见字符已忽略)",
                   en="{column}: '{shown}' read as {name} from the list (spaces or invisible "
                      "characters in the name ignored)")
RULES = (R_TYPE, R_ERROR, R_UNCACHED, R_MERGED, R_HUGE, R_RESPELLED)


@dataclass
class RawColumn:
    """One column of a sheet, as the typed load saw it (positions count from the first
    row under the header)."""

    key: str
    col: int
    header: str
    values: pd.Series
    rejected: dict[int, Any] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)
    uncached: set[int] = field(default_factory=set)


@dataclass
class RawTable:
    """A table found in a sheet: its header and its columns, not yet normalised."""

    file: str
    sheet: str
    header_row: int  # 0-based
    n: int
    columns: dict[str, RawColumn]
    headers: dict[str, str]  # every matched column, formula columns too
    cols: dict[str, int]
    lead: list[pd.Series] = field(default_factory=list)  # columns A-C that are not mapped
    date1904: bool = False
    merged: list[str] = field(default_factory=list)
    huge: bool = False


# -- the table read ----------------------------------------------------------------------


@dataclass
class RowView:
    """One data row as Python values (for code that works row by row)."""

    row: int
    values: dict[str, Any]
    cells: dict[str, str]
    raw: dict[str, Any]
    bad: set[str]

    def get(self, key: str) -> Any:
        return self.values.get(key)


@dataclass
class Table:
    """A table read from a sheet: canonical values by Excel row, and what reading found."""

    spec: TableSpec
    file: str
    sheet: str
    header_row: int  # 1-based
    headers: dict[str, str]
    df: pd.DataFrame
    cols: dict[str, int] = field(default_factory=dict)
    lang: Lang = "zh"
    findings: list[Finding] = field(default_factory=list)
    bad: dict[str, set[int]] = field(default_factory=dict)
    raw_cells: dict[tuple[str, int], Any] = field(default_factory=dict)
    source: dict[str, pd.Series] = field(default_factory=dict)
    derived: dict[Any, Any] = field(default_factory=dict)  # figures computed once per table

    def once(self, key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()``, remembered under ``key`` for the life of this table."""
        if key not in self.derived:
            self.derived[key] = compute()
        return self.derived[key]

    # -- cells -------------------------------------------------------------------------

    def cell(self, key: str, row: int) -> str | None:
        """A1 address of column ``key`` in Excel row ``row``."""
        col = self.cols.get(key)
        return None if col is None else f"{col_letters(col)}{row}"

    def raw(self, key: str, row: int) -> Any:
        """The cell as it stood in the sheet ('' when blank)."""
        if (key, row) in self.raw_cells:
            return self.raw_cells[(key, row)]
        src = self.source.get(key)
        if src is None or row not in src.index:
            return ""
        return _python(src.at[row], self.spec.column(key).kind, raw=True)

    def is_bad(self, key: str) -> pd.Series:
        """Rows whose ``key`` cell could not be read (a boolean mask over ``df``)."""
        rows = self.bad.get(key)
        if not rows:
            return pd.Series(False, index=self.df.index)
        return pd.Series(self.df.index.isin(list(rows)), index=self.df.index)

    def finding(self, rule: Rule, row: int | RowView | None, key: str | None,
                **params: Any) -> Finding:
        """A finding of ``rule`` at ``row``'s cell of column ``key``."""
        if isinstance(row, RowView):
            row = row.row
        return Finding.trusted(
            rule=rule.id, severity=rule.severity, message=rule.message(self.lang, **params),
            file=self.file, sheet=self.sheet,
            cell=self.cell(key, row) if row is not None and key else None,
            column=self.headers.get(key) if key else None,
            value=self.raw(key, row) if row is not None and key else None,
            row=None if row is None else int(row))

    def findings_at(self, rule: Rule, rows: Iterable[int], key: str,
                 params: Iterable[dict[str, Any]]) -> list[Finding]:
        """Findings of ``rule`` at column ``key`` of many rows (cells and raw values looked
        up for all of them at once)."""
        rows = [int(r) for r in rows]
        if not rows:
            return []
        letters = col_letters(self.cols[key]) if key in self.cols else None
        kind = self.spec.column(key).kind
        src = self.source.get(key)
        raws = _raw_values(src.reindex(rows), kind) if src is not None else [""] * len(rows)
        column = self.headers.get(key)
        out = []
        for row, raw, p in zip(rows, raws, params, strict=True):
            value = self.raw_cells.get((key, row), None)
            if value is None and (key, row) not in self.raw_cells:
                value = raw
            out.append(Finding.trusted(
                rule.id, rule.severity, rule.message(self.lang, **p), self.file, self.sheet,
                f"{letters}{row}" if letters else None, column, value, row))
        return out

    # -- rows as Python values ------------------------------------------------------------

    def records(self, *, with_row: bool = False) -> list[dict[str, Any]]:
        """Every row as a dict of canonical Python values (None for blanks)."""
        return records(self.df, self.spec, with_row=with_row)

    @property
    def rows(self) -> list[RowView]:
        """Every row as a :class:`RowView` (row by row; not for large tables)."""
        keys = [c.key for c in self.spec.input_columns]
        out = []
        for rec in self.records(with_row=True):
            row = rec.pop("_row")
            out.append(RowView(
                row=row, values={k: rec[k] for k in keys if k in self.headers},
                cells={k: c for k in self.headers if (c := self.cell(k, row))},
                raw={k: self.raw(k, row) for k in self.headers},
                bad={k for k, rows in self.bad.items() if row in rows}))
        return out

    def __len__(self) -> int:
        return len(self.df)


def _python(value: Any, kind: Kind, *, raw: bool = False) -> Any:
    """A frame value as the Python value records carry."""
    if value is None or value is pd.NA or value is pd.NaT:
        return "" if raw else None
    if isinstance(value, float) and np.isnan(value):
        return "" if raw else None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
        if kind is Kind.DATE and (not raw or value.time() == dt.time()):
            return value.date()
        return value
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _raw_values(values: pd.Series, kind: Kind) -> list[Any]:
    """``[_python(v, kind, raw=True) for v in values]``; a column of datetimes converted
    at once."""
    if values.dtype.kind != "M":
        return [_python(v, kind, raw=True) for v in values.tolist()]
    midnight = dt.time()
    return ["" if v is pd.NaT else v.date() if kind is Kind.DATE and v.time() == midnight
            else v for v in values.dt.to_pydatetime().tolist()]


def records(df: pd.DataFrame, spec: TableSpec, *, with_row: bool = False,
            keys: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Rows of a canonical frame as dicts of Python values (dates as ``datetime.date``)."""
    keys = [k for k in (keys or [c.key for c in spec.input_columns]) if k in df.columns]
    columns: dict[str, list[Any]] = {}
    for key in keys:
        kind = spec.column(key).kind
        s = df[key]
        if kind is Kind.DATE:
            values = [None if pd.isna(v) else v.date() for v in s]
        elif kind is Kind.DATETIME:
            values = [None if pd.isna(v) else v.to_pydatetime() for v in s]
        elif kind is Kind.INT:
            values = [None if pd.isna(v) else int(v) for v in s.astype(object)]
        elif kind in NUMBER_KINDS:
            values = [None if v != v else float(v) for v in s.tolist()]
        else:
            values = [None if (v is None or v != v) else v for v in s.astype(object).tolist()]
        columns[key] = values
    out = [dict(zip(keys, vals, strict=True)) for vals in zip(*columns.values(), strict=True)] \
        if keys else [{} for _ in range(len(df))]
    if with_row:
        for rec, row in zip(out, df.index.tolist(), strict=True):
            rec["_row"] = int(row)
    return out


def frame(rows: Iterable[dict[str, Any]] | pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """A canonical frame of ``spec`` from records (or a frame, returned as is): every
    input column, in the dtype of its kind. The index is ``_row`` where records carry it."""
    if isinstance(rows, pd.DataFrame):
        return rows
    rows = list(rows)
    data: dict[str, Any] = {}
    for col in spec.input_columns:
        values = [r.get(col.key) for r in rows]
        data[col.key] = _series(values, col.kind)
    index = pd.Index([r.get("_row", i) for i, r in enumerate(rows)], name="row")
    df = pd.DataFrame(data, index=range(len(rows)))
    df.index = index
    return df


def _series(values: list[Any], kind: Kind) -> pd.Series:
    if kind in DATE_KINDS:
        return pd.Series(pd.to_datetime([v if v not in ("",) else None for v in values]),
                         dtype=DATETIME)
    if kind is Kind.INT:
        return pd.Series([None if v in (None, "") else int(v) for v in values], dtype="Int64")
    if kind in NUMBER_KINDS:
        return pd.Series([np.nan if v in (None, "") else float(v) for v in values],
                         dtype="float64")
    return pd.Series([None if v in (None, "") else str(v) for v in values], dtype="str")


def empty_column(kind: Kind, n: int) -> pd.Series:
    """A column of ``n`` blanks in the dtype of ``kind``."""
    if kind in DATE_KINDS:
        return pd.Series(pd.NaT, index=range(n), dtype=DATETIME)
    if kind is Kind.INT:
        return pd.Series(pd.NA, index=range(n), dtype="Int64")
    if kind in NUMBER_KINDS:
        return pd.Series(np.nan, index=range(n), dtype="float64")
    return pd.Series(np.nan, index=range(n), dtype="str")


# -- normalisation: raw → canonical ---------------------------------------------------------


def _blank(s: pd.Series) -> pd.Series:
    """Blank cells of a typed column: missing, or text of spaces only."""
    if s.dtype == "str" or s.dtype == object:
        text = s.astype("str")
        return (s.isna() | text.eq("") | text.str.isspace()).fillna(True).astype(bool)
    return s.isna()


def _blank_array(s: pd.Series) -> np.ndarray:
    """:func:`_blank` as a numpy array; a column of Arrow strings is looked at in Arrow
    (three passes over its data, no pandas objects in between)."""
    strings = N._arrow_strings(s)
    if strings is None:
        return np.array(_blank(s).to_numpy(dtype=bool, na_value=True))
    import pyarrow.compute as pc

    filled = pc.or_(pc.equal(pc.binary_length(strings), 0), pc.utf8_is_space(strings))
    return np.array(pc.or_kleene(pc.is_null(strings), filled).to_numpy(zero_copy_only=False),
                    dtype=bool)


def detect_lang(spec: TableSpec, headers: dict[str, str], lang: Lang | None) -> Lang:
    """The table's language: zh when at least half its headers are the Chinese ones, or
    Chinese aliases (``业务员``, ``明日计划``)."""
    if lang:
        return lang
    zh_hits = sum(header_key(t) == header_key(spec.column(k).label.zh) or _is_cjk(t)
                  for k, t in headers.items())
    return "zh" if zh_hits * 2 >= len(headers) else "en"


def _is_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def build_table(raw: RawTable, spec: TableSpec, settings: Settings, *,
                lang: Lang | None = None, stop_at_blank: bool = False) -> Table:
    """Normalise a raw table into a :class:`Table` (see the module docstring)."""
    n = raw.n
    lang_ = detect_lang(spec, raw.headers, lang)
    inputs = {k: c for k, c in raw.columns.items() if spec.column(k).is_input}
    blank = np.ones(n, dtype=bool)
    flagged = np.zeros(n, dtype=bool)
    for c in inputs.values():
        b = _blank_array(c.values)
        for p, v in c.rejected.items():
            if not (isinstance(v, str) and not v.strip()):
                b[p] = False
        blank &= b
        for p in (*c.errors, *c.uncached):
            flagged[p] = True
    end = n
    if stop_at_blank:
        everything = blank.copy()
        for s in raw.lead:
            everything &= _blank_array(s)
        stops = np.flatnonzero(everything & ~flagged)
        end = int(stops[0]) if len(stops) else n
    keep = (~blank | flagged)
    keep[end:] = False
    keep &= ~_totals(raw, inputs, n)
    positions = np.flatnonzero(keep)
    excel_rows = positions + raw.header_row + 2
    year = _context_year(spec, inputs, positions)
    table = Table(spec=spec, file=raw.file, sheet=raw.sheet, header_row=raw.header_row + 1,
                  headers=dict(raw.headers), df=pd.DataFrame(index=pd.Index(excel_rows,
                                                                             name="row")),
                  cols=dict(raw.cols), lang=lang_)
    findings: list[tuple[int, int, Finding]] = []
    data: dict[str, pd.Series] = {}
    lookups = settings.lookups()
    offset = raw.header_row + 2  # position → Excel row
    everything = len(positions) == n  # every row kept: the columns are not copied
    for col in spec.input_columns:
        rc = inputs.get(col.key)
        if rc is None:
            data[col.key] = empty_column(col.kind, len(positions)).set_axis(table.df.index)
            continue
        values = (rc.values if everything else rc.values.iloc[positions]).set_axis(
            table.df.index)
        table.source[col.key] = values
        canon, odd = _normalise(values, col.kind)
        refused = {p + offset: v for p, v in rc.rejected.items() if keep[p]}
        refused.update(odd)
        errors = {p + offset: v for p, v in rc.errors.items() if keep[p]}
        uncached = {p + offset for p in rc.uncached if keep[p]}
        header = raw.headers[col.key]
        conversion = unit_conversion(header, col)  # 成交金额(元) over a 万元 column
        unit = conversion[0] if conversion else None
        bad_rows: set[int] = set()
        fixes: dict[int, Any] = {}
        for row in sorted({*refused, *errors, *uncached}):
            cell = f"{col_letters(rc.col)}{row}"
            if row in errors:
                table.raw_cells[(col.key, row)] = errors[row]
                findings.append((row, rc.col, _read_finding(
                    table, R_ERROR, row, cell, header, errors[row])))
            elif row in uncached:
                findings.append((row, rc.col, _read_finding(
                    table, R_UNCACHED, row, cell, header, table.raw(col.key, row))))
            else:
                value = refused[row]
                table.raw_cells[(col.key, row)] = value
                try:
                    fixes[row] = N.convert(col.kind, value, year=year, date1904=raw.date1904,
                                           unit=unit)
                    continue
                except ValueError as exc:
                    detail = exc.text(lang_) if isinstance(exc, N.NormalizeError) else str(exc)
                    findings.append((row, rc.col, _read_finding(
                        table, R_TYPE, row, cell, header, value, detail=detail)))
            bad_rows.add(row)
            fixes[row] = None
        if fixes:
            canon = _patch(canon, fixes, col.kind)
        if conversion:  # read in the header's unit, kept in the column's
            canon = canon * conversion[1] / conversion[2]
        if col.canonical is not None:
            canon = col.canonical(canon)
        if col.choices:
            # as typed: a zero-width character is gone from the canonical value
            for row, (value, name) in _respelled(lookups, col.choices, values).items():
                findings.append((row, rc.col, _read_finding(
                    table, R_RESPELLED, row, f"{col_letters(rc.col)}{row}", header, value,
                    name=name, shown=N.visible(value))))
            canon = lookups.canonical_series(col.choices, canon)
        data[col.key] = canon
        if bad_rows:
            table.bad[col.key] = bad_rows
    table.df = pd.DataFrame(data, index=table.df.index)
    if raw.huge:
        findings.append((1 << 30, 0, table.finding(R_HUGE, None, None, range="XFD1048576")))
    findings.sort(key=lambda x: (x[0], x[1]))
    table.findings = [f for _, _, f in findings] + _merged_findings(table, raw, positions)
    return table


def _respelled(lookups: Lookups, choices: str, values: pd.Series) -> dict[int, tuple[str, str]]:
    """Rows (Excel row → (value, list value)) whose value matches a list value only once
    spaces and zero-width characters are ignored; each distinct value looked at once."""
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        codes, uniques = values.factorize()
        found = {i: name for i, v in enumerate(uniques)
                 if isinstance(v, str) and (name := lookups.respelling(choices, v))}
        if found:
            hit = np.isin(codes, list(found))
            return {int(r): (str(v), found[c]) for r, v, c in
                    zip(values.index[hit], values[hit], codes[hit], strict=True)}
    return {}


def _read_finding(table: Table, rule: Rule, row: int, cell: str, header: str, value: Any,
                  **params: Any) -> Finding:
    return Finding.trusted(
        rule=rule.id, severity=rule.severity,
        message=rule.message(table.lang, column=header, value=value, **params),
        file=table.file, sheet=table.sheet, cell=cell, column=header, value=value, row=int(row))


INT_LIMIT = 2.0 ** 53  # whole numbers a float holds exactly; larger ones are no count


def _normalise(values: pd.Series, kind: Kind) -> tuple[pd.Series, dict[int, Any]]:
    """Canonical values of the clean cells (by Excel row), and the rows (with their raw
    values) the vectorised path leaves to the per-cell normaliser."""
    odd: dict[int, Any] = {}
    if kind in DATE_KINDS:
        s = values.astype(DATETIME)
        early = s < FIRST_DAY
        if early.any():
            times = early & (s >= EXCEL_EPOCH)  # a serial under 1: a time of day, no date
            odd = {int(r): v.to_pydatetime().time() for r, v in s[times].items()}
            before = early & ~times  # a negative serial: before Excel's calendar, a finding
            if before.any():
                serial = (s[before] - EXCEL_EPOCH) / pd.Timedelta(days=1)
                odd.update({int(r): float(v) for r, v in serial.items()})
            s = s.mask(early)
        late = s > LAST_DAY
        if late.any():  # past Excel's calendar (a huge serial): no date, a finding
            serial = (s[late] - EXCEL_EPOCH) / pd.Timedelta(days=1)
            odd.update({int(r): float(v) for r, v in serial.items()})
            s = s.mask(late)
        return (s.dt.floor("D") if kind is Kind.DATE else s), odd
    if kind in NUMBER_KINDS:
        s = values.astype("float64")
        if kind is not Kind.INT:
            return s, odd
        frac = s.notna() & ((s != np.floor(s)) | (s.abs() > INT_LIMIT))  # 1e308 is no count
        if frac.any():
            odd = {int(r): float(v) for r, v in s[frac].items()}
            s = s.mask(frac)
        return s.astype("Int64"), odd
    s = values.astype("str")
    return (N.clean_long_text_series(s) if kind is Kind.LONG_TEXT
            else N.clean_text_series(s)), odd


def _patch(canon: pd.Series, fixes: dict[int, Any], kind: Kind) -> pd.Series:
    """``canon`` with the per-cell normaliser's results put in."""
    out = canon.copy()
    if kind in DATE_KINDS:
        vals = [pd.NaT if v is None else pd.Timestamp(v) for v in fixes.values()]
        out.loc[list(fixes)] = pd.Series(vals, index=list(fixes), dtype=DATETIME)
    elif kind in NUMBER_KINDS:
        out.loc[list(fixes)] = [pd.NA if v is None and kind is Kind.INT
                                else (np.nan if v is None else v) for v in fixes.values()]
    else:
        out.loc[list(fixes)] = [np.nan if v is None else v for v in fixes.values()]
    return out.astype(canon.dtype)


def _totals(raw: RawTable, inputs: dict[str, RawColumn], n: int) -> np.ndarray:
    """Rows whose first non-empty cell among columns A-C is a totals label (合计 …)."""
    by_col: dict[int, tuple[pd.Series, dict[int, Any]]] = {}
    for c in inputs.values():
        if c.col <= 2:
            by_col[c.col] = (c.values, c.rejected)
    for s in raw.lead:
        col = int(s.name) if isinstance(s.name, int | np.integer) else -1
        if 0 <= col <= 2 and col not in by_col:
            by_col[col] = (s, {})
    decided = np.zeros(n, dtype=bool)
    total = np.zeros(n, dtype=bool)
    for col in sorted(by_col):
        s, rejected = by_col[col]
        present = ~_blank_array(s)
        labels = (_total_labels(s.astype("str").reset_index(drop=True))
                  if s.dtype == "str" or s.dtype == object else np.zeros(n, dtype=bool))
        if rejected:  # the cells the typed load refused, as their raw text (all at once)
            at = np.fromiter(rejected, dtype=np.intp, count=len(rejected))
            present[at] = True
            labels[at] = _total_labels(pd.Series(
                [v if isinstance(v, str) else None for v in rejected.values()], dtype="str"))
        total |= present & ~decided & labels
        decided |= present
    return total


def _total_labels(text: pd.Series) -> np.ndarray:
    """Which cells of a text column hold a totals label (合计, Total …); a column of few
    distinct values (names) is looked at value by distinct value."""
    codes, uniques = pd.factorize(text)
    if len(uniques) * 4 < len(text):
        found = _labels_of(pd.Series(uniques, dtype=text.dtype))
        return np.append(found, False)[codes]
    return _labels_of(text)


def _labels_of(text: pd.Series) -> np.ndarray:
    """:func:`_total_labels` cell by cell."""
    short = (text.str.len() <= 16).fillna(False).astype(bool)  # labels are short
    labels = np.zeros(len(text), dtype=bool)
    if short.any():
        # lower() is vectorised where casefold() is not; the labels are ASCII and CJK
        labels[short.to_numpy()] = text[short].str.strip().str.lower().isin(
            TOTAL_LABELS).to_numpy(dtype=bool, na_value=False)
    return labels


def _context_year(spec: TableSpec, inputs: dict[str, RawColumn],
                  positions: np.ndarray) -> int:
    """The year most dates of the table fall in (completes ``3月5日``)."""
    years: Counter[int] = Counter()
    kept: np.ndarray | None = None
    for col in spec.columns:
        rc = inputs.get(col.key)
        if rc is None or col.kind not in DATE_KINDS:
            continue
        s = rc.values if len(positions) == len(rc.values) else rc.values.iloc[positions]
        if s.dtype.kind == "M":
            years.update(s.dt.year.dropna().astype(int).value_counts().to_dict())
        if kept is None:
            kept = np.zeros(len(rc.values), dtype=bool)
            kept[positions] = True
        for p, v in rc.rejected.items():
            if kept[p] and isinstance(v, str):
                try:
                    d = N.to_date(v)
                except ValueError:
                    continue
                if d:
                    years[d.year] += 1
    return years.most_common(1)[0][0] if years else dt.date.today().year


def _merged_findings(table: Table, raw: RawTable, positions: np.ndarray) -> list[Finding]:
    if not raw.merged or not len(positions):
        return []
    cols = set(raw.cols.values())
    out = []
    for ref in raw.merged:
        if ":" not in ref:
            continue
        (r0, c0), (r1, c1) = range_bounds(ref)
        if r1 > raw.header_row and any(c0 <= c <= c1 for c in cols):
            out.append(Finding(rule=R_MERGED.id, severity=R_MERGED.severity,
                               message=R_MERGED.message(table.lang, range=ref), file=table.file,
                               sheet=table.sheet, cell=ref.split(":")[0], row=r0 + 1))
    return out
