"""Apply one stored inbound message: mailto unsubscribe, bounces, complaint, or quarantine.

Called by the worker task for each message the inbound receiver or the IMAP poller stored.
Nothing here raises on a bad message: whatever cannot be read or attributed is quarantined
with its reason (staff review it in the console), and the receiver never sees an error.

Attribution a forger cannot steer (`attribution` gathers the evidence):

- a verified VERP token (envelope or the bounce's own headers) names the delivery. A report
  naming several failed addresses counts for that delivery through the entry for the
  delivery's address (the worst, when several name it), or through an entry naming nobody;
  when every entry names somebody else, nothing is acted on and staff review it;
- without one (the IMAP mailbox, ``postmaster@``, a token only inside the returned copy), a
  bounce acts only through a returned Message-ID that is exactly the one we sent a delivery
  with, and only for that delivery's address;
- a VERP-shaped address whose signature fails, or a complaint that is not an ARF report from
  a known feedback loop (``INBOUND_FEEDBACK_LOOP_DOMAINS``), suppresses nobody: quarantined;
- a failure nobody can read, at a verified VERP address, is an undetermined (soft) bounce
  *and* a review entry: a dead address must not keep being mailed while staff triage, and one
  unreadable message cannot suppress (a soft bounce weighs less than the threshold).

``trust_addresses`` is kept for the callers; the rule above is the same for every source.
"""

from __future__ import annotations

import logging
import re
from email.message import Message
from email.utils import parseaddr

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
    finding,
    parse_bytes,
)
from newsletter.bounces.attribution import Attribution, attribute
from newsletter.bounces.models import BounceKind, BounceReason, InboundMessage, InboundStatus
from newsletter.bounces.policy import record_bounce
from newsletter.campaigns.models import Delivery
from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.observability import metrics
from newsletter.subscribers.models import Subscriber

log = logging.getLogger(__name__)
# The relay's own bounce mailbox (IMAP); kept for the callers, the attribution rule is the same.
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


_SEVERITY = {
    BounceKind.HARD: 5,
    BounceKind.COMPLAINT: 4,
    BounceKind.SOFT: 3,
    BounceKind.SENDER_PROBLEM: 2,
    BounceKind.UNKNOWN: 1,
    BounceKind.AUTO_REPLY: 0,
}
_MESSAGE_ID = re.compile(r"^<[^<>@]*\.(\d{1,18})@[^<>]+>$")


def _same(a: str | None, b: str | None) -> bool:
    return (
        bool(a and b) and str(a).strip().strip("<>").lower() == str(b).strip().strip("<>").lower()
    )


def _delivery_address(session: Session, delivery_id: int) -> str | None:
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        return None
    return session.scalar(select(Subscriber.email).where(Subscriber.id == delivery.subscriber_id))


def delivery_of_message_ids(session: Session, message_ids: tuple[str, ...]) -> int | None:
    """The one delivery whose exact Message-ID was returned (``<campaign.delivery@domain>``)."""
    found: set[int] = set()
    for mid in message_ids:
        match = _MESSAGE_ID.match(mid)
        if match is None:
            continue
        delivery = session.get(Delivery, int(match.group(1)))
        if delivery is not None and delivery.message_id and _same(delivery.message_id, mid):
            found.add(delivery.id)
    return found.pop() if len(found) == 1 else None


def pick_for_delivery(findings: tuple[Finding, ...], address: str | None) -> Finding | None:
    """The finding about the delivery's address (the worst of several), else one naming
    nobody; None when every finding names somebody else."""
    about = [f for f in findings if any(_same(a, address) for a in f.addresses)]
    if not about:
        about = [f for f in findings if not f.addresses]
    if not about:
        return None
    return max(about, key=lambda f: _SEVERITY.get(f.kind, 0))


def _known_feedback_loop(settings: Settings, msg: Message) -> bool:
    sender = parseaddr(str(msg.get("From", "")))[1].lower()
    domain = sender.rpartition("@")[2]
    return bool(domain) and any(
        domain == known.lower() or domain.endswith("." + known.lower())
        for known in settings.inbound_feedback_loop_domains
    )


def _record(
    session: Session,
    settings: Settings,
    analysis: Analysis,
    finding: Finding,
    *,
    delivery_id: int | None,
    address: str | None,
    index: int,
    needs_review: bool = False,
) -> None:
    record_bounce(
        session,
        source=analysis.category,
        source_event_id=f"{analysis.message_key}/{finding.recipient or index}",
        kind=finding.kind,
        reason=finding.reason,
        diagnostic=finding.diagnostic,
        status_code=finding.status,
        delivery_id=delivery_id,
        address=address,
        settings=settings,
        needs_review=needs_review,
    )


