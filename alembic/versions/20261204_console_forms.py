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
    _restore_campaign_cascade()


def _restore_campaign_cascade() -> None:
    """SQLite may rebuild ``campaigns`` here, and a rebuilt table loses its triggers: put back
    the one that deletes a campaign's deliveries with it."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER IF NOT EXISTS deliveries_cascade_campaigns AFTER DELETE ON campaigns "
            "FOR EACH ROW BEGIN DELETE FROM deliveries WHERE campaign_id = OLD.id; END"
        )


def downgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("archive_hidden")
    _restore_campaign_cascade()
    with op.batch_alter_table("post_translations") as batch:
        batch.drop_column("event_location")
