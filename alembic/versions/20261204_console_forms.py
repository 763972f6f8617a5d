"""A post's place per language, and a campaign's "keep out of the public archive".

Revision ID: console_forms
Revises: mail_routing
Create Date: 2026-12-04 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "console_forms"
down_revision: str | None = "mail_routing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("post_translations") as batch:
        batch.add_column(sa.Column("event_location", sa.String(300), nullable=True))
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(
            sa.Column("archive_hidden", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("archive_hidden")
    with op.batch_alter_table("post_translations") as batch:
        batch.drop_column("event_location")
