"""Data rows of a table removed from a user's workbook in place, as Excel's "Delete
Sheet Rows" would (used by ``xlsales archive``).

:func:`remove_rows` drops the rows from the sheet through
:class:`~xlsales.io.edit.book.WorkbookEdit`: the sheet is streamed, the rows that follow
move up (their ``r`` numbers, their cells' and the formulas that point at moved rows),
the Excel table (ListObject) and its ``autoFilter`` shrink, and the ranges of the sheet
that cover the rows — conditional formats and data validations (with their formulas;
the Excel 2010 ones of the sheet's ``extLst`` too, ``<x14:…>`` with ``<xm:sqref>`` and
``<xm:f>``), merged cells, hyperlinks, the sheet's ``autoFilter`` and ``dimension`` —
shrink or move with them; defined names that point into the sheet (print area, filter range) follow.
Every other part of the package keeps its bytes (the shared strings of the rows removed
stay, unused, as Excel leaves them).

Refused (:class:`~xlsales.errors.WorkbookError`, nothing written) where Excel would lose
something or where moving it needs more than this module knows: rows outside the table's
data, a shared or array formula whose range reaches the rows removed or lies below them,
a formula that points at a cell removed (Excel would show #REF!), formulas in other sheets,
charts or pivot caches that point into the sheet, notes, buttons or pictures anchored at
or below the first row removed, merged cells and hyperlinks in the rows removed, an
Excel 2010 validation or conditional format that applies to the rows removed only, and
manual page breaks between rows below them (column breaks stay as they are).

A formula that moved or whose range shrank keeps its cached result (xlsales cannot
compute every formula a user writes); the workbook is then marked to be recalculated on
load (``fullCalcOnLoad``), which Excel and LibreOffice do.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator, Sequence

from xlsales.errors import WorkbookError
from xlsales.frames import Table
from xlsales.i18n import Label
from xlsales.io.edit import package as P
from xlsales.io.edit.book import WORKBOOK, WorkbookEdit
from xlsales.io.edit.sheet import _DIMENSION, _ROW_NUMBER, _complete, _prepend

_ROW = re.compile(rb"<row\b[^>]*?(?:/>|>.*?</row>)", re.DOTALL)
_CELL_R = re.compile(rb'(<c\b[^>]*?\br="[A-Z]{1,3})\d+(?=")')
_FORMULA = re.compile(rb"(<f\b)([^>]*?)(?:/>|>(.*?)</f>)", re.DOTALL)
_F_REF = re.compile(rb'\bref="([^"]*)"')
_RANGE_ATTR = re.compile(rb'(<(?:conditionalFormatting|dataValidation|mergeCell|hyperlink|'
                         rb'autoFilter|sortState|sortCondition|table)\b[^>]*?\b'
                         rb'(?:sqref|ref)=")([^"]*)(")')
_CF_BLOCK = re.compile(rb"<conditionalFormatting\b[^>]*>.*?</conditionalFormatting>", re.DOTALL)
_DV = re.compile(rb"<dataValidation\b[^>]*?(?:/>|>.*?</dataValidation>)", re.DOTALL)
_SQREF = re.compile(rb'\bsqref="([^"]*)"')
_INNER_FORMULA = re.compile(rb"(<(formula|formula1|formula2)>)(.*?)(</\2>)", re.DOTALL)
_DEFINED = re.compile(rb"(<definedName\b[^>]*>)(.*?)(</definedName>)", re.DOTALL)
_TOKEN = re.compile(
    r'"(?:[^"]|"")*"'
    r"|(?<![\w.\]!$:'])(?P<sheet>(?:'(?:[^']|'')+'|[^\W\d][\w.]*)!)?"
    r"(?:(?P<c0>\$?[A-Z]{1,3})(?P<a0>\$?)(?P<r0>\d+)"
    r"(?::(?P<c1>\$?[A-Z]{1,3})(?P<a1>\$?)(?P<r1>\d+))?"
    r"|(?P<b0>\$?)(?P<s0>\d+):(?P<b1>\$?)(?P<s1>\d+))"
    r"(?![\w(!.:])")
_HOLDS = re.compile(rb"<v>|<is>|<f\b")
_CELL_START = re.compile(rb'<c\b[^>]*?\br="([A-Z]{1,3})\d+"')
_ANCHOR_VML = re.compile(rb"<x:Anchor>\s*([^<]*)</x:Anchor>")
_ANCHOR_ROW = re.compile(rb"<(?:xdr:)?row>(\d+)</(?:xdr:)?row>")
_COMMENT_REF = re.compile(rb'<comment\b[^>]*\bref="([A-Z]{1,3})(\d+)"')
_ROW_BREAKS = re.compile(rb"<rowBreaks\b.*?(?:/>|</rowBreaks>)", re.DOTALL)
_BRK = re.compile(rb'<brk\b[^>]*\bid="(\d+)"')  # within <rowBreaks> (not <colBreaks>)
_X14_BLOCK = re.compile(rb"<x14:(dataValidation|conditionalFormatting)\b[^>]*?"
                        rb"(?:/>|>.*?</x14:\1>)", re.DOTALL)
_XM_SQREF = re.compile(rb"(<xm:sqref>)([^<]*)(</xm:sqref>)")
_XM_F = re.compile(rb"(<(xm:f)>)(.*?)(</\2>)", re.DOTALL)
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&"))


class _Gone(Exception):
    """A formula points at a cell removed."""


def _unescape(text: str) -> str:
    for entity, char in _ENTITIES:
        text = text.replace(entity, char)
    return text


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _sheet_name(prefix: str) -> str:
    name = prefix[:-1]
    if name.startswith("'"):
        name = name[1:-1].replace("''", "'")
    return name


class _Rows:
    """The rows removed (sorted, 1-based) and where the others go."""

    def __init__(self, gone: Sequence[int]) -> None:
        self.gone = list(gone)
        self.first = self.gone[0]
        self.last = self.gone[-1]

    def removed(self, r: int) -> bool:
        i = bisect.bisect_left(self.gone, r)
        return i < len(self.gone) and self.gone[i] == r

    def new(self, r: int) -> int:
        """The new number of a row kept."""
        return r - bisect.bisect_left(self.gone, r)

    def span(self, r0: int, r1: int) -> tuple[int, int] | None:
        """The rows ``r0..r1`` keeps, renumbered; None when every one is removed."""
        n0 = r0 - bisect.bisect_left(self.gone, r0)
        n1 = r1 - bisect.bisect_right(self.gone, r1)
        return None if n1 < n0 else (n0, n1)

    # -- formulas -----------------------------------------------------------------------

    def formula(self, text: str, sheet: str, *, local: bool,
                top: tuple[int, int] | None = None) -> str:
        """``text`` with its references into ``sheet`` renumbered (unqualified ones too
        when ``local``). ``top`` = (old, new) first row of the range a conditional format
        or validation applies to: its relative rows move with it."""

        def fix(m: re.Match[str]) -> str:
            if m.group(0).startswith('"'):
                return m.group(0)
            prefix = m.group("sheet")
            if (prefix is None and not local) or (prefix is not None
                                                  and _sheet_name(prefix) != sheet):
                return m.group(0)
            head = prefix or ""
            if m.group("s0") is not None:  # whole rows: $3:$3
                a0, a1 = m.group("b0"), m.group("b1")
                rows = self._pair(int(m.group("s0")), a0, int(m.group("s1")), a1, top)
                return f"{head}{a0}{rows[0]}:{a1}{rows[1]}"
            c0, a0, r0 = m.group("c0"), m.group("a0"), int(m.group("r0"))
            if m.group("r1") is None:
                return f"{head}{c0}{a0}{self._one(r0, a0, top)}"
            c1, a1, r1 = m.group("c1"), m.group("a1"), int(m.group("r1"))
            rows = self._pair(r0, a0, r1, a1, top)
            return f"{head}{c0}{a0}{rows[0]}:{c1}{a1}{rows[1]}"

        return _TOKEN.sub(fix, text)

    def _one(self, r: int, absolute: str, top: tuple[int, int] | None) -> int:
        if top is not None and not absolute:
            return r - top[0] + top[1]
        if self.removed(r):
            raise _Gone
        return self.new(r)

    def _pair(self, r0: int, a0: str, r1: int, a1: str,
              top: tuple[int, int] | None) -> tuple[int, int]:
        lo, hi = min(r0, r1), max(r0, r1)
        kept = self.span(lo, hi)
        if kept is None and not (top is not None and not a0 and not a1):
            raise _Gone
        n0 = lo - top[0] + top[1] if top is not None and not a0 else kept[0]  # type: ignore[index]
        n1 = hi - top[0] + top[1] if top is not None and not a1 else kept[1]  # type: ignore[index]
        return n0, n1

    # -- ranges --------------------------------------------------------------------------

    def sqref(self, refs: str) -> str:
        """A space-separated list of ranges, each shrunk or moved; ranges wholly removed
        are dropped."""
        out = []
        for ref in refs.split():
            m = re.fullmatch(r"(\$?[A-Z]{1,3}\$?)(\d+)(?::(\$?[A-Z]{1,3}\$?)(\d+))?", ref)
            if m is None:
                out.append(ref)
                continue
            r0 = int(m.group(2))
            r1 = int(m.group(4)) if m.group(4) else r0
            kept = self.span(r0, r1)
            if kept is None:
                continue
            out.append(f"{m.group(1)}{kept[0]}" + (f":{m.group(3)}{kept[1]}"
                                                  if m.group(4) else ""))
        return " ".join(out)


def remove_rows(wb: WorkbookEdit, table: Table, rows: Iterable[int]) -> int:
    """Remove the data rows ``rows`` (1-based Excel rows, as ``table.df``'s index holds
    them) of ``table`` (read from ``wb``'s file) from its sheet; the rows below move up.
    Nothing is written until ``wb.save()``; the number of rows removed.

    Call it before any other edit of the sheet in ``wb``. Refused with a
    :class:`WorkbookError` naming the place (nothing written) where the removal cannot be
    done safely (see the module docstring)."""
    gone = sorted(set(int(r) for r in rows))
    if not gone:
        return 0
    where = {"file": str(wb.path), "sheet": table.sheet}
    ref = wb.ref(table.sheet)
    part = ref.part
    spec_title = table.spec.title
    if part in wb._edits and wb._edits[part].changed:
        raise WorkbookError(Label("删除行必须在这张工作表的其他修改之前进行",
                                  "rows must be removed before any other edit of the sheet"),
                            **where)
    header = table.header_row
    own = _own_table(wb, part, header)
    data_last = own[2] - own[3] if own else (int(table.df.index.max()) if len(table.df)
                                             else header)
    for r in gone:
        if not header < r <= data_last:
            raise WorkbookError(Label(f"第 {r} 行不是「{spec_title('zh')}」的数据行",
                                      f"row {r} is not a data row of the "
                                      f"{spec_title('en')} table"), **where, cell=f"A{r}")
    plan = _Rows(gone)
    _refuse_outside(wb, table.sheet, part, plan, where)
    rewrite = _SheetRewrite(plan, table.sheet, where)
    for _ in rewrite.render(wb.pkg.open(part), check=True):  # every refusal first
        pass
    if own is not None and own[2] - len(gone) <= header and rewrite.below_table(own[2]):
        raise WorkbookError(Label(
            "删除全部数据行后,表格下方的内容会移进表格;请先移走表格下方的内容",
            "with every data row removed, what lies below the table would move into it; "
            "move it first"), **where, cell=f"A{own[2] + 1}")
    source = wb.pkg.open(part) if wb.pkg.is_changed(part) else None
    if source is not None:
        wb.pkg.put(part, b"".join(rewrite.render(source)))
    else:
        wb.pkg.put(part, lambda: rewrite.render(wb.pkg.stored(part)))
    for rel in wb.pkg.rels(part).of_type(P.REL_TABLE):
        target = P.resolve(part, rel.target)
        if rel.external or not wb.pkg.exists(target):
            continue
        xml = wb.pkg.read(target)
        new = _table_xml(xml, plan, header if own and target == own[4] else None, where)
        if new != xml:
            wb.pkg.put(target, new)
    xml = _defined_names(wb.xml, table.sheet, plan, where)
    if rewrite.moved_formulas:  # their cached results may be stale: recalculate on load
        xml = _full_calc(xml)
    if xml != wb.xml:
        wb.xml = xml
        wb.pkg.put(WORKBOOK, xml)
    if rewrite.formulas:
        wb._drop_calc_chain()  # it lists formula cells by position
    return len(gone)


# -- checks ---------------------------------------------------------------------------------


def _own_table(wb: WorkbookEdit, part: str, header: int) -> tuple[int, int, int, int, str] | None:
    """(first row, …, last row, totals rows, part) of the Excel table whose header row is
    the table's."""
    for rel in wb.pkg.rels(part).of_type(P.REL_TABLE):
        target = P.resolve(part, rel.target)
        if rel.external or not wb.pkg.exists(target):
            continue
        tag = re.search(rb"<table\b[^>]*>", wb.pkg.read(target))
        a = P.attrs(tag.group()) if tag else {}
        m = re.fullmatch(r"\$?[A-Z]{1,3}\$?(\d+):\$?[A-Z]{1,3}\$?(\d+)",
                         a.get(b"ref", b"").decode())
        if m and int(m.group(1)) == header:
            totals = int(a.get(b"totalsRowCount", b"0") or 0)
            return int(m.group(1)), 0, int(m.group(2)), totals, target
    return None


def _refuse_outside(wb: WorkbookEdit, sheet: str, part: str, plan: _Rows,
                    where: dict[str, str]) -> None:
    """Things outside the sheet's XML that point at its rows and would not move."""
    pattern = re.compile(r"(?<![\w.])(?:'" + re.escape(sheet.replace("'", "''")) + r"'|"
                         + re.escape(sheet) + r")!\$?[A-Z]{0,3}\$?\d")
    for ref in wb.sheets:
        if ref.part == part or not ref.part or not wb.pkg.exists(ref.part):
            continue
        for chunk_text in _formula_texts(wb.pkg.open(ref.part)):
            if pattern.search(chunk_text):
                raise WorkbookError(Label(
                    f"工作表「{ref.name}」的公式引用了「{sheet}」的行,删除行后会指错位置",
                    f"formulas of the sheet {ref.name!r} point at rows of {sheet!r}; they "
                    f"would point at the wrong rows"), **where)
    for name in wb.pkg.parts("xl/"):
        if name.startswith(("xl/charts/chart", "xl/pivotCache/pivotCacheDefinition")):
            text = _unescape(wb.pkg.read(name).decode("utf-8", "replace"))
            if pattern.search(text) or f'sheet="{sheet}"' in text:
                raise WorkbookError(Label(
                    f"{name} 引用了「{sheet}」的行(图表或数据透视表),删除行后会指错位置",
                    f"{name} (a chart or pivot table) points at rows of {sheet!r}; it would "
                    f"point at the wrong rows"), **where)
    rels = wb.pkg.rels(part)
    for rel in rels.items:
        target = P.resolve(part, rel.target)
        if rel.external or not wb.pkg.exists(target):
            continue
        xml = wb.pkg.read(target)
        rows: list[int] = []
        if rel.type == P.REL_COMMENTS:
            rows = [int(m.group(2)) for m in _COMMENT_REF.finditer(xml)]
        elif rel.type == P.REL_VML:  # a note goes with its cell, a button by its top
            for shape in re.findall(rb"<v:shape\b.*?</v:shape>", xml, re.DOTALL):
                cell = re.search(rb"<x:Row>(\d+)</x:Row>", shape)
                anchor = _ANCHOR_VML.search(shape)
                if cell:
                    rows.append(int(cell.group(1)) + 1)
                elif anchor:
                    nums = anchor.group(1).decode().replace(" ", "").split(",")
                    if len(nums) == 8 and nums[2].isdigit():
                        rows.append(int(nums[2]) + 1)
        elif rel.type.endswith("/drawing"):
            rows = [int(m.group(1)) + 1 for m in _ANCHOR_ROW.finditer(xml)]
        hit = [r for r in rows if r >= plan.first]
        if hit:
            raise WorkbookError(Label(
                f"第 {min(hit)} 行有批注、按钮或图片,删除上方的行会让它们错位;请先移走",
                f"row {min(hit)} holds a note, a button or a picture that removing the rows "
                f"above it would misplace; move it first"), **where, cell=f"A{min(hit)}")


def _formula_texts(chunks: Iterable[bytes]) -> Iterator[str]:
    buf = b""
    for chunk in chunks:
        buf += chunk
        cut = buf.rfind(b"</c>")
        if cut < 0:
            continue
        for m in _FORMULA.finditer(buf, 0, cut):
            if m.group(3):
                yield _unescape(m.group(3).decode("utf-8", "replace"))
        buf = buf[cut:]
    for m in _FORMULA.finditer(buf):
        if m.group(3):
            yield _unescape(m.group(3).decode("utf-8", "replace"))


# -- the sheet --------------------------------------------------------------------------


class _SheetRewrite:
    """The sheet's XML with the rows removed (a stream: rows are passed through, and only
    the ones that move or hold formulas are parsed)."""

    def __init__(self, plan: _Rows, sheet: str, where: dict[str, str]) -> None:
        self.plan = plan
        self.sheet = sheet
        self.where = where
        self.formulas = False
        self.moved_formulas = False  # a formula's text changed
        self._below: list[int] = []
        self._checking = False

    def below_table(self, table_last: int) -> bool:
        """Whether the sheet has rows with cells below ``table_last``."""
        return any(r > table_last for r in self._below)

    def render(self, chunks: Iterable[bytes], *, check: bool = False) -> Iterator[bytes]:
        """The new sheet XML; with ``check``, only what may refuse the removal is looked
        at (rows that merely move are not renumbered)."""
        self._below = []
        self._checking = check
        it = iter(chunks)
        buf = b""
        for chunk in it:
            buf += chunk
            m = re.search(rb"<sheetData\b[^>]*?(/?)>", buf)
            if m:
                if m.group(1):
                    raise self._error(Label("工作表没有数据行", "the sheet has no rows"))
                yield self._head(buf[:m.end()])
                buf = buf[m.end():]
                break
        else:
            raise self._error(Label("工作表没有单元格数据", "the sheet has no cell data"))
        last = 0
        rest = b""
        for chunk in _prepend(buf, it):
            rest += chunk
            end = rest.find(b"</sheetData>")
            if end >= 0:
                out, last = self._rows(rest[:end], last)
                yield out
                yield self._tail(rest[end:] + b"".join(it))
                return
            cut = _complete(rest)
            if cut:
                out, last = self._rows(rest[:cut], last)
                yield out
                rest = rest[cut:]
        raise self._error(Label("工作表在单元格数据中途结束",
                                "the sheet ends inside its cell data"))

    def _error(self, label: Label, cell: str | None = None) -> WorkbookError:
        return WorkbookError(label, **self.where, **({"cell": cell} if cell else {}))

    def _head(self, head: bytes) -> bytes:
        m = _DIMENSION.search(head)
        if m is None:
            return head
        ref = m.group(1).decode()
        mm = re.fullmatch(r"([A-Z]{1,3})(\d+)(?::([A-Z]{1,3})(\d+))?", ref)
        if mm is None or not mm.group(4):
            return head
        r0, r1 = int(mm.group(2)), int(mm.group(4))
        kept = self.plan.span(r0, r1) or (r0, r0)
        new = f"{mm.group(1)}{kept[0]}:{mm.group(3)}{kept[1]}"
        return head[:m.start(1)] + new.encode() + head[m.end(1):]

    def _rows(self, data: bytes, last: int) -> tuple[bytes, int]:
        plan = self.plan
        tail_tag = data.rfind(b"<row")
        if tail_tag >= 0:
            m = _ROW_NUMBER.search(data, tail_tag, data.find(b">", tail_tag))
            if m and int(m.group(1)) < plan.first and b"<f" not in data:
                return data, int(m.group(1))  # rows above the first removed, no formula
        out: list[bytes] = []
        pos = 0
        for m in _ROW.finditer(data):
            text = m.group()
            tag_end = text.find(b">")
            num = _ROW_NUMBER.search(text, 0, tag_end)
            r = int(num.group(1)) if num else last + 1
            last = r
            if r > plan.last and _HOLDS.search(text):
                self._below.append(r)
            if r < plan.first and b"<f" not in text:
                continue
            out.append(data[pos:m.start()])
            pos = m.end()
            if plan.removed(r):
                self._check_removed(text, r)
                continue
            if self._checking and b"<f" not in text:
                out.append(text)
                continue
            out.append(self._moved(text, r, tag_end, num))
        out.append(data[pos:])
        return b"".join(out), last

    def _check_removed(self, text: bytes, r: int) -> None:
        """A row removed may not hold part of a shared or array formula."""
        for f in _FORMULA.finditer(text):
            if re.search(rb'"(?:shared|array|dataTable)"', f.group(2)):
                raise self._shared(_cell_at(text, f.start(), r))

    def _shared(self, cell: str) -> WorkbookError:
        return self._error(Label(
            "这个单元格的公式与其他单元格共用(Excel 向下填充所得)或是数组公式,删除这些行"
            "无法安全地移动它;请先把这些单元格“粘贴为数值”,或清除其中的公式,再试",
            "the cell's formula is shared with other cells (filled down in Excel) or an "
            "array formula, and removing the rows cannot move it safely; paste those cells "
            "as values or clear their formulas, then try again"), cell)

    def _moved(self, text: bytes, r: int, tag_end: int, num: re.Match[bytes] | None) -> bytes:
        plan = self.plan
        new = plan.new(r)
        if new != r:
            if num is not None:
                text = text[:num.start(1)] + str(new).encode() + text[num.end(1):]
            text = _CELL_R.sub(b"\\g<1>" + str(new).encode(), text)
        if b"<f" in text:
            text = _FORMULA.sub(lambda m: self._formula(m, r, _cell_at(text, m.start(), r)),
                                text)
        return text

    def _formula(self, m: re.Match[bytes], r: int, cell: str) -> bytes:
        """A formula of a row kept: its references renumbered. A shared or array formula
        is kept only above the rows removed and when nothing it points at moves."""
        self.formulas = True
        attrs, body = m.group(2), m.group(3)
        grouped = b'"shared"' in attrs or b'"array"' in attrs or b'"dataTable"' in attrs
        if grouped:
            ref = _F_REF.search(attrs)
            rows = [int(x) for x in re.findall(rb"\d+", ref.group(1))] if ref else [r]
            if max(rows) >= self.plan.first:
                raise self._shared(cell)
        if not body:
            return m.group()
        text = _unescape(body.decode("utf-8"))
        try:
            new = self.plan.formula(text, self.sheet, local=True)
        except _Gone:
            raise self._error(Label(
                f"第 {r} 行的公式引用了要删除的单元格,删除后会变成 #REF!",
                f"a formula of row {r} points at a cell being removed; it would show #REF!"),
                cell) from None
        if new == text:
            return m.group()
        if grouped:
            raise self._shared(cell)
        self.moved_formulas = True
        return m.group(1) + attrs + b">" + _escape(new).encode() + b"</f>"

    # -- after the rows ------------------------------------------------------------------

    def _tail(self, tail: bytes) -> bytes:
        plan = self.plan
        breaks = b"".join(m.group() for m in _ROW_BREAKS.finditer(tail))
        if any(int(x) >= plan.first - 1 for x in _BRK.findall(breaks)):
            raise self._error(Label("删除的行下方有手动分页符;请先删除分页符",
                                    "manual page breaks lie below the rows removed; remove "
                                    "them first"))
        for kind in (rb"mergeCell", rb"hyperlink"):
            for m in re.finditer(rb"<" + kind + rb'\b[^>]*?\bref="([^"]*)"', tail):
                nums = [int(x) for x in re.findall(rb"\d+", m.group(1))]
                lo, hi = min(nums), max(nums)
                if any(plan.removed(x) for x in range(max(lo, plan.first),
                                                      min(hi, plan.last) + 1)):
                    raise self._error(Label(
                        f"要删除的行里有合并单元格或超链接({m.group(1).decode()});请先取消",
                        f"merged cells or a hyperlink ({m.group(1).decode()}) lie in the rows "
                        f"removed; remove them first"), m.group(1).decode())
        tail = _CF_BLOCK.sub(lambda m: self._with_formulas(m.group()), tail)
        tail = _DV.sub(lambda m: self._with_formulas(m.group()), tail)
        tail = _RANGE_ATTR.sub(self._range_attr, tail)
        tail = _X14_BLOCK.sub(lambda m: self._x14(m.group()), tail)
        tail = re.sub(rb"<conditionalFormatting\b[^>]*\bsqref=\"\"[^>]*>.*?"
                      rb"</conditionalFormatting>", b"", tail, flags=re.DOTALL)
        tail = re.sub(rb"<dataValidation\b[^>]*\bsqref=\"\"[^>]*?(?:/>|>.*?</dataValidation>)",
                      b"", tail, flags=re.DOTALL)
        return _recount(tail)

    def _x14(self, block: bytes) -> bytes:
        """An Excel 2010+ validation or conditional format (``<x14:…>`` in the sheet's
        ``extLst``, its range in ``<xm:sqref>``, its formulas in ``<xm:f>``): moved and
        shrunk like the others; refused when every row of its range is removed."""
        sq = _XM_SQREF.search(block)
        if sq is None:
            return block
        refs = sq.group(2).decode()
        new_refs = self.plan.sqref(refs)
        if refs.split() and not new_refs:
            raise self._error(Label(
                f"Excel 2010 格式的数据验证或条件格式({refs})只作用于要删除的行;请先删除它",
                f"an Excel 2010 validation or conditional format ({refs}) applies to the rows "
                f"removed only; remove it first"), refs.split()[0])
        block = self._with_formulas(block, sqref=refs, inner=_XM_F)
        sq = _XM_SQREF.search(block)
        assert sq is not None
        return block[:sq.start(2)] + new_refs.encode() + block[sq.end(2):]

    def _range_attr(self, m: re.Match[bytes]) -> bytes:
        return m.group(1) + self.plan.sqref(m.group(2).decode()).encode() + m.group(3)

    def _with_formulas(self, block: bytes, sqref: str | None = None,
                       inner: re.Pattern[bytes] = _INNER_FORMULA) -> bytes:
        """A conditional format or validation whose formulas move with its first row
        (its range ``sqref``, else its ``sqref`` attribute; its formulas ``inner``)."""
        if sqref is None:
            sq = _SQREF.search(block)
            if sq is None:
                return block
            sqref = sq.group(1).decode()
        first = re.search(r"\d+", sqref)
        if first is None:
            return block
        old = int(first.group())
        kept = None
        for ref in sqref.split():
            nums = [int(x) for x in re.findall(r"\d+", ref)]
            if nums:
                kept = self.plan.span(min(nums), max(nums))
                if kept is not None:
                    break
        if kept is None:
            return block
        new = kept[0]

        def fix(m: re.Match[bytes]) -> bytes:
            text = _unescape(m.group(3).decode("utf-8"))
            try:
                shifted = self.plan.formula(text, self.sheet, local=True, top=(old, new))
            except _Gone:
                raise self._error(Label(
                    "条件格式或数据验证的公式引用了要删除的单元格",
                    "a conditional format or validation formula points at a cell being "
                    "removed"), sqref.split()[0]) from None
            if shifted == text:
                return m.group()
            return m.group(1) + _escape(shifted).encode() + m.group(4)

        return inner.sub(fix, block)


def _cell_at(text: bytes, pos: int, row: int) -> str:
    """The reference of the cell of a row's XML that holds position ``pos`` (its row
    number given: ``row``)."""
    start = text.rfind(b"<c ", 0, pos)
    m = _CELL_START.match(text, start) if start >= 0 else None
    return f"{m.group(1).decode() if m else 'A'}{row}"


def _recount(tail: bytes) -> bytes:
    """``count`` of ``dataValidations`` and ``mergeCells`` after some were dropped."""
    for outer, inner in ((rb"dataValidations", rb"dataValidation"),
                         (rb"mergeCells", rb"mergeCell")):
        m = re.search(rb"<" + outer + rb"\b[^>]*>(.*?)</" + outer + rb">", tail, re.DOTALL)
        if m is None:
            continue
        n = len(re.findall(rb"<" + inner + rb"\b", m.group(1)))
        if n == 0:
            tail = tail[:m.start()] + tail[m.end():]
            continue
        tag_end = tail.find(b">", m.start())
        tag = tail[m.start():tag_end + 1]
        fixed = re.sub(rb'\bcount="\d+"', f'count="{n}"'.encode(), tag)
        tail = tail[:m.start()] + fixed + tail[tag_end + 1:]
    return tail


# -- the table part and the names ---------------------------------------------------------


def _table_xml(xml: bytes, plan: _Rows, header: int | None, where: dict[str, str]) -> bytes:
    """A table part moved or shrunk; the table of the rows (``header`` given) keeps at
    least one data row, as Excel requires."""

    def fix(m: re.Match[bytes]) -> bytes:
        ref = m.group(2).decode()
        mm = re.fullmatch(r"(\$?[A-Z]{1,3}\$?)(\d+):(\$?[A-Z]{1,3}\$?)(\d+)", ref)
        if mm is None:
            return m.group()
        r0, r1 = int(mm.group(2)), int(mm.group(4))
        kept = plan.span(r0, r1)
        if kept is None:
            raise WorkbookError(Label(f"另一个 Excel 表格({ref})会被整个删除",
                                      f"another Excel table ({ref}) would be removed whole"),
                                **where)
        n0, n1 = kept
        if header is not None and n1 <= n0:
            n1 = n0 + 1
        return m.group(1) + f"{mm.group(1)}{n0}:{mm.group(3)}{n1}".encode() + m.group(3)

    return re.sub(rb'(<(?:table|autoFilter|sortState|sortCondition)\b[^>]*?\bref=")([^"]*)(")',
                  fix, xml)


def _full_calc(xml: bytes) -> bytes:
    """``workbook.xml`` asking Excel and LibreOffice to recalculate every formula on load
    (a formula whose range shrank still holds the result of the rows removed)."""
    m = re.search(rb"<calcPr\b[^>]*?/?>", xml)
    if m is None:
        return xml.replace(b"</workbook>", b'<calcPr fullCalcOnLoad="1"/></workbook>', 1)
    tag = m.group()
    if re.search(rb'fullCalcOnLoad="(1|true)"', tag):
        return xml
    tag = re.sub(rb'\s+fullCalcOnLoad="[^"]*"', b"", tag)
    tag = tag.replace(b"<calcPr", b'<calcPr fullCalcOnLoad="1"', 1)
    return xml[:m.start()] + tag + xml[m.end():]


def _defined_names(xml: bytes, sheet: str, plan: _Rows, where: dict[str, str]) -> bytes:
    """Defined names pointing into ``sheet`` renumbered."""

    def fix(m: re.Match[bytes]) -> bytes:
        text = _unescape(m.group(2).decode("utf-8"))
        try:
            new = plan.formula(text, sheet, local=False)
        except _Gone:
            raise WorkbookError(Label(f"名称 {text} 指向要删除的单元格",
                                      f"the defined name {text} points at cells being "
                                      f"removed"), **where) from None
        if new == text:
            return m.group()
        return m.group(1) + _escape(new).encode() + m.group(3)

    return _DEFINED.sub(fix, xml)

