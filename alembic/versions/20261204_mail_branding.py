"""Mail branding: organisation name per language, colours, postal address, inline logo, and the
admin's remote-images switch (off).

Revision ID: mail_branding
Revises: discreet_edition
Create Date: 2026-12-04 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "mail_branding"
down_revision: str | None = "discreet_edition"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mail_branding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("names", sa.JSON(), nullable=False),
        sa.Column("primary_colour", sa.String(length=7), nullable=False),
        sa.Column("link_colour", sa.String(length=7), nullable=False),
        sa.Column("postal_address", sa.Text(), nullable=False),
        sa.Column("logo", sa.LargeBinary(), nullable=True),
        sa.Column("logo_type", sa.String(length=32), nullable=False),
        sa.Column("allow_remote_images", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["staff_users.id"],
            name=op.f("fk_mail_branding_updated_by_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_branding")),
    )


def downgrade() -> None:
    op.drop_table("mail_branding")
