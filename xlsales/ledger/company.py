"""Many teams on one company PostgreSQL: the same ledger schema (the same Alembic
migrations), row-level security so each team's database role reads and writes only its
own team's rows and the director's role reads every team and writes none, pushing a
team's local ledger into it, and reading the teams' latest rows back as the domain's
frames.

- :func:`setup_company` (run by the database's owner; again after every upgrade of
  xlsales, it is idempotent): the login roles, the grants, the mapping table
  ``ledger_team_roles(role, team)`` only the owner can change, and the policies.
- :func:`push`: the versions of a team's local ledger the company does not hold yet, in
  one transaction; safe when two pushes run at once.
- :func:`read_company` / :func:`company_completion`: every team the connecting role may
  see, as daily frames, targets and settings; completion by team with
  :func:`xlsales.performance.completion` itself.

The policies are not an Alembic revision: they are PostgreSQL only, name the company's
own roles, and a workspace's SQLite ledger never has them."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from xlsales.i18n import Label, Lang
from xlsales.ledger.schema import rows, versions
from xlsales.ledger.store import (
    LEDGER_TABLES,
    Ledger,
    LedgerError,
    normalize_url,
    shown_url,
    utcnow,
)

MAPPING = "ledger_team_roles"
SETTINGS_TABLE = "settings"  # the pseudo-table holding each team's settings (JSON)
SETTINGS_KEY = "settings"
COMPANY_ENV = "XLSALES_COMPANY_URL"
_ROLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_CHUNK = 500

mapping = sa.Table(
    MAPPING, sa.MetaData(),
    sa.Column("role", sa.String(63), primary_key=True),
    sa.Column("team", sa.String(200), nullable=False),
)


def open_company(url: str) -> Ledger:
    """The company ledger at ``url`` (a team's or the director's role cannot migrate it:
    when xlsales needs a newer schema, the message says to run setup-company again)."""
    try:
        return Ledger.open(url)
    except LedgerError as exc:
        en, zh = exc.text("en"), exc.text("zh")
        if "permission denied" not in en and "must be owner" not in en:
            raise
        raise LedgerError(Label(
            f"{zh}。公司台账的结构可能比这个版本的 xlsales 旧:请数据库所有者先运行 "
            "xlsales ledger setup-company",
            f"{en}. The company ledger's schema may be older than this xlsales needs: its "
            "owner runs xlsales ledger setup-company first")) from None


# -- setting the company database up ---------------------------------------------------


@dataclass
class CompanySetup:
    """What :func:`setup_company` did: the roles it created with their passwords (roles
    that existed keep theirs and are not listed), and each role's team."""

    created: dict[str, str] = field(default_factory=dict)
    teams: dict[str, str] = field(default_factory=dict)  # role -> team
    director: str = ""
    tables: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"created": sorted(self.created), "teams": self.teams,
                "director": self.director, "tables": self.tables}


def _check_role(role: str) -> str:
    if not _ROLE.fullmatch(role or ""):
        raise LedgerError(Label(f"数据库角色名不合适:{role!r}(字母、数字、下划线,63 个字符以内)",
                                f"not a usable database role name: {role!r} (letters, "
                                "digits and underscores, at most 63 characters)"))
    return role


def setup_company(admin_url: str, teams: Mapping[str, str], director: str, *,
                  passwords: Mapping[str, str] | None = None) -> CompanySetup:
    """Make the PostgreSQL database at ``admin_url`` (connected as its owner or a
    superuser) a company ledger: the ledger schema migrated to the newest revision; a
    login role per team (``teams``: team -> role) and the ``director`` role, created
    when missing (password from ``passwords`` or generated, returned); each team role
    reading and writing only its team's rows, the director reading all and writing
    none. Idempotent: run it again to add teams or after an upgrade of xlsales."""
    for role in [*teams.values(), director]:
        _check_role(role)
    if director in teams.values():
        raise LedgerError(Label(f"主管角色 {director} 不能同时是团队角色",
                                f"the director's role {director} cannot also be a team's"))
    passwords = dict(passwords or {})
    if not normalize_url(admin_url).startswith("postgresql"):
        raise LedgerError(Label(f"公司台账必须是 PostgreSQL:{shown_url(admin_url)}",
                                f"the company ledger must be PostgreSQL: "
                                f"{shown_url(admin_url)}"))
    ledger = Ledger.open(admin_url)
    try:
        out = CompanySetup(director=director,
                           tables=[t.name for t in LEDGER_TABLES])
        try:
            with ledger.engine.begin() as conn:
                _setup(conn, teams, director, passwords, out)
        except sa.exc.SQLAlchemyError as exc:
            raise _failed(admin_url, exc) from None
        return out
    finally:
        ledger.close()


