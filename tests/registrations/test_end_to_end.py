"""A webinar, end to end: readers in Kinshasa, New York and Lima register over HTTP, real
Celery workers send their reminders at start − 24 h and start − 1 h (each once, with the
beat's task run twice at once), and a cancellation reaches each of them once.

The clock of every process is the test's: the web app and each worker fleet run with
``CLOCK_OFFSET_SECONDS`` set so that "now" is the moment the step needs.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from newsletter.content.models import Post
from newsletter.registrations.models import (
    MessageStatus,
    Registration,
    RegistrationMessage,
)
from newsletter.staff import audit, event_admin
from newsletter.web.app import create_app
from tests.conftest import REDIS_FIXTURE_DB, REDIS_HOST_URL, clock_offset_to, make_test_settings
from tests.registrations.helpers import JOIN_URL, READERS, calendar_of, online_webinar, text_of

pytestmark = pytest.mark.slow
START = dt.datetime(2027, 1, 20, 14, 0, tzinfo=dt.UTC)  # 15:00 Brussels
_TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
_STAMP = re.compile(r'name="form_stamp" value="([^"]+)"')


def _register_over_http(base_url: str, public_id: str, reader: tuple[str, str, str, str]) -> str:
    name, email, language, zone = reader
    with httpx.Client(base_url=base_url, timeout=10) as client:
        page = client.get(f"/archive/posts/{public_id}?lang={language}")
        assert page.status_code == 200
        assert JOIN_URL not in page.text  # the joining link is for registrants only
        assert 'id="register-form"' in page.text
        answer = client.post(
            f"/events/{public_id}/register",
            data={
                "csrf_token": _TOKEN.search(page.text).group(1),
                "form_stamp": _STAMP.search(page.text).group(1),
                "name": name,
                "email": email,
                "language": language,
                "timezone": zone,
            },
        )
        assert answer.status_code == 200, answer.text
        return answer.text


def _tick_twice_at(
    fleet_factory, moment: dt.datetime, message_ids: list[int] | None = None, workers: int = 2
):
    """Workers on a clock at ``moment``; the beat's task sent twice at the same time."""
    fleet = fleet_factory(workers=workers, clock_offset_seconds=clock_offset_to(moment))
    try:
        results = [fleet.app.send_task("newsletter.event_tick") for _ in range(2)]
        if message_ids:
            results += [
                fleet.app.send_task("newsletter.send_event_messages", args=[message_ids])
                for _ in range(2)
            ]
        return [r.get(timeout=60) for r in results]
    finally:
        fleet.stop()


def _reminder_rows(factory, offset: int) -> list[RegistrationMessage]:
    with factory() as session:
        return list(
            session.scalars(
                select(RegistrationMessage).where(
                    RegistrationMessage.key == f"reminder:{offset}:{int(START.timestamp())}"
                )
            )
        )


@pytest.mark.timeout(400)  # five worker start-ups on a shared two-core machine
def test_webinar_registrations_reminders_and_cancellation_across_three_zones(
    tmp_path, pg_url, committed_db, smtp_server, redis_client, live_server, fleet_factory
) -> None:
    registration_day = START - dt.timedelta(days=4)
    settings = make_test_settings(
        tmp_path / "web",
        database_url=pg_url,
        smtp_url=smtp_server.url,
        redis_url=f"{REDIS_HOST_URL}/{REDIS_FIXTURE_DB}",
        min_fill_seconds=0,
        clock_offset_seconds=clock_offset_to(registration_day),
    )
    app = create_app(settings)
    settings.base_url = live_server(app)
    with committed_db.begin() as session:
        post = online_webinar(session, START, registration_day)
        public_id, post_id = post.public_id, post.id

    for reader in READERS:
        page = _register_over_http(settings.base_url, public_id, reader)
        assert "confirmation" in page or "confirmation" in page.lower()
    confirmations = {m.rcpt_tos[0]: m.message for m in smtp_server.wait_for(3, timeout=20)}
    for _name, email, _language, zone in READERS:
        event = calendar_of(confirmations[email]).walk("VEVENT")[0]
        assert event.decoded("dtstart") == START
        local = START.astimezone(ZoneInfo(zone)).strftime("%H:%M")
        assert local in text_of(confirmations[email])
        assert JOIN_URL in text_of(confirmations[email])
    app.state.engine.dispose()

    day_before = START - dt.timedelta(hours=24)
    _tick_twice_at(fleet_factory, day_before - dt.timedelta(minutes=2), workers=1)
    assert len(smtp_server.messages) == 3 and not _reminder_rows(committed_db, 1440)

    _tick_twice_at(fleet_factory, day_before + dt.timedelta(seconds=5))
    reminders = smtp_server.wait_for(6, timeout=20)[3:]
    assert sorted(m.rcpt_tos[0] for m in reminders) == sorted(r[1] for r in READERS)
    rows = _reminder_rows(committed_db, 1440)
    assert {r.status for r in rows} == {MessageStatus.SENT}
    for row in rows:  # left at start − 24 h (the workers' clock), not before, not much after
        assert day_before <= row.sent_at < day_before + dt.timedelta(minutes=2)

    hour_before = START - dt.timedelta(hours=1)
    _tick_twice_at(fleet_factory, hour_before - dt.timedelta(minutes=2), workers=1)
    assert len(smtp_server.messages) == 6
    _tick_twice_at(fleet_factory, hour_before + dt.timedelta(seconds=5))
    assert len(smtp_server.wait_for(9, timeout=20)) == 9
    for row in _reminder_rows(committed_db, 60):
        assert hour_before <= row.sent_at < hour_before + dt.timedelta(minutes=2)

    with committed_db.begin() as session:
        post = session.get(Post, post_id)
        count = event_admin.audience_count(session, post, "cancel")
        assert count == 3
        event_admin.notify(
            session,
            audit.Actor("cli"),
            post,
            "cancel",
            confirmed_count=count,
            text="The venue's network is down; we will set a new date.",
            now=hour_before + dt.timedelta(minutes=10),
        )
        ids = list(session.scalars(select(RegistrationMessage.id).where(
            RegistrationMessage.key.like("cancel:%")
        )))  # fmt: skip
    _tick_twice_at(fleet_factory, hour_before + dt.timedelta(minutes=10), ids, workers=1)
    cancels = smtp_server.wait_for(12, timeout=20)[9:]
    time.sleep(1)
    assert len(smtp_server.messages) == 12
    assert sorted(m.rcpt_tos[0] for m in cancels) == sorted(r[1] for r in READERS)
    for message in cancels:
        assert str(calendar_of(message.message)["method"]) == "CANCEL"
    with committed_db() as session:
        assert session.scalar(select(Registration.id).limit(1)) is not None
