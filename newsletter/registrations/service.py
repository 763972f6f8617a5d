"""Registering for an event, the waiting list, and what staff change about an event.

Every change that must reach registrants queues one :class:`RegistrationMessage` per person
under a key naming it (``confirm``, ``update:2``, ``cancel:3``, ``followup:<notice>``); the
unique key makes a double click or a retried request queue nothing twice, and the messages
leave through :mod:`newsletter.registrations.delivery` after commit.

Capacity is counted under a row lock of the event's setup (PostgreSQL ``FOR UPDATE``;
SQLite serialises writers), so two people registering for the last seat at the same moment
cannot both get it: the second one is put on the waiting list.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from newsletter.content.models import Post, PostKind
from newsletter.content.service import EventInput, is_public, set_event
from newsletter.i18n import gettext as _
from newsletter.registrations.models import (
    EventNotice,
    EventSetup,
    MessageStatus,
    Registration,
    RegistrationMessage,
    RegistrationStatus,
)

log = logging.getLogger(__name__)
ACTIVE = (RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED)


class RegistrationError(ValueError):
    """Registration refused; ``str()`` is translated for the person registering."""


@dataclass(frozen=True)
class RegistrationInput:
    email: str  # already normalised by the caller (subscribers.inputs.clean_address)
    name: str
    language: str
    timezone: str | None


@dataclass(frozen=True)
class RegistrationResult:
    registration: Registration
    created: bool  # False: this address had registered already (nothing new is sent)


def setup_for(session: Session, post: Post, *, lock: bool = False) -> EventSetup:
    """The event's registration settings, created (disabled) on first use."""
    query = select(EventSetup).where(EventSetup.post_id == post.id)
    if lock:
        query = query.with_for_update()
    setup = session.scalar(query)
    if setup is None:
        setup = EventSetup(post_id=post.id, registration_enabled=False, sequence=0)
        session.add(setup)
        session.flush()
    return setup


def find_setup(session: Session, post_id: int) -> EventSetup | None:
    return session.scalar(select(EventSetup).where(EventSetup.post_id == post_id))


def accepts_registrations(setup: EventSetup | None, post: Post, now: dt.datetime) -> bool:
    """Open: enabled, not closed or cancelled, public, and the event has not started."""
    return (
        setup is not None
        and setup.registration_enabled
        and setup.closed_at is None
        and setup.cancelled_at is None
        and post.kind == PostKind.EVENT
        and post.event_start is not None
        and post.event_start > now
        and is_public(post, now)
    )


def registered_count(session: Session, post_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Registration)
            .where(
                Registration.post_id == post_id,
                Registration.status == RegistrationStatus.REGISTERED,
            )
        )
        or 0
    )


def register(
    session: Session, post: Post, given: RegistrationInput, now: dt.datetime
) -> RegistrationResult:
    """Register ``given`` for ``post`` (or put them on the waiting list when it is full)."""
    setup = setup_for(session, post, lock=True)
    if not accepts_registrations(setup, post, now):
        raise RegistrationError(_("Registration for this event is closed."))
    existing = session.scalar(
        select(Registration).where(
            Registration.post_id == post.id, Registration.email == given.email
        )
    )
    if existing is not None and existing.status in ACTIVE:
        return RegistrationResult(existing, created=False)
    full = setup.capacity is not None and registered_count(session, post.id) >= setup.capacity
    status = RegistrationStatus.WAITLISTED if full else RegistrationStatus.REGISTERED
    registration = existing or Registration(post_id=post.id, email=given.email)
    registration.name = given.name
    registration.language = given.language
    registration.timezone = given.timezone
    registration.status = status
    registration.status_changed_at = now
    if existing is None:
        registration.created_at = now
        session.add(registration)
    session.flush()
    # A person who cancelled and registers again gets a fresh confirmation (a new key).
    prior = _count_messages(session, registration.id, ("confirm", "waitlist"))
    kind = "waitlist" if full else "confirm"
    queue_messages(session, [registration.id], kind if prior == 0 else f"{kind}:{prior}", now)
    log.info("registration %s for post %s: %s", registration.id, post.id, status)
    return RegistrationResult(registration, created=True)


