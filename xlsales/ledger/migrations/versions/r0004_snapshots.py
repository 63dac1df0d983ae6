"""Weekly pipeline snapshots: the opportunities table as a command read it, at most once
per team and ISO week (the week's first read is kept), for the forecast's accuracy.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the opportunities' free-text cells as typed: Text (no length a cell could exceed)
    op.create_table(
        "ledger_snapshot_weeks",
        sa.Column("team", sa.String(200), primary_key=True),
        sa.Column("week", sa.String(10), primary_key=True),
        sa.Column("taken_on", sa.Date, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("source", sa.String(400), nullable=True),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "ledger_snapshots",
        sa.Column("team", sa.String(200), primary_key=True),
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
    )
    op.create_index("ix_ledger_snapshots_taken_on", "ledger_snapshots",
                    ["team", "taken_on"])


def downgrade() -> None:
    op.drop_index("ix_ledger_snapshots_taken_on", table_name="ledger_snapshots")
    op.drop_table("ledger_snapshots")
    op.drop_table("ledger_snapshot_weeks")