def _failed(url: str, exc: Exception) -> LedgerError:
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    reason = detail[0] if detail else type(exc).__name__
    return LedgerError(Label(f"公司台账 {shown_url(url)} 出错:{reason}",
                             f"the company ledger {shown_url(url)} failed: {reason}"))


def _literal(conn: sa.Connection, value: str) -> str:
    """``value`` as an SQL string literal of this database (DDL such as ALTER ROLE …
    PASSWORD takes no bound parameters), quoted by SQLAlchemy's dialect."""
    process = sa.String().literal_processor(conn.dialect)
    assert process is not None
    return str(process(value))


# what a team role may do to each table of the company ledger: what push needs, no more
# (versions are only added, a row's current state only moves forward; the edit history
# cannot be rewritten, a week's snapshot not replaced)
_TEAM_GRANTS = {"ledger_versions": "SELECT, INSERT", "ledger_rows": "SELECT, INSERT, UPDATE",
                "ledger_sources": "SELECT, INSERT, UPDATE, DELETE",
                "ledger_snapshot_weeks": "SELECT, INSERT", "ledger_snapshots": "SELECT, INSERT"}


def _setup(conn: sa.Connection, teams: Mapping[str, str], director: str,
           passwords: dict[str, str], out: CompanySetup) -> None:
    q = conn.dialect.identifier_preparer.quote
    db = conn.execute(sa.text("SELECT current_database()")).scalar_one()
    existing = set(conn.execute(sa.text("SELECT rolname FROM pg_roles")).scalars())
    for role in [*teams.values(), director]:
        if role in existing:
            if role in passwords:
                conn.exec_driver_sql(f"ALTER ROLE {q(role)} WITH LOGIN PASSWORD "
                                     f"{_literal(conn, passwords[role])}")
            continue
        password = passwords.get(role) or secrets.token_urlsafe(18)
        conn.exec_driver_sql(f"CREATE ROLE {q(role)} LOGIN PASSWORD "
                             f"{_literal(conn, password)}")
        existing.add(role)
        out.created[role] = password
    mapping.create(conn, checkfirst=True)
    m = mapping.c
    from sqlalchemy.dialects.postgresql import insert

    # a team moved to another role: its old role loses the team (and, mapped to no team,
    # every grant below); the director is no team's
    dropped = set(conn.execute(sa.delete(mapping).where(
        (m.team.in_(list(teams)) & m.role.not_in(list(teams.values())))
        | (m.role == director)).returning(m.role)).scalars())
    for team, role in teams.items():
        stmt = insert(mapping).values(role=role, team=team)
        conn.execute(stmt.on_conflict_do_update(index_elements=[m.role],
                                                set_={"team": stmt.excluded.team}))
        out.teams[role] = team
    roles = [*teams.values(), director]
    admin = conn.execute(sa.text("SELECT current_user")).scalar_one()
    names = [t.name for t in LEDGER_TABLES]
    mine = f"(SELECT r.team FROM {MAPPING} r WHERE r.role = current_user)"
    policy = f"xlsales_director_{director}"[:63]
    # an earlier director (setup run again with another --director) reads nothing now
    old = conn.execute(sa.text(
        "SELECT tablename, policyname, roles::text[] FROM pg_policies "
        "WHERE schemaname = current_schema() AND policyname LIKE 'xlsales\\_director\\_%' "
        "AND policyname <> :p AND tablename = ANY(:t)"), {"p": policy, "t": names}).all()
    for table, name, held in old:
        conn.exec_driver_sql(f"DROP POLICY IF EXISTS {q(name)} ON {table}")
        dropped.update(r for r in held if r != "public")
    mapped = set(conn.execute(sa.select(m.role)).scalars())
    for role in sorted(dropped - set(roles) - mapped):
        if role in existing:
            for name in names:
                conn.exec_driver_sql(f"REVOKE ALL ON {name} FROM {q(role)}")
    for role in roles:
        conn.exec_driver_sql(f"GRANT CONNECT ON DATABASE {q(db)} TO {q(role)}")
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {q(role)}")
        conn.exec_driver_sql(f"GRANT SELECT ON alembic_version, {MAPPING} TO {q(role)}")
    for name in names:
        for role in roles:
            conn.exec_driver_sql(f"REVOKE ALL ON {name} FROM {q(role)}")
        team_roles = ", ".join(q(r) for r in teams.values())
        if team_roles:
            conn.exec_driver_sql(f"GRANT {_TEAM_GRANTS.get(name, 'SELECT')} ON {name} "
                                 f"TO {team_roles}")
        conn.exec_driver_sql(f"GRANT SELECT ON {name} TO {q(director)}")
        conn.exec_driver_sql(f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY")
        conn.exec_driver_sql(f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY")
        conn.exec_driver_sql(f"DROP POLICY IF EXISTS xlsales_team ON {name}")
        conn.exec_driver_sql(f"CREATE POLICY xlsales_team ON {name} FOR ALL TO PUBLIC "
                             f"USING (team IN {mine}) WITH CHECK (team IN {mine})")
        # FORCE applies to the owner too: it keeps every row (a superuser bypasses RLS)
        conn.exec_driver_sql(f"DROP POLICY IF EXISTS xlsales_owner ON {name}")
        conn.exec_driver_sql(f"CREATE POLICY xlsales_owner ON {name} FOR ALL TO {q(admin)} "
                             "USING (true) WITH CHECK (true)")
        conn.exec_driver_sql(f"DROP POLICY IF EXISTS {q(policy)} ON {name}")
        conn.exec_driver_sql(f"CREATE POLICY {q(policy)} ON {name} FOR SELECT "
                             f"TO {q(director)} USING (true)")
    seq = conn.execute(sa.text("SELECT pg_get_serial_sequence('ledger_versions', 'id')")
                       ).scalar()
    if seq and teams:
        conn.exec_driver_sql(f"GRANT USAGE, SELECT ON SEQUENCE {seq} TO "
                             + ", ".join(q(r) for r in teams.values()))
    # the mapping: each role sees its own line only; nobody but the owner changes it
    conn.exec_driver_sql(f"ALTER TABLE {MAPPING} ENABLE ROW LEVEL SECURITY")
    conn.exec_driver_sql(f"ALTER TABLE {MAPPING} FORCE ROW LEVEL SECURITY")
    conn.exec_driver_sql(f"DROP POLICY IF EXISTS xlsales_own_line ON {MAPPING}")
    conn.exec_driver_sql(f"CREATE POLICY xlsales_own_line ON {MAPPING} FOR SELECT TO PUBLIC "
                         "USING (role = current_user)")


# -- pushing a team's ledger -----------------------------------------------------------


@dataclass
class Pushed:
    """What one push sent: new versions, rows whose current state moved forward, and
    whether the team's settings were sent."""

    team: str
    versions: int = 0
    rows: int = 0
    settings: bool = False
    pending: int = 0  # versions the local ledger had that the company lacked

    def as_dict(self) -> dict[str, Any]:
        return {"team": self.team, "versions": self.versions, "rows": self.rows,
                "settings": self.settings, "pending": self.pending}


_VCOLS = ("tbl", "key", "version", "hash", "data", "seen_at", "modified_by", "source",
          "deleted")
_RCOLS = ("tbl", "key", "hash", "version", "first_seen", "changed_at", "source", "deleted")


def push(local_url: str, company_url: str, team: str, *,
         settings: Any | None = None) -> Pushed:
    """Send the versions of ``team``'s rows in the ledger at ``local_url`` that the
    company ledger at ``company_url`` does not hold yet (and, given, the team's
    :class:`~xlsales.settings.Settings`), in one transaction: versions are only added
    (an existing (team, table, key, version) is left as it is), a row's current state
    only moves forward — two pushes at once lose and duplicate nothing."""
    local = Ledger.open(local_url, create=False)
    try:
        company = open_company(company_url)
    except BaseException:
        local.close()
        raise
    try:
        try:
            return _push(local, company, team, settings)
        except sa.exc.SQLAlchemyError as exc:
            raise _push_failed(company_url, team, exc) from None
    finally:
        local.close()
        company.close()


def company_url(to: str | None = None) -> str:
    """The company ledger's URL: ``to``, else the environment variable
    ``XLSALES_COMPANY_URL``; an error naming both when neither is given."""
    import os

    url = (to or os.environ.get(COMPANY_ENV, "")).strip()
    if not url:
        raise LedgerError(Label(f"没有公司台账地址:用 --to postgresql://… 或环境变量 {COMPANY_ENV}",
                                f"no company ledger given: use --to postgresql://… or the "
                                f"environment variable {COMPANY_ENV}"))
    return url


def push_workspace(root: Path, to: str | None = None) -> Pushed:
    """Push the ledger of the workspace at ``root`` (where its commands record, see
    :mod:`xlsales.ledger.hook`) with its settings to the company ledger ``to`` (else
    :func:`company_url`), under the workspace's team."""
    from xlsales.jobs.sources import workspace_settings
    from xlsales.ledger import hook
    from xlsales.ledger.history import LEDGER_OFF, NO_LEDGER

    target = company_url(to)
    settings = workspace_settings(root)
    url = hook.ledger_url(root, settings)
    if url is None:
        raise LedgerError(LEDGER_OFF)
    if url == f"sqlite:///{hook.default_path(root)}" and not hook.default_path(root).exists():
        raise LedgerError(Label(NO_LEDGER.zh.format(root=root), NO_LEDGER.en.format(root=root)))
    return push(url, target, hook.team_of(settings), settings=settings)


def _push_failed(url: str, team: str, exc: Exception) -> LedgerError:
    text = str(getattr(exc, "orig", None) or exc)
    if "row-level security" in text or "permission denied" in text:
        return LedgerError(Label(
            f"公司台账 {shown_url(url)} 不允许这个数据库角色写团队 {team} 的行:请用该团队"
            "自己的角色(setup-company 的 --team 团队=角色)",
            f"the company ledger {shown_url(url)} does not let this database role write "
            f"team {team}'s rows: push with the team's own role (setup-company --team "
            "TEAM=ROLE)"))
    return _failed(url, exc)


def _state(conn: sa.Connection, team: str) -> pd.DataFrame:
    r = rows.c
    return pd.DataFrame(conn.execute(sa.select(r.tbl, r.key, r.version)
                                     .where(r.team == team)).all(),
                        columns=["tbl", "key", "version"])


def _push(local: Ledger, company: Ledger, team: str, settings: Any | None) -> Pushed:
    out = Pushed(team)
    r = rows.c
    with local.engine.connect() as lc:
        mine = pd.DataFrame(lc.execute(sa.select(*(getattr(r, c) for c in _RCOLS))
                                       .where(r.team == team)).all(), columns=list(_RCOLS))
    with company.engine.connect() as cc:
        theirs = _state(cc, team)
    both = mine.merge(theirs.rename(columns={"version": "theirs"}), on=["tbl", "key"],
                      how="left")
    both["theirs"] = both["theirs"].fillna(0).astype("int64")
    ahead = both[both["version"].astype("int64") > both["theirs"]]
    sent = pd.DataFrame(columns=list(_VCOLS))
    if len(ahead):
        sent = _local_versions(local, team, ahead)
        out.pending = len(sent)
    with company.engine.begin() as conn:
        if len(sent):
            out.versions = _insert_versions(conn, team, _columns(sent, _VCOLS))
            state = ahead[list(_RCOLS)].sort_values(["tbl", "key"], kind="stable")
            out.rows = _upsert_rows(conn, team, _columns(state, _RCOLS))
        if settings is not None:
            out.settings = _push_settings(conn, team, settings)
    return out


def _local_versions(local: Ledger, team: str, ahead: pd.DataFrame) -> pd.DataFrame:
    """The local versions of the rows in ``ahead`` newer than the company's and no newer
    than the local current state read before (versions are only ever appended)."""
    v = versions.c
    cols = [getattr(v, c) for c in _VCOLS]
    parts: list[pd.DataFrame] = []
    with local.engine.connect() as lc:
        total = lc.execute(sa.select(sa.func.count()).select_from(versions)
                           .where(v.team == team)).scalar_one()
        if len(ahead) * 4 >= total:  # much of the ledger: one pass over it
            parts.append(pd.DataFrame(lc.execute(sa.select(*cols).where(v.team == team))
                                      .all(), columns=list(_VCOLS)))
        else:
            for tbl, group in ahead.groupby("tbl", sort=True):
                keys = group["key"].tolist()
                for i in range(0, len(keys), _CHUNK):
                    parts.append(pd.DataFrame(lc.execute(
                        sa.select(*cols).where((v.team == team) & (v.tbl == tbl)
                                               & v.key.in_(keys[i:i + _CHUNK]))).all(),
                        columns=list(_VCOLS)))
    found = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=list(_VCOLS))
    bounds = ahead[["tbl", "key", "version", "theirs"]].rename(columns={"version": "upto"})
    found = found.merge(bounds, on=["tbl", "key"], how="inner")
    version = found["version"].astype("int64")
    keep = (version > found["theirs"]) & (version <= found["upto"].astype("int64"))
    return (found[keep][list(_VCOLS)]
            .sort_values(["tbl", "key", "version"], kind="stable")
            .reset_index(drop=True))


def _columns(frame: pd.DataFrame, cols: Iterable[str]) -> dict[str, list[Any]]:
    """The columns of ``frame`` as lists of plain Python values (None for missing)."""
    data: dict[str, list[Any]] = {}
    for c in cols:
        s = frame[c]
        if c in ("version", "hash"):
            data[c] = s.astype("int64").tolist()
        elif c == "deleted":
            data[c] = s.astype(bool).tolist()
        elif c in ("seen_at", "first_seen", "changed_at"):
            data[c] = list(pd.to_datetime(s).dt.to_pydatetime())
        else:
            data[c] = s.astype(object).where(s.notna(), None).tolist()
    return data


def _insert(conn: sa.Connection, table: sa.Table) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


_PG_TYPES = {"tbl": "text", "key": "text", "version": "integer", "hash": "bigint",
             "data": "text", "seen_at": "timestamp", "modified_by": "text", "source": "text",
             "deleted": "boolean", "first_seen": "timestamp", "changed_at": "timestamp"}
_BATCH = 20000  # rows per statement


def _unnest(cols: Iterable[str]) -> str:
    """``SELECT :team, u.* FROM unnest(CAST(:c AS type[]), …)``: many rows in one small
    statement (PostgreSQL), the rows in the arrays' order."""
    arrays = ", ".join(f"CAST(:{c} AS {_PG_TYPES[c]}[])" for c in cols)
    return f"SELECT :team, u.* FROM unnest({arrays}) AS u"


def _batches(data: dict[str, list[Any]]) -> Iterator[dict[str, list[Any]]]:
    n = len(next(iter(data.values()))) if data else 0
    for i in range(0, n, _BATCH):
        yield {c: v[i:i + _BATCH] for c, v in data.items()}


def _dicts(team: str, data: dict[str, list[Any]]) -> list[dict[str, Any]]:
    cols = list(data)
    return [{"team": team, **dict(zip(cols, vals, strict=True))}
            for vals in zip(*data.values(), strict=True)]


def _insert_versions(conn: sa.Connection, team: str, data: dict[str, list[Any]]) -> int:
    """Add the versions not held yet (an existing (team, table, key, version) is left as
    it is); how many were added."""
    if conn.dialect.name == "postgresql":
        names = ", ".join(_VCOLS)
        stmt = sa.text(f"INSERT INTO ledger_versions (team, {names}) {_unnest(_VCOLS)} "
                       "ON CONFLICT (team, tbl, key, version) DO NOTHING RETURNING 1")
        return sum(len(conn.execute(stmt, {"team": team, **part}).all())
                   for part in _batches(data))
    v = versions.c
    stmt = _insert(conn, versions).on_conflict_do_nothing(
        index_elements=[v.team, v.tbl, v.key, v.version]).returning(v.version)
    return len(conn.execute(stmt, _dicts(team, data)).all())


def _upsert_rows(conn: sa.Connection, team: str, data: dict[str, list[Any]]) -> int:
    """Insert or move forward the current state of rows (a newer version in the company
    is never replaced by an older one); how many rows changed."""
    if not data or not next(iter(data.values())):
        return 0
    moved = ("hash", "version", "changed_at", "source", "deleted")
    if conn.dialect.name == "postgresql":
        names = ", ".join(_RCOLS)
        sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in moved)
        stmt = sa.text(f"INSERT INTO ledger_rows AS r (team, {names}) {_unnest(_RCOLS)} "
                       f"ON CONFLICT (team, tbl, key) DO UPDATE SET {sets} "
                       "WHERE r.version < EXCLUDED.version RETURNING 1")
        return sum(len(conn.execute(stmt, {"team": team, **part}).all())
                   for part in _batches(data))
    r = rows.c
    stmt = _insert(conn, rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=[r.team, r.tbl, r.key], set_={c: stmt.excluded[c] for c in moved},
        where=r.version < stmt.excluded.version).returning(r.key)
    return len(conn.execute(stmt, _dicts(team, data)).all())


