"""No mail of any kind carries remote content by default, read where a receiver reads it.

Every kind the service sends is produced through its real path and received by the real SMTP
test server: confirmation, welcome, already-subscribed, staff password reset, the operator's
test message, the console's campaign test, alert, digest and newsletter campaigns through the
sending engine (with the discreet and low-bandwidth editions), a press briefing, an event
registration's confirmation and its reminder. The content is hostile on purpose: a campaign
body with a pasted tracking pixel, a console-saved template with a remote image, stylesheet,
font, ``@import``, background and frame, post bodies stored with an image (as an older version
or a direct database edit could leave them). Each received HTML part is parsed by an
independent checker (the standard library's parser, not the sanitiser's own code).

Then: the admin's remote-images switch lets a campaign keep ``<img src="https://...">`` and
nothing else remote, and never a system mail; the branding (name per language, postal address,
colours, an inline logo) reaches the messages, carried inside them.
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import re
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from newsletter.campaigns import service as campaigns
from newsletter.campaigns.models import Campaign, CampaignKind, CampaignPost, CampaignVariant
from newsletter.content.models import Post, PostKind, PostTranslation
from newsletter.content.service import create_post, publish_post
from newsletter.db import unit_of_work
from newsletter.delivery import pipeline
from newsletter.delivery.test_send import send_test_message
from newsletter.press import delivery as press_delivery
from newsletter.press import service as press
from newsletter.registrations import delivery as registration_delivery
from newsletter.registrations.tick import event_tick
from newsletter.rendering.branding import MailBranding, forget_cached_looks, look_for
from newsletter.rendering.sanitiser import clean_mail_document
from newsletter.staff import campaign_admin
from newsletter.staff.models import EmailTemplateVersion, StaffRole
from newsletter.staff.reset import send_reset_email
from newsletter.staff.service import create_staff_user
from newsletter.subscribers.addresses import address_hash
from newsletter.subscribers.models import MailingList, Subscriber, SubscriberStatus
from newsletter.subscribers.notifications import send_journey_email
from tests.conftest import make_test_settings
from tests.content.helpers import EN, FR
from tests.registrations.helpers import online_webinar, register_readers
from tests.sending.helpers import add_list, add_subscribers

NOW = dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.UTC)
START = NOW + dt.timedelta(days=5)
PIXEL = "https://tracker.example/p.gif"
HOSTILE_TEMPLATE = """{% extends "email/_base/base.html" %}
{% block title %}{{ variant.subject }}{% endblock %}
{% block content %}
<link rel="stylesheet" href="https://cdn.example/style.css">
<style>@import url("https://fonts.example/css?family=Spy"); @font-face { font-family: Spy;
src: url(https://fonts.example/spy.woff2); }
.hero { background-image: url('https://img.example/bg.png'); }</style>
<table background="https://img.example/table.png"><tr><td style="background: url(https://img.example/td.png)">
<img src="https://img.example/header.png" alt="Header picture">
<img srcset="https://img.example/a.png 1x, https://img.example/b.png 2x" alt="">
<picture><source srcset="https://img.example/c.webp"></picture>
<iframe src="https://video.example/embed/1"></iframe>
<video poster="https://img.example/poster.jpg"><source src="https://video.example/v.mp4"></video>
<svg><image href="https://img.example/svg.png"></image></svg>
<object data="https://img.example/o.swf"></object>
</td></tr></table>
<p>{{ recipient.greeting }}</p>
{{ variant.body_html }}
{% for post in posts %}<h2>{{ post.title }}</h2>{{ post.body_html }}{% endfor %}
{% endblock %}
{% block footer %}<p><a href="{{ recipient.unsubscribe_url }}">Unsubscribe</a></p>{% endblock %}
"""
BODY = (
    f"Our news.\n\n![x]({PIXEL})\n\n"
    '<img src="https://tracker.example/raw.gif">\n\n[The report](https://example.org/report)'
)
STORED_POST_HTML = (
    f'<p>Read this.</p><img src="{PIXEL}?post=1" width="1" height="1">'
    '<p style="background:url(https://tracker.example/bg.gif)">Styled.</p>'
)
LOGO = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
FETCHING_TAGS = {
    "img", "link", "script", "iframe", "frame", "object", "embed", "video", "audio",
    "source", "track", "image", "use", "input", "svg", "picture",
}  # fmt: skip
FETCHING_ATTRIBUTES = {"src", "srcset", "background", "poster", "data", "lowsrc", "dynsrc"}
# A second, cruder look: any attribute or CSS naming one of the hostile hosts (text is fine).
HOSTILE_ATTRIBUTE = re.compile(
    r"""(=\s*["']?|url\(\s*["']?)https?://(tracker|img|fonts|cdn|video)\.example""", re.I
)
ESCAPED = re.compile(r"&lt;.*?&gt;", re.S)
_CSS_REMOTE = re.compile(r"url\(\s*['\"]?\s*(?!data:|cid:)[^)\s'\"]|@import|@font-face", re.I)


class RemoteFinder(HTMLParser):
    """An independent reader of a mail's HTML: what would a mail client fetch?"""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_style = tag == "style"
        for name, value in attrs:
            value = (value or "").strip()
            fetched = name in FETCHING_ATTRIBUTES or (name in {"href", "xlink:href"} and tag != "a")
            if fetched and value and not value.startswith(("data:image/", "cid:")):
                self.found.append(f"<{tag} {name}={value}>")
            if name == "style" and _CSS_REMOTE.search(value):
                self.found.append(f"<{tag} style={value}>")
        if tag in FETCHING_TAGS - {"img", "input"}:
            self.found.append(f"<{tag}>")

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style and _CSS_REMOTE.search(data):
            self.found.append(f"<style>{data.strip()[:80]}")


def remote_in(html: str) -> list[str]:
    finder = RemoteFinder()
    finder.feed(html)
    return finder.found


def html_parts(message: EmailMessage) -> list[str]:
    return [part.get_content() for part in message.walk() if part.get_content_type() == "text/html"]


def text_parts(message: EmailMessage) -> list[str]:
    return [
        part.get_content() for part in message.walk() if part.get_content_type() == "text/plain"
    ]


def test_the_independent_checker_sees_what_the_hostile_content_would_fetch() -> None:
    """Guard of the test itself: unfiltered, the hostile template and body are caught."""
    found = remote_in(HOSTILE_TEMPLATE + STORED_POST_HTML + f'<img src="{PIXEL}">')
    for expected in ("img src=https://img.example/header.png", "<link", "<iframe", "@import"):
        assert any(expected in item for item in found), (expected, found)
    inside = '<a href="https://example.org/r">read</a><img src="data:image/png;base64,AA">'
    assert remote_in(inside) == []  # a link is not fetched, an inline image is inside
    assert remote_in(clean_mail_document(HOSTILE_TEMPLATE)) == []


@pytest.fixture
def settings(tmp_path: Path, pg_url: str, smtp_server):
    forget_cached_looks()
    return make_test_settings(
        tmp_path, database_url=pg_url, smtp_url=smtp_server.url, languages="en,fr"
    )


def _campaign(
    session: Session, kind: CampaignKind, template: str, list_id: int, post_ids: list[int]
) -> int:
    campaign = Campaign(kind=kind, name=f"{kind} of the month", template_name=template)
    campaign.lists = [session.get(MailingList, list_id)]
    campaign.variants = [
        CampaignVariant(language="en", subject=f"The {kind}", body_markdown=BODY),
        CampaignVariant(language="fr", subject=f"Le {kind}", body_markdown=BODY),
    ]
    session.add(campaign)
    session.flush()
    for position, post_id in enumerate(post_ids):
        session.add(CampaignPost(campaign_id=campaign.id, post_id=post_id, position=position))
    session.flush()
    return campaign.id


def _send_campaign(factory: sessionmaker[Session], settings, campaign_id: int) -> None:
    with unit_of_work(factory) as session:
        batches = campaigns.start_campaign(session, campaign_id, settings=settings)
    for first, last in batches.ranges:
        pipeline.send_batch(factory, settings, campaign_id, first, last)


def _hostile_post(session: Session, kind: PostKind = PostKind.PRESS_RELEASE) -> int:
    post = create_post(session, kind=kind, translations=[EN, FR], languages=["en", "fr"])
    publish_post(post, at=NOW - dt.timedelta(days=1), now=NOW)
    session.flush()
    session.execute(
        update(PostTranslation)
        .where(PostTranslation.post_id == post.id)
        .values(body_html=STORED_POST_HTML)
    )
    return post.id


def send_every_kind(factory: sessionmaker[Session], settings, smtp_server) -> dict[str, list]:
    """Each kind through its real path; returns the received messages by kind."""
    got: dict[str, list] = {}

    def collect(kind: str, count: int) -> None:
        before = sum(len(v) for v in got.values())
        received = smtp_server.wait_for(before + count, timeout=30)[before:]
        got[kind] = [m.message for m in received]

    with unit_of_work(factory) as session:
        for kind, status in (
            ("confirm", SubscriberStatus.PENDING),
            ("welcome", SubscriberStatus.ACTIVE),
            ("already", SubscriberStatus.ACTIVE),
        ):
            subscriber = Subscriber(
                email=f"{kind}@example.net", name="Rudo", language="fr", status=status
            )
            subscriber.email_hash = address_hash(subscriber.email)
            session.add(subscriber)
            session.flush()
            assert send_journey_email(settings, session, kind, subscriber.id) is not None  # type: ignore[arg-type]
            collect(kind, 1)
        user = create_staff_user(
            session, email="ops@coalition.example.org", name="Ops", password="a" * 16,
            role=StaffRole.ADMIN,
        )  # fmt: skip
        assert send_reset_email(session, settings, user.id, "fr")
        collect("password_reset", 1)
    send_test_message(settings, "ops@example.net", "en")
    collect("operator_test", 1)

    with unit_of_work(factory) as session:
        session.add(
            EmailTemplateVersion(
                name="newsletter", version=1, subject="{{ variant.subject }}",
                body_text="{{ variant.body_text }}\n{{ recipient.unsubscribe_url }}",
                body_html=HOSTILE_TEMPLATE, note="pasted from a marketing tool",
            )
        )  # fmt: skip
        mailing_list = add_list(session, "supporters")
        ids = add_subscribers(
            session, ["reader0@example.org", "reader1@example.org"], [mailing_list.id]
        )
        add_subscribers(session, ["quiet@example.org", "slow@example.org"], [mailing_list.id])
        session.execute(
            update(Subscriber).where(Subscriber.email == "quiet@example.org").values(discreet=True)
        )
        session.execute(
            update(Subscriber)
            .where(Subscriber.email == "slow@example.org")
            .values(low_bandwidth=True)
        )
        assert len(ids) == 2
        post_id = _hostile_post(session)
        alert = _campaign(session, CampaignKind.ALERT, "alert", mailing_list.id, [post_id])
        digest = _campaign(session, CampaignKind.DIGEST, "digest", mailing_list.id, [post_id])
        newsletter = _campaign(
            session, CampaignKind.NEWSLETTER, "newsletter", mailing_list.id, [post_id]
        )
    for kind, campaign_id in (("alert", alert), ("digest", digest), ("newsletter", newsletter)):
        _send_campaign(factory, settings, campaign_id)
        collect(kind, 4)
    with unit_of_work(factory) as session:
        campaign = session.get(Campaign, newsletter)
        assert campaign is not None
        campaign_admin.send_test(settings, campaign, "en", "editor@example.net")
    collect("campaign_test", 1)

    with unit_of_work(factory) as session:
        press.import_journalists(
            session, settings, "Email;Name;Language\r\nsam@wire.example;Sam Porter;en\r\n"
        )
        post_id = _hostile_post(session)
        post = session.get(Post, post_id)
        assert post is not None
        post.published_at = None
        assert press.brief(session, post, NOW + dt.timedelta(days=1), NOW, None) == 1
    press_delivery.deliver_due(settings, factory, lambda: NOW)
    collect("press_briefing", 1)

    with unit_of_work(factory) as session:
        webinar = online_webinar(session, START, NOW)
        session.execute(
            update(PostTranslation)
            .where(PostTranslation.post_id == webinar.id)
            .values(body_html=STORED_POST_HTML)
        )
        register_readers(session, webinar, NOW)
    registration_delivery.deliver_due(settings, factory, lambda: NOW)
    collect("registration_confirmation", 3)
    event_tick(settings, factory, lambda: START - dt.timedelta(hours=24))
    collect("registration_reminder", 3)
    return got


def test_no_mail_of_any_kind_carries_remote_content_by_default(
    settings, committed_db: sessionmaker[Session], smtp_server
) -> None:
    got = send_every_kind(committed_db, settings, smtp_server)
    assert set(got) == {
        "confirm", "welcome", "already", "password_reset", "operator_test", "alert", "digest",
        "newsletter", "campaign_test", "press_briefing", "registration_confirmation",
        "registration_reminder",
    }  # fmt: skip
    html_seen = 0
    for kind, messages in got.items():
        for message in messages:
            for html in html_parts(message):
                html_seen += 1
                assert remote_in(html) == [], (kind, remote_in(html))
                markup = ESCAPED.sub("", html)  # raw HTML a body shows as text is not markup
                assert not HOSTILE_ATTRIBUTE.search(markup), (
                    kind,
                    HOSTILE_ATTRIBUTE.search(markup),
                )
    assert html_seen == 19  # every message but the four discreet and low-bandwidth copies
    newsletter = [m for m in got["newsletter"] if html_parts(m)]
    assert newsletter and "The report" in html_parts(newsletter[0])[0]  # the body survived
    assert "Header picture" in html_parts(newsletter[0])[0]  # a removed image leaves its alt
    assert 'href="https://example.org/report"' in html_parts(newsletter[0])[0]  # links stay


def test_the_admin_switch_keeps_campaign_images_only_and_branding_rides_inside(
    settings, committed_db: sessionmaker[Session], smtp_server
) -> None:
    with unit_of_work(committed_db) as session:
        session.add(
            MailBranding(
                names={"en": "Clean Rivers Coalition", "fr": "Coalition Rivières propres"},
                primary_colour="#7a1f3d",
                link_colour="#114488",
                postal_address="12 rue du Quai\n1000 Bruxelles\nBelgique",
                logo=LOGO,
                logo_type="image/png",
                allow_remote_images=True,
            )
        )
    forget_cached_looks()
    got = send_every_kind(committed_db, settings, smtp_server)
    logo_uri = "data:image/png;base64," + base64.b64encode(LOGO).decode()
    for kind in ("alert", "digest", "newsletter", "campaign_test"):
        html = [h for m in got[kind] for h in html_parts(m)]
        assert html, kind
        for part in html:
            remaining = remote_in(part)
            assert remaining and all(item.startswith("<img src=https://") for item in remaining)
            assert logo_uri in part and "12 rue du Quai" in part and "#7a1f3d" in part
    newsletter_html = [h for m in got["newsletter"] for h in html_parts(m)]
    assert any(f'src="{PIXEL}"' in part for part in newsletter_html)  # the admin said yes
    for kind in set(got) - {"alert", "digest", "newsletter", "campaign_test"}:
        for message in got[kind]:
            for html in html_parts(message):
                assert remote_in(html) == [], (kind, remote_in(html))
    french = got["welcome"][0]
    assert "Coalition Rivières propres" in html_parts(french)[0]
    assert "1000 Bruxelles" in text_parts(french)[0]
    discreet = [m for m in got["newsletter"] if m["To"] and "quiet@example.org" in str(m["To"])]
    assert discreet and not html_parts(discreet[0])
    assert "Bruxelles" not in text_parts(discreet[0])[0]  # nothing names the organisation
    assert "Rivers" not in text_parts(discreet[0])[0]


def _parse(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


def test_a_saved_logo_is_never_fetched_by_the_service_or_the_reader(
    settings, committed_db: sessionmaker[Session]
) -> None:
    """The branding row is all the layout needs: no URL is ever written for the logo."""
    with unit_of_work(committed_db) as session:
        session.add(MailBranding(names={}, logo=LOGO, logo_type="image/png"))
    forget_cached_looks()
    look = look_for(settings)
    assert look.logo_data_uri.startswith("data:image/png;base64,")
    assert look.name("fr") == settings.org_name
    with unit_of_work(committed_db) as session:
        assert session.scalar(select(MailBranding.allow_remote_images)) is False
