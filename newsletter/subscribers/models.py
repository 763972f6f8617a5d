"""Subscribers, lists (topics), subscriptions and the history of every status change.

A status always carries its reason (Mailman's rule): "unsubscribed" alone cannot tell a
person's choice from a complaint or a staff removal, and the difference matters.
"""

from __future__ import annotations

import datetime as dt
import secrets
from enum import StrEnum

from sqlalchemy import Boolean, Float, ForeignKey, Index, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from newsletter.db import Base, utcnow
from newsletter.enums import str_enum


def new_public_id() -> str:
    """An opaque, unguessable id for use in signed links (never the address, never the pk)."""
    return secrets.token_hex(16)


class SubscriberStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    REMOVED = "removed"
    ERASED = "erased"


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"


class Subscriber(Base):
    __tablename__ = "subscribers"
    # Substring search on addresses and names (staff search, API ``q=``): trigram GIN indexes
    # serve ILIKE '%part%' on PostgreSQL. SQLite has no such index and scans (still correct).
    __table_args__ = (
        Index(
            "ix_subscribers_email_trgm",
            "email",
            postgresql_using="gin",
            postgresql_ops={"email": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
        Index(
            "ix_subscribers_name_trgm",
            "name",
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    email_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[SubscriberStatus] = mapped_column(
        str_enum(SubscriberStatus), default=SubscriberStatus.PENDING, index=True
    )
    status_reason: Mapped[str] = mapped_column(String(200), default="")
    status_changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    confirmed_at: Mapped[dt.datetime | None]
    consent_at: Mapped[dt.datetime | None]
    consent_source: Mapped[str | None] = mapped_column(String(100))
    consent_text_version: Mapped[str | None] = mapped_column(String(50))
    consent_ip: Mapped[str | None] = mapped_column(String(45))
    bounce_score: Mapped[float] = mapped_column(Float, default=0.0)
    bounce_score_at: Mapped[dt.datetime | None]
    # The discreet edition (rendering/editions.py): neutral sender and subject, plain text,
    # links at ALT_BASE_URL. For readers for whom being seen on our list is a danger.
    discreet: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Headlines-only alerts and digests, plain text, a few kilobytes.
    low_bandwidth: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    subscriptions: Mapped[list[Subscription]] = relationship(
        back_populates="subscriber", cascade="all, delete-orphan"
    )
    status_changes: Mapped[list[SubscriberStatusChange]] = relationship(
        back_populates="subscriber",
        cascade="all, delete-orphan",
        order_by="SubscriberStatusChange.id",
    )


class SubscriberStatusChange(Base):
    """One line of a subscriber's history: consent, confirmation, unsubscribe, suppression."""

    __tablename__ = "subscriber_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(200), default="")
    actor: Mapped[str] = mapped_column(String(64), default="system")

    subscriber: Mapped[Subscriber] = relationship(back_populates="status_changes")


class MailingList(Base):
    """A topic supporters can follow: press releases, events, the monthly digest, ..."""

    __tablename__ = "mailing_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Which mail the list receives (newsletter/content/routing.py). Until staff choose, a
    # list follows the settings' initial wiring by its slug (ALERT_LISTS, DIGEST_LIST).
    routes_chosen: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    translations: Mapped[list[MailingListTranslation]] = relationship(
        back_populates="mailing_list", cascade="all, delete-orphan"
    )
    routes: Mapped[list[MailingListRoute]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    def name_in(self, language: str, fallback: str = "en") -> str:
        by_language = {t.language: t.name for t in self.translations}
        return by_language.get(language) or by_language.get(fallback) or self.slug

    def description_in(self, language: str, fallback: str = "en") -> str:
        """What the list sends, in ``language`` (else ``fallback``; empty when none)."""
        by_language = {t.language: t.description for t in self.translations}
        return by_language.get(language) or by_language.get(fallback) or ""


class MailingListRoute(Base):
    """One kind of mail a list receives: ``press_release_alerts``, ``event_alerts``,
    ``statement_alerts`` (statements and reports) or ``digest``."""

    __tablename__ = "mailing_list_routes"

    list_id: Mapped[int] = mapped_column(
        ForeignKey("mailing_lists.id", ondelete="CASCADE"), primary_key=True
    )
    route: Mapped[str] = mapped_column(String(32), primary_key=True)


class MailingListTranslation(Base):
    __tablename__ = "mailing_list_translations"
    __table_args__ = (UniqueConstraint("list_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("mailing_lists.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="")

    mailing_list: Mapped[MailingList] = relationship(back_populates="translations")


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "list_id"),
        Index("ix_subscriptions_list_status", "list_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    list_id: Mapped[int] = mapped_column(ForeignKey("mailing_lists.id", ondelete="CASCADE"))
    status: Mapped[SubscriptionStatus] = mapped_column(
        str_enum(SubscriptionStatus), default=SubscriptionStatus.ACTIVE
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    subscriber: Mapped[Subscriber] = relationship(back_populates="subscriptions")
    mailing_list: Mapped[MailingList] = relationship()


class SuppressionReason(StrEnum):
    HARD_BOUNCE = "hard_bounce"
    SOFT_BOUNCES = "soft_bounces"
    COMPLAINT = "complaint"
    ERASED = "erased"
    STAFF = "staff"


class Suppression(Base):
    """An address never to be mailed again, kept only as its hash; checked at send time."""

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(primary_key=True)
    address_hash: Mapped[str] = mapped_column(String(64), unique=True)
    reason: Mapped[SuppressionReason] = mapped_column(str_enum(SuppressionReason))
    source: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
