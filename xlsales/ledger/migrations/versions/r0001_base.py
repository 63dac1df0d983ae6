"""The base ledger: row versions and the current state of each row.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ledger_versions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("team", sa.String(200), nullable=False),
        sa.Column("tbl", sa.String(40), nullable=False),
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("hash", sa.BigInteger, nullable=False),
        sa.Column("data", sa.Text, nullable=True),
        sa.Column("seen_at", sa.DateTime, nullable=False),
        sa.Column("modified_by", sa.String(200), nullable=True),
        sa.Column("source", sa.String(400), nullable=True),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.UniqueConstraint("team", "tbl", "key", "version", name="uq_ledger_versions_key"),
    )
    op.create_table(
        "ledger_rows",
        sa.Column("team", sa.String(200), primary_key=True),
        sa.Column("tbl", sa.String(40), primary_key=True),
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("hash", sa.BigInteger, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("first_seen", sa.DateTime, nullable=False),
        sa.Column("changed_at", sa.DateTime, nullable=False),
        sa.Column("source", sa.String(400), nullable=True),
        sa.Column("deleted", sa.Boolean, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ledger_rows")
    op.drop_table("ledger_versions")
