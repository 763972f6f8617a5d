"""A campaign's free-form body: Markdown to sanitised HTML (raw HTML off, then nh3's allow-list).

Staff write the body; readers' mail clients render it. Sanitising here means a pasted
``<script>`` or ``onclick=`` never reaches a reader, whatever the template does with it.
"""

from __future__ import annotations

import functools

import nh3
from markdown_it import MarkdownIt


@functools.cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def markdown_to_safe_html(text: str) -> str:
    """HTML for ``text``; only nh3's default safe tags and attributes survive."""
    if not text.strip():
        return ""
    return nh3.clean(_parser().render(text))