def settings_json(settings: Any) -> str:
    """A team's settings as the company ledger keeps them."""
    return json.dumps(settings.model_dump(mode="json"), ensure_ascii=False, sort_keys=True)


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True)


def _push_settings(conn: sa.Connection, team: str, settings: Any) -> bool:
    """Add the team's settings as a new version when they differ from the company's."""
    r = rows.c
    text = settings_json(settings)
    digest = _hash(text)
    cur = conn.execute(sa.select(r.hash, r.version).where(
        (r.team == team) & (r.tbl == SETTINGS_TABLE) & (r.key == SETTINGS_KEY))).first()
    if cur is not None and cur.hash == digest:
        return False
    now = utcnow()
    version = (cur.version if cur is not None else 0) + 1
    _insert_versions(conn, team, {
        "tbl": [SETTINGS_TABLE], "key": [SETTINGS_KEY], "version": [version],
        "hash": [digest], "data": [text], "seen_at": [now], "modified_by": [None],
        "source": [None], "deleted": [False]})
    return _upsert_rows(conn, team, {
        "tbl": [SETTINGS_TABLE], "key": [SETTINGS_KEY], "hash": [digest],
        "version": [version], "first_seen": [now], "changed_at": [now], "source": [None],
        "deleted": [False]}) > 0


