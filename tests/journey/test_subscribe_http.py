"""Sign-up over real HTTP: hosted form, JSON API, no enumeration, validation, CORS."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from newsletter.subscribers.models import Subscriber, SubscriberStatus
from tests.journey.conftest import Service, form_values, link_in


def subscribe_on_page(service: Service, email: str, client=None, **extra: str):
    client = client or service.client()
    page = client.get("/subscribe")
    assert page.status_code == 200
    data = (
        form_values(page.text)
        | {"email": email, "name": "Test", "language": "en", "lists": "press-releases"}
        | extra
    )
    return client.post("/subscribe", data=data)


def count_subscribers(service: Service) -> int:
    with service.db() as session:
        return session.scalar(select(func.count()).select_from(Subscriber))


def api(service: Service, body: object, **headers: str):
    with service.client() as client:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return client.post(
            "/api/v1/subscriptions",
            content=content,
            headers={"content-type": "application/json"} | headers,
        )


def test_hosted_form_creates_a_pending_sign_up_and_sends_the_confirmation(service):
    response = subscribe_on_page(service, "Ada@Example.ORG")
    assert response.status_code == 200
    assert "Check your inbox" in response.text
    [received] = service.smtp.wait_for(1, timeout=20)
    assert received.rcpt_tos == ("Ada@example.org",)
    assert "/confirm/" in link_in(received.message, "confirm")
    with service.db() as session:
        subscriber = session.scalar(select(Subscriber))
        assert subscriber.status == SubscriberStatus.PENDING
        assert subscriber.consent_source == "hosted form"
        assert subscriber.consent_ip == "127.0.0.0"


def test_hosted_form_without_the_csrf_token_is_refused(service):
    with service.client() as client:
        client.get("/subscribe")
        response = client.post("/subscribe", data={"email": "ada@example.org"})
    assert response.status_code == 403
    assert count_subscribers(service) == 0


def test_identical_answers_for_new_pending_and_active_addresses(service):
    first = api(service, {"email": "new@example.org", "lists": ["events"]})
    pending = api(service, {"email": "new@example.org", "lists": ["events"]})
    with service.db.begin() as session:
        subscriber = session.scalar(select(Subscriber))
        subscriber.status = SubscriberStatus.ACTIVE
    active = api(service, {"email": "new@example.org", "lists": ["events"]})
    answers = {
        (r.status_code, r.text, r.headers.get("content-type")) for r in (first, pending, active)
    }
    assert len(answers) == 1
    assert first.status_code == 202
    pages = [subscribe_on_page(service, "page@example.org") for _ in range(2)]
    assert pages[0].text == pages[1].text
    kinds = sorted(m.message["Subject"] for m in service.smtp.wait_for(5, timeout=20))
    assert sum("already subscribed" in kind for kind in kinds) == 1  # the active address


def test_form_errors_are_clear_translated_and_store_nothing(service):
    with service.client(headers={"accept-language": "fr-CH, fr;q=0.9"}) as client:
        response = subscribe_on_page(service, "not an address", client=client, language="")
    assert response.status_code == 422
    assert "Cela ne ressemble pas à une adresse e-mail" in response.text
    assert 'value="not an address"' in response.text  # what the person typed is kept
    assert count_subscribers(service) == 0


def test_api_refuses_malformed_and_over_long_input_with_4xx_and_stores_nothing(service):
    cases = [
        ({"email": "nobody"}, 422, "email"),
        ({"email": "a" * 300 + "@example.org"}, 422, "email"),
        ({"email": "ok@example.org", "name": "x" * 201}, 422, "name"),
        ({"email": "ok@example.org", "lists": ["nope"]}, 422, "lists"),
        ({"email": "ok@example.org", "lists": "x" * 70}, 422, "lists"),
        ({"email": ["ok@example.org"]}, 422, "email"),
        ([1, 2], 400, ""),
    ]
    for body, status, field in cases:
        response = api(service, body)
        assert response.status_code == status, body
        assert response.json()["error"]["field"] == field
        assert response.json()["error"]["message"]
    assert api(service, b"{not json").status_code == 400
    assert api(service, b'{"email": "' + b"a" * 20_000 + b'"}').status_code == 413
    french = api(service, {"email": "nobody"}, **{"accept-language": "fr"})
    assert "adresse e-mail" in french.json()["error"]["message"]
    assert count_subscribers(service) == 0
    assert service.smtp.messages == []


def test_control_characters_are_stripped_from_names(service):
    response = api(
        service,
        {"email": "ctl@example.org", "name": "Ada\r\nBcc: x\x1b[31m\u202e", "lists": ["events"]},
    )
    assert response.status_code == 202
    with service.db() as session:
        assert session.scalar(select(Subscriber.name)) == "Ada Bcc: x[31m"


def test_api_language_decides_the_email_language(service):
    api(service, {"email": "zoe@example.org", "language": "fr", "lists": ["events"]})
    [received] = service.smtp.wait_for(1, timeout=20)
    assert "Merci de confirmer" in received.message["Subject"]


def test_cors_allows_only_configured_origins(start_service):
    service = start_service(subscribe_cors_origins=["https://www.coalition.example"])
    with service.client() as client:
        allowed = client.options(
            "/api/v1/subscriptions", headers={"origin": "https://www.coalition.example"}
        )
        other = client.options("/api/v1/subscriptions", headers={"origin": "https://evil.example"})
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == "https://www.coalition.example"
    assert other.status_code == 403
    assert "access-control-allow-origin" not in other.headers
    refused = api(service, {"email": "x@example.org"}, origin="https://evil.example")
    assert refused.status_code == 403
    accepted = api(
        service,
        {"email": "x@example.org", "lists": ["events"]},
        origin="https://www.coalition.example",
    )
    assert accepted.status_code == 202
    assert accepted.headers["access-control-allow-origin"] == "https://www.coalition.example"
    assert count_subscribers(service) == 1


def test_pages_are_csp_compatible_and_styled_from_static(service):
    with service.client() as client:
        page = client.get("/subscribe")
        css = client.get("/static/css/site.css")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert "<style" not in page.text and "<script>" not in page.text and " style=" not in page.text
    assert css.status_code == 200 and ".hp" in css.text
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
