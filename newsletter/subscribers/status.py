"""Every change of a subscriber's status, and every suppression, goes through here.

Why one module: a status must always carry its reason and leave a line of history
(Mailman's rule), and a suppression must be idempotent, whoever triggers it: the person
(unsubscribe, erase), the bounce policy, a complaint, or staff. The subscribe journey,
the sending engine, the bounce processors and the staff console all call these functions.
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.subscribers.addresses import address_hash
from newsletter.subscribers.models import (
    Subscriber,
    SubscriberStatus,
    SubscriberStatusChange,
    Subscription,
    SubscriptionStatus,
    Suppression,
    SuppressionReason,
)

log = logging.getLogger(__name__)


def change_status(
    session: Session,
    subscriber: Subscriber,
    to_status: SubscriberStatus,
    reason: str,
    *,
    actor: str = "system",
) -> bool:
    """Move ``subscriber`` to ``to_status`` with its reason; False when already there."""
    if subscriber.status == to_status:
        return False
    now = utcnow()
    from_status = str(subscriber.status) if subscriber.status else None
    session.add(
        SubscriberStatusChange(
            subscriber=subscriber,
            at=now,
            from_status=from_status,
            to_status=str(to_status),
            reason=reason[:200],
            actor=actor[:64],
        )
    )
    subscriber.status = to_status
    subscriber.status_reason = reason[:200]
    subscriber.status_changed_at = now
    log.info("subscriber %s status %s -> %s (%s)", subscriber.id, from_status, to_status, reason)
    return True


def end_all_subscriptions(session: Session, subscriber: Subscriber) -> None:
    """Unsubscribe from every list (the person's lists stay visible in their history)."""
    session.execute(
        update(Subscription)
        .where(
            Subscription.subscriber_id == subscriber.id,
            Subscription.status == SubscriptionStatus.ACTIVE,
        )
        .values(status=SubscriptionStatus.UNSUBSCRIBED, updated_at=utcnow())
    )


def suppress_address(
    session: Session, normalised_address: str, reason: SuppressionReason, source: str = ""
) -> Suppression:
    """Never mail this address again. Idempotent: the first reason is kept."""
    digest = address_hash(normalised_address)
    existing = session.scalar(select(Suppression).where(Suppression.address_hash == digest))
    if existing is not None:
        return existing
    suppression = Suppression(address_hash=digest, reason=reason, source=source[:64])
    session.add(suppression)
    session.flush()
    log.info("suppression %s added (%s, %s)", suppression.id, reason, source)
    return suppression


def is_suppressed(session: Session, normalised_address: str) -> bool:
    digest = address_hash(normalised_address)
    return (
        session.scalar(select(Suppression.id).where(Suppression.address_hash == digest)) is not None
    )
