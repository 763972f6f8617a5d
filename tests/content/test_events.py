"""Events: one instant, shown in each reader's zone; the city line; an .ics calendars accept."""

from __future__ import annotations

import datetime as dt

import pytest
from icalendar import Calendar
from sqlalchemy.orm import Session

from newsletter.content.events import city_line
from newsletter.content.models import PostKind
from newsletter.content.service import EventInput, TranslationInput, create_post
from newsletter.content.views import post_view
from tests.conftest import make_test_settings

pytestmark = pytest.mark.date_sensitive

CITIES = [
    "America/Los_Angeles=Los Angeles",
    "America/Lima",
    "America/New_York",
    "America/Sao_Paulo=Rio de Janeiro",
    "Africa/Abidjan",
    "Europe/London",
    "Europe/Brussels",
    "Africa/Harare",
    "Asia/Shanghai=Beijing",
]


def _webinar(session: Session):
    return create_post(
        session,
        kind=PostKind.EVENT,
        translations=[
            TranslationInput("en", "Webinar: what mining communities ask", "Ninety minutes."),
            TranslationInput(
                "fr", "Webinaire : ce que demandent les communautés", "Quatre-vingt-dix minutes."
            ),
        ],
        languages=["en", "fr"],
        event=EventInput(
            dt.datetime(2026, 10, 20, 16, 0),
            "Europe/London",
            duration_minutes=90,
            online_url="https://meet.example.org/webinar",
            registration_url="https://example.org/register",
        ),
    )


def test_london_reader_sees_16_00_and_new_york_reader_11_00(db_session: Session, tmp_path) -> None:
    settings = make_test_settings(tmp_path, org_timezone="Africa/Harare")
    post = _webinar(db_session)
    london = post_view(post, "en", "en", "Europe/London", settings=settings)
    new_york = post_view(post, "en", "en", "America/New_York", settings=settings)
    assert london.event.time_label == "16:00"
    assert new_york.event.time_label == "11:00"
    assert london.event.when_label == "Tuesday, October 20, 2026, 16:00–17:30 (London time)"
    assert "11:00–12:30 (New York time)" in new_york.event.when_label
    no_zone = post_view(post, "fr", "en", None, settings=settings)
    assert no_zone.event.time_label == "17:00"  # the organisation's zone (Harare)
    assert no_zone.event.date_label == "mardi 20 octobre 2026"


def test_city_line_matches_the_coalitions_invitations(db_session: Session) -> None:
    post = _webinar(db_session)
    assert city_line(post.event_start, CITIES) == (
        "08:00 Los Angeles | 10:00 Lima | 11:00 New York | 12:00 Rio de Janeiro | 15:00 Abidjan"
        " | 16:00 London | 17:00 Brussels, Harare | 23:00 Beijing"
    )


def test_city_line_marks_a_different_day(db_session: Session) -> None:
    start = dt.datetime(2026, 10, 20, 22, 0, tzinfo=dt.UTC)
    assert city_line(start, ["Asia/Tokyo=Tokyo"]) == "07:00 (21/10) Tokyo"


def test_ics_parses_and_carries_the_same_instant(db_session: Session, tmp_path) -> None:
    from newsletter.content.events import event_calendar

    post = _webinar(db_session)
    db_session.flush()
    data = event_calendar(
        post, "Webinar", "Ninety minutes.", "https://news.example.org/archive/posts/x"
    )
    calendar = Calendar.from_ical(data)
    (event,) = calendar.walk("VEVENT")
    assert event.decoded("dtstart") == dt.datetime(2026, 10, 20, 15, 0, tzinfo=dt.UTC)
    assert event.decoded("dtend") - event.decoded("dtstart") == dt.timedelta(minutes=90)
    assert str(event["summary"]) == "Webinar"
    assert str(event["uid"]).startswith(post.public_id)
    assert str(event["location"]) == "https://meet.example.org/webinar"
    assert data.startswith(b"BEGIN:VCALENDAR\r\n")
