"""Composing campaign messages: once per variant, valid MIME, every header, bounded templates."""

from __future__ import annotations

import email
import email.policy
import email.utils
import http.server
import threading
import time
from pathlib import Path

import pytest

from newsletter.links import delivery_id_from_verp, parse_unsubscribe_token
from newsletter.models import Campaign, CampaignKind, CampaignVariant, MailingList
from newsletter.rendering.compose import ComposeError, compose_variant, preview
from newsletter.rendering.headers import HeaderInjection
from newsletter.rendering.mime import Recipient, personalise
from tests.conftest import make_test_settings


def make_campaign(template_name: str = "newsletter") -> Campaign:
    campaign = Campaign(
        id=7,
        public_id="c0ffee",
        kind=CampaignKind.NEWSLETTER,
        name="Nov",
        template_name=template_name,
    )
    campaign.lists = [MailingList(id=3, slug="press")]
    campaign.variants = [
        CampaignVariant(
            language="en",
            subject="Our news this month",
            body_markdown="We **met** the minister.\n\n<script>alert(1)</script>\n\n"
            "[Read the note](https://example.org/note?a=1&b=2)",
        ),
        CampaignVariant(
            language="fr", subject="Nos nouvelles : élan régional", body_markdown="Bonjour"
        ),
    ]
    return campaign


RECIPIENT = Recipient(
    delivery_id=4242, address="ann@example.org", name="Ann <b>& Éva</b>", public_id="pub-ann"
)


@pytest.fixture
def settings(tmp_path: Path):
    return make_test_settings(tmp_path, reply_to="office@coalition.example.org")


def parse(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)


