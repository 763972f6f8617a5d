"""Who a campaign may mail: one predicate, used by the snapshot and by the check before each send.

Invariants `snapshot-once` and `suppressed-before-next-send`: the snapshot (one INSERT ... SELECT)
and the re-check right before a message leaves must agree on "sendable", so both are built from
`sendable_condition`: the subscriber is active, has an active subscription to one of the campaign's
lists, and their address (by hash) is not suppressed.

Deliveries carry no foreign keys (they cost two checks per inserted row): the snapshot holds
``DELIVERY_SNAPSHOT_LOCK`` shared for its transaction, and the PostgreSQL trigger that cascades a
subscriber delete takes it exclusively first, so a delete racing a snapshot waits for it and
then removes what it inserted (migration ``delivery_cascade_triggers``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, and_, case, exists, func, insert, literal, select, text
from sqlalchemy.orm import Session

from newsletter.campaigns.models import Delivery, DeliveryStatus, campaign_lists
from newsletter.db import rows_changed
from newsletter.subscribers.models import (
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    Suppression,
)


def sendable_condition(campaign_id: int) -> ColumnElement[bool]:
    """True for a `Subscriber` row this campaign may mail right now."""
    on_a_list = exists().where(
        Subscription.subscriber_id == Subscriber.id,
        Subscription.status == SubscriptionStatus.ACTIVE,
        Subscription.list_id == campaign_lists.c.list_id,
        campaign_lists.c.campaign_id == campaign_id,
    )
    suppressed = exists().where(Suppression.address_hash == Subscriber.email_hash)
    return and_(Subscriber.status == SubscriberStatus.ACTIVE, on_a_list, ~suppressed)


# Shared by every snapshot, taken exclusively by the subscriber-delete trigger (same number in
# the migration ``delivery_cascade_triggers``).
DELIVERY_SNAPSHOT_LOCK = 7_310_418_001


def snapshot_recipients(
    session: Session,
    campaign_id: int,
    languages: Iterable[str],
    fallback_language: str,
    now: dt.datetime,
) -> int:
    """Insert one queued Delivery per sendable subscriber, in one statement; returns the count.

    A subscriber on several of the campaign's lists is selected once (EXISTS, not a join). Their
    language is kept when the campaign has it, else ``fallback_language``.
    """
    languages = sorted(set(languages))
    language = case(
        (Subscriber.language.in_(languages), Subscriber.language), else_=literal(fallback_language)
    )
    chosen = select(
        literal(campaign_id),
        Subscriber.id,
        language,
        literal(DeliveryStatus.QUEUED.value),
        literal(0),
        literal(now, Delivery.updated_at.type),
    ).where(sendable_condition(campaign_id))
    statement = insert(Delivery).from_select(
        ["campaign_id", "subscriber_id", "language", "status", "attempts", "updated_at"], chosen
    )
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": DELIVERY_SNAPSHOT_LOCK}
        )
    return rows_changed(session, statement.execution_options(preserve_rowcount=True))


def still_sendable(session: Session, campaign_id: int, subscriber_ids: Sequence[int]) -> set[int]:
    """Which of ``subscriber_ids`` may still be mailed (checked right before a chunk is sent)."""
    if not subscriber_ids:
        return set()
    query = select(Subscriber.id).where(
        Subscriber.id.in_(subscriber_ids), sendable_condition(campaign_id)
    )
    return set(session.scalars(query))


def pending_ranges(
    session: Session, campaign_id: int, statuses: Iterable[str], size: int
) -> list[tuple[int, int]]:
    """The (first, last) delivery id of each run of ``size`` pending rows, computed in the
    database: a 1M-recipient campaign ships 2,000 pairs to Python instead of 1M ids."""
    numbered = (
        select(
            Delivery.id.label("id"),
            ((func.row_number().over(order_by=Delivery.id) - 1) // size).label("run"),
        )
        .where(Delivery.campaign_id == campaign_id, Delivery.status.in_(list(statuses)))
        .subquery()
    )
    query = (
        select(func.min(numbered.c.id), func.max(numbered.c.id))
        .group_by(numbered.c.run)
        .order_by(func.min(numbered.c.id))
    )
    return [(int(first), int(last)) for first, last in session.execute(query)]


def id_ranges(ids: Sequence[int], size: int) -> list[tuple[int, int]]:
    """Split sorted delivery ids into (first, last) ranges of at most ``size`` ids each.

    Batches carry ranges, not lists: a task message stays a few bytes whatever the batch size.
    """
    return [
        (ids[start], ids[min(start + size, len(ids)) - 1]) for start in range(0, len(ids), size)
    ]
