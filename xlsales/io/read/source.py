"""Read a file someone else made (a CRM export, a home-made spreadsheet) as text columns.

CSV files are decoded as UTF-8 (with or without a byte-order mark), UTF-16 with a mark,
else GB18030 (a superset of GBK, what Chinese Excel saves CSV in); the delimiter is
sniffed. ``.xlsx``/``.xlsm``/``.xls`` files go through the same safety checks as the
team's workbooks and are read with fastexcel. The header is the first of the top rows that
fits the expected headers best (exports often carry a title row above it). Every value
comes back as text (blank: None) — types are the importer's business.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from xlsales.errors import READ, WorkbookError, cannot
from xlsales.i18n import Label

EXCEL = (".xlsx", ".xlsm", ".xls")
HEADER_SCAN = 10
CHUNK_ROWS = 20_000
_SOURCE = Label("文件", "file")


@dataclass
class SourceFile:
    """A file's header and rows as text."""

    path: Path
    sheet: str | None
    header_row: int  # 1-based line or row of the header
    headers: list[str]
    frame: pd.DataFrame  # one column per header (position), text or None
    encoding: str | None = None

    def row_number(self, position: int) -> int:
        """The file's 1-based line/row of data row ``position`` (0-based)."""
        return self.header_row + 1 + position


