"""Whether and where what a command reads is recorded.

Recording is off in the library until :func:`activate` (the CLI activates it for each
command unless ``--no-ledger``); :func:`seen_daily` and :func:`seen_tables` are what the
readers call. Where: ``--ledger URL`` (given to :func:`activate`), else the environment
variable ``XLSALES_LEDGER`` (a URL, or ``off``), else the settings' ``ledger_url`` (a URL,
or ``off``), else ``.xlsales/ledger.sqlite`` in the workspace — made only in a folder that
is a workspace (it has a settings workbook, or already a ledger) and that can be written.

A ledger that was asked for (a URL) and cannot be opened is an error naming the URL; the
default file is skipped quietly when its folder is read-only."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from xlsales.findings import Finding
    from xlsales.frames import Table
    from xlsales.ledger.audit import Edit
    from xlsales.ledger.store import Ledger
    from xlsales.settings import Settings

ENV = "XLSALES_LEDGER"
OFF = {"off", "no", "none", "false", "0"}
FOLDER = ".xlsales"
FILE = "ledger.sqlite"
_STATE: dict[str, Any] = {"on": False, "url": None, "open": {}, "warm": None,
                          "today": None, "taken": set()}


def activate(url: str | None = None) -> None:
    """Record what is read from now on (into ``url`` when given)."""
    deactivate()
    _STATE.update(on=True, url=url or None)


def deactivate() -> None:
    """Stop recording and close the ledgers opened."""
    _joined()
    for ledger in _STATE["open"].values():
        ledger.close()
    _STATE.update(on=False, url=None, open={}, warm=None, today=None, taken=set())


def prepare() -> None:
    """Start loading the database code in a second thread (while a reader reads the
    workbook) when this command records; what records waits for it."""
    if not _STATE["on"] or _STATE["warm"] is not None or (
            not _STATE["url"] and os.environ.get(ENV, "").strip().lower() in OFF):
        return
    import threading

    def load() -> None:
        import contextlib

        with contextlib.suppress(Exception):
            import xlsales.ledger.store  # noqa: F401

    _STATE["warm"] = threading.Thread(target=load, name="xlsales-ledger", daemon=True)
    _STATE["warm"].start()


def _joined() -> None:
    warm = _STATE.get("warm")
    if warm is not None:
        warm.join()


def set_today(day: dt.date | None) -> None:
    """The command's "today" (``--on``): a pipeline snapshot is taken only when it is the
    real current date (:func:`system_today`)."""
    _STATE["today"] = day


def system_today() -> dt.date:
    """The real current date (the system's): the one source of it for snapshots."""
    return dt.date.today()


def taken_now(team: str) -> set[dt.date]:
    """The days of the snapshots of ``team`` this command itself stored (they show the
    pipeline as it is now, not as it was: no evidence of a past forecast)."""
    return {day for t, day in _STATE["taken"] if t == team}


def active() -> bool:
    return bool(_STATE["on"])


def default_path(root: Path) -> Path:
    """The workspace's own ledger file."""
    return (root / FOLDER / FILE).absolute()


def ledger_url(root: Path, settings: Settings | None) -> str | None:
    """The ledger a command in the workspace ``root`` records into (None: none)."""
    if _STATE["url"]:  # --ledger URL
        return str(_STATE["url"])
    env = os.environ.get(ENV, "").strip()
    if env.lower() in OFF:
        return None
    explicit = env
    if not explicit and settings is not None:
        explicit = getattr(settings.general, "ledger_url", "") or ""
        if explicit.strip().lower() in OFF:
            return None
    if explicit:
        return explicit
    from xlsales.workspace import BOOK_BY_KEY

    path = default_path(root)
    if path.exists():
        return f"sqlite:///{path}"
    if not (root / BOOK_BY_KEY["settings"].filename).exists() or not os.access(root, os.W_OK):
        return None
    return f"sqlite:///{path}"


def open_ledger(url: str) -> Ledger:
    """The ledger at ``url``, opened once per activation."""
    _joined()
    from xlsales.ledger.store import Ledger

    if not _STATE["on"]:
        return Ledger.open(url)
    opened = _STATE["open"]
    if url not in opened:
        opened[url] = Ledger.open(url)
    return opened[url]


def _ledger(root: Path, settings: Settings | None) -> Ledger | None:
    if not _STATE["on"]:
        return None
    url = ledger_url(root, settings)
    return None if url is None else open_ledger(url)


def team_of(settings: Settings | None) -> str:
    """The team a workspace's rows are recorded under (the settings' team name)."""
    return settings.general.team_name if settings is not None else ""


def _modified_by(files: Iterable[Path]) -> dict[str, str | None]:
    from xlsales.io.read.properties import core_properties

    return {f.name: core_properties(f).last_modified_by for f in files}


def _fingerprints(tables: Iterable[Table], settings: Settings | None) -> dict[str, str]:
    """Per workbook: what its table's read depends on (the sheet's bytes as the zip
    directory tells, the settings, the xlsales version) — equal means read the same."""
    import hashlib

    from xlsales import __version__
    from xlsales.io.read.properties import table_fingerprint

    common = hashlib.sha256(((settings.model_dump_json() if settings is not None else "")
                             + __version__).encode()).hexdigest()
    out = {}
    for t in tables:
        found = table_fingerprint(t.file, t.sheet)
        if found is not None:
            out[Path(t.file).name] = hashlib.sha256(
                f"{t.spec.key}|{found}|{common}".encode()).hexdigest()
    return out


def seen_daily(root: Path, settings: Settings, frame: pd.DataFrame, tables: list[Table],
               file_rows: int) -> list[Edit]:
    """Record the dailies read from ``tables`` (one row per rep and day; the rows of the
    n-th table labelled row + n × ``file_rows``); the rows edited or deleted after
    submission."""
    ledger = _ledger(root, settings)
    if ledger is None:
        return []
    import numpy as np

    from xlsales.ledger.audit import audit

    own = np.asarray([is_workspace_book(root, t) for t in tables])
    team = team_of(settings)
    if own.any():
        files = [Path(t.file) for t in tables]
        names = np.asarray([f.name for f in files], dtype=object)
        if len(files) == 1:
            source: Any = names[0]
        else:
            which = frame.index.to_numpy() // file_rows
            frame = frame[own[which]]
            source = names[which[own[which]]]
        ledger.record(team, "daily", frame, source, _modified_by(files),
                      fingerprints=_fingerprints([t for t, o in zip(tables, own, strict=True)
                                                  if o], settings))
    return audit(ledger.edited(team, "daily"))


def _snapshot(ledger: Ledger, team: str, opportunities: pd.DataFrame, settings: Settings,
              source: str) -> None:
    """The week's pipeline snapshot (the first read of the ISO week is kept), taken only
    when the command's today (:func:`set_today`) is the real current date: a command run
    ``--on`` another day reads today's pipeline, which is no snapshot of that day."""
    from xlsales.accuracy import snapshot

    day = system_today()
    if (_STATE["today"] or day) != day or ledger.has_snapshot(team, day):
        return
    if ledger.record_snapshot(team, snapshot(opportunities, settings, day), day, source):
        _STATE["taken"].add((team, day))


def is_workspace_book(root: Path, table: Table) -> bool:
    """Whether ``table`` was read from the workspace's own workbook for it (a copy or a
    backup of a workbook validated in the folder is not recorded: its rows would look
    like edits of the real ones)."""
    from xlsales.jobs.sources import daily_files
    from xlsales.workspace import BOOK_OF_TABLE, book_path

    path = Path(table.file)
    if table.spec.key == "daily":
        return path.resolve() in {f.resolve() for f in daily_files(root)[1]}
    book = BOOK_OF_TABLE.get(table.spec.key)
    return book is not None and path.resolve() == book_path(root, book.key).resolve()


def seen_tables(root: Path, settings: Settings | None, tables: Iterable[Table]) -> list[Finding]:
    """Record the tables read from one workbook; for a daily table, the findings about
    its rows edited or deleted after submission."""
    from xlsales.ledger.keys import KEYS

    wanted = [t for t in tables if t.spec.key in KEYS and is_workspace_book(root, t)]
    if not wanted:
        return []
    ledger = _ledger(root, settings)
    if ledger is None:
        return []
    team = team_of(settings)
    findings: list[Finding] = []
    for t in wanted:
        path = Path(t.file)
        df = t.df
        if t.spec.key == "daily":
            from xlsales.discipline import dedupe

            df = dedupe(df)[0]
        ledger.record(team, t.spec.key, df, path.name, _modified_by([path]),
                      fingerprints=_fingerprints([t], settings))
        if t.spec.key == "opportunities" and settings is not None:
            _snapshot(ledger, team, df, settings, path.name)
        if t.spec.key == "daily":
            from xlsales.ledger.audit import audit, findings_of

            findings += findings_of(audit(ledger.edited(team, "daily")), t, df)
    return findings
