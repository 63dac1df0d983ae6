"""How the sheets xlsales writes look on paper: the page setup a manager would choose,
column widths that fit their content, row heights that fit wrapped text, and the scale and
manual page breaks that keep key figures and charts on one page.

Nothing is measured with a font: widths are estimated in Excel's unit, the width of a
digit of the default font (Calibri 11: 7 pixels), where a CJK or full-width character
counts a little more than two (it is one em wide, 14.7 pixels at 11 pt). The estimates
err on the generous side, so wrapped text gets the room it needs in Excel and in
LibreOffice (with Carlito, the metric twin of Calibri).

Page setup: A4, margins for a header (team, sheet, period) and a footer (page n / N).
A sheet without manual page breaks prints one page wide (``fitToWidth=1``,
``fitToHeight=0``). Excel ignores manual page breaks under "fit to", so a sheet that needs
them — the weekly sheet's key figures before its detail columns, charts that must not be
cut — gets the scale that fit-to-width would give, computed here ("adjust to n %").
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np

MDW = 7.0  # px: the maximum digit width of Calibri 11, Excel's unit of column width
WIDE = 2.1  # a CJK / full-width character, in digit widths (one em at 11 pt = 14.7 px)
PAD_PX = 6  # the cell's inner padding, both sides
LINE_PT = 15.0  # the height of a line of 11 pt text (Excel's default row)
MAX_ROW_PT = 409.0  # Excel's highest row
MIN_WIDTH, MAX_WIDTH = 8.0, 60.0  # sensible column widths, in characters
DETAIL_MAX_WIDTH = 100.0  # a long-text column on pages of its own may be this wide
PAPER_IN = (8.27, 11.69)  # A4 portrait, inches
MARGINS = {"left": 0.4, "right": 0.4, "top": 0.7, "bottom": 0.7, "header": 0.3,
           "footer": 0.3}
SAFETY = 0.92  # of the body: LibreOffice and printers take a little more than Excel says
MIN_SCALE = 40
FOOTER = "&C&P / &N"
_LATIN_WORD = re.compile(r"[^\s\u2e80-\uffff]{4,}")
_TOKEN = re.compile(r"[^\s\u2e80-\uffff]+|[\u2e80-\uffff]| +")


# -- text ------------------------------------------------------------------------------------

def text_units(text: str) -> float:
    """The width of ``text`` in digit widths: CJK and other wide characters (three bytes
    in UTF-8) count :data:`WIDE`, two-byte ones (accents, Greek …) 1.55, ASCII one —
    capitals a little more, spaces, punctuation and the thin letters a little less."""
    data = text.encode("utf-8")
    n = len(text)
    wide = (len(data) - n) / 2  # each three-byte character one, two-byte ones half
    narrow = len(data) - len(data.translate(None, _NARROW))
    upper = len(data) - len(data.translate(None, _UPPER))
    return n - wide + WIDE * wide - 0.4 * narrow + 0.25 * upper


_NARROW = b" ,.:;'!|()[]-/ijlftr"  # about 0.6 of a digit in Calibri
_UPPER = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # about 1.25 (M, W: more; I, J: less)


def width_px(width: float) -> int:
    """A column ``width`` characters wide, in pixels (as Excel rounds it)."""
    return int(width * MDW + 5)


def width_pt(width: float) -> float:
    return width_px(width) * 0.75


def capacity(width: float, size: float = 11.0) -> float:
    """How many digit widths of ``size``-point text a line of a column holds."""
    return max((width_px(width) - PAD_PX) / MDW * 11.0 / size, 1.0)


def text_lines(text: Any, width: float, *, size: float = 11.0, bold: bool = False) -> int:
    """How many lines ``text`` wraps to in a column ``width`` characters wide: CJK breaks
    anywhere, other words only at spaces (a word longer than the line breaks anyway)."""
    if not isinstance(text, str) or not text:
        return 1
    cap = capacity(width, size) / (1.08 if bold else 1.0)
    if len(text) * WIDE <= cap and "\n" not in text:
        return 1  # fits however wide its characters are
    lines = 0
    for para in text.split("\n"):
        units = text_units(para)
        if units <= cap:
            lines += 1
        elif _LATIN_WORD.search(para) is None:  # CJK and short tokens: breaks anywhere
            lines += math.ceil(units / max(cap - WIDE, 1.0))
        else:
            lines += _greedy(para, cap)
    return lines


class TextColumn(list):  # type: ignore[type-arg]
    """The values of a text column as its cells hold them (texts, None for a blank) that
    also keep the same texts as an Arrow array (``arrow``: ``""`` where a cell is blank)
    and measure them once (:meth:`metrics`), however often a sheet's layout asks: its
    widths, its rows' heights, again at another scale. :meth:`part` is a slice that keeps
    both."""

    def __init__(self, values: Iterable[Any], arrow: Any,
                 metrics: dict[str, np.ndarray] | None = None) -> None:
        super().__init__(values)
        self.arrow = arrow
        self._metrics = metrics

    def metrics(self) -> dict[str, np.ndarray]:
        """Per text: ``chars`` and UTF-8 ``data`` lengths, ``units`` (its
        :func:`text_units`) and ``odd`` (several paragraphs or a long Latin word: measured
        text by text); 0 and False for a blank."""
        if self._metrics is None:
            self._metrics = _text_metrics(self.arrow)
        return self._metrics

    def part(self, start: int, end: int) -> TextColumn:
        """The values ``start:end`` (measured with the whole column, once)."""
        return TextColumn(self[start:end], self.arrow.slice(start, end - start),
                          {k: v[start:end] for k, v in self.metrics().items()})


def _text_metrics(arr: Any) -> dict[str, np.ndarray]:
    """:meth:`TextColumn.metrics` of an Arrow array of texts."""
    import pyarrow.compute as pc

    def counts(values: Any) -> np.ndarray:
        return pc.fill_null(values, 0).to_numpy(zero_copy_only=False)

    chars = counts(pc.utf8_length(arr))
    data = counts(pc.binary_length(arr))
    narrow = counts(pc.count_substring_regex(arr, _NARROW_RE))
    upper = counts(pc.count_substring_regex(arr, "[A-Z]"))
    wide = (data - chars) / 2
    units = chars - wide + WIDE * wide - 0.4 * narrow + 0.25 * upper
    odd = pc.fill_null(pc.or_(pc.match_substring(arr, "\n"),
                              pc.match_substring_regex(arr, _LATIN_WORD_RE)), False)
    return {"chars": chars, "data": data, "units": units,
            "odd": odd.to_numpy(zero_copy_only=False)}


def texts_lines(texts: Sequence[Any], width: float, *, size: float = 11.0) -> np.ndarray:
    """:func:`text_lines` of every value of ``texts`` at once (0 for a blank or not a
    text): one paragraph of CJK and short tokens — nearly every cell — is measured over
    the whole column with Arrow (once, for a :class:`TextColumn`); the rest (several
    paragraphs, long Latin words) text by text."""
    if isinstance(texts, TextColumn):
        metrics = texts.metrics()
    else:
        import pyarrow as pa

        arr = pa.array(texts, from_pandas=True) if len(texts) else pa.array([], pa.string())
        if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
            out = np.zeros(len(texts), dtype=np.int64)  # a mixed column: one by one
            for i, v in enumerate(texts):
                if isinstance(v, str) and v:
                    out[i] = text_lines(v, width, size=size)
            return out
        metrics = _text_metrics(arr)
    cap = capacity(width, size)
    chars, units = metrics["chars"], metrics["units"]
    lines = np.where((chars * WIDE <= cap) | (units <= cap), 1,
                     np.ceil(units / max(cap - WIDE, 1.0))).astype(np.int64)
    lines[chars == 0] = 0
    for i in np.flatnonzero(metrics["odd"]).tolist():
        lines[i] = text_lines(texts[i], width, size=size)
    return lines


def widest_units(texts: Iterable[Any]) -> float:
    """The :func:`text_units` of the widest text of a column (0 without one): every text
    of a :class:`TextColumn` measured at once; of others, those :func:`longest_texts`
    keeps."""
    if isinstance(texts, TextColumn):
        metrics = texts.metrics()
        filled = metrics["units"][metrics["chars"] > 0]
        return float(filled.max()) if filled.size else 0.0
    return max((text_units(v) for v in longest_texts(
        v for v in texts if v.__class__ is str)), default=0.0)


_NARROW_RE = "[ ,.:;'!|()\\[\\]\\-/ijlftr]"  # the characters of _NARROW
_LATIN_WORD_RE = "[^\\s\\x{2e80}-\\x{ffff}]{4,}"  # _LATIN_WORD in RE2


@functools.lru_cache(maxsize=1 << 16)
def _token_units(token: str) -> float:
    """:func:`text_units` of a word or character (they repeat: measured once)."""
    return text_units(token)


def _greedy(para: str, cap: float) -> int:
    """Lines of a paragraph with words, filled greedily."""
    lines, used = 1, 0.0
    for token in _TOKEN.findall(para):
        if token[0] == " ":
            used += len(token)
            continue
        w = _token_units(token)
        if used + w <= cap:
            used += w
            continue
        if len(token) == 1 and w > 1.5:  # a CJK character: the line breaks before it
            lines, used = lines + 1, w
            continue
        if used > 0:
            lines += 1
        whole = max(math.ceil(w / cap), 1)  # a word longer than the line is cut
        lines += whole - 1
        used = w - (whole - 1) * cap
    return lines


def line_height(size: float = 11.0) -> float:
    return LINE_PT * size / 11.0


def row_height(lines: int, *, size: float = 11.0) -> float:
    """The height of a row holding ``lines`` lines of ``size``-point text."""
    if lines <= 1:
        return line_height(size)
    return min(lines * line_height(size) + 3.0, MAX_ROW_PT)


@functools.lru_cache(maxsize=1 << 12)  # the same headers on every weekly sheet
def header_width(text: str, *, max_lines: int = 2, lo: float = MIN_WIDTH,
                 hi: float = MAX_WIDTH) -> float:
    """The narrowest width (from ``lo``) at which a bold, wrapping header ``text`` takes
    at most ``max_lines`` lines and no word is cut."""
    longest = max((text_units(w) for w in re.split(r"\s+", text) if w
                   and not re.search(r"[\u2e80-\uffff]", w)), default=0.0)
    width = max(lo, math.ceil(longest * 1.08 + 1.5))
    while width < hi and text_lines(text, width, bold=True) > max_lines:
        width += 1
    return min(width, hi)


def shown(value: Any, fmt: str | None) -> str:
    """The text a cell holding ``value`` shows with the number format ``fmt`` (the formats
    xlsales writes; General otherwise)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M" if fmt and "h" in fmt else "%Y-%m-%d")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d %H:%M" if fmt and "h" in fmt else "%Y-%m-%d")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return ""
        if fmt in ("0%", "0.0%", "0.00%"):
            places = len(fmt) - 2 - (1 if "." in fmt else 0)
            return f"{_rounded(value, places, 100)}%"
        if fmt in ("0", "0.0", "0.00", "#,##0", "#,##0.00"):
            places = len(fmt.split(".")[1]) if "." in fmt else 0
            number = _rounded(value, places)
            return f"{number:,}" if "," in fmt else str(number)
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e11:
            return str(int(value))
        return f"{value:.10g}"
    return str(value)


