"""Seeding content for the end-to-end tests: lists, readers in two languages and zones, posts."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.orm import Session

from newsletter.content.models import Post, PostKind
from newsletter.content.service import EventInput, TranslationInput, create_post
from newsletter.db import utcnow
from newsletter.subscribers.models import Subscriber
from tests.sending.helpers import add_list, add_subscribers

EN = TranslationInput(
    "en",
    "Coalition asks the plenary for a broader definition",
    "Civil society calls for reform before the November plenary.",
    "The coalition **calls on** participants to act.\n\n[Read the report](https://example.org/r)",
)
FR = TranslationInput(
    "fr",
    "La coalition demande une définition élargie",
    "La société civile appelle à la réforme avant la plénière.",
    "La coalition **appelle** les participants à agir.",
)


def seed_readers(
    session: Session,
    slug: str,
    addresses: Sequence[str],
    *,
    languages: Sequence[str] = ("en", "fr"),
    timezones: Sequence[str | None] = (None,),
) -> list[int]:
    """Active readers of list ``slug`` (created), languages and zones alternating."""
    mailing_list = add_list(session, slug)
    ids = add_subscribers(session, addresses, [mailing_list.id], languages=languages)
    for index, subscriber_id in enumerate(ids):
        zone = timezones[index % len(timezones)]
        session.execute(
            update(Subscriber).where(Subscriber.id == subscriber_id).values(timezone=zone)
        )
    return ids


def press_release(session: Session, *texts: TranslationInput, **kwargs: object) -> Post:
    return create_post(
        session,
        kind=kwargs.pop("kind", PostKind.PRESS_RELEASE),  # type: ignore[arg-type]
        translations=list(texts or (EN, FR)),
        languages=["en", "fr"],
        **kwargs,  # type: ignore[arg-type]
    )


def webinar_start(now: dt.datetime | None = None) -> dt.datetime:
    """16:00 London time on the first Tuesday at least ten days after ``now`` (naive, local):
    always upcoming, whatever day the suite runs."""
    day = ((now or utcnow()) + dt.timedelta(days=10)).date()
    day += dt.timedelta(days=(1 - day.weekday()) % 7)
    return dt.datetime(day.year, day.month, day.day, 16, 0)


def local_span(start: dt.datetime, zone: str, minutes: int = 90) -> str:
    """How an alert words an event held at London-local ``start`` for a reader in ``zone``."""
    begins = start.replace(tzinfo=ZoneInfo("Europe/London")).astimezone(ZoneInfo(zone))
    ends = begins + dt.timedelta(minutes=minutes)
    return f"{begins:%A, %B} {begins.day}, {begins.year}, {begins:%H:%M}–{ends:%H:%M}"


def city_hour(start: dt.datetime, zone: str) -> str:
    """The hour of London-local ``start`` in ``zone`` (as the event's city line shows it)."""
    return f"{start.replace(tzinfo=ZoneInfo('Europe/London')).astimezone(ZoneInfo(zone)):%H:%M}"


def webinar(session: Session, start: dt.datetime | None = None) -> Post:
    return create_post(
        session,
        kind=PostKind.EVENT,
        translations=[
            TranslationInput("en", "Webinar: what mining communities ask for", "Ninety minutes."),
            TranslationInput("fr", "Webinaire : ce que demandent les communautés", "90 minutes."),
        ],
        languages=["en", "fr"],
        event=EventInput(
            start or webinar_start(),
            "Europe/London",
            duration_minutes=90,
            online_url="https://meet.example.org/webinar",
            registration_url="https://example.org/register",
        ),
    )


def stays(condition: Callable[[], bool], seconds: float) -> bool:
    """True when ``condition`` holds for the whole period (checked every 50 ms)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not condition():
            return False
        time.sleep(0.05)
    return True
