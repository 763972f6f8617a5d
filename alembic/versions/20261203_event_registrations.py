"""Event registrations: settings per event, registrants, notices and the message queue.

Revision ID: event_registrations
Revises: service_heartbeats
Create Date: 2026-12-03 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "event_registrations"
down_revision: str | None = "service_heartbeats"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_setups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("registration_enabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminder_offsets", sa.String(length=100), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_event_setups_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_setups")),
        sa.UniqueConstraint("post_id", name=op.f("uq_event_setups_post_id")),
    )
    op.create_table(
        "event_registrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_event_registrations_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_registrations")),
        sa.UniqueConstraint("post_id", "email", name=op.f("uq_event_registrations_post_id_email")),
        sa.UniqueConstraint("public_id", name=op.f("uq_event_registrations_public_id")),
    )
    op.create_index(
        "ix_event_registrations_post_id_status", "event_registrations", ["post_id", "status"]
    )
    op.create_table(
        "event_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["staff_users.id"],
            name=op.f("fk_event_notices_created_by_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_event_notices_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_notices")),
    )
    op.create_index(op.f("ix_event_notices_post_id"), "event_notices", ["post_id"])
    op.create_table(
        "event_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_reply", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["event_notices.id"],
            name=op.f("fk_event_messages_notice_id_event_notices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["event_registrations.id"],
            name=op.f("fk_event_messages_registration_id_event_registrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_messages")),
        sa.UniqueConstraint(
            "registration_id", "key", name=op.f("uq_event_messages_registration_id_key")
        ),
    )
    op.create_index("ix_event_messages_status_due_at", "event_messages", ["status", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_event_messages_status_due_at", table_name="event_messages")
    op.drop_table("event_messages")
    op.drop_index(op.f("ix_event_notices_post_id"), table_name="event_notices")
    op.drop_table("event_notices")
    op.drop_index("ix_event_registrations_post_id_status", table_name="event_registrations")
    op.drop_table("event_registrations")
    op.drop_table("event_setups")
