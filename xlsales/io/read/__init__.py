"""Read business tables from workbooks: one reader API over small engines.

:class:`WorkbookReader` opens a workbook once per command: the safety checks
(:mod:`xlsales.io.safety`), the sheet list and the first rows of each sheet
(:mod:`xlsales.io.read.package`). Tables are found by their headers in any sheet and at
any offset (:func:`xlsales.frames.locate`) and loaded column by column in their types
(:mod:`xlsales.io.read.fastexcel_engine`); value grids handed over by Excel itself (the
buttons) go through :mod:`xlsales.io.read.grid`. Either way :func:`xlsales.frames.build_table`
normalises the values into a :class:`~xlsales.frames.Table`.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, Union

from xlsales.errors import READ, WORKBOOK, TableNotFoundError, WorkbookError, cannot
from xlsales.headers import HEADER_SCAN_ROWS, locate, no_table_found
from xlsales.i18n import Label, Lang
from xlsales.io import guard
from xlsales.io.read.package import Extent, Package, SheetScan
from xlsales.io.safety import check_workbook
from xlsales.tables.base import TableSpec

if TYPE_CHECKING:  # (pandas is loaded with the first table built, not with this module)
    from xlsales.frames import Table
    from xlsales.io.read.early import Begun
    from xlsales.settings import Settings


def require_defusedxml() -> None:
    """Refuse to parse workbooks unless openpyxl parses XML through defusedxml."""
    from openpyxl.xml import DEFUSEDXML

    if not DEFUSEDXML:
        raise WorkbookError(Label("openpyxl 没有使用 defusedxml；请安装 defusedxml",
                                  "openpyxl is not using defusedxml; install defusedxml"))


SMALL_PART = 1 << 20  # a sheet's XML this small is surveyed without a second thread
AHEAD_PART = 1 << 24  # this large: decompressed in a thread of its own, ahead of the survey
# This large: only its extent before the load, its scan during it (a second decompression
# in a thread beside the load). None: never — measured on 2 shared cores at 10k, 100k and
# 500k daily rows, the second decompression slowed the load more than it saved.
SPLIT_PART: int | None = None


T = TypeVar("T")
Later = Union[T, Callable[[], T]]  # noqa: UP007 (a value, or what gives it once it is needed)

_THREADS = threading.local()


def threads_allowed() -> bool:
    """Whether reads in this thread may start threads of their own (not in
    :func:`no_threads`)."""
    return not getattr(_THREADS, "off", False)


@contextlib.contextmanager
def no_threads() -> Iterator[None]:
    """The reads in this block (in this thread) start no threads of their own: for work
    done in a second thread beside another's load (``load_daily(beside=…)``), whose core
    more threads would only take."""
    was = getattr(_THREADS, "off", False)
    _THREADS.off = True
    try:
        yield
    finally:
        _THREADS.off = was


class WorkbookReader:
    """A workbook opened and checked once; its tables read by spec."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.report = check_workbook(self.path)
        guard.seen(self.path)  # an edit later in this command must find it unchanged
        self.pkg = Package(self.path, date1904=self.report.date1904)
        self._fx: Any = None

    def close(self) -> None:
        self.pkg.close()

    def __enter__(self) -> WorkbookReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def sheet_names(self) -> list[str]:
        return [s.name for s in self.pkg.sheets]

    def heads(self, rows: int = HEADER_SCAN_ROWS) -> dict[str, list[list[Any]]]:
        """The first rows of every sheet a table may live in (names not starting with _)."""
        return {s.name: self.pkg.head(s.name, rows) for s in self.pkg.sheets
                if not s.name.startswith("_")}

    def fast_reader(self) -> Any:
        """The fastexcel reader of this workbook (opened once, on first use)."""
        if self._fx is None:
            import fastexcel

            try:
                self._fx = fastexcel.read_excel(str(self.path))
            except Exception as exc:  # fastexcel raises its own error types
                raise WorkbookError(cannot(READ, WORKBOOK, exc), file=str(self.path)) \
                    from exc
        return self._fx

    def load(self, spec: TableSpec, settings: Later[Settings], sheet: str, header_row: int,
             cols: dict[str, int], *, lang: Lang | None = None,
             stop_at_blank: bool = False, keys: Iterable[str] | None = None,
             loading: Callable[[], object] | None = None,
             early: Begun | None = None) -> Table:
        """The table of ``spec`` whose header is at (0-based) ``header_row`` of ``sheet``
        (only the columns ``keys`` when given; the others read as blank). ``loading`` is
        called when the typed load starts (past the far-cell guard): the fast reader
        leaves Python free meanwhile, a good time for a caller's work in another thread.
        ``early``: this sheet's survey and typed load, begun by
        :func:`xlsales.io.read.early.head_start`; when none is given, a head start on this
        very table of this workbook (all its columns) is taken if there is one and the
        file is as it was (:func:`xlsales.io.read.early.take`). ``settings`` may come
        as a function giving them, called once the load is over (they are read
        meanwhile: :class:`xlsales.jobs.sources.SettingsBeside`)."""
        from xlsales.frames import build_table
        from xlsales.io.read.fastexcel_engine import load_raw

        if early is None and keys is None:
            from xlsales.io.read.early import take

            begun = take(self.path, spec, (sheet, header_row, cols))
            if begun is not None:
                with begun.reader as wb:
                    return wb.load(spec, settings, sheet, header_row, cols, lang=lang,
                                   stop_at_blank=stop_at_blank, loading=loading,
                                   early=begun)

        grid = self.pkg.head(sheet, header_row + 1)
        headers = {k: str(grid[header_row][i]) for k, i in cols.items()}
        if keys is not None:
            cols = {k: c for k, c in cols.items() if k in set(keys)}
            headers = {k: h for k, h in headers.items() if k in cols}
        info = self.pkg.sheet(sheet)
        huge = info is not None and info.part in self.report.huge_sheets
        inputs = {c for k, c in cols.items() if spec.column(k).is_input}
        try:
            extent, scan = (early.extent, early.scan) if early is not None \
                else self.survey_while(sheet, inputs, self.fast_reader)
            raw = load_raw(self.pkg, self._fx, spec, sheet, header_row, cols, headers,
                           huge=huge, extent=extent, scan=scan, loading=loading,
                           loaded=early.load if early is not None else None)
        except WorkbookError as exc:
            if exc.file is None:
                raise WorkbookError(exc.message, file=str(self.path), sheet=exc.sheet or sheet,
                                    cell=exc.cell, value=exc.value) from exc
            raise
        if callable(settings):  # read meanwhile (``load_daily``): needed from here on
            settings = settings()
        return build_table(raw, spec, settings, lang=lang, stop_at_blank=stop_at_blank)

    def survey_while(self, sheet: str, columns: set[int],
                      work: Callable[[], object]) -> tuple[Extent, SheetScan | None]:
        """The extent of ``sheet`` (what the far-cell guard needs before the load), measured
        in a second thread while ``work`` (opening the fast reader) runs — after it when
        the reader is open already or the sheet is small (or in :func:`no_threads`: one
        pass, no more threads). The scan for what the XML hides is
        done in the same pass (:meth:`Package.survey`), over a part decompressed a few
        chunks ahead in a third thread when it is large (:data:`AHEAD_PART`); from
        :data:`SPLIT_PART` on, it is left to :func:`load_raw` (None here), which runs it
        in a second thread while the load, which leaves Python free, runs."""
        info = self.pkg.sheet(sheet)
        size = self.pkg.zf.getinfo(info.part).file_size if info is not None \
            and info.part in self.pkg.zf.namelist() else 0
        if not threads_allowed():  # beside another's load: no more threads
            work()
            return self.pkg.survey(sheet, columns)
        split = SPLIT_PART is not None and size >= SPLIT_PART
        ahead = size >= AHEAD_PART
        if self._fx is not None or size < SMALL_PART:
            work()  # nothing to wait for, or little to read: no second thread
            extent, scan = self.pkg.survey(sheet, columns, scan=not split, ahead=ahead)
            return extent, None if split else scan
        box: dict[str, Any] = {}

        def measure() -> None:
            try:
                box["survey"] = self.pkg.survey(sheet, columns, scan=not split, ahead=ahead)
            except BaseException as exc:  # handed to the caller below
                box["error"] = exc

        worker = threading.Thread(target=measure, name="xlsales-sheet-survey")
        worker.start()
        try:
            work()
        finally:
            worker.join()
        if "error" in box:
            raise box["error"]
        extent, scan = box["survey"]
        return extent, None if split else scan

    def table(self, spec: TableSpec, settings: Later[Settings], *,
              lang: Lang | None = None,
              sheet: str | None = None, scan_rows: int = HEADER_SCAN_ROWS,
              stop_at_blank: bool = False, keys: Iterable[str] | None = None,
              loading: Callable[[], object] | None = None) -> Table:
        """Find ``spec`` (in ``sheet``, or any sheet) and read it (only the columns
        ``keys`` when given; ``loading`` as :meth:`load` takes it, not called when the
        table is not found); TableNotFoundError when no sheet has it."""
        found = self.find(spec, sheet=sheet, scan_rows=scan_rows)
        if found is None:
            raise self.not_found([spec], sheet=sheet, scan_rows=scan_rows)
        name, header_row, cols = found
        return self.load(spec, settings, name, header_row, cols, lang=lang,
                         stop_at_blank=stop_at_blank, keys=keys, loading=loading)

    def find(self, spec: TableSpec, *, sheet: str | None = None,
             scan_rows: int = HEADER_SCAN_ROWS) -> tuple[str, int, dict[str, int]] | None:
        """(sheet, 0-based header row, columns) of ``spec`` in this workbook, from the
        sheets' first rows only (nothing is loaded); None when no sheet has it."""
        if sheet is not None:  # only that sheet's first rows are read
            if sheet not in self.sheet_names:
                return None
            heads = {sheet: self.pkg.head(sheet, scan_rows)}
        else:
            heads = self.heads(scan_rows)
        return locate(heads, spec, sheet=sheet, scan_rows=scan_rows)

    def not_found(self, specs: Sequence[TableSpec], *, sheet: str | None = None,
                  scan_rows: int = HEADER_SCAN_ROWS) -> TableNotFoundError:
        """The error for a workbook (or ``sheet``) holding none of ``specs``: the closest
        header row seen, the headers it lacks and those expected (:func:`no_table_found`)."""
        if sheet is not None:
            heads = {sheet: self.pkg.head(sheet, scan_rows)} if sheet in self.sheet_names \
                else {}
        else:
            heads = self.heads(scan_rows)
        return no_table_found(heads, specs, file=str(self.path))

    def tables_per_sheet(self, spec: TableSpec, settings: Settings, *,
                         scan_rows: int = HEADER_SCAN_ROWS,
                         stop_at_blank: bool = False) -> list[Table]:
        """``spec``'s table in every sheet that has one."""
        heads = self.heads(scan_rows)
        out = []
        for name in heads:
            found = locate(heads, spec, sheet=name, scan_rows=scan_rows)
            if found is not None:
                out.append(self.load(spec, settings, name, found[1], found[2],
                                     stop_at_blank=stop_at_blank))
        return out

    def sheet_rows(self, name: str) -> list[list[Any]]:
        """Every row of a sheet as text values ([] when the sheet is absent)."""
        if name not in self.sheet_names:
            return []
        xs = self.fast_reader().load_sheet(name, header_row=None, dtypes="string")
        df = xs.to_pandas()
        return [["" if v != v or v is None else v for v in row]
                for row in df.itertuples(index=False, name=None)]