# -- reading across teams ----------------------------------------------------------------


def latest(conn: sa.Connection, table: str, teams: Iterable[str] | None = None
           ) -> pd.DataFrame:
    """(team, data) of the current, undeleted version of every row of ``table`` the
    connecting role may see."""
    r, v = rows.c, versions.c
    cond = (r.tbl == table) & ~r.deleted
    if teams is not None:
        cond = cond & r.team.in_(list(teams))
    query = (sa.select(r.team, v.data)
             .join_from(rows, versions, (v.team == r.team) & (v.tbl == r.tbl)
                        & (v.key == r.key) & (v.version == r.version))
             .where(cond).order_by(r.team, v.id))
    return pd.DataFrame(conn.execute(query).all(), columns=["team", "data"])


def table_frame(table: str, data: Iterable[str | None]) -> pd.DataFrame:
    """The canonical frame of ``table`` (every input column in its kind's dtype, as
    :func:`xlsales.frames.frame` makes it) from the ledger's JSON rows."""
    from xlsales import tables as T
    from xlsales.frames import DATE_KINDS, DATETIME, NUMBER_KINDS, empty_column
    from xlsales.tables.base import Kind

    spec = T.get(table)
    lines = [d for d in data if d]
    if lines:  # dtype=False: every value as JSON has it (text stays text)
        raw = pd.read_json(io.StringIO("\n".join(lines)), lines=True, dtype=False)
    else:
        raw = pd.DataFrame(index=range(0))
    out: dict[str, pd.Series] = {}
    n = len(raw)
    for col in spec.input_columns:
        if col.key not in raw.columns:
            out[col.key] = empty_column(col.kind, n)
            continue
        s = raw[col.key].reset_index(drop=True)
        if col.kind in DATE_KINDS:
            out[col.key] = pd.to_datetime(s, format="ISO8601").astype(DATETIME)
        elif col.kind is Kind.INT:
            out[col.key] = pd.to_numeric(s).astype("Int64")
        elif col.kind in NUMBER_KINDS:
            out[col.key] = pd.to_numeric(s).astype("float64")
        else:
            out[col.key] = s.astype(object).where(s.notna(), None).astype("str")
    df = pd.DataFrame(out, index=range(n))
    df.index.name = "row"
    return df


