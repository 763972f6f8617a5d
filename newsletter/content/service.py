"""Posts: create, translate, publish, and the one rule deciding what the public may see.

Why one visibility rule: the archive, its feed, alerts and digests must agree that a post
is public only once it is published *and* its embargo has passed. A press release under
embargo that leaked into the archive or a digest early would break the coalition's word to
journalists, so every reader of posts goes through :func:`public_filter`/:func:`is_public`.

Publishing never sends mail itself: the caller asks :mod:`newsletter.content.alerts` for the
alert campaigns that became due and starts them after commit (invariant `commit-then-enqueue`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from newsletter.content.models import Post, PostDownload, PostKind, PostTranslation
from newsletter.db import utcnow
from newsletter.i18n import gettext as _
from newsletter.rendering.markdown import render_markdown

log = logging.getLogger(__name__)


class PostError(ValueError):
    """A post cannot be saved as given; ``str()`` is translated, for the staff member."""


@dataclass(frozen=True)
class TranslationInput:
    language: str
    title: str
    summary: str = ""
    body_markdown: str = ""
    #: The event's place in this language; None leaves it as it is, "" clears it.
    event_location: str | None = None


@dataclass(frozen=True)
class EventInput:
    """An event's start is given in its own zone (``start`` may be naive: local to ``timezone``)."""

    start: dt.datetime
    timezone: str
    duration_minutes: int | None = None
    location: str | None = None
    online_url: str | None = None
    registration_url: str | None = None


@dataclass(frozen=True)
class DownloadInput:
    label: str
    url: str
    language: str | None = None


