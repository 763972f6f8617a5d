"""The journey's emails: confirm, welcome, already-subscribed; rendered once, sent after commit.

Invariant `once-per-variant` for system mail: each kind is rendered (Jinja, gettext, premailer) once
per language with placeholder markers and cached; a message only substitutes its own values
(greeting, links) into the cached text and HTML, escaped for HTML. Templates live in
``templates/email/<kind>/`` and extend ``templates/email/_base/``.

A subscriber who chose the discreet edition (known from the sign-up form's box, or set by
staff) gets these in it too (`newsletter.rendering.editions`): the neutral name where the
organisation's would be, plain text only, links at the alternative address.

Delivery choice: sent directly through the configured mailer (SMTP or outbox) right after
the commit, bounded by ``SMTP_TIMEOUT``, so the person usually has the email before the
page has loaded. When the relay does not accept it (down, slow, 4xx), the send is handed to
the Celery task ``newsletter.send_journey_email``, which retries with backoff: the email is
late, never silently lost. Only a permanent 5xx refusal ends it (logged with the id).
"""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.delivery.outcomes import Outcome, SendResult
from newsletter.delivery.system_mail import send_system_mail
from newsletter.i18n import gettext, using_language
from newsletter.links import UnsubscribeScope, preferences_url, unsubscribe_url
from newsletter.rendering import editions
from newsletter.rendering.branding import MailLook, look_for
from newsletter.rendering.headers import (
    build_message,
    format_address,
    make_message_id,
    message_bytes,
)
from newsletter.rendering.list_headers import list_unsubscribe_headers
from newsletter.rendering.system_emails import RenderedEmail, render_system_email
from newsletter.subscribers.models import Subscriber, SubscriberStatus
from newsletter.subscribers.service import EmailKind, confirm_url

log = logging.getLogger(__name__)

#: Per-message values; the cached render holds these markers in their place.
PLACEHOLDERS = ("GREETING", "CONFIRM_URL", "PREFERENCES_URL", "UNSUBSCRIBE_URL")


def _marker(name: str) -> str:
    return f"NLPH{name}NLPH"


@functools.lru_cache(maxsize=64)
def cached_render(
    templates_dir: Path,
    kind: str,
    language: str,
    org_name: str,
    confirm_hours: int,
    look: MailLook | None = None,
) -> RenderedEmail:
    """Subject, text and premailer-inlined HTML of one kind in one language, with markers.

    ``look`` (the organisation's branding) is part of the cache key: a new save renders anew.
    """
    context: dict[str, object] = {name.lower(): _marker(name) for name in PLACEHOLDERS}
    context |= {"org_name": org_name, "confirm_hours": confirm_hours}
    return render_system_email(templates_dir, kind, language, context, look)


def _greeting(name: str, language: str) -> str:
    with using_language(language):
        return gettext("Hello %(name)s,", name=name) if name else gettext("Hello,")


def personalise(rendered: RenderedEmail, values: dict[str, str]) -> RenderedEmail:
    """Substitute the markers: raw in subject and text, HTML-escaped in the HTML."""
    subject, text, body = rendered.subject, rendered.text, rendered.html
    for name, value in values.items():
        marker = _marker(name)
        subject = subject.replace(marker, value)
        text = text.replace(marker, value)
        body = body.replace(marker, html.escape(value, quote=True))
    return RenderedEmail(subject=subject, text=text, html=body)


@dataclass(frozen=True)
class JourneyEmail:
    recipient: str
    message: bytes


def build_journey_email(
    settings: Settings, subscriber: Subscriber, kind: EmailKind
) -> JourneyEmail:
    """The full message for ``kind``; welcome and already-subscribed carry List-Unsubscribe."""
    language = (
        subscriber.language
        if subscriber.language in settings.languages
        else (settings.default_language)
    )
    discreet = bool(subscriber.discreet)
    name = editions.neutral_from_name(settings, language) if discreet else settings.org_name
    look = None if discreet else look_for(settings)
    rendered = cached_render(
        settings.templates_dir, kind, language, name, settings.confirm_link_hours, look
    )
    linked = editions.link_settings(settings) if discreet else settings
    scope = UnsubscribeScope(subscriber.public_id)
    values = {
        "GREETING": _greeting(subscriber.name, language),
        "PREFERENCES_URL": preferences_url(linked, subscriber.public_id),
        "UNSUBSCRIBE_URL": unsubscribe_url(linked, scope),
        "CONFIRM_URL": confirm_url(linked, subscriber) if kind == "confirm" else "",
    }
    final = personalise(rendered, values)
    # A confirmation goes to someone who has not joined yet: nothing to unsubscribe from.
    extra = {} if kind == "confirm" else list_unsubscribe_headers(linked, scope)
    extra["Auto-Submitted"] = "auto-generated"
    address = editions.from_address(settings, editions.Edition(discreet=discreet))
    message = build_message(
        sender=format_address(name if discreet else settings.from_name, address),
        recipient=subscriber.email,
        subject=final.subject,
        text=editions.keep_own_links(settings, final.text, language) if discreet else final.text,
        html=None if discreet else final.html,
        message_id=make_message_id(address.rpartition("@")[2]),
        reply_to=None if discreet else settings.reply_to,
        extra_headers=extra,
    )
    return JourneyEmail(subscriber.email, message_bytes(message))


def _still_wanted(subscriber: Subscriber | None, kind: EmailKind) -> bool:
    """A retry must not mail someone who has since left, been suppressed or erased."""
    if subscriber is None:
        return False
    if kind == "confirm":
        return subscriber.status == SubscriberStatus.PENDING
    return subscriber.status == SubscriberStatus.ACTIVE


def send_journey_email(
    settings: Settings, session: Session, kind: EmailKind, subscriber_id: int
) -> SendResult | None:
    """Send one journey email now; None when it is no longer wanted."""
    subscriber = session.get(Subscriber, subscriber_id)
    if not _still_wanted(subscriber, kind):
        log.info("journey email %s for subscriber %s no longer wanted", kind, subscriber_id)
        return None
    assert subscriber is not None
    email = build_journey_email(settings, subscriber, kind)
    result = send_system_mail(settings, kind, email.recipient, email.message)
    log.info(
        "journey email %s for subscriber %s: %s %s",
        kind,
        subscriber_id,
        result.outcome,
        result.code,
    )
    return result


def send_or_hand_over(
    settings: Settings,
    session: Session,
    kind: EmailKind,
    subscriber_id: int,
    enqueue: Callable[[str, int], object],
) -> SendResult | None:
    """Send now; when the relay defers, hand the email to the retrying Celery task."""
    try:
        result = send_journey_email(settings, session, kind, subscriber_id)
    except Exception:  # a rendering or network bug must not lose the email either
        log.exception("journey email %s for subscriber %s failed; queued", kind, subscriber_id)
        enqueue(kind, subscriber_id)
        return None
    if result is not None and result.outcome is Outcome.DEFERRED:
        enqueue(kind, subscriber_id)
    return result
