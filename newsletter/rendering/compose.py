"""Compose a campaign once per variant, personalise it per recipient by cheap substitution.

Invariant `once-per-variant`: template render, premailer and the text alternative happen once per
language variant (and per reader time zone only when the campaign shows an event time). The result
is a `ComposedVariant`: the constant headers already folded and encoded, and each body part split
into byte segments around per-recipient placeholders. `personalise` then only joins bytes,
quoted-printable-encodes them (C code in ``binascii``) and adds the per-recipient headers (see
`newsletter.rendering.mime`). No ``EmailMessage`` is built per recipient.

Template context (documented for template authors, docs/staff.md "Writing campaign templates"):
``org`` (name in the variant's language, base_url), ``brand`` (name, primary and link
colours, address_lines, logo: a data URI; see `newsletter.rendering.branding`),
``language``, ``campaign`` (name, public_id, kind), ``variant``
(subject, preheader, body_html: sanitised HTML, body_text), ``posts`` (list of
`newsletter.content.views.PostView`), ``recipient`` (name, greeting, unsubscribe_url,
preferences_url: placeholders filled per recipient; print them as they are, do not test or
filter them).

The discreet and low-bandwidth editions (`newsletter.rendering.editions`) are plain text
from the shipped ``templates/email/_edition/body.txt``, never a staff template: a staff
template could name the organisation or load an image, which those readers must not get.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from email import message_from_bytes, policy
from typing import Any

from jinja2 import TemplateError, TemplateNotFound
from markupsafe import Markup
from sqlalchemy.orm import object_session

from newsletter.campaigns.models import Campaign, CampaignVariant
from newsletter.config import Settings
from newsletter.content.views import has_event, post_view
from newsletter.delivery.system_mail import configured_signer
from newsletter.i18n import using_language
from newsletter.rendering import editions
from newsletter.rendering.branding import MailLook, default_look, look_from_session
from newsletter.rendering.editions import FULL, Edition
from newsletter.rendering.environment import system_environment
from newsletter.rendering.headers import one_line
from newsletter.rendering.markdown import markdown_to_safe_html
from newsletter.rendering.mime import (
    PLACEHOLDERS,
    ComposedVariant,
    Recipient,
    build_variant,
    personalise,
)
from newsletter.rendering.sandbox import RenderLimitExceeded, render_bounded, staff_environment
from newsletter.rendering.sanitiser import clean_mail_document
from newsletter.rendering.system_emails import inline_css
from newsletter.rendering.template_source import TemplateSource, template_source

__all__ = [
    "ComposeError",
    "ComposedVariant",
    "Preview",
    "Recipient",
    "TemplateSource",
    "compose_variant",
    "personalise",
    "preview",
    "variant_key",
]


class ComposeError(ValueError):
    """The campaign cannot be composed (missing template, runaway template, ...); for staff."""


def _localised(filename: str, language: str) -> str:
    base, _, ext = filename.rpartition(".")
    return f"{base}.{language}.{ext}"


def pick_variant(campaign: Campaign, language: str, default_language: str) -> CampaignVariant:
    """The campaign's variant in ``language``, else in the default language, else any."""
    by_language = {variant.language: variant for variant in campaign.variants}
    found = by_language.get(language) or by_language.get(default_language)
    if found is None:
        if not by_language:
            raise ComposeError(f"campaign {campaign.id} has no content in any language")
        found = by_language[sorted(by_language)[0]]
    return found


def variant_key(campaign: Campaign, language: str, timezone: str | None) -> tuple[str, str | None]:
    """What one composition is shared by: the language, plus the zone only for event times."""
    posts = [link.post for link in campaign.posts]
    return (language, timezone if has_event(posts) else None)


def _context(
    settings: Settings,
    campaign: Campaign,
    variant: CampaignVariant,
    timezone: str | None,
    sentinels: Mapping[str, str],
    look: MailLook | None = None,
) -> dict[str, Any]:
    """What a template sees; ``look`` None (a discreet copy): the settings' name, no branding."""
    posts = [link.post for link in campaign.posts]
    look = look or default_look(settings)
    name = look.name(variant.language)
    return {
        "org": {"name": name, "base_url": settings.base_url},
        "org_name": name,
        "brand": look.brand(variant.language),
        "language": variant.language,
        "campaign": {"name": campaign.name, "public_id": campaign.public_id, "kind": campaign.kind},
        "variant": {
            "subject": variant.subject,
            "preheader": variant.preheader,
            "body_html": Markup(  # noqa: S704 - sanitised by rendering.sanitiser
                markdown_to_safe_html(
                    variant.body_markdown, allow_remote_images=look.allow_remote_images
                )
            ),
            "body_text": variant.body_markdown,
        },
        "posts": [
            post_view(
                post, variant.language, settings.default_language, timezone, settings=settings
            )
            for post in posts
        ],
        "recipient": dict(sentinels),
    }


def _render(
    settings: Settings, source: TemplateSource, language: str, context: dict[str, Any]
) -> dict:
    environment = staff_environment(settings.templates_dir, overrides=source.overrides)
    template_name = source.name
    parts: dict[str, str] = {}
    for filename in ("subject.txt", "body.txt", "body.html"):
        names = [f"email/{template_name}/{filename}"]
        if not source.version:  # shipped files may have per-language variants
            names.insert(0, f"email/{template_name}/{_localised(filename, language)}")
        try:
            template = environment.select_template(names)
            with using_language(language):
                parts[filename] = render_bounded(template, context)
        except TemplateNotFound:
            raise ComposeError(f"template {template_name!r} has no {filename}") from None
        except RenderLimitExceeded as exc:
            raise ComposeError(f"template {template_name!r}, {filename}: {exc}") from None
        except TemplateError as exc:
            raise ComposeError(f"template {template_name!r}, {filename}: {exc}") from None
    return parts


