"""Rows archived out of the workbook (``xlsales archive``): ``ledger_rows.archived_at``,
so that a row moved into ``archive_<year>.xlsx`` is no deletion.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_rows") as batch:
        batch.add_column(sa.Column("archived_at", sa.DateTime, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ledger_rows") as batch:
        batch.drop_column("archived_at")
