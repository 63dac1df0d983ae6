"""A fingerprint of the bytes each recorded table was read from: a workbook whose sheet is
byte for byte the same is not even hashed again.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_sources") as batch:
        batch.add_column(sa.Column("fingerprint", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ledger_sources") as batch:
        batch.drop_column("fingerprint")
