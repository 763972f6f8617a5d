"""What staff do with an event's registrations, each action audited.

Mass sends (moving, cancelling, a follow-up) follow the console's rule "nothing mails many
people by surprise": :func:`audience_count` tells the page how many people a notice would
reach, and the action runs only when the count the staff member confirmed is still the
count now (a registration arriving in between asks again rather than mailing more people
than were shown). Audit details carry ids and counts, never an address.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.content.models import Post, PostKind
from newsletter.content.service import EventInput
from newsletter.imports.export import safe_cell
from newsletter.registrations import service
from newsletter.registrations.models import (
    MessageStatus,
    Registration,
    RegistrationMessage,
    RegistrationStatus,
)
from newsletter.staff import audit

NOTICE_KINDS = ("update", "cancel", "followup")


class CountChanged(ValueError):
    """The audience changed since the staff member confirmed; the page asks again."""

    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.count = count


@dataclass(frozen=True)
class EventSummary:
    post: Post
    registered: int
    waitlisted: int
    cancelled: int
    sent: int
    queued: int


def event_posts(session: Session) -> list[Post]:
    return list(
        session.scalars(
            select(Post).where(Post.kind == PostKind.EVENT).order_by(Post.event_start.desc())
        )
    )


def summary(session: Session, post: Post) -> EventSummary:
    counts = dict(
        session.execute(
            select(Registration.status, func.count())
            .where(Registration.post_id == post.id)
            .group_by(Registration.status)
        ).all()
    )
    messages = dict(
        session.execute(
            select(RegistrationMessage.status, func.count())
            .join(Registration, Registration.id == RegistrationMessage.registration_id)
            .where(Registration.post_id == post.id)
            .group_by(RegistrationMessage.status)
        ).all()
    )
    return EventSummary(
        post=post,
        registered=counts.get(RegistrationStatus.REGISTERED, 0),
        waitlisted=counts.get(RegistrationStatus.WAITLISTED, 0),
        cancelled=counts.get(RegistrationStatus.CANCELLED, 0),
        sent=messages.get(MessageStatus.SENT, 0),
        queued=messages.get(MessageStatus.QUEUED, 0) + messages.get(MessageStatus.SENDING, 0),
    )


def registrations(session: Session, post: Post, limit: int = 500) -> list[Registration]:
    return list(
        session.scalars(
            select(Registration)
            .where(Registration.post_id == post.id)
            .order_by(Registration.created_at, Registration.id)
            .limit(limit)
        )
    )


def audience_count(session: Session, post: Post, kind: str) -> int:
    return len(service.notice_audience(session, post, kind))


def _check_count(session: Session, post: Post, kind: str, confirmed: int | None) -> int:
    count = audience_count(session, post, kind)
    if confirmed != count:
        raise CountChanged(count)
    return count


def configure(
    session: Session,
    actor: audit.Actor,
    post: Post,
    *,
    enabled: bool,
    capacity: int | None,
    reminder_offsets: str,
    reopen: bool,
    now: dt.datetime,
) -> None:
    setup = service.configure(
        session,
        post,
        enabled=enabled,
        capacity=capacity,
        reminder_offsets=reminder_offsets,
        reopen=reopen,
        now=now,
    )
    audit.record(
        session,
        actor,
        "event.registration_settings",
        object_type="post",
        object_id=post.id,
        detail={
            "enabled": enabled,
            "capacity": capacity,
            "reminders": setup.reminder_offsets,
            "reopened": reopen,
        },
    )


def close(session: Session, actor: audit.Actor, post: Post, now: dt.datetime) -> None:
    service.close_registration(session, post, now)
    audit.record(session, actor, "event.registration_closed", object_type="post", object_id=post.id)


def notify(
    session: Session,
    actor: audit.Actor,
    post: Post,
    kind: str,
    *,
    confirmed_count: int | None,
    text: str,
    now: dt.datetime,
    event: EventInput | None = None,
) -> int:
    """Move, cancel or follow up, once the confirmed count is still right; returns it."""
    if kind not in NOTICE_KINDS:
        raise ValueError(kind)
    count = _check_count(session, post, kind, confirmed_count)
    by = actor.staff_user_id
    if kind == "update":
        assert event is not None
        service.reschedule_event(session, post, event, now, text=text, by=by)
    elif kind == "cancel":
        service.cancel_event(session, post, now, text=text, by=by)
    else:
        service.send_followup(session, post, text, now, by=by)
    detail: dict[str, object] = {"recipients": count}
    if event is not None and post.event_start is not None:
        detail["new_start"] = post.event_start.isoformat()
    audit.record(
        session, actor, f"event.{kind}", object_type="post", object_id=post.id, detail=detail
    )
    return count


EXPORT_COLUMNS = ("name", "email", "language", "timezone", "status", "registered_at")


def export_csv(session: Session, actor: audit.Actor, post: Post) -> Iterator[str]:
    """The registrations as CSV (audited with the row count before any row leaves)."""
    rows = registrations(session, post, limit=1_000_000)
    audit.record(
        session,
        actor,
        "event.registrations_export",
        object_type="post",
        object_id=post.id,
        detail={"rows": len(rows)},
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for r in rows:
        values = [r.name, r.email, r.language, r.timezone, r.status.value, r.created_at.isoformat()]
        writer.writerow([safe_cell(v) for v in values])
    return iter([buffer.getvalue()])
