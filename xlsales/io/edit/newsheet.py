"""A whole worksheet written by xlsales (a weekly report, the findings list …): its XML
and its tables, from a small model.

Styles are indices into the workbook's own styles part (see :mod:`.styles`); formulas
carry their cached values (see :mod:`.cells`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from xlsales.cells import col_letters
from xlsales.io.edit.cells import Cell, cell_xml
from xlsales.io.xmltext import escape, quoteattr

SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


@dataclass
class TablePart:
    """An Excel table (ListObject) on the sheet: 0-based corners, header texts."""

    name: str
    first_row: int
    first_col: int
    last_row: int
    headers: list[str]
    style: str = "TableStyleMedium2"

    @property
    def ref(self) -> str:
        last_col = self.first_col + len(self.headers) - 1
        return (f"{col_letters(self.first_col)}{self.first_row + 1}:"
                f"{col_letters(last_col)}{self.last_row + 1}")

    def xml(self, table_id: int) -> bytes:
        cols = "".join(f'<tableColumn id="{i}" name={quoteattr(table_header(h))}/>'
                       for i, h in enumerate(self.headers, start=1))
        return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                f'<table xmlns="{SHEET_NS}" id="{table_id}" name={quoteattr(self.name)} '
                f'displayName={quoteattr(self.name)} ref="{self.ref}" totalsRowShown="0">'
                f'<autoFilter ref="{self.ref}"/><tableColumns count="{len(self.headers)}">'
                f'{cols}</tableColumns><tableStyleInfo name="{self.style}" '
                f'showFirstColumn="0" showLastColumn="0" showRowStripes="1" '
                f'showColumnStripes="0"/></table>').encode()


def table_header(text: str) -> str:
    """A table column name as Excel keeps it (line breaks are not allowed)."""
    return " ".join(text.split()) or "-"


@dataclass
class Validation:
    """A data validation: a list from a defined name, or a date between two serials."""

    sqref: str
    kind: str  # "list" or "date"
    formula1: str
    formula2: str | None = None
    strict: bool = True
    prompt_title: str = ""
    prompt: str = ""
    error_title: str = ""
    error: str = ""

    def xml(self) -> str:
        extra = ' operator="between"' if self.kind == "date" else ""
        style = "" if self.strict else ' errorStyle="warning"'
        f2 = f"<formula2>{escape(self.formula2)}</formula2>" if self.formula2 else ""
        return (f'<dataValidation type="{self.kind}"{style}{extra} allowBlank="1" '
                f'showInputMessage="1" showErrorMessage="1" '
                f"errorTitle={quoteattr(self.error_title[:32])} error={quoteattr(self.error)} "
                f"promptTitle={quoteattr(self.prompt_title[:32])} "
                f'prompt={quoteattr(self.prompt)} sqref="{self.sqref}">'
                f"<formula1>{escape(self.formula1)}</formula1>{f2}</dataValidation>")


@dataclass
class Block:
    """A table as written on a sheet, for fitting widths and heights to it: its spec, its
    0-based header row and its columns' values as the cells hold them (key → values)."""

    spec: Any
    header_row: int
    values: dict[str, Sequence[Any]]
    rows: int