def read_table(path: str | os.PathLike[str], spec: TableSpec, settings: Later[Settings], *,
               lang: Lang | None = None, sheet: str | None = None,
               scan_rows: int = HEADER_SCAN_ROWS, stop_at_blank: bool = False,
               keys: Iterable[str] | None = None,
               loading: Callable[[], object] | None = None) -> Table:
    """Find ``spec`` in the workbook at ``path`` and read it (only the columns ``keys``
    when given; ``loading``: called when the typed load starts, see
    :meth:`WorkbookReader.load`). A head start on this read
    (:func:`xlsales.io.read.early.head_start`) is taken with the workbook it opened and
    the table it found: the workbook is not opened twice."""
    from xlsales.io.read.early import take

    begun = take(path, spec) if sheet is None and keys is None \
        and scan_rows == HEADER_SCAN_ROWS else None
    if begun is not None:
        with begun.reader as wb:
            return wb.load(spec, settings, *begun.found, lang=lang,
                           stop_at_blank=stop_at_blank, loading=loading, early=begun)
    with WorkbookReader(path) as wb:
        return wb.table(spec, settings, lang=lang, sheet=sheet, scan_rows=scan_rows,
                        stop_at_blank=stop_at_blank, keys=keys, loading=loading)


def read_tables_per_sheet(path: str | os.PathLike[str], spec: TableSpec, settings: Settings,
                          *, scan_rows: int = HEADER_SCAN_ROWS,
                          stop_at_blank: bool = False) -> list[Table]:
    """``spec``'s table in every sheet that has one, reading the workbook once."""
    with WorkbookReader(path) as wb:
        return wb.tables_per_sheet(spec, settings, scan_rows=scan_rows,
                                   stop_at_blank=stop_at_blank)


