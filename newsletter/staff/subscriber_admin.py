"""What staff may do to a subscriber, each action audited (invariant `privacy-by-default`).

Status changes and suppressions go through ``subscribers.status`` and the journey's own
``unsubscribe``/``erase``; this module only adds the staff semantics (reason, actor, audit)
and the list edits a supporter cannot make for themselves (private lists).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.bounces.models import BounceEvent
from newsletter.campaigns.models import Campaign, Delivery
from newsletter.db import utcnow
from newsletter.links import UnsubscribeScope
from newsletter.staff import audit
from newsletter.subscribers import data_rights, service
from newsletter.subscribers.addresses import InvalidAddress, address_hash, normalise_address
from newsletter.subscribers.models import (
    MailingList,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    SuppressionReason,
)
from newsletter.subscribers.status import (
    change_status,
    end_all_subscriptions,
    is_suppressed,
    suppress_address,
)


@dataclass(frozen=True)
class History:
    subscriber: Subscriber
    subscriptions: list[tuple[Subscription, MailingList]]
    deliveries: list[tuple[Delivery, Campaign]]
    bounces: list[BounceEvent]


def history(db: Session, subscriber: Subscriber, limit: int = 50) -> History:
    subscriptions = db.execute(
        select(Subscription, MailingList)
        .join(MailingList, MailingList.id == Subscription.list_id)
        .where(Subscription.subscriber_id == subscriber.id)
        .order_by(MailingList.slug)
    ).all()
    deliveries = db.execute(
        select(Delivery, Campaign)
        .join(Campaign, Campaign.id == Delivery.campaign_id)
        .where(Delivery.subscriber_id == subscriber.id)
        .order_by(Delivery.id.desc())
        .limit(limit)
    ).all()
    bounces = db.scalars(
        select(BounceEvent)
        .where(BounceEvent.subscriber_id == subscriber.id)
        .order_by(BounceEvent.id.desc())
        .limit(limit)
    ).all()
    return History(
        subscriber,
        [(s, m) for s, m in subscriptions],
        [(d, c) for d, c in deliveries],
        list(bounces),
    )


def edit(
    db: Session,
    subscriber: Subscriber,
    actor: audit.Actor,
    *,
    name: str,
    language: str,
    timezone: str | None,
    list_ids: set[int],
    discreet: bool | None = None,
    low_bandwidth: bool | None = None,
) -> None:
    """Correct a subscriber's details, lists and editions (a staff member acting on a
    request, e.g. a reader at risk who asked by phone for the discreet edition)."""
    subscriber.name = " ".join(name.split())[:200]
    subscriber.language = language
    subscriber.timezone = timezone or None
    if discreet is not None:
        subscriber.discreet = discreet
    if low_bandwidth is not None:
        subscriber.low_bandwidth = low_bandwidth
    current = {
        s.list_id: s
        for s in db.scalars(select(Subscription).where(Subscription.subscriber_id == subscriber.id))
    }
    valid = set(db.scalars(select(MailingList.id).where(MailingList.id.in_(list_ids))))
    for list_id, subscription in current.items():
        wanted = list_id in valid
        subscription.status = (
            SubscriptionStatus.ACTIVE if wanted else SubscriptionStatus.UNSUBSCRIBED
        )
    for list_id in valid - set(current):
        db.add(Subscription(subscriber_id=subscriber.id, list_id=list_id))
    audit.record(
        db,
        actor,
        "subscriber.edit",
        object_type="subscriber",
        object_id=subscriber.id,
        detail={
            "lists": sorted(valid),
            "language": language,
            "discreet": bool(subscriber.discreet),
            "low_bandwidth": bool(subscriber.low_bandwidth),
        },
    )


def unsubscribe(db: Session, subscriber: Subscriber, actor: audit.Actor) -> None:
    """Unsubscribe from everything on the person's behalf (they asked staff to)."""
    scope = UnsubscribeScope(subscriber.public_id)
    service.unsubscribe(db, scope, "unsubscribed by staff on request", actor.label)
    audit.record(
        db, actor, "subscriber.unsubscribe", object_type="subscriber", object_id=subscriber.id
    )


def suppress(db: Session, subscriber: Subscriber, actor: audit.Actor) -> None:
    """Never mail this address again (staff decision), and end every subscription."""
    suppress_address(db, subscriber.email, SuppressionReason.STAFF, source=actor.label)
    end_all_subscriptions(db, subscriber)
    if subscriber.status != SubscriberStatus.ERASED:
        change_status(
            db, subscriber, SubscriberStatus.REMOVED, "suppressed by staff", actor=actor.label
        )
    audit.record(
        db, actor, "subscriber.suppress", object_type="subscriber", object_id=subscriber.id
    )


def erase(db: Session, subscriber: Subscriber, actor: audit.Actor) -> None:
    """Erase the person's data (the journey's erasure), recorded without their address."""
    data_rights.erase(db, subscriber, actor=actor.label)
    audit.record(db, actor, "subscriber.erase", object_type="subscriber", object_id=subscriber.id)


class SubscriberRefused(ValueError):
    """The subscriber cannot be added or changed; ``conflict`` when the address is taken."""

    def __init__(self, message: str, *, conflict: bool = False) -> None:
        super().__init__(message)
        self.conflict = conflict


def lists_by_slug(db: Session, slugs: list[str]) -> list[MailingList]:
    found = list(db.scalars(select(MailingList).where(MailingList.slug.in_(slugs))))
    if len(found) != len(set(slugs)):
        raise SubscriberRefused("unknown list")
    return found


def add_subscriber(
    db: Session,
    actor: audit.Actor,
    *,
    email: str,
    name: str,
    language: str,
    list_slugs: list[str],
    consent_basis: str,
) -> Subscriber:
    """Add one person on staff's word (a CRM sync, a paper form): active at once, with the
    consent basis recorded. Suppressed addresses are refused, whatever the caller says."""
    try:
        address = normalise_address(email)
    except InvalidAddress as exc:
        raise SubscriberRefused(f"invalid address: {exc}") from None
    if is_suppressed(db, address):
        raise SubscriberRefused("this address is suppressed", conflict=True)
    if db.scalar(select(Subscriber.id).where(Subscriber.email_hash == address_hash(address))):
        raise SubscriberRefused("this address is already a subscriber", conflict=True)
    lists = lists_by_slug(db, list_slugs)
    now = utcnow()
    subscriber = Subscriber(
        email=address,
        email_hash=address_hash(address),
        name=" ".join(name.split())[:200],
        language=language,
        status=SubscriberStatus.PENDING,
        consent_at=now,
        consent_source=f"{actor.label}: {' '.join(consent_basis.split())}"[:100],
    )
    db.add(subscriber)
    db.flush()
    change_status(db, subscriber, SubscriberStatus.ACTIVE, "added by staff", actor=actor.label)
    for mailing_list in lists:
        db.add(Subscription(subscriber_id=subscriber.id, list_id=mailing_list.id))
    db.flush()
    audit.record(
        db,
        actor,
        "subscriber.create",
        object_type="subscriber",
        object_id=subscriber.id,
        detail={"lists": sorted(list_slugs)},
    )
    return subscriber
