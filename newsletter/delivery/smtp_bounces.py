"""A 5xx reply at SMTP time becomes a bounce event, through the one bounce policy.

The sending engine does not decide what a rejection means for the subscriber: it hands the
reply to `newsletter.bounces.policy.record_bounce` with the kind read by
`newsletter.bounces.classify.kind_for_status` (5.1.1 "no such user": hard, suppressed at once;
5.7.x policy/spam refusals: our problem, never counted against the reader; ...). The event id
is ``<delivery id>:<attempt>``, so recording the same rejection twice (a replayed chunk) does
nothing.

A delivery deferred until its retry deadline is a bounce too (`record_expiry`): without an
event the policy never counted a mailbox that refused everything for a day, and a relay that was
down for a day raised no staff warning. Its event id is ``<delivery id>:expired``.

Call both after the Delivery row was updated to ``bounced`` (`recording.record_chunk` does):
the policy then finds the row already bounced and leaves the campaign's counters alone.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from newsletter.bounces.classify import EXPIRED_STATUS, kind_for_expiry, kind_for_status
from newsletter.bounces.models import BounceEvent
from newsletter.bounces.policy import record_bounce
from newsletter.config import Settings
from newsletter.delivery.outcomes import RELAY_REFUSED, SendResult

SOURCE = "smtp"


def record_smtp_rejection(
    session: Session,
    settings: Settings,
    *,
    delivery_id: int,
    address: str,
    result: SendResult,
    attempt_number: int,
    now: dt.datetime,
) -> BounceEvent | None:
    """Record the rejection of one delivery; None when this attempt was already recorded."""
    status = result.enhanced_status or (str(result.code) if result.code else None)
    return record_bounce(
        session,
        source=SOURCE,
        source_event_id=f"{delivery_id}:{attempt_number}",
        kind=kind_for_status(result.enhanced_status, result.text),
        diagnostic=result.reply,
        status_code=status,
        delivery_id=delivery_id,
        address=address,
        settings=settings,
        now=now,
    )


def record_expiry(
    session: Session,
    settings: Settings,
    *,
    delivery_id: int,
    address: str,
    result: SendResult,
    now: dt.datetime,
) -> BounceEvent | None:
    """Record a delivery whose retries ran out, with its last reply; None when already recorded."""
    kind = kind_for_expiry(
        result.code,
        result.enhanced_status,
        result.text,
        relay_refused=result.reason.startswith(RELAY_REFUSED),
    )
    return record_bounce(
        session,
        source=SOURCE,
        source_event_id=f"{delivery_id}:expired",
        kind=kind,
        diagnostic=f"retry deadline passed; last reply: {result.reply}",
        status_code=result.enhanced_status or EXPIRED_STATUS,
        delivery_id=delivery_id,
        address=address,
        settings=settings,
        now=now,
    )