def test_personalised_message_is_valid_multipart_with_every_header(settings) -> None:
    # the digest template greets its reader by name; the newsletter shows only the editor's text
    variant = compose_variant(settings, make_campaign("digest"), "fr")
    message = personalise(settings, variant, RECIPIENT)
    parsed = parse(message.data)
    assert not parsed.defects
    assert parsed.get_content_type() == "multipart/alternative"
    text, html = parsed.iter_parts()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert text.get_content_charset() == html.get_content_charset() == "utf-8"
    raw_subject = message.data.split(b"\r\nSubject: ", 1)[1].split(b"\r\n", 1)[0]
    assert raw_subject.isascii() and b"=?utf-8?" in raw_subject  # RFC 2047 on the wire
    assert str(parsed["Subject"]) == "Nos nouvelles : élan régional"
    assert str(parsed["From"]) == "Coalition Newsletter <news@coalition.example.org>"
    assert str(parsed["Reply-To"]) == "office@coalition.example.org"
    assert parsed["To"].addresses[0].addr_spec == "ann@example.org"
    assert parsed["To"].addresses[0].display_name == "Ann <b>& Éva</b>"
    assert email.utils.parsedate_to_datetime(str(parsed["Date"])).tzinfo is not None
    assert str(parsed["Message-ID"]) == "<c0ffee.4242@coalition.example.org>"
    assert str(parsed["List-Id"]) == "Coalition Newsletter <press.coalition.example.org>"
    assert str(parsed["Feedback-ID"]) == "7:press:newsletter:coalition.example.org"
    assert str(parsed["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    https, mailto = (uri.strip().strip("<>") for uri in str(parsed["List-Unsubscribe"]).split(","))
    assert https.startswith("http://127.0.0.1:8000/unsubscribe/")
    assert mailto.startswith("mailto:unsubscribe+") and "@bounces.coalition.example.org" in mailto
    scope = parse_unsubscribe_token(settings, https.rsplit("/", 1)[1])
    assert (scope.subscriber_public_id, scope.list_ids) == ("pub-ann", (3,))
    assert delivery_id_from_verp(settings, message.envelope_from) == 4242
    # the footer link is the header's link; the name is escaped in HTML, verbatim in text
    assert https in text.get_content() and https in html.get_content()
    assert "Ann <b>& Éva</b>" in text.get_content()
    assert "Ann &lt;b&gt;&amp; Éva&lt;/b&gt;" in html.get_content()
    assert "Se désabonner de ces courriels" in html.get_content()
    lines = message.data.split(b"\r\n")
    assert all(len(line) <= 998 for line in lines)
    body = message.data.split(b"\r\n\r\n", 1)[1]
    assert all(len(line) <= 76 for line in body.split(b"\r\n"))
    assert b"\n" not in message.data.replace(b"\r\n", b"")


def test_the_body_is_sanitised_and_css_inlined(settings) -> None:
    result = preview(settings, make_campaign(), "en")
    assert "<script>" not in result.html and "alert(1)" not in result.text.split("<script>")[0]
    assert 'style="' in result.html  # premailer inlined the base layout's CSS
    assert '<a href="https://example.org/note?a=1&amp;b=2"' in result.html
    assert result.subject == "Our news this month" and result.headers["To"].startswith("Alex")


def test_a_line_break_in_a_header_value_is_refused(settings) -> None:
    variant = compose_variant(settings, make_campaign(), "en")
    evil = Recipient(1, "ann@example.org", "Ann\r\nBcc: victim@example.org", "pub")
    with pytest.raises(HeaderInjection):
        personalise(settings, variant, evil)


def test_personalising_is_cheap_compared_to_composing(settings) -> None:
    campaign = make_campaign()
    started = time.perf_counter()
    variant = compose_variant(settings, campaign, "en")
    compose_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for index in range(200):
        personalise(settings, variant, Recipient(index, f"r{index}@example.org", "R", f"p{index}"))
    per_message = (time.perf_counter() - started) / 200
    assert per_message < compose_seconds / 5


def write_template(
    root: Path, name: str, html: str, text: str = "plain", subject: str = "Hi"
) -> None:
    folder = root / "email" / name
    folder.mkdir(parents=True)
    (folder / "body.html").write_text(html)
    (folder / "body.txt").write_text(text)
    (folder / "subject.txt").write_text(subject)


@pytest.mark.parametrize(
    ("html", "message"),
    [
        ('{{ "x" * 100000000 }}', "longer than"),
        ("{% for i in range(50000) %}{{ 'y' * 200 }}{% endfor %}", "more than 2000000 characters"),
        (
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            "took longer than 2 s",
        ),
        ("{{ ''.__class__.__mro__ }}", "unsafe"),
    ],
)
def test_a_runaway_or_unsafe_staff_template_is_refused_with_a_clear_error(
    tmp_path: Path, html: str, message: str
) -> None:
    write_template(tmp_path / "templates", "runaway", html)
    settings = make_test_settings(tmp_path, templates_dir=tmp_path / "templates")
    started = time.monotonic()
    with pytest.raises(ComposeError, match=message):
        compose_variant(settings, make_campaign("runaway"), "en")
    assert time.monotonic() - started < 5


def test_premailer_never_fetches_a_stylesheet(tmp_path: Path) -> None:
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"p { color: red }")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    html = (
        f'<html><head><link rel="stylesheet" href="{base}/link.css">'
        f'<style>@import url("{base}/import.css"); p {{ color: blue }}</style></head>'
        "<body><p>hello</p></body></html>"
    )
    write_template(tmp_path / "templates", "external", html)
    settings = make_test_settings(tmp_path, templates_dir=tmp_path / "templates")
    try:
        result = preview(settings, make_campaign("external"), "en")
    finally:
        server.shutdown()
    assert requests == []
    assert 'style="color:blue"' in result.html


@pytest.mark.parametrize(
    "name", ["", "  Zoë  ", "Ann=Marie", "É" * 120, "x" * 75, "José Ñúñez-García de la Cruz " * 6]
)
def test_spliced_values_decode_exactly_and_keep_lines_short(settings, name: str) -> None:
    variant = compose_variant(settings, make_campaign("digest"), "fr")
    message = personalise(settings, variant, Recipient(5, "r@example.org", name, "pub-r"))
    text, _html = parse(message.data).iter_parts()
    greeting = f"Bonjour {name}," if name else "Bonjour,"
    assert f"\n{greeting}\n" in text.get_content().replace("\r\n", "\n")
    body = message.data.split(b"\r\n\r\n", 1)[1]
    assert all(len(line) <= 76 for line in body.split(b"\r\n"))


REMOTE_BODY = (
    "Before.\n\n![pixel](https://tracker.example/p.gif)\n\n"
    '<img src="https://tracker.example/raw.gif"> <iframe src="https://video.example/x"></iframe>\n\n'
    '<link rel="stylesheet" href="https://fonts.example/f.css">'
    '<p style="background:url(https://tracker.example/bg.gif)">Styled</p>\n\n'
    "[A link stays a link](https://example.org/report)"
)


def remote_references(html: str) -> list[str]:
    """Every URL in ``html`` a mail client would fetch by itself (links are followed by a click)."""
    from html.parser import HTMLParser

    found: list[str] = []

    class Fetches(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            for name, value in attrs:
                value = value or ""
                fetched = name in {"src", "srcset", "background", "poster", "data"} or (
                    tag == "link" and name == "href"
                )
                if fetched and not value.startswith(("cid:", "data:")):
                    found.append(f"{tag}[{name}]={value}")
                if name == "style" and "url(" in value:
                    found.append(f"{tag}[style]={value}")

    Fetches().feed(html)
    return found


@pytest.mark.parametrize("template_name", ["newsletter", "alert", "digest"])
def test_a_pasted_tracking_pixel_never_reaches_a_reader(settings, template_name: str) -> None:
    campaign = make_campaign(template_name)
    campaign.variants[0].body_markdown = REMOTE_BODY
    result = preview(settings, campaign, "en")
    assert remote_references(result.html) == []
    assert "<img" not in result.html and "<iframe" not in result.html  # pasted HTML is text
    assert '<a href="https://example.org/report"' in result.html
