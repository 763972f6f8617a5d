"""Headers that carry a message's delivery tag to the sending provider's webhooks.

Why: a sending provider (Postmark, SendGrid, Mailgun; Amazon SES with event publishing) replaces
our VERP return path with its own, so the bounces and complaints its webhook reports cannot name
the delivery through it, only the recipient's address. Each provider echoes back metadata given
in a header of its own; the value we give is the delivery tag (`links.delivery_tag`): the VERP
token itself, signed and opaque (a delivery id, never an address). The provider parsers read it
back (`newsletter.bounces.providers.delivery_from`) under the key ``verp``.

A provider's header is added only when that provider's webhook is configured (its credentials
are set); ``X-Newsletter-Delivery`` always (SES can include a message's original headers in its
notifications; any relay may keep it). Providers remove their own control headers before
delivery. Built once per variant as byte templates: per message only the tag is spliced in.
"""

from __future__ import annotations

from newsletter.config import Settings

METADATA_KEY = "verp"
GENERIC_HEADER = "X-Newsletter-Delivery"


def header_templates(settings: Settings) -> tuple[tuple[bytes, bytes], ...]:
    """``(before, after)`` pairs: ``before + tag + after`` is one CRLF-terminated header line."""
    key = METADATA_KEY
    templates = [(f"{GENERIC_HEADER}: ", "")]
    if settings.postmark_webhook_username:  # Postmark: Metadata.verp in its webhooks
        templates.append((f"X-PM-Metadata-{key}: ", ""))
    if settings.sendgrid_webhook_public_key:  # SendGrid: unique args come back in each event
        templates.append((f'X-SMTPAPI: {{"unique_args": {{"{key}": "', '"}}'))
    if settings.mailgun_webhook_signing_key:  # Mailgun: event-data.user-variables
        templates.append((f'X-Mailgun-Variables: {{"{key}": "', '"}'))
    if settings.ses_sns_topic_arns:  # SES event publishing: mail.tags
        templates.append((f"X-SES-MESSAGE-TAGS: {key}=", ""))
    return tuple(
        (before.encode("ascii"), (after + "\r\n").encode("ascii")) for before, after in templates
    )
