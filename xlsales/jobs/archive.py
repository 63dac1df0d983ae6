"""Archive old daily reports (``xlsales archive --before 2024-01-01``): the rows dated
before a day move out of the daily-report workbook(s) into ``archive_<year>.xlsx``
(and, with the team ledger, marked archived there: :class:`LedgerCheck`).

Nothing is lost: the archive is written first, then ``verify`` must confirm that every
row to be removed is held elsewhere (by default: the archive workbooks read back hold
every one of them, value for value; the ledger passes a check of its own), and only
then are the rows removed from the daily workbooks
(:func:`xlsales.io.edit.remove.remove_rows`): the removal is planned and checked in
every workbook first, and the workbooks are saved (each in place and atomically) only
once every one of them can be. A failure at any step before the saves — a refusal in
any workbook included — leaves every daily workbook as it was; a save that fails midway
(a full disk, a file locked by Excel) names the workbooks already changed. The ledger
marks the rows archived only after every save succeeded (``commit`` of the check).

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
from xlsales.jobs.sources import FILE_ROWS

Verify = Callable[[pd.DataFrame], object]


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
    yet. The check marks nothing; :meth:`commit`, called once every daily workbook was
    saved, marks the rows archived in the ledger, so that reading the daily report later
    reports no deletion for them."""

    root: Path
    files: list[Path]
    settings: Any
    url: str
    recorded: bool = False  # the daily workbooks had to be recorded first
    archived: int = 0  # ledger rows marked archived
    _pending: tuple[Any, Any] | None = field(default=None, repr=False)  # (keys, hashes)

    def __call__(self, rows: pd.DataFrame) -> None:
        from xlsales.discipline import dedupe
        from xlsales.io.archive_writer import archive_path
        from xlsales.ledger import keys as K

        years = sorted(set(rows["date"].dt.year.dropna().astype(int).tolist()))
        archive_verifier([archive_path(self.root, y) for y in years], self.settings)(rows)
        sub = K.content("daily", dedupe(rows)[0])
        keys, hashes = K.row_keys("daily", sub), K.row_hashes(sub)
        lacking = self._lacking(keys, hashes)
        if len(lacking):  # not recorded yet (or since changed): record the workbooks now
            from xlsales.jobs.sources import load_daily

            load_daily(self.root, settings=self.settings, validate=False)
            self.recorded = True
            lacking = self._lacking(keys, hashes)
        if len(lacking):
            raise WorkbookError(Label(
                f"台账缺少 {len(lacking)} 行要归档的日报(如 {lacking[0]}),日报中的行没有删除",
                f"the ledger lacks {len(lacking)} of the daily rows to archive (such as "
                f"{lacking[0]}); no row was removed from the daily report"),
                file=str(self.files[0]))
        self._pending = (keys, hashes)

    def _lacking(self, keys: Any, hashes: Any) -> list[str]:
        """The keys of ``keys`` the ledger does not hold (not deleted) with the content
        hash given; read only."""
        import numpy as np
        import sqlalchemy as sa

        from xlsales.ledger import hook
        from xlsales.ledger.schema import rows as ledger_rows

        ledger = hook.open_ledger(self.url)
        team = hook.team_of(self.settings)
        r = ledger_rows.c
        try:
            with ledger.engine.connect() as conn:
                held = pd.DataFrame(conn.execute(
                    sa.select(r.key, r.hash).where((r.team == team) & (r.tbl == "daily")
                                                   & ~r.deleted)).all(),
                    columns=["key", "hash"])
        except sa.exc.SQLAlchemyError as exc:
            from xlsales.ledger.store import shown_url

            raise WorkbookError(Label(
                f"无法读取台账 {shown_url(self.url)}({getattr(exc, 'orig', None) or exc}),"
                "日报中的行没有删除",
                f"cannot read the ledger {shown_url(self.url)} "
                f"({getattr(exc, 'orig', None) or exc}); no row was removed from the daily "
                "report"), file=str(self.files[0])) from None
        keys = np.asarray(keys, dtype=object)
        at = (pd.Index(held["key"]).get_indexer(keys) if len(held)
              else np.full(len(keys), -1))
        have = (held["hash"].to_numpy("int64")[np.where(at < 0, 0, at)] if len(held)
                else np.zeros(len(keys), "int64"))
        return keys[(at < 0) | (have != np.asarray(hashes, dtype="int64"))].tolist()

    def commit(self) -> None:
        """Mark the rows checked archived in the ledger (after every daily workbook was
        saved without them)."""
        from xlsales.ledger import hook

        if self._pending is None:
            return
        keys, hashes = self._pending
        ledger = hook.open_ledger(self.url)
        names = [f.name for f in self.files]
        lacking = ledger.archive(hook.team_of(self.settings), "daily", keys, hashes, names)
        if len(lacking):  # changed since the check: cannot happen while nothing records
            raise WorkbookError(Label(
                f"日报中的行已删除(已在归档工作簿中),但台账在核对之后发生了变化,"
                f"没有标记为已归档(如 {lacking[0]})",
                f"the rows were removed from the daily report (the archive holds them), but "
                f"the ledger changed after the check and did not mark them archived (such "
                f"as {lacking[0]})"), file=str(self.files[0]))
        self._pending = None
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
    commit = getattr(check, "commit", None)
    if commit is not None:
        commit()
    return result


def _remove(chosen: list[tuple[Table, pd.Index]], result: ArchiveResult) -> None:
    """Remove the rows from every daily workbook: each removal is planned and checked
    first, with every workbook held open, and the workbooks are saved only when all of
    them can be. A save that fails midway names the workbooks already changed."""
    from contextlib import ExitStack

    from xlsales.io.edit.book import WorkbookEdit
    from xlsales.io.edit.remove import remove_rows

    with ExitStack() as stack:
        planned: list[tuple[WorkbookEdit, Path, int]] = []
        for table, rows in chosen:
            if not len(rows):
                continue
            wb = stack.enter_context(WorkbookEdit(table.file))
            planned.append((wb, Path(table.file), remove_rows(wb, table,
                                                              [int(r) for r in rows])))
        saved: list[Path] = []
        for wb, path, n in planned:
            try:
                wb.save()
            except Exception as exc:
                if not saved:
                    raise
                done = ", ".join(str(p) for p in saved)
                left = ", ".join(str(p) for _, p, _ in planned[len(saved):])
                raise WorkbookError(Label(
                    f"保存 {path} 失败({exc}):已删除归档行的日报为 {done};"
                    f"未修改的日报为 {left}(归档工作簿保存了全部行,请重新运行归档)",
                    f"saving {path} failed ({exc}): the daily workbooks already without the "
                    f"archived rows are {done}; unchanged: {left} (the archive holds every "
                    f"row; run the archive again)"), file=str(path)) from exc
            saved.append(path)
            result.removed[str(path)] = n