def _count_messages(session: Session, registration_id: int, kinds: tuple[str, ...]) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(RegistrationMessage)
            .where(
                RegistrationMessage.registration_id == registration_id,
                or_(*(RegistrationMessage.key.like(f"{kind}%") for kind in kinds)),
            )
        )
        or 0
    )


def cancel_registration(session: Session, registration: Registration, now: dt.datetime) -> None:
    """The person withdraws; the first on the waiting list takes the seat (and is told)."""
    if registration.status == RegistrationStatus.CANCELLED:
        return
    post = session.get(Post, registration.post_id)
    assert post is not None
    setup = setup_for(session, post, lock=True)
    was_registered = registration.status == RegistrationStatus.REGISTERED
    registration.status = RegistrationStatus.CANCELLED
    registration.status_changed_at = now
    session.flush()
    if was_registered and setup.cancelled_at is None:
        promote_waiting(session, post, setup, now)


def promote_waiting(session: Session, post: Post, setup: EventSetup, now: dt.datetime) -> list[int]:
    """Move people from the waiting list into freed seats, oldest first; they are told."""
    free = None if setup.capacity is None else setup.capacity - registered_count(session, post.id)
    query = (
        select(Registration)
        .where(
            Registration.post_id == post.id, Registration.status == RegistrationStatus.WAITLISTED
        )
        .order_by(Registration.created_at, Registration.id)
    )
    if free is not None:
        if free <= 0:
            return []
        query = query.limit(free)
    promoted = list(session.scalars(query))
    for registration in promoted:
        registration.status = RegistrationStatus.REGISTERED
        registration.status_changed_at = now
    session.flush()
    ids = [r.id for r in promoted]
    queue_messages(session, ids, "promoted", now)
    return ids


def queue_messages(
    session: Session,
    registration_ids: Iterable[int],
    key: str,
    now: dt.datetime,
    *,
    notice_id: int | None = None,
    due_at: dt.datetime | None = None,
) -> int:
    """Queue message ``key`` for each registration; a key already queued is left alone.

    INSERT ... ON CONFLICT DO NOTHING on the unique (registration, key): two beats, a retried
    task or a double click queue it once. Returns how many rows were new.
    """
    rows = [
        {
            "registration_id": rid,
            "key": key,
            "notice_id": notice_id,
            "status": MessageStatus.QUEUED.value,
            "due_at": due_at or now,
            "attempts": 0,
            "last_reply": "",
        }
        for rid in registration_ids
    ]
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(RegistrationMessage).on_conflict_do_nothing(
        index_elements=["registration_id", "key"]
    )
    # RETURNING lists only the rows inserted: the count of new messages on both databases.
    return len(session.scalars(statement.returning(RegistrationMessage.id), rows).all())


def audience_ids(
    session: Session, post_id: int, statuses: Iterable[RegistrationStatus]
) -> list[int]:
    return list(
        session.scalars(
            select(Registration.id)
            .where(Registration.post_id == post_id, Registration.status.in_(list(statuses)))
            .order_by(Registration.id)
        )
    )


# ---- What staff change (each one a mass send the console confirms with its count) ----------


def notice_audience(session: Session, post: Post, kind: str) -> list[int]:
    """Who a notice of ``kind`` reaches: follow-ups go to those registered, the rest to all."""
    statuses = (RegistrationStatus.REGISTERED,) if kind == "followup" else ACTIVE
    return audience_ids(session, post.id, statuses)


def _notice(session: Session, post: Post, kind: str, sequence: int, text: str, by: int | None):
    notice = EventNotice(
        post_id=post.id, kind=kind, sequence=sequence, text=text.strip(), created_by_id=by
    )
    session.add(notice)
    session.flush()
    return notice


