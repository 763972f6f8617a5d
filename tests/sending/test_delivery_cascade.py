"""Deliveries have no foreign keys (a snapshot would pay two checks per row); deletes still
cascade, and a delete racing a snapshot leaves no orphan (PostgreSQL and SQLite)."""

from __future__ import annotations

import threading
import time

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.campaigns import service
from newsletter.db import unit_of_work
from newsletter.models import Campaign, Delivery, Subscriber
from tests.conftest import make_test_settings
from tests.sending.helpers import seed_campaign


def _deliveries(session: Session, **where: int) -> int:
    query = select(func.count()).select_from(Delivery)
    for column, value in where.items():
        query = query.where(getattr(Delivery, column) == value)
    return session.scalar(query) or 0


def test_deleting_a_subscriber_or_a_campaign_deletes_its_deliveries(
    any_db_session: Session, tmp_path
) -> None:
    session = any_db_session
    seeded = seed_campaign(session, 4)
    service.start_campaign(session, seeded.campaign_id, settings=make_test_settings(tmp_path))
    first, second = session.scalars(select(Subscriber.id).order_by(Subscriber.id).limit(2))
    assert _deliveries(session, subscriber_id=first) == 1

    session.execute(delete(Subscriber).where(Subscriber.id.in_([first, second])))
    assert _deliveries(session, subscriber_id=first) == 0
    assert _deliveries(session, subscriber_id=second) == 0
    assert _deliveries(session, campaign_id=seeded.campaign_id) == 2

    session.execute(delete(Campaign).where(Campaign.id == seeded.campaign_id))
    assert _deliveries(session) == 0


def test_a_delete_racing_a_snapshot_waits_for_it_and_leaves_no_orphan(
    committed_db: sessionmaker[Session], tmp_path
) -> None:
    with unit_of_work(committed_db) as session:
        seeded = seed_campaign(session, 5)
    with committed_db() as session:
        victim = session.scalars(select(Subscriber.id).order_by(Subscriber.id)).first()
    assert victim is not None

    snapshot = committed_db()
    service.start_campaign(snapshot, seeded.campaign_id, settings=make_test_settings(tmp_path))
    assert _deliveries(snapshot, subscriber_id=victim) == 1  # inserted, not committed yet

    deleted_at: list[float] = []

    def erase_row() -> None:
        with unit_of_work(committed_db) as other:
            other.execute(delete(Subscriber).where(Subscriber.id == victim))
        deleted_at.append(time.monotonic())

    eraser = threading.Thread(target=erase_row)
    eraser.start()
    time.sleep(1.0)
    assert eraser.is_alive(), "the delete did not wait for the open snapshot"
    committed_at = time.monotonic()
    snapshot.commit()
    snapshot.close()
    eraser.join(timeout=30)
    assert deleted_at and deleted_at[0] >= committed_at

    with committed_db() as session:
        assert _deliveries(session, subscriber_id=victim) == 0
        assert _deliveries(session, campaign_id=seeded.campaign_id) == 4
        orphans = session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(~select(Subscriber.id).where(Subscriber.id == Delivery.subscriber_id).exists())
        )
        assert orphans == 0
