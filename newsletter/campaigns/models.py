"""Campaign and Delivery.

Invariant `snapshot-once`: a campaign's recipients are snapshotted into Delivery rows (one per
campaign x subscriber, enforced by a unique constraint) and every row ends in a final state. The
``ix_deliveries_claimable`` index serves the workers' claim query.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from newsletter.content.models import Post
from newsletter.db import Base, utcnow
from newsletter.enums import str_enum
from newsletter.subscribers.models import MailingList, new_public_id

BigId = BigInteger().with_variant(Integer, "sqlite")


class CampaignKind(StrEnum):
    ALERT = "alert"
    DIGEST = "digest"
    NEWSLETTER = "newsletter"
    TEST = "test"


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    SENT = "sent"
    CANCELLED = "cancelled"
    FAILED = "failed"


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DEFERRED = "deferred"
    FAILED = "failed"
    BOUNCED = "bounced"
    SKIPPED = "skipped"


FINAL_DELIVERY_STATUSES = frozenset(
    {DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.BOUNCED, DeliveryStatus.SKIPPED}
)

campaign_lists = Table(
    "campaign_lists",
    Base.metadata,
    Column("campaign_id", ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    Column("list_id", ForeignKey("mailing_lists.id", ondelete="CASCADE"), primary_key=True),
)


class CampaignPost(Base):
    """A post included in a campaign, in order (a digest holds many, an alert one)."""

    __tablename__ = "campaign_posts"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)

    post: Mapped[Post] = relationship()


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (Index("ix_campaigns_status_scheduled_at", "status", "scheduled_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    kind: Mapped[CampaignKind] = mapped_column(str_enum(CampaignKind))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[CampaignStatus] = mapped_column(
        str_enum(CampaignStatus), default=CampaignStatus.DRAFT
    )
    status_reason: Mapped[str] = mapped_column(String(200), default="")
    template_name: Mapped[str] = mapped_column(String(100), default="newsletter")
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    scheduled_at: Mapped[dt.datetime | None]
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Who pressed "send" (shown on the live page), and the two-person rule's request and
    # approval (campaigns/approval.py): the approver is never the one who asked.
    started_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    approval_requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    approval_requested_at: Mapped[dt.datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    approved_at: Mapped[dt.datetime | None]
    total_count: Mapped[int] = mapped_column(Integer, default=0)
    sent_count: Mapped[int] = mapped_column(Integer, default=0)
    deferred_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    bounced_count: Mapped[int] = mapped_column(Integer, default=0)
    skipped_count: Mapped[int] = mapped_column(Integer, default=0)
    # The recent error rate (delivery/error_window.py): exponentially weighted attempts and
    # errors since the campaign started or was last resumed.
    window_attempts: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    window_errors: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    # Send at this wall-clock time in each recipient's zone (campaigns/local_time.py).
    local_send_at: Mapped[str | None] = mapped_column(String(16))
    # Staff may keep a campaign sent to public lists out of the public archive all the same.
    archive_hidden: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    lists: Mapped[list[MailingList]] = relationship(secondary=campaign_lists)
    posts: Mapped[list[CampaignPost]] = relationship(
        cascade="all, delete-orphan", order_by="CampaignPost.position"
    )
    variants: Mapped[list[CampaignVariant]] = relationship(
        back_populates="campaign", cascade="all, delete-orphan"
    )


class CampaignVariant(Base):
    """A campaign's content in one language: subject, preheader and free-form body."""

    __tablename__ = "campaign_variants"
    __table_args__ = (UniqueConstraint("campaign_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(300))
    preheader: Mapped[str] = mapped_column(String(300), default="")
    body_markdown: Mapped[str] = mapped_column(Text, default="")

    campaign: Mapped[Campaign] = relationship(back_populates="variants")


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("campaign_id", "subscriber_id"),
        Index("ix_deliveries_claimable", "campaign_id", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # No foreign keys here, on purpose: a snapshot's million inserts would each run two
    # referential checks. Deleting a campaign or a subscriber deletes its deliveries through
    # statement triggers instead (migration ``delivery_cascade_triggers``; the snapshot's
    # advisory lock in campaigns/recipients.py keeps a concurrent delete from leaving orphans).
    campaign_id: Mapped[int] = mapped_column(Integer)
    subscriber_id: Mapped[int] = mapped_column(Integer, index=True)
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus), default=DeliveryStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None]
    claimed_at: Mapped[dt.datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    message_id: Mapped[str | None] = mapped_column(String(255))
    last_reply_code: Mapped[int | None] = mapped_column(Integer)
    last_reply: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CampaignDeliveryTotal(Base):
    """Delivery rows folded away by retention (campaigns/retention.py), counted per status.

    A campaign's figures are its remaining delivery rows plus these totals, so a campaign page
    shows the same numbers before and after its old rows are folded.
    """

    __tablename__ = "campaign_delivery_totals"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[DeliveryStatus] = mapped_column(str_enum(DeliveryStatus), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    folded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
