"""Bounce reasons: why each bounce came back (user unknown, mailbox full, blocklisted, ...),
stored on the event so the policy acts per reason and staff see it.

Revision ID: bounce_reasons
Revises: press_briefings
Create Date: 2026-12-04 13:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "bounce_reasons"
down_revision: str | None = "press_briefings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("bounce_events", sa.Column("reason", sa.String(length=32), nullable=True))


def downgrade() -> None:
    op.drop_column("bounce_events", "reason")
