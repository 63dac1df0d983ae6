"""Archive old daily reports (``xlsales archive --before 2024-01-01``): the rows dated
before a day move out of the daily-report workbook(s) into ``archive_<year>.xlsx``
(and, with the team ledger, marked archived there: :class:`LedgerCheck`).

Nothing is lost: the archive is written first, then ``verify`` must confirm that every
row to be removed is held elsewhere (by default: the archive workbooks read back hold
every one of them, value for value; the ledger passes a check of its own), and only
then are the rows removed from each daily workbook, in place and atomically
(:func:`xlsales.io.edit.remove.remove_rows`). A failure at any step before the removal
leaves the daily workbooks as they were.

An archive that exists already is merged: rows it holds for a rep and day that this run
archives again are replaced by this run's rows; its other rows stay. Within one run
every row of the workbooks is kept, resubmissions of the same day too (reviews keep
the latest, :func:`xlsales.discipline.dedupe`, whether they read the workbook or the
archive). A cell the reader could not take (``3次`` in a number column) goes into the
archive as the text it held, so the archive shows the same finding; rows without a
readable date stay in the daily report.

``verify`` gets the rows to remove as the canonical daily frame (labels: the Excel row,
plus :data:`FILE_ROWS` × the file's position for per-rep workbooks), with the text of
their unreadable cells in ``rows.attrs["raw_cells"]`` ({(label, column): text}).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from xlsales import tables as T
from xlsales.errors import WorkbookError
from xlsales.frames import Table, records
from xlsales.i18n import Label

Verify = Callable[[pd.DataFrame], object]
FILE_ROWS = 10_000_000  # row labels of the n-th daily file are its rows + n × this


@dataclass
class ArchiveResult:
    """What an archive run did."""

    before: dt.date
    archived: int = 0  # rows moved out of the daily workbooks
    archives: list[Path] = field(default_factory=list)  # the archive workbooks written
    removed: dict[str, int] = field(default_factory=dict)  # daily workbook → rows removed
    kept: int = 0  # rows left in the daily workbooks

    def as_dict(self) -> dict[str, Any]:
        return {"before": self.before.isoformat(), "archived": self.archived,
                "archives": [str(p) for p in self.archives], "removed": self.removed,
                "kept": self.kept}


def _row_keys(df: pd.DataFrame) -> pd.Series:
    """One 64-bit hash per row of every input value (amounts to 9 decimals; a cell the
    reader could not take, listed in ``df.attrs["raw_cells"]``, by its text), computed
    column by column."""
    spec = T.get("daily")
    cols: dict[str, pd.Series] = {}
    for c in spec.input_columns:
        s = df[c.key] if c.key in df else pd.Series(None, index=df.index, dtype=object)
        if pd.api.types.is_float_dtype(s):
            s = s.round(9)
        cols[c.key] = s.astype(str).astype(object).where(s.notna(), "\x00blank")
    raw: dict[tuple[Any, str], Any] = df.attrs.get("raw_cells", {})
    for (label, key), value in raw.items():
        if key in cols and label in cols[key].index:
            cols[key].loc[label] = f"\x00raw:{value}"
    frame = pd.DataFrame(cols, index=df.index)
    return pd.util.hash_pandas_object(frame, index=False)


def _with_raw(table: Table, rows: pd.Index, offset: int = 0) -> pd.DataFrame:
    """The rows ``rows`` of ``table`` (relabelled by ``offset``), with the text of the
    cells the reader could not take in ``attrs["raw_cells"]``."""
    df = table.df.loc[rows]
    wanted = set(rows)
    raw = {(r + offset, k): table.raw(k, r) for k, bad in table.bad.items()
           for r in bad if r in wanted}
    if offset:
        df = df.set_axis(df.index + offset)
    df.attrs["raw_cells"] = raw
    return df


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    out = pd.concat(frames) if len(frames) > 1 else frames[0].copy()
    out.attrs["raw_cells"] = {k: v for f in frames for k, v in f.attrs.get("raw_cells",
                                                                            {}).items()}
    return out


def _archive_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Canonical records of ``df`` for the archive; unreadable cells keep their text."""
    recs = records(df, T.get("daily"))
    raw = df.attrs.get("raw_cells", {})
    if raw:
        at = {label: i for i, label in enumerate(df.index)}
        for (label, key), value in raw.items():
            if label in at:
                recs[at[label]][key] = value
    return recs


