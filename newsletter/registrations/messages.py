"""The emails a registrant receives, built from one queued :class:`RegistrationMessage`.

Invariant `once-per-variant` for event mail: the text is the same for every registrant sharing a
language and a time zone, so :class:`MessageBuilder` renders (Jinja, gettext, premailer) once per
``(message key, language, zone)`` and each message only substitutes its greeting and its
own cancel link. The ``.ics`` differs per person only by the ATTENDEE line, built cheaply.

A registrant whose address is a subscriber in the discreet edition gets these in it too
(`newsletter.rendering.editions`): neutral sender and subject, plain text, links at the
alternative address; the joining link is then their registration page there (which shows it),
so the message carries no URL of another site.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from markupsafe import Markup

from newsletter.config import Settings
from newsletter.content.events import event_times, registrant_calendar, zone_or
from newsletter.content.models import Post
from newsletter.content.service import translation_for
from newsletter.content.views import post_url
from newsletter.i18n import gettext, ngettext, using_language
from newsletter.registrations.links import manage_url
from newsletter.registrations.models import EventNotice, EventSetup, Registration
from newsletter.registrations.reminders import parse_reminder_key
from newsletter.rendering import editions
from newsletter.rendering.branding import look_for
from newsletter.rendering.editions import FULL, Edition
from newsletter.rendering.headers import (
    build_message,
    format_address,
    make_message_id,
    message_bytes,
)
from newsletter.rendering.markdown import render_markdown
from newsletter.rendering.system_emails import RenderedEmail, render_system_email
from newsletter.subscribers.notifications import personalise

TEMPLATE = "event_registration"
WITH_CALENDAR = {"confirm", "promoted", "update", "cancel"}
WITH_JOINING_LINK = {"confirm", "promoted", "reminder", "update"}


def message_kind(key: str) -> str:
    """``reminder:60:1765...`` -> ``reminder``; ``confirm:1`` -> ``confirm``."""
    return key.partition(":")[0]


def starts_in(minutes: int, language: str) -> str:
    """``in 24 hours`` / ``dans 1 heure``: how far the start is, as the reminder says it."""
    if minutes % 1440 == 0 and minutes >= 2880:
        days = minutes // 1440
        return ngettext("in %(num)d day", "in %(num)d days", days, language)
    if minutes % 60 == 0:
        return ngettext("in %(num)d hour", "in %(num)d hours", minutes // 60, language)
    return ngettext("in %(num)d minute", "in %(num)d minutes", minutes, language)


@dataclass
class MessageBuilder:
    """Builds the messages of one delivery run; renders are cached per variant."""

    settings: Settings
    _cache: dict[tuple[object, ...], RenderedEmail] = field(default_factory=dict)

    def language_of(self, registration: Registration) -> str:
        languages = self.settings.languages
        return registration.language if registration.language in languages else languages[0]

    def rendered(
        self,
        key: str,
        post: Post,
        notice: EventNotice | None,
        language: str,
        zone_name: str,
        edition: Edition = FULL,
    ) -> RenderedEmail:
        cache_key = (
            key,
            post.id,
            post.event_start,
            notice.id if notice else None,
            language,
            zone_name,
            edition.discreet,
        )
        if cache_key not in self._cache:
            self._cache[cache_key] = self._render(key, post, notice, language, zone_name, edition)
        return self._cache[cache_key]

    def _render(
        self,
        key: str,
        post: Post,
        notice: EventNotice | None,
        language: str,
        zone_name: str,
        edition: Edition,
    ) -> RenderedEmail:
        discreet = edition.discreet
        settings = editions.link_settings(self.settings) if discreet else self.settings
        kind = message_kind(key)
        text = translation_for(post, language, settings.default_language)
        zone = zone_or(zone_name, settings.org_timezone)
        times = event_times(post, language, zone, settings.event_city_line)
        parsed = parse_reminder_key(key)
        notice_text = notice.text if notice else ""
        online_url = (post.event_online_url or "") if kind in WITH_JOINING_LINK else ""
        if discreet and online_url:
            online_url = "NLPHMANAGE_URLNLPH"  # the registrant's page shows the joining link
        context = {
            "kind": kind,
            "org_name": editions.neutral_from_name(settings, language)
            if discreet
            else settings.org_name,
            "title": text.title,
            "when_label": times.when_label if times else "",
            "city_line": times.city_line if times else "",
            "location": text.event_location or post.event_location or "",
            "online_url": online_url,
            "starts_in": starts_in(parsed[0], language) if parsed else "",
            "notice_text": notice_text,
            "notice_html": Markup(render_markdown(notice_text)) if notice_text else "",  # noqa: S704 - sanitised
            "event_url": f"{post_url(settings, post.public_id)}?lang={language}",
            "greeting": "NLPHGREETINGNLPH",
            "manage_url": "NLPHMANAGE_URLNLPH",
        }
        look = None if discreet else look_for(self.settings)
        rendered = render_system_email(settings.templates_dir, TEMPLATE, language, context, look)
        if not discreet:
            return rendered
        return RenderedEmail(
            subject=editions.neutral_subject(settings, language),
            text=editions.keep_own_links(self.settings, rendered.text, language),
            html="",
        )

    def build(
        self,
        registration: Registration,
        key: str,
        post: Post,
        setup: EventSetup,
        notice: EventNotice | None,
        now: dt.datetime,
        edition: Edition = FULL,
    ) -> bytes:
        """The complete message (text, HTML and, for changes of the event, the ``.ics``)."""
        discreet = edition.discreet
        settings = editions.link_settings(self.settings) if discreet else self.settings
        language = self.language_of(registration)
        zone_name = str(zone_or(registration.timezone, settings.org_timezone).key)
        rendered = self.rendered(key, post, notice, language, zone_name, edition)
        with using_language(language):
            greeting = (
                gettext("Hello %(name)s,", name=registration.name)
                if registration.name
                else gettext("Hello,")
            )
        final = personalise(
            rendered,
            {"GREETING": greeting, "MANAGE_URL": manage_url(settings, registration.public_id)},
        )
        address = editions.from_address(settings, edition)
        sender_name = (
            editions.neutral_from_name(settings, language) if discreet else settings.from_name
        )
        message = build_message(
            sender=format_address(sender_name, address),
            recipient=registration.email,
            subject=final.subject,
            text=final.text,
            html=None if discreet else final.html,
            message_id=make_message_id(address.rpartition("@")[2]),
            reply_to=None if discreet else settings.reply_to,
            extra_headers={"Auto-Submitted": "auto-generated"},
        )
        kind = message_kind(key)
        if kind in WITH_CALENDAR and post.event_start is not None:
            text = translation_for(post, language, settings.default_language)
            cancelled = kind == "cancel"
            ics = registrant_calendar(
                post,
                text.title,
                text.summary,
                post_url(settings, post.public_id),
                sequence=setup.sequence,
                organizer=(sender_name, address),
                attendee=registration.email,
                cancelled=cancelled,
                stamp=now,
                online_url=None if discreet else post.event_online_url,
            )
            message.add_attachment(
                ics,
                maintype="text",
                subtype="calendar",
                filename="event.ics",
                params={"method": "CANCEL" if cancelled else "REQUEST", "charset": "utf-8"},
            )
        return message_bytes(message)
