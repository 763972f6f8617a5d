"""Confirm, unsubscribe (page and RFC 8058) and the preference centre over real HTTP."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from newsletter.links import UnsubscribeScope, preferences_url, unsubscribe_url
from newsletter.subscribers.models import MailingList, Subscriber, SubscriberStatus, Suppression
from newsletter.tokens import signer
from tests.journey.conftest import Service, form_values, link_in
from tests.journey.test_subscribe_http import api

pytestmark = pytest.mark.date_sensitive


def pending(service: Service, email: str = "ada@example.org", language: str = "en") -> str:
    """Sign up through the API; return the confirmation link from the email."""
    assert (
        api(
            service, {"email": email, "language": language, "lists": ["press-releases", "events"]}
        ).status_code
        == 202
    )
    [received] = [m for m in service.smtp.wait_for(1, timeout=20) if email in m.rcpt_tos]
    return link_in(received.message, "confirm")


def subscriber(service: Service) -> Subscriber:
    with service.db() as session:
        return session.scalar(select(Subscriber))


def confirmed(service: Service) -> Subscriber:
    link = pending(service)
    with service.client() as client:
        page = client.get(link)
        client.post(link, data=form_values(page.text))
    return subscriber(service)


def test_confirm_get_changes_nothing_and_post_confirms_then_welcomes(service):
    link = pending(service)
    with service.client() as client:
        page = client.get(link)
        assert page.status_code == 200
        assert subscriber(service).status == SubscriberStatus.PENDING
        done = client.post(link, data=form_values(page.text))
    assert done.status_code == 200
    assert subscriber(service).status == SubscriberStatus.ACTIVE
    welcome = service.smtp.wait_for(2, timeout=20)[1].message
    assert "Welcome" in welcome["Subject"]
    assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_confirm_post_without_csrf_is_refused(service):
    link = pending(service)
    with service.client() as client:
        assert client.post(link, data={}).status_code == 403
    assert subscriber(service).status == SubscriberStatus.PENDING


def test_expired_and_tampered_confirm_links_are_refused_clearly(service):
    link = pending(service)
    person = subscriber(service)
    expired = signer(service.settings.secret_key, "confirm").sign(
        person.public_id, max_age_seconds=1, now=1000
    )
    with service.client(headers={"accept-language": "fr"}) as client:
        page = client.get(f"/confirm/{expired}")
        assert page.status_code == 410
        assert "Ce lien de confirmation a expiré" in page.text
        tampered = link[:-3] + ("xyz" if not link.endswith("xyz") else "abc")
        assert client.get(tampered).status_code == 404
        csrf = form_values(client.get(link).text)
        assert client.post(f"/confirm/{expired}", data=csrf).status_code == 410
    assert subscriber(service).status == SubscriberStatus.PENDING


def test_unsubscribe_get_changes_nothing(service):
    person = confirmed(service)
    url = unsubscribe_url(service.settings, UnsubscribeScope(person.public_id))
    with service.client() as client:
        page = client.get(url)
    assert page.status_code == 200
    assert "Yes, unsubscribe me" in page.text
    assert subscriber(service).status == SubscriberStatus.ACTIVE


def test_rfc8058_one_click_post_needs_no_cookie_and_no_csrf(service):
    person = confirmed(service)
    url = unsubscribe_url(service.settings, UnsubscribeScope(person.public_id))
    response = service.client().post(
        url,
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    after = subscriber(service)
    assert after.status == SubscriberStatus.UNSUBSCRIBED
    assert after.status_reason == "one-click unsubscribe (RFC 8058)"


def test_one_list_unsubscribe_from_the_page_needs_csrf(service):
    person = confirmed(service)
    with service.db() as session:
        events = session.scalar(select(MailingList).where(MailingList.slug == "events"))
    url = unsubscribe_url(service.settings, UnsubscribeScope.of(person.public_id, [events.id]))
    with service.client() as client:
        page = client.get(url)
        assert "Events and webinars" in page.text
        assert client.post(url, data={}).status_code == 403
        done = client.post(url, data=form_values(page.text))
    assert done.status_code == 200
    from newsletter.subscribers.service import active_list_ids

    with service.db() as session:
        assert active_list_ids(session, session.get(Subscriber, person.id)) == {events.id - 1}
        assert session.get(Subscriber, person.id).status == SubscriberStatus.ACTIVE


def test_tampered_unsubscribe_token_is_404_and_changes_nothing(service):
    person = confirmed(service)
    url = unsubscribe_url(service.settings, UnsubscribeScope(person.public_id))
    bad = url[:-2] + ("AA" if not url.endswith("AA") else "BB")
    with service.client() as client:
        assert client.get(bad).status_code == 404
        assert (
            client.post(
                bad,
                content=b"List-Unsubscribe=One-Click",
                headers={"content-type": "application/x-www-form-urlencoded"},
            ).status_code
            == 404
        )
    assert subscriber(service).status == SubscriberStatus.ACTIVE


def test_preference_centre_export_and_erase(service):
    person = confirmed(service)
    url = preferences_url(service.settings, person.public_id)
    with service.client() as client:
        page = client.get(url)
        csrf = form_values(page.text)
        saved = client.post(
            url,
            data=csrf
            | {
                "name": "Ada L.",
                "language": "fr",
                "timezone": "Europe/Brussels",
                "lists": "events",
            },
        )
        assert saved.status_code == 200 and "Vos préférences ont été enregistrées" in saved.text
        bad_zone = client.post(url, data=csrf | {"timezone": "Mars/Olympus"})
        assert bad_zone.status_code == 422
        export = client.post(f"{url}/export", data=csrf)
        data = json.loads(export.text)
        assert data["email"] == "ada@example.org" and data["name"] == "Ada L."
        assert export.headers["content-disposition"].startswith("attachment")
        refused = client.post(f"{url}/erase", data=csrf)
        assert refused.status_code == 422
        erased = client.post(f"{url}/erase", data=csrf | {"confirm": "yes"})
        assert erased.status_code == 200
        assert client.get(url).status_code == 404  # the old link names nobody now
    after = subscriber(service)
    assert after.status == SubscriberStatus.ERASED and after.name == ""
    assert "ada@example.org" not in after.email
    with service.db() as session:
        assert session.scalar(select(Suppression.reason)) == "erased"
    assert api(service, {"email": "ada@example.org", "lists": ["events"]}).status_code == 202
    assert len(service.smtp.wait_for(2, timeout=20)) == 2  # confirm + welcome; nothing new