def _rounded(value: float, places: int, times: int = 1) -> Decimal:
    """``value`` × ``times`` rounded as Excel and LibreOffice show it: the decimal number
    it prints as, halves away from zero (18.775 → 18.78, where binary rounding gives
    18.77)."""
    number = Decimal(repr(float(value))) * times
    return number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP) + 0


def longest_texts(texts: Iterable[str], keep: int = 24) -> set[str]:
    """The texts that may be the widest: the longest in characters and in UTF-8 bytes (a
    big column is not measured text by text)."""
    unique = {t for t in texts if t}
    if len(unique) <= 2 * keep:
        return unique
    return set(heapq.nlargest(keep, unique, key=len)) | set(
        heapq.nlargest(keep, unique, key=lambda t: len(t.encode("utf-8"))))


def content_width(texts: Iterable[str], *, header: str = "", header_lines: int = 2,
                  lo: float = MIN_WIDTH, hi: float = MAX_WIDTH) -> float:
    """A column width that fits the longest of ``texts`` on one line and its header in
    ``header_lines`` lines, within ``lo``..``hi``."""
    longest = widest_units(texts)
    need = max(math.ceil((longest * MDW + PAD_PX + 2) / MDW), lo)  # back from pixels
    if header:
        need = max(need, header_width(header, max_lines=header_lines, lo=lo, hi=hi))
        one = header_width(header, max_lines=1, lo=lo, hi=hi)
        if one <= need + 3:  # a header on one line rather than a word left alone
            need = max(need, one)
    return float(min(need, hi))


