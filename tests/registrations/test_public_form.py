"""The public registration form in Chromium: the browser's time zone is detected, the
joining link stays off the page, and the alert's form opens the page filled in."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlalchemy import select

from newsletter.registrations.models import Registration
from newsletter.web.app import create_app
from tests.conftest import REDIS_FIXTURE_DB, REDIS_HOST_URL, clock_offset_to, make_test_settings
from tests.registrations.helpers import JOIN_URL, calendar_of, online_webinar

pytestmark = pytest.mark.slow
START = dt.datetime(2027, 1, 20, 14, 0, tzinfo=dt.UTC)
NOW = START - dt.timedelta(days=5)


def _app(tmp_path, pg_url, smtp_server):
    settings = make_test_settings(
        tmp_path,
        database_url=pg_url,
        smtp_url=smtp_server.url,
        redis_url=f"{REDIS_HOST_URL}/{REDIS_FIXTURE_DB}",
        min_fill_seconds=0,
        clock_offset_seconds=clock_offset_to(NOW),
    )
    return settings, create_app(settings)


def test_a_reader_in_lima_registers_in_chromium_with_the_zone_detected(
    tmp_path, pg_url, committed_db, smtp_server, redis_client, live_server, browser
) -> None:
    settings, app = _app(tmp_path, pg_url, smtp_server)
    settings.base_url = live_server(app)
    with committed_db.begin() as session:
        public_id = online_webinar(session, START, NOW).public_id
    context = browser.new_context(timezone_id="America/Lima", locale="es-PE")
    page = context.new_page()
    try:
        page.goto(f"{settings.base_url}/archive/posts/{public_id}?lang=en")
        assert JOIN_URL not in page.content()
        page.wait_for_function(
            "document.querySelector('#reg-timezone').value === 'America/Lima'", timeout=5000
        )
        page.fill("#reg-name", "Rosa Quispe")
        page.fill("#reg-email", "rosa@lima.example")
        page.click("#register-form button[type=submit]")
        page.wait_for_selector("text=Thank you for registering")
    finally:
        context.close()
    with committed_db() as session:
        registration = session.scalar(select(Registration))
        assert registration.timezone == "America/Lima"
    (received,) = smtp_server.wait_for(1, timeout=15)
    assert "09:00" in received.message.get_body(("plain",)).get_content()
    event = calendar_of(received.message).walk("VEVENT")[0]
    assert event.decoded("dtstart") == START
    app.state.engine.dispose()


def test_the_alerts_form_only_fills_the_page_in(
    tmp_path, pg_url, committed_db, smtp_server, redis_client, live_server
) -> None:
    settings, app = _app(tmp_path, pg_url, smtp_server)
    settings.base_url = live_server(app)
    with committed_db.begin() as session:
        public_id = online_webinar(session, START, NOW).public_id
    with httpx.Client(base_url=settings.base_url, timeout=10) as client:
        page = client.post(
            f"/events/{public_id}/register/start",
            data={"name": "Dana Ortiz", "email": "dana@newyork.example", "language": "fr"},
        )
    assert page.status_code == 200
    assert 'value="dana@newyork.example"' in page.text
    assert '<option value="fr" selected>' in page.text
    with committed_db() as session:
        assert session.scalar(select(Registration)) is None
    assert smtp_server.messages == []
    app.state.engine.dispose()
