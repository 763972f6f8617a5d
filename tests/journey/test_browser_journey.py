"""Acceptance: a real headless Chromium walks the whole journey, in English and in French.

Subscribe on the hosted page, the confirmation email arrives at the real SMTP test server,
open its link, confirm, change preferences, unsubscribe. Then the embeddable snippet, pasted
into a page served by a second server on another port (another origin), signs someone up.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from newsletter.subscribers.models import Subscriber, SubscriberStatus
from newsletter.subscribers.service import active_list_ids
from tests.journey.conftest import link_in

pytestmark = pytest.mark.slow

TEXT = {
    "en": {
        "done": "Check your inbox",
        "confirm": "Confirm my subscription",
        "confirmed": "Subscription confirmed",
        "prefs": "Manage my preferences",
        "save": "Save my preferences",
        "saved": "Your preferences have been saved.",
        "yes": "Yes, unsubscribe me",
        "gone": "You are unsubscribed",
        "topic": "Events and webinars",
    },
    "fr": {
        "done": "Consultez votre boîte de réception",
        "confirm": "Confirmer mon abonnement",
        "confirmed": "Abonnement confirmé",
        "prefs": "Gérer mes préférences",
        "save": "Enregistrer mes préférences",
        "saved": "Vos préférences ont été enregistrées.",
        "yes": "Oui, me désabonner",
        "gone": "Vous êtes désabonné·e",
        "topic": "Événements et webinaires",
    },
}


def watch_console(page) -> list[str]:
    problems: list[str] = []
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


@pytest.mark.parametrize("language", ["en", "fr"])
def test_whole_journey_in_a_real_browser(browser, start_service, language):
    # French also exercises the self-hosted proof-of-work solver on the hosted page.
    service = start_service(
        min_fill_seconds=1, altcha_enabled=language == "fr", altcha_max_number=3000
    )
    text = TEXT[language]
    context = browser.new_context(locale="fr-FR" if language == "fr" else "en-GB")
    page = context.new_page()
    problems = watch_console(page)
    try:
        page.goto(f"{service.url}/subscribe")
        assert page.locator("html").get_attribute("lang") == language
        header = page.eval_on_selector("header.site", "e => getComputedStyle(e).backgroundColor")
        assert header == "rgb(29, 60, 52)"  # the stylesheet from /static applied under the CSP
        page.fill("#email", f"walker-{language}@example.org")
        page.fill("#name", "Walker")
        page.check(f"label:has-text('{text['topic']}') input")
        page.wait_for_timeout(1100)  # a person takes longer than MIN_FILL_SECONDS
        page.click("button[type=submit]")
        page.wait_for_selector(f"text={text['done']}", timeout=20_000)

        [confirmation] = service.smtp.wait_for(1, timeout=20)
        page.goto(link_in(confirmation.message, "confirm"))
        with service.db() as session:
            assert session.scalar(select(Subscriber.status)) == SubscriberStatus.PENDING
        page.click(f"button:has-text('{text['confirm']}')")
        page.wait_for_selector(f"h1:has-text('{text['confirmed']}')")
        welcome = service.smtp.wait_for(2, timeout=20)[1].message
        assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

        page.click(f"a:has-text('{text['prefs']}')")
        page.fill("#name", "Walker Two")
        page.fill("#timezone", "Africa/Harare")
        page.check(f"label:has-text('{text['topic']}') input")
        page.uncheck("input[value='press-releases']")
        page.click(f"button:has-text('{text['save']}')")
        page.wait_for_selector(f"text={text['saved']}")
        with service.db() as session:
            person = session.scalar(select(Subscriber))
            assert (person.name, person.timezone) == ("Walker Two", "Africa/Harare")
            assert len(active_list_ids(session, person)) == 1

        https = re.search(r"<(https?://[^>]+)>", welcome["List-Unsubscribe"]).group(1)
        page.goto(https)
        with service.db() as session:
            assert session.scalar(select(Subscriber.status)) == SubscriberStatus.ACTIVE
        page.click(f"button:has-text('{text['yes']}')")
        page.wait_for_selector(f"h1:has-text('{text['gone']}')")
        with service.db() as session:
            assert session.scalar(select(Subscriber.status)) == SubscriberStatus.UNSUBSCRIBED
        assert not problems, problems  # no CSP violation, no script error
    finally:
        context.close()


def test_embedded_snippet_on_another_origin_signs_up(browser, start_service, live_server):
    service = start_service(altcha_enabled=True, altcha_max_number=3000, min_fill_seconds=1)
    snippet = service.client().get("/subscribe/embed.html").text
    assert snippet.startswith("<!--") and f"{service.url}/subscribe/embed" in snippet

    async def coalition_page(_request):
        return HTMLResponse(
            '<!doctype html><html><head><link rel="icon" href="data:,"></head><body>'
            f"<h1>Coalition</h1>{snippet}</body></html>"
        )

    website = live_server(Starlette(routes=[Route("/", coalition_page)]))
    assert website != service.url
    service.settings.subscribe_cors_origins = [website]
    context = browser.new_context()
    page = context.new_page()
    problems = watch_console(page)
    try:
        page.goto(website)
        page.fill("input[name=email]", "embedded@example.org")
        page.check("input[name=lists][value=press-releases]")  # nothing is ticked for them
        page.wait_for_timeout(1100)
        page.click("button[type=submit]")
        page.wait_for_selector("text=Check your inbox", timeout=20_000)
        assert page.url.startswith(service.url)
        [confirmation] = service.smtp.wait_for(1, timeout=20)
        assert "/confirm/" in link_in(confirmation.message, "confirm")
        with service.db() as session:
            person = session.scalar(select(Subscriber))
            assert person.consent_source == "embedded form"
        assert not problems, problems
    finally:
        context.close()


def test_snippet_from_an_origin_not_allowed_is_refused(browser, start_service, live_server):
    service = start_service()
    snippet = service.client().get("/subscribe/embed.html").text

    async def other_page(_request):
        return HTMLResponse(f"<!doctype html><html><body>{snippet}</body></html>")

    website = live_server(Starlette(routes=[Route("/", other_page)]))
    page = browser.new_page()
    try:
        page.goto(website)
        page.fill("input[name=email]", "embedded@example.org")
        page.click("button[type=submit]")
        page.wait_for_selector("text=This form may only be used", timeout=20_000)
    finally:
        page.close()
    with service.db() as session:
        assert session.scalar(select(Subscriber)) is None