# -- tables ----------------------------------------------------------------------------------

def header_max_lines(lang: str) -> int:
    """Lines a table header may wrap to: two, three in English (longer words)."""
    return 3 if lang == "en" else 2


def column_texts(column: Any, values: Sequence[Any]) -> list[str]:
    """The texts the cells of ``column`` (a :class:`~xlsales.tables.base.Column`) show for
    ``values`` — of numbers only the smallest and largest, of dates one: the widest."""
    fmt = column.fmt
    kind = column.kind.value
    if kind in ("int", "amount", "number", "percent"):
        try:
            arr = np.asarray(values, dtype=float)  # None is NaN
        except (TypeError, ValueError):
            arr = None  # text among the numbers: one by one below
        if arr is not None:
            arr = arr[np.isfinite(arr)]
            return [shown(float(v), fmt) for v in (arr.min(), arr.max())] if arr.size else []
    elif kind in ("date", "datetime"):  # every date is as wide
        first = next((v for v in values if v is not None), None)
        if not isinstance(first, str):
            return [] if first is None else [shown(first, fmt)]
    if isinstance(values, TextColumn):
        return values  # texts and blanks, measured already
    if len(values) > _LONG_COLUMN:
        widest = _widest_texts(values)
        if widest is not None:
            return widest
    texts = [v for v in values if v.__class__ is str]
    if len(texts) < len(values):
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        texts += [shown(v, fmt) for v in values if v is not None and v.__class__ is not str
                  and not (isinstance(v, int | float) and not isinstance(v, bool))]
        if numbers:
            texts += [shown(min(numbers), fmt), shown(max(numbers), fmt)]
    return texts


