"""Campaigns: a wall-clock time to send at in each recipient's zone (the local-hour digest).

Revision ID: campaign_local_send_at
Revises: event_registrations
Create Date: 2026-12-03 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "campaign_local_send_at"
down_revision: str | None = "event_registrations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("local_send_at", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("local_send_at")
