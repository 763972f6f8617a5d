"""BounceEvent: one normalised record per bounce, complaint or mailed unsubscribe.

Replays do nothing: (source, source_event_id) is unique, so a webhook delivered twice or a
DSN polled twice is recorded once.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
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


class BounceEvent(Base):
    __tablename__ = "bounce_events"
    __table_args__ = (UniqueConstraint("source", "source_event_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    source_event_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[BounceKind] = mapped_column(str_enum(BounceKind))
    status_code: Mapped[str | None] = mapped_column(String(16))
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
