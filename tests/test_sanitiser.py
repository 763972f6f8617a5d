"""The one sanitiser's named policies on the tricks that smuggle remote content into mail."""

from __future__ import annotations

import pytest

from newsletter.rendering.markdown import markdown_to_safe_html, render_markdown
from newsletter.rendering.sanitiser import (
    CAMPAIGN_BODY,
    POST,
    clean_mail_document,
    remote_references,
)

PIXEL = "![x](https://tracker.example/p.gif)"


@pytest.mark.parametrize("policy", [POST, CAMPAIGN_BODY])
def test_a_markdown_pixel_leaves_no_image_under_either_fragment_policy(policy) -> None:
    html = render_markdown(
        f"Hello.\n\n{PIXEL}\n\n<img src='https://tracker.example/q.gif'>", policy
    )
    assert "<img" not in html and "Hello." in html


def test_the_admin_switch_keeps_a_campaign_image_but_never_a_post_image() -> None:
    kept = markdown_to_safe_html(PIXEL, allow_remote_images=True)
    assert '<img src="https://tracker.example/p.gif" alt="x">' in kept
    assert "<img" not in render_markdown(PIXEL, POST, allow_remote_images=True)
    assert "<img" not in markdown_to_safe_html(
        "![x](javascript:alert(1))", allow_remote_images=True
    )


@pytest.mark.parametrize(
    "hostile",
    [
        '<IMG SRC="https://t.example/a.gif">',
        '<p style="background:\\75 rl(https://t.example/b.gif)">x</p>',
        "<p style='background:URL( \"https://t.example/c.gif\" )'>x</p>",
        "<style>@import 'https://t.example/d.css';</style>",
        "<style>@font-face{font-family:X;src:url(https://t.example/e.woff)}</style>",
        "<!--[if mso]><link rel=stylesheet href=https://t.example/f.css><![endif]-->",
        '<table background="https://t.example/g.png"><tr><td>x</td></tr></table>',
        '<img srcset="https://t.example/h.png 2x" src="data:image/png;base64,AAAA">',
        '<img src="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=">',
        '<svg><image href="https://t.example/i.png"/></svg>',
        '<meta http-equiv="refresh" content="0;url=https://t.example/j">',
        '<input type="image" src="https://t.example/k.png">',
        "<div style=\"background-image:image-set('https://t.example/l.png' 1x)\">x</div>",
    ],
)
def test_the_mail_policy_removes_every_fetch(hostile: str) -> None:
    document = f"<!DOCTYPE html><html><head></head><body><p>Before</p>{hostile}</body></html>"
    assert remote_references(document) or "image-set" in hostile or "svg+xml" in hostile
    cleaned = clean_mail_document(document)
    assert "t.example" not in cleaned
    assert remote_references(cleaned) == []
    assert "svg+xml" not in cleaned and "Before" in cleaned


def test_inline_images_links_and_alt_text_stay() -> None:
    document = (
        "<html><body><p>Logo <img src='data:image/png;base64,iVBORw0KGgo=' alt='Logo'> "
        "<img src='cid:logo@x'> <img src='https://t.example/x.gif' alt='A river'> after</p>"
        "<a href='https://example.org/report'>Report</a></body></html>"
    )
    cleaned = clean_mail_document(document)
    assert "data:image/png;base64,iVBORw0KGgo=" in cleaned and "cid:logo@x" in cleaned
    assert "A river after" in cleaned and "t.example" not in cleaned
    assert 'href="https://example.org/report"' in cleaned
    kept = clean_mail_document(document, allow_remote_images=True)
    assert 'src="https://t.example/x.gif"' in kept
