"""The press list's emails: the embargoed release, and the short notices when it changes.

The embargo time is written in each journalist's zone and language ("Thursday 3 December
2026, 04:00 (New York time)"). Rendered once per (message, language, zone) and cached for
the run (invariant `once-per-variant`); each journalist's copy only differs by its To header.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

from babel.dates import format_date, format_time

from newsletter.config import Settings
from newsletter.content.events import when_label, zone_label, zone_or
from newsletter.content.models import Post
from newsletter.content.views import post_view
from newsletter.press.models import Journalist, PressBriefing
from newsletter.rendering.branding import look_for
from newsletter.rendering.headers import (
    build_message,
    format_address,
    make_message_id,
    message_bytes,
)
from newsletter.rendering.system_emails import RenderedEmail, render_system_email

TEMPLATE = "press_briefing"


def embargo_labels(instant: dt.datetime, language: str, zone_name: str) -> tuple[str, str]:
    """(long, short) wordings of the embargo instant in a zone: the banner and the subject."""
    zone = zone_or(zone_name, "UTC")
    local = instant.astimezone(zone)
    time = format_time(local, "HH:mm", locale=language)
    long = when_label(format_date(local.date(), "full", locale=language), time, zone, language)
    short = f"{format_date(local.date(), 'd MMM', locale=language)} {time} {zone_label(zone)}"
    return long, short


@dataclass
class PressMessageBuilder:
    settings: Settings
    _cache: dict[tuple[object, ...], RenderedEmail] = field(default_factory=dict)

    def rendered(
        self, kind: str, post: Post, briefing: PressBriefing, language: str, zone: str
    ) -> RenderedEmail:
        key = (kind, post.id, briefing.sequence, briefing.embargo_until, language, zone)
        if key not in self._cache:
            settings = self.settings
            view = post_view(post, language, settings.default_language, zone, settings=settings)
            # The archive link would answer 404 until the embargo passes: leave it out.
            view = dataclasses.replace(view, url="")
            long, short = embargo_labels(briefing.embargo_until, language, zone)
            context = {
                "kind": kind,
                "org_name": settings.org_name,
                "title": view.title,
                "post": view,
                "embargo_label": long,
                "embargo_short": short,
            }
            self._cache[key] = render_system_email(
                settings.templates_dir, TEMPLATE, language, context, look_for(settings)
            )
        return self._cache[key]

    def build(
        self, journalist: Journalist, kind: str, post: Post, briefing: PressBriefing
    ) -> bytes:
        settings = self.settings
        language = (
            journalist.language
            if journalist.language in settings.languages
            else (settings.default_language)
        )
        zone = str(zone_or(journalist.timezone, settings.org_timezone).key)
        rendered = self.rendered(kind, post, briefing, language, zone)
        message = build_message(
            sender=format_address(settings.from_name, settings.from_address),
            recipient=journalist.email,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            message_id=make_message_id(settings.from_address.rpartition("@")[2]),
            reply_to=settings.reply_to,
            extra_headers={
                "Auto-Submitted": "auto-generated",
                "Sensitivity": "Company-Confidential",
            },
        )
        return message_bytes(message)
