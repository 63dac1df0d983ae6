"""A digest per recorded workbook: an unchanged workbook is recognised at once; an index
for the rows with more than one version (the audit).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_sources",
        sa.Column("team", sa.String(200), primary_key=True),
        sa.Column("tbl", sa.String(40), primary_key=True),
        sa.Column("source", sa.String(400), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_ledger_rows_version", "ledger_rows", ["team", "tbl", "version"])


def downgrade() -> None:
    op.drop_index("ix_ledger_rows_version", table_name="ledger_rows")
    op.drop_table("ledger_sources")
