"""A 5xx reply at SMTP time becomes a bounce event; "no such user" suppresses the address.

The bounce policy (hard/soft scoring, complaints) belongs to `newsletter.bounces.policy`. Until it
is on main this module writes the `BounceEvent` itself and applies the one rule the sending
engine must not wait for: an address the receiving server says does not exist (5.1.1 and kin,
see `SendResult.is_permanent_rejection_of_address`) is suppressed, so no later campaign mails it.
The event id is ``<delivery id>:<attempt>``: recording the same rejection twice (a replayed
chunk) does nothing.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.bounces.models import BounceEvent, BounceKind
from newsletter.db import utcnow
from newsletter.delivery.outcomes import SendResult
from newsletter.subscribers.models import Subscriber, SubscriberStatus, SuppressionReason
from newsletter.subscribers.status import change_status, suppress_address

log = logging.getLogger(__name__)
SOURCE = "smtp"


def record_smtp_rejection(
    session: Session,
    *,
    delivery_id: int,
    subscriber_id: int,
    campaign_id: int,
    address: str,
    result: SendResult,
    attempt_number: int,
) -> BounceEvent | None:
    """Record the rejection of one delivery; None when this attempt was already recorded."""
    event_id = f"{delivery_id}:{attempt_number}"
    exists = session.scalar(
        select(BounceEvent.id).where(
            BounceEvent.source == SOURCE, BounceEvent.source_event_id == event_id
        )
    )
    if exists is not None:
        return None
    gone = result.is_permanent_rejection_of_address
    event = BounceEvent(
        source=SOURCE,
        source_event_id=event_id,
        kind=BounceKind.HARD if gone else BounceKind.UNKNOWN,
        status_code=result.enhanced_status or (str(result.code) if result.code else None),
        diagnostic=result.reply[:2000],
        delivery_id=delivery_id,
        subscriber_id=subscriber_id,
        campaign_id=campaign_id,
        processed_at=utcnow(),
    )
    session.add(event)
    if gone:
        suppress_address(session, address, SuppressionReason.HARD_BOUNCE, source=SOURCE)
        subscriber = session.get(Subscriber, subscriber_id)
        if subscriber is not None:
            change_status(
                session,
                subscriber,
                SubscriberStatus.BOUNCED,
                f"address rejected at SMTP time ({result.enhanced_status or result.code})",
            )
    session.flush()
    log.info("delivery %s: SMTP rejection recorded (%s)", delivery_id, event.status_code)
    return event
