"""The ledger database: opening it (SQLite or PostgreSQL, one code path), migrating it
with Alembic, recording the rows of a table read, and reading row versions back.

SQLAlchemy Core only. Times are stored as naive UTC."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from xlsales.errors import InputError
from xlsales.i18n import Label
from xlsales.ledger import keys as K
from xlsales.ledger.schema import rows, snapshot_weeks, snapshots, sources, versions
from xlsales.ledger.schema import sources as sources_table

HEAD = "0005"  # the newest migration (tests check it against the scripts)
MIGRATIONS = Path(__file__).with_name("migrations")
# every table of a team's ledger, in an order rows can be inserted in (backups, counts,
# the company ledger's grants and row-level security)
LEDGER_TABLES = (versions, rows, sources, snapshot_weeks, snapshots)
NEWER = Label("它是更新版本的 xlsales 写的——请升级 xlsales,或加 --no-ledger 运行",
              "written by a newer xlsales — upgrade xlsales, or run with --no-ledger")


class LedgerError(InputError):
    """The ledger cannot be opened or written (the message names the URL, never its
    password)."""


def utcnow() -> dt.datetime:
    """Now, as the ledger stores times (naive UTC, whole microseconds)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def normalize_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` as SQLAlchemy's psycopg 3 URL; a path as an
    SQLite URL; anything else as given."""
    text = url.strip()
    for prefix in ("postgres://", "postgresql://"):
        if text.startswith(prefix):
            return "postgresql+psycopg://" + text[len(prefix):]
    if "://" not in text:
        return f"sqlite:///{Path(text).expanduser()}"
    return text


def shown_url(url: str) -> str:
    """The URL for messages: its password hidden."""
    try:
        return sa.engine.make_url(normalize_url(url)).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):
        return "<unreadable ledger URL>"


def _cannot(url: str, detail: object, write: bool = False) -> LedgerError:
    where = shown_url(url)
    reason = str(detail).strip().splitlines()[0] if str(detail).strip() else type(detail).__name__
    if write:
        return LedgerError(Label(f"无法写入台账数据库 {where}:{reason}",
                                 f"cannot write to the ledger database {where}: {reason}"))
    return LedgerError(Label(f"无法打开台账数据库 {where}:{reason}",
                             f"cannot open the ledger database {where}: {reason}"))


def migrate(connection: sa.Connection, target: str = "head") -> None:
    """Upgrade (or downgrade, with a revision before the current) the schema on
    ``connection`` with the migrations shipped in the package."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    current = revision(connection)
    if target == "head" or current is None or _order(target) >= _order(current):
        command.upgrade(config, target)
    else:
        command.downgrade(config, target)


def _order(rev: str) -> int:
    return -1 if rev in ("base", "") else int(rev)


def _known(rev: str | None) -> bool:
    """Whether this xlsales has the migration ``rev`` (None: a database without a ledger
    schema yet)."""
    return rev is None or (rev.isdigit() and int(rev) <= int(HEAD))


def _newer(url: str, rev: str) -> LedgerError:
    where = shown_url(url)
    return LedgerError(Label(f"台账数据库 {where} 的结构版本是 {rev},{NEWER.zh}",
                             f"the ledger database {where} is at schema revision {rev}, "
                             f"{NEWER.en}"))


def revision(connection: sa.Connection) -> str | None:
    """The schema revision the database is at (None: no ledger schema yet)."""
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


@dataclass
class Recorded:
    """What one recording wrote."""

    table: str
    new: int = 0
    changed: int = 0
    deleted: int = 0
    unchanged: int = 0

    @property
    def written(self) -> int:
        return self.new + self.changed + self.deleted


class Ledger:
    """An open ledger database."""

    def __init__(self, engine: sa.Engine, url: str) -> None:
        self.engine = engine
        self.url = url

    @classmethod
    def open(cls, url: str, *, create: bool = True) -> Ledger:
        """Open the ledger at ``url`` and bring its schema to the newest revision (an
        SQLite file and its folder are made when missing)."""
        full = normalize_url(url)
        try:
            parsed = sa.engine.make_url(full)
        except (sa.exc.ArgumentError, ValueError) as exc:
            raise _cannot(url, exc) from None
        args: dict[str, Any] = {}
        if parsed.get_backend_name() == "sqlite":
            args["connect_args"] = {"timeout": 30}
            db = parsed.database or ""
            if db and db != ":memory:":
                if not create and not Path(db).exists():
                    raise _cannot(url, "no such file")
                try:
                    Path(db).parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise _cannot(url, exc) from None
        elif parsed.get_backend_name() == "postgresql":
            args["connect_args"] = {"connect_timeout": 10}
        try:
            engine = sa.create_engine(parsed, **args)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise _cannot(url, exc) from None
        for attempt in range(3):
            try:
                conn = engine.connect()
            except sa.exc.SQLAlchemyError as exc:
                engine.dispose()
                raise _cannot(url, getattr(exc, "orig", None) or exc) from None
            try:
                with conn.begin():
                    current = revision(conn)
                    if not _known(current):
                        engine.dispose()
                        raise _newer(url, str(current))
                    if current != HEAD:
                        migrate(conn)
                break
            except sa.exc.SQLAlchemyError as exc:  # another process migrating: look again
                if attempt == 2:
                    engine.dispose()
                    raise _cannot(url, getattr(exc, "orig", None) or exc) from None
                time.sleep(0.2 * (attempt + 1))
            finally:
                conn.close()
        return cls(engine, full)

    def close(self) -> None:
        self.engine.dispose()

    # -- recording -----------------------------------------------------------------------

    def record(self, team: str, table: str, frame: pd.DataFrame,
               source: str | np.ndarray, modified_by: Mapping[str, str | None] | None = None,
               *, now: dt.datetime | None = None,
               fingerprints: Mapping[str, str] | None = None) -> Recorded:
        """Record the rows of ``table`` as read now from ``source`` (one workbook name, or
        one per row): new rows and changed rows get a new version, rows of these
        workbooks no longer there a deletion. Nothing is written for a workbook whose
        rows hash as last time; nothing is even hashed when every workbook's fingerprint
        (what its read depends on, :func:`xlsales.ledger.hook._fingerprints`) is the one
        recorded."""
        for attempt in range(3):  # another process recording the same rows: read again
            try:
                return self._record(team, table, frame, source, modified_by or {}, now,
                                    fingerprints or {})
            except sa.exc.IntegrityError as exc:
                if attempt == 2:
                    raise _cannot(self.url, getattr(exc, "orig", None) or exc, True) from None
            except sa.exc.SQLAlchemyError as exc:
                raise _cannot(self.url, getattr(exc, "orig", None) or exc, True) from None
        raise AssertionError("unreachable")

    def _record(self, team: str, table: str, frame: pd.DataFrame, source: str | np.ndarray,
                modified_by: Mapping[str, str | None], now: dt.datetime | None,
                fingerprints: Mapping[str, str]) -> Recorded:
        out = Recorded(table)
        where = (sources.c.team == team) & (sources.c.tbl == table)
        with self.engine.begin() as conn:
            stored = {s: (d, f) for s, d, f in conn.execute(
                sa.select(sources.c.source, sources.c.digest, sources.c.fingerprint)
                .where(where))}
            if isinstance(source, str):
                names = [source]
            else:
                names = sorted(set(np.asarray(source, dtype=object).tolist()))
            if names and all(fingerprints.get(s) is not None
                             and stored.get(s, (None, None))[1] == fingerprints[s]
                             for s in names):
                out.unchanged = len(frame)
                return out
            sub = K.content(table, frame)
            hashes = K.row_hashes(sub)
            if isinstance(source, str):
                src = np.full(len(sub), source, dtype=object)
                digests = {source: K.digest(hashes)}
            else:
                src = np.asarray(source, dtype=object)[_kept(frame, sub)]
                names = sorted(set(src.tolist()))
                digests = {s: K.digest(hashes[src == s]) for s in names}
            todo = [s for s in names if stored.get(s, (None, None))[0] != digests[s]]
            now = now or utcnow()
            if todo:
                mask = (np.isin(src, todo) if len(todo) < len(names)
                        else np.ones(len(sub), bool))
                all_keys = K.row_keys(table, sub)
                self._write(conn, team, table, sub[mask], all_keys[mask], hashes[mask],
                            src[mask], set(todo), modified_by, now, out)
            else:
                out.unchanged = len(sub)
            refresh = [s for s in names if s in todo
                       or stored.get(s, (None, None))[1] != fingerprints.get(s)]
            if refresh:
                conn.execute(sa.delete(sources).where(where & sources.c.source.in_(refresh)))
                counts = pd.Series(src).value_counts()
                conn.execute(sa.insert(sources), [
                    {"team": team, "tbl": table, "source": s, "digest": digests[s],
                     "rows": int(counts.get(s, 0)), "recorded_at": now,
                     "fingerprint": fingerprints.get(s)} for s in refresh])
        return out

    def _write(self, conn: sa.Connection, team: str, table: str, part: pd.DataFrame,
               keys: np.ndarray, hashes: np.ndarray, src: np.ndarray, todo: set[str],
               modified_by: Mapping[str, str | None], now: dt.datetime,
               out: Recorded) -> None:
        r = rows.c
        cur = pd.DataFrame(conn.execute(
            sa.select(r.key, r.hash, r.version, r.deleted, r.source, r.archived_at)
            .where((r.team == team) & (r.tbl == table))).all(),
            columns=["key", "hash", "version", "deleted", "source", "archived_at"])
        archived = cur["archived_at"].notna()
        at = pd.Index(cur["key"]).get_indexer(keys) if len(cur) else np.full(len(keys), -1)
        new = at < 0
        safe = np.where(new, 0, at)
        old_hash = (cur["hash"].to_numpy("int64")[safe] if len(cur)
                    else np.zeros(len(keys), "int64"))
        old_version = np.where(new, 0, cur["version"].to_numpy("int64")[safe]
                               if len(cur) else 0)
        was_deleted = (cur["deleted"].to_numpy(bool)[safe] if len(cur)
                       else np.zeros(len(keys), bool))
        changed = ~new & ((hashes != old_hash) | was_deleted)
        present = cur["key"].isin(keys)
        gone = cur[~cur["deleted"].astype(bool) & cur["source"].isin(todo) & ~present
                   & ~archived]  # an archived row is no deletion
        back = cur["key"][archived & present].tolist()  # archived rows in a workbook again
        for i in range(0, len(back), 500):
            conn.execute(sa.update(rows).where((r.team == team) & (r.tbl == table)
                                               & r.key.in_(back[i:i + 500]))
                         .values(archived_at=None))
        out.new, out.changed, out.deleted = int(new.sum()), int(changed.sum()), len(gone)
        out.unchanged = len(keys) - out.new - out.changed
        pick = np.flatnonzero(new | changed)
        data = K.row_json(part.iloc[pick])
        who = {s: modified_by.get(s) for s in set(src.tolist())}
        vrows = [{"team": team, "tbl": table, "key": k, "version": int(v) + 1, "hash": int(h),
                  "data": d, "seen_at": now, "modified_by": who[s], "source": s,
                  "deleted": False}
                 for k, v, h, d, s in zip(keys[pick], old_version[pick], hashes[pick], data,
                                          src[pick], strict=True)]
        vrows += [{"team": team, "tbl": table, "key": k, "version": int(v) + 1, "hash": 0,
                   "data": None, "seen_at": now, "modified_by": modified_by.get(s),
                   "source": s, "deleted": True}
                  for k, v, s in zip(gone["key"], gone["version"], gone["source"],
                                     strict=True)]
        if vrows:
            conn.execute(sa.insert(versions), vrows)
        fresh = np.flatnonzero(new)
        if len(fresh):
            conn.execute(sa.insert(rows), [
                {"team": team, "tbl": table, "key": k, "hash": int(h), "version": 1,
                 "first_seen": now, "changed_at": now, "source": s, "deleted": False}
                for k, h, s in zip(keys[fresh], hashes[fresh], src[fresh], strict=True)])
        upd = np.flatnonzero(changed)
        bumps = [{"b_key": k, "b_hash": int(h), "b_version": int(v) + 1, "b_source": s,
                  "b_deleted": False}
                 for k, h, v, s in zip(keys[upd], hashes[upd], old_version[upd], src[upd],
                                       strict=True)]
        bumps += [{"b_key": k, "b_hash": int(h), "b_version": int(v) + 1, "b_source": s,
                   "b_deleted": True}
                  for k, h, v, s in zip(gone["key"], gone["hash"], gone["version"],
                                        gone["source"], strict=True)]
        if bumps:
            conn.execute(
                sa.update(rows).where((r.team == team) & (r.tbl == table)
                                      & (r.key == sa.bindparam("b_key")))
                .values(hash=sa.bindparam("b_hash"), version=sa.bindparam("b_version"),
                        source=sa.bindparam("b_source"), deleted=sa.bindparam("b_deleted"),
                        changed_at=now),
                bumps)

    # -- reading -------------------------------------------------------------------------

    def versions(self, team: str, table: str, key: str) -> list[dict[str, Any]]:
        """Every version of one row, oldest first (``data`` parsed)."""
        v = versions.c
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(versions).where((v.team == team) & (v.tbl == table) & (v.key == key))
                .order_by(v.version)).mappings().all()
        return [_version(row) for row in found]

    def keys_like(self, team: str, table: str | None, prefix: str,
                  limit: int = 50) -> list[tuple[str, str]]:
        """(table, key) of the rows whose key starts with ``prefix`` (ignoring case)."""
        r = rows.c
        # lower() on both sides: LIKE ignores ASCII case on SQLite, not on PostgreSQL
        cond = (r.team == team) & sa.func.lower(r.key).startswith(prefix.lower(),
                                                                   autoescape=True)
        if table:
            cond = cond & (r.tbl == table)
        with self.engine.connect() as conn:
            return [(t, k) for t, k in conn.execute(
                sa.select(r.tbl, r.key).where(cond).order_by(r.tbl, r.key).limit(limit))]

    def edited(self, team: str, table: str) -> dict[str, list[dict[str, Any]]]:
        """Every version of the rows of ``table`` that have more than one, by key (rows
        archived out of the workbook left out)."""
        v, r = versions.c, rows.c
        out: dict[str, list[dict[str, Any]]] = {}
        with self.engine.connect() as conn:
            keys = list(conn.execute(sa.select(r.key).where(
                (r.team == team) & (r.tbl == table) & (r.version > 1)
                & r.archived_at.is_(None))).scalars())
            for i in range(0, len(keys), 500):
                query = (sa.select(versions)
                         .where((v.team == team) & (v.tbl == table)
                                & v.key.in_(keys[i:i + 500]))
                         .order_by(v.key, v.version))
                for row in conn.execute(query).mappings():
                    out.setdefault(row["key"], []).append(_version(row))
        return out

    def archive(self, team: str, table: str, keys: np.ndarray, hashes: np.ndarray,
                sources: Iterable[str], *, now: dt.datetime | None = None) -> np.ndarray:
        """Mark the rows ``keys`` archived (moved out of their workbook: no deletion) when
        the ledger holds every one of them, not deleted, with the content hash given;
        else mark nothing and return the keys it lacks or holds otherwise. The digests of
        the workbooks ``sources`` are forgotten, so that their next recording compares
        rows again (a row found in a workbook again is no longer archived)."""
        r, s = rows.c, sources_table.c
        keys = np.asarray(keys, dtype=object)
        hashes = np.asarray(hashes, dtype="int64")
        try:
            with self.engine.begin() as conn:
                held = pd.DataFrame(conn.execute(
                    sa.select(r.key, r.hash).where((r.team == team) & (r.tbl == table)
                                                   & ~r.deleted)).all(),
                    columns=["key", "hash"])
                at = (pd.Index(held["key"]).get_indexer(keys) if len(held)
                      else np.full(len(keys), -1))
                have = held["hash"].to_numpy("int64")[np.where(at < 0, 0, at)] if len(
                    held) else np.zeros(len(keys), "int64")
                lacking = keys[(at < 0) | (have != hashes)]
                if len(lacking):
                    return lacking
                when = now or utcnow()
                todo = keys.tolist()
                for i in range(0, len(todo), 500):
                    conn.execute(sa.update(rows).where(
                        (r.team == team) & (r.tbl == table) & r.key.in_(todo[i:i + 500]))
                        .values(archived_at=when))
                conn.execute(sa.delete(sources_table).where(
                    (s.team == team) & (s.tbl == table) & s.source.in_(list(sources))))
        except sa.exc.SQLAlchemyError as exc:
            raise _cannot(self.url, getattr(exc, "orig", None) or exc, True) from None
        return keys[0:0]

    def archived(self, team: str, table: str) -> list[str]:
        """The keys of the rows of ``table`` archived out of their workbooks."""
        r = rows.c
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(r.key).where(
                (r.team == team) & (r.tbl == table) & r.archived_at.is_not(None))
                .order_by(r.key)).scalars())

    # -- pipeline snapshots (xlsales/accuracy.py) ----------------------------------------

    def record_snapshot(self, team: str, snap: pd.DataFrame, taken_on: dt.date,
                        source: str | None = None, *, now: dt.datetime | None = None) -> bool:
        """Store ``snap`` (:func:`xlsales.accuracy.snapshot`) as the team's snapshot of the
        ISO week of ``taken_on`` unless that week has one already (the week's first read is
        kept: a forecast cannot be improved afterwards); one bulk insert. True when
        stored."""
        week = snapshot_week(taken_on)
        try:  # the week's header row: its primary key keeps a second snapshot out
            with self.engine.begin() as conn:
                conn.execute(sa.insert(snapshot_weeks), [{
                    "team": team, "week": week, "taken_on": taken_on, "rows": len(snap),
                    "source": source, "recorded_at": now or utcnow()}])
                if len(snap):
                    conn.execute(sa.insert(snapshots), _snapshot_rows(team, week, taken_on,
                                                                      snap))
        except sa.exc.IntegrityError:  # another process stored this week's first
            return False
        except sa.exc.SQLAlchemyError as exc:
            raise _cannot(self.url, getattr(exc, "orig", None) or exc, True) from None
        return True

    def has_snapshot(self, team: str, day: dt.date) -> bool:
        """Whether the team has a snapshot of the ISO week of ``day``."""
        w = snapshot_weeks.c
        try:
            with self.engine.connect() as conn:
                return conn.execute(sa.select(w.week).where(
                    (w.team == team) & (w.week == snapshot_week(day)))).first() is not None
        except sa.exc.SQLAlchemyError as exc:
            raise _cannot(self.url, getattr(exc, "orig", None) or exc) from None

    def snapshots(self, team: str, first: dt.date | None = None,
                  last: dt.date | None = None) -> pd.DataFrame:
        """The team's stored snapshots taken in ``first``..``last`` (either open), in the
        frame :func:`xlsales.accuracy.snapshot` makes."""
        from xlsales.accuracy import SNAPSHOT_COLUMNS

        s = snapshots.c
        cond = s.team == team
        if first is not None:
            cond = cond & (s.taken_on >= first)
        if last is not None:
            cond = cond & (s.taken_on <= last)
        query = (sa.select(s.taken_on, s.opp_id, s.customer, s.owner, s.stage, s.amount,
                           s.probability, s.expected_close, s.closed_on, s.in_commit)
                 .where(cond).order_by(s.taken_on, s.line))
        try:
            with self.engine.connect() as conn:
                found = conn.execute(query).all()
        except sa.exc.SQLAlchemyError as exc:
            raise _cannot(self.url, getattr(exc, "orig", None) or exc) from None
        df = pd.DataFrame(found, columns=list(SNAPSHOT_COLUMNS))
        for c in ("snapshot_date", "expected_close", "closed_on"):
            df[c] = pd.to_datetime(df[c]).astype("datetime64[ms]")
        for c in ("amount", "probability"):
            df[c] = df[c].astype("float64")
        for c in ("opp_id", "customer", "owner", "stage"):
            df[c] = df[c].astype(object)
        df["commit"] = df["commit"].astype(bool)
        return df

    def counts(self, team: str | None = None) -> dict[str, int]:
        """Rows per ledger table (of one team, or all)."""
        out = {}
        with self.engine.connect() as conn:
            for t in LEDGER_TABLES:
                q = sa.select(sa.func.count()).select_from(t)
                if team is not None:
                    q = q.where(t.c.team == team)
                out[t.name] = int(conn.execute(q).scalar() or 0)
        return out

    # -- backup ------------------------------------------------------------------------

    def export(self, team: str | None = None) -> Iterator[dict[str, Any]]:
        """Every ledger row (of one team, or all) as a JSON-ready object
        ``{"table": …, "row": {…}}``, table by table."""
        with self.engine.connect() as conn:
            for t in LEDGER_TABLES:
                q = sa.select(t)
                if team is not None:
                    q = q.where(t.c.team == team)
                pk = [c for c in t.primary_key.columns]
                for row in conn.execute(q.order_by(*pk)).mappings():
                    yield {"table": t.name, "row": {
                        k: (v.isoformat() if isinstance(v, dt.date) else v)  # and datetimes
                        for k, v in row.items() if k != "id"}}

    def restore(self, items: Iterator[dict[str, Any]], *, replace: bool = False,
                batch: int = 5000, name: str = "backup") -> dict[str, int]:
        """Load exported rows (``name``: the backup file, for messages; an item's ``line``,
        when given, is its line in it). The teams they hold must have nothing in this
        ledger yet (with ``replace``, what they have is deleted first); all or nothing."""
        by_name = {t.name: t for t in LEDGER_TABLES}
        loaded = dict.fromkeys(by_name, 0)
        try:
            with self.engine.begin() as conn:
                self._restore(conn, items, replace, batch, name, by_name, loaded)
        except sa.exc.SQLAlchemyError as exc:
            raise _cannot(self.url, getattr(exc, "orig", None) or exc, True) from None
        return loaded

    def _restore(self, conn: sa.Connection, items: Iterator[dict[str, Any]], replace: bool,
                 batch: int, name: str, by_name: dict[str, sa.Table],
                 loaded: dict[str, int]) -> None:
        parse = {t.name: {c.name: (dt.datetime.fromisoformat
                                   if isinstance(c.type, sa.DateTime) else dt.date.fromisoformat)
                          for c in t.columns if isinstance(c.type, sa.DateTime | sa.Date)}
                 for t in LEDGER_TABLES}
        fill = {t.name: {c.name: (c.default.arg if c.default is not None else None)
                         for c in t.columns if c.nullable or c.default is not None}
                for t in LEDGER_TABLES}
        need = {t.name: [c.name for c in t.columns if not c.nullable and c.default is None
                         and c.name != "id"] for t in LEDGER_TABLES}
        cleared: set[str] = set()
        pending: dict[str, list[dict[str, Any]]] = {n: [] for n in by_name}
        lines: dict[str, list[int]] = {n: [] for n in by_name}

        def bad(line: int, why: Label) -> LedgerError:
            return LedgerError(Label(f"备份文件 {name} 第 {line} 行:{why.zh}",
                                     f"the backup {name}, line {line}: {why.en}"))

        def flush(table: str) -> None:
            if not pending[table]:
                return
            try:  # an error rolls the whole restore back (begin() above)
                conn.execute(sa.insert(by_name[table]), pending[table])
            except sa.exc.SQLAlchemyError as exc:
                first, last = lines[table][0], lines[table][-1]
                where = str(first) if first == last else f"{first}–{last}"
                reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
                raise LedgerError(Label(
                    f"备份文件 {name} 第 {where} 行({table})写不进台账:"
                    f"{reason[0] if reason else type(exc).__name__}",
                    f"the backup {name}, line {where} ({table}) cannot be loaded: "
                    f"{reason[0] if reason else type(exc).__name__}")) from None
            loaded[table] += len(pending[table])
            pending[table], lines[table] = [], []

        for count, item in enumerate(items, start=2):
            line = item.get("line", count) if isinstance(item, dict) else count
            table, row = (item.get("table"), item.get("row")) if isinstance(
                item, dict) else (None, None)
            if table not in by_name or not isinstance(row, dict):
                raise bad(line, Label("不是台账备份的一行", "not a ledger backup line"))
            missing = [c for c in need[table] if row.get(c) is None]
            if missing:
                raise bad(line, Label(f"{table} 缺少列 {', '.join(missing)}",
                                      f"{table} lacks the columns {', '.join(missing)}"))
            row = {**fill[table], **row}
            team = row["team"]
            if team not in cleared:
                cleared.add(team)
                if replace:
                    for t in LEDGER_TABLES:
                        conn.execute(sa.delete(t).where(t.c.team == team))
                elif any(conn.execute(sa.select(t.c.team).where(t.c.team == team).limit(1))
                         .first() is not None for t in (rows, snapshot_weeks)):
                    raise LedgerError(Label(
                        f"台账里已经有团队 {team} 的数据;要覆盖请加 --replace",
                        f"the ledger already holds team {team}; use --replace to "
                        "overwrite it"))
            for c, read in parse[table].items():
                if isinstance(row.get(c), str):
                    try:
                        row[c] = read(row[c])
                    except ValueError:
                        raise bad(line, Label(f"{table}.{c} 不是日期:{row[c]!r}",
                                              f"{table}.{c} is no date: {row[c]!r}")) from None
            pending[table].append(row)
            lines[table].append(line)
            if len(pending[table]) >= batch:
                flush(table)
        for table in by_name:
            flush(table)


def snapshot_week(day: dt.date) -> str:
    """The ISO week a snapshot of ``day`` stands for (``2024-W10``)."""
    iso = day.isocalendar()
    return f"{iso.year:04d}-W{iso.week:02d}"


def _snapshot_rows(team: str, week: str, taken_on: dt.date,
                   snap: pd.DataFrame) -> list[dict[str, Any]]:
    """A snapshot frame as the rows of ``ledger_snapshots`` (whole columns converted)."""

    def days(col: str) -> list[dt.date | None]:
        values = pd.to_datetime(snap[col])
        return [None if pd.isna(v) else v.date() for v in values.tolist()]

    def texts(col: str) -> list[str | None]:
        values = snap[col].astype(object)
        return values.where(values.notna(), None).map(
            lambda v: None if v is None else str(v)).tolist()

    def numbers(col: str) -> list[float | None]:
        values = snap[col].astype("float64")
        return [None if np.isnan(v) else float(v) for v in values.tolist()]

    cols = {"opp_id": texts("opp_id"), "customer": texts("customer"),
            "owner": texts("owner"), "stage": texts("stage"), "amount": numbers("amount"),
            "probability": numbers("probability"), "expected_close": days("expected_close"),
            "closed_on": days("closed_on"),
            "in_commit": snap["commit"].astype(bool).tolist()}
    n = len(snap)
    return [{"team": team, "week": week, "line": i + 1, "taken_on": taken_on,
             **{k: v[i] for k, v in cols.items()}} for i in range(n)]


def _kept(frame: pd.DataFrame, sub: pd.DataFrame) -> np.ndarray:
    """Positions in ``frame`` of the rows ``sub`` kept."""
    if len(sub) == len(frame):
        return np.arange(len(frame))
    return frame.index.get_indexer(sub.index)


def _version(row: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out.pop("id", None)
    out["data"] = json.loads(out["data"]) if out.get("data") else None
    out["deleted"] = bool(out["deleted"])
    return out