def missing_rows(wanted: pd.DataFrame, held: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``wanted`` that ``held`` does not hold, value for value (as many
    times as ``wanted`` has them; unreadable cells compared by their text)."""
    keys = _row_keys(wanted)
    need = keys.value_counts()
    have = _row_keys(held).value_counts() if len(held) else pd.Series(dtype="int64")
    short = need.sub(have.reindex(need.index).fillna(0).astype("int64"))
    lacking = set(short[short > 0].index)
    return wanted[keys.isin(lacking).to_numpy()]


def archive_verifier(paths: list[Path], settings: Any) -> Verify:
    """The default check: the archive workbooks read back hold every row."""
    from xlsales.io.read import read_table

    def verify(rows: pd.DataFrame) -> None:
        tables = [read_table(p, T.get("daily"), settings) for p in paths]
        held = [_with_raw(t, t.df.index, i * FILE_ROWS) for i, t in enumerate(tables)]
        both = _concat(held) if held else rows.iloc[0:0]
        lost = missing_rows(rows, both)
        if len(lost):
            first = lost.iloc[0]
            raise WorkbookError(Label(
                f"归档工作簿缺少 {len(lost)} 行(如 {first['rep']} {first['date']:%Y-%m-%d}),"
                "日报中的行没有删除",
                f"the archive lacks {len(lost)} rows (such as {first['rep']} "
                f"{first['date']:%Y-%m-%d}); no row was removed from the daily report"),
                file=str(paths[0]) if paths else None)

    return verify


@dataclass
class LedgerCheck:
    """The check against the team ledger (``xlsales archive`` while recording): the
    archive workbooks hold every row (:func:`archive_verifier`), and the ledger holds the
    row of every rep and day to remove (the latest submission, which is what it records),
    key and content hash alike — recording the daily workbooks first when it does not
    yet. The rows are then marked archived in the ledger, so that reading the daily
    report later reports no deletion for them (should their removal then fail, the next
    recording finds them in the workbook and they are no longer archived)."""

    root: Path
    files: list[Path]
    settings: Any
    url: str
    recorded: bool = False  # the daily workbooks had to be recorded first
    archived: int = 0  # ledger rows marked archived

    def __call__(self, rows: pd.DataFrame) -> None:
        from xlsales.discipline import dedupe
        from xlsales.io.archive_writer import archive_path
        from xlsales.ledger import hook
        from xlsales.ledger import keys as K

        years = sorted(set(rows["date"].dt.year.dropna().astype(int).tolist()))
        archive_verifier([archive_path(self.root, y) for y in years], self.settings)(rows)
        ledger = hook.open_ledger(self.url)
        team = hook.team_of(self.settings)
        sub = K.content("daily", dedupe(rows)[0])
        keys, hashes = K.row_keys("daily", sub), K.row_hashes(sub)
        names = [f.name for f in self.files]
        lacking = ledger.archive(team, "daily", keys, hashes, names)
        if len(lacking):  # not recorded yet (or since changed): record the workbooks now
            from xlsales.jobs.sources import load_daily

            load_daily(self.root, settings=self.settings, validate=False)
            self.recorded = True
            lacking = ledger.archive(team, "daily", keys, hashes, names)
        if len(lacking):
            raise WorkbookError(Label(
                f"台账缺少 {len(lacking)} 行要归档的日报(如 {lacking[0]}),日报中的行没有删除",
                f"the ledger lacks {len(lacking)} of the daily rows to archive (such as "
                f"{lacking[0]}); no row was removed from the daily report"),
                file=str(self.files[0]))
        self.archived = len(keys)


def ledger_verifier(workspace: str | os.PathLike[str]) -> LedgerCheck | None:
    """The check against the team ledger the running command records into (None when it
    records into none: ``--no-ledger``, or no ledger for this folder)."""
    from xlsales.jobs.sources import daily_files, workspace_settings
    from xlsales.ledger import hook

    if not hook.active():
        return None
    root, files = daily_files(Path(workspace))
    settings = workspace_settings(root)
    url = hook.ledger_url(root, settings)
    if url is None or not files:
        return None
    return LedgerCheck(root, files, settings, url)


def archive_dailies(workspace: str | os.PathLike[str], before: dt.date, *,
                    verify: Verify | None = None) -> ArchiveResult:
    """Move the daily rows dated before ``before`` from the daily workbook(s) of
    ``workspace`` (a workspace folder, a daily workbook or a folder of per-rep ones) into
    ``archive_<year>.xlsx`` beside them, then — once ``verify`` (called with the rows to
    remove; it raises, or returns False, when they are not all held) agrees — remove them
    from the workbooks. Without ``verify`` the archive workbooks are read back and
    checked."""
    from xlsales.io.archive_writer import archive_path, write_archive
    from xlsales.io.read import read_table
    from xlsales.jobs.sources import daily_files, workspace_settings

    root, files = daily_files(Path(workspace))  # never the archives themselves
    if not files:
        raise WorkbookError(Label("这里没有销售日报", "no daily report found here"),
                            file=str(workspace))
    settings = workspace_settings(root)
    spec = T.get("daily")
    result = ArchiveResult(before)
    tables: list[Table] = [read_table(f, spec, settings) for f in files]
    cut = pd.Timestamp(before)
    chosen: list[tuple[Table, pd.Index]] = []
    moving: list[pd.DataFrame] = []
    for i, t in enumerate(tables):
        rows = t.df.index[(t.df["date"] < cut).fillna(False).to_numpy()]
        chosen.append((t, rows))
        result.kept += len(t.df) - len(rows)
        if len(rows):
            moving.append(_with_raw(t, rows, i * FILE_ROWS))
    if not moving:
        return result
    out = _concat(moving)
    result.archived = len(out)
    lang = tables[0].lang
    years = out["date"].dt.year
    for year in sorted(set(years)):
        rows = _concat([out[(years == year).to_numpy()]])
        path = archive_path(root, int(year))
        if path.exists():
            kept = read_table(path, spec, settings)
            again = pd.MultiIndex.from_frame(kept.df[["rep", "date"]]).isin(
                pd.MultiIndex.from_frame(rows[["rep", "date"]]))
            old = _with_raw(kept, kept.df.index[~again], -FILE_ROWS)  # labels apart
            rows = _concat([old, rows])
        order = rows["date"].sort_values(kind="stable").index
        rows = _concat([rows.loc[order]])
        write_archive(path, _archive_records(rows), settings, lang=lang, year=int(year))
        result.archives.append(path)
    check = verify or archive_verifier(result.archives, settings)
    if check(out) is False:
        raise WorkbookError(Label("核对未通过:不是每一行都已另存,日报中的行没有删除",
                                  "the check failed: not every row is held elsewhere; no row "
                                  "was removed from the daily report"), file=str(files[0]))
    _remove(chosen, result)
    return result


def _remove(chosen: list[tuple[Table, pd.Index]], result: ArchiveResult) -> None:
    from xlsales.io.edit.book import WorkbookEdit
    from xlsales.io.edit.remove import remove_rows

    for table, rows in chosen:
        if not len(rows):
            continue
        with WorkbookEdit(table.file) as wb:
            n = remove_rows(wb, table, [int(r) for r in rows])
            wb.save()
        result.removed[str(table.file)] = n
