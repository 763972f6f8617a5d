"""Who a campaign may mail: one predicate, used by the snapshot and by the check before each send.

Invariants `snapshot-once` and `suppressed-before-next-send`: the snapshot (one INSERT ... SELECT)
and the re-check right before a message leaves must agree on "sendable", so both are built from
`sendable_condition`: the subscriber is active, has an active subscription to one of the campaign's
lists, and their address (by hash) is not suppressed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, and_, case, exists, insert, literal, select
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
    return rows_changed(session, statement.execution_options(preserve_rowcount=True))


def still_sendable(session: Session, campaign_id: int, subscriber_ids: Sequence[int]) -> set[int]:
    """Which of ``subscriber_ids`` may still be mailed (checked right before a chunk is sent)."""
    if not subscriber_ids:
        return set()
    query = select(Subscriber.id).where(
        Subscriber.id.in_(subscriber_ids), sendable_condition(campaign_id)
    )
    return set(session.scalars(query))


def id_ranges(ids: Sequence[int], size: int) -> list[tuple[int, int]]:
    """Split sorted delivery ids into (first, last) ranges of at most ``size`` ids each.

    Batches carry ranges, not lists: a task message stays a few bytes whatever the batch size.
    """
    return [
        (ids[start], ids[min(start + size, len(ids)) - 1]) for start in range(0, len(ids), size)
    ]
