"""Alert and digest emails: composed by the sending engine, read well as text, fit a phone.

Each template's HTML is rendered in headless Chromium at 375 px and at desktop width;
screenshots are saved in the test's temp folder and the 375 px page must not scroll sideways.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from newsletter.campaigns.models import Campaign
from newsletter.content.alerts import publish_with_alert
from newsletter.content.digest import Period, create_digest
from newsletter.content.models import PostKind
from newsletter.content.service import DownloadInput, TranslationInput, publish_post
from newsletter.rendering.compose import preview
from tests.conftest import make_test_settings
from tests.content.helpers import EN, FR, city_hour, press_release, webinar, webinar_start
from tests.sending.helpers import add_list

pytestmark = pytest.mark.date_sensitive

NOW = dt.datetime(2026, 11, 3, 9, 30, tzinfo=dt.UTC)
LONG_URL = "https://example.org/" + "a-very-long-path-segment-" * 8 + "report.pdf"


@pytest.fixture
def campaigns(db_session: Session, tmp_path: Path) -> tuple[object, dict[str, Campaign]]:
    settings = make_test_settings(
        tmp_path, event_city_line="America/New_York=New York,Europe/London,Africa/Harare"
    )
    for slug in ("press-releases", "events", "monthly-digest"):
        add_list(db_session, slug)
    english_only = TranslationInput(
        "en", EN.title, EN.summary, EN.body_markdown + f"\n\nFull text: {LONG_URL}"
    )
    alert_post = press_release(
        db_session,
        english_only,
        contacts="Press office, +00 0000 0000",
        downloads=[DownloadInput("Full report (PDF)", LONG_URL)],
    )
    (alert_id,) = publish_with_alert(settings, db_session, alert_post, NOW)
    (event_id,) = publish_with_alert(
        settings, db_session, webinar(db_session, webinar_start(NOW)), NOW
    )
    for index, kind in enumerate([PostKind.PRESS_RELEASE, PostKind.REPORT, PostKind.STATEMENT]):
        post = press_release(db_session, EN, FR, kind=kind)
        publish_post(post, at=dt.datetime(2026, 10, 5 + index, tzinfo=dt.UTC), now=NOW)
    db_session.flush()
    digest = create_digest(settings, db_session, Period(2026, 10), NOW)
    found = {
        "alert": db_session.get(Campaign, alert_id),
        "event": db_session.get(Campaign, event_id),
        "digest": digest,
    }
    return settings, found


def test_text_parts_read_well_alone_with_the_footer_links(campaigns) -> None:
    settings, found = campaigns
    for name, campaign in found.items():
        for language in ("en", "fr"):
            shown = preview(settings, campaign, language)
            assert not re.search(r"<[a-z/][^>]*>", shown.text), (name, language)
            assert "/unsubscribe/" in shown.text and "/preferences/" in shown.text
            assert f"/archive/campaigns/{campaign.public_id}" in shown.text
            assert "\n\n\n\n" not in shown.text
            assert 'href="http://127.0.0.1:8000/unsubscribe/' in shown.html
            assert settings.org_name in shown.html
    french_alert = preview(settings, found["alert"], "fr")
    assert french_alert.subject == f"Communiqué de presse\u00a0: {EN.title}"
    # French typography: a no-break space before the colon after a label, none in English
    assert "\nLire en ligne\u00a0: http://127.0.0.1:8000/archive/posts/" in french_alert.text
    assert "Read it online: http://" in preview(settings, found["alert"], "en").text
    assert "pas encore disponible dans votre langue\u00a0; le voici en anglais" in french_alert.text
    digest = preview(settings, found["digest"], "fr").text
    order = [digest.index(h) for h in ("COMMUNIQUÉS DE PRESSE", "DÉCLARATIONS", "RAPPORTS")]
    assert order == sorted(order)
    event = preview(settings, found["event"], "en").text
    start = webinar_start(NOW)
    new_york, harare = city_hour(start, "America/New_York"), city_hour(start, "Africa/Harare")
    assert f"{new_york} New York | 16:00 London | {harare} Harare" in event
    assert "Add to your calendar (.ics): http://127.0.0.1:8000/archive/posts/" in event


@pytest.mark.parametrize("name", ["alert", "event", "digest"])
@pytest.mark.parametrize("language", ["en", "fr"])
def test_html_fits_a_phone_and_a_desktop(campaigns, browser, tmp_path, name, language) -> None:
    settings, found = campaigns
    html = preview(settings, found[name], language).html
    for width in (375, 1024):
        page = browser.new_page(viewport={"width": width, "height": 800})
        try:
            page.set_content(html, wait_until="load")
            page.screenshot(path=str(tmp_path / f"{name}-{language}-{width}.png"), full_page=True)
            scroll_width = page.evaluate("document.documentElement.scrollWidth")
            content_width = page.evaluate(
                "document.querySelector('.wrapper').getBoundingClientRect().width"
            )
        finally:
            page.close()
        assert scroll_width <= width, f"{name}/{language} scrolls sideways at {width}px"
        assert content_width <= 600
    assert (tmp_path / f"{name}-{language}-375.png").stat().st_size > 1000
