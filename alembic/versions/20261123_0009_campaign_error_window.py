"""Campaigns: the recent error window that decides auto-pause.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 20:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(
            sa.Column("window_attempts", sa.Float(), server_default="0", nullable=False)
        )
        batch.add_column(sa.Column("window_errors", sa.Float(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("window_errors")
        batch.drop_column("window_attempts")
