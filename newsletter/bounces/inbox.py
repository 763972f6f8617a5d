"""Storing inbound messages durably, and the staff's quarantine list.

The receiver commits the row *before* it answers 250 (or the poller before it marks the
IMAP message processed): once the remote side forgets the message, the database holds it.
``(source, source_ref)`` is unique, so a message fetched twice is stored once.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from newsletter.bounces.models import InboundMessage, InboundStatus
from newsletter.db import utcnow


def store_inbound(
    session: Session,
    *,
    source: str,
    source_ref: str,
    raw: bytes,
    envelope_from: str = "",
    envelope_to: list[str] | None = None,
) -> InboundMessage | None:
    """Add a pending message; None when this (source, source_ref) is already stored."""
    exists = session.scalar(
        select(InboundMessage.id).where(
            InboundMessage.source == source, InboundMessage.source_ref == source_ref
        )
    )
    if exists is not None:
        return None
    inbound = InboundMessage(
        source=source[:32],
        source_ref=source_ref[:255],
        envelope_from=envelope_from[:320],
        envelope_to="\n".join(envelope_to or []),
        size=len(raw),
        raw=raw,
        status=InboundStatus.PENDING,
    )
    try:
        with session.begin_nested():
            session.add(inbound)
    except IntegrityError:
        return None
    return inbound


def quarantined(session: Session, *, limit: int = 100, offset: int = 0) -> list[InboundMessage]:
    """Messages nobody could attribute or read, newest first, for staff review."""
    query = (
        select(InboundMessage)
        .where(InboundMessage.status == InboundStatus.QUARANTINED)
        .order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(session.scalars(query))


def pending_ids(
    session: Session, *, received_before: dt.datetime | None = None, limit: int = 500
) -> list[int]:
    """Messages stored but not yet processed (a lost task is picked up by the sweeper)."""
    query = (
        select(InboundMessage.id)
        .where(
            InboundMessage.status == InboundStatus.PENDING,
            InboundMessage.received_at < (received_before or utcnow()),
        )
        .order_by(InboundMessage.id)
        .limit(limit)
    )
    return list(session.scalars(query))