@dataclass
class TeamData:
    """One team's latest rows in the company ledger."""

    team: str
    settings: Any  # xlsales.settings.Settings
    daily: pd.DataFrame
    targets: Any  # xlsales.performance.Targets
    pushed_settings: bool = True
    opportunities: pd.DataFrame | None = None
    history: pd.DataFrame | None = None


@dataclass
class CompanyData:
    """Every team the connecting role may see."""

    url: str
    teams: dict[str, TeamData]


READ = ("daily", "targets", "team_targets", "opportunities", "stage_history", SETTINGS_TABLE)


def read_company(company_url: str, teams: Iterable[str] | None = None) -> CompanyData:
    """The latest daily rows, targets and settings of every team (of ``teams``) the role
    connecting with ``company_url`` may see (its own team; every team for the
    director)."""
    ledger = open_company(company_url)
    try:
        with ledger.engine.connect() as conn:
            found = {t: latest(conn, t, teams) for t in READ}
    except sa.exc.SQLAlchemyError as exc:
        raise _failed(company_url, exc) from None
    finally:
        ledger.close()
    return CompanyData(shown_url(company_url), _teams(found))


def _teams(found: dict[str, pd.DataFrame]) -> dict[str, TeamData]:
    from xlsales import tables as T
    from xlsales.frames import records
    from xlsales.performance import Targets
    from xlsales.settings import Settings

    names = sorted(set().union(*(set(f["team"]) for f in found.values())))
    by_team = {t: {k: f[f["team"] == t]["data"] for k, f in found.items()} for t in names}
    out = {}
    for team in names:
        got = by_team[team]
        text = got[SETTINGS_TABLE]
        if len(text):
            settings = Settings.model_validate(json.loads(text.iloc[-1]))
        else:
            settings = Settings.default()
            settings.general.team_name = team
        owners = table_frame("targets", got["targets"])
        team_rows = table_frame("team_targets", got["team_targets"])
        targets = Targets.from_records(records(owners, T.get("targets")),
                                       records(team_rows, T.get("team_targets")))
        out[team] = TeamData(team, settings, table_frame("daily", got["daily"]), targets,
                             pushed_settings=bool(len(text)),
                             opportunities=table_frame("opportunities", got["opportunities"]),
                             history=table_frame("stage_history", got["stage_history"]))
    return out


