"""What the jobs read from a workspace, each workbook once: settings, dailies, targets,
the customer-side tables."""

from __future__ import annotations

import datetime as dt
import functools
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import pandas as pd

from xlsales import tables as T
from xlsales.context import Context
from xlsales.discipline import dedupe
from xlsales.errors import WorkbookError, XlsalesError
from xlsales.findings import Finding
from xlsales.frames import Table, records
from xlsales.i18n import Label, Lang
from xlsales.jobs.batch import gc_paused
from xlsales.performance import Targets
from xlsales.settings import RosterEntry, Settings
from xlsales.workspace import BOOK_BY_KEY, book_path, read_settings

WEEKLY_FILE = "weekly_report.xlsx"
ARCHIVE_PREFIX = "archive_"  # archive_<year>.xlsx: archived dailies, not a rep's workbook
FILE_ROWS = 10_000_000  # row labels of the n-th daily file are its rows + n × this


def workspace_settings(root: Path) -> Settings:
    """The settings of the workspace at ``root`` (the defaults when it has none)."""
    if (root / BOOK_BY_KEY["settings"].filename).exists():
        return read_settings(root)
    return Settings.default()


@dataclass
class DailySource:
    """The daily reports of a team: the shared workbook, or per-rep workbooks merged.

    ``frame`` holds one row per rep and day (the latest submission); ``tables`` the
    tables as read, for writing back into them (read with ``since``: the archives read
    follow the daily workbooks, ``tables[len(files):]``; ``files`` never holds them)."""

    root: Path
    files: list[Path]
    settings: Settings
    tables: list[Table]
    findings: list[Finding]
    frame: pd.DataFrame
    dropped: int
    lang: Lang
    audit: list[Any] = field(default_factory=list)  # ledger.audit.Edit: edited after submission

    @property
    def moves(self) -> pd.DataFrame:
        """The stage moves of the frame's rows (parsed once per table, as validated)."""
        from xlsales.stagemoves import MOVE_COLUMNS, table_moves

        parts = [table_moves(t, self.settings).assign(row=lambda m, i=i: m["row"] + i * FILE_ROWS)
                 for i, t in enumerate(self.tables)]
        if not parts:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in MOVE_COLUMNS})
        moves = pd.concat(parts) if len(parts) > 1 else parts[0]
        return moves[moves["row"].isin(self.frame.index)]

    def release(self) -> None:
        """Let go of what was read: the tables and the frame (the findings, settings and
        files stay). A job that has its figures and goes on to write a workbook calls this
        first, so the dailies' frames are not held while the workbook is built."""
        self.tables = []
        self.frame = self.frame.iloc[0:0]

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The deduplicated rows as records (row by row; for small consumers)."""
        return records(self.frame, T.get("daily"))

    @property
    def errors_by_row(self) -> dict[tuple[Any, Any], int]:
        """Error findings per (rep, day) of the row they point at."""
        out: dict[tuple[Any, Any], int] = {}
        rows_of: dict[str, list[Any]] = {}
        for f in self.findings:
            if f.severity == "error":
                rows_of.setdefault(f.file or "", []).append(f.row)
        for t in self.tables:
            rows = [r for r in rows_of.get(t.file, ()) if r is not None]
            if not rows:
                continue
            hit = t.df.loc[t.df.index.intersection(rows), ["rep", "date"]]
            hit = hit.loc[[r for r in rows if r in hit.index]]  # once per finding
            reps = hit["rep"].astype(object).where(hit["rep"].notna(), None).tolist()
            days = [None if pd.isna(d) else d.date() for d in hit["date"].tolist()]
            for key in zip(reps, days, strict=True):
                out[key] = out.get(key, 0) + 1
        return out

    @property
    def problems_by_row(self) -> dict[tuple[Any, Any], int]:
        """The weekly sheet's data problems per (rep, day): the error findings, and the
        dailies the ledger found edited or deleted after submission (``audit``)."""
        out = self.errors_by_row
        for e in self.audit:
            out[(e.rep, e.day)] = out.get((e.rep, e.day), 0) + 1
        return out


def daily_files(path: Path) -> tuple[Path, list[Path]]:
    """(workspace root, daily workbooks) of a workspace, a daily workbook or a folder of
    per-rep workbooks."""
    if not path.is_dir():
        return path.parent, [path]
    shared = book_path(path, "daily")
    if shared.exists():
        return path, [shared]
    return path, sorted(p for p in path.glob("*.xls[xm]")
                        if not p.name.startswith(("~$", ".", ARCHIVE_PREFIX))
                        and p.name != WEEKLY_FILE
                        and p.name != BOOK_BY_KEY["settings"].filename)


R = TypeVar("R")


class _InThread(Generic[R]):
    """A function run once in a second thread beside the daily load (reads there start no
    threads of their own: the load has the other core); its value, or its error, is kept
    for the caller's thread."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.thread: threading.Thread | None = None
        self._box: dict[str, Any] = {}

    def start(self, fn: Callable[[], R]) -> None:
        """Run ``fn`` in a second thread (once: later calls do nothing)."""
        if self.thread is not None:
            return

        def run() -> None:
            from xlsales.io.read import no_threads

            try:
                with no_threads():
                    self._box["value"] = fn()
            except BaseException as exc:  # raised by value(), in the caller's thread
                self._box["error"] = exc

        self.thread = threading.Thread(target=run, name=self.name)
        self.thread.start()

    def wait(self) -> None:
        """Wait for it, when it was started."""
        if self.thread is not None:
            self.thread.join()

    def value(self) -> R:
        """What ``fn`` returned (or raise what it raised), once it is over."""
        self.wait()
        if "error" in self._box:
            raise self._box["error"]
        return self._box["value"]


