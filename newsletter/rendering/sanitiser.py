"""The one sanitiser: named policies for every piece of HTML the service writes or mails.

Invariant `privacy-by-default`. A remote image, stylesheet, font or frame in a mail makes the
reader's mail client fetch it when the message is opened, telling a third party (or us) the
reader's IP address, client and time: for a supporter somewhere dangerous, the one thing this
service must never allow. So:

- ``POST``: a post's Markdown with the raw HTML staff paste from word processors; the fragment
  allow list below (no image, no style, no frame, no script); posts also serve the public site.
- ``CAMPAIGN_BODY``: a campaign's free-form Markdown, raw HTML shown as text; the same list,
  plus ``<img>`` with an http(s) source only when an admin turned remote images on.
- ``MAIL``: the whole HTML part of every message (campaigns from shipped *or console-saved*
  templates, confirmations, alerts, digests, press briefings, registrations...), filtered after
  the template rendered and the CSS was inlined: every reference a mail client would fetch is
  removed (``<img>``, ``srcset``, ``background``, ``<link>``, ``@import``, ``url()``,
  ``@font-face``, frames, objects, media, SVG, scripts), except images carried inside the
  message (``data:image/...`` of a raster type, ``cid:``) and, when an admin allows remote
  images, ``<img src="http(s)://...">`` alone. Links (``<a href>``) are not fetched and stay.

Fragments are cleaned by nh3 (ammonia) with an allow list; whole documents by walking lxml's
tree, since a mail's layout needs ``<style>`` and ``style`` attributes that an allow list of
fragments would drop. The text part needs nothing: plain text fetches nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import lxml.html
import nh3
from lxml import etree


@dataclass(frozen=True)
class Policy:
    """A named policy: whether pasted raw HTML is read, whether it is a whole mail document."""

    name: str
    raw_html: bool = False
    document: bool = False


POST = Policy("post", raw_html=True)
CAMPAIGN_BODY = Policy("campaign-body")
MAIL = Policy("mail", document=True)
POLICIES = {policy.name: policy for policy in (POST, CAMPAIGN_BODY, MAIL)}

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "em", "h1", "h2", "h3", "h4", "hr", "i", "li",
    "ol", "p", "pre", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "th": {"scope"}}
URL_SCHEMES = {"http", "https", "mailto", "tel"}
IMAGE_ATTRIBUTES = {"src", "alt", "width", "height"}


def clean_fragment(unsafe: str, *, allow_remote_images: bool = False) -> str:
    """Keep only allow-listed tags, attributes and link schemes; add rel=noopener to links.

    ``allow_remote_images`` (the admin's setting, campaign bodies only) adds ``<img>`` with an
    http(s) source; without it an image's tag is removed entirely.
    """
    tags, attributes = set(ALLOWED_TAGS), dict(ALLOWED_ATTRIBUTES)
    if allow_remote_images:
        tags.add("img")
        attributes["img"] = IMAGE_ATTRIBUTES
    return nh3.clean(
        unsafe,
        tags=tags,
        attributes=attributes,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


# --- whole mail documents -------------------------------------------------------------------

#: Elements that fetch, run or embed something; removed with their content. A ``<form>`` stays:
#: like a link, it sends nothing until the reader acts (an event's registration form).
_DROPPED = frozenset(
    {
        "script", "iframe", "frame", "frameset", "object", "embed", "applet", "link", "base",
        "video", "audio", "source", "track", "picture", "portal", "svg", "math", "noscript",
        "template",
    }
)  # fmt: skip
#: Attributes whose value a client may fetch (on any element).
_FETCHED = frozenset(
    {"src", "srcset", "background", "poster", "lowsrc", "dynsrc", "data", "codebase", "ping",
     "longdesc", "usemap", "xlink:href", "manifest", "icon"}
)  # fmt: skip
_INSIDE_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,[a-z0-9+/=\s]*$", re.I)
_REMOTE_IMAGE = re.compile(r"^https?://[^\s\"'<>\\]+$", re.I)
_CSS_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})\s?|\\(.)", re.S)
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_CSS_IMPORT = re.compile(r"@import[^;]*;?", re.I)
_CSS_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}", re.I)
_CSS_URL = re.compile(r"url\s*\(\s*(['\"]?)(.*?)\1\s*\)", re.I | re.S)
_CSS_IMAGE_SET = re.compile(r"(-webkit-)?image-set\s*\((?:[^()]|\([^()]*\))*\)", re.I)
_CSS_FETCHING = re.compile(r"(image-set|expression|-moz-binding|behavior)\s*[(:]", re.I)


def _inside(url: str) -> bool:
    """A reference to something carried in the message itself (fetched from nowhere)."""
    value = url.strip()
    return value.lower().startswith("cid:") or bool(_INSIDE_IMAGE.match(value))


def _unescape_css(css: str) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group(1):
            code = int(match.group(1), 16)
            return chr(code) if 0 < code < 0x110000 else ""
        return match.group(2)

    return _CSS_ESCAPE.sub(one, css)


def clean_css(css: str) -> str:
    """CSS with every fetch removed: ``@import``, ``@font-face``, remote ``url()``."""
    text = _CSS_COMMENT.sub("", _unescape_css(css))
    text = _CSS_FONT_FACE.sub("", _CSS_IMPORT.sub("", text))
    text = _CSS_IMAGE_SET.sub("none", text)
    text = _CSS_URL.sub(lambda m: m.group(0) if _inside(m.group(2)) else "none", text)
    return _CSS_FETCHING.sub("blocked-", text)


def _image_kept(src: str, allow_remote_images: bool) -> bool:
    return _inside(src) or (allow_remote_images and bool(_REMOTE_IMAGE.match(src.strip())))


def _replace_with_alt(element: etree._Element) -> None:
    """An image removed from a mail leaves its alt text, so the sentence still reads."""
    alt = (element.get("alt") or "").strip()
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail or ""
    text = f"{alt}{tail}" if alt else tail
    previous = element.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + text
    else:
        parent.text = (parent.text or "") + text
    parent.remove(element)


def _fetching_control(element: etree._Element, tag: str) -> bool:
    """An image button (fetches its picture) or a meta refresh/link (fetches a page)."""
    if tag == "input":
        return (element.get("type") or "").lower() == "image"
    return tag == "meta" and (element.get("http-equiv") or "").lower() in {"refresh", "link"}


def _clean_element(element: etree._Element, allow_remote_images: bool) -> None:
    tag = element.tag.lower() if isinstance(element.tag, str) else ""
    if tag == "img":
        src = element.get("src") or ""
        if not _image_kept(src, allow_remote_images):
            _replace_with_alt(element)
            return
        for name in list(element.attrib):
            if name.lower() in _FETCHED - {"src"}:
                del element.attrib[name]
    elif _fetching_control(element, tag):
        parent = element.getparent()
        if parent is not None:
            _keep_tail(element)
            parent.remove(element)
        return
    else:
        for name in list(element.attrib):
            if name.lower() in _FETCHED:
                del element.attrib[name]
    if tag == "style" and element.text:
        element.text = clean_css(element.text)
    style = element.get("style")
    if style is not None:
        element.set("style", clean_css(style))


def clean_mail_document(document: str, *, allow_remote_images: bool = False) -> str:
    """The HTML part of a mail with nothing a client would fetch (policy ``MAIL``)."""
    if not document.strip():
        return document
    root = lxml.html.document_fromstring(document)
    for element in list(root.iter()):
        if not isinstance(element.tag, str):
            if isinstance(element, etree._Comment):  # conditional comments may hold <link>
                parent = element.getparent()
                if parent is not None:
                    _keep_tail(element)
                    parent.remove(element)
            continue
        tag = element.tag.lower()
        if tag in _DROPPED or ":" in tag:
            parent = element.getparent()
            if parent is not None:
                _keep_tail(element)
                parent.remove(element)
            continue
        if element.getparent() is not None or tag == "html":
            _clean_element(element, allow_remote_images)
    doctype = "<!DOCTYPE html>" if document.lstrip()[:9].lower() == "<!doctype" else None
    serialised: str = lxml.html.tostring(root, encoding="unicode", doctype=doctype)
    return serialised


def _keep_tail(element: etree._Element) -> None:
    """Move an element's tail text to its neighbour before the element is removed."""
    tail = element.tail
    if not tail:
        return
    previous, parent = element.getprevious(), element.getparent()
    if previous is not None:
        previous.tail = (previous.tail or "") + tail
    elif parent is not None:
        parent.text = (parent.text or "") + tail
    element.tail = None


def remote_references(document: str) -> list[str]:
    """What in ``document`` a mail client would fetch (the tests' and the console's check).

    Read on the parsed tree, as a mail client would: a fetching element, attribute or CSS
    ``url()``/``@import`` whose target is not carried inside the message.
    """
    found: list[str] = []
    root = lxml.html.document_fromstring(document)
    for element in root.iter():
        if not isinstance(element.tag, str):
            if isinstance(element, etree._Comment) and "[if" in (element.text or ""):
                found.append("a conditional comment")  # Outlook reads the markup inside
            continue
        tag = element.tag.lower()
        if tag in _DROPPED or ":" in tag:
            found.append(f"<{tag}>")
        for name, value in element.attrib.items():
            if name.lower() in _FETCHED and value.strip() and not _inside(value):
                found.append(f"<{tag} {name}={value[:80]}>")
        css = element.get("style", "") + (element.text or "" if tag == "style" else "")
        plain = _CSS_COMMENT.sub("", _unescape_css(css))
        found += [f"@import in <{tag}>" for _ in _CSS_IMPORT.finditer(plain)]
        found += [f"@font-face in <{tag}>" for _ in _CSS_FONT_FACE.finditer(plain)]
        found += [
            f"url({m.group(2)[:80]}) in <{tag}>"
            for m in _CSS_URL.finditer(plain)
            if not _inside(m.group(2))
        ]
        if tag == "meta" and (element.get("http-equiv") or "").lower() == "refresh":
            found.append("<meta refresh>")
    return found
