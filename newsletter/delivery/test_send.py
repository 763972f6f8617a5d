"""``newsletter send-test``: one real message through the configured transport.

Lets an operator prove the SMTP relay (or outbox) works before the first campaign.
"""

from __future__ import annotations

from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.delivery.outcomes import SendResult
from newsletter.delivery.system_mail import send_system_mail
from newsletter.rendering.branding import look_for
from newsletter.rendering.headers import (
    build_message,
    format_address,
    make_message_id,
    message_bytes,
)
from newsletter.rendering.system_emails import render_system_email
from newsletter.subscribers.addresses import normalise_address


def send_test_message(settings: Settings, address: str, language: str | None = None) -> SendResult:
    recipient = normalise_address(address)
    language = language if language in settings.languages else settings.default_language
    rendered = render_system_email(
        settings.templates_dir,
        "test",
        language,
        {
            "org_name": settings.org_name,
            "transport": settings.mail_transport,
            "sent_at": utcnow().strftime("%Y-%m-%d %H:%M"),
        },
        look_for(settings),
    )
    message = build_message(
        sender=format_address(settings.from_name, settings.from_address),
        recipient=recipient,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        message_id=make_message_id(settings.from_address.rpartition("@")[2]),
        reply_to=settings.reply_to,
    )
    return send_system_mail(settings, "test", recipient, message_bytes(message))
