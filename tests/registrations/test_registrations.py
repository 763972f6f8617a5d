"""Registrations on PostgreSQL and a real SMTP server, driven with explicit instants."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from newsletter.content.service import EventInput
from newsletter.registrations import service
from newsletter.registrations.delivery import deliver, deliver_due
from newsletter.registrations.models import (
    Registration,
    RegistrationMessage,
    RegistrationStatus,
)
from newsletter.registrations.reminders import plan_reminders
from newsletter.registrations.service import RegistrationError, RegistrationInput
from newsletter.registrations.tick import event_tick
from tests.conftest import make_test_settings
from tests.registrations.helpers import (
    JOIN_URL,
    READERS,
    calendar_of,
    online_webinar,
    register_readers,
    text_of,
)

START = dt.datetime(2027, 1, 20, 14, 0, tzinfo=dt.UTC)  # 15:00 Brussels and Kinshasa
NOW = START - dt.timedelta(days=5)


@pytest.fixture
def settings(tmp_path, pg_url, smtp_server):
    return make_test_settings(
        tmp_path, database_url=pg_url, smtp_url=smtp_server.url, languages="en,fr"
    )


def _clock(instant: dt.datetime):
    return lambda: instant


def _statuses(factory) -> dict[str, int]:
    with factory() as session:
        rows = session.execute(
            select(RegistrationMessage.status, func.count()).group_by(RegistrationMessage.status)
        ).all()
    return {str(status): count for status, count in rows}


def test_confirmation_attaches_an_ics_at_the_right_instant_for_every_zone(
    settings, committed_db, smtp_server
) -> None:
    with committed_db.begin() as session:
        post = online_webinar(session, START, NOW)
        register_readers(session, post, NOW)
    report = deliver_due(settings, committed_db, _clock(NOW))
    assert report.sent == 3
    received = {m.rcpt_tos[0]: m.message for m in smtp_server.wait_for(3)}
    expected_local = {
        "Africa/Kinshasa": "15:00",
        "America/New_York": "09:00",
        "America/Lima": "09:00",
    }
    for _name, email, _language, zone in READERS:
        message = received[email]
        calendar = calendar_of(message)
        assert str(calendar["method"]) == "REQUEST"
        (event,) = calendar.walk("VEVENT")
        start = event.decoded("dtstart")
        assert start == START
        assert start.astimezone(ZoneInfo(zone)).strftime("%H:%M") == expected_local[zone]
        assert event.decoded("dtend") - start == dt.timedelta(minutes=90)
        assert int(event["sequence"]) == 0
        assert JOIN_URL in text_of(message)
        assert expected_local[zone] in text_of(message)
    assert str(received["aline@kinshasa.example"]["Subject"]).startswith("Inscription confirmée")
    assert "Webinaire" in str(received["aline@kinshasa.example"]["Subject"])
    uids = {str(calendar_of(m).walk("VEVENT")[0]["uid"]) for m in received.values()}
    assert len(uids) == 1


def test_capacity_puts_the_rest_on_a_waiting_list_and_a_cancellation_frees_a_seat(
    settings, committed_db, smtp_server
) -> None:
    with committed_db.begin() as session:
        post = online_webinar(session, START, NOW, capacity=2)
        ids = register_readers(session, post, NOW)
        statuses = [session.get(Registration, i).status for i in ids]
    assert statuses == [RegistrationStatus.REGISTERED] * 2 + [RegistrationStatus.WAITLISTED]
    deliver_due(settings, committed_db, _clock(NOW))
    waiting = {m.rcpt_tos[0]: m.message for m in smtp_server.wait_for(3)}["rosa@lima.example"]
    assert "waiting list" in text_of(waiting)
    assert JOIN_URL not in text_of(waiting)
    assert not [p for p in waiting.walk() if p.get_content_type() == "text/calendar"]
    with committed_db.begin() as session:
        service.cancel_registration(session, session.get(Registration, ids[0]), NOW)
        assert session.get(Registration, ids[2]).status == RegistrationStatus.REGISTERED
    deliver_due(settings, committed_db, _clock(NOW))
    promoted = smtp_server.wait_for(4)[3].message
    assert promoted["To"] == "rosa@lima.example"
    assert JOIN_URL in text_of(promoted)
    assert calendar_of(promoted).walk("VEVENT")[0].decoded("dtstart") == START


def test_reminders_come_due_at_start_minus_24h_and_1h_once_each(
    settings, committed_db, smtp_server
) -> None:
    with committed_db.begin() as session:
        post = online_webinar(session, START, NOW)
        register_readers(session, post, NOW)
    event_tick(settings, committed_db, _clock(NOW))  # the three confirmations
    assert len(smtp_server.wait_for(3)) == 3
    day_before = START - dt.timedelta(hours=24)
    event_tick(settings, committed_db, _clock(day_before - dt.timedelta(seconds=1)))
    assert len(smtp_server.messages) == 3
    for _ in range(2):  # two beats at the same minute
        event_tick(settings, committed_db, _clock(day_before))
    reminders = smtp_server.wait_for(6)[3:]
    assert sorted(m.rcpt_tos[0] for m in reminders) == sorted(r[1] for r in READERS)
    subjects = {m.rcpt_tos[0]: str(m.message["Subject"]) for m in reminders}
    assert "starts in 24 hours" in subjects["dana@newyork.example"]
    hour_before = START - dt.timedelta(hours=1)
    event_tick(settings, committed_db, _clock(hour_before - dt.timedelta(minutes=1)))
    assert len(smtp_server.messages) == 6
    event_tick(settings, committed_db, _clock(hour_before + dt.timedelta(seconds=30)))
    event_tick(settings, committed_db, _clock(hour_before + dt.timedelta(minutes=1)))
    assert len(smtp_server.wait_for(9)) == 9
    event_tick(settings, committed_db, _clock(START + dt.timedelta(hours=2)))
    assert len(smtp_server.messages) == 9
    assert _statuses(committed_db) == {"sent": 9}


def test_two_concurrent_deliveries_of_the_same_rows_send_each_once(
    settings, committed_db, smtp_server
) -> None:
    with committed_db.begin() as session:
        post = online_webinar(session, START, NOW)
        register_readers(session, post, NOW)
        ids = list(session.scalars(select(RegistrationMessage.id)))
    reports = []
    threads = [
        threading.Thread(
            target=lambda: reports.append(deliver(settings, committed_db, ids, _clock(NOW)))
        )
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(r.sent for r in reports) == 3
    assert sum(r.lost_claims for r in reports) == 3
    assert len(smtp_server.messages) == 3


def test_a_late_registrant_skips_reminders_whose_instant_had_passed(db_session) -> None:
    post = online_webinar(db_session, START, NOW)
    late = START - dt.timedelta(hours=3)
    register_readers(db_session, post, late, READERS[:1])
    assert plan_reminders(db_session, START - dt.timedelta(minutes=59)) == 1
    keys = db_session.scalars(select(RegistrationMessage.key)).all()
    assert sorted(keys) == ["confirm", f"reminder:60:{int(START.timestamp())}"]


def test_moving_the_event_sends_the_same_uid_with_a_higher_sequence_and_new_reminders(
    settings, committed_db, smtp_server
) -> None:
    with committed_db.begin() as session:
        post = online_webinar(session, START, NOW)
        register_readers(session, post, NOW)
        post_id = post.id
    deliver_due(settings, committed_db, _clock(NOW))
    first = smtp_server.wait_for(3)
    uid = str(calendar_of(first[0].message).walk("VEVENT")[0]["uid"])
    later = START + dt.timedelta(days=2)
    with committed_db.begin() as session:
        from newsletter.content.models import Post

        told = service.reschedule_event(
            session,
            session.get(Post, post_id),
            EventInput(later, "Europe/Brussels", duration_minutes=90, online_url=JOIN_URL),
            NOW,
            text="The plenary moved, so we move too.",
        )
    assert told == 3
    deliver_due(settings, committed_db, _clock(NOW))
    updates = smtp_server.wait_for(6)[3:]
    for message in updates:
        event = calendar_of(message.message).walk("VEVENT")[0]
        assert str(event["uid"]) == uid
        assert int(event["sequence"]) == 1
        assert event.decoded("dtstart") == later
        assert "The plenary moved" in text_of(message.message)
    # The old start's 24 h reminder never leaves; the new one does, at its own instant.
    event_tick(settings, committed_db, _clock(START - dt.timedelta(hours=23)))
    assert len(smtp_server.messages) == 6
    event_tick(settings, committed_db, _clock(later - dt.timedelta(hours=24)))
    assert len(smtp_server.wait_for(9)) == 9


def test_cancelling_the_event_sends_method_cancel_once_and_stops_reminders(
    settings, committed_db, smtp_server
) -> None:
    with committed_db.begin() as session:
        post = online_webinar(session, START, NOW)
        register_readers(session, post, NOW)
        post_id = post.id
    deliver_due(settings, committed_db, _clock(NOW))
    smtp_server.wait_for(3)
    from newsletter.content.models import Post

    with committed_db.begin() as session:
        assert service.cancel_event(session, session.get(Post, post_id), NOW, text="Sorry.") == 3
    with committed_db.begin() as session:
        assert service.cancel_event(session, session.get(Post, post_id), NOW) == 0
    for _ in range(2):
        event_tick(settings, committed_db, _clock(NOW + dt.timedelta(minutes=1)))
    cancels = smtp_server.wait_for(6)[3:]
    for message in cancels:
        calendar = calendar_of(message.message)
        assert str(calendar["method"]) == "CANCEL"
        event = calendar.walk("VEVENT")[0]
        assert str(event["status"]) == "CANCELLED"
        assert int(event["sequence"]) == 1
        assert JOIN_URL not in text_of(message.message)
    event_tick(settings, committed_db, _clock(START - dt.timedelta(minutes=30)))
    assert len(smtp_server.messages) == 6
    with committed_db.begin() as session, pytest.raises(RegistrationError):
        service.register(
            session,
            session.get(Post, post_id),
            RegistrationInput("new@example.org", "", "en", None),
            NOW,
        )


def test_follow_up_reaches_those_registered_only(settings, committed_db, smtp_server) -> None:
    from newsletter.content.models import Post

    with committed_db.begin() as session:
        post = online_webinar(session, START, NOW, capacity=2)
        register_readers(session, post, NOW)
        post_id = post.id
    deliver_due(settings, committed_db, _clock(NOW))
    smtp_server.wait_for(3)
    after = START + dt.timedelta(hours=3)
    with committed_db.begin() as session:
        count = service.send_followup(
            session,
            session.get(Post, post_id),
            "The recording: https://video.example.net/rec/77",
            after,
        )
    assert count == 2
    deliver_due(settings, committed_db, _clock(after))
    followups = smtp_server.wait_for(5)[3:]
    assert sorted(m.rcpt_tos[0] for m in followups) == [
        "aline@kinshasa.example",
        "dana@newyork.example",
    ]
    assert "video.example.net/rec/77" in text_of(followups[0].message)


def test_offsets_are_read_as_staff_write_them() -> None:
    assert service.normalise_offsets("24h, 1h") == "1440,60"
    assert service.normalise_offsets("2d 30m 60") == "2880,60,30"
    with pytest.raises(RegistrationError):
        service.normalise_offsets("soon")


def test_the_alert_of_an_event_taking_registrations_has_the_form_not_the_joining_link(
    db_session, tmp_path
) -> None:
    from newsletter.campaigns.models import Campaign
    from newsletter.content.alerts import create_alert
    from newsletter.rendering.compose import preview
    from tests.sending.helpers import add_list

    settings = make_test_settings(tmp_path)
    add_list(db_session, "events")
    post = online_webinar(db_session, START, NOW)
    post.published_at = NOW
    db_session.flush()
    db_session.expire(post)
    campaign = create_alert(settings, db_session, post, NOW)
    assert campaign is not None
    shown = preview(settings, db_session.get(Campaign, campaign.id), "en")
    assert JOIN_URL not in shown.text and JOIN_URL not in shown.html
    assert f'action="{settings.base_url}/events/{post.public_id}/register/start"' in shown.html
    assert 'type="email" name="email"' in shown.html
    assert f"/archive/posts/{post.public_id}#register" in shown.text