def company_completion(data: CompanyData, first: dt.date, last: dt.date, *,
                       today: dt.date | None = None, threshold: float | None = None) -> Any:
    """Completion by team across the company: each team's row is
    :func:`xlsales.performance.completion` ``by="team"`` over its own rows, targets and
    settings; the teams are then ranked together (``threshold``: the company's, default
    the settings' default)."""
    from xlsales.performance import Completion, completion
    from xlsales.ranking import rank
    from xlsales.settings import General

    threshold = General().completion_threshold if threshold is None else threshold
    out: list[Any] = []
    through = last
    ceiling = General().completion_ceiling
    lang = "zh"
    for team, got in data.teams.items():
        own = completion(got.daily, got.targets, got.settings, first, last, by="team",
                         today=today)
        through = own.through
        lang = got.settings.general.language
        for row in own.rows:
            row.key = team
            out.append(row)
    ranking = rank(((r.key, r.rate, r.implausible) for r in out), threshold)
    for r in out:
        st = ranking.of(r.key)
        r.rank, r.top, r.below_threshold, r.mark = st.rank, st.top, st.below, st.mark
    out.sort(key=lambda r: (r.rank is None, r.rank or 0, r.key))
    return Completion(first, last, through, "team", out, threshold, ceiling, ranking.label,
                      lang=lang)


