"""The forms without JavaScript (Tor Browser's safer mode), in a real Chromium with
JavaScript disabled, the proof of work switched on: subscribe (asked for the discreet
edition), confirm, change preferences and unsubscribe, all through the alternative address
the discreet mail links to (here the same server under another host name).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from newsletter.db import utcnow
from newsletter.registrations.models import Registration
from newsletter.subscribers.models import Subscriber, SubscriberStatus
from tests.discreet.helpers import NEUTRAL, assert_discreet, body_text
from tests.journey.conftest import link_in
from tests.registrations.helpers import online_webinar

pytestmark = pytest.mark.slow
SETTINGS = {k: v for k, v in NEUTRAL.items() if k != "alt_base_url"}


def _no_script_context(browser):
    return browser.new_context(java_script_enabled=False, locale="en-GB")


def test_subscribe_confirm_change_preferences_and_unsubscribe_without_javascript(
    browser, start_service
) -> None:
    service = start_service(
        altcha_enabled=True, altcha_max_number=3000, nojs_wait_seconds=3, **SETTINGS
    )
    alt = service.url.replace("127.0.0.1", "localhost")
    service.settings.alt_base_url = alt  # the "mirror": the same server, another address
    context = _no_script_context(browser)
    page = context.new_page()
    try:
        page.goto(f"{service.url}/subscribe")
        page.fill("#email", "quiet@example.org")
        page.check("input[name=lists][value=press-releases]")  # no topic is ticked for them
        page.check("input[name=discreet]")
        page.click("#subscribe-form button[type=submit]")
        # No solver ran: the form comes back filled in, asking for a short wait.
        assert "JavaScript is off" in page.inner_text("#nojs-wait")
        assert page.input_value("#email") == "quiet@example.org"
        assert page.is_checked("input[name=discreet]")
        page.click("#subscribe-form button[type=submit]")  # too soon: asked again
        page.wait_for_selector("#nojs-wait")
        with service.db() as session:
            assert session.scalar(select(Subscriber.id)) is None
        page.wait_for_timeout(3200)
        page.click("#subscribe-form button[type=submit]")
        page.wait_for_selector("text=Check your inbox")

        [confirmation] = service.smtp.wait_for(1, timeout=20)
        subject = str(confirmation.message["Subject"])
        assert_discreet(confirmation.message, subject, "Garden club", list_mail=False, alt=alt)
        confirm = link_in(confirmation.message, "confirm")
        assert confirm.startswith(f"{alt}/confirm/")
        page.goto(confirm)
        page.click("button:has-text('Confirm my subscription')")
        page.wait_for_selector("h1:has-text('Subscription confirmed')")
        welcome = service.smtp.wait_for(2, timeout=20)[1].message
        assert "text/html" not in [p.get_content_type() for p in welcome.walk()]

        page.click("a:has-text('Manage my preferences')")
        assert page.url.startswith(f"{alt}/preferences/")  # the page's links stay at the mirror
        page.fill("#name", "Q.")
        page.check("input[name=low_bandwidth]")
        page.click("button:has-text('Save my preferences')")
        page.wait_for_selector("#saved")
        with service.db() as session:
            person = session.scalar(select(Subscriber))
            assert (person.name, person.discreet, person.low_bandwidth) == ("Q.", True, True)
            assert person.status == SubscriberStatus.ACTIVE

        unsubscribe = re.search(rf"{re.escape(alt)}/unsubscribe/\S+", body_text(welcome))
        page.goto(unsubscribe.group(0))
        page.click("button:has-text('Yes, unsubscribe me')")
        page.wait_for_selector("h1:has-text('You are unsubscribed')")
        with service.db() as session:
            assert session.scalar(select(Subscriber.status)) == SubscriberStatus.UNSUBSCRIBED
    finally:
        context.close()


def test_an_event_registration_form_works_without_javascript(browser, start_service) -> None:
    service = start_service(altcha_enabled=True, altcha_max_number=3000, nojs_wait_seconds=1)
    with service.db.begin() as session:
        now = utcnow()
        public_id = online_webinar(session, now + dt.timedelta(days=5), now).public_id
    context = _no_script_context(browser)
    page = context.new_page()
    try:
        page.goto(f"{service.url}/archive/posts/{public_id}")
        page.fill("#reg-name", "Rosa")
        page.fill("#reg-email", "rosa@example.org")
        page.select_option("#reg-timezone", "America/Lima")  # a list: no script detects it
        page.click("#register-form button[type=submit]")
        assert "JavaScript is off" in page.inner_text("#form-error")
        assert page.input_value("#reg-email") == "rosa@example.org"
        page.wait_for_timeout(1200)
        page.click("#register-form button[type=submit]")
        page.wait_for_selector("text=Thank you for registering")
        with service.db() as session:
            registration = session.scalar(select(Registration))
            assert (registration.email, registration.timezone) == (
                "rosa@example.org",
                "America/Lima",
            )
    finally:
        context.close()
