"""Press briefings: the press list (journalists), structured press contacts of a release,
briefings under embargo and the per-journalist messages.

Revision ID: press_briefings
Revises: campaign_local_send_at
Create Date: 2026-12-03 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "press_briefings"
down_revision: str | None = "campaign_local_send_at"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "journalists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("outlet", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("beat", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journalists")),
        sa.UniqueConstraint("email", name=op.f("uq_journalists_email")),
        sa.UniqueConstraint("public_id", name=op.f("uq_journalists_public_id")),
    )
    op.create_table(
        "press_briefings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("embargo_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("briefed_by_id", sa.Integer(), nullable=True),
        sa.Column("briefed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["briefed_by_id"],
            ["staff_users.id"],
            name=op.f("fk_press_briefings_briefed_by_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_press_briefings_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_press_briefings")),
        sa.UniqueConstraint("post_id", name=op.f("uq_press_briefings_post_id")),
    )
    op.create_table(
        "press_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("phone", sa.String(length=60), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("spoken_languages", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_press_contacts_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_press_contacts")),
    )
    op.create_index(op.f("ix_press_contacts_post_id"), "press_contacts", ["post_id"], unique=False)
    op.create_table(
        "press_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("briefing_id", sa.Integer(), nullable=False),
        sa.Column("journalist_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_reply", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["briefing_id"],
            ["press_briefings.id"],
            name=op.f("fk_press_messages_briefing_id_press_briefings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["journalist_id"],
            ["journalists.id"],
            name=op.f("fk_press_messages_journalist_id_journalists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_press_messages")),
        sa.UniqueConstraint(
            "briefing_id",
            "journalist_id",
            "key",
            name=op.f("uq_press_messages_briefing_id_journalist_id_key"),
        ),
    )
    op.create_index(
        "ix_press_messages_status_due_at", "press_messages", ["status", "due_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_press_messages_status_due_at", table_name="press_messages")
    op.drop_table("press_messages")
    op.drop_index(op.f("ix_press_contacts_post_id"), table_name="press_contacts")
    op.drop_table("press_contacts")
    op.drop_table("press_briefings")
    op.drop_table("journalists")
