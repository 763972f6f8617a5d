"""What staff do with the messages nobody could attribute, and with staff warnings.

A quarantined message is one the processing rules (`bounces.processing`) refused to act on
alone: no verified VERP token, a Message-ID that is not ours, a complaint from an unknown
feedback loop, a report nobody can read. A person can read it and decide:

- **attribute** it to a subscriber: what the report says (the worst failure it names for that
  address, else its worst failure) is recorded against that subscriber through the one bounce
  policy (`bounces.policy.record_bounce`), exactly as if the message had named them;
- **discard** it: nothing is recorded, the message leaves the queue;
- **reprocess** it: run the processing rules again (after a new feedback-loop domain or a
  fixed signing key, say); it may land in the queue again.

Each decision leaves an audit entry with ids only (never the address), and so does resolving a
staff warning. Refusals are `ReviewRefused` with a translated text for the staff member.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from email.message import Message

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.bounces import warnings
from newsletter.bounces.analysis import Analysis, analyse_message, parse_bytes
from newsletter.bounces.models import (
    BounceEvent,
    BounceKind,
    InboundMessage,
    InboundStatus,
    StaffWarning,
)
from newsletter.bounces.policy import record_bounce
from newsletter.bounces.processing import (
    _SEVERITY,
    TRUSTED_SOURCES,
    envelope_recipients,
    pick_for_delivery,
    process_inbound,
)
from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.i18n import gettext as _
from newsletter.staff.audit import Actor, record
from newsletter.subscribers.addresses import InvalidAddress, address_hash, normalise_address
from newsletter.subscribers.models import Subscriber, SubscriberStatus

log = logging.getLogger(__name__)

#: How much of a message the reading page shows; a bounce's useful part is its first pages.
MAX_SHOWN_CHARS = 20_000
_SHOWN_HEADERS = ("From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted")


class ReviewRefused(ValueError):
    """The decision cannot be applied; the text (translated) says why, for the staff member."""


@dataclass(frozen=True)
class FindingView:
    kind: str
    reason: str
    status: str
    recipient: str
    diagnostic: str


@dataclass(frozen=True)
class MessageView:
    """A quarantined message as staff read it: a few headers, its text parts, its findings."""

    inbound: InboundMessage
    headers: list[tuple[str, str]]
    text: str
    category: str
    note: str
    findings: list[FindingView] = field(default_factory=list)
    truncated: bool = False


def review_counts(session: Session) -> dict[str, int]:
    """What waits for staff (the dashboard's notices): quarantined messages, open warnings."""
    quarantined = session.scalar(
        select(func.count())
        .select_from(InboundMessage)
        .where(InboundMessage.status == InboundStatus.QUARANTINED)
    )
    open_count = session.scalar(
        select(func.count()).select_from(StaffWarning).where(StaffWarning.resolved_at.is_(None))
    )
    return {"quarantined": int(quarantined or 0), "warnings": int(open_count or 0)}


def _quarantined(session: Session, inbound_id: int) -> InboundMessage:
    inbound = session.get(InboundMessage, inbound_id)
    if inbound is None or inbound.status != InboundStatus.QUARANTINED:
        raise ReviewRefused(_("This message is no longer waiting for review."))
    return inbound


def _text_of(msg: Message) -> str:
    """The readable parts (text, delivery status, returned headers), decoded leniently."""
    shown: list[str] = []
    for part in msg.walk():
        content_type = part.get_content_type()
        if part.is_multipart() or content_type.startswith("message/rfc822"):
            continue
        if not (
            content_type.startswith("text/")
            or content_type in ("message/delivery-status", "message/feedback-report")
        ):
            shown.append(f"[{content_type}]")
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            charset = part.get_content_charset() or "utf-8"
            try:
                shown.append(payload.decode(charset, errors="replace"))
            except LookupError:
                shown.append(payload.decode("utf-8", errors="replace"))
        else:
            shown.append(str(part.get_payload()))
    return "\n\n".join(shown)


def _analyse(inbound: InboundMessage, settings: Settings) -> tuple[Message, Analysis]:
    msg = parse_bytes(inbound.raw)
    return msg, analyse_message(msg, inbound.raw, bounce_domain=settings.bounce_domain)


def read_message(session: Session, settings: Settings, inbound_id: int) -> MessageView:
    """One quarantined message, ready for the reading page (shown as text, never as HTML)."""
    inbound = session.get(InboundMessage, inbound_id)
    if inbound is None:
        raise ReviewRefused(_("This message is no longer waiting for review."))
    try:
        msg, analysis = _analyse(inbound, settings)
        text = _text_of(msg)
        headers = [(name, " ".join(str(msg.get(name, "")).split())) for name in _SHOWN_HEADERS]
    except (Exception, RecursionError):  # hostile MIME: show the raw bytes as text instead
        raw = inbound.raw.decode("utf-8", errors="replace")
        return MessageView(
            inbound, [], raw[:MAX_SHOWN_CHARS], "unreadable", "", [], len(raw) > MAX_SHOWN_CHARS
        )
    findings = [
        FindingView(
            kind=str(f.kind),
            reason=str(f.reason),
            status=f.status or "",
            recipient=f.recipient or "",
            diagnostic=f.diagnostic[:500],
        )
        for f in analysis.findings
    ]
    return MessageView(
        inbound=inbound,
        headers=[(name, value) for name, value in headers if value],
        text=text[:MAX_SHOWN_CHARS],
        category=analysis.category,
        note=analysis.note,
        findings=findings,
        truncated=len(text) > MAX_SHOWN_CHARS,
    )


def _subscriber_by_address(session: Session, address: str) -> Subscriber:
    try:
        normalised = normalise_address(address)
    except InvalidAddress:
        raise ReviewRefused(_("Please enter a valid email address.")) from None
    subscriber = session.scalar(
        select(Subscriber).where(Subscriber.email_hash == address_hash(normalised))
    )
    if subscriber is None or subscriber.status == SubscriberStatus.ERASED:
        raise ReviewRefused(_("No subscriber has this address."))
    return subscriber


def attribute_message(
    session: Session, settings: Settings, inbound_id: int, address: str, actor: Actor
) -> BounceEvent:
    """Record what a quarantined report says against the subscriber staff name."""
    inbound = _quarantined(session, inbound_id)
    subscriber = _subscriber_by_address(session, address)
    try:
        analysis = _analyse(inbound, settings)[1]
    except (Exception, RecursionError):
        raise ReviewRefused(
            _("This message cannot be read; discard it or attribute nothing.")
        ) from None
    failures = tuple(f for f in analysis.findings if f.kind != BounceKind.AUTO_REPLY)
    if not failures:
        raise ReviewRefused(_("This message reports no failure to attribute; discard it."))
    chosen = pick_for_delivery(failures, subscriber.email) or max(
        failures, key=lambda f: _SEVERITY.get(f.kind, 0)
    )
    event = record_bounce(
        session,
        source=analysis.category,
        source_event_id=f"{analysis.message_key}/review/{inbound.id}",
        kind=chosen.kind,
        reason=chosen.reason,
        diagnostic=chosen.diagnostic,
        status_code=chosen.status,
        address=subscriber.email,
        settings=settings,
    )
    if event is None:
        raise ReviewRefused(_("This message was already attributed."))
    inbound.status = InboundStatus.PROCESSED
    inbound.status_reason = f"attributed by staff to subscriber {subscriber.id}"
    inbound.processed_at = utcnow()
    record(
        session,
        actor,
        "inbound.attribute",
        object_type="inbound_message",
        object_id=inbound.id,
        detail={"subscriber_id": subscriber.id, "kind": str(event.kind), "event_id": event.id},
    )
    session.flush()
    log.info("inbound message %s attributed to subscriber %s", inbound.id, subscriber.id)
    return event


def discard_message(session: Session, inbound_id: int, actor: Actor) -> None:
    """Take a quarantined message out of the queue without acting on it."""
    inbound = _quarantined(session, inbound_id)
    inbound.status = InboundStatus.IGNORED
    inbound.status_reason = "discarded by staff"
    inbound.processed_at = utcnow()
    record(session, actor, "inbound.discard", object_type="inbound_message", object_id=inbound.id)
    session.flush()


def reprocess_message(
    session: Session, settings: Settings, inbound_id: int, actor: Actor
) -> InboundStatus:
    """Run the processing rules again on a quarantined message; its new status."""
    inbound = _quarantined(session, inbound_id)
    inbound.status = InboundStatus.PENDING
    outcome = process_inbound(
        session,
        settings,
        inbound,
        trust_addresses=inbound.source in TRUSTED_SOURCES,
    )
    record(
        session,
        actor,
        "inbound.reprocess",
        object_type="inbound_message",
        object_id=inbound.id,
        detail={"outcome": str(outcome), "recipients": len(envelope_recipients(inbound))},
    )
    session.flush()
    return outcome


def resolve_warning(session: Session, warning_id: int, actor: Actor) -> None:
    """Mark a staff warning dealt with, audited; refused when it is not open."""
    warning = session.get(StaffWarning, warning_id)
    if not warnings.resolve_warning(session, warning_id) or warning is None:
        raise ReviewRefused(_("This warning is already resolved."))
    record(
        session,
        actor,
        "warning.resolve",
        object_type="staff_warning",
        object_id=warning_id,
        detail={"kind": str(warning.kind), "campaign_id": warning.campaign_id},
    )
    session.flush()
