"""The public archive over real HTTP: months, permalinks, feed, .ics; drafts, embargoes hidden."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy.orm import Session, sessionmaker

from newsletter import clock
from newsletter.campaigns.models import Campaign, CampaignKind, CampaignStatus, CampaignVariant
from newsletter.content.models import PostKind
from newsletter.content.service import (
    DownloadInput,
    EventInput,
    TranslationInput,
    create_post,
    publish_post,
)
from newsletter.db import utcnow
from newsletter.subscribers.models import MailingList, Subscriber
from newsletter.web.app import create_app
from tests.conftest import clock_offset_to, make_test_settings

pytestmark = pytest.mark.date_sensitive

ATOM = "{http://www.w3.org/2005/Atom}"


def _post(session: Session, title: str, kind: PostKind = PostKind.PRESS_RELEASE, **kwargs):
    return create_post(
        session,
        kind=kind,
        translations=[
            TranslationInput("en", title, f"Summary of {title}", "Body with **weight**."),
            TranslationInput("fr", f"{title} (fr)", f"Résumé de {title}", "Corps."),
        ],
        languages=["en", "fr"],
        **kwargs,
    )


# The site runs on a clock set mid-month, so that "two hours ago" and "five minutes ago" fall in
# one archive month whatever day the suite runs (at 00:30 on the 1st they would not).
MID_MONTH = dt.datetime(2026, 10, 15, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def archive_site(committed_db: sessionmaker[Session], pg_url: str, tmp_path, live_server):
    settings = make_test_settings(
        tmp_path, database_url=pg_url, org_timezone="Europe/Brussels",
        clock_offset_seconds=clock_offset_to(MID_MONTH),
    )  # fmt: skip
    clock.configure(settings)
    now = utcnow()
    with committed_db.begin() as session:
        public = publish_post(
            _post(
                session,
                "Public release",
                contacts="Press office, +00 0000 000",
                downloads=[DownloadInput("Full report", "https://example.org/report.pdf")],
            ),
            now=now - dt.timedelta(hours=2),
        )
        draft = _post(session, "Secret draft")
        embargoed = publish_post(
            _post(session, "Embargoed release"),
            embargo_until=now + dt.timedelta(days=1),
            now=now - dt.timedelta(hours=1),
        )
        event = publish_post(
            _post(
                session,
                "Webinar",
                kind=PostKind.EVENT,
                event=EventInput(
                    dt.datetime(2026, 10, 20, 16, 0), "Europe/London", 90, None,
                    "https://meet.example.org/w",
                ),
            ),
            now=now - dt.timedelta(minutes=30),
        )  # fmt: skip
        digest_list = MailingList(slug="monthly-digest", is_public=True)
        members = MailingList(slug="members-only", is_public=False)
        sent = Campaign(
            kind=CampaignKind.DIGEST, name="Digest", template_name="digest",
            status=CampaignStatus.SENT, started_at=now - dt.timedelta(minutes=5),
            variants=[CampaignVariant(language="en", subject="The month in review")],
            lists=[digest_list],
        )  # fmt: skip
        private = Campaign(
            kind=CampaignKind.NEWSLETTER, name="Members", template_name="newsletter",
            status=CampaignStatus.SENT, started_at=now - dt.timedelta(minutes=4),
            variants=[CampaignVariant(language="en", subject="Members' briefing")],
            lists=[digest_list, members],
        )  # fmt: skip
        kept_out = Campaign(
            kind=CampaignKind.NEWSLETTER, name="Kept out", template_name="newsletter",
            status=CampaignStatus.SENT, started_at=now - dt.timedelta(minutes=3),
            variants=[CampaignVariant(language="en", subject="Partners only note")],
            lists=[digest_list], archive_hidden=True,
        )  # fmt: skip
        held = Campaign(
            kind=CampaignKind.DIGEST, name="Held", template_name="digest",
            status=CampaignStatus.DRAFT,
            variants=[CampaignVariant(language="en", subject="Held digest")],
        )  # fmt: skip
        session.add_all([sent, private, kept_out, held])
        session.add(
            Subscriber(
                email="reader@example.org", email_hash="h" * 64, language="en", name="Reader Name"
            )
        )
        session.flush()
        ids = {
            "public": public.public_id, "draft": draft.public_id,
            "embargoed": embargoed.public_id, "event": event.public_id,
            "sent": sent.public_id, "held": held.public_id, "private": private.public_id,
        }  # fmt: skip
    return live_server(create_app(settings)), ids


def test_archive_lists_public_posts_and_sent_campaigns_only(archive_site) -> None:
    base, _ids = archive_site
    index = httpx.get(f"{base}/archive")
    assert index.status_code == 200
    assert "Public release" in index.text and "Webinar" in index.text
    for hidden in ("Secret draft", "Embargoed release", "reader@example.org", "Reader Name"):
        assert hidden not in index.text
    month_link = re.search(r'href="/archive/(\d{4}/\d{2})', index.text).group(1)
    month = httpx.get(f"{base}/archive/{month_link}")
    assert month.status_code == 200
    assert "Public release" in month.text and "The month in review" in month.text
    assert "Held digest" not in month.text and "Embargoed release" not in month.text
    # Sent to a private list (as well as a public one): never listed for the internet ...
    assert "Members&#39; briefing" not in month.text and "Members' briefing" not in month.text
    assert "Members" not in index.text
    # public lists only, but staff ticked "keep out of the public archive"
    assert "Partners only note" not in month.text
    # ... while its readers' "view in your browser" link still opens it.
    private = httpx.get(f"{base}/archive/campaigns/{_ids['private']}")
    assert private.status_code == 200 and "briefing" in private.text


def test_permalinks_show_public_posts_and_hide_drafts_and_embargoes(archive_site) -> None:
    base, ids = archive_site
    page = httpx.get(f"{base}/archive/posts/{ids['public']}")
    assert page.status_code == 200
    assert "<strong>weight</strong>" in page.text
    assert "https://example.org/report.pdf" in page.text and "Press office" in page.text
    french = httpx.get(f"{base}/archive/posts/{ids['public']}", headers={"Accept-Language": "fr"})
    assert "Public release (fr)" in french.text and "Plus d’informations" in french.text
    for hidden in ("draft", "embargoed"):
        missing = httpx.get(f"{base}/archive/posts/{ids[hidden]}?lang=fr")
        assert missing.status_code == 404 and "pas encore publique" in missing.text
        assert "Secret draft" not in missing.text and "Embargoed" not in missing.text
    assert httpx.get(f"{base}/archive/campaigns/{ids['sent']}").status_code == 200
    assert httpx.get(f"{base}/archive/campaigns/{ids['held']}").status_code == 404


def test_event_permalink_offers_an_ics_that_parses(archive_site) -> None:
    base, ids = archive_site
    page = httpx.get(f"{base}/archive/posts/{ids['event']}?lang=en")
    assert "17:00" in page.text  # the organisation's zone (Brussels) for a visitor
    response = httpx.get(f"{base}/archive/posts/{ids['event']}.ics")
    assert response.headers["content-type"].startswith("text/calendar")
    (event,) = Calendar.from_ical(response.content).walk("VEVENT")
    assert event.decoded("dtstart") == dt.datetime(2026, 10, 20, 15, 0, tzinfo=dt.UTC)
    assert httpx.get(f"{base}/archive/posts/{ids['public']}.ics").status_code == 404


def test_atom_feed_is_valid_xml_with_public_posts_only(archive_site) -> None:
    base, _ids = archive_site
    response = httpx.get(f"{base}/archive/feed.xml?lang=fr")
    assert response.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)  # noqa: S314 - our own server's output
    titles = [entry.find(f"{ATOM}title").text for entry in root.findall(f"{ATOM}entry")]
    assert sorted(titles) == ["Public release (fr)", "Webinar (fr)"]
    content = root.find(f"{ATOM}entry/{ATOM}content").text
    assert content.startswith("<p>")  # escaped HTML in the XML, real HTML once parsed


def test_archive_and_post_pages_offer_subscribing_and_the_other_language(archive_site) -> None:
    base, ids = archive_site
    for path in ("/archive", f"/archive/posts/{ids['public']}"):
        page = httpx.get(f"{base}{path}?lang=en")
        assert page.status_code == 200, path
        assert 'href="/subscribe?lang=en" id="subscribe-link"' in page.text, path
        assert f'href="{path}?lang=fr" lang="fr"' in page.text, path
    french = httpx.get(f"{base}/archive/posts/{ids['public']}?lang=fr").text
    assert 'href="/subscribe?lang=fr"' in french
    home = httpx.get(f"{base}/", headers={"accept-language": "fr"})
    assert 'href="/archive?lang=fr" id="archive-link"' in home.text
