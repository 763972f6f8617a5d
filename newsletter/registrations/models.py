"""Event registrations: who registered, the event's registration settings, and what each
registrant must receive (confirmation, reminders, updates, follow-up).

Why a message table with a unique key per registrant: a reminder must leave once, whether
one beat or two find it due and whatever task is retried. ``(registration_id, key)`` is
unique, so the row is created once; the row is claimed by one conditional UPDATE before it is
sent, so it is sent once (a crash mid-send can repeat only the message in flight, as
invariant `claim-and-record` allows for campaigns).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from newsletter.content.models import Post
from newsletter.db import Base, utcnow
from newsletter.enums import str_enum
from newsletter.subscribers.models import new_public_id

DEFAULT_REMINDER_OFFSETS = "1440,60"  # minutes before the start: 24 h and 1 h


class RegistrationStatus(StrEnum):
    REGISTERED = "registered"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class MessageStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class EventSetup(Base):
    """Registration settings of one event post; the calendar SEQUENCE lives here too."""

    __tablename__ = "event_setups"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), unique=True)
    registration_enabled: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    capacity: Mapped[int | None] = mapped_column(Integer)
    closed_at: Mapped[dt.datetime | None]
    reminder_offsets: Mapped[str] = mapped_column(String(100), default=DEFAULT_REMINDER_OFFSETS)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    cancelled_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    # ``post.event_setup`` is loaded with the post (selectin): alerts and pages render posts
    # after their session is gone, and must know whether the joining link is registrants' only.
    post: Mapped[Post] = relationship(
        backref=backref("event_setup", uselist=False, lazy="selectin", cascade="all, delete-orphan")
    )

    @property
    def is_open(self) -> bool:
        return self.registration_enabled and self.closed_at is None and self.cancelled_at is None


class Registration(Base):
    __tablename__ = "event_registrations"
    __table_args__ = (
        UniqueConstraint("post_id", "email"),
        Index("ix_event_registrations_post_id_status", "post_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[RegistrationStatus] = mapped_column(str_enum(RegistrationStatus))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status_changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class EventNotice(Base):
    """A message staff sent to an event's registrants (update, cancellation, follow-up)."""

    __tablename__ = "event_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RegistrationMessage(Base):
    """One email one registrant must receive; ``key`` names it (``reminder:60:<start>``)."""

    __tablename__ = "event_messages"
    __table_args__ = (
        UniqueConstraint("registration_id", "key"),
        Index("ix_event_messages_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("event_registrations.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(80))
    notice_id: Mapped[int | None] = mapped_column(
        ForeignKey("event_notices.id", ondelete="CASCADE")
    )
    status: Mapped[MessageStatus] = mapped_column(
        str_enum(MessageStatus), default=MessageStatus.QUEUED
    )
    due_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    last_reply: Mapped[str] = mapped_column(String(300), default="")

    registration: Mapped[Registration] = relationship(lazy="joined")