def _check_url(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise PostError(_("Links must be complete http:// or https:// addresses: %(url)s", url=url))
    return url.strip()


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder such as "America"
        raise PostError(_("Unknown time zone: %(zone)s", zone=name)) from None


def set_translation(post: Post, text: TranslationInput) -> PostTranslation:
    """Add or replace one language version; its Markdown is rendered and sanitised now."""
    if not text.title.strip():
        raise PostError(_("Every language version needs a title."))
    translation = next((t for t in post.translations if t.language == text.language), None)
    if translation is None:
        translation = PostTranslation(language=text.language)
        post.translations.append(translation)
    translation.title = text.title.strip()
    translation.summary = text.summary.strip()
    translation.body_markdown = text.body_markdown
    translation.body_html = render_markdown(text.body_markdown)
    if text.event_location is not None:
        translation.event_location = text.event_location.strip()[:300] or None
    return translation


def set_event(post: Post, event: EventInput) -> None:
    """Store the start in UTC and keep the announcing zone (16:00 London stays 16:00 London)."""
    zone = _zone(event.timezone)
    start = event.start if event.start.tzinfo else event.start.replace(tzinfo=zone)
    if event.duration_minutes is not None and not 0 < event.duration_minutes <= 7 * 24 * 60:
        raise PostError(_("The duration must be between 1 minute and 7 days."))
    post.event_start = start.astimezone(dt.UTC)
    post.event_timezone = event.timezone
    post.event_duration_minutes = event.duration_minutes
    post.event_location = (event.location or "").strip() or None
    post.event_online_url = _check_url(event.online_url)
    post.registration_url = _check_url(event.registration_url)


def create_post(
    session: Session,
    *,
    kind: PostKind,
    translations: Sequence[TranslationInput],
    languages: Sequence[str],
    contacts: str = "",
    downloads: Sequence[DownloadInput] = (),
    event: EventInput | None = None,
    embargo_until: dt.datetime | None = None,
    alert_enabled: bool = True,
    source_url: str | None = None,
    source_guid: str | None = None,
    created_by_id: int | None = None,
    incomplete_event_ok: bool = False,
) -> Post:
    """A draft post with its language versions (each language at most once).

    ``incomplete_event_ok``: an event from a feed may lack its time; staff add it later.
    """
    if not translations:
        raise PostError(_("A post needs at least one language version."))
    seen = [text.language for text in translations]
    if len(set(seen)) != len(seen) or not set(seen) <= set(languages):
        raise PostError(
            _("Each language may appear once, among: %(langs)s", langs=", ".join(languages))
        )
    if kind == PostKind.EVENT and event is None and not incomplete_event_ok:
        raise PostError(_("An event needs a start time and a time zone."))
    post = Post(
        kind=kind,
        contacts=contacts.strip(),
        embargo_until=_aware(embargo_until),
        alert_enabled=alert_enabled,
        source_url=source_url,
        source_guid=source_guid,
        created_by_id=created_by_id,
    )
    for text in translations:
        set_translation(post, text)
    update_post(post, downloads=downloads, event=event)
    session.add(post)
    session.flush()
    log.info("post %s created (%s, %d language(s))", post.id, kind, len(translations))
    return post


def update_post(
    post: Post,
    *,
    contacts: str | None = None,
    downloads: Sequence[DownloadInput] | None = None,
    event: EventInput | None = None,
    embargo_until: dt.datetime | None = None,
    clear_embargo: bool = False,
    alert_enabled: bool | None = None,
) -> Post:
    """Change what staff may change after creation; ``None`` leaves a field as it is.

    Texts change through :func:`set_translation`. Moving an embargo of a post whose alert
    already went changes nothing that was sent (the alert key is per post).
    """
    if contacts is not None:
        post.contacts = contacts.strip()
    if downloads is not None:
        _set_downloads(post, downloads)
    if event is not None:
        set_event(post, event)
    if clear_embargo:
        post.embargo_until = None
    elif embargo_until is not None:
        post.embargo_until = _aware(embargo_until)
    if alert_enabled is not None:
        post.alert_enabled = alert_enabled
    return post


def _set_downloads(post: Post, downloads: Sequence[DownloadInput]) -> None:
    """Rewrite the downloads in place: rows that stay keep their ids, so saving a form
    unchanged changes nothing in the database."""
    wanted = []
    for download in downloads:
        if not download.label.strip():
            raise PostError(_("Every download needs a label."))
        url = _check_url(download.url)
        if url is None:
            raise PostError(_("Every download needs a link."))
        wanted.append((download.label.strip(), url, download.language))
    kept = list(post.downloads)
    for position, (label, url, language) in enumerate(wanted):
        if position < len(kept):
            row = kept[position]
            row.label, row.url, row.language, row.position = label, url, language, position
        else:
            post.downloads.append(
                PostDownload(label=label, url=url, language=language, position=position)
            )
    for row in kept[len(wanted) :]:
        post.downloads.remove(row)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        raise PostError(_("Times must carry a time zone."))
    return value


def publish_post(
    post: Post,
    *,
    at: dt.datetime | None = None,
    embargo_until: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Post:
    """Publish now (or at ``at``); an embargo keeps it hidden until it passes.

    Publishing an already published post keeps its first date: a second click never makes
    a press release look newer, and alerts are keyed by post so it never mails twice.
    """
    now = now or utcnow()
    if embargo_until is not None:
        post.embargo_until = _aware(embargo_until)
    if post.published_at is None:
        post.published_at = _aware(at) or now
        log.info("post %s published (visible from %s)", post.id, visible_from(post))
    return post


def unpublish_post(post: Post) -> None:
    """Back to draft (a mistake caught in time); alerts already sent stay sent."""
    post.published_at = None
    log.info("post %s unpublished", post.id)


def visible_from(post: Post) -> dt.datetime | None:
    """When the public may first see the post: publication, or the embargo if later."""
    if post.published_at is None:
        return None
    if post.embargo_until is not None and post.embargo_until > post.published_at:
        return post.embargo_until
    return post.published_at


def is_public(post: Post, now: dt.datetime) -> bool:
    start = visible_from(post)
    return start is not None and start <= now


def public_filter(now: dt.datetime) -> ColumnElement[bool]:
    """SQL form of :func:`is_public`: published, not in the future, embargo passed."""
    return and_(
        Post.published_at.is_not(None),
        Post.published_at <= now,
        or_(Post.embargo_until.is_(None), Post.embargo_until <= now),
    )


def public_posts_between(
    session: Session, start: dt.datetime, end: dt.datetime, now: dt.datetime
) -> list[Post]:
    """Public posts that became visible in [start, end), newest first (archive, digest)."""
    query = select(Post).where(
        public_filter(now),
        Post.published_at < end,
        or_(Post.embargo_until.is_(None), Post.embargo_until < end),
        or_(Post.published_at >= start, Post.embargo_until >= start),
    )
    posts = session.scalars(query)
    chosen = [p for p in posts if start <= (visible_from(p) or end) < end]
    return sorted(chosen, key=lambda p: (visible_from(p), p.id), reverse=True)


def get_post(session: Session, public_id: str) -> Post | None:
    return session.scalar(select(Post).where(Post.public_id == public_id))


def translation_for(post: Post, language: str, default_language: str) -> PostTranslation:
    """The reader's language, else the default language, else whichever exists."""
    by_language = {t.language: t for t in post.translations}
    return (
        by_language.get(language)
        or by_language.get(default_language)
        or sorted(post.translations, key=lambda t: t.language)[0]
    )