@dataclass
class CompanyReview:
    """The company's review of a period: each team's own review
    (:func:`xlsales.review.build_review`) and one ranked row per team."""

    label: str
    first: dt.date
    last: dt.date
    reviews: dict[str, Any]  # team -> xlsales.review.Review
    rows: list[dict[str, Any]]
    threshold: float

    def as_dict(self) -> dict[str, Any]:
        return {"period": self.label, "first": self.first.isoformat(),
                "last": self.last.isoformat(), "threshold": self.threshold,
                "teams": self.rows,
                "reviews": {t: r.as_dict() for t, r in self.reviews.items()}}


TEAM_FIGURES = ("sales", "completion", "new_customers", "visits", "proposals", "avg_deal",
                "conversion", "win_rate")


def company_review(data: CompanyData, first: dt.date, last: dt.date, label: str, *,
                   lang: Lang = "zh", today: dt.date | None = None,
                   threshold: float | None = None) -> CompanyReview:
    """Each team's review built from its own rows, targets and settings, and the teams
    side by side: their figures as their reviews give them, ranked by completion."""
    from xlsales.calendar import WorkCalendar
    from xlsales.performance import team_target
    from xlsales.ranking import is_implausible, month_span, rank
    from xlsales.review import ReviewData, build_review
    from xlsales.settings import General

    threshold = General().completion_threshold if threshold is None else threshold
    reviews, rows = {}, []
    for team, got in data.teams.items():
        s = got.settings
        review = build_review(ReviewData(s, got.targets, got.daily, got.opportunities,
                                         got.history, got.targets.rows),
                              first, last, label, lang=lang, today=today)
        reviews[team] = review
        metric = {m.key: m for m in review.metrics}
        basis = team_target(got.targets, s, *month_span(first, last), WorkCalendar.of(s))
        sales = metric["sales"].actual
        rows.append({"level_code": "team", "name": team, "quota": metric["sales"].target,
                     "basis": basis,
                     "implausible": is_implausible(sales, basis, s.general.completion_ceiling),
                     **{k: metric[k].actual for k in TEAM_FIGURES}})
    ranking = rank(((r["name"], r["completion"], r["implausible"]) for r in rows), threshold)
    for r in rows:
        st = ranking.of(r["name"])
        r.update(rank=st.rank, top=st.top, below=st.below, mark=st.mark)
    rows.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["name"]))
    return CompanyReview(label, first, last, reviews, rows, threshold)


