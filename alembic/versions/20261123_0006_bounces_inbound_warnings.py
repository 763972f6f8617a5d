"""Bounces: inbound messages (stored before 250, quarantine) and staff warnings.

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-23 17:35:31.329255
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0006"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("source_ref", sa.String(length=255), nullable=False),
        sa.Column("envelope_from", sa.String(length=320), nullable=False),
        sa.Column("envelope_to", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "processed",
                "ignored",
                "quarantined",
                name="inboundstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("status_reason", sa.String(length=500), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_messages")),
        sa.UniqueConstraint(
            "source", "source_ref", name=op.f("uq_inbound_messages_source_source_ref")
        ),
    )
    op.create_index(
        op.f("ix_inbound_messages_status"), "inbound_messages", ["status"], unique=False
    )
    op.create_table(
        "staff_warnings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "sender_problem",
                "complaint_rate",
                "bounce_rate",
                "unattributed",
                name="staffwarningkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column(
            "bounce_event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["bounce_event_id"],
            ["bounce_events.id"],
            name=op.f("fk_staff_warnings_bounce_event_id_bounce_events"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_staff_warnings_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_warnings")),
    )
    op.create_index(
        op.f("ix_staff_warnings_campaign_id"), "staff_warnings", ["campaign_id"], unique=False
    )
    op.create_index(op.f("ix_staff_warnings_kind"), "staff_warnings", ["kind"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_staff_warnings_kind"), table_name="staff_warnings")
    op.drop_index(op.f("ix_staff_warnings_campaign_id"), table_name="staff_warnings")
    op.drop_table("staff_warnings")
    op.drop_index(op.f("ix_inbound_messages_status"), table_name="inbound_messages")
    op.drop_table("inbound_messages")
