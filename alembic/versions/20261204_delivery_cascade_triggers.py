"""Deliveries without per-row foreign-key checks; deletes still cascade, by statement triggers.

A snapshot inserts one delivery per recipient in one statement. With foreign keys on
``deliveries.campaign_id`` and ``deliveries.subscriber_id`` PostgreSQL ran two referential
checks per inserted row (half of a 1M-recipient snapshot's time). The rows come from a SELECT
over ``subscribers`` and the campaign row is locked by the snapshot, so the checks proved
nothing the statement did not already guarantee, except against a concurrent delete.

What replaces them:
- deleting subscribers or campaigns deletes their deliveries: one statement-level trigger per
  table on PostgreSQL (a transition table, one DELETE for the whole statement), a row trigger on
  SQLite (which serialises writers anyway);
- a snapshot holds ``pg_advisory_xact_lock_shared(DELIVERY_SNAPSHOT_LOCK)`` and the subscriber
  trigger takes the same lock exclusively before cascading, so it waits for a snapshot that may
  have read a subscriber it deletes and then removes the rows that snapshot committed (the
  guarantee the foreign key's row lock gave). See newsletter/campaigns/recipients.py.

Revision ID: delivery_cascade_triggers
Revises: mail_branding
Create Date: 2026-12-04 21:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "delivery_cascade_triggers"
down_revision: str | None = "mail_branding"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The trigger's lock key is newsletter.campaigns.recipients.DELIVERY_SNAPSHOT_LOCK (7310418001).

NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}

PG_UP = [
    """
    CREATE FUNCTION deliveries_cascade_subscribers() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM gone) THEN
            RETURN NULL;
        END IF;
        PERFORM pg_advisory_xact_lock(7310418001);
        DELETE FROM deliveries d USING gone WHERE d.subscriber_id = gone.id;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER deliveries_cascade_subscribers AFTER DELETE ON subscribers
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT
    EXECUTE FUNCTION deliveries_cascade_subscribers()
    """,
    """
    CREATE FUNCTION deliveries_cascade_campaigns() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM deliveries d USING gone WHERE d.campaign_id = gone.id;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER deliveries_cascade_campaigns AFTER DELETE ON campaigns
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT
    EXECUTE FUNCTION deliveries_cascade_campaigns()
    """,
]
PG_DOWN = [
    "DROP TRIGGER IF EXISTS deliveries_cascade_subscribers ON subscribers",
    "DROP TRIGGER IF EXISTS deliveries_cascade_campaigns ON campaigns",
    "DROP FUNCTION IF EXISTS deliveries_cascade_subscribers()",
    "DROP FUNCTION IF EXISTS deliveries_cascade_campaigns()",
]
SQLITE_UP = [
    """
    CREATE TRIGGER deliveries_cascade_subscribers AFTER DELETE ON subscribers FOR EACH ROW
    BEGIN DELETE FROM deliveries WHERE subscriber_id = OLD.id; END
    """,
    """
    CREATE TRIGGER deliveries_cascade_campaigns AFTER DELETE ON campaigns FOR EACH ROW
    BEGIN DELETE FROM deliveries WHERE campaign_id = OLD.id; END
    """,
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS deliveries_cascade_subscribers",
    "DROP TRIGGER IF EXISTS deliveries_cascade_campaigns",
]
FOREIGN_KEYS = (
    ("fk_deliveries_campaign_id_campaigns", "campaigns", "campaign_id"),
    ("fk_deliveries_subscriber_id_subscribers", "subscribers", "subscriber_id"),
)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("deliveries", naming_convention=NAMING) as batch:
        for name, _table, _column in FOREIGN_KEYS:
            batch.drop_constraint(name, type_="foreignkey")
    for statement in PG_UP if postgres else SQLITE_UP:
        op.execute(sa.text(statement))


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in PG_DOWN if postgres else SQLITE_DOWN:
        op.execute(sa.text(statement))
    with op.batch_alter_table("deliveries", naming_convention=NAMING) as batch:
        for name, table, column in FOREIGN_KEYS:
            batch.create_foreign_key(name, table, [column], ["id"], ondelete="CASCADE")
