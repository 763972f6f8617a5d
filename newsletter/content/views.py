"""Post views: what an email template or an archive page may read about a post, in one language.

Templates never see ORM objects (a sandboxed template must not lazy-load the database); they
get these frozen views, built once per campaign variant (and per reader time zone only for
events). The sending engine wrote the first version; the content issue extends it: the
translation fallback and its note, permalinks, downloads, contacts, event times in the
reader's zone with the city-by-city line, and the ``.ics`` link.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from babel.dates import format_date
from markupsafe import Markup

from newsletter.config import Settings
from newsletter.content.events import EventTimes, event_times, zone_or
from newsletter.content.models import Post, PostKind, PostTranslation
from newsletter.content.service import visible_from
from newsletter.i18n import gettext
from newsletter.rendering.markdown import html_to_text, render_markdown

KIND_ORDER = [
    PostKind.PRESS_RELEASE,
    PostKind.STATEMENT,
    PostKind.REPORT,
    PostKind.EVENT,
    PostKind.NEWS,
]
_KIND_LABELS = {
    PostKind.PRESS_RELEASE: ("Press release", "Press releases"),
    PostKind.STATEMENT: ("Statement", "Statements"),
    PostKind.REPORT: ("Report", "Reports"),
    PostKind.EVENT: ("Event", "Events"),
    PostKind.NEWS: ("News", "News"),
}
LANGUAGE_NAMES = {"en": "English", "fr": "French"}


def kind_label(kind: PostKind | str, language: str, plural: bool = False) -> str:
    """``Press release`` / ``Communiqué de presse`` (``plural`` for digest headings)."""
    singular, many = _KIND_LABELS[PostKind(kind)]
    return gettext(many if plural else singular, language)


@dataclass(frozen=True)
class DownloadView:
    label: str
    url: str


@dataclass(frozen=True)
class ContactView:
    """One press contact of a release, its role in the reader's language."""

    name: str
    organisation: str
    role: str
    phone: str
    email: str
    spoken_languages: str


def contact_views(post: Post, language: str, fallback: str) -> tuple[ContactView, ...]:
    """The release's structured press contacts (``post.press_contacts``, when any)."""
    views = []
    for contact in getattr(post, "press_contacts", None) or ():
        roles = contact.roles or {}
        role = roles.get(language) or roles.get(fallback) or next(iter(roles.values()), "")
        views.append(
            ContactView(
                contact.name,
                contact.organisation,
                role,
                contact.phone,
                contact.email,
                contact.spoken_languages,
            )
        )
    return tuple(views)


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
    # -- added by the content issue --
    kind_label: str = ""
    kind_heading: str = ""
    kind_rank: int = 0
    body_text: str = ""
    url: str = ""
    published_label: str = ""
    is_fallback: bool = False
    fallback_note: str = ""
    contacts_html: Markup = field(default_factory=Markup)
    contacts_text: str = ""
    downloads: tuple[DownloadView, ...] = ()
    event: EventTimes | None = None
    event_online_url: str | None = None
    ics_url: str = ""
    # -- event registrations: the joining link goes to registrants only --
    registration_open: bool = False
    register_url: str = ""
    register_start_url: str = ""  # the alert's form: opens the page with the fields filled in
    press_contacts: tuple[ContactView, ...] = ()


def _translation(post: Post, language: str, fallback: str) -> PostTranslation | None:
    by_language = {t.language: t for t in post.translations}
    return (
        by_language.get(language)
        or by_language.get(fallback)
        or next(iter(sorted(by_language.items())), (None, None))[1]
    )


def post_url(settings: Settings, public_id: str) -> str:
    """The permalink of a post on the public archive."""
    return f"{settings.base_url}/archive/posts/{public_id}"


def post_view(
    post: Post,
    language: str,
    fallback: str,
    timezone: str | None = None,
    *,
    settings: Settings | None = None,
) -> PostView:
    """The view of ``post`` in ``language`` (else ``fallback``, with a note saying so).

    Event times are shown in ``timezone`` (the reader's), else the organisation's zone when
    ``settings`` are given, else the event's own zone.
    """
    translation = _translation(post, language, fallback)
    shown = translation.language if translation else language
    is_fallback = shown != language
    org_zone = settings.org_timezone if settings else (post.event_timezone or "UTC")
    zone: ZoneInfo = zone_or(timezone, org_zone)
    cities = settings.event_city_line if settings else []
    times = event_times(post, language, zone, cities)
    published = visible_from(post)
    body_html = translation.body_html if translation else ""
    contacts_html = render_markdown(post.contacts) if post.contacts else ""
    base = settings.base_url if settings else ""
    setup = getattr(post, "event_setup", None)  # set when registrations are configured
    takes_registrations = bool(setup is not None and setup.registration_enabled)
    return PostView(
        public_id=post.public_id,
        kind=str(post.kind),
        language=shown,
        title=translation.title if translation else "",
        summary=translation.summary if translation else "",
        body_html=Markup(body_html),  # noqa: S704 - sanitised by rendering.markdown
        published_at=published,
        source_url=post.source_url,
        registration_url=post.registration_url,
        is_event=post.kind == PostKind.EVENT,
        event_start_local=post.event_start.astimezone(zone) if post.event_start else None,
        event_timezone=str(zone.key) if post.event_start else None,
        event_location=(translation.event_location if translation else None) or post.event_location,
        kind_label=kind_label(post.kind, language),
        kind_heading=kind_label(post.kind, language, plural=True),
        kind_rank=KIND_ORDER.index(PostKind(post.kind)),
        body_text=html_to_text(body_html),
        url=f"{base}/archive/posts/{post.public_id}" if base else (post.source_url or ""),
        published_label=format_date(published, "long", locale=language) if published else "",
        is_fallback=is_fallback,
        fallback_note=gettext(
            "This text is not yet available in your language; here it is in %(other)s.",
            language,
            other=gettext(LANGUAGE_NAMES.get(shown, shown), language),
        )
        if is_fallback
        else "",
        contacts_html=Markup(contacts_html),  # noqa: S704 - sanitised by rendering.markdown
        contacts_text=html_to_text(contacts_html),
        downloads=tuple(
            DownloadView(d.label, d.url) for d in post.downloads if d.language in (None, shown)
        ),
        event=times,
        event_online_url=None if takes_registrations else post.event_online_url,
        ics_url=f"{base}/archive/posts/{post.public_id}.ics" if base and times else "",
        registration_open=bool(takes_registrations and setup is not None and setup.is_open),
        register_url=f"{base}/archive/posts/{post.public_id}#register" if base else "",
        register_start_url=f"{base}/events/{post.public_id}/register/start" if base else "",
        press_contacts=contact_views(post, language, fallback),
    )


def has_event(posts: list[Post]) -> bool:
    """True when a campaign must be rendered per reader time zone (it shows an event time)."""
    return any(post.event_start is not None for post in posts)
