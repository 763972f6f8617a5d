"""Which mail each list receives, stored on the list (was: slugs in ALERT_LISTS/DIGEST_LIST);
who started a campaign, and the two-person rule's request and approval.

Existing lists get their initial routes from the settings' slugs, so an installation keeps
mailing the lists it mailed before; from then on staff change them on the list's page.

Revision ID: mail_routing
Revises: scale_reads
Create Date: 2026-12-04 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "mail_routing"
down_revision: str | None = "scale_reads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The settings' defaults, used when the settings cannot be read (an offline migration).
DEFAULT_SLUGS = {
    "press_release_alerts": ["press-releases"],
    "event_alerts": ["events"],
    "digest": ["monthly-digest"],
}


def _initial_slugs() -> dict[str, list[str]]:
    try:
        from newsletter.config import get_settings
        from newsletter.content.routing import initial_slugs

        return {
            route.value: sorted(slugs) for route, slugs in initial_slugs(get_settings()).items()
        }
    except Exception:
        return DEFAULT_SLUGS


def upgrade() -> None:
    op.create_table(
        "mailing_list_routes",
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("route", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["mailing_lists.id"],
            name=op.f("fk_mailing_list_routes_list_id_mailing_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("list_id", "route", name=op.f("pk_mailing_list_routes")),
    )
    with op.batch_alter_table("mailing_lists") as batch:
        batch.add_column(
            sa.Column("routes_chosen", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("campaigns") as batch:
        for column in ("started_by_id", "approval_requested_by_id", "approved_by_id"):
            batch.add_column(sa.Column(column, sa.Integer(), nullable=True))
            batch.create_foreign_key(
                f"fk_campaigns_{column}_staff_users",
                "staff_users",
                [column],
                ["id"],
                ondelete="SET NULL",
            )
        batch.add_column(sa.Column("approval_requested_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("approved_at", sa.DateTime(timezone=True)))
    _restore_campaign_cascade()
    bind = op.get_bind()
    lists = sa.table(
        "mailing_lists", sa.column("id"), sa.column("slug"), sa.column("routes_chosen")
    )
    routes = sa.table("mailing_list_routes", sa.column("list_id"), sa.column("route"))
    rows = bind.execute(sa.select(lists.c.id, lists.c.slug)).all()
    wiring = _initial_slugs()
    for list_id, slug in rows:
        for route, slugs in wiring.items():
            if slug in slugs:
                bind.execute(sa.insert(routes).values(list_id=list_id, route=route))
    if rows:
        bind.execute(sa.update(lists).values(routes_chosen=True))


def _restore_campaign_cascade() -> None:
    """SQLite rebuilds ``campaigns`` to add a foreign key, and a rebuilt table loses its
    triggers: put back the one that deletes a campaign's deliveries with it."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER IF NOT EXISTS deliveries_cascade_campaigns AFTER DELETE ON campaigns "
            "FOR EACH ROW BEGIN DELETE FROM deliveries WHERE campaign_id = OLD.id; END"
        )


def downgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        for column in ("started_by_id", "approval_requested_by_id", "approved_by_id"):
            batch.drop_constraint(f"fk_campaigns_{column}_staff_users", type_="foreignkey")
            batch.drop_column(column)
        batch.drop_column("approval_requested_at")
        batch.drop_column("approved_at")
    _restore_campaign_cascade()
    with op.batch_alter_table("mailing_lists") as batch:
        batch.drop_column("routes_chosen")
    op.drop_table("mailing_list_routes")