_LONG_COLUMN = 512  # a text column this long is measured from its longest texts only


def _widest_texts(values: Sequence[Any], keep: int = 24) -> list[str] | None:
    """The texts of a column of texts and blanks that may be the widest (what
    :func:`longest_texts` keeps: the longest in characters and in UTF-8 bytes), found
    with Arrow; None when the column holds anything else."""
    import pyarrow as pa
    import pyarrow.compute as pc

    picked: set[int] = set()
    if isinstance(values, TextColumn):  # measured already (blanks: 0, never picked first)
        arr, metrics = values.arrow, values.metrics()
        for n in (metrics["chars"], metrics["data"]):
            picked.update(np.argsort(-n, kind="stable")[:4 * keep].tolist())
    else:
        try:
            arr = pa.array(values, from_pandas=True)
        except (pa.ArrowException, TypeError, ValueError, UnicodeError):
            return None
        if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            return None
        for lengths in (pc.utf8_length(arr), pc.binary_length(arr)):
            n = pc.fill_null(lengths, -1).to_numpy(zero_copy_only=False)
            picked.update(np.argsort(-n, kind="stable")[:4 * keep].tolist())
    texts = arr.take(pa.array(sorted(picked))).to_pylist()
    return [t for t in dict.fromkeys(texts) if t]


def table_widths(tables: Iterable[tuple[Any, Mapping[str, Sequence[Any]]]], lang: str,
                 ) -> dict[int, float]:
    """Column widths (0-based from the tables' first column) for tables stacked on one
    sheet (spec, values by key): per column the widest need of the tables — the content
    on one line (long text, which wraps: up to its table's width), the header wrapped to
    :func:`header_max_lines` lines — within :data:`MIN_WIDTH`..:data:`MAX_WIDTH`."""
    from xlsales.io.edit.newsheet import table_header
    from xlsales.tables.base import Kind

    lines = header_max_lines(lang)
    out: dict[int, float] = {}
    for spec, values in tables:
        for c, column in enumerate(spec.columns):
            header = table_header(column.header(lang))
            texts = column_texts(column, values.get(column.key, ()))
            need = content_width(texts, header=header, header_lines=lines)
            if column.kind is Kind.LONG_TEXT:
                need = min(need, max(column.width, header_width(header, max_lines=lines)))
            out[c] = max(out.get(c, 0.0), need)
    return out