def _apply(
    session: Session, settings: Settings, analysis: Analysis, attribution: Attribution
) -> tuple[int, str]:
    """Record what the message says about the delivery or subscriber; (recorded, why not)."""
    delivery_id = attribution.delivery_id
    if delivery_id is None:
        delivery_id = delivery_of_message_ids(session, attribution.returned_message_ids)
    if delivery_id is not None:
        address = _delivery_address(session, delivery_id)
        chosen = pick_for_delivery(analysis.findings, address)
        if chosen is None:
            return 0, "the failed recipient is not the delivery's address"
        _record(session, settings, analysis, chosen, delivery_id=delivery_id, address=None, index=0)
        return 1, ""
    if attribution.subscriber_public_id is not None and analysis.category == ARF:
        address = session.scalar(
            select(Subscriber.email).where(Subscriber.public_id == attribution.subscriber_public_id)
        )
        if address is None:
            return 0, "not attributable"
        chosen = pick_for_delivery(analysis.findings, address)
        if chosen is None:
            return 0, "the complaint names somebody else"
        _record(session, settings, analysis, chosen, delivery_id=None, address=address, index=0)
        return 1, ""
    return 0, "not attributable"


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
        analysis = analyse_message(msg, inbound.raw, bounce_domain=settings.bounce_domain)
        attribution = attribute(settings, msg, inbound.raw, envelope_recipients(inbound))
    except (Exception, RecursionError) as exc:  # hostile or broken MIME: keep it for review
        return _finish(
            inbound, InboundStatus.QUARANTINED, f"unreadable: {type(exc).__name__}", "unreadable"
        )
    if analysis.category == NOTICE:
        return _finish(inbound, InboundStatus.IGNORED, analysis.note, str(analysis.category))
    if analysis.category == AUTO_REPLY:
        return _finish(inbound, InboundStatus.IGNORED, analysis.note, str(analysis.category))
    if attribution.forged and not attribution.names_delivery:
        return _finish(
            inbound, InboundStatus.QUARANTINED, "a VERP token that does not verify", "forged"
        )
    if analysis.category == UNKNOWN:
        return _unknown(session, settings, inbound, analysis, attribution)
    complaint = any(f.kind == BounceKind.COMPLAINT for f in analysis.findings)
    if complaint and not _known_feedback_loop(settings, msg):
        reason = f"{analysis.category}: a complaint from an unknown feedback loop"
        return _finish(inbound, InboundStatus.QUARANTINED, reason, "unknown_feedback_loop")
    applied, why_not = _apply(session, settings, analysis, attribution)
    note = f"{analysis.category}: {analysis.note}"
    if applied == 0:
        code = "recipient_mismatch" if "address" in why_not else "not_attributable"
        return _finish(inbound, InboundStatus.QUARANTINED, f"{note}; {why_not}", code)
    return _finish(inbound, InboundStatus.PROCESSED, note, str(analysis.category))


def _unknown(
    session: Session,
    settings: Settings,
    inbound: InboundMessage,
    analysis: Analysis,
    attribution: Attribution,
) -> InboundStatus:
    """An unreadable failure at a verified VERP address: soft (undetermined) plus review."""
    if not attribution.names_delivery or session.get(Delivery, attribution.delivery_id) is None:
        return _finish(inbound, InboundStatus.QUARANTINED, analysis.note, "unrecognised")
    undetermined = finding(BounceReason.UNDETERMINED, None, None, "unrecognised format")
    _record(
        session,
        settings,
        analysis,
        undetermined,
        delivery_id=attribution.delivery_id,
        address=None,
        index=0,
        needs_review=True,
    )
    note = f"{analysis.note}; counted as an undetermined (soft) bounce, kept for review"
    return _finish(inbound, InboundStatus.QUARANTINED, note, "unrecognised_counted")


def process_stored(session: Session, settings: Settings, inbound_id: int) -> str:
    """The worker's entry point: lock the row (one worker per message) and process it."""
    inbound = session.get(InboundMessage, inbound_id, with_for_update={"skip_locked": True})
    if inbound is None:
        return "missing or being processed"
    trust = inbound.source in TRUSTED_SOURCES
    return str(process_inbound(session, settings, inbound, trust_addresses=trust))
