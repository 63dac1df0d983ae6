"""The ledger's tables (SQLAlchemy Core), as the newest migration leaves them.

Every table has a ``team`` column: one database can hold many teams' ledgers.

- ``ledger_versions``: every version of every row ever seen — the row's data as JSON (None
  for a deletion), its content hash, when it was first seen, the workbook and its
  ``lastModifiedBy``.
- ``ledger_rows``: the current state of each row (its latest version), what a recording
  compares with in one query; ``archived_at`` set when ``xlsales archive`` moved the row
  out of the workbook (it is then no deletion).
- ``ledger_sources``: one digest per (team, table, workbook) of the row hashes last
  recorded, and a fingerprint of the bytes they were read from; an unchanged workbook is
  recognised without comparing rows (without hashing them, when its sheet's bytes are
  the same).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# SQLite's autoincrement needs INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

TEAM = 200
TABLE = 40
KEY = 400
SOURCE = 400

versions = sa.Table(
    "ledger_versions", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("team", sa.String(TEAM), nullable=False),
    sa.Column("tbl", sa.String(TABLE), nullable=False),
    sa.Column("key", sa.String(KEY), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("hash", sa.BigInteger, nullable=False),
    sa.Column("data", sa.Text, nullable=True),
    sa.Column("seen_at", sa.DateTime, nullable=False),
    sa.Column("modified_by", sa.String(200), nullable=True),
    sa.Column("source", sa.String(SOURCE), nullable=True),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
    sa.UniqueConstraint("team", "tbl", "key", "version", name="uq_ledger_versions_key"),
)

rows = sa.Table(
    "ledger_rows", metadata,
    sa.Column("team", sa.String(TEAM), primary_key=True),
    sa.Column("tbl", sa.String(TABLE), primary_key=True),
    sa.Column("key", sa.String(KEY), primary_key=True),
    sa.Column("hash", sa.BigInteger, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("first_seen", sa.DateTime, nullable=False),
    sa.Column("changed_at", sa.DateTime, nullable=False),
    sa.Column("source", sa.String(SOURCE), nullable=True),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
    sa.Column("archived_at", sa.DateTime, nullable=True),
    sa.Index("ix_ledger_rows_version", "team", "tbl", "version"),
)

sources = sa.Table(
    "ledger_sources", metadata,
    sa.Column("team", sa.String(TEAM), primary_key=True),
    sa.Column("tbl", sa.String(TABLE), primary_key=True),
    sa.Column("source", sa.String(SOURCE), primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("recorded_at", sa.DateTime, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=True),
)


# Weekly pipeline snapshots (xlsales/accuracy.py): one header per team and ISO week (the
# week's first read of the opportunities table; its primary key keeps a second one out),
# and the snapshot's rows, numbered by ``line`` (an id may be typed twice in a table); the
# cells' texts as Text, no length a cell could exceed.
snapshot_weeks = sa.Table(
    "ledger_snapshot_weeks", metadata,
    sa.Column("team", sa.String(TEAM), primary_key=True),
    sa.Column("week", sa.String(10), primary_key=True),
    sa.Column("taken_on", sa.Date, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("source", sa.String(SOURCE), nullable=True),
    sa.Column("recorded_at", sa.DateTime, nullable=False),
)

snapshots = sa.Table(
    "ledger_snapshots", metadata,
    sa.Column("team", sa.String(TEAM), primary_key=True),
    sa.Column("week", sa.String(10), primary_key=True),
    sa.Column("line", sa.Integer, primary_key=True),
    sa.Column("taken_on", sa.Date, nullable=False),
    sa.Column("opp_id", sa.Text, nullable=False),
    sa.Column("customer", sa.Text, nullable=True),
    sa.Column("owner", sa.Text, nullable=True),
    sa.Column("stage", sa.Text, nullable=True),
    sa.Column("amount", sa.Float, nullable=True),
    sa.Column("probability", sa.Float, nullable=True),
    sa.Column("expected_close", sa.Date, nullable=True),
    sa.Column("closed_on", sa.Date, nullable=True),
    sa.Column("in_commit", sa.Boolean, nullable=False),
    sa.Index("ix_ledger_snapshots_taken_on", "team", "taken_on"),
)
