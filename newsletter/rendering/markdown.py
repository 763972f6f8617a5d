"""Staff Markdown -> HTML safe to mail and to serve on the public archive: the one sanitiser.

Posts, campaign bodies and feed items all go through :func:`sanitize_html` with one allow list;
the named policies differ only in whether pasted raw HTML is read (a post: staff paste from
word processors) or shown as text (a campaign body). No policy allows an image, a stylesheet,
a frame or a ``style`` attribute: a remote image in a mail tells a third party the IP address
of every reader who opens it (invariant `privacy-by-default`).

Why two steps: markdown-it-py turns Markdown into HTML (keeping raw HTML under the post
policy), then nh3 (ammonia) removes everything not on an allow list: no ``<script>``, no
``on*`` event handlers, no ``style``, no ``javascript:``/``data:`` links. Every remaining link
gets ``rel="noopener noreferrer"`` so an email client or the archive never hands the opener
window to the target site.
"""

from __future__ import annotations

import functools
import html
import re

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "em", "h1", "h2", "h3", "h4", "hr", "i", "li",
    "ol", "p", "pre", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "th": {"scope"}}
URL_SCHEMES = {"http", "https", "mailto", "tel"}
_BLOCK_END = re.compile(r"</(p|h[1-4]|blockquote|pre|table|ul|ol)>", re.IGNORECASE)
_LINE_END = re.compile(r"</(li|tr)>|<br\s*/?>", re.IGNORECASE)
_CELL_END = re.compile(r"</t[dh]>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


POST = "post"
CAMPAIGN_BODY = "campaign-body"
_RAW_HTML = {POST: True, CAMPAIGN_BODY: False}


@functools.cache
def _parser(raw_html: bool = True) -> MarkdownIt:
    options = {"html": raw_html, "linkify": False, "typographer": False}
    return MarkdownIt("commonmark", options).enable("table")


def sanitize_html(unsafe: str) -> str:
    """Keep only allow-listed tags, attributes and link schemes; add rel=noopener to links."""
    return nh3.clean(
        unsafe,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def render_markdown(source: str, policy: str = POST) -> str:
    """Markdown rendered under ``policy`` and sanitised; '' for an empty text."""
    if not source.strip():
        return ""
    return sanitize_html(_parser(_RAW_HTML[policy]).render(source)).strip()


def markdown_to_safe_html(text: str) -> str:
    """A campaign's free-form body: raw HTML shown as text, then the one allow list."""
    return render_markdown(text, CAMPAIGN_BODY)


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