COMPANY_TITLE = Label("公司业绩复盘 {label}(各团队)", "Company review {label} (by team)")
TEAM_LEVEL = Label("团队", "Team")
COMPANY = Label("公司", "Company")


def write_company_review(review: CompanyReview, path: Path, *, lang: Lang = "zh",
                         company: str = "") -> Path:
    """The company review workbook (the review workbook's layout): the T4 sheet with
    every team's metrics, the horizontal comparison with one row per team, and each
    team's won and lost cases."""
    from xlsales.io.review_writer import write_review
    from xlsales.jobs.review import KIND_FORMATS as _FORMATS
    from xlsales.review import LABELS
    from xlsales.settings import General

    t4 = [{"dimension": team, "metric": m.metric, "target": m.target, "actual": m.actual,
           "cause": m.hint,
           "_num_formats": {"target": _FORMATS[m.kind], "actual": _FORMATS[m.kind]}}
          for team, r in review.reviews.items() for m in r.metrics if m.key in LABELS]
    horizontal = [{**r, "level": TEAM_LEVEL(lang), "target_line": 1.0} for r in review.rows]
    kinds = {"won": Label("成交", "Won"), "lost": Label("输单", "Lost")}
    cases = [{**c, "kind": kinds[c["kind"]](lang), "owner": f"{c.get('owner') or ''} · {team}"}
             for team, r in review.reviews.items() for c in r.cases]
    options = {**General().model_dump(), "completion_threshold": review.threshold,
               "team_name": company or COMPANY(lang)}
    title = COMPANY_TITLE(lang).format(label=review.label)
    return Path(write_review(path, lang=lang, title=title, t4_rows=t4, horizontal=horizontal,
                             trend=[], cases=cases, funnel_rows=[],
                             funnel_summary={"quota": None, "quota_basis": "",
                                             "won_count": 0, "won_amount": 0.0,
                                             "average_deal": None},
                             options=options, period=review.label))
