"""Posts and their translations.

One Post groups every language version of a text; each PostTranslation holds the Markdown
staff wrote and the sanitised HTML rendered from it. Times are UTC; an event also keeps
the time zone it was announced in, so "16:00 London" stays 16:00 London across DST.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from newsletter.db import Base, utcnow
from newsletter.enums import str_enum
from newsletter.subscribers.models import new_public_id


class PostKind(StrEnum):
    PRESS_RELEASE = "press_release"
    STATEMENT = "statement"
    REPORT = "report"
    EVENT = "event"
    NEWS = "news"


class Post(Base):
    __tablename__ = "posts"
    __table_args__ = (Index("ix_posts_published_at", "published_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    kind: Mapped[PostKind] = mapped_column(str_enum(PostKind))
    published_at: Mapped[dt.datetime | None]
    embargo_until: Mapped[dt.datetime | None]
    contacts: Mapped[str] = mapped_column(Text, default="")
    event_start: Mapped[dt.datetime | None]
    event_timezone: Mapped[str | None] = mapped_column(String(64))
    event_duration_minutes: Mapped[int | None] = mapped_column(Integer)
    event_location: Mapped[str | None] = mapped_column(String(300))
    event_online_url: Mapped[str | None] = mapped_column(String(1000))
    registration_url: Mapped[str | None] = mapped_column(String(1000))
    source_url: Mapped[str | None] = mapped_column(String(1000))
    source_guid: Mapped[str | None] = mapped_column(String(1000), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    alert_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    # Loaded with the post (selectin): a campaign's posts are read by workers after the
    # session that loaded them is gone, so nothing about a post may be lazy.
    translations: Mapped[list[PostTranslation]] = relationship(
        back_populates="post", cascade="all, delete-orphan", lazy="selectin"
    )
    downloads: Mapped[list[PostDownload]] = relationship(
        back_populates="post",
        cascade="all, delete-orphan",
        order_by="PostDownload.position",
        lazy="selectin",
    )


class PostTranslation(Base):
    __tablename__ = "post_translations"
    __table_args__ = (UniqueConstraint("post_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(500))
    summary: Mapped[str] = mapped_column(Text, default="")
    body_markdown: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    # The event's place as written for this language's readers ("Salle 3" / "Room 3");
    # None falls back to the post's own place (content/views.py).
    event_location: Mapped[str | None] = mapped_column(String(300))

    post: Mapped[Post] = relationship(back_populates="translations")


class PostDownload(Base):
    """A link to a download (the full report, a briefing): for every language or for one."""

    __tablename__ = "post_downloads"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    language: Mapped[str | None] = mapped_column(String(8))
    label: Mapped[str] = mapped_column(String(300))
    url: Mapped[str] = mapped_column(String(1000))
    position: Mapped[int] = mapped_column(Integer, default=0)

    post: Mapped[Post] = relationship(back_populates="downloads")


class FeedSource(Base):
    """Polling state of one website feed: conditional-GET validators and failure backoff.

    A broken or slow feed only pushes its own ``next_poll_at`` back; the beat goes on.
    """

    __tablename__ = "feed_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(1000), unique=True)
    etag: Mapped[str | None] = mapped_column(String(300))
    modified: Mapped[str | None] = mapped_column(String(100))
    last_polled_at: Mapped[dt.datetime | None]
    last_success_at: Mapped[dt.datetime | None]
    next_poll_at: Mapped[dt.datetime | None]
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(500), default="")
