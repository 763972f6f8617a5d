"""A person's rights over their data: download it, erase it; and the purge of stale sign-ups.

Erasure keeps the subscriber row as an anonymous shell with status "erased" (so campaign
counts and delivery rows stay consistent) but removes everything that identifies or
describes the person: address, name, language and time zone choices, consent IP and form,
topics, status history, and the SMTP replies and bounce diagnostics stored for their
deliveries (relays echo the address in them). What stays is the address's *hash* in the
suppression list, so the address is never mailed again (invariant `suppressed-before-next-send`).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from newsletter.bounces.models import BounceEvent
from newsletter.campaigns.models import Delivery
from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.subscribers.addresses import address_hash
from newsletter.subscribers.models import (
    MailingList,
    Subscriber,
    SubscriberStatus,
    SubscriberStatusChange,
    Subscription,
    SuppressionReason,
    new_public_id,
)
from newsletter.subscribers.status import change_status, suppress_address

log = logging.getLogger(__name__)
ERASED_DOMAIN = "erased.invalid"  # RFC 2606: can never be a real mailbox


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def export_data(session: Session, subscriber: Subscriber) -> dict[str, Any]:
    """Everything the service holds about this person, as JSON-ready data."""
    subscriptions = session.execute(
        select(Subscription, MailingList)
        .join(MailingList, MailingList.id == Subscription.list_id)
        .where(Subscription.subscriber_id == subscriber.id)
        .order_by(MailingList.slug)
    ).all()
    deliveries = session.scalars(
        select(Delivery).where(Delivery.subscriber_id == subscriber.id).order_by(Delivery.id)
    )
    return {
        "email": subscriber.email,
        "name": subscriber.name,
        "language": subscriber.language,
        "timezone": subscriber.timezone,
        "status": str(subscriber.status),
        "status_reason": subscriber.status_reason,
        "created_at": _iso(subscriber.created_at),
        "confirmed_at": _iso(subscriber.confirmed_at),
        "consent": {
            "at": _iso(subscriber.consent_at),
            "source": subscriber.consent_source,
            "consent_text_version": subscriber.consent_text_version,
            "ip": subscriber.consent_ip,
        },
        "subscriptions": [
            {
                "list": mailing_list.slug,
                "name": mailing_list.name_in(subscriber.language),
                "status": str(subscription.status),
                "since": _iso(subscription.created_at),
            }
            for subscription, mailing_list in subscriptions
        ],
        "history": [
            {"at": _iso(c.at), "from": c.from_status, "to": c.to_status, "reason": c.reason}
            for c in subscriber.status_changes
        ],
        "deliveries": [
            {"campaign_id": d.campaign_id, "status": str(d.status), "sent_at": _iso(d.sent_at)}
            for d in deliveries
        ],
        "bounce_score": subscriber.bounce_score,
    }


def erase(session: Session, subscriber: Subscriber, *, actor: str = "subscriber") -> None:
    """Erase the person: no personal data left; the address kept only as a suppression hash."""
    suppress_address(session, subscriber.email, SuppressionReason.ERASED, source=actor)
    session.execute(delete(Subscription).where(Subscription.subscriber_id == subscriber.id))
    session.execute(
        delete(SubscriberStatusChange).where(SubscriberStatusChange.subscriber_id == subscriber.id)
    )
    session.execute(
        update(Delivery)
        .where(Delivery.subscriber_id == subscriber.id)
        .values(last_reply=None, message_id=None)
    )
    session.execute(
        update(BounceEvent)
        .where(BounceEvent.subscriber_id == subscriber.id)
        .values(diagnostic="", subscriber_id=None)
    )
    session.expire(subscriber, ["status_changes", "subscriptions"])
    shell_id = new_public_id()
    subscriber.public_id = shell_id  # every link already sent stops working
    subscriber.email = f"{shell_id}@{ERASED_DOMAIN}"
    subscriber.email_hash = address_hash(subscriber.email)
    subscriber.name = ""
    subscriber.timezone = None
    subscriber.consent_at = None
    subscriber.consent_source = None
    subscriber.consent_text_version = None
    subscriber.consent_ip = None
    subscriber.confirmed_at = None
    subscriber.created_at = utcnow()
    subscriber.bounce_score = 0.0
    subscriber.bounce_score_at = None
    change_status(session, subscriber, SubscriberStatus.ERASED, "erasure requested", actor=actor)
    session.flush()
    log.info("subscriber %s erased by %s", subscriber.id, actor)


def purge_expired_pending(
    session: Session, settings: Settings, now: dt.datetime | None = None
) -> int:
    """Delete sign-ups never confirmed within ``PENDING_EXPIRY_DAYS``; returns how many.

    Nobody confirmed them, so nothing proves the address owner asked: keeping the address
    would be keeping data without consent. Deleted outright (no suppression: they may sign
    up again).
    """
    cutoff = (now or utcnow()) - dt.timedelta(days=settings.pending_expiry_days)
    stale = select(Subscriber.id).where(
        Subscriber.status == SubscriberStatus.PENDING,
        Subscriber.status_changed_at < cutoff,
        Subscriber.confirmed_at.is_(None),
    )
    ids = list(session.scalars(stale.limit(10_000)))
    if ids:
        session.execute(delete(Subscriber).where(Subscriber.id.in_(ids)))
    log.info("purged %d expired pending sign-up(s)", len(ids))
    return len(ids)
