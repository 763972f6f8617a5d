"""A 5xx reply at SMTP time becomes a bounce event, through the one bounce policy.

The sending engine does not decide what a rejection means for the subscriber: it hands the
reply to `newsletter.bounces.policy.record_bounce` with the kind read by
`newsletter.bounces.classify.kind_for_status` (5.1.1 "no such user": hard, suppressed at once;
5.7.x policy/spam refusals: our problem, never counted against the reader; ...). The event id
is ``<delivery id>:<attempt>``, so recording the same rejection twice (a replayed chunk) does
nothing.

Call it after the Delivery row was updated to ``bounced`` (`recording.record_chunk` does):
the policy then finds the row already bounced and leaves the campaign's counters alone.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from newsletter.bounces.classify import kind_for_status
from newsletter.bounces.models import BounceEvent
from newsletter.bounces.policy import record_bounce
from newsletter.config import Settings
from newsletter.delivery.outcomes import SendResult

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
