"""Which reminders are due now: one per registrant, offset and start, planned by the beat.

Invariant `far-future-in-the-database`: the reminder instants (start − 24 h, start − 1 h, ...) are
far-future work, so they are derived from the database each minute, never set as Celery ETAs. The
instant is the same for every registrant (an event starts at one moment whatever the reader's zone);
only the wording of the time differs, and that is the message's job.

A reminder's key names its offset *and the start it was planned for*
(``reminder:1440:1765209600``): when an event moves, the old rows no longer match the start
and are skipped, and the new start gets its own reminders.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.content.models import Post
from newsletter.registrations.models import EventSetup, Registration, RegistrationStatus
from newsletter.registrations.service import offsets_of, queue_messages

HORIZON = dt.timedelta(days=61)  # the longest offset staff may set is 60 days


def reminder_key(offset_minutes: int, start: dt.datetime) -> str:
    return f"reminder:{offset_minutes}:{int(start.timestamp())}"


def parse_reminder_key(key: str) -> tuple[int, int] | None:
    """``(offset minutes, start epoch)`` of a reminder key, else None."""
    kind, _, rest = key.partition(":")
    offset, _, start = rest.partition(":")
    if kind != "reminder" or not offset.isdigit() or not start.isdigit():
        return None
    return int(offset), int(start)


def reminder_still_valid(key: str, post: Post, setup: EventSetup | None, now: dt.datetime) -> bool:
    """A queued reminder leaves only for the start it was planned for, before that start."""
    parsed = parse_reminder_key(key)
    if parsed is None or post.event_start is None or setup is None:
        return False
    return (
        setup.cancelled_at is None
        and parsed[1] == int(post.event_start.timestamp())
        and now < post.event_start
    )


def plan_reminders(session: Session, now: dt.datetime) -> int:
    """Queue every reminder whose instant has come; returns how many rows were new.

    Those who registered after a reminder's instant are left out of that reminder: their
    confirmation, sent moments before, said the same.
    """
    rows = session.execute(
        select(EventSetup, Post)
        .join(Post, Post.id == EventSetup.post_id)
        .where(
            EventSetup.registration_enabled.is_(True),
            EventSetup.cancelled_at.is_(None),
            Post.event_start.is_not(None),
            Post.event_start > now,
            Post.event_start <= now + HORIZON,
        )
    ).all()
    queued = 0
    for setup, post in rows:
        assert post.event_start is not None
        for offset in offsets_of(setup):
            due = post.event_start - dt.timedelta(minutes=offset)
            if due > now:
                continue
            ids = session.scalars(
                select(Registration.id).where(
                    Registration.post_id == post.id,
                    Registration.status == RegistrationStatus.REGISTERED,
                    Registration.created_at < due,
                )
            ).all()
            queued += queue_messages(
                session, ids, reminder_key(offset, post.event_start), now, due_at=due
            )
    return queued