class Beside(Generic[R]):
    """Work for a second thread while the daily report loads: ``work(root, settings)``
    with the workspace's root and settings, handed to :func:`load_daily` (``beside``).
    It starts when the daily sheet's typed load starts (the fast reader leaves Python free
    meanwhile) and is over when load_daily returns. :meth:`result` gives its value or
    raises its error; when the work did not run during the load (the daily report was
    not read that far, the settings have no roster, other arguments), result does it
    there and then, as a plain call would."""

    def __init__(self, work: Callable[[Path, Settings], R]) -> None:
        self.work = work
        self._args: tuple[Path, Settings] | None = None
        self._run: _InThread[R] = _InThread("xlsales-beside-daily")

    def start(self, root: Path, settings: Settings) -> None:
        """Start the work in a second thread (once: later calls do nothing)."""
        if self._args is None:
            self._args = (root, settings)
            self._run.start(lambda: self.work(root, settings))

    def wait(self) -> None:
        """Wait for the work when it was started."""
        self._run.wait()

    def result(self, root: Path, settings: Settings) -> R:
        """What ``work(root, settings)`` returns (or raises)."""
        if self._args is None or self._args[0] != root or self._args[1] is not settings:
            self.wait()
            return self.work(root, settings)
        return self._run.value()


def _start_all(besides: Sequence[Beside[Any]], root: Path, settings: Settings) -> None:
    for one in besides:
        one.start(root, settings)


class SettingsBeside:
    """The workspace's settings read in a second thread while the first daily sheet loads
    (:meth:`start`, the read's ``loading``), then the work beside that needs them
    started (given a roster, as :func:`load_daily` starts it); :meth:`settings` waits for
    them (or reads them there and then when the load never started) and raises what
    reading them raised."""

    def __init__(self, root: Path, besides: Sequence[Beside[Any]] = ()) -> None:
        self.root, self.besides = root, besides
        self._run: _InThread[Settings] = _InThread("xlsales-beside-settings")
        self._plain: Settings | None = None  # read in the caller's thread

    def _read(self) -> Settings:
        settings = workspace_settings(self.root)
        if self.besides and settings.roster:
            _start_all(self.besides, self.root, settings)
        return settings

    def start(self) -> None:
        """Start reading them (once)."""
        self._run.start(self._read)

    def wait(self) -> None:
        """Wait for the read, when it was started."""
        self._run.wait()

    def settings(self) -> Settings:
        """The settings (read here, as a plain call would, if the load never started)."""
        if self._run.thread is None and self._plain is None:
            self._plain = workspace_settings(self.root)
        return self._plain if self._plain is not None else self._run.value()