def reschedule_event(
    session: Session,
    post: Post,
    event: EventInput,
    now: dt.datetime,
    *,
    text: str = "",
    by: int | None = None,
) -> int:
    """Move the event; every registrant gets the updated ``.ics`` (same UID, next SEQUENCE).

    Reminders queued for the old start are skipped when their turn comes (their key names
    the start they were for); the next beat plans them for the new start.
    """
    setup = setup_for(session, post, lock=True)
    if setup.cancelled_at is not None:
        raise RegistrationError(_("This event was cancelled; it cannot be moved."))
    set_event(post, event)
    setup.sequence += 1
    notice = _notice(session, post, "update", setup.sequence, text, by)
    ids = notice_audience(session, post, "update")
    queue_messages(session, ids, f"update:{setup.sequence}", now, notice_id=notice.id)
    log.info(
        "event %s moved (sequence %s): %d registrant(s) told", post.id, setup.sequence, len(ids)
    )
    return len(ids)


def cancel_event(
    session: Session, post: Post, now: dt.datetime, *, text: str = "", by: int | None = None
) -> int:
    """Cancel the event: registration closes, registrants get ``METHOD:CANCEL`` once."""
    setup = setup_for(session, post, lock=True)
    if setup.cancelled_at is not None:
        return 0
    setup.cancelled_at = now
    setup.closed_at = setup.closed_at or now
    setup.sequence += 1
    notice = _notice(session, post, "cancel", setup.sequence, text, by)
    ids = notice_audience(session, post, "cancel")
    queue_messages(session, ids, f"cancel:{setup.sequence}", now, notice_id=notice.id)
    log.info("event %s cancelled: %d registrant(s) told", post.id, len(ids))
    return len(ids)


def send_followup(
    session: Session, post: Post, text: str, now: dt.datetime, *, by: int | None = None
) -> int:
    """After the event: a message (the recording link, the slides) to those who registered."""
    if not text.strip():
        raise RegistrationError(_("Write the follow-up message first."))
    setup = setup_for(session, post)
    notice = _notice(session, post, "followup", setup.sequence, text, by)
    ids = notice_audience(session, post, "followup")
    queue_messages(session, ids, f"followup:{notice.id}", now, notice_id=notice.id)
    return len(ids)


def close_registration(session: Session, post: Post, now: dt.datetime) -> None:
    setup = setup_for(session, post)
    setup.closed_at = setup.closed_at or now


def configure(
    session: Session,
    post: Post,
    *,
    enabled: bool,
    capacity: int | None,
    reminder_offsets: str,
    reopen: bool = False,
    now: dt.datetime,
) -> EventSetup:
    """Staff turn registration on or off, set the capacity and the reminder offsets."""
    if post.kind != PostKind.EVENT:
        raise RegistrationError(_("Only events take registrations."))
    if capacity is not None and capacity < 1:
        raise RegistrationError(_("The capacity must be a positive number, or empty."))
    setup = setup_for(session, post, lock=True)
    setup.registration_enabled = enabled
    setup.reminder_offsets = normalise_offsets(reminder_offsets)
    if reopen and setup.cancelled_at is None:
        setup.closed_at = None
    old_capacity, setup.capacity = setup.capacity, capacity
    session.flush()
    if capacity is None or (old_capacity is not None and capacity > old_capacity):
        promote_waiting(session, post, setup, now)
    return setup


def normalise_offsets(text: str) -> str:
    """``"24h, 1h"``, ``"1440,60"`` or ``"2d 30m"`` -> ``"2880,30"`` (minutes, largest first)."""
    minutes: set[int] = set()
    for part in text.replace(";", ",").replace(" ", ",").split(","):
        part = part.strip().lower()
        if not part:
            continue
        unit = {"d": 1440, "h": 60, "m": 1}.get(part[-1])
        number = part[:-1] if unit else part
        if not number.isdigit():
            raise RegistrationError(_("Reminders are given as 24h, 1h or minutes: %(v)s", v=part))
        value = int(number) * (unit or 1)
        if not 0 < value <= 60 * 24 * 60:
            raise RegistrationError(_("A reminder must be between 1 minute and 60 days before."))
        minutes.add(value)
    return ",".join(str(m) for m in sorted(minutes, reverse=True))


def offsets_of(setup: EventSetup) -> list[int]:
    return [int(m) for m in setup.reminder_offsets.split(",") if m.strip().isdigit()]