def header_height(spec: Any, widths: Mapping[int, float], lang: str, *,
                  size: float = 11.0) -> float:
    """The height of ``spec``'s header row (bold, wrapped) in columns ``widths``."""
    from xlsales.io.edit.newsheet import table_header

    lines = max((text_lines(table_header(col.header(lang)), widths[c], size=size, bold=True)
                 for c, col in enumerate(spec.columns)), default=1)
    return row_height(lines, size=size) + 2


def data_lines(spec: Any, values: Mapping[str, Sequence[Any]], widths: Mapping[int, float],
               *, size: float = 11.0) -> dict[int, int]:
    """The data rows (0-based from the table's first) whose long text takes more than one
    line in columns ``widths``, and how many lines."""
    from xlsales.tables.base import Kind

    most: np.ndarray | None = None
    for c, col in enumerate(spec.columns):
        column = values.get(col.key, ())
        if col.kind is not Kind.LONG_TEXT or not len(column):
            continue
        lines = texts_lines(column, widths[c], size=size)
        most = lines if most is None else np.maximum(most, lines)
    if most is None:
        return {}
    tall = np.flatnonzero(most > 1)
    return dict(zip(tall.tolist(), most[tall].tolist(), strict=True))


# -- pages -----------------------------------------------------------------------------------

def body_size(landscape: bool) -> tuple[float, float]:
    """Width and height in points a page leaves for the sheet, with :data:`SAFETY`."""
    short, long = PAPER_IN
    w, h = (long, short) if landscape else (short, long)
    width = (w - MARGINS["left"] - MARGINS["right"]) * 72
    height = (h - MARGINS["top"] - MARGINS["bottom"]) * 72
    return width * SAFETY, height * SAFETY


def columns_pt(widths: Iterable[float]) -> float:
    return sum(width_pt(w) for w in widths)


def header_footer(team: str | None, period: str | None) -> tuple[str, str]:
    """The header (team at the left, the sheet's name in the middle, the period at the
    right) and footer (page n / N) of a printed sheet, in Excel's codes."""
    parts = []
    if team:
        parts.append("&L" + _code_text(team))
    parts.append("&C&A")
    if period:
        parts.append("&R" + _code_text(period))
    return "".join(parts), FOOTER


def _code_text(text: str) -> str:
    """``text`` inside a header or footer: ``&`` doubled (a single one starts a code)."""
    return " ".join(text.split()).replace("&", "&&")


@dataclass
class Layout:
    """Where a sheet's rows and columns go on paper."""

    scale: int | None = None  # None: one page wide
    row_breaks: Sequence[int] = ()  # 0-based rows that start a page
    col_breaks: Sequence[int] = ()  # 0-based columns that start a page


def keep_together(heights: Sequence[float], first: int, block_pt: float, *,
                  landscape: bool, width_pt: float, titles_pt: float = 0.0) -> Layout:
    """The scale and breaks that print rows ``heights`` (points, from row 0) and below
    them, from the 0-based row ``first``, a block ``block_pt`` high (charts) that must not
    be cut: all on one page when it fits at a readable scale, else the block on a page of
    its own (under the repeated title rows, ``titles_pt`` high)."""
    page_w, page_h = body_size(landscape)
    width_scale = min(1.0, page_w / max(width_pt, 1.0))
    top = sum(heights[:first])
    whole = top + block_pt
    if whole * width_scale <= page_h:
        return Layout(max(MIN_SCALE, math.floor(width_scale * 100)))
    if page_h / whole >= 0.7 * width_scale and page_h / whole * 100 >= 55:
        return Layout(max(MIN_SCALE, math.floor(page_h / whole * 100)))
    scale = min(width_scale, page_h / (titles_pt + block_pt))
    return Layout(max(MIN_SCALE, math.floor(scale * 100)), row_breaks=(first,))