def load_daily(source: str | os.PathLike[str], *, today: dt.date | None = None,
               settings: Settings | None = None, validate: bool = True,
               since: dt.date | None = None, until: dt.date | None = None,
               beside: Beside[Any] | Sequence[Beside[Any]] | None = None) -> DailySource:
    """Read (and with ``validate``, check) the daily reports at ``source`` (workspace
    folder, a daily workbook, or a folder of per-rep daily workbooks). Python's cyclic
    collector is paused meanwhile (:func:`xlsales.jobs.batch.gc_paused`).

    With ``since`` (the first day of the period a command covers; ``until`` its last),
    the workspace's archives of old dailies of the years ``since.year`` … ``until.year``
    (``archive_<year>.xlsx``, :func:`archive_files`) are read too, checked as the daily
    report is, and their rows join ``frame`` (deduplicated with the daily report's: the
    latest submission wins; on a tie, the daily report's row). Without an archive of
    those years nothing more is read.

    ``beside``: work (or several) to do in a second thread while the daily sheet loads
    (see :class:`Beside`); it is over when this returns or raises. Without ``settings``,
    the workspace's are read in a second thread too, while the (first) daily sheet loads
    (:class:`SettingsBeside`), and the work beside starts once they are read."""
    besides = [] if beside is None else [beside] if isinstance(beside, Beside) \
        else list(beside)
    with gc_paused():
        try:
            return _load_daily(source, today=today, settings=settings, validate=validate,
                               since=since, until=until, besides=besides)
        finally:
            for one in besides:
                one.wait()


def _load_daily(source: str | os.PathLike[str], *, today: dt.date | None,
                settings: Settings | None, validate: bool, since: dt.date | None = None,
                until: dt.date | None = None, besides: Sequence[Beside[Any]] = (),
                ) -> DailySource:
    from xlsales.io.read import read_table, threads_allowed
    from xlsales.ledger.hook import prepare
    from xlsales.validate import check_table

    prepare()
    path = Path(source)
    root, files = daily_files(path)
    spec = T.get("daily")
    tables: list[Table] = []
    if settings is None and files and threads_allowed():  # read while the first loads
        first = SettingsBeside(root, besides)
        try:
            tables.append(read_table(files[0], spec, first.settings, loading=first.start))
        except XlsalesError:
            if len(files) == 1:
                raise
        finally:
            first.wait()
        settings, files_left = first.settings(), files[1:]
    else:
        settings, files_left = settings or workspace_settings(root), files
    # the work beside starts with the first daily sheet's load, given the settings the
    # caller gets back (a stand-in roster below would be other settings: it waits)
    loading = functools.partial(_start_all, besides, root, settings) \
        if besides and settings.roster else None
    for f in files_left:
        try:
            tables.append(read_table(f, spec, settings, loading=loading))
        except XlsalesError:
            if len(files) == 1:
                raise
    if not tables:
        raise WorkbookError(Label("这里没有销售日报", "no daily report found here"),
                            file=str(path))
    if not settings.roster:  # no settings: the reps who reported are the roster
        reps = sorted({r for t in tables for r in t.df["rep"].dropna()})
        settings = settings.model_copy(update={"roster": [
            RosterEntry(rep=rep, region="", product_line="") for rep in reps]})
        settings.source = None  # a stand-in roster: never written into dropdowns
    ctx = Context.make(settings, today)
    findings: list[Finding] = []
    for t in tables:
        findings += check_table(t, ctx) if validate else t.findings
    both = tables[0].df if len(tables) == 1 else pd.concat(
        [t.df.set_axis(t.df.index + i * FILE_ROWS) for i, t in enumerate(tables)])
    frame, dropped = dedupe(both)
    from xlsales.ledger.hook import seen_daily

    audit = seen_daily(root, settings, frame, tables, FILE_ROWS)
    olds = _archive_tables(root, settings, since, until) if since is not None else []
    if olds:  # after the ledger saw the daily workbooks: the archives are not recorded
        offset = len(tables)
        tables = [*tables, *olds]
        for t in olds:
            findings += check_table(t, ctx) if validate else t.findings
        parts = [t.df.set_axis(t.df.index + (offset + i) * FILE_ROWS)
                 for i, t in enumerate(olds)]
        frame, dropped = dedupe(pd.concat([*parts, both]))
    return DailySource(root, files, settings, tables, findings, frame, len(dropped),
                       tables[0].lang, audit)


def archive_files(root: Path) -> dict[int, Path]:
    """The archives of old dailies in the workspace ``root`` (``archive_<year>.xlsx``,
    written by ``xlsales archive``), by year."""
    found = {}
    for p in root.glob(f"{ARCHIVE_PREFIX}*.xls[xm]"):
        year = p.stem[len(ARCHIVE_PREFIX):]
        if year.isdigit():
            found[int(year)] = p
    return dict(sorted(found.items()))


