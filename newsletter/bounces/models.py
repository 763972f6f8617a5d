"""BounceEvent: one normalised record per bounce, complaint or mailed unsubscribe.

Replays do nothing: (source, source_event_id) is unique, so a webhook delivered twice or a
DSN polled twice is recorded once.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from newsletter.campaigns.models import BigId
from newsletter.db import Base, utcnow
from newsletter.enums import str_enum


class BounceKind(StrEnum):
    HARD = "hard"
    SOFT = "soft"
    COMPLAINT = "complaint"
    UNSUBSCRIBE = "unsubscribe"
    AUTO_REPLY = "auto_reply"
    SENDER_PROBLEM = "sender_problem"
    UNKNOWN = "unknown"


class BounceReason(StrEnum):
    """Why a message came back; the policy table (`bounces.policy.REASON_POLICY`) acts on it.

    Only ``user_unknown`` and ``domain_not_found`` (and ``mailbox_disabled``, configurable) say
    the address is dead; every sender-side reason says *our* sending was refused.
    """

    USER_UNKNOWN = "user_unknown"
    DOMAIN_NOT_FOUND = "domain_not_found"
    MAILBOX_DISABLED = "mailbox_disabled"
    MAILBOX_FULL = "mailbox_full"
    MESSAGE_TOO_LARGE = "message_too_large"
    EXPIRED = "expired"
    TEMPORARY_DNS = "temporary_dns"
    TEMPORARY_FAILURE = "temporary_failure"
    POLICY_BLOCK = "policy_block"
    SENDER_BLOCKLISTED = "sender_blocklisted"
    RATE_LIMITED = "rate_limited"
    AUTH_FAILURE = "auth_failure"
    RELAY_DENIED = "relay_denied"
    GREYLISTED = "greylisted"
    SENDER_ADDRESS = "sender_address"
    DELAY = "delay"
    DELIVERED = "delivered"
    AUTO_REPLY = "auto_reply"
    COMPLAINT = "complaint"
    UNSUBSCRIBE = "unsubscribe"
    UNDETERMINED = "undetermined"


class BounceEvent(Base):
    __tablename__ = "bounce_events"
    __table_args__ = (UniqueConstraint("source", "source_event_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    source_event_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[BounceKind] = mapped_column(str_enum(BounceKind))
    status_code: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[BounceReason | None] = mapped_column(str_enum(BounceReason))
    diagnostic: Mapped[str] = mapped_column(Text, default="")
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="SET NULL"), index=True
    )
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="SET NULL"), index=True
    )
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[dt.datetime | None]


class StaffWarningKind(StrEnum):
    SENDER_PROBLEM = "sender_problem"
    COMPLAINT_RATE = "complaint_rate"
    BOUNCE_RATE = "bounce_rate"
    UNATTRIBUTED = "unattributed"


class StaffWarning(Base):
    """Something staff must look at that is not a subscriber's fault.

    A DMARC or spam-block rejection says our own sending is broken; counting it against
    the subscriber would suppress good addresses, so it lands here instead. One open
    warning per (kind, campaign) counts its occurrences rather than piling up rows.
    """

    __tablename__ = "staff_warnings"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[StaffWarningKind] = mapped_column(str_enum(StaffWarningKind), index=True)
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    bounce_event_id: Mapped[int | None] = mapped_column(
        ForeignKey("bounce_events.id", ondelete="SET NULL")
    )
    message: Mapped[str] = mapped_column(Text, default="")
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[dt.datetime | None]


class InboundStatus(StrEnum):
    PENDING = "pending"
    PROCESSED = "processed"
    IGNORED = "ignored"
    QUARANTINED = "quarantined"


class InboundMessage(Base):
    """A message received by ``newsletter inbound`` or fetched from the bounce mailbox.

    Stored (committed) before the SMTP server answers 250, so an accepted bounce survives a
    crash; a worker then parses it. Messages nobody can attribute stay here, quarantined,
    for staff review instead of being dropped.
    """

    __tablename__ = "inbound_messages"
    __table_args__ = (UniqueConstraint("source", "source_ref"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    source_ref: Mapped[str] = mapped_column(String(255))
    envelope_from: Mapped[str] = mapped_column(String(320), default="")
    envelope_to: Mapped[str] = mapped_column(Text, default="")
    size: Mapped[int] = mapped_column(Integer, default=0)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[InboundStatus] = mapped_column(
        str_enum(InboundStatus), default=InboundStatus.PENDING, index=True
    )
    status_reason: Mapped[str] = mapped_column(String(500), default="")
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[dt.datetime | None]
