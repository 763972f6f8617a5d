"""The press list (journalists), a release's structured press contacts, briefings and the
per-journalist messages they send.

The press list is not a mailing list: it is never offered on a public form, its mail is not
a campaign and so never reaches the archive, and each journalist's row carries what a
briefing needs (outlet, beat, language, time zone for the embargo time). Messages are keyed
per journalist and briefing (``brief:0``, ``moved:1``, ``lifted:2``, ``withdrawn:3``) and
claimed before sending, so each leaves once (the same rule as event registrants' mail).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from newsletter.content.models import Post
from newsletter.db import Base, utcnow
from newsletter.enums import str_enum
from newsletter.registrations.models import MessageStatus
from newsletter.subscribers.models import new_public_id


class Journalist(Base):
    __tablename__ = "journalists"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    outlet: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    beat: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PressContact(Base):
    """One "More information" contact of a release: name, role per language, phone, email."""

    __tablename__ = "press_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    roles: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # language -> role
    phone: Mapped[str] = mapped_column(String(60), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    spoken_languages: Mapped[str] = mapped_column(String(100), default="")

    # ``post.press_contacts``, loaded with the post: alerts render posts after their session.
    post: Mapped[Post] = relationship(
        backref=backref(
            "press_contacts",
            lazy="selectin",
            order_by="PressContact.position",
            cascade="all, delete-orphan",
        )
    )


class BriefingStatus(StrEnum):
    EMBARGOED = "embargoed"
    LIFTED = "lifted"  # released early
    RELEASED = "released"  # the embargo time passed
    WITHDRAWN = "withdrawn"


class PressBriefing(Base):
    """The embargo of one release as the press was told it; ``sequence`` counts changes."""

    __tablename__ = "press_briefings"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), unique=True)
    embargo_until: Mapped[dt.datetime]
    status: Mapped[BriefingStatus] = mapped_column(str_enum(BriefingStatus))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    briefed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    briefed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PressMessage(Base):
    __tablename__ = "press_messages"
    __table_args__ = (
        UniqueConstraint("briefing_id", "journalist_id", "key"),
        Index("ix_press_messages_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    briefing_id: Mapped[int] = mapped_column(ForeignKey("press_briefings.id", ondelete="CASCADE"))
    journalist_id: Mapped[int] = mapped_column(ForeignKey("journalists.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(40))
    status: Mapped[MessageStatus] = mapped_column(
        str_enum(MessageStatus), default=MessageStatus.QUEUED
    )
    due_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    last_reply: Mapped[str] = mapped_column(String(300), default="")

    journalist: Mapped[Journalist] = relationship(lazy="joined")
    briefing: Mapped[PressBriefing] = relationship(lazy="joined")