# -- report workbooks (XlsxWriter) ----------------------------------------------------------

def xlsx_tables(ws: Any, tables: Sequence[tuple[Any, Mapping[str, Sequence[Any]], int]],
                lang: str, *, title_rows: Mapping[int, float] | None = None
                ) -> tuple[dict[int, float], dict[int, float]]:
    """Fit the columns of an XlsxWriter worksheet to the tables written on it (spec,
    values by key, 0-based header row; from column A) and give their header rows and
    wrapped rows the heights they need (``title_rows``: row → font size of a title).
    Returns the widths and the row heights set."""
    widths = table_widths(((spec, values) for spec, values, _ in tables), lang)
    for c, w in widths.items():
        ws.set_column(c, c, w)
    heights: dict[int, float] = {r: row_height(1, size=pt) + 4
                                 for r, pt in (title_rows or {0: 14.0}).items()}
    for spec, values, header_row in tables:
        heights[header_row] = header_height(spec, widths, lang)
        lines = data_lines(spec, values, widths)
        if any(c.kind.value == "long_text" for c in spec.columns):  # every row: the
            count = max((len(v) for v in values.values()), default=0)  # writer guessed
            for i in range(count):
                heights[header_row + 1 + i] = row_height(lines.get(i, 1))
    for r, h in sorted(heights.items()):
        ws.set_row(r, h)
    return widths, heights


def rows_pt(heights: Mapping[int, float], count: int) -> list[float]:
    """The heights of rows 0..``count - 1`` (unset rows: Excel's default)."""
    return [heights.get(r, LINE_PT) for r in range(count)]


def left_px(widths: Mapping[int, float], col: int) -> int:
    """Where column ``col`` starts, in pixels from column A (unset columns: 8.43)."""
    return sum(width_px(widths.get(c, 8.43)) for c in range(col))


def column_at(widths: Mapping[int, float], px: float) -> int:
    """The first column starting at or right of ``px`` pixels."""
    col = 0
    while left_px(widths, col) < px:
        col += 1
    return col


def xlsx_page(ws: Any, *, team: str | None, period: str | None, landscape: bool = True,
              layout: Layout | None = None, repeat_rows: tuple[int, int] | None = None
              ) -> None:
    """The page setup of an XlsxWriter worksheet: A4, margins, the header and footer of
    :func:`header_footer`, the repeated rows, and one page wide — or ``layout``'s scale
    and manual breaks (Excel ignores breaks under "fit to")."""
    ws.set_paper(9)
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.set_margins(left=MARGINS["left"], right=MARGINS["right"], top=MARGINS["top"],
                   bottom=MARGINS["bottom"])
    header, footer = header_footer(team, period)
    ws.set_header(header, {"margin": MARGINS["header"]})
    ws.set_footer(footer, {"margin": MARGINS["footer"]})
    if repeat_rows is not None:
        ws.repeat_rows(*repeat_rows)
    if layout is None or layout.scale is None:
        ws.fit_to_pages(1, 0)
        return
    ws.set_print_scale(layout.scale)
    if layout.row_breaks:
        ws.set_h_pagebreaks(list(layout.row_breaks))
    if layout.col_breaks:
        ws.set_v_pagebreaks(list(layout.col_breaks))


def spills(text: str, widths: Mapping[int, float], *, size: float = 11.0) -> int:
    """How many lines ``text`` (a title or note in column A, running on into the empty
    cells to its right) takes when wrapped over all the columns ``widths``: more than
    one, and it would run past the last column — cut by Excel, a page of its own in
    LibreOffice."""
    total = sum(widths.values()) + 5 / MDW * max(len(widths) - 1, 0)  # 5 px a column
    return text_lines(text, total, size=size * 1.05)  # italic and bold run wider


def xlsx_note(ws: Any, row: int, text: str, widths: Mapping[int, float], fmt: Any, *,
              size: float = 11.0) -> None:
    """A title or note in column A wrapped over the table's columns when it would run
    past them (merged across, as tall as its lines)."""
    lines = spills(text, widths, size=size)
    if lines > 1:
        ws.merge_range(row, 0, row, max(widths), text, fmt)
        ws.set_row(row, row_height(lines, size=size))