@dataclass
class NewSheet:
    """Everything on a sheet xlsales writes whole."""

    cells: dict[int, dict[int, Cell]] = field(default_factory=dict)
    widths: dict[int, float] = field(default_factory=dict)
    heights: dict[int, float] = field(default_factory=dict)
    merged: list[str] = field(default_factory=list)
    freeze: tuple[int, int] | None = None  # the first scrolling (row, column)
    tables: list[TablePart] = field(default_factory=list)
    formats: list[tuple[str, str, int]] = field(default_factory=list)  # sqref, formula, dxf
    validations: list[Validation] = field(default_factory=list)
    links: list[tuple[str, str, str]] = field(default_factory=list)  # ref, location, text
    autofilter: str | None = None
    landscape: bool = True
    fit_width: bool = True  # one page wide (unless ``scale`` is set)
    scale: int | None = None  # "adjust to" percent: manual page breaks count (see printing)
    print_title_rows: tuple[int, int] | None = None
    print_title_cols: tuple[int, int] | None = None
    row_breaks: list[int] = field(default_factory=list)  # 0-based rows starting a page
    col_breaks: list[int] = field(default_factory=list)  # 0-based columns starting a page
    text_numbers: list[str] = field(default_factory=list)  # ranges of numbers kept as text
    header_text: str = ""
    footer_text: str = "&C&P / &N"
    code_name: str | None = None
    carried: list[bytes] = field(default_factory=list)  # drawing/legacyDrawing kept
    # rows written a column at a time (see put_columns, put_rows): row → its <c> elements
    row_xml: dict[int, str | bytes] = field(default_factory=dict)
    row_xml_cols: int = 0
    # the tables' values, kept until the print layout is fitted to them (not written)
    blocks: list[Block] = field(default_factory=list)
    # the <dimension> of rows rendered apart (see take_body)
    dim: str | None = None

    def set(self, row: int, col: int, cell: Cell) -> None:
        self.cells.setdefault(row, {})[col] = cell

    def put_columns(self, first_row: int, columns: list[list[str]]) -> None:
        """Rows from the 0-based ``first_row`` down whose cells are ``columns`` (each the
        ``<c>`` elements of one column from column A on, as :func:`.cells.column_xml`
        makes them); those rows hold nothing else."""
        for i, cells in enumerate(zip(*columns, strict=True)):
            self.row_xml[first_row + i] = "".join(cells)
        self.row_xml_cols = max(self.row_xml_cols, len(columns))

    def put_rows(self, first_row: int, rows: Sequence[str | bytes], columns: int) -> None:
        """Rows from the 0-based ``first_row`` down, each the ``<c>`` elements of its
        ``columns`` cells from column A on, joined (:func:`.cells.join_rows`; bytes are
        UTF-8); those rows hold nothing else."""
        for i, cells in enumerate(rows):
            self.row_xml[first_row + i] = cells
        self.row_xml_cols = max(self.row_xml_cols, columns)

    def take_body(self) -> bytes:
        """The ``<sheetData>`` of the sheet's rows (as :meth:`render` writes it), and the
        rows let go of: ``render(…, body=)`` writes the sheet around it. So a sheet can be
        laid out in one process and written into the workbook by another."""
        body, self.dim = self._sheet_data(), self._dim()
        self.cells, self.row_xml = {}, {}
        return body

    def _dim(self) -> str:
        if self.dim is not None:
            return self.dim
        rows = self.cells.keys() | self.row_xml.keys()
        last_col = max((max(c) for c in self.cells.values() if c), default=0)
        last_col = max(last_col, self.row_xml_cols - 1)
        return f"A1:{col_letters(last_col)}{max(rows) + 1}" if rows else "A1"

    def _sheet_data(self) -> bytes:
        body = [b"<sheetData>"]
        for r in sorted(self.cells.keys() | self.row_xml.keys()):
            ht = self.heights.get(r)
            attr = f' ht="{ht:g}" customHeight="1"' if ht else ""
            if r in self.row_xml:
                cells = self.row_xml[r]
                if isinstance(cells, bytes):
                    body.append(f'<row r="{r + 1}"{attr}>'.encode() + cells + b"</row>")
                else:
                    body.append(f'<row r="{r + 1}"{attr}>{cells}</row>'.encode())
                continue
            cells = self.cells[r]
            body.append(f'<row r="{r + 1}"{attr}>'.encode()
                        + b"".join(cell_xml(r, c, cells[c]) for c in sorted(cells))
                        + b"</row>")
        body.append(b"</sheetData>")
        return b"".join(body)

    def render(self, table_rids: list[str], body: bytes | None = None) -> bytes:
        """The sheet's XML (``table_rids``: the relationship ids of its tables; ``body``:
        its rows, when :meth:`take_body` took them)."""
        dim = self._dim()
        out = [f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               f'<worksheet xmlns="{SHEET_NS}" xmlns:r="{REL_NS}">']
        pr = f' codeName="{self.code_name}"' if self.code_name else ""
        fit = self.fit_width and self.scale is None
        out.append(f'<sheetPr{pr}><pageSetUpPr fitToPage="1"/></sheetPr>'
                   if fit else (f"<sheetPr{pr}/>" if pr else ""))
        out.append(f'<dimension ref="{dim}"/>')
        out.append(f'<sheetViews><sheetView workbookViewId="0">{self._pane()}</sheetView>'
                   f'</sheetViews><sheetFormatPr defaultRowHeight="15"/>')
        if self.widths:
            out.append("<cols>" + "".join(
                f'<col min="{c + 1}" max="{c + 1}" width="{w:g}" customWidth="1"/>'
                for c, w in sorted(self.widths.items())) + "</cols>")
        if body is None:
            body = self._sheet_data()
        tail = []
        if self.autofilter:
            tail.append(f'<autoFilter ref="{self.autofilter}"/>')
        if self.merged:
            tail.append(f'<mergeCells count="{len(self.merged)}">'
                        + "".join(f'<mergeCell ref="{m}"/>' for m in self.merged)
                        + "</mergeCells>")
        for priority, (sqref, formula, dxf) in enumerate(self.formats, start=1):
            tail.append(f'<conditionalFormatting sqref="{sqref}"><cfRule type="expression" '
                        f'dxfId="{dxf}" priority="{priority}"><formula>{escape(formula)}'
                        f"</formula></cfRule></conditionalFormatting>")
        if self.validations:
            tail.append(f'<dataValidations count="{len(self.validations)}">'
                        + "".join(v.xml() for v in self.validations) + "</dataValidations>")
        if self.links:
            tail.append("<hyperlinks>" + "".join(
                f'<hyperlink ref="{ref}" location={quoteattr(loc)} display={quoteattr(text)}/>'
                for ref, loc, text in self.links) + "</hyperlinks>")
        tail.append(self._page_xml())
        tail_bytes = "".join(tail).encode() + b"".join(self.carried)
        if table_rids:
            tail_bytes += (f'<tableParts count="{len(table_rids)}">'
                           + "".join(f'<tablePart r:id="{r}"/>' for r in table_rids)
                           + "</tableParts>").encode()
        return "".join(out).encode() + body + tail_bytes + b"</worksheet>"

    def _page_xml(self) -> str:
        """pageMargins, pageSetup, headerFooter, rowBreaks, colBreaks and ignoredErrors,
        in schema order."""
        from xlsales.io.printing import MARGINS

        out = ["<pageMargins " + " ".join(f'{k}="{v:g}"' for k, v in MARGINS.items()) + "/>"]
        orient = "landscape" if self.landscape else "portrait"
        if self.scale is not None:
            fit = f' scale="{self.scale}"'
        else:
            fit = ' fitToWidth="1" fitToHeight="0"' if self.fit_width else ""
        # the details of a page's rows right after it, not after every key page
        order = ' pageOrder="overThenDown"' if self.col_breaks else ""
        out.append(f'<pageSetup paperSize="9"{fit}{order} orientation="{orient}"/>')
        if self.header_text or self.footer_text:
            out.append("<headerFooter>"
                       + (f"<oddHeader>{escape(self.header_text)}</oddHeader>"
                          if self.header_text else "")
                       + (f"<oddFooter>{escape(self.footer_text)}</oddFooter>"
                          if self.footer_text else "") + "</headerFooter>")
        for tag, breaks, most in (("rowBreaks", self.row_breaks, 16383),
                                  ("colBreaks", self.col_breaks, 1048575)):
            if breaks:
                out.append(f'<{tag} count="{len(breaks)}" manualBreakCount="{len(breaks)}">'
                           + "".join(f'<brk id="{b}" max="{most}" man="1"/>'
                                     for b in sorted(breaks)) + f"</{tag}>")
        if self.text_numbers:
            out.append(f'<ignoredErrors><ignoredError sqref="{" ".join(self.text_numbers)}" '
                       'numberStoredAsText="1"/></ignoredErrors>')
        return "".join(out)

    def _pane(self) -> str:
        if not self.freeze:
            return '<selection activeCell="A1" sqref="A1"/>'
        row, col = self.freeze
        top_left = f"{col_letters(col)}{row + 1}"
        split = (f' xSplit="{col}"' if col else "") + (f' ySplit="{row}"' if row else "")
        pane = "bottomRight" if row and col else ("bottomLeft" if row else "topRight")
        return (f'<pane{split} topLeftCell="{top_left}" activePane="{pane}" state="frozen"/>'
                f'<selection pane="{pane}" activeCell="{top_left}" sqref="{top_left}"/>')
