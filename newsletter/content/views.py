"""Post views: what an email template may read about a post, in one language.

Templates never see ORM objects (a sandboxed template must not lazy-load the database); they get
these frozen views, built once per campaign variant. The sending engine wrote this minimal
version; the content issue extends it (links, ics attachments, ...).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from markupsafe import Markup

from newsletter.content.models import Post, PostKind, PostTranslation


@dataclass(frozen=True)
class PostView:
    """One post in one language; ``body_html`` is the sanitised HTML stored with the post."""

    public_id: str
    kind: str
    language: str
    title: str
    summary: str
    body_html: Markup
    published_at: dt.datetime | None
    source_url: str | None
    registration_url: str | None
    is_event: bool
    event_start_local: dt.datetime | None
    event_timezone: str | None
    event_location: str | None


def _translation(post: Post, language: str, fallback: str) -> PostTranslation | None:
    by_language = {t.language: t for t in post.translations}
    return (
        by_language.get(language)
        or by_language.get(fallback)
        or next(iter(by_language.values()), None)
    )


def post_view(post: Post, language: str, fallback: str, timezone: str | None = None) -> PostView:
    """The view of ``post`` in ``language`` (else ``fallback``); event times in ``timezone``.

    ``timezone`` is the reader's zone when known, else the event's own zone.
    """
    translation = _translation(post, language, fallback)
    start_local = None
    shown_zone = timezone or post.event_timezone or "UTC"
    if post.event_start is not None:
        start_local = post.event_start.astimezone(ZoneInfo(shown_zone))
    return PostView(
        public_id=post.public_id,
        kind=str(post.kind),
        language=translation.language if translation else language,
        title=translation.title if translation else "",
        summary=translation.summary if translation else "",
        body_html=Markup(translation.body_html if translation else ""),  # noqa: S704 - sanitised
        published_at=post.published_at,
        source_url=post.source_url,
        registration_url=post.registration_url,
        is_event=post.kind == PostKind.EVENT,
        event_start_local=start_local,
        event_timezone=shown_zone if post.event_start is not None else None,
        event_location=post.event_location,
    )


def has_event(posts: list[Post]) -> bool:
    """True when a campaign must be rendered per reader time zone (it shows an event time)."""
    return any(post.event_start is not None for post in posts)
