"""Seeding an online webinar that takes registrations, and reading what registrants got."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage

from icalendar import Calendar
from sqlalchemy.orm import Session

from newsletter.content.models import Post, PostKind
from newsletter.content.service import EventInput, TranslationInput, create_post, publish_post
from newsletter.registrations import service
from newsletter.registrations.service import RegistrationInput

# Three readers the acceptance names, in zones with no DST in winter (Kinshasa, Lima) and one
# with (New York): the same instant must read 15:00, 09:00 and 09:00 for them.
READERS = (
    ("Aline Mbuyi", "aline@kinshasa.example", "fr", "Africa/Kinshasa"),
    ("Dana Ortiz", "dana@newyork.example", "en", "America/New_York"),
    ("Rosa Quispe", "rosa@lima.example", "en", "America/Lima"),
)
JOIN_URL = "https://meet.example.net/j/58213-webinar"


def online_webinar(
    session: Session, start_utc: dt.datetime, now: dt.datetime, *, capacity: int | None = None
) -> Post:
    """A published webinar announced in Brussels time, registration on, joining link set."""
    post = create_post(
        session,
        kind=PostKind.EVENT,
        translations=[
            TranslationInput("en", "Webinar: what mining towns ask of buyers", "Ninety minutes."),
            TranslationInput("fr", "Webinaire : ce que les villes minières demandent", "90 min."),
        ],
        languages=["en", "fr"],
        event=EventInput(
            start_utc.astimezone(dt.UTC),
            "Europe/Brussels",
            duration_minutes=90,
            online_url=JOIN_URL,
        ),
    )
    publish_post(post, at=now - dt.timedelta(days=3), now=now)
    service.configure(
        session, post, enabled=True, capacity=capacity, reminder_offsets="24h,1h", now=now
    )
    session.flush()
    return post


def register_readers(session: Session, post: Post, now: dt.datetime, readers=READERS) -> list[int]:
    ids = []
    for name, email, language, zone in readers:
        result = service.register(
            session, post, RegistrationInput(email, name, language, zone), now
        )
        ids.append(result.registration.id)
    return ids


def calendar_of(message: EmailMessage) -> Calendar:
    """The ``text/calendar`` attachment, parsed by icalendar."""
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1, [p.get_content_type() for p in message.walk()]
    assert parts[0].get_content_disposition() == "attachment"
    return Calendar.from_ical(parts[0].get_payload(decode=True))


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()