def _archive_tables(root: Path, settings: Settings, since: dt.date,
                    until: dt.date | None = None) -> list[Table]:
    """The daily tables of the archives of the years ``since.year`` … ``until.year`` (on,
    without ``until``), chosen by their names: each holds the rows of its year."""
    from xlsales.io.read import read_table

    last = until.year if until is not None else 9999
    spec = T.get("daily")
    return [read_table(p, spec, settings) for y, p in archive_files(root).items()
            if since.year <= y <= last]


def with_archives(daily: DailySource, since: dt.date,
                  until: dt.date | None = None) -> pd.DataFrame:
    """The dailies of ``daily`` (one row per rep and day) and those of the workspace's
    archives of the years ``since.year`` … ``until.year`` (chosen by their years, not by
    the daily report's earliest day: one old date typed by mistake hides no archive),
    read as the daily report is and deduplicated with it (the latest submission wins;
    on a tie, the daily report's row). For the review, whose trend and comparisons
    reach back months; the other commands read them through ``load_daily(since=…)``."""
    olds = _archive_tables(daily.root, daily.settings, since, until)
    if not olds:
        return daily.frame
    offset = max(len(daily.files), len(daily.tables))  # labels apart from any read
    parts = [t.df.set_axis(t.df.index + (offset + i) * FILE_ROWS)
             for i, t in enumerate(olds)]
    return dedupe(pd.concat([*parts, daily.frame]))[0]


def read_targets(root: Path, settings: Settings) -> tuple[Table, Table] | None:
    """The targets workbook's two tables as read (None when the workspace has none): what
    :func:`load_targets` reads, and what may run beside the daily load (``Beside``)."""
    from xlsales.io.read import WorkbookReader

    path = book_path(root, "targets")
    if not path.exists():
        return None
    with WorkbookReader(path) as wb:
        owners = wb.table(T.get("targets"), settings)
        team = wb.table(T.get("team_targets"), settings)
    return owners, team


def load_targets(root: Path, settings: Settings | None = None, *,
                 read: Beside[tuple[Table, Table] | None] | None = None) -> Targets:
    """The target breakdown of a workspace (empty when it has none); one read (``read``:
    :func:`read_targets` begun beside the daily load, see :func:`load_daily`)."""
    from xlsales.io.read import first_error

    path = book_path(root, "targets")
    if not path.exists():
        return Targets()
    settings = settings or workspace_settings(root)
    tables = read.result(root, settings) if read is not None else read_targets(root, settings)
    if tables is None:  # gone meanwhile
        return Targets()
    owners, team = tables
    first_error(owners)
    first_error(team)
    from xlsales.ledger.hook import seen_tables

    seen_tables(root, settings, (owners, team))
    return Targets.from_records(owners.records(), team.records())


@dataclass
class Workspace:
    """The customer-side tables of a workspace, read once."""

    root: Path
    settings: Settings
    tables: dict[str, Table]
    lang: Lang

    def frame(self, key: str) -> pd.DataFrame:
        """The canonical frame of a table (empty when the workbook has none)."""
        from xlsales.frames import frame

        table = self.tables.get(key)
        return table.df if table is not None else frame([], T.get(key))

    def records(self, key: str) -> list[dict[str, Any]]:
        """Rows as records, each with its Excel row as ``_row``."""
        table = self.tables.get(key)
        return table.records(with_row=True) if table else []


def load_customers(source: str | os.PathLike[str],
                   keys: tuple[str, ...] = ("customers", "follow_ups", "leads",
                                            "opportunities", "stage_history"),
                   settings: Settings | None = None) -> Workspace:
    """Read the customers workbook's tables (and the settings) of a workspace."""
    from xlsales.io.read import WorkbookReader

    path = Path(source)
    if path.is_dir():
        path = book_path(path, "customers")
    root = path.parent
    settings = settings or workspace_settings(root)
    tables = {}
    with WorkbookReader(path) as wb:
        for key in keys:
            try:
                tables[key] = wb.table(T.get(key), settings)
            except XlsalesError:
                if key in ("customers", "opportunities"):
                    raise
    lang = next(iter(tables.values())).lang
    from xlsales.ledger.hook import seen_tables

    seen_tables(root, settings, tables.values())
    return Workspace(root, settings, tables, lang)
