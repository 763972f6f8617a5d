"""Staff Markdown -> HTML safe to mail and to serve on the public archive.

The sanitising is `newsletter.rendering.sanitiser`'s (the one sanitiser, with named
policies); this module turns Markdown into HTML first. markdown-it-py renders it, keeping raw
HTML under the ``POST`` policy (staff paste from word processors) and showing it as text
under ``CAMPAIGN_BODY``; then the sanitiser's allow list removes everything else: no image
(unless an admin allows remote images in campaign bodies), no ``<script>``, no ``on*``
handlers, no ``style``, no ``javascript:``/``data:`` links, ``rel="noopener noreferrer"`` on
every link (invariant `privacy-by-default`).
"""

from __future__ import annotations

import functools
import html
import re

from markdown_it import MarkdownIt

from newsletter.rendering import sanitiser
from newsletter.rendering.sanitiser import CAMPAIGN_BODY, POST, Policy

__all__ = ["CAMPAIGN_BODY", "POST", "html_to_text", "markdown_to_safe_html", "render_markdown"]
__all__ += ["sanitize_html"]

_BLOCK_END = re.compile(r"</(p|h[1-4]|blockquote|pre|table|ul|ol)>", re.IGNORECASE)
_LINE_END = re.compile(r"</(li|tr)>|<br\s*/?>", re.IGNORECASE)
_CELL_END = re.compile(r"</t[dh]>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


@functools.cache
def _parser(raw_html: bool = True) -> MarkdownIt:
    options = {"html": raw_html, "linkify": False, "typographer": False}
    return MarkdownIt("commonmark", options).enable("table")


def sanitize_html(unsafe: str) -> str:
    """An HTML fragment through the sanitiser's allow list (no image, style or script)."""
    return sanitiser.clean_fragment(unsafe)


def render_markdown(
    source: str, policy: Policy | str = POST, *, allow_remote_images: bool = False
) -> str:
    """Markdown rendered under ``policy`` and sanitised; '' for an empty text.

    ``allow_remote_images`` is honoured for campaign bodies only (the admin's setting); a
    post, which the public site also serves, never keeps an image.
    """
    if not source.strip():
        return ""
    chosen = sanitiser.POLICIES[policy] if isinstance(policy, str) else policy
    images = allow_remote_images and chosen == CAMPAIGN_BODY
    rendered = _parser(chosen.raw_html).render(source)
    return sanitiser.clean_fragment(rendered, allow_remote_images=images).strip()


def markdown_to_safe_html(text: str, *, allow_remote_images: bool = False) -> str:
    """A campaign's free-form body: raw HTML shown as text, then the one allow list."""
    return render_markdown(text, CAMPAIGN_BODY, allow_remote_images=allow_remote_images)


def html_to_text(fragment: str) -> str:
    """A readable plain-text version of sanitised HTML, for the text part of an email."""
    compact = re.sub(r">\s*\n\s*<", "><", fragment)
    with_breaks = _CELL_END.sub(" | ", _LINE_END.sub("\n", _BLOCK_END.sub("\n\n", compact)))
    with_links = re.sub(
        r'<a [^>]*href="([^"]+)"[^>]*>(.*?)</a>',
        lambda m: m.group(2) if m.group(1) in m.group(2) else f"{m.group(2)} ({m.group(1)})",
        with_breaks,
        flags=re.IGNORECASE | re.DOTALL,
    )
    with_items = re.sub(r"<li[^>]*>", "- ", with_links, flags=re.IGNORECASE)
    text = html.unescape(_TAG.sub("", with_items))
    lines = [line.strip().removesuffix(" |") for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