def detect_encoding(head: bytes) -> str:
    """The encoding of a CSV file from its first bytes."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:  # a character cut at the end of the sample
            return "utf-8"
        return "gb18030"


def read_source(path: str | os.PathLike[str], *,
                fit: Callable[[list[str]], float] | None = None,
                progress: Callable[[int], None] | None = None) -> SourceFile:
    """The header and rows of ``path``; ``fit`` scores a candidate header row (the best of
    the first rows wins), ``progress`` hears the rows read so far."""
    p = Path(path)
    if not p.is_file():
        raise WorkbookError(Label(f"找不到文件 {p}", f"no such file: {p}"), file=str(p))
    if p.suffix.lower() in EXCEL:
        return _read_excel(p, fit, progress)
    return _read_csv(p, fit, progress)


def sniff_delimiter(lines: list[str]) -> str:
    """The delimiter of a CSV file from its first lines: the candidate found most often
    on the busiest half of them (a title line above the header has none)."""
    best, best_n = ",", 0
    for sep in (",", ";", "\t", "|"):
        counts = sorted((line.count(sep) for line in lines if line.strip()), reverse=True)
        n = counts[len(counts) // 4] if counts else 0
        if n > best_n:
            best, best_n = sep, n
    return best


def _pick_header(rows: list[list[Any]], fit: Callable[[list[str]], float] | None) -> int:
    """The 0-based index of the header among the top rows."""
    def text(row: list[Any]) -> list[str]:
        return [str(v).strip() for v in row if v is not None and str(v).strip()]

    best, best_score = 0, -1.0
    for i, row in enumerate(rows[:HEADER_SCAN]):
        cells = text(row)
        if not cells:
            continue
        score = fit(cells) if fit else float(len(cells))
        if score > best_score + 1e-9 and (fit is not None or len(cells) > 1):
            best, best_score = i, score
        if fit is None and len(cells) > 1:
            return i
    return best


def _headers(row: list[Any]) -> list[str]:
    out, seen = [], {}
    for i, v in enumerate(row):
        h = "" if v is None else str(v).strip()
        h = h or f"({i + 1})"
        n = seen.get(h, 0)
        seen[h] = n + 1
        out.append(h if n == 0 else f"{h} ({n + 1})")
    return out


def _text_frame(df: pd.DataFrame, *, excel: bool = False) -> pd.DataFrame:
    """Every cell as stripped text; blanks as None (a date cell of a workbook without its
    midnight time)."""
    out = {}
    for i, col in enumerate(df.columns):
        s = df[col]
        if s.dtype.kind == "M":
            s = s.dt.strftime("%Y-%m-%d %H:%M:%S").str.replace(" 00:00:00", "", regex=False)
        else:
            s = s.astype("string")
        s = s.str.strip()
        if excel:
            s = s.str.replace(r"^(\d{4}-\d\d-\d\d) 00:00:00$", r"\1", regex=True)
        filled = (s.notna() & (s != "")).fillna(False).astype(bool)
        # object first: where() on a string column would fill with <NA>, not None
        out[i] = s.astype(object).where(filled, None)
    return pd.DataFrame(out, index=range(len(df)))


def _read_csv(p: Path, fit: Callable[[list[str]], float] | None,
              progress: Callable[[int], None] | None) -> SourceFile:
    try:
        with p.open("rb") as fh:
            head = fh.read(64 * 1024)
        encoding = detect_encoding(head)
        sample = head.decode(encoding, errors="ignore")
        sep = sniff_delimiter(sample.splitlines()[:20])
        top = list(csv.reader(io.StringIO("\n".join(sample.splitlines()[:HEADER_SCAN])),
                              delimiter=sep))
        skip = _pick_header([list(r) for r in top], fit)
        reader = pd.read_csv(p, sep=sep, encoding=encoding, dtype=str, header=None,
                             skiprows=skip, keep_default_na=False, chunksize=CHUNK_ROWS,
                             skip_blank_lines=False, on_bad_lines="error", engine="c")
        chunks = _chunks(reader, progress)
        frame = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame()
    except UnicodeDecodeError as exc:
        raise WorkbookError(Label(f"无法识别文件编码(试过 UTF-8 与 GB18030):{exc.reason}",
                                  f"cannot tell the file's encoding (tried UTF-8 and "
                                  f"GB18030): {exc.reason}"), file=str(p)) from None
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        raise WorkbookError(cannot(READ, _SOURCE, exc), file=str(p)) from None
    if frame.empty:
        raise WorkbookError(Label("文件是空的", "the file is empty"), file=str(p))
    headers = _headers(list(frame.iloc[0]))
    body = frame.iloc[1:].reset_index(drop=True)
    body.columns = range(body.shape[1])
    body = _without_footer(_text_frame(body))
    return SourceFile(p, None, skip + 1, headers, body, encoding)


_FOOTER = ("copyright (c)", "generated by", "confidential information", "©")


def _without_footer(body: pd.DataFrame) -> pd.DataFrame:
    """The data rows: blank rows dropped, and a report's footer (after a blank row, the
    rows that fill at most two cells, or that start with "Copyright (c)"…) cut off."""
    filled = body.notna().sum(axis=1)
    first = body.iloc[:, 0].fillna("").astype(str).str.strip().str.casefold() \
        if body.shape[1] else pd.Series(dtype=str)
    marked = first.str.startswith(_FOOTER)
    end = len(body)
    if marked.any():
        end = int(marked.to_numpy().nonzero()[0][0])
    blank = (filled == 0).to_numpy().nonzero()[0]
    for at in blank:
        if at >= end:
            break
        rest = filled.iloc[at + 1:end]
        if (rest <= 2).all():
            end = int(at)
            break
    body = body.iloc[:end]
    return body[body.notna().any(axis=1)].reset_index(drop=True)


def _chunks(reader: Iterator[pd.DataFrame],
            progress: Callable[[int], None] | None) -> list[pd.DataFrame]:
    out, n = [], 0
    for chunk in reader:
        out.append(chunk)
        n += len(chunk)
        if progress:
            progress(n)
    return out


def _read_excel(p: Path, fit: Callable[[list[str]], float] | None,
                progress: Callable[[int], None] | None) -> SourceFile:
    import fastexcel

    if p.suffix.lower() != ".xls":
        from xlsales.io.safety import check_workbook

        check_workbook(p)
    try:
        book = fastexcel.read_excel(str(p))
        names = book.sheet_names
        best: tuple[float, str, int, list[Any]] | None = None
        for name in names:
            top = book.load_sheet(name, header_row=None, n_rows=HEADER_SCAN,
                                  dtypes="string").to_pandas()
            rows = [[None if pd.isna(v) else v for v in r] for r in top.itertuples(index=False)]
            if not rows:
                continue
            i = _pick_header(rows, fit)
            cells = [str(v) for v in rows[i] if v is not None and str(v).strip()]
            score = fit(cells) if fit else float(len(cells))
            if best is None or score > best[0]:
                best = (score, name, i, rows[i])
        if best is None:
            raise WorkbookError(Label("文件里没有数据", "the file holds no data"), file=str(p))
        _, sheet, skip, header = best
        data = book.load_sheet(sheet, header_row=None, skip_rows=skip + 1,
                               dtypes="string").to_pandas()
    except WorkbookError:
        raise
    except Exception as exc:  # fastexcel raises its own error types
        raise WorkbookError(cannot(READ, _SOURCE, exc), file=str(p)) from None
    if progress:
        progress(len(data))
    data.columns = range(data.shape[1])
    body = _without_footer(_text_frame(data, excel=True))
    headers = _headers(header + [None] * max(0, body.shape[1] - len(header)))
    body = body.reindex(columns=range(len(headers)))
    return SourceFile(p, sheet, skip + 1, headers, body)
