"""Staff Markdown becomes HTML that is safe in an inbox and on the public archive."""

from __future__ import annotations

from newsletter.rendering.markdown import html_to_text, render_markdown


def test_markdown_renders_emphasis_lists_and_links_with_noopener() -> None:
    html = render_markdown(
        "We **call on** the plenary.\n\n- one\n- two\n\n[Report](https://example.org/r.pdf)"
    )
    assert "<strong>call on</strong>" in html
    assert "<li>one</li>" in html
    assert '<a href="https://example.org/r.pdf" rel="noopener noreferrer">Report</a>' in html


def test_scripts_event_handlers_and_unsafe_schemes_are_removed() -> None:
    html = render_markdown(
        "Hi <script>alert(1)</script> <img src=x onerror=alert(2)>"
        ' <a href="javascript:alert(3)" onclick="x()">a</a>'
        " [b](data:text/html;base64,PHNjcmlwdD4=) <b style='color:red' onmouseover=y()>c</b>"
    )
    lowered = html.lower()
    for forbidden in (
        "<script",
        "onerror",
        "onclick",
        "onmouseover",
        'href="javascript',
        'href="data',
        "style=",
        "<img",
    ):
        assert forbidden not in lowered, forbidden
    assert "<b>c</b>" in html


def test_plain_text_reads_well_alone() -> None:
    html = render_markdown(
        "First paragraph with a [link](https://example.org/x).\n\n- item one\n- item two"
    )
    text = html_to_text(html)
    assert text == "First paragraph with a link (https://example.org/x).\n\n- item one\n- item two"


def test_empty_markdown_is_empty_html() -> None:
    assert render_markdown("  \n") == ""
