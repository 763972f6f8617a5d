"""Reads that stay flat at a million subscribers, and delivery history that does not grow.

- ``pg_trgm`` trigram GIN indexes on ``subscribers.email`` and ``subscribers.name`` (PostgreSQL
  only): they serve the staff search's ILIKE '%part%'. SQLite keeps scanning, correctly.
- ``report_summaries``: the dashboard's and the lists page's figures, refreshed by beat.
- ``campaign_delivery_totals``: per campaign and status, the delivery rows that retention
  folded away (``DELIVERY_RETENTION_DAYS``).

Revision ID: scale_reads
Revises: delivery_cascade_triggers
Create Date: 2026-12-04 21:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "scale_reads"
down_revision: str | None = "delivery_cascade_triggers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DELIVERY_STATUSES = ("queued", "sending", "sent", "deferred", "failed", "bounced", "skipped")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for column in ("email", "name"):
            op.create_index(
                f"ix_subscribers_{column}_trgm",
                "subscribers",
                [column],
                postgresql_using="gin",
                postgresql_ops={column: "gin_trgm_ops"},
            )
    op.create_table(
        "report_summaries",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_report_summaries"),
    )
    op.create_table(
        "campaign_delivery_totals",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("folded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name="fk_campaign_delivery_totals_campaign_id_campaigns",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", "status", name="pk_campaign_delivery_totals"),
    )


def downgrade() -> None:
    op.drop_table("campaign_delivery_totals")
    op.drop_table("report_summaries")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_subscribers_name_trgm", table_name="subscribers")
        op.drop_index("ix_subscribers_email_trgm", table_name="subscribers")
