"""Where a table is in a workbook: its header row found among the first rows of the
sheets, and the error that says what came closest when none is there. Plain Python (no
pandas): a reader finds its table before the frame libraries are loaded."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from xlsales.cells import col_letters
from xlsales.errors import TableNotFoundError
from xlsales.i18n import Label, Lang
from xlsales.tables.base import Column, TableSpec, header_key

HEADER_SCAN_ROWS = 30


def match_header(row: list[Any], lookup: dict[str, str]) -> dict[str, int]:
    """The column of each key whose header appears in ``row``."""
    from xlsales.tables.base import header_key_without_unit

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


@lru_cache(maxsize=256)
def _lookup(columns: tuple[Column, ...]) -> dict[str, str]:
    from xlsales.tables.base import header_lookup

    return header_lookup(columns)


def locate(sheets: dict[str, list[list[Any]]], spec: TableSpec, *, sheet: str | None = None,
           scan_rows: int = HEADER_SCAN_ROWS) -> tuple[str, int, dict[str, int]] | None:
    """(sheet, 0-based header row, column of each key) of ``spec`` among value grids
    (the first rows of each sheet are enough)."""
    lookup = _lookup(spec.columns)
    required = {c.key for c in spec.columns if c.required and c.is_input}
    best: tuple[tuple[int, int], str, int, dict[str, int]] | None = None
    own_names = set(spec.sheet.all())
    for name, data in sheets.items():
        if sheet is not None and name != sheet:
            continue
        for r, row in enumerate(data[:scan_rows]):
            cols = match_header(list(row), lookup)
            score = (len(cols), name in own_names)  # ties go to the table's own sheet
            if required <= cols.keys() and (best is None or score > best[0]):
                best = (score, name, r, cols)
    return None if best is None else (best[1], best[2], best[3])


@dataclass(frozen=True)
class NearMiss:
    """The header row that came closest to a table without being one: where it is, which
    table it resembles, which of its columns it named and which required ones it lacks."""

    sheet: str
    row: int  # 0-based
    spec: TableSpec
    cols: dict[str, int]
    missing: tuple[str, ...]  # required input columns not found, in the table's order

    @property
    def cell(self) -> str:
        """The first header cell of the row that named a column (``B3``)."""
        return f"{col_letters(min(self.cols.values()))}{self.row + 1}"


def nearest_header(sheets: dict[str, list[list[Any]]], specs: Iterable[TableSpec], *,
                   scan_rows: int = HEADER_SCAN_ROWS) -> NearMiss | None:
    """The row of the value grids that names the most headers of any of ``specs`` (ties:
    the fewest required headers missing, then the first sheet and row); None when no row
    names a single one. What a reader says when it finds no table at all."""
    best: tuple[tuple[int, int], NearMiss] | None = None
    for spec in specs:
        lookup = _lookup(spec.columns)
        required = [c.key for c in spec.columns if c.required and c.is_input]
        for name, data in sheets.items():
            for r, row in enumerate(data[:scan_rows]):
                cols = match_header(list(row), lookup)
                if not cols:
                    continue
                missing = tuple(k for k in required if k not in cols)
                score = (len(cols), -len(missing))
                if best is None or score > best[0]:
                    best = (score, NearMiss(name, r, spec, cols, missing))
    return None if best is None else best[1]


def no_table_found(heads: dict[str, list[list[Any]]], specs: Sequence[TableSpec], *,
                   file: str) -> TableNotFoundError:
    """The error of a workbook holding none of ``specs``: the sheet and header row that came
    closest (which table it resembles, the headers it lacks) and the headers expected; or,
    when no row names a single known header, the sheets looked at and what each table
    needs."""
    single = specs[0] if len(specs) == 1 else None
    lead = (Label(f"没有找到「{single.title('zh')}」表", f"no {single.title('en')} table found")
            if single else Label("没有找到 xlsales 的表", "no xlsales table found"))
    near = nearest_header(heads, specs)
    if near is None:
        names = list(heads)
        looked = (Label("工作簿里没有可查看的工作表", "the workbook has no sheet to look at")
                  if not names else Label(
                      f"查看了工作表{'、'.join(f'「{n}」' for n in names)}的前 "
                      f"{HEADER_SCAN_ROWS} 行，没有一行含有已知的表头",
                      f"looked at the first {HEADER_SCAN_ROWS} rows of sheet "
                      f"{', '.join(repr(n) for n in names)}: no row holds a known header"))
        needs = Label("；".join(f"{s.title('zh')}（{'、'.join(_required(s, 'zh'))}）"
                               for s in specs),
                      "; ".join(f"{s.title('en')} ({', '.join(_required(s, 'en'))})"
                                for s in specs))
        return TableNotFoundError(Label(
            f"{lead.zh}：{looked.zh}。需要的表头（必需）：{needs.zh}",
            f"{lead.en}: {looked.en}. Headers expected (required): {needs.en}"),
            file=file, sheet=names[0] if len(names) == 1 else None)
    spec, row = near.spec, heads[near.sheet][near.row]
    seen = [str(row[i]).strip() for _, i in sorted(near.cols.items(), key=lambda kv: kv[1])]
    missing = {lang: [spec.column(k).header(lang) for k in near.missing]
               for lang in ("zh", "en")}
    expected = {lang: [c.header(lang) for c in spec.input_columns] for lang in ("zh", "en")}
    return TableNotFoundError(Label(
        f"{lead.zh}：最接近的表头行是工作表「{near.sheet}」第 {near.row + 1} 行，像"
        f"「{spec.title('zh')}」（认出 {'、'.join(seen)}），但缺少表头 "
        f"{'、'.join(missing['zh']) or '—'}。这张表的表头：{'、'.join(expected['zh'])}"
        f"（必需：{'、'.join(_required(spec, 'zh'))}）",
        f"{lead.en}: the closest header row is row {near.row + 1} of sheet "
        f"'{near.sheet}', like the {spec.title('en')} table (recognised "
        f"{', '.join(seen)}) but missing the headers {', '.join(missing['en']) or '-'}. "
        f"That table's headers: {', '.join(expected['en'])} (required: "
        f"{', '.join(_required(spec, 'en'))})"),
        file=file, sheet=near.sheet, cell=near.cell)


def _required(spec: TableSpec, lang: Lang) -> list[str]:
    return [c.header(lang) for c in spec.input_columns if c.required]
