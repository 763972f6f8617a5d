"""Apply one stored inbound message: mailto unsubscribe, bounces, complaint, or quarantine.

Called by the worker task for each message the inbound receiver or the IMAP poller stored.
Nothing here raises on a bad message: whatever cannot be read or attributed is quarantined
with its reason (staff review it in the console), and the receiver never sees an error.

``trust_addresses``: bounces fetched from the relay's own bounce mailbox may be matched on
the failed address alone; messages arriving on the open SMTP port must carry one of our
signed tokens, so a forged DSN or complaint cannot suppress somebody else.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.bounces import mailto
from newsletter.bounces.analysis import (
    ARF,
    AUTO_REPLY,
    NOTICE,
    UNKNOWN,
    Analysis,
    Finding,
    analyse_message,
    parse_bytes,
)
from newsletter.bounces.attribution import Attribution, attribute
from newsletter.bounces.models import InboundMessage, InboundStatus
from newsletter.bounces.policy import record_bounce
from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.observability import metrics
from newsletter.subscribers.models import Subscriber

log = logging.getLogger(__name__)
# The relay's own bounce mailbox (IMAP) only receives what the relay returns to us; the SMTP
# port is open to anyone.
TRUSTED_SOURCES = frozenset({"imap"})


def envelope_recipients(inbound: InboundMessage) -> list[str]:
    return [line.strip() for line in inbound.envelope_to.splitlines() if line.strip()]


def _finish(
    inbound: InboundMessage, status: InboundStatus, reason: str, code: str = ""
) -> InboundStatus:
    """Set the outcome; ``code`` is the short, fixed reason the metric counts (not the text)."""
    metrics.INBOUND.labels(result=str(status), reason=code or str(status)).inc()
    inbound.status = status
    inbound.status_reason = reason[:500]
    inbound.processed_at = utcnow()
    level = logging.WARNING if status == InboundStatus.QUARANTINED else logging.INFO
    log.log(level, "inbound message %s %s: %s", inbound.id, status, reason[:200])
    return status


def _address_for(
    session: Session, finding: Finding, attribution: Attribution, trust_addresses: bool
) -> str | None:
    if attribution.subscriber_public_id is not None:
        return session.scalar(
            select(Subscriber.email).where(Subscriber.public_id == attribution.subscriber_public_id)
        )
    return finding.recipient if trust_addresses else None


def _apply(
    session: Session,
    settings: Settings,
    analysis: Analysis,
    attribution: Attribution,
    trust_addresses: bool,
) -> tuple[int, int]:
    """Record each finding; (recorded or replayed, unattributable)."""
    applied = unattributed = 0
    single = len(analysis.findings) == 1
    for index, finding in enumerate(analysis.findings):
        delivery_id = attribution.delivery_id if single else None
        trusted = trust_addresses and analysis.category != ARF
        address = _address_for(session, finding, attribution, trusted)
        if delivery_id is None and address is None:
            unattributed += 1
            continue
        record_bounce(
            session,
            source=analysis.category,
            source_event_id=f"{analysis.message_key}/{finding.recipient or index}",
            kind=finding.kind,
            diagnostic=finding.diagnostic,
            status_code=finding.status,
            delivery_id=delivery_id,
            address=address,
            settings=settings,
        )
        applied += 1
    return applied, unattributed


def process_inbound(
    session: Session, settings: Settings, inbound: InboundMessage, *, trust_addresses: bool
) -> InboundStatus:
    """Read ``inbound`` and act on it; its status says what happened (idempotent)."""
    if inbound.status != InboundStatus.PENDING:
        return inbound.status
    for recipient in envelope_recipients(inbound):
        token = mailto.token_of(settings, recipient)
        if token is not None:
            done = mailto.unsubscribe_by_mail(session, settings, token)
            if done is None:
                return _finish(
                    inbound, InboundStatus.QUARANTINED, "unsubscribe token invalid", "bad_token"
                )
            return _finish(
                inbound, InboundStatus.PROCESSED, f"unsubscribed subscriber {done}", "unsubscribe"
            )
    try:
        msg = parse_bytes(inbound.raw)
        analysis = analyse_message(msg, inbound.raw)
        attribution = attribute(settings, msg, inbound.raw, envelope_recipients(inbound))
    except (Exception, RecursionError) as exc:  # hostile or broken MIME: keep it for review
        return _finish(
            inbound, InboundStatus.QUARANTINED, f"unreadable: {type(exc).__name__}", "unreadable"
        )
    if analysis.category == UNKNOWN:
        return _finish(inbound, InboundStatus.QUARANTINED, analysis.note, "unrecognised")
    if analysis.category == NOTICE:
        return _finish(inbound, InboundStatus.IGNORED, analysis.note, str(analysis.category))
    if analysis.category == AUTO_REPLY and not attribution.found:
        return _finish(inbound, InboundStatus.IGNORED, analysis.note, str(analysis.category))
    applied, unattributed = _apply(session, settings, analysis, attribution, trust_addresses)
    note = f"{analysis.category}: {analysis.note}"
    if analysis.category == AUTO_REPLY:
        return _finish(inbound, InboundStatus.IGNORED, note, str(analysis.category))
    if applied == 0:
        return _finish(
            inbound, InboundStatus.QUARANTINED, f"{note}; not attributable", "not_attributable"
        )
    if unattributed:
        note += f"; {unattributed} not attributable"
    return _finish(inbound, InboundStatus.PROCESSED, note, str(analysis.category))


def process_stored(session: Session, settings: Settings, inbound_id: int) -> str:
    """The worker's entry point: lock the row (one worker per message) and process it."""
    inbound = session.get(InboundMessage, inbound_id, with_for_update={"skip_locked": True})
    if inbound is None:
        return "missing or being processed"
    trust = inbound.source in TRUSTED_SOURCES
    return str(process_inbound(session, settings, inbound, trust_addresses=trust))