def campaign_source(campaign: Campaign) -> TemplateSource:
    """The template ``campaign`` is composed from, read through the session it belongs to.

    A campaign outside any session (a sample, a what-if preview) uses the shipped files.
    """
    return template_source(object_session(campaign), campaign.template_name)


def compose_variant(
    settings: Settings,
    campaign: Campaign,
    language: str,
    timezone: str | None = None,
    source: TemplateSource | None = None,
    edition: Edition = FULL,
) -> ComposedVariant:
    """Render, inline and encode one variant; the expensive step, done once per variant.

    ``source``: the template to use (default: the campaign's, see `campaign_source`).
    """
    source = source or campaign_source(campaign)
    if edition.plain:
        return _compose_plain(settings, campaign, language, timezone, source, edition)
    variant = pick_variant(campaign, language, settings.default_language)
    nonce = secrets.token_hex(6)
    sentinels = {key: f"NLP{nonce}{key}Z" for key in PLACEHOLDERS}
    look = look_from_session(object_session(campaign), settings)
    context = _context(settings, campaign, variant, timezone, sentinels, look)
    parts = _render(settings, source, variant.language, context)
    subject = one_line(parts["subject.txt"])
    if f"NLP{nonce}" in subject:
        raise ComposeError("the subject cannot contain per-recipient fields")
    try:
        html = clean_mail_document(
            inline_css(parts["body.html"]), allow_remote_images=look.allow_remote_images
        )
    except Exception as exc:  # premailer/lxml/cssutils raise many types; all mean "bad HTML/CSS"
        raise ComposeError(f"cannot inline the CSS of the HTML part: {exc}") from None
    composed = build_variant(
        settings,
        campaign,
        language=variant.language,
        timezone=timezone,
        subject=subject,
        text=parts["body.txt"],
        html=html,
        sentinel_pattern=re.compile(f"NLP{nonce}({'|'.join(PLACEHOLDERS)})Z".encode()),
    )
    signer = configured_signer(settings)
    if signer is not None:
        composed = dataclasses.replace(composed, signer=signer)
    return composed


HEADLINE_KINDS = frozenset({"alert", "digest"})


def _compose_plain(
    settings: Settings,
    campaign: Campaign,
    language: str,
    timezone: str | None,
    source: TemplateSource,
    edition: Edition,
) -> ComposedVariant:
    """The discreet or low-bandwidth copy: one text/plain part (see `editions`)."""
    variant = pick_variant(campaign, language, settings.default_language)
    language = variant.language
    nonce = secrets.token_hex(6)
    sentinels = {key: f"NLP{nonce}{key}Z" for key in PLACEHOLDERS}
    linked = editions.link_settings(settings) if edition.discreet else settings
    look = None if edition.discreet else look_from_session(object_session(campaign), settings)
    context = _context(linked, campaign, variant, timezone, sentinels, look)
    headlines = edition.light and str(campaign.kind) in HEADLINE_KINDS
    if edition.discreet:
        subject = editions.neutral_subject(settings, language)
    else:
        subject = one_line(_render(settings, source, language, context)["subject.txt"])
    if edition.discreet or headlines:
        posts = context["posts"]
        shown = posts[: editions.LIGHT_MAX_POSTS] if headlines else posts
        context |= {
            "discreet": edition.discreet,
            "headlines": headlines,
            "masthead": editions.neutral_from_name(settings, language)
            if edition.discreet
            else (look or default_look(settings)).name(language),
            "posts": shown,
            "more": len(posts) - len(shown),
        }
        template = system_environment(settings.templates_dir).get_template(
            "email/_edition/body.txt"
        )
        with using_language(language):
            text = template.render(**context)
    else:  # a low-bandwidth reader's newsletter: the campaign's own text part, alone
        text = _render(settings, source, language, context)["body.txt"]
    if edition.discreet:
        text = editions.keep_own_links(settings, text, language)
    if f"NLP{nonce}" in subject:
        raise ComposeError("the subject cannot contain per-recipient fields")
    composed = build_variant(
        settings,
        campaign,
        language=language,
        timezone=timezone,
        subject=subject,
        text=text,
        html=None,
        sentinel_pattern=re.compile(f"NLP{nonce}({'|'.join(PLACEHOLDERS)})Z".encode()),
        edition=edition,
    )
    signer = configured_signer(settings)
    if signer is not None:
        composed = dataclasses.replace(composed, signer=signer)
    return composed


@dataclass(frozen=True)
class Preview:
    """What staff see before sending: the message as one recipient would get it."""

    subject: str
    text: str
    html: str
    headers: dict[str, str]
    envelope_from: str
    raw: bytes


SAMPLE_RECIPIENT = Recipient(
    delivery_id=0, address="sample@example.org", name="Alex Example", public_id="sample"
)


def preview(
    settings: Settings,
    campaign: Campaign,
    language: str,
    recipient: Recipient | None = None,
    source: TemplateSource | None = None,
) -> Preview:
    """Compose ``campaign`` in ``language`` for ``recipient`` (or a sample reader)."""
    recipient = recipient or SAMPLE_RECIPIENT
    composed = compose_variant(settings, campaign, language, recipient.timezone, source)
    message = personalise(settings, composed, recipient)
    parsed = message_from_bytes(message.data, policy=policy.default)
    text_part = parsed.get_body(("plain",))
    html_part = parsed.get_body(("html",))
    return Preview(
        subject=str(parsed["Subject"]),
        text=text_part.get_content() if text_part else "",
        html=html_part.get_content() if html_part else "",
        headers={name: str(value) for name, value in parsed.items()},
        envelope_from=message.envelope_from,
        raw=message.data,
    )
