"""Render the service's own emails from ``templates/email/<kind>/``.

Each kind is a folder holding ``subject.txt``, ``body.txt`` and ``body.html`` (warehouse's
layout); a language-specific file (``body.fr.html``) wins over the default when present.
CSS is inlined by premailer here, once per render, and never over the network; then the
sanitiser's ``MAIL`` policy removes anything a mail client would fetch (system mail never
carries a remote image, whatever the admin's setting). ``look`` (`branding`) gives the layout
the organisation's name in the mail's language, colours, postal address and inline logo; a
discreet message passes none, so nothing names the organisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cssutils.util
from jinja2 import TemplateNotFound
from premailer import Premailer

from newsletter.i18n import using_language
from newsletter.rendering.branding import MailLook
from newsletter.rendering.environment import system_environment
from newsletter.rendering.headers import one_line
from newsletter.rendering.sanitiser import clean_mail_document


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def _never_fetch(url: str) -> tuple[None, str]:
    """cssutils' fetcher for ``@import``: nothing is fetched, the import is empty.

    premailer's ``allow_network=False`` only covers ``<link>``; cssutils would still fetch an
    ``@import`` URL inside ``<style>``, letting a staff template make a worker fetch a URL.
    """
    return None, ""


cssutils.util._defaultFetcher = _never_fetch  # process-wide: the service never fetches CSS


def inline_css(html: str) -> str:
    """Inline <style> rules into attributes; external stylesheets are never fetched."""
    return Premailer(
        html,
        allow_network=False,
        allow_loading_external_files=False,
        keep_style_tags=True,
        disable_validation=True,
        cssutils_logging_level="CRITICAL",
    ).transform()


def _localised(filename: str, language: str) -> str:
    base, _, ext = filename.rpartition(".")
    return f"{base}.{language}.{ext}"


def render_system_email(
    templates_dir: Path,
    kind: str,
    language: str,
    context: dict[str, Any],
    look: MailLook | None = None,
) -> RenderedEmail:
    """Render subject, text and HTML of one system email in one language."""
    env = system_environment(templates_dir)
    if look is not None:
        context = {**context, "org_name": look.name(language), "brand": look.brand(language)}
    parts: dict[str, str] = {}
    for filename in ("subject.txt", "body.txt", "body.html"):
        names = [f"email/{kind}/{_localised(filename, language)}", f"email/{kind}/{filename}"]
        try:
            template = env.select_template(names)
        except TemplateNotFound:
            raise LookupError(f"system email {kind!r} has no {filename}") from None
        with using_language(language):
            parts[filename] = template.render(language=language, **context)
    subject = one_line(parts["subject.txt"])
    html = clean_mail_document(inline_css(parts["body.html"]))
    return RenderedEmail(subject=subject, text=parts["body.txt"], html=html)
