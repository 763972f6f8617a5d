"""Drop ix_deliveries_status_claimed_at: stale claims are found through their campaign.

`reclaim_stale` now reaches in-flight deliveries by campaign, through ix_deliveries_claimable,
so this index only cost time: one more entry to write on every snapshot row, every claim and
every recorded outcome.

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-23 21:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_deliveries_status_claimed_at", table_name="deliveries")


def downgrade() -> None:
    op.create_index(
        "ix_deliveries_status_claimed_at", "deliveries", ["status", "claimed_at"], unique=False
    )