def sheet_records(path: str | os.PathLike[str], sheet: str, spec: TableSpec,
                  settings: Settings, *, rows: tuple[int, int] | None = None,
                  keys: Iterable[str] | None = None,
                  scan_rows: int = HEADER_SCAN_ROWS) -> list[dict[str, Any]]:
    """The filled rows of ``spec``'s table on ``sheet`` (only Excel rows ``rows``, 1-based
    and inclusive, when given) as canonical values; [] when the sheet has no such table.
    What people typed into a sheet xlsales regenerates is read back with this."""
    return sheets_records(path, [sheet], spec, settings, rows=rows, keys=keys,
                          scan_rows=scan_rows)[sheet]


QUICK_SCAN_ROWS = 8


def sheets_records(path: str | os.PathLike[str], sheets: Iterable[str], spec: TableSpec,
                   settings: Settings, *, rows: tuple[int, int] | None = None,
                   keys: Iterable[str] | None = None,
                   scan_rows: int = HEADER_SCAN_ROWS,
                   needed: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """:func:`sheet_records` of several sheets, opening the workbook once. With
    ``needed`` (a column key), a sheet whose column ``needed`` holds nothing under its
    header gives no records and is not read at all (a byte search of its XML instead)."""
    out: dict[str, list[dict[str, Any]]] = {}
    with WorkbookReader(path) as wb:
        for sheet in sheets:
            out[sheet] = []
            # the header is near the top (a sheet xlsales wrote): a few rows are parsed
            # first, the whole scan only when they do not hold it
            found = wb.find(spec, sheet=sheet, scan_rows=min(scan_rows, QUICK_SCAN_ROWS))
            if found is None and scan_rows > QUICK_SCAN_ROWS:
                found = wb.find(spec, sheet=sheet, scan_rows=scan_rows)
            if found is None:
                continue
            if needed is not None and (needed not in found[2] or not wb.pkg.column_filled(
                    sheet, found[2][needed], found[1])):
                continue
            table = wb.load(spec, settings, found[0], found[1], found[2], keys=keys)
            for rec in table.records(with_row=True):
                row = rec.pop("_row")
                if rows is not None and not rows[0] <= row <= rows[1]:
                    continue
                if any(v not in (None, "") for v in rec.values()):
                    out[sheet].append(rec)
    return out


def hidden_sheet_rows(path: str | os.PathLike[str], name: str) -> list[list[Any]]:
    """The values of a sheet xlsales keeps for itself (``_hints`` …); [] when absent."""
    with WorkbookReader(path) as wb:
        return wb.sheet_rows(name)


def first_error(table: Table) -> None:
    """Raise the first error reading ``table`` found, as a WorkbookError naming its cell."""
    for f in table.findings:
        if f.severity == "error":
            raise WorkbookError(f.message, file=f.file, sheet=f.sheet, cell=f.cell,
                                value=f.value)


def read_records(path: str | os.PathLike[str], spec: TableSpec,
                 settings: Settings | None = None) -> list[dict[str, Any]]:
    """Every row of ``spec`` in ``path`` as canonical values; the first error raises."""
    from xlsales.settings import Settings

    table = read_table(path, spec, settings or Settings.default())
    first_error(table)
    return table.records()
